"""The desk's view of the published library: the queue, its facets, a row and its candidates.

A :class:`Snapshot` holds the rows a steward works on — every row in review or unmatched, and
every row a steward decision reached — read once per publish (a 500,000-row library has a few
ten thousand such rows), with the decisions in force laid over them. Every query takes the
user's scope prefix and filters by it first: nothing outside the scope is counted, listed or
returned. :class:`DeskData` keeps the snapshot current: one indexed ``max(id)`` per request
on ``publications`` and ``steward_decisions`` says whether to re-read.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from sqlalchemy import Engine, func, inspect, select, text

from shixiang import candidates, store
from shixiang import decisions as dec
from shixiang.config import (
    LEVEL_LABELS,
    STATUS_CONFIRMED,
    STATUS_LOCAL,
    STATUS_MATCHED,
    STATUS_REVIEW,
    STATUS_UNMATCHED,
    TIMEZONE,
)
from shixiang.library import UNIFIED_ELEMENTS as ELEMENTS
from shixiang.tables import LIBRARY_COLUMNS, publications, steward_decisions

OPEN_STATUSES: tuple[str, ...] = (STATUS_REVIEW, STATUS_UNMATCHED)
STATUS_LABELS: dict[str, str] = {
    STATUS_REVIEW: "待核对",
    STATUS_UNMATCHED: "未匹配",
    STATUS_CONFIRMED: "已确认",
    STATUS_LOCAL: "本地事项",
    STATUS_MATCHED: "已匹配",
}
# Decision state of a row: no decision; recorded but not yet applied by a publish; applied.
STATE_NONE, STATE_PENDING, STATE_APPLIED = "none", "pending", "applied"
STATE_LABELS: dict[str, str] = {
    STATE_NONE: "未处理",
    STATE_PENDING: "待生效（下次发布后生效）",
    STATE_APPLIED: "已生效",
}
SCORE_BANDS: tuple[tuple[float, str], ...] = (
    (95.0, "≥95"),
    (90.0, "90–95"),
    (80.0, "80–90"),
    (70.0, "70–80"),
    (0.0, "<70"),
)
NO_SCORE = "无候选"
MARGIN_BANDS: tuple[tuple[float, str], ...] = ((10.0, "≥10"), (5.0, "5–10"), (0.0, "<5"))
NO_MARGIN = "无"
PAGE_SIZE = 50
# The queue's order: names most units share first (one decision resolves the most rows).
QUEUE_ORDER: tuple[tuple[str, bool], ...] = (
    ("units_with_same_name", False),
    ("name_key", True),
    ("division_code", True),
    ("source_file", True),
    ("source_row", True),
)
# Columns the decisions in force are laid over the rows with (see _overlay).
OVERLAY_COLUMNS = (
    "eff_id",
    "eff_decision",
    "eff_scope",
    "eff_code",
    "eff_reason",
    "decided_by",
    "eff_at",
    "decided_day",
    "state",
)

# The library columns the desk reads: all but the unified elements (it shows the unit's
# submitted values beside the catalogue's) and what it never shows.
ROW_COLUMNS = [c for c in LIBRARY_COLUMNS if c not in (*ELEMENTS, "overridden_elements", "extra")]


@dataclass(frozen=True)
class Facet:
    """A column the queue can be narrowed by: its query parameter and label."""

    param: str
    column: str
    label: str
    labels: Mapping[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # values shown in this order (else: most rows first)


FACETS: tuple[Facet, ...] = (
    Facet("status", "status", "状态", STATUS_LABELS, tuple(STATUS_LABELS)),
    Facet("state", "state", "处理情况", STATE_LABELS, tuple(STATE_LABELS)),
    Facet("level", "level", "层级", LEVEL_LABELS, tuple(LEVEL_LABELS)),
    Facet("score", "score_band", "最高相似度", order=(*(b for _, b in SCORE_BANDS), NO_SCORE)),
    Facet(
        "margin", "margin_band", "领先第二候选", order=(*(b for _, b in MARGIN_BANDS), NO_MARGIN)
    ),
    Facet("type", "item_type_submitted", "事项类型（填报）"),
    Facet(
        "method", "match_method", "匹配方式", {"none": "未自动匹配", "steward": "数据管理员决定"}
    ),
    Facet("steward", "decided_by", "处理人"),
    Facet("day", "decided_day", "处理日期"),
    Facet("unit", "division_code", "单位"),
)
FACET_PARAMS = {f.param: f for f in FACETS}
ANY_STATUS = "*"


def _bands(values: pd.Series, bands: tuple[tuple[float, str], ...], missing: str) -> pd.Series:
    out = pd.Series(missing, index=values.index, dtype="str")
    v = pd.to_numeric(values, errors="coerce")
    for low, label in reversed(bands):
        out[v >= low] = label
    return out


@dataclass
class Snapshot:
    """The rows of one publish with the decisions in force; immutable once built."""

    publication_id: int
    published_at: str
    decision_version: int
    rows: pd.DataFrame  # indexed by row_id
    catalogue: pd.DataFrame  # indexed by business_code
    in_force: pd.DataFrame  # decisions.effective()
    unit_names: dict[str, str]  # division_code → agencies
    decided: pd.DataFrame = field(default_factory=pd.DataFrame)  # every decision, oldest first
    # Per-snapshot memo: scope positions per prefix, column arrays (the rows never change).
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    # --- queries, all within a scope prefix --------------------------------------------
    # The rows are kept in queue order (QUEUE_ORDER), so a selection of positions in
    # ascending order is already sorted; filters are boolean masks over the scope's positions.
    def _scope(self, prefix: str) -> np.ndarray:
        """Positions of the rows in the scope (memoised per prefix)."""
        key = ("scope", prefix)
        if key not in self._memo:
            codes = self.rows["division_code"]
            self._memo[key] = (
                np.arange(len(codes))
                if not prefix
                else np.flatnonzero(codes.str.startswith(prefix).to_numpy(dtype=bool))
            )
        return self._memo[key]

    def _column(self, name: str) -> np.ndarray:
        key = ("column", name)
        if key not in self._memo:
            self._memo[key] = self.rows[name].to_numpy(dtype=object)
        return self._memo[key]

    def _masks(self, positions: np.ndarray, filters: Mapping[str, str]) -> dict[str, np.ndarray]:
        """One mask per active filter over ``positions`` (the default status filter: open)."""
        masks: dict[str, np.ndarray] = {}
        status = filters.get("status") or ""
        if status != ANY_STATUS:
            values = self._column("status")[positions]
            masks["status"] = values == status if status else np.isin(values, list(OPEN_STATUSES))
        for facet in FACETS:
            value = filters.get(facet.param)
            if facet.param != "status" and value:
                masks[facet.param] = self._column(facet.column)[positions] == value
        q = (filters.get("q") or "").strip()
        if q:
            text = self.rows["search_text"].iloc[positions]
            masks["q"] = text.str.contains(q, regex=False).to_numpy(dtype=bool)
        return masks

    @staticmethod
    def _all_but(masks: dict[str, np.ndarray], n: int, skip: str = "") -> np.ndarray:
        out = np.ones(n, dtype=bool)
        for name, mask in masks.items():
            if name != skip:
                out &= mask
        return out

    def selected(self, prefix: str, filters: Mapping[str, str]) -> np.ndarray:
        """Positions of the scope's rows that pass every filter, in queue order."""
        positions = self._scope(prefix)
        return positions[self._all_but(self._masks(positions, filters), len(positions))]

    def scoped(self, prefix: str) -> pd.DataFrame:
        return self.rows.iloc[self._scope(prefix)]

    def filtered(self, prefix: str, filters: Mapping[str, str]) -> pd.DataFrame:
        """The scope's rows narrowed by every filter, in queue order."""
        return self.rows.iloc[self.selected(prefix, filters)]

    def facets(
        self, prefix: str, filters: Mapping[str, str]
    ) -> list[tuple[Facet, list[tuple[str, str, int]]]]:
        """Each facet with its values (value, label, count) under the other filters."""
        positions = self._scope(prefix)
        masks = self._masks(positions, filters)
        out = []
        for facet in FACETS:
            keep = self._all_but(masks, len(positions), skip=facet.param)
            values = self._column(facet.column)[positions[keep]]
            counts = pd.Series(values, dtype="object").value_counts()
            counts = counts.loc[counts.index != ""]
            if facet.param == "unit":
                counts = counts.head(30)
                labels = {c: f"{c} {self.unit_names.get(c, '')}" for c in counts.index}
            else:
                labels = {v: facet.labels.get(v, v) for v in counts.index}
                if facet.order:
                    known = [v for v in facet.order if v in counts.index]
                    counts = counts.reindex(known + [v for v in counts.index if v not in known])
            out.append((facet, [(v, labels[v], int(n)) for v, n in counts.items()]))
        return out

    def page(
        self, prefix: str, filters: Mapping[str, str], page: int = 1, size: int = PAGE_SIZE
    ) -> tuple[pd.DataFrame, int]:
        """One page of the filtered queue (the names most units share first) and the total."""
        chosen = self.selected(prefix, filters)
        start = max(page - 1, 0) * size
        return self.rows.iloc[chosen[start : start + size]], len(chosen)

    def row(self, row_id: str) -> pd.Series | None:
        if row_id not in self.rows.index:
            return None
        return self.rows.loc[row_id]

    def same_name(self, prefix: str, name_key: str) -> pd.DataFrame:
        """The scope's rows with this normalised name (other units that wrote the same name)."""
        positions = self._scope(prefix)
        hit = positions[self._column("name_key")[positions] == name_key]
        return self.rows.iloc[hit].sort_values(["division_code", "source_file", "source_row"])

    def candidates(self, row: pd.Series) -> list[dict]:
        """The row's candidates with the catalogue's elements and the name difference marked."""
        return [
            {
                "business_code": c.business_code,
                "name": c.name,
                "score": c.score,
                "item": self.catalogue_item(c.business_code),
                "diff": diff_marks(str(row["item_name"]), c.name),
            }
            for c in candidates.decode(row.get("candidates"))
        ]

    def catalogue_item(self, code: str) -> dict | None:
        if code not in self.catalogue.index:
            return None
        item = self.catalogue.loc[code]
        return {"business_code": code, **{k: cell_text(v) for k, v in item.items()}}

    def search_catalogue(self, query: str, limit: int = 20) -> list[dict]:
        """Catalogue items by code (prefix) or name (fuzzy), best first."""
        q = (query or "").strip()
        if not q or self.catalogue.empty:
            return []
        codes = self.catalogue.index.to_series()
        by_code = codes.loc[codes.str.startswith(q.upper())].head(limit).tolist()
        names = self.catalogue["item_name"].astype("str").tolist()
        hits = process.extract(q, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
        by_name = [self.catalogue.index[i] for _, _, i in hits]
        seen, out = set(), []
        for code in [*by_code, *by_name]:
            if code not in seen:
                seen.add(code)
                out.append(self.catalogue_item(code))
        return out[:limit]

    def effective_for(self, row: pd.Series) -> dict | None:
        """The decision in force for the row: the unit's own, else a province-wide one."""
        if pd.isna(row.get("eff_id")):
            return None
        return {
            "id": int(row["eff_id"]),
            "decision": row["eff_decision"],
            "scope": row["eff_scope"],
            "business_code": cell_text(row["eff_code"]),
            "reason": cell_text(row["eff_reason"]),
            "steward": row["decided_by"],
            "decided_at": row["eff_at"],
        }


def local_times(values: pd.Series | list, fmt: str = "%Y-%m-%d %H:%M") -> pd.Series:
    """Timestamps as text in the province's time zone (config.TIMEZONE). The database keeps
    UTC; SQLite hands it back without a zone, PostgreSQL with one: both read as UTC."""
    when = pd.to_datetime(pd.Series(values), utc=True, errors="coerce")
    return when.dt.tz_convert(TIMEZONE).dt.strftime(fmt)


def cell_text(value: object) -> str:
    """A cell's text for a page: empty for a missing value (never "nan" or "None")."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def diff_marks(a: str, b: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """``a`` and ``b`` as runs of (text, differs): the characters one has and the other not."""
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if i2 > i1:
            left.append((a[i1:i2], op != "equal"))
        if j2 > j1:
            right.append((b[j1:j2], op != "equal"))
    return left, right


def _overlay(rows: pd.DataFrame, in_force: pd.DataFrame) -> pd.DataFrame:
    """The decision in force per row (the unit's row decision, else a scope-all one) and the
    row's state: none, pending (recorded after the publish that built the row), applied."""
    out = rows.copy()
    cols = ["id", "decision", "scope", "business_code", "reason", "steward", "decided_at"]
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    if in_force.empty:
        hit = empty.reindex(range(len(out)))
    else:
        by_row = in_force.loc[in_force["scope"] == dec.SCOPE_ROW].set_index(
            ["division_code", "name_key"]
        )[cols]
        by_all = in_force.loc[in_force["scope"] == dec.SCOPE_ALL].set_index("name_key")[cols]
        keys = pd.MultiIndex.from_arrays([out["division_code"], out["name_key"]])
        hit = by_row.reindex(keys).reset_index(drop=True)
        if len(by_all):
            hit = hit.fillna(by_all.reindex(out["name_key"].to_numpy()).reset_index(drop=True))
    hit.index = out.index
    out["eff_id"] = pd.to_numeric(hit["id"], errors="coerce").astype("Int64")
    out["eff_decision"] = hit["decision"].astype("object")
    out["eff_scope"] = hit["scope"].astype("object")
    out["eff_code"] = hit["business_code"].astype("object")
    out["eff_reason"] = hit["reason"].astype("object")
    out["decided_by"] = hit["steward"].astype("object")
    out["eff_at"] = local_times(hit["decided_at"]).to_numpy(dtype=object)
    out["decided_day"] = local_times(hit["decided_at"], "%Y-%m-%d").to_numpy(dtype=object)
    applied = pd.to_numeric(out["decision_id"], errors="coerce").astype("Int64")
    state = np.where(
        out["eff_id"].isna() & applied.isna(),
        STATE_NONE,
        np.where(
            out["eff_id"].fillna(-1).to_numpy() == applied.fillna(-2).to_numpy(),
            STATE_APPLIED,
            STATE_PENDING,
        ),
    )
    out["state"] = state
    for c in OVERLAY_COLUMNS:
        if c not in ("eff_id", "state"):
            out[c] = out[c].where(out[c].notna(), None)
    return out


def _has_library(engine: Engine) -> bool:
    with engine.connect() as conn:
        return inspect(conn).has_table("unified_library")


def read_snapshot(engine: Engine) -> Snapshot:
    """Read the rows the desk works on from the published library (one scan)."""
    store.ensure_schema(engine)
    with engine.connect() as conn:
        pub = conn.execute(
            select(publications.c.id, publications.c.published_at)
            .order_by(publications.c.id.desc())
            .limit(1)
        ).first()
        cols = ", ".join(f'"{c}"' for c in ROW_COLUMNS)
        rows = pd.read_sql(
            text(
                f"SELECT {cols} FROM unified_library"
                " WHERE status IN ('review', 'unmatched') OR decision_id IS NOT NULL"
            ),
            conn,
        )
        spread = pd.read_sql(
            text(
                "SELECT name_key, COUNT(DISTINCT division_code) AS units_with_same_name"
                " FROM unified_library GROUP BY name_key"
            ),
            conn,
        )
        catalogue = pd.read_sql(text("SELECT * FROM catalogue_items"), conn)
        units = pd.read_sql(
            text("SELECT division_code, agency FROM reuse_stats WHERE scope = 'unit'"), conn
        )
        decided = store.decisions_frame(conn)
    rows = rows.merge(spread, on="name_key", how="left")
    rows["units_with_same_name"] = rows["units_with_same_name"].fillna(1).astype("int64")
    for c in rows.columns:
        if rows[c].dtype == object or str(rows[c].dtype) == "str":
            rows[c] = rows[c].astype("object").where(rows[c].notna(), None)
    rows["score_band"] = np.where(
        rows["status"].isin(OPEN_STATUSES), _bands(rows["score"], SCORE_BANDS, NO_SCORE), None
    )
    rows["margin_band"] = np.where(
        rows["status"].isin(OPEN_STATUSES), _bands(rows["margin"], MARGIN_BANDS, NO_MARGIN), None
    )
    # what the queue's text search looks in, one Arrow string per row
    rows["search_text"] = (
        rows["item_name"].fillna("")
        + "\x1f"
        + rows["agency"].fillna("")
        + "\x1f"
        + rows["row_id"].fillna("")
    ).astype("string[pyarrow]")
    rows = rows.sort_values(
        [c for c, _ in QUEUE_ORDER], ascending=[a for _, a in QUEUE_ORDER], kind="stable"
    ).reset_index(drop=True)
    catalogue = catalogue.drop_duplicates("business_code").set_index("business_code")
    unit_names = _unit_names(units)
    snap = Snapshot(
        publication_id=int(pub.id) if pub else 0,
        published_at=local_times([pub.published_at]).iloc[0] if pub else "",
        decision_version=int(decided["id"].max()) if len(decided) else 0,
        rows=rows,
        catalogue=catalogue,
        in_force=pd.DataFrame(),
        unit_names=unit_names,
    )
    return with_decisions(snap, decided)


def _unit_names(units: pd.DataFrame) -> dict[str, str]:
    """division_code → its shortest agency name, "等 N 个主体" when it has several (plain
    dictionaries: a groupby with a Python lambda per group costs a second on 5,000 units)."""
    names: dict[str, set[str]] = {}
    for code, agency in zip(units["division_code"], units["agency"], strict=True):
        if isinstance(code, str) and isinstance(agency, str):
            names.setdefault(code, set()).add(agency)
    return {
        code: min(agencies, key=len) + (f"等 {len(agencies)} 个主体" if len(agencies) > 1 else "")
        for code, agencies in names.items()
    }


def with_decisions(snap: Snapshot, decided: pd.DataFrame) -> Snapshot:
    """The snapshot with ``decided`` (every recorded decision, append-only) laid over its rows.

    When decisions were only added since ``snap`` was built, just the rows of the names they
    concern are laid over again (a decision reaches rows of its own name only): tens of
    milliseconds after a steward's decision instead of a pass over every row."""
    in_force = dec.effective(decided) if len(decided) else pd.DataFrame()
    version = int(decided["id"].max()) if len(decided) else 0
    base = snap.rows
    added = (
        decided.loc[decided["id"] > snap.decision_version]
        if "state" in base.columns and version > snap.decision_version
        else None
    )
    if added is None:
        rows = _overlay(base.reset_index(drop=True), in_force).set_index("row_id", drop=False)
    else:
        keys = set(dec.current_keys(added))
        positions = np.flatnonzero(base["name_key"].isin(keys).to_numpy(dtype=bool))
        concerned = in_force.loc[in_force["name_key"].isin(keys)] if len(in_force) else in_force
        part = _overlay(base.iloc[positions].reset_index(drop=True), concerned)
        rows = base.copy(deep=False)
        for c in OVERLAY_COLUMNS:
            values = base[c].to_numpy(dtype=object, copy=True)
            values[positions] = part[c].to_numpy(dtype=object)
            rows[c] = pd.array(values, dtype="Int64") if c == "eff_id" else values
    return replace(
        snap, decision_version=version, rows=rows, in_force=in_force, decided=decided, _memo={}
    )


class DeskData:
    """The current snapshot of one database, re-read when a publish or a decision lands."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._snap: Snapshot | None = None
        self._lock = threading.Lock()

    def versions(self) -> tuple[int, int]:
        with self.engine.connect() as conn:
            pub = conn.execute(select(func.max(publications.c.id))).scalar() or 0
            decided = conn.execute(select(func.max(steward_decisions.c.id))).scalar() or 0
        return int(pub), int(decided)

    def snapshot(self) -> Snapshot | None:
        """The current snapshot; None when nothing has been published yet.

        A new publish is read under a lock; while one thread reads it, other requests are
        served the previous snapshot (its publish time is on every page) instead of waiting
        seconds. New decisions are laid over the rows at once (tens of milliseconds), so a
        steward always sees the decision they just took."""
        pub, decided = self.versions()
        snap = self._snap
        if snap is not None and snap.publication_id == pub and snap.decision_version == decided:
            return snap
        stale_ok = snap is not None and snap.publication_id != pub
        if not self._lock.acquire(blocking=not stale_ok):
            return snap  # another request is reading the new publish
        try:
            snap = self._snap
            if pub == 0 and not _has_library(self.engine):
                return None
            if snap is None or snap.publication_id != pub:
                snap = read_snapshot(self.engine)
            elif snap.decision_version != decided:
                with self.engine.connect() as conn:
                    snap = with_decisions(snap, store.decisions_frame(conn))
            self._snap = snap
            return snap
        finally:
            self._lock.release()
