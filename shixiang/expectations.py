"""Run the Great Expectations 1.x suites of ``expectations/*.json`` against pandas DataFrames.

The JSON files are the source of truth for the checks (GX 1.x suite shape: ``name``,
``expectations`` with ``type``/``kwargs``/``meta``/``severity``, ``meta``, ``notes``). Every
expectation carries ``meta.rule_id``, ``meta.element`` (the Chinese element name) and
``meta.message`` (a short sentence for stewards).

``import great_expectations`` costs about 3 s, so GX is imported lazily inside :func:`validate`;
:func:`load_suite` and :func:`suite_is_blocking` only read JSON. One ephemeral GX context, pandas
datasource and whole-dataframe batch definition are built on the first call and reused by later
calls in the same process.

GX details this module relies on (checked with GX 1.24.1 and pandas 3.1.1):

* results come back in no particular order: every expectation gets a deterministic id
  (uuid5 of suite name and position) and outcomes are put back in suite order by that id;
* ``expectation_config.type`` (there is no ``expectation_type`` in 1.x);
* in-set, regex and between expectations ignore nulls, hence the separate not-null rules;
* GX validates a frame with a default RangeIndex and reports failing rows as positions, which
  are mapped to ``id_column`` values here. ``unexpected_index_column_names`` is not used: GX
  then builds one dict per failing row with ``DataFrame.at`` (~50 µs a row, 73 s instead of
  4 s on 500,000 rows that fail three rules);
* an expectation on a column the frame does not have would fail inside GX with an opaque
  exception; such expectations are not sent to GX and get a failing outcome naming the column.

Data Docs (``validate(..., docs_dir=...)``) are built from the validation result already in
hand, not by validating again through a Checkpoint with ``UpdateDataDocsAction``: each call
builds a throw-away ephemeral context (~5 ms) whose expectation and validation-result stores
and data docs site all live under ``docs_dir``, so nothing is left in the cached context and
suites validated in other processes of the same run stay in the site's index (GX's index
builder deletes every page whose result is not in the context's result store, so in-memory
result stores would drop the pages of other processes). GX is given a SUMMARY-sized copy of
the result: with COMPLETE results it renders ``unexpected_index_query``, every failing row
position (4.4 MB of HTML for one suite on 500,000 rows, and positions rather than ids).


from __future__ import annotations

import contextlib
import copy
import datetime
import json
import logging
import math
import re
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

SUITES_DIR: Path = Path(__file__).resolve().parents[1] / "expectations"

SEVERITY_CRITICAL = "critical"
SEVERITY_WARNING = "warning"
SEVERITY_INFO = "info"
SEVERITIES: tuple[str, ...] = (SEVERITY_CRITICAL, SEVERITY_WARNING, SEVERITY_INFO)

# GX's own default when an expectation has no severity.
_DEFAULT_SEVERITY = SEVERITY_CRITICAL
# Namespace of the deterministic expectation ids (uuid5(namespace, "<suite>/<position>")).
_ID_NAMESPACE = uuid.UUID("5b1d3c1e-6f0e-4d59-9a43-7f0c2a3e5a10")

_DATASOURCE = "shixiang_frames"
_ASSET = "frame"
_BATCH = "whole_frame"

# Data Docs: the site of the throw-away docs context, the directory (under docs_dir) of its
# stores and lock file, and the result keys left out of the rendered copy. GX renders
# unexpected_index_query (every failing row position) into the page; the other lists are
# either row positions, which mean nothing to a reader, or unbounded copies of the values
# (partial_unexpected_list and partial_unexpected_counts keep 20 of them).
_DOCS_SITE = "run"
_DOCS_STATE = "_gx"
_DOCS_DROPPED_KEYS = frozenset(
    {"unexpected_list", "unexpected_index_list", "unexpected_index_query", "partial_unexpected_index_list"}
)

logger = logging.getLogger(__name__)


# --- Suites as JSON -------------------------------------------------------------------------


def suite_path(name: str) -> Path:
    """Path of the suite file ``<SUITES_DIR>/<name>.json``."""
    return SUITES_DIR / f"{name}.json"


def load_suite(name: str) -> dict:
    """The raw suite JSON. Raises ``FileNotFoundError`` naming the path when it does not exist."""
    path = suite_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"expectation suite {name!r} not found: {path} does not exist")
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def _severity(expectation: dict) -> str:
    return str(expectation.get("severity") or _DEFAULT_SEVERITY).lower()


def suite_is_blocking(name: str) -> bool:
    """True when any expectation of the suite has severity ``critical``."""
    return any(_severity(e) == SEVERITY_CRITICAL for e in load_suite(name)["expectations"])


# --- Results --------------------------------------------------------------------------------


@dataclass
class ExpectationOutcome:
    """One expectation's result, with the steward-facing metadata of the suite file."""

    rule_id: str
    type: str
    column: str | None  # "a,b" for column-pair expectations, None for table expectations
    element: str
    message: str
    severity: str  # "critical" | "warning" | "info"
    success: bool
    unexpected_count: int
    failing_ids: list[str] = field(default_factory=list)  # id_column values, capped at max_ids
    error: str | None = None  # set when the expectation could not be evaluated

    @property
    def blocking(self) -> bool:
        """A failed critical expectation."""
        return not self.success and self.severity == SEVERITY_CRITICAL

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SuiteResult:
    suite: str
    success: bool
    evaluated: int
    outcomes: list[ExpectationOutcome]
    docs_path: str | None = None  # the rendered Data Docs validation page (or the site index)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def blocking_failed(self) -> bool:
        """Any failed outcome with severity critical."""
        return any(o.blocking for o in self.outcomes)

    def to_metadata(self, max_ids: int = 20) -> dict:
        """JSON-safe summary (builtin types only) for Dagster metadata.

        Counts of evaluated/failed expectations by severity and, for each failed rule, its id,
        element, message, severity, unexpected count and the first ``max_ids`` failing ids;
        ``docs_path`` when Data Docs were rendered.
        """
        failed = self.failed
        meta = {
            "suite": self.suite,
            "success": bool(self.success),
            "blocking_failed": bool(self.blocking_failed),
            "evaluated": int(self.evaluated),
            "passed": int(self.evaluated - len(failed)),
            "failed": len(failed),
            "failed_by_severity": {
                s: sum(1 for o in failed if o.severity == s) for s in SEVERITIES
            },
            "failures": [
                {
                    "rule_id": o.rule_id,
                    "type": o.type,
                    "column": o.column,
                    "element": o.element,
                    "message": o.message,
                    "severity": o.severity,
                    "unexpected_count": int(o.unexpected_count),
                    "failing_ids": [str(i) for i in o.failing_ids[:max_ids]],
                    "error": o.error,
                }
                for o in failed
            ],
        }
        if self.docs_path:
            meta["docs_path"] = self.docs_path
        return meta


