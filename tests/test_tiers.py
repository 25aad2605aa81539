"""Each tier of shixiang.tiers, its accept rule and its guard, on real 广安区 names.

The catalogue holds real item names (data/reference/guangan_items.csv), including the real
pairs and families that make the guards necessary: 县级文物保护单位修缮许可 (a level word that
is part of the object), 建设项目古树名木保护方案备案 beside its （住建行使） twin, 社会保障卡启用
（激活）, 建设工程（含临时建设）规划许可证核发, and the 母婴保健 family whose （婚前医学检查）
tells items apart.
"""

import pandas as pd
import pytest

from shixiang.matching import CatalogueIndex, decide_rows
from shixiang.tiers import STRONG_METHODS, TIERS

CATALOGUE = [
    ("C01", "511A00016700", "县级文物保护单位修缮许可"),
    ("C02", "511Z64045002", "建设项目古树名木保护方案备案（住建行使）"),
    ("C03", "512B00702000", "社会保障卡启用（激活）"),
    ("C04", "512B00702000", "社会保障卡挂失"),
    ("C05", "511A00247000", "建设工程（含临时建设）规划许可证核发"),
    ("C06", "511A23019000", "母婴保健技术服务执业许可校验（婚前医学检查）"),
    ("C07", "511A23019000", "母婴保健技术服务执业许可变更（婚前医学检查）"),
    ("C08", "511A23019000", "母婴保健技术服务执业许可变更"),
    ("C09", "512B00600000", "招聘会服务"),
    ("C10", "511A01014000", "公路超限运输许可"),
    ("C11", "512B00610000", "创业培训补贴申请"),
    ("C12", "511F01274000", "户口恢复"),
    ("C13", "511F01274000", "户口注销"),
    ("C14", "511A00440000", "文艺表演团体《营业性演出许可证》注销审批"),
    ("C15", "512C00533000", "学生资助政策咨询"),
    ("C16", "511A01313000", "水产苗种生产审批"),
    ("C17", "512B00612000", "个人参保证明查询打印"),
    ("C18", "511A00710000", "食品经营许可（新办）"),
    ("C19", "511A00710000", "食品经营许可（变更）"),
    ("C20", "511A00710000", "食品经营许可（注销）"),
    ("C21", "512B00320000", "80周岁以上老年人高龄津贴发放"),
    ("C22", "511A00050000", "非公司企业法人分支机构注销登记"),
    ("C23", "511A00080000", "律师及律所业务咨询"),
]


@pytest.fixture(scope="module")
def index() -> CatalogueIndex:
    return CatalogueIndex.build(
        pd.DataFrame(CATALOGUE, columns=["business_code", "base_code", "item_name"])
    )


def decide(index: CatalogueIndex, name: str, claimed: str | None = None, **kw) -> pd.Series:
    items = pd.DataFrame({"item_name": [name], "claimed_code": [claimed]})
    return decide_rows(items, index, **kw).iloc[0]


def test_the_tiers_are_one_ordered_list_strongest_first() -> None:
    methods = [t.method for t in TIERS]
    assert methods == [
        "alias",
        "truncated",
        "exact",
        "canonical",
        "unbracketed",
        "loose",
        "prefix",
        "homophone",
        "reduced",
        "near",
    ]
    assert methods.index("reduced") > max(methods.index(m) for m in STRONG_METHODS)


@pytest.mark.parametrize(
    ("name", "code", "method"),
    [
        ("【区人社局】招聘会服务。", "C09", "exact"),
        ("核发建设工程（含临时建设）规划许可证", "C05", "canonical"),
        ("文艺表演团体营业性演出许可证注销审批", "C14", "unbracketed"),
        ("户口恢复办理", "C12", "loose"),
        ("县级公路超限运输许可", "C10", "prefix"),
        ("吉林省交通运输厅公路超限运输许可", "C10", "prefix"),
        ("社会保账卡挂失", "C04", "homophone"),
        ("公路超限运输许可服务", "C10", "reduced"),
        ("社会保障卡启用", "C03", "reduced"),
        ("建设工程规划许可证核发", "C05", "reduced"),
        ("非公司企业法人分支机构注登记", "C22", "near"),
    ],
)
def test_each_tier_accepts_its_equivalence(
    index: CatalogueIndex, name: str, code: str, method: str
) -> None:
    row = decide(index, name)
    assert (row["status"], row["business_code"], row["match_method"]) == ("matched", code, method)


def test_the_alias_tier_takes_a_stewards_confirmation(index: CatalogueIndex) -> None:
    from shixiang.names import parse_name

    row = decide(index, "老年人助餐服务登记", aliases={parse_name("老年人助餐服务登记").key: "C09"})
    assert (row["status"], row["match_method"]) == ("matched", "alias")


def test_a_reading_without_a_part_that_may_be_an_owner_is_tried_last(
    index: CatalogueIndex,
) -> None:
    row = decide(index, "政府分局 招聘会服务")
    assert (row["status"], row["business_code"]) == ("matched", "C09")
    assert "可能是实施主体或序号" in row["explanation"]


