"""The code location: everything loads; schedule and sensor behave as documented."""

from pathlib import Path

import dagster as dg

from pipelines.definitions import defs
from pipelines.resources import ShixiangSettings
from pipelines.schedules import nightly_schedule
from pipelines.sensors import data_dir_changed
from tests.helpers import ITEM_HEADER, write_csv


def test_definitions_load_with_all_assets_and_checks() -> None:
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "catalogue",
        "province_items",
        "city_items",
        "county_items",
        "township_items",
        "village_items",
        "matched_items",
        "unified_library",
        "review_queue",
        "qc_issues",
        "reuse_stats",
        "published_library",
    } <= keys
    checks = {k.name for k in graph.asset_check_keys}
    assert {
        "catalogue_suite",
        "county_items_schema",
        "county_items_elements",
        "unified_library_suite",
    } <= checks


def test_published_library_depends_on_every_output() -> None:
    graph = defs.resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey("published_library")).parent_keys}
    assert {"unified_library", "review_queue", "qc_issues", "reuse_stats"} <= parents


def test_schedule_runs_nightly_at_two_in_shanghai_by_default() -> None:
    """The ticks Dagster will fire, as instants: 02:00 in Shanghai is 18:00 UTC the day before,
    one a day, and the schedule is on without anyone switching it on."""
    from datetime import UTC, datetime

    from dagster._utils.schedules import cron_string_iterator

    start = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # 03:00 on 1 December in Shanghai
    ticks = cron_string_iterator(
        start.timestamp(), nightly_schedule.cron_schedule, nightly_schedule.execution_timezone
    )
    fired = [next(ticks).astimezone(UTC) for _ in range(3)]
    assert fired == [datetime(2026, 12, d, 18, 0, tzinfo=UTC) for d in (1, 2, 3)]
    assert nightly_schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_sensor_starts_a_run_only_when_files_change(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "county" / "a.csv",
        ITEM_HEADER,
        [["511602000000", "区民政局", "老年人助餐服务登记", "", "", "", "", "", "", ""]],
    )
    settings = ShixiangSettings(data_dir=str(tmp_path))
    first = data_dir_changed(dg.build_sensor_context(cursor=None, resources={"settings": settings}))
    assert not first.run_requests and first.cursor
    same = data_dir_changed(
        dg.build_sensor_context(cursor=first.cursor, resources={"settings": settings})
    )
    assert isinstance(same, dg.SkipReason)
    (tmp_path / "county" / "b.csv").write_text(
        (tmp_path / "county" / "a.csv").read_text(encoding="utf-8"), encoding="utf-8"
    )
    changed = data_dir_changed(
        dg.build_sensor_context(cursor=first.cursor, resources={"settings": settings})
    )
    assert len(changed.run_requests) == 1 and changed.cursor != first.cursor
    assert data_dir_changed.default_status == dg.DefaultSensorStatus.RUNNING
