"""The library database: engines, the one-transaction publish, reading tables, decisions.

The tables themselves (columns and types) are defined in :mod:`shixiang.tables`.

SQLite (default, a file under ``var/``) and PostgreSQL are both supported through SQLAlchemy 2.
``publish`` replaces the contents of every output table inside one transaction: a reader sees
either the previous library or the new one, never a mix, and a failure leaves the previous one.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import (
    Engine,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.schema import CreateIndex

from shixiang.perf import gc_paused
from shixiang.tables import (
    OUTPUT_INDEXES,
    OUTPUT_TABLES,
    PARTITION_COLUMN,
    READABLE_TABLES,
    input_files,
    metadata,
    publications,
    steward_decisions,
)

DEFAULT_DATABASE_URL = "sqlite:///var/shixiang.db"
SQLITE_WRITE_WAIT_SECONDS = 600
# The page size of a new SQLite library (SQLite's largest; its default is 4 KiB). A library row
# is ~1.1 KB: at 4 KiB three fit a page with a fifth of it unused, and a publish writes every
# page twice (WAL, then checkpoint). 64 KiB pages, bench/publish.py medians on 500k rows: into
# a new file 9.0 -> 7.7 s (commit and checkpoint 2.4 -> 1.2 s), over the library 9.8 -> 8.7 s;
# the file 702 -> 642 MiB. An existing file keeps its page size (SQLite changes it only by a
# VACUUM outside WAL mode; README, "Tables").
SQLITE_PAGE_SIZE = 65_536


def make_engine(url: str = DEFAULT_DATABASE_URL) -> Engine:
    """Engine for ``url``; creates the parent folder of a SQLite file and turns on WAL so that
    readers keep reading the previous library while a publish is writing."""
    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            # before anything creates the file's first page; a no-op on an existing database
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
            cur.execute("PRAGMA journal_mode=WAL")
            # A writer waits for the one writing (readers never wait, in WAL): prefectures'
            # publishes queue up here, and one of 100,000 rows holds the lock for tens of
            # seconds on a busy machine (30 s made a waiting publish fail).
            cur.execute(f"PRAGMA busy_timeout={SQLITE_WRITE_WAIT_SECONDS * 1000}")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
            cur.close()

    return engine


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases, in-memory ones and
    ``file:`` URIs, whose path SQLite resolves itself)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or parsed.query.get("uri") in ("true", "1"):
        return None
    return Path(database)


def ensure_schema(engine: Engine) -> None:
    """Create missing tables; on PostgreSQL also widen text columns a previous version declared
    ``varchar(n)`` (see ``_widen_text_columns``)."""
    try:
        metadata.create_all(engine, checkfirst=True)
    except DBAPIError:
        # Two runs (two prefectures) creating a new database at once: the other one created a
        # table between our check and our CREATE. Checking again finds it.
        metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            _widen_text_columns(conn)
        for index in OUTPUT_INDEXES:  # a database published by an earlier version has none
            conn.execute(CreateIndex(index, if_not_exists=True))


def _widen_text_columns(conn) -> None:
    """Migration: ``ALTER … TYPE text`` every column this version declares ``Text`` that the
    database holds as ``varchar(n)``. Earlier versions declared most output columns
    ``varchar(500)`` and PostgreSQL, unlike SQLite, enforces the length: a long 设定依据 stopped
    the publish. Idempotent: once migrated, one catalogue query finds nothing to do.
    varchar → text is binary coercible, so PostgreSQL changes the catalogue without rewriting
    the table; the data (steward decisions included) is kept."""
    wanted = {
        (table.name, column.name)
        for table in metadata.tables.values()
        for column in table.columns
        if type(column.type) is Text
    }
    narrow = conn.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND data_type = 'character varying'"
            " AND table_name = ANY(:tables)"
        ),
        {"tables": sorted(metadata.tables)},
    ).all()
    for table_name, column_name in narrow:
        if (table_name, column_name) in wanted:
            conn.exec_driver_sql(
                f'ALTER TABLE "{table_name}" ALTER COLUMN "{column_name}" TYPE text'
            )


def _without_nul(values: np.ndarray) -> np.ndarray:
    """``values`` (distinct values of a text column) with NUL characters removed: PostgreSQL
    text cannot hold U+0000 and SQLite would keep it, so both get the cell without it.

    Cheap when there is none, which is nearly always: one substring test per distinct value of
    the batch (~40 ms for 500,000 distinct 60-character names), no copy."""
    try:
        present = any("\x00" in v for v in values)
    except TypeError:  # a number or other non-text value among them
        present = any(isinstance(v, str) and "\x00" in v for v in values)
    if not present:
        return values
    return np.array(
        [v.replace("\x00", "") if isinstance(v, str) else v for v in values], dtype=object
    )


# How the SQLite path writes a missing value: Python's sqlite3 binds None only after looking for
# an adapter (a failed attribute lookup that formats an exception message, ~0.7 µs a cell: a
# 500k-row library has 2.3 million missing cells, 1.3–2 s). A float NaN is bound as a number, and
# SQLite, which has no NaN, stores it as NULL: the same cell.
_SQLITE_NULL = float("nan")


def _python_columns(
    frame: pd.DataFrame, table: Table, columns: list[str], missing: object
) -> list[list]:
    """The columns of ``frame`` as lists of builtin Python values, ``missing`` for a missing one.

    One vectorised call per column. Text columns are factorised first, so a value repeated on
    many rows (a level, a status, an explanation) is one Python string shared by those rows:
    fewer objects to build, and the driver encodes each distinct string to UTF-8 once (SQLite
    insert of 500k library rows 8-9 s -> 6-7.5 s). NUL characters are removed from those
    distinct values (the same cells on both backends; see ``_without_nul``)."""
    values = []
    for col in columns:
        s = frame[col]
        kind = table.c[col].type.python_type
        if kind is int:
            if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":  # nothing missing
                values.append(s.tolist())
                continue
            s = pd.to_numeric(s, errors="coerce").astype("Int64")
            values.append(s.to_numpy(dtype=object, na_value=missing).tolist())
        elif kind is float:
            s = pd.to_numeric(s, errors="coerce").astype("float64")
            values.append(s.to_numpy(dtype=object, na_value=missing).tolist())
        else:
            codes, uniques = pd.factorize(s)  # a missing value gets code -1: ``missing``, last
            shared = np.empty(len(uniques) + 1, dtype=object)
            shared[: len(uniques)] = _without_nul(np.asarray(uniques, dtype=object))
            shared[-1] = missing
            values.append(shared[codes].tolist())
    return values


def _insert_frame(conn, table: Table, frame: pd.DataFrame, batch_size: int) -> None:
    """Bulk insert inside the caller's transaction, on the driver's cursor (SQLAlchemy's
    per-row handling costs more than the database on 500k rows): COPY on PostgreSQL,
    executemany on SQLite. Rows are converted to Python values one batch at a time to bound
    memory, and handed over as an iterator: the driver takes a row and drops it, so ``zip``
    reuses one tuple instead of building one per row (~1 s for 500k rows)."""
    columns = [c.name for c in table.columns if c.name in frame.columns]
    quoted = ", ".join(f'"{c}"' for c in columns)
    batches = (frame.iloc[i : i + batch_size] for i in range(0, len(frame), batch_size))
    cur = conn.connection.driver_connection.cursor()
    with closing(cur), gc_paused():  # hundreds of thousands of new objects, no cycles among them
        if conn.dialect.name == "postgresql":
            types = _binary_copy_types(conn, table, frame, columns)
            binary = " (FORMAT binary)" if types else ""
            with cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN{binary}') as copy:
                if types:
                    copy.set_types(types)
                for batch in batches:
                    for row in zip(*_python_columns(batch, table, columns, None), strict=True):
                        copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'
            for batch in batches:
                rows = zip(*_python_columns(batch, table, columns, _SQLITE_NULL), strict=True)
                cur.executemany(sql, rows)


# COPY's binary format: PostgreSQL takes the values as they are instead of parsing text, and
# psycopg writes them with less work (a 500k library's publish into a new database: 14.8 s ->
# 11.9 s, 2.8 s less CPU here). Each value must have exactly the column's type: these, from
# tables.py (ensure_schema widens the varchar columns of older versions to text).
_BINARY_COPY_TYPES = {int: "integer", float: "double precision", str: "text"}
_INTEGER_RANGE = (-(2**31), 2**31 - 1)


def _binary_copy_types(conn, table: Table, frame: pd.DataFrame, columns: list[str]) -> list | None:
    """The column types to COPY ``frame[columns]`` in binary; None to COPY it as text, as
    before, where binary would store something else or fail: a column of another type in the
    database than tables.py declares (a table made by hand), a text column holding values other
    than text (the text format writes them as text), an integer out of ``integer``'s range
    (psycopg's binary dumper would wrap it around; in text PostgreSQL refuses it)."""
    declared = [_BINARY_COPY_TYPES[table.c[c].type.python_type] for c in columns]
    in_database = dict(
        conn.execute(
            text(
                "SELECT attname, atttypid::regtype::text FROM pg_attribute"
                " WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 AND NOT attisdropped"
            ),
            {"table": f'"{table.name}"'},
        ).all()
    )
    if [in_database.get(c) for c in columns] != declared:
        return None
    for col, kind in zip(columns, declared, strict=True):
        values = frame[col]
        if isinstance(values.dtype, pd.CategoricalDtype):  # its distinct values decide
            values = pd.Series(values.cat.categories)
        if kind == "text":
            if pd.api.types.infer_dtype(values, skipna=True) != "string" and values.notna().any():
                return None
        elif kind == "integer":
            values = pd.to_numeric(values, errors="coerce")
            low, high = _INTEGER_RANGE
            if values.notna().any() and not (low <= values.min() and values.max() <= high):
                return None
    return declared


def _kind(sql_type) -> str:
    """int, float or str: what a column holds, whatever the backend calls its type."""
    try:
        kind = sql_type.python_type
    except NotImplementedError:
        return "str"
    return kind.__name__ if kind in (int, float) else "str"


def _sync_output_schema(conn) -> None:
    """Output tables are rebuilt by every publish, so one whose columns differ from this
    version's contract (an older shixiang wrote it: other names, or a column of another kind,
    such as ``decision_id`` held as text) is dropped and re-created, inside the publish
    transaction. Steward decisions are never touched."""
    inspector = inspect(conn)
    for table in OUTPUT_TABLES.values():
        existing = {c["name"]: _kind(c["type"]) for c in inspector.get_columns(table.name)}
        if existing != {c.name: _kind(c.type) for c in table.columns}:
            table.drop(conn, checkfirst=True)
            table.create(conn)


def publish(
    engine: Engine,
    tables: Mapping[str, pd.DataFrame],
    *,
    partitions: Collection[str] | None = None,
    run_id: str | None = None,
    data_dir: str | None = None,
    summary: Mapping | None = None,
    batch_size: int = 50_000,
) -> None:
    """Publish the output tables in ONE transaction.

    With ``partitions`` None every output table is replaced. Otherwise only the slices of those
    partitions (rows whose ``partition_key`` is one of them, plus the rows of the whole
    province, whose key is empty) are replaced and the other partitions' rows stay; the views
    that span partitions (reuse_stats' level rows, review_queue's units_with_same_name) are
    then computed again from the published tables, inside the same transaction. Publishes are
    serialised (a lock on PostgreSQL, SQLite's single writer), so two partitions publishing at
    once each see the other's slice, committed, before computing those views."""
    unknown = set(tables) - set(OUTPUT_TABLES)
    if unknown:
        raise ValueError(f"unknown output tables: {sorted(unknown)}")
    ensure_schema(engine)
    with engine.connect() as conn, _publish_transaction(conn):
        _sync_output_schema(conn)
        if partitions is None:
            _replace_all(conn, tables, batch_size)
        else:
            _replace_slices(conn, tables, sorted(partitions), batch_size)
        conn.execute(
            insert(publications),
            {
                "published_at": datetime.now(UTC),
                "run_id": run_id,
                "data_dir": data_dir,
                "summary": json.dumps(summary or {}, ensure_ascii=False, default=str),
            },
        )
    if engine.dialect.name == "sqlite":
        _empty_wal(engine)


def _empty_wal(engine: Engine) -> None:
    """Empty the SQLite WAL file once the publish is in the database file.

    A publish writes the whole library through the WAL. SQLite copies it into the database
    file at the commit but keeps the WAL file at its size (673 MB beside a 683 MB library of
    500,000 rows) until every connection is closed, which a run's pooled connections never are;
    the next process to open the library then reads it to rebuild the WAL's index (0.17 s).
    A checkpoint in TRUNCATE mode empties it (0.18 s there). It does not wait (busy timeout 0):
    with a reader still on an older snapshot (the desk) or another publish writing, the WAL
    stays until a later publish. The publish is committed already: nothing here can fail it."""
    import sqlite3

    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            (waits,) = raw.execute("PRAGMA busy_timeout").fetchone()  # the pool's, restored
            raw.execute("PRAGMA busy_timeout=0")
            try:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                raw.execute(f"PRAGMA busy_timeout={int(waits)}")
    except sqlite3.Error:
        pass


# Any constant: the PostgreSQL advisory lock every publish holds until it commits.
_PUBLISH_LOCK = 0x5158_5055  # "SXPU"


@contextmanager
def _publish_transaction(conn) -> Iterator[None]:
    """The publish's one transaction on ``conn``: committed when the block ends, rolled back
    if it raises (or never committed, if the process is killed).

    SQLite: an explicit ``BEGIN IMMEDIATE``. Python's sqlite3 driver opens a transaction by
    itself only before an INSERT, UPDATE or DELETE, so the DROP INDEX / DROP TABLE that come
    first used to run and commit on their own. IMMEDIATE also takes the write lock at once
    (waiting for another publish up to the busy timeout) instead of on the first write.
    PostgreSQL: an advisory lock serialises publishes (see ``publish``)."""
    with conn.begin():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK})
        yield


