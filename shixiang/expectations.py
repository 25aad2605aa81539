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

The pages load nothing from the internet: the views and site builder of
:mod:`shixiang.gx_views` point every script, style, font and image at the vendored files of
``shixiang/docs_static``, which :mod:`shixiang.docs_assets` copies once into
``<docs_dir>/../_static/<version>/`` (shared by the runs under one docs root) instead of GX's
4 MB static folder in every site.
"""

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
# GX's site builder and page views with a per-process template cache and the vendored
# assets instead of CDNs (shixiang/gx_views.py).
_SITE_BUILDER = {"module_name": "shixiang.gx_views", "class_name": "OfflineSiteBuilder"}
_PAGE_VIEW = {"module_name": "shixiang.gx_views", "class_name": "OfflinePageView"}
_INDEX_VIEW = {"module_name": "shixiang.gx_views", "class_name": "OfflineIndexPageView"}
_DOCS_DROPPED_KEYS = frozenset(
    {
        "unexpected_list",
        "unexpected_index_list",
        "unexpected_index_query",
        "partial_unexpected_index_list",
    }
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
    docs_dir: Path | str | None = None,
    docs_label: str | None = None,
    severity: str | None = None,
) -> SuiteResult:
    """Validate ``df`` against ``expectations/<suite_name>.json`` (with ``severity``, only its
    expectations of that severity: ``critical`` or ``warning``).

    Outcomes come back in suite order. ``failing_ids`` holds the ``id_column`` values of the
    failing rows (the frame's index labels when it has no such column), at most ``max_ids``.
    Expectations on missing columns fail with ``error`` naming the columns; an empty frame
    validates without raising.

    With ``docs_dir`` (one directory per pipeline run, e.g. ``var/gx_docs/<run_id>``) the
    result is also rendered into the GX Data Docs site rooted there: ``index.html`` lists every
    validation written into the directory, and ``SuiteResult.docs_path`` is the validation
    page. ``docs_label`` (e.g. the Dagster asset name) is shown as the page's data asset and
    names the page file, to tell apart validations of one suite in the same run; the GX run
    name is the directory's name. Docs show at most 20 sampled unexpected values per
    expectation (SUMMARY size), whatever the frame's size. A docs failure is logged and leaves
    ``docs_path`` None; it never changes the validation outcome.
    """
    raw = load_suite(suite_name)
    if severity is not None:
        raw = dict(raw, expectations=[e for e in raw["expectations"] if _severity(e) == severity])
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

    validation: Any = None
    gx_results: dict[int, Any] = {}
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
            gx_results[position] = res
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
    suite_result = SuiteResult(
        suite=suite_name,
        success=all(o.success for o in ordered),
        evaluated=len(ordered),
        outcomes=ordered,
    )
    if docs_dir is not None:
        suite_result.docs_path = _write_docs(
            Path(docs_dir), suite_name, raw, validation, gx_results, ordered, docs_label
        )
    return suite_result


# --- Data Docs ------------------------------------------------------------------------------


@contextlib.contextmanager
def _docs_lock(docs_dir: Path) -> Iterator[None]:
    """Serialise writers of one site across processes (the index lists what is on disk)."""
    state = docs_dir / _DOCS_STATE
    state.mkdir(parents=True, exist_ok=True)
    with (state / "lock").open("a") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: the in-process lock only
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_docs(
    docs_dir: Path,
    suite_name: str,
    raw: dict,
    validation: Any,
    gx_results: dict[int, Any],
    outcomes: list[ExpectationOutcome],
    label: str | None,
) -> str | None:
    """Render one validation into the Data Docs site at ``docs_dir``; the page's path."""
    docs_dir = docs_dir.resolve()
    try:
        with _LOCK, _docs_lock(docs_dir):
            return _build_docs(docs_dir, suite_name, raw, validation, gx_results, outcomes, label)
    except Exception:  # docs are a by-product: never lose the validation outcome to them
        logger.warning(
            "GX Data Docs for suite %r not written to %s", suite_name, docs_dir, exc_info=True
        )
        return None


def _docs_context(docs_dir: Path) -> Any:
    """A fresh ephemeral context whose suite and result stores and docs site live in docs_dir.

    Built with the class rather than ``gx.get_context`` so GX's current context (used by objects
    that belong to no context) stays the cached validation context.
    """
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    def on_disk(class_name: str, directory: Path) -> dict:
        backend = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)}
        return {"class_name": class_name, "store_backend": backend}

    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    state = docs_dir / _DOCS_STATE
    stores[defaults.expectations_store_name] = on_disk("ExpectationsStore", state / "suites")
    stores[defaults.validation_results_store_name] = on_disk(
        "ValidationResultsStore", state / "results"
    )
    site = {
        **_SITE_BUILDER,
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": _INDEX_VIEW},
        "site_section_builders": {
            "profiling": "None",
            "validations": {"view": _PAGE_VIEW},
            "expectations": {"view": _PAGE_VIEW},
        },
    }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={_DOCS_SITE: site},
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return EphemeralDataContext(project_config=config)


