"""The spreadsheet round-trip of steward review: export a unit's review sheet, import it back.

The sheet has one line per (unit, normalised name) still to decide — the key decisions are
recorded on — with the top candidates, a 决定 drop-down, a 目录编码 column and a 理由 column.
A hidden ``_meta`` sheet records the unit, the time and the catalogue's fingerprint, so that an
import can tell a sheet edited for another unit or exported against an older catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from shixiang import candidates
from shixiang.config import STATUS_REVIEW, STATUS_UNMATCHED
from shixiang.decisions import (
    CONFIRM,
    DECISION_LABELS,
    SCOPE_ALL,
    SCOPE_ROW,
    Decision,
    DecisionError,
)
from shixiang.export import FORMULA_PREFIX, formula_safe, undo_formula_safe

SHEET = "待核对事项"
META_SHEET = "_meta"
SCOPE_LABELS = {SCOPE_ROW: "本单位", SCOPE_ALL: "全部单位"}
LABEL_TO_DECISION = {v: k for k, v in DECISION_LABELS.items()}
LABEL_TO_SCOPE = {v: k for k, v in SCOPE_LABELS.items()}

COLUMNS = {
    "row_id": "首个行号",
    "division_code": "行政区划代码",
    "agency": "实施主体",
    "level": "层级",
    "item_name": "事项名称",
    "name_key": "规范化名称",
    "rows": "行数",
    "status": "当前状态",
    "score": "最高相似度",
    "candidate_1_code": "候选1编码",
    "candidate_1_name": "候选1名称",
    "candidate_1_score": "候选1相似度",
    "candidate_2_code": "候选2编码",
    "candidate_2_name": "候选2名称",
    "candidate_2_score": "候选2相似度",
    "candidate_3_code": "候选3编码",
    "candidate_3_name": "候选3名称",
    "candidate_3_score": "候选3相似度",
    "explanation": "说明",
    "decision": "决定",
    "business_code": "目录编码",
    "reason": "理由",
    "scope": "适用范围",
}
INPUT_COLUMNS = ("decision", "business_code", "reason", "scope")


def review_lines(library: pd.DataFrame, unit: str) -> pd.DataFrame:
    """One line per normalised name of the unit still in review or unmatched, most rows first."""
    rows = library.loc[
        (library["division_code"] == unit)
        & library["status"].isin([STATUS_REVIEW, STATUS_UNMATCHED])
    ]
    if rows.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    first = rows.drop_duplicates("name_key").set_index("name_key")
    out = first.assign(rows=rows.groupby("name_key").size()).reset_index()
    out = out.join(candidates.spread(out["candidates"]))
    for col in INPUT_COLUMNS:
        out[col] = None
    out["scope"] = SCOPE_LABELS[SCOPE_ROW]
    out = out.sort_values(
        ["rows", "source_file", "source_row"], ascending=[False, True, True], kind="stable"
    )
    return out[list(COLUMNS)].reset_index(drop=True)


def write_sheet(lines: pd.DataFrame, path: Path, *, unit: str, fingerprint: str) -> None:
    """The review workbook: frozen header, filters, fitted widths, a 决定 and a 适用范围
    drop-down, input columns highlighted, the ``_meta`` sheet hidden. Raises
    ``export.ExportError`` (and leaves no file) when it cannot be written."""
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from shixiang.export import write_xlsx

    path = Path(path)
    sheet = formula_safe(lines).rename(columns=COLUMNS)
    meta = pd.DataFrame(
        {
            "key": ["unit", "exported_at", "catalogue_fingerprint", "lines"],
            "value": [
                unit,
                datetime.now(UTC).isoformat(timespec="seconds"),
                fingerprint,
                str(len(lines)),
            ],
        }
    )

    def finish(wb) -> None:
        ws = wb[SHEET]
        wb[META_SHEET].sheet_state = "hidden"
        last = max(len(lines) + 1, 2)
        names = list(COLUMNS)
        fill = PatternFill("solid", fgColor="FFF2CC")
        for col, options in (
            ("decision", list(DECISION_LABELS.values())),
            ("scope", list(SCOPE_LABELS.values())),
        ):
            letter = get_column_letter(names.index(col) + 1)
            dv = DataValidation(
                type="list", formula1='"' + ",".join(options) + '"', allow_blank=True
            )
            dv.error, dv.errorTitle = "请从下拉列表中选择", "无效的值"
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{last}")
        for col in INPUT_COLUMNS:
            letter = get_column_letter(names.index(col) + 1)
            for row in range(1, last + 1):
                ws[f"{letter}{row}"].fill = fill

    # One workbook, styled before it is saved, written to a temporary file and renamed into
    # place: a sheet that fails is never left half written or without its _meta sheet.
    write_xlsx(path, {SHEET: sheet, META_SHEET: meta}, finish=finish)


@dataclass
class ImportResult:
    decisions: list[Decision] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (sheet line number, reason)
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0  # lines without a decision


def read_sheet(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The lines (internal column names) and the meta data of a review sheet."""
    try:
        book = pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl")
    except Exception as exc:
        raise DecisionError(f"无法读取核对表 {path}：{exc}") from exc
    if SHEET not in book or META_SHEET not in book:
        raise DecisionError(
            f"{path} 不是 shixiang 导出的核对表（缺少“{SHEET}”或“{META_SHEET}”工作表）"
        )
    meta = dict(zip(book[META_SHEET]["key"], book[META_SHEET]["value"], strict=True))
    lines = book[SHEET].rename(columns={v: k for k, v in COLUMNS.items()})
    missing = [COLUMNS[c] for c in ("division_code", "name_key", *INPUT_COLUMNS) if c not in lines]
    if missing:
        raise DecisionError(f"核对表缺少列：{'、'.join(missing)}")
    # Undo the export's own ' before = + - @ (formula_safe), then trim what the steward typed.
    lines = lines.apply(
        lambda s: s.str.replace(FORMULA_PREFIX, "", n=1, regex=True).str.strip()
    ).astype(object)
    meta = {k: undo_formula_safe(v) for k, v in meta.items()}
    return lines.where(lines.notna() & (lines != ""), None), meta


