"""The production instance (deploy/dagster.yaml): Dagster's own storage on PostgreSQL.

A run started with that instance lands in PostgreSQL (runs, event log), where the webserver,
the daemon and workers on other machines all read it; a real server, as in production.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, text

from commands import main as cli
from tests.helpers import fresh_postgres_database

REPO = Path(__file__).resolve().parents[1]
ONE_RUN_PER_PARTITION = {
    "key": "dagster/partition",
    "value": {"applyLimitPerUniqueValue": True},
    "limit": 1,
}


def test_the_development_instance_runs_prefectures_side_by_side(tmp_path: Path) -> None:
    config = (REPO / "dagster.yaml").read_text("utf-8")
    (tmp_path / "dagster.yaml").write_text(
        config.replace("base_dir: var/dagster/storage", f"base_dir: {tmp_path / 'storage'}"),
        "utf-8",
    )
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        queue = instance.get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs == 2
    assert queue.tag_concurrency_limits == [ONE_RUN_PER_PARTITION]


@pytest.mark.postgres
@pytest.mark.slow
def test_a_run_on_the_production_instance_is_stored_in_postgres(
    mini_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with fresh_postgres_database("shixiang_dagster") as url:
        dagster_url = url.replace("postgresql+psycopg://", "postgresql+psycopg2://")
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("DAGSTER_PG_URL", dagster_url)
        library = f"sqlite:///{tmp_path / 'lib.db'}"
        argv = [
            "run",
            "--data-dir",
            str(mini_dir),
            "--database-url",
            library,
            "--log-level",
            "ERROR",
        ]
        assert cli.main(argv) == 0

        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
            # prefectures run side by side, never two runs of the same one
            queue = instance.get_concurrency_config().run_queue_config
            assert queue.max_concurrent_runs > 1
            assert queue.tag_concurrency_limits == [ONE_RUN_PER_PARTITION]
            (run,) = instance.get_runs()
            assert run.is_success and run.tags["shixiang/source"] == "cli"
        engine = create_engine(url)
        with engine.connect() as conn:  # the rows are in PostgreSQL itself, not in a local file
            runs = conn.execute(text("SELECT run_id, status FROM runs")).all()
            events = conn.execute(text("SELECT count(*) FROM event_logs")).scalar_one()
        engine.dispose()
        assert [(r.run_id, r.status) for r in runs] == [(run.run_id, "SUCCESS")]
        assert events > 50
        assert not list(home.glob("storage/**/*.db"))  # nothing fell back to SQLite files
