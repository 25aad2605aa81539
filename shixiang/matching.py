"""Matching implementation-list rows to catalogue business-handling items.

Separated as in Splink: *comparisons* (the name model in :mod:`shixiang.names`, after
cleaning by character class and peeling decorations), *tiers* (:data:`shixiang.tiers.TIERS`,
an ordered list of equivalences, each with its own accept rule), *candidate generation*
(``rapidfuzz.process.cdist`` over the distinct names, for review and the explanation), and
*decision* (:func:`decide_rows`: the name's evidence combined with the row's claimed code into
a status, with the explanation a steward reads). :func:`decide` is the whole step: match every
row, apply the stewards' decisions in force, join the matched catalogue item's elements.

Automatic matches need an equivalence that a tier can name, with exactly one catalogue item on
the other side. A fuzzy score alone never accepts; it decides between review and unmatched.
The claimed 基本编码 is evidence, never a verdict: it can settle a choice between items whose
names both fit, and accept an unresolved name only when the name differs from the code's item
by left-out characters, never by a distinguishing word.
"""

from __future__ import annotations

import itertools
import os
import pickle
import re
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from shixiang import candidates as cand_codec
from shixiang import decisions
from shixiang.config import (
    CLAIMED_CODE_PATTERN,
    MATCH_MIN_NAMES_PER_WORKER,
    STATUS_MATCHED,
    STATUS_REVIEW,
    STATUS_UNMATCHED,
    THRESHOLDS,
    MatchThresholds,
    match_workers,
)
from shixiang.evidence_cache import EvidenceCache
from shixiang.ingest import level_allowed
from shixiang.names import NameParts, clear_caches, parse_name
from shixiang.perf import gc_paused
from shixiang.tiers import (
    AUXILIARY_KEYS,
    EVIDENCE_COLUMNS,
    METHOD_NONE,
    STRONG_METHODS,
    TIERS,
    CatalogueView,
    Table,
    evidence_of,
    scopeless_table,
)

METHOD_CLAIMED_CODE = "claimed_code"  # the claimed code's item, with a name that fits it
_CODE_FORMAT = re.compile(CLAIMED_CODE_PATTERN)

METHOD_LABELS = {
    **{t.method: t.label for t in TIERS},
    METHOD_CLAIMED_CODE: "声明的基本编码指向该事项，名称与之相符",
    METHOD_NONE: "",
}


@dataclass
class CatalogueIndex:
    """Look-up structures over the catalogue, built once per run."""

    items: pd.DataFrame  # one row per business item, indexed 0..n-1, with parsed name columns
    tables: dict[str, Table]  # tier method (and auxiliary tables) → key → codes
    parts: dict[str, NameParts]  # business_code → parsed name
    by_base_code: dict[str, list[str]]
    position: dict[str, int]  # business_code → row position in ``items``
    attr: dict[str, dict[str, str]]  # column → {business_code → value}, for fast look-ups
    choices: list[str] = field(repr=False)  # key of each item, for cdist
    code_shapes: frozenset[str] = frozenset()  # shapes of the catalogue's codes (code_shape)

    @classmethod
    def build(cls, catalogue: pd.DataFrame) -> CatalogueIndex:
        items = catalogue.reset_index(drop=True).copy()
        parts = [parse_name(str(n)) for n in items["item_name"]]
        items["name_key"] = [p.key for p in parts]
        items["name_situation"] = [p.situation for p in parts]
        items["name_scope"] = [p.scope for p in parts]
        items["name_stem"] = [p.stem for p in parts]
        codes = items["business_code"].astype(str).tolist()
        keyers = {t.method: t.catalogue_keys for t in TIERS} | AUXILIARY_KEYS
        tables: dict[str, Table] = {}
        for name, keys_of in keyers.items():
            table: dict[str, list[str]] = defaultdict(list)
            for p, code in zip(parts, codes, strict=True):
                for key in keys_of(p):
                    if code not in table[key]:
                        table[key].append(code)
            tables[name] = {k: tuple(v) for k, v in table.items()}
        tables["scopeless"] = scopeless_table(dict(zip(codes, parts, strict=True)))
        by_base = (
            pd.Series(codes).groupby(items["base_code"].astype(str).str.upper().values).agg(list)
        ).to_dict()
        return cls(
            items=items,
            tables=tables,
            parts=dict(zip(codes, parts, strict=True)),
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
            code_shapes=frozenset(
                map(code_shape, [*codes, *items["base_code"].astype(str).str.upper()])
            ),
        )

    def name_of(self, code: str) -> str:
        return self.attr["item_name"][code]

    def family(self, claimed: str) -> list[str]:
        """The business codes a claimed code names: its 基本编码 family, or the one item whose
        业务办理项编码 it is; empty when the catalogue does not know it."""
        return self.by_base_code.get(claimed) or ([claimed] if claimed in self.position else [])