def _replace_all(conn, tables: Mapping[str, pd.DataFrame], batch_size: int) -> None:
    for index in OUTPUT_INDEXES:  # rebuilt once below instead of row by row
        index.drop(conn, checkfirst=True)
    for name, table in OUTPUT_TABLES.items():
        conn.execute(table.delete())
        frame = tables.get(name)
        if frame is None or frame.empty:
            continue
        _insert_frame(conn, table, frame, batch_size)
    for index in OUTPUT_INDEXES:
        index.create(conn)


def _replace_slices(
    conn, tables: Mapping[str, pd.DataFrame], keys: list[str], batch_size: int
) -> None:
    for name, table in OUTPUT_TABLES.items():
        frame = tables.get(name)
        if PARTITION_COLUMN not in table.c:  # the catalogue: one for the whole province
            conn.execute(table.delete())
        else:
            column = table.c[PARTITION_COLUMN]
            conn.execute(table.delete().where(column.in_(keys) | column.is_(None)))
            if name == "reuse_stats" and frame is not None:
                frame = frame.loc[frame["scope"] != "level"]  # computed below, for all slices
        if frame is not None and not frame.empty:
            _insert_frame(conn, table, frame, batch_size)
    _refresh_province_views(conn)


def _refresh_province_views(conn) -> None:
    """The rows that span partitions, from what is published now: reuse_stats per level (sums
    of its unit rows) and review_queue's units_with_same_name (only rows whose count changed
    are written)."""
    from shixiang.library import level_stats, units_with_same_name  # pure pandas

    stats = OUTPUT_TABLES["reuse_stats"]
    units = pd.read_sql(select(stats).where(stats.c.scope == "unit"), conn)
    _insert_frame(conn, stats, level_stats(units), 50_000)

    queue = OUTPUT_TABLES["review_queue"]
    rows = pd.read_sql(
        select(
            queue.c.name_key, queue.c.division_code, queue.c.agency, queue.c.units_with_same_name
        ),
        conn,
    )
    if rows.empty:
        return
    # One UPDATE per name whose count changed (on the name_key index): a name is shared by
    # many rows, and an UPDATE per row took minutes at 800,000 rows.
    rows["now"] = units_with_same_name(rows)
    differs = rows.loc[rows["now"].ne(rows["units_with_same_name"])]
    changed = differs.drop_duplicates("name_key")
    if len(changed):
        conn.execute(
            queue.update()
            .where(queue.c.name_key == bindparam("k"))
            .values(units_with_same_name=bindparam("n")),
            [
                {"k": k, "n": int(n)}
                for k, n in zip(changed["name_key"], changed["now"], strict=True)
            ],
        )


