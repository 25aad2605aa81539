"""SQLite and PostgreSQL publish the same library from the same frames, whatever the cells hold.

The frames go through ``store.publish`` (what the ``published_library`` asset calls) into a
SQLite file and into the session's PostgreSQL database, are read back with ``store.read_table``
and compared: with each other, and with the input less its NUL characters (PostgreSQL text
cannot hold U+0000, so the store removes it on both backends).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, event, text

from shixiang import decisions as dec
from shixiang import store, tables
from tests.helpers import PG_ADMIN_URL

LONG_BASIS = ("《中华人民共和国行政许可法》第十二条、第十四条；" * 200)[:5000]
LONG_NAME = "关于" + "建设工程规划许可证核发（含临时建设、变更、延续）" * 40
NASTY = [
    LONG_BASIS,
    "食品经营\x00许可（新办）",  # a NUL inside
    "\x00\x00",  # nothing but NULs
    "垂直制表\x0b符与单元分隔\x1f符",
    "换行\r\n与\t制表",
    "社保卡申领😀🏛️（村级）",
    "ＡＢＣ全角１２３（）【】　全角空格",
    LONG_NAME,
    '=HYPERLINK("http://x")',
    "",
    None,
    "普通事项",
]


def _value(table: str, column: str, i: int):
    """A cell of ``table.column`` on row ``i``: numbers for numeric columns, the nasty texts
    in turn (shifted per column, so every column meets every value) for text columns."""
    sql_type = tables.OUTPUT_TABLES[table].c[column].type.python_type
    if sql_type is int:
        return None if i % 7 == 3 else i * 3
    if sql_type is float:
        return None if i % 5 == 4 else i / 3
    if column in ("row_id", "business_code") or i == 0:
        return f"{table}:{i:03d}:{NASTY[i % len(NASTY)] or ''}"  # unique sort key
    return NASTY[(i + len(column)) % len(NASTY)]


def nasty_tables(n: int = 36) -> dict[str, pd.DataFrame]:
    return {
        name: pd.DataFrame(
            {c.name: [_value(name, c.name, i) for i in range(n)] for c in table.columns}
        )
        for name, table in tables.OUTPUT_TABLES.items()
    }


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order whatever order a backend returns them in: sorted on every column (a
    table's first column alone has ties, broken differently by SQLite and PostgreSQL)."""
    return frame.sort_values(
        list(frame.columns), key=lambda s: s.astype(str), kind="stable"
    ).reset_index(drop=True)


def read_all(engine) -> dict[str, pd.DataFrame]:
    return {name: ordered(store.read_table(engine, name)) for name in tables.OUTPUT_TABLES}


def without_nul(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda v: v.replace("\x00", "") if isinstance(v, str) else v)


@pytest.fixture
def sqlite_engine(tmp_path: Path):
    engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(pg_url: str):
    engine = store.make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_both_backends_publish_the_same_library(sqlite_engine, pg_engine) -> None:
    frames = nasty_tables()
    for engine in (sqlite_engine, pg_engine):
        store.publish(engine, frames, run_id="nasty", summary={"note": "含\x00与😀"})
    lite, pg = read_all(sqlite_engine), read_all(pg_engine)
    for name in tables.OUTPUT_TABLES:
        expected = ordered(without_nul(frames[name]))
        assert len(lite[name]) == len(frames[name]), name
        pd.testing.assert_frame_equal(lite[name], pg[name], check_dtype=False, obj=name)
        # nothing but the NULs changed: the long basis, emoji, full-width and control characters
        pd.testing.assert_frame_equal(
            lite[name].astype(object).where(lite[name].notna(), None),
            expected.astype(object).where(expected.notna(), None),
            check_dtype=False,
            obj=name,
        )
    lib = pg["unified_library"]
    assert LONG_BASIS in set(lib["legal_basis"]) and LONG_NAME in set(lib["item_name"])
    assert "垂直制表\x0b符与单元分隔\x1f符" in set(lib["agency"])
    assert not any("\x00" in v for f in pg.values() for v in f.stack() if isinstance(v, str))
    # both publications recorded
    for engine in (sqlite_engine, pg_engine):
        assert store.read_table(engine, "publications")["run_id"].iloc[-1] == "nasty"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_nul_free_frames_are_published_unchanged(backend: str, request, tmp_path: Path) -> None:
    """The NUL cleaning leaves everything else as it was (and the input frame untouched)."""
    if backend == "sqlite":
        engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    else:
        engine = store.make_engine(request.getfixturevalue("pg_url"))
    frame = pd.DataFrame(
        {
            "row_id": ["a:1", "a:2", "a:3"],
            "source_row": [1, 2, 3],
            "item_name": ["甲\x00乙", "丙", None],
            "legal_basis": [LONG_BASIS, "x\x0by", "😀"],
            "score": [100.0, None, 88.5],
        }
    )
    before = frame.copy()
    store.publish(engine, {"unified_library": frame})
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not modified
    back = store.read_table(engine, "unified_library").sort_values("row_id")
    assert back["item_name"].tolist()[:2] == ["甲乙", "丙"] and back["item_name"].isna().iloc[2]
    assert back["legal_basis"].tolist() == [LONG_BASIS, "x\x0by", "😀"]
    assert back["source_row"].tolist() == [1, 2, 3]
    engine.dispose()


