"""Every variation class and every kind of hard negative of the matching issue, on real names.

The catalogue below holds real 广安区 item names (data/reference/guangan_items.csv) and siblings
that real catalogues have; each variant is a way a unit really writes a reuse.
"""

import pandas as pd
import pytest

from shixiang.matching import CatalogueIndex, decide_rows

CATALOGUE = {
    "B01": "建设工程规划许可证核发",
    "B02": "乡村建设规划许可证核发",
    "B03": "医疗机构执业许可证遗失补办",
    "B04": "社会保险登记",
    "B05": "城乡居民基本医疗保险参保登记",
    "B06": "住房公积金缴存证明开具",
    "B07": "水产苗种生产审批",
    "B08": "失业登记",
    "B09": "民办非企业单位修改章程核准（变更）",
    "B10": "客运车辆道路运输证办理（配发）",
    "B11": "采矿权转让变更登记",
    "B12": "个人参保证明查询打印",
    "B13": "公司设立登记",
    "B14": "跨区域涉税事项报告",
    "B15": "食品经营许可（新办）",
    "B16": "食品经营许可（变更）",
    "B17": "食品经营许可（注销）",
    "B18": "户口恢复",
    "B19": "户口注销",
    "B20": "对公民法律援助申请的审批",
    "B21": "残疾人证换领",
    "B22": "社会保障卡挂失",
}


@pytest.fixture(scope="module")
def index() -> CatalogueIndex:
    frame = pd.DataFrame(
        {
            "business_code": list(CATALOGUE),
            "base_code": [f"511A{c}" for c in CATALOGUE],
            "item_name": list(CATALOGUE.values()),
        }
    )
    return CatalogueIndex.build(frame)


def decide(index: CatalogueIndex, name: str) -> pd.Series:
    return decide_rows(pd.DataFrame({"item_name": [name], "claimed_code": [None]}), index).iloc[0]


@pytest.mark.parametrize(
    ("variation", "name", "code"),
    [
        ("level qualifier", "建设工程规划许可证核发（县级权限）", "B01"),
        ("level qualifier, half-width", "水产苗种生产审批(县级)", "B07"),
        ("对…的 frame", "对水产苗种生产的审批", "B07"),
        ("对…审批 without 的", "对公民法律援助申请审批", "B20"),
        ("补发 for 补办", "医疗机构执业许可证遗失补发", "B03"),
        ("department prefix", "区人社局-失业登记", "B08"),
        ("department prefix without dash", "市残联残疾人证换领", "B21"),
        ("half-width brackets", "食品经营许可(变更)", "B16"),
        ("traditional characters", "建設工程規劃許可證核發", "B01"),
        ("homophone typo", "社会保账卡挂失", "B22"),
        ("reordered words", "核发建设工程规划许可证", "B01"),
        ("abbreviation 社保", "社保登记", "B04"),
        ("abbreviation 医保", "城乡居民医保参保登记", "B05"),
        ("abbreviation 公积金", "公积金缴存证明开具", "B06"),
        ("verb synonym 颁发", "建设工程规划许可证颁发", "B01"),
        ("verb synonym 审核", "水产苗种生产审核", "B07"),
        ("dropped connector", "对公民法律援助申请审批", "B20"),
        ("inserted object word", "失业个人登记", "B08"),
        ("object word between situation and 登记", "采矿权转让变更单位登记", "B11"),
        ("stray spaces", "水产苗种 生产审批", "B07"),
        ("situation synonym 首次申请", "食品经营许可（首次申请）", "B15"),
        ("situation with 申请", "食品经营许可（注销申请）", "B17"),
        ("verb first, then synonym", "核准民办非企业单位修改章程（变更）", "B09"),
    ],
)
def test_variation_is_matched_automatically(
    index: CatalogueIndex, variation: str, name: str, code: str
) -> None:
    row = decide(index, name)
    assert (row["status"], row["business_code"]) == ("matched", code), (
        f"{variation}: {row['explanation']}"
    )


@pytest.mark.parametrize(
    ("negative", "name"),
    [
        ("withheld sibling situation", "食品经营许可（补办）"),
        ("withheld sibling 户口", "户口变更"),
        ("other mineral right, one character", "探矿权转让变更登记"),
        ("other tax report, one character", "跨区域涉税事项报验"),
        ("branch vs company", "分公司设立登记"),
        ("employer vs person", "单位参保证明查询打印"),
        ("other planning permit", "乡村建设规划许可证核发（临时）"),
        ("local self-built item", "老年人助餐服务登记"),
        ("local self-built item", "村级便民代办服务"),
    ],
)
def test_hard_negative_is_never_matched_automatically(
    index: CatalogueIndex, negative: str, name: str
) -> None:
    row = decide(index, name)
    assert row["status"] in ("review", "unmatched"), f"{negative}: {row['explanation']}"
    assert pd.isna(row["business_code"])
