"""Independent evaluation data for the 政务服务事项 matcher: a noise model built from classes.

Why independent: the matcher (``shixiang/names.py``, ``matching.py``) and the old generator
(``dev/synth/``) share one vocabulary of variations, so scoring one with the other is
circular. This module was written without reading either. Its noise comes from *classes*:
Unicode general categories enumerated with :mod:`unicodedata` (every Cf format character, every
Zs/Zl/Zp space, every Ps/Pe bracket pair, every Pi/Pf quote, every punctuation mark of the blocks
people type from, every wide/narrow compatibility form) and decorations composed structurally
(owner = region + department + organisation suffix; level marker = level word + 级 + optional
权限/行使, in any bracket or after any separator), not from a short list of expected forms.
The few word lists (verbs, abbreviations, situations) serve only the harder families.

    python bench/noise_model.py --out DIR [--seed N] [--rows N] [--hard]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import unicodedata
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from shixiang.config import LEVELS
from shixiang.schema import CATALOGUE_COLUMNS, ITEM_COLUMNS

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference" / "guangan_items.csv"

# --- Unicode classes -------------------------------------------------------------------------
Blocks = tuple[tuple[int, int], ...]
# Prepended_Concatenation_Mark (PropList.txt): Cf characters that are *visible* signs (Arabic
# number signs…), so they are no "invisible" noise.
PCM = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2")
PCM |= {"\U000110bd", "\U000110cd"}
# Blocks people type punctuation from: Basic Latin, Latin-1, General Punctuation, CJK Symbols,
# katakana middle dot, vertical forms, CJK compatibility / small forms, half- and full-width forms.
TYPED_BLOCKS: Blocks = ((0x21, 0xBF), (0x2010, 0x205E), (0x3000, 0x303F), (0x30FB, 0x30FB))
TYPED_BLOCKS += ((0xFE10, 0xFE1F), (0xFE30, 0xFE6F), (0xFF00, 0xFFEF))
CJK_BLOCKS: Blocks = ((0x3000, 0x303F), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF))
# Number forms, enclosed alphanumerics, dingbat circled digits, parenthesised/circled ideographs.
NUMERAL_BLOCKS: Blocks = ((0x2150, 0x218F), (0x2460, 0x24FF), (0x2776, 0x2793))
NUMERAL_BLOCKS += ((0x3220, 0x3229), (0x3280, 0x3289), (0x1F100, 0x1F10C))


def _in(c: str, blocks: Blocks) -> bool:
    return any(a <= ord(c) <= b for a, b in blocks)


def _named(chars: tuple[str, ...], pattern: str) -> tuple[str, ...]:
    """The characters whose Unicode name matches ``pattern``."""
    return tuple(c for c in chars if re.search(pattern, unicodedata.name(c, "")))


@cache
def categories() -> dict[str, tuple[str, ...]]:
    """Every assigned code point of the categories used here, by general category."""
    out: dict[str, list[str]] = defaultdict(list)
    for cp in range(0x110000):
        cat = unicodedata.category(chr(cp))
        if cat[0] in "PZ" or cat in ("Cf", "No", "Nl", "Mn"):
            out[cat].append(chr(cp))
    return {k: tuple(v) for k, v in out.items()}


def _pairs(opens: tuple[str, ...], closes: tuple[str, ...]) -> list[tuple[str, str]]:
    """Each opening character with its closing partner, found by name (LEFT→RIGHT…) or as the
    next code point; openings without a partner are left out."""
    close_set, out = set(closes), []
    for o in opens:
        n = unicodedata.name(o, "")
        names = [n.replace(a, b) for a, b in (("LEFT", "RIGHT"), ("OPENING", "CLOSING")) if a in n]
        cands = [unicodedata.lookup(x) for x in names if x in _ALL_NAMES] + [chr(ord(o) + 1)]
        out += [(o, c) for c in cands if c in close_set][:1]
    return out


_C = categories()
_ALL_NAMES = {unicodedata.name(c, "") for cat in ("Pe", "Pf") for c in _C[cat]}
_QUOTE = "QUOTATION|APOSTROPHE"
#: Invisible characters: all Cf except the visible PCM signs, plus every variation selector.
INVISIBLE = tuple(c for c in _C["Cf"] if c not in PCM) + _named(_C["Mn"], "VARIATION SELECTOR")
INVISIBLE_SET = frozenset(INVISIBLE)
#: Whitespace: every Zs, Zl, Zp character and the typed controls tab, newline, CR.
SPACES = _C["Zs"] + _C["Zl"] + _C["Zp"] + ("\t", "\n", "\r")
_ALL_PAIRS = _pairs(_C["Ps"], _C["Pe"])
#: Bracket pairs: every Ps/Pe pair that is not a quotation mark.
BRACKET_PAIRS = tuple(p for p in _ALL_PAIRS if not _named(p[:1], _QUOTE))
#: Quote pairs: Pi/Pf pairs, quotation-mark Ps/Pe pairs, CJK corner/angle brackets, straight quotes.
QUOTE_PAIRS = tuple(
    _pairs(_C["Pi"], _C["Pf"])
    + [p for p in _ALL_PAIRS if p not in BRACKET_PAIRS]
    + [p for p in BRACKET_PAIRS if _in(p[0], CJK_BLOCKS) and _named(p[:1], "CORNER|ANGLE")]
    + [('"', '"'), ("'", "'"), ("„", "“"), ("‚", "‘")]
)
#: Punctuation people type (Po/Pd of the typed blocks, quotes excepted).
TYPED_PUNCT = tuple(c for c in _C["Po"] + _C["Pd"] if _in(c, TYPED_BLOCKS))
TYPED_PUNCT = tuple(c for c in TYPED_PUNCT if not _named((c,), _QUOTE))
#: Separators between a decoration and the name: typed Pd/Po, every Pc connector.
SEPARATORS = TYPED_PUNCT + _C["Pc"]
#: Separators after a list number: stops, commas, colons, dashes, dots, closing brackets.
NUMBER_SEPARATORS = _named(SEPARATORS, "FULL STOP|COMMA|COLON|HYPHEN|DASH|DOT|BULLET|SOLIDUS")
NUMBER_SEPARATORS += tuple(c for _, c in BRACKET_PAIRS if _in(c, TYPED_BLOCKS))
#: Enclosed / parenthesised / circled / Roman list numerals (No, Nl) with values 1–20.
LIST_NUMERALS = tuple(
    c
    for c in _C["No"] + _C["Nl"]
    if _in(c, NUMERAL_BLOCKS) and not _named((c,), "FRACTION") and 1 <= unicodedata.numeric(c) <= 20
)


@cache
def width_map() -> dict[str, str]:
    """Each <wide>/<narrow> compatibility form → its plain character, and the reverse."""
    out: dict[str, str] = {}
    for cp in range(0x10000):
        d = unicodedata.decomposition(chr(cp))
        if d.startswith(("<wide>", "<narrow>")):
            out[chr(cp)] = base = chr(int(d.split()[1], 16))
            out.setdefault(base, chr(cp))
    return out


def key(text: str) -> str:
    """Comparison key used for collision checks: NFKC, no whitespace, no invisible characters."""
    s = unicodedata.normalize("NFKC", text)
    return "".join(c for c in s if not c.isspace() and c not in INVISIBLE_SET).lower()


# --- Domain vocabulary -----------------------------------------------------------------------
def _w(words: str) -> tuple[str, ...]:
    """A vocabulary written as whitespace-separated words."""
    return tuple(words.split())


def _map(words: str) -> dict[str, str]:
    """A mapping written as whitespace-separated ``from>to`` words."""
    return {a: b for a, _, b in (w.partition(">") for w in words.split())}


TYPES = _map("1>行政许可 5>行政给付 7>行政确认 8>行政奖励 9>行政裁决 10>其他行政权力 20>公共服务")
TYPE_LETTER = _map("1>A 5>G 7>F 8>H 9>E 10>Z 20>B")
USE_LABELS = _map(
    "province>省级 city>市级 county>县级 township>镇（乡、街道）级 village>村（社区）级"
)
# Handling situations of split families (no near-synonyms such as 延续/延期 side by side).
SITUATIONS = _w("新办 新设 变更 延续 注销 补办 换发 增项")
_NOT_SPLIT = (*SITUATIONS, *_w("设立 成立 延期 换证 补证 登记 备案 、"))
PLACE_CHARS = "白松青江河山安平宁丰阳林兴源东西南北华泉桦柳榆凤龙嘉德和新岭川原明通化延永春富桥湖溪"
REGION_SUFFIXES = _w("省 市 州 盟 县 区 旗 镇 乡 街道 村 社区")
# Department stems; the county's own abbreviations (人社, 住建…) come from the reference CSV.
DEPT_STEMS = _w(
    "住房和城乡建设 人力资源和社会保障 市场监督管理 水利 交通运输 自然资源 生态环境 卫生健康 "
    "教育 文化和旅游 民政 公安 农业农村 应急管理"
)
ORG_SUFFIXES = _w("局 厅 委 委员会 办 办公室 中心 站 所 院 队 分局 服务中心 便民服务中心 管理局")
LOCAL_ORGS = _w("人民政府 政府 便民服务中心 政务服务中心 党群服务中心 村民委员会")
LEVEL_STEMS = _w(
    "省 市 州 盟 地 县 区 旗 县区 区县 县（市、区） 设区的市 市本 省本 乡 镇 乡镇 街道 "
    "镇（乡、街道） 村 社区 村（社区）"
)
LEVEL_TAILS = ("", "", "", "权限", "行使", "实施", "办理")
GENERIC_TAILS = _w("服务 事项 业务 办理 手续 工作 办事 业务办理 事项办理 手续办理 相关业务 申办")
VERBS = _w(
    "审批 备案 登记 许可 变更 核发 查询 注销 审查 补办 认定 咨询 延续 换发 确认 裁决 核准 "
    "申领 申请 发放 审核 签发"
)
EXPANSIONS = _map(
    "审批>审核批准 核发>核准发放 许可>行政许可 登记>登记办理 备案>备案办理 申领>申请领取 "
    "查询>查询服务 咨询>咨询服务 签发>签署发放 注销>注销办理 审核>审查核实"
)
ABBREVIATIONS = _map(
    "中华人民共和国> 社会保险>社保 医疗保险>医保 住房公积金>公积金 营业执照>执照 "
    "社会保障卡>社保卡 最低生活保障>低保 危险化学品>危化品 人力资源和社会保障>人社 "
    "个体工商户>个体户 出租汽车>出租车 机动车驾驶证>驾驶证 高等学校>高校 公共租赁住房>公租房"
)
CONNECTOR_WORDS = _w("涉及 以及 普及 及时 参与 共和 和平 和谐 与否")
LOCAL_THEMES = _w("庭院经济 乡村振兴 人才引进 夜间经济 文明家庭 生态护林 老旧小区 冰雪旅游")
LOCAL_THEMES += _w("林下经济 返乡创业 银龄互助 特色农业")
LOCAL_OBJECTS = _w("奖补资金 示范户 积分 补助 星级评定 专项扶持 认定证书")
LOCAL_ACTIONS = _w("申领 申报 兑现 评选 登记 审核")

_BR_OPEN, _BR_CLOSE = "（(", ")）"
_BRACKET = r"[（(][^（()）]*[)）]"
_LEVEL_QUALIFIER = re.compile(r"(?:(?:省|市|县|区|乡|镇|设区的市)级?[/、]?)+(?:权限|行使)?")


def strip_level_qualifiers(name: str) -> str:
    """The real name without trailing level qualifiers（县级）(市级/县级)（县级行使）… and
    trailing delegation notes (据省政府令…权限下放…); inner qualifiers are kept."""
    while m := re.search(rf"{_BRACKET}\s*$", name):
        inner = m.group()[1:].rstrip()[:-1]
        if not (_LEVEL_QUALIFIER.fullmatch(inner) or re.search(r"权限下放|省政府.*号", inner)):
            break
        name = name[: m.start()].rstrip()
    return name


def bracket_spans(name: str) -> list[tuple[int, int]]:
    """(open, close) indexes of the name's （）/() pairs, innermost first."""
    stack, out = [], []
    for i, c in enumerate(name):
        if c in _BR_OPEN:
            stack.append(i)
        elif c in _BR_CLOSE and stack:
            out.append((stack.pop(), i))
    return out


