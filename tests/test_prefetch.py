"""Names parsed ahead (shixiang.prefetch): a helper process parses a first night's names while the
files are read; the matching step takes what it found and shares the rest with it. The result is
exactly the result without it (also with the stewards' aliases), a helper that dies costs only
time, and a night the match cache can serve starts no helper at all."""

import pickle
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from shixiang import config, evidence_cache, ingest, matching, prefetch, store
from shixiang.tiers import evidence_of

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    """The demo province's catalogue, its plain view, and every distinct name its levels list."""
    catalogue = ingest.load_catalogue(SAMPLE).rows
    index = matching.CatalogueIndex.build(catalogue)
    levels = {lv: ingest.load_level(SAMPLE, lv) for lv in ingest.LEVELS}
    names = pd.unique(ingest.combine(levels).rows["item_name"].dropna().astype(str)).tolist()
    assert len(names) > 500
    return catalogue, index, matching.plain_view(index), names


def test_the_helper_answers_in_the_order_of_its_messages(sample) -> None:
    """The ``--serve`` protocol itself: names queued in batches, a reply with everything parsed
    since the last one (``finish``: the queue first), then nothing left over for the next."""
    catalogue, _, view, names = sample
    proc = subprocess.Popen(
        [sys.executable, "-m", "shixiang.match_worker", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        for message in (catalogue, ("names", names[:300]), ("names", names[300:]), ("take", True)):
            pickle.dump(message, proc.stdin)
        proc.stdin.flush()
        got_names, entries = pickle.load(proc.stdout)
        assert got_names == names
        assert entries == evidence_of(names, view, True)
        pickle.dump(("take", True), proc.stdin)
        proc.stdin.flush()
        assert pickle.load(proc.stdout) == ([], [])
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("min_names", [1, 10**9], ids=["rest shared", "rest here"])
def test_evidence_is_what_one_process_finds(sample, monkeypatch, min_names) -> None:
    """Whatever the helper reached before it was asked, and however the rest is split."""
    catalogue, _, view, names = sample
    monkeypatch.setattr(prefetch, "MATCH_MIN_NAMES_PER_WORKER", min_names)
    ahead = prefetch.NamePrefetch.start(catalogue, evidence_cache.fingerprint(catalogue))
    # Cells as a reader gives them: padded, blank, missing, repeated.
    ahead.add([f" {names[0]} ", "", None, float("nan"), *names[: len(names) // 2]])
    ahead.flush()
    ahead.add(names)
    asked = [*names[::-1], "不在任何清单中的名称"]
    got = ahead.evidence(asked, view)
    assert got == evidence_of(asked, view, True)
    assert 0 <= ahead.taken <= len(names)
    assert not ahead.problem and not ahead.active  # ended after its one use
    assert ahead.evidence(asked[:5], view) == got[:5]  # ended: everything here


def test_a_helper_that_dies_costs_only_time(sample, monkeypatch) -> None:
    catalogue, _, view, names = sample
    monkeypatch.setattr(prefetch, "MATCH_MIN_NAMES_PER_WORKER", 1)
    ahead = prefetch.NamePrefetch.start(catalogue, evidence_cache.fingerprint(catalogue))
    ahead.add(names)
    ahead.flush()
    ahead._proc.kill()
    ahead._proc.wait()
    assert ahead.evidence(names, view) == evidence_of(names, view, True)
    assert "预解析子进程" in ahead.problem
    assert ahead.taken == 0


def test_a_helper_that_cannot_start_is_idle(sample, monkeypatch) -> None:
    catalogue, _, view, names = sample
    monkeypatch.setattr(matching.sys, "executable", "/nonexistent/python")
    ahead = prefetch.NamePrefetch.start(catalogue, evidence_cache.fingerprint(catalogue))
    assert not ahead.active and "无法启动" in ahead.problem
    ahead.add(names)
    assert ahead.evidence(names[:20], view) == evidence_of(names[:20], view, True)


def test_matching_with_names_ahead_is_matching_without(sample, tmp_path, monkeypatch) -> None:
    """Through the matcher and the cache, with aliases in force: the names ahead are taken as
    new cache entries (stored for the next night), and an alias still re-walks its names."""
    catalogue, index, _, names = sample
    series = pd.Series(names)
    plain = matching.match_names(series, index)
    unmatched = plain.loc[plain["business_code"].isna()]
    aliases = {k: catalogue["business_code"].iloc[0] for k in unmatched["name_key"].iloc[:3]}
    expected = matching.match_names(series, index, aliases)
    assert (expected.loc[unmatched.index[:3], "method"] == "alias").all()

    monkeypatch.setattr(prefetch, "MATCH_MIN_NAMES_PER_WORKER", 1)
    engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    fp = evidence_cache.fingerprint(catalogue)
    cache = evidence_cache.load(engine, fp)
    cache.ahead = prefetch.NamePrefetch.start(catalogue, fp)
    cache.ahead.add(names)
    cache.ahead.flush()
    got = matching.match_names(series, index, aliases, cache=cache)
    pd.testing.assert_frame_equal(got, expected)
    assert cache.ahead_used == cache.ahead.taken
    assert set(cache.new) == set(names)
    evidence_cache.save(engine, cache)
    again = evidence_cache.load(engine, fp)
    pd.testing.assert_frame_equal(matching.match_names(series, index, aliases, cache=again), got)


def test_names_ahead_of_another_catalogue_are_not_used(sample, tmp_path) -> None:
    catalogue, index, _, names = sample
    series = pd.Series(names[:200])
    other = catalogue.iloc[::-1].reset_index(drop=True)  # same items, another order
    engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    cache = evidence_cache.load(engine, evidence_cache.fingerprint(catalogue))
    cache.ahead = prefetch.NamePrefetch.start(other, evidence_cache.fingerprint(other))
    try:
        pd.testing.assert_frame_equal(
            matching.match_names(series, index, cache=cache), matching.match_names(series, index)
        )
        assert cache.ahead_used == 0 and cache.ahead.active  # never asked
    finally:
        cache.ahead.close()


def test_only_a_night_the_cache_cannot_serve_starts_a_helper(
    sample, match_cache_engine, monkeypatch
) -> None:
    catalogue, index, _, names = sample
    engine = match_cache_engine
    monkeypatch.setenv(config.MATCH_WORKERS_ENV, "2")
    with prefetch.for_first_night(catalogue, engine) as first:
        assert first.active  # an empty database
    cache = evidence_cache.load(engine, evidence_cache.fingerprint(catalogue))
    matching.match_names(pd.Series(names[:50]), index, cache=cache)
    evidence_cache.save(engine, cache)
    assert not prefetch.for_first_night(catalogue, engine).active  # the cache serves it
    with prefetch.for_first_night(catalogue, engine, scope="5116") as other_scope:
        assert other_scope.active
    changed = catalogue.copy()
    changed.loc[0, "item_name"] += "（新）"
    with prefetch.for_first_night(changed, engine) as new_catalogue:
        assert new_catalogue.active
    monkeypatch.setenv(config.MATCH_WORKERS_ENV, "1")  # one process asked for: no helper
    assert not prefetch.for_first_night(changed, engine).active


def _published(url: str) -> dict[str, pd.DataFrame]:
    engine = store.make_engine(url)
    out = {}
    for table in ("unified_library", "review_queue", "qc_issues"):
        frame = store.read_table(engine, table).drop(columns=["published_at"], errors="ignore")
        out[table] = frame.sort_values(list(frame.columns[:4])).reset_index(drop=True)
    return out


def test_a_first_night_run_publishes_what_a_run_without_a_helper_does(
    tmp_path, monkeypatch
) -> None:
    """``shixiang run`` on an empty database (a helper parses the names while the files are
    read) against the same run in one process (no helper at all)."""
    from commands import main as cli

    runs = {}
    for workers in ("2", "1"):
        monkeypatch.setenv(config.MATCH_WORKERS_ENV, workers)
        url = f"sqlite:///{tmp_path / f'lib{workers}.db'}"
        argv = ["run", "--data-dir", str(SAMPLE), "--database-url", url, "--log-level", "ERROR"]
        assert cli.main(argv) == 0
        runs[workers] = _published(url)
    for table, frame in runs["1"].items():
        pd.testing.assert_frame_equal(runs["2"][table], frame, obj=table)
