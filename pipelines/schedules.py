"""Nightly schedule: 02:00 Asia/Shanghai, one run per partition (prefecture), running by
default."""

from __future__ import annotations

import dagster as dg

from assets.partitions import file_index, register
from pipelines.jobs import nightly_job
from pipelines.resources import ShixiangSettings
from shixiang import partitions
from shixiang.config import TIMEZONE


@dg.schedule(
    name="nightly_at_2am",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night, one run per prefecture of the data directory (a prefecture whose "
    "run fails leaves the others' slices published).",
)
def nightly_schedule(
    context: dg.ScheduleEvaluationContext, settings: ShixiangSettings
) -> list[dg.RunRequest]:
    # The partitions of the directory as it is tonight (the sensor may not have seen a new
    # prefecture yet); a schedule cannot return partition requests, so it adds them itself.
    keys = partitions.keys(file_index(settings))
    register(context.instance, keys)
    night = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return [dg.RunRequest(run_key=f"{night}-{key}", partition_key=key) for key in keys]
