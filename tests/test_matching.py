"""Matching decisions: named equivalences accept, siblings never auto-match, evidence counts."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shixiang import ingest, matching
from shixiang.matching import CatalogueIndex, decide_rows
from tests.helpers import CATALOGUE_HEADER, CATALOGUE_ROWS, write_csv


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> CatalogueIndex:
    root = tmp_path_factory.mktemp("cat")
    write_csv(root / "catalogue" / "cat.csv", CATALOGUE_HEADER, CATALOGUE_ROWS)
    return CatalogueIndex.build(ingest.load_catalogue(root).rows)


def decide(
    index: CatalogueIndex, names: list[str], claimed: list[str | None] | None = None
) -> pd.DataFrame:
    items = pd.DataFrame({"item_name": names, "claimed_code": claimed or [None] * len(names)})
    return decide_rows(items, index)


@pytest.mark.parametrize(
    ("name", "code", "method"),
    [
        ("食品经营许可（变更）", "511A0001000002", "exact"),
        ("食品经营许可(变更)(县级)", "511A0001000002", "exact"),
        ("食品经营许可变更（县级权限）", "511A0001000002", "canonical"),
        ("核发建设工程规划许可证", "511A0002000001", "canonical"),
        ("建設工程規劃許可證核發", "511A0002000001", "exact"),
        ("对水产苗种生产的审批", "511A0131300001", "canonical"),
        ("社保卡申领", "512B0070200003", "canonical"),
        ("户口回复", "511F0127400001", "homophone"),
    ],
)
def test_named_equivalences_auto_match(
    index: CatalogueIndex, name: str, code: str, method: str
) -> None:
    row = decide(index, [name]).iloc[0]
    assert (row["status"], row["business_code"], row["match_method"]) == ("matched", code, method)
    assert row["explanation"].startswith("自动匹配")


@pytest.mark.parametrize("name", ["食品经营许可（补办）", "食品经营许可（延续）", "户口变更"])
def test_a_sibling_missing_from_the_catalogue_is_never_auto_matched(
    index: CatalogueIndex, name: str
) -> None:
    row = decide(index, [name]).iloc[0]
    assert row["status"] != "matched"
    assert pd.isna(row["business_code"])


def test_a_situation_the_catalogue_lacks_is_unmatched_with_its_siblings_as_candidates(
    index: CatalogueIndex,
) -> None:
    # Every close candidate is 食品经营许可 in another situation: the item the unit lists is
    # not in the catalogue. A finding, not a doubt: unmatched, the siblings kept for context.
    row = decide(index, ["食品经营许可（补办）"]).iloc[0]
    assert row["status"] == "unmatched"
    assert "只有该事项的其他办理情形" in row["explanation"]
    cands = json.loads(row["candidates"])
    assert len(cands) == 3
    assert {c["business_code"] for c in cands} == {
        "511A0001000001",
        "511A0001000002",
        "511A0001000003",
    }
    assert cands[0]["score"] >= cands[1]["score"] >= cands[2]["score"]
    assert "办理情形与最接近的目录事项不同" in row["explanation"]


def test_nothing_close_is_unmatched(index: CatalogueIndex) -> None:
    row = decide(index, ["老年人助餐服务登记"]).iloc[0]
    assert row["status"] == "unmatched"
    assert row["match_method"] == "none"
    assert row["explanation"].startswith("未找到")


def test_an_exact_name_outweighs_an_unrelated_claimed_code(index: CatalogueIndex) -> None:
    # The wrong code is reported as quality issue QC-003; the name decides the match.
    row = decide(index, ["水产苗种生产审批"], ["511A00020000"]).iloc[0]
    assert (row["status"], row["business_code"]) == ("matched", "511A0131300001")
    assert "以名称为准" in row["explanation"]


def test_an_exact_name_outweighs_a_sibling_code(index: CatalogueIndex) -> None:
    # 户口恢复 claimed with the business code of its sibling 户口注销: the name names exactly
    # one item, so it is matched, and the wrong code is a quality issue (QC-003).
    row = decide(index, ["户口恢复"], ["511F0127400002"]).iloc[0]
    assert (row["status"], row["business_code"]) == ("matched", "511F0127400001")
    assert "以名称为准" in row["explanation"]


def test_malformed_claimed_code_is_noted_on_a_name_match(index: CatalogueIndex) -> None:
    strong = decide(index, ["水产苗种生产审批"], ["511A-？？"]).iloc[0]
    assert strong["status"] == "matched"
    assert "格式不正确" in strong["explanation"]


def test_loose_equivalence_drops_optional_words(index: CatalogueIndex) -> None:
    row = decide(index, ["水产苗种生产审批申请"]).iloc[0]
    assert (row["status"], row["business_code"], row["match_method"]) == (
        "matched",
        "511A0131300001",
        "loose",
    )


def test_valid_claimed_code_with_a_close_name_is_matched_by_code(index: CatalogueIndex) -> None:
    row = decide(index, ["水产苗种生产经营审批"], ["511A01313000"]).iloc[0]
    assert (row["status"], row["business_code"], row["match_method"]) == (
        "matched",
        "511A0131300001",
        "claimed_code",
    )


def test_claimed_code_does_not_override_a_situation_conflict(index: CatalogueIndex) -> None:
    # 511F01274000 is the 户口 family (恢复, 注销): the code cannot make 户口变更 one of them.
    # The family lacks the situation, so the item is not in the catalogue: unmatched.
    row = decide(index, ["户口变更"], ["511F01274000"]).iloc[0]
    assert row["status"] == "unmatched" and pd.isna(row["business_code"])
    assert "只有该事项的其他办理情形" in row["explanation"]


def test_identical_names_are_decided_once_and_identically(index: CatalogueIndex) -> None:
    out = decide(index, ["社保卡申领"] * 50 + ["户口回复"] * 50)
    assert out["business_code"].iloc[:50].eq("512B0070200003").all()
    assert out["business_code"].iloc[50:].eq("511F0127400001").all()


def test_alias_from_a_steward_is_applied_and_ignored_when_its_code_is_gone(
    index: CatalogueIndex,
) -> None:
    from shixiang.names import parse_name

    items = pd.DataFrame({"item_name": ["老年人助餐服务登记"], "claimed_code": [None]})
    key = parse_name("老年人助餐服务登记").key
    hit = decide_rows(items, index, aliases={key: "512B0070200003"}).iloc[0]
    assert (hit["status"], hit["match_method"]) == ("matched", "alias")
    gone = decide_rows(items, index, aliases={key: "NOT-IN-CATALOGUE"}).iloc[0]
    assert gone["status"] == "unmatched"


def test_claimed_code_does_not_override_a_scope_conflict(tmp_path) -> None:
    # Real 广安区 siblings under one 基本编码: the unit's name says （个人）, its code names the
    # family whose only other member is for （用人单位）. Seen on a generated province (seed 11)
    # as a wrong automatic match before scopes were compared.
    def item(code: str, name: str) -> list[str]:
        row = list(CATALOGUE_ROWS[0])
        row[0], row[1], row[2], row[3] = code, "512014011000", "失业保险待遇发放账户维护申请", name
        return row

    write_csv(
        tmp_path / "catalogue" / "cat.csv",
        CATALOGUE_HEADER,
        [item("51201401100003", "失业保险补贴发放账户维护（用人单位）")],
    )
    index = CatalogueIndex.build(ingest.load_catalogue(tmp_path).rows)
    row = decide(index, ["村（社区）失业保险待遇发放账户维护（个人）"], ["512014011000"]).iloc[0]
    assert row["status"] == "review" and pd.isna(row["business_code"])
    assert "声明的基本编码" in row["explanation"]
    # without the conflicting scope the same code is accepted
    row = decide(index, ["失业保险补贴发放账户维护"], ["512014011000"]).iloc[0]
    assert (row["status"], row["match_method"]) in {
        ("matched", "claimed_code"),
        ("matched", "reduced"),
    }


_texts = st.lists(st.one_of(st.none(), st.sampled_from(["", "名称一致", "；事项类型一致", "x"])))


@given(values=_texts.filter(bool), picks=st.lists(st.integers(0, 1_000)))
def test_shared_text_is_take_with_each_text_once(values, picks) -> None:
    values = pd.Series(values, dtype="str")
    codes = np.array([p % len(values) for p in picks], dtype=np.int64)
    shared = matching.shared_text(values, codes, pd.RangeIndex(len(codes)))
    assert isinstance(shared.dtype, pd.CategoricalDtype)
    assert shared.cat.categories.is_unique
    expected = pd.Series(values.to_numpy()[codes], dtype="str")
    pd.testing.assert_series_equal(shared.astype("str"), expected, check_names=False)


_text = st.one_of(st.none(), st.sampled_from(["", "名称一致", "；事项类型一致", "x"]))


@given(rows=st.lists(st.tuples(_text, _text)))
def test_concat_text_is_row_by_row_concatenation(rows) -> None:
    a = pd.Series([r[0] for r in rows], dtype="str")
    b = pd.Series([r[1] for r in rows], dtype="str")
    joined = matching.concat_text(a.astype("category"), b)
    pd.testing.assert_series_equal(joined.astype("str"), a + b, check_names=False)
