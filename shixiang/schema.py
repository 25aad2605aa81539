"""The input contract: which columns each kind of file has, their Chinese headers and aliases.

Internally every column has an English snake_case name; files may use the Chinese header, any
alias listed here, or the English name itself. Headers are compared after NFKC folding and with
spaces removed, so ``事项名称 `` and ``（事项名称）`` style noise does not matter.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Column:
    name: str  # internal name
    header: str  # the Chinese header of the contract
    required: bool = False
    aliases: tuple[str, ...] = ()


CATALOGUE_COLUMNS: tuple[Column, ...] = (
    Column(
        "business_code", "业务办理项编码", True, ("业务办理项代码", "办理项编码", "business_code")
    ),
    Column("base_code", "基本编码", True, ("事项编码", "目录编码", "catalog_code", "base_code")),
    Column("main_item_name", "主项名称", False, ("主项", "main_item", "main_item_name")),
    Column("item_name", "事项名称", True, ("业务办理项名称", "办理项名称", "name", "item_name")),
    Column("item_type", "事项类型", True, ("职权类型", "权力类型", "item_type", "task_type")),
    Column("use_levels", "行使层级", True, ("use_level", "use_levels", "levels")),
    Column(
        "legal_basis",
        "设定依据",
        False,
        ("法律依据", "实施依据", "设立依据", "法定依据", "legal_basis"),
    ),
    Column("department", "主管部门", False, ("业务指导部门", "department")),
    Column("handling_type", "办件类型", False, ("办理类型", "handling_type", "project_type")),
    Column("legal_limit", "法定办结时限", False, ("法定期限", "法定时限", "legal_limit")),
)

ITEM_COLUMNS: tuple[Column, ...] = (
    Column(
        "division_code",
        "行政区划代码",
        True,
        ("区划代码", "行政区划编码", "division_code", "area_code"),
    ),
    Column(
        "agency",
        "实施主体",
        True,
        (
            "实施机构",
            "实施部门",
            "审批部门",
            "办理部门",
            "受理机构",
            "部门名称",
            "agency",
            "dept_name",
        ),
    ),
    Column("item_name", "事项名称", True, ("职权名称", "业务办理项名称", "name", "item_name")),
    Column(
        "claimed_code", "基本编码", False, ("事项编码", "目录编码", "claimed_code", "base_code")
    ),
    Column("item_type", "事项类型", False, ("职权类型", "权力类型", "item_type", "task_type")),
    Column(
        "legal_basis",
        "设定依据",
        False,
        ("法律依据", "实施依据", "设立依据", "法定依据", "legal_basis"),
    ),
    Column("handling_type", "办件类型", False, ("办理类型", "handling_type", "project_type")),
    Column("legal_limit", "法定办结时限", False, ("法定期限", "法定时限", "legal_limit")),
    Column("promised_limit", "承诺办结时限", False, ("承诺期限", "承诺时限", "promised_limit")),
    Column("visits", "到办事现场次数", False, ("跑动次数", "到现场次数", "visits")),
)


def fold_header(text: object) -> str:
    """Canonical form of a header cell for comparison: NFKC, no spaces, no BOM, lower case."""
    s = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "")
    return "".join(s.split()).lower()


@cache
def header_map(columns: tuple[Column, ...]) -> dict[str, str]:
    """Folded header or alias → internal column name (cached: asked once per input file;
    callers must not modify the returned dict)."""
    out: dict[str, str] = {}
    for col in columns:
        for h in (col.header, col.name, *col.aliases):
            out.setdefault(fold_header(h), col.name)
    return out


def required(columns: tuple[Column, ...]) -> list[Column]:
    return [c for c in columns if c.required]


def headers(columns: tuple[Column, ...]) -> dict[str, str]:
    """Internal name → Chinese header (for messages and exports)."""
    return {c.name: c.header for c in columns}
