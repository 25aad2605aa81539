"""Matching implementation-list rows to catalogue business-handling items.

Separated as in Splink: *comparisons* (the name model in :mod:`shixiang.names`), *candidate
generation* (alias and equivalence look-ups, then ``rapidfuzz.process.cdist`` over the distinct
unresolved names), and *decision* (:func:`decide_rows`: name evidence combined with the row's
claimed code into a status, with the explanation a steward reads).

Automatic matches need an equivalence that can be named — a confirmed alias, the same cleaned
name, the same canonical key, the same pronunciation — or a near-identical name that clears the
score *and* margin thresholds with no situation conflict. Everything else goes to review (with
its top candidates) or unmatched.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from shixiang.config import (
    STATUS_MATCHED,
    STATUS_REVIEW,
    STATUS_UNMATCHED,
    THRESHOLDS,
    MatchThresholds,
)
from shixiang.ingest import level_allowed
from shixiang.names import OPTIONAL_WORD_PATTERN, NameParts, parse_name

# Methods, strongest first. Stored in unified_library.match_method.
METHOD_ALIAS = "alias"  # a steward confirmed this normalised name before
METHOD_EXACT = "exact"  # same name once width, spaces, script and level qualifiers are folded
METHOD_CANONICAL = "canonical"  # same key after the name model's rewrites
METHOD_LOOSE = "loose"  # same key once optional words (单位, 企业, 个人, 申请, 办理) are dropped
METHOD_HOMOPHONE = "homophone"  # same key pronunciation: an input-method typo
METHOD_CLAIMED_CODE = "claimed_code"  # the claimed code's item, with a consistent name
METHOD_NONE = "none"

# Equivalences strong enough to outweigh a wrong claimed code (which then becomes a QC issue).
STRONG_METHODS = (METHOD_ALIAS, METHOD_EXACT, METHOD_CANONICAL, METHOD_LOOSE, METHOD_HOMOPHONE)
_CODE_FORMAT = re.compile(r"[0-9A-Z-]{4,50}")

METHOD_LABELS = {
    METHOD_ALIAS: "数据管理员已确认的同名事项",
    METHOD_EXACT: "名称与目录事项一致（忽略全半角、空格、繁简与层级限定词）",
    METHOD_CANONICAL: "名称规范化后与目录事项一致",
    METHOD_LOOSE: "忽略可省略的词（单位、企业、个人、人员、申请、办理）后与目录事项一致",
    METHOD_HOMOPHONE: "名称读音与目录事项一致（疑似同音错字）",
    METHOD_CLAIMED_CODE: "声明的基本编码指向该事项，且名称相近",
    METHOD_NONE: "",
}


def _unique_map(keys: pd.Series, codes: pd.Series) -> tuple[dict[str, str], dict[str, list[str]]]:
    """key → the only code with that key; key → all codes where several share it."""
    groups = codes.groupby(keys.values).agg(list)
    unique = {k: v[0] for k, v in groups.items() if len(v) == 1}
    shared = {k: v for k, v in groups.items() if len(v) > 1}
    return unique, shared


@dataclass
class CatalogueIndex:
    """Look-up structures over the catalogue, built once per run."""

    items: pd.DataFrame  # one row per business item, indexed 0..n-1, with parsed name columns
    by_text: dict[str, str]
    by_key: dict[str, str]
    by_phonetic: dict[str, str]
    by_loose: dict[str, str]
    shared_keys: dict[str, list[str]]
    by_base_code: dict[str, list[str]]
    position: dict[str, int]  # business_code → row position in ``items``
    attr: dict[str, dict[str, str]]  # column → {business_code → value}, for fast look-ups
    choices: list[str] = field(repr=False)  # key of each item, for cdist

    @classmethod
    def build(cls, catalogue: pd.DataFrame) -> CatalogueIndex:
        items = catalogue.reset_index(drop=True).copy()
        parts = [parse_name(str(n)) for n in items["item_name"]]
        items["name_text"] = [_level_free_text(p) for p in parts]
        items["name_key"] = [p.key for p in parts]
        items["name_situation"] = [p.situation for p in parts]
        items["name_scope"] = [p.scope for p in parts]
        items["name_phonetic"] = [p.phonetic_key for p in parts]
        items["name_loose"] = [p.loose_key for p in parts]
        items["name_stem"] = [p.stem for p in parts]
        codes = items["business_code"].astype(str)
        by_text, _ = _unique_map(items["name_text"], codes)
        by_key, shared = _unique_map(items["name_key"], codes)
        by_phon, _ = _unique_map(items["name_phonetic"], codes)
        by_loose, _ = _unique_map(items["name_loose"], codes)
        by_base = (
            codes.groupby(items["base_code"].astype(str).str.upper().values).agg(list).to_dict()
        )
        return cls(
            items=items,
            by_text=by_text,
            by_key=by_key,
            by_phonetic=by_phon,
            by_loose=by_loose,
            shared_keys=shared,
            by_base_code=by_base,
            position={c: i for i, c in enumerate(codes)},
            attr={
                col: dict(zip(codes, items[col].fillna("").astype(str), strict=True))
                for col in (
                    "item_name",
                    "name_key",
                    "name_situation",
                    "name_scope",
                    "name_stem",
                    "main_item_name",
                )
                if col in items
            },
            choices=items["name_key"].tolist(),
        )

    def name_of(self, code: str) -> str:
        return self.attr["item_name"][code]


def _optional_words_nest(a: str, b: str) -> bool:
    """True when the optional words found in one stem are a sub-multiset of the other's."""
    wa = Counter(OPTIONAL_WORD_PATTERN.findall(a))
    wb = Counter(OPTIONAL_WORD_PATTERN.findall(b))
    return not (wa - wb) or not (wb - wa)


