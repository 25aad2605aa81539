"""The units of a province: how many per level, their places, agencies and files.

Cities and counties are real (then made-up counties once the real ones run out); townships and
villages get made-up place names, except the real towns of 广安区. :func:`_plan` sizes a
province from a scale; :func:`_build_units` lays out the units, :func:`_assign_files` the file
each unit's rows go to, and :func:`_agency` names the 实施主体 of a unit for a department.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

from dev.synth.agencies import _DEPTS

# --- Places ----------------------------------------------------------------------------------
_CITIES: tuple[tuple[str, str], ...] = (
    ("511600", "广安市"),
    ("511300", "南充市"),
    ("511700", "达州市"),
    ("510900", "遂宁市"),
    ("511900", "巴中市"),
    ("510100", "成都市"),
    ("510300", "自贡市"),
    ("510400", "攀枝花市"),
    ("510500", "泸州市"),
    ("510600", "德阳市"),
    ("510700", "绵阳市"),
    ("510800", "广元市"),
    ("511000", "内江市"),
    ("511100", "乐山市"),
    ("511400", "眉山市"),
    ("511500", "宜宾市"),
    ("511800", "雅安市"),
    ("512000", "资阳市"),
    ("513200", "阿坝藏族羌族自治州"),
    ("513300", "甘孜藏族自治州"),
    ("513400", "凉山彝族自治州"),
)
_COUNTIES: tuple[tuple[str, str], ...] = (
    ("511602", "广安区"),
    ("511603", "前锋区"),
    ("511621", "岳池县"),
    ("511622", "武胜县"),
    ("511623", "邻水县"),
    ("511681", "华蓥市"),
    ("511302", "顺庆区"),
    ("511303", "高坪区"),
    ("511304", "嘉陵区"),
    ("511321", "南部县"),
    ("511322", "营山县"),
    ("511323", "蓬安县"),
    ("511324", "仪陇县"),
    ("511325", "西充县"),
    ("511381", "阆中市"),
    ("511702", "通川区"),
    ("511703", "达川区"),
    ("511722", "宣汉县"),
    ("511723", "开江县"),
    ("511724", "大竹县"),
    ("511725", "渠县"),
    ("511781", "万源市"),
    ("510903", "船山区"),
    ("510904", "安居区"),
    ("510921", "蓬溪县"),
    ("510923", "大英县"),
    ("510981", "射洪市"),
    ("511902", "巴州区"),
    ("511903", "恩阳区"),
    ("511921", "通江县"),
    ("511922", "南江县"),
    ("511923", "平昌县"),
    ("510104", "锦江区"),
    ("510105", "青羊区"),
    ("510106", "金牛区"),
    ("510107", "武侯区"),
    ("510108", "成华区"),
    ("510112", "龙泉驿区"),
    ("510113", "青白江区"),
    ("510114", "新都区"),
    ("510115", "温江区"),
    ("510116", "双流区"),
    ("510117", "郫都区"),
    ("510118", "新津区"),
    ("510121", "金堂县"),
    ("510129", "大邑县"),
    ("510131", "蒲江县"),
    ("510181", "都江堰市"),
    ("510182", "彭州市"),
    ("510183", "邛崃市"),
    ("510184", "崇州市"),
    ("510185", "简阳市"),
)
_GUANGAN_TOWNS: tuple[str, ...] = (
    "浓洄街道",
    "北辰街道",
    "协兴镇",
    "浓溪镇",
    "悦来镇",
    "兴平镇",
    "井河镇",
    "花桥镇",
    "龙台镇",
    "石笋镇",
    "白市镇",
    "大安镇",
    "恒升镇",
    "肖溪镇",
    "广福街道",
    "万盛街道",
    "中桥街道",
    "枣山街道",
)
_PLACE_CHARS = (
    "安平兴和龙凤清河永丰新华东南北金石桥花溪白马云山松林桂柳槐杨双水井田坪坝湾岭场庙寺堡"
    "坡观音乐福寿康宁明光远高升中太阳月星岩峰回春秋长青红旗胜利团结友谊先锋桃李荷梅竹"
)


# --- Units -----------------------------------------------------------------------------------
@dataclass
class _Unit:
    level: str
    code: str  # 12 digits
    name: str  # own short name (广安区, 协兴镇 …)
    city: str = ""
    county: str = ""
    town: str = ""
    char: str = ""  # 区/县/市 of a county
    agency: str = ""  # single agency of township/village units
    file: str = ""  # relative path without suffix
    parent: int = -1  # index of the county (townships) or township (villages)


# level: (units at s=1, unit exponent, unit cap, rows per unit at s=1, rows exponent)
_SIZES: dict[str, tuple[float, float, int | None, float, float]] = {
    "province": (1, 0.0, 1, 200, 0.6),
    "city": (3, 0.45, len(_CITIES), 90, 0.4),
    "county": (4, 0.55, 183, 75, 0.4),
    "township": (8, 0.75, None, 30, 0.25),
    "village": (15, 0.85, None, 15, 0.15),
}


def _plan(s: float, pools: dict[str, int]) -> dict[str, tuple[int, int]]:
    plan = {}
    for level, (u0, ue, cap, r0, re_) in _SIZES.items():
        units = max(1, round(u0 * s**ue))
        if cap is not None:
            units = min(units, cap)
        rows = max(3, min(round(r0 * s**re_), int(0.9 * pools[level])))
        plan[level] = (units, rows)
    return plan


def _plan_total(plan: dict[str, tuple[int, int]]) -> int:
    return sum(u * r for u, r in plan.values())


def _solve_scale(target: int, pools: dict[str, int]) -> float:
    lo, hi = 1e-3, 1e7
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        if _plan_total(_plan(mid, pools)) < target:
            lo = mid
        else:
            hi = mid
    return hi


def _place_name(rng: random.Random, taken: set[str], suffix: str) -> str:
    while True:
        name = "".join(rng.sample(_PLACE_CHARS, 2)) + suffix
        if name not in taken:
            taken.add(name)
            return name


def _county_table(n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(code6, county name, city name) for n counties, real ones first."""
    city_of = {c[:4]: name for c, name in _CITIES}
    out = [(code, name, city_of[code[:4]]) for code, name in _COUNTIES]
    taken = {name for _, name in _COUNTIES}
    serial = 21
    while len(out) < n:
        for c6, city in _CITIES[6:]:
            if len(out) >= n:
                break
            out.append((f"{c6[:4]}{serial:02d}", _place_name(rng, taken, "县"), city))
        serial += 1
    return out[:n]


