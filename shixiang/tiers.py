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

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from shixiang.names import OPTIONAL_WORD_PATTERN, NameParts

Table = Mapping[str, tuple[str, ...]]  # key → catalogue business codes with that key


@dataclass(frozen=True)
class Outcome:
    """What a tier says about one name: ``code`` accepted, or ``reason`` why it blocked (with
    the items it found, best first); ``detail`` tells the steward what the tier dropped."""

    code: str | None = None
    reason: str = ""
    candidates: tuple[str, ...] = ()
    detail: str = ""

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
        return Outcome(reason="可省略的词（单位、个人等）与目录事项不同", candidates=(code,))


class HomophoneTier(Tier):
    method = "homophone"
    label = "名称读音与目录事项一致（疑似同音错字）"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        return (parts.phonetic_key,)

    def unit_keys(self, parts: NameParts) -> Iterable[tuple[str, str]]:
        return ((parts.phonetic_key, ""),)


REDUCTION_LABELS = {
    "level_prefix": "名称开头的层级词",
    "owner_prefix": "名称开头的实施主体",
    "generic_tail": "名称末尾的泛称词（服务、事项等）",
    "catalogue_scope": "目录名称中的括号限定语",
    "catalogue_generic_tail": "目录名称末尾的泛称词",
}


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
        return super().decide(parts, catalogue.tables["canonical"], catalogue)

    def guard(self, parts, code, dropped, catalogue):
        if dropped == "level_prefix" and _object_level_conflict(parts, catalogue):
            return Outcome(reason=_OBJECT_LEVEL_REASON, candidates=(code,))
        return None


REDUCTION_LABELS = {
    **PrefixTier.kinds,
    "generic_tail": "名称末尾的泛称词（服务、事项等）",
    "catalogue_scope": "目录名称中的括号限定语",
    "catalogue_generic_tail": "目录名称末尾的泛称词",
}


class ReducedTier(Tier):
    """One optional part dropped: a trailing generic word (服务, 事项…) of the unit's name
    (also after a leading level word or owner), or a bracket qualifier (（激活）, （含临时建设）)
    or trailing generic word of the catalogue's. Accepted only when exactly one item is left and
    no sibling conflicts; weaker than a name equivalence, so a claimed code that disagrees
    sends the row to review."""

    method = "reduced"
    label = "省略可选部分后与目录中唯一事项一致"
    strong = False
    ambiguous_reason = "省略可选部分后与目录中多个事项同名"

    def decide(self, parts, table, catalogue):
        by_key = catalogue.tables["canonical"]
        scopeless = catalogue.tables["scopeless"]
        generic = catalogue.tables["generic_free"]
        hits: dict[str, str] = {}
        for kind, key in parts.reductions:
            if kind not in PrefixTier.kinds:
                for code in by_key.get(key, ()):
                    hits.setdefault(code, kind)
        if not parts.scope:
            for code in scopeless.get(parts.key, ()):
                hits.setdefault(code, "catalogue_scope")
        for kind, key in (("", parts.key), *parts.reductions):
            for code in generic.get(key, ()):
                hits.setdefault(code, "catalogue_generic_tail" + (f"+{kind}" if kind else ""))
        if not hits:
            return None
        if len(hits) > 1:
            return Outcome(reason=self.ambiguous_reason, candidates=tuple(hits))
        (code, dropped), *_ = hits.items()
        if "level_prefix" in dropped and _object_level_conflict(parts, catalogue):
            return Outcome(reason=_OBJECT_LEVEL_REASON, candidates=(code,))
        detail = "省略了" + "和".join(REDUCTION_LABELS[k] for k in dropped.split("+"))
        return Outcome(code=code, detail=detail)


def deletions(stem: str, min_length: int = 6) -> list[str]:
    """The stem with one character deleted, for every position but the first (a leading
    character often names the object: 分公司 ≠ 公司), when the stem is long enough."""
    if len(stem) < min_length:
        return []
    return [stem[:i] + stem[i + 1 :] for i in range(1, len(stem))]


def _with_parts(stem: str, parts: NameParts) -> str:
    return (
        stem
        + ("#" + parts.situation if parts.situation else "")
        + ("@" + parts.scope if parts.scope else "")
    )


class NearTier(Tier):
    """One character missing from or added to the stem (a typing slip), same situation and
    scope, the first character untouched, names of six characters or more."""

    method = "near"
    label = "与目录事项仅差一个字（疑似漏字或多字）"
    strong = False
    ambiguous_reason = "与目录中多个事项仅差一个字"

    def catalogue_keys(self, parts: NameParts) -> Iterable[str]:
        return (_with_parts(s, parts) for s in deletions(parts.stem))

    def decide(self, parts, table, catalogue):
        by_key = catalogue.tables["canonical"]
        hits: dict[str, str] = {}
        for code in table.get(parts.key, ()):  # the unit's name lacks a character
            hits.setdefault(code, "漏字")
        if len(parts.stem) >= 7:
            for stem in deletions(parts.stem, 7):  # the unit's name has one character more
                for code in by_key.get(_with_parts(stem, parts), ()):
                    hits.setdefault(code, "多字")
        if not hits:
            return None
        if len(hits) > 1:
            return Outcome(reason=self.ambiguous_reason, candidates=tuple(hits))
        (code, slip), *_ = hits.items()
        return Outcome(code=code, detail=f"与目录名称相差一个字（{slip}）")


# The tiers, strongest first. The claimed 基本编码 is evidence applied after them, per
# (name, code) pair: see shixiang.matching.decide_rows.
TIERS: tuple[Tier, ...] = (
    AliasTier(),
    ExactTier(),
    CanonicalTier(),
    LooseTier(),
    PrefixTier(),
    HomophoneTier(),
    ReducedTier(),
    NearTier(),
)
STRONG_METHODS: tuple[str, ...] = tuple(t.method for t in TIERS if t.strong)

# Auxiliary catalogue tables the reduction tier reads: key → codes.
AUXILIARY_KEYS: dict[str, Callable[[NameParts], Iterable[str]]] = {
    # the key without bracket qualifiers, for items that have some
    "scopeless": lambda p: (p.key.split("@")[0],) if p.scope else (),
    # the key without a trailing generic word (服务, 事项…)
    "generic_free": lambda p: (k for kind, k in p.reductions if kind == "generic_tail"),
    # names that open with a level word (县级文物保护单位修缮许可), read without it
    "level_prefixed": lambda p: (k for kind, k in p.reductions if kind == "level_prefix"),
}
