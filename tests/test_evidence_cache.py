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


@pytest.fixture
def engine(match_cache_engine):
    return match_cache_engine


def test_a_second_run_parses_nothing_and_gets_the_same_result(sample, engine) -> None:
    catalogue, index, names = sample
    fp = evidence_cache.fingerprint(catalogue)
    alone = matching.match_names(names, index)

    first = evidence_cache.load(engine, fp, "5116")
    assert not first.known
    pd.testing.assert_frame_equal(matching.match_names(names, index, cache=first), alone)
    assert first.used == 0 and set(first.new) == set(names)
    assert evidence_cache.save(engine, first) == len(names)

    second = evidence_cache.load(engine, fp, "5116")  # through the database and back
    assert set(second.known) == set(names)
    pd.testing.assert_frame_equal(matching.match_names(names, index, cache=second), alone)
    assert second.used == len(names) and not second.new
    assert not evidence_cache.load(engine, fp, "5113").known  # another partition's runs

    # Nothing new to store: the row the first run wrote stays as it was.
    saved = sa.select(match_cache.c.saved_at).where(match_cache.c.scope == "5116")
    with engine.connect() as conn:
        before = conn.execute(saved).scalar_one()
    assert evidence_cache.save(engine, second) == len(names)
    with engine.connect() as conn:
        assert conn.execute(saved).scalar_one() == before


def test_aliases_added_after_the_cache_was_filled_still_apply(sample, engine) -> None:
    """The cache holds what the tiers say without aliases. A name one of whose keys became an
    alias is walked again; the others are not."""
    catalogue, index, names = sample
    fp = evidence_cache.fingerprint(catalogue)
    cache = evidence_cache.load(engine, fp)
    plain = matching.match_names(names, index, cache=cache)
    evidence_cache.save(engine, cache)

    unmatched = plain.loc[plain["business_code"].isna()]
    assert len(unmatched) >= 3
    some_code = catalogue["business_code"].iloc[0]
    aliases = {key: some_code for key in unmatched["name_key"].iloc[:3]}
    expected = matching.match_names(names, index, aliases)
    assert (expected.loc[unmatched.index[:3], "method"] == "alias").all()

    cache = evidence_cache.load(engine, fp)
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


def test_another_catalogue_s_entries_are_not_used(sample, engine) -> None:
    catalogue, index, names = sample
    old = evidence_cache.load(engine, "old-catalogue")
    matching.match_names(names, index, cache=old)
    evidence_cache.save(engine, old)
    assert not evidence_cache.load(engine, evidence_cache.fingerprint(catalogue)).known


def test_a_run_stores_only_its_own_names(sample, engine) -> None:
    """Names no longer listed leave the cache with the next run of the partition."""
    catalogue, index, names = sample
    fp = evidence_cache.fingerprint(catalogue)
    cache = evidence_cache.load(engine, fp)
    matching.match_names(names, index, cache=cache)
    evidence_cache.save(engine, cache)
    cache = evidence_cache.load(engine, fp)
    matching.match_names(names.iloc[:10], index, cache=cache)
    assert cache.used == 10 and evidence_cache.save(engine, cache) == 10
    assert set(evidence_cache.load(engine, fp).known) == set(names.iloc[:10])


def test_entries_survive_the_round_trip_exactly(sample) -> None:
    """Every value type of the evidence (missing codes, flags, tuples of items, probes)."""
    _, index, names = sample
    cache = evidence_cache.EvidenceCache("fp")
    matching.match_names(names, index, cache=cache)
    assert any(e[5] is None for e, _ in cache.new.values())
    assert any(e[10] for e, _ in cache.new.values())  # a blocking tier's items
    assert evidence_cache.decode(evidence_cache.encode(cache.new)) == cache.new
    assert evidence_cache.decode(evidence_cache.encode({})) == {}


def test_a_damaged_document_fails_the_load_loudly(sample, tmp_path) -> None:
    """load raises (the matched_items asset then matches without the cache and warns)."""
    catalogue, _, _ = sample
    engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    store.ensure_schema(engine)
    fp = evidence_cache.fingerprint(catalogue)
    row = {"scope": "*", "fingerprint": fp, "names": 1, "payload": b"PAR1 not parquet"}
    with engine.begin() as conn:
        conn.execute(sa.insert(match_cache), [{**row, "saved_at": pd.Timestamp.now(tz="UTC")}])
    with pytest.raises(Exception, match=r"(?i)parquet|magic|size"):
        evidence_cache.load(engine, fp)
