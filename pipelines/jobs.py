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
