"""Where things are: the settings every entry point reads from the environment, in one place.

The Dagster resource (``pipelines.resources.ShixiangSettings``), ``shixiang run``, ``shixiang
review``, ``shixiang export`` and ``shixiang desk`` all resolve them here: an explicit value
(a command-line option) wins, then the environment variable, then the default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from shixiang.store import DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class Settings:
    data_dir: str = "data/sample"  # the demo province
    database_url: str = DEFAULT_DATABASE_URL
    docs_dir: str = "var/gx_docs"  # GX Data Docs, one site per run
    alert_url: str = ""  # POST a JSON alert here when a run fails ("" = only record it)
    ui_url: str = "http://127.0.0.1:3000"  # where people open the Dagster UI (links in alerts)


ENV: dict[str, str] = {
    "data_dir": "SHIXIANG_DATA_DIR",
    "database_url": "SHIXIANG_DATABASE_URL",
    "docs_dir": "SHIXIANG_DOCS_DIR",
    "alert_url": "SHIXIANG_ALERT_URL",
    "ui_url": "SHIXIANG_UI_URL",
}
DEFAULTS = Settings()


def from_env(environ: Mapping[str, str] | None = None, **explicit: str | None) -> Settings:
    """The settings: ``explicit`` values that are not None, else the environment, else the
    defaults (an empty environment variable counts as unset)."""
    env = os.environ if environ is None else environ
    values = {}
    for f in fields(Settings):
        given = explicit.get(f.name)
        values[f.name] = (
            given if given is not None else (env.get(ENV[f.name]) or getattr(DEFAULTS, f.name))
        )
    unknown = set(explicit) - set(values)
    if unknown:
        raise TypeError(f"unknown settings: {sorted(unknown)}")
    return Settings(**values)