def read_table(engine: Engine, name: str) -> pd.DataFrame:
    if name not in READABLE_TABLES:
        raise ValueError(f"unknown table {name!r}; tables: {', '.join(READABLE_TABLES)}")
    table = READABLE_TABLES[name]
    with engine.connect() as conn:
        return pd.read_sql(select(table), conn)


def read_columns(
    engine: Engine, name: str, columns: list[str], *, partitions: Collection[str] | None = None
) -> pd.DataFrame | None:
    """Some columns of a published output table (of the rows of ``partitions`` only, when
    given); None when nothing was published yet (the table is missing or lacks a column: a
    database of an older version)."""
    table = OUTPUT_TABLES[name]
    with engine.connect() as conn:
        inspector = inspect(conn)
        if not inspector.has_table(name):
            return None
        if not set(columns) <= {c["name"] for c in inspector.get_columns(name)}:
            return None
        stmt = select(*(table.c[c] for c in columns))
        if partitions is not None:
            stmt = stmt.where(table.c[PARTITION_COLUMN].in_(sorted(partitions)))
        if conn.dialect.name != "sqlite":
            return pd.read_sql(stmt, conn)
        # The driver's tuples straight into frames: pandas.read_sql goes through SQLAlchemy's
        # Row objects, 4.1 s instead of 2.8 s for 8 columns of 500k rows. A batch at a time,
        # each converted to the columns' types before the next is fetched: the rows as Python
        # tuples and strings take ~5 times the memory of the frame (+400 MB at 500k rows).
        compiled = stmt.compile(conn, compile_kwargs={"render_postcompile": True})
        params = [compiled.params[p] for p in compiled.positiontup or ()]
        text_columns = [c for c in columns if table.c[c].type.python_type is str]
        frames = []
        with closing(conn.connection.driver_connection.cursor()) as cur:
            cur.execute(str(compiled), params)
            while rows := cur.fetchmany(_READ_BATCH):
                frame = pd.DataFrame(rows, columns=columns)
                frames.append(frame.astype(dict.fromkeys(text_columns, "str")))
        if not frames:
            return pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(text_columns, "str"))
        return pd.concat(frames, ignore_index=True)


