"""The Dagster code location (see workspace.yaml): assets, checks, job, schedule, sensor, resources."""

from __future__ import annotations

import dagster as dg

from assets.inputs import catalogue, catalogue_suite, level_assets, level_checks
from assets.library import library_assets, library_checks
from pipelines.jobs import decisions_job, nightly_job
from pipelines.resources import ShixiangSettings, settings_from_env
from pipelines.schedules import nightly_schedule
from pipelines.sensors import data_dir_changed, run_failure_alert, steward_decisions_recorded

# The code location's name in workspace.yaml (runs started by the CLI are labelled with it).
LOCATION_NAME = "shixiang"

ASSETS = [catalogue, *level_assets.values(), *library_assets]
CHECKS = [catalogue_suite, *level_checks, *library_checks]


def build_definitions(
    settings: ShixiangSettings | None = None, *, in_memory: bool = False
) -> dg.Definitions:
    """The definitions with the given settings (the CLI passes its own; Dagster uses the env).

    ``in_memory`` hands DataFrames between steps in memory instead of pickling them to the
    instance's storage: right for one in-process run (``shixiang run``), where nothing
    re-materialises a single asset later."""
    resources: dict[str, object] = {"settings": settings or settings_from_env()}
    if in_memory:
        resources["io_manager"] = dg.InMemoryIOManager()
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[nightly_job, decisions_job],
        schedules=[nightly_schedule],
        sensors=[data_dir_changed, steward_decisions_recorded, run_failure_alert],
        resources=resources,
    )


defs = build_definitions()
