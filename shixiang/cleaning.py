"""Cleaning a cell before the name model reads it: characters by Unicode class, not by list.

Units type item names into spreadsheets, copy them out of web pages and other systems, and
decorate them. What reaches us carries invisible characters, every kind of space, brackets and
quotes of every style, separators, numbering and sentence punctuation. None of that names an
item, and a character never seen before must still be handled, so every rule here is a
*class* of characters (a Unicode general category, or a family of them), and each character is
classified the first time it is met:

======================  ========================================  ===========================
class                   Unicode categories                        becomes
======================  ========================================  ===========================
invisible               Cc Cf Co Cs Cn, Mn Me (combining marks,   removed
                        variation selectors)
space                   Zs Zl Zp, tab and line breaks             one space (a weak separator)
bracket                 Ps / Pe (（【〔《「『〈❮ …)               ``(`` / ``)``
quote                   Pi Pf (“ ” ‘ ’ « »), ASCII quotes, `      removed
separator               Pd Pc, and : ; | / \\ · ~ → and kin       ``-``
enumeration comma       、 , ，                                     ``、``
sentence end            . 。 ! ? … and every other Po             ``。``
symbol                  Sm Sc Sk So (★ ※ ● √ …)                   removed
number symbol           No Nl before NFKC (① ❾ ➂ ㊄ Ⅸ; not 〇)      one space (a weak separator)
CJK                     Lo                                        simplified (OpenCC t2s)
Latin                   Lu Ll Lt                                  lower case
======================  ========================================  ===========================

NFKC comes first, so full-width forms, circled and parenthesised numbers (① ⑴ ⒈), Kangxi
radicals and CJK compatibility ideographs are already their ordinary characters. Escape
artefacts that other systems leave in exported cells (``&nbsp;``, ``<br>``, Excel's
``_x000D_``) are undone before classification.

The result keeps the structure a person used (brackets, separators, where sentence
punctuation stood), so :mod:`shixiang.decoration` can tell decorations from the item.
"""

from __future__ import annotations

import html
import re
import unicodedata

from opencc import OpenCC

OPEN, CLOSE, SEP, ENUM, STOP, SPACE = "(", ")", "-", "、", "。", " "
# Markers left by the first pass for what is then removed, so the explanation can say so.
_INVISIBLE, _SYMBOL, _QUOTE = "\x00", "\x01", "\x02"
REMOVED_LABELS = {_INVISIBLE: "不可见字符", _SYMBOL: "符号", _QUOTE: "引号"}
_DROP_MARKERS = str.maketrans(dict.fromkeys(REMOVED_LABELS))

# Quotation marks that are not Ps/Pe. Chinese title and corner marks (《》「」『』〈〉) are
# Ps/Pe and are read as brackets: units use them as brackets too (｢委托｣, 〈区商务局〉), and the
# name model also reads every name with its bracket characters taken out (``flat_key``).
QUOTE_LIKE = frozenset("\"'`")
# Po/Sm characters that separate an owner, a level or a number from the name.
SEPARATOR_LIKE = frozenset(":;|/\\·•‧∙⋅・~→⇒>»›—–-‐‑‒―⁃−⸺⸻〜～︰¦")
ENUMERATION_LIKE = frozenset("、,，﹐﹑")

_T2S = OpenCC("t2s")
# Artefacts of exports: HTML entities and tags, Excel's _xHHHH_ escapes of control characters.
_ESCAPES = re.compile(
    r"&(?:#\d{1,6}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});|<[a-zA-Z/!][^<>]{0,200}>|_x[0-9a-fA-F]{4}_"
)


