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
from functools import lru_cache

from shixiang.cleaning import CLOSE, ENUM, OPEN, SEP, SPACE, STOP

PEEL_LABELS = {
    "numbering": "序号",
    "owner": "实施主体或部门名称",
    "level": "层级标注",
    "code": "编码",
    "repetition": "重复的文字",
    "punctuation": "首尾标点或括号",
}
# An item code pasted into the name cell (511A0138000000, 62A0011200000101, G-000007-001):
# letters, digits and hyphens with at least six digits. Never part of an item's name.
_CODE = re.compile(r"[0-9a-z][0-9a-z-]{6,}")
# Remarks on how or where a service is delivered, which units append in brackets (（全程
# 网办）, （最多跑一次）, 【已进驻政务大厅】, （暂停办理）): a reading without them is tried.
_REMARK = re.compile(
    r"暂停|全程|网办|网上办|跑一次|跑腿|预约|进驻|大厅|不见面|即来即办|容缺|自助|掌上|秒批|一次办"
)
_GLUED_CODE = re.compile(r"[0-9a-z][0-9a-z-]{7,}(?=[\u4e00-\u9fff])")
_GLUED_CODE_TAIL = re.compile(r"(?<=[\u4e00-\u9fff)])[0-9a-z][0-9a-z-]{7,}$")
_REPEATED_GROUP = re.compile(r"(\([^()]*\))\1+")
# Latin letters between Chinese characters: input-method residue (经营xu许可).
_LATIN_INSIDE = re.compile(r"(?<=[\u4e00-\u9fff])[a-z]+(?=[\u4e00-\u9fff])")


def is_code(text: str) -> bool:
    """True when ``text`` is an item code (see :data:`_CODE`)."""
    return bool(_CODE.fullmatch(text)) and sum(c.isdigit() for c in text) >= 6


# Level words, alone or combined (市级/县级, 县（市、区）级, 乡镇级, 市本级, 设区的市级权限).
LEVEL_WORDS = (
    "国家|中央|自治区|省|设区的市|地级市|地市|地级|市州|州市|县市区|县区|县市|市|州|盟|地区"
    "|县|区|旗|乡镇|乡|镇|街道|村|社区|苏木|嘎查"
)
LEVEL_MARKER = re.compile(
    rf"(?:(?:{LEVEL_WORDS})(?:本级|级)?(?:[/、,-]|及|和|或)?)+"
    r"(?:本级|层级|权限|行使|实施|管理|事权|办理|负责|承办)?"
)
# Organisation words that end an owner's name; the strong ones are never item nouns, the
# others (所, 站, 院, 队 …) often are (律所, 加油站), so they need more evidence.
_ORG_STRONG = (
    r"(?:局|厅|委员会|委|办公室|办事处|人民政府|政府|中心|分局|大队|支队|中队|残联|妇联|团委)"
)
# 办 ends an office (民政办, 发改办) but also verbs: 补办, 新办, 代办, 承办, 通办 …
_NOT_AN_OFFICE = "补新申代协承经督帮转交即在待查兼首联并通可网快自好停创开举主合包照试延缓速"
_ORG = rf"(?:{_ORG_STRONG}|(?<![{_NOT_AN_OFFICE}])办|站|所|院|队|处|科|室|馆|联合会|工会|机关)"
_OWNER = re.compile(rf"[\u4e00-\u9fffa-z0-9()]{{1,30}}?{_ORG}")
_OWNER_STRONG = re.compile(rf"[\u4e00-\u9fffa-z0-9()]{{1,30}}?{_ORG_STRONG}")
# A place before the organisation (吉林省…, 长春市…, 区…).
_PLACE = re.compile(r"[\u4e00-\u9fff]{0,6}?(?:省|市|州|县|区|旗|盟|镇|乡|街道|村|社区)")
_NUMERAL = r"(?:\d{1,4}(?:[-。]\d{1,4}){0,3}|[一二三四五六七八九十百零〇]{1,4}|[ivxlc]{1,6}|[a-z])"
# A counter word (项 条 号 个) follows only an ordinal with 第: in 十九 个体工商户… or 3个人…
# the 个 is the name's own first character.
_NUMBERING = re.compile(
    r"no[-。 ]*\d{1,4}[-、。) ]*"
    rf"|\({_NUMERAL}\)"
    rf"|第 ?{_NUMERAL} ?(?:项|条|号|个)?[-、。) ]*"
    rf"|(?:序号|编号)?[- ]?{_NUMERAL}[-、。) ]*"
)
_SECTION_GLUED = re.compile(r"(.*[-。])\d{1,4}$")
_STRONG_SEPARATORS = SEP + STOP
_WEAK_SEPARATORS = ENUM + SPACE
_SEPARATORS = _STRONG_SEPARATORS + _WEAK_SEPARATORS
_END_PUNCT = _SEPARATORS