def code_shape(code: str) -> str:
    """A code with every digit written 9 and every letter A (22A007150000 → 99A999999999):
    a claimed code the catalogue does not know but that has the shape of its codes is the code
    of an item the catalogue lacks; a code of another shape (22FO04880000, 220000ZJ0426) is a
    slip or a unit's own numbering, and says nothing about the item."""
    return re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", code))


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


def plain_view(catalogue: pd.DataFrame | CatalogueIndex) -> CatalogueView:
    """The catalogue as the tiers see it without the stewards' aliases: the view whose evidence
    :mod:`shixiang.evidence_cache` keeps."""
    index = catalogue if isinstance(catalogue, CatalogueIndex) else CatalogueIndex.build(catalogue)
    return CatalogueView(index.parts, {**index.tables, "alias": {}})


def name_evidence(
    names: list[str], view: CatalogueView, workers: int | None = None, probes: bool = False
) -> list[tuple]:
    """:data:`EVIDENCE_COLUMNS` tuples of distinct ``names``, in order (with ``probes``,
    ``(evidence, alias probes)`` pairs: see :func:`shixiang.tiers.evidence_of`).

    Parsing and walking the tiers is pure Python, about 80 µs a name: 200,000 distinct names
    (a 500,000-row province with real-world noise) take 16 s on one core. With
    ``MATCH_MIN_NAMES_PER_WORKER`` names or more per worker they are split between this
    process and ``workers - 1`` helper processes (:mod:`shixiang.match_worker`), each sent
    the catalogue view and its share. ``workers`` defaults to
    :func:`shixiang.config.match_workers`. The result does not depend on the split."""
    workers = match_workers() if workers is None else workers
    workers = max(1, min(workers, len(names) // MATCH_MIN_NAMES_PER_WORKER))
    if workers == 1:
        return evidence_of(names, view, probes)
    # Equal shares; this process works on the first while the others start (~1 s).
    bounds = np.linspace(0, len(names), workers + 1).astype(int).tolist()
    chunks = [names[a:b] for a, b in itertools.pairwise(bounds)]
    helpers = [_Helper(view, chunk, probes) for chunk in chunks[1:]]
    try:
        evidence = evidence_of(chunks[0], view, probes)
        for helper in helpers:
            evidence.extend(helper.result())
    finally:
        for helper in helpers:
            helper.close()
    return evidence


def spawn_worker(*args: str) -> tuple[subprocess.Popen, IO[bytes]]:
    """Start ``python -m shixiang.match_worker`` (with ``args``) on pipes, the package's root
    first on its PYTHONPATH (so it runs this code), its stderr into the temporary file returned
    with it (see :func:`worker_stderr`; the caller closes it). Raises OSError if it cannot start."""
    package_root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, path]))}
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller, who closes it
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shixiang.match_worker", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
    except OSError:
        errors.close()
        raise
    return proc, errors


def worker_stderr(errors: IO[bytes], last: int = 2000) -> str:
    """The end of what a process started by :func:`spawn_worker` wrote to its stderr."""
    errors.seek(0)
    return errors.read().decode("utf-8", "replace").strip()[-last:]