def _note(expectation: dict) -> str:
    meta = expectation.get("meta") or {}
    return f"{meta.get('rule_id', '')}（{_severity(expectation)}）{meta.get('element', '')}：{meta.get('message', '')}"


def _docs_result(
    gx: Any,
    suite_name: str,
    expectations: list[dict],
    validation: Any,
    gx_results: dict[int, Any],
    outcomes: list[ExpectationOutcome],
    label: str | None,
) -> Any:
    """The result to render: GX's results trimmed to SUMMARY size, in suite order, plus a
    failed result with the error for each expectation that was not sent to GX."""
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    results = []
    for position, (expectation, outcome) in enumerate(zip(expectations, outcomes, strict=True)):
        res = gx_results.get(position)
        if res is not None:
            res = copy.copy(res)
            res.result = {
                k: v for k, v in (res.result or {}).items() if k not in _DOCS_DROPPED_KEYS
            }
        else:
            config = ExpectationConfiguration(
                type=str(expectation["type"]),
                kwargs=dict(expectation.get("kwargs") or {}),
                meta=expectation.get("meta"),
                severity=outcome.severity,
                id=_expectation_id(suite_name, position),
            )
            res = ExpectationValidationResult(
                success=False,
                expectation_config=config,
                exception_info={
                    "raised_exception": True,
                    "exception_message": outcome.error,
                    "exception_traceback": outcome.error,  # GX renders it; None breaks the page
                },
            )
        results.append(res)
    passed = sum(1 for o in outcomes if o.success)
    meta = (
        dict(validation.meta)
        if validation is not None
        else {"great_expectations_version": gx.__version__}
    )
    if label:
        meta["batch_spec"] = {**(meta.get("batch_spec") or {}), "data_asset_name": label}
    return ExpectationSuiteValidationResult(
        success=passed == len(outcomes),
        results=results,
        suite_name=suite_name,
        statistics={
            "evaluated_expectations": len(outcomes),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(outcomes) - passed,
            "success_percent": 100.0 * passed / len(outcomes) if outcomes else None,
        },
        meta=meta,
    )


def _build_docs(
    docs_dir: Path,
    suite_name: str,
    raw: dict,
    validation: Any,
    gx_results: dict[int, Any],
    outcomes: list[ExpectationOutcome],
    label: str | None,
) -> str:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from shixiang import docs_assets

    _quiet_gx()
    name = str(raw.get("name") or suite_name)
    expectations: list[dict] = list(raw.get("expectations") or [])
    context = _docs_context(docs_dir)
    # The whole suite (not only what reached GX), with each rule's steward text as its notes.
    context.suites.add_or_update(
        gx.ExpectationSuite(
            name=name,
            expectations=[
                dict(exp, id=_expectation_id(suite_name, i), notes=_note(exp))
                for i, exp in enumerate(expectations)
            ],
            meta=raw.get("meta"),
            notes=raw.get("notes"),
        )
    )
    result = _docs_result(gx, name, expectations, validation, gx_results, outcomes, label)
    run_id = RunIdentifier(run_name=docs_dir.name, run_time=datetime.datetime.now(datetime.UTC))
    result.meta["run_id"] = run_id
    batch = re.sub(r"[^\w.-]+", "_", label) if label else f"{_DATASOURCE}-{_ASSET}"
    suite_key = ExpectationSuiteIdentifier(name=name)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=suite_key, run_id=run_id, batch_identifier=batch
    )
    context.validation_results_store.set(key, result)
    docs_assets.ensure_static(docs_dir.parent)  # what the pages load, shared by the runs
    context.build_data_docs(site_names=[_DOCS_SITE], resource_identifiers=[key, suite_key])
    page = docs_dir.joinpath("validations", *name.split("."), *run_id.to_tuple(), f"{batch}.html")
    return str(page if page.is_file() else docs_dir / "index.html")


def prune_docs(root: Path | str, keep: int = 14) -> list[Path]:
    """Keep the Data Docs sites of the newest ``keep`` runs under ``root`` (one directory per
    run); delete the older ones, and the versions of the shared ``_static`` folder that
    neither the current code nor a kept run's index uses. Returns what was deleted."""
    import shutil

    from shixiang import docs_assets

    root = Path(root)
    if not root.is_dir():
        return []
    runs = sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name != docs_assets.STATIC_DIRNAME),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    deleted = runs[keep:]
    for old in deleted:
        shutil.rmtree(old, ignore_errors=True)
    shared = root / docs_assets.STATIC_DIRNAME
    if shared.is_dir():
        indexes = [run / "index.html" for run in runs[:keep]]
        used = "".join(
            p.read_text(encoding="utf-8", errors="replace") for p in indexes if p.is_file()
        )
        for version in shared.iterdir():  # (".tmp-…": a copy in progress, see ensure_static)
            marker = f"{docs_assets.STATIC_DIRNAME}/{version.name}/"
            current = version.name == docs_assets.static_version()
            if not current and not version.name.startswith(".") and marker not in used:
                shutil.rmtree(version, ignore_errors=True)
                deleted.append(version)
    return deleted
