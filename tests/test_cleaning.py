"""Cleaning by character class and peeling decorations, each class on real 广安区 names.

Every case pairs a real item name (data/reference/guangan_items.csv) with a way a cell really
carries it; the cleaned and peeled name must be the item's own. The characters come from each
class as a whole (Unicode categories), not from the few forms anyone thought of.
"""

import unicodedata

import pytest

from shixiang.cleaning import clean_cell
from shixiang.decoration import peel
from shixiang.names import parse_name

REAL = "社会保障卡非关键信息变更"


def text_of(cell: str) -> str:
    return parse_name(cell).text


def every(category: str, limit: int = 200) -> list[str]:
    """Assigned characters of a general category, a spread sample of at most ``limit``."""
    chars = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == category]
    return chars[:: max(1, len(chars) // limit)]


@pytest.mark.parametrize("ch", every("Cf"))
def test_every_format_character_is_invisible(ch: str) -> None:
    assert text_of(f"社会保障卡非关键{ch}信息变更") == REAL


@pytest.mark.parametrize("ch", [*every("Zs"), "\t", "\n", "\r", "\u2028", "\u2029"])
def test_every_space_and_line_break_inside_a_name_is_dropped(ch: str) -> None:
    assert text_of(f"社会保障卡{ch}非关键信息变更{ch}") == REAL


@pytest.mark.parametrize(
    ("open_", "close"), [(o, c) for o, c in zip(every("Ps", 80), every("Pe", 80), strict=False)]
)
def test_any_bracket_pair_is_a_bracket(open_: str, close: str) -> None:
    # 社会保障卡启用（激活） in any Ps/Pe pair, even mismatched ones: the same key.
    assert (
        parse_name(f"社会保障卡启用{open_}激活{close}").key
        == parse_name("社会保障卡启用（激活）").key
    )


@pytest.mark.parametrize("quote", ["“”", "‘’", "«»", '""', "''"])
def test_quotation_marks_are_dropped(quote: str) -> None:
    assert text_of(f"{quote[0]}招聘会服务{quote[1]}") == "招聘会服务"


@pytest.mark.parametrize(
    "end", ["。", "．", ".", "!", "？", "；", "…", "‥", "，", "、", "~", "★", "※"]
)
def test_sentence_punctuation_and_symbols_at_either_end(end: str) -> None:
    assert text_of(f"{end}职业技能鉴定补贴申领{end}{end}") == "职业技能鉴定补贴申领"


@pytest.mark.parametrize(
    "escaped",
    [
        "居住证&nbsp;办理",
        "居住证<br>办理",
        "居住证_x000D_办理",
        "居住证&#x3000;办理",
        "居住证办理&amp;",
    ],
)
def test_escape_artefacts_of_exports_are_undone(escaped: str) -> None:
    assert text_of(escaped) == "居住证办理"


def test_width_case_and_script_fold() -> None:
    assert text_of("ＡＢＣ　建設工程規劃許可證核發") == text_of("abc建设工程规划许可证核发")


@pytest.mark.parametrize(
    "numbered",
    [
        "1. 户口恢复",
        "1、户口恢复",
        "（一）户口恢复",
        "一、户口恢复",
        "① 户口恢复",
        "⑴户口恢复",
        "❾户口恢复",
        "➂ 户口恢复",
        "Ⅻ　户口恢复",
        "㊄户口恢复",
        "第3项 户口恢复",
        "序号12 户口恢复",
        "No.15 户口恢复",
        "(8-20) 户口恢复",
        "第十七条户口恢复",
    ],
)
def test_list_numbering_in_every_form_is_peeled(numbered: str) -> None:
    assert text_of(numbered) == "户口恢复"


@pytest.mark.parametrize(
    "name", ["80周岁以上老年人高龄津贴发放", "第二类易制毒化学品运输许可", "一次性工亡补助金申领"]
)
def test_a_name_that_starts_with_a_number_keeps_it(name: str) -> None:
    assert text_of(name) == name


@pytest.mark.parametrize(
    ("numbered", "name"),
    [
        # a list number with a dot or a bracket glued to a name that starts with digits
        ("1.80周岁以上老年人高龄津贴发放", "80周岁以上老年人高龄津贴发放"),
        ("08｡80周岁以上老年人高龄津贴发放", "80周岁以上老年人高龄津贴发放"),
        ("12﹒80周岁以上老年人高龄津贴发放", "80周岁以上老年人高龄津贴发放"),
        ("16〗80周岁以上老年人高龄津贴发放", "80周岁以上老年人高龄津贴发放"),
        ("11•80周岁以上老年人高龄津贴发放", "80周岁以上老年人高龄津贴发放"),
        # a counter word only after 第: the 个 of 个体 is the name's
        ("十九 个体工商户信息确认", "个体工商户信息确认"),
        ("19 个人权益记录查询打印", "个人权益记录查询打印"),
        # spacing forms that NFKC splits into a space and a combining mark are separators
        ("3﹉\u3000个体演员备案", "个体演员备案"),
        ("二十五‾个人权益记录查询打印", "个人权益记录查询打印"),
    ],
)
def test_numbering_does_not_eat_the_names_own_start(numbered: str, name: str) -> None:
    parts = parse_name(numbered)
    assert parse_name(name).key in (parts.key, *(parse_name(r).key for r in parts.readings))


def test_a_glued_section_number_is_peeled_as_a_reading() -> None:
    """1.2个体…: the digits after the dot are the section's (the reading) or the name's."""
    parts = parse_name("1.2个体演员备案")
    assert "个体演员备案" in parts.readings


@pytest.mark.parametrize(
    "decorated",
    [
        "【吉林省人力资源和社会保障厅】招聘会服务",
        "吉林省人力资源和社会保障厅_招聘会服务",
        "区人社局—招聘会服务",
        "长春市人社局：招聘会服务",
        "招聘会服务——广安区人社局",
        "招聘会服务（广安区人力资源和社会保障局）",
        "招聘会服务-省级",
        "招聘会服务【县级】",
        "招聘会服务（区级）",
        "招聘会服务（州级）",
        "招聘会服务；区县级/村（社区）级",
        "【省级】招聘会服务",
        "县（市、区）级/乡级－招聘会服务",
        "（招聘会服务）",
    ],
)
def test_owners_and_level_markers_set_apart_are_peeled(decorated: str) -> None:
    assert text_of(decorated) == "招聘会服务"


@pytest.mark.parametrize(
    ("cell", "reading"),
    [
        ("政府分局 招聘会服务", "招聘会服务"),  # a space only: maybe an owner
        ("招聘会服务 区人社局", "招聘会服务"),
        ("1 招聘会服务", "招聘会服务"),  # a space only: maybe numbering
    ],
)
def test_a_part_set_apart_only_by_a_space_is_a_reading_not_a_peel(cell: str, reading: str) -> None:
    parts = parse_name(cell)
    assert parts.text != reading
    assert reading in parts.readings


@pytest.mark.parametrize(
    "cell",
    [
        "农农服务中心，乡镇设立广播电视站和机关、部队、团体、企业事业单位设立有线广播电视站审批",
        "农农服务中心 乡镇设立广播电视站和机关、部队、团体、企业事业单位设立有线广播电视站审批",
    ],
)
def test_a_maybe_owner_alone_is_a_reading_when_the_name_lists_owner_like_words(cell: str) -> None:
    """Found by Hypothesis: behind a list comma or a space the owner is only a maybe, and the
    greedy reading then also took the name's own 机关、部队 as owners. The name without the
    owner alone must be a reading too."""
    name = "乡镇设立广播电视站和机关、部队、团体、企业事业单位设立有线广播电视站审批"
    parts = parse_name(cell)
    assert parse_name(name).key in (parse_name(r).key for r in parts.readings)


@pytest.mark.parametrize(
    "name",
    [
        "对政府 采购供应商投诉处理决定",  # 政府 ends an owner's name too
        "城镇排水与污水处 理设施竣工验收备案",  # so does 处
        "律师及律所 业务咨询",  # and 所
        "县级 广播电台、电视台变更台名审批",  # 县级 is the object here
        "8 0周岁以上老年人高龄津贴发放",
    ],
)
def test_a_stray_space_inside_a_real_name_does_not_cut_it(name: str) -> None:
    assert text_of(name) == name.replace(" ", "")


def test_clean_cell_reports_what_it_removed() -> None:
    text, removed = clean_cell("\u200b“社会保障卡启用”★")
    assert text == "社会保障卡启用"
    assert set(removed) == {"不可见字符", "引号", "符号"}
    _, peeled, _ = peel(clean_cell("1.招聘会服务-省级。")[0])
    assert set(peeled) == {"numbering", "level", "punctuation"}


@pytest.mark.parametrize(
    "cell",
    [
        "【511A0024700001】建设工程（含临时建设）规划许可证核发",
        "建设工程（含临时建设）规划许可证核发（511A0024700001）",
        "511A0024700001 建设工程（含临时建设）规划许可证核发",
        "511A0024700001建设工程（含临时建设）规划许可证核发",
    ],
)
def test_an_item_code_pasted_into_the_name_is_peeled(cell: str) -> None:
    assert text_of(cell) == "建设工程(含临时建设)规划许可证核发"


@pytest.mark.parametrize(
    "cell",
    [
        "社会保障卡挂失社会保障卡挂失",
        "社会保障卡挂失 社会保障卡挂失",
        "社会保障卡挂失（补办）（补办）",
    ],
)
def test_a_name_pasted_twice_is_read_once(cell: str) -> None:
    assert text_of(cell).startswith("社会保障卡挂失") and text_of(cell).count("挂失") == 1


@pytest.mark.parametrize(
    ("cell", "reading"),
    [
        ("事项名称：社会保障卡挂失", "社会保障卡挂失"),
        ("社会保障卡申领/社会保障卡挂失", "社会保障卡挂失"),
        ("社会保障卡挂失|公共服务", "社会保障卡挂失"),
        ("社会保障卡挂失（全程网办）", "社会保障卡挂失"),
        ("社会保障卡挂xie失", "社会保障卡挂失"),
    ],
)
def test_more_than_the_name_in_a_cell_gives_readings(cell: str, reading: str) -> None:
    assert reading in parse_name(cell).readings


@pytest.mark.parametrize(
    ("cell", "cut"),
    [
        ("文物保护单位的建设控制地带内进行建设工程的许可（新…", True),
        ("母婴保健技术服务执业许可变更（婚前医学", True),
        ("母婴保健技术服务执业许可变更（婚前医学检查）", False),
        ("母婴保健技术服务执业许可变更", False),
    ],
)
def test_a_name_cut_off_by_a_field_length_is_known_as_such(cell: str, cut: bool) -> None:
    assert parse_name(cell).truncated is cut
