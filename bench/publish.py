"""Publish benchmark: ``store.publish`` of a whole library into SQLite and PostgreSQL.

    python bench/publish.py --db-from /tmp/b1.db                  # a published library (~500,000 rows)
    python bench/publish.py --db-from /tmp/b1.db --repeat 5 --postgres
    python bench/publish.py --small                               # CI size: a few thousand rows, generated

Takes the output tables of a published library (``--db-from``, only read: its tables come back
with their ``partition_key``, as ``partitions.tag_slices`` sets it for ``published_library``)
or generates a few thousand rows of every table (``--small``), and times, in this process,
``store.publish`` of the whole library (``partitions=None``, as ``published_library`` calls it
for a whole run), ``--repeat`` times each:

* ``sqlite-empty``: into a new SQLite file;
* ``sqlite-rerun``: into the SQLite file that already holds the library (the nightly rerun);
* ``postgres-fresh`` (with ``--postgres``): into a new PostgreSQL database, created before and
  dropped after each publish;
* ``postgres-rerun`` (with ``--postgres``): into the database that already holds the library.

Per publish it prints the wall time, this process's CPU time (PostgreSQL's server is not in
it) and where the wall time went, measured from outside ``store`` (SQLAlchemy events and
wrappers around ``store``'s helpers): ``convert`` (frames to Python values), ``insert`` (the
driver's executemany or COPY, rows built on the way), ``delete``, ``drop`` (tables and
indexes), ``create_table``, ``create_index``, ``commit`` (on SQLite with the WAL checkpoint
that follows a large commit) and ``other`` (schema checks, the rest). Each publish is checked:
every table holds as many rows as its frame. The machine is shared: compare medians of several
repeats, and the CPU times.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
from sqlalchemy import Engine, create_engine, event, text  # noqa: E402

from shixiang import store, tables  # noqa: E402

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = f"shixiang_pubbench_{uuid.uuid4().hex[:8]}"  # its own: runs may overlap
PHASES = (
    "convert",
    "insert",
    "delete",
    "drop",
    "create_table",
    "create_index",
    "commit",
    "other",
)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the tables to publish -------------------------------------------------------------------


def tables_from(db: Path) -> dict[str, pd.DataFrame]:
    """The output tables of the library published in ``db``, read through a copy (SQLite may
    write to a database it opens: the WAL, a checkpoint), each with its partition_key."""
    with tempfile.TemporaryDirectory(prefix="shixiang-pubbench-") as tmp:
        copy = Path(tmp) / db.name
        for suffix in ("", "-wal"):
            if Path(f"{db}{suffix}").exists():
                shutil.copyfile(f"{db}{suffix}", f"{copy}{suffix}")
        engine = store.make_engine(f"sqlite:///{copy}")
        try:
            return {name: store.read_table(engine, name) for name in tables.OUTPUT_TABLES}
        finally:
            engine.dispose()


# Rows of the other tables per library row, as in a published province of 500,000 rows.
SMALL_SHARE = {
    "catalogue_items": 0.01,
    "unified_library": 1.0,
    "review_queue": 0.02,
    "qc_issues": 0.7,
    "reuse_stats": 0.02,
    "rejected_rows": 0.002,
    "rejected_files": 0.001,
    "library_changes": 0.01,
}


def small_tables(rows: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    """Every output table, ``rows`` library rows and the others in proportion, with values
    like a library's: ids unique, most text repeated (units, levels, statuses, long legal
    texts), some cells missing, numbers in numeric columns, partition keys of 4 prefectures."""
    rng = random.Random(seed)
    out = {}
    for name, table in tables.OUTPUT_TABLES.items():
        n = max(1, round(rows * SMALL_SHARE[name]))
        frame = {}
        for column in table.columns:
            kind = column.type.python_type
            if column.name == tables.PARTITION_COLUMN:
                values = [f"22{rng.randrange(1, 5):02d}" for _ in range(n)]
            elif kind is int:
                values = [
                    None if rng.random() < 0.05 else rng.randrange(1, 10_000) for _ in range(n)
                ]
            elif kind is float:
                values = [None if rng.random() < 0.05 else rng.random() * 100 for _ in range(n)]
            elif column.name in ("row_id", "name_key", "item_name"):
                values = [f"{column.name}：事项{i:06d}" for i in range(n)]
            else:
                distinct = [
                    f"{column.name}：" + "依据《条例》第十二条；" * rng.randrange(1, 20)
                    for _ in range(50)
                ]
                values = [None if rng.random() < 0.05 else rng.choice(distinct) for _ in range(n)]
            frame[column.name] = values
        out[name] = pd.DataFrame(frame)
    return out


# --- timing one publish ----------------------------------------------------------------------

_KINDS = (
    (re.compile(r"\s*DELETE\b", re.I), "delete"),
    (re.compile(r"\s*DROP\b", re.I), "drop"),
    (re.compile(r"\s*CREATE\s+TABLE\b", re.I), "create_table"),
    (re.compile(r"\s*CREATE\s+(UNIQUE\s+)?INDEX\b", re.I), "create_index"),
)


@contextmanager
def phase_timer(engine: Engine) -> Iterator[dict[str, float]]:
    """Seconds per phase of what runs inside the block on ``engine`` (see the module doc)."""
    spent: dict[str, float] = defaultdict(float)
    started: list[float] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        started.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        seconds = time.perf_counter() - started.pop()
        for pattern, kind in _KINDS:
            if pattern.match(statement):
                spent[kind] += seconds
                return

    def timed(kind: str, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[kind] += time.perf_counter() - t

        return wrapper

    # _python_rows: the conversion of the store before this bench (to measure it the same way)
    convert = [n for n in ("_python_columns", "_python_rows") if hasattr(store, n)][:1]
    patched = {name: getattr(store, name) for name in (*convert, "_insert_frame")}
    for name in convert:
        setattr(store, name, timed("convert", patched[name]))
    # the insert's own time is its total less the conversion inside it (see below)
    store._insert_frame = timed("insert_total", patched["_insert_frame"])
    engine.dialect.do_commit = timed("commit", engine.dialect.do_commit)
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield spent
    finally:
        spent["wall"] = time.perf_counter() - wall
        spent["cpu"] = time.process_time() - cpu
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        del engine.dialect.do_commit  # the class's method again
        for name, fn in patched.items():
            setattr(store, name, fn)
        spent["insert"] = spent.pop("insert_total", 0.0) - spent["convert"]
        spent["other"] = spent["wall"] - sum(spent[p] for p in PHASES if p != "other")


def publish_once(engine: Engine, frames: dict[str, pd.DataFrame], label: str) -> dict:
    with phase_timer(engine) as spent:
        store.publish(
            engine,
            frames,
            partitions=None,
            run_id=f"bench-{label}",
            data_dir="bench",
            summary={"bench": label},
        )
    with engine.connect() as conn:
        for name, frame in frames.items():
            n = conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            if n != len(frame):
                raise AssertionError(f"{label}: {name} holds {n} rows, not {len(frame)}")
    result = {"wall_s": round(spent["wall"], 3), "cpu_s": round(spent["cpu"], 3)}
    result["phases_s"] = {p: round(spent[p], 3) for p in PHASES if spent.get(p)}
    phases = " ".join(f"{p} {s:.2f}" for p, s in result["phases_s"].items())
    print(
        f"  {label}: {result['wall_s']:.2f} s, CPU {result['cpu_s']:.2f} s ({phases})", flush=True
    )
    return result


def summarise(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    phases = {p: statistics.median(r["phases_s"].get(p, 0.0) for r in runs) for p in PHASES}
    return {
        "n": len(runs),
        "wall_min_s": min(walls),
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_max_s": max(walls),
        "cpu_median_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
        "phases_median_s": {p: round(s, 3) for p, s in phases.items() if s},
        "runs": runs,
    }


# --- the cases -------------------------------------------------------------------------------


def sqlite_cases(frames: dict[str, pd.DataFrame], work: Path, repeat: int) -> dict[str, dict]:
    db = work / "publish.db"
    empty, rerun = [], []
    for i in range(repeat):
        for path in work.glob("publish.db*"):
            path.unlink()
        engine = store.make_engine(f"sqlite:///{db}")
        try:
            empty.append(publish_once(engine, frames, f"sqlite-empty #{i + 1}"))
        finally:
            engine.dispose()
    for i in range(repeat):  # over the library the last one published: the nightly rerun
        engine = store.make_engine(f"sqlite:///{db}")
        try:
            rerun.append(publish_once(engine, frames, f"sqlite-rerun #{i + 1}"))
        finally:
            engine.dispose()
    return {"sqlite-empty": summarise(empty), "sqlite-rerun": summarise(rerun)}


def postgres_cases(frames: dict[str, pd.DataFrame], admin_url: str, repeat: int) -> dict:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    url = admin_url.rsplit("/", 1)[0] + "/" + PG_DATABASE

    def recreate() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))

    fresh, rerun = [], []
    try:
        for i in range(repeat):
            recreate()
            engine = store.make_engine(url)
            try:
                fresh.append(publish_once(engine, frames, f"postgres-fresh #{i + 1}"))
            finally:
                engine.dispose()
        engine = store.make_engine(url)
        try:
            for i in range(repeat):
                rerun.append(publish_once(engine, frames, f"postgres-rerun #{i + 1}"))
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        admin.dispose()
    return {"postgres-fresh": summarise(fresh), "postgres-rerun": summarise(rerun)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--db-from", type=Path, help="a SQLite library to take the tables from (only read)"
    )
    source.add_argument(
        "--small", action="store_true", help="CI size: generated tables of --rows library rows"
    )
    ap.add_argument("--rows", type=int, default=3_000, help="library rows of --small")
    ap.add_argument("--repeat", type=int, default=3, help="publishes per case")
    ap.add_argument(
        "--postgres",
        nargs="?",
        const=PG_ADMIN_URL,
        default=None,
        metavar="ADMIN_URL",
        help="also publish into PostgreSQL: a database shixiang_pubbench_… is created on this "
        f"server and dropped afterwards (default {PG_ADMIN_URL})",
    )
    ap.add_argument("--work", type=Path, default=None, help="where the SQLite files go (temp)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    frames = small_tables(args.rows) if args.small else tables_from(args.db_from)
    results: dict[str, object] = {
        "source": "small" if args.small else str(args.db_from),
        "rows": {name: len(f) for name, f in frames.items()},
        "load_s": round(time.perf_counter() - t, 2),
    }
    print(
        f"tables from {results['source']} in {results['load_s']} s: "
        + ", ".join(f"{n} {r:,}" for n, r in results["rows"].items()),
        flush=True,
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="shixiang-pubbench-"))
    work.mkdir(parents=True, exist_ok=True)
    cases: dict[str, dict] = {}
    try:
        cases |= sqlite_cases(frames, work, args.repeat)
        if args.postgres:
            cases |= postgres_cases(frames, args.postgres, args.repeat)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    results["cases"] = cases
    results["peak_rss_mib"] = round(rss_mib())

    print(f"\nwhole-library publish, {args.repeat} each (wall s; phases: medians)")
    for label, case in cases.items():
        phases = ", ".join(f"{p} {s:.2f}" for p, s in case["phases_median_s"].items())
        print(
            f"{label:>15}: min {case['wall_min_s']:.2f} / median {case['wall_median_s']:.2f}"
            f" / max {case['wall_max_s']:.2f}, CPU {case['cpu_median_s']:.2f}  ({phases})"
        )
    print(f"peak RSS of this process: {results['peak_rss_mib']} MiB")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
