"""The nightly job: every asset, from the input files to the published library."""

from __future__ import annotations

import dagster as dg

NIGHTLY_JOB_NAME = "nightly_reconciliation"

# No executor here: the code location's (pipelines/executors.py, SHIXIANG_EXECUTOR) runs the
# steps, in-process by default. Partitioned by prefecture (assets/partitions.py): a run is
# one prefecture's slice, or every prefecture at once.
nightly_job = dg.define_asset_job(
    NIGHTLY_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Ingest a prefecture's lists of the five levels, match them against the "
    "catalogue, check, publish its slice of the library.",
)

DECISIONS_JOB_NAME = "apply_steward_decisions"

# Re-applies decisions to the last ingested inputs: matching and everything after it re-run,
# the input files are not read again (their assets load from the I/O manager's storage).
decisions_job = dg.define_asset_job(
    DECISIONS_JOB_NAME,
    selection=dg.AssetSelection.assets("steward_decisions").downstream(),
    description="Apply new steward decisions and republish, without re-reading the input files.",
)
