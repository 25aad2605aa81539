"""The name model: how an item name is split into stem, handling situation and qualifiers.

Every rule of name normalisation is here, as data tables at the top of the module. A name is
parsed once per *distinct* raw string (``parse_name`` is cached), so the cost is proportional to
the number of different names, not to the number of rows.

Parts of a parsed name (:class:`NameParts`):

* ``text``      — NFKC (full width → half width), traditional → simplified, spaces removed,
  bracket kinds unified to ``()``; the readable cleaned name.
* ``stem``      — what the item *is*, with level qualifiers, situation and scope taken out and
  synonyms canonicalised (对…的 frames, verb-first order, abbreviations, verb synonyms,
  connectors, department prefixes).
* ``situation`` — the canonical handling situation (新办, 变更, 延续, 注销, 补办, …) or "".
  Situation words are evidence, not noise: two names whose situations differ are never the
  same item.
* ``level``     — the level qualifier found (（县级）, （县级权限）, …) or "".
* ``scope``     — scope qualifiers such as 含中外合资 or 分公司, kept because they distinguish
  catalogue items.
* ``key``       — ``stem`` + situation + scope: two names with the same key are the same item
  written differently (the "canonical" equivalence).
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from shixiang.cleaning import SPACE, clean_cell
from shixiang.decoration import (
    DEPARTMENTS,
    PEEL_LABELS,
    bare_owner_length,
    is_level_marker,
    is_owner,
    peel,
)

# --- Tables --------------------------------------------------------------------------------

# Handling situations (业务办理项 情形): written form → canonical form. Longest forms first.
SITUATIONS: dict[str, str] = {
    "遗失补办": "补办",
    "信息变更": "变更",
    "到期换发": "换发",
    "期满换发": "换发",
    "遗失补发": "补办",
    "损坏补办": "补办",
    "补办": "补办",
    "补发": "补办",
    "补领": "补办",
    "补证": "补办",
    "首次申请": "新办",
    "首次申领": "新办",
    "新申请": "新办",
    "新办": "新办",
    "新设": "新办",
    "新增": "新办",
    "到期延续": "延续",
    "期满延续": "延续",
    "到期换证": "延续",
    "期满换证": "延续",
    "延续": "延续",
    "延期": "延续",
    "续期": "延续",
    "换证": "延续",
    # 换发 stays its own situation: real catalogues list X（换发） beside X（延期）.
    "换发": "换发",
    "变更": "变更",
    "注销": "注销",
    "撤销": "注销",
    "过户": "过户",
    "转入": "转入",
    "转出": "转出",
}
_SITUATION_WORDS = sorted(SITUATIONS, key=len, reverse=True)
_TAIL_WORDS = ("", "登记", "申请", "手续")
_SITUATION_SIZES = sorted({len(w) for w in SITUATIONS}, reverse=True)
# Written forms with more than one reading: 换证 is 延续 in some catalogues and 换发 in others.
# A name using one is also tried with each alternative (see NameParts.alt_keys).
# 申报 is tried as 申请 (units write 申报 for 申请); not the reverse: 公益性岗位申请 and
# 公益性岗位申报 are different real items.
AMBIGUOUS_WORDS: dict[str, tuple[str, ...]] = {"换证": ("换发",), "申报": ("申请",)}
# Generic words that may follow a situation word without changing it: （注销申请） = （注销）,
# 变更申请登记 = 变更登记.
_SITUATION_TAIL = re.compile(r"(?:申请|登记|手续|业务|办理)$")
# Situation synonyms inside a name (…许可首次申请审批 = …许可新办审批), longest first.
_INNER_SITUATIONS = {w: SITUATIONS[w] for w in _SITUATION_WORDS if w != SITUATIONS[w]}
_SITUATION_APPLY = re.compile("(" + "|".join(_SITUATION_WORDS) + ")申请")

# Leading words that name a department rather than the item (区人社局X, 市残联X): taken off
# both sides. A leading *level* word (县级X, 乡镇X) is different: real items start with one
# as part of their object (县级文物保护单位修缮许可, 乡镇设立广播电视站…审批), so it stays in the
# key and the matcher tries the name without it only as a reduction (see ``level_prefix``).
_DEPT_PREFIX = re.compile(
    r"^(?:(?:省|市|县|区)(?:" + "|".join(DEPARTMENTS) + ")局"
    r"|(?:省|市|县|区)委?[\u4e00-\u9fff]{0,10}?(?:厅|局|委|部|办|残联))"
)
_LEVEL_PREFIX = re.compile(
    r"^(?:(?:省|市|州|县|区|旗|乡|镇|乡镇|街道|社区|村)级|乡镇|村\(社区\)|村社区|社区|村)"
)
# Generic words a unit may append to an item's name (公路超限运输许可服务): tried off as a
# reduction on either side, never dropped from the key.
GENERIC_WORDS: tuple[str, ...] = (
    "业务办理", "事项办理", "服务事项", "服务", "事项", "业务", "手续", "工作", "办事", "办理",
    "申办", "相关业务", "相关事项",
)  # fmt: skip
_GENERIC_RUN = re.compile("(?:" + "|".join(GENERIC_WORDS) + r")+(?=(?:\([^()]*\))*$)")
_TRAILING_GROUPS = re.compile(r"(?:\([^()]*\))*$")

# Stem rewrites applied to catalogue and unit names alike (symmetric, so they cannot invent a
# difference). Longest first within each table.
ABBREVIATIONS: dict[str, str] = {
    "城乡居民基本养老保险": "城乡居保",
    "城镇职工基本养老保险": "职工养老保险",
    "基本养老保险": "养老保险",
    "城乡居民基本医疗保险": "城乡居民医保",
    "城乡居民医疗保险": "城乡居民医保",
    "城镇职工基本医疗保险": "职工医保",
    "基本医疗保险": "医保",
    "医疗保险": "医保",
    "社会保障卡": "社保卡",
    "社会保险": "社保",
    "住房公积金": "公积金",
    "营业执照": "执照",
    "最低生活保障": "低保",
    "个人所得税": "个税",
    "机动车驾驶证": "驾照",
    "残疾人联合会": "残联",
    "基本医保": "医保",
    "个体工商户": "个体户",
    "高等学校": "高校",
    "危险化学品": "危化品",
    "中华人民共和国": "",
    "人力资源和社会保障": "人社",
    "市场监督管理": "市场监管",
}
# Verbs and their synonyms, the two-verb expansions (审核批准 = 审批) first: a table is
# applied in order, and 审核 → 审批 must not fire inside 审核批准.
VERB_SYNONYMS: dict[str, str] = {
    "审核批准": "审批",
    "审查批准": "审批",
    "核准发放": "核发",
    "核准颁发": "核发",
    "批准发放": "核发",
    "行政许可": "许可",
    "颁发": "核发",
    "发放": "核发",
    "签发": "核发",
    "审核": "审批",
    "审定": "审批",
    "批准": "审批",
    "报备": "备案",
    "查阅": "查询",
    "核准": "审批",
    "认定": "确认",
    "换领": "换发",
}
# Verbs that some units put first: 核发建设工程规划许可证 → 建设工程规划许可证核发.
_LEADING_VERBS = (
    "核发",
    "颁发",
    "审批",
    "审核",
    "审查",
    "核准",
    "办理",
    "申领",
    "发放",
    "签发",
    "变更",
    "注销",
    "补办",
    "补发",
    "延续",
    "换发",
    "登记",
    "查询",
    "备案",
    "认定",
    "确认",
    "许可",
    "咨询",
    "裁决",
    "申请",
    "申报",
    "受理",
    "鉴定",
    "验收",
)
# 对…的审批 frames.
_FRAME = re.compile(r"^对(.{2,})的([\u4e00-\u9fff]{2})$")
# Fast paths for _rewrite: the leading verbs by first character (same order as above), and
# one alternation per rewrite table to skip tables none of whose words occur in a name.
_VERBS_BY_FIRST: dict[str, tuple[str, ...]] = {
    ch: tuple(v for v in _LEADING_VERBS if v[0] == ch) for ch in {v[0] for v in _LEADING_VERBS}
}
_REWRITE_TABLES: tuple[tuple[re.Pattern[str], dict[str, str], str], ...] = tuple(
    (re.compile("|".join(map(re.escape, table))), table, label)
    for table, label in (
        (ABBREVIATIONS, "简称"),
        (VERB_SYNONYMS, "同义动词"),
        (_INNER_SITUATIONS, "办理情形同义词"),
    )
)
# Connectors and the canonical punctuation left by cleaning (separator, enumeration comma,
# sentence mark): they carry no identity.
_CONNECTORS = re.compile(r"[的和及与、。\- ]")
_PUNCT = re.compile(r"[、。\- ]")
_BRACKET_GROUP = re.compile(r"\(([^()]*)\)")

# Words units insert or drop without naming another item: 失业个人登记 = 失业登记.
OPTIONAL_WORDS: tuple[str, ...] = ("单位", "企业", "个人", "人员", "申请", "办理")
OPTIONAL_WORD_PATTERN = re.compile("|".join(OPTIONAL_WORDS))
# ...except a subject word that opens the name: it says whom the item serves, and real
# catalogues list items that differ only by it (企业职工参保登记 beside 职工参保登记).
SUBJECT_WORDS: tuple[str, ...] = ("单位", "企业", "个人", "人员")
_LEADING_SUBJECT = re.compile("^(?:" + "|".join(SUBJECT_WORDS) + ")")


def drop_optional_words(stem: str) -> str:
    """``stem`` without its optional words, keeping a leading subject word; the stem itself
    when nothing else would remain."""
    lead = _LEADING_SUBJECT.match(stem)
    keep = lead.group(0) if lead else ""
    return (keep + OPTIONAL_WORD_PATTERN.sub("", stem[len(keep) :])) or stem


@dataclass(frozen=True)
class NameParts:
    raw: str
    text: str  # cleaned (shixiang.cleaning) with the decorations at its ends peeled
    plain: str  # text without level and owner brackets and punctuation: the exact comparison
    stem: str
    situation: str
    level: str
    scope: str
    key: str
    notes: tuple[str, ...]  # what was peeled or rewritten, for the explanation
    # The stem before word rewrites, with situation and scope: the homophone key's source.
    sound: str = ""
    # Keys of the other readings of an ambiguous word (换证 → 换发).
    alt_keys: tuple[str, ...] = ()
    # A leading level word that stays in the key (县级, 乡镇 …): object or decoration?
    level_prefix: str = ""
    # The text without parts that may be decorations or the name's own words (an owner or a
    # number set apart by a space only: 政府分局 X, 1 X): parsed and matched only when the
    # name itself matches nothing (see shixiang.matching).
    readings: tuple[str, ...] = ()
    # The cell ends in an ellipsis (…, ..., U+FFFD): the name was cut off by a field length.
    truncated: bool = False

    @property
    def phonetic_key(self) -> str:
        """Pronunciation of the name as written (order fixed, qualifiers out, before abbreviation
        and connector rewrites) with situation and scope unmarked, so that 社会保账卡 sounds like
        社会保障卡, 以级 like 以及, and （研续） like （延续）."""
        return phonetic(self.sound)

    @property
    def loose_key(self) -> str:
        """The key of the name parsed with its optional words (单位, 企业, 个人, 人员, 申请,
        办理) dropped before the rewrites, except a subject word that opens it (see
        :func:`drop_optional_words`): a word inserted between the situation and 登记
        (采矿权延续单位登记) no longer hides the situation."""
        return parse_text(self.text, loose=True).key

    @property
    def flat_key(self) -> str:
        """The key of the name read with its bracket characters taken out and their content
        kept (level and owner brackets still dropped): 组织气❮候可行性❯论证 and 文艺表演团体
        营业性演出许可证注销审批 read like 组织气候可行性论证 and 文艺表演团体《营业性演出许可证》
        注销审批. Brackets and quotes are one family in the wild; this reading does not care
        which a unit meant."""
        return parse_text(self.flat).key

    @property
    def flat(self) -> str:
        """``plain`` with its bracket characters taken out, their content kept."""
        return self.plain.replace("(", "").replace(")", "")

    @property
    def reductions(self) -> tuple[tuple[str, str], ...]:
        """(what was dropped, key) for the name with one optional part dropped: a leading level
        word (县级X), an owner written in front without a separator (吉林省水利厅X), a generic
        trailing word (X服务); and both ends together. The matcher accepts one of these only
        when it names exactly one catalogue item and no sibling conflicts."""
        flat = tuple((f"{kind}+brackets", key) for kind, key in _reductions(self.flat) if kind)
        return _reductions(self.text) + flat


def _split_situation(stem: str) -> tuple[str, str]:
    """(stem without a trailing situation word — optionally followed by 登记/申请/手续 —,
    canonical situation). Dictionary look-ups of the last few characters, longest first."""
    for tail in _TAIL_WORDS:
        if not stem.endswith(tail):
            continue
        body = stem[: len(stem) - len(tail)]
        for size in _SITUATION_SIZES:
            word = body[-size:]
            if len(body) - size >= 2 and word in SITUATIONS:
                return body[:-size], SITUATIONS[word]
    return stem, ""


def _classify_bracket(content: str) -> tuple[str, str]:
    """Return (kind, value) with kind in level|situation|owner|noise|scope.

    Element values that leak into names, such as （承诺件）/（即办件）, stay scope: real
    catalogues distinguish items by them. An owner in brackets needs a place before its
    organisation word (（广安区人社局）), so that （加油站） stays a scope."""
    if not content:
        return "noise", ""
    if is_level_marker(content):
        return "level", content
    for word in (content, _SITUATION_TAIL.sub("", content)):
        if word in SITUATIONS:
            return "situation", SITUATIONS[word]
    if is_owner(content, weak=True):
        return "owner", content
    return "scope", content


def _rewrite(stem: str, notes: list[str]) -> tuple[str, str]:
    """Canonical stem, and the "sound" form (word order fixed, words not yet rewritten) that
    the homophone key is computed from."""
    m = _FRAME.match(stem)
    if m:
        stem = m.group(1) + m.group(2)
        notes.append("对…的句式")
    elif stem.startswith("对") and len(stem) >= 5:
        stem = stem[1:]  # 对…审批 written without 的
        notes.append("对…的句式")
    for _ in range(2):  # 登记注销扣缴税款 → 注销扣缴税款登记 → 扣缴税款登记注销
        verb = next(
            (
                v
                for v in _VERBS_BY_FIRST.get(stem[:1], ())
                if stem.startswith(v) and len(stem) >= len(v) + 2
            ),
            None,
        )
        if verb is None:
            break
        stem = stem[len(verb) :] + verb
        notes.append("动词前置")
    sound = stem
    for present, table, label in _REWRITE_TABLES:
        if not present.search(stem):
            continue
        for long, short in table.items():
            if long in stem:
                stem = stem.replace(long, short)
                notes.append(label)
    stripped = _CONNECTORS.sub("", stem)
    if stripped != stem:
        notes.append("连接词")
    return stripped, sound


_TRUNCATION_MARKS = ("…", "...", "‥", "⋯", "\ufffd", "。。。", "．．．")


def _cut_off(raw: str) -> bool:
    """The cell was cut off by a field length: it ends in an ellipsis, or inside a bracket it
    opened and never closed (…遗失补办（婚)."""
    tail = raw.rstrip()
    if tail.endswith(_TRUNCATION_MARKS):
        return True
    depth = 0
    for ch in reversed(tail[-12:]):
        category = unicodedata.category(ch)
        if category == "Pe":
            depth += 1
        elif category == "Ps":
            if depth == 0:
                return True
            depth -= 1
    return False


@lru_cache(maxsize=1_000_000)
def parse_name(raw: str, loose: bool = False) -> NameParts:
    """Parse one item name as a cell holds it. Pure and cached: call it on distinct names.

    The cell is cleaned by character class (:func:`shixiang.cleaning.clean_cell`), the
    decorations at its ends are peeled (:func:`shixiang.decoration.peel`), and the rest is
    parsed by :func:`parse_text`; the explanation notes say what was removed."""
    cleaned, removed = clean_cell(raw)
    text, peeled, maybe = peel(cleaned)
    # Spaces have done their work (setting an owner or level apart); inside a name they
    # are noise, like every other invisible character.
    parts = parse_text(text.replace(SPACE, ""), loose)
    notes = (*removed, *(PEEL_LABELS[k] for k in peeled), *parts.notes)
    # dataclasses.replace without its per-call field introspection (every field has init=True)
    return NameParts(
        **{
            **parts.__dict__,
            "raw": str(raw),
            "notes": tuple(dict.fromkeys(notes)),
            "readings": tuple(t.replace(SPACE, "") for t in maybe),
            "truncated": _cut_off(str(raw)),
        }
    )


@lru_cache(maxsize=1_000_000)
def parse_text(text: str, loose: bool = False) -> NameParts:
    """Parse a cleaned, peeled name (``NameParts.text``) into stem, situation, qualifiers and
    key. ``loose`` drops the optional words (单位, 企业, 个人, 人员, 申请, 办理; a leading
    subject word stays, see :func:`drop_optional_words`) before the rewrites, wherever they
    stand (探矿权注销企业登记 → 探矿权注销登记)."""
    notes: list[str] = []
    level = ""
    situation = ""
    scopes: list[str] = []
    body = plain = text
    # Take bracket groups out, innermost first, classifying each.
    while True:
        groups = list(_BRACKET_GROUP.finditer(body))
        if not groups:
            break
        for g in reversed(groups):
            kind, value = _classify_bracket(g.group(1))
            if kind == "level":
                level = level or value
            elif kind == "situation":
                situation = situation or value
            elif kind == "scope":
                scopes.append(value)
            elif kind == "owner":
                notes.append("实施主体或部门名称")
            if kind in ("level", "owner", "noise"):
                plain = plain.replace(g.group(0), "", 1)
            body = body[: g.start()] + body[g.end() :]
    body = body.replace("(", "").replace(")", "")
    for _ in range(2):  # 省人社厅区人社局…: two stacked prefixes at most
        prefix = _DEPT_PREFIX.match(body)
        if not (prefix and len(body) - prefix.end() >= 4):
            break
        body = body[prefix.end() :]
        notes.append("层级或部门前缀")
    lead = _LEVEL_PREFIX.match(body)
    level_prefix = lead.group(0) if lead and len(body) - lead.end() >= 4 else ""
    if loose:
        body = drop_optional_words(body)
    if "申请" in body:
        body = _SITUATION_APPLY.sub(r"\1", body)
    stem, sound = _rewrite(body, notes)
    bracket_situation = situation
    stem, tail_situation = _split_situation(stem)
    if tail_situation:
        if situation and situation != tail_situation:
            # Two different situations in one name: keep both in the stem, nothing is dropped.
            stem = stem + tail_situation
        else:
            situation = tail_situation
    if level:
        notes.append("层级标注")
    scope = "|".join(sorted(_CONNECTORS.sub("", s) for s in scopes))
    key = stem + ("#" + situation if situation else "") + ("@" + scope if scope else "")
    return NameParts(
        raw=text,
        text=text,
        plain=_PUNCT.sub("", plain),
        stem=stem,
        situation=situation,
        level=level,
        scope=scope,
        key=key,
        notes=tuple(dict.fromkeys(notes)),
        sound=sound + bracket_situation + scope.replace("|", ""),
        alt_keys=tuple(
            parse_text(text.replace(word, alt)).key
            for word, alts in AMBIGUOUS_WORDS.items()
            if word in text
            for alt in alts
        ),
        level_prefix=level_prefix,
    )


def _generic_cuts(text: str) -> list[str]:
    """``text`` without its trailing generic words (before any trailing bracket groups): the
    whole run of them, and each single word (招聘会服务事项: 招聘会, 招聘会服务)."""
    groups = _TRAILING_GROUPS.search(text)
    body, tail = text[: groups.start()], text[groups.start() :]
    cuts = [body[: -len(w)] + tail for w in GENERIC_WORDS if body.endswith(w)]
    run = _GENERIC_RUN.search(text)
    if run:
        cuts.append(text[: run.start()] + text[run.end() :])
    return [c for c in dict.fromkeys(cuts) if len(c) - len(tail) >= 4]


@lru_cache(maxsize=1_000_000)
def _reductions(text: str) -> tuple[tuple[str, str], ...]:
    heads: list[tuple[str, str]] = [("", text)]
    lead = _LEVEL_PREFIX.match(text)
    if lead and len(text) - lead.end() >= 4:
        heads.append(("level_prefix", text[lead.end() :].lstrip("-。、 ")))
    owner = bare_owner_length(text)
    if owner:
        heads.append(("owner_prefix", text[owner:]))
    out: list[tuple[str, str]] = []
    for kind, head in heads:
        if kind:
            out.append((kind, parse_text(head).key))
        both = f"{kind}+generic_tail" if kind else "generic_tail"
        for cut in _generic_cuts(head):  # 居住证办理服务: 居住证, 居住证办理
            out.append((both, parse_text(cut).key))
    return tuple(out)


@cache
def _pinyin_table() -> dict[int, str]:
    """pypinyin's readings of single characters (code point -> readings), read from its data
    file. Importing the package also loads its phrase dictionary and copies both tables:
    0.16 s and +56 MiB in every process that matches names (the run's and each helper's),
    for phrases these names never use."""
    spec = importlib.util.find_spec("pypinyin")
    path = Path(spec.origin).with_name("pinyin_dict.json") if spec and spec.origin else None
    if path is None or not path.is_file():  # another layout: the package's own loader
        from pypinyin.pinyin_dict import pinyin_dict

        return pinyin_dict
    return {int(k): v for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


_PINYIN = _pinyin_table()


def _char_sound(ch: str) -> str:
    """Toneless pinyin of one character (its first reading); the character itself if none."""
    readings = _PINYIN.get(ord(ch))
    if not readings:
        return ch
    first = unicodedata.normalize("NFD", readings.split(",")[0])
    return "".join(c for c in first if not unicodedata.combining(c)).replace("ü", "v")


@lru_cache(maxsize=1_000_000)
def phonetic(key: str) -> str:
    """Toneless pinyin, character by character: names equal here differ only by homophones
    (输入法错字). Uses each character's first reading, the same on both sides, which is what a
    comparison needs (and ~100x faster than phrase-aware pypinyin.lazy_pinyin)."""
    return " ".join(_char_sound(ch) for ch in key)


def clear_caches() -> None:
    """Forget the parses memoised so far: the matcher calls this when a run's matching is done
    (200,000 distinct names hold ~250 MiB of parses that nothing reads afterwards)."""
    for memoised in (parse_name, parse_text, _reductions, phonetic):
        memoised.cache_clear()
