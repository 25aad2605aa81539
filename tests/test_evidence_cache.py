"""The match cache (shixiang.evidence_cache): names seen before are not parsed again, and the
result is exactly the result without it — also when the stewards' aliases change, on SQLite and
on PostgreSQL."""

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from shixiang import evidence_cache, ingest, matching, store
from shixiang.tables import match_cache

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    """The demo province's catalogue and every distinct name its five levels list."""
    catalogue = ingest.load_catalogue(SAMPLE).rows
    levels = {lv: ingest.load_level(SAMPLE, lv) for lv in ingest.LEVELS}
    names = pd.Series(pd.unique(ingest.combine(levels).rows["item_name"].dropna().astype(str)))
    return catalogue, matching.CatalogueIndex.build(catalogue), names


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        return store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    engine = store.make_engine(request.getfixturevalue("pg_url"))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS match_cache"))
    return engine


def test_a_second_run_parses_nothing_and_gets_the_same_result(sample, engine) -> None:
    catalogue, index, names = sample
    fp = evidence_cache.fingerprint(catalogue)
    alone = matching.match_names(names, index)

    first = evidence_cache.load(engine, fp, names)
    assert not first.known
    pd.testing.assert_frame_equal(matching.match_names(names, index, cache=first), alone)
    assert first.used == 0 and set(first.new) == set(names)
    assert evidence_cache.save(engine, first) == len(names)

    second = evidence_cache.load(engine, fp, names)  # through the database and back
    assert set(second.known) == set(names)
    pd.testing.assert_frame_equal(matching.match_names(names, index, cache=second), alone)
    assert second.used == len(names) and not second.new


def test_aliases_added_after_the_cache_was_filled_still_apply(sample, engine) -> None:
    """The cache holds what the tiers say without aliases. A name one of whose keys became an
    alias is walked again; the others are not."""
    catalogue, index, names = sample
    fp = evidence_cache.fingerprint(catalogue)
    cache = evidence_cache.load(engine, fp, names)
    plain = matching.match_names(names, index, cache=cache)
    evidence_cache.save(engine, cache)

    unmatched = plain.loc[plain["business_code"].isna()]
    assert len(unmatched) >= 3
    some_code = catalogue["business_code"].iloc[0]
    aliases = {key: some_code for key in unmatched["name_key"].iloc[:3]}
    expected = matching.match_names(names, index, aliases)
    assert (expected.loc[unmatched.index[:3], "method"] == "alias").all()

    cache = evidence_cache.load(engine, fp, names)
    got = matching.match_names(names, index, aliases, cache=cache)
    pd.testing.assert_frame_equal(got, expected)
    assert len(names) - 3 - 5 <= cache.used <= len(names) - 3  # only alias-touched names redone


def test_the_fingerprint_follows_the_catalogue(sample) -> None:
    catalogue, _, _ = sample
    fp = evidence_cache.fingerprint(catalogue)
    assert evidence_cache.fingerprint(catalogue.copy()) == fp
    renamed = catalogue.copy()
    renamed.loc[renamed.index[0], "item_name"] += "（试行）"
    assert evidence_cache.fingerprint(renamed) != fp
    reordered = catalogue.iloc[::-1]
    assert evidence_cache.fingerprint(reordered) != fp  # tables list items in catalogue order


def test_entries_of_another_catalogue_are_not_used_and_are_dropped(sample, engine) -> None:
    catalogue, index, names = sample
    old = evidence_cache.load(engine, "old-catalogue", names)
    matching.match_names(names, index, cache=old)
    evidence_cache.save(engine, old)

    fp = evidence_cache.fingerprint(catalogue)
    cache = evidence_cache.load(engine, fp, names)
    assert not cache.known
    matching.match_names(names.iloc[:10], index, cache=cache)
    evidence_cache.save(engine, cache)
    with engine.connect() as conn:
        kept = conn.execute(sa.select(match_cache.c.fingerprint).distinct()).scalars().all()
        count = conn.execute(sa.select(sa.func.count()).select_from(match_cache)).scalar()
    assert kept == [fp] and count == 10


def test_two_runs_storing_the_same_names_keep_one_entry_each(sample, engine) -> None:
    catalogue, index, names = sample
    fp = evidence_cache.fingerprint(catalogue)
    caches = [evidence_cache.load(engine, fp, names) for _ in range(2)]
    for cache in caches:  # both found every name new (they ran at the same time)
        matching.match_names(names, index, cache=cache)
    assert [evidence_cache.save(engine, c) for c in caches] == [len(names)] * 2
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(match_cache)).scalar()
    assert count == len(names)


def test_a_damaged_entry_fails_the_load_loudly(sample, tmp_path) -> None:
    """load raises (the matched_items asset then matches without the cache and warns)."""
    catalogue, _, names = sample
    engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    store.ensure_schema(engine)
    fp = evidence_cache.fingerprint(catalogue)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(match_cache), [{"name": names[0], "fingerprint": fp, "evidence": "{"}]
        )
    with pytest.raises(ValueError):
        evidence_cache.load(engine, fp, names)
