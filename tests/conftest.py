"""Shared fixtures: small data directories written as real files, and a real PostgreSQL.

Plain helpers and constants are in tests/helpers.py (test modules import them from there)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shixiang import store
from tests.helpers import (
    CATALOGUE_HEADER,
    CATALOGUE_ROWS,
    ITEM_HEADER,
    fresh_postgres_database,
    write_csv,
    write_xlsx,
)


@pytest.fixture
def mini_dir(tmp_path: Path) -> Path:
    """A tiny data directory: catalogue + county (UTF-8), township (GB18030), village (.xlsx)."""
    root = tmp_path / "data"
    write_csv(root / "catalogue" / "通用目录.csv", CATALOGUE_HEADER, CATALOGUE_ROWS)
    write_csv(
        root / "county" / "511602_广安区.csv",
        ITEM_HEADER,
        [
            [
                "511602000000",
                "广安区行政审批局",
                "食品经营许可(变更)(县级)",
                "511A00010000",
                "行政许可",
                "",
                "承诺件",
                "20",
                "10",
                "1",
            ],
            [
                "511602000000",
                "广安区行政审批局",
                "食品经营许可（补办）",
                "",
                "行政许可",
                "",
                "承诺件",
                "20",
                "10",
                "1",
            ],
            [
                "511602000000",
                "广安区行政审批局",
                "核发建设工程规划许可证",
                "511A00020000",
                "行政确认",
                "",
                "承诺件",
                "20",
                "5",
                "1",
            ],
            [
                "511602000000",
                "广安区民政局",
                "老年人助餐服务登记",
                "",
                "公共服务",
                "",
                "即办件",
                "1",
                "1",
                "0",
            ],
            ["5116O2000000", "广安区行政审批局", "水产苗种生产审批", "", "", "", "", "", "", ""],
        ],
    )
    write_csv(
        root / "township" / "511602001000_浓洄街道.csv",
        ITEM_HEADER,
        [
            [
                "511602001000",
                "浓洄街道便民服务中心",
                "社保卡申领",
                "",
                "公共服务",
                "",
                "即办件",
                "1",
                "1",
                "0",
            ]
        ],
        encoding="gb18030",
    )
    write_xlsx(
        root / "village" / "511602001001_村.xlsx",
        ITEM_HEADER,
        [
            [
                "511602001001",
                "某村便民服务站",
                "社会保障卡申领（村级）",
                "512B00702000",
                "公共服务",
                "",
                "即办件",
                "1",
                "1",
                "0",
            ]
        ],
    )
    for level in ("province", "city"):
        (root / level).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards.

    Skips with the reason when no server is reachable, unless SHIXIANG_REQUIRE_POSTGRES=1 (CI),
    where it fails instead.
    """
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def match_cache_engine(request, tmp_path):
    """A library database on SQLite and on PostgreSQL, without a match cache table yet."""
    if request.param == "sqlite":
        return store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    engine = store.make_engine(request.getfixturevalue("pg_url"))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS match_cache"))
    return engine


@pytest.fixture(autouse=True)
def _no_persistent_dagster_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run on ephemeral Dagster instances, whatever the developer's shell exports."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
