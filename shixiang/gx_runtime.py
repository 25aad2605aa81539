"""The process's Great Expectations runtime, shared by validation and Data Docs.

Owns the lazy import of GX (``import great_expectations`` costs about 3 s, so nothing imports
it before a suite is validated or a site is built; its loggers are kept to errors),
:data:`GX_LOCK`, which serialises the process's use of GX (validation in
:mod:`shixiang.expectations`, site building in :mod:`shixiang.data_docs`), and the one cached
ephemeral context with its pandas datasource and whole-dataframe batch definition, built on the
first validation and reused by every later one in the process.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from typing import Any

# The names of the cached context's pandas datasource, data asset and batch definition.
DATASOURCE = "shixiang_frames"
ASSET = "frame"
_BATCH = "whole_frame"

GX_LOCK = threading.Lock()
_GX: dict[str, Any] = {}


# Libraries GX imports for expectations shixiang's suites never use: ``scipy.stats`` (for the
# KS-test and KL-divergence expectations), with the rest of SciPy it imports in turn, is 0.6 of
# the 1.6 s ``import great_expectations`` takes here. See ``_defer``. (``altair``, as unused,
# is loaded by GX's import itself: deferring it saves nothing.)
DEFERRED_IMPORTS = ("scipy.stats",)


def import_gx() -> Any:
    """The ``great_expectations`` module, its loggers kept to errors (they log at INFO and
    WARNING on routine paths), without its batch fingerprint (see ``_skip_fingerprint``), and
    with :data:`DEFERRED_IMPORTS` loaded only if something uses them (see ``_defer``)."""
    if "great_expectations" not in sys.modules:
        for name in DEFERRED_IMPORTS:
            _defer(name)
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    _skip_fingerprint()
    return gx


def _defer(name: str) -> None:
    """Register module ``name`` as imported, its code to run on first use: the standard
    library's ``importlib.util.LazyLoader``. ``import name`` and ``from parent import child``
    then return at once; the first attribute looked up on the module loads it for real (the
    result is the same, later). Nothing is done if the module is loaded already or missing."""
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def _skip_fingerprint() -> None:
    """Turn off the MD5 of every in-memory frame GX takes a batch of (``pandas_data_fingerprint``
    in the batch markers): it hashes every row of every column handed over (1.2 s of a 500k-row
    province's run, more than some validations), and nothing in shixiang or in its Data Docs
    reads it. GX skips it for frames above ``HASH_THRESHOLD`` bytes; a threshold of 0 skips it
    for every frame. A GX version without the constant fails ``tests/test_expectations.py``."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


def batch_definition() -> Any:
    """The whole-dataframe batch definition of the cached ephemeral context (built on the first
    call). Call it with :data:`GX_LOCK` held."""
    if "batch_definition" not in _GX:
        gx = import_gx()  # first: it decides how GX's own imports are done
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_or_update_pandas(DATASOURCE).add_dataframe_asset(ASSET)
        _GX["context"] = context
        _GX["batch_definition"] = asset.add_batch_definition_whole_dataframe(_BATCH)
    return _GX["batch_definition"]
