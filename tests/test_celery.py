"""A two-partition backfill of the nightly job on dagster-celery: two real workers, a real
Redis broker, the production instance on PostgreSQL, launched with `dagster job backfill`
through the code location (workspace.yaml).

The test starts its own redis-server and two `dagster-celery worker start` processes; the
runs start at once (DefaultRunCoordinator, DefaultRunLauncher: each run's coordinating process
is a child of the code server the CLI starts) and send every step to the broker. Which worker
process executed each step is then read back from the instance's event log.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.helpers import REPO, SAMPLE_DIR, fresh_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BIN = Path(sys.executable).parent  # the venv's dagster, dagster-celery and celery scripts
WORKSPACE = REPO / "workspace.yaml"
JOB = "nightly_reconciliation"
WORKERS = ("shixiang-w1", "shixiang-w2")
# Two prefectures of data/sample (南充, 广安): the backfill's two runs, one per partition.
PARTITIONS = ["5113", "5116"]
WORKER_START_TIMEOUT = 90
RUN_TIMEOUT = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    text_ = path.read_text("utf-8", errors="replace") if path.exists() else "(no log)"
    return f"--- {path.name} ---\n" + "\n".join(text_.splitlines()[-lines:])


@contextmanager
def _spawned(args: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A process in a session of its own, output to ``log``; its whole group is killed on exit,
    with any child it left behind (celery's pool, the code server and its run process)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            with suppress(ProcessLookupError):  # whatever of the group is still there
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _instance_config(home: Path) -> None:
    """deploy/dagster.yaml, but runs start at once: the QueuedRunCoordinator needs the daemon."""
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text("utf-8"))
    config["run_coordinator"] = {
        "module": "dagster.core.run_coordinator",
        "class": "DefaultRunCoordinator",
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), "utf-8")


def _wait_for_redis(port: int, proc: subprocess.Popen, log: Path) -> None:
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited ({proc.returncode})\n{_tail(log)}")
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            time.sleep(0.1)
    pytest.fail(f"redis-server not answering on port {port}\n{_tail(log)}")


def _wait_for_workers(
    broker: str, procs: dict[str, subprocess.Popen], logs: dict[str, Path]
) -> dict[str, set[int]]:
    """Each worker's celery node name (name@host) and the pids of its pool, once all answer."""
    from celery import Celery

    app = Celery(broker=broker, backend=broker)
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    try:
        while time.monotonic() < deadline:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    pytest.fail(f"worker {name} exited ({proc.returncode})\n{_tail(logs[name])}")
            stats = app.control.inspect(timeout=1.0).stats() or {}
            nodes = {
                node: set(s["pool"]["processes"])
                for node, s in stats.items()
                if node.split("@")[0] in procs
            }
            if len(nodes) == len(procs):
                return nodes
        pytest.fail(
            f"workers not ready after {WORKER_START_TIMEOUT} s\n"
            + "\n".join(_tail(log) for log in logs.values())
        )
    finally:
        app.close()


def launch_backfill(env: dict[str, str], stack: ExitStack, log: Path) -> subprocess.Popen:
    """Backfill PARTITIONS through the code location, one run per partition (the dynamic
    partitions "prefectures" must be registered in the instance first).

    Output goes to a file, never a pipe: the code server and the runs it starts inherit the
    CLI's stdout, so reading a pipe would wait for the runs themselves."""
    args = [str(BIN / "dagster"), "job", "backfill", "-w", str(WORKSPACE), "-j", JOB]
    args += ["--partitions", ",".join(PARTITIONS), "--noprompt"]
    return stack.enter_context(_spawned(args, log, env))


def _wait_for_runs(
    instance: dg.DagsterInstance,
    expected: int,
    procs: dict[str, subprocess.Popen],
    logs: list[Path],
) -> list[dg.DagsterRun]:
    """The job's runs once ``expected`` of them have finished; fails at once, with the logs,
    when the launcher fails or a worker dies (its steps would never report back)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    runs: list[dg.DagsterRun] = []
    problem = f"runs not finished after {RUN_TIMEOUT} s"
    while time.monotonic() < deadline:
        runs = instance.get_runs(dg.RunsFilter(job_name=JOB))
        if len(runs) >= expected and all(r.is_finished for r in runs):
            return runs
        exits = {name: proc.poll() for name, proc in procs.items()}
        dead = {n: rc for n, rc in exits.items() if rc is not None and (n != "launcher" or rc)}
        if dead:  # the launcher's job is done once it exits 0; a worker should never exit
            problem = f"exited: {dead}"
            break
        time.sleep(1)
    statuses = {r.run_id: r.status.value for r in runs}
    pytest.fail(f"{problem}; runs: {statuses}\n" + "\n".join(_tail(log) for log in logs))


def _celery_nodes_by_step(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Step key -> the celery node that ran it, from the engine event dagster-celery's task
    writes on the worker ("Executing steps ... in celery worker", with the task's hostname)."""
    out: dict[str, str] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        assert event is not None
        metadata = event.engine_event_data.metadata
        if "Celery worker" in metadata and record.step_key:
            out[record.step_key] = str(metadata["Celery worker"].value)
    return out


