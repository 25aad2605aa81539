"""The nightly job: every asset, from the input files to the published library."""

from __future__ import annotations

import dagster as dg

NIGHTLY_JOB_NAME = "nightly_reconciliation"

nightly_job = dg.define_asset_job(
    NIGHTLY_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Ingest the five levels, match them against the catalogue, check, publish the library.",
)
