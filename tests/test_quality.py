"""Element quality: a clean province gets no issue, catalogue elements win in the library,
and each unit's issue list is a workbook a unit can work from."""

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dev import synth
from pipelines.definitions import build_definitions
from pipelines.jobs import NIGHTLY_JOB_NAME
from pipelines.resources import ShixiangSettings
from shixiang import expectations, ingest, library, matching, reports, rules, store
from tests.helpers import CATALOGUE_HEADER, CATALOGUE_ROWS, run_whole, write_csv


def clean_province(root: Path) -> int:
    """The demo catalogue, and one county that reuses every county item exactly, elements
    copied from the catalogue. Returns the number of list rows."""
    cat, _ = synth.build_catalogue()
    write_csv(root / "catalogue" / "目录.csv", list(cat.columns), cat.astype(str).values.tolist())
    county = cat.loc[cat["行使层级"].str.contains("县级")]
    rows = pd.DataFrame(
        {
            "行政区划代码": "511602000000",
            "实施主体": "广安市广安区行政审批局",
            "事项名称": county["事项名称"],
            "基本编码": county["基本编码"],
            "事项类型": county["事项类型"],
            "设定依据": county["设定依据"],
            "办件类型": county["办件类型"],
            "法定办结时限": county["法定办结时限"],
            "承诺办结时限": county["法定办结时限"],
            "到办事现场次数": "1",
        }
    )
    (root / "county").mkdir(parents=True)
    rows.to_csv(root / "county" / "511602_广安区.csv", index=False)
    for level in ("province", "city", "township", "village"):
        (root / level).mkdir()
    return len(rows)


@pytest.mark.slow
def test_a_clean_province_produces_no_issue_and_every_check_passes(tmp_path: Path) -> None:
    n = clean_province(tmp_path / "data")
    settings = ShixiangSettings(
        data_dir=str(tmp_path / "data"), database_url=f"sqlite:///{tmp_path / 'lib.db'}"
    )
    result = run_whole(
        build_definitions(settings, in_memory=True).resolve_job_def(NIGHTLY_JOB_NAME), settings
    )
    assert result.success
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == []
    engine = store.make_engine(settings.database_url)
    assert store.count_rows(engine, "qc_issues") == 0
    lib = store.read_table(engine, "unified_library")
    assert len(lib) == n
    assert (lib["status"] == "matched").all()
    assert lib["overridden_elements"].isna().all()


def test_catalogue_elements_override_the_units_and_the_original_is_kept(tmp_path: Path) -> None:
    write_csv(tmp_path / "catalogue" / "cat.csv", CATALOGUE_HEADER, CATALOGUE_ROWS)
    cat = ingest.load_catalogue(tmp_path).rows
    items = pd.DataFrame(
        {
            "row_id": ["c:1", "c:2"],
            "source_file": "c",
            "source_row": [1, 2],
            "folder_level": "county",
            "level": "county",
            "division_code": "511602000000",
            "agency": "区农业农村局",
            "item_name": ["水产苗种生产审批", "老年人助餐服务登记"],
            "claimed_code": None,
            "item_type": ["行政确认", "公共服务"],
            "legal_basis": ["《渔业法》", None],
            "handling_type": ["承诺件", "即办件"],
            "legal_limit": ["20", "1"],
            "promised_limit": ["10", "1"],
            "visits": ["1", "0"],
            "extra": None,
        }
    )
    decided = matching.decide(items, cat)
    lib = library.build_library(decided, rules.evaluate(decided)).set_index("item_name")
    fixed = lib.loc["水产苗种生产审批"]
    assert (fixed["item_type"], fixed["item_type_submitted"]) == ("行政许可", "行政确认")
    assert fixed["legal_basis"] == "《中华人民共和国渔业法》第十六条"
    assert fixed["overridden_elements"] == "事项类型、设定依据"
    local = lib.loc["老年人助餐服务登记"]  # unmatched: the unit's values stay
    assert local["item_type"] == "公共服务" and pd.isna(local["overridden_elements"])


def test_catalogue_code_of_a_child_must_carry_its_parents_base_code(tmp_path: Path) -> None:
    rows = [r.copy() for r in CATALOGUE_ROWS]
    rows[0][0] = "511B0001000001"  # not under 基本编码 511A00010000
    write_csv(tmp_path / "catalogue" / "cat.csv", CATALOGUE_HEADER, rows)
    cat = ingest.load_catalogue(tmp_path).rows
    result = expectations.validate(rules.catalogue_check_frame(cat), "catalogue")
    failed = {o.rule_id: o for o in result.failed}
    assert list(failed) == ["CAT-012"]
    assert failed["CAT-012"].failing_ids == ["catalogue/cat.csv:1"]
    assert not result.blocking_failed  # a warning: the catalogue is still published


def test_unit_issue_workbook(tmp_path: Path) -> None:
    library_rows = pd.DataFrame(
        {
            "division_code": "511602000000",
            "level": "county",
            "source_file": "county/a.csv",
            "source_row": [1, 2, 3],
            "agency": "区行政审批局",
            "item_name": ['=HYPERLINK("x")', "食品经营许可（补办）", "水产苗种生产审批"],
            "claimed_code": None,
            "status": ["unmatched", "review", "matched"],
            "candidates": [
                None,
                '[{"business_code": "511A0001000001", "name": "食品经营许可（新办）", "score": 88.9}]',
                None,
            ],
            "explanation": "…",
        }
    )
    issues = pd.DataFrame(
        {
            "source_file": "county/a.csv",
            "source_row": [3],
            "division_code": "511602000000",
            "agency": "区行政审批局",
            "level": "county",
            "item_name": "水产苗种生产审批",
            "business_code": "511A0131300001",
            "rule_id": "QC-004",
            "element": "承诺办结时限",
            "severity": "error",
            "message": "承诺办结时限（25）超过法定办结时限（20）",
            "suggestion": "承诺办结时限应不超过法定办结时限",
        }
    )
    engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    store.publish(
        engine,
        {
            "unified_library": library_rows,
            "qc_issues": issues,
            "reuse_stats": library.build_reuse_stats(library_rows),
        },
    )
    paths = reports.write_all(engine, tmp_path / "out")
    assert [p.name for p in paths] == ["质检问题清单_511602000000.xlsx"]
    wb = openpyxl.load_workbook(paths[0])
    assert wb.sheetnames == list(reports.SHEETS)
    ws = wb["质检问题"]
    assert [c.value for c in ws[1]][:5] == ["行政区划代码", "文件", "行号", "实施主体", "事项名称"]
    assert ws["I2"].value == "错误" and ws.freeze_panes == "A2" and ws.auto_filter.ref
    assert wb["未匹配事项"]["E2"].value == '\'=HYPERLINK("x")'  # never a formula
    assert "食品经营许可（新办）" in wb["待核对事项"]["H2"].value
    summary = {r[0].value: r[1].value for r in wb["汇总"].iter_rows(min_row=2)}
    assert summary["行政区划代码"] == "511602000000" and summary["质检问题"] == "1"