def test_two_celery_workers_run_the_nightly_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("SHIXIANG_REQUIRE_REDIS") == "1":  # .ci/run: this test must run
            pytest.fail("redis-server is not installed (SHIXIANG_REQUIRE_REDIS=1)")
        pytest.skip("redis-server is not installed")
    data = shutil.copytree(SAMPLE_DIR, tmp_path / "data")
    home = tmp_path / "dagster_home"
    home.mkdir()
    _instance_config(home)
    logs = tmp_path / "logs"
    logs.mkdir()
    library = tmp_path / "library.db"
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/0"

    with fresh_postgres_database("shixiang_dagster") as url, ExitStack() as stack:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery runs `celery`
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": url.replace("postgresql+psycopg://", "postgresql+psycopg2://"),
            "SHIXIANG_EXECUTOR": "celery",
            "SHIXIANG_CELERY_BROKER": broker,
            "SHIXIANG_CELERY_BACKEND": broker,
            "SHIXIANG_DATA_DIR": str(data),
            "SHIXIANG_DATABASE_URL": f"sqlite:///{library}",
            "SHIXIANG_DOCS_DIR": str(tmp_path / "gx_docs"),
            "SHIXIANG_ALERT_URL": "",
        }
        for key in ("DAGSTER_HOME", "DAGSTER_PG_URL"):
            monkeypatch.setenv(key, env[key])

        redis_log = logs / "redis.log"
        redis_args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        redis_args += ["--save", "", "--appendonly", "no"]
        redis_proc = stack.enter_context(_spawned(redis_args, redis_log, env))
        _wait_for_redis(port, redis_proc, redis_log)

        worker_logs = {name: logs / f"{name}.log" for name in WORKERS}
        workers = {
            name: stack.enter_context(
                _spawned(
                    [
                        str(BIN / "dagster-celery"),
                        *("worker", "start", "-A", "dagster_celery.app"),
                        *("-y", str(REPO / "deploy" / "celery.yaml"), "-n", name),
                        *("--", "--concurrency=1"),  # one step at a time each: two cores here
                    ],
                    worker_logs[name],
                    env,
                )
            )
            for name in WORKERS
        }
        pools = _wait_for_workers(broker, workers, worker_logs)

        with dg.DagsterInstance.get() as instance:
            instance.add_dynamic_partitions("prefectures", PARTITIONS)
            launch_log = logs / "backfill.log"
            launcher = launch_backfill(env, stack, launch_log)
            all_logs = [launch_log, *worker_logs.values()]
            runs = _wait_for_runs(
                instance, len(PARTITIONS), {"launcher": launcher, **workers}, all_logs
            )
            assert launcher.wait(60) == 0, _tail(launch_log)

            failed = {r.run_id: r.status.value for r in runs if not r.is_success}
            assert not failed, f"{failed}\n" + "\n".join(_tail(log) for log in all_logs)
            assert sorted(r.tags.get("dagster/partition", "") for r in runs) == PARTITIONS

            nodes_used: set[str] = set()
            pids_used: set[int] = set()
            for run in runs:
                starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
                steps = {r.step_key: r.dagster_event.pid for r in starts if r.dagster_event}
                nodes = _celery_nodes_by_step(instance, run.run_id)
                # Every step went through a celery task, on one of the two workers...
                assert nodes, "no step ran on celery: does the job take SHIXIANG_EXECUTOR?"
                assert len(steps) > 20 and set(nodes) == set(steps), set(steps) ^ set(nodes)
                assert set(nodes.values()) <= set(pools)
                # ...and executed in that worker's pool process (the pid on its step events).
                for step, pid in steps.items():
                    assert pid in pools[nodes[step]], (step, pid, nodes[step], pools)
                nodes_used |= set(nodes.values())
                pids_used |= set(steps.values())
            assert nodes_used == set(pools)  # both workers executed steps
            assert all(pids & pids_used for pids in pools.values())
            run_ids = {r.run_id for r in runs}

    engine = create_engine(f"sqlite:///{library}")
    try:
        with engine.connect() as conn:
            published = {r[0] for r in conn.execute(text("SELECT run_id FROM publications"))}
            codes = [r[0] for r in conn.execute(text("SELECT division_code FROM unified_library"))]
    finally:
        engine.dispose()
    assert run_ids <= published  # every run published the library
    assert len(codes) > 100
    assert {c[:4] for c in codes} == set(PARTITIONS)  # both slices, and nothing else
