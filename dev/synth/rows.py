"""The rows of one level's implementation lists, with their truth columns.

:func:`_level_rows` runs the steps below in order, for all units of a level at once; the steps
share one ``numpy`` generator, so their order is part of the output (the same seed gives the
same province only while the draws come in the same order).

1. :func:`_level_pools`: the catalogue items the level may exercise, the withheld items and
   siblings it may list, and the share of negative rows it gets.
2. :func:`_draw_unit_items`: per unit, its number of rows, its catalogue items (popular items
   more often) and its negatives (withheld items and siblings, self-built local items).
3. :func:`_plant_items_outside_level`: a few positive rows swapped for items the level may not
   exercise.
4. :func:`_draw_variations`: the variation class of each positive row and the name it writes.
5. :func:`_draw_elements`: 事项类型, 设定依据, 办件类型, the two 时限 and 到办事现场次数 of each
   positive row, with the disagreements quality checks must find.
6. :func:`_draw_claimed_codes`: the 基本编码 each positive row claims (its own, none, a related
   item's, a malformed one).
7. :func:`_negative_rows`: the elements and claimed codes of the negative rows.
8. :func:`_add_duplicates`: a few rows listed twice by their unit.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dev.synth.agencies import _LOCAL_BASES
from dev.synth.catalogue import _BIT, _Model
from dev.synth.units import _agency, _Unit
from dev.synth.vocabulary import _CLASS_WEIGHTS, _LOCAL_TEMPLATES, VARIATIONS
from shixiang.config import ITEM_TYPES

# Share of negative rows per level: (withheld_item, withheld_sibling, local_item).
_NEGATIVE_SHARES: dict[str, tuple[float, float, float]] = {
    "province": (0.03, 0.015, 0.004),
    "city": (0.035, 0.02, 0.01),
    "county": (0.035, 0.02, 0.02),
    "township": (0.03, 0.012, 0.06),
    "village": (0.03, 0.0, 0.10),
}

# A negative row before its elements: (unit, variation, name, withheld index or -1 for local).
_Negative = tuple[int, str, str, int]


def _top_k(rng: np.random.Generator, logw: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn with probability ∝ exp(logw) (Gumbel top-k)."""
    if k >= len(logw):
        return np.arange(len(logw))
    keys = logw + rng.gumbel(size=len(logw))
    return np.argpartition(-keys, k)[:k]


# --- 1. What a level draws from ------------------------------------------------------------
@dataclass
class _LevelPools:
    """What the units of one level draw their rows from."""

    items: np.ndarray  # catalogue items the level may exercise
    items_logw: np.ndarray  # their log popularity
    withheld_items: np.ndarray  # withheld real items the level may exercise
    withheld_siblings: np.ndarray  # withheld situation siblings the level may exercise
    # Shares of negative rows (withheld item, withheld sibling, local item); 0 for an empty pool.
    shares: tuple[float, float, float]


def _level_pools(level: str, model: _Model) -> _LevelPools:
    """The items a unit of ``level`` may list, and the shares of negative rows it gets."""
    cat, wh = model.items, model.withheld
    bit = _BIT[level]
    pool = np.flatnonzero(cat["levels"].to_numpy() & bit)
    pool_logw = np.log(cat["popularity"].to_numpy()[pool])
    wh_ok = (wh["levels"].to_numpy() & bit) > 0
    wh_item_pool = np.flatnonzero(wh_ok & (wh["withheld_kind"] == "withheld_item").to_numpy())
    wh_sib_pool = np.flatnonzero(wh_ok & (wh["withheld_kind"] == "withheld_sibling").to_numpy())
    p_wi, p_ws, p_loc = _NEGATIVE_SHARES[level]
    if not len(wh_item_pool):
        p_wi = 0.0
    if not len(wh_sib_pool):
        p_ws = 0.0
    return _LevelPools(pool, pool_logw, wh_item_pool, wh_sib_pool, (p_wi, p_ws, p_loc))


