"""Building the published tables from decided rows (``matching.decide``): unified_library,
review_queue, reuse_stats. Their columns are defined in :mod:`shixiang.tables`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shixiang import candidates, rules
from shixiang.config import (
    LEVELS,
    STATUS_CONFIRMED,
    STATUS_LOCAL,
    STATUS_MATCHED,
    STATUS_REVIEW,
    STATUS_UNMATCHED,
)
from shixiang.tables import LIBRARY_COLUMNS, REVIEW_COLUMNS, STATS_COLUMNS

# Elements the catalogue defines and that the unified library takes from it for matched rows
# (the unit's value is kept in <element>_submitted): column → Chinese element name.
UNIFIED_ELEMENTS = {
    "item_type": "事项类型",
    "legal_basis": "设定依据",
    "handling_type": "办件类型",
    "legal_limit": "法定办结时限",
}


def unify_elements(decided: pd.DataFrame) -> pd.DataFrame:
    """For matched and confirmed rows, the catalogue's value of each unified element replaces
    the unit's; the unit's value is kept as ``<element>_submitted`` and ``overridden_elements``
    names the elements where the two differed (e.g. "事项类型、设定依据")."""
    lib = decided.copy()
    matched = lib["status"].isin([STATUS_MATCHED, STATUS_CONFIRMED])
    changed = pd.Series("", index=lib.index, dtype="str")
    for col, label in UNIFIED_ELEMENTS.items():
        submitted = lib[col].astype("str")
        catalogue = lib[f"cat_{col}"].astype("str")
        lib[f"{col}_submitted"] = submitted
        take = matched & catalogue.notna()
        differs = (
            take
            & submitted.notna()
            & (
                submitted.str.replace(" ", "", regex=False)
                != catalogue.str.replace(" ", "", regex=False)
            )
        )
        lib[col] = submitted.where(~take, catalogue)
        changed = changed + np.where(differs, "、" + label, "")
    lib["overridden_elements"] = changed.str.removeprefix("、").mask(changed == "")
    return lib


def build_library(decided: pd.DataFrame, issues: pd.DataFrame) -> pd.DataFrame:
    lib = unify_elements(decided)
    lib["qc_issue_count"] = rules.issue_counts(issues, lib)
    return lib[LIBRARY_COLUMNS].reset_index(drop=True)


def build_review_queue(library: pd.DataFrame) -> pd.DataFrame:
    """Rows in review, with their top three candidates spread into columns, most shared first
    (a decision on a name that many units use resolves the most rows)."""
    rev = library.loc[library["status"] == STATUS_REVIEW].copy()
    if rev.empty:
        return pd.DataFrame(columns=REVIEW_COLUMNS)
    rev["units_with_same_name"] = units_with_same_name(rev)
    rev = rev.join(candidates.spread(rev["candidates"]))
    rev = rev.sort_values(
        ["units_with_same_name", "name_key", "source_file", "source_row"],
        ascending=[False, True, True, True],
        kind="stable",
    )
    return rev[REVIEW_COLUMNS].reset_index(drop=True)


def units_with_same_name(queue: pd.DataFrame) -> pd.Series:
    """For each row in review: how many units (division code + agency) have a row in review
    with the same ``name_key`` (1 at least)."""
    unit = queue["division_code"].astype("str") + "\x1f" + queue["agency"].astype("str")
    spread = unit.groupby(queue["name_key"]).nunique()
    return queue["name_key"].map(spread).fillna(1).astype("int64")


_COUNTS = ("submitted", "matched", "review", "unmatched", "local")


def _with_rate(out: pd.DataFrame) -> pd.DataFrame:
    for c in _COUNTS:
        out[c] = out[c].astype("int64")
    out["reuse_rate"] = (
        (out["matched"] / out["submitted"].where(out["submitted"] > 0)).round(4).fillna(0.0)
    )
    return out


def level_stats(unit_rows: pd.DataFrame) -> pd.DataFrame:
    """reuse_stats' rows per level, in level order: the sums of its unit rows."""
    per_level = unit_rows.groupby("level", sort=False)[list(_COUNTS)].sum().reset_index()
    per_level["level"] = pd.Categorical(per_level["level"], categories=list(LEVELS), ordered=True)
    per_level = per_level.sort_values("level")
    per_level["level"] = per_level["level"].astype("str")
    per_level.insert(0, "scope", "level")
    per_level["division_code"] = np.nan
    per_level["agency"] = np.nan
    return _with_rate(per_level.reset_index(drop=True))[STATS_COLUMNS]


def build_reuse_stats(library: pd.DataFrame) -> pd.DataFrame:
    """Per unit (division code + agency) and per level: counts by status and the reuse rate
    (matched + confirmed over submitted)."""
    lib = library.assign(
        matched=library["status"].isin([STATUS_MATCHED, STATUS_CONFIRMED]),
        review=library["status"] == STATUS_REVIEW,
        unmatched=library["status"] == STATUS_UNMATCHED,
        local=library["status"] == STATUS_LOCAL,
    )
    agg = {
        "submitted": ("status", "size"),
        "matched": ("matched", "sum"),
        "review": ("review", "sum"),
        "unmatched": ("unmatched", "sum"),
        "local": ("local", "sum"),
    }
    per_unit = lib.groupby(["level", "division_code", "agency"], sort=True).agg(**agg).reset_index()
    per_unit.insert(0, "scope", "unit")
    per_unit = _with_rate(per_unit)
    out = pd.concat([level_stats(per_unit), per_unit[STATS_COLUMNS]], ignore_index=True)
    return out[STATS_COLUMNS]


def run_summary(
    library: pd.DataFrame,
    issues: pd.DataFrame,
    rejected_rows: pd.DataFrame,
    rejected_files: pd.DataFrame,
    rows_read: int,
    top_units: int = 5,
) -> dict:
    """What a run did, in builtin types (printed by the CLI, stored with the publication)."""
    by_unit = (
        issues.groupby(["division_code", "agency"])
        .size()
        .sort_values(ascending=False)
        .head(top_units)
        if len(issues)
        else pd.Series(dtype="int64")
    )
    return {
        "rows_read": int(rows_read),
        "library_rows": len(library),
        "status": {str(k): int(v) for k, v in library["status"].value_counts().items()},
        "by_level": {
            str(k): int(v)
            for k, v in library["level"].value_counts().reindex(list(LEVELS)).dropna().items()
        },
        "rejected_rows": len(rejected_rows),
        "rejected_row_reasons": {
            str(k): int(v)
            for k, v in rejected_rows["reason"]
            .str.replace(r"“.*”", "“…”", regex=True)
            .value_counts()
            .items()
        },
        "rejected_files": [
            {"source_file": str(f), "reason": str(r)}
            for f, r in zip(rejected_files["source_file"], rejected_files["reason"], strict=True)
        ],
        "qc_issues": len(issues),
        "qc_issues_by_rule": {
            str(k): int(v) for k, v in issues["rule_id"].value_counts().sort_index().items()
        }
        if len(issues)
        else {},
        "qc_issues_by_level": {
            str(k): int(v)
            for k, v in issues["level"].value_counts().reindex(list(LEVELS)).dropna().items()
        }
        if len(issues)
        else {},
        "units_with_most_issues": [
            {"division_code": str(d), "agency": str(a), "issues": int(n)}
            for (d, a), n in by_unit.items()
        ],
    }
