"""The benchmarks' small versions: they run, and the matcher beats the baselines on them.

Speed and memory targets are measured by the full-size runs (see bench/README.md), never here.
"""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import accuracy  # noqa: E402
import scale  # noqa: E402


@pytest.mark.slow
def test_accuracy_bench_small(tmp_path: Path) -> None:
    out = tmp_path / "acc.json"
    assert accuracy.main(["--small", "--json", str(out), "--show-errors", "0"]) == 0
    metrics = json.loads(out.read_text(encoding="utf-8"))["metrics"]
    ours, exact, wratio = (
        metrics["shixiang"],
        metrics["exact name (VLOOKUP)"],
        metrics["extractOne(WRatio) ≥90 / ≥70"],
    )
    assert ours["precision"] >= 0.999
    assert ours["recall"] > max(exact["recall"], wratio["recall"])
    assert ours["false_accept_sibling"] <= wratio["false_accept_sibling"]


@pytest.mark.slow
def test_scale_bench_small(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    assert scale.main(["--small", "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["rows"] > 15_000
    assert result["matching_s"] > 0 and result["speedup_vs_baseline"] > 1
    for label in ("run", "rerun"):  # into an empty database, then over the published library
        assert result[f"{label}_exit"] == 0 and result[f"{label}_peak_rss_mib"] > 0
        steps = result[f"{label}_steps_s"]
        assert {"matched_items", "published_library"} <= set(steps)
        assert 0 < sum(steps.values()) < result[f"{label}_s"]