_READ_BATCH = 50_000  # rows of read_columns per fetch on SQLite


def count_rows(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(OUTPUT_TABLES[name])).scalar_one())


# --- which partition each input file belongs to (the logic is in shixiang/partitions.py) ---------


def read_file_index(engine: Engine) -> dict[str, tuple[int, int, str | None]]:
    """``source_file → (size, mtime_ns, partition_key)`` as last stored (empty at first).
    Only reads: it never waits for another run's publish."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(input_files.name):
            return {}
        rows = conn.execute(select(input_files)).all()
    return {r.source_file: (int(r.size), int(r.mtime_ns), r.partition_key) for r in rows}


def save_file_index(engine: Engine, entries: Iterable[tuple[str, int, int, str | None]]) -> None:
    """Store ``(source_file, size, mtime_ns, partition_key)`` entries, replacing those of the
    same files (several runs may store the same file at once: the last one wins)."""
    rows = [
        {"source_file": f, "size": size, "mtime_ns": mtime, "partition_key": key}
        for f, size, mtime, key in entries
    ]
    if not rows:
        return
    ensure_schema(engine)
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(input_files)
    stmt = stmt.on_conflict_do_update(
        index_elements=[input_files.c.source_file],
        set_={c: stmt.excluded[c] for c in ("size", "mtime_ns", "partition_key")},
    )
    with engine.begin() as conn:
        for start in range(0, len(rows), 5_000):
            conn.execute(stmt, rows[start : start + 5_000])


# --- steward decisions (the logic is in shixiang/decisions.py) ---------------------------------


def record_decisions(engine: Engine, decisions: Iterable) -> int:
    """Append decisions (:class:`shixiang.decisions.Decision`) in one transaction, all or none;
    returns how many were written. A scope-``all`` decision is stored without a unit."""
    rows = [asdict(d) for d in decisions]
    if not rows:
        return 0
    for r in rows:
        if r["scope"] == "all":
            r["division_code"] = None
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(insert(steward_decisions), rows)
    return len(rows)


def latest_decision_id(engine: Engine) -> int:
    """The id of the newest decision (0 when none): the decisions sensor's cursor."""
    ensure_schema(engine)
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(steward_decisions.c.id))).scalar() or 0)