@lru_cache(maxsize=4096)
def _run_splitter(separators: str) -> re.Pattern[str]:
    return re.compile("([" + re.escape(separators) + "]+)")


@lru_cache(maxsize=8192)
def _runs(text: str, separators: str = _SEPARATORS) -> tuple[str, ...]:
    """The name as alternating runs of text and of separators; a separator inside brackets
    belongs to its text run (县（市、区）级, （村（社区）级/省本级）).

    Cached: :func:`peel` asks for the runs of the same text several times per layer (both
    ends, the repetition check). Without a bracket, one regular-expression split does it."""
    if OPEN not in text:  # no bracket: every separator is at depth 0
        return tuple(r for r in _run_splitter(separators).split(text) if r)
    runs: list[list[str]] = []
    kinds: list[bool] = []  # True for a run of separators
    depth = 0
    for ch in text:
        if ch == OPEN:
            depth += 1
        elif ch == CLOSE:
            depth = max(depth - 1, 0)
        is_sep = depth == 0 and ch in separators
        if kinds and kinds[-1] == is_sep:
            runs[-1].append(ch)
        else:
            runs.append([ch])
            kinds.append(is_sep)
    return tuple("".join(r) for r in runs)


def is_level_marker(text: str) -> bool:
    """True when ``text`` is made only of level words (县级, 市级/县级, 县(市、区)级, 市本级)."""
    return bool(text) and bool(
        LEVEL_MARKER.fullmatch(text.replace(OPEN, "").replace(CLOSE, "").replace(SPACE, ""))
    )


# Departments as units abbreviate them (区人社局, X【行政审批】, X（税务）, X_住建).
DEPARTMENTS: tuple[str, ...] = (
    "行政审批", "人力资源和社会保障", "人力资源社会保障", "人社", "社保", "市场监督管理",
    "市场监管", "市监", "教科体", "教育", "卫生健康", "卫健", "医疗保障", "医保", "民政",
    "住房和城乡建设", "住建", "自然资源和规划", "自然资源", "生态环境", "交通运输", "交通",
    "农业农村", "水利", "水务", "文化和旅游", "文广旅", "文旅", "商务", "应急管理", "应急",
    "公安", "司法", "税务", "退役军人事务", "林业和草原", "林草", "林业", "财政", "发展改革",
    "发改", "经信", "统计", "残联", "气象", "消防", "城管", "政务服务", "便民服务",
)  # fmt: skip
_DEPARTMENT = re.compile("(?:" + "|".join(DEPARTMENTS) + r")(?:局|厅|委|部门|窗口|办|中心)?")


# An owner written in front with no separator at all (吉林省水利厅取水许可): a place, then an
# organisation word, then at least four characters of name. Only a reading (see names), as
# nothing but the catalogue can tell where such an owner ends.
_BARE_OWNER = re.compile(
    r"^[\u4e00-\u9fff]{0,12}?(?:省|市|州|县|区|旗|盟|镇|乡|街道)[\u4e00-\u9fff]{0,14}?"
    r"(?:局|厅|委员会|委|办公室|中心|人民政府|政府|站|所)(?=[\u4e00-\u9fff]{4})"
)


