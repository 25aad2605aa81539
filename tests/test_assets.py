"""Assets and checks by direct invocation, and the whole job materialised on a small province."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy

from assets.inputs import catalogue, catalogue_suite, level_assets, level_checks
from assets.library import item_rows, matched_items, unified_library_suite
from pipelines.definitions import build_definitions
from pipelines.jobs import NIGHTLY_JOB_NAME
from pipelines.resources import ShixiangSettings
from shixiang import evidence_cache, ingest, store, tables
from shixiang.prefetch import NamePrefetch
from tests.helpers import CATALOGUE_HEADER, CATALOGUE_ROWS, run_whole, write_csv


def settings_for(data_dir: Path, tmp_path: Path) -> ShixiangSettings:
    return ShixiangSettings(data_dir=str(data_dir), database_url=f"sqlite:///{tmp_path / 'lib.db'}")


def check_args(where: Path) -> dict:
    """What a check receives besides its asset: a context with the settings (docs under
    ``where``)."""
    settings = ShixiangSettings(data_dir=str(where), docs_dir=str(where / "gx_docs"))
    return {"context": dg.build_asset_check_context(resources={"settings": settings})}


def test_catalogue_asset_reports_counts(mini_dir: Path, tmp_path: Path) -> None:
    context = dg.build_asset_context()
    loaded = catalogue(context=context, settings=settings_for(mini_dir, tmp_path))
    assert len(loaded.rows) == len(CATALOGUE_ROWS)
    meta = context.get_output_metadata("result")
    assert meta["dagster/row_count"] == len(CATALOGUE_ROWS)
    assert meta["rejected_files"] == 0


def test_catalogue_check_passes_on_a_clean_catalogue(mini_dir: Path) -> None:
    result = catalogue_suite(**check_args(mini_dir), catalogue=ingest.load_catalogue(mini_dir))
    assert result.passed


def test_catalogue_check_blocks_duplicate_codes_and_names_the_rows(tmp_path: Path) -> None:
    rows = [*CATALOGUE_ROWS, CATALOGUE_ROWS[0]]
    write_csv(tmp_path / "catalogue" / "cat.csv", CATALOGUE_HEADER, rows)
    result = catalogue_suite(**check_args(tmp_path), catalogue=ingest.load_catalogue(tmp_path))
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR
    gx = result.metadata["gx"].value
    failing = [f for f in gx["failures"] if "business_code" in (f["column"] or "")]
    assert failing and "catalogue/cat.csv:9" in failing[0]["failing_ids"]


def test_catalogue_check_blocks_an_unreadable_catalogue_file(mini_dir: Path) -> None:
    (mini_dir / "catalogue" / "broken.xlsx").write_bytes(b"not a workbook")
    result = catalogue_suite(**check_args(mini_dir), catalogue=ingest.load_catalogue(mini_dir))
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR


def partition_context(key: str) -> dg.AssetExecutionContext:
    """An asset context of one partition (the instance knows the partitions)."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("prefectures", [key])
    return dg.build_asset_context(partition_key=key, instance=instance)


def test_level_asset_and_its_check(mini_dir: Path, tmp_path: Path) -> None:
    settings = settings_for(mini_dir, tmp_path)
    # 广安市: every unit of mini_dir; 南充市: none of its files
    county = level_assets["county"](context=partition_context("5116"), settings=settings)
    assert len(county.rows) == 4 and len(county.rejected_rows) == 1
    elsewhere = partition_context("5113")
    assert level_assets["county"](context=elsewhere, settings=settings).files_read == 0
    check = next(c for c in level_checks if "county_items_schema" in str(c.check_keys))
    result = check(**check_args(tmp_path), loaded=county)
    assert result.passed
    # GX Data Docs of this run: a link the UI opens, and the file on the server
    assert result.metadata["data_docs"].value.startswith("file://")
    assert Path(result.metadata["data_docs_path"].value).exists()


def test_matching_asset_metadata(mini_dir: Path, tmp_path: Path) -> None:
    levels = {
        f"{lv}_items": ingest.load_level(mini_dir, lv)
        for lv in ("province", "city", "county", "township", "village")
    }
    rows = item_rows(context=dg.build_asset_context(), **levels)
    no_decisions = pd.DataFrame(columns=["id", "scope", "division_code", "name_key", "decision"])

    loaded = ingest.load_catalogue(mini_dir)

    def match(ahead: NamePrefetch) -> tuple[pd.DataFrame, dict]:
        context = dg.build_asset_context()
        decided = matched_items(
            context=context,
            settings=settings_for(mini_dir, tmp_path),
            catalogue=loaded,
            item_rows=rows,
            steward_decisions=no_decisions,
            name_prefetch=ahead,
        )
        assert not ahead.active  # ended by the step, whatever it had done
        return decided, context.get_output_metadata("result")

    first, meta = match(NamePrefetch())
    distinct = rows.rows["item_name"].nunique()
    assert (meta["names_from_cache"], meta["names_parsed"]) == (0, distinct)
    assert meta["names_parsed_ahead"] == 0
    ahead = NamePrefetch.start(loaded.rows, evidence_cache.fingerprint(loaded.rows))
    decided, meta = match(ahead)  # the names are in the library database's match cache now
    assert (meta["names_from_cache"], meta["names_parsed"]) == (distinct, 0)
    assert meta["names_parsed_ahead"] == 0  # the cache had them all: the helper never asked
    pd.testing.assert_frame_equal(decided, first)
    assert meta["dagster/row_count"] == len(decided) == 6
    assert set(meta["status_counts"].value) <= {"matched", "review", "unmatched"}
    assert "老年人助餐服务登记" in meta["unmatched_preview"].value


