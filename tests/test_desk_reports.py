"""The desk's reports: issue lists and statistics within a scope, and the inline SVG charts.

Two databases: a small hand-made publication (fast; every scoping rule of rejected files and
rows has a row that tests it), and the demo province ``data/sample`` run through the pipeline
twice, with two files removed before the second run so that ``library_changes`` has rows in
two sibling counties (slow; once per module).
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Engine

from commands import main as cli
from shixiang import reports, scope, store
from shixiang.changes import CHANGE_LABELS
from shixiang.library import build_reuse_stats
from shixiang.reports import CANDIDATE_HEADERS, ISSUE_HEADERS, ROW_HEADERS
from shixiang.scope import ScopeError
from shixiang.tables import LIBRARY_COLUMNS
from tests.helpers import SAMPLE_DIR

COUNTY_A = "511602000000"  # 广安区
TOWNSHIP_A = "511602002000"  # a township of 广安区, with rows in the county's file
COUNTY_B = "511603000000"  # 前锋区, the sibling county
REJECTED_ONLY = "511623000000"  # 邻水县: its only file was rejected
PROVINCE = "510000000000"
SVG_NS = "{http://www.w3.org/2000/svg}"


# --- a small hand-made publication ----------------------------------------------------------


def _lib_row(file: str, row: int, code: str, level: str, agency: str, name: str, status: str):
    candidates = (
        json.dumps(
            [
                {"business_code": "511A0001000002", "name": "食品经营许可（变更）", "score": 91.0},
                {"business_code": "511A0001000001", "name": "食品经营许可（新办）", "score": 88.5},
            ],
            ensure_ascii=False,
        )
        if status == "review"
        else "[]"
    )
    return {
        "row_id": f"{file}:{row}",
        "source_file": file,
        "source_row": row,
        "division_code": code,
        "level": level,
        "agency": agency,
        "item_name": name,
        "status": status,
        "business_code": "511A0001000002" if status in ("matched", "confirmed") else None,
        "name_key": name,
        "candidates": candidates,
        "explanation": f"说明 {name}",
        "claimed_code": None,
    }


FILE_A = "county/511602_广安区_实施清单.csv"
FILE_B = "county/511603_前锋区_实施清单.csv"
LIBRARY = pd.DataFrame(
    [
        _lib_row(
            FILE_A, 2, COUNTY_A, "county", "广安区行政审批局", "食品经营许可（变更）", "matched"
        ),
        _lib_row(
            FILE_A, 3, COUNTY_A, "county", "广安区行政审批局", "食品经营许可（换证）", "review"
        ),
        _lib_row(FILE_A, 4, COUNTY_A, "county", "广安区民政局", "=老年人助餐服务登记", "unmatched"),
        _lib_row(FILE_A, 5, TOWNSHIP_A, "township", "北辰街道办事处", "户口注销", "matched"),
        _lib_row(FILE_B, 2, COUNTY_B, "county", "前锋区行政审批局", "前锋区独有事项", "unmatched"),
        _lib_row(FILE_B, 3, COUNTY_B, "county", "前锋区行政审批局", "前锋区待核对", "review"),
        _lib_row(FILE_B, 4, COUNTY_B, "county", "前锋区民政局", "户口恢复", "confirmed"),
        _lib_row(
            "province/510000_四川省.csv", 2, PROVINCE, "province", "省厅", "省级事项", "local"
        ),
    ]
).reindex(columns=LIBRARY_COLUMNS)


def _issue(file: str, row: int, code: str, level: str, rule: str, severity: str, name: str):
    return {
        "source_file": file,
        "source_row": row,
        "division_code": code,
        "agency": "某单位",
        "level": level,
        "item_name": name,
        "business_code": None,
        "rule_id": rule,
        "element": "事项类型",
        "severity": severity,
        "message": f"问题 {name}",
        "suggestion": f"建议 {name}",
    }


ISSUES = pd.DataFrame(
    [
        _issue(FILE_A, 2, COUNTY_A, "county", "QC-001", "error", "食品经营许可（变更）"),
        _issue(FILE_A, 4, COUNTY_A, "county", "QC-014", "error", "=老年人助餐服务登记"),
        _issue(FILE_A, 4, COUNTY_A, "county", "QC-008", "warning", "=老年人助餐服务登记"),
        _issue(FILE_A, 5, TOWNSHIP_A, "township", "QC-007", "warning", "户口注销"),
        _issue(FILE_B, 2, COUNTY_B, "county", "QC-001", "error", "前锋区独有事项"),
        _issue(FILE_B, 3, COUNTY_B, "county", "QC-005", "warning", "前锋区待核对"),
        _issue("province/510000_四川省.csv", 2, PROVINCE, "province", "QC-014", "error", "省级"),
    ]
)

REJECTED_FILES = pd.DataFrame(
    {
        "source_file": [
            "county/511623_邻水县_实施清单（编码异常）.csv",  # the rejected-only unit
            "township/511603101_月回镇_实施清单.csv",  # the sibling county's township
            "village/511602002_北辰街道_补充清单（空）.csv",  # a township of county A
            "city/清单（无代码）.csv",  # no code in its name: the province only
            "province\\510000_四川省_损坏文件.xlsx",  # a Windows separator
            "county/5116020000001_十三位.csv",  # 13 digits: not a division code
        ],
        "reason": ["无法识别编码", "文件为空", "文件为空", "缺少必需列", "文件已损坏", "只有表头"],
    }
)


def _raw(code: object, name: str = "某事项") -> str:
    return json.dumps(
        {"division_code": code, "agency": "某单位", "item_name": name, "extra": None},
        ensure_ascii=False,
    )


REJECTED_ROWS = pd.DataFrame(
    [
        # a bad code in county A's file: by the file (named A, and holding A's and A's
        # township's rows)
        (FILE_A, 10, "行政区划代码含非数字字符", _raw("5116O2000000")),
        # a valid code of county B in county A's file: B's, not A's
        (FILE_A, 11, "事项名称为空", _raw(COUNTY_B, None)),
        # no code in county B's file, and a name that spells a key of county A: B's
        (FILE_B, 12, "行政区划代码为空", _raw(None, f'"division_code": "{COUNTY_A}"')),
        # county A's code in a file of county B's township: A's
        ("township/511603002_秋桂街道.csv", 2, "实施主体为空", _raw("511602001000")),
        # an 11-digit code in a file named after the rejected-only county: that county's
        ("county/511623_邻水县_补充.csv", 3, "行政区划代码不是12位", _raw("51162300000")),
        # a file with no code in its name and no library rows: the province only
        ("city/清单（无代码）.csv", 4, "行政区划代码为空", _raw(None)),
    ],
    columns=["source_file", "source_row", "reason", "raw"],
)

CHANGES = pd.DataFrame(
    {
        "change": ["added", "removed", "status_changed", "code_changed", "added"],
        "division_code": [COUNTY_A, TOWNSHIP_A, COUNTY_B, COUNTY_B, PROVINCE],
        "agency": ["广安区行政审批局", "北辰街道办事处", "前锋区民政局", "前锋区民政局", "省厅"],
        "level": ["county", "township", "county", "county", "province"],
        "item_name": ["a", "b", "c", "d", "e"],
        "name_key": ["a", "b", "c", "d", "e"],
        "status_before": [None, "matched", "review", "matched", None],
        "status": ["matched", None, "confirmed", "matched", "local"],
        "business_code_before": [None, "X", None, "Y", None],
        "business_code": ["Z", None, None, "W", None],
        "catalogue_name": ["", "", "", "", ""],
    }
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path = tmp_path_factory.mktemp("reports") / "small.db"
    engine = store.make_engine(f"sqlite:///{path}")
    store.publish(engine, _small_tables(), run_id="small")
    return engine


def _small_tables() -> dict[str, pd.DataFrame]:
    return {
        "unified_library": LIBRARY,
        "qc_issues": ISSUES,
        "reuse_stats": build_reuse_stats(LIBRARY),
        "rejected_files": REJECTED_FILES,
        "rejected_rows": REJECTED_ROWS,
        "library_changes": CHANGES,
    }


def test_file_division_codes_come_from_the_file_name_only() -> None:
    codes = scope.file_division_codes(
        pd.Series(
            [
                "county/511602_广安区_实施清单.csv",
                "township/511602001_浓洄街道.csv",
                "village/511602001001_村.xlsx",
                "province\\510000_四川省_损坏文件.xlsx",
                "511600/清单.csv",  # digits in the folder only
                "city/5116020000001_十三位.csv",
                "city/51_省.csv",
                None,
            ]
        )
    )
    assert codes.tolist()[:4] == [COUNTY_A, "511602001000", "511602001001", PROVINCE]
    assert codes.iloc[4:6].isna().all()
    assert codes.iloc[6] == "510000000000"
    assert pd.isna(codes.iloc[7])


def test_rejected_files_and_rows_by_scope(small: Engine) -> None:
    files, rows = reports.rejected_in_scope(small, "511602")
    assert files["source_file"].tolist() == ["village/511602002_北辰街道_补充清单（空）.csv"]
    assert sorted(zip(rows["source_file"], rows["source_row"], strict=True)) == [
        (FILE_A, 10),
        ("township/511603002_秋桂街道.csv", 2),
    ]
    assert rows.set_index("source_row")["division_code"].to_dict() == {
        10: COUNTY_A,
        2: "511602001000",
    }
    assert list(files.columns) == ["source_file", "reason", "division_code"]
    assert list(rows.columns) == ["source_file", "source_row", "reason", "raw", "division_code"]

    files, rows = reports.rejected_in_scope(small, "511603")
    assert files["source_file"].tolist() == ["township/511603101_月回镇_实施清单.csv"]
    assert sorted(zip(rows["source_file"], rows["source_row"], strict=True)) == [
        (FILE_A, 11),
        (FILE_B, 12),
    ]

    # a township: its own rejected file, and the county file's row through its library rows
    files, rows = reports.rejected_in_scope(small, "511602002")
    assert files["source_file"].tolist() == ["village/511602002_北辰街道_补充清单（空）.csv"]
    assert rows["source_row"].tolist() == [10]

    files, rows = reports.rejected_in_scope(small, "511623")
    assert files["source_file"].tolist() == ["county/511623_邻水县_实施清单（编码异常）.csv"]
    assert rows["source_row"].tolist() == [3]

    files, rows = reports.rejected_in_scope(small, "")
    assert len(files) == len(REJECTED_FILES) and len(rows) == len(REJECTED_ROWS)

    for prefix in ("511602", "511603", "511602002", "511623", "51", "5116"):
        files, rows = reports.rejected_in_scope(small, prefix)
        assert not files["source_file"].isin(["city/清单（无代码）.csv"]).any()
        assert not (rows["source_row"] == 4).any()
        # every row's unit is in scope, or it came in by a file of the scope
        assert rows["division_code"].str.startswith(prefix).all() or prefix == "511602002"


def test_rejected_scope_is_not_a_pattern(small: Engine) -> None:
    for prefix in ("%", "_", "5116_2", "51%"):
        files, rows = reports.rejected_in_scope(small, prefix)
        assert files.empty and rows.empty
        sheets = reports.unit_issue_list(small, prefix)
        assert all(sheets[s].empty for s in reports.SHEETS if s != reports.SHEET_SUMMARY)
        assert reports.stats(small, prefix)["totals"]["submitted"] == 0


def test_issue_list_sheets_within_a_county(small: Engine) -> None:
    sheets = reports.unit_issue_list(small, "511602")
    assert list(sheets) == list(reports.SHEETS)
    issues = sheets["质检问题"]
    assert list(issues.columns) == ["行政区划代码", *ISSUE_HEADERS.values()]
    assert set(issues["行政区划代码"]) == {COUNTY_A, TOWNSHIP_A}
    assert sorted(issues["严重程度"]) == ["警告", "警告", "错误", "错误"]
    assert "建议 =老年人助餐服务登记" in set(issues["整改建议"])
    unmatched = sheets["未匹配事项"]
    assert list(unmatched.columns) == ["行政区划代码", *ROW_HEADERS.values()]
    assert unmatched["事项名称"].tolist() == ["=老年人助餐服务登记"]
    review = sheets["待核对事项"]
    assert list(review.columns) == [
        "行政区划代码",
        *ROW_HEADERS.values(),
        *CANDIDATE_HEADERS.values(),
    ]
    assert review["事项名称"].tolist() == ["食品经营许可（换证）"]
    assert review.iloc[0]["候选1（编码 名称 相似度）"] == "511A0001000002 食品经营许可（变更） 91.0"
    assert review.iloc[0]["候选3（编码 名称 相似度）"] == ""
    assert sheets["拒收文件"]["文件"].tolist() == ["village/511602002_北辰街道_补充清单（空）.csv"]
    rows = sheets["拒收行"]
    assert list(rows.columns) == list(reports.REJECTED_ROW_HEADERS.values())
    assert set(rows["填报的行政区划代码"]) == {"5116O2000000", "511602001000"}
    summary = dict(zip(sheets["汇总"]["项目"], sheets["汇总"]["数值"], strict=True))
    assert summary["报送事项"] == "4"
    assert summary["已复用目录事项"] == "2"
    assert summary["复用率"] == "50.0%"
    assert summary["待核对"] == summary["未匹配"] == "1"
    assert summary["质检问题"] == "4" and summary["其中错误"] == "2" and summary["其中警告"] == "2"
    assert summary["拒收文件"] == "1" and summary["拒收行"] == "2"
    assert summary["有事项入库的单位"] == "2"
    everything = "".join(str(v) for frame in sheets.values() for v in frame.to_numpy().ravel())
    assert "前锋区" not in everything and COUNTY_B not in everything


def test_issue_list_of_one_unit(small: Engine) -> None:
    sheets = reports.unit_issue_list(small, "511602", COUNTY_A)
    assert set(sheets["质检问题"]["行政区划代码"]) == {COUNTY_A}
    assert set(sheets["拒收行"]["所属单位"]) == {COUNTY_A}
    summary = dict(zip(sheets["汇总"]["项目"], sheets["汇总"]["数值"], strict=True))
    assert summary["行政区划代码"] == COUNTY_A
    assert summary["层级"] == "县级"
    assert summary["实施主体"] == "广安区民政局、广安区行政审批局"
    assert summary["报送事项"] == "3"

    # the township's list has the county file's rejected row: the file holds its rows
    sheets = reports.unit_issue_list(small, "511602", TOWNSHIP_A)
    assert sheets["拒收行"]["行号"].tolist() == [10]
    assert sheets["拒收文件"]["文件"].tolist() == ["village/511602002_北辰街道_补充清单（空）.csv"]


@pytest.mark.parametrize(
    ("prefix", "unit"),
    [("511602", COUNTY_B), ("511602", PROVINCE), ("511602002", COUNTY_A), ("", "5116"), ("", "x")],
)
def test_a_unit_outside_the_scope_is_refused(small: Engine, prefix: str, unit: str) -> None:
    with pytest.raises(ScopeError):
        reports.unit_issue_list(small, prefix, unit)


def test_rejected_only_unit_gets_a_workbook(small: Engine, tmp_path: Path) -> None:
    sheets = reports.unit_issue_list(small, "5116", REJECTED_ONLY)
    summary = dict(zip(sheets["汇总"]["项目"], sheets["汇总"]["数值"], strict=True))
    assert summary["报送事项"] == "0"
    assert summary["拒收文件"] == "1" and summary["拒收行"] == "1"
    assert summary["层级"] == "县级"
    assert "邻水县" in summary["实施主体"]
    assert "拒收" in summary["说明"]

    path = reports.write_issue_workbook(sheets, tmp_path / "out" / "质检问题清单.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(reports.SHEETS)
    files = [[c.value for c in row] for row in wb["拒收文件"].iter_rows()]
    assert files[0] == list(reports.REJECTED_FILE_HEADERS.values())
    assert files[1] == [
        "county/511623_邻水县_实施清单（编码异常）.csv",
        REJECTED_ONLY,
        "无法识别编码",
    ]
    rows = [[c.value for c in row] for row in wb["拒收行"].iter_rows()]
    assert len(rows) == 2 and rows[1][3] == "51162300000"
    assert wb["质检问题"].max_row == 1  # the header only
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_workbook_cells_cannot_run_as_formulas(small: Engine, tmp_path: Path) -> None:
    path = reports.write_issue_workbook(
        reports.unit_issue_list(small, "511602", COUNTY_A), tmp_path / "a.xlsx"
    )
    wb = openpyxl.load_workbook(path)
    names = [row[4].value for row in wb["未匹配事项"].iter_rows(min_row=2)]
    assert names == ["'=老年人助餐服务登记"]
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)


def test_units_in_scope(small: Engine) -> None:
    units = dict(reports.units_in_scope(small, "5116"))
    assert list(units) == sorted(units)
    assert units[COUNTY_A] == "广安区民政局、广安区行政审批局"
    assert units[REJECTED_ONLY] == "邻水县（仅有拒收）"
    assert units["511603101000"] == "月回镇（仅有拒收）"
    assert PROVINCE not in units
    county_a = dict(reports.units_in_scope(small, "511602"))
    assert set(county_a) == {COUNTY_A, TOWNSHIP_A, "511602001000"}
    # known only from a row in 秋桂街道's file: named by the row, not by the file
    assert county_a["511602001000"] == "某单位（仅有拒收）"
    assert all(code.startswith("511602") for code in county_a)
    assert "511681101000" not in units


def test_stats_of_a_county(small: Engine) -> None:
    s = reports.stats(small, "511602")
    assert s["prefix"] == "511602"
    assert s["publication"]["run_id"] == "small"
    assert s["publication"]["published_at"].tzinfo is not None
    assert s["totals"] == {
        "units": 2,
        "agencies": 3,
        "submitted": 4,
        "matched": 2,
        "review": 1,
        "unmatched": 1,
        "local": 0,
        "reuse_rate": 0.5,
    }
    levels = s["levels"].set_index("level")
    assert levels.index.tolist() == ["county", "township"]  # the county steward's own levels
    assert levels.loc["county", "submitted"] == 3
    assert levels.loc["county", "reuse_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert levels.loc["township", "level_label"] == "乡级"
    assert s["units"]["division_code"].tolist() == [COUNTY_A, TOWNSHIP_A]
    assert s["issues"] == {"total": 4, "error": 2, "warning": 2}
    by_rule = s["issues_by_rule"].set_index("rule_id")
    assert by_rule.loc["QC-001", ["error", "warning", "total"]].tolist() == [1, 0, 1]
    assert by_rule.loc["QC-008", ["error", "warning", "total"]].tolist() == [0, 1, 1]
    assert by_rule.loc["QC-001", "title"] == "事项类型与通用目录不一致"
    assert "QC-005" not in by_rule.index  # county B's rule
    assert s["changes_total"] == 2
    assert s["changes_by_kind"]["change"].tolist() == list(CHANGE_LABELS)
    assert dict(
        zip(s["changes_by_kind"]["change"], s["changes_by_kind"]["count"], strict=True)
    ) == {
        "added": 1,
        "removed": 1,
        "status_changed": 0,
        "code_changed": 0,
    }
    assert set(s["changes"]["division_code"]) == {COUNTY_A, TOWNSHIP_A}
    assert set(s["changes"]["change_label"]) == {"新增", "删除"}
    assert s["rejected"] == {"files": 1, "rows": 2}


def test_stats_of_the_province_match_the_published_level_rows(small: Engine) -> None:
    s = reports.stats(small, "")
    published = store.read_table(small, "reuse_stats")
    published = published.loc[published["scope"] == "level"].reset_index(drop=True)
    cols = ["level", "submitted", "matched", "review", "unmatched", "local", "reuse_rate"]
    pd.testing.assert_frame_equal(
        s["levels"][cols].reset_index(drop=True), published[cols], check_dtype=False
    )
    assert s["changes_total"] == len(CHANGES)
    assert s["rejected"] == {"files": len(REJECTED_FILES), "rows": len(REJECTED_ROWS)}


def test_nothing_published_yet(tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    s = reports.stats(engine, "511602")
    assert s["publication"] is None and s["totals"]["submitted"] == 0
    assert s["levels"].empty and s["issues_by_rule"].empty and s["changes"].empty
    sheets = reports.unit_issue_list(engine, "511602")
    assert dict(zip(sheets["汇总"]["项目"], sheets["汇总"]["数值"], strict=True))["发布时间"] == (
        "尚未发布"
    )
    assert reports.units_in_scope(engine, "") == []
    charts = reports.stats_charts(s)
    assert all("暂无数据" in str(c) or "<rect" in str(c) for c in charts.values())


@pytest.mark.postgres
def test_postgresql_gives_the_same_reports(small: Engine, pg_url: str) -> None:
    pg = store.make_engine(pg_url)
    try:
        store.publish(pg, _small_tables(), run_id="small-pg")
        for prefix in ("", "511602", "511603", "511602002", "511623", "%"):
            for a, b in zip(
                reports.rejected_in_scope(pg, prefix),
                reports.rejected_in_scope(small, prefix),
                strict=True,
            ):
                pd.testing.assert_frame_equal(a, b, check_dtype=False)
            pg_sheets, sqlite_sheets = (reports.unit_issue_list(e, prefix) for e in (pg, small))
            for name in reports.SHEETS[1:]:
                pd.testing.assert_frame_equal(
                    pg_sheets[name], sqlite_sheets[name], check_dtype=False
                )
            s_pg, s_lite = reports.stats(pg, prefix), reports.stats(small, prefix)
            assert s_pg["totals"] == s_lite["totals"] and s_pg["issues"] == s_lite["issues"]
            for key in ("levels", "units", "issues_by_rule", "issues_by_level", "changes"):
                pd.testing.assert_frame_equal(s_pg[key], s_lite[key], check_dtype=False)
            assert s_pg["publication"]["published_at"].tzinfo is not None
            assert reports.units_in_scope(pg, prefix) == reports.units_in_scope(small, prefix)
    finally:
        pg.dispose()


# --- SVG charts --------------------------------------------------------------------------------


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_bar_chart_escapes_labels_and_is_accessible() -> None:
    evil = '<script>alert("x")</script>&"\''
    svg = reports.svg_bar_chart(
        [(evil, 3), ("广安区", 1.5)], title="复用率 <b>", value_format="{:.1f}"
    )
    text = str(svg)
    assert "<script" not in text and "&lt;script&gt;" in text
    assert "<b>" not in text
    root = _parse(text)
    assert root.tag == f"{SVG_NS}svg" and root.get("role") == "img"
    title = root.find(f"{SVG_NS}title")
    assert title is not None and title.text == "复用率 <b>"
    assert (
        root.get("aria-labelledby") == f"{title.get('id')} {root.find(f'{SVG_NS}desc').get('id')}"
    )
    assert evil in "".join(root.itertext())  # the label survives, as text
    assert "Noto Sans CJK SC" in root.get("font-family") and "sans-serif" in root.get("font-family")
    # nothing external, nothing that runs
    assert not re.search(r"href|url\(|@import|<script|on\w+=|javascript:", text, re.I)
    assert "3.0" in text and "1.5" in text
    assert isinstance(svg, reports.Markup)  # Jinja2 inserts it as is


def test_bar_lengths_are_proportional_and_clipped() -> None:
    root = _parse(reports.svg_bar_chart([("a", 2), ("b", 1), ("c", 0), ("d", -3)], title="t"))
    widths = [float(r.get("width")) for r in root.iter(f"{SVG_NS}rect")]
    assert widths[0] == pytest.approx(2 * widths[1]) and widths[2] == widths[3] == 0
    root = _parse(
        reports.svg_bar_chart(
            [("a", 1.0), ("b", 0.25), ("c", 7.0)],
            title="t",
            value_format="{:.0%}",
            max_value=1.0,
        )
    )
    widths = [float(r.get("width")) for r in root.iter(f"{SVG_NS}rect")]
    assert widths[1] == pytest.approx(widths[0] / 4) and widths[2] == widths[0]
    assert "25%" in "".join(root.itertext())


def test_long_labels_are_shortened_but_kept_in_the_tooltip() -> None:
    label = "国家税务总局广安市广安区税务局、" * 6
    root = _parse(reports.svg_bar_chart([(label, 1)], title="t", width=400))
    group = root.find(f"{SVG_NS}g")
    assert group.find(f"{SVG_NS}title").text.startswith(label)
    shown = group.find(f"{SVG_NS}text").text
    assert shown.endswith("…") and len(shown) < len(label)


def test_stacked_chart() -> None:
    series = {"错误": "#c0392b", "警告": "#e0a030"}
    svg = reports.svg_stacked_bar_chart(
        [("QC-001 <i>", {"错误": 3, "警告": 1}), ("QC-005", {"警告": 2})],
        series,
        title="各规则质检问题数",
    )
    text = str(svg)
    assert "<i>" not in text and "&lt;i&gt;" in text
    root = _parse(text)
    assert root.get("role") == "img"
    rects = [(r.get("fill"), float(r.get("width"))) for r in root.iter(f"{SVG_NS}rect")]
    legend, bars = rects[:2], rects[2:]
    assert [f for f, _ in legend] == ["#c0392b", "#e0a030"]
    assert [f for f, _ in bars] == ["#c0392b", "#e0a030", "#e0a030"]
    assert bars[0][1] == pytest.approx(3 * bars[1][1]) and bars[2][1] == pytest.approx(
        2 * bars[1][1]
    )
    assert "错误 3，警告 1" in "".join(root.itertext())


def test_stacked_chart_refuses_a_colour_that_is_markup() -> None:
    svg = str(
        reports.svg_stacked_bar_chart(
            [("a", {"x": 1})], {"x": '"/><script>alert(1)</script>'}, title="t"
        )
    )
    assert "<script" not in svg
    _parse(svg)


def test_empty_charts() -> None:
    for svg in (
        reports.svg_bar_chart([], title="空"),
        reports.svg_stacked_bar_chart([], {"错误": "red"}, title="空"),
    ):
        root = _parse(str(svg))
        assert "暂无数据" in "".join(root.itertext()) and root.get("role") == "img"


def test_stats_charts(small: Engine) -> None:
    charts = reports.stats_charts(reports.stats(small, "511602"))
    assert set(charts) == {
        "reuse_by_level",
        "reuse_by_unit",
        "issues_by_rule",
        "issues_by_level",
        "changes",
    }
    for svg in charts.values():
        _parse(str(svg))
    assert "前锋区" not in "".join(str(c) for c in charts.values())
    assert "县级" in str(charts["reuse_by_level"]) and "33.3%" in str(charts["reuse_by_level"])


# --- the demo province, published twice -------------------------------------------------------

REMOVED_FILES = (
    "township/511603001_新桥街道_实施清单.csv",
    "village/511602102_浓溪镇_村（社区）实施清单.csv",
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """``data/sample`` published, then published again without two files (one per county)."""
    root = tmp_path_factory.mktemp("sample")
    data = root / "data"
    shutil.copytree(SAMPLE_DIR, data)
    url = f"sqlite:///{root / 'lib.db'}"
    args = ["run", "--data-dir", str(data), "--database-url", url, "--log-level", "ERROR"]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DAGSTER_HOME", raising=False)
        assert cli.main(args) == 0
        for name in REMOVED_FILES:
            (data / name).unlink()
        assert cli.main(args) == 0
    return store.make_engine(url)


def _published(engine: Engine, name: str, prefix: str) -> pd.DataFrame:
    frame = store.read_table(engine, name)
    return frame.loc[frame["division_code"].fillna("").str.startswith(prefix)]


@pytest.mark.slow
@pytest.mark.parametrize(("mine", "sibling"), [("511602", "511603"), ("511603", "511602")])
def test_a_county_never_sees_its_sibling(sample: Engine, mine: str, sibling: str) -> None:
    sheets = reports.unit_issue_list(sample, mine)
    for name in ("质检问题", "未匹配事项", "待核对事项"):
        assert sheets[name]["行政区划代码"].str.startswith(mine).all(), name
    assert len(sheets["质检问题"]) == len(_published(sample, "qc_issues", mine))
    library = _published(sample, "unified_library", mine)
    assert len(sheets["未匹配事项"]) == int((library["status"] == "unmatched").sum())
    assert len(sheets["待核对事项"]) == int((library["status"] == "review").sum())
    files, rows = reports.rejected_in_scope(sample, mine)
    assert not files["source_file"].str.contains(sibling).any()
    assert rows["division_code"].str.startswith(mine).all()
    assert not rows["source_file"].str.contains(sibling).any()
    s = reports.stats(sample, mine)
    assert s["changes_total"] > 0
    assert s["changes"]["division_code"].str.startswith(mine).all()
    assert s["units"]["division_code"].str.startswith(mine).all()
    assert s["agencies"]["division_code"].str.startswith(mine).all()
    assert all(code.startswith(mine) for code, _ in reports.units_in_scope(sample, mine))
    assert set(s["issues_by_level"]["level"]) <= {"county", "township", "village"}


@pytest.mark.slow
def test_sample_rejections_by_scope(sample: Engine) -> None:
    files, rows = reports.rejected_in_scope(sample, "")
    assert len(files) == len(store.read_table(sample, "rejected_files"))
    assert len(rows) == len(store.read_table(sample, "rejected_rows"))
    files, rows = reports.rejected_in_scope(sample, "511602")
    assert files["source_file"].tolist() == ["village/511602001_补充清单（空）.csv"]
    assert rows.empty
    files, rows = reports.rejected_in_scope(sample, "511603")
    assert files.empty
    # 5116O3000000 (a letter O) in the county's file, and a blank code in a township's file
    assert rows["division_code"].tolist() == [COUNTY_B, "511603002000"]
    files, rows = reports.rejected_in_scope(sample, "5117")
    assert files.empty and rows["source_file"].tolist() == ["city/511700_达州市_实施清单.xlsx"]


@pytest.mark.slow
def test_sample_rejected_only_county_workbook(sample: Engine, tmp_path: Path) -> None:
    assert _published(sample, "unified_library", "511623").empty
    assert (REJECTED_ONLY, "邻水县（仅有拒收）") in reports.units_in_scope(sample, "5116")
    sheets = reports.unit_issue_list(sample, "511623", REJECTED_ONLY)
    path = reports.write_issue_workbook(sheets, tmp_path / "邻水县.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(reports.SHEETS)
    files = [row[0].value for row in wb["拒收文件"].iter_rows(min_row=2)]
    assert files == ["county/511623_邻水县_实施清单（编码异常）.csv"]
    summary = {row[0].value: row[1].value for row in wb["汇总"].iter_rows(min_row=2)}
    assert summary["报送事项"] == "0" and summary["拒收文件"] == "1"
    assert "邻水县" in summary["实施主体"]


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["", "5116", "511602", "511603001"])
def test_sample_stats_equal_a_pandas_recomputation(sample: Engine, prefix: str) -> None:
    s = reports.stats(sample, prefix)
    library = _published(sample, "unified_library", prefix)
    reused = library["status"].isin(["matched", "confirmed"])
    assert s["totals"]["submitted"] == len(library)
    assert s["totals"]["matched"] == int(reused.sum())
    assert s["totals"]["units"] == library["division_code"].nunique()
    for level, group in library.groupby("level"):
        row = s["levels"].set_index("level").loc[level]
        assert row["submitted"] == len(group)
        assert row["reuse_rate"] == pytest.approx(
            group["status"].isin(["matched", "confirmed"]).mean(), abs=1e-4
        )
    per_unit = library.groupby("division_code")["status"].size()
    assert s["units"].set_index("division_code")["submitted"].to_dict() == per_unit.to_dict()

    issues = _published(sample, "qc_issues", prefix)
    expected = (
        issues.groupby(["rule_id", "severity"]).size().unstack(fill_value=0)
        if len(issues)
        else pd.DataFrame()
    )
    by_rule = s["issues_by_rule"].set_index("rule_id")
    assert by_rule["total"].sum() == len(issues) == s["issues"]["total"]
    for rule_id in expected.index:
        for severity in ("error", "warning"):
            got = by_rule.loc[rule_id, severity]
            assert got == expected.loc[rule_id].get(severity, 0)
    by_level = s["issues_by_level"].set_index("level")["total"].to_dict()
    assert by_level == issues.groupby("level").size().to_dict()

    changes = _published(sample, "library_changes", prefix)
    assert s["changes_total"] == len(changes)
    counts = dict(zip(s["changes_by_kind"]["change"], s["changes_by_kind"]["count"], strict=True))
    assert counts == {k: int((changes["change"] == k).sum()) for k in CHANGE_LABELS}
    assert len(s["changes"]) == min(len(changes), reports.LATEST_CHANGES)

    pubs = store.read_table(sample, "publications")
    assert s["publication"]["id"] == int(pubs["id"].max()) == 2
    for svg in reports.stats_charts(s).values():
        _parse(str(svg))


@pytest.mark.slow
def test_sample_changes_after_removing_files(sample: Engine) -> None:
    s = reports.stats(sample, "511603001")
    assert s["totals"]["submitted"] == 0  # its only file was removed before the second run
    assert s["changes_total"] > 0
    assert set(s["changes"]["change"]) == {"removed"}
    assert set(s["changes"]["change_label"]) == {"删除"}
    assert reports.stats(sample, "511602001")["changes_total"] == 0
