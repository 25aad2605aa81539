"""A sensor that starts the nightly job when files under the data directory change."""

import dagster as dg

from pipelines.jobs import nightly_job
from pipelines.resources import ShixiangSettings
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
