"""The GX suites (shixiang.expectation_suites: expectations/*.json with config references, and
matched_library built from the rules), the runner shixiang.expectations, the Data Docs of
shixiang.data_docs, and the wheel that ships the suites.

``import great_expectations`` dominates the run time, so the context is built once (the runner
caches it) and the clean frames are validated once per suite in module-scoped fixtures.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shixiang import config, data_docs, docs_assets, rules
from shixiang import expectation_suites as suites
from shixiang import expectations as ex

SUITES = ("catalogue", "implementation_lists", "unified_library")  # the JSON files
ROOT = Path(__file__).parents[1]


def _str(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def catalogue_frame() -> pd.DataFrame:
    n = 4
    return pd.DataFrame(
        {
            "row_id": _str([f"catalogue/目录.csv:{i + 2}" for i in range(n)]),
            "source_file": _str(["catalogue/目录.csv"] * n),
            "source_row": list(range(2, n + 2)),
            "business_code": _str([f"11510000MB0000{i}-XK-0001" for i in range(n)]),
            "base_code": _str(["XK00001000", "XK00001000", "QR00002001", "GG00003000"]),
            "main_item_name": _str(["食品经营许可", "食品经营许可", "婚姻登记", np.nan]),
            "item_name": _str(
                ["食品经营许可（新办）", "食品经营许可（变更）", "结婚登记", "养老服务"]
            ),
            "item_type": _str(["行政许可", "行政许可", "行政确认", "公共服务"]),
            "use_levels": _str(
                ["省级、市级、县级", "县级", "县级、镇（乡、街道）级", "村（社区）级"]
            ),
            "use_level_keys": _str(
                ["province,city,county", "county", "county,township", "village"]
            ),
            "legal_basis": _str(["《食品安全法》", "《食品安全法》", "《婚姻登记条例》", np.nan]),
            "department": _str(["市场监管总局", "市场监管总局", "民政部", "民政部"]),
            "handling_type": _str(["承诺件", "承诺件", "即办件", np.nan]),
            "legal_limit": _str(["20", "20", np.nan, np.nan]),
            "extra": _str([np.nan] * n),
            # derived by shixiang.rules.catalogue_check_frame before the suite runs
            "code_has_base_prefix": [True] * n,
        }
    )


def implementation_frame() -> pd.DataFrame:
    n = 4
    return pd.DataFrame(
        {
            "row_id": _str([f"county/清单.csv:{i + 2}" for i in range(n)]),
            "source_file": _str(["county/清单.csv"] * n),
            "source_row": list(range(2, n + 2)),
            "folder_level": _str(["county"] * n),
            "level": _str(["county"] * n),
            "division_code": _str(["511602000000"] * n),
            "agency": _str(
                ["广安区市场监督管理局", "广安区民政局", "广安区民政局", "广安区卫健局"]
            ),
            "item_name": _str(["食品经营许可", "结婚登记", "养老服务", "医师执业注册"]),
            "claimed_code": _str(["XK00001000", np.nan, "GG00003000", "XK-000185-001"]),
            "item_type": _str(["行政许可", "行政确认", "公共服务", np.nan]),
            "legal_basis": _str(["《食品安全法》", np.nan, np.nan, np.nan]),
            "handling_type": _str(["承诺件", "即办件", np.nan, "承诺件"]),
            "legal_limit": _str(["20", np.nan, np.nan, "20"]),
            "promised_limit": _str(["5", np.nan, np.nan, "10"]),
            "visits": _str(["0", "1", np.nan, "多次"]),
            "extra": _str([np.nan] * n),
        }
    )


def library_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_id": _str([f"county/清单.csv:{i + 2}" for i in range(5)]),
            "source_file": _str(["county/清单.csv"] * 5),
            "source_row": list(range(2, 7)),
            "division_code": _str(["511602000000"] * 5),
            "level": _str(["county"] * 5),
            "agency": _str(["广安区市场监督管理局"] * 5),
            "item_name": _str(["食品经营许可", "结婚登记", "养老服务", "医师注册", "自建事项"]),
            "status": _str(["matched", "confirmed", "review", "unmatched", "local"]),
            "business_code": _str(["XK-1", "QR-2", np.nan, np.nan, np.nan]),
            "catalogue_name": _str(["食品经营许可", "结婚登记", "养老服务", np.nan, np.nan]),
            "match_method": _str(["exact", "steward", "fuzzy", np.nan, "steward"]),
            "score": [100.0, 100.0, 72.5, 31.0, np.nan],
            "qc_issue_count": [0, 1, 0, 2, 0],
        }
    )


FRAMES = {
    "catalogue": catalogue_frame,
    "implementation_lists": implementation_frame,
    "unified_library": library_frame,
}


def failed_rules(result: ex.SuiteResult) -> dict[str, list[str]]:
    return {o.rule_id: o.failing_ids for o in result.failed}


@pytest.fixture(scope="module")
def clean_results() -> dict[str, ex.SuiteResult]:
    return {name: ex.validate(FRAMES[name](), name) for name in SUITES}


# --- Suites ---------------------------------------------------------------------------------


def test_suite_names_are_the_files_and_the_built_suites() -> None:
    assert suites.suite_names() == (*SUITES, "matched_library")
    assert not (ROOT / "expectations" / "matched_library.json").exists()


@pytest.mark.parametrize("name", suites.suite_names())
def test_suites_are_complete(name: str) -> None:
    raw = suites.load_suite(name)
    assert raw["name"] == name
    assert raw["notes"] and raw["meta"]["great_expectations_version"]
    rule_ids = [e["meta"]["rule_id"] for e in raw["expectations"]]
    assert len(rule_ids) == len(set(rule_ids)), "rule ids must be unique within a suite"
    for e in raw["expectations"]:
        assert e["type"].startswith("expect_")
        assert e["severity"] in suites.SEVERITIES
        assert e["meta"]["element"] and e["meta"]["message"]
        assert e["type"] != "expect_column_values_to_be_in_type_list"  # broken on pandas 3
    assert suites.config_refs(raw) == [], "every $config reference is resolved"


def test_severities_are_gx_failure_severities_and_cover_the_rules() -> None:
    from great_expectations.expectations.metadata_types import FailureSeverity

    assert tuple(s.value for s in FailureSeverity) == suites.SEVERITIES
    assert ex.SEVERITIES == suites.SEVERITIES
    assert set(suites.RULE_TO_GX_SEVERITY) == {r.severity for r in rules.RULES.values()}
    assert set(suites.RULE_TO_GX_SEVERITY.values()) <= set(suites.SEVERITIES)


def _kwargs(name: str) -> dict[str, dict]:
    return {e["meta"]["rule_id"]: e["kwargs"] for e in suites.load_suite(name)["expectations"]}


def test_suite_value_sets_and_patterns_follow_config() -> None:
    sets = {
        (name, e["kwargs"]["column"]): e["kwargs"]["value_set"]
        for name in SUITES
        for e in suites.load_suite(name)["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set"
    }
    assert sets[("catalogue", "item_type")] == list(config.ITEM_TYPES)
    assert sets[("implementation_lists", "item_type")] == list(config.ITEM_TYPES)
    assert sets[("implementation_lists", "level")] == list(config.LEVELS)
    assert sets[("implementation_lists", "handling_type")] == list(config.HANDLING_TYPES)
    assert sets[("implementation_lists", "visits")] == list(config.VISIT_COUNTS)
    assert sets[("unified_library", "status")] == list(config.STATUSES)
    cat, lists = _kwargs("catalogue"), _kwargs("implementation_lists")
    # The catalogue keeps its codes' case (ingest does not upper-case them; the matcher and the
    # rules compare them upper-cased), so its code shapes allow either case. Units' claimed
    # codes are upper-cased on ingest: the pattern applies as config writes it.
    assert cat["CAT-003"]["regex"] == f"^(?i:{config.BUSINESS_CODE_PATTERN})$"
    assert cat["CAT-005"]["regex"] == f"^(?i:{config.BASE_CODE_PATTERN})$"
    assert lists["IN-013"]["regex"] == f"^(?:{config.CLAIMED_CODE_PATTERN})$"
    keys = ("national", *config.LEVELS)
    assert suites.resolve_config_refs({"$config": "USE_LEVEL_ALIASES"}) == list(keys)
    for text, ok in (("county", True), ("province,city,township", True), ("", False)):
        assert bool(re.search(cat["CAT-011"]["regex"], text)) is ok, text
    for text in ("county,", ",county", "county, city", "县级", "countyx"):
        assert not re.search(cat["CAT-011"]["regex"], text), text
    condition = _kwargs("unified_library")["LIB-006"]["row_condition"]
    assert condition["parameter"] == [config.STATUS_MATCHED, config.STATUS_CONFIRMED]
    meta = {e["meta"]["rule_id"]: e["meta"] for e in suites.load_suite("catalogue")["expectations"]}
    assert meta["CAT-008"]["config"] == {"value_set": "shixiang.config.ITEM_TYPES"}
    assert "config" not in meta["CAT-001"]


def test_changing_a_config_constant_changes_the_suite(monkeypatch) -> None:
    monkeypatch.setattr(config, "ITEM_TYPES", (*config.ITEM_TYPES, "行政检查"))
    monkeypatch.setattr(config, "CLAIMED_CODE_PATTERN", r"[0-9A-Z]{4,12}")
    monkeypatch.setattr(config, "STATUS_CONFIRMED", "accepted")
    assert _kwargs("catalogue")["CAT-008"]["value_set"][-1] == "行政检查"
    assert _kwargs("implementation_lists")["IN-013"]["regex"] == "^(?:[0-9A-Z]{4,12})$"
    condition = _kwargs("unified_library")["LIB-006"]["row_condition"]
    assert condition["parameter"] == [config.STATUS_MATCHED, "accepted"]
    # and the validation follows: 行政检查 is a type now, a hyphenated code is not a code
    df = implementation_frame()
    df.loc[0, "item_type"] = "行政检查"
    assert failed_rules(ex.validate(df, "implementation_lists")) == {
        "IN-013": ["county/清单.csv:5"]  # XK-000185-001
    }


def _literals(node):
    """Every string or list of the JSON that is not a $config reference."""
    if isinstance(node, dict):
        if suites.CONFIG_REF in node:
            return
        for value in node.values():
            yield from _literals(value)
    elif isinstance(node, list):
        yield node
        for value in node:
            yield from _literals(value)
    elif isinstance(node, str):
        yield node


def _config_values() -> set[str]:
    """The string values of shixiang.config's constants (members of tuples, a mapping's
    values, patterns)."""
    out: set[str] = set()
    for name in dir(config):
        value = getattr(config, name)
        if not name.isupper():
            continue
        if isinstance(value, dict):
            value = tuple(value.values())
        if isinstance(value, str):
            value = (value,)
        if isinstance(value, tuple):
            out.update(v for v in value if isinstance(v, str))
    return out


# The one pattern of the files that config has no constant for (IN-004: 12 digits).
LITERAL_PATTERNS = {"^[0-9]{12}$"}


@pytest.mark.parametrize("name", SUITES)
def test_no_suite_file_restates_a_config_value(name: str) -> None:
    raw = json.loads((suites.SUITES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    known = _config_values()
    for e in raw["expectations"]:
        kwargs = e["kwargs"]
        refs = suites.config_refs(kwargs)
        if "value_set" in kwargs:  # a reference, or the True of a derived pass column
            value_set = kwargs["value_set"]
            assert suites.config_refs(value_set) or value_set == [True], e["meta"]["rule_id"]
        if "regex" in kwargs:
            assert suites.config_refs(kwargs["regex"]) or kwargs["regex"] in LITERAL_PATTERNS
        if "row_condition" in kwargs:
            assert suites.config_refs(kwargs["row_condition"]["parameter"])
        assert all(hasattr(config, ref) for ref in refs)
        for literal in _literals(kwargs):
            if isinstance(literal, str):
                assert literal not in known, (e["meta"]["rule_id"], literal)
            else:
                assert not set(map(str, literal)) & known, (e["meta"]["rule_id"], literal)


def test_config_reference_errors_name_the_constant_and_the_suite(tmp_path, monkeypatch) -> None:
    with pytest.raises(ValueError, match="NO_SUCH_SET"):
        suites.resolve_config_refs({"$config": "NO_SUCH_SET"})
    with pytest.raises(ValueError, match="regexp"):
        suites.resolve_config_refs({"$config": "ITEM_TYPES", "as": "regexp"})
    with pytest.raises(ValueError, match="not a pattern"):
        suites.resolve_config_refs({"$config": "ITEM_TYPES", "as": "fullmatch"})
    with pytest.raises(ValueError, match="only"):
        suites.resolve_config_refs({"$config": "ITEM_TYPES", "sorted": True})
    bad = {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "x", "value_set": {"$config": "ITEM_TYPE"}},
        "meta": {"rule_id": "X-1", "element": "x", "message": "x"},
    }
    (tmp_path / "bad.json").write_text(json.dumps({"name": "bad", "expectations": [bad]}))
    monkeypatch.setattr(suites, "SUITES_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"'bad'.*ITEM_TYPE"):
        suites.load_suite("bad")


def test_matched_library_is_built_from_the_rules(monkeypatch) -> None:
    suite = suites.load_suite("matched_library")
    assert [e["kwargs"]["column"] for e in suite["expectations"]] == list(rules.RULES)
    frame = pd.DataFrame({"row_id": _str(["a", "b", "c"]), **{r: [True] * 3 for r in rules.RULES}})
    frame.loc[1, "QC-004"] = False  # an error
    frame.loc[2, "QC-005"] = False  # a warning
    result = ex.validate(frame, "matched_library")
    assert failed_rules(result) == {"QC-004": ["b"], "QC-005": ["c"]}
    by_rule = {o.rule_id: o for o in result.failed}
    assert by_rule["QC-004"].severity == "critical" and by_rule["QC-005"].severity == "warning"
    assert by_rule["QC-004"].message == rules.RULES["QC-004"].title
    assert by_rule["QC-004"].element == rules.RULES["QC-004"].element
    assert result.blocking_failed
    # a new rule is a new expectation, with no file to edit
    new = rules.Rule("QC-099", "事项名称", rules.SEVERITY_WARNING, "新规则", "整改")
    monkeypatch.setitem(rules.TITLES, "QC-099", "新规则")
    monkeypatch.setitem(rules.RULES, "QC-099", new)
    (last,) = suites.load_suite("matched_library")["expectations"][-1:]
    assert last["kwargs"]["column"] == "QC-099" and last["severity"] == "warning"


def test_rule_id_prefixes_and_blocking() -> None:
    prefixes = {
        "catalogue": "CAT-",
        "implementation_lists": "IN-",
        "unified_library": "LIB-",
        "matched_library": ("QC-", "ST-"),
    }
    for name, prefix in prefixes.items():
        assert all(
            e["meta"]["rule_id"].startswith(prefix) for e in suites.load_suite(name)["expectations"]
        )
        assert suites.suite_is_blocking(name)
    severities = {
        e["meta"]["rule_id"]: e["severity"] for e in suites.load_suite("catalogue")["expectations"]
    }
    # Everything that makes a catalogue unusable blocks; CAT-012 (child code under its parent's
    # 基本编码) is a warning.
    assert {r for r, sev in severities.items() if sev != "critical"} == {"CAT-012"}


def test_missing_suite_names_the_path() -> None:
    with pytest.raises(FileNotFoundError, match=r"no_such_suite\.json"):
        suites.load_suite("no_such_suite")


def test_suite_is_blocking_false_without_critical(tmp_path, monkeypatch) -> None:
    soft = {
        "type": "expect_table_row_count_to_be_between",
        "kwargs": {"min_value": 1},
        "meta": {"rule_id": "X-1", "element": "行数", "message": "没有数据"},
        "severity": "warning",
    }
    suite = {"name": "soft", "expectations": [soft]}
    (tmp_path / "soft.json").write_text(json.dumps(suite), encoding="utf-8")
    monkeypatch.setattr(suites, "SUITES_DIR", tmp_path)
    assert not suites.suite_is_blocking("soft")
    result = ex.validate(pd.DataFrame({"row_id": _str([])}), "soft")  # table-level expectation
    (outcome,) = result.outcomes
    assert not outcome.success and outcome.column is None and outcome.severity == "warning"
    assert not result.success and not result.blocking_failed


# --- Clean frames ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUITES)
def test_clean_frame_passes(name: str, clean_results: dict[str, ex.SuiteResult]) -> None:
    result = clean_results[name]
    assert result.success, result.to_metadata()
    assert not result.blocking_failed
    assert result.evaluated == len(suites.load_suite(name)["expectations"])
    # outcomes in suite order
    assert [o.rule_id for o in result.outcomes] == [
        e["meta"]["rule_id"] for e in suites.load_suite(name)["expectations"]
    ]
    meta = result.to_metadata()
    assert meta["failed"] == 0 and meta["failures"] == []
    assert json.loads(json.dumps(meta)) == meta


# --- Broken frames: one extra row per broken rule ------------------------------------------
# Each break appends a copy of the clean frame's first row with a fresh row_id (and fresh values
# in the columns that must be unique), then sets the broken values. One validation per frame
# checks every rule and that each failure names exactly the rows that broke it.

Break = tuple[str, dict]  # (rule_id, {column: broken value})

CAT_BREAKS: list[Break] = [
    ("CAT-001", {"business_code": np.nan}),
    ("CAT-003", {"business_code": "XK 001"}),
    ("CAT-003", {"business_code": "X1"}),
    ("CAT-004", {"base_code": np.nan}),
    ("CAT-005", {"base_code": "XK_0001"}),
    ("CAT-006", {"item_name": np.nan}),
    ("CAT-007", {"item_type": np.nan}),
    ("CAT-008", {"item_type": "行政审批"}),
    ("CAT-009", {"use_levels": np.nan}),
    ("CAT-010", {"use_level_keys": np.nan}),
    ("CAT-011", {"use_level_keys": ""}),
    ("CAT-011", {"use_level_keys": "county,"}),
    ("CAT-011", {"use_level_keys": "县级"}),
]
CAT_WARNING_BREAKS: list[Break] = [
    ("CAT-012", {"code_has_base_prefix": False}),
]
IN_CRITICAL_BREAKS: list[Break] = [
    ("IN-001", {"row_id": np.nan}),
    ("IN-003", {"division_code": np.nan}),
    ("IN-004", {"division_code": "51160200000"}),
    ("IN-004", {"division_code": "5116020000OO"}),
    ("IN-005", {"agency": np.nan}),
    ("IN-006", {"item_name": np.nan}),
    ("IN-007", {"level": np.nan}),  # IN-009 ignores a missing level: reported once
    ("IN-008", {"level": "district", "folder_level": "district"}),
]
IN_WARNING_BREAKS: list[Break] = [
    ("IN-009", {"level": "township"}),
    ("IN-010", {"handling_type": "即时办结"}),
    ("IN-011", {"visits": "3"}),
    ("IN-012", {"item_type": "行政审批"}),
    ("IN-013", {"claimed_code": "无"}),
]
LIB_CRITICAL_BREAKS: list[Break] = [
    ("LIB-001", {"row_id": np.nan}),
    ("LIB-003", {"status": np.nan}),
    ("LIB-004", {"status": "pending"}),
    ("LIB-005", {"score": 100.5}),
    ("LIB-005", {"score": -1.0}),
]
LIB_WARNING_BREAKS: list[Break] = [
    ("LIB-006", {"status": "matched", "business_code": np.nan}),
    ("LIB-006", {"status": "confirmed", "business_code": np.nan}),
]

BROKEN = {
    # key: (suite, clean frame, breaks, columns that must stay unique, blocking expected)
    "catalogue": ("catalogue", catalogue_frame, CAT_BREAKS, ("business_code",), True),
    "catalogue/warning": (
        "catalogue",
        catalogue_frame,
        CAT_WARNING_BREAKS,
        ("business_code",),
        False,
    ),
    "implementation_lists/critical": (
        "implementation_lists",
        implementation_frame,
        IN_CRITICAL_BREAKS,
        (),
        True,
    ),
    "implementation_lists/warning": (
        "implementation_lists",
        implementation_frame,
        IN_WARNING_BREAKS,
        (),
        False,
    ),
    "unified_library/critical": ("unified_library", library_frame, LIB_CRITICAL_BREAKS, (), True),
    "unified_library/warning": ("unified_library", library_frame, LIB_WARNING_BREAKS, (), False),
}


def with_breaks(
    frame: pd.DataFrame, breaks: list[Break], unique: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    rows, expected = [], {}
    for k, (rule_id, changes) in enumerate(breaks):
        row = frame.iloc[[0]].reset_index(drop=True)
        row_id = f"broken.csv:{k}"
        row.loc[0, "row_id"] = row_id
        for col in unique:
            row.loc[0, col] = f"UNIQUE{k:04d}"
        for col, value in changes.items():
            row.loc[0, col] = value  # .loc keeps the column dtype (str stays str)
        rows.append(row)
        broken_id = "<NA>" if pd.isna(changes.get("row_id", "")) else row_id
        expected.setdefault(rule_id, []).append(broken_id)
    out = pd.concat([frame, *rows], ignore_index=True)
    assert (out.dtypes == frame.dtypes).all()
    return out, expected


@pytest.fixture(scope="module")
def broken_results() -> dict[str, tuple[ex.SuiteResult, dict[str, list[str]]]]:
    out = {}
    for key, (suite, make, breaks, unique, _) in BROKEN.items():
        df, expected = with_breaks(make(), breaks, unique)
        out[key] = (ex.validate(df, suite), expected)
    return out


@pytest.mark.parametrize("key", [k for k, v in BROKEN.items() if v[4]])
def test_critical_breaks_block_with_rule_ids_and_row_ids(key: str, broken_results) -> None:
    result, expected = broken_results[key]
    assert not result.success
    assert result.blocking_failed
    assert failed_rules(result) == expected
    assert {o.severity for o in result.failed} == {"critical"}
    assert all(o.unexpected_count == len(o.failing_ids) for o in result.failed)


@pytest.mark.parametrize("key", [k for k, v in BROKEN.items() if not v[4]])
def test_warning_breaks_fail_without_blocking(key: str, broken_results) -> None:
    result, expected = broken_results[key]
    assert not result.success
    assert not result.blocking_failed
    assert failed_rules(result) == expected
    meta = result.to_metadata()
    assert meta["blocking_failed"] is False
    assert meta["failed_by_severity"] == {"critical": 0, "warning": len(expected), "info": 0}


@pytest.mark.parametrize("suite", SUITES)
def test_every_rule_is_exercised(suite: str) -> None:
    broken = {r for key, v in BROKEN.items() if v[0] == suite for r, _ in v[2]}
    unique_rules = {  # covered by the duplicate tests below
        e["meta"]["rule_id"]
        for e in suites.load_suite(suite)["expectations"]
        if e["type"] == "expect_column_values_to_be_unique"
    }
    all_rules = {e["meta"]["rule_id"] for e in suites.load_suite(suite)["expectations"]}
    assert broken | unique_rules == all_rules


@pytest.mark.parametrize(
    ("suite", "make", "column", "rule_id"),
    [
        ("catalogue", catalogue_frame, "business_code", "CAT-002"),
        ("implementation_lists", implementation_frame, "row_id", "IN-002"),
        ("unified_library", library_frame, "row_id", "LIB-002"),
    ],
)
def test_duplicates_name_every_copy(suite: str, make, column: str, rule_id: str) -> None:
    df = make()
    df.loc[3, column] = df.loc[1, column]
    result = ex.validate(df, suite)
    assert result.blocking_failed
    assert failed_rules(result) == {rule_id: [df.loc[1, "row_id"], df.loc[3, "row_id"]]}
    (outcome,) = result.failed
    assert outcome.unexpected_count == 2 and outcome.column == column


def test_catalogue_outcome_carries_steward_text(broken_results) -> None:
    result, _ = broken_results["catalogue"]
    outcome = next(o for o in result.failed if o.rule_id == "CAT-008")
    assert outcome.element == "事项类型" and outcome.type == "expect_column_values_to_be_in_set"
    assert outcome.message == "事项类型不在规定的七类之内" and outcome.column == "item_type"


def test_implementation_optional_columns_may_be_empty() -> None:
    df = implementation_frame()
    for col in ("handling_type", "visits", "item_type", "claimed_code"):
        df[col] = _str([np.nan] * len(df))
    assert ex.validate(df, "implementation_lists").success


# --- Runner behaviour -----------------------------------------------------------------------


def test_failing_ids_are_capped_and_follow_a_non_default_index() -> None:
    df = implementation_frame()
    df.index = [40, 30, 20, 10]
    df["visits"] = ["9"] * 4
    result = ex.validate(df, "implementation_lists", max_ids=3)
    (outcome,) = result.failed
    assert outcome.unexpected_count == 4
    assert outcome.failing_ids == [f"county/清单.csv:{i}" for i in (2, 3, 4)]
    assert result.to_metadata(max_ids=2)["failures"][0]["failing_ids"] == outcome.failing_ids[:2]


def test_without_id_column_failing_ids_are_index_labels() -> None:
    df = library_frame().drop(columns="row_id")
    df.index = list("abcde")
    df.loc["b", "status"] = "pending"
    result = ex.validate(df, "unified_library")
    rules = failed_rules(result)
    assert rules["LIB-004"] == ["b"]
    assert rules["LIB-001"] == [] and rules["LIB-002"] == []  # missing column


def test_other_id_column() -> None:
    df = library_frame()
    df.loc[2, "status"] = "pending"
    result = ex.validate(df, "unified_library", id_column="item_name")
    assert failed_rules(result) == {"LIB-004": ["养老服务"]}


@pytest.mark.parametrize("name", SUITES)
def test_empty_frame_without_columns_fails_cleanly(name: str) -> None:
    result = ex.validate(pd.DataFrame(), name)
    assert not result.success and result.blocking_failed
    assert len(result.outcomes) == result.evaluated
    for outcome in result.outcomes:
        assert not outcome.success and outcome.error and "缺少列" in outcome.message
    json.dumps(result.to_metadata())


@pytest.mark.parametrize("name", SUITES)
def test_zero_rows_with_columns_pass(name: str) -> None:
    result = ex.validate(FRAMES[name]().iloc[0:0], name)
    assert result.success, result.to_metadata()


def test_missing_column_fails_with_clear_message() -> None:
    df = implementation_frame().drop(columns=["folder_level"])
    result = ex.validate(df, "implementation_lists")
    (outcome,) = result.failed
    assert outcome.rule_id == "IN-009" and outcome.column == "level,folder_level"
    assert "folder_level" in outcome.error and "folder_level" in outcome.message
    assert not result.blocking_failed


def test_gx_exception_becomes_a_failing_outcome() -> None:
    df = library_frame()
    df["score"] = _str(["1", "2", "3", "4", "x"])  # wrong dtype: GX raises inside
    result = ex.validate(df, "unified_library")
    assert failed_rules(result) == {"LIB-005": []}
    assert result.failed[0].error
    assert result.blocking_failed


def test_gx_does_not_fingerprint_the_frames_it_validates(monkeypatch) -> None:
    """GX hashes every row of every frame it takes a batch of (its batch marker
    ``pandas_data_fingerprint``); shixiang turns that off (1.2 s of a 500k-row run). If a GX
    version hashes another way, this fails instead of the run silently paying for it again."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    hashed = []
    real = engine.hash_pandas_dataframe
    monkeypatch.setattr(engine, "hash_pandas_dataframe", lambda df: hashed.append(df) or real(df))
    df = library_frame()
    df["score"] = _str(["1", "2", "3", "4", "x"])
    result = ex.validate(df, "unified_library")
    assert failed_rules(result) == {"LIB-005": []}  # it validated, and found the same
    assert hashed == []