def read_decisions(engine: Engine) -> pd.DataFrame:
    """Every recorded decision, oldest first."""
    ensure_schema(engine)
    with engine.connect() as conn:
        return decisions_frame(conn)


def decisions_frame(conn) -> pd.DataFrame:
    """Every recorded decision, oldest first, on an open connection (the table exists)."""
    return pd.read_sql(select(steward_decisions).order_by(steward_decisions.c.id), conn)


def safe_url(url: str) -> str:
    """The URL with any password hidden, for logs and metadata."""
    return make_url(url).render_as_string(hide_password=True)


class DatabaseProblem(Exception):
    """The database URL cannot be used; the message is one Chinese line that names why."""


_URL_FORM = "应形如 sqlite:///var/shixiang.db 或 postgresql+psycopg://用户@主机:5432/数据库名"


def check_database(url: str, *, write: bool = True, timeout: int = 5) -> None:
    """Check ``url`` before a command uses it: the URL parses, its driver is installed, a
    connection opens (within ``timeout`` seconds), and — with ``write`` — the database accepts
    writes. Raises ``DatabaseProblem`` with one Chinese line (格式不正确, 无法连接, 数据库不存在,
    数据库文件只读 …). A SQLite file that does not exist yet is fine when writing (the command
    creates it) and a problem when only reading."""
    from sqlalchemy.exc import DBAPIError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseProblem(f"数据库地址格式不正确：“{url}”（{_URL_FORM}）") from None
    shown = url if parsed.password is None else parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    file = _sqlite_file(url)
    if file is not None and not _check_sqlite_file(file, write=write):
        return  # a new file: the command creates it
    connect_args: dict = {}
    if backend == "sqlite":
        connect_args["timeout"] = 1
    elif backend == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = timeout
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except NoSuchModuleError:
        raise DatabaseProblem(
            f"数据库地址格式不正确：不支持的数据库类型“{parsed.drivername}”（{_URL_FORM}）"
        ) from None
    except ImportError as exc:
        raise DatabaseProblem(
            f"缺少数据库驱动 {exc.name or parsed.drivername}：{shown}"
            "（PostgreSQL 请用 postgresql+psycopg://…）"
        ) from None
    try:
        with engine.connect() as conn:
            if backend == "sqlite":
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
                if write:
                    _probe_sqlite_write(conn.connection.driver_connection, shown)
            elif (
                backend == "postgresql"
                and write
                and conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
            ):
                raise DatabaseProblem(f"数据库只读（只读副本或只读事务）：{shown}")
    except DBAPIError as exc:
        raise DatabaseProblem(_explain_connect_error(exc, parsed, shown)) from None
    finally:
        engine.dispose()