def strip_all_brackets(name: str) -> str:
    return re.sub(_BRACKET, "", re.sub(_BRACKET, "", name))


def chinese_numeral(n: int) -> str:
    d = "零一二三四五六七八九"
    return d[n] if n < 10 else ("" if n < 20 else d[n // 10]) + "十" + (d[n % 10] if n % 10 else "")


def region_name(rng: random.Random, suffixes: tuple[str, ...] = REGION_SUFFIXES) -> str:
    """A made-up place name: 1–3 place characters and an administrative suffix."""
    n = rng.choice((1, 2, 2, 2, 3))
    return "".join(rng.choice(PLACE_CHARS) for _ in range(n)) + rng.choice(suffixes)


def abbreviate(stem: str) -> str:
    """Structural department abbreviation: first character of each two-character word
    (人力资源和社会保障 → 人社, 市场监督管理 → 市监管)."""
    words = [w[i : i + 2] for w in re.split("[和与及]", stem) for i in range(0, len(w), 2)]
    return "".join(w[0] for w in words[:3]) if len(words) > 1 else stem


@cache
def reference_org_stems() -> tuple[str, ...]:
    """Department stems of the real county (区人社局 → 人社) from the reference CSV."""
    with REFERENCE.open(encoding="utf-8") as fh:
        depts = {r["department"] for r in csv.DictReader(fh)}
    stems = {re.sub(r"(分局|大队|局|办|部|联)$", "", re.sub("^(广安区|区)", "", d)) for d in depts}
    return tuple(sorted(s for s in stems if len(s) >= 2))


def owner_name(rng: random.Random) -> str:
    """An owner/department name composed as optional region + department + organisation suffix."""
    r = rng.random()
    region = "" if r < 0.2 else rng.choice("省市区县") if r < 0.4 else region_name(rng)
    if rng.random() < 0.2:
        region = region_name(rng, ("市", "州")) + region  # 某某市某某县…
    if rng.random() < 0.1:
        return (region or region_name(rng, ("镇", "乡", "街道", "村"))) + rng.choice(LOCAL_ORGS)
    stem = rng.choice(DEPT_STEMS + reference_org_stems())
    return region + (abbreviate(stem) if rng.random() < 0.4 else stem) + rng.choice(ORG_SUFFIXES)


def _sep(rng: random.Random) -> str:
    """A separator: 1–2 punctuation characters (maybe flanked by spaces) or 1–2 spaces."""
    r = rng.random()
    if r < 0.2:
        return "".join(rng.choice(_C["Zs"]) for _ in range(rng.randint(1, 2)))
    s = rng.choice(SEPARATORS) * (2 if rng.random() < 0.2 else 1)
    return f" {s} " if r > 0.9 else s


def _wrap(text: str, rng: random.Random) -> str:
    o, c = rng.choice(BRACKET_PAIRS)
    return o + text + c


# --- Noise families --------------------------------------------------------------------------
@dataclass
class Ctx:
    """What the families may consult: catalogue and negative keys (to refuse collisions)."""

    catalogue_keys: dict[str, int] = field(default_factory=dict)  # key → item index
    negative_keys: set[str] = field(default_factory=set)
    stripped: Counter[str] = field(default_factory=Counter)  # bracket-free keys, all names
    homophones: dict[str, tuple[str, ...]] = field(default_factory=dict)


Family = Callable[[str, random.Random, Ctx], "str | None"]


def _insert(name: str, chars: tuple[str, ...], rng: random.Random) -> str:
    s = list(name)
    for _ in range(rng.randint(1, 3)):
        s.insert(rng.randint(0, len(s)), rng.choice(chars))
    return "".join(s)


def invisible(name: str, rng: random.Random, ctx: Ctx) -> str:
    """1–3 characters of category Cf or variation selectors anywhere (copy-paste residue)."""
    return _insert(name, INVISIBLE, rng)


def whitespace(name: str, rng: random.Random, ctx: Ctx) -> str:
    """1–3 Zs/Zl/Zp characters, tabs, newlines or CRs anywhere, leading and trailing too."""
    return _insert(name, SPACES, rng)


def width_case(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Wide ↔ narrow compatibility forms of the name's ASCII, brackets and CJK punctuation."""
    wm = width_map()
    idx = [i for i, c in enumerate(name) if c in wm]
    if not idx:
        return None
    chosen = idx if rng.random() < 0.5 else rng.sample(idx, rng.randint(1, len(idx)))
    return "".join(wm[c] if i in chosen else c for i, c in enumerate(name))


def bracket_style(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """The name's bracket pairs rewritten with any Ps/Pe pair, open and close maybe mismatched."""
    s = list(name)
    for o, c in bracket_spans(name):
        s[o], s[c] = rng.choice(BRACKET_PAIRS)[0], rng.choice(BRACKET_PAIRS)[1]
        if rng.random() < 0.7:
            s[o], s[c] = rng.choice(BRACKET_PAIRS)
    return "".join(s) if bracket_spans(name) else None


def quote_style(name: str, rng: random.Random, ctx: Ctx) -> str:
    """The whole name, or a span of it, in any quote pair (Pi/Pf, CJK corner/angle brackets)."""
    o, c = rng.choice(QUOTE_PAIRS)
    i = rng.randint(0, max(0, len(name) - 4))
    j = rng.randint(i + 2, min(len(name) - 1, i + 8)) if len(name) >= 6 else 0
    if rng.random() < 0.6 or not j or any(ch in _BR_OPEN + _BR_CLOSE for ch in name[i:j]):
        return o + name + c
    return name[:i] + o + name[i:j] + c + name[j:]


def terminal_punct(name: str, rng: random.Random, ctx: Ctx) -> str:
    """1–3 typed Po/Pd marks at the end, the start or both (。．.!！?？;；,，、…‥·•：:)."""
    marks = "".join(rng.choice(TYPED_PUNCT) for _ in range(rng.randint(1, 3)))
    r = rng.random()
    return name + marks if r < 0.65 else marks + name if r < 0.85 else marks + name + marks


def numbering(name: str, rng: random.Random, ctx: Ctx) -> str:
    """A list number in front: 1. 1、 (1) （一） 一、 ① ⑴ ⒈ Ⅲ 第1项 No.1 01- 1-1 …"""
    n, r = rng.randint(1, 30), rng.random()
    plain = [str(n), f"{n:02d}", chinese_numeral(n), f"{rng.randint(1, 9)}-{n}", f"1.{n}"]
    plain.append("".join(width_map()[c] for c in str(n)))
    if r < 0.35:  # a plain number needs a separator (1建设… would read as part of the name)
        return rng.choice(plain) + rng.choice(NUMBER_SEPARATORS) + name
    if r < 0.55:
        tok = _wrap(rng.choice(plain), rng)
    elif r < 0.75:
        tok = rng.choice(LIST_NUMERALS)
    elif r < 0.88:
        tok = f"第{rng.choice((str(n), chinese_numeral(n)))}{rng.choice('项条个号')}"
    else:
        tok = rng.choice(("No.", "NO.", "no.", "№", "序号", "编号")) + str(n) + _sep(rng)
    return tok + rng.choice(("", " ", "\u3000")) + name


def owner_prefix(name: str, rng: random.Random, ctx: Ctx) -> str:
    """The owner written in front (or after), in a bracket or behind a separator."""
    owner, r = owner_name(rng), rng.random()
    if r < 0.3:
        return _wrap(owner, rng) + rng.choice(("", "", " ")) + name
    if r < 0.75:
        return owner + _sep(rng) + name
    return name + (_sep(rng) + owner if r < 0.9 else _wrap(owner, rng))


def level_marker_text(rng: random.Random) -> str:
    """A level word: 县级, 设区的市级权限, 市本级, 县（市、区）级, 市级/县级 …"""
    text = rng.choice(LEVEL_STEMS) + "级" + rng.choice(LEVEL_TAILS)
    return rng.choice(LEVEL_STEMS) + "级/" + text if rng.random() < 0.12 else text


def level_marker(name: str, rng: random.Random, ctx: Ctx) -> str:
    """A level marker in a bracket or behind a separator, after or before the name
    (never glued on bare: 省级文物保护单位 is another object, not a marker)."""
    text, r = level_marker_text(rng), rng.random()
    if r < 0.5:
        return name + _wrap(text, rng)
    if r < 0.75:
        return name + _sep(rng) + text
    return _wrap(text, rng) + name if r < 0.9 else text + _sep(rng) + name


def generic_tail(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A generic trailing word: 服务, 事项, 业务, 办理, 手续 …"""
    tail = rng.choice(GENERIC_TAILS)
    return None if name.endswith(tail) else name + tail


def inner_qualifier_dropped(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """One bracket qualifier of the catalogue name left out (建设工程（含临时建设）规划许可证核发 →
    建设工程规划许可证核发), only when no other name shares the bracket-free form."""
    spans = bracket_spans(name)
    outer = [s for s in spans if not any(o < s[0] < c for o, c in spans)]
    if not outer or ctx.stripped[key(strip_all_brackets(name))] > 1:
        return None
    o, c = rng.choice(outer)
    out = name[:o] + name[c + 1 :]
    return out if len(key(out)) >= 4 else None


def _core(name: str) -> tuple[str, str, str] | None:
    """(object, final verb, trailing bracket suffix) of a name ending in an action verb."""
    m = re.fullmatch(rf"(.+?)((?:{_BRACKET})*)", name)
    core, suffix = (m.group(1), m.group(2)) if m else (name, "")
    verb = next((v for v in VERBS if core.endswith(v)), None)
    if verb is None or len(core) < len(verb) + 3 or core[-len(verb) - 1] in "的、和及与":
        return None
    return core[: -len(verb)], verb, suffix


def verb_first(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """The final action verb moved to the front (…许可证核发 → 核发…许可证)."""
    p = _core(name)
    return None if p is None or p[0].startswith("对") else p[1] + p[0] + p[2]


def de_verb(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """的 inserted before the final verb (X的核发)."""
    p = _core(name)
    return None if p is None else p[0] + "的" + p[1] + p[2]


def verb_expansion(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A verb written out (审批 → 审核批准, 核发 → 核准发放, 许可 → 行政许可 …)."""
    hits = [(m.start(), v) for v in EXPANSIONS for m in re.finditer(v, name)]
    hits = [(i, v) for i, v in hits if not (v == "许可" and name[i + 2 : i + 3] == "证")]
    if not hits:
        return None
    i, v = rng.choice(hits)
    return name[:i] + EXPANSIONS[v] + name[i + len(v) :]


def abbreviation(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A common abbreviation (社会保险 → 社保, 中华人民共和国 dropped …) or its expansion."""
    options = [(long, short) for long, short in ABBREVIATIONS.items() if long in name]
    options += [(short, long) for long, short in ABBREVIATIONS.items() if short and short in name]
    options = [(a, b) for a, b in options if not (b and b in name and a in b)]
    if not options:
        return None
    a, b = rng.choice(options)
    out = name.replace(a, b, 1)
    return out if len(key(out)) >= 4 else None


def connector_dropped(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """One connector 的/和/及/与/、 dropped (not inside words such as 涉及, 参与, 共和)."""
    words = CONNECTOR_WORDS
    idx = [i for i, c in enumerate(name[:-1]) if c in "的和及与、" and i > 0]
    idx = [i for i in idx if name[i - 1 : i + 1] not in words and name[i : i + 2] not in words]
    i = rng.choice(idx) if idx else 0
    return name[:i] + name[i + 1 :] if idx else None


def _outside_brackets(name: str) -> list[int]:
    inside = {i for o, c in bracket_spans(name) for i in range(o, c + 1)}
    return [i for i in range(1, len(name)) if i not in inside and "\u4e00" <= name[i] <= "\u9fff"]


def char_missing(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """One interior character dropped (not the first, not inside a bracket qualifier)."""
    idx = _outside_brackets(name)
    i = rng.choice(idx) if idx else 0
    return name[:i] + name[i + 1 :] if idx and len(name) >= 5 else None


def homophone_typo(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """One character replaced by a same-pinyin (same tone) character of the catalogue."""
    idx = [i for i in _outside_brackets(name) if ctx.homophones.get(name[i])]
    i = rng.choice(idx) if idx else 0
    return name[:i] + rng.choice(ctx.homophones[name[i]]) + name[i + 1 :] if idx else None


def sibling_code(name: str, rng: random.Random, ctx: Ctx) -> str:
    """The exact name; the generator makes the claimed 基本编码 another item's code."""
    return name


_POSITIVE = (invisible, whitespace, width_case, bracket_style, quote_style, terminal_punct)
_POSITIVE += (numbering, owner_prefix, level_marker, generic_tail, inner_qualifier_dropped)
FAMILIES: OrderedDict[str, Family] = OrderedDict((f.__name__, f) for f in _POSITIVE)
#: Families that only decorate (the recall goal: each must be matched, not merely reviewed).
PURE = _w("invisible whitespace width_case bracket_style terminal_punct numbering owner_prefix")
PURE += ("level_marker",)
# Composition order of `combined`: edits inside the name first, affixes next, invisible noise last.
_COMBINE_ORDER = _w("inner_qualifier_dropped bracket_style width_case quote_style generic_tail")
_COMBINE_ORDER += _w("level_marker owner_prefix numbering terminal_punct whitespace invisible")


def combined(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """2–3 of the positive families applied together."""
    chosen = set(rng.sample(_COMBINE_ORDER, rng.randint(2, 3)))
    applied = 0
    for fam in _COMBINE_ORDER:
        if fam in chosen and (out := FAMILIES[fam](name, rng, ctx)) is not None:
            name, applied = out, applied + 1
    return name if applied >= 2 else None


FAMILIES["combined"] = combined
_HARD = (verb_first, de_verb, verb_expansion, abbreviation, connector_dropped, char_missing)
HARD_FAMILIES: OrderedDict[str, Family] = OrderedDict(
    (f.__name__, f) for f in (*_HARD, homophone_typo, sibling_code)
)
NEGATIVE_FAMILIES = ("withheld_item", "withheld_sibling", "object_sibling", "local_item")


# --- Catalogue -------------------------------------------------------------------------------
@dataclass
class Item:
    """One business-handling item (in the catalogue, or withheld from it)."""

    business_code: str
    base_code: str
    main_name: str
    name: str
    type_code: str
    levels: tuple[str, ...]
    department: str
    basis: str
    handling: str
    limit: int


@dataclass
class Negative:
    """A name a unit lists that is not in the catalogue, with its kind and tempting code."""

    name: str
    family: str
    levels: tuple[str, ...]
    base_code: str = ""  # its own code when it has one (withheld item, family code of a sibling)
    tempting_code: str = ""  # a catalogue item's code it resembles (object siblings)


@dataclass
class World:
    """The catalogue items, the negatives and the context the families consult."""

    items: list[Item]
    negatives: list[Negative]
    ctx: Ctx


def _levels(rng: random.Random, type_code: str) -> tuple[str, ...]:
    """行使层级: always 县级 (the names are a county's); 村 only for 公共服务, and then 镇 too."""
    public = type_code == "20"
    lv = {"county"} | {x for x, p in (("province", 0.3), ("city", 0.55)) if rng.random() < p}
    lv |= {"township"} if rng.random() < (0.45 if public else 0.25) else set()
    lv |= {"township", "village"} if public and rng.random() < 0.35 else set()
    return tuple(x for x in LEVELS if x in lv)


def build_world(seed: int = 1) -> World:
    """Catalogue items and negatives from the real 广安区 names (deterministic for a seed)."""
    rng = random.Random(seed)
    with REFERENCE.open(encoding="utf-8") as fh:
        real = list(csv.DictReader(fh))
    groups: dict[str, list[tuple[str, dict[str, str]]]] = {}
    seen: set[str] = set()
    for r in real:  # siblings of one main item share a 基本编码; 未分类 items stand alone
        name = strip_level_qualifiers(r["name"].strip())
        if key(name) not in seen:
            seen.add(key(name))
            main = strip_level_qualifiers(r["main_item"])
            groups.setdefault(main if main != "未分类" else f"\0{name}", []).append((name, r))
    items: list[Item] = []
    negatives: list[Negative] = []
    for serial, (main, members) in enumerate(groups.items(), start=1):
        r0, main, names = members[0][1], main.lstrip("\0"), [m[0] for m in members]
        tc = r0["task_type_code"]
        # A share of 行政许可 items (…许可/审批/核发) split into handling-situation siblings.
        split = re.search("(许可|许可证|核发|审批)$", main) and not any(
            w in main for w in _NOT_SPLIT
        )
        if len(names) == 1 and tc == "1" and split and rng.random() < 0.35:
            situations = (
                rng.choice(SITUATIONS[:2]),
                *rng.sample(SITUATIONS[2:], rng.randint(1, 3)),
            )
            names = [f"{main}（{s}）" for s in situations]
        base, levels = f"22{TYPE_LETTER[tc]}{serial:05d}0000", _levels(rng, tc)
        dept = re.sub("^(广安区|区)", "", r0["department"])
        handling = "即办件" if rng.random() < 0.3 else "承诺件"
        limit = 1 if handling == "即办件" else rng.choice((5, 10, 15, 20, 30, 60))
        basis = f"《{abbreviate(dept)[:4]}管理条例》第{chinese_numeral(rng.randint(2, 60))}条"
        fam = [
            Item(f"{base}{k:02d}00", base, main, n, tc, levels, dept, basis, handling, limit)
            for k, n in enumerate(names, start=1)
        ]
        if len(fam) == 1 and rng.random() < 0.04:
            negatives.append(Negative(fam[0].name, "withheld_item", levels, base))
            continue
        if len(fam) >= 3 and rng.random() < 0.4:
            out = fam.pop(rng.randrange(1, len(fam)))
            negatives.append(Negative(out.name, "withheld_sibling", levels, base))
        items.extend(fam)
    ctx = Ctx(catalogue_keys={key(it.name): i for i, it in enumerate(items)})
    for it in items:  # object siblings: 县级文物保护单位… → 市级/省级文物保护单位…
        others = [lv + it.name[2:] for lv in ("省级", "市级", "县级")]
        negatives += [
            Negative(o, "object_sibling", it.levels, "", it.base_code)
            for o in others
            if re.match("(省级|市级|县级)", it.name) and key(o) not in ctx.catalogue_keys
        ]
    stripped = [key(strip_all_brackets(x.name)) for x in items]
    locals_: set[str] = set()
    while len(locals_) < 40:  # self-built items: [place] theme object action
        region = region_name(rng, ("镇", "乡", "村", "县", "区")) if rng.random() < 0.6 else ""
        n = region + "".join(rng.choice(x) for x in (LOCAL_THEMES, LOCAL_OBJECTS, LOCAL_ACTIONS))
        if key(n) not in ctx.catalogue_keys and key(n) not in stripped and n not in locals_:
            locals_.add(n)
            negatives.append(Negative(n, "local_item", (rng.choice(LEVELS),)))
    ctx.negative_keys = {key(n.name) for n in negatives}
    ctx.stripped = Counter(stripped + [key(strip_all_brackets(n.name)) for n in negatives])
    ctx.homophones = _homophones([it.name for it in items])
    return World(items, negatives, ctx)


def _homophones(names: list[str]) -> dict[str, tuple[str, ...]]:
    """Each CJK character of the names → the other characters with its pinyin and tone."""
    from pypinyin import Style, pinyin

    chars = sorted({c for n in names for c in n if "\u4e00" <= c <= "\u9fff"})
    sound = {c: pinyin(c, style=Style.TONE3)[0][0] for c in chars}
    by_sound: dict[str, list[str]] = defaultdict(list)
    for c in chars:
        by_sound[sound[c]].append(c)
    return {c: tuple(x for x in by_sound[sound[c]] if x != c) for c in chars}


def write_catalogue(world: World, folder: Path) -> Path:
    """The catalogue as one UTF-8 CSV with the contract's Chinese headers."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "通用目录.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([c.header for c in CATALOGUE_COLUMNS])
        for it in world.items:
            levels = "、".join(USE_LABELS[x] for x in it.levels)
            codes = (it.business_code, it.base_code, it.main_name, it.name, TYPES[it.type_code])
            w.writerow([*codes, levels, it.basis, it.department, it.handling, it.limit])
    return path


# --- Province --------------------------------------------------------------------------------
@dataclass
class Unit:
    """An implementing unit: its level, 12-digit division code, place name and folder."""

    level: str
    code: str
    region: str
    folder: str


def make_units(rng: random.Random) -> list[Unit]:
    """One province (吉林, 22), 4 cities of 3–4 counties, 16–20 townships, 10–14 villages."""
    names: set[str] = set()

    def fresh(suffixes: tuple[str, ...]) -> str:
        while (n := region_name(rng, suffixes)) in names or len(n) < 3:
            pass
        names.add(n)
        return n

    def children(parents: list[Unit], n: int, level: str, digits: int, sfx: str) -> list[Unit]:
        """``n`` units under randomly chosen parents, numbered within each parent."""
        seen: Counter[str] = Counter()
        out = []
        for parent in sorted(rng.choices(parents, k=n), key=parents.index):
            seen[parent.code] += 1
            prefix = parent.code[: {"township": 6, "village": 9}[level]]
            number = seen[parent.code] + (200 if level == "village" and rng.random() < 0.5 else 0)
            code = (prefix + f"{number:0{digits}d}").ljust(12, "0")
            out.append(Unit(level, code, fresh(_w(sfx)), f"{level}/{parent.region}"))
        return out

    cities = [
        Unit("city", f"22{i:02d}00000000", fresh(("市", "市", "州")), "city") for i in (1, 2, 3, 4)
    ]
    counties = [
        Unit("county", f"{c.code[:4]}{k:02d}000000", fresh(("县", "区", "市")), "county")
        for c in cities
        for k in range(2, 2 + rng.randint(3, 4))
    ]
    towns = children(counties, rng.randint(16, 20), "township", 3, "镇 乡 街道")
    villages = children(towns, rng.randint(10, 14), "village", 3, "村 社区")
    return [
        Unit("province", "220000000000", "吉林省", "province"),
        *cities,
        *counties,
        *towns,
        *villages,
    ]


_WEIGHTS = {"province": 4.0, "city": 2.5, "county": 1.6, "township": 0.7, "village": 0.35}
_NEGATIVE_SHARE = dict(zip(NEGATIVE_FAMILIES, (0.05, 0.045, 0.015, 0.04), strict=True))
# Claimed 基本编码 per kind of row: (kind, probability).
_CLAIMS = {
    "positive": (("own", 0.76), ("empty", 0.12), ("sibling", 0.05), ("malformed", 0.07)),
    "local_item": (("local", 0.5), ("empty", 0.5)),
    "object_sibling": (("sibling", 0.2), ("empty", 0.6), ("local", 0.2)),
    "negative": (("own", 0.6), ("empty", 0.3), ("malformed", 0.1)),
}
TRUTH_COLUMNS = _w(
    "source_file source_row level division_code item_name expected_business_code "
    "expected_base_code variation expected_in_catalogue claimed_code_kind qc_flags broken_row"
)


@dataclass
class Row:
    """One unit row: the name as written, its label and the claimed 基本编码."""

    name: str
    variation: str
    item: Item | None = None  # the catalogue item (positive rows)
    neg: Negative | None = None  # the name's negative (negative rows)
    claimed: str = ""
    kind: str = "empty"


def _mixture(hard: bool) -> dict[str, float]:
    """Share of rows per variation: ~35 % exact, ~50 % positive families, ~15 % negatives
    (hard: 25 % from the harder families, taken from exact and positive rows)."""
    exact, pos, hard_share = (0.22, 0.38, 0.25) if hard else (0.35, 0.50, 0.0)
    mix = {"exact": exact} | {f: pos / len(FAMILIES) for f in FAMILIES} | _NEGATIVE_SHARE
    return mix | ({f: hard_share / len(HARD_FAMILIES) for f in HARD_FAMILIES} if hard else {})


def _malformed(code: str, rng: random.Random) -> str:
    """A broken code: truncated, one digit too many, O for 0, or dashed with a stray letter."""
    broken = (code[:-1], code + str(rng.randint(0, 9)), code.replace("0", "O", 1))
    return rng.choice((*broken, f"{code[:3]}-{code[3:]}-X"))


def _other_code(item: Item, items: list[Item], rng: random.Random) -> str:
    """Another item's 基本编码: one whose name shares a prefix, else one of the same department."""
    other = [x for x in items if x.base_code != item.base_code]
    near = [x for x in other if x.name[:3] == item.name[:3]]
    same_dept = [x for x in other if x.department == item.department]
    return rng.choice(near or same_dept or other).base_code


def _claim(row: Row, unit: Unit, world: World, rng: random.Random) -> None:
    """Choose the claimed 基本编码 of a row (always another item's for family sibling_code)."""
    kinds = _CLAIMS.get(row.variation, _CLAIMS["negative" if row.neg else "positive"])
    kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
    kind = "sibling" if row.variation == "sibling_code" else kind
    own = row.item.base_code if row.item else row.neg.base_code
    if kind == "sibling":
        code = row.neg.tempting_code if row.neg else _other_code(row.item, world.items, rng)
    elif kind in ("malformed", "local"):
        local = f"{unit.code[:6]}ZJ{rng.randint(1, 999):04d}"
        code = _malformed(own, rng) if kind == "malformed" else local
    else:
        code = own if kind == "own" else ""
    row.claimed, row.kind = code, kind


def _positive_row(fam: str, pool: list[int], world: World, rng: random.Random) -> Row | None:
    """An in-catalogue row of family ``fam``: the noisy name must not equal (by :func:`key`)
    another catalogue name or a negative; falls back to exact when no item fits."""
    func = FAMILIES.get(fam) or HARD_FAMILIES.get(fam)
    for _ in range(25 if pool else 0):
        idx = pool[-1] if func is None else rng.choice(pool)
        name = world.items[idx].name
        name = name if func is None else func(name, rng, world.ctx)
        k = key(name) if name else ""
        ok = world.ctx.catalogue_keys.get(k, idx) == idx and k not in world.ctx.negative_keys
        if len(k) >= 2 and ok:
            pool.remove(idx)
            return Row(name, fam, item=world.items[idx])
    return _positive_row("exact", pool, world, rng) if func and pool else None


def _negative_row(
    fam: str, unit: Unit, world: World, used: set[str], rng: random.Random
) -> Row | None:
    """A row whose name is not in the catalogue; 40 % also get one decoration."""
    cands = [n for n in world.negatives if n.family == fam and n.name not in used]
    fitting = [n for n in cands if unit.level in n.levels] or cands
    if not fitting:
        return None
    neg = rng.choice(fitting)
    used.add(neg.name)
    name = neg.name
    if rng.random() < 0.4:
        deco = FAMILIES[rng.choice((*PURE, "generic_tail"))](name, rng, world.ctx)
        name = deco if deco and key(deco) not in world.ctx.catalogue_keys else name
    return Row(name, fam, neg=neg)


def _quotas(units: list[Unit], caps: list[int], rows: int) -> list[int]:
    """Rows per unit proportional to its level's weight, capped by what the level may list."""
    weights = [_WEIGHTS[u.level] for u in units]
    lo, hi = 0.0, float(rows)
    for _ in range(60):
        mid = (lo + hi) / 2
        total = sum(min(c, round(mid * w)) for c, w in zip(caps, weights, strict=True))
        lo, hi = (mid, hi) if total < rows else (lo, mid)
    return [min(c, round(hi * w)) for c, w in zip(caps, weights, strict=True)]


def _agency(unit: Unit, dept: str, rng: random.Random) -> str:
    """The 实施主体 of a row: the unit's department, its 行政审批局, or the local government."""
    if unit.level == "village":
        return unit.region + rng.choice(("村民委员会", "便民服务站", "党群服务中心"))
    if unit.level == "township":
        return unit.region + rng.choice(("人民政府", "便民服务中心"))
    return unit.region + (dept if rng.random() < 0.7 else "行政审批局")


def _cells(row: Row, unit: Unit, rng: random.Random) -> list[object]:
    it = row.item
    legal = it.limit if it else rng.choice((5, 10, 20))
    agency = _agency(unit, it.department if it else "行政审批局", rng)
    item_type = TYPES[it.type_code] if it and rng.random() < 0.9 else ""
    basis = it.basis if it and rng.random() < 0.5 else ""
    promised = max(1, legal // rng.choice((1, 2, 3)))
    visits = rng.choice(("0", "1", "1", "2", "多次"))
    handling = it.handling if it else "承诺件"
    values = (unit.code, agency, row.name, row.claimed, item_type, basis, handling, legal)
    return [*values, promised, visits]


def _truth(row: Row, unit: Unit) -> dict[str, object]:
    neg, it = row.neg, row.item
    return {
        "level": unit.level, "division_code": unit.code, "item_name": row.name,
        "expected_business_code": it.business_code if it else "",
        "expected_base_code": it.base_code if it else neg.base_code,
        "variation": row.variation, "expected_in_catalogue": "false" if neg else "true",
        "claimed_code_kind": row.kind, "qc_flags": "", "broken_row": "false",
    }  # fmt: skip


def _write_unit_file(path: Path, rows: list[list[object]], fmt: str) -> None:
    """One unit's list as .xlsx or CSV in UTF-8, UTF-8 with BOM (all cells quoted) or GB18030."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [c.header for c in ITEM_COLUMNS]
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        for r in [header, *rows]:
            wb.active.append(r)
        wb.save(path)
        return
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL if fmt == "bom" else csv.QUOTE_MINIMAL)
    w.writerows([header, *rows])
    path.write_bytes(buf.getvalue().encode({"utf8": "utf-8", "bom": "utf-8-sig"}.get(fmt, fmt)))


def generate_province(
    out_dir: Path, *, seed: int = 1, rows: int = 7000, hard: bool = False
) -> dict[str, object]:
    """Write catalogue/, the five level folders and truth.csv under ``out_dir``; return a summary."""
    rng = random.Random(seed * 7919 + hard)
    world = build_world(seed)
    write_catalogue(world, out_dir / "catalogue")
    units = make_units(rng)
    eligible = {lv: [i for i, it in enumerate(world.items) if lv in it.levels] for lv in LEVELS}
    quotas = _quotas(units, [len(eligible[u.level]) for u in units], rows)
    mix = _mixture(hard)
    truth: list[dict[str, object]] = []
    for unit, quota in zip(units, quotas, strict=True):
        pool, used = rng.sample(eligible[unit.level], len(eligible[unit.level])), set()
        written: list[tuple[list[object], dict[str, object]]] = []
        for fam in rng.choices(list(mix), list(mix.values()), k=quota):
            neg = _negative_row(fam, unit, world, used, rng) if fam in NEGATIVE_FAMILIES else None
            row = neg or _positive_row(
                "exact" if fam in NEGATIVE_FAMILIES else fam, pool, world, rng
            )
            if row:
                _claim(row, unit, world, rng)
                written.append((_cells(row, unit, rng), _truth(row, unit)))
        fmt = rng.choices(("utf8", "bom", "gb18030", "xlsx"), (0.5, 0.2, 0.15, 0.15))[0]
        if fmt == "xlsx":  # Excel stores CR as LF: the truth records what the file holds
            for cells, t in written:
                cells[2] = t["item_name"] = str(cells[2]).replace("\r\n", "\n").replace("\r", "\n")
        cut = len(written) // 2 if len(written) > 150 and rng.random() < 0.4 else 0
        for pi, part in enumerate([written[:cut], written[cut:]] if cut else [written], start=1):
            stem = f"{unit.region}_实施清单" + (f"第{pi}批" if cut else "")
            rel = f"{unit.folder}/{stem}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
            _write_unit_file(out_dir / rel, [c for c, _ in part], fmt)
            truth += [{"source_file": rel, "source_row": i} | t for i, (_, t) in enumerate(part, 1)]
    with (out_dir / "truth.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=TRUTH_COLUMNS)
        w.writeheader()
        w.writerows(truth)
    return {
        "rows": len(truth),
        "units": len(units),
        "catalogue_items": len(world.items),
        "negatives": len(world.negatives),
        "per_variation": dict(Counter(t["variation"] for t in truth).most_common()),
        "per_level": dict(Counter(t["level"] for t in truth)),
    }


def main(argv: list[str] | None = None) -> int:
    fmt = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rows", type=int, default=7000)
    ap.add_argument("--hard", action="store_true")
    a = ap.parse_args(argv)
    s = generate_province(a.out, seed=a.seed, rows=a.rows, hard=a.hard)
    print(f"{s['rows']} rows, {s['units']} units, {s['catalogue_items']} catalogue items, "
          f"{s['negatives']} negative names → {a.out}")  # fmt: skip
    for fam, n in s["per_variation"].items():
        print(f"  {fam:<24} {n:>6}  {n / s['rows']:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
