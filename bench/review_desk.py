"""Review desk benchmark: the desk's pages over a published province, for three kinds of user.

    python bench/review_desk.py                              # ~500,000 rows (the issue's target size)
    python bench/review_desk.py --out /tmp/desk500k --reuse  # keep the province; later runs reuse it
    python bench/review_desk.py --small                      # the CI-sized version (~20,000 rows)
    python bench/review_desk.py --small --database-url postgresql+psycopg://postgres@127.0.0.1:5432/desk_bench

Generates a province (``dev.synth``, in a subprocess) and publishes it with
``shixiang run`` (a subprocess), or reuses a database that already holds a publication
(``--reuse``). Creates three desk users: the province role, the steward of the county with the
most library rows, and the steward of the largest township (of that county when it has one).
Then drives the desk in this process with Starlette's ``TestClient(create_app(url))`` and
times, ``--reps`` times each (min / median / max):

* the first request after the desk starts (it builds the snapshot), each time on a new app;
* per user: login (Argon2), queue page 1, the queue narrowed by three facets, a deep page
  (page 200, or the last), a text search (``q=``), a row page, ``POST /decide`` (scope row)
  and the queue right after it (the decision overlay is recomputed), ``POST /decide``
  scope=all and the queue after it, ``/history``, ``/issues`` (the user's scope),
  ``/issues.xlsx`` for one unit, ``/stats``.

Times are wall time around the ``TestClient`` call: the whole ASGI application in this process
(session cookie, handler, database, template), no network and no HTTP server. The queue
page's own figure ("本页 N ms": the snapshot query and the facet counts, without rendering) is
kept as ``handler_ms``. Decisions the benchmark records are deleted again at the end (and
before it starts, when reusing a database).

Reports library rows, queue rows (status review or unmatched), the snapshot build time and the
peak RSS of this process (the desk; generation and publishing run in subprocesses). Exit code
1 when any request answered other than 200 (pages) or 303 (login, decisions).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import delete, func, select, text  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from desk.app import create_app  # noqa: E402
from shixiang.desk import accounts  # noqa: E402
from shixiang.desk.queue import OPEN_STATUSES, PAGE_SIZE, DeskData  # noqa: E402
from shixiang.scope import PROVINCE, UNIT, level_of, scope_prefix  # noqa: E402
from shixiang.store import make_engine, publications, safe_url, steward_decisions  # noqa: E402

PASSWORD = "bench-desk-password"
SECRET = "bench-desk-session-secret"
HANDLER_MS = re.compile(r"本页 (\d+) ms")
TARGET_MS = 300.0
DEEP_PAGE = 200


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the province ------------------------------------------------------------------------


def published(url: str) -> bool:
    """True when the database at ``url`` holds a published library."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, "publications"):
                return False
            return bool(conn.execute(select(func.count()).select_from(publications)).scalar())
    finally:
        engine.dispose()


def generate_and_publish(
    out: Path, rows: int, url: str, results: dict, *, generate: bool = True
) -> bool:
    """Generate ~``rows`` rows into ``out`` and publish them into ``url`` (two subprocesses:
    their memory is not the desk's); ``generate=False`` publishes the province in ``out``."""
    # This checkout's code first in both subprocesses (an editable install may predate a new
    # top-level package of the repository).
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    code = (
        "import json, sys; from pathlib import Path; from dev import synth; "
        "c = synth.generate_province(Path(sys.argv[1]), target_rows=int(sys.argv[2]), "
        "broken_files=False, xlsx_share=0.0); print(json.dumps(c['rows_total']))"
    )
    if generate:
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code, str(out), str(rows)],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
            env=env,
        )
        results["generate_s"] = round(time.perf_counter() - t, 2)
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
            return False
        print(f"generated {out}: {proc.stdout.strip()} rows in {results['generate_s']} s")
    cmd = [
        str(Path(sys.executable).with_name("shixiang")),
        "run",
        "--data-dir",
        str(out),
        "--database-url",
        url,
        "--log-level",
        "WARNING",
    ]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO, env=env)
    results["publish_s"] = round(time.perf_counter() - t, 2)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return False
    print(f"published into {safe_url(url)} in {results['publish_s']} s", flush=True)
    return True


# --- users and what they look at -----------------------------------------------------------


def library_counts(engine) -> tuple[int, int, dict[str, int]]:
    """Library rows, queue rows (review or unmatched), and rows per division code."""
    with engine.connect() as conn:
        total = conn.execute(text("SELECT COUNT(*) FROM unified_library")).scalar() or 0
        open_rows = (
            conn.execute(
                text("SELECT COUNT(*) FROM unified_library WHERE status IN ('review', 'unmatched')")
            ).scalar()
            or 0
        )
        per_code = dict(
            conn.execute(
                text("SELECT division_code, COUNT(*) FROM unified_library GROUP BY division_code")
            ).all()
        )
    return int(total), int(open_rows), {str(k): int(v) for k, v in per_code.items() if k}