def bare_owner_length(text: str) -> int:
    """Length of an owner written in front of ``text`` with no separator (0 when none)."""
    m = _BARE_OWNER.match(text)
    return m.end() if m else 0


def is_owner(text: str, *, weak: bool = False) -> bool:
    """True when ``text`` names an organisation: it ends in an organisation word, or it is a
    department as units abbreviate it (行政审批, 人社局, 税务). With ``weak`` (only a space or
    comma sets it apart, or it is a trailing bracket that could be a scope: （加油站）) it must
    also start with a place (区…局, 吉林省…厅), end in a word that never ends an item noun (局,
    厅, 委员会, 中心 …), or be such a department."""
    if _DEPARTMENT.fullmatch(text):
        return True
    if not _OWNER.fullmatch(text):
        return False
    return not weak or bool(_PLACE.match(text)) or bool(_OWNER_STRONG.fullmatch(text))


def _numbering(text: str) -> tuple[int, bool, int]:
    """Length of list numbering at the start of ``text`` (0 when none), whether it is sure,
    and the length of a longer numbering that is not sure (0 when none). Numbering needs a
    mark after it (1. 1、 1) 一、 (1) 第1项 No.1): a name may itself start with digits
    (80周岁以上…) or an ordinal (第一类医疗器械…). A number followed only by a space (1 X) is
    numbering or a name broken by a stray space (8 0周岁…): not sure. A section number glued
    to the name (1.80周岁…, 1-2个体…) is sure up to its last mark; the digits after it may be
    the section's or the name's own (80周岁…)."""
    m = _NUMBERING.match(text)
    if not m or len(text) - m.end() < 4:
        return 0, False, 0
    s = m.group(0)
    if s.startswith(OPEN) or s.startswith(("序号", "编号", "no")):
        return m.end(), True, 0
    if s.rstrip(SPACE).endswith(("项", "条", "号", "个")) or s.rstrip(SPACE)[-1] in "-、。)":
        return m.end(), True, 0
    if any(mark in s.rstrip(SPACE) for mark in "-。"):  # 1-19, 2.3: a section number
        glued = _SECTION_GLUED.fullmatch(s)
        if glued and not s.startswith("第"):
            return len(glued.group(1)), True, m.end()
        return m.end(), True, 0
    if s.endswith(SPACE):
        return m.end(), False, 0
    return 0, False, 0


