"""The vocabulary of variations the generator applies, and the name helpers it needs.

Why the generator keeps its own vocabulary
------------------------------------------
Everything a unit does to a catalogue name in a generated province — level qualifiers,
department prefixes, situation and verb synonyms, abbreviations, the 对…的 frame, dropped
connectors — is written out here (and applied by :mod:`dev.synth.variants`). It overlaps the
matcher's tables (``shixiang/names.py``, ``decoration.py``, ``tiers.py``) on purpose and must
never be replaced by them: ``dev/`` does not import ``shixiang.names``, ``shixiang.decoration``,
``shixiang.tiers`` or ``shixiang.matching`` (``tests/test_synth.py`` reads every import
statement of ``dev/`` to keep it so).

A benchmark whose generator speaks the matcher's vocabulary measures that vocabulary against
itself: every variation generated is one the matcher was written to undo, so the score says the
two lists agree, not that the matcher copes with what units write. The project's accuracy
history shows the size of that: 0.99 on this generator, 0.81 on a province written
independently. Shared tables would make the agreement true by construction (a word added to the
matcher would turn up in the test data the same day), and the figures could only go up. The
copy is the point: when the two lists drift apart, this generator's figures show it.

Even so, this is the matcher authors' model of noise, and its figures are a smoke test
(``bench/accuracy.py --model synth``). The evidence comes from ``bench/noise_model.py`` and
``bench/unseen_noise.py``, written without reading the matcher or this module.
"""

from __future__ import annotations

import re
import unicodedata

# --- Variation classes -----------------------------------------------------------------------
VARIATIONS: tuple[str, ...] = (
    "exact",
    "level_qualifier",
    "halfwidth_brackets",
    "traditional",
    "duiDe_frame",
    "dept_prefix",
    "situation_synonym",
    "homophone",
    "reorder",
    "abbreviation",
    "verb_synonym",
    "dropped_connector",
    "inserted_object",
    "space_noise",
)
NEGATIVE_VARIATIONS: tuple[str, ...] = ("withheld_item", "withheld_sibling", "local_item")
ALL_VARIATIONS: tuple[str, ...] = VARIATIONS + NEGATIVE_VARIATIONS

# Target share of each positive class among rows (before applicability is taken into account).
_CLASS_WEIGHTS: dict[str, float] = {
    "exact": 0.5,
    "level_qualifier": 0.05,
    "halfwidth_brackets": 0.025,
    "traditional": 0.025,
    "duiDe_frame": 0.025,
    "dept_prefix": 0.03,
    "situation_synonym": 0.025,
    "homophone": 0.03,
    "reorder": 0.025,
    "abbreviation": 0.015,
    "verb_synonym": 0.03,
    "dropped_connector": 0.025,
    "inserted_object": 0.025,
    "space_noise": 0.03,
}

# Situations a 行政许可 item is split into (business-handling siblings), in serial order.
SITUATIONS: tuple[str, ...] = ("新办", "变更", "延续", "注销", "补办")

# --- Negative names --------------------------------------------------------------------------
# Self-built local items; {place} is the unit's own short name.
_LOCAL_TEMPLATES: tuple[str, ...] = (
    "{place}老年人助餐服务登记",
    "村级便民代办服务",
    "{place}红白喜事简办备案",
    "{place}农村厕所改造补助申请",
    "{place}城市书房借阅证办理",
    "{place}便民服务中心帮办代办",
    "农村建房选址踏勘服务",
    "{place}集体经济组织成员身份证明",
    "高龄津贴申请初审",
    "{place}困难群众临时救助初审",
    "农村土地承包经营权流转合同鉴证",
    "{place}自来水费代收服务",
    "{place}退役军人服务站帮扶申请",
    "新生儿落户代办服务",
    "{place}党群服务中心场地预约",
    "{place}农技咨询服务",
    "{place}矛盾纠纷调解申请",
    "居家养老服务需求登记",
    "{place}农村公益性公墓安葬登记",
    "{place}网格员上门代办",
    "社区志愿服务登记",
    "{place}留守儿童关爱服务登记",
    "{place}智慧停车月卡办理",
    "村民建房申请初审",
    "{place}综合文化站场地借用",
    "{place}农家书屋借阅服务",
    "农民工工资拖欠线索登记",
    "{place}残疾人辅具适配申请受理",
    "{place}居住情况证明开具",
    "{place}“一件事一次办”综合窗口代办",
    "{place}防返贫监测对象申报",
    "{place}人居环境整治积分兑换",
)


# --- Words and patterns a unit varies -------------------------------------------------------
_LEVEL_QUALIFIER_RE = re.compile(
    r"\s*[（(]\s*(?:省|市|县|区|镇|乡|乡镇|设区的市)级?"
    r"(?:\s*[/、]\s*(?:省|市|县|区|镇|乡)级?)*(?:权限|行使)?\s*[）)]"
)
_TRAILING_BRACKETS_RE = re.compile(r"(?:（[^（）]*）)+$")
_SITUATION_TAIL_RE = re.compile(r"(?:遗失补办|新办|新设|新增|变更|延续|延期|注销|补办|补发|换发)$")
_SITUATION_ANY_RE = re.compile(
    "新办|新设|新增|变更|延续|延期|注销|补办|补发|换发|换证|遗失|设立|终止|撤销|过户|转入|转出|"
    "更换|首次|申报|备案|登记|年检|校验|恢复|停业|歇业|复业|分立|合并|迁移|初领|增项"
)
_EXPANDABLE_END_RE = re.compile(r"(?:许可|审批|核发|核准|许可证)$")
_CONNECTOR_RE = re.compile(r"(?<!共)和|(?<![涉以普危])及|(?<![参给])与|的|、")
_DUPLICATE_BIGRAM_RE = re.compile(r"(..)\1")
_SITUATION_VERB_AFTER_RE = re.compile(r"(?:审批|登记|许可|申请|核准|备案)?")

