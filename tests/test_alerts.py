"""A failed run tells someone: a row in run_alerts and a JSON POST to the configured webhook
(a real HTTP server on localhost), for a blocking check that stopped the publish."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pytest

from pipelines.definitions import build_definitions
from pipelines.jobs import NIGHTLY_JOB_NAME
from pipelines.resources import ShixiangSettings
from pipelines.sensors import run_failure_alert
from shixiang import alerts, store
from tests.helpers import CATALOGUE_HEADER, CATALOGUE_ROWS, run_whole, write_csv


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body.decode("utf-8")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def webhook():
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.received
    server.shutdown()


def _failed_run(mini_dir: Path, settings: ShixiangSettings, partition: str | None = None):
    """A run stopped by a broken catalogue (the blocking catalogue_suite fails), of every
    partition or of one; the failure sensor has seen it."""
    rows = [r.copy() for r in CATALOGUE_ROWS]
    rows[1][4] = "不存在的类型"
    write_csv(mini_dir / "catalogue" / "通用目录.csv", CATALOGUE_HEADER, rows)
    instance = dg.DagsterInstance.ephemeral()
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB_NAME)
    if partition is None:
        result = run_whole(job, settings, instance=instance, raise_on_error=False)
    else:
        instance.add_dynamic_partitions("prefectures", [partition])
        result = job.execute_in_process(
            instance=instance, partition_key=partition, raise_on_error=False
        )
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"settings": settings},
    ).for_run_failure()
    run_failure_alert(context)
    return instance, result


@pytest.mark.slow
@pytest.mark.parametrize(
    ("partition", "reason", "says"),
    [
        (None, "阻断检查未通过（catalogue_catalogue_suite）", "运行失败，事项库未更新"),
        # a prefecture's run: which one, and that the others' slices stand
        (
            "5116",
            "分区 5116：阻断检查未通过（catalogue_catalogue_suite）",
            "（分区 5116）运行失败，该分区的事项库未更新，其他分区不受影响",
        ),
    ],
)
def test_a_run_stopped_by_a_blocking_check_is_recorded_and_posted(
    mini_dir: Path, tmp_path: Path, webhook, partition: str | None, reason: str, says: str
) -> None:
    url, received = webhook
    settings = ShixiangSettings(
        data_dir=str(mini_dir),
        database_url=f"sqlite:///{tmp_path / 'lib.db'}",
        docs_dir=str(tmp_path / "docs"),
        alert_url=url,
        ui_url="http://dagster.example:3000/",
    )
    _, result = _failed_run(mini_dir, settings, partition)
    [row] = alerts.recent(store.make_engine(settings.database_url))
    assert row["run_id"] == result.run_id and row["job_name"] == NIGHTLY_JOB_NAME
    assert row["delivered"] and row["delivery_error"] is None
    assert row["link"] == f"http://dagster.example:3000/runs/{result.run_id}"
    assert row["reason"].startswith(reason)
    assert row["failed_steps"] == "catalogue_catalogue_suite"
    [posted] = received
    assert posted["run_id"] == result.run_id
    assert says in posted["text"] and posted["content"] == posted["text"]


def test_an_alert_that_cannot_be_delivered_is_recorded_with_the_reason(tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    alert = alerts.Alert("r1", "nightly_reconciliation", ["matched_items"], "步骤出错", "l")
    error = alerts.notify(engine, alert, "http://127.0.0.1:9/unreachable")
    assert error
    [row] = alerts.recent(engine)
    assert not row["delivered"] and row["delivery_error"] == error
    assert row["failed_steps"] == "matched_items"


def test_the_reason_says_whether_a_check_stopped_the_publish_or_a_step_broke() -> None:
    checks = [("county_items_county_items_schema", "DagsterAssetCheckFailedError", "…")]
    assert "阻断检查未通过（county_items_county_items_schema）" in alerts.failure_reason(
        checks, None
    )
    broke = [("published_library", "OperationalError", "database is locked\nmore")]
    assert alerts.failure_reason(broke, None) == "步骤 published_library 出错：database is locked"
    assert alerts.failure_reason([], "Run was canceled") == "Run was canceled"