# --- 2. Each unit's items --------------------------------------------------------------------
def _draw_unit_items(
    level_units: list[int],
    units: list[_Unit],
    rows_per_unit: int,
    pools: _LevelPools,
    wh: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, list[_Negative]]:
    """Per unit: its number of rows (±20 % around ``rows_per_unit``), how many of them are
    withheld items, withheld siblings and local items, and which; the rest are catalogue items
    drawn by popularity.

    Returns the positive rows as two parallel arrays (unit index, catalogue item index) and the
    negative rows.
    """
    pool, pool_logw = pools.items, pools.items_logw
    wh_item_pool, wh_sib_pool = pools.withheld_items, pools.withheld_siblings
    p_wi, p_ws, p_loc = pools.shares
    pos_unit, pos_item = [], []
    neg: list[_Negative] = []
    for ui in level_units:
        n = max(3, round(rows_per_unit * rng.uniform(0.8, 1.2)))
        n = min(n, len(pool))
        k_wi = min(int(rng.binomial(n, p_wi)), len(wh_item_pool))
        k_ws = min(int(rng.binomial(n, p_ws)), len(wh_sib_pool))
        k_loc = min(int(rng.binomial(n, p_loc)), len(_LOCAL_TEMPLATES))
        k_pos = max(1, n - k_wi - k_ws - k_loc)
        chosen = pool[_top_k(rng, pool_logw, k_pos)]
        pos_unit.append(np.full(len(chosen), ui))
        pos_item.append(chosen)
        for j in rng.choice(wh_item_pool, k_wi, replace=False) if k_wi else ():
            neg.append((ui, "withheld_item", wh.at[int(j), "name"], int(j)))
        for j in rng.choice(wh_sib_pool, k_ws, replace=False) if k_ws else ():
            neg.append((ui, "withheld_sibling", wh.at[int(j), "name"], int(j)))
        if k_loc:
            u = units[ui]
            place = u.name
            for t in rng.choice(len(_LOCAL_TEMPLATES), k_loc, replace=False):
                neg.append((ui, "local_item", _LOCAL_TEMPLATES[int(t)].format(place=place), -1))

    p_unit = np.concatenate(pos_unit) if pos_unit else np.zeros(0, int)
    p_item = np.concatenate(pos_item) if pos_item else np.zeros(0, int)
    return p_unit, p_item, neg


# --- 3. Items outside the level --------------------------------------------------------------
def _plant_items_outside_level(
    level: str, p_item: np.ndarray, cat: pd.DataFrame, rng: np.random.Generator
) -> tuple[np.ndarray, list[list[str]]]:
    """Swap a few positive rows (0.3 %, at least one) for items the level may not exercise,
    written exactly, flagged ``level_not_allowed``. Changes ``p_item`` in place.

    Returns which rows must keep the exact name and each positive row's qc flags so far.
    """
    n_pos = len(p_item)
    forced_exact = np.zeros(n_pos, bool)
    flags: list[list[str]] = [[] for _ in range(n_pos)]
    outside = np.flatnonzero((cat["levels"].to_numpy() & _BIT[level]) == 0)
    k_out = min(len(outside), max(1, round(0.003 * n_pos))) if n_pos else 0
    if k_out:
        rows = rng.choice(n_pos, k_out, replace=False)
        p_item[rows] = rng.choice(outside, k_out, replace=False)
        forced_exact[rows] = True
        for r in rows:
            flags[r].append("level_not_allowed")
    return forced_exact, flags


# --- 4. Variations ---------------------------------------------------------------------------
def _draw_variations(
    level: str,
    p_unit: np.ndarray,
    p_item: np.ndarray,
    forced_exact: np.ndarray,
    pools: _LevelPools,
    model: _Model,
    units: list[_Unit],
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[str]]:
    """The variation class (index into ``VARIATIONS``) of each positive row, and its name.

    A row's class is drawn among the classes that apply to its item, each weighted by its
    target share divided by the share of the level's items it applies to (so a class that
    applies to few items still reaches its share); then one of the item's variants of that
    class. County prefixes get the unit's own 区/县/市.
    """
    n_pos = len(p_item)
    pool = pools.items
    variants = model.variants[level]
    applicable = np.array([[len(v) > 0 for v in row] for row in variants], dtype=bool)
    weights = np.array([_CLASS_WEIGHTS[c] for c in VARIATIONS])
    share = applicable[pool].mean(axis=0) if len(pool) else np.ones(len(VARIATIONS))
    eff = weights / np.maximum(share, 0.02)
    eff[0] = weights[0]
    probs = applicable[p_item] * eff
    probs[forced_exact] = 0.0
    probs[forced_exact, 0] = 1.0
    cum = probs.cumsum(axis=1)
    u = rng.random(n_pos) * cum[:, -1]
    cls = (cum < u[:, None]).sum(axis=1)
    cls = np.minimum(cls, len(VARIATIONS) - 1)
    n_var = np.array([len(variants[i][c]) for i, c in zip(p_item, cls, strict=True)])
    var = (rng.random(n_pos) * n_var).astype(int)
    names = [
        variants[i][c][v]
        for i, c, v in zip(p_item.tolist(), cls.tolist(), var.tolist(), strict=True)
    ]
    if level == "county":
        names = [
            n.replace("\x00", units[uu].char) if "\x00" in n else n
            for n, uu in zip(names, p_unit.tolist(), strict=True)
        ]
    return cls, names