# --- GX plumbing ----------------------------------------------------------------------------

_LOCK = threading.Lock()
_GX: dict[str, Any] = {}


def _quiet_gx() -> None:
    """Keep GX's own loggers to errors only (they log at INFO/WARNING on routine paths)."""
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def _batch_definition() -> Any:
    """The cached whole-dataframe batch definition of one ephemeral context (built once)."""
    if "batch_definition" not in _GX:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        _quiet_gx()
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_or_update_pandas(_DATASOURCE).add_dataframe_asset(_ASSET)
        _GX["gx"] = gx
        _GX["context"] = context
        _GX["batch_definition"] = asset.add_batch_definition_whole_dataframe(_BATCH)
    return _GX["batch_definition"]


def _expectation_id(suite_name: str, position: int) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{suite_name}/{position}"))


def _condition_columns(condition: Any) -> list[str]:
    """Columns named by a structured GX row_condition (dict form as stored in the JSON)."""
    if not isinstance(condition, dict):
        return []
    out: list[str] = []
    col = condition.get("column")
    if isinstance(col, dict) and isinstance(col.get("name"), str):
        out.append(col["name"])
    for sub in condition.get("conditions") or ():
        out.extend(_condition_columns(sub))
    return out


def _columns(kwargs: dict) -> list[str]:
    """Every column an expectation reads, in kwargs order, row_condition included."""
    cols: list[str] = []
    for key in ("column", "column_A", "column_B"):
        if isinstance(kwargs.get(key), str):
            cols.append(kwargs[key])
    for key in ("column_list", "column_set"):
        if isinstance(kwargs.get(key), list | tuple):
            cols.extend(c for c in kwargs[key] if isinstance(c, str))
    cols.extend(_condition_columns(kwargs.get("row_condition")))
    return list(dict.fromkeys(cols))


def _target_column(kwargs: dict) -> str | None:
    if isinstance(kwargs.get("column"), str):
        return kwargs["column"]
    pair = [kwargs[k] for k in ("column_A", "column_B") if isinstance(kwargs.get(k), str)]
    if pair:
        return ",".join(pair)
    if isinstance(kwargs.get("column_list"), list | tuple):
        return ",".join(str(c) for c in kwargs["column_list"])
    return None


