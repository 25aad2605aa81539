"""The Dagster code location (see workspace.yaml): assets, checks, job, schedule, sensor, resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.inputs import catalogue, catalogue_suite, level_assets, level_checks
from assets.library import library_assets, library_checks
from pipelines.executors import executor_from_env
from pipelines.io_managers import HandOffIOManager
from pipelines.jobs import decisions_job, nightly_job
from pipelines.resources import ShixiangSettings, settings_from_env
from pipelines.schedules import nightly_schedule
from pipelines.sensors import data_dir_changed, run_failure_alert, steward_decisions_recorded
from shixiang.prefetch import NamePrefetch

# The code location's name in workspace.yaml (runs started by the CLI are labelled with it).
LOCATION_NAME = "shixiang"
WORKSPACE_YAML = Path(__file__).resolve().parents[1] / "workspace.yaml"

ASSETS = [catalogue, *level_assets.values(), *library_assets]
CHECKS = [catalogue_suite, *level_checks, *library_checks]


def build_definitions(
    settings: ShixiangSettings | None = None, *, in_memory: bool = False
) -> dg.Definitions:
    """The definitions with the given settings (the CLI passes its own; Dagster uses the env).

    ``in_memory`` hands DataFrames between steps in memory instead of pickling them to the
    instance's storage, each let go after the last step that reads it
    (``pipelines/io_managers.py``): right for one in-process run (``shixiang run``), where
    nothing re-materialises a single asset later. Otherwise the steps run on the executor
    SHIXIANG_EXECUTOR names (``pipelines/executors.py``: in-process by default, or
    multiprocess, or dagster-celery workers)."""
    resources: dict[str, object] = {
        "settings": settings or settings_from_env(),
        "name_prefetch": dg.ResourceDefinition.hardcoded_resource(
            NamePrefetch(),
            "Names parsed ahead by a helper process while `shixiang run` reads the files of a "
            "first night (shixiang/prefetch.py); none in runs Dagster launches.",
        ),
    }
    hand_off = HandOffIOManager()
    if in_memory:
        resources["io_manager"] = hand_off
    defs = dg.Definitions(
        executor=dg.in_process_executor if in_memory else executor_from_env(),
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[nightly_job, decisions_job],
        schedules=[nightly_schedule],
        sensors=[data_dir_changed, steward_decisions_recorded, run_failure_alert],
        resources=resources,
    )
    if in_memory:  # each output let go after its last reader in a nightly run
        hand_off.watch(defs.resolve_job_def(nightly_job.name))
    return defs


defs = build_definitions()


def file_under_code_location(instance: dg.DagsterInstance, run_id: str) -> None:
    """Give a run started in-process (``shixiang run``) the origin of the workspace's code location.

    The UI's Overview timeline and a job's run list group runs by their origin (code location
    and repository); ``execute_in_process`` records none, so a CLI run would show in Runs but
    nowhere else. The origin is built from workspace.yaml exactly as ``dagster dev`` builds it,
    and written with the run storage's ``replace_job_origin`` (what ``dagster run
    migrate-repository`` uses) once the run has finished."""
    from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
    from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    origins = {o.location_name: o for o in location_origins_from_yaml_paths([str(WORKSPACE_YAML)])}
    run = instance.get_run_by_id(run_id)
    if run is None or LOCATION_NAME not in origins:
        return
    repository = RemoteRepositoryOrigin(origins[LOCATION_NAME], SINGLETON_REPOSITORY_NAME)
    instance.run_storage.replace_job_origin(run, RemoteJobOrigin(repository, run.job_name))
