"""Scale benchmark: a generated province, the matching step and the whole ``shixiang run``.

    python bench/scale.py                 # ~500,000 rows (the issue's target size)
    python bench/scale.py --rows 60000    # any size; --scale 50 asks for 50x the demo instead
    python bench/scale.py --small         # the CI-sized version (proves the script works)
    python bench/scale.py --model independent --out /tmp/indep500k   # noise not from the matcher
    python bench/scale.py --data /tmp/indep500k   # only the two whole runs, on that province
    python bench/scale.py --data /tmp/indep500k --against /tmp/old --repeat 5
                                          # before/after: alternating with an older checkout

Prints wall time and peak memory (max RSS) of: generating the province, reading it, the
matching step (decide every row), the per-row ``rapidfuzz.process.extractOne(WRatio)`` baseline
on a sample (extrapolated to all rows), and the whole ``shixiang run`` in a subprocess, twice:
into an empty database, then again over the library it published (the nightly case). Each
run's step timings (``shixiang run --timings``) are printed and kept in ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rapidfuzz import fuzz, process  # noqa: E402

from dev import synth  # noqa: E402
from shixiang import ingest, matching  # noqa: E402
from shixiang.config import LEVELS  # noqa: E402


def independent_province(out: Path, rows: int, seed: int = 1) -> dict[str, object]:
    """The independent noise model (``bench/noise_model.py``) at scale.

    Its own province has 48 units, and a unit never lists an item twice, so it stops at
    ~27,000 rows. Here the same generator gets a larger province: 4 cities of 40 counties,
    800 townships and 600 villages (1,565 units; room for ~550,000 rows); names, noise, claims
    and formats are the model's own. Nothing of the matcher's vocabulary is used.
    """
    sys.path.insert(0, str(REPO / "bench"))
    import noise_model

    make_units = noise_model.make_units

    def many_units(rng):  # the model's make_units with the counts raised
        ri = rng.randint
        rng.randint = lambda a, b: (
            {(3, 4): 40, (16, 20): 800, (10, 14): 600}.get((a, b)) or ri(a, b)
        )
        try:
            units = make_units(rng)
        finally:
            del rng.randint
        return units

    noise_model.make_units = many_units
    try:
        return noise_model.generate_province(out, seed=seed, rows=rows)
    finally:
        noise_model.make_units = make_units


def tree_rss_mib(pid: int) -> float:
    """The resident memory of process ``pid`` and all its descendants (the matcher's helpers),
    from /proc; 0 where /proc is missing."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(entry.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        children.setdefault(parent, []).append(int(entry.parent.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        with contextlib.suppress(OSError, IndexError, ValueError):  # gone meanwhile
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1])
    return total * resource.getpagesize() / 2**20


# ``shixiang`` as its console script runs it, from the checkout on PYTHONPATH (``--against``):
# ``cli`` where the code has one (it leaves without the interpreter's teardown), else ``main``.
_OTHER_CHECKOUT = (
    "import sys\n"
    "import commands.main as m\n"
    "sys.argv[0] = 'shixiang'\n"
    "cli = getattr(m, 'cli', None)\n"
    "cli() if cli else sys.exit(m.main(sys.argv[1:]))\n"
)