def test_nothing_lost_check_fails_when_a_row_disappears(mini_dir: Path) -> None:
    rows = ingest.load_level(mini_dir, "county")
    library = pd.DataFrame({"row_id": rows.rows["row_id"].iloc[:-1]})  # one row lost
    result = unified_library_suite(**check_args(mini_dir), unified_library=library, item_rows=rows)
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR


@pytest.mark.slow
def test_full_job_publishes_every_table(mini_dir: Path, tmp_path: Path) -> None:
    settings = settings_for(mini_dir, tmp_path)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB_NAME)
    instance = dg.DagsterInstance.ephemeral()
    result = run_whole(job, settings, instance=instance, raise_on_error=False)
    assert result.success
    engine = store.make_engine(settings.database_url)
    lib = store.read_table(engine, "unified_library")
    # the run's headline on the run: rows read, shares as percentages, rejections, issues
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["shixiang/rows_read"] == "7"
    assert tags["shixiang/matched"].endswith("%") and "." in tags["shixiang/matched"]
    assert tags["shixiang/rejected_rows"] == "1"
    rejected = store.read_table(engine, "rejected_rows")
    assert len(lib) + len(rejected) == 7  # every row read is published or rejected
    assert set(lib["source_file"]) == {
        "county/511602_广安区.csv",
        "township/511602001000_浓洄街道.csv",
        "village/511602001001_村.xlsx",
    }
    assert lib.loc[lib["item_name"] == "社保卡申领", "business_code"].tolist() == ["512B0070200003"]
    # every output table was written, with the contract's columns in the contract's order,
    # and every row of a partitioned table in its file's partition (all of mini_dir is 5116)
    inspector = sqlalchemy.inspect(engine)
    for name, table in tables.OUTPUT_TABLES.items():
        assert [c["name"] for c in inspector.get_columns(name)] == [c.name for c in table.c], name
    assert set(lib["partition_key"]) == {"5116"}
    assert len(store.read_table(engine, "review_queue")) == (lib["status"] == "review").sum()
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["catalogue_suite"] and checks["unified_library_suite"]


@pytest.mark.slow
def test_broken_catalogue_stops_the_run_and_keeps_the_previous_library(
    mini_dir: Path, tmp_path: Path
) -> None:
    settings = settings_for(mini_dir, tmp_path)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB_NAME)
    assert run_whole(job, settings, instance=dg.DagsterInstance.ephemeral()).success
    engine = store.make_engine(settings.database_url)
    before = store.read_table(engine, "unified_library")

    rows = [r.copy() for r in CATALOGUE_ROWS]
    rows[1][4] = "不存在的类型"
    write_csv(mini_dir / "catalogue" / "通用目录.csv", CATALOGUE_HEADER, rows)
    result = run_whole(job, settings, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    pd.testing.assert_frame_equal(store.read_table(engine, "unified_library"), before)


@pytest.mark.slow
def test_the_next_publication_lists_what_changed(mini_dir: Path, tmp_path: Path) -> None:
    settings = settings_for(mini_dir, tmp_path)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB_NAME)
    assert run_whole(job, settings, instance=dg.DagsterInstance.ephemeral()).success
    engine = store.make_engine(settings.database_url)
    assert store.read_table(engine, "library_changes").empty  # the first publication

    county = mini_dir / "county" / "511602_广安区.csv"
    frame = pd.read_csv(county, dtype=str, keep_default_na=False)
    frame = frame.loc[frame["事项名称"] != "老年人助餐服务登记"]  # the unit dropped an item
    frame.iloc[::-1].to_csv(county, index=False)  # and re-sorted the rest: no change
    assert run_whole(job, settings, instance=dg.DagsterInstance.ephemeral()).success
    changed = store.read_table(engine, "library_changes")
    assert changed[["change", "item_name"]].values.tolist() == [["removed", "老年人助餐服务登记"]]
    summary = json.loads(store.read_table(engine, "publications")["summary"].iloc[-1])
    assert summary["changes"] == {"added": 0, "removed": 1, "status_changed": 0, "code_changed": 0}


def test_each_check_means_what_it_says(mini_dir: Path, tmp_path: Path) -> None:
    # An element value a unit must fix (办件类型 上报件) fails the non-blocking elements check
    # with WARN; the blocking schema check holds only what blocks, and passes.
    county = mini_dir / "county" / "511602_广安区.csv"
    frame = pd.read_csv(county, dtype=str, keep_default_na=False)
    frame.loc[0, "办件类型"] = "上报件"
    frame.to_csv(county, index=False)
    loaded = level_assets["county"](
        context=partition_context("5116"), settings=settings_for(mini_dir, tmp_path)
    )
    by_name = {next(iter(c.check_keys)).name: c for c in level_checks}
    schema = by_name["county_items_schema"](**check_args(tmp_path), loaded=loaded)
    elements = by_name["county_items_elements"](**check_args(tmp_path), loaded=loaded)
    assert schema.passed
    assert not elements.passed and elements.severity == dg.AssetCheckSeverity.WARN
    specs = {next(iter(c.check_specs)).name: next(iter(c.check_specs)) for c in level_checks}
    assert specs["county_items_schema"].blocking and not specs["county_items_elements"].blocking


@pytest.mark.slow
def test_units_quality_issues_are_warnings_not_red(mini_dir: Path, tmp_path: Path) -> None:
    # mini_dir's units have error-severity issues (QC-001 …): the run succeeds, the library is
    # published, and the quality check reports them as WARN: red means broken.
    settings = settings_for(mini_dir, tmp_path)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB_NAME)
    result = run_whole(job, settings, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    issues = evaluations["qc_issues_suite"]
    assert not issues.passed and issues.severity == dg.AssetCheckSeverity.WARN
    assert not [e for e in evaluations.values() if e.severity == dg.AssetCheckSeverity.ERROR]
