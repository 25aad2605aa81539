"""Every variant of every catalogue name, per level: the vocabulary of
:mod:`dev.synth.vocabulary` applied, each variant kept only when it names no other item.

For each level, ``variants[level][item][class]`` lists the names a unit of that level may write
for the item under that variation class (empty where the class does not apply). The level
matters for qualifiers and department prefixes; the other classes are the same at every level.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict

import pandas as pd

from dev.synth.agencies import _DEPTS
from dev.synth.vocabulary import (
    _ABBREVIATIONS,
    _ANY_VERB_END_RE,
    _CONNECTOR_RE,
    _DUIDE_VERBS,
    _DUPLICATE_BIGRAM_RE,
    _INSERT_VERBS,
    _INSERT_WORDS,
    _QUALIFIERS,
    _REORDER_VERBS,
    _SITUATION_SYNONYMS,
    _SITUATION_VERB_AFTER_RE,
    _SYNONYM_MEANS,
    _VERB_SYNONYMS,
    VARIATIONS,
    _is_cjk,
    _pinyin,
    _s2t,
    _split_suffix,
    name_key,
)
from shixiang.config import LEVELS


def _variants_level_free(name: str, rng: random.Random, homophones: dict[str, list[str]]) -> dict:
    base, suffix = _split_suffix(name)
    out: dict[str, list[str]] = {c: [] for c in VARIATIONS}
    out["exact"] = [name]
    if "（" in name:
        out["halfwidth_brackets"] = [name.replace("（", "(").replace("）", ")")]
    out["traditional"] = [_s2t(name)]
    for v in _DUIDE_VERBS:
        if base.endswith(v) and len(base) > len(v) + 1 and not base.startswith("对"):
            out["duiDe_frame"] = [f"对{base[: -len(v)]}的{v}{suffix}"]
            break
    for v in _REORDER_VERBS:
        stem = base[: -len(v)]
        if base.endswith(v) and len(stem) >= 2 and not _ANY_VERB_END_RE.search(stem):
            if not stem.startswith("对") and not re.search(r"(?:的|和|及|与|、)$", stem):
                out["reorder"] = [f"{v}{stem}{suffix}"]
            break
    for v in _INSERT_VERBS:
        if base.endswith(v) and len(base) > len(v) + 1:
            stem = base[: -len(v)]
            out["inserted_object"] = [
                f"{stem}{w}{v}{suffix}"
                for w in _INSERT_WORDS
                if not stem.endswith(w) and not (w == "申请" and v in ("申请", "申报"))
            ]
            break
    for long, short in _ABBREVIATIONS:
        if long in name:
            out["abbreviation"] = [name.replace(long, short, 1)]
            break
    for src, dst in _VERB_SYNONYMS:
        pos = base.rfind(src)
        if pos >= 0 and dst not in base:
            out["verb_synonym"].append(base[:pos] + dst + base[pos + len(src) :] + suffix)
    positions = [m.start() for m in _CONNECTOR_RE.finditer(name) if 0 < m.start() < len(name) - 1]
    out["dropped_connector"] = [name[:p] + name[p + 1 :] for p in positions[:3]]
    # Homophones: up to three different positions.
    slots = [i for i, ch in enumerate(name) if _is_cjk(ch) and homophones.get(ch)]
    rng.shuffle(slots)
    out["homophone"] = [
        name[:i] + rng.choice(homophones[name[i]]) + name[i + 1 :] for i in slots[:3]
    ]
    # Stray spaces.
    noisy = []
    for kind in ("inner", "wide", "edge"):
        i = rng.randrange(1, len(name)) if len(name) > 1 else 1
        if kind == "inner":
            noisy.append(name[:i] + " " + name[i:])
        elif kind == "wide":
            noisy.append(name[:i] + "\u3000" + name[i:])
        else:
            noisy.append(rng.choice((" " + name, name + " ", name[:i] + "  " + name[i:])))
    out["space_noise"] = noisy
    return out


def _situation_synonyms(name: str, family_names: list[str]) -> list[str]:
    out: list[str] = []
    base, suffix = _split_suffix(name)
    for word, synonyms in _SITUATION_SYNONYMS.items():
        pos = name.rfind(word)
        if pos < 0:
            continue
        after = name[pos + len(word) :]
        in_suffix = pos >= len(base)
        if not in_suffix and not _SITUATION_VERB_AFTER_RE.fullmatch(
            after[: len(after) - len(suffix)]
        ):
            continue
        for syn in synonyms:
            blocked = any(
                other != name and any(m in other for m in (syn, *_SYNONYM_MEANS.get(syn, ())))
                for other in family_names
            )
            cand = name[:pos] + syn + name[pos + len(word) :]
            if not blocked and not _DUPLICATE_BIGRAM_RE.search(cand):
                out.append(cand)
        break  # only the longest/first situation word found
    return out


def _level_variants(name: str, level: str, dept_key: str) -> dict[str, list[str]]:
    base, suffix = _split_suffix(name)
    quals = _QUALIFIERS[level]
    lq = [name + q for q in quals]
    if suffix:
        lq.append(base + quals[0] + suffix)
    short = _DEPTS[dept_key][3]
    if level == "province":
        short_p = short.replace("局", "厅") if _DEPTS[dept_key][0].endswith("厅") else short
        prefixes = ["省级", f"省{short_p}", f"省{short_p}-"]
    elif level == "city":
        prefixes = ["市级", f"市{short}", f"市{short}-"]
    elif level == "county":
        # \x00 stands for the unit's own character (区/县/市), filled in per row.
        prefixes = ["\x00级", f"\x00{short}", f"\x00{short}-"]
    elif level == "township":
        prefixes = ["乡镇", "镇级", "乡镇便民服务中心-"]
    else:
        prefixes = ["村级", "村（社区）", "社区便民服务站-"]
    return {"level_qualifier": lq, "dept_prefix": [p + name for p in prefixes]}


def _build_variants(
    cat: pd.DataFrame, wh: pd.DataFrame, rng: random.Random
) -> dict[str, list[list[list[str]]]]:
    owners: dict[str, int] = {}
    for i, n in enumerate(cat["name"]):
        owners.setdefault(name_key(n), i)
    for n in list(wh["name"]) + list(cat["main"]):
        owners.setdefault(name_key(n), -1)

    chars = sorted({ch for n in cat["name"] for ch in n if _is_cjk(ch)})
    by_sound: dict[str, list[str]] = defaultdict(list)
    for ch in chars:
        by_sound[_pinyin(ch)].append(ch)
    homophones = {ch: [o for o in by_sound[_pinyin(ch)] if o != ch] for ch in chars}

    families: dict[str, list[str]] = defaultdict(list)
    for fam, n in zip(cat["family"], cat["name"], strict=True):
        families[fam].append(n)
    for fam, n in zip(wh["family"], wh["name"], strict=True):
        families[fam].append(n)

    def valid(i: int, name: str, cands: list[str]) -> list[str]:
        out = []
        for c in cands:
            if c == name or c in out:
                continue
            owner = owners.get(name_key(c))
            if owner is None or owner == i:
                out.append(c)
        return out

    free: list[dict[str, list[str]]] = []
    for i, (name, fam) in enumerate(zip(cat["name"], cat["family"], strict=True)):
        v = _variants_level_free(name, rng, homophones)
        v["situation_synonym"] = _situation_synonyms(name, families[fam])
        for c in VARIATIONS[1:]:
            v[c] = valid(i, name, v[c])
        free.append(v)

    result: dict[str, list[list[list[str]]]] = {}
    for level in LEVELS:
        per_item = []
        for i, (name, key) in enumerate(zip(cat["name"], cat["dept_key"], strict=True)):
            lv = _level_variants(name, level, key)
            row = []
            for c in VARIATIONS:
                row.append(valid(i, name, lv[c]) if c in lv else free[i][c])
            per_item.append(row)
        result[level] = per_item
    return result
