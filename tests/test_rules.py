"""Element quality rules: each rule with a row that breaks it and a row that passes."""

import pandas as pd
import pytest

from shixiang import rules

BASE = {
    "source_file": "county/a.csv",
    "division_code": "511602000000",
    "agency": "广安区行政审批局",
    "level": "county",
    "folder_level": "county",
    "item_name": "水产苗种生产审批",
    "name_key": "水产苗种生产审批",
    "status": "matched",
    "business_code": "511A0131300001",
    "claimed_code": "511A01313000",
    "item_type": "行政许可",
    "legal_basis": "《中华人民共和国渔业法》第十六条",
    "handling_type": "承诺件",
    "legal_limit": "20",
    "promised_limit": "10",
    "visits": "1",
    "steward_reason": None,
    "cat_item_type": "行政许可",
    "cat_use_levels": "县级",
    "cat_use_level_keys": "county",
    "cat_base_code": "511A01313000",
    "cat_legal_basis": "《中华人民共和国渔业法》第十六条",
    "cat_handling_type": "承诺件",
    "cat_legal_limit": "20",
}

BREAKS = {
    "QC-001": {"item_type": "行政确认"},
    "QC-002": {"level": "township", "folder_level": "township", "division_code": "511602001000"},
    "QC-003": {"claimed_code": "511A00020000"},
    "QC-004": {"promised_limit": "25"},
    "QC-005": {
        "handling_type": "即办件",
        "legal_limit": "5",
        "promised_limit": "3",
        "cat_handling_type": "即办件",
        "cat_legal_limit": "5",
    },
    "QC-007": {
        "level": "township",
        "division_code": "511602001000",
        "cat_use_level_keys": "county,township",
    },
    "QC-008": {"legal_basis": "《中华人民共和国行政许可法》"},
    "QC-009": {"handling_type": "上报件", "cat_handling_type": None},
    "QC-010": {"visits": "3次"},
    "QC-011": {
        "claimed_code": "511A？？",
        "status": "review",
        "business_code": None,
        "cat_item_type": None,
        "cat_use_level_keys": None,
        "cat_base_code": None,
        "cat_legal_basis": None,
    },
    "QC-012": {"handling_type": "即办件", "promised_limit": "1"},
    "QC-013": {"legal_limit": "30"},
    "QC-014": {"legal_basis": None},
    "ST-001": {"steward_reason": "请按目录名称填报"},
}


def frame(*overrides: dict) -> pd.DataFrame:
    rows = [
        {**BASE, "source_row": i + 1, "row_id": f"county/a.csv:{i + 1}", **o}
        for i, o in enumerate(overrides)
    ]
    return pd.DataFrame(rows)


frame_of = frame


def test_a_clean_row_has_no_issue() -> None:
    assert rules.evaluate(frame({})).empty


@pytest.mark.parametrize("rule_id", sorted(BREAKS))
def test_each_rule_fires_on_the_row_that_breaks_it_only(rule_id: str) -> None:
    issues = rules.evaluate(frame({"agency": "广安区农业农村局"}, BREAKS[rule_id]))
    assert issues["rule_id"].tolist() == [rule_id]
    assert issues["source_row"].tolist() == [2]
    rule = rules.RULES[rule_id]
    assert issues.loc[0, "element"] == rule.element
    assert issues.loc[0, "severity"] == rule.severity
    assert "{" not in issues.loc[0, "message"] and "{" not in issues.loc[0, "suggestion"]


def test_every_empty_required_element_is_named_even_where_the_library_fills_it() -> None:
    # A matched row: the library shows the catalogue's 设定依据 and 法定办结时限, but the
    # unit's list stays incomplete, so the unit is told which elements to fill.
    issues = rules.evaluate(frame({"legal_basis": " ", "legal_limit": None, "item_type": None}))
    assert issues["rule_id"].tolist() == ["QC-014"]
    assert issues.loc[0, "message"] == "必填要素为空：事项类型、设定依据、法定办结时限"
    unmatched = {"status": "unmatched", "business_code": None, "promised_limit": None}
    assert rules.evaluate(frame(unmatched))["rule_id"].tolist() == ["QC-014"]


