"""The ``candidates`` column, in one place: how a row's catalogue candidates are written and read.

A cell holds a JSON list, best first, of ``{"business_code": …, "name": …, "score": …}``
(the code and name of a catalogue item, the similarity 0–100). The matcher writes it
(:func:`encode`, or :func:`entry_head` + :func:`entry` on its fast path, which produce the same
text); everyone else reads it through :func:`decode`, :func:`decode_column` or :func:`spread`.
A missing, empty or unreadable cell reads as no candidates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

COLUMN = "candidates"
SPREAD = 3  # candidates spread into columns in the review queue and sheets


@dataclass(frozen=True)
class Candidate:
    business_code: str
    name: str
    score: float

    def label(self) -> str:
        """``code name score``: how a spreadsheet cell shows a candidate."""
        return f"{self.business_code} {self.name} {self.score}"


def entry_head(business_code: str, name: str) -> str:
    """The text of one entry up to its score (the matcher encodes each catalogue item once)."""
    return (
        '{"business_code": '
        + json.dumps(business_code, ensure_ascii=False)
        + ', "name": '
        + json.dumps(name, ensure_ascii=False)
        + ', "score": '
    )


def entry(head: str, score: float) -> str:
    return head + json.dumps(score) + "}"


def join(entries: Iterable[str]) -> str:
    return "[" + ", ".join(entries) + "]"


def encode(candidates: Iterable[tuple[str, str, float]]) -> str:
    """The cell for ``(code, name, score)`` triples, best first."""
    return join(entry(entry_head(c, n), float(s)) for c, n, s in candidates)


def decode(cell: object) -> list[Candidate]:
    if not isinstance(cell, str) or not cell:
        return []
    try:
        raw = json.loads(cell)
    except json.JSONDecodeError:
        return []
    if not isinstance(raw, list):
        return []
    out = []
    for c in raw:
        if isinstance(c, dict) and c.get("business_code") is not None:
            score = c.get("score")
            out.append(
                Candidate(
                    str(c["business_code"]),
                    str(c.get("name") or ""),
                    float(score) if isinstance(score, int | float) else float("nan"),
                )
            )
    return out


def decode_column(cells: pd.Series) -> pd.Series:
    """Each cell's candidates (a list per row), decoding each distinct cell once: names repeat
    across units, and so do their candidate lists."""
    parsed = {c: decode(c) for c in cells.dropna().unique()}
    return cells.map(lambda c: parsed.get(c, []) if isinstance(c, str) else [])


def first_code(cell: object) -> str | None:
    cands = decode(cell)
    return cands[0].business_code if cands else None


def _per_distinct(cells: pd.Series, columns: list[str], row) -> pd.DataFrame:
    """A frame of ``columns`` on the index of ``cells``, computing ``row(candidates)`` once
    per distinct cell and spreading it to the rows by a reindex (no per-row Python)."""
    distinct = cells.dropna().unique()
    table = pd.DataFrame([row(decode(c)) for c in distinct], index=distinct, columns=columns)
    out = table.reindex(cells.to_numpy())
    out.index = cells.index
    return out


def spread(cells: pd.Series, n: int = SPREAD) -> pd.DataFrame:
    """``candidate_<i>_code``, ``candidate_<i>_name``, ``candidate_<i>_score`` for i = 1…n
    (missing where a row has fewer candidates), on the index of ``cells``."""
    columns = [f"candidate_{i + 1}_{f}" for i in range(n) for f in ("code", "name", "score")]

    def row(cands: list[Candidate]) -> list:
        cells_: list = []
        for i in range(n):
            c = cands[i] if len(cands) > i else None
            cells_ += [c.business_code, c.name, c.score] if c else [None, None, float("nan")]
        return cells_

    out = _per_distinct(cells, columns, row)
    for i in range(n):
        out[f"candidate_{i + 1}_score"] = out[f"candidate_{i + 1}_score"].astype("float64")
    return out


def labels(cells: pd.Series, n: int = SPREAD) -> pd.DataFrame:
    """``candidate_1`` … ``candidate_n`` as ``code name score`` text ("" where none)."""
    columns = [f"candidate_{i + 1}" for i in range(n)]

    def row(cands: list[Candidate]) -> list[str]:
        return [cands[i].label() if len(cands) > i else "" for i in range(n)]

    return _per_distinct(cells, columns, row).fillna("")