class _Helper:
    """A :mod:`shixiang.match_worker` process working on some names. Its stdin is fed from a
    thread (the child reads it only once its imports are done); stderr goes to a temporary
    file, quoted if the child fails."""

    def __init__(self, view: CatalogueView, names: list[str], probes: bool) -> None:
        self.proc, self.errors = spawn_worker()
        self.expected = len(names)
        payload = pickle.dumps((view, names, probes), protocol=pickle.HIGHEST_PROTOCOL)
        self.feeder = threading.Thread(target=self._feed, args=(payload,), daemon=True)
        self.feeder.start()

    def _feed(self, payload: bytes) -> None:
        try:
            self.proc.stdin.write(payload)
            self.proc.stdin.close()
        except OSError:  # the child died: result() reports its exit code and stderr
            pass

    def result(self) -> list[tuple]:
        data = self.proc.stdout.read()
        code = self.proc.wait()
        self.feeder.join()
        if code != 0:
            message = worker_stderr(self.errors)
            raise RuntimeError(f"名称匹配子进程失败（退出码 {code}）：{message}")
        try:
            evidence = pickle.loads(data)
        except Exception as error:  # whatever a damaged pickle raises
            evidence = error
        if not isinstance(evidence, list) or len(evidence) != self.expected:
            got = len(evidence) if isinstance(evidence, list) else repr(evidence)[:200]
            raise RuntimeError(
                f"名称匹配子进程的结果不完整（{len(data)} 字节；应有 {self.expected} 个名称，"
                f"得到 {got}）"
            )
        return evidence

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.errors.close()


def _evidence(
    names: list[str], index: CatalogueIndex, alias_table: Table, cache: EvidenceCache | None
) -> list[tuple]:
    """:func:`name_evidence` of ``names``, from ``cache`` where it holds."""
    view = CatalogueView(index.parts, {**index.tables, "alias": alias_table})
    if cache is None:
        return name_evidence(names, view)
    aliased = set(alias_table)
    cache.seen = names
    out: list[tuple | None] = [None] * len(names)
    todo: list[int] = []  # not in the cache
    redo: list[int] = []  # an alias in force may change what the tiers say
    for i, name in enumerate(names):
        hit = cache.known.get(name)
        if hit is None:
            todo.append(i)
        elif aliased and not aliased.isdisjoint(hit[1]):
            redo.append(i)
        else:
            out[i] = hit[0]
    cache.used = len(names) - len(todo) - len(redo)
    # New names are walked without the aliases (what the cache keeps), and again with them
    # only when one of their keys is an alias. Names parsed ahead under the same fingerprint
    # (shixiang.prefetch) are taken as found; its helper shares the rest.
    plain = plain_view(index)
    new_names = [names[i] for i in todo]
    ahead = cache.ahead
    if ahead is not None and ahead.fingerprint == cache.fingerprint and new_names:
        found = ahead.evidence(new_names, plain)
        cache.ahead_used = ahead.taken
    else:
        found = name_evidence(new_names, plain, probes=True)
    for i, (evidence, probes) in zip(todo, found, strict=True):
        cache.new[names[i]] = (evidence, probes)
        if aliased and not aliased.isdisjoint(probes):
            redo.append(i)
        else:
            out[i] = evidence
    for i, evidence in zip(redo, name_evidence([names[i] for i in redo], view), strict=True):
        out[i] = evidence
    return out  # type: ignore[return-value]  # every position is filled