def _level(code: str) -> str | None:
    try:
        return level_of(code)
    except (ValueError, KeyError):
        return None


def pick_units(per_code: dict[str, int]) -> tuple[str, str]:
    """The county (a code ending in 000000 with library rows) with the most rows under it, and
    the largest township, of that county when it has one."""

    def under(prefix: str) -> int:
        return sum(n for c, n in per_code.items() if c.startswith(prefix))

    counties = [c for c in per_code if _level(c) == "county"]
    if not counties:
        raise SystemExit("no county unit (a division code ending in 000000) in the library")
    county = max(counties, key=lambda c: (under(scope_prefix(c)), c))
    townships = [c for c in per_code if _level(c) == "township"]
    if not townships:
        raise SystemExit("no township unit (a division code ending in 000) in the library")
    inside = [c for c in townships if c.startswith(scope_prefix(county))] or townships
    township = max(inside, key=lambda c: (under(scope_prefix(c)), c))
    return county, township


def ensure_user(engine, username: str, role: str, code: str | None) -> accounts.User:
    user = accounts.get_user(engine, username)
    if user is None:
        return accounts.add_user(engine, username, PASSWORD, role, code)
    accounts.set_password(engine, username, PASSWORD)
    accounts.set_disabled(engine, username, False)
    return user


def forget_bench_decisions(engine, usernames: list[str]) -> int:
    with engine.begin() as conn:
        done = conn.execute(
            delete(steward_decisions).where(steward_decisions.c.steward.in_(usernames))
        )
    return int(done.rowcount or 0)