def _build_units(
    plan: dict[str, tuple[int, int]], rng: random.Random, extra_counties: int = 0
) -> tuple[list[_Unit], list[tuple[str, str, str]]]:
    units: list[_Unit] = [_Unit("province", "510000000000", "四川省")]
    n_city = plan["city"][0]
    for code6, name in _CITIES[:n_city]:
        units.append(_Unit("city", f"{code6}000000", name, city=name))
    n_county = plan["county"][0]
    table = _county_table(n_county + extra_counties, rng)
    county_idx = []
    for code6, name, city in table[:n_county]:
        county_idx.append(len(units))
        units.append(_Unit("county", f"{code6}000000", name, city=city, county=name, char=name[-1]))

    n_town = plan["township"][0]
    block = max(4, math.ceil(n_town / n_county))
    town_idx = []
    per_county: dict[int, list[str]] = defaultdict(list)
    for j in range(n_town):
        ci = county_idx[min(j // block, n_county - 1)]
        per_county[ci].append("")
    for ci in county_idx:
        cu = units[ci]
        k = len(per_county.get(ci, []))
        if not k:
            continue
        taken: set[str] = set()
        real = list(_GUANGAN_TOWNS) if cu.code.startswith("511602") else []
        n_streets = 2 if cu.char == "区" else 1
        streets = towns = 0
        for _ in range(k):
            if real:
                name = real.pop(0)
                taken.add(name)
            elif streets < n_streets:
                name = _place_name(rng, taken, "街道")
            else:
                name = _place_name(rng, taken, rng.choice(("镇", "镇", "镇", "乡")))
            if name.endswith("街道"):
                streets += 1
                serial = streets
                agency = f"{cu.city}{cu.county}{name}办事处"
            else:
                towns += 1
                serial = 100 + towns
                agency = f"{cu.city}{cu.county}{name}人民政府"
            if rng.random() < 0.2:
                agency = f"{cu.county}{name}便民服务中心"
            town_idx.append(len(units))
            units.append(
                _Unit(
                    "township",
                    f"{cu.code[:6]}{serial:03d}000",
                    name,
                    city=cu.city,
                    county=cu.county,
                    town=name,
                    char=cu.char,
                    agency=agency,
                    parent=ci,
                )
            )
    n_village = plan["village"][0]
    vblock = max(4, math.ceil(n_village / len(town_idx)))
    taken_by_town: dict[int, set[str]] = defaultdict(set)
    for j in range(n_village):
        ti = town_idx[min(j // vblock, len(town_idx) - 1)]
        tu = units[ti]
        serial = len(taken_by_town[ti]) + 1
        community = tu.name.endswith("街道") or serial == 1
        name = _place_name(rng, taken_by_town[ti], "社区" if community else "村")
        if rng.random() < 0.2:
            agency = f"{tu.town}{name}便民服务站"
        elif community:
            agency = f"{tu.town}{name}居民委员会"
        else:
            agency = f"{tu.town}{name}村民委员会"
        units.append(
            _Unit(
                "village",
                f"{tu.code[:9]}{serial:03d}",
                name,
                city=tu.city,
                county=tu.county,
                town=tu.town,
                agency=agency,
                parent=ti,
            )
        )
    return units, table[n_county:]


def _agency(unit: _Unit, key: str) -> str:
    prov, city_t, county_t, _ = _DEPTS[key]
    if unit.level == "province":
        return prov
    if unit.level == "city":
        return city_t.format(city=unit.city)
    if unit.level == "county":
        if key == "公安" and unit.char != "区":
            return f"{unit.county}公安局"
        return county_t.format(city=unit.city, county=unit.county)
    return unit.agency


def _assign_files(units: list[_Unit]) -> None:
    n_town = sum(1 for u in units if u.level == "township")
    for u in units:
        if u.level == "province":
            u.file = "province/510000_四川省"
        elif u.level == "city":
            u.file = f"city/{u.code[:6]}_{u.name}_实施清单"
        elif u.level == "county":
            u.file = f"county/{u.code[:6]}_{u.name}_实施清单"
        elif u.level == "township":
            if n_town <= 12:
                u.file = f"township/{u.code[:9]}_{u.name}_实施清单"
            else:
                cu = units[u.parent]
                u.file = f"township/{cu.code[:6]}_{cu.name}_乡镇（街道）实施清单"
        else:
            tu = units[u.parent]
            u.file = f"village/{tu.code[:9]}_{tu.name}_村（社区）实施清单"
