"""Partition scaling benchmark: 1, 2, 4 and 8 prefectures of growing size, one run each.

    python bench/partitions.py                        # the full grid (DEFAULT_GRID, ~25 min, ~7 GB)
    python bench/partitions.py --small                # CI size: 1 and 2 prefectures of ~2,000 rows
    python bench/partitions.py --grid 4:25000 --grid 8:25000 --no-whole --json out.json

Why: the nightly job is partitioned by prefecture (市/州) so that workers can run prefectures
apart. Whether that scales, and what one worker needs, is a measurement: for each configuration
(N prefectures of about S rows) the province is generated with the independent noise model
(``bench/noise_model.py``; its names, noise, claims and formats untouched, only its tree of
units is replaced by N equal prefecture trees), its files are placed in their partitions once
(a separate, measured process: the first run on a fresh library would otherwise read every
file of every partition), and then every partition runs as its own ``shixiang run --partition
K`` subprocess into one SQLite library: first one after another, then the first one again
over the full library (the nightly case), then all two at a time (as two workers would) into
a copy of the same starting library. Each child's wall time, CPU time and peak RSS are its
own (``os.wait4`` in a small wrapper process; see ``WRAPPER`` for why). On the largest
configuration one whole run (no ``--partition``) is measured for comparison.

The national estimate (~15,000,000 rows in ~364 partitions: 333 prefecture-level divisions and
the 31 provinces' own units; partitions assumed independent) is given two ways: naive, from
time = a + b·rows per partition; and nightly, from the run without its publish (a + b·rows)
plus the publish into the province's full library (p0 + p1·rows + p2·library rows, fitted on
all one-at-a-time runs and re-runs). Peak RSS = c + d·rows gives the memory per worker next to
the measured 100,000-row one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import noise_model  # noqa: E402

# (prefectures, rows per prefecture): N = 1, 2, 4, 8 at 25,000 and at 100,000 rows, and one
# 50,000-row prefecture as a third point of the fit; ~2.3 M partition rows in all: 25 min on
# 2 vCPU at load 1–2 (bench/README.md), ~7 GB in the temporary directory (the libraries). The
# 100,000-row prefecture is the figure the memory bound per worker is stated for.
DEFAULT_GRID: tuple[tuple[int, int], ...] = (
    (1, 25_000),
    (2, 25_000),
    (4, 25_000),
    (8, 25_000),
    (1, 50_000),
    (1, 100_000),
    (2, 100_000),
    (4, 100_000),
    (8, 100_000),
)
SMALL_GRID: tuple[tuple[int, int], ...] = ((1, 2_000), (2, 2_000))
# Units of one prefecture per 100,000 rows. A unit lists an item at most once, so capacity is
# 587 (city) + 1,141 per county + 370 per township + 114 per village of this catalogue:
# ~120,000 for this tree, enough for 100,000 rows without every unit listing everything.
UNITS_PER_100K = {"county": 10, "township": 200, "village": 300}
PROVINCE = "22"  # the model's province (吉林); partition keys are 2201, 2202, …
# National scale: ~15 M rows; 333 prefecture-level divisions plus each of the 31 provincial
# regions' own units make the partitions.
NATIONAL_ROWS = 15_000_000
NATIONAL_PARTITIONS = 333 + 31
PROVINCES = 31
WORKERS = (2, 8, 32)
MEMORY_BOUND_MIB = 1024  # the bound for a 100,000-row prefecture


def prefecture_units(n: int, rows_each: int) -> Callable[[random.Random], list]:
    """A replacement for ``noise_model.make_units``: ``n`` prefectures with identical trees
    (so the model's per-level quotas give each about the same rows), no province unit (so
    there are exactly ``n`` partitions). Names come from the model's ``region_name``; codes and
    folders follow the model's scheme (city 22PP00000000, county 22PPCC000000, township
    22PPCCTTT000, village 22PPCCTTTVVV; files under ``level/parent``)."""
    f = rows_each / 100_000
    per = {lv: max(1, round(k * f)) for lv, k in UNITS_PER_100K.items()}
    per["township"] = max(per["township"], per["county"])
    per["village"] = max(per["village"], 1)

    def make_units(rng: random.Random) -> list:
        names: set[str] = set()

        def fresh(suffixes: tuple[str, ...]) -> str:
            while (name := noise_model.region_name(rng, suffixes)) in names or len(name) < 3:
                pass
            names.add(name)
            return name

        def spread(parents: list, k: int, level: str, cut: int, sfx: str) -> list:
            """``k`` children dealt round-robin to ``parents``, numbered within each parent."""
            seen: Counter[str] = Counter()
            out = []
            for i in range(k):
                parent = parents[i % len(parents)]
                seen[parent.code] += 1
                code = (parent.code[:cut] + f"{seen[parent.code]:03d}").ljust(12, "0")
                folder = f"{level}/{parent.region}"
                out.append(noise_model.Unit(level, code, fresh(tuple(sfx.split())), folder))
            return out

        units = []
        for p in range(1, n + 1):
            city = noise_model.Unit(
                "city", f"{PROVINCE}{p:02d}00000000", fresh(("市", "州")), "city"
            )
            counties = [
                noise_model.Unit(
                    "county", f"{city.code[:4]}{c:02d}000000", fresh(("县", "区", "市")), "county"
                )
                for c in range(1, per["county"] + 1)
            ]
            towns = spread(counties, per["township"], "township", 6, "镇 乡 街道")
            villages = spread(towns, per["village"], "village", 9, "村 社区")
            units += [city, *counties, *towns, *villages]
        return units

    return make_units


def generate(out: Path, n: int, rows_each: int, seed: int) -> dict[str, object]:
    """The independent model's province with ``n`` prefectures of ~``rows_each`` rows."""
    original = noise_model.make_units
    noise_model.make_units = prefecture_units(n, rows_each)
    try:
        summary = noise_model.generate_province(out, seed=seed, rows=n * rows_each)
    finally:
        noise_model.make_units = original
    summary.pop("per_variation", None)
    return summary


