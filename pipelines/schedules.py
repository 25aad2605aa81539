"""Nightly schedule: 02:00 Asia/Shanghai, running by default."""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import nightly_job
from shixiang.config import TIMEZONE

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_at_2am",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
