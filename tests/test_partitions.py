"""Partitions by prefecture: which file goes where, and publishing one prefecture's slice.

The property everything rests on: running the partitions one by one publishes the same
library as one run over all of them, province-wide views included, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import main as cli
from shixiang import partitions, store, tables
from tests.helpers import ITEM_HEADER, SAMPLE_DIR, fresh_postgres_database, write_csv

KEYS = ["5100", "5113", "5116", "5117"]  # data/sample: the province's own units and 3 cities
# What a run publishes in every table, whatever the order it wrote the rows in.
COMPARED = [
    "unified_library",
    "review_queue",
    "qc_issues",
    "reuse_stats",
    "rejected_rows",
    "rejected_files",
    "catalogue_items",
]


def _row(code: str, name: str = "老年人助餐服务登记") -> list[str]:
    return [code, "民政局", name, "", "", "", "", "", "", ""]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype("object").where(frame.notna(), None)
    return frame.sort_values(list(frame.columns), key=lambda s: s.astype(str)).reset_index(
        drop=True
    )


def _tables(url: str) -> dict[str, pd.DataFrame]:
    engine = store.make_engine(url)
    return {name: _sorted(store.read_table(engine, name)) for name in COMPARED}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """data/sample published by one whole run: (the data directory, the SQLite file)."""
    root = tmp_path_factory.mktemp("whole")
    shutil.copytree(SAMPLE_DIR, root / "data")
    _run(root / "data", f"sqlite:///{root / 'whole.db'}")
    return root / "data", root / "whole.db"


def _copy(published: tuple[Path, Path], tmp_path: Path) -> tuple[Path, str]:
    """A copy of the published data directory and library, to change."""
    shutil.copytree(published[0], tmp_path / "data")
    # SQLite's backup API: the file alone would miss what is still in its write-ahead log
    with sqlite3.connect(published[1]) as src, sqlite3.connect(tmp_path / "lib.db") as dst:
        src.backup(dst)
    return tmp_path / "data", f"sqlite:///{tmp_path / 'lib.db'}"


def _run(data: Path, url: str, *partition: str) -> None:
    argv = ["run", "--data-dir", str(data), "--database-url", url, "--log-level", "ERROR"]
    for key in partition:
        argv += ["--partition", key]
    assert cli.main(argv) == 0


@given(st.from_regex(r"[0-9]{12}", fullmatch=True))
def test_a_division_codes_partition_is_its_first_four_digits(code: str) -> None:
    assert partitions.partition_of(pd.Series([code])).tolist() == [code[:4]]


@given(st.text(max_size=14).filter(lambda s: not (len(s) == 12 and s.isascii() and s.isdigit())))
def test_anything_but_a_division_code_has_no_partition(text: str) -> None:
    assert partitions.partition_of(pd.Series([text])).isna().all()


def test_a_file_goes_where_most_of_its_rows_are(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # two rows of 广安市 and one stray row of 南充市: the file is 广安市's
    write_csv(
        data / "county" / "list.csv",
        ITEM_HEADER,
        [_row("511602000000"), _row("511602000000", "社保卡申领"), _row("511302000000")],
    )
    write_csv(data / "province" / "dept.csv", ITEM_HEADER, [_row("510000000000")])
    # unreadable files: by the leading digits of their name, else the province's own
    (data / "township").mkdir()
    (data / "township" / "511623101_损坏.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (data / "village").mkdir()
    (data / "village" / "补充清单.csv").write_bytes(b"")
    index, fresh = partitions.index_files(data, {})
    assert len(fresh) == len(index) == 4
    placed = partitions.file_partitions(index)
    assert placed == {
        "county/list.csv": "5116",
        "province/dept.csv": "5100",
        "township/511623101_损坏.xlsx": "5116",
        "village/补充清单.csv": "5100",
    }
    assert partitions.keys(index) == ["5100", "5116"]
    assert partitions.files_in(index, ["5100"]) == {"province/dept.csv", "village/补充清单.csv"}


def test_only_new_or_changed_files_are_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_csv(data / "county" / "a.csv", ITEM_HEADER, [_row("511602000000")])
    write_csv(data / "county" / "b.csv", ITEM_HEADER, [_row("511302000000")])
    index, _ = partitions.index_files(data, {})
    # a stored entry for an unchanged file is believed without reading the file
    believed = {
        **index,
        "county/a.csv": partitions.FileEntry(
            **{**vars(index["county/a.csv"]), "partition_key": "9999"}
        ),
    }
    again, fresh = partitions.index_files(data, believed)
    assert fresh == [] and again["county/a.csv"].partition_key == "9999"
    write_csv(data / "county" / "a.csv", ITEM_HEADER, [_row("511702000000"), _row("511702000000")])
    os.utime(data / "county" / "a.csv", ns=(1, 1))
    again, fresh = partitions.index_files(data, believed)
    assert [e.source_file for e in fresh] == ["county/a.csv"]
    assert again["county/a.csv"].partition_key == "5117"


def test_every_step_of_a_run_places_the_files_the_run_saw_first(tmp_path: Path) -> None:
    from types import SimpleNamespace

    import dagster as dg

    from assets.partitions import run_file_index
    from pipelines.resources import ShixiangSettings

    data = tmp_path / "data"
    write_csv(data / "county" / "a.csv", ITEM_HEADER, [_row("511602000000")])
    settings = ShixiangSettings(data_dir=str(data), database_url=f"sqlite:///{tmp_path / 'lib.db'}")
    run = SimpleNamespace(run_id="run-1")  # what run_file_index reads of a step's context
    assert list(run_file_index(run, settings)) == ["county/a.csv"]
    # a file arriving during the run waits for the next run: the run's steps agree
    write_csv(data / "county" / "b.csv", ITEM_HEADER, [_row("511302000000")])
    assert list(run_file_index(run, settings)) == ["county/a.csv"]
    later = SimpleNamespace(run_id="run-2")
    assert partitions.keys(run_file_index(later, settings)) == ["5113", "5116"]
    # a step invoked directly (tests, a shell) is no run: it always sees the directory as it is
    write_csv(data / "county" / "c.csv", ITEM_HEADER, [_row("511702000000")])
    direct = dg.build_asset_context()
    assert partitions.keys(run_file_index(direct, settings)) == ["5113", "5116", "5117"]


def test_a_partitions_fingerprint_changes_with_its_own_files_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_csv(data / "county" / "a.csv", ITEM_HEADER, [_row("511602000000")])
    write_csv(data / "county" / "b.csv", ITEM_HEADER, [_row("511302000000")])
    before = partitions.fingerprints(partitions.index_files(data, {})[0])
    write_csv(data / "county" / "a.csv", ITEM_HEADER, [_row("511602000000"), _row("511602000000")])
    after = partitions.fingerprints(partitions.index_files(data, {})[0])
    assert after["5113"] == before["5113"] and after["5116"] != before["5116"]


def test_a_file_index_survives_in_the_library_database(tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    store.save_file_index(engine, [("county/a.csv", 10, 20, "5116"), ("x.csv", 1, 2, None)])
    store.save_file_index(engine, [("county/a.csv", 11, 21, "5113")])  # the same file again
    assert store.read_file_index(engine) == {
        "county/a.csv": (11, 21, "5113"),
        "x.csv": (1, 2, None),
    }


@pytest.mark.slow
def test_partition_by_partition_publishes_what_one_whole_run_does(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    data, whole = published
    sliced = f"sqlite:///{tmp_path / 'sliced.db'}"
    _run(data, sliced, *KEYS)
    expected, got = _tables(f"sqlite:///{whole}"), _tables(sliced)
    for name in COMPARED:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    lib = expected["unified_library"]
    assert sorted(lib["partition_key"].unique()) == KEYS
    # a name in review in several prefectures counts the units of all of them
    queue = expected["review_queue"]
    assert (queue["units_with_same_name"] >= 1).all()
    # the province-wide rows of reuse_stats belong to no partition
    stats = expected["reuse_stats"]
    assert stats.loc[stats["scope"] == "level", "partition_key"].isna().all()
    assert stats.loc[stats["scope"] == "unit", "partition_key"].notna().all()


@pytest.mark.slow
def test_one_partitions_run_leaves_the_other_slices_as_they_were(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    data, url = _copy(published, tmp_path)
    engine = store.make_engine(url)
    before = store.read_table(engine, "unified_library")
    stats_before = store.read_table(engine, "reuse_stats")

    nanchong = data / "city" / "511300_南充市_实施清单.csv"
    frame = pd.read_csv(nanchong, dtype=str, keep_default_na=False)
    dropped = frame["事项名称"].iloc[0]
    frame.iloc[1:].to_csv(nanchong, index=False)  # 南充市 withdrew its first item
    _run(data, url, "5113")

    after = store.read_table(engine, "unified_library")
    others = before.loc[before["partition_key"] != "5113"]
    pd.testing.assert_frame_equal(
        _sorted(after.loc[after["partition_key"] != "5113"]), _sorted(others)
    )
    assert (after["partition_key"] == "5113").sum() == (before["partition_key"] == "5113").sum() - 1
    changes = store.read_table(engine, "library_changes")
    assert changes[["change", "item_name", "partition_key"]].values.tolist() == [
        ["removed", dropped, "5113"]
    ]

    # the level rows are the sums over every partition, the other slices included
    def city(stats: pd.DataFrame) -> int:
        return int(
            stats.loc[(stats["scope"] == "level") & (stats["level"] == "city"), "submitted"].iloc[0]
        )

    assert city(store.read_table(engine, "reuse_stats")) == city(stats_before) - 1


def _publish_slices_at_once(published: tuple[Path, Path], url: str) -> dict[str, pd.DataFrame]:
    """Publish each partition's slice of the whole run's tables, all at once from threads."""
    engine = store.make_engine(f"sqlite:///{published[1]}")
    full = {name: store.read_table(engine, name) for name in tables.OUTPUT_TABLES}
    target = store.make_engine(url)
    store.ensure_schema(target)

    def publish(key: str) -> None:
        part = {
            name: frame.loc[frame["partition_key"] == key] if "partition_key" in frame else frame
            for name, frame in full.items()
        }
        # each slice's own view of the shared counts; the publish puts them right
        part["review_queue"] = part["review_queue"].assign(units_with_same_name=1)
        store.publish(target, part, partitions=[key])

    with ThreadPoolExecutor(len(KEYS)) as pool:
        list(pool.map(publish, KEYS))
    got = _tables(url)
    target.dispose()
    return got


@pytest.mark.slow
def test_slices_published_at_once_make_the_whole_library_on_sqlite(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    expected = _tables(f"sqlite:///{published[1]}")
    got = _publish_slices_at_once(published, f"sqlite:///{tmp_path / 'lib.db'}")
    for name in COMPARED:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name, check_dtype=False)


@pytest.mark.postgres
@pytest.mark.slow
def test_slices_published_at_once_make_the_whole_library_on_postgres(
    published: tuple[Path, Path],
) -> None:
    expected = _tables(f"sqlite:///{published[1]}")
    with fresh_postgres_database() as url:
        got = _publish_slices_at_once(published, url)
    for name in COMPARED:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name, check_dtype=False)