def rows_per_partition(data: Path) -> dict[str, int]:
    """Rows written per partition (first four digits of the unit's code), from truth.csv."""
    import csv

    with (data / "truth.csv").open(encoding="utf-8") as fh:
        return dict(sorted(Counter(r["division_code"][:4] for r in csv.DictReader(fh)).items()))


def subset(src: Path, dst: Path, keys: list[str]) -> dict[str, int]:
    """A data directory with the catalogue and only the files of partitions ``keys``
    (hard links, else copies); its truth.csv keeps their rows. Returns rows per partition."""
    import csv

    with (src / "truth.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["division_code"][:4] in keys]
    files = {r["source_file"] for r in rows} | {
        p.relative_to(src).as_posix() for p in (src / "catalogue").rglob("*") if p.is_file()
    }
    for rel in sorted(files):
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src / rel, target)
        except OSError:
            shutil.copy2(src / rel, target)
    with (dst / "truth.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=noise_model.TRUTH_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return dict(sorted(Counter(r["division_code"][:4] for r in rows).items()))


def child_env(work: Path) -> dict[str, str]:
    """The children's environment: an ephemeral Dagster instance (no DAGSTER_HOME: the bench
    must not write runs into someone's instance, and two children must not share one), GX
    Data Docs under the work directory, no alerts."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["SHIXIANG_DOCS_DIR"] = str(work / "gx_docs")
    env.pop("SHIXIANG_ALERT_URL", None)
    return env


def run_cmd(data: Path, db: Path, timings: Path, partition: str | None) -> list[str]:
    cmd = [str(Path(sys.executable).with_name("shixiang")), "run", "--data-dir", str(data)]
    cmd += ["--database-url", f"sqlite:///{db}", "--log-level", "WARNING"]
    cmd += ["--timings", str(timings)]
    return cmd + (["--partition", partition] if partition else [])


def index_cmd(data: Path, db: Path) -> list[str]:
    """Place every file in its partition (``input_files``), as the first run on a fresh library
    would, in a process of its own so that the partition runs measure the nightly case."""
    code = (
        "import sys; from pipelines.resources import settings_from_env; "
        "from assets.partitions import file_index; "
        "print(len(file_index(settings_from_env(data_dir=sys.argv[1], database_url=sys.argv[2]))))"
    )
    return [sys.executable, "-c", code, str(data), f"sqlite:///{db}"]


# Runs one command and writes its own rusage as JSON. Why a separate small process: Linux
# keeps a process's peak RSS across execve, and a child started from this process (vfork or
# fork, then exec) starts with this process's peak RSS as its own; after generating 800,000
# rows here, every child "peaked" at this process's 1.1 GiB. The child of this ~10 MiB wrapper
# inherits only the wrapper's. Its floor (VmHWM before the fork) is recorded with the result.
WRAPPER = r"""
import json, os, sys, time
result, cmd = sys.argv[1], sys.argv[2:]
with open("/proc/self/status") as fh:
    floor = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:"))
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
out = {"exit": os.waitstatus_to_exitcode(status), "wall_s": round(time.perf_counter() - t0, 2),
       "cpu_s": round(ru.ru_utime + ru.ru_stime, 2), "peak_rss_mib": round(ru.ru_maxrss / 1024, 1),
       "rss_floor_mib": round(floor / 1024, 1)}
with open(result, "w") as fh:
    json.dump(out, fh)
sys.exit(out["exit"])
"""


def run_jobs(
    jobs: list[tuple[str, list[str], Path]], workers: int, env: dict[str, str]
) -> tuple[list[dict[str, object]], float]:
    """Run ``(label, command, log)`` jobs, at most ``workers`` at once; per job its exit code,
    wall time, CPU time and peak RSS (its own: ``os.wait4`` in ``WRAPPER``). Returns them and
    the wall time of all."""
    pending, running, done = list(jobs), [], []
    started_all = time.perf_counter()
    while pending or running:
        while pending and len(running) < workers:
            label, cmd, log = pending.pop(0)
            result = log.with_suffix(".rusage.json")
            result.unlink(missing_ok=True)
            with log.open("w", encoding="utf-8") as fh:
                proc = subprocess.Popen(
                    [sys.executable, "-c", WRAPPER, str(result), *cmd],
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=REPO,
                )
            running.append((label, proc, log, result))
        for job in list(running):
            label, proc, log, result = job
            if proc.poll() is None:
                continue
            running.remove(job)
            r: dict[str, object] = {"label": label, "exit": proc.returncode}
            if result.exists():
                r |= json.loads(result.read_text(encoding="utf-8"))
            r["log"] = str(log)
            if r["exit"] != 0:
                r["log_tail"] = log.read_text(encoding="utf-8", errors="replace")[-3000:]
                print(f"  !! {label} exited {r['exit']}:\n{r['log_tail']}", flush=True)
            done.append(r)
        if running:
            time.sleep(0.02)
    return done, round(time.perf_counter() - started_all, 2)


def library_counts(db: Path) -> dict[str, dict[str, int]]:
    """Published rows per partition: the library and the rejected rows."""
    out: dict[str, dict[str, int]] = {}
    with sqlite3.connect(db) as conn:
        for table in ("unified_library", "rejected_rows"):
            q = f"SELECT partition_key, COUNT(*) FROM {table} GROUP BY partition_key"
            out[table] = {str(k): int(v) for k, v in conn.execute(q)}
    return out


def published(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    """Rows per partition in the library, accepted or rejected."""
    out: Counter[str] = Counter()
    for per_key in counts.values():
        out.update(per_key)
    return dict(sorted(out.items()))


def copy_db(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite library (WAL included), via the backup API."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def partition_pass(
    data: Path, db: Path, keys: list[str], workers: int, work: Path, tag: str
) -> dict[str, object]:
    """Every partition as its own ``shixiang run --partition K`` into ``db``."""
    jobs = [
        (key, run_cmd(data, db, work / f"{tag}_{key}_steps.json", key), work / f"{tag}_{key}.log")
        for key in keys
    ]
    results, wall = run_jobs(jobs, workers, child_env(work))
    for r in results:
        steps = work / f"{tag}_{r['label']}_steps.json"
        r["steps_s"] = json.loads(steps.read_text(encoding="utf-8")) if steps.exists() else {}
    results.sort(key=lambda r: r["label"])
    return {"workers": workers, "wall_s": wall, "partitions": results}


def measure_config(
    base: Path, n: int, rows_each: int, work: Path, *, pairs: bool, rerun: bool = True
) -> dict[str, object]:
    """One configuration: place the files, run the partitions one at a time, then (``rerun``)
    the first one again over the full library (the nightly case), and (``pairs``) all two at
    a time from the same placed, empty library."""
    keys = [f"{PROVINCE}{p:02d}" for p in range(1, n + 1)]
    data = work / "data"
    rows = subset(base, data, keys)
    env = child_env(work)
    res: dict[str, object] = {"n": n, "rows_per_partition": rows_each, "load_before": load()}
    res["rows"] = rows
    res["rows_total"] = sum(rows.values())
    placed = work / "placed.db"
    (idx,), _ = run_jobs([("index", index_cmd(data, placed), work / "index.log")], 1, env)
    res["index"] = idx
    seq_db = work / "seq.db"
    copy_db(placed, seq_db)
    res["sequential"] = partition_pass(data, seq_db, keys, 1, work, "seq")
    # The nightly case: the first partition again, unchanged, into the full library.
    if rerun:
        res["rerun"] = partition_pass(data, seq_db, keys[:1], 1, work, "rerun")["partitions"][0]
    res["library"] = library_counts(seq_db)
    if pairs and n > 1:
        pair_db = work / "pairs.db"
        copy_db(placed, pair_db)
        res["two_at_a_time"] = partition_pass(data, pair_db, keys, 2, work, "pair")
        res["library_two_at_a_time"] = library_counts(pair_db)
    res["load_after"] = load()
    return res


def measure_whole(work: Path) -> dict[str, object]:
    """One whole run (no --partition) over the same data, from a placed, empty library."""
    data = work / "data"
    db = work / "whole.db"
    copy_db(work / "placed.db", db)
    steps = work / "whole_steps.json"
    before = load()
    (r,), _ = run_jobs(
        [("whole", run_cmd(data, db, steps, None), work / "whole.log")], 1, child_env(work)
    )
    r["steps_s"] = json.loads(steps.read_text(encoding="utf-8")) if steps.exists() else {}
    r["library"] = library_counts(db)
    r["load_before"], r["load_after"] = before, load()
    return r


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares y = a + b·x (a flat line through the mean when x does not vary)."""
    if len(set(xs)) < 2:
        return statistics.fmean(ys), 0.0
    b, a = statistics.linear_regression(xs, ys)
    return a, b


def fit_publish(runs: list[dict[str, float]]) -> tuple[float, float, float]:
    """Least squares publish = p0 + p1·rows + p2·library: a slice's publish writes its own rows
    and recomputes the views over the whole library (``store.publish``)."""
    import numpy as np

    x = np.array([[1.0, r["rows"], r["library"]] for r in runs])
    y = np.array([r["publish"] for r in runs])
    return tuple(float(c) for c in np.linalg.lstsq(x, y, rcond=None)[0])


def summarise(configs: list[dict], whole: dict | None) -> dict[str, object]:
    """The table's figures, the fits and the national estimate.

    A partition's run is split in two: its publish (step ``published_library``), which writes
    into the library shared with the other partitions, and the rest (start-up, reading,
    matching, checks), which depends on the partition's own rows only."""
    table, runs, reruns = [], [], []
    for c in configs:
        seq = c["sequential"]["partitions"]
        w = [p["wall_s"] for p in seq]
        two = c.get("two_at_a_time", {})
        table.append(
            {
                "n": c["n"],
                "rows_per_partition": c["rows_per_partition"],
                "rows_total": c["rows_total"],
                "index_s": c["index"]["wall_s"],
                "wall_min_s": min(w),
                "wall_median_s": statistics.median(w),
                "wall_max_s": max(w),
                "cpu_median_s": statistics.median(p["cpu_s"] for p in seq),
                "publish_max_s": max(p["steps_s"].get("published_library", 0.0) for p in seq),
                "peak_rss_max_mib": max(p["peak_rss_mib"] for p in seq),
                "sequential_total_s": c["sequential"]["wall_s"],
                "two_at_a_time_total_s": two.get("wall_s"),
                "two_at_a_time_speedup": (
                    round(c["sequential"]["wall_s"] / two["wall_s"], 2) if two else None
                ),
                "two_at_a_time_failed": [
                    p["label"] for p in two.get("partitions", []) if p["exit"]
                ],
            }
        )
        library = 0
        for p in seq:  # in key order, each into the library its predecessors filled
            library += c["rows"][p["label"]]
            runs.append(_run(p, c["rows"][p["label"]], library))
        if "rerun" in c:  # into the full library
            r = c["rerun"]
            reruns.append(_run(r, c["rows"][r["label"]], c["rows_total"]))
    col = {k: [r[k] for r in runs] for k in runs[0]}
    a, b = fit(col["rows"], col["wall"])
    ca, cb = fit(col["rows"], col["cpu"])
    ra, rb = fit(col["rows"], col["rss"])
    xa, xb = fit(col["rows"], col["rest"])
    p0, p1, p2 = fit_publish(runs + reruns)
    biggest = max(c["rows_per_partition"] for c in configs)
    at_max = [
        p
        for c in configs
        if c["rows_per_partition"] == biggest
        for p in [
            *c["sequential"]["partitions"],
            *c.get("two_at_a_time", {}).get("partitions", []),
            *([c["rerun"]] if "rerun" in c else []),
        ]
    ]
    steps: Counter[str] = Counter()
    seq_at_max = [
        p
        for c in configs
        if c["rows_per_partition"] == biggest
        for p in c["sequential"]["partitions"]
    ]
    for p in seq_at_max:
        steps.update(p["steps_s"])
    mean_rows = NATIONAL_ROWS / NATIONAL_PARTITIONS
    # Naive: time = a + b·rows per partition, as if a partition cost its own rows only.
    naive = NATIONAL_PARTITIONS * a + b * NATIONAL_ROWS
    # Nightly, one library per province: every partition publishes into its province's full
    # library (~15 M / 31 rows); publishes into one library are serialised.
    per_province = NATIONAL_PARTITIONS / PROVINCES
    province_rows = NATIONAL_ROWS / PROVINCES
    publish_s = p0 + p1 * mean_rows + p2 * province_rows
    total = NATIONAL_PARTITIONS * (xa + xb * mean_rows + publish_s)
    longest = xa + xb * 100_000 + p0 + p1 * 100_000 + p2 * province_rows  # cannot be split
    serial = per_province * publish_s  # one province's publishes, one after another
    rss_at_max = max(p["peak_rss_mib"] for p in at_max)
    estimate = {
        "rows": NATIONAL_ROWS,
        "partitions": NATIONAL_PARTITIONS,
        "provinces": PROVINCES,
        "rows_per_partition_mean": round(mean_rows),
        "rows_per_province_library": round(province_rows),
        "fit_wall_s": {"a": round(a, 2), "b_ms_per_row": round(b * 1000, 4)},
        "fit_cpu_s": {"a": round(ca, 2), "b_ms_per_row": round(cb * 1000, 4)},
        "fit_without_publish_s": {"a": round(xa, 2), "b_ms_per_row": round(xb * 1000, 4)},
        "fit_publish_s": {
            "p0": round(p0, 2),
            "p1_ms_per_row": round(p1 * 1000, 4),
            "p2_ms_per_library_row": round(p2 * 1000, 5),
        },
        "reruns": reruns,
        "publish_s_into_province_library": round(publish_s, 1),
        "fit_peak_rss_mib": {"c": round(ra, 1), "d_mib_per_1k_rows": round(rb * 1000, 3)},
        "naive_one_worker_s": round(naive),
        "naive_workers_s": {str(w): round(max(naive / w, a + b * 100_000)) for w in WORKERS},
        "one_worker_s": round(total),
        "workers_s": {str(w): round(max(total / w, longest, serial)) for w in WORKERS},
        "fixed_share": round(NATIONAL_PARTITIONS * xa / total, 3),
        "serial_publish_per_province_s": round(serial),
        "measured_rows_per_partition": biggest,
        "measured_runs_at_largest": len(at_max),
        "measured_peak_rss_max_mib": rss_at_max,
        "rss_floor_max_mib": max(p.get("rss_floor_mib", 0.0) for p in at_max),
        "fitted_peak_rss_100k_mib": round(ra + rb * 100_000),
        "within_memory_bound": rss_at_max <= MEMORY_BOUND_MIB if biggest >= 100_000 else None,
        "steps_mean_s_at_largest": {
            k: round(v / len(seq_at_max), 2) for k, v in steps.most_common(8)
        },
    }
    out = {"table": table, "runs": runs, "estimate": estimate}
    if whole:
        cfg = next(
            c
            for c in configs
            if (c["n"], c["rows_per_partition"]) == (whole["n"], whole["rows_per_partition"])
        )
        out["whole_vs_partitions"] = {
            "n": cfg["n"],
            "rows_per_partition": cfg["rows_per_partition"],
            "whole_wall_s": whole["wall_s"],
            "whole_cpu_s": whole["cpu_s"],
            "whole_peak_rss_mib": whole["peak_rss_mib"],
            "partitions_sequential_wall_s": cfg["sequential"]["wall_s"],
            "partitions_two_at_a_time_wall_s": cfg.get("two_at_a_time", {}).get("wall_s"),
            "partitions_peak_rss_max_mib": max(
                p["peak_rss_mib"] for p in cfg["sequential"]["partitions"]
            ),
            "whole_steps_top_s": dict(Counter(whole["steps_s"]).most_common(6)),
        }
    return out


def _run(p: dict, rows: int, library: int) -> dict[str, float]:
    publish = p["steps_s"].get("published_library", 0.0)
    return {
        "rows": rows,
        "library": library,
        "wall": p["wall_s"],
        "cpu": p["cpu_s"],
        "publish": publish,
        "rest": p["wall_s"] - publish,
        "rss": p["peak_rss_mib"],
    }


def _h(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"


def print_table(summary: dict[str, object]) -> None:
    print(
        "| N | rows/partition | rows total | placing files s | partition wall min / median / max s "
        "| CPU median s | publish max s | peak RSS max MiB | one at a time s "
        "| two at a time s (speed-up) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in summary["table"]:
        two = r["two_at_a_time_total_s"]
        two = "—" if two is None else f"{two:.1f} ({r['two_at_a_time_speedup']:.2f}×)"
        if r["two_at_a_time_failed"]:
            two += f", failed: {', '.join(r['two_at_a_time_failed'])}"
        print(
            f"| {r['n']} | {r['rows_per_partition']:,} | {r['rows_total']:,} | {r['index_s']:.1f} "
            f"| {r['wall_min_s']:.1f} / {r['wall_median_s']:.1f} / {r['wall_max_s']:.1f} "
            f"| {r['cpu_median_s']:.1f} | {r['publish_max_s']:.1f} | {r['peak_rss_max_mib']:.0f} "
            f"| {r['sequential_total_s']:.1f} | {two} |"
        )
    e = summary["estimate"]
    f, m, x, q = (
        e["fit_wall_s"],
        e["fit_peak_rss_mib"],
        e["fit_without_publish_s"],
        e["fit_publish_s"],
    )
    reruns = ", ".join(
        f"{r['rows']:,} into {r['library']:,}: {r['publish']} s" for r in e["reruns"]
    )
    print(
        f"\nfits over the one-at-a-time runs: wall = {f['a']} s + {f['b_ms_per_row']} ms/row; "
        f"CPU = {e['fit_cpu_s']['a']} s + {e['fit_cpu_s']['b_ms_per_row']} ms/row; without the "
        f"publish = {x['a']} s + {x['b_ms_per_row']} ms/row; publish (with the re-runs) = "
        f"{q['p0']} s + {q['p1_ms_per_row']} ms/row + {q['p2_ms_per_library_row']} ms per library "
        f"row; peak RSS = {m['c']} MiB + {m['d_mib_per_1k_rows']} MiB per 1,000 rows\n"
        f"re-runs of an unchanged partition into the full library (publish s): {reruns or '—'}"
    )
    bound = {True: "met", False: "NOT met", None: "not measured at 100,000 rows"}
    print(
        f"memory per worker: a {e['measured_rows_per_partition']:,}-row prefecture peaked at "
        f"{e['measured_peak_rss_max_mib']:.0f} MiB (measured, max of its "
        f"{e['measured_runs_at_largest']} runs; fit at 100,000 rows: "
        f"{e['fitted_peak_rss_100k_mib']} MiB; measurement floor {e['rss_floor_max_mib']:.0f} "
        f"MiB); the {MEMORY_BOUND_MIB} MiB bound is {bound[e['within_memory_bound']]}"
    )
    steps = ", ".join(f"{k} {v}" for k, v in e["steps_mean_s_at_largest"].items())
    print(f"mean step seconds of a {e['measured_rows_per_partition']:,}-row partition: {steps}")
    naive = ", ".join(f"W={w}: {_h(s)}" for w, s in e["naive_workers_s"].items())
    workers = ", ".join(f"W={w}: {_h(s)}" for w, s in e["workers_s"].items())
    print(
        f"national (~{e['rows']:,} rows in {e['partitions']} partitions of ~"
        f"{e['rows_per_partition_mean']:,} rows on average; partitions assumed independent, one "
        f"core per worker, never below one 100,000-row partition):\n"
        f"  naive (time = a + b·rows): {_h(e['naive_one_worker_s'])} on one worker; {naive}\n"
        f"  nightly, one library per province (~{e['rows_per_province_library']:,} rows; a "
        f"publish into it ~{e['publish_s_into_province_library']} s, serialised per library: "
        f"{_h(e['serial_publish_per_province_s'])} per province): "
        f"{_h(e['one_worker_s'])} on one worker ({e['fixed_share']:.0%} of it the fixed cost per "
        f"partition); {workers}"
    )
    if "whole_vs_partitions" in summary:
        w = summary["whole_vs_partitions"]
        print(
            f"whole run, N={w['n']} × {w['rows_per_partition']:,}: {w['whole_wall_s']:.1f} s wall, "
            f"{w['whole_cpu_s']:.1f} s CPU, peak RSS {w['whole_peak_rss_mib']:.0f} MiB; its "
            f"partitions one at a time {w['partitions_sequential_wall_s']:.1f} s, two at a time "
            f"{w['partitions_two_at_a_time_wall_s']} s, peak RSS max "
            f"{w['partitions_peak_rss_max_mib']:.0f} MiB"
        )


def parse_grid(items: list[str]) -> list[tuple[int, int]]:
    return [(int(n), int(s)) for n, s in (x.split(":") for x in items)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--small", action="store_true", help="CI size: N = 1, 2 of ~2,000 rows")
    ap.add_argument(
        "--grid",
        action="append",
        metavar="N:ROWS",
        help="a configuration, N prefectures of ROWS rows (repeat); default: DEFAULT_GRID",
    )
    ap.add_argument("--seed", type=int, default=1, help="seed of the independent model")
    ap.add_argument("--no-pairs", action="store_true", help="skip the two-at-a-time pass")
    ap.add_argument("--no-whole", action="store_true", help="skip the whole-run comparison")
    ap.add_argument(
        "--out", type=Path, default=None, help="keep the data here (default: a temp dir, removed)"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    grid = parse_grid(args.grid) if args.grid else list(SMALL_GRID if args.small else DEFAULT_GRID)
    whole_wanted = not (args.no_whole or args.small)

    out = args.out or Path(tempfile.mkdtemp(prefix="shixiang-partitions-"))
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {
        "grid": grid,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_start": load(),
        "generated": {},
        "configs": [],
    }
    ok = True
    try:
        # One province per size with as many prefectures as the grid asks of that size; each
        # configuration takes its first N (so N = 1 … 8 share their prefectures).
        largest = {}
        for n, s in grid:
            largest[s] = max(largest.get(s, 0), n)
        bases = {}
        for s, n in sorted(largest.items()):
            base = out / f"province_{s}"
            t = time.perf_counter()
            gen = generate(base, n, s, args.seed)
            gen["seconds"] = round(time.perf_counter() - t, 1)
            gen["rows_per_partition"] = rows_per_partition(base)
            results["generated"][str(s)] = gen
            bases[s] = base
            print(
                f"generated {n} prefectures of ~{s:,} rows: {gen['rows']:,} rows, "
                f"{gen['units']} units in {gen['seconds']} s",
                flush=True,
            )
        whole = None
        for n, s in grid:
            work = out / f"n{n}_s{s}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            # --small re-runs only its largest library (each run costs ~15 s of start-up)
            rerun = not args.small or n == max(m for m, _ in grid)
            res = measure_config(bases[s], n, s, work, pairs=not args.no_pairs, rerun=rerun)
            runs = [res["index"], *res["sequential"]["partitions"]]
            runs += res.get("two_at_a_time", {}).get("partitions", [])
            runs += [res["rerun"]] if "rerun" in res else []
            res["all_exit_zero"] = all(r["exit"] == 0 for r in runs)
            # every partition's slice published, whole: rows per partition as generated
            libraries = [res["library"], res.get("library_two_at_a_time")]
            res["libraries_complete"] = all(
                published(lib) == res["rows"] for lib in libraries if lib is not None
            )
            if not res["libraries_complete"]:
                print(f"  !! library rows per partition differ from {res['rows']}", flush=True)
            ok &= res["all_exit_zero"] and res["libraries_complete"]
            results["configs"].append(res)
            seq = res["sequential"]["partitions"]
            two = res.get("two_at_a_time", {}).get("wall_s")
            print(
                f"N={n} × {s:,} ({res['rows_total']:,} rows): index {res['index']['wall_s']} s; "
                + ", ".join(
                    f"{p['label']} {p['wall_s']} s {p['peak_rss_mib']:.0f} MiB" for p in seq
                )
                + f"; one at a time {res['sequential']['wall_s']} s"
                + (f", two at a time {two} s" if two is not None else "")
                + f"; load {res['load_before']} → {res['load_after']}",
                flush=True,
            )
        if whole_wanted:  # on the configuration with the most rows
            big = max(results["configs"], key=lambda c: c["rows_total"])
            n, s = big["n"], big["rows_per_partition"]
            whole = measure_whole(out / f"n{n}_s{s}")
            whole["n"], whole["rows_per_partition"] = n, s
            ok &= whole["exit"] == 0
            results["whole"] = whole
            print(
                f"whole run N={n} × {s:,}: {whole['wall_s']} s, {whole['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
        results["summary"] = summarise(results["configs"], whole)
        results["load_end"] = load()
        results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        print()
        print_table(results["summary"])
    finally:
        if args.json:
            args.json.write_text(
                json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8"
            )
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
