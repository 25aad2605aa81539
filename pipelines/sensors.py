"""Sensors: a run when the data directory changes, a republish when stewards decide, and an
alert when a run fails."""

import dagster as dg

from pipelines.jobs import decisions_job, nightly_job
from pipelines.resources import ShixiangSettings
from shixiang import alerts
from shixiang.ingest import data_dir_fingerprint
from shixiang.store import latest_decision_id


@dg.sensor(
    name="data_dir_changed",
    job=nightly_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the job when an input file under the data directory is added, changed or removed.",
)
def data_dir_changed(
    context: dg.SensorEvaluationContext, settings: ShixiangSettings
) -> dg.SensorResult | dg.SkipReason:
    fingerprint = data_dir_fingerprint(settings.data_path)
    if context.cursor is None:
        # First evaluation: remember the current state; the schedule covers what is already there.
        return dg.SensorResult(
            skip_reason=dg.SkipReason("recorded the data directory's current state"),
            cursor=fingerprint,
        )
    if fingerprint == context.cursor:
        return dg.SkipReason("no input file changed")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=fingerprint)], cursor=fingerprint)


@dg.sensor(
    name="steward_decisions_recorded",
    jobs=[decisions_job, nightly_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Republishes the library when stewards record new decisions (inputs are not re-read).",
)
def steward_decisions_recorded(
    context: dg.SensorEvaluationContext, settings: ShixiangSettings
) -> dg.SensorResult | dg.SkipReason:
    latest = latest_decision_id(settings.engine())
    seen = int(context.cursor or 0)
    if latest <= seen:
        return dg.SkipReason("no new steward decision")
    cursor = str(latest)
    if context.instance.get_latest_materialization_event(dg.AssetKey("item_rows")) is None:
        # Nothing ingested in this instance yet: the decisions job would have no inputs.
        request = dg.RunRequest(run_key=f"decisions-{latest}", job_name=nightly_job.name)
    else:
        request = dg.RunRequest(run_key=f"decisions-{latest}", job_name=decisions_job.name)
    return dg.SensorResult(run_requests=[request], cursor=cursor)


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Records every failed run (a step error, or a blocking check that stopped the "
    "publish) in run_alerts and posts it to SHIXIANG_ALERT_URL when set.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, settings: ShixiangSettings) -> None:
    run = context.dagster_run
    failures = []
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        failures.append(
            (event.step_key or "", getattr(error, "cls_name", ""), getattr(error, "message", ""))
        )
    alert = alerts.Alert(
        run_id=run.run_id,
        job_name=run.job_name,
        failed_steps=sorted({step for step, _, _ in failures if step}),
        reason=alerts.failure_reason(failures, context.failure_event.message),
        link=settings.run_link(run.run_id),
    )
    error = alerts.notify(settings.engine(), alert, settings.alert_url or None)
    if error:
        context.log.warning(f"告警未能发送到 {settings.alert_url}：{error}（已记录在 run_alerts）")
