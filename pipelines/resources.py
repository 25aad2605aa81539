"""Resources: where the data directory and the library database are (``shixiang.settings``)."""

from __future__ import annotations

import functools
from dataclasses import asdict
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine

from shixiang import settings as env_settings
from shixiang.config import DOCS_KEEP_RUNS
from shixiang.store import make_engine

DEFAULTS = env_settings.DEFAULTS


class ShixiangSettings(dg.ConfigurableResource):
    """The data directory to read and the database to publish to (see shixiang/settings.py
    for the environment variables and defaults)."""

    data_dir: str = DEFAULTS.data_dir
    database_url: str = DEFAULTS.database_url
    docs_dir: str = DEFAULTS.docs_dir
    docs_keep_runs: int = DOCS_KEEP_RUNS
    alert_url: str = DEFAULTS.alert_url
    ui_url: str = DEFAULTS.ui_url

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def run_docs_dir(self, run_id: str) -> Path:
        return Path(self.docs_dir) / run_id

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    def engine(self) -> Engine:
        """The database's engine, one per URL for the life of the process (sensor ticks and
        every asset share its connection pool)."""
        return _engine(self.database_url)


@functools.cache
def _engine(url: str) -> Engine:
    return make_engine(url)


def settings_from_env(**explicit: str | None) -> ShixiangSettings:
    """Settings for the code location (and the CLI's explicit options): see
    ``shixiang.settings.from_env``."""
    return ShixiangSettings(**asdict(env_settings.from_env(**explicit)))
