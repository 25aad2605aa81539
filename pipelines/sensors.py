"""Sensors: a run when the data directory changes, a republish when stewards decide, and an
alert when a run fails."""

import json

import dagster as dg

from assets.partitions import PREFECTURES, file_index
from pipelines.jobs import decisions_job, nightly_job
from pipelines.resources import ShixiangSettings
from shixiang import alerts, partitions
from shixiang.config import CATALOGUE_FOLDER
from shixiang.ingest import data_dir_fingerprint
from shixiang.store import latest_decision_id


def _additions(known: set[str], keys) -> list[dg.AddDynamicPartitionsRequest]:
    """The request that adds the partitions among ``keys`` the instance does not know."""
    new = sorted(set(keys) - known)
    return [PREFECTURES.build_add_request(new)] if new else []


@dg.sensor(
    name="data_dir_changed",
    job=nightly_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the partitions (prefectures) whose input files were added, changed or "
    "removed, and adds the partitions of new prefectures.",
)
def data_dir_changed(
    context: dg.SensorEvaluationContext, settings: ShixiangSettings
) -> dg.SensorResult | dg.SkipReason:
    index = file_index(settings)
    # Every partition is matched against the catalogue: a new catalogue changes them all.
    catalogue = data_dir_fingerprint(settings.data_path, (CATALOGUE_FOLDER,))
    now = {k: f"{v}-{catalogue[:12]}" for k, v in partitions.fingerprints(index).items()}
    known = set(context.instance.get_dynamic_partitions(PREFECTURES.name))
    add = _additions(known, now)
    cursor = json.dumps(now, sort_keys=True)
    if context.cursor is None or not context.cursor.startswith("{"):
        # First evaluation (or a cursor of the unpartitioned version): remember the current
        # state; the schedule covers what is already there.
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"recorded the data directory's state: {len(now)} partitions"
            ),
            cursor=cursor,
            dynamic_partitions_requests=add,
        )
    # (a partition gone from the directory runs only if the instance still knows its key)
    changed = partitions.changed_partitions(json.loads(context.cursor), now)
    changed = [k for k in changed if k in now or k in known]
    if not changed:
        return dg.SkipReason("no input file changed")
    requests = [
        dg.RunRequest(run_key=f"{key}-{now.get(key, 'gone')}", partition_key=key) for key in changed
    ]
    return dg.SensorResult(run_requests=requests, cursor=cursor, dynamic_partitions_requests=add)


@dg.sensor(
    name="steward_decisions_recorded",
    jobs=[decisions_job, nightly_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Republishes every partition when stewards record new decisions (inputs are "
    "not re-read where they were ingested before).",
)
def steward_decisions_recorded(
    context: dg.SensorEvaluationContext, settings: ShixiangSettings
) -> dg.SensorResult | dg.SkipReason:
    latest = latest_decision_id(settings.engine())
    seen = int(context.cursor or 0)
    if latest <= seen:
        return dg.SkipReason("no new steward decision")
    keys = partitions.keys(file_index(settings))
    known = set(context.instance.get_dynamic_partitions(PREFECTURES.name))
    ingested = context.instance.get_materialized_partitions(dg.AssetKey("item_rows"))
    requests = [
        # Nothing ingested for a partition in this instance yet: the decisions job would have
        # no inputs, so that partition gets the whole job.
        dg.RunRequest(
            run_key=f"decisions-{latest}-{key}",
            job_name=decisions_job.name if key in ingested else nightly_job.name,
            partition_key=key,
        )
        for key in keys
    ]
    return dg.SensorResult(
        run_requests=requests,
        cursor=str(latest),
        dynamic_partitions_requests=_additions(known, keys),
    )


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
        partition=run.tags.get("dagster/partition"),
    )
    error = alerts.notify(settings.engine(), alert, settings.alert_url or None)
    if error:
        context.log.warning(f"告警未能发送到 {settings.alert_url}：{error}（已记录在 run_alerts）")