# --- 5. Elements -----------------------------------------------------------------------------
def _draw_elements(
    cat: pd.DataFrame, p_item: np.ndarray, flags: list[list[str]], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The elements of each positive row: its item's, with a promised time drawn below the legal
    one and a few disagreements planted (and flagged in ``flags``): another 事项类型
    (``type_mismatch``), a promise beyond the legal limit (``promise_exceeds_legal``), a 即办件
    with a legal limit (``instant_with_limit``), values outside the enumerations
    (``handling_type_invalid``, ``visits_invalid``) and a 设定依据 that differs from the
    catalogue's (``legal_basis_differs``).

    Returns the element columns, keyed by their headers.
    """
    n_pos = len(p_item)
    types = cat["item_type"].to_numpy()[p_item].astype(object)
    handling = cat["handling"].to_numpy()[p_item].astype(object)
    legal = cat["legal"].to_numpy()[p_item].astype(int)
    instant = handling == "即办件"
    ratio = rng.choice([1.0, 0.5, 0.3, 0.2], size=n_pos, p=[0.3, 0.4, 0.2, 0.1])
    promised = np.where(instant, 1, np.maximum(1, np.ceil(legal * ratio))).astype(int)
    r = rng.random(n_pos)
    type_mm = r < 0.02
    if type_mm.any():
        shift = rng.integers(1, len(ITEM_TYPES), size=int(type_mm.sum()))
        idx = np.array([ITEM_TYPES.index(t) for t in types[type_mm]])
        types[type_mm] = np.array(ITEM_TYPES, dtype=object)[(idx + shift) % len(ITEM_TYPES)]
    exceed = (r >= 0.02) & (r < 0.04) & ~instant
    promised[exceed] = legal[exceed] + rng.integers(1, 11, size=int(exceed.sum()))
    inst_long = (r >= 0.04) & (r < 0.05)
    handling[inst_long] = "即办件"
    legal[inst_long] = np.where(legal[inst_long] > 1, legal[inst_long], 5)
    promised[inst_long] = np.minimum(promised[inst_long], legal[inst_long])
    # Element values outside the enumerations, and a legal basis that differs from the
    # catalogue's (a fresh draw, so the shares above are unchanged).
    r2 = rng.random(n_pos)
    bad_handling = (r2 < 0.004) & ~inst_long
    handling[bad_handling] = rng.choice(["上报件", "联办件"], size=int(bad_handling.sum()))
    bad_visits = (r2 >= 0.004) & (r2 < 0.008)
    basis = cat["basis"].to_numpy()[p_item].astype(object)
    basis_differs = (r2 >= 0.008) & (r2 < 0.014)
    basis[basis_differs] = "《中华人民共和国行政许可法》"
    visits = rng.choice(["0", "1", "2", "多次"], size=n_pos, p=[0.35, 0.45, 0.15, 0.05]).astype(
        object
    )
    visits[bad_visits] = rng.choice(["3次", "全程网办"], size=int(bad_visits.sum()))
    for mask, flag in (
        (type_mm, "type_mismatch"),
        (exceed, "promise_exceeds_legal"),
        (inst_long, "instant_with_limit"),
        (bad_handling, "handling_type_invalid"),
        (bad_visits, "visits_invalid"),
        (basis_differs, "legal_basis_differs"),
    ):
        for i in np.flatnonzero(mask):
            flags[i].append(flag)
    return {
        "事项类型": types,
        "设定依据": basis,
        "办件类型": handling,
        "法定办结时限": legal.astype(str),
        "承诺办结时限": promised.astype(str),
        "到办事现场次数": visits,
    }


# --- 6. Claimed codes ------------------------------------------------------------------------
def _draw_claimed_codes(
    cat: pd.DataFrame, p_item: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 基本编码 each positive row claims: none (20 %), a related item's (2 %), its own
    malformed (1 %) or its own.

    Returns (claimed code, kind of claim, the item's own code), one entry per row.
    """
    kind_draw = rng.random(len(p_item))
    own = cat["base_code"].to_numpy()[p_item]
    claimed = np.where(
        kind_draw < 0.20,
        "",
        np.where(
            kind_draw < 0.22,
            cat["sibling_code"].to_numpy()[p_item],
            np.where(kind_draw < 0.23, cat["malformed_code"].to_numpy()[p_item], own),
        ),
    )
    claimed_kind = np.where(
        kind_draw < 0.20,
        "empty",
        np.where(kind_draw < 0.22, "sibling", np.where(kind_draw < 0.23, "malformed", "own")),
    )
    return claimed, claimed_kind, own


# --- Agencies (实施主体) ---------------------------------------------------------------------
def _agency_keys(level: str, cat: pd.DataFrame) -> np.ndarray:
    """The department key of each catalogue item at ``level``: a county lists an item under the
    department of the reference list, other levels under its line department."""
    agency_keys = cat["dept_key"].to_numpy() if level == "county" else cat["line_key"].to_numpy()
    if level == "city":
        # Cities route about half of the 审批-局 items through their own 行政审批局.
        keep = np.array([zlib.crc32(n.encode()) % 2 == 0 for n in cat["name"]])
        agency_keys = np.where((cat["dept_key"].to_numpy() == "审批") & keep, "审批", agency_keys)
    return agency_keys


def _agency_names(units: list[_Unit]) -> Callable[[int, str], str]:
    """``agency_of(unit index, department key)``: the unit's 实施主体, each named once."""
    cache: dict[tuple[int, str], str] = {}

    def agency_of(ui: int, key: str) -> str:
        got = cache.get((ui, key))
        if got is None:
            got = cache[(ui, key)] = _agency(units[ui], key)
        return got

    return agency_of


# --- 7. Negative rows ------------------------------------------------------------------------
def _withheld_elements(
    rec: dict, level: str, variation: str, rng: np.random.Generator
) -> tuple[str, str, str, str, str, str, object]:
    """A withheld item's row: its own elements and department, its own 基本编码 or none.

    Returns (department key, claimed code, kind of claim, 事项类型, 设定依据, 办件类型, 法定办结时限).
    """
    key = rec["dept_key"] if level == "county" else rec["line_key"]
    draw = rng.random()
    code = "" if draw < (0.3 if variation == "withheld_sibling" else 0.4) else rec["base_code"]
    kind = "empty" if not code else "own"
    return key, code, kind, rec["item_type"], rec["basis"], rec["handling"], rec["legal"]


def _local_elements(
    unit: _Unit, rng: np.random.Generator
) -> tuple[str, str, str, str, str, str, object]:
    """A self-built local item's row: the government office lists it, with a self-made code or
    none, mostly as an instant public service.

    Returns (department key, claimed code, kind of claim, 事项类型, 设定依据, 办件类型, 法定办结时限).
    """
    key = "政府办"
    code = "" if rng.random() < 0.6 else f"{unit.code[:6]}ZJ{int(rng.integers(1, 10000)):04d}"
    kind = "local" if code else "empty"
    item_type = "公共服务" if rng.random() < 0.8 else "其他行政权力"
    basis = _LOCAL_BASES[int(rng.integers(len(_LOCAL_BASES)))]
    hand = "即办件" if rng.random() < 0.7 else "承诺件"
    leg = 1 if hand == "即办件" else int(rng.choice([5, 7, 10]))
    return key, code, kind, item_type, basis, hand, leg


def _negative_rows(
    level: str,
    neg: list[_Negative],
    wh: pd.DataFrame,
    units: list[_Unit],
    agency_of: Callable[[int, str], str],
    rng: np.random.Generator,
) -> list[dict[str, object]]:
    """One row per negative: its elements, claimed code and 实施主体, a promised time and
    到办事现场次数; no expected code."""
    wh_records = wh.to_dict("records") if neg else []
    neg_rows = []
    for ui, variation, name, j in neg:
        u = units[ui]
        if j >= 0:
            key, code, kind, item_type, basis, hand, leg = _withheld_elements(
                wh_records[j], level, variation, rng
            )
        else:
            key, code, kind, item_type, basis, hand, leg = _local_elements(u, rng)
        prom = (
            1 if hand == "即办件" else max(1, math.ceil(int(leg) * float(rng.choice([1.0, 0.5]))))
        )
        neg_rows.append(
            {
                "unit": ui,
                "行政区划代码": u.code,
                "实施主体": agency_of(ui, key),
                "事项名称": name,
                "基本编码": code,
                "事项类型": item_type,
                "设定依据": basis,
                "办件类型": hand,
                "法定办结时限": str(int(leg)),
                "承诺办结时限": str(int(prom)),
                "到办事现场次数": str(
                    rng.choice(["0", "1", "2", "多次"], p=[0.35, 0.45, 0.15, 0.05])
                ),
                "expected_business_code": "",
                "expected_base_code": "",
                "variation": variation,
                "expected_in_catalogue": False,
                "claimed_code_kind": kind,
                "qc_flags": "",
                "broken_row": False,
            }
        )
    return neg_rows


# --- 8. Duplicates ---------------------------------------------------------------------------
def _add_duplicates(df: pd.DataFrame, n_pos: int, rng: np.random.Generator) -> pd.DataFrame:
    """A few positive rows (0.4 %, at least one when there are more than 20 rows) listed again
    by the same unit, flagged ``duplicate``."""
    k_dup = max(1, round(0.004 * len(df))) if len(df) > 20 else 0
    if k_dup:
        dup = df.iloc[rng.choice(n_pos, k_dup, replace=False)].copy()
        dup["qc_flags"] = [f"{f};duplicate" if f else "duplicate" for f in dup["qc_flags"]]
        df = pd.concat([df, dup], ignore_index=True)
    return df


# --- The level -------------------------------------------------------------------------------
def _level_rows(
    level: str,
    level_units: list[int],
    units: list[_Unit],
    rows_per_unit: int,
    model: _Model,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Every row the units ``level_units`` of ``level`` list, with its truth columns, its unit
    index, its level and a random ``sort_key`` (the order within a file)."""
    cat, wh = model.items, model.withheld
    pools = _level_pools(level, model)
    p_unit, p_item, neg = _draw_unit_items(level_units, units, rows_per_unit, pools, wh, rng)
    forced_exact, flags = _plant_items_outside_level(level, p_item, cat, rng)
    cls, names = _draw_variations(level, p_unit, p_item, forced_exact, pools, model, units, rng)
    elements = _draw_elements(cat, p_item, flags, rng)
    claimed, claimed_kind, own = _draw_claimed_codes(cat, p_item, rng)
    agency_keys = _agency_keys(level, cat)
    agency_of = _agency_names(units)

    pos = pd.DataFrame(
        {
            "unit": p_unit,
            "行政区划代码": [units[i].code for i in p_unit.tolist()],
            "实施主体": [
                agency_of(ui, k) for ui, k in zip(p_unit.tolist(), agency_keys[p_item], strict=True)
            ],
            "事项名称": names,
            "基本编码": claimed,
            **elements,
            "expected_business_code": cat["business_code"].to_numpy()[p_item],
            "expected_base_code": own,
            "variation": np.array(VARIATIONS, dtype=object)[cls],
            "expected_in_catalogue": True,
            "claimed_code_kind": claimed_kind,
            "qc_flags": [";".join(f) for f in flags],
            "broken_row": False,
        }
    )
    neg_rows = _negative_rows(level, neg, wh, units, agency_of, rng)
    df = pd.concat([pos, pd.DataFrame(neg_rows, columns=pos.columns)], ignore_index=True)
    df = _add_duplicates(df, len(p_item), rng)
    df["level"] = level
    df["sort_key"] = rng.random(len(df))
    return df