def _level_free_text(p: NameParts) -> str:
    """The cleaned text without level qualifiers (the ``exact`` comparison)."""
    text = p.text
    if p.level:
        text = text.replace(f"({p.level})", "")
    return text


def _top_k_positions(block: np.ndarray, k: int) -> np.ndarray:
    """Column positions of the k highest scores of each row of a uint8 score block, best
    first, ties to the lower position. k passes of ``argmax`` (SIMD over uint8) instead of
    ``argpartition``, which costs ~15 ns an element: 0.8 s on 46,000 names × 1,300 items."""
    work = block.astype(np.int16)
    rows = np.arange(work.shape[0])
    out = np.empty((work.shape[0], k), dtype=np.int64)
    for j in range(k):
        best = work.argmax(axis=1)
        out[:, j] = best
        work[rows, best] = -1  # below every score: never picked twice
    return out


def _top_candidates(
    queries: list[str], index: CatalogueIndex, k: int, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k catalogue positions and ratio scores for each query (vectorised, chunked).

    Each distinct query is scored once (distinct raw names share keys: 46,000 names have
    28,000 keys). The full query × catalogue block is scored as uint8 (a quarter of float32's
    memory and faster to rank); the k kept candidates are then re-scored exactly with
    ``cpdist``."""
    codes, distinct = pd.factorize(pd.Series(queries, dtype=object))
    queries = distinct.tolist()
    n = len(queries)
    k = max(1, min(k, len(index.choices)))
    top_idx = np.zeros((n, k), dtype=np.int64)
    top_score = np.zeros((n, k), dtype=np.float32)
    if n == 0 or not index.choices:
        return top_idx[codes, :0], top_score[codes, :0]
    choices = np.asarray(index.choices, dtype=object)
    for start in range(0, n, chunk):
        q = queries[start : start + chunk]
        block = process.cdist(q, index.choices, scorer=fuzz.ratio, dtype=np.uint8, workers=-1)
        # Two spare candidates: uint8 rounding ties scores that differ by < 1, and the exact
        # re-score decides between them.
        part = _top_k_positions(block, min(k + 2, len(index.choices)))
        exact = process.cpdist(
            np.repeat(np.asarray(q, dtype=object), part.shape[1]),
            choices[part.ravel()],
            scorer=fuzz.ratio,
            workers=-1,
        ).reshape(part.shape)
        order = np.argsort(-exact, axis=1, kind="stable")[:, :k]
        top_idx[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        top_score[start : start + chunk] = np.take_along_axis(exact, order, axis=1)
    return top_idx[codes], top_score[codes]  # back to one row per query


def match_names(
    names: pd.Series,
    index: CatalogueIndex,
    aliases: dict[str, str] | None = None,
    thresholds: MatchThresholds = THRESHOLDS,
) -> pd.DataFrame:
    """Match *distinct* raw names. One output row per distinct name, indexed by the raw name.

    Columns: name_key, name_situation, method, business_code (or NaN), score, margin,
    candidates (list of (code, score)), conflict (str reason or "").
    """
    aliases = aliases or {}
    uniq = pd.Index(pd.unique(names.dropna().astype(str)))
    parts = [parse_name(n) for n in uniq.tolist()]
    out = pd.DataFrame(index=uniq)
    out["name_key"] = [p.key for p in parts]
    out["name_situation"] = [p.situation for p in parts]
    out["name_scope"] = [p.scope for p in parts]
    out["name_notes"] = ["、".join(p.notes) for p in parts]
    part_of = dict(zip(uniq, parts, strict=True))
    # Tiers, strongest first; each key is computed only for names no earlier tier resolved.
    tiers = (
        (METHOD_ALIAS, lambda p: p.key, aliases),
        (METHOD_EXACT, _level_free_text, index.by_text),
        (METHOD_CANONICAL, lambda p: p.key, index.by_key),
        (METHOD_LOOSE, lambda p: p.loose_key, index.by_loose),
        (METHOD_HOMOPHONE, lambda p: p.phonetic_key, index.by_phonetic),
    )
    method = pd.Series(METHOD_NONE, index=uniq, dtype="str")
    code = pd.Series(np.nan, index=uniq, dtype="str")
    uniq_names = np.asarray(uniq.tolist(), dtype=object)  # iterating an Arrow index is slow
    for label, key_of, table in tiers:
        todo = uniq_names[code.isna().to_numpy()]
        found = pd.Series([table.get(key_of(part_of[n])) for n in todo], index=todo, dtype="str")
        found = found.dropna()
        code[found.index] = found
        method[found.index] = label
    # Ambiguous words (换证): accept when exactly one reading names a catalogue item.
    alts = pd.Series([p.alt_keys for p in parts], index=uniq)
    todo = code.isna() & (alts.str.len() > 0)
    if todo.any():
        for name in uniq[todo.to_numpy()]:
            readings = [out.at[name, "name_key"], *alts[name]]
            if any(k in index.shared_keys for k in readings):
                continue
            hits = {index.by_key[k] for k in readings if k in index.by_key}
            if len(hits) == 1:
                code[name] = hits.pop()
                method[name] = METHOD_CANONICAL
    # The loose key drops optional words; it is an equivalence only when one name's optional
    # words contain the other's (失业个人登记 = 失业登记), never when they differ
    # (单位参保证明 ≠ 个人参保证明).
    loose_hit = method == METHOD_LOOSE
    if loose_hit.any():
        stems = index.items.set_index("business_code")["name_stem"]
        ok = pd.Series(
            [
                _optional_words_nest(part_of[n].stem, stems[c])
                for n, c in zip(uniq[loose_hit.to_numpy()], code[loose_hit], strict=True)
            ],
            index=uniq[loose_hit.to_numpy()],
        )
        bad = ok.index[~ok.to_numpy()]
        code.loc[bad] = np.nan
        method.loc[bad] = METHOD_NONE
    # An alias may point at a code that left the catalogue: then it is no evidence at all.
    gone = (method == METHOD_ALIAS) & ~code.isin(list(index.position))
    code = code.mask(gone)
    method = method.mask(gone, METHOD_NONE)

    # Fuzzy candidates for every name: the margin and the candidates are part of every
    # explanation, and distinct names are few.
    k = max(thresholds.top_candidates, 2)
    top_idx, top_score = _top_candidates(out["name_key"].tolist(), index, k, thresholds.chunk_size)
    item_codes = index.items["business_code"].astype(str).to_numpy()
    item_sit = index.items["name_situation"].to_numpy()
    cand_codes = item_codes[top_idx] if top_idx.size else np.empty((len(uniq), 0), dtype=object)
    best = top_score[:, 0].astype(np.float64) if top_score.shape[1] else np.zeros(len(uniq))
    second = top_score[:, 1].astype(np.float64) if top_score.shape[1] > 1 else np.zeros(len(uniq))
    shown = thresholds.top_candidates
    out["candidates"] = [
        list(zip(cs, ss, strict=True))
        for cs, ss in zip(
            cand_codes[:, :shown].tolist(),
            top_score[:, :shown].astype(np.float64).round(1).tolist(),
            strict=True,
        )
    ]
    best_sit = item_sit[top_idx[:, 0]] if top_idx.size else np.array([""] * len(uniq))
    sit = out["name_situation"].to_numpy()
    situation_conflict = (sit != "") & (best_sit != "") & (sit != best_sit)
    margin = best - second

    # Scores: equivalences score the similarity of the matched item's key (100 when equal).
    matched_keys = code.map(index.attr["name_key"]).fillna("")
    eq_score = np.array(
        [
            fuzz.ratio(a, b) if b else 0.0
            for a, b in zip(out["name_key"].tolist(), matched_keys.tolist(), strict=True)
        ]
    )
    out["method"] = method
    out["business_code"] = code
    out["score"] = np.where(code.notna(), eq_score, best).round(1)
    out["best_score"] = np.round(best, 1)
    out["margin"] = np.round(margin, 1)
    out["shared_key_codes"] = out["name_key"].map(index.shared_keys)
    conflict = np.where(situation_conflict, "办理情形与最接近的目录事项不同", "")
    out["conflict"] = conflict
    return out


# Columns decide_rows adds to the item rows.
DECISION_COLUMNS: tuple[str, ...] = (
    "status",
    "business_code",
    "catalogue_name",
    "match_method",
    "score",
    "margin",
    "candidates",
    "explanation",
    "name_key",
)


def _norm_code(s: pd.Series) -> pd.Series:
    return s.astype("str").str.strip().str.upper().mask(s.isna())


def distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Group identical rows of ``frame`` (missing values equal to each other, not to "").

    Returns (code of each row, position of each group's first row); codes number groups by
    first appearance, so ``frame.iloc[first]`` lists the groups in code order. Each column
    is factorised on its own (Arrow does strings fast) and the integer codes are combined:
    several times faster than factorising a MultiIndex or grouping on 500k rows."""
    combined = np.zeros(len(frame), dtype=np.int64)
    for col in frame.columns:
        col_codes, uniques = pd.factorize(frame[col], use_na_sentinel=False)
        combined = combined * (len(uniques) + 1) + col_codes
        combined, _ = pd.factorize(combined)  # renumber: keeps the product far from overflow
    codes, _ = pd.factorize(combined)
    first = np.unique(codes, return_index=True)[1] if len(codes) else np.empty(0, np.int64)
    return codes.astype(np.int64), first


def decide_rows(
    items: pd.DataFrame,
    index: CatalogueIndex,
    aliases: dict[str, str] | None = None,
    thresholds: MatchThresholds = THRESHOLDS,
) -> pd.DataFrame:
    """Decide every item row: status, business_code, method, score, margin, candidates, and a
    Chinese explanation. Returns ``items`` with :data:`DECISION_COLUMNS` added (same order).

    A decision depends only on the row's name and claimed code, so each distinct
    (name, claimed code) pair is decided once and the result is broadcast to its rows."""
    claimed = (
        items["claimed_code"]
        if "claimed_code" in items
        else pd.Series(np.nan, index=items.index, dtype="str")
    )
    pairs = pd.DataFrame({"item_name": items["item_name"].astype("str"), "claimed_code": claimed})
    codes, first = distinct_rows(pairs)
    distinct = pairs.iloc[first].reset_index(drop=True)
    decided = _decide_distinct(distinct, index, aliases, thresholds)
    out = items.copy()
    for col in DECISION_COLUMNS:
        out[col] = pd.Series(decided[col].array.take(codes), index=out.index)
    return out


def _decide_distinct(
    items: pd.DataFrame,
    index: CatalogueIndex,
    aliases: dict[str, str] | None,
    thresholds: MatchThresholds,
) -> pd.DataFrame:
    """:func:`decide_rows` on distinct (item_name, claimed_code) pairs."""
    names = match_names(items["item_name"], index, aliases, thresholds)
    per_row = names.reindex(items["item_name"].astype(str).to_numpy())
    per_row.index = items.index

    code = per_row["business_code"].copy()
    method = per_row["method"].copy()
    claimed = (
        _norm_code(items["claimed_code"])
        if "claimed_code" in items
        else pd.Series(np.nan, index=items.index, dtype="str")
    )
    ev = _claimed_code_evidence(items["item_name"].astype(str), claimed, names, index, thresholds)
    strong = method.isin(STRONG_METHODS)
    reasons = pd.Series("", index=items.index, dtype="str")

    # 1. Name resolved but the claimed code points elsewhere. A strong name equivalence wins
    #    (the wrong code becomes quality issue QC-003) unless the code is a sibling's, where
    #    name and code disagree on the handling situation: then a steward decides.
    conflict = code.notna() & ev["known"] & ~ev["agrees"]
    reasons = reasons.mask(conflict & ev["sibling"], "声明的基本编码属于同一主项下的另一个办理项")
    reasons = reasons.mask(conflict & ~ev["sibling"] & ~strong, "声明的基本编码属于另一个目录事项")
    reasons = reasons.mask(code.notna() & ev["malformed"] & ~strong, "声明的基本编码格式不正确")
    notes = pd.Series("", index=items.index, dtype="str")
    notes = notes.mask(
        conflict & ~ev["sibling"] & strong,
        "声明的基本编码属于另一个目录事项，以名称为准（见质检问题）",
    )
    notes = notes.mask(
        code.notna() & ev["malformed"] & strong,
        "声明的基本编码格式不正确，以名称为准（见质检问题）",
    )

    # 2. Name unresolved, claimed code valid: accept the code's item (the one whose situation
    #    fits the name) when the name is close to it.
    unresolved = code.isna()
    claim_ok = (
        unresolved
        & ev["target"].notna()
        & (ev["target_score"] >= thresholds.claimed_code_min_score)
    )
    code = code.where(~claim_ok, ev["target"])
    method = method.where(~claim_ok, METHOD_CLAIMED_CODE)
    claimed_but_far = unresolved & ev["known"] & ~claim_ok
    reasons = reasons.mask(
        claimed_but_far & (reasons == ""), "名称与声明的基本编码对应的目录事项不一致"
    )
    claims_match = claimed.notna() & (ev["agrees"] | claim_ok)

    accepted = code.notna() & (reasons == "")
    best = per_row["best_score"].fillna(0)
    status = np.where(
        accepted,
        STATUS_MATCHED,
        np.where(
            (best >= thresholds.review_min_score) | (reasons != "") | code.notna(),
            STATUS_REVIEW,
            STATUS_UNMATCHED,
        ),
    )
    status = pd.Series(status, index=items.index, dtype="str")
    final_code = code.where(status == STATUS_MATCHED)
    score = per_row["score"].where(method != METHOD_CLAIMED_CODE, ev["target_score"]).fillna(0.0)

    out = items.copy()
    out["status"] = status
    out["business_code"] = final_code
    out["catalogue_name"] = final_code.map(index.attr["item_name"])
    out["match_method"] = method.where(status != STATUS_UNMATCHED, METHOD_NONE)
    out["score"] = score.astype("float64").round(1)
    out["margin"] = per_row["margin"].fillna(0.0).astype("float64")
    # Review rows whose name resolved but whose evidence conflicts keep that item first.
    out["candidates"] = _candidates_json(per_row, code, status, index)
    out["explanation"] = _explain(per_row, method, status, reasons, claimed, claims_match, notes)
    out["name_key"] = per_row["name_key"]
    return out


def _claimed_code_evidence(
    names: pd.Series,
    claimed: pd.Series,
    per_name: pd.DataFrame,
    index: CatalogueIndex,
    thresholds: MatchThresholds,
) -> pd.DataFrame:
    """What each row's claimed 基本编码 says, computed once per distinct (name, code) pair.

    Columns: known (the code is in the catalogue, as 基本编码 or 业务办理项编码), malformed,
    agrees (the name's match is in the code's family), sibling (the code's family shares the
    matched item's 主项 or stem), target (for unresolved names: the family member whose
    situation fits the name) and target_score (name key vs target key).
    """
    pairs = pd.DataFrame(
        {"name": names.to_numpy(), "claimed": claimed.to_numpy()}, index=names.index
    )
    distinct = pairs.dropna(subset=["claimed"]).drop_duplicates()
    stem, main = index.attr["name_stem"], index.attr.get("main_item_name", {})
    situation, key = index.attr["name_situation"], index.attr["name_key"]
    by_name = per_name.index.tolist()  # plain dicts: Series.to_dict boxes value by value
    resolved = dict(zip(by_name, per_name["business_code"].tolist(), strict=True))
    name_situation = dict(zip(by_name, per_name["name_situation"].tolist(), strict=True))
    name_key = dict(zip(by_name, per_name["name_key"].tolist(), strict=True))
    name_scope = dict(zip(by_name, per_name["name_scope"].tolist(), strict=True))
    scope = index.attr["name_scope"]
    rows = []
    for name, code in zip(distinct["name"].tolist(), distinct["claimed"].tolist(), strict=True):
        family = index.by_base_code.get(code) or ([code] if code in index.position else [])
        matched = resolved[name]
        agrees = isinstance(matched, str) and matched in family
        sibling = False
        if isinstance(matched, str) and family and not agrees:
            sibling = any(
                stem[c] == stem[matched] or (main.get(matched) and main.get(c) == main[matched])
                for c in family
            )
        target, score = None, 0.0
        if not isinstance(matched, str) and family:
            # The item the code names must fit the name's situation, and its scope may not
            # contradict the name's: （个人） is not （用人单位）, whatever the code says.
            own = name_scope[name]
            family_ok = [c for c in family if not (own and scope[c] and own != scope[c])]
            fits = [c for c in family_ok if situation[c] == name_situation[name]]
            if len(fits) != 1 and len(family_ok) == 1 == len(family) and not name_situation[name]:
                fits = family_ok
            if len(fits) == 1:
                target = fits[0]
                score = float(fuzz.ratio(name_key[name], key[target]))
        rows.append(
            {
                "name": name,
                "claimed": code,
                "known": bool(family),
                "malformed": not _CODE_FORMAT.fullmatch(code),
                "agrees": agrees,
                "sibling": sibling,
                "target": target,
                "target_score": score,
            }
        )
    ev = pd.DataFrame(
        rows,
        columns=[
            "name",
            "claimed",
            "known",
            "malformed",
            "agrees",
            "sibling",
            "target",
            "target_score",
        ],
    )
    out = pairs.merge(ev, on=["name", "claimed"], how="left")
    out.index = names.index
    for col in ("known", "malformed", "agrees", "sibling"):
        out[col] = out[col].fillna(False).astype(bool)
    out["target_score"] = out["target_score"].fillna(0.0).astype("float64")
    out["target"] = out["target"].astype("str").mask(out["target"].isna())
    return out


def _candidates_json(
    per_row: pd.DataFrame, code: pd.Series, status: pd.Series, index: CatalogueIndex
) -> pd.Series:
    """JSON list of {business_code, name, score} per row (computed per distinct combination)."""
    keys = per_row["name_key"].fillna("") + "\x1f" + code.fillna("") + "\x1f" + status
    first = ~keys.duplicated()
    cache: dict[str, str] = {}
    names = index.attr["item_name"]
    # The same text json.dumps writes for [{"business_code": c, "name": n, "score": s}, …],
    # with each code and name encoded once instead of once per distinct row key.
    entry_head = {
        c: '{"business_code": '
        + json.dumps(c, ensure_ascii=False)
        + ', "name": '
        + json.dumps(n, ensure_ascii=False)
        + ', "score": '
        for c, n in names.items()
    }
    for k, cands, c, score in zip(
        keys[first].tolist(),
        per_row.loc[first, "candidates"].tolist(),
        code[first].tolist(),
        per_row.loc[first, "score"].tolist(),
        strict=True,
    ):
        cands = list(cands) if isinstance(cands, list) else []
        if isinstance(c, str) and all(c != x[0] for x in cands):
            cands = [(c, float(score)), *cands[:-1]] if cands else [(c, 100.0)]
        cache[k] = "[" + ", ".join(entry_head[x] + json.dumps(sc) + "}" for x, sc in cands) + "]"
    return keys.map(cache)


def _explain(
    per_row: pd.DataFrame,
    method: pd.Series,
    status: pd.Series,
    reasons: pd.Series,
    claimed: pd.Series,
    claims_match: pd.Series,
    notes_extra: pd.Series,
) -> pd.Series:
    """A one-line Chinese explanation per row, built from vectorised string pieces."""
    method_text = method.map(METHOD_LABELS).fillna("")
    notes = per_row["name_notes"].fillna("")
    score = per_row["best_score"].fillna(0).round(1).astype(str)
    margin = per_row["margin"].fillna(0).round(1).astype(str)
    fuzzy_text = "最高相似度 " + score + "，领先第二候选 " + margin
    base = np.select(
        [status == STATUS_MATCHED, status == STATUS_REVIEW],
        [
            "自动匹配：" + method_text,
            "待人工核对：" + fuzzy_text,
        ],
        default="未找到相近的目录事项（" + fuzzy_text + "）",
    )
    out = pd.Series(base, index=per_row.index, dtype="str")
    rewritten = method.isin([METHOD_CANONICAL, METHOD_LOOSE, METHOD_HOMOPHONE, METHOD_ALIAS]) | (
        status != STATUS_MATCHED
    )
    out = out + np.where((notes != "") & rewritten, "；规范化：" + notes, "")
    conflict = per_row["conflict"].fillna("")
    out = out + np.where(conflict != "", "；" + conflict, "")
    out = out + np.where(reasons != "", "；" + reasons, "")
    out = out + np.where(notes_extra != "", "；" + notes_extra, "")
    out = out + np.where(claims_match & (status == STATUS_MATCHED), "；声明的基本编码一致", "")
    out = out + np.where(claimed.isna(), "；未填写基本编码", "")
    return out


def element_evidence(rows: pd.DataFrame) -> pd.Series:
    """Row-level evidence beyond the name, as text to append to the explanation of matched
    rows: 事项类型 agreement and whether the unit's level may exercise the item (行使层级).
    ``rows`` carries ``item_type``, ``level`` and the matched item's ``cat_item_type`` and
    ``cat_use_level_keys``. Disagreements are also quality issues (QC-001, QC-002)."""
    columns = ["item_type", "cat_item_type", "level", "cat_use_level_keys"]
    codes, first = distinct_rows(rows[columns])
    evidence = _element_evidence(rows[columns].iloc[first].reset_index(drop=True))
    return pd.Series(evidence.array.take(codes), index=rows.index, dtype="str")


def _element_evidence(rows: pd.DataFrame) -> pd.Series:
    """:func:`element_evidence` on distinct combinations of the columns it reads."""
    has_match = rows["cat_item_type"].notna()
    unit_type = rows["item_type"]
    same_type = unit_type == rows["cat_item_type"]
    out = pd.Series("", index=rows.index, dtype="str")
    out = out.mask(has_match & unit_type.notna() & same_type, "；事项类型一致")
    out = out.mask(
        has_match & unit_type.notna() & ~same_type,
        "；事项类型不一致（填报“"
        + unit_type.astype("str")
        + "”，目录“"
        + rows["cat_item_type"].astype("str")
        + "”）",
    )
    keys = rows["cat_use_level_keys"].fillna("")
    allowed = level_allowed(rows["level"], keys)
    out = out + np.where(has_match & (keys != "") & allowed, "；本级在行使层级内", "")
    out = out + np.where(has_match & (keys != "") & ~allowed, "；本级不在行使层级内", "")
    return out
