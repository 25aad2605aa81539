"""The steward's workflow end to end, and decisions under concurrency on PostgreSQL."""

import threading
from pathlib import Path

import dagster as dg
import openpyxl
import pandas as pd
import pytest

from commands import main as cli
from pipelines.resources import ShixiangSettings
from pipelines.sensors import steward_decisions_recorded
from shixiang import decisions as dec
from shixiang import store

COUNTY = "511602000000"


def run(data: Path, url: str) -> None:
    assert (
        cli.main(["run", "--data-dir", str(data), "--database-url", url, "--log-level", "ERROR"])
        == 0
    )


def library(url: str) -> pd.DataFrame:
    frame = store.read_table(store.make_engine(url), "unified_library")
    return frame.sort_values(["source_file", "source_row"]).reset_index(drop=True)


def fill(sheet: Path, out: Path, answers: dict[str, dict[str, str]]) -> None:
    """Fill the review sheet's input columns for the lines whose 事项名称 is a key of answers."""
    wb = openpyxl.load_workbook(sheet)
    ws = wb["待核对事项"]
    col = {c.value: i + 1 for i, c in enumerate(ws[1])}
    for r in range(2, ws.max_row + 1):
        answer = answers.get(ws.cell(r, col["事项名称"]).value)
        for header, value in (answer or {}).items():
            if value == "<candidate 1>":
                value = ws.cell(r, col["候选1编码"]).value
            ws.cell(r, col[header]).value = value
    wb.save(out)


