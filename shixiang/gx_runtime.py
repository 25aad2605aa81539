"""The process's Great Expectations runtime, shared by validation and Data Docs.

Owns the lazy import of GX (``import great_expectations`` costs about 3 s, so nothing imports
it before a suite is validated or a site is built; its loggers are kept to errors),
:data:`GX_LOCK`, which serialises the process's use of GX (validation in
:mod:`shixiang.expectations`, site building in :mod:`shixiang.data_docs`), and the one cached
ephemeral context with its pandas datasource and whole-dataframe batch definition, built on the
first validation and reused by every later one in the process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

# The names of the cached context's pandas datasource, data asset and batch definition.
DATASOURCE = "shixiang_frames"
ASSET = "frame"
_BATCH = "whole_frame"

GX_LOCK = threading.Lock()
_GX: dict[str, Any] = {}


def import_gx() -> Any:
    """The ``great_expectations`` module, its loggers kept to errors (they log at INFO and
    WARNING on routine paths), without its batch fingerprint (see ``_skip_fingerprint``)."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    _skip_fingerprint()
    return gx


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
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = import_gx().get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_or_update_pandas(DATASOURCE).add_dataframe_asset(ASSET)
        _GX["context"] = context
        _GX["batch_definition"] = asset.add_batch_definition_whole_dataframe(_BATCH)
    return _GX["batch_definition"]
