"""The matching tiers: one ordered list of tier objects, strongest first.

Like Splink's comparison levels, each tier is one object with its own keys, its own accept rule
and its own explanation, and the matcher walks them in order for every distinct name:

* a tier that finds exactly one catalogue item, with its guard satisfied, **accepts** it;
* a tier that finds something it cannot accept (several items, or a sibling conflict)
  **blocks**: the name goes to review with that reason and those candidates, and no later
  (weaker) tier is asked — so adding a tier can never undo another tier's guard;
* a tier that finds nothing **passes** the name to the next tier.

Catalogue-side keys are built by the same tier (:meth:`Tier.catalogue_keys`), so a reader
finds both sides of an equivalence in one place. Tiers marked ``strong`` name the item well
enough to outweigh a claimed 基本编码 that points elsewhere (the code becomes quality issue
QC-003); a weaker tier's match is sent to review when the claimed code disagrees.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from shixiang.names import OPTIONAL_WORD_PATTERN, NameParts, parse_name, parse_text
from shixiang.perf import gc_paused

Table = Mapping[str, tuple[str, ...]]  # key → catalogue business codes with that key


@dataclass(frozen=True)
class Outcome:
    """What a tier says about one name: ``code`` accepted, or ``reason`` why it blocked (with
    the items it found, best first); ``detail`` tells the steward what the tier dropped.
    ``absent`` marks a block that is a finding, not a doubt: the item found is a *different*
    item (another object, another subject), so the name is not in the catalogue (unmatched,
    the reason in its explanation) rather than waiting for a steward's choice (review)."""

    code: str | None = None
    reason: str = ""
    candidates: tuple[str, ...] = ()
    detail: str = ""
    absent: bool = False
    weak: bool = False  # found in another reading of the name: weaker than its tier
    catalogue_side: bool = False  # found only by leaving out part of the catalogue's name

    @property
    def blocked(self) -> bool:
        return bool(self.reason)


class Tier:
    """One comparison level. Subclasses set ``method`` (stored in ``match_method``),
    ``label`` (the Chinese explanation) and ``strong``, and define the keys of each side."""

    method: ClassVar[str]
    label: ClassVar[str]
    strong: ClassVar[bool] = True
    ambiguous_reason: ClassVar[str] = "名称与目录中多个事项同样接近"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        """Keys a catalogue item is found under."""
        return ()

    def unit_keys(self, parts: NameParts) -> Iterable[tuple[str, str]]:
        """(key, what was dropped to get it) pairs a unit's name is looked up under."""
        return ()

    def decide(self, parts: NameParts, table: Table, catalogue: CatalogueView) -> Outcome | None:
        """The outcome for one name, or ``None`` to pass it on. By default: the unit keys'
        hits; one item accepts, several block."""
        hits: dict[str, str] = {}
        for key, dropped in self.unit_keys(parts):
            for code in table.get(key, ()):
                hits.setdefault(code, dropped)
        if not hits:
            return None
        if len(hits) > 1:
            return Outcome(reason=self.ambiguous_reason, candidates=tuple(hits))
        (code, dropped), *_ = hits.items()
        return self.guard(parts, code, dropped, catalogue) or Outcome(code=code, detail=dropped)

    def guard(
        self, parts: NameParts, code: str, dropped: str, catalogue: CatalogueView
    ) -> Outcome | None:
        """A blocking outcome when the one item found must not be accepted; ``None`` if fine."""
        return None


class CatalogueView:
    """What a tier may ask of the catalogue beyond its own table (built by the matcher)."""

    def __init__(self, parts: Mapping[str, NameParts], tables: Mapping[str, Table]) -> None:
        self.parts = parts  # business code → parsed catalogue name
        self.tables = tables  # tier method (and auxiliary names) → table


class AliasTier(Tier):
    method = "alias"
    label = "数据管理员已确认的同名事项"

    def unit_keys(self, parts: NameParts) -> Iterable[tuple[str, str]]:
        return ((parts.key, ""),)


class ExactTier(Tier):
    method = "exact"
    label = "名称与目录事项一致（忽略全半角、空格、标点、繁简、序号、实施主体与层级标注）"
    ambiguous_reason = "目录中有多个同名事项"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        return (parts.plain,)

    def unit_keys(self, parts: NameParts) -> Iterable[tuple[str, str]]:
        return ((parts.plain, ""),)


class CanonicalTier(Tier):
    """Same key after the name model's rewrites. An ambiguous written form (换证) is tried in
    every reading; one reading naming one item is enough."""

    method = "canonical"
    label = "名称规范化后与目录事项一致"
    ambiguous_reason = "规范化后与目录中多个事项同名"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        return (parts.key,)

    def unit_keys(self, parts: NameParts) -> Iterable[tuple[str, str]]:
        return ((k, "") for k in (parts.key, *parts.alt_keys))


