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
    out, province = tmp_path / "scale.json", tmp_path / "province"
    assert scale.main(["--small", "--out", str(province), "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["rows"] > 15_000
    assert result["matching_s"] > 0 and result["speedup_vs_baseline"] > 1
    for label in ("run", "rerun"):  # into an empty database, then over the published library
        assert result[f"{label}_exit"] == 0 and result[f"{label}_peak_rss_mib"] > 0
        assert result[f"{label}_tree_peak_rss_mib"] > 0
        steps = result[f"{label}_steps_s"]
        assert {"matched_items", "published_library"} <= set(steps)
        assert 0 < sum(steps.values()) < result[f"{label}_s"]

    # --data: only the two whole runs, on the province kept by --out, which stays untouched.
    files = sorted(p.relative_to(province) for p in province.rglob("*"))
    again = tmp_path / "again.json"
    assert scale.main(["--data", str(province), "--json", str(again)]) == 0
    runs = json.loads(again.read_text(encoding="utf-8"))
    assert "matching_s" not in runs and runs["rerun_exit"] == 0
    assert set(runs["rerun_steps_s"]) == set(result["rerun_steps_s"])
    assert sorted(p.relative_to(province) for p in province.rglob("*")) == files

    # --against: another checkout's code (here this one again, through PYTHONPATH), alternating.
    both = tmp_path / "both.json"
    repo = Path(scale.__file__).resolve().parents[1]
    assert scale.main(["--data", str(province), "--against", str(repo), "--json", str(both)]) == 0
    compared = json.loads(both.read_text(encoding="utf-8"))
    assert [r["code"] for r in compared["runs"]] == ["this checkout", str(repo)]
    assert all(r["run_exit"] == r["rerun_exit"] == 0 for r in compared["runs"])
    assert set(compared["summary"]) == {"this checkout", str(repo)}


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


@pytest.mark.slow
def test_partitions_bench_small(tmp_path: Path) -> None:
    from collections import Counter

    import partitions as partitions_bench  # bench/partitions.py, not shixiang.partitions

    out = tmp_path / "partitions.json"
    assert partitions_bench.main(["--small", "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    configs = result["configs"]
    assert [(c["n"], c["rows_per_partition"]) for c in configs] == [(1, 2_000), (2, 2_000)]
    for c in configs:
        keys = [f"22{p:02d}" for p in range(1, c["n"] + 1)]
        assert c["index"]["exit"] == 0
        passes = [c["sequential"]] + ([c["two_at_a_time"]] if c["n"] > 1 else [])
        assert [p["workers"] for p in passes] == [1, 2][: len(passes)]
        for run in passes:
            assert [p["label"] for p in run["partitions"]] == keys
            for p in run["partitions"]:
                assert p["exit"] == 0 and p["peak_rss_mib"] > 0 and p["cpu_s"] > 0
                assert "published_library" in p["steps_s"] and p["wall_s"] > 0
            assert run["wall_s"] >= max(p["wall_s"] for p in run["partitions"])
        reruns = [c["rerun"]] if c["n"] == 2 else []  # the first partition over the full library
        assert "rerun" in c if reruns else "rerun" not in c
        assert all(r["label"] == keys[0] and r["exit"] == 0 for r in reruns)
        # Peak RSS is the child's own: above the small wrapper's, which is all it inherits.
        for p in [c["index"], *reruns, *c["sequential"]["partitions"]]:
            assert 0 < p["rss_floor_mib"] < 100 < p["peak_rss_mib"]
        # Each partition published its own slice, all of it, into the one library: the rows
        # generated per prefecture add up to what the library holds, slice by slice.
        assert set(c["rows"]) == set(keys) and all(n > 1_500 for n in c["rows"].values())
        for library in [c["library"]] + ([c["library_two_at_a_time"]] if c["n"] > 1 else []):
            published = Counter(library["unified_library"]) + Counter(library["rejected_rows"])
            assert dict(published) == c["rows"]
            assert sum(published.values()) == c["rows_total"] == sum(c["rows"].values())
    table = result["summary"]["table"]
    assert len(table) == 2 and table[1]["two_at_a_time_total_s"] > 0
    assert all(r["peak_rss_max_mib"] > 0 for r in table)
    estimate = result["summary"]["estimate"]
    assert estimate["measured_peak_rss_max_mib"] > 0 and estimate["one_worker_s"] > 0
    assert "whole" not in result  # no whole-run comparison in the small version


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_publish_bench_small(backend: str, request, tmp_path: Path) -> None:
    import publish as publish_bench  # bench/publish.py

    out = tmp_path / "publish.json"
    argv = ["--small", "--repeat", "2", "--work", str(tmp_path / "db"), "--json", str(out)]
    if backend == "postgresql":
        from tests.helpers import PG_ADMIN_URL

        request.getfixturevalue("pg_url")  # skips (or fails, in CI) without a server
        argv += ["--postgres", PG_ADMIN_URL]
    assert publish_bench.main(argv) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["rows"]["unified_library"] == 3_000 and result["rows"]["qc_issues"] == 2_100
    cases = ["sqlite-empty", "sqlite-rerun"]
    if backend == "postgresql":
        cases += ["postgres-fresh", "postgres-rerun"]
    assert list(result["cases"]) == cases
    for label, case in result["cases"].items():
        assert case["n"] == 2 and len(case["runs"]) == 2
        assert 0 < case["wall_min_s"] <= case["wall_median_s"] <= case["wall_max_s"]
        for run in case["runs"]:
            phases = run["phases_s"]
            assert {"convert", "insert", "create_index", "commit"} <= set(phases), label
            assert sum(phases.values()) == pytest.approx(run["wall_s"], abs=0.01)
        if label.endswith("rerun"):  # the previous library's rows go first
            assert case["phases_median_s"]["delete"] > 0