def _outcome(
    expectation: dict,
    *,
    success: bool,
    unexpected_count: int = 0,
    failing_ids: list[str] | None = None,
    error: str | None = None,
) -> ExpectationOutcome:
    meta = expectation.get("meta") or {}
    kwargs = expectation.get("kwargs") or {}
    message = str(meta.get("message", ""))
    if error:
        message = f"{message}（{error}）" if message else error
    return ExpectationOutcome(
        rule_id=str(meta.get("rule_id", "")),
        type=str(expectation["type"]),
        column=_target_column(kwargs),
        element=str(meta.get("element", "")),
        message=message,
        severity=_severity(expectation),
        success=success,
        unexpected_count=unexpected_count,
        failing_ids=failing_ids or [],
        error=error,
    )


def _id_text(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "<NA>"
    item = getattr(value, "item", None)  # numpy scalars → builtins
    return str(item() if callable(item) else value)


def _failing_ids(result: dict, ids: pd.Series, max_ids: int) -> list[str]:
    """Map GX's unexpected row labels (positions, as GX saw a RangeIndex) to ``ids`` values."""
    positions = list((result.get("unexpected_index_list") or [])[:max_ids])
    if not positions:
        return []
    return [_id_text(value) for value in ids.iloc[positions].tolist()]


def _has_default_index(df: pd.DataFrame) -> bool:
    index = df.index
    return (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    )


def _exception_text(exception_info: Any) -> str | None:
    """GX reports exceptions either flat or keyed by metric id; return the first message."""
    if not isinstance(exception_info, dict):
        return None
    infos = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message") or "GX raised an exception")
    return None


# --- Validation -----------------------------------------------------------------------------


def validate(
    df: pd.DataFrame,
    suite_name: str,
    *,
    id_column: str = "row_id",
    max_ids: int = 200,
) -> SuiteResult:
    """Validate ``df`` against ``expectations/<suite_name>.json``.

    Outcomes come back in suite order. ``failing_ids`` holds the ``id_column`` values of the
    failing rows (the frame's index labels when it has no such column), at most ``max_ids``.
    Expectations on missing columns fail with ``error`` naming the columns; an empty frame
    validates without raising.
    """
    raw = load_suite(suite_name)
    expectations: list[dict] = list(raw.get("expectations") or [])
    present = set(map(str, df.columns))

    outcomes: dict[int, ExpectationOutcome] = {}
    to_run: dict[str, tuple[int, dict]] = {}
    for position, expectation in enumerate(expectations):
        missing = [c for c in _columns(expectation.get("kwargs") or {}) if c not in present]
        if missing:
            outcomes[position] = _outcome(
                expectation, success=False, error="缺少列 " + "、".join(missing) + "，无法检查"
            )
        else:
            to_run[_expectation_id(suite_name, position)] = (position, expectation)

    if to_run:
        # GX gets row positions (a RangeIndex) and ids are looked up here: asking GX for
        # unexpected_index_column_names makes it build one dict per failing row with `.at`
        # lookups, ~50 µs a row (73 s instead of 4 s for 500,000 rows failing 3 rules).
        # Only the columns the suite reads go to GX (the library has 26, the suite reads 4).
        used = {c for _, exp in to_run.values() for c in _columns(exp.get("kwargs") or {})}
        frame = df[[c for c in df.columns if str(c) in used]]
        frame = frame if _has_default_index(df) else frame.reset_index(drop=True)
        ids = df[id_column].reset_index(drop=True) if id_column in present else pd.Series(df.index)
        with _LOCK:
            batch_definition = _batch_definition()
            gx = _GX["gx"]
            suite = gx.ExpectationSuite(
                name=str(raw.get("name") or suite_name),
                expectations=[dict(exp, id=exp_id) for exp_id, (_, exp) in to_run.items()],
                meta=raw.get("meta"),
            )
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            with warnings.catch_warnings():
                # pandas warns on regexes with capturing groups (GX uses str.contains)
                warnings.filterwarnings("ignore", "This pattern is interpreted as a regular")
                validation = batch.validate(suite, result_format={"result_format": "COMPLETE"})

        for res in validation.results:
            exp_id = res.expectation_config.id
            if exp_id not in to_run:  # pragma: no cover - GX always echoes the id
                continue
            position, expectation = to_run[exp_id]
            result = res.result or {}
            error = _exception_text(res.exception_info)
            outcomes[position] = _outcome(
                expectation,
                success=bool(res.success),
                unexpected_count=int(result.get("unexpected_count") or 0),
                failing_ids=[] if res.success else _failing_ids(result, ids, max_ids),
                error=error,
            )
        for position, expectation in to_run.values():  # pragma: no cover - defensive
            if position not in outcomes:
                outcomes[position] = _outcome(expectation, success=False, error="GX 未返回结果")

    ordered = [outcomes[i] for i in range(len(expectations))]
    return SuiteResult(
        suite=suite_name,
        success=all(o.success for o in ordered),
        evaluated=len(ordered),
        outcomes=ordered,
    )
