"""Publishing: one transaction on SQLite and on a real PostgreSQL server."""

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from shixiang import store, tables


def library(n: int, status: str = "matched") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_id": [f"county/a.csv:{i}" for i in range(1, n + 1)],
            "source_file": "county/a.csv",
            "source_row": range(1, n + 1),
            "division_code": "511602000000",
            "level": "county",
            "agency": "广安区行政审批局",
            "item_name": "水产苗种生产审批",
            "status": status,
            "score": 100.0,
            "qc_issue_count": 0,
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path: Path):
    if request.param == "sqlite":
        eng = store.make_engine(f"sqlite:///{tmp_path / 'var' / 'lib.db'}")
    else:
        eng = store.make_engine(request.getfixturevalue("pg_url"))
        store.ensure_schema(eng)
        with eng.begin() as conn:
            for table in tables.OUTPUT_TABLES.values():
                conn.execute(table.delete())
    yield eng
    eng.dispose()


def test_publish_replaces_every_table(engine) -> None:
    store.publish(engine, {"unified_library": library(3)}, run_id="r1")
    store.publish(
        engine,
        {
            "unified_library": library(2, "review"),
            "rejected_files": pd.DataFrame({"source_file": ["x.csv"], "reason": ["文件为空"]}),
        },
        run_id="r2",
    )
    lib = store.read_table(engine, "unified_library")
    assert lib["status"].tolist() == ["review", "review"]
    assert lib["source_row"].tolist() == [1, 2]
    assert store.read_table(engine, "rejected_files")["reason"].tolist() == ["文件为空"]
    assert store.read_table(engine, "publications")["run_id"].tolist()[-2:] == ["r1", "r2"]


def test_a_failed_publish_leaves_the_previous_library(engine) -> None:
    store.publish(engine, {"unified_library": library(3)})
    # The library is written first; the issues table then fails (a value no driver can bind).
    bad_issues = pd.DataFrame({"source_file": ["county/a.csv"], "message": [{"not", "text"}]})
    with pytest.raises(Exception):  # noqa: B017 - whichever driver error
        store.publish(engine, {"unified_library": library(5), "qc_issues": bad_issues})
    assert store.count_rows(engine, "unified_library") == 3


def test_unknown_table_is_refused(engine) -> None:
    with pytest.raises(ValueError, match="unknown output tables"):
        store.publish(engine, {"nope": library(1)})


def test_a_new_sqlite_library_has_large_pages_and_an_old_one_keeps_its_own(tmp_path) -> None:
    import sqlite3

    new = tmp_path / "new.db"
    engine = store.make_engine(f"sqlite:///{new}")
    store.publish(engine, {"unified_library": library(3)})
    engine.dispose()
    with sqlite3.connect(new) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == store.SQLITE_PAGE_SIZE
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    old = tmp_path / "old.db"  # a library of an earlier version: SQLite's default pages
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE t (x)")
    engine = store.make_engine(f"sqlite:///{old}")
    store.publish(engine, {"unified_library": library(3)})
    store.publish(engine, {"unified_library": library(2, "review")})
    assert store.read_table(engine, "unified_library")["status"].tolist() == ["review"] * 2
    engine.dispose()
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_sqlite_publish_leaves_an_empty_wal_and_never_waits_for_a_reader(tmp_path) -> None:
    """The WAL a publish wrote through is emptied once it is in the database file (else the
    next process to open the library reads all of it); a reader on an older snapshot (the desk)
    keeps it, and the publish does not wait for that reader."""
    import sqlite3
    import threading

    db = tmp_path / "lib.db"
    engine = store.make_engine(f"sqlite:///{db}")
    store.publish(engine, {"unified_library": library(3_000)})
    wal = Path(f"{db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert store.count_rows(engine, "unified_library") == 3_000

    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM unified_library").fetchone() == (3_000,)
    done = threading.Event()

    def publish_again() -> None:
        store.publish(engine, {"unified_library": library(2_000, "review")})
        done.set()

    worker = threading.Thread(target=publish_again, daemon=True)
    worker.start()
    worker.join(timeout=120)  # the busy timeout is 600 s: waiting for the reader would show
    assert done.is_set()
    assert reader.execute("SELECT count(*) FROM unified_library").fetchone() == (3_000,)
    reader.execute("COMMIT")
    reader.close()
    assert store.count_rows(engine, "unified_library") == 2_000
    assert wal.stat().st_size > 0  # kept for the reader; the next publish empties it
    store.publish(engine, {"unified_library": library(1_000)})
    assert wal.stat().st_size == 0
    engine.dispose()


@pytest.mark.postgres
def test_a_reader_never_sees_half_a_library_on_postgres(pg_url: str) -> None:
    engine = store.make_engine(pg_url)
    store.publish(engine, {"unified_library": library(100)})
    writer = engine.connect()
    trans = writer.begin()
    writer.execute(tables.unified_library.delete())
    writer.execute(tables.unified_library.insert(), [{"row_id": "x", "status": "review"}])
    with engine.connect() as reader:  # while the writer's transaction is open
        assert reader.execute(text("select count(*) from unified_library")).scalar_one() == 100
    trans.rollback()
    writer.close()
    assert store.count_rows(engine, "unified_library") == 100


# A publish killed with SIGKILL at a point inside its transaction: the child process stops at
# the named function of shixiang.store (before it runs, or after it returned), says so on its
# stdout, and waits to be killed.
_KILLED_PUBLISH = """
import sys, time
import pandas as pd
from shixiang import store

url, point, when = sys.argv[1:4]
original = getattr(store, point)

def stop_here(*args, **kwargs):
    if when == "after":
        original(*args, **kwargs)
    print("stopped", flush=True)
    time.sleep(120)

setattr(store, point, stop_here)
n = 2000
library = pd.DataFrame({
    "row_id": [f"county/b.csv:{i}" for i in range(1, n + 1)],
    "source_file": "county/b.csv", "source_row": range(1, n + 1),
    "level": "county", "item_name": "水产苗种生产审批", "status": "review",
})
store.publish(store.make_engine(url), {"unified_library": library})
"""


def _index_names(engine) -> set[str]:
    from sqlalchemy import inspect

    found = set()
    inspector = inspect(engine)
    for name in tables.OUTPUT_TABLES:
        found |= {ix["name"] for ix in inspector.get_indexes(name)}
    return found


@pytest.mark.parametrize(
    ("point", "when"), [("_insert_frame", "before"), ("_replace_all", "after")]
)
def test_a_publish_killed_midway_leaves_the_previous_library(engine, point, when) -> None:
    import signal
    import subprocess
    import sys

    store.publish(engine, {"unified_library": library(3)}, run_id="before")
    indexes = _index_names(engine)
    assert indexes  # the output tables' indexes exist
    url = engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_PUBLISH, url, point, when],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "stopped"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    lib = store.read_table(engine, "unified_library")
    assert lib["status"].tolist() == ["matched"] * 3
    assert _index_names(engine) == indexes  # no DROP INDEX committed on its own
    assert store.read_table(engine, "publications")["run_id"].tolist()[-1] == "before"
    # The next publish is not blocked by the killed one (its lock went with its connection).
    store.publish(engine, {"unified_library": library(4)}, run_id="after")
    assert store.count_rows(engine, "unified_library") == 4
