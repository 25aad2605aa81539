"""Test data written as real files, shared by the test modules (import from here, not from
conftest: conftest holds the fixtures, this module the plain helpers and constants)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from shixiang.schema import CATALOGUE_COLUMNS, ITEM_COLUMNS

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "sample"
PG_ADMIN_URL = os.environ.get(
    "SHIXIANG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

CATALOGUE_HEADER = [c.header for c in CATALOGUE_COLUMNS]
# Real item names of 广安区 (data/reference/guangan_items.csv), a few expanded into siblings.
CATALOGUE_ROWS = [
    [
        "511A0001000001",
        "511A00010000",
        "食品经营许可",
        "食品经营许可（新办）",
        "行政许可",
        "省级、市级、县级",
        "《中华人民共和国食品安全法》第三十五条",
        "市场监管局",
        "承诺件",
        "20",
    ],
    [
        "511A0001000002",
        "511A00010000",
        "食品经营许可",
        "食品经营许可（变更）",
        "行政许可",
        "省级、市级、县级",
        "《中华人民共和国食品安全法》第三十五条",
        "市场监管局",
        "承诺件",
        "20",
    ],
    [
        "511A0001000003",
        "511A00010000",
        "食品经营许可",
        "食品经营许可（注销）",
        "行政许可",
        "省级、市级、县级",
        "《中华人民共和国食品安全法》第三十五条",
        "市场监管局",
        "承诺件",
        "20",
    ],
    [
        "511A0002000001",
        "511A00020000",
        "建设工程规划许可证核发",
        "建设工程规划许可证核发",
        "行政许可",
        "市级、县级",
        "《中华人民共和国城乡规划法》第四十条",
        "自然资源局",
        "承诺件",
        "20",
    ],
    [
        "512B0070200003",
        "512B00702000",
        "社会保障卡申领",
        "社会保障卡申领",
        "公共服务",
        "县级、镇（乡、街道）级、村（社区）级",
        "",
        "人社局",
        "即办件",
        "1",
    ],
    [
        "511F0127400001",
        "511F01274000",
        "户口登记",
        "户口恢复",
        "行政确认",
        "县级",
        "《中华人民共和国户口登记条例》",
        "公安局",
        "承诺件",
        "10",
    ],
    [
        "511F0127400002",
        "511F01274000",
        "户口登记",
        "户口注销",
        "行政确认",
        "县级",
        "《中华人民共和国户口登记条例》",
        "公安局",
        "承诺件",
        "10",
    ],
    [
        "511A0131300001",
        "511A01313000",
        "水产苗种生产审批",
        "水产苗种生产审批",
        "行政许可",
        "县级",
        "《中华人民共和国渔业法》第十六条",
        "农业农村局",
        "承诺件",
        "20",
    ],
]
ITEM_HEADER = [c.header for c in ITEM_COLUMNS]


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=header).to_csv(path, index=False, encoding=encoding)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=header).to_excel(path, index=False)
    return path


@contextmanager
def fresh_postgres_database(prefix: str = "shixiang_test") -> Iterator[str]:
    """A new PostgreSQL database (its SQLAlchemy URL), dropped afterwards. Skips the test when
    no server is reachable, unless SHIXIANG_REQUIRE_POSTGRES=1 (CI), where it fails instead."""
    import pytest
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("SHIXIANG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (SHIXIANG_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement of the file, top level or inside a function
    (``from a import b`` names ``a`` and ``a.b``): what layout tests read instead of importing."""
    import ast

    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def run_whole(job, settings, instance=None, **kwargs):
    """One in-process run of ``job`` over every partition of the settings' data directory
    (what ``shixiang run`` does)."""
    import dagster as dg

    from assets.partitions import whole_run_tags

    instance = instance or dg.DagsterInstance.ephemeral()
    tags = {**whole_run_tags(instance, settings), **kwargs.pop("tags", {})}
    return job.execute_in_process(instance=instance, tags=tags, **kwargs)
