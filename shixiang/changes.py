"""What changed since the last publication (动态维护): items added, removed, or whose status or
matched code changed, per unit.

A unit's item is identified as steward decisions identify it: the unit (行政区划代码 + 实施主体)
and the normalised name (``name_key``), not row numbers, so a re-sorted or re-submitted file
changes nothing. Compared with the library published last, so the first publication has no
changes to report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shixiang.tables import CHANGE_COLUMNS

# Columns of the library a comparison reads (and the store reads back from the last publish).
COMPARED_COLUMNS: list[str] = [
    "division_code",
    "agency",
    "level",
    "item_name",
    "name_key",
    "status",
    "business_code",
    "catalogue_name",
]
_KEY = ["division_code", "agency", "name_key"]

ADDED, REMOVED, STATUS, CODE = "added", "removed", "status_changed", "code_changed"
CHANGE_LABELS = {ADDED: "新增", REMOVED: "删除", STATUS: "状态变化", CODE: "匹配事项变化"}


def library_changes(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """One row per unit item that was added, removed, or changed status or matched code since
    ``previous`` (columns :data:`CHANGE_COLUMNS`; ``change`` is added | removed |
    status_changed | code_changed; a change of both status and code is one code_changed row).
    Empty when there is no previous library."""
    if previous is None or previous.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    before = previous[COMPARED_COLUMNS].drop_duplicates(_KEY)
    after = current[COMPARED_COLUMNS].drop_duplicates(_KEY)
    both = after.merge(
        before, on=_KEY, how="outer", suffixes=("", "_before"), indicator=True, sort=False
    )
    added = both["_merge"] == "left_only"  # in the current library only
    removed = both["_merge"] == "right_only"
    kept = both["_merge"] == "both"
    code_changed = kept & ~_same(both["business_code"], both["business_code_before"])
    status_changed = kept & ~code_changed & ~_same(both["status"], both["status_before"])
    change = np.select(
        [added, removed, code_changed, status_changed], [ADDED, REMOVED, CODE, STATUS], ""
    )
    out = both.assign(change=change).loc[change != ""]
    for col in ("level", "item_name", "catalogue_name"):  # a removed row shows what it was
        out[col] = out[col].fillna(out[f"{col}_before"])
    order = {ADDED: 0, REMOVED: 1, CODE: 2, STATUS: 3}
    out = out.sort_values(
        ["division_code", "agency", "change", "name_key"],
        key=lambda s: s.map(order) if s.name == "change" else s,
        kind="stable",
    )
    return out[CHANGE_COLUMNS].reset_index(drop=True)


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Equal, missing values equal to each other."""
    return (a == b).fillna(False) | (a.isna() & b.isna())


def by_unit(changes: pd.DataFrame) -> pd.DataFrame:
    """Counts of each kind of change per unit, the units with most changes first."""
    if changes.empty:
        return pd.DataFrame(columns=["division_code", "agency", *CHANGE_LABELS, "total"])
    table = (
        changes.pivot_table(
            index=["division_code", "agency"], columns="change", aggfunc="size", fill_value=0
        )
        .reindex(columns=list(CHANGE_LABELS), fill_value=0)
        .astype("int64")
    )
    table["total"] = table.sum(axis=1)
    return table.sort_values("total", ascending=False, kind="stable").reset_index()


def summary(changes: pd.DataFrame) -> dict[str, int]:
    """Counts by kind of change, in builtin ints (for the run summary)."""
    counts = changes["change"].value_counts() if len(changes) else pd.Series(dtype="int64")
    return {kind: int(counts.get(kind, 0)) for kind in CHANGE_LABELS}