def test_metadata_is_builtin_json() -> None:
    df = library_frame()
    df.loc[0, "status"] = "pending"
    df.loc[1, "business_code"] = np.nan
    meta = ex.validate(df, "unified_library").to_metadata()
    assert json.loads(json.dumps(meta, ensure_ascii=False)) == meta
    assert meta["success"] is False and meta["blocking_failed"] is True
    assert meta["evaluated"] == 6 and meta["failed"] == 2 and meta["passed"] == 4
    first = meta["failures"][0]
    assert first["rule_id"] == "LIB-004" and first["failing_ids"] == ["county/清单.csv:2"]
    assert first["unexpected_count"] == 1 and first["message"]


# --- Data Docs ------------------------------------------------------------------------------
# One site with two suites (built once), then the edge cases. Each rendered validation costs
# about 0.3 s (GX compiles its Jinja templates on every build).


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory) -> tuple[Path, dict[str, ex.SuiteResult]]:
    docs_dir = tmp_path_factory.mktemp("gx_docs") / "run-1234"
    library = library_frame()
    library.loc[2, "status"] = "pending"
    lists = implementation_frame()
    lists["visits"] = _str(["9"] * len(lists))

    def offline(*args, **kwargs):
        raise OSError("no network while rendering Data Docs")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", offline)
        # every call builds its own GX context: the second finds the first in the on-disk stores
        results = {
            "unified_library": ex.validate(library, "unified_library", docs_dir=docs_dir),
            "implementation_lists": ex.validate(
                lists, "implementation_lists", docs_dir=docs_dir, docs_label="county_items"
            ),
        }
    return docs_dir, results


