"""The candidates codec: what the matcher writes is what every reader reads."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from shixiang import candidates

names = st.text(min_size=1, max_size=30)  # any Unicode: quotes, backslashes, CJK, controls
codes = st.text(alphabet="0123456789ABZ", min_size=4, max_size=20)
scores = st.floats(min_value=0, max_value=100, allow_nan=False)
triples = st.lists(st.tuples(codes, names, scores), max_size=5, unique_by=lambda t: t[0])


@given(triples)
def test_encode_decode_round_trip(cands: list[tuple[str, str, float]]) -> None:
    cell = candidates.encode(cands)
    assert [(c.business_code, c.name, c.score) for c in candidates.decode(cell)] == [
        (c, n, float(s)) for c, n, s in cands
    ]
    # the cell is plain JSON of the documented shape, for scripts that read the table
    assert json.loads(cell) == [
        {"business_code": c, "name": n, "score": float(s)} for c, n, s in cands
    ]


@given(triples)
def test_the_matchers_fast_path_writes_the_same_text(cands) -> None:
    heads = {c: candidates.entry_head(c, n) for c, n, _ in cands}
    fast = candidates.join(candidates.entry(heads[c], float(s)) for c, _, s in cands)
    assert fast == candidates.encode(cands)


def test_unreadable_cells_are_no_candidates() -> None:
    for cell in (None, float("nan"), "", "not json", "{}", "[1, 2]", '[{"name": "x"}]'):
        assert candidates.decode(cell) == []


@given(st.lists(st.one_of(triples.map(candidates.encode), st.none()), min_size=1, max_size=20))
def test_spread_and_labels_agree_with_decode(cells: list) -> None:
    series = pd.Series(cells, index=range(10, 10 + len(cells)), dtype="object")
    spread = candidates.spread(series)
    labels = candidates.labels(series)
    assert list(spread.index) == list(series.index) == list(labels.index)
    for i, cell in series.items():
        decoded = candidates.decode(cell)
        for k in range(candidates.SPREAD):
            code = spread.loc[i, f"candidate_{k + 1}_code"]
            if k < len(decoded):
                assert code == decoded[k].business_code
                assert spread.loc[i, f"candidate_{k + 1}_score"] == decoded[k].score
                assert labels.loc[i, f"candidate_{k + 1}"] == decoded[k].label()
            else:
                assert pd.isna(code) and labels.loc[i, f"candidate_{k + 1}"] == ""