class UnbracketedTier(Tier):
    """The names agree once bracket characters are taken out and their content kept: a unit
    brackets or quotes a word the catalogue does not (组织气❮候可行性❯论证), or leaves out the
    brackets the catalogue has (…营业性演出许可证注销审批 for …《营业性演出许可证》注销审批)."""

    method = "unbracketed"
    label = "不计括号与引号时名称与目录事项一致"
    ambiguous_reason = "不计括号时与目录中多个事项同名"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        return (parts.flat_key,)

    def decide(self, parts, table, catalogue):
        by_key = catalogue.tables["canonical"]
        hits = dict.fromkeys((*table.get(parts.flat_key, ()), *table.get(parts.key, ())))
        hits.update(dict.fromkeys(by_key.get(parts.flat_key, ())))
        if not hits:
            return None
        if len(hits) > 1:
            return Outcome(reason=self.ambiguous_reason, candidates=tuple(hits))
        return Outcome(code=next(iter(hits)))


def optional_words_nest(a: str, b: str) -> bool:
    """True when the optional words found in one stem are a sub-multiset of the other's."""
    wa = Counter(OPTIONAL_WORD_PATTERN.findall(a))
    wb = Counter(OPTIONAL_WORD_PATTERN.findall(b))
    return not (wa - wb) or not (wb - wa)


class LooseTier(Tier):
    """Same key once optional words are dropped, when one name's optional words contain the
    other's (失业个人登记 = 失业登记; 单位参保证明 ≠ 个人参保证明)."""

    method = "loose"
    label = "忽略可省略的词（单位、企业、个人、人员、申请、办理）后与目录事项一致"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        return (parts.loose_key,)

    def unit_keys(self, parts: NameParts) -> Iterable[tuple[str, str]]:
        return ((parts.loose_key, ""),)

    def guard(self, parts, code, dropped, catalogue):
        if optional_words_nest(parts.stem, catalogue.parts[code].stem):
            return None
        return Outcome(
            reason="名称中的单位、个人等词与目录事项不同，是另一个事项",
            candidates=(code,),
            absent=True,
        )


class HomophoneTier(Tier):
    method = "homophone"
    label = "名称读音与目录事项一致（疑似同音错字）"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        return (parts.phonetic_key,)

    def unit_keys(self, parts: NameParts) -> Iterable[tuple[str, str]]:
        return ((parts.phonetic_key, ""),)


def _object_level_conflict(parts: NameParts, catalogue: CatalogueView) -> bool:
    """True when the name read without its leading level word is what a catalogue item reads
    without its own leading level word: the level word is part of the object
    (市级文物保护单位修缮许可 is not 县级文物保护单位修缮许可)."""
    bare = dict(parts.reductions).get("level_prefix")
    return bare is not None and bare in catalogue.tables["level_prefixed"]


_OBJECT_LEVEL_REASON = "名称开头的层级词是事项对象的一部分（目录中另有以层级词开头的同类事项）"


class PrefixTier(Tier):
    """A leading level word (县级X, 乡镇X) or owner (吉林省水利厅X) that no separator sets
    apart, taken off the unit's name. Kept when the catalogue has an item that starts with a
    level word and reads the same after it (县级文物保护单位… is an object, not a level)."""

    method = "prefix"
    label = "去掉名称开头的层级词或实施主体后与目录事项一致"
    ambiguous_reason = "去掉名称开头的层级词或实施主体后与目录中多个事项同名"
    kinds: ClassVar[dict[str, str]] = {
        "level_prefix": "名称开头的层级词",
        "owner_prefix": "名称开头的实施主体",
    }

    def unit_keys(self, parts: NameParts) -> Iterable[tuple[str, str]]:
        return ((key, kind) for kind, key in parts.reductions if kind in self.kinds)

    def decide(self, parts, table, catalogue):
        found = super().decide(parts, catalogue.tables["canonical"], catalogue)
        if found is None and parts.level_prefix:
            # 省级文物保护单位… where the catalogue has only 县级文物保护单位…: another object.
            bare = dict(parts.reductions).get("level_prefix")
            objects = catalogue.tables["level_prefixed"].get(bare or "", ())
            if objects:
                return Outcome(reason=_OBJECT_LEVEL_REASON, candidates=objects, absent=True)
        return found

    def guard(self, parts, code, dropped, catalogue):
        if dropped == "level_prefix" and _object_level_conflict(parts, catalogue):
            return Outcome(reason=_OBJECT_LEVEL_REASON, candidates=(code,), absent=True)
        return None


