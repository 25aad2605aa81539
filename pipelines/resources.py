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
ALERT_URL_ENV = "SHIXIANG_ALERT_URL"  # webhook or mail relay told when a run fails
UI_URL_ENV = "SHIXIANG_UI_URL"  # where people open the Dagster UI (links in alerts)
DEFAULT_UI_URL = "http://127.0.0.1:3000"


class ShixiangSettings(dg.ConfigurableResource):
    """The data directory to read and the database to publish to."""

    data_dir: str = DEFAULT_DATA_DIR
    database_url: str = DEFAULT_DATABASE_URL
    docs_dir: str = DEFAULT_DOCS_DIR  # GX Data Docs, one site per run
    docs_keep_runs: int = 14
    alert_url: str = ""  # POST a JSON alert here when a run fails ("" = only record it)
    ui_url: str = DEFAULT_UI_URL

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

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
        alert_url=os.environ.get(ALERT_URL_ENV, ""),
        ui_url=os.environ.get(UI_URL_ENV, DEFAULT_UI_URL),
    )
