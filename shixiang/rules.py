"""The rule catalogue of element quality checks (质检规则) and their vectorised evaluation.

One :class:`Rule` per check: id, element, severity, Chinese message template, rectification
suggestion. :func:`evaluate` turns decided library rows (with the matched catalogue item joined)
into ``qc_issues`` rows. Templates use ``{column}`` placeholders filled per row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shixiang.config import (
    CLAIMED_CODE_PATTERN,
    HANDLING_TYPES,
    LEVEL_LABELS,
    STATUS_CONFIRMED,
    STATUS_MATCHED,
    VISIT_COUNTS,
)
from shixiang.ingest import level_allowed
from shixiang.tables import QC_ISSUE_COLUMNS

SEVERITY_ERROR = "error"
SEVERITY_WARNING = "warning"

# Elements every implementation-list row must fill (QC-014), whatever the catalogue holds:
# the library shows the catalogue's value for a matched row, but the unit's list stays
# incomplete until the unit fills it. Column → Chinese element name.
REQUIRED_ELEMENTS: dict[str, str] = {
    "item_type": "事项类型",
    "legal_basis": "设定依据",
    "handling_type": "办件类型",
    "legal_limit": "法定办结时限",
    "promised_limit": "承诺办结时限",
}


@dataclass(frozen=True)
class Rule:
    rule_id: str
    element: str
    severity: str
    message: str  # template over row columns
    suggestion: str  # template over row columns

    @property
    def title(self) -> str:
        """The message without row values, e.g. for check metadata and Data Docs."""
        return TITLES[self.rule_id]


TITLES: dict[str, str] = {
    "QC-001": "事项类型与通用目录不一致",
    "QC-002": "本级不在事项的行使层级内",
    "QC-003": "填报的基本编码与匹配事项不一致",
    "QC-004": "承诺办结时限超过法定办结时限",
    "QC-005": "即办件的办结时限超过1个工作日",
    "QC-006": "同一实施主体重复填报同一事项",
    "QC-007": "行政区划代码的层级与所在文件夹不符",
    "QC-008": "设定依据与通用目录不一致",
    "QC-009": "办件类型不是即办件或承诺件",
    "QC-010": "到办事现场次数不是 0、1、2 或 多次",
    "QC-011": "填报的基本编码格式不正确",
    "QC-012": "办件类型与通用目录不一致",
    "QC-013": "法定办结时限与通用目录不一致",
    "QC-014": "必填要素为空",
    "ST-001": "数据管理员退回，要求整改",
}

RULES: dict[str, Rule] = {
    r.rule_id: r
    for r in sorted(
        (
            Rule(
                "QC-001",
                "事项类型",
                SEVERITY_ERROR,
                "事项类型“{item_type}”与通用目录“{cat_item_type}”不一致",
                "按通用目录将事项类型改为“{cat_item_type}”",
            ),
            Rule(
                "QC-002",
                "行使层级",
                SEVERITY_ERROR,
                "本单位为{level_label}，不在该事项的行使层级（{cat_use_levels}）内",
                "确认本级是否有权实施该事项；无权实施的请从实施清单中删除",
            ),
            Rule(
                "QC-003",
                "基本编码",
                SEVERITY_ERROR,
                "填报的基本编码“{claimed_code}”与匹配事项的基本编码“{cat_base_code}”不一致",
                "将基本编码改为“{cat_base_code}”",
            ),
            Rule(
                "QC-004",
                "承诺办结时限",
                SEVERITY_ERROR,
                "承诺办结时限（{promised_limit}）超过法定办结时限（{legal_limit}）",
                "承诺办结时限应不超过法定办结时限",
            ),
            Rule(
                "QC-005",
                "办件类型",
                SEVERITY_WARNING,
                "即办件的办结时限（{limit_days}）超过1个工作日",
                "即办件应当场或1个工作日内办结；否则改为承诺件",
            ),
            Rule(
                "QC-006",
                "事项名称",
                SEVERITY_WARNING,
                "同一实施主体重复填报同一事项（与第 {dup_first_row} 行重复）",
                "删除重复的事项行，每个事项只保留一行",
            ),
            Rule(
                "QC-007",
                "行政区划代码",
                SEVERITY_WARNING,
                "行政区划代码“{division_code}”是{level_label}代码，但文件放在{folder_label}文件夹",
                "把该行移到对应层级的清单中，或更正行政区划代码",
            ),
            Rule(
                "ST-001",
                "事项名称",
                SEVERITY_ERROR,
                "数据管理员退回：{steward_reason}",
                "按数据管理员的意见修改该事项后重新报送",
            ),
            Rule(
                "QC-009",
                "办件类型",
                SEVERITY_WARNING,
                "办件类型“{handling_type}”不是即办件或承诺件",
                "办件类型填写“即办件”或“承诺件”",
            ),
            Rule(
                "QC-010",
                "到办事现场次数",
                SEVERITY_WARNING,
                "到办事现场次数“{visits}”不是 0、1、2 或 多次",
                "到办事现场次数填写 0、1、2 或“多次”",
            ),
            Rule(
                "QC-011",
                "基本编码",
                SEVERITY_WARNING,
                "填报的基本编码“{claimed_code}”格式不正确",
                "基本编码应为 4 至 50 位字母、数字或连字符，请按通用目录填写",
            ),
            Rule(
                "QC-008",
                "设定依据",
                SEVERITY_WARNING,
                "设定依据与通用目录不一致",
                "按通用目录填写设定依据：{cat_legal_basis}",
            ),
            Rule(
                "QC-012",
                "办件类型",
                SEVERITY_WARNING,
                "办件类型“{handling_type}”与通用目录“{cat_handling_type}”不一致",
                "按通用目录将办件类型改为“{cat_handling_type}”",
            ),
            Rule(
                "QC-013",
                "法定办结时限",
                SEVERITY_WARNING,
                "法定办结时限（{submitted_legal_limit}）与通用目录（{cat_legal_limit}）不一致",
                "按通用目录将法定办结时限改为 {cat_legal_limit}",
            ),
            Rule(
                "QC-014",
                "必填要素",
                SEVERITY_ERROR,
                "必填要素为空：{empty_elements}",
                "在实施清单中填写{empty_elements}（匹配的事项可参照通用目录）",
            ),
        ),
        key=lambda r: (r.rule_id.startswith("ST"), r.rule_id),
    )
}


def _to_days(s: pd.Series) -> pd.Series:
    """Time limits as numbers: "20", "20个工作日", "即办" (0). Parsed once per distinct value
    (a province writes a few hundred different limits on 500k rows)."""
    codes, distinct = pd.factorize(s)  # missing values get code -1: the NaN appended last
    days = np.append(_distinct_to_days(pd.Series(distinct, dtype=object)).to_numpy(), np.nan)
    return pd.Series(days[codes], index=s.index, dtype="float64")


def _distinct_to_days(s: pd.Series) -> pd.Series:
    """:func:`_to_days` on distinct values. Plain numbers are parsed in one vectorised pass;
    only the rest go through the regex."""
    num = pd.to_numeric(s, errors="coerce")
    rest = num.isna() & s.notna()
    if rest.any():
        text = s[rest].astype("str")
        parsed = pd.to_numeric(text.str.extract(r"(\d+(?:\.\d+)?)", expand=False), errors="coerce")
        num = num.astype("float64")
        num[rest] = parsed.mask(text.str.contains("即办", na=False), 0.0)
    return num.astype("float64")


def _no_spaces(s: pd.Series) -> pd.Series:
    return s.astype("str").str.replace(" ", "", regex=False).str.replace("\u3000", "", regex=False)


def _template_columns(template: str) -> list[str]:
    """The columns a message template reads (its ``{column}`` placeholders), in order."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(template)))


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(template: str, frame: pd.DataFrame) -> pd.Series:
    """Vectorised ``str.format`` of a template over frame columns."""
    out = pd.Series("", index=frame.index, dtype="str")
    parts = (
        pd.Series([template])
        .str.extractall(r"(?P<text>[^{]*)(?:\{(?P<col>\w+)\})?")
        .reset_index(drop=True)
    )
    for text, col in zip(parts["text"], parts["col"], strict=True):
        if isinstance(text, str) and text:
            out = out + text
        if isinstance(col, str):
            out = out + frame[col].astype("str").fillna("")
    return out