REDUCTION_LABELS = {
    **PrefixTier.kinds,
    "generic_tail": "名称末尾的泛称词（服务、事项等）",
    "brackets": "括号",
    "scopeless": "目录名称中的括号限定语",
    "generic_free": "目录名称末尾的泛称词",
}


class ReducedTier(Tier):
    """Optional parts dropped on either side: of the unit's name a trailing generic word
    (服务, 事项, 手续办理…), also after a leading level word or owner, and its brackets; of
    the catalogue's name a bracket qualifier (（激活）, （含临时建设）) or a trailing generic
    word. Accepted only when exactly one item is left and no sibling conflicts; weaker than a
    name equivalence, so a claimed code of an item the catalogue lacks sends the row to review.
    """

    method = "reduced"
    label = "省略可选部分后与目录中唯一事项一致"
    strong = False
    ambiguous_reason = "省略可选部分后与目录中多个事项同名"
    # Catalogue tables looked up, and what the catalogue side dropped to be found there.
    tables: ClassVar[tuple[str, ...]] = ("canonical", "unbracketed", "scopeless", "generic_free")

    def decide(self, parts, table, catalogue):
        readings = [("", parts.key), ("brackets", parts.flat_key), *parts.reductions]
        hits: dict[str, str] = {}
        for name in self.tables:
            lookup = catalogue.tables[name]
            for kind, key in readings:
                if name in ("canonical", "unbracketed") and kind in ("", "brackets"):
                    continue  # what the stronger tiers already tried
                for code in lookup.get(key, ()):
                    dropped = [k for k in kind.split("+") if k]
                    if name in ("scopeless", "generic_free"):
                        dropped.append(name)
                    hits.setdefault(code, "+".join(dropped))
        if not hits:
            return None
        if len(hits) > 1:
            return Outcome(reason=self.ambiguous_reason, candidates=tuple(hits))
        (code, dropped), *_ = hits.items()
        if "level_prefix" in dropped and _object_level_conflict(parts, catalogue):
            return Outcome(reason=_OBJECT_LEVEL_REASON, candidates=(code,), absent=True)
        detail = "省略了" + "和".join(
            dict.fromkeys(REDUCTION_LABELS[k] for k in dropped.split("+") if k)
        )
        # What the catalogue's name loses: an inclusive qualifier (（含临时建设）) only says
        # what the item covers; any other may make it an item of its own (see matching).
        dropped_scopes = set(catalogue.parts[code].scope.split("|")) - set(parts.scope.split("|"))
        inclusive = all(_INCLUSIVE.match(q) for q in dropped_scopes if q)
        side = ("scopeless" in dropped and not inclusive) or "generic_free" in dropped
        return Outcome(code=code, detail=detail, catalogue_side=side)


def deletions(text: str, min_length: int = 6) -> list[str]:
    """The text with one character deleted, for every position but the first (a leading
    character often names the object: 分公司 ≠ 公司), when the text is long enough."""
    if len(text) < min_length:
        return []
    return [text[:i] + text[i + 1 :] for i in range(1, len(text))]


def swaps(text: str, min_length: int = 6) -> list[str]:
    """The text with two neighbouring characters swapped, at every position."""
    if len(text) < min_length:
        return []
    return [text[:i] + text[i + 1] + text[i] + text[i + 2 :] for i in range(len(text) - 1)]


# A character no Chinese item name holds: kana, hangul and other scripts' letters, which
# OCR and input methods put in place of a look-alike (工 → エ, 口 → ロ, 力 → カ).
_FOREIGN = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ffff0-9a-z()\-、。]")


