"""The command line: run (exit codes, summary) and export (csv/xlsx, formula-safe)."""

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipelines import cli
from shixiang import store
from tests.conftest import CATALOGUE_HEADER, CATALOGUE_ROWS, write_csv


@pytest.mark.slow
def test_run_then_export(mini_dir: Path, tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'lib.db'}"
    assert (
        cli.main(
            ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "WARNING"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "读入 7 行" in out and "拒收 1 行" in out
    assert "行政区划代码“…”含非数字字符 ×1" in out

    csv_path = tmp_path / "lib.csv"
    assert (
        cli.main(["export", "unified_library", "--database-url", url, "--out", str(csv_path)]) == 0
    )
    assert csv_path.read_bytes().startswith(
        b"\xef\xbb\xbf"
    )  # Excel opens UTF-8 with a BOM correctly
    assert len(pd.read_csv(csv_path, encoding="utf-8-sig")) == 6

    xlsx_path = tmp_path / "issues.xlsx"
    assert cli.main(["export", "qc_issues", "--database-url", url, "--out", str(xlsx_path)]) == 0
    ws = openpyxl.load_workbook(xlsx_path).active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref


@pytest.mark.slow
def test_run_with_a_broken_catalogue_exits_non_zero(mini_dir: Path, tmp_path: Path, capsys) -> None:
    rows = [*CATALOGUE_ROWS, CATALOGUE_ROWS[0]]
    write_csv(mini_dir / "catalogue" / "通用目录.csv", CATALOGUE_HEADER, rows)
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    assert (
        cli.main(
            ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "ERROR"]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "catalogue_suite" in err and "没有发布" in err


def test_run_without_a_data_dir_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert cli.main(["run", "--data-dir", str(tmp_path / "nope")]) == 2
    assert "数据目录不存在" in capsys.readouterr().err


def test_export_refuses_unknown_tables_and_suffixes(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    store.ensure_schema(store.make_engine(url))
    assert cli.main(["export", "nope", "--database-url", url]) == 2
    assert (
        cli.main(["export", "qc_issues", "--database-url", url, "--out", str(tmp_path / "x.json")])
        == 2
    )


def test_exported_cells_cannot_run_as_formulas(tmp_path: Path) -> None:
    from shixiang.export import write_table

    frame = pd.DataFrame({"事项名称": ['=HYPERLINK("http://x")', "+1", "正常名称"], "n": [1, 2, 3]})
    path = tmp_path / "x.xlsx"
    write_table(frame, path)
    ws = openpyxl.load_workbook(path).active
    assert ws["A2"].value == '\'=HYPERLINK("http://x")'
    assert ws["A2"].data_type == "s"
    assert ws["A4"].value == "正常名称"


@pytest.mark.slow
def test_run_reports_each_steps_time(mini_dir: Path, tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    timings = tmp_path / "timings.json"
    args = ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "ERROR"]
    assert cli.main([*args, "--timings", str(timings)]) == 0
    seconds = json.loads(timings.read_text(encoding="utf-8"))
    # every asset and check of the nightly job ran once and took a measurable, plausible time
    assert {"matched_items", "published_library", "catalogue_catalogue_suite"} <= set(seconds)
    assert len(seconds) == 22 and all(0 <= s < 120 for s in seconds.values())
    capsys.readouterr()
    assert cli.main([*args, "--timings"]) == 0
    out = capsys.readouterr().out
    table = [line.split() for line in out.split("各步骤用时", 1)[1].splitlines()[1:23]]
    assert {step for step, _ in table} == set(seconds)
    times = [float(sec) for _, sec in table]
    assert times == sorted(times, reverse=True)  # longest first
