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
import review_desk  # noqa: E402
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


@pytest.mark.slow
@pytest.mark.parametrize("model", ["independent", "unseen"])
def test_accuracy_on_noise_the_matcher_was_not_written_from(model: str, tmp_path: Path) -> None:
    out = tmp_path / "acc.json"
    argv = ["--model", model, "--small", "--seed", "5", "--json", str(out), "--show-errors", "0"]
    assert accuracy.main(argv) == 0
    ours = json.loads(out.read_text(encoding="utf-8"))["metrics"]["shixiang"]
    assert ours["precision"] >= 0.999
    assert ours["recall"] >= (0.98 if model == "independent" else 0.93)
    assert ours["false_accept_sibling"] <= 0.005 and ours["false_accept_object"] <= 0.01


@pytest.mark.parametrize("module", ["noise_model.py", "unseen_noise.py"])
def test_the_noise_models_import_nothing_of_the_matchers_vocabulary(module: str) -> None:
    import ast

    tree = ast.parse((REPO / "bench" / module).read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    allowed = {"shixiang.config", "shixiang.schema", "shixiang.ingest"}
    assert {m for m in imported if m and m.startswith("shixiang")} <= allowed
    assert "shixiang" not in imported and "accuracy" not in imported


@pytest.mark.slow
def test_desk_bench_small(tmp_path: Path) -> None:
    out = tmp_path / "desk.json"
    assert review_desk.main(["--small", "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["ok"] and not result["failures"]
    assert result["library_rows"] > 15_000 and 0 < result["queue_rows"] < result["library_rows"]
    assert result["snapshot_build_s"] > 0 and result["peak_rss_mib"] > 0
    assert set(result["users"]) == {"province", "county", "township"}
    requests = {(r["user"], r["request"]) for r in result["requests"]}
    for who in ("province", "county", "township"):
        for page in ("queue page 1", "row page", "POST /decide scope=row", "history", "stats"):
            assert (who, page) in requests
    for r in result["requests"]:
        assert set(r["statuses"]) <= {200, 303} and r["n"] > 0
        assert 0 < r["min_ms"] <= r["median_ms"] <= r["max_ms"]