def test_docs_page_names_the_suite_and_the_failed_expectation(docs_site) -> None:
    docs_dir, results = docs_site
    assert (docs_dir / "index.html").is_file()
    result = results["unified_library"]
    page = Path(result.docs_path)
    assert page.is_file() and page.suffix == ".html"
    assert page.relative_to(docs_dir).parts[:3] == ("validations", "unified_library", "run-1234")
    html = page.read_text(encoding="utf-8")
    assert "unified_library" in html and "Failed" in html
    assert "values must belong to this set" in html and "pending" in html  # LIB-004, its value
    assert result.to_metadata()["docs_path"] == result.docs_path
    json.dumps(result.to_metadata())


def test_check_metadata_links_the_page_as_a_file_url(docs_site) -> None:
    import dagster as dg

    from assets.metadata import check_result, docs_url

    _, results = docs_site
    result = results["unified_library"]
    metadata = check_result(result).metadata
    # the UI shows url metadata as a link; a path (what it was) only as text
    assert isinstance(metadata["data_docs"], dg.UrlMetadataValue)
    assert metadata["data_docs"].url == Path(result.docs_path).as_uri()
    assert metadata["data_docs"].url.startswith("file:///")
    assert metadata["data_docs_path"] == dg.MetadataValue.path(result.docs_path)
    assert docs_url("/srv/文档/页 1.html") == "file:///srv/%E6%96%87%E6%A1%A3/%E9%A1%B5%201.html"
    plain = ex.validate(library_frame(), "unified_library")
    assert not {"data_docs", "data_docs_path"} & set(check_result(plain).metadata)


