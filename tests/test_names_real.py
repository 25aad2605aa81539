"""The name model against all 1,135 real 广安区 names: its rewrites must never make two
different real items look like one (a false merge would auto-match a unit to the wrong item)."""

from pathlib import Path

import pandas as pd
import pytest

from shixiang.matching import _level_free_text
from shixiang.names import parse_name

REAL = Path(__file__).resolve().parents[1] / "data" / "reference" / "guangan_items.csv"


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    frame = pd.read_csv(REAL)
    parts = frame["name"].map(parse_name)
    frame["text"] = parts.map(_level_free_text)
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
