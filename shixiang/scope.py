"""Scopes by 行政区划代码: a steward of a unit sees that unit and every unit under it.

A 12-digit division code is province (2) · city (2) · county (2) · township (3) · village (3).
A unit's scope is its code with the trailing all-zero groups removed: 511602000000 (a county)
→ ``511602``, which every township and village code of that county starts with. The province
role's scope is the empty prefix: everything.
"""

from __future__ import annotations

import re

import pandas as pd

from shixiang.config import DIVISION_CODE_PATTERN

GROUP_ENDS: tuple[int, ...] = (2, 4, 6, 9, 12)
PROVINCE = "province"
UNIT = "unit"
ROLES: dict[str, str] = {PROVINCE: "省级管理员（全部单位）", UNIT: "单位数据管理员（本单位及下级）"}
_CODE = re.compile(DIVISION_CODE_PATTERN)


class ScopeError(PermissionError):
    """An attempt to see or change a row outside the user's scope."""


def valid_code(code: str) -> bool:
    return bool(_CODE.fullmatch(code or ""))


def scope_prefix(code: str) -> str:
    """The prefix every code under ``code`` starts with (``code`` itself for a village)."""
    if not valid_code(code):
        raise ValueError(f"行政区划代码应为 12 位数字：{code!r}")
    end = 12
    for start, stop in zip((0, *GROUP_ENDS), GROUP_ENDS, strict=False):
        if set(code[start:stop]) == {"0"}:
            end = start
            break
    if end == 0:
        raise ValueError(f"行政区划代码不能全为 0：{code!r}")
    return code[:end]


def level_of(code: str) -> str:
    """The level a division code stands for (by its significant digits)."""
    n = len(scope_prefix(code))
    return {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}[n]


def in_scope(prefix: str, code: object) -> bool:
    return isinstance(code, str) and code.startswith(prefix)


def code_range(prefix: str) -> tuple[str, str] | None:
    """``(low, high)`` with ``low <= code < high`` exactly for codes starting with ``prefix``
    (an index range query in any database; None for the empty prefix: no bound)."""
    if not prefix:
        return None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def file_division_codes(source_files: pd.Series) -> pd.Series:
    """The unit a file name stands for: the leading digits of its name (not its folder), padded
    with zeros to 12 digits (``county/511602_广安区_实施清单.csv`` → ``511602000000``); missing
    when the name does not start with 1 to 12 digits."""
    base = (
        source_files.astype("object")
        .where(source_files.notna(), "")
        .astype("str")
        .str.replace("\\", "/", regex=False)
        .str.rsplit("/", n=1)
        .str[-1]
    )
    digits = base.str.extract(r"^([0-9]{1,12})(?![0-9])", expand=False)
    return digits.str.ljust(12, "0")