def whole_runs(data: Path, work: Path, results: dict[str, object], code: Path | None = None) -> int:
    """``shixiang run`` on ``data`` twice, into ``work``/bench.db: into an empty database (the
    first night), then again over the published library (every later night: the old tables
    are replaced in the same transaction). Wall time, each step's time, and peak memory: the
    largest single process (``ru_maxrss``) and the whole process tree, sampled every 0.1 s.
    ``code``: another checkout whose code runs instead (a ``git worktree`` of an older commit)."""
    db = work / "bench.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)  # the first night starts from an empty database
    prefix = [str(Path(sys.executable).with_name("shixiang"))]
    env = None
    if code is not None:
        prefix = [sys.executable, "-c", _OTHER_CHECKOUT]
        env = {**os.environ, "PYTHONPATH": str(code.resolve())}
    for label in ("run", "rerun"):
        timings = work / f"{label}_steps.json"
        cmd = [
            *prefix,
            "run",
            "--data-dir",
            str(data),
            "--database-url",
            f"sqlite:///{db}",
            "--log-level",
            "WARNING",
            "--timings",
            str(timings),
        ]
        t = time.perf_counter()
        with tempfile.TemporaryFile() as output:
            proc = subprocess.Popen(
                cmd, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=code or None
            )
            tree_peak = 0.0
            while proc.poll() is None:
                tree_peak = max(tree_peak, tree_rss_mib(proc.pid))
                time.sleep(0.1)
            results[f"{label}_s"] = round(time.perf_counter() - t, 2)
            output.seek(0)
            text = output.read().decode("utf-8", "replace")
        results[f"{label}_exit"] = proc.returncode
        # ru_maxrss of the children is the largest of every child so far: with several runs
        # in one benchmark process, only the tree sampled from /proc is this run's own.
        results[f"{label}_peak_rss_mib"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        )
        results[f"{label}_tree_peak_rss_mib"] = round(tree_peak)
        if proc.returncode != 0:
            print(text[-6000:])
            return 1
        steps = json.loads(timings.read_text(encoding="utf-8"))
        results[f"{label}_steps_s"] = steps
        slowest = sorted(steps.items(), key=lambda kv: -kv[1])[:6]
        print(
            f"shixiang {label} ({'empty' if label == 'run' else 'published'} database): "
            f"exit {proc.returncode} in {results[f'{label}_s']} s wall, "
            f"steps {sum(steps.values()):.1f} s, peak RSS {results[f'{label}_peak_rss_mib']} MiB "
            f"(process tree {results[f'{label}_tree_peak_rss_mib']} MiB); "
            "slowest steps: " + ", ".join(f"{k} {v}" for k, v in slowest)
        )
    return 0


