"""GX Data Docs of the validations: one static site per pipeline run, and their pruning.

Owns the rendering of a validation result into the site at ``docs_dir`` (one directory per
run, e.g. ``var/gx_docs/<run_id>``; :func:`shixiang.expectations.validate` calls
:func:`write_validation` when given ``docs_dir``), the file lock that makes concurrent writers
of one site safe, and :func:`prune_docs`. Imports GX only when a site is built.

The site is built from the validation result already in hand, not by validating again through
a Checkpoint with ``UpdateDataDocsAction``: each call builds a throw-away ephemeral context
(~5 ms) whose expectation and validation-result stores and data docs site all live under
``docs_dir``, so nothing is left in the cached validation context and suites validated in other
processes of the same run stay in the site's index (GX's index builder deletes every page whose
result is not in the context's result store, so in-memory result stores would drop the pages of
other processes). Writers of one site are serialised by :data:`shixiang.gx_runtime.GX_LOCK`
in a process and by an ``fcntl`` lock on ``<docs_dir>/_gx/lock`` across processes. GX is given
a SUMMARY-sized copy of the result: with COMPLETE results it renders ``unexpected_index_query``,
every failing row position (4.4 MB of HTML for one suite on 500,000 rows, and positions rather
than ids).

The pages load nothing from the internet: the views and site builder of :mod:`shixiang.gx_views`
point every script, style, font and image at the vendored files of ``shixiang/docs_static``,
which :mod:`shixiang.docs_assets` copies once into ``<docs_dir>/../_static/<version>/`` (shared
by the runs under one docs root) instead of GX's 4 MB static folder in every site.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shixiang import docs_assets
from shixiang.config import DOCS_KEEP_RUNS
from shixiang.expectation_suites import expectation_id, severity_of
from shixiang.gx_runtime import ASSET, DATASOURCE, GX_LOCK, import_gx

# The site of the throw-away docs context, the directory (under docs_dir) of its stores and
# lock file, and the result keys left out of the rendered copy. GX renders
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


def write_validation(
    docs_dir: Path,
    suite_name: str,
    raw: dict,
    validation: Any,
    gx_results: dict[int, Any],
    not_run: dict[int, str],
    label: str | None,
) -> str | None:
    """Render one validation of the suite ``raw`` into the Data Docs site at ``docs_dir``.

    ``validation`` is GX's suite result (None when nothing reached GX) and ``gx_results`` its
    results by position in the suite; ``not_run`` holds, by position, the error of each
    expectation that was not sent to GX (shown as a failed expectation). Returns the page's
    path (the site's index when GX wrote no page), or None when the docs could not be written:
    the failure is logged, and never costs the validation outcome."""
    docs_dir = docs_dir.resolve()
    try:
        with GX_LOCK, _docs_lock(docs_dir):
            return _build_docs(docs_dir, suite_name, raw, validation, gx_results, not_run, label)
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
    """The steward text of a rule on its suite page, with where its value sets come from."""
    meta = expectation.get("meta") or {}
    note = f"{meta.get('rule_id', '')}（{severity_of(expectation)}）{meta.get('element', '')}：{meta.get('message', '')}"
    sources = "；".join(f"{k} 取自 {v}" for k, v in (meta.get("config") or {}).items())
    return f"{note}（{sources}）" if sources else note


def _docs_result(
    gx: Any,
    suite_name: str,
    expectations: list[dict],
    validation: Any,
    gx_results: dict[int, Any],
    not_run: dict[int, str],
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
    for position, expectation in enumerate(expectations):
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
                severity=severity_of(expectation),
                id=expectation_id(suite_name, position),
            )
            error = not_run.get(position) or "GX 未返回结果"
            res = ExpectationValidationResult(
                success=False,
                expectation_config=config,
                exception_info={
                    "raised_exception": True,
                    "exception_message": error,
                    "exception_traceback": error,  # GX renders it; None breaks the page
                },
            )
        results.append(res)
    passed = sum(1 for res in results if res.success)
    total = len(results)
    meta = (
        dict(validation.meta)
        if validation is not None
        else {"great_expectations_version": gx.__version__}
    )
    if label:
        meta["batch_spec"] = {**(meta.get("batch_spec") or {}), "data_asset_name": label}
    return ExpectationSuiteValidationResult(
        success=passed == total,
        results=results,
        suite_name=suite_name,
        statistics={
            "evaluated_expectations": total,
            "successful_expectations": passed,
            "unsuccessful_expectations": total - passed,
            "success_percent": 100.0 * passed / total if total else None,
        },
        meta=meta,
    )


def _build_docs(
    docs_dir: Path,
    suite_name: str,
    raw: dict,
    validation: Any,
    gx_results: dict[int, Any],
    not_run: dict[int, str],
    label: str | None,
) -> str:
    gx = import_gx()  # first: it decides how GX's own imports are done
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    name = str(raw.get("name") or suite_name)
    expectations: list[dict] = list(raw.get("expectations") or [])
    context = _docs_context(docs_dir)
    # The whole suite (not only what reached GX), with each rule's steward text as its notes.
    context.suites.add_or_update(
        gx.ExpectationSuite(
            name=name,
            expectations=[
                dict(exp, id=expectation_id(suite_name, i), notes=_note(exp))
                for i, exp in enumerate(expectations)
            ],
            meta=raw.get("meta"),
            notes=raw.get("notes"),
        )
    )
    result = _docs_result(gx, name, expectations, validation, gx_results, not_run, label)
    run_id = RunIdentifier(run_name=docs_dir.name, run_time=datetime.datetime.now(datetime.UTC))
    result.meta["run_id"] = run_id
    batch = re.sub(r"[^\w.-]+", "_", label) if label else f"{DATASOURCE}-{ASSET}"
    suite_key = ExpectationSuiteIdentifier(name=name)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=suite_key, run_id=run_id, batch_identifier=batch
    )
    context.validation_results_store.set(key, result)
    docs_assets.ensure_static(docs_dir.parent)  # what the pages load, shared by the runs
    context.build_data_docs(site_names=[_DOCS_SITE], resource_identifiers=[key, suite_key])
    page = docs_dir.joinpath("validations", *name.split("."), *run_id.to_tuple(), f"{batch}.html")
    return str(page if page.is_file() else docs_dir / "index.html")


def prune_docs(root: Path | str, keep: int = DOCS_KEEP_RUNS) -> list[Path]:
    """Keep the Data Docs sites of the newest ``keep`` runs under ``root`` (one directory per
    run); delete the older ones, and the versions of the shared ``_static`` folder that
    neither the current code nor a kept run's index uses. Returns what was deleted."""
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