def validate_sheet(
    lines: pd.DataFrame,
    meta: dict[str, str],
    *,
    steward: str,
    library: pd.DataFrame,
    catalogue_names: dict[str, str],
    fingerprint: str,
    source: str,
) -> ImportResult:
    """Check every line; valid ones become decisions, the others are reported with a reason.

    Line numbers are the spreadsheet's (the header is line 1)."""
    result = ImportResult()
    unit = meta.get("unit")

    def decision_for(line: dict, decision: str, scope: str, code: str | None) -> Decision:
        return Decision(
            steward=steward,
            name_key=line.get("name_key"),
            decision=decision,
            scope=scope,
            division_code=line.get("division_code"),
            item_name=line.get("item_name"),
            business_code=code if decision == CONFIRM else None,
            reason=line.get("reason"),
            source=source,
            catalogue_fingerprint=meta.get("catalogue_fingerprint"),
        )

    changed = meta.get("catalogue_fingerprint") != fingerprint
    if changed:
        result.warnings.append("导出核对表后通用目录已变化：确认的编码将逐行核对当前目录")
    known_keys = set(zip(library["division_code"], library["name_key"], strict=True))
    for pos, line in enumerate(lines.to_dict("records"), start=2):
        label = line.get("decision")
        if not isinstance(label, str):
            result.skipped += 1
            continue
        decision = LABEL_TO_DECISION.get(label)
        scope = LABEL_TO_SCOPE.get(line.get("scope") or SCOPE_LABELS[SCOPE_ROW])
        division, key = line.get("division_code"), line.get("name_key")
        code = line.get("business_code")
        if decision is None:
            result.rejected.append(
                (pos, f"未知的决定“{label}”，应为 {'、'.join(DECISION_LABELS.values())}")
            )
        elif scope is None:
            result.rejected.append(
                (pos, f"未知的适用范围“{line.get('scope')}”，应为 本单位 或 全部单位")
            )
        elif division != unit:
            result.rejected.append(
                (pos, f"这一行属于单位 {division}，而核对表是为单位 {unit} 导出的")
            )
        elif (division, key) not in known_keys:
            result.rejected.append(
                (pos, "该事项已不在当前事项库中（单位可能已修改或删除），请重新导出核对表")
            )
        elif problem := _invalid(decision_for(line, decision, scope, code), catalogue_names):
            result.rejected.append((pos, problem))
        elif (
            decision == CONFIRM
            and changed
            and _shown_name(line, code) not in (None, catalogue_names[code])
        ):
            result.rejected.append(
                (
                    pos,
                    f"导出后目录中 {code} 已变化（现名“{catalogue_names[code]}”，核对表中为“{_shown_name(line, code)}”），请重新核对",
                )
            )
        else:
            result.decisions.append(decision_for(line, decision, scope, code))
    return result


def _invalid(decision: Decision, catalogue_names: dict[str, str]) -> str | None:
    """Why the decision cannot be recorded (``Decision.validate``'s reason), or None."""
    try:
        decision.validate(catalogue_names)
    except DecisionError as exc:
        return str(exc)
    return None


def _shown_name(line: dict, code: str) -> str | None:
    """The catalogue name the sheet showed for ``code`` (when it was one of the candidates)."""
    for i in (1, 2, 3):
        if line.get(f"candidate_{i}_code") == code:
            return line.get(f"candidate_{i}_name")
    return None