def test_duplicate_item_within_a_unit_points_at_the_first_row() -> None:
    issues = rules.evaluate(frame({}, {}, {"agency": "另一个单位"}))
    assert issues["rule_id"].tolist() == ["QC-006"]
    assert issues.loc[0, "source_row"] == 2
    assert "第 1 行" in issues.loc[0, "message"]


def test_messages_name_the_values() -> None:
    issues = rules.evaluate(frame(BREAKS["QC-001"]))
    assert issues.loc[0, "message"] == "事项类型“行政确认”与通用目录“行政许可”不一致"
    assert issues.loc[0, "suggestion"] == "按通用目录将事项类型改为“行政许可”"


def test_catalogue_elements_are_not_checked_on_rows_without_a_match() -> None:
    unmatched = {
        "status": "unmatched",
        "business_code": None,
        "cat_item_type": None,
        "cat_use_level_keys": None,
        "cat_base_code": None,
        "cat_legal_basis": None,
        "item_type": "行政确认",
    }
    assert rules.evaluate(frame(unmatched)).empty


def test_issue_counts_align_with_rows() -> None:
    rows = frame({}, {**BREAKS["QC-001"], "agency": "甲"}, {**BREAKS["QC-004"], "agency": "乙"})
    counts = rules.issue_counts(rules.evaluate(rows), rows)
    assert counts.tolist() == [0, 1, 1]


def test_rule_frame_has_one_pass_column_per_rule() -> None:
    frame = rules.rule_frame(frame_of({}, {"agency": "乙", **BREAKS["QC-004"]}))
    assert list(frame.columns) == ["row_id", *rules.RULES]
    assert frame["QC-004"].tolist() == [True, False]
    assert frame.drop(columns=["row_id", "QC-004"]).all().all()


def test_every_rule_has_exactly_one_expectation_in_the_matched_library_suite() -> None:
    from shixiang.expectation_suites import RULE_TO_GX_SEVERITY, load_suite

    suite = load_suite("matched_library")  # built from rules.RULES: one pass column per rule
    columns = [e["kwargs"]["column"] for e in suite["expectations"]]
    assert columns == list(rules.RULES)
    assert columns == list(rules.rule_frame(frame({})).columns.drop("row_id"))
    for e in suite["expectations"]:
        rule = rules.RULES[e["kwargs"]["column"]]
        assert e["meta"]["rule_id"] == rule.rule_id and e["meta"]["element"] == rule.element
        assert e["meta"]["message"] == rule.title
        assert e["severity"] == RULE_TO_GX_SEVERITY[rule.severity]


def test_rule_frame_from_issues_equals_the_evaluated_one() -> None:
    rows = frame({}, {"agency": "乙", **BREAKS["QC-004"]}, {"agency": "丙", **BREAKS["QC-001"]})
    pd.testing.assert_frame_equal(
        rules.rule_frame(rows, rules.evaluate(rows)), rules.rule_frame(rows)
    )


def test_the_rules_the_matcher_and_the_suite_agree_on_a_claimed_codes_shape() -> None:
    """One pattern (config.CLAIMED_CODE_PATTERN): a 40-character business-handling code is
    well-formed for all three, a 51-character one for none."""
    import re

    from shixiang import matching
    from shixiang.expectation_suites import load_suite

    suite = load_suite("implementation_lists")  # its regex is config's, resolved on loading
    (regex,) = [
        e["kwargs"]["regex"]
        for e in suite["expectations"]
        if e["kwargs"].get("column") == "claimed_code" and "regex" in e["kwargs"]
    ]
    catalogue_row = {"cat_base_code": None, "status": "review", "business_code": None}
    for code, well_formed in (("511A" + "0" * 36, True), ("511A" + "0" * 47, False)):
        issues = rules.evaluate(frame({}, {**catalogue_row, "claimed_code": code}))
        assert ("QC-011" in set(issues["rule_id"])) is not well_formed, code
        assert bool(matching._CODE_FORMAT.fullmatch(code)) is well_formed
        assert bool(re.search(regex, code)) is well_formed  # GX searches: the regex is anchored
