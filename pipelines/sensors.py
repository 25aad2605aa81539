"""A sensor that starts the nightly job when files under the data directory change."""

import dagster as dg

from pipelines.jobs import decisions_job, nightly_job
from pipelines.resources import ShixiangSettings
from shixiang.decisions import latest_decision_id
from shixiang.ingest import data_dir_fingerprint


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