@pytest.mark.slow
def test_scripted_steward_session(mini_dir: Path, tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    run(mini_dir, url)
    before = library(url)
    # 食品经营许可（补办）: the catalogue has the item only in other situations, so it is
    # unmatched; it is on the review sheet all the same, with those siblings as candidates.
    assert set(before.loc[before["division_code"] == COUNTY, "status"]) >= {"unmatched"}

    sheet = tmp_path / "sheet.xlsx"
    assert (
        cli.main(["review", "export", "--unit", COUNTY, "--out", str(sheet), "--database-url", url])
        == 0
    )
    filled = tmp_path / "filled.xlsx"
    fill(
        sheet,
        filled,
        {
            "食品经营许可（补办）": {
                "决定": "确认",
                "目录编码": "<candidate 1>",
                "理由": "核对原件",
            },
            "老年人助餐服务登记": {"决定": "本地事项", "理由": "区级自建"},
        },
    )
    capsys.readouterr()
    assert (
        cli.main(["review", "import", str(filled), "--steward", "张三", "--database-url", url]) == 0
    )
    assert "已导入 2 条决定" in capsys.readouterr().out

    run(mini_dir, url)
    after = library(url).set_index("item_name")
    assert after.loc["食品经营许可（补办）", "status"] == "confirmed"
    assert after.loc["食品经营许可（补办）", "match_method"] == "steward"
    assert after.loc["老年人助餐服务登记", "status"] == "local"
    hist = store.read_decisions(store.make_engine(url))
    assert hist["steward"].tolist() == ["张三", "张三"]

    # Re-running changes nothing.
    first = library(url).drop(columns=["explanation"])
    run(mini_dir, url)
    pd.testing.assert_frame_equal(library(url).drop(columns=["explanation"]), first)

    # Decisions survive a reordered, re-submitted file.
    county = mini_dir / "county" / "511602_广安区.csv"
    frame = pd.read_csv(county, dtype=str, keep_default_na=False)
    frame.iloc[::-1].to_csv(county, index=False)
    run(mini_dir, url)
    moved = library(url).set_index("item_name")
    assert moved.loc["食品经营许可（补办）", "status"] == "confirmed"
    assert moved.loc["老年人助餐服务登记", "status"] == "local"
    assert (
        moved.loc["老年人助餐服务登记", "source_row"]
        != after.loc["老年人助餐服务登记", "source_row"]
    )


@pytest.mark.slow
def test_import_reports_every_invalid_line_and_records_the_valid_ones(
    mini_dir: Path, tmp_path: Path, capsys
) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    run(mini_dir, url)
    sheet = tmp_path / "sheet.xlsx"
    cli.main(["review", "export", "--unit", COUNTY, "--out", str(sheet), "--database-url", url])
    filled = tmp_path / "filled.xlsx"
    fill(
        sheet,
        filled,
        {
            "食品经营许可（补办）": {"决定": "确认"},  # no code
            "老年人助餐服务登记": {"决定": "确认", "目录编码": "511A9999999999"},  # unknown code
        },
    )
    capsys.readouterr()
    assert (
        cli.main(["review", "import", str(filled), "--steward", "李四", "--database-url", url]) == 1
    )
    err = capsys.readouterr().err
    assert "必须填写目录编码" in err and "不在当前通用目录中" in err
    assert store.read_decisions(store.make_engine(url)).empty


@pytest.mark.slow
def test_decide_undo_and_history_from_the_command_line(
    mini_dir: Path, tmp_path: Path, capsys
) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    run(mini_dir, url)
    row = library(url).set_index("item_name").loc["老年人助餐服务登记", "row_id"]
    assert (
        cli.main(
            [
                "review",
                "decide",
                row,
                "--decision",
                "local",
                "--steward",
                "王五",
                "--database-url",
                url,
            ]
        )
        == 0
    )
    assert (
        cli.main(
            [
                "review",
                "decide",
                row,
                "--decision",
                "confirm",
                "--steward",
                "王五",
                "--database-url",
                url,
            ]
        )
        == 2
    )
    run(mini_dir, url)
    assert library(url).set_index("item_name").loc["老年人助餐服务登记", "status"] == "local"
    assert (
        cli.main(
            ["review", "undo", row, "--steward", "王五", "--reason", "误判", "--database-url", url]
        )
        == 0
    )
    run(mini_dir, url)
    assert library(url).set_index("item_name").loc["老年人助餐服务登记", "status"] == "unmatched"
    capsys.readouterr()
    assert cli.main(["review", "history", "--row-id", row, "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "local" in out and "undo" in out and "误判" in out


def test_decisions_sensor_requests_a_run_for_new_decisions_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    settings = ShixiangSettings(data_dir=str(tmp_path), database_url=url)
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(
            instance=instance, cursor=None, resources={"settings": settings}
        )
        assert isinstance(steward_decisions_recorded(ctx), dg.SkipReason)
        store.record_decisions(
            store.make_engine(url),
            [dec.Decision(steward="张三", name_key="甲", decision="local", division_code=COUNTY)],
        )
        result = steward_decisions_recorded(
            dg.build_sensor_context(instance=instance, cursor="0", resources={"settings": settings})
        )
        assert result.cursor == "1" and len(result.run_requests) == 1
        # Nothing ingested in this instance yet: the full nightly job is requested.
        assert result.run_requests[0].job_name == "nightly_reconciliation"
        again = steward_decisions_recorded(
            dg.build_sensor_context(instance=instance, cursor="1", resources={"settings": settings})
        )
        assert isinstance(again, dg.SkipReason)


@pytest.mark.postgres
def test_concurrent_stewards_and_a_publish_lose_nothing_on_postgres(pg_url: str) -> None:
    engine = store.make_engine(pg_url)
    store.publish(
        engine, {"unified_library": pd.DataFrame({"row_id": ["a"], "status": ["review"]})}
    )
    errors: list[BaseException] = []
    n = 50

    def steward(name: str) -> None:
        try:
            for i in range(n):
                store.record_decisions(
                    engine,
                    [
                        dec.Decision(
                            steward=name,
                            name_key=f"事项{i}",
                            decision="local",
                            division_code=COUNTY,
                        )
                    ],
                )
        except BaseException as exc:
            errors.append(exc)

    def publisher() -> None:
        try:
            for _ in range(5):
                lib = pd.DataFrame({"row_id": [f"r{i}" for i in range(2000)], "status": "review"})
                store.publish(engine, {"unified_library": lib})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=steward, args=(s,)) for s in ("张三", "李四")]
    threads.append(threading.Thread(target=publisher))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    hist = store.read_decisions(engine)
    assert len(hist) == 2 * n
    assert hist.groupby("steward").size().to_dict() == {"张三": n, "李四": n}
    assert store.count_rows(engine, "unified_library") == 2000
    # Latest wins per key even when two stewards decided the same names concurrently.
    assert len(dec.effective(hist)) == n


FORMULA_NAMES = ["=残疾人证明", "@高龄补贴申领", "+困难群众救助", "-临时救助申请"]


@pytest.mark.slow
def test_names_starting_like_formulas_round_trip(mini_dir: Path, tmp_path: Path, capsys) -> None:
    """The export puts ' before = @ + -; the import takes it off again before matching lines,
    so these names are decided like any other and recorded as the unit wrote them."""
    county = mini_dir / "county" / "511602_广安区.csv"
    frame = pd.read_csv(county, dtype=str, keep_default_na=False)
    extra = pd.DataFrame([frame.iloc[3].to_dict() | {"事项名称": n} for n in FORMULA_NAMES])
    pd.concat([frame, extra]).to_csv(county, index=False)
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    run(mini_dir, url)
    sheet = tmp_path / "sheet.xlsx"
    assert (
        cli.main(["review", "export", "--unit", COUNTY, "--out", str(sheet), "--database-url", url])
        == 0
    )
    ws = openpyxl.load_workbook(sheet)["待核对事项"]
    shown = {c.value for c in ws["E"][1:]}  # 事项名称
    assert {"'" + n for n in FORMULA_NAMES} <= shown  # never a formula in the sheet
    filled = tmp_path / "filled.xlsx"
    fill(sheet, filled, {"'" + n: {"决定": "本地事项", "理由": "区级自建"} for n in FORMULA_NAMES})
    capsys.readouterr()
    code = cli.main(["review", "import", str(filled), "--steward", " 张三 ", "--database-url", url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "已导入 4 条决定" in out and "未导入 0 行" in out
    hist = store.read_decisions(store.make_engine(url))
    assert sorted(hist["item_name"]) == sorted(FORMULA_NAMES)  # without the export's '
    assert set(hist["steward"]) == {"张三"}  # trimmed
    run(mini_dir, url)
    after = library(url).set_index("item_name")
    assert (after.loc[FORMULA_NAMES, "status"] == "local").all()


def test_import_undoes_the_prefix_on_keys_and_candidates(tmp_path: Path, capsys) -> None:
    """Where the sheet's key or candidate name itself starts like a formula (a name model that
    keeps the character, a catalogue name beginning with -), the ' the export added must not
    make the line look like another item, nor the catalogue look changed."""
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    candidates = '[{"business_code": "C1", "name": "-居民身份证办理", "score": 91.0}]'
    lib = pd.DataFrame(
        {
            "row_id": ["county/a.csv:1", "county/a.csv:2"],
            "source_file": "county/a.csv",
            "source_row": [1, 2],
            "division_code": COUNTY,
            "level": "county",
            "agency": "区公安局",
            "item_name": ["=居民身份证办理", "@户口迁移"],
            "name_key": ["=居民身份证办理", "@户口迁移"],
            "status": "review",
            "score": 91.0,
            "candidates": candidates,
        }
    )
    catalogue = pd.DataFrame({"business_code": ["C1"], "item_name": ["-居民身份证办理"]})
    engine = store.make_engine(url)
    store.publish(engine, {"unified_library": lib, "catalogue_items": catalogue})
    sheet = tmp_path / "sheet.xlsx"
    assert (
        cli.main(["review", "export", "--unit", COUNTY, "--out", str(sheet), "--database-url", url])
        == 0
    )
    ws = openpyxl.load_workbook(sheet)["待核对事项"]
    assert {c.value for c in ws["F"][1:]} == {"'=居民身份证办理", "'@户口迁移"}  # 规范化名称
    # the catalogue changes after the export (another item): confirmed codes are re-checked
    bigger = pd.concat([catalogue, pd.DataFrame({"business_code": ["C2"], "item_name": ["其他"]})])
    store.publish(engine, {"unified_library": lib, "catalogue_items": bigger})
    filled = tmp_path / "filled.xlsx"
    fill(
        sheet,
        filled,
        {
            "'=居民身份证办理": {"决定": "确认", "目录编码": "<candidate 1>"},
            "'@户口迁移": {"决定": "本地事项"},
        },
    )
    capsys.readouterr()
    code = cli.main(["review", "import", str(filled), "--steward", "张三", "--database-url", url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "已导入 2 条决定" in out and "已变化" not in err and "不在当前事项库" not in err
    hist = store.read_decisions(engine).set_index("name_key")
    assert hist.loc["=居民身份证办理", "business_code"] == "C1"
    assert hist.loc["@户口迁移", "item_name"] == "@户口迁移"


@pytest.mark.parametrize("steward", ["", "   ", "\t"])
def test_import_refuses_a_blank_steward(tmp_path: Path, capsys, steward: str) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    lib = pd.DataFrame(
        {
            "row_id": ["county/a.csv:1"],
            "source_file": "county/a.csv",
            "source_row": [1],
            "division_code": COUNTY,
            "level": "county",
            "agency": "区民政局",
            "item_name": ["老年人助餐服务登记"],
            "name_key": ["老年人助餐服务登记"],
            "status": "unmatched",
            "score": 40.0,
        }
    )
    engine = store.make_engine(url)
    store.publish(engine, {"unified_library": lib, "catalogue_items": pd.DataFrame()})
    sheet = tmp_path / "sheet.xlsx"
    cli.main(["review", "export", "--unit", COUNTY, "--out", str(sheet), "--database-url", url])
    filled = tmp_path / "filled.xlsx"
    fill(sheet, filled, {"老年人助餐服务登记": {"决定": "本地事项"}})
    capsys.readouterr()
    code = cli.main(["review", "import", str(filled), "--steward", steward, "--database-url", url])
    assert code == 2
    err = capsys.readouterr().err
    assert "--steward 不能为空" in err and "Traceback" not in err
    assert store.read_decisions(engine).empty
    row = ["review", "decide", "county/a.csv:1", "--decision", "local", "--database-url", url]
    assert cli.main([*row, "--steward", steward]) == 2
    assert store.read_decisions(engine).empty