_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "province": ("（省级）", "（省级权限）", "(省级)"),
    "city": ("（市级）", "(市级)", "（设区的市级权限）", "（市级权限）"),
    "county": ("（县级）", "(县级)", "（县级权限）", "（县级行使）"),
    "township": ("（镇）", "（乡镇级）", "(镇级)"),
    "village": ("（村级）", "（村（社区）级）", "（社区）"),
}
_SITUATION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "遗失补办": ("遗失补发", "补发"),
    "补办": ("补发", "遗失补办", "补证"),
    "新办": ("新设", "首次申请", "新申请"),
    "延续": ("换证", "到期换证", "延期"),
    "变更": ("变更申请", "信息变更"),
    "注销": ("注销申请", "注销登记"),
    "换发": ("换证", "到期换发"),
    "新设": ("新办", "首次申请"),
    "补发": ("补办", "遗失补发"),
    "延期": ("延续",),
}
_SYNONYM_MEANS: dict[str, tuple[str, ...]] = {
    "补发": ("补办", "补发"),
    "遗失补办": ("补办", "补发"),
    "遗失补发": ("补办", "补发"),
    "补证": ("补办", "补发"),
    "补办": ("补办", "补发"),
    "新设": ("新办", "新设", "新增"),
    "首次申请": ("新办", "新设", "新增"),
    "新申请": ("新办", "新设", "新增"),
    "新办": ("新办", "新设", "新增"),
    "换证": ("延续", "换发", "延期"),
    "到期换证": ("延续", "换发", "延期"),
    "到期换发": ("延续", "换发", "延期"),
    "延期": ("延续", "延期"),
    "延续": ("延续", "延期"),
    "变更申请": ("变更",),
    "信息变更": ("变更",),
    "注销申请": ("注销",),
    "注销登记": ("注销",),
}
_VERB_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("核发", "颁发"),
    ("审批", "审核"),
    ("审核", "审批"),
    ("备案", "报备"),
    ("查询", "查阅"),
    ("认定", "确认"),
    ("申请", "申报"),
    ("核准", "批准"),
)
_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("城乡居民基本养老保险", "城乡居保"),
    ("基本医疗保险", "医保"),
    ("医疗保险", "医保"),
    ("社会保险", "社保"),
    ("住房公积金", "公积金"),
    ("最低生活保障", "低保"),
    ("个人所得税", "个税"),
    ("机动车驾驶证", "驾照"),
)
_DUIDE_VERBS = ("审批", "许可", "核准", "认定", "确认", "备案", "登记", "审核", "核发", "审查")
_REORDER_VERBS = (
    "核发",
    "审批",
    "登记",
    "备案",
    "认定",
    "核准",
    "审查",
    "确认",
    "换发",
    "补办",
    "查询",
    "办理",
    "审核",
    "发放",
    "注销",
    "变更",
)
_INSERT_VERBS = (*_REORDER_VERBS, "许可", "申请")
_INSERT_WORDS = ("企业", "单位", "个人", "申请")
_ANY_VERB_END_RE = re.compile(
    "(?:" + "|".join(sorted({*_INSERT_VERBS, "申报", "新办", "延续", "补发"}, key=len)[::-1]) + ")$"
)

# --- Name helpers ----------------------------------------------------------------------------
_S2T = None
_PINYIN_CACHE: dict[str, str] = {}


def _s2t(text: str) -> str:
    global _S2T
    if _S2T is None:
        from opencc import OpenCC

        _S2T = OpenCC("s2t")
    return _S2T.convert(text)


def _pinyin(ch: str) -> str:
    p = _PINYIN_CACHE.get(ch)
    if p is None:
        from pypinyin import Style, lazy_pinyin

        p = lazy_pinyin(ch, style=Style.TONE3)[0]
        _PINYIN_CACHE[ch] = p
    return p


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def name_key(text: str) -> str:
    """Comparison key used to keep variants from colliding with other catalogue names."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def clean_name(raw: str) -> str:
    """Catalogue form of a county name: level qualifiers removed, brackets full-width."""
    s = _LEVEL_QUALIFIER_RE.sub("", raw.strip())
    s = s.replace("(", "（").replace(")", "）")
    return "".join(s.split())


def _split_suffix(name: str) -> tuple[str, str]:
    m = _TRAILING_BRACKETS_RE.search(name)
    if m and m.start() > 0:
        return name[: m.start()], name[m.start() :]
    return name, ""


def _stem(name: str) -> str:
    base, _ = _split_suffix(name)
    stem = _SITUATION_TAIL_RE.sub("", base)
    return stem or base