@pytest.mark.parametrize(
    "name",
    [
        "市级文物保护单位修缮许可",  # another object: the catalogue's object is 县级…
        "省级文物保护单位修缮许可",
    ],
)
def test_a_level_word_that_is_the_object_is_never_peeled(index: CatalogueIndex, name: str) -> None:
    row = decide(index, name)
    assert row["status"] == "unmatched" and pd.isna(row["business_code"])
    assert "事项对象的一部分" in row["explanation"]
    assert "C01" in row["candidates"]


def test_a_qualifier_that_names_who_exercises_the_item_is_never_left_out(
    index: CatalogueIndex,
) -> None:
    # The catalogue lacks the plain item; a unit writing it means that item, not the twin.
    row = decide(index, "建设项目古树名木保护方案备案")
    assert row["status"] != "matched"


def test_a_qualifier_the_catalogue_uses_to_tell_items_apart_is_never_left_out(
    index: CatalogueIndex,
) -> None:
    # 变更 has a twin without （婚前医学检查）, so the qualifier distinguishes: 校验 without it
    # is another item than 校验（婚前医学检查）.
    row = decide(index, "母婴保健技术服务执业许可校验")
    assert row["status"] != "matched"


def test_a_different_subject_word_is_another_item(index: CatalogueIndex) -> None:
    # 单位 opens the name: it says whom the item serves, it is not an optional word.
    row = decide(index, "单位参保证明查询打印")
    assert row["status"] == "unmatched" and pd.isna(row["business_code"])


def test_a_situation_the_catalogue_lacks_is_a_finding(index: CatalogueIndex) -> None:
    row = decide(index, "食品经营许可（补办）")
    assert row["status"] == "unmatched"
    assert "只有该事项的其他办理情形" in row["explanation"]


def test_several_items_found_by_one_tier_block_and_go_to_review(index: CatalogueIndex) -> None:
    row = decide(index, "母婴保健技术服务执业许可")
    assert row["status"] in ("review", "unmatched") and pd.isna(row["business_code"])


class TestClaimedCodeIsEvidenceOnly:
    def test_an_exact_name_outweighs_a_siblings_code(self, index: CatalogueIndex) -> None:
        row = decide(index, "户口恢复", "C13")
        assert (row["status"], row["business_code"]) == ("matched", "C12")
        assert "以名称为准" in row["explanation"]

    def test_a_code_never_accepts_a_name_that_differs_in_a_distinguishing_word(
        self, index: CatalogueIndex
    ) -> None:
        # 就业技能培训补贴申请 is a real item the catalogue lacks; its unit wrote 创业's code.
        row = decide(index, "就业技能培训补贴申请", "512B00610000")
        assert row["status"] != "matched"

    def test_a_code_accepts_a_name_that_only_adds_two_characters(
        self, index: CatalogueIndex
    ) -> None:
        row = decide(index, "水产苗种生产经营审批", "511A01313000")
        assert (row["status"], row["match_method"]) == ("matched", "claimed_code")

    def test_a_code_of_an_item_the_catalogue_lacks_holds_back_a_weak_match(
        self, index: CatalogueIndex
    ) -> None:
        assert decide(index, "公路超限运输许可服务")["status"] == "matched"
        # Same name, a well-formed code the catalogue does not know: the unit's item may be
        # one the catalogue lacks, and a dropped word is not enough to say otherwise.
        row = decide(index, "公路超限运输许可服务", "511A09999999")
        assert row["status"] == "review"
        assert "声明的基本编码不在通用目录中" in row["explanation"]

    def test_a_malformed_code_says_nothing(self, index: CatalogueIndex) -> None:
        row = decide(index, "公路超限运输许可服务", "511A-O1014")
        assert row["status"] == "matched"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("社会保障卡挂失", "C04"),
        ("社会保障卡失挂", "C04"),  # neighbours swapped
        ("个人参保证明查询打エ", "C17"),  # エ for 印: a look-alike from another script
        ("创业培训补贴申请", "C11"),
    ],
)
def test_the_near_tier_takes_slips_but_not_another_chinese_character(
    index: CatalogueIndex, name: str, code: str
) -> None:
    row = decide(index, name)
    assert (row["status"], row["business_code"]) == ("matched", code)


def test_a_chinese_character_for_another_is_never_a_slip(index: CatalogueIndex) -> None:
    # 采矿权/探矿权, 就业/创业: one character tells the items apart.
    assert decide(index, "就业培训补贴申请")["status"] != "matched"


def test_a_truncated_name_is_the_start_of_exactly_one_item(index: CatalogueIndex) -> None:
    row = decide(index, "建设项目古树名木保护方案备案（住建…")
    assert (row["status"], row["business_code"], row["match_method"]) == (
        "matched",
        "C02",
        "truncated",
    )
    # cut where two items begin alike: a steward decides
    assert decide(index, "母婴保健技术服务执业许可变…")["status"] != "matched"


def test_a_part_of_the_cell_is_weak_evidence(index: CatalogueIndex) -> None:
    assert decide(index, "事项名称：招聘会服务")["business_code"] == "C09"
    # the code says another item: the reading is not enough to overrule it
    row = decide(index, "事项名称：招聘会服务", "512B00610000")
    assert row["status"] == "review"