def test_nul_cleaning_only_touches_text_with_a_nul() -> None:
    import numpy as np

    values = np.array(["a", "b\x00c", 3, None], dtype=object)
    assert store._without_nul(values).tolist() == ["a", "bc", 3, None]
    clean = np.array(["a", "b"], dtype=object)
    assert store._without_nul(clean) is clean  # no copy when there is nothing to remove


def test_every_text_column_is_unbounded() -> None:
    """No output column has a length limit: PostgreSQL must accept what SQLite accepts."""
    from sqlalchemy import String, Text

    for table in tables.OUTPUT_TABLES.values():
        for column in table.columns:
            if isinstance(column.type, String):
                assert isinstance(column.type, Text), f"{table.name}.{column.name}"
    for name in ("name_key", "item_name", "steward", "source", "business_code"):
        assert isinstance(tables.steward_decisions.c[name].type, Text), name


# --- a database created by the previous version (varchar(500) columns) ---------------------

OLD_VARCHAR = {
    "unified_library": [
        c.name for c in tables.unified_library.columns if c.type.python_type is str
    ],
    "steward_decisions": ["steward", "name_key", "item_name", "business_code", "source"],
}
OLD_LENGTHS = {"steward": 200, "business_code": 100, "source": 50}


@pytest.fixture
def old_pg_url(pg_url: str) -> Iterator[str]:
    """A database of its own, laid out as the previous version created it."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"shixiang_old_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = create_engine(url)
    try:
        tables.metadata.create_all(engine)
        with engine.begin() as conn:
            for table, columns in OLD_VARCHAR.items():
                for column in columns:
                    length = OLD_LENGTHS.get(column, 500)
                    conn.exec_driver_sql(
                        f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE varchar({length})'
                    )
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _column_types(engine, table: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = :t"
            ),
            {"t": table},
        ).all()
    return dict(rows)


@pytest.mark.postgres
def test_an_old_database_is_widened_and_keeps_its_decisions(old_pg_url: str) -> None:
    engine = store.make_engine(old_pg_url)
    assert _column_types(engine, "unified_library")["legal_basis"] == "character varying"
    # a decision recorded by the previous version survives the migration
    with engine.begin() as conn:
        conn.execute(
            tables.steward_decisions.insert(),
            {
                "decided_at": pd.Timestamp.now(tz="UTC").to_pydatetime(),
                "steward": "张三",
                "scope": "row",
                "division_code": "511602000000",
                "name_key": "老年人助餐服务登记",
                "decision": "local",
            },
        )
    frame = pd.DataFrame(
        {"row_id": ["a:1"], "item_name": [LONG_NAME], "legal_basis": [LONG_BASIS + "\x00"]}
    )
    store.publish(engine, {"unified_library": frame})  # varchar(500) would refuse 5,000 chars
    back = store.read_table(engine, "unified_library")
    assert back["legal_basis"].tolist() == [LONG_BASIS] and back["item_name"].tolist() == [
        LONG_NAME
    ]
    for table in ("unified_library", "steward_decisions"):
        types = _column_types(engine, table)
        for column in OLD_VARCHAR[table]:
            assert types[column] == "text", f"{table}.{column}"
    # the short coded columns keep their types
    assert _column_types(engine, "steward_decisions")["scope"] == "character varying"
    hist = store.read_decisions(engine)
    assert hist["name_key"].tolist() == ["老年人助餐服务登记"]
    # a long name can now be decided on
    store.record_decisions(
        engine,
        [
            dec.Decision(
                steward="李四",
                name_key=LONG_NAME,
                decision="local",
                division_code="511602000000",
                item_name=LONG_NAME,
            )
        ],
    )
    assert len(store.read_decisions(engine)) == 2

    # idempotent: once migrated, ensure_schema alters nothing
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    store.ensure_schema(engine)
    store.ensure_schema(engine)
    assert not [s for s in statements if s.lstrip().upper().startswith("ALTER")]
    engine.dispose()