def match_names(
    names: pd.Series,
    index: CatalogueIndex,
    aliases: dict[str, str] | None = None,
    thresholds: MatchThresholds = THRESHOLDS,
    cache: EvidenceCache | None = None,
) -> pd.DataFrame:
    """Match *distinct* raw names through the tiers. One output row per distinct name,
    indexed by the raw name. With ``cache``, names it knows are not parsed again and the
    names it does not know are added to its ``new`` entries (see
    :mod:`shixiang.evidence_cache`); the result is the same.

    Columns: name_key, name_situation, name_scope, name_notes, method, business_code (the
    accepted item or NaN), blocked (why a tier sent the name to review, or ""), proposed (the
    items a blocking tier found), detail (what a tier dropped), score, best_score, margin,
    candidates (list of (code, score), the tiers' items first), conflict.
    """
    uniq = pd.Index(pd.unique(names.dropna().astype(str)))
    # An alias whose code left the catalogue is no evidence at all.
    alias_table = {k: (c,) for k, c in (aliases or {}).items() if c in index.position}
    evidence = _evidence(uniq.tolist(), index, alias_table, cache)
    values = list(zip(*evidence, strict=True)) if evidence else [()] * len(EVIDENCE_COLUMNS)
    out = pd.DataFrame(
        {
            col: pd.Series(list(vals), index=uniq, dtype=dtype)
            for (col, dtype), vals in zip(EVIDENCE_COLUMNS.items(), values, strict=True)
        },
        index=uniq,
    )
    blocked = out["blocked"].to_numpy() != ""
    out.loc[blocked, "method"] = METHOD_NONE

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
    key_of = index.attr["name_key"]
    fuzzy = [
        list(zip(cs, ss, strict=True))
        for cs, ss in zip(
            cand_codes[:, :shown].tolist(),
            top_score[:, :shown].astype(np.float64).round(1).tolist(),
            strict=True,
        )
    ]
    # A blocking tier's items come first: they are what the steward must choose between.
    name_keys, proposed = out["name_key"].tolist(), out["proposed"].tolist()
    for i in np.flatnonzero(blocked):
        own = [(c, round(float(fuzz.ratio(name_keys[i], key_of[c])), 1)) for c in proposed[i]]
        seen = {c for c, _ in own}
        fuzzy[i] = (own + [x for x in fuzzy[i] if x[0] not in seen])[: max(shown, len(own))]
    out["candidates"] = fuzzy
    best_sit = item_sit[top_idx[:, 0]] if top_idx.size else np.array([""] * len(uniq))
    sit = out["name_situation"].to_numpy()
    situation_conflict = (sit != "") & (best_sit != "") & (sit != best_sit)
    # Every close candidate is the same item in another handling situation (the unit lists
    # X（补办）, the catalogue has X（新办） and X（变更））: a different item, not a doubt.
    if top_idx.size:
        cand_sit = item_sit[top_idx]
        close = top_score >= thresholds.review_min_score
        other = (cand_sit != "") & (cand_sit != sit[:, None])
        out["other_situation"] = (sit != "") & close.any(axis=1) & ~(close & ~other).any(axis=1)
    else:
        out["other_situation"] = False

    # Scores: an accepted name scores the similarity of the matched item's key (100 if equal).
    matched_keys = out["business_code"].map(key_of).fillna("")
    eq_score = np.array(
        [
            fuzz.ratio(a, b) if b else 0.0
            for a, b in zip(out["name_key"].tolist(), matched_keys.tolist(), strict=True)
        ]
    )
    out["score"] = np.where(out["business_code"].notna(), eq_score, best).round(1)
    out["best_score"] = np.round(best, 1)
    out["margin"] = np.round(best - second, 1)
    out["conflict"] = np.where(situation_conflict, "办理情形与最接近的目录事项不同", "")
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
    cache: EvidenceCache | None = None,
) -> pd.DataFrame:
    """Decide every item row: status, business_code, method, score, margin, candidates, and a
    Chinese explanation. Returns ``items`` with :data:`DECISION_COLUMNS` added (same order).

    A decision depends on the row's name and claimed code — and, for a name that matches
    only once a catalogue qualifier is left out, on how many rows write it (see
    :func:`_decide_distinct`) — so each distinct (name, claimed code) pair is decided once and
    the result is broadcast to its rows."""
    claimed = (
        items["claimed_code"]
        if "claimed_code" in items
        else pd.Series(np.nan, index=items.index, dtype="str")
    )
    pairs = pd.DataFrame({"item_name": items["item_name"].astype("str"), "claimed_code": claimed})
    codes, first = distinct_rows(pairs)
    distinct = pairs.iloc[first].reset_index(drop=True)
    rows = np.bincount(codes, minlength=len(distinct)) if len(codes) else np.zeros(0, int)
    decided = _decide_distinct(distinct, index, aliases, thresholds, rows, cache)
    out = items.copy()
    for col in DECISION_COLUMNS:
        if col in SHARED_TEXT_COLUMNS:
            out[col] = shared_text(decided[col], codes, out.index)
        else:
            out[col] = pd.Series(decided[col].array.take(codes), index=out.index)
    return out


# Decision columns whose texts repeat across rows: a few thousand distinct values over 500,000
# rows (a province's candidates JSON and explanations: 154 MB and 104 MB as one string a
# row). Kept as categoricals, each text once; published as the same text.
SHARED_TEXT_COLUMNS = ("candidates", "explanation")