def _check_sqlite_file(file: Path, *, write: bool) -> bool:
    """Checks on the file itself (permissions are checked, not only tried: a write to a
    read-only file would otherwise fail deep inside a run). False when it does not exist yet."""
    import os

    if file.is_dir():
        raise DatabaseProblem(f"数据库路径是一个文件夹，不是数据库文件：{file}")
    if not file.exists():
        if not write:
            raise DatabaseProblem(
                f"数据库文件不存在：{file}（请检查 --database-url，或先运行 shixiang run）"
            )
        folder = file.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise DatabaseProblem(f"无法创建数据库文件 {file}：{folder} 不是文件夹")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DatabaseProblem(f"无法创建数据库文件 {file}：文件夹 {folder} 只读（没有写权限）")
        return False
    if not os.access(file, os.R_OK):
        raise DatabaseProblem(f"数据库文件不可读（没有读权限）：{file}")
    if write and not os.access(file, os.W_OK):
        raise DatabaseProblem(f"数据库文件只读：{file}（没有写权限，无法记录或发布）")
    if write and not os.access(file.parent, os.W_OK | os.X_OK):
        raise DatabaseProblem(
            f"数据库文件所在文件夹只读：{file.parent}（SQLite 写入时要在旁边建立日志文件）"
        )
    return True