def test_docs_do_not_change_the_outcomes(docs_site) -> None:
    _, results = docs_site
    library = library_frame()
    library.loc[2, "status"] = "pending"
    plain = ex.validate(library, "unified_library")
    assert plain.docs_path is None
    assert [o.to_dict() for o in results["unified_library"].outcomes] == [
        o.to_dict() for o in plain.outcomes
    ]
    assert failed_rules(plain) == {"LIB-004": ["county/清单.csv:4"]}


def test_two_suites_share_one_site_index(docs_site) -> None:
    docs_dir, results = docs_site
    index = (docs_dir / "index.html").read_text(encoding="utf-8")
    for name, result in results.items():
        assert name in index
        assert Path(result.docs_path).relative_to(docs_dir).as_posix() in index  # linked
        assert (docs_dir / "expectations" / f"{name}.html").is_file()
    assert Path(results["implementation_lists"].docs_path).name == "county_items.html"
    assert "county_items" in index  # the label is the data asset


def test_docs_suite_page_carries_rule_ids_and_messages(docs_site) -> None:
    docs_dir, _ = docs_site
    html = (docs_dir / "expectations" / "implementation_lists.html").read_text(encoding="utf-8")
    for e in suites.load_suite("implementation_lists")["expectations"]:
        assert e["meta"]["rule_id"] in html and e["meta"]["message"] in html
    assert "value_set 取自 shixiang.config.ITEM_TYPES" in html  # where a value set comes from


