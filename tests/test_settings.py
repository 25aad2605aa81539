"""Settings are resolved in one place: explicit value, else environment, else default."""

from __future__ import annotations

import pytest

from pipelines.resources import ShixiangSettings, settings_from_env
from shixiang import settings


def test_explicit_beats_environment_beats_default() -> None:
    env = {"SHIXIANG_DATA_DIR": "/from/env", "SHIXIANG_DATABASE_URL": ""}
    s = settings.from_env(env, database_url=None)
    assert s.data_dir == "/from/env"
    assert s.database_url == settings.DEFAULTS.database_url  # empty counts as unset
    assert settings.from_env(env, data_dir="/given").data_dir == "/given"
    with pytest.raises(TypeError):
        settings.from_env(env, database="typo")


def test_every_setting_has_its_variable_and_the_resource_reads_them_all(monkeypatch) -> None:
    for name, var in settings.ENV.items():
        monkeypatch.setenv(var, f"value-of-{name}")
    resource = settings_from_env()
    for name in settings.ENV:
        assert getattr(resource, name) == f"value-of-{name}"
    assert ShixiangSettings().database_url == settings.DEFAULTS.database_url


def test_the_resource_keeps_one_engine_per_database(tmp_path) -> None:
    a = ShixiangSettings(database_url=f"sqlite:///{tmp_path / 'a.db'}")
    b = ShixiangSettings(database_url=f"sqlite:///{tmp_path / 'a.db'}")
    assert a.engine() is a.engine() is b.engine()
    assert (
        ShixiangSettings(database_url=f"sqlite:///{tmp_path / 'b.db'}").engine() is not a.engine()
    )
