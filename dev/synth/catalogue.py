"""The general catalogue and the withheld items, built from the real reference list.

:func:`build_catalogue` gives the catalogue as a province publishes it; the generator itself
works from :func:`_build_model` (cached), which also holds each item's attributes (行使层级 as a
bit mask, departments, claimed-code helpers, popularity) and its variants.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from dev import REPO_ROOT
from dev.synth.agencies import (
    _DEPT_BY_REFERENCE,
    _DEPTS,
    _TYPE_LETTER,
    TYPE_BY_CODE,
    _infer_line_dept,
    _legal_basis,
)
from dev.synth.variants import _build_variants
from dev.synth.vocabulary import (
    _EXPANDABLE_END_RE,
    _SITUATION_ANY_RE,
    SITUATIONS,
    _stem,
    clean_name,
)
from shixiang.config import LEVELS
from shixiang.schema import CATALOGUE_COLUMNS

# The real county-level item list of 广安区 (1,135 rows), in the repository's data/reference/:
# dev/ is not installed, so the file is found from the repository root (dev.REPO_ROOT).
DEFAULT_REFERENCE: Path = REPO_ROOT / "data" / "reference" / "guangan_items.csv"

CATALOGUE_HEADERS: tuple[str, ...] = tuple(c.header for c in CATALOGUE_COLUMNS)

USE_LEVEL_LABELS: dict[str, str] = {
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "镇（乡、街道）级",
    "village": "村（社区）级",
}
# 行使层级 as a bit mask: one bit per level.
_BIT = {lv: 1 << i for i, lv in enumerate(LEVELS)}


# --- Catalogue model -------------------------------------------------------------------------
@dataclass
class _Model:
    """Everything derived from the reference list (cached per reference/seed/share)."""

    items: pd.DataFrame  # catalogue items, internal columns
    withheld: pd.DataFrame  # withheld real items and withheld siblings, internal columns
    variants: dict[str, list[list[list[str]]]] = field(default_factory=dict)  # level→item→cls


def _use_levels(rng: random.Random, item_type: str, name: str) -> int:
    grassroots = re.search(
        "社会保险|参保|养老|医保|医疗保险|低保|救助|残疾|就业|失业|退役|优抚|高龄|生育|户|居住|"
        "独生子女|农村|补贴|咨询|查询|特困|老年|宅基地|计划生育|临时",
        name,
    )
    p_prov = {"行政许可": 0.75, "公共服务": 0.55}.get(item_type, 0.6)
    mask = _BIT["county"]
    if rng.random() < 0.9:
        mask |= _BIT["city"]
        if rng.random() < p_prov:
            mask |= _BIT["province"]
    if item_type == "公共服务":
        p_town, p_village = (0.75, 0.5) if grassroots else (0.35, 0.15)
    elif item_type in ("行政确认", "行政给付", "其他行政权力"):
        p_town, p_village = (0.45, 0.0) if grassroots else (0.15, 0.0)
    elif item_type == "行政许可":
        p_town, p_village = (0.12, 0.0) if grassroots else (0.04, 0.0)
    else:
        p_town, p_village = 0.0, 0.0
    if rng.random() < p_town:
        mask |= _BIT["township"]
        if rng.random() < p_village:
            mask |= _BIT["village"]
    return mask


def _use_level_label(mask: int) -> str:
    return "、".join(USE_LEVEL_LABELS[lv] for lv in LEVELS if mask & _BIT[lv])


def _attributes(rng: random.Random, name: str, item_type: str, line_key: str) -> dict[str, object]:
    p_instant = {"公共服务": 0.7, "行政许可": 0.1, "行政裁决": 0.0, "行政奖励": 0.0}.get(
        item_type, 0.3
    )
    instant = rng.random() < p_instant
    if instant:
        legal = 1
    elif item_type == "行政许可":
        legal = rng.choice((20, 20, 20, 15, 10, 30, 45, 60))
    elif item_type == "行政裁决":
        legal = rng.choice((60, 30, 90))
    else:
        legal = rng.choice((5, 7, 10, 15, 20, 30))
    return {
        "levels": _use_levels(rng, item_type, name),
        "handling": "即办件" if instant else "承诺件",
        "legal": legal,
        "basis": _legal_basis(name, item_type, line_key),
    }


def _malform(rng: random.Random, code: str) -> str:
    kinds = ["drop", "letter_o", "space", "extra"]
    kind = rng.choice(kinds if "0" in code else ["drop", "space", "extra"])
    if kind == "drop":
        return code[:-1]
    if kind == "letter_o":
        pos = [i for i, c in enumerate(code) if c == "0"]
        i = rng.choice(pos)
        return code[:i] + "O" + code[i + 1 :]
    if kind == "space":
        i = rng.randrange(3, max(4, len(code) - 2))
        return code[:i] + " " + code[i:]
    return code + str(rng.randrange(10))


@lru_cache(maxsize=8)
def _build_model(reference: str, seed: int, withhold_share: float) -> _Model:
    rng = random.Random(seed)
    ref = pd.read_csv(reference, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    used_codes = set(ref["base_code"])

    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for rec in ref.itertuples(index=False):
        name = clean_name(rec.name)
        if not name or name in seen:
            continue
        seen.add(name)
        item_type = TYPE_BY_CODE.get(str(rec.task_type_code).strip(), "其他行政权力")
        base = str(rec.base_code).strip()
        if not base:
            while True:
                base = f"511{_TYPE_LETTER[item_type]}9{rng.randrange(10**9):09d}"
                if base not in used_codes:
                    break
            used_codes.add(base)
        main = clean_name(rec.main_item) if rec.main_item != "未分类" else ""
        dept_key = _DEPT_BY_REFERENCE.get(rec.department, "政府办")
        line_key = _infer_line_dept(name) if dept_key == "审批" else dept_key
        rows.append(
            {
                "raw_name": rec.name,
                "name": name,
                "main": main or name,
                "family": main or _stem(name),
                "base_code": base,
                "item_type": item_type,
                "dept_key": dept_key,
                "line_key": line_key,
                "department": _DEPTS[line_key][0],
                "situation": "",
                **_attributes(rng, name, item_type, line_key),
            }
        )

    # Withhold a share of the real items.
    n_withhold = round(withhold_share * len(rows))
    withheld_idx = set(rng.sample(range(len(rows)), n_withhold))
    kept = [r for i, r in enumerate(rows) if i not in withheld_idx]
    withheld = [
        dict(r, withheld_kind="withheld_item") for i, r in enumerate(rows) if i in withheld_idx
    ]

    # Split a share of 行政许可 items into situation siblings.
    all_names = [r["name"] for r in rows]
    n_licence = sum(1 for r in kept if r["item_type"] == "行政许可")
    candidates = [
        i
        for i, r in enumerate(kept)
        if r["item_type"] == "行政许可"
        and r["main"] == r["name"]
        and "（" not in r["name"]
        and _EXPANDABLE_END_RE.search(r["name"])
        and not _SITUATION_ANY_RE.search(r["name"])
        and not any(o != r["name"] and o.startswith(r["name"]) for o in all_names)
    ]
    n_expand = min(len(candidates), round(0.15 * n_licence))
    expand = set(rng.sample(candidates, n_expand))
    items: list[dict[str, object]] = []
    for i, r in enumerate(kept):
        if i not in expand:
            items.append(dict(r, business_code=f"{r['base_code']}01"))
            continue
        k = rng.choice((3, 4, 4, 5))
        sits = ["新办", *sorted(rng.sample(SITUATIONS[1:], k - 1), key=SITUATIONS.index)]
        drop = rng.choice(sits[1:]) if k >= 3 and rng.random() < 0.35 else None
        for serial, sit in enumerate(sits, start=1):
            sib = dict(
                r,
                name=f"{r['name']}（{sit}）",
                main=r["name"],
                family=r["name"],
                situation=sit,
                business_code=f"{r['base_code']}{serial:02d}",
            )
            if sit == drop:
                withheld.append(dict(sib, withheld_kind="withheld_sibling"))
            else:
                items.append(sib)

    cat = pd.DataFrame(items)
    cat = cat.drop_duplicates("name", keep="first").reset_index(drop=True)
    assert cat["business_code"].is_unique
    wh = pd.DataFrame(withheld).reset_index(drop=True)
    wh["business_code"] = wh.get("business_code", pd.Series(dtype=object))
    wh["business_code"] = wh["business_code"].fillna(wh["base_code"] + "01")

    # Claimed-code helpers: a related item's code and a malformed own code.
    fam_codes: dict[str, list[str]] = defaultdict(list)
    for fam, code in zip(cat["family"], cat["base_code"], strict=True):
        if code not in fam_codes[fam]:
            fam_codes[fam].append(code)
    sib_codes, bad_codes = [], []
    for i, (fam, code) in enumerate(zip(cat["family"], cat["base_code"], strict=True)):
        others = [c for c in fam_codes[fam] if c != code]
        if not others:
            j = i + 1 if i + 1 < len(cat) else i - 1
            while 0 <= j < len(cat) and cat.at[j, "base_code"] == code:
                j += 1 if j > i else -1
            others = [cat.at[j, "base_code"]] if 0 <= j < len(cat) else [code]
        sib_codes.append(rng.choice(others))
        bad_codes.append(_malform(rng, code))
    cat["sibling_code"] = sib_codes
    cat["malformed_code"] = bad_codes
    cat["popularity"] = [rng.lognormvariate(0.0, 1.3) for _ in range(len(cat))]

    model = _Model(items=cat, withheld=wh)
    model.variants = _build_variants(cat, wh, rng)
    return model


def build_catalogue(
    reference_csv: Path | None = None, *, seed: int = 7, withhold_share: float = 0.04
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the general catalogue from the real item list.

    Returns ``(catalogue, withheld)``. ``catalogue`` has exactly the contract headers
    (:data:`CATALOGUE_HEADERS`), one row per business item, sorted by 业务办理项编码. ``withheld``
    has the same headers plus ``withheld_kind`` (``withheld_item`` or ``withheld_sibling``): the
    items that unit lists use but the catalogue lacks.
    """
    model = _build_model(str(reference_csv or DEFAULT_REFERENCE), seed, withhold_share)
    return _catalogue_frame(model.items), _catalogue_frame(model.withheld, extra=("withheld_kind",))


def _catalogue_frame(df: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "业务办理项编码": df["business_code"],
            "基本编码": df["base_code"],
            "主项名称": df["main"],
            "事项名称": df["name"],
            "事项类型": df["item_type"],
            "行使层级": [_use_level_label(m) for m in df["levels"]],
            "设定依据": df["basis"],
            "主管部门": df["department"],
            "办件类型": df["handling"],
            "法定办结时限": df["legal"].astype(int).astype(str),
        }
    )
    for col in extra:
        out[col] = df[col].to_numpy()
    return out.sort_values("业务办理项编码", kind="stable").reset_index(drop=True).astype(str)