class Plan:
    """What one user's requests look at, drawn from the desk's own snapshot."""

    def __init__(self, snap, user: accounts.User, reps: int, unit: str) -> None:
        scoped = snap.scoped(user.prefix)
        open_rows = scoped.loc[scoped["status"].isin(OPEN_STATUSES)]
        self.queue_rows = len(open_rows)
        ordered = open_rows.sort_values(
            ["units_with_same_name", "name_key", "division_code", "source_file", "source_row"],
            ascending=[False, True, True, True, True],
            kind="stable",
        )
        # Rows no bench decision reaches yet: row pages, row decisions (from the end of the
        # queue) and scope-all decisions (the names most units share, from the start).
        undecided = ordered.loc[ordered["eff_id"].isna()]
        self.view_rows = undecided["row_id"].head(reps).tolist()
        names = undecided.drop_duplicates("name_key")
        self.all_rows = names["row_id"].head(reps).tolist()
        taken = set(names["name_key"].head(reps))
        rest = undecided.loc[~undecided["name_key"].isin(taken)].drop_duplicates("name_key")
        self.row_rows = rest["row_id"].tail(reps).tolist()
        pages = max((len(open_rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        self.deep_page = min(DEEP_PAGE, pages)
        # Three facets, each the most common value among the rows the previous ones leave.
        self.facets: dict[str, str] = {}
        narrowed = open_rows
        for param, column in (("status", "status"), ("level", "level"), ("score", "score_band")):
            counts = narrowed[column].dropna().value_counts()
            if len(counts):
                self.facets[param] = str(counts.index[0])
                narrowed = narrowed.loc[narrowed[column] == counts.index[0]]
        first = ordered["item_name"].dropna().head(1).tolist()
        self.q = first[0][:2] if first else "许可"
        self.unit = unit


# --- timing --------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.samples: dict[tuple[str, str], list[float]] = {}
        self.handler: dict[tuple[str, str], list[float]] = {}
        self.statuses: dict[tuple[str, str], list[int]] = {}
        self.failures: list[str] = []

    def call(self, who: str, what: str, send: Callable, expect: int):
        t = time.perf_counter()
        try:
            response = send()
        except Exception as e:  # a server error: TestClient re-raises the handler's exception
            ms = (time.perf_counter() - t) * 1000
            self.samples.setdefault((who, what), []).append(ms)
            self.statuses.setdefault((who, what), []).append(500)
            self.failures.append(f"{who} {what}: {type(e).__name__}: {e}")
            return None
        ms = (time.perf_counter() - t) * 1000
        self.samples.setdefault((who, what), []).append(ms)
        self.statuses.setdefault((who, what), []).append(response.status_code)
        if response.status_code != expect:
            self.failures.append(
                f"{who} {what}: status {response.status_code} (expected {expect}) "
                f"{response.text[:300]!r}"
            )
        found = HANDLER_MS.search(response.text) if response.status_code == 200 else None
        if found and what.startswith("queue"):
            self.handler.setdefault((who, what), []).append(float(found.group(1)))
        return response

    def table(self) -> list[dict]:
        out = []
        for (who, what), ms in self.samples.items():
            handler = self.handler.get((who, what), [])
            out.append(
                {
                    "user": who,
                    "request": what,
                    "n": len(ms),
                    "min_ms": round(min(ms), 1),
                    "median_ms": round(statistics.median(ms), 1),
                    "max_ms": round(max(ms), 1),
                    "handler_median_ms": round(statistics.median(handler), 1) if handler else None,
                    "statuses": sorted(set(self.statuses[(who, what)])),
                }
            )
        return out


def login(client: TestClient, rec: Recorder, who: str, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    form = {
        "username": username,
        "password": PASSWORD,
        "csrf": token.group(1) if token else "",
        "next": "/queue",
    }
    rec.call(
        who,
        "login (POST, Argon2)",
        lambda: client.post("/login", data=form, follow_redirects=False),
        303,
    )


def csrf(client: TestClient) -> str:
    """The session's CSRF token (every page shows it; the login form is the simplest)."""
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def measure_user(
    app, rec: Recorder, who: str, user: accounts.User, unit: str, reps: int, engine
) -> dict:
    snap = app.state.data.snapshot()
    plan = Plan(snap, user, reps, unit=unit)
    with TestClient(app) as client:
        login(client, rec, who, user.username)
        token = csrf(client)

        def get(what: str, url: str) -> None:
            rec.call(who, what, lambda: client.get(url, follow_redirects=False), 200)

        def decide(what: str, row_id: str, scope: str) -> None:
            form = {
                "csrf": token,
                "row_id": row_id,
                "action": "local",
                "scope": scope,
                "business_code": "",
                "reason": "bench",
                "back": "/queue",
            }
            before = _decisions(engine)
            rec.call(
                who, what, lambda: client.post("/decide", data=form, follow_redirects=False), 303
            )
            if _decisions(engine) == before:
                rec.failures.append(f"{who} {what}: no decision was recorded for {row_id}")

        facet_query = "&".join(f"{k}={v}" for k, v in plan.facets.items())
        for i in range(reps):
            get("queue page 1", "/queue")
            get(f"queue {'+'.join(plan.facets)}", "/queue?" + facet_query)
            get(f"queue deep page ({plan.deep_page})", f"/queue?page={plan.deep_page}")
            get(f"queue q={plan.q}", f"/queue?q={plan.q}")
            if i < len(plan.view_rows):
                get("row page", f"/row?id={plan.view_rows[i]}")
            if i < len(plan.row_rows):
                decide("POST /decide scope=row", plan.row_rows[i], "row")
                get("queue after decide row", "/queue")
            if i < len(plan.all_rows):
                decide("POST /decide scope=all", plan.all_rows[i], "all")
                get("queue after decide all", "/queue")
            get("history", "/history")
            get("issues (scope)", "/issues")
            get("issues.xlsx (one unit)", f"/issues.xlsx?unit={plan.unit}")
            get("stats", "/stats")
    return {
        "username": user.username,
        "division_code": user.division_code,
        "prefix": user.prefix,
        "queue_rows": plan.queue_rows,
        "facets": plan.facets,
        "deep_page": plan.deep_page,
        "q": plan.q,
        "xlsx_unit": plan.unit,
    }


def _decisions(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(steward_decisions)).scalar() or 0)


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=500_000, help="target number of list rows")
    ap.add_argument("--small", action="store_true", help="CI size: ~20,000 rows, 2 repetitions")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of every request")
    ap.add_argument(
        "--out", type=Path, default=None, help="where to generate (default: a temp dir, removed)"
    )
    ap.add_argument(
        "--database-url",
        default=None,
        help="the desk's database (default: sqlite:///OUT/desk.db); with --reuse, an already "
        "published database is used as it is",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="skip publishing when the database already holds a publication, and generating "
        "when --out already holds a province",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    if args.small:
        args.rows, args.reps = 20_000, min(args.reps, 2)

    out = args.out or Path(tempfile.mkdtemp(prefix="shixiang-desk-bench-"))
    url = args.database_url or f"sqlite:///{out / 'desk.db'}"
    results: dict[str, object] = {"database": safe_url(url), "reps": args.reps}
    try:
        if args.reuse and published(url):
            print(f"reusing the library published in {safe_url(url)}", flush=True)
            results["reused"] = True
        else:
            generated = (out / "catalogue").is_dir()
            if generated and not args.reuse:
                print(
                    f"{out} already holds a province: add --reuse, or another --out",
                    file=sys.stderr,
                )
                return 2
            if not generate_and_publish(out, args.rows, url, results, generate=not generated):
                return 1
        code = run(url, args.reps, results)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return code


def run(url: str, reps: int, results: dict) -> int:
    engine = make_engine(url)
    accounts.ensure_desk_schema(engine)
    total, open_rows, per_code = library_counts(engine)
    county, township = pick_units(per_code)
    users = {
        "province": ensure_user(engine, "bench_province", PROVINCE, None),
        "county": ensure_user(engine, f"bench_county_{county}", UNIT, county),
        "township": ensure_user(engine, f"bench_township_{township}", UNIT, township),
    }
    names = [u.username for u in users.values()]
    forgotten = forget_bench_decisions(engine, names)
    results.update(
        library_rows=total,
        queue_rows=open_rows,
        units=len(per_code),
        county=county,
        township=township,
        earlier_bench_decisions_deleted=forgotten,
    )
    print(
        f"library {total:,} rows, queue {open_rows:,} rows (review or unmatched), "
        f"{len(per_code):,} units; county {county}, township {township}",
        flush=True,
    )

    gc.collect()
    results["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    results["rss_before_desk_mib"] = round(rss_mib())
    t = time.perf_counter()
    snap = DeskData(engine).snapshot()
    results["snapshot_build_s"] = round(time.perf_counter() - t, 2)
    results["snapshot_rows"] = len(snap.rows) if snap is not None else 0
    del snap
    gc.collect()
    print(
        f"snapshot: {results['snapshot_rows']:,} rows in {results['snapshot_build_s']} s",
        flush=True,
    )

    rec = Recorder()
    # The first request after the desk starts builds the snapshot: a new app each time.
    for _ in range(reps):
        app = create_app(url, secret=SECRET)
        with TestClient(app) as client:
            login(client, rec, "province", users["province"].username)
            rec.call(
                "province",
                "first request (builds snapshot)",
                lambda client=client: client.get("/queue", follow_redirects=False),
                200,
            )
        app.state.engine.dispose()
        del app, client
        gc.collect()

    app = create_app(url, secret=SECRET)
    plans = {}
    try:
        for who, user in users.items():
            # The workbook of one unit: the user's own; the county's for the province role.
            unit = user.division_code or county
            plans[who] = measure_user(app, rec, who, user, unit, reps, engine)
    finally:
        results["bench_decisions_deleted"] = forget_bench_decisions(engine, names)
        app.state.engine.dispose()
    results["peak_rss_mib"] = round(rss_mib())
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["users"] = plans
    table = rec.table()
    results["requests"] = table
    results["failures"] = rec.failures
    results["over_target"] = [
        f"{r['user']} {r['request']}"
        for r in table
        if r["median_ms"] > TARGET_MS and not r["request"].startswith(("first request", "login"))
    ]
    results["ok"] = not rec.failures
    print_table(results, table)
    engine.dispose()
    return 0 if results["ok"] else 1


def print_table(results: dict, table: list[dict]) -> None:
    print(
        f"\nwall time per request (ms) over {results['reps']} repetitions; TestClient in process; "
        f"'handler' = the queue's own 本页 figure"
    )
    header = f"{'user':9} {'request':34} {'min':>8} {'median':>8} {'max':>8} {'handler':>8}  status"
    print(header)
    print("-" * len(header))
    for r in table:
        handler = "" if r["handler_median_ms"] is None else f"{r['handler_median_ms']:.0f}"
        print(
            f"{r['user']:9} {r['request'][:34]:34} {r['min_ms']:8.1f} {r['median_ms']:8.1f} "
            f"{r['max_ms']:8.1f} {handler:>8}  {','.join(map(str, r['statuses']))}"
        )
    print(
        f"\nlibrary {results['library_rows']:,} rows; queue {results['queue_rows']:,} rows; "
        f"snapshot {results['snapshot_rows']:,} rows built in {results['snapshot_build_s']} s; "
        f"peak RSS of the desk process {results['peak_rss_mib']} MiB "
        f"(before the desk: {results['rss_before_desk_mib']} MiB); load average (1, 5, 15 min) "
        f"{results['load_average_before']} before, {results['load_average_after']} after"
    )
    for who, plan in results["users"].items():
        print(
            f"  {who}: {plan['username']} (prefix {plan['prefix'] or '—'}), "
            f"{plan['queue_rows']:,} queue rows; facets {plan['facets']}; q={plan['q']}"
        )
    if results["over_target"]:
        print(f"median over {TARGET_MS:.0f} ms: " + "; ".join(results["over_target"]))
    for f in results["failures"]:
        print("FAILED", f)


if __name__ == "__main__":
    sys.exit(main())
