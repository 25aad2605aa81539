"""Resources: where the data directory and the library database are."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine

from shixiang.store import DEFAULT_DATABASE_URL, make_engine

DATA_DIR_ENV = "SHIXIANG_DATA_DIR"
DATABASE_URL_ENV = "SHIXIANG_DATABASE_URL"
DEFAULT_DATA_DIR = "data/sample"
DEFAULT_DOCS_DIR = "var/gx_docs"
DOCS_DIR_ENV = "SHIXIANG_DOCS_DIR"


class ShixiangSettings(dg.ConfigurableResource):
    """The data directory to read and the database to publish to."""

    data_dir: str = DEFAULT_DATA_DIR
    database_url: str = DEFAULT_DATABASE_URL
    docs_dir: str = DEFAULT_DOCS_DIR  # GX Data Docs, one site per run
    docs_keep_runs: int = 14

    def run_docs_dir(self, run_id: str) -> Path:
        return Path(self.docs_dir) / run_id

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    def engine(self) -> Engine:
        return make_engine(self.database_url)


def settings_from_env() -> ShixiangSettings:
    """Settings for the code location: environment variables, else the bundled demo."""
    return ShixiangSettings(
        data_dir=os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR),
        database_url=os.environ.get(DATABASE_URL_ENV, DEFAULT_DATABASE_URL),
        docs_dir=os.environ.get(DOCS_DIR_ENV, DEFAULT_DOCS_DIR),
    )
