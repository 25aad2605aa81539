"""The name model: what counts as the same item written differently, and what does not."""

import pytest

from shixiang.names import parse_name


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("从事营利性治沙活动新办许可（县级权限）", "从事营利性治沙活动新办许可"),
        ("农村公路建设项目施工图设计审批(县级)", "农村公路建设项目施工图设计审批"),
        ("开具个人所得税纳税记录（县级行使）", "开具个人所得税纳税记录"),
        ("商品房预售许可（设区的市级权限）", "商品房预售许可"),
        ("危险废物经营许可补办(市级)", "危险废物经营许可（补办）"),
        ("危险废物经营许可补发", "危险废物经营许可（补办）"),
        ("危险废物经营许可遗失补办", "危险废物经营许可（补办）"),
        ("建設工程規劃許可證核發", "建设工程规划许可证核发"),
        ("核发建设工程规划许可证", "建设工程规划许可证核发"),
        ("颁发建设工程规划许可证", "建设工程规划许可证核发"),
        ("对水产苗种生产的审批", "水产苗种生产审批"),
        ("水产苗种生产审核", "水产苗种生产审批"),
        ("区人社局社会保障卡申领", "社会保障卡申领"),
        ("社保卡申领", "社会保障卡申领"),
        ("拖拉机/联合收割机驾驶证核发", "拖拉机联合收割机驾驶证核发"),
        ("食品经营许可 （变更）", "食品经营许可(变更)"),
        ("ＡＢＣ证明开具", "ABC证明开具"),
    ],
)
def test_variants_share_the_key_of_their_catalogue_name(variant: str, canonical: str) -> None:
    assert parse_name(variant).key == parse_name(canonical).key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("食品经营许可（变更）", "食品经营许可（注销）"),
        ("户口恢复", "户口注销"),
        ("食品经营许可", "食品生产许可"),
        ("建设工程规划许可证核发", "乡村建设规划许可证核发"),
        ("游艺娱乐场所《娱乐经营许可证》核发（含中外合资）", "游艺娱乐场所《娱乐经营许可证》核发"),
        ("烟草专卖零售许可证延续", "烟草专卖零售许可证变更"),
        ("采矿权转让", "探矿权转让"),
        ("医疗机构执业变更（承诺件）", "医疗机构执业变更（即办件）"),
    ],
)
def test_siblings_and_scopes_keep_distinct_keys(a: str, b: str) -> None:
    assert parse_name(a).key != parse_name(b).key


def test_parts_are_separated_and_explained() -> None:
    p = parse_name("食品(含保健食品)经营许可变更（县级）")
    assert p.situation == "变更"
    assert p.scope == "含保健食品"
    assert p.stem == "食品经营许可"
    assert "层级标注" in p.notes
    assert p.raw == "食品(含保健食品)经营许可变更（县级）"


def test_level_qualifier_with_enumeration_comma_is_one_qualifier() -> None:
    p = parse_name("企业投资项目备案（技术改造）（市级/县级）")
    assert p.scope == "技术改造"
    assert p.key == parse_name("企业投资项目备案（技术改造）").key


def test_homophone_typo_has_the_same_phonetic_key_but_not_the_same_key() -> None:
    right, typo = parse_name("户口恢复"), parse_name("户口回复")
    assert right.key != typo.key
    assert right.phonetic_key == typo.phonetic_key


def test_the_pinyin_table_is_pypinyins_without_importing_the_package() -> None:
    """names reads pypinyin's single-character table from its data file: importing the package
    also loads its phrase dictionary (+56 MiB in every matching process)."""
    import subprocess
    import sys

    from pypinyin.pinyin_dict import pinyin_dict

    from shixiang import names

    table = names._PINYIN
    assert table == pinyin_dict
    probe = "import sys, shixiang.tiers; print('pypinyin' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