def shared_text(values: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``values.take(codes)`` as a categorical of ``values``' distinct texts, on ``index``."""
    value_codes, uniques = pd.factorize(values)  # a missing value: -1, missing again
    categories = pd.Index(np.asarray(uniques, dtype=object), dtype="str")
    taken = value_codes[codes] if len(codes) else np.empty(0, dtype=value_codes.dtype)
    return pd.Series(pd.Categorical.from_codes(taken, categories=categories), index=index)


def concat_text(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a + b`` row by row, worked out once per distinct pair, as :func:`shared_text`."""
    codes, first = distinct_rows(pd.DataFrame({"a": a, "b": b}))
    pairs = a.iloc[first].astype("str").to_numpy(dtype=object), b.iloc[first].astype("str")
    joined = pd.Series(pairs[0], dtype="str") + pd.Series(pairs[1].to_numpy(), dtype="str")
    return shared_text(joined, codes, a.index)


def _decide_distinct(
    items: pd.DataFrame,
    index: CatalogueIndex,
    aliases: dict[str, str] | None,
    thresholds: MatchThresholds,
    rows: np.ndarray | None = None,
    cache: EvidenceCache | None = None,
) -> pd.DataFrame:
    """:func:`decide_rows` on distinct (item_name, claimed_code) pairs, ``rows`` of each."""
    names = match_names(items["item_name"], index, aliases, thresholds, cache)
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
    strong = code.notna() & method.isin(STRONG_METHODS) & ~per_row["weak"].fillna(False)
    weak = code.notna() & ~strong
    reasons = per_row["blocked"].fillna("").astype("str")
    notes = pd.Series("", index=items.index, dtype="str")

    # 1. The name names one item and the claimed code points elsewhere: the name wins and the
    #    wrong code becomes quality issue QC-003 (with the right code in its suggestion). The
    #    exception is a weak tier (a part dropped, a character missing) with a code the
    #    catalogue does not know but that has the shape of its codes: the code of an item the
    #    catalogue lacks, which the weak equivalence cannot overrule. A steward decides.
    conflict = code.notna() & ev["known"] & ~ev["agrees"]
    foreign = code.notna() & ev["foreign"]
    reading = per_row["weak"].fillna(False).astype(bool)
    reasons = reasons.mask(
        conflict & reading & (reasons == ""),
        "只有去掉名称首尾的部分后才与目录事项一致，而声明的基本编码属于另一个目录事项",
    )
    conflict &= ~reading
    notes = notes.mask(conflict, "声明的基本编码属于另一个目录事项，以名称为准（见质检问题）")
    notes = notes.mask(foreign & strong, "声明的基本编码不在通用目录中，以名称为准（见质检问题）")
    reasons = reasons.mask(
        foreign & weak & (reasons == ""),
        "名称省略部分内容后才与目录事项一致，而声明的基本编码不在通用目录中（可能是目录未收录的事项）",
    )
    notes = notes.mask(
        code.notna() & ev["malformed"], "声明的基本编码格式不正确，以名称为准（见质检问题）"
    )

    # 1b. A name found only by leaving out a catalogue qualifier or generic word, written by
    #     more rows than the catalogue's full name: most units writing the shorter name is a
    #     sign that it is an item of its own the catalogue lacks, not a slip. A steward decides.
    if rows is not None and per_row["catalogue_side"].any():
        weight = pd.Series(rows, index=items.index)
        by_key = weight.groupby(per_row["name_key"].to_numpy()).sum()
        short = per_row["name_key"].map(by_key).fillna(0)
        full = code.map(index.attr["name_key"]).map(by_key).fillna(0)
        popular = per_row["catalogue_side"].fillna(False).astype(bool) & (short >= 3)
        reasons = reasons.mask(
            popular & (short > full) & (reasons == ""),
            "多数单位填报的是省略了目录名称部分内容的名称，可能是目录未收录的事项",
        )

    # 2. A tier found several items the name fits equally: the claimed code may pick one.
    settled = per_row["blocked"].fillna("").ne("") & ev["settles"].notna()
    code = code.where(~settled, ev["settles"])
    method = method.where(~settled, METHOD_CLAIMED_CODE)
    reasons = reasons.mask(settled, "")
    notes = notes.mask(settled, "名称同样符合多个目录事项，由声明的基本编码选定")

    # 3. No tier resolved the name: the claimed code's item (the family member whose
    #    situation and scope fit) when the name only leaves out or adds characters to it.
    unresolved = code.isna() & (reasons == "")
    claim_ok = unresolved & ev["target"].notna() & ev["target_fits"]
    code = code.where(~claim_ok, ev["target"])
    method = method.where(~claim_ok, METHOD_CLAIMED_CODE)
    notes = notes.mask(claim_ok, "名称只比该事项省略或多出至多两个字")
    # 4. Findings rather than doubts: a tier found another item (another object, another
    #    subject), or the catalogue has the item only in other handling situations (every
    #    close candidate, or the claimed code's whole family, is X（新办）/X（变更） while the
    #    unit lists X（补办））. Not in the catalogue: unmatched, the reason explained.
    lacks = unresolved & ~claim_ok & (per_row["other_situation"] | ev["lacks_situation"])
    reasons = reasons.mask(
        lacks & (reasons == ""),
        "通用目录中只有该事项的其他办理情形（"
        + per_row["name_situation"].fillna("")
        + "不在目录中）",
    )
    reasons = reasons.mask(
        unresolved & ev["known"] & ~claim_ok & (reasons == ""),
        "名称与声明的基本编码对应的目录事项不一致",
    )
    absent = (per_row["absent"].fillna(False).astype(bool) | lacks) & ~settled
    claims_match = claimed.notna() & (ev["agrees"] | claim_ok | settled)

    accepted = code.notna() & (reasons == "")
    best = per_row["best_score"].fillna(0)
    status = np.where(
        accepted,
        STATUS_MATCHED,
        np.where(
            ~absent & ((best >= thresholds.review_min_score) | (reasons != "")),
            STATUS_REVIEW,
            STATUS_UNMATCHED,
        ),
    )
    status = pd.Series(status, index=items.index, dtype="str")
    final_code = code.where(status == STATUS_MATCHED)
    score = per_row["score"].where(method != METHOD_CLAIMED_CODE, ev["target_score"]).fillna(0.0)
    proposed = code.fillna(per_row["proposed"].map(lambda c: c[0] if c else np.nan))

    out = items.copy()
    out["status"] = status
    out["business_code"] = final_code
    out["catalogue_name"] = final_code.map(index.attr["item_name"])
    out["match_method"] = method.where(status == STATUS_MATCHED, METHOD_NONE)
    out["score"] = score.astype("float64").round(1)
    out["margin"] = per_row["margin"].fillna(0.0).astype("float64")
    # Review rows whose name resolved but whose evidence conflicts keep that item first.
    out["candidates"] = _candidates_json(per_row, proposed, status, index)
    out["explanation"] = _explain(per_row, method, status, reasons, claimed, claims_match, notes)
    out["name_key"] = per_row["name_key"]
    return out


def omission_only(a: str, b: str, most: int = 2) -> bool:
    """True when one key is the other with at most ``most`` characters left out (or added),
    the first character shared: 水产苗种生产经营审批 ⊃ 水产苗种生产审批, but 就业技能培训补贴 ≠
    创业培训补贴 (a different word, not a shorter one), 公司设立登记 ≠ 分公司设立登记 (a new
    head) and 计量标准变更 ≠ 计量标准器具核准证书变更 (a whole word left out)."""
    if not a or not b or a[0] != b[0] or abs(len(a) - len(b)) > most:
        return False
    return Indel.distance(a, b) == abs(len(a) - len(b))


def _claimed_code_evidence(
    names: pd.Series,
    claimed: pd.Series,
    per_name: pd.DataFrame,
    index: CatalogueIndex,
    thresholds: MatchThresholds,
) -> pd.DataFrame:
    """What each row's claimed 基本编码 says, computed once per distinct (name, code) pair.

    Columns: lacks_situation (the code's family is known and has situations, but not the
    name's), known (the code is in the catalogue, as 基本编码 or 业务办理项编码), malformed,
    foreign (unknown, with the shape of the catalogue's codes: see :func:`code_shape`),
    agrees (the name's match is in the code's family), settles (of the several items a tier
    found, the only one in the code's family), target (for unresolved names: the family member
    whose situation and scope fit the name), target_fits (the name only leaves out or adds
    characters to the target's, and scores at least ``claimed_code_min_score``) and
    target_score (name key vs target key).
    """
    pairs = pd.DataFrame({"name": names.array, "claimed": claimed.array})
    codes, first = distinct_rows(pairs)  # integer codes: no merge on two text columns
    distinct = pairs.iloc[first]
    with_claim = np.flatnonzero(distinct["claimed"].notna().to_numpy())
    distinct = distinct.iloc[with_claim]
    by_name = per_name.index.tolist()  # plain dicts: Series.to_dict boxes value by value
    resolved = dict(zip(by_name, per_name["business_code"].tolist(), strict=True))
    proposed = dict(zip(by_name, per_name["proposed"].tolist(), strict=True))
    blocked = dict(zip(by_name, per_name["blocked"].tolist(), strict=True))
    name_situation = dict(zip(by_name, per_name["name_situation"].tolist(), strict=True))
    name_key = dict(zip(by_name, per_name["name_key"].tolist(), strict=True))
    name_scope = dict(zip(by_name, per_name["name_scope"].tolist(), strict=True))
    situation, key = index.attr["name_situation"], index.attr["name_key"]
    scope = index.attr["name_scope"]
    # What a code says on its own (its family, its shape), once per distinct code: a code is
    # claimed by many names.
    facts: dict[str, tuple[list[str], set[str], bool, bool]] = {}
    for code in distinct["claimed"].unique().tolist():
        family = index.family(code)
        facts[code] = (
            family,
            {situation[c] for c in family},
            not _CODE_FORMAT.fullmatch(code),
            not family and code_shape(code) in index.code_shapes,
        )
    rows = []
    for name, code in zip(distinct["name"].tolist(), distinct["claimed"].tolist(), strict=True):
        family, family_situations, malformed, foreign = facts[code]
        matched = resolved[name]
        in_family = [c for c in proposed[name] if c in family]
        settles = in_family[0] if len(proposed[name]) > 1 and len(in_family) == 1 else None
        target, score, fits = None, 0.0, False
        if not isinstance(matched, str) and not blocked[name] and family:
            # The item the code names must fit the name's situation, and its scope may not
            # contradict the name's: （个人） is not （用人单位）, whatever the code says.
            own = name_scope[name]
            family_ok = [c for c in family if not (own and scope[c] and own != scope[c])]
            fit = [c for c in family_ok if situation[c] == name_situation[name]]
            if len(fit) != 1 and len(family_ok) == 1 == len(family) and not name_situation[name]:
                fit = family_ok
            if len(fit) == 1:
                target = fit[0]
                score = float(fuzz.ratio(name_key[name], key[target]))
                fits = score >= thresholds.claimed_code_min_score and omission_only(
                    name_key[name], key[target]
                )
        lacks = bool(name_situation[name]) and name_situation[name] not in family_situations
        rows.append(
            (
                name,
                code,
                lacks and family_situations != {""} and not isinstance(matched, str),
                bool(family),
                malformed,
                foreign,
                isinstance(matched, str) and matched in family,
                settles,
                target,
                fits,
                score,
            )
        )
    columns = ["name", "claimed", "lacks_situation", "known", "malformed", "foreign", "agrees"]
    columns += ["settles", "target"]
    ev = pd.DataFrame(rows, columns=[*columns, "target_fits", "target_score"], index=with_claim)
    out = ev.drop(columns=["name", "claimed"]).reindex(range(len(first))).iloc[codes]
    out.index = names.index
    out.insert(0, "claimed", claimed)
    out.insert(0, "name", names)
    for col in ("lacks_situation", "known", "malformed", "foreign", "agrees", "target_fits"):
        out[col] = out[col].fillna(False).astype(bool)
    out["target_score"] = out["target_score"].fillna(0.0).astype("float64")
    for col in ("target", "settles"):
        out[col] = out[col].astype("str").mask(out[col].isna())
    return out


def _candidates_json(
    per_row: pd.DataFrame, code: pd.Series, status: pd.Series, index: CatalogueIndex
) -> pd.Series:
    """JSON list of {business_code, name, score} per row, worked out once per distinct
    (name key, code, status), as :func:`shared_text`."""
    keys = pd.DataFrame(
        {"key": per_row["name_key"].fillna(""), "code": code.fillna(""), "status": status}
    )
    codes, first = distinct_rows(keys)
    names = index.attr["item_name"]
    # The codec's text (shixiang.candidates), each code and name encoded once instead of once
    # per distinct row key.
    entry_head = {c: cand_codec.entry_head(c, n) for c, n in names.items()}
    texts = []
    for cands, c, score in zip(
        per_row["candidates"].to_numpy()[first].tolist(),
        code.to_numpy()[first].tolist(),
        per_row["score"].to_numpy()[first].tolist(),
        strict=True,
    ):
        cands = list(cands) if isinstance(cands, list) else []
        if isinstance(c, str) and all(c != x[0] for x in cands):
            cands = [(c, float(score)), *cands[:-1]] if cands else [(c, 100.0)]
        texts.append(cand_codec.join(cand_codec.entry(entry_head[x], sc) for x, sc in cands))
    return shared_text(pd.Series(texts, dtype="str"), codes, per_row.index)


def _explain(
    per_row: pd.DataFrame,
    method: pd.Series,
    status: pd.Series,
    reasons: pd.Series,
    claimed: pd.Series,
    claims_match: pd.Series,
    notes_extra: pd.Series,
) -> pd.Series:
    """A one-line Chinese explanation per row, built from vectorised string pieces once per
    distinct combination of what it says (a few thousand in a province: building 250,000
    of them piece by piece took ~1 s and 400 MB), as :func:`shared_text`."""
    said = pd.DataFrame(
        {
            "method": method,
            "status": status,
            "reasons": reasons,
            "no_claim": claimed.isna(),
            "claims_match": claims_match.astype(bool),
            "notes_extra": notes_extra,
            **{c: per_row[c] for c in ("name_notes", "best_score", "margin", "detail", "conflict")},
        }
    )
    codes, first = distinct_rows(said)
    said = said.iloc[first].reset_index(drop=True)
    status = said["status"]
    method_text = said["method"].map(METHOD_LABELS).fillna("")
    notes = said["name_notes"].fillna("")
    score = said["best_score"].fillna(0).round(1).astype(str)
    margin = said["margin"].fillna(0).round(1).astype(str)
    fuzzy_text = "最高相似度 " + score + "，领先第二候选 " + margin
    base = np.select(
        [status == STATUS_MATCHED, status == STATUS_REVIEW],
        [
            "自动匹配：" + method_text,
            "待人工核对：" + fuzzy_text,
        ],
        default="未找到相近的目录事项（" + fuzzy_text + "）",
    )
    out = pd.Series(base, index=said.index, dtype="str")
    detail = said["detail"].fillna("")
    out = out + np.where((detail != "") & (status == STATUS_MATCHED), "（" + detail + "）", "")
    out = out + np.where(notes != "", "；规范化：" + notes, "")
    conflict = said["conflict"].fillna("")
    out = out + np.where(conflict != "", "；" + conflict, "")
    reasons = said["reasons"]
    out = out + np.where(reasons != "", "；" + reasons, "")
    notes_extra = said["notes_extra"]
    out = out + np.where(notes_extra != "", "；" + notes_extra, "")
    out = out + np.where(
        said["claims_match"] & (status == STATUS_MATCHED), "；声明的基本编码一致", ""
    )
    out = out + np.where(said["no_claim"], "；未填写基本编码", "")
    return shared_text(out, codes, per_row.index)


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


_CATALOGUE_JOIN = {
    "item_type": "cat_item_type",
    "use_levels": "cat_use_levels",
    "use_level_keys": "cat_use_level_keys",
    "base_code": "cat_base_code",
    "legal_basis": "cat_legal_basis",
    "handling_type": "cat_handling_type",
    "legal_limit": "cat_legal_limit",
}


def decide(
    items: pd.DataFrame,
    catalogue: pd.DataFrame,
    steward_decisions: pd.DataFrame | None = None,
    cache: EvidenceCache | None = None,
) -> pd.DataFrame:
    """Match every row, apply the stewards' decisions in force, and join the matched catalogue
    item's elements (``cat_*`` columns). ``cache``: name evidence kept from earlier runs
    (:mod:`shixiang.evidence_cache`), of this catalogue's fingerprint."""
    index = CatalogueIndex.build(catalogue)
    in_force = decisions.effective(steward_decisions) if steward_decisions is not None else None
    aliases = decisions.aliases(in_force) if in_force is not None else None
    try:
        with gc_paused():
            decided = decide_rows(items, index, aliases, cache=cache)
    finally:
        clear_caches()
    if in_force is not None:
        decided = decisions.apply(decided, in_force, index.attr["item_name"])
    else:
        decided = decided.assign(steward_reason=np.nan, decision_id=pd.NA)
    cat = catalogue.set_index("business_code")[list(_CATALOGUE_JOIN)].rename(
        columns=_CATALOGUE_JOIN
    )
    joined = cat.reindex(decided["business_code"].to_numpy())
    joined.index = decided.index
    out = pd.concat([decided, joined], axis=1)
    out["explanation"] = concat_text(out["explanation"], element_evidence(out))
    return out