class NearTier(Tier):
    """A typing slip, the first character untouched, names of six characters or more,
    compared on the cleaned text (so a slip inside a situation word is caught too): one
    character missing (注登记 for 注销登记) or added, two neighbours swapped (企业资投 for
    企业投资), or one character of a foreign script standing for a look-alike (职エ for 职工).
    A Chinese character for another is never a slip here: 采矿权 and 探矿权 are two items."""

    method = "near"
    label = "与目录事项仅差一个字（疑似漏字、多字、字序颠倒或识别错误）"
    strong = False
    ambiguous_reason = "与目录中多个事项仅差一个字"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        return deletions(parts.plain)

    def decide(self, parts, table, catalogue):
        if parts.truncated:
            return None  # a cut-off name lacks characters by design: see TruncatedTier
        plain = parts.plain
        by_plain = catalogue.tables["exact"]
        hits: dict[str, str] = {}
        for code in table.get(plain, ()):  # the unit's name lacks a character
            hits.setdefault(code, "漏字")
        for text in deletions(plain, 7):  # the unit's name has one character more
            for code in by_plain.get(text, ()):
                hits.setdefault(code, "多字")
        for code in catalogue.tables["swapped"].get(plain, ()):
            hits.setdefault(code, "字序颠倒")
        for m in _FOREIGN.finditer(plain):  # one foreign character for a look-alike
            i = m.start()
            for code in table.get(plain[:i] + plain[i + 1 :], ()):
                if len(catalogue.parts[code].plain) == len(plain):
                    hits.setdefault(code, "识别错误的字符")
        if not hits:
            return None
        if len(hits) > 1:
            return Outcome(reason=self.ambiguous_reason, candidates=tuple(hits))
        (code, slip), *_ = hits.items()
        return Outcome(code=code, detail=f"与目录名称相差一个字（{slip}）")


class TruncatedTier(Tier):
    """A name cut off by a field length, marked so (…, ..., U+FFFD at its end, or a bracket
    opened and never closed): the start of exactly one catalogue name. Asked before the exact
    tier: a cut-off 母婴保健技术服务执业许可注销（ equals 母婴保健技术服务执业许可注销 but may as
    well be its （婚前医学检查） twin. Unmarked, a name that is the start of another is a
    different item as often as not (机动车维修经营备案 beside 机动车维修经营备案（变更））."""

    method = "truncated"
    label = "名称被截断（末尾有省略号），与目录中唯一以此开头的事项一致"
    strong = False
    ambiguous_reason = "被截断的名称是目录中多个事项的开头"

    def decide(self, parts, table, catalogue):
        head = parts.flat
        if not parts.truncated or len(head) < 8:
            return None
        hits = [c for c, p in catalogue.parts.items() if p.flat.startswith(head)]
        if not hits:
            return None
        if len(hits) > 1:
            return Outcome(reason=self.ambiguous_reason, candidates=tuple(hits))
        return Outcome(code=hits[0], detail="名称末尾被截断")


# The tiers, strongest first. The claimed 基本编码 is evidence applied after them, per
# (name, code) pair: see shixiang.matching.decide_rows.
TIERS: tuple[Tier, ...] = (
    AliasTier(),
    TruncatedTier(),
    ExactTier(),
    CanonicalTier(),
    UnbracketedTier(),
    LooseTier(),
    PrefixTier(),
    HomophoneTier(),
    ReducedTier(),
    NearTier(),
)
STRONG_METHODS: tuple[str, ...] = tuple(t.method for t in TIERS if t.strong)


# Qualifiers that say what an item includes (（含临时建设）, （包括…）): never another item.
_INCLUSIVE = re.compile(r"含|包括|包含|即")
# Qualifiers that say who exercises an item (（住建行使）): another item is exercised by
# someone else, so such a qualifier always distinguishes.
_EXERCISED_BY = re.compile(r"(?:行使|实施|负责|承办|受理)$")


def _scope_subsets(parts: NameParts, keep: frozenset[str]) -> list[str]:
    """The key with each proper subset of the name's scope qualifiers (up to three), where
    only qualifiers outside ``keep`` may be left out."""
    scopes = parts.scope.split("|") if parts.scope else []
    if not scopes or len(scopes) > 3:
        return []
    head = parts.key.split("@")[0]
    out = []
    for mask in range(2 ** len(scopes) - 1):
        kept = [s for i, s in enumerate(scopes) if mask >> i & 1]
        if all(s in kept for s in scopes if s in keep):
            out.append(head + ("@" + "|".join(kept) if kept else ""))
    return out


def scopeless_table(parts: Mapping[str, NameParts]) -> Table:
    """Key with some bracket qualifiers left out → catalogue codes: how a unit that leaves out
    a qualifier of the catalogue's name (（激活）, （含临时建设）) finds the item.

    A qualifier that *distinguishes* items is never left out: one that the catalogue uses to
    tell two items apart somewhere (X（婚前医学检查） beside X, for any X), one that names who
    exercises the item (（住建行使）), and any qualifier of an item without a situation whose
    stem other items share with a situation (X（增项） beside X（新办）, X（变更）: 增项 is a
    handling situation the name model does not know). If the catalogue lacks the plain item, a
    unit writing it means another item."""
    keys = {p.key for p in parts.values()}
    with_situations = {p.stem for p in parts.values() if p.situation}
    distinguishing = set()
    for p in parts.values():
        for scope in p.scope.split("|") if p.scope else ():
            rest = [s for s in p.scope.split("|") if s != scope]
            twin = p.key.split("@")[0] + ("@" + "|".join(rest) if rest else "")
            if twin in keys or _EXERCISED_BY.search(scope):
                distinguishing.add(scope)
    keep = frozenset(distinguishing)
    table: dict[str, list[str]] = {}
    for code, p in parts.items():
        if not p.situation and p.stem in with_situations:
            continue  # its qualifier may be the situation that tells it from its siblings
        for key in _scope_subsets(p, keep):
            table.setdefault(key, []).append(code)
    return {k: tuple(dict.fromkeys(v)) for k, v in table.items()}