def char_class(ch: str) -> str:
    """What one character (after NFKC) becomes: a marker of a removed class (invisible,
    symbol, quote), a canonical punctuation mark, or the character itself (CJK simplified,
    Latin lower-cased)."""
    if ch in QUOTE_LIKE:
        return _QUOTE
    if ch in SEPARATOR_LIKE:
        return SEP
    if ch in ENUMERATION_LIKE:
        return ENUM
    if ch.isspace():  # every space, tab and line break: it may set an owner or level apart
        return SPACE
    cat = unicodedata.category(ch)
    major = cat[0]
    if major in "CZ" or cat in ("Mn", "Me"):
        return _INVISIBLE
    if major == "P":
        if cat == "Ps":
            return OPEN
        if cat == "Pe":
            return CLOSE
        if cat in ("Pi", "Pf"):
            return _QUOTE
        if cat in ("Pd", "Pc"):
            return SEP
        return STOP
    if major == "S":
        return _SYMBOL
    if major == "L":
        if cat == "Lo":
            return _T2S.convert(ch)
        return ch.lower()
    return ch  # digits (Nd) and other numbers


class _ClassTable(dict):
    """``str.translate`` table filled on first sight of each character (a few thousand
    distinct characters in a province), so classification costs one dict look-up a char."""

    def __missing__(self, code: int) -> str:
        out = char_class(chr(code))
        self[code] = out
        return out


_TABLE = _ClassTable()


_SPACING_MARK = re.compile(r" [\u0300-\u036f\u3099\u309a]+")


class _NumberSymbols(dict):
    """``str.translate`` table for the pass before NFKC: number symbols (categories No and Nl:
    ① ⑴ ⒈ ❾ ➂ ⓱ ㊄ ㈥ Ⅸ) become a space. NFKC would turn ⑨ into a bare 9 that reads like the
    start of the name (80周岁…); as a symbol it is list numbering, never part of an item.
    〇 and the other ideographic numbers (Nl, but written inside words) stay. Punctuation and
    symbols that NFKC would split into a space and a combining mark keep their own class."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        cat = unicodedata.category(ch)
        if cat in ("No", "Nl") and not 0x3007 <= code <= 0x3029:
            self[code] = SPACE
        elif _SPACING_MARK.fullmatch(unicodedata.normalize("NFKC", ch)) and cat[0] in "PS":
            # Spacing forms that NFKC turns into a space and a combining mark (﹉ ‾ ‗ → " ̅",
            # ￣ ¯ ´ → " ̄"): the space would weaken "3﹉X" into "3 X". Lines are separators,
            # the others symbols, as their own category says.
            self[code] = SEP if cat[0] == "P" else "^"
        else:
            self[code] = ch
        return self[code]


_NUMBER_SYMBOLS = _NumberSymbols()


def _balance(s: str) -> str:
    """Brackets that have no partner (a 【 opened and never closed, the ） of "十八）X", a low
    quotation mark „ that is a Ps) become separators."""
    chars = list(s)
    opened: list[int] = []
    for i, ch in enumerate(chars):
        if ch == OPEN:
            opened.append(i)
        elif ch == CLOSE:
            if opened:
                opened.pop()
            else:
                chars[i] = SEP
    for i in opened:
        chars[i] = SEP
    return "".join(chars)


def clean_cell(raw: object) -> tuple[str, tuple[str, ...]]:
    """The cell with every character replaced by its class (see the module docstring),
    brackets balanced and empty brackets removed; and the labels of the removed classes found
    (不可见字符或空白, 符号, 引号), for the explanation."""
    s = str(raw)
    for _ in range(2):  # escaped twice happens: &amp;nbsp;
        if "&" in s or "<" in s or "_x" in s:
            s = _ESCAPES.sub(_unescape, s)
    s = unicodedata.normalize("NFKC", s.translate(_NUMBER_SYMBOLS)).translate(_TABLE)
    removed = tuple(label for mark, label in REMOVED_LABELS.items() if mark in s)
    if removed:
        s = s.translate(_DROP_MARKERS)
    if OPEN in s or CLOSE in s:
        s = _balance(s)
        while "()" in s:
            s = s.replace("()", "")
    return s, removed


def _unescape(m: re.Match[str]) -> str:
    text = m.group(0)
    if text.startswith("&"):
        return html.unescape(text)
    return " "  # a tag (<br>) or an Excel escape of a control character: a separator
