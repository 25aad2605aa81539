"""Exports with control characters in the cells, and exports that fail: real files.

A control character (\\x0b, \\x1f, \\x00 …) is legal in a database cell and in CSV, not in the
XML of an .xlsx: openpyxl refuses it. Every .xlsx export drops those characters (and nothing
else), and every export is written to a temporary file renamed into place only once complete,
so a failure leaves no file behind.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from commands import main as cli
from shixiang import export, reports, review_sheet, store
from shixiang.export import ExportError
from shixiang.library import build_reuse_stats

COUNTY = "511602000000"
TOWNSHIP = "511602001000"
VILLAGE = "511602001001"
NASTY = "垂直\x0b制表\x1f分隔\x00空字符\x07响铃"
CLEAN = "垂直制表分隔空字符响铃"


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def sheet_rows(path: Path, sheet: str | None = None) -> list[list]:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet] if sheet else wb.active
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_the_illegal_character_pattern_is_openpyxls() -> None:
    assert ILLEGAL_CHARACTERS_RE.pattern == export._ILLEGAL_XML


def test_xlsx_export_drops_only_illegal_characters(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "事项名称": [NASTY, "换行\n与\t制表😀", "=SUM(A1)", "\x0b=SUM(A1)", None],
            "列\x1f名": ["a", "b", "c", "d", "e"],
            "n": [1, 2, 3, 4, 5],
            "score": [1.5, None, 3.0, 4.0, 5.0],
        }
    )
    before = frame.copy()
    path = tmp_path / "out" / "lib.xlsx"
    assert export.write_table(frame, path) == 5
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is untouched
    rows = sheet_rows(path)
    assert rows[0] == ["事项名称", "列名", "n", "score"]
    assert [r[0] for r in rows[1:]] == [
        CLEAN,
        "换行\n与\t制表😀",  # tab, line feed, emoji are legal: kept
        "'=SUM(A1)",
        "'=SUM(A1)",  # a formula behind a control character is still made harmless
        None,
    ]
    assert [r[2] for r in rows[1:]] == [1, 2, 3, 4, 5] and rows[2][3] is None
    assert files_in(tmp_path) == ["lib.xlsx"]  # no temporary file left


def test_csv_export_keeps_every_character_and_is_written_atomically(tmp_path: Path) -> None:
    frame = pd.DataFrame({"事项名称": ["垂直\x0b制表\x1f分隔", "=1+1"], "n": [1, 2]})
    path = tmp_path / "lib.csv"
    path.write_text("previous", encoding="utf-8")
    export.write_table(frame, path)
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert back["事项名称"].tolist() == ["垂直\x0b制表\x1f分隔", "'=1+1"]
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert files_in(tmp_path) == ["lib.csv"]


def test_a_failed_export_leaves_nothing_and_says_why(tmp_path: Path) -> None:
    """A value Excel cannot hold (a time with its time zone), on the second sheet after a
    complete first one: before, the writer still saved a workbook that opened normally with
    half the data."""
    good = pd.DataFrame({"a": range(200)})
    bad = pd.DataFrame({"b": ["ok"] * 100 + [pd.Timestamp("2024-01-01", tz="UTC")]})
    path = tmp_path / "book.xlsx"
    with pytest.raises(ExportError, match=r"导出失败，没有写入 .*book\.xlsx：ValueError"):
        export.write_xlsx(path, {"好": good, "坏": bad})
    assert files_in(tmp_path) == []

    # an earlier export of the same name is kept as it was
    export.write_xlsx(path, {"好": good})
    before = path.read_bytes()
    with pytest.raises(ExportError):
        export.write_xlsx(path, {"好": good, "坏": bad})
    assert path.read_bytes() == before and files_in(tmp_path) == ["book.xlsx"]


def test_an_unwritable_target_is_a_chinese_error(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").mkdir()
    with pytest.raises(ExportError, match="同名的文件夹已存在"):
        export.write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.xlsx")
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="无法创建文件夹"):
        export.write_table(pd.DataFrame({"a": [1]}), tmp_path / "file" / "sub" / "x.csv")
    assert files_in(tmp_path) == ["file"]


def test_interrupted_exports_leave_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    with pytest.raises(KeyboardInterrupt), export.atomic_output(path) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert files_in(tmp_path) == []


# --- the review sheet --------------------------------------------------------------------------


def review_library() -> pd.DataFrame:
    candidates = json.dumps(
        [{"business_code": "511A0001000001", "name": "食品经营许可（新办）", "score": 90.1}],
        ensure_ascii=False,
    )
    return pd.DataFrame(
        {
            "row_id": ["county/a.csv:1", "county/a.csv:2", "county/a.csv:3"],
            "source_file": "county/a.csv",
            "source_row": [1, 2, 3],
            "division_code": COUNTY,
            "level": "county",
            "agency": ["区\x0b民政局", "区民政局", "区民政局"],
            "item_name": [f"老年人助餐{NASTY}", "食品经营许可（补办）", "=老年人助餐服务登记"],
            "name_key": ["老年人助餐垂直制表", "食品经营许可补办", "老年人助餐服务登记"],
            "status": ["unmatched", "review", "review"],
            "score": [40.0, 90.1, 88.0],
            "candidates": [None, candidates, candidates],
            "explanation": ["说明\x1f含控制字符", "…", "…"],
        }
    )


def test_review_sheet_with_control_characters_is_complete(tmp_path: Path) -> None:
    lines = review_sheet.review_lines(review_library(), COUNTY)
    path = tmp_path / "核对表.xlsx"
    review_sheet.write_sheet(lines, path, unit=COUNTY, fingerprint="abc123")
    assert files_in(tmp_path) == ["核对表.xlsx"]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [review_sheet.SHEET, review_sheet.META_SHEET]
    assert wb[review_sheet.META_SHEET].sheet_state == "hidden"
    meta = {r[0]: r[1] for r in sheet_rows(path, review_sheet.META_SHEET)[1:]}
    assert meta["unit"] == COUNTY and meta["catalogue_fingerprint"] == "abc123"
    assert meta["lines"] == "3"
    ws = wb[review_sheet.SHEET]
    assert [c.value for c in ws[1]] == list(review_sheet.COLUMNS.values())
    col = {c.value: c.column for c in ws[1]}
    names = [ws.cell(r, col["事项名称"]).value for r in range(2, 5)]
    assert f"老年人助餐{CLEAN}" in names and "'=老年人助餐服务登记" in names
    assert "区民政局" in {ws.cell(r, col["实施主体"]).value for r in range(2, 5)}
    assert "说明含控制字符" in {ws.cell(r, col["说明"]).value for r in range(2, 5)}
    assert len(ws.data_validations.dataValidation) == 2  # the styling survived the atomic write
    assert ws.freeze_panes == "A2"
    # and it reads back as a review sheet, the export's ' undone
    back, meta_back = review_sheet.read_sheet(path)
    assert "=老年人助餐服务登记" in set(back["item_name"]) and meta_back["unit"] == COUNTY


def test_a_review_sheet_that_cannot_be_written_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "核对表.xlsx").mkdir()
    lines = review_sheet.review_lines(review_library(), COUNTY)
    with pytest.raises(ExportError, match="同名的文件夹已存在"):
        review_sheet.write_sheet(lines, tmp_path / "核对表.xlsx", unit=COUNTY, fingerprint="x")
    assert files_in(tmp_path) == []


# --- the issue lists, through the command line ---------------------------------------------------


def publish_units(url: str) -> None:
    """Three units with issues and unmatched rows, control characters in their cells."""
    rows = []
    for unit, agency in (
        (COUNTY, "区\x0b行政审批局"),
        (TOWNSHIP, "街道\x1f便民中心"),
        (VILLAGE, "村"),
    ):
        rows.append(
            {
                "row_id": f"{unit}:1",
                "source_file": f"{unit}.csv",
                "source_row": 1,
                "division_code": unit,
                "level": "county",
                "agency": agency,
                "item_name": f"事项\x0b{unit}",
                "status": "unmatched",
                "explanation": "没有相近的目录事项\x1f",
            }
        )
    library = pd.DataFrame(rows)
    issues = library[["source_file", "source_row", "division_code", "agency", "level"]].assign(
        item_name="水产苗种生产审批\x0b",
        business_code="511A0131300001",
        rule_id="QC-004",
        element="承诺办结时限",
        severity="error",
        message="承诺办结时限超过法定办结时限\x1f",
        suggestion="=改为 20",
    )
    store.publish(
        store.make_engine(url),
        {
            "unified_library": library,
            "qc_issues": issues,
            "reuse_stats": build_reuse_stats(library),  # a publish always writes it
        },
    )


def test_export_issues_all_goes_on_past_a_unit_that_fails(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    publish_units(url)
    out = tmp_path / "lists"
    (out / f"质检问题清单_{TOWNSHIP}.xlsx").mkdir(parents=True)  # the middle unit fails
    code = cli.main(["export", "issues", "--all", "--out", str(out), "--database-url", url])
    captured = capsys.readouterr()
    assert code == 1
    assert "已为 2 个单位导出" in captured.out
    assert "1 个单位的质检问题清单导出失败" in captured.err and TOWNSHIP in captured.err
    assert "同名的文件夹已存在" in captured.err and "Traceback" not in captured.err
    assert files_in(out) == [f"质检问题清单_{COUNTY}.xlsx", f"质检问题清单_{VILLAGE}.xlsx"]
    for unit in (COUNTY, VILLAGE):
        path = out / f"质检问题清单_{unit}.xlsx"
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == list(reports.SHEETS)  # the desk's download, the same workbook
        issues = sheet_rows(path, "质检问题")
        assert issues[0][0] == "行政区划代码" and issues[1][0] == unit
        assert issues[1][4] == "水产苗种生产审批" and issues[1][9] == "承诺办结时限超过法定办结时限"
        assert issues[1][10] == "'=改为 20"
        unmatched = sheet_rows(path, "未匹配事项")
        assert unmatched[1][4] == f"事项{unit}" and unmatched[1][6] == "没有相近的目录事项"
    summary = dict(sheet_rows(out / f"质检问题清单_{COUNTY}.xlsx", "汇总")[1:])
    assert summary["实施主体"] == "区行政审批局"

    # all good once the obstacle is gone
    (out / f"质检问题清单_{TOWNSHIP}.xlsx").rmdir()
    assert cli.main(["export", "issues", "--all", "--out", str(out), "--database-url", url]) == 0
    assert len(files_in(out)) == 3


def test_write_all_raises_after_writing_the_others(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    publish_units(url)
    engine = store.make_engine(url)
    (tmp_path / "out" / f"质检问题清单_{COUNTY}.xlsx").mkdir(parents=True)
    with pytest.raises(ExportError, match=rf"1 个单位.*已导出 2 个.*{COUNTY}"):
        reports.write_all(engine, tmp_path / "out")
    assert len(files_in(tmp_path / "out")) == 2


def test_table_and_review_exports_from_the_command_line(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    engine = store.make_engine(url)
    store.publish(engine, {"unified_library": review_library()})
    xlsx = tmp_path / "lib.xlsx"
    assert cli.main(["export", "unified_library", "--out", str(xlsx), "--database-url", url]) == 0
    rows = sheet_rows(xlsx)
    header = rows[0]
    agency = [r[header.index("agency")] for r in rows[1:]]
    assert agency == ["区民政局", "区民政局", "区民政局"]
    assert all(not ILLEGAL_CHARACTERS_RE.search(str(v)) for r in rows for v in r if v is not None)
    # the status column is complete (a failed export used to leave rows with empty status)
    assert [r[header.index("status")] for r in rows[1:]] == ["unmatched", "review", "review"]

    sheet = tmp_path / "sheet.xlsx"
    assert (
        cli.main(["review", "export", "--unit", COUNTY, "--out", str(sheet), "--database-url", url])
        == 0
    )
    assert "_meta" in openpyxl.load_workbook(sheet).sheetnames

    capsys.readouterr()
    (tmp_path / "dir.xlsx").mkdir()
    assert (
        cli.main(
            [
                "export",
                "unified_library",
                "--out",
                str(tmp_path / "dir.xlsx"),
                "--database-url",
                url,
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "同名的文件夹已存在" in err
    assert not [p for p in tmp_path.iterdir() if re.search(r"\.tmp\.", p.name)]