def _probe_sqlite_write(dbapi_conn, shown: str) -> None:
    """A write that is rolled back: fails on a read-only database (a read-only file, a
    ``mode=ro`` URI, a read-only file system), even where permission bits say nothing (root)."""
    import sqlite3

    try:
        dbapi_conn.execute("BEGIN")
        dbapi_conn.execute('CREATE TABLE main."_shixiang_write_probe" (x)')
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise DatabaseProblem(f"{_sqlite_reason(str(exc))}：{shown}") from None
        # another process is writing (a publish): the database is writable, just busy
    finally:
        dbapi_conn.rollback()


def _sqlite_reason(message: str) -> str:
    if "readonly" in message or "read-only" in message:
        return "数据库文件只读（attempt to write a readonly database），无法记录或发布"
    if "not a database" in message:
        return "这个文件不是 SQLite 数据库"
    if "unable to open" in message:
        return "无法打开数据库文件（路径不存在或没有权限）"
    return f"无法使用数据库：{message.splitlines()[0] if message else '未知错误'}"


def _explain_connect_error(exc: Exception, parsed, shown: str) -> str:
    """One Chinese line for a failed connection."""
    message = str(getattr(exc, "orig", None) or exc)
    lower = message.lower()
    if parsed.get_backend_name() == "sqlite":
        return f"{_sqlite_reason(message)}：{shown}"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if "database" in lower and "does not exist" in lower:
        return f"数据库不存在：{where} 上没有数据库“{parsed.database}”（{shown}）"
    if "role" in lower and "does not exist" in lower:
        return f"无法连接数据库：{where} 上没有用户“{parsed.username}”（{shown}）"
    if "password" in lower or "authentication" in lower:
        return f"无法连接数据库：用户名或密码错误（{shown}）"
    if "resolve host" in lower or "translate host" in lower:
        return f"无法连接数据库：主机名“{parsed.host}”无法解析（{shown}）"
    if "refused" in lower:
        return f"无法连接数据库：{where} 拒绝连接，数据库服务器没有运行或端口不对（{shown}）"
    if "timeout" in lower or "timed out" in lower:
        return f"无法连接数据库：连接 {where} 超时（{shown}）"
    first = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    return f"无法连接数据库 {shown}：{first}"