def _matching_close(text: str, start: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``start`` (-1 if none)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == OPEN:
            depth += 1
        elif text[i] == CLOSE:
            depth -= 1
            if depth == 0:
                return i
    return -1


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


def _decoration(part: str, sep: str) -> str:
    """The kind of decoration ``part`` is (level, owner, numbering), "owner?" for what may be
    a decoration but may as well be the item's own words, or "". ``sep`` says what sets the
    part apart: "strong" (a separator or a bracket), "space" or "comma".

    An owner is sure only behind a strong separator, and then only if its organisation word
    never ends an item noun (局, 厅, 中心 …) or a place opens it (区民政院): 开办互联网上网服务
    营业场所 ends in 所 too. Behind a space or comma it may be an owner, a stray space inside
    the name (对政府 采购…, 城镇排水与污水处 理设施…) or an item of a list (博物馆、图书馆…).
    Numbers behind a space or comma (1 X, 第二 类…) may be numbering or the name's own start."""
    part = part.replace(SPACE, "")
    if is_code(part):
        return "code"
    if is_level_marker(part):
        return "level"
    if is_owner(part):
        if sep == "strong":
            return "owner" if is_owner(part, weak=True) else "owner?"
        return "owner?"
    if _NUMBERING.fullmatch(part):
        return "numbering" if sep == "strong" else "owner?"
    return ""


def _separated(text: str, side: str, greedy: bool) -> tuple[str, str, list[str]]:
    """A decoration that separators set apart at one end (``side``: head or tail): its kind
    and the text without it, or ("", text); and the texts without a part that may be a
    decoration (see :func:`_decoration`), which ``greedy`` takes as one. Spaces inside a
    decoration are noise too (社 区级行使, 应 急管理局), so up to five runs joined by spaces
    only are tried as one part: the longest that is a level marker, else the shortest that is
    another decoration (an owner read across spaces is only ever a maybe)."""
    runs = _runs(text)
    if len(runs) < 3:
        return "", text, []
    order = runs if side == "head" else runs[::-1]
    found: list[tuple[int, str, str]] = []  # (runs joined, kind, rest)
    for k in range(1, 10, 2):  # 1 to 5 text runs with the separators between them
        if k + 1 >= len(order) or (k > 1 and order[k - 2].strip(SPACE)):
            break  # no more runs, or a real separator inside the part
        part_runs, sep = order[:k], order[k]
        part = "".join(part_runs if side == "head" else part_runs[::-1]).replace(SPACE, "")
        rest_runs = order[k + 1 :]
        rest = "".join(rest_runs if side == "head" else rest_runs[::-1])
        if len(part) < 2 or len(rest) < 4 or len(part) > 32:
            continue
        if set(sep) & set(_STRONG_SEPARATORS):
            strength = "strong"
        else:
            strength = "comma" if ENUM in sep else "space"
        kind = _decoration(part, strength)
        if not kind or is_level_marker(rest):
            continue  # not a decoration, or what would remain is one: the part is the name
        if side == "tail" and kind == "numbering":
            continue
        if k > 1 and kind != "level":
            kind = "owner?"  # spaces inside an owner (应 急管理局), or across into the name
        if side == "head" and strength != "strong" and kind == "level":
            kind = "owner?"  # 县级 广播电台…: a stray space inside 县级广播电台, an object
        found.append((k, kind, rest))
    levels = [f for f in found if f[1] == "level"]
    sure = [f for f in found if f[1] not in ("level", "owner?")]
    maybes = [rest for _, kind, rest in found if kind == "owner?"]
    for _, kind, rest in (levels[-1:] or sure[:1]) or ([] if not greedy else found[:1]):
        return kind.rstrip("?"), rest, maybes
    return "", text, maybes


def peel(
    text: str, *, greedy: bool = False, readings: bool = True
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The name without the decorations at its ends; the kinds peeled (keys of
    :data:`PEEL_LABELS`, in the order met); and readings of the name without parts that may
    be decorations but may as well be the item's own words (an owner set apart by a space
    only, a number followed by a space: see :func:`_decoration`), for the matcher to try only
    when the name itself matches nothing: each such part alone, and all of them (``greedy``
    takes every such part as a decoration; ``readings=False`` skips them). At least four
    characters always remain."""
    original = text
    kinds: list[str] = []
    maybe: list[str] = []

    def take(kind: str) -> None:
        if kind not in kinds:
            kinds.append(kind)

    for _ in range(8):  # a few layers: "1. 【吉林省水利厅】X-省级。"
        before = text
        text = _unrepeated(text, take)
        stripped = text.strip(_END_PUNCT)
        if stripped != text and len(stripped) >= 2:
            text = stripped
            take("punctuation")
        glued = _GLUED_CODE.match(text) or _GLUED_CODE_TAIL.search(text)
        if glued and is_code(glued.group(0)):  # 62C001060000补领结婚证
            text = text[: glued.start()] + text[glued.end() :]
            take("code")
        n, sure, longer = _numbering(text)
        if longer:
            maybe.append(text[longer:])
        if n and (sure or greedy):
            text = text[n:].lstrip(_END_PUNCT)
            take("numbering")
        elif n:
            maybe.append(text[n:])
        if text.startswith(OPEN):
            end = _matching_close(text, 0)
            if end == len(text) - 1:  # the whole name in brackets
                text = text[1:-1]
                take("punctuation")
            elif end > 0 and len(text) - end > 4:
                kind = _decoration(text[1:end], "strong")
                rest = text[end + 1 :].lstrip(_END_PUNCT)
                if kind in ("owner?", "") and not greedy:
                    maybe.append(rest)  # 【事项名称】X: no item name opens with a bracket
                elif kind:
                    text = rest
                    take(kind.rstrip("?"))
        for side in ("head", "tail"):
            kind, rest, maybes = _separated(text, side, greedy)
            maybe.extend(maybes)
            if kind:
                text = rest
                take(kind)
        if text.endswith(CLOSE):
            start = _trailing_group_start(text)
            content = text[start + 1 : -1].replace(SPACE, "")
            if start >= 4 and is_code(content):
                text = text[:start]
                take("code")
            elif start >= 4 and is_level_marker(content):
                text = text[:start]  # so that an owner before it is at the end: X、商务委（县级）
                take("level")
            elif start >= 4 and (is_owner(content, weak=True) or (greedy and is_owner(content))):
                text = text[:start]
                take("owner")
            elif start >= 4 and (is_owner(content) or _REMARK.search(content)):
                maybe.append(text[:start])  # （自资规队）, （加油站）, （全程网办）
        if text == before:
            break
    if greedy or not readings:
        return text, tuple(kinds), ()
    # Each maybe taken alone (the rest peeled as the name itself would be), then with every
    # other part that may be a decoration: a name whose own words end like owners (…和机关、
    # 部队、团体…) must not lose them to the greedy pass when only the part in front was one.
    alone = [peel(rest, readings=False)[0] for rest in maybe]
    found = alone + [peel(rest, greedy=True)[0] for rest in maybe]
    if maybe:
        # Greedy peeling takes a different turn only where this pass noted a maybe; without
        # one it ends on ``text`` itself, which is no reading (filtered out below).
        found.append(peel(original, greedy=True)[0])
    # A cell may hold more than the name (事项名称：X, 主项/X, X|行政许可, X_住建): each part
    # that separators set apart is also a reading.
    # Only a real separator sets such a part apart: spaces and list commas are inside names.
    runs = _runs(text.replace(SPACE, ""), _STRONG_SEPARATORS)
    if runs and runs[0][0] in _STRONG_SEPARATORS:
        runs = runs[1:]
    for i in range(2, len(runs), 2):  # drop the parts before or after a separator
        for part in ("".join(runs[i:]), "".join(runs[: len(runs) - i])):
            if len(part) >= 4:
                found.append(peel(part.strip(_END_PUNCT), greedy=True)[0])
    latin = _LATIN_INSIDE.sub("", text)
    if latin != text:
        found.append(latin)
    found = [r for r in dict.fromkeys(found) if r.replace(SPACE, "") != text.replace(SPACE, "")]
    return text, tuple(kinds), tuple(found)


def _unrepeated(text: str, take) -> str:
    """The name written once where the cell holds it twice (X X, XX, X（补办）（补办））."""
    if ")(" in text:
        once = _REPEATED_GROUP.sub(r"\1", text)
        if once != text:
            text = once
            take("repetition")
    bare = text.replace(SPACE, "")
    half = len(bare) // 2
    if len(bare) >= 8 and len(bare) % 2 == 0 and bare[:half] == bare[half:]:
        take("repetition")
        return bare[:half]
    runs = _runs(text)
    first = runs[0].replace(SPACE, "") if runs else ""
    if len(runs) == 3 and len(first) >= 4 and runs[0][0] not in _SEPARATORS and first == runs[2]:
        take("repetition")
        return runs[0]
    return text
