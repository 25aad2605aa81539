"""Telling someone when a run fails: a row in ``run_alerts`` and a POST to a webhook.

Nobody watches the Dagster UI at 02:00. A failed run (a step that raised, or a blocking check
that stopped the publish) is recorded in the library database's ``run_alerts`` table, which
stewards' tools and a morning report can read, and sent as JSON to the webhook or mail relay
configured in ``SHIXIANG_ALERT_URL`` (a WeCom/DingTalk robot, an SMTP bridge …). Delivery is
best effort and never raises: an alert that could not be sent is recorded with the reason.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from shixiang.tables import run_alerts


@dataclass
class Alert:
    run_id: str
    job_name: str
    failed_steps: list[str]
    reason: str
    link: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    partition: str | None = None  # the prefecture of a partition's run

    @property
    def text(self) -> str:
        """One message a person can act on."""
        steps = "、".join(self.failed_steps) or "（无）"
        if self.partition:
            what = (
                f"作业 {self.job_name}（分区 {self.partition}）运行失败，"
                f"该分区的事项库未更新，其他分区不受影响。"
            )
        else:
            what = f"作业 {self.job_name} 运行失败，事项库未更新。"
        return f"【事项库】{what}失败步骤：{steps}。原因：{self.reason}。详情：{self.link}"

    def payload(self) -> dict:
        body = asdict(self)
        body["created_at"] = self.created_at.isoformat()
        body["text"] = self.text
        # The shape WeCom and DingTalk robots accept, beside the structured fields.
        body["msgtype"] = "text"
        body["content"] = self.text
        return body


def failure_reason(failures: list[tuple[str, str, str]], run_message: str | None) -> str:
    """The failure in Chinese from the failed steps' (step key, error class, message): a
    blocking check that stopped the publish, or the error of a step."""
    checks = [step for step, cls, _ in failures if cls == "DagsterAssetCheckFailedError"]
    errors = [(step, msg) for step, cls, msg in failures if cls != "DagsterAssetCheckFailedError"]
    parts = []
    if checks:
        parts.append(f"阻断检查未通过（{'、'.join(checks)}），为防止发布错误的事项库，本次未发布")
    for step, message in errors:
        first = (message or "").strip().splitlines()[0] if message else ""
        parts.append(f"步骤 {step} 出错：{first}" if first else f"步骤 {step} 出错")
    return "；".join(parts) or (run_message or "运行失败").strip()


def deliver(url: str, alert: Alert, *, timeout: float = 10.0) -> str | None:
    """POST the alert as JSON to ``url``; the error text when it could not be delivered."""
    data = json.dumps(alert.payload(), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status >= 300:
                return f"HTTP {response.status}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def record(engine: Engine, alert: Alert, delivery_error: str | None, delivered: bool) -> int:
    """Append the alert to ``run_alerts`` (created on first use); returns its id."""
    run_alerts.create(engine, checkfirst=True)
    with engine.begin() as conn:
        result = conn.execute(
            insert(run_alerts).values(
                created_at=alert.created_at,
                run_id=alert.run_id,
                job_name=alert.job_name,
                failed_steps="、".join(alert.failed_steps),
                reason=f"分区 {alert.partition}：{alert.reason}"
                if alert.partition
                else alert.reason,
                link=alert.link,
                delivered=delivered,
                delivery_error=delivery_error,
            )
        )
        return int(result.inserted_primary_key[0])


def notify(engine: Engine, alert: Alert, url: str | None) -> str | None:
    """Deliver the alert (when a URL is configured) and record it; the delivery error."""
    error = deliver(url, alert) if url else None
    record(engine, alert, error, delivered=bool(url) and error is None)
    return error


def recent(engine: Engine, limit: int = 20) -> list[dict]:
    """The newest alerts first."""
    run_alerts.create(engine, checkfirst=True)
    with engine.connect() as conn:
        rows = conn.execute(select(run_alerts).order_by(run_alerts.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
