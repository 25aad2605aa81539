"""Small helpers that turn frames and counts into Dagster metadata."""

from pathlib import Path

import dagster as dg
import pandas as pd

from shixiang.config import PREVIEW_ROWS


def preview(
    frame: pd.DataFrame, columns: list[str] | None = None, rows: int = PREVIEW_ROWS
) -> dg.MetadataValue:
    """A markdown table of the first rows (what a steward scans in the UI)."""
    sub = frame[columns] if columns else frame
    if sub.empty:
        return dg.MetadataValue.md("（无）")
    return dg.MetadataValue.md(sub.head(rows).to_markdown(index=False))


def percent(part: float, whole: float) -> float:
    """A share as a percentage with one decimal: 89.9."""
    return round(100.0 * float(part) / float(whole), 1) if whole else 0.0


def run_summary_tags(summary: dict) -> dict[str, str]:
    """A run summary (shixiang.library.run_summary) as run tags, shown on the run in the UI:
    rows read, the shares of each status, rejected files and rows, quality issues."""
    read = summary.get("library_rows", 0)
    status = summary.get("status", {})
    tags = {"shixiang/rows_read": str(summary.get("rows_read", 0))}
    for name in ("matched", "confirmed", "review", "unmatched", "local"):
        if status.get(name):
            tags[f"shixiang/{name}"] = f"{percent(status[name], read)}%"
    tags["shixiang/rejected_files"] = str(len(summary.get("rejected_files", [])))
    tags["shixiang/rejected_rows"] = str(summary.get("rejected_rows", 0))
    tags["shixiang/qc_issues"] = str(summary.get("qc_issues", 0))
    return tags


def counts(series: pd.Series) -> dg.MetadataValue:
    """Value counts as JSON with builtin ints (numpy ints are not JSON-serialisable)."""
    return dg.MetadataValue.json({str(k): int(v) for k, v in series.value_counts().items()})


def check_result(
    result, *, extra: dict | None = None, findings: bool = False
) -> dg.AssetCheckResult:
    """Map a :class:`shixiang.expectations.SuiteResult` to an asset check result: failures of
    critical expectations are ERROR (they block where the check is blocking), others WARN.
    With ``findings`` what fails are the units' data issues, published for them to fix, never
    a broken pipeline: always WARN, so that red keeps meaning broken.

    ``data_docs`` is the file:// URL of the check's GX Data Docs page (the UI shows URL
    metadata as a link), ``data_docs_path`` the same page as a server path."""
    blocking = result.blocking_failed and not findings
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
    metadata = {"gx": dg.MetadataValue.json(result.to_metadata())}
    if result.docs_path:
        metadata["data_docs"] = dg.MetadataValue.url(docs_url(result.docs_path))
        metadata["data_docs_path"] = dg.MetadataValue.path(result.docs_path)
    for outcome in result.failed:
        metadata[f"{outcome.rule_id} {outcome.message}"] = dg.MetadataValue.json(
            {
                "unexpected_count": int(outcome.unexpected_count),
                "failing_row_ids": list(outcome.failing_ids[:50]),
            }
        )
    metadata.update(extra or {})
    return dg.AssetCheckResult(passed=bool(result.success), severity=severity, metadata=metadata)


def docs_url(path: str | Path) -> str:
    """A file:// URL of a local page (absolute, non-ASCII characters percent-encoded)."""
    return Path(path).resolve().as_uri()


def docs_dir_for(context: dg.AssetCheckExecutionContext, settings) -> Path:
    """Where this run's GX Data Docs go: <docs_dir>/<run id> ("direct" when a check is invoked
    directly, outside a run, as tests do)."""
    try:
        run_id = context.run.run_id
    except dg.DagsterError:  # DagsterInvalidPropertyError: no run when invoked directly
        run_id = "direct"
    return settings.run_docs_dir(run_id)
