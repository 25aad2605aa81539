"""The nightly job: every asset, from the input files to the published library."""

from __future__ import annotations

import dagster as dg

NIGHTLY_JOB_NAME = "nightly_reconciliation"

# In-process: the steps mostly run one after another on one machine, and separate step
# processes would each pay Dagster's and Great Expectations' import time (~4 s) again.
nightly_job = dg.define_asset_job(
    NIGHTLY_JOB_NAME,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Ingest the five levels, match them against the catalogue, check, publish the library.",
)

DECISIONS_JOB_NAME = "apply_steward_decisions"

# Re-applies decisions to the last ingested inputs: matching and everything after it re-run,
# the input files are not read again (their assets load from the I/O manager's storage).
decisions_job = dg.define_asset_job(
    DECISIONS_JOB_NAME,
    selection=dg.AssetSelection.assets("steward_decisions").downstream(),
    executor_def=dg.in_process_executor,
    description="Apply new steward decisions and republish, without re-reading the input files.",
)