# Auxiliary catalogue tables the reduction tier reads: key → codes.
AUXILIARY_KEYS: dict[str, Callable[[NameParts], Iterable[str]]] = {
    # the key without a trailing generic word (服务, 事项…)
    "generic_free": lambda p: (
        k for kind, k in p.reductions if kind in ("generic_tail", "generic_tail+brackets")
    ),
    # the cleaned text with two neighbouring characters swapped
    "swapped": lambda p: swaps(p.plain),
    # names that open with a level word (县级文物保护单位修缮许可), read without it
    "level_prefixed": lambda p: (k for kind, k in p.reductions if kind == "level_prefix"),
}


# --- Walking the tiers ----------------------------------------------------------------------
# Kept apart from shixiang.matching (which adds candidates and decisions with pandas) so that
# a helper process of the matcher (shixiang.match_worker) starts without importing pandas.

METHOD_NONE = "none"


def walk(parts: NameParts, view: CatalogueView) -> tuple[str, Outcome | None]:
    """The first tier with something to say about a name, and what it says. A name nothing
    says anything about is walked again in its other readings (without a part that may be a
    decoration: 政府分局 X, 1 X); they must agree on one item, and what they find is weak
    evidence (a claimed code of an item the catalogue lacks sends it to review)."""
    for tier in TIERS:
        outcome = tier.decide(parts, view.tables[tier.method], view)
        if outcome is not None:
            return tier.method, outcome
    found: dict[str, str] = {}
    blocked: tuple[str, Outcome] | None = None
    for text in parts.readings:
        method, outcome = walk(parse_text(text), view)
        if outcome is not None and outcome.code:
            found.setdefault(outcome.code, method)
        elif outcome is not None and blocked is None:
            blocked = (method, outcome)
    if len(found) == 1:
        (code, method), *_ = found.items()
        return method, Outcome(code=code, detail=READING_DETAIL, weak=True)
    if len(found) > 1:
        return METHOD_NONE, Outcome(
            reason="名称的几种读法指向不同的目录事项", candidates=tuple(found)
        )
    return blocked or (METHOD_NONE, None)


READING_DETAIL = "去掉了名称首尾可能是实施主体或序号的部分"

# What the name model and the tiers say about one distinct name (``name_evidence``), in order,
# with the dtype of its column in ``match_names``' output.
EVIDENCE_COLUMNS: dict[str, str] = {
    "name_key": "str",
    "name_situation": "str",
    "name_scope": "str",
    "name_notes": "str",
    "method": "str",
    "business_code": "str",  # the item a tier accepted (missing when none did)
    "blocked": "str",  # why a tier sent the name to review, or ""
    "absent": "bool",
    "weak": "bool",
    "catalogue_side": "bool",
    "proposed": "object",  # the items a blocking tier found
    "detail": "str",
}


def evidence_of(names: list[str], view: CatalogueView, probes: bool = False) -> list[tuple]:
    """One :data:`EVIDENCE_COLUMNS` tuple per name: parse it, walk the tiers. With
    ``probes``, one ``(evidence, alias_probes(parts))`` pair per name instead."""
    out: list[tuple] = []
    with gc_paused():
        for name in names:
            p = parse_name(name)
            method, o = walk(p, view)
            said = (
                _NOTHING_SAID
                if o is None
                else (o.code, o.reason, o.absent, o.weak, o.catalogue_side, o.candidates, o.detail)
            )
            evidence = (p.key, p.situation, p.scope, "、".join(p.notes), method, *said)
            out.append((evidence, alias_probes(p)) if probes else evidence)
    return out


def alias_probes(parts: NameParts) -> tuple[str, ...]:
    """Every key under which the alias tier may look a name up: its own key and its other
    readings' (see :func:`walk`). A name's evidence found without the stewards' aliases holds
    as long as none of these keys is an alias."""
    return (parts.key, *(parse_text(text).key for text in parts.readings))


_NOTHING_SAID = (None, "", False, False, False, (), "")  # no tier had anything to say