def failures(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every rule over decided rows, vectorised. Returns the rows with the columns the message
    templates use, and a frame of one boolean column per rule id (True = the row breaks it).

    ``rows`` must carry the item columns, ``status``, ``business_code``, ``name_key`` and the
    catalogue columns prefixed ``cat_`` (NaN where unmatched).

    Each rule's mask is computed as soon as its inputs are, and the keys and normalised texts
    it needed are let go at once: on 500,000 rows each of them is tens of MiB."""
    r = rows.copy()
    for col in (
        "claimed_code",
        "item_type",
        "legal_basis",
        "handling_type",
        "legal_limit",
        "promised_limit",
        "visits",
    ):
        if col not in r:
            r[col] = pd.Series(np.nan, index=r.index, dtype="str")
    checks: dict[str, pd.Series] = {}
    matched = r["status"].isin([STATUS_MATCHED, STATUS_CONFIRMED])
    r["level_label"] = r["level"].map(LEVEL_LABELS)
    r["folder_label"] = r["folder_level"].map(LEVEL_LABELS)
    # The catalogue's 法定办结时限 is the authoritative one for matched rows.
    cat_legal = r["cat_legal_limit"] if "cat_legal_limit" in r else pd.Series(np.nan, index=r.index)
    cat_handling = (
        r["cat_handling_type"] if "cat_handling_type" in r else pd.Series(np.nan, index=r.index)
    )
    r["cat_legal_limit"], r["cat_handling_type"] = cat_legal, cat_handling
    r["submitted_legal_limit"] = r["legal_limit"]
    empty = pd.Series("", index=r.index, dtype="str")
    for col, label in REQUIRED_ELEMENTS.items():
        blank = r[col].isna() | r[col].astype("str").str.strip().eq("")
        empty = empty + np.where(blank, "、" + label, "")
    r["empty_elements"] = empty.str.removeprefix("、")
    del empty, blank
    submitted_legal = _to_days(r["legal_limit"])
    legal = _to_days(cat_legal.where(matched & cat_legal.notna(), r["legal_limit"]))
    r["legal_limit"] = r["legal_limit"].where(~(matched & cat_legal.notna()), cat_legal)
    promised = _to_days(r["promised_limit"])
    limit_days = promised.fillna(legal)
    r["limit_days"] = limit_days

    use_levels = r["cat_use_level_keys"].fillna("")
    checks["QC-002"] = matched & (use_levels != "") & ~level_allowed(r["level"], use_levels)
    del use_levels
    claimed = r["claimed_code"].astype("str").str.strip().str.upper()
    cat_base = r["cat_base_code"].astype("str").str.upper()
    cat_code = r["business_code"].astype("str").str.upper()
    checks["QC-003"] = (
        matched & r["claimed_code"].notna() & (claimed != cat_base) & (claimed != cat_code)
    )
    del cat_base, cat_code
    checks["QC-011"] = r["claimed_code"].notna() & ~claimed.str.fullmatch(
        CLAIMED_CODE_PATTERN
    ).fillna(False)
    del claimed

    unit_key = r["division_code"].astype("str") + "\x1f" + r["agency"].astype("str")
    item_key = r["business_code"].fillna("name:" + r["name_key"].fillna(r["item_name"]))
    dup_key = unit_key + "\x1f" + item_key
    del unit_key, item_key
    # One factorisation of the keys serves both the duplicates and each key's first row (a
    # missing key: -1, duplicated like any value, but in no group, as groupby drops it).
    key_codes, _ = pd.factorize(dup_key)
    del dup_key
    checks["QC-006"] = pd.Series(key_codes, index=r.index).duplicated(keep="first")
    first_row = r["source_row"].groupby(key_codes, sort=False).transform("first")
    if (key_codes < 0).any():
        first_row = first_row.where(key_codes >= 0)
    r["dup_first_row"] = first_row.astype("str")
    del key_codes, first_row

    basis = _no_spaces(r["legal_basis"])
    cat_basis = _no_spaces(r["cat_legal_basis"])
    checks["QC-008"] = (
        matched
        & r["legal_basis"].notna()
        & r["cat_legal_basis"].notna()
        & (basis != "")
        & (basis != cat_basis)
    )
    del basis, cat_basis
    steward = r["steward_reason"] if "steward_reason" in r else pd.Series(np.nan, index=r.index)

    checks.update(
        {
            "QC-001": matched & r["item_type"].notna() & (r["item_type"] != r["cat_item_type"]),
            "QC-004": (promised > legal).fillna(False),
            "QC-005": (r["handling_type"] == "即办件") & (limit_days > 1).fillna(False),
            "QC-007": r["level"] != r["folder_level"],
            "QC-009": r["handling_type"].notna() & ~r["handling_type"].isin(list(HANDLING_TYPES)),
            "QC-010": r["visits"].notna() & ~r["visits"].isin(list(VISIT_COUNTS)),
            "QC-012": matched
            & r["handling_type"].notna()
            & cat_handling.notna()
            & (r["handling_type"] != cat_handling),
            "QC-013": matched
            & submitted_legal.notna()
            & cat_legal.notna()
            & (submitted_legal != _to_days(cat_legal)),
            "QC-014": r["empty_elements"] != "",
            "ST-001": steward.notna(),
        }
    )
    masks = pd.DataFrame(
        {k: checks[k].fillna(False).astype(bool) for k in _CHECK_ORDER}, index=r.index
    )
    return r, masks


# The order of :func:`failures`' mask columns (and of the issues of one row before sorting).
_CHECK_ORDER = (
    "QC-001",
    "QC-002",
    "QC-003",
    "QC-004",
    "QC-005",
    "QC-006",
    "QC-007",
    "QC-008",
    "QC-009",
    "QC-010",
    "QC-011",
    "QC-012",
    "QC-013",
    "QC-014",
    "ST-001",
)


def rule_frame(rows: pd.DataFrame, issues: pd.DataFrame | None = None) -> pd.DataFrame:
    """``row_id`` and one column per rule id, True where the row passes: what the GX suite
    ``matched_library`` validates (built from :data:`RULES` by ``shixiang.expectation_suites``:
    one in-set expectation per rule).

    With ``issues`` (the output of :func:`evaluate` on ``rows``) the frame is rebuilt from them
    instead of evaluating every rule again: the row ids and the issues' ids are factorised
    together once, and each rule marks its failing ids in a boolean array (missing ids equal
    to each other, as ``isin`` has them)."""
    if issues is None:
        _, masks = failures(rows)
        return pd.concat([rows[["row_id"]], ~masks], axis=1)
    row_id = rows["row_id"]
    out = pd.DataFrame(
        {"row_id": row_id.array if row_id.dtype == "str" else row_id.to_numpy()},
        index=rows.index,
    )
    issue_ids = issues["source_file"].astype("str") + ":" + issues["source_row"].astype("str")
    codes, uniques = pd.factorize(
        pd.concat([row_id, issue_ids], ignore_index=True), use_na_sentinel=False
    )
    del issue_ids
    row_codes, issue_codes = codes[: len(rows)], codes[len(rows) :]
    rule_of_issue = issues["rule_id"]
    for rule_id in RULES:
        failing = np.zeros(len(uniques), dtype=bool)
        failing[issue_codes[(rule_of_issue == rule_id).to_numpy(dtype=bool, na_value=False)]] = True
        out[rule_id] = ~failing[row_codes]
    return out


# The columns of a qc_issues row taken from the row that breaks the rule.
_ISSUE_ROW_COLUMNS = (
    "source_file",
    "source_row",
    "division_code",
    "agency",
    "level",
    "item_name",
    "business_code",
)


def evaluate(rows: pd.DataFrame) -> pd.DataFrame:
    """Quality issues of decided rows: one qc_issues row per row and rule broken (columns
    :data:`QC_ISSUE_COLUMNS`).

    Each rule's messages are filled from the few columns its templates name; the issues are
    kept as row positions until they are sorted, and each row column is then taken once in
    the final order (not a copy of every column of every breaking row per rule: 300,000 rows
    break QC-014 in a 500,000-row province)."""
    r, checks = failures(rows)
    limit_days = r["limit_days"]
    positions: list[np.ndarray] = []
    rule_ids: list[str] = []
    messages: list[pd.Series] = []
    suggestions: list[pd.Series] = []
    for rule_id, mask in checks.items():
        if not mask.any():
            continue
        rule = RULES[rule_id]
        used = _template_columns(rule.message + rule.suggestion)
        hit = r.loc[mask, [c for c in used if c != "limit_days"]]
        if "limit_days" in used:
            hit["limit_days"] = limit_days[mask].map(lambda v: f"{v:g}", na_action="ignore")
        positions.append(np.flatnonzero(mask.to_numpy()))
        rule_ids.append(rule_id)
        messages.append(_fill(rule.message, hit))
        suggestions.append(_fill(rule.suggestion, hit))
        del hit
    if not positions:
        return pd.DataFrame(columns=QC_ISSUE_COLUMNS)
    counts = [len(p) for p in positions]
    at = np.concatenate(positions)
    del positions

    def per_rule(values: list[str]) -> pd.Series:
        return pd.Series(np.repeat(np.array(values, dtype=object), counts), dtype="str")

    rule_col = per_rule(rule_ids)
    # The issues' order: by file, row and rule; the rules' order for equal keys (stable).
    keys = pd.DataFrame(
        {
            "source_file": r["source_file"].take(at).reset_index(drop=True),
            "source_row": r["source_row"].take(at).reset_index(drop=True),
            "rule_id": rule_col,
        }
    )
    order = keys.sort_values(
        ["source_file", "source_row", "rule_id"], kind="stable"
    ).index.to_numpy()
    del keys
    rows_at = at[order]
    out = {c: r[c].take(rows_at).reset_index(drop=True) for c in _ISSUE_ROW_COLUMNS}
    out["rule_id"] = rule_col.take(order).reset_index(drop=True)
    out["element"] = per_rule([RULES[k].element for k in rule_ids]).take(order)
    out["severity"] = per_rule([RULES[k].severity for k in rule_ids]).take(order)
    for name, parts in (("message", messages), ("suggestion", suggestions)):
        out[name] = pd.concat(parts, ignore_index=True).take(order).reset_index(drop=True)
        parts.clear()
    return pd.DataFrame({k: v.reset_index(drop=True) for k, v in out.items()})


def issue_counts(issues: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    """Issues per library row (aligned with ``rows``)."""
    counts = issues.groupby(["source_file", "source_row"]).size()
    keys = pd.MultiIndex.from_arrays([rows["source_file"], rows["source_row"]])
    return pd.Series(counts.reindex(keys).fillna(0).astype("int64").to_numpy(), index=rows.index)


def catalogue_check_frame(catalogue: pd.DataFrame) -> pd.DataFrame:
    """The catalogue with the derived columns its suite checks: ``code_has_base_prefix``
    (a business-handling item's code starts with its 基本编码, as a child item's code carries
    its parent's)."""
    out = catalogue.copy()
    code = out["business_code"].astype("str").str.upper()
    base = out["base_code"].astype("str").str.upper()
    out["code_has_base_prefix"] = pd.Series(
        [c.startswith(b) for c, b in zip(code, base, strict=True)], index=out.index, dtype=bool
    )
    return out
