"""Peeling what decorates an item name but is not the item, recognised by its structure.

Units write the owner in front (【吉林省水利厅】X, 吉林省住房和城乡建设厅_X, 区市场监管局—X), a
level marker in any shape (X-省级, X【县级】, 【省级】X, X——县级), list numbering (1. X, （一）X,
① X) and sentence punctuation at either end. :func:`peel` takes these off the ends of a
cleaned name (see :mod:`shixiang.cleaning`: brackets are already ``()``, separators ``-``,
sentence marks ``。``) and says what it took, for the explanation.

Only the *ends* are peeled, and only parts whose structure says what they are: an owner is a
run of characters ending in an organisation word (局, 厅, 委, 中心, 政府 …) that a separator or
a bracket sets apart; a level marker is made only of level words (省, 市, 州, 县, 区, 乡, 镇 …
+ 级, 权限, 行使 …). A level word that is part of the object (省级文物保护单位) is not set apart
by a separator or bracket and stays; bracket qualifiers inside or after the name are the name
model's business (:mod:`shixiang.names`).
"""

from __future__ import annotations

import re

from shixiang.cleaning import CLOSE, ENUM, OPEN, SEP, SPACE, STOP

PEEL_LABELS = {
    "numbering": "序号",
    "owner": "实施主体或部门名称",
    "level": "层级标注",
    "punctuation": "首尾标点",
}

# Level words, alone or combined (市级/县级, 县（市、区）级, 乡镇级, 市本级, 设区的市级权限).
LEVEL_WORDS = (
    "国家|中央|自治区|省|设区的市|地级市|地市|市州|州市|县市区|县区|县市|市|州|盟|地区"
    "|县|区|旗|乡镇|乡|镇|街道|村|社区|苏木|嘎查"
)
LEVEL_MARKER = re.compile(
    rf"(?:(?:{LEVEL_WORDS})(?:本级|级)?(?:[/、,-]|及|和|或)?)+"
    r"(?:本级|层级|权限|行使|实施|管理|事权)?"
)
# Organisation words that end an owner's name.
_ORG = (
    r"(?:局|厅|委员会|委|办公室|办事处|(?<![代协承经督帮])办|中心|人民政府|政府|站|所|院"
    r"|大队|支队|中队|队|处|科|室|馆|联合会|残联|工会|妇联|团委|分局|机关)"
)
_OWNER = re.compile(rf"[\u4e00-\u9fffa-z0-9()]{{1,30}}?{_ORG}")
# A place before the organisation (吉林省…, 长春市…, 区…): an owner in a trailing bracket must
# have one, so that scope qualifiers such as （加油站） are not mistaken for owners.
_PLACE = re.compile(r"[\u4e00-\u9fff]{0,10}?(?:省|市|州|县|区|旗|盟|镇|乡|街道|村|社区)")
_NUMBERING = re.compile(
    r"(?:第)?(?:\d{1,4}(?:[-。]\d{1,4}){0,3}|[一二三四五六七八九十百零〇]{1,4}|[a-z])"
    r"(?:项|条|号)?[-、。)]*"
    r"|\((?:\d{1,4}|[一二三四五六七八九十]{1,3}|[a-z])\)"
    r"|no。?\d{1,4}[-、。)]*"
)
_END_PUNCT = SEP + STOP + ENUM + SPACE
_LEADING_GROUP = re.compile(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)")
# A part set apart by separators (or only by spaces, a weaker sign: an owner needs a place).
_SEPARATED_HEAD = re.compile(
    rf"([^{OPEN}{CLOSE}{SEP}{STOP}{SPACE}]{{2,32}})([{SEP}{STOP}{SPACE}]+)"
)
_SEPARATED_TAIL = re.compile(
    rf"([{SEP}{STOP}{SPACE}]+)([^{OPEN}{CLOSE}{SEP}{STOP}{SPACE}]{{2,32}})$"
)


def is_level_marker(text: str) -> bool:
    """True when ``text`` is made only of level words (县级, 市级/县级, 县(市、区)级, 市本级)."""
    return bool(text) and bool(LEVEL_MARKER.fullmatch(text.replace(OPEN, "").replace(CLOSE, "")))


def is_owner(text: str, *, needs_place: bool = False) -> bool:
    """True when ``text`` names an organisation: it ends in an organisation word (and, with
    ``needs_place``, starts with a place: 区…局, 吉林省…厅)."""
    if not _OWNER.fullmatch(text):
        return False
    return not needs_place or bool(_PLACE.match(text))


def _numbering(text: str) -> int:
    """Length of list numbering at the start of ``text`` (0 when none). Numbering needs a mark
    after it (1. 1、 1) 一、 (1) 第1项): a name may itself start with digits (80周岁以上…)."""
    m = _NUMBERING.match(text)
    if not m:
        return 0
    s = m.group(0)
    marked = s[-1] in "-、。)" or s.startswith(("第", OPEN)) or s.endswith(("项", "条", "号"))
    digits_only_then_sep = s[0].isdigit() and ("-" in s or "。" in s)
    if not (marked or digits_only_then_sep):
        return 0
    if s.startswith("第") and not s.endswith(("项", "条", "号")) and s[-1] not in "-、。)":
        return 0  # 第一类医疗器械…: an ordinal that belongs to the name
    return m.end() if len(text) - m.end() >= 2 else 0


def peel(text: str) -> tuple[str, tuple[str, ...]]:
    """The name without the decorations at its ends, and the kinds peeled (keys of
    :data:`PEEL_LABELS`, in the order met). At least four characters always remain."""
    kinds: list[str] = []

    def take(kind: str) -> None:
        if kind not in kinds:
            kinds.append(kind)

    for _ in range(4):  # a few layers: "1. 【吉林省水利厅】X-省级。"
        before = text
        stripped = text.strip(_END_PUNCT)
        if stripped != text and len(stripped) >= 2:
            text = stripped
            take("punctuation")
        n = _numbering(text)
        if n:
            text = text[n:].lstrip(_END_PUNCT)
            take("numbering")
        m = _LEADING_GROUP.match(text)
        if m and len(text) - m.end() >= 4:
            content = m.group(1)
            if is_level_marker(content):
                text, _ = text[m.end() :].lstrip(_END_PUNCT), take("level")
            elif is_owner(content):
                text, _ = text[m.end() :].lstrip(_END_PUNCT), take("owner")
        m = _SEPARATED_HEAD.match(text)
        if m and len(text) - m.end() >= 4:
            head, spaces_only = m.group(1), not m.group(2).strip()
            if is_level_marker(head):
                text, _ = text[m.end() :], take("level")
            elif is_owner(head, needs_place=spaces_only):
                text, _ = text[m.end() :], take("owner")
        m = _SEPARATED_TAIL.search(text)
        if m and m.start() >= 4:
            tail, spaces_only = m.group(2), not m.group(1).strip()
            if is_level_marker(tail):
                text, _ = text[: m.start()], take("level")
            elif is_owner(tail, needs_place=spaces_only):
                text, _ = text[: m.start()], take("owner")
        if text.endswith(CLOSE):
            start = _trailing_group_start(text)
            if start >= 4 and is_owner(text[start + 1 : -1], needs_place=True):
                text, _ = text[:start], take("owner")
        if text == before:
            break
    return text, tuple(kinds)


def _trailing_group_start(text: str) -> int:
    """Index of the ``(`` that opens the bracket group ``text`` ends with (-1 if none)."""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == CLOSE:
            depth += 1
        elif text[i] == OPEN:
            depth -= 1
            if depth == 0:
                return i
    return -1