def test_docs_leave_out_every_failing_row_position(tmp_path) -> None:
    df = pd.concat([implementation_frame()] * 100, ignore_index=True)  # 400 rows
    df["row_id"] = _str([f"f.csv:{i}" for i in range(len(df))])
    df["visits"] = _str(["9"] * len(df))
    result = ex.validate(df, "implementation_lists", docs_dir=tmp_path)
    (outcome,) = result.failed
    assert outcome.unexpected_count == 400 and len(outcome.failing_ids) == 200
    page = Path(result.docs_path)
    assert "df.filter" not in page.read_text(encoding="utf-8")  # no unexpected_index_query
    assert page.stat().st_size < 100_000
    stored = "".join(p.read_text() for p in tmp_path.rglob("*.json"))
    assert '"unexpected_index_list"' not in stored and '"unexpected_list"' not in stored


def test_docs_show_expectations_that_could_not_run(tmp_path) -> None:
    result = ex.validate(pd.DataFrame(), "catalogue", docs_dir=tmp_path, docs_label="catalogue")
    html = Path(result.docs_path).read_text(encoding="utf-8")
    assert "缺少列 business_code" in html and "Failed" in html
    assert not result.success


def test_without_docs_dir_nothing_is_written(tmp_path, monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("docs written without docs_dir")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data_docs, "write_validation", fail)
    result = ex.validate(library_frame(), "unified_library")
    assert result.docs_path is None and "docs_path" not in result.to_metadata()
    assert list(tmp_path.iterdir()) == []


