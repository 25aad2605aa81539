"""Input assets: the catalogue and the five levels' implementation lists, with their checks."""

import dagster as dg

from assets.metadata import check_result, counts, docs_dir_for, preview
from assets.partitions import PREFECTURES, run_file_index
from pipelines.resources import ShixiangSettings
from shixiang import data_docs, expectations, ingest, partitions, rules
from shixiang.config import LEVEL_LABELS, LEVELS

INPUTS = "inputs"


def _load_metadata(context: dg.AssetExecutionContext, what: str, loaded: ingest.Loaded) -> dict:
    context.log.info(
        f"{what}：{loaded.files_read} 个文件，接收 {len(loaded.rows)} 行，"
        f"拒收 {len(loaded.rejected_rows)} 行、{len(loaded.rejected_files)} 个文件"
    )
    return {
        "dagster/row_count": len(loaded.rows),
        "files_read": loaded.files_read,
        "rows_read": loaded.rows_read,
        "rejected_rows": len(loaded.rejected_rows),
        "rejected_files": len(loaded.rejected_files),
        "rejected_file_list": preview(loaded.rejected_files),
        "rejected_row_preview": preview(
            loaded.rejected_rows, ["source_file", "source_row", "reason"]
        ),
    }


@dg.asset(group_name=INPUTS, kinds={"pandas", "csv", "xlsx"})
def catalogue(context: dg.AssetExecutionContext, settings: ShixiangSettings) -> ingest.Loaded:
    """The provincial general catalogue (通用目录): one row per business-handling item."""
    loaded = ingest.load_catalogue(settings.data_path)
    meta = _load_metadata(context, "通用目录", loaded)
    if len(loaded.rows):
        meta["items_by_type"] = counts(loaded.rows["item_type"])
    context.add_output_metadata(meta)
    return loaded


@dg.asset_check(
    asset=catalogue,
    blocking=True,
    description="GX suite expectations/catalogue.json; any failure stops the run before publishing.",
)
def catalogue_suite(
    context: dg.AssetCheckExecutionContext, settings: ShixiangSettings, catalogue: ingest.Loaded
) -> dg.AssetCheckResult:
    data_docs.prune_docs(settings.docs_dir, keep=settings.docs_keep_runs)
    result = expectations.validate(
        rules.catalogue_check_frame(catalogue.rows),
        "catalogue",
        docs_dir=docs_dir_for(context, settings),
        docs_label="catalogue",
    )
    problems = []
    if len(catalogue.rejected_files):
        problems.append(f"{len(catalogue.rejected_files)} 个目录文件无法读取")
    if catalogue.rows.empty:
        problems.append("通用目录为空")
    if not problems:
        return check_result(result)
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "problems": dg.MetadataValue.json(problems),
            "rejected_files": preview(catalogue.rejected_files),
            "gx": dg.MetadataValue.json(result.to_metadata()),
        },
    )


def _level_asset(level: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{level}_items",
        group_name=INPUTS,
        kinds={"pandas", "csv", "xlsx"},
        partitions_def=PREFECTURES,
        description=f"{LEVEL_LABELS[level]}单位的实施清单 (the partition's files under {level}/).",
    )
    def _asset(context: dg.AssetExecutionContext, settings: ShixiangSettings) -> ingest.Loaded:
        files = partitions.files_in(run_file_index(context, settings), context.partition_keys)
        loaded = ingest.load_level(settings.data_path, level, files)
        meta = _load_metadata(context, f"{LEVEL_LABELS[level]}实施清单", loaded)
        if len(loaded.rows):
            meta["units"] = int(loaded.rows[["division_code", "agency"]].drop_duplicates().shape[0])
        context.add_output_metadata(meta)
        return loaded

    return _asset


# The two halves of expectations/implementation_lists.json, each its own check so that each
# means what it says: (name, severity validated, blocking, description).
_LEVEL_CHECKS = (
    (
        "schema",
        expectations.SEVERITY_CRITICAL,
        True,
        "The input schema (critical expectations of expectations/implementation_lists.json): "
        "12-digit division codes, required names. Blocks the publish: a list the pipeline "
        "cannot read must not be published half.",
    ),
    (
        "elements",
        expectations.SEVERITY_WARNING,
        False,
        "Element enumerations (warnings of expectations/implementation_lists.json: 办件类型, "
        "到办事现场次数, code formats): the units' values to fix, reported as WARN; never blocks.",
    ),
)


def _level_check(
    asset_def: dg.AssetsDefinition, level: str, part: str, severity: str, blocking: bool, about: str
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_def,
        name=f"{level}_items_{part}",
        blocking=blocking,
        description=about,
        partitions_def=PREFECTURES,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, settings: ShixiangSettings, loaded: ingest.Loaded
    ) -> dg.AssetCheckResult:
        result = expectations.validate(
            loaded.rows,
            "implementation_lists",
            docs_dir=docs_dir_for(context, settings),
            docs_label=f"{level}_items_{part}",
            severity=severity,
        )
        return check_result(result, findings=not blocking)

    return _check


level_assets = {level: _level_asset(level) for level in LEVELS}
level_checks = [
    _level_check(level_assets[level], level, *spec) for level in LEVELS for spec in _LEVEL_CHECKS
]
