"""Per-unit issue lists (质检问题清单): the workbook a unit receives.

One .xlsx per unit (行政区划代码): its quality issues with the rectification suggestions, its
unmatched rows and its rows in review with their candidates, and a summary sheet — Chinese
headers, a frozen header row, filters, fitted widths, and text cells that cannot run as formulas.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shixiang import candidates
from shixiang.config import LEVEL_LABELS, STATUS_REVIEW, STATUS_UNMATCHED
from shixiang.export import ExportError, write_xlsx
from shixiang.rules import SEVERITY_ERROR

SEVERITY_LABELS = {SEVERITY_ERROR: "错误", "warning": "警告"}

ISSUE_HEADERS = {
    "source_file": "文件",
    "source_row": "行号",
    "agency": "实施主体",
    "item_name": "事项名称",
    "business_code": "业务办理项编码",
    "rule_id": "规则",
    "element": "要素",
    "severity": "严重程度",
    "message": "问题描述",
    "suggestion": "整改建议",
}
ROW_HEADERS = {
    "source_file": "文件",
    "source_row": "行号",
    "agency": "实施主体",
    "item_name": "事项名称",
    "claimed_code": "填报的基本编码",
    "explanation": "说明",
}
CANDIDATE_HEADERS = {f"candidate_{i}": f"候选{i}（编码 名称 相似度）" for i in (1, 2, 3)}


def unit_sheets(library: pd.DataFrame, issues: pd.DataFrame, unit: str) -> dict[str, pd.DataFrame]:
    """The sheets of one unit's workbook, with Chinese headers."""
    lib = library.loc[library["division_code"] == unit].sort_values(["source_file", "source_row"])
    iss = issues.loc[issues["division_code"] == unit].sort_values(
        ["source_file", "source_row", "rule_id"]
    )
    iss = iss.assign(severity=iss["severity"].map(SEVERITY_LABELS).fillna(iss["severity"]))
    unmatched = lib.loc[lib["status"] == STATUS_UNMATCHED]
    review = lib.loc[lib["status"] == STATUS_REVIEW]
    review = pd.concat([review, candidates.labels(review["candidates"])], axis=1)
    level = lib["level"].iloc[0] if len(lib) else ""
    summary = pd.DataFrame(
        {
            "项目": [
                "行政区划代码",
                "层级",
                "实施主体",
                "报送事项",
                "已复用目录事项",
                "待核对",
                "未匹配",
                "本地事项",
                "质检问题",
                "其中错误",
            ],
            "数值": [
                unit,
                LEVEL_LABELS.get(level, level),
                "、".join(sorted(lib["agency"].dropna().unique())),
                len(lib),
                int(lib["status"].isin(["matched", "confirmed"]).sum()),
                len(review),
                len(unmatched),
                int((lib["status"] == "local").sum()),
                len(iss),
                int((iss["severity"] == SEVERITY_LABELS[SEVERITY_ERROR]).sum()),
            ],
        }
    ).astype({"数值": "str"})
    return {
        "汇总": summary,
        "质检问题": iss[list(ISSUE_HEADERS)].rename(columns=ISSUE_HEADERS),
        "未匹配事项": unmatched[list(ROW_HEADERS)].rename(columns=ROW_HEADERS),
        "待核对事项": review[[*ROW_HEADERS, *CANDIDATE_HEADERS]].rename(
            columns={**ROW_HEADERS, **CANDIDATE_HEADERS}
        ),
    }


def write_unit_workbook(library: pd.DataFrame, issues: pd.DataFrame, unit: str, path: Path) -> Path:
    """The unit's workbook, written atomically: ``export.ExportError`` (and no file) when it
    cannot be written."""
    path = Path(path)
    write_xlsx(path, unit_sheets(library, issues, unit))  # cleans cells, formula-safe
    return path


def units_with_work(library: pd.DataFrame, issues: pd.DataFrame) -> list[str]:
    """Units that have an issue, an unmatched row or a row in review, sorted."""
    flagged = library.loc[
        library["status"].isin([STATUS_REVIEW, STATUS_UNMATCHED]), "division_code"
    ]
    return sorted(set(flagged) | set(issues["division_code"].dropna()))


def write_all(
    library: pd.DataFrame,
    issues: pd.DataFrame,
    out_dir: Path,
    failures: list[tuple[str, str]] | None = None,
) -> list[Path]:
    """One workbook per unit with anything to fix: ``<out_dir>/质检问题清单_<code>.xlsx``.

    A unit whose workbook cannot be written does not stop the others: it is appended to
    ``failures`` as (unit, reason) and leaves no file. Without a ``failures`` list the first
    failure is raised once every other unit has been written. Returns the paths written."""
    written: list[Path] = []
    failed: list[tuple[str, str]] = []
    for unit in units_with_work(library, issues):
        path = Path(out_dir) / f"质检问题清单_{unit}.xlsx"
        try:
            written.append(write_unit_workbook(library, issues, unit, path))
        except ExportError as exc:
            failed.append((unit, str(exc)))
        except Exception as exc:  # a unit's data the sheets cannot be built from
            failed.append((unit, f"无法生成 {path}：{type(exc).__name__}：{exc}"))
    if failures is not None:
        failures.extend(failed)
    elif failed:
        raise ExportError(
            f"{len(failed)} 个单位的质检问题清单导出失败（已导出 {len(written)} 个）："
            + "；".join(f"{unit}：{reason}" for unit, reason in failed)
        )
    return written
