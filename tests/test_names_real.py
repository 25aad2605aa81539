"""The name model against all 1,135 real 广安区 names: its rewrites must never make two
different real items look like one (a false merge would auto-match a unit to the wrong item)."""

from pathlib import Path

import pandas as pd
import pytest

from shixiang.names import parse_name
from shixiang.tiers import optional_words_nest

REAL = Path(__file__).resolve().parents[1] / "data" / "reference" / "guangan_items.csv"


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    frame = pd.read_csv(REAL)
    parts = frame["name"].map(parse_name)
    frame["text"] = parts.map(lambda p: p.plain)
    frame["key"] = parts.map(lambda p: p.key)
    frame["sound"] = parts.map(lambda p: p.phonetic_key)
    return frame


@pytest.mark.parametrize("column", ["key", "sound"])
def test_no_two_distinct_real_names_share_a_key(real: pd.DataFrame, column: str) -> None:
    distinct = real.groupby(column)["text"].nunique()
    merged = {
        k: sorted(real.loc[real[column] == k, "name"].unique())
        for k in distinct[distinct > 1].index
    }
    assert merged == {}


def test_every_real_name_parses_to_a_non_empty_stem(real: pd.DataFrame) -> None:
    assert real["name"].map(lambda n: bool(parse_name(n).stem)).all()


def test_the_loose_tier_never_equates_two_real_names(real: pd.DataFrame) -> None:
    """The loose tier accepts names with the same loose key whose optional words nest: with
    either of two such real names withheld from a catalogue, the other would take its rows.
    企业职工参保登记 and 职工参保登记 are both real: a leading subject word is kept."""
    names = real["name"].unique().tolist()
    parts = {n: parse_name(n) for n in names}
    groups: dict[str, list[str]] = {}
    for name, p in parts.items():
        groups.setdefault(p.loose_key, []).append(name)
    merged = [
        (a, b)
        for group in groups.values()
        for i, a in enumerate(group)
        for b in group[i + 1 :]
        if parts[a].key != parts[b].key and optional_words_nest(parts[a].stem, parts[b].stem)
    ]
    assert merged == []
    assert parse_name("企业职工参保登记").loose_key != parse_name("职工参保登记").loose_key
    assert parse_name("失业个人登记").loose_key == parse_name("失业登记").loose_key
