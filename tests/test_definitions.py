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


def test_sensor_runs_only_the_partitions_whose_files_change(tmp_path: Path) -> None:
    data = tmp_path / "data"

    def unit_file(path: str, code: str, name: str = "老年人助餐服务登记") -> None:
        write_csv(data / path, ITEM_HEADER, [[code, "民政局", name, "", "", "", "", "", "", ""]])

    unit_file("county/a.csv", "511602000000")  # 广安市
    unit_file("county/c.csv", "511302000000")  # 南充市
    settings = ShixiangSettings(data_dir=str(data), database_url=f"sqlite:///{tmp_path / 'lib.db'}")
    with dg.instance_for_test() as instance:

        def tick(cursor: str | None):
            context = dg.build_sensor_context(
                cursor=cursor, instance=instance, resources={"settings": settings}
            )
            return data_dir_changed(context)

        first = tick(None)
        assert not first.run_requests and first.cursor
        # the first tick makes the directory's partitions known
        (added,) = first.dynamic_partitions_requests
        assert added.partitions_def_name == "prefectures"
        assert sorted(added.partition_keys) == ["5113", "5116"]
        instance.add_dynamic_partitions("prefectures", added.partition_keys)  # as the daemon does
        assert isinstance(tick(first.cursor), dg.SkipReason)

        unit_file("county/b.csv", "511603000000")  # a new file in 广安市
        changed = tick(first.cursor)
        assert [r.partition_key for r in changed.run_requests] == ["5116"]
        assert changed.cursor != first.cursor

        unit_file("county/c.csv", "511702000000", "社保卡申领")  # moved to 达州市: 5113 empties
        moved = tick(changed.cursor)
        assert sorted(r.partition_key for r in moved.run_requests) == ["5113", "5117"]
        assert moved.dynamic_partitions_requests[0].partition_keys == ["5117"]
    assert data_dir_changed.default_status == dg.DefaultSensorStatus.RUNNING