def test_docs_failure_keeps_the_outcome(tmp_path, monkeypatch, caplog) -> None:
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data_docs, "_build_docs", broken)
    df = library_frame()
    df.loc[0, "status"] = "pending"
    result = ex.validate(df, "unified_library", docs_dir=tmp_path)
    assert result.docs_path is None and failed_rules(result) == {"LIB-004": ["county/清单.csv:2"]}
    assert "not written" in caplog.text


@pytest.mark.slow
def test_processes_writing_one_site_keep_every_page(tmp_path) -> None:
    """The checks of one run validate in several processes into one site: the file lock
    serialises them, and the index lists every validation."""
    code = (
        "import sys\n"
        "from shixiang import expectations as ex\n"
        "from tests.test_expectations import FRAMES\n"
        "name, docs = sys.argv[1:]\n"
        "result = ex.validate(FRAMES[name](), name, docs_dir=docs, docs_label=name)\n"
        "assert result.docs_path.endswith(name + '.html'), result.docs_path"
    )
    docs = tmp_path / "run-1"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, name, str(docs)], cwd=ROOT) for name in SUITES
    ]
    assert [p.wait(timeout=300) for p in processes] == [0] * len(SUITES)
    index = (docs / "index.html").read_text(encoding="utf-8")
    for name in SUITES:
        assert f"{name}.html" in index and (docs / "expectations" / f"{name}.html").is_file()
    assert (docs / "_gx" / "lock").is_file()


