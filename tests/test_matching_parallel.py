"""Names matched in helper processes (shixiang.matching.name_evidence) give exactly what one
process gives, whatever the split; a failing helper is an error, never a silent gap."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from shixiang import config, ingest, matching
from shixiang.tiers import CatalogueView

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    """The demo province's catalogue view and every distinct name its five levels list."""
    index = matching.CatalogueIndex.build(ingest.load_catalogue(SAMPLE).rows)
    levels = {lv: ingest.load_level(SAMPLE, lv) for lv in ingest.LEVELS}
    names = pd.unique(ingest.combine(levels).rows["item_name"].dropna().astype(str)).tolist()
    assert len(names) > 500
    return CatalogueView(index.parts, {**index.tables, "alias": {}}), index, names


@pytest.mark.parametrize("workers", [2, 3])
def test_helpers_give_what_one_process_gives(sample, monkeypatch, workers) -> None:
    view, _, names = sample
    alone = matching.name_evidence(names, view, workers=1)
    monkeypatch.setattr(matching, "MATCH_MIN_NAMES_PER_WORKER", 100)
    assert matching.name_evidence(names, view, workers=workers) == alone
    assert len(alone) == len(names)


def test_match_names_is_the_same_with_helpers(sample, monkeypatch) -> None:
    _, index, names = sample
    series = pd.Series(names)
    monkeypatch.setenv(config.MATCH_WORKERS_ENV, "1")
    alone = matching.match_names(series, index)
    monkeypatch.setenv(config.MATCH_WORKERS_ENV, "2")
    monkeypatch.setattr(matching, "MATCH_MIN_NAMES_PER_WORKER", 100)
    pd.testing.assert_frame_equal(matching.match_names(series, index), alone)


def test_small_inputs_stay_in_one_process(sample, monkeypatch) -> None:
    """Below MATCH_MIN_NAMES_PER_WORKER names per worker no process is started (a helper
    that cannot start would fail the call)."""
    view, _, names = sample
    monkeypatch.setattr(matching.sys, "executable", "/nonexistent/python")
    assert len(matching.name_evidence(names[:50], view, workers=8)) == 50


def test_a_failing_helper_is_an_error(sample, monkeypatch) -> None:
    view, _, names = sample
    monkeypatch.setattr(matching, "MATCH_MIN_NAMES_PER_WORKER", 100)
    monkeypatch.setattr(matching.sys, "executable", "/bin/false")
    with pytest.raises(RuntimeError, match="名称匹配子进程失败（退出码 1）"):
        matching.name_evidence(names, view, workers=2)


def test_a_script_without_a_main_guard_can_match_in_parallel(tmp_path) -> None:
    """Helpers are plain child processes: unlike multiprocessing's spawn, they do not run
    the caller's script again (which would start its work over, or fail)."""
    script = tmp_path / "no_guard.py"
    script.write_text(
        "from pathlib import Path\n"
        "from shixiang import ingest, matching\n"
        "from shixiang.tiers import CatalogueView\n"
        f"index = matching.CatalogueIndex.build(ingest.load_catalogue(Path({str(SAMPLE)!r})).rows)\n"
        "view = CatalogueView(index.parts, {**index.tables, 'alias': {}})\n"
        "matching.MATCH_MIN_NAMES_PER_WORKER = 1\n"
        "names = [index.name_of(c) + '（县级）' for c in index.position]\n"
        "print('RAN', len(matching.name_evidence(names, view, workers=2)))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("RAN") == 1


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("0", 1), (" 2 ", 2)])
def test_match_workers_from_the_environment(monkeypatch, value, expected) -> None:
    monkeypatch.setenv(config.MATCH_WORKERS_ENV, value)
    assert config.match_workers() == expected


def test_match_workers_rejects_a_non_number(monkeypatch) -> None:
    monkeypatch.setenv(config.MATCH_WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="SHIXIANG_MATCH_WORKERS"):
        config.match_workers()


def _helpers_of_this_process() -> list[int]:
    me, found = str(os.getpid()), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me and b"shixiang.match_worker" in cmdline:
            found.append(int(pid))
    return found


def test_a_helper_stopped_and_continued_still_returns_everything(sample, monkeypatch) -> None:
    """SIGSTOP and SIGCONT (a profiler such as py-spy, a debugger, a cgroup freezer) interrupt
    the helper's blocked pipe write, which then returns having written part of its data. Under
    PYTHONUNBUFFERED the helper's stdout was the raw FileIO, pickle.dump ignored the short
    count, and the parent got a pickle with holes ("Memo value not found")."""
    view, _, names = sample
    many = [f"{name}{i}" for i in range(10) for name in names]  # ~0.5 MB of evidence a helper
    alone = matching.name_evidence(many, view, workers=1)
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    monkeypatch.setattr(matching, "MATCH_MIN_NAMES_PER_WORKER", 100)
    own_share = matching.evidence_of

    def slow_own_share(*args):  # the helpers finish first and wait on a full pipe
        found = own_share(*args)
        time.sleep(2)
        return found

    monkeypatch.setattr(matching, "evidence_of", slow_own_share)
    done = threading.Event()

    def stop_and_continue() -> None:
        while not done.is_set():
            for pid in _helpers_of_this_process():
                try:
                    os.kill(pid, signal.SIGSTOP)
                    time.sleep(0.002)
                finally:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGCONT)
            time.sleep(0.002)

    storm = threading.Thread(target=stop_and_continue, daemon=True)
    storm.start()
    try:
        together = matching.name_evidence(many, view, workers=3)
    finally:
        done.set()
        storm.join()
    assert together == alone