def compared_runs(data: Path, against: Path | None, rounds: int, out: Path | None) -> int:
    """``rounds`` × the two whole runs of :func:`whole_runs` on ``data``, this checkout's code
    and (``against``) another checkout's alternating, so that both meet the machine in the
    same moods; then each code's range and median of wall time and of the tree's peak RSS.
    A shared VM drifts over minutes: compare codes only from runs interleaved like this."""
    codes: list[tuple[str, Path | None]] = [("this checkout", None)]
    if against is not None:
        codes.append((str(against), against))
    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="shixiang-bench-") as work:
        for i in range(rounds):
            for label, code in codes:
                print(f"round {i + 1}/{rounds}: {label}", flush=True)
                one: dict[str, object] = {"code": label, "round": i + 1}
                if whole_runs(data, Path(work), one, code) != 0:
                    return 1
                runs.append(one)
    summary: dict[str, dict[str, str]] = {}
    for label, _ in codes:
        mine = [r for r in runs if r["code"] == label]
        summary[label] = {}
        for key in ("run_s", "rerun_s", "run_tree_peak_rss_mib", "rerun_tree_peak_rss_mib"):
            values = sorted(float(r[key]) for r in mine)  # type: ignore[arg-type]
            summary[label][key] = (
                f"{values[0]:g}–{values[-1]:g} (median {statistics.median(values):g})"
            )
        print(
            f"{label}, {len(mine)} rounds: first night {summary[label]['run_s']} s, "
            f"rerun {summary[label]['rerun_s']} s, peak tree RSS "
            f"{summary[label]['run_tree_peak_rss_mib']} / "
            f"{summary[label]['rerun_tree_peak_rss_mib']} MiB"
        )
    if out:
        out.write_text(
            json.dumps({"runs": runs, "summary": summary}, ensure_ascii=False, indent=2), "utf-8"
        )
    return 0


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=500_000, help="target number of list rows")
    ap.add_argument(
        "--scale", type=float, default=None, help="generate scale × the demo instead of --rows"
    )
    ap.add_argument(
        "--small", action="store_true", help="CI size: 20,000 rows, baseline on 300 rows"
    )
    ap.add_argument(
        "--model",
        choices=("synth", "independent"),
        default="synth",
        help="synth: dev/synth (the matcher's vocabulary); independent: bench/noise_model.py at "
        "scale (noise the matcher's authors did not write; see independent_province)",
    )
    ap.add_argument("--seed", type=int, default=1, help="seed of the independent model")
    ap.add_argument("--baseline-sample", type=int, default=2000)
    ap.add_argument(
        "--out", type=Path, default=None, help="where to generate (default: a temp dir, removed)"
    )
    ap.add_argument("--skip-run", action="store_true", help="skip the whole `shixiang run`")
    ap.add_argument(
        "--data",
        type=Path,
        default=None,
        help="only the two whole runs, on this province (one --out kept from an earlier run)",
    )
    ap.add_argument(
        "--against",
        type=Path,
        default=None,
        help="with --data: alternate with the code of this checkout (e.g. `git worktree add "
        "/tmp/old <commit>`), run for run, and compare",
    )
    ap.add_argument(
        "--repeat", type=int, default=1, help="with --data: rounds of the two whole runs"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    if args.small:
        args.rows, args.baseline_sample = 20_000, 300

    results: dict[str, object] = {}
    if args.data is not None and (args.against or args.repeat > 1):
        return compared_runs(args.data, args.against, max(args.repeat, 1), args.json)
    if args.data is not None:  # only the whole runs, on a province already generated
        with tempfile.TemporaryDirectory(prefix="shixiang-bench-") as work:
            status = whole_runs(args.data, Path(work), results)
        if args.json:
            args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
        return status
    out = args.out or Path(tempfile.mkdtemp(prefix="shixiang-bench-"))
    try:
        t = time.perf_counter()
        if args.model == "independent":
            counts = independent_province(out, args.rows, args.seed)
            counts.pop("per_variation", None)
        elif args.scale:
            counts = synth.generate_province(
                out, scale=args.scale, broken_files=False, xlsx_share=0.02
            )
        else:
            counts = synth.generate_province(
                out, target_rows=args.rows, broken_files=False, xlsx_share=0.0
            )
        results["generate_s"] = round(time.perf_counter() - t, 2)
        print(
            f"generated {out} in {results['generate_s']} s: {json.dumps(counts, ensure_ascii=False, default=str)[:300]}"
        )

        t = time.perf_counter()
        cat = ingest.load_catalogue(out)
        levels = {lv: ingest.load_level(out, lv) for lv in LEVELS}
        rows = ingest.combine(levels).rows
        results["read_s"] = round(time.perf_counter() - t, 2)
        results["rows"] = len(rows)
        results["distinct_names"] = int(rows["item_name"].nunique())
        results["catalogue_items"] = len(cat.rows)
        print(
            f"read {len(rows):,} rows ({results['distinct_names']:,} distinct names), {len(cat.rows):,} catalogue items in {results['read_s']} s"
        )

        t = time.perf_counter()
        decided = matching.decide(rows, cat.rows)
        results["matching_s"] = round(time.perf_counter() - t, 2)
        results["status"] = {k: int(v) for k, v in decided["status"].value_counts().items()}
        results["peak_rss_in_process_mib"] = round(rss_mib())
        rate = len(rows) / max(results["matching_s"], 1e-9)
        print(
            f"matching step: {results['matching_s']} s ({rate:,.0f} rows/s); status {results['status']}; peak RSS so far {results['peak_rss_in_process_mib']} MiB"
        )

        sample = (
            rows["item_name"].sample(min(args.baseline_sample, len(rows)), random_state=0).tolist()
        )
        choices = cat.rows["item_name"].tolist()
        t = time.perf_counter()
        for name in sample:
            process.extractOne(name, choices, scorer=fuzz.WRatio)
        per_row = (time.perf_counter() - t) / len(sample)
        results["baseline_extractone_wratio_s_per_row"] = per_row
        results["baseline_extrapolated_s"] = round(per_row * len(rows), 1)
        results["speedup_vs_baseline"] = round(
            per_row * len(rows) / max(results["matching_s"], 1e-9), 1
        )
        print(
            f"baseline extractOne(WRatio) per row: {per_row * 1000:.2f} ms on {len(sample)} rows → "
            f"{results['baseline_extrapolated_s']} s for all rows; this matcher is {results['speedup_vs_baseline']}× faster"
        )

        if not args.skip_run and whole_runs(out, out, results) != 0:
            return 1
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