def test_import_and_suites_do_not_load_gx() -> None:
    code = (
        "import sys, shixiang.expectations, shixiang.data_docs, shixiang.expectation_suites as s\n"
        "for name in s.suite_names(): s.load_suite(name)\n"
        "assert 'great_expectations' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _page_text(path: str, run: str) -> str:
    """A docs page without what differs between any two renderings: ids, times, the run."""
    html = Path(path).read_text(encoding="utf-8").replace(run, "RUN")
    html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", html)
    return re.sub(r"\d{8}T\d{6}\.\d+Z|\d{4}-\d\d-\d\d[ T][\d:.]+( UTC)?|\d{10}\.\d+", "TIME", html)


def test_docs_templates_compile_once_per_process_and_pages_stay_the_same(tmp_path) -> None:
    from shixiang import gx_views

    df = implementation_frame()
    df["visits"] = _str(["9"] * len(df))
    first = ex.validate(df, "implementation_lists", docs_dir=tmp_path / "run-a", docs_label="x")
    compiled = dict(gx_views._CACHE._code)
    assert compiled  # GX's templates went through the shared cache
    second = ex.validate(df, "implementation_lists", docs_dir=tmp_path / "run-b", docs_label="x")
    assert gx_views._CACHE._code == compiled  # the second site reused them, compiled nothing
    assert _page_text(first.docs_path, "run-a") == _page_text(second.docs_path, "run-b")
    assert "Failed" in Path(second.docs_path).read_text(encoding="utf-8")


# --- Packaging ------------------------------------------------------------------------------


def _pip_wheel_command(source: Path, out: Path) -> list[str]:
    """``pip wheel`` of ``source``: with the venv's setuptools when it can build wheels
    (``--no-build-isolation``, no index needed), else in pip's isolated build environment
    (setuptools and wheel from the package index; the venv's setuptools 65 has no bdist_wheel
    without the ``wheel`` package)."""
    import importlib.util

    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    can_build = importlib.util.find_spec("wheel") or importlib.util.find_spec(
        "setuptools.command.bdist_wheel"
    )
    return [*command, *(["--no-build-isolation"] if can_build else []), str(source)]


@pytest.mark.slow
def test_the_wheel_ships_the_suites_and_the_package_data(tmp_path) -> None:
    """A non-editable install finds the suites: the wheel holds expectations/*.json, the desk's
    templates and static files and the vendored Data Docs files, and every suite loads from
    the unpacked wheel alone."""
    import shutil
    import tomllib
    import zipfile
    from fnmatch import fnmatch

    # Built from a copy: a build in the checkout would write build/ and *.egg-info into it.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    for top in ROOT.iterdir():
        if (top / "__init__.py").is_file() and any(fnmatch(top.name, p) for p in include):
            shutil.copytree(top, source / top.name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(_pip_wheel_command(source, tmp_path / "dist"), check=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("shixiang-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    def files(folder: str, pattern: str = "*") -> set[str]:
        found = {p for p in (ROOT / folder).rglob(pattern) if p.is_file()}
        return {p.relative_to(ROOT).as_posix() for p in found if "__pycache__" not in p.parts}

    suite_files = {f"expectations/{name}.json" for name in SUITES}
    assert suite_files == files("expectations", "*.json")
    assert suite_files | {"expectations/__init__.py"} <= names
    templates, static = files("desk/templates", "*.html"), files("desk/static")
    assert templates and static and templates | static <= names
    vendored = files("shixiang/docs_static")
    assert len(vendored) > 20 and vendored <= names, sorted(vendored - names)

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import json, expectations, shixiang\n"
        "from shixiang import docs_assets, expectation_suites as s\n"
        "print(json.dumps({'files': [expectations.__file__, shixiang.__file__],\n"
        "  'static': docs_assets.static_version(),\n"
        "  'suites': {n: len(s.load_suite(n)['expectations']) for n in s.suite_names()}}))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=tmp_path, env=env, capture_output=True
    )
    found = json.loads(out.stdout)
    assert all(Path(f).is_relative_to(site) for f in found["files"]), found["files"]
    assert found["static"] == docs_assets.static_version()
    assert found["suites"] == {
        n: len(suites.load_suite(n)["expectations"]) for n in suites.suite_names()
    }


def test_gx_s_unused_dependencies_load_only_when_used() -> None:
    """``scipy.stats`` (0.6 s of GX's import) is deferred: a fresh process validates every
    suite without loading it, and a use of it still gets the real module. If a GX version
    needs it to validate, the first check fails (a cost, not an error)."""
    script = (
        "import sys\n"
        "from tests.test_expectations import FRAMES, SUITES\n"
        "from shixiang import expectations as ex\n"
        "results = {name: ex.validate(FRAMES[name](), name) for name in SUITES}\n"
        "assert all(r.success for r in results.values()), results\n"
        "print(type(sys.modules['scipy.stats']).__name__)\n"
        "from scipy import stats\n"
        "print(stats.norm.cdf(0.0), type(stats).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["_LazyModule", "0.5 module"]
