"""Matching and the published library: from the inputs to the tables stewards use."""

import time

import dagster as dg
import pandas as pd

from assets.inputs import level_assets
from assets.metadata import (
    check_result,
    counts,
    docs_dir_for,
    percent,
    preview,
    run_summary_tags,
)
from assets.partitions import PREFECTURES, run_file_index
from pipelines.resources import ShixiangSettings
from shixiang import (
    changes,
    decisions,
    evidence_cache,
    expectations,
    ingest,
    library,
    matching,
    partitions,
    rules,
    store,
)
from shixiang.config import LEVELS, STATUS_MATCHED, STATUS_REVIEW, STATUS_UNMATCHED
from shixiang.evidence_cache import EvidenceCache
from shixiang.prefetch import NamePrefetch

MATCHING = "matching"
STEWARDSHIP = "stewardship"
OUTPUTS = "library"


@dg.asset(group_name=MATCHING, partitions_def=PREFECTURES, kinds={"pandas"})
def item_rows(
    context: dg.AssetExecutionContext,
    province_items: ingest.Loaded,
    city_items: ingest.Loaded,
    county_items: ingest.Loaded,
    township_items: ingest.Loaded,
    village_items: ingest.Loaded,
) -> ingest.Loaded:
    """All five levels' accepted rows in one frame, with every level's rejections."""
    loaded = dict(
        zip(
            LEVELS,
            (province_items, city_items, county_items, township_items, village_items),
            strict=True,
        )
    )
    combined = ingest.combine(loaded)
    context.add_output_metadata(
        {
            "dagster/row_count": len(combined.rows),
            "rows_read": combined.rows_read,
            "rows_by_level": dg.MetadataValue.json({lv: len(x.rows) for lv, x in loaded.items()}),
            "rejected_rows": len(combined.rejected_rows),
            "rejected_files": len(combined.rejected_files),
        }
    )
    return combined


@dg.asset(group_name=STEWARDSHIP, kinds={"sqlalchemy"})
def steward_decisions(
    context: dg.AssetExecutionContext, settings: ShixiangSettings
) -> pd.DataFrame:
    """Every steward decision recorded so far (append-only history; the latest per key wins).
    Recorded with `shixiang review decide` or `shixiang review import`."""
    history = store.read_decisions(settings.engine())
    in_force = decisions.effective(history)
    context.add_output_metadata(
        {
            "dagster/row_count": len(history),
            "in_force": len(in_force),
            "in_force_by_decision": counts(in_force["decision"])
            if len(in_force)
            else dg.MetadataValue.json({}),
            "latest_decision_id": int(history["id"].max()) if len(history) else 0,
            "latest": preview(
                history.tail(10),
                ["id", "decided_at", "steward", "decision", "scope", "item_name", "business_code"],
            )
            if len(history)
            else dg.MetadataValue.md("（无）"),
        }
    )
    return history


@dg.asset(group_name=MATCHING, partitions_def=PREFECTURES, kinds={"pandas", "rapidfuzz"})
def matched_items(
    context: dg.AssetExecutionContext,
    settings: ShixiangSettings,
    catalogue: ingest.Loaded,
    item_rows: ingest.Loaded,
    steward_decisions: pd.DataFrame,
    name_prefetch: dg.ResourceParam[NamePrefetch],
) -> pd.DataFrame:
    """Every accepted row matched against the catalogue, with the stewards' decisions applied:
    status, method, score, margin, candidates and explanation (distinct names matched once;
    names seen by an earlier run are not parsed again: the `match_cache` table; on a first
    night `shixiang run` has them parsed while it reads the files: `name_prefetch`)."""
    started = time.perf_counter()
    names = pd.unique(item_rows.rows["item_name"].dropna().astype("str"))
    context.log.info(f"匹配 {len(item_rows.rows)} 行（{len(names)} 个不同名称）…")
    engine = settings.engine()
    cache = _load_cache(context, engine, catalogue.rows)
    if cache is not None:
        cache.ahead = name_prefetch
    try:
        decided = matching.decide(item_rows.rows, catalogue.rows, steward_decisions, cache)
    finally:
        name_prefetch.close()
    if name_prefetch.problem:
        context.log.warning(f"预解析未能完成，其余名称在本步骤中解析：{name_prefetch.problem}")
    if cache is not None:
        _save_cache(context, engine, cache)
    elapsed = time.perf_counter() - started
    context.log.info(
        f"匹配完成，用时 {elapsed:.1f} 秒"
        + (
            f"（{cache.used} 个名称取自上次的解析结果"
            + (f"，{cache.ahead_used} 个已在读取文件时预先解析" if cache.ahead_used else "")
            + "）"
            if cache is not None
            else ""
        )
    )
    n = max(len(decided), 1)
    status = decided["status"]
    context.add_output_metadata(
        {
            "dagster/row_count": len(decided),
            "distinct_names": int(decided["item_name"].nunique()),
            "status_counts": counts(status),
            "method_counts": counts(decided["match_method"]),
            # shares of the rows as percentages with one decimal (89.9, not 0.898981989…)
            "matched_pct": percent((status == STATUS_MATCHED).sum(), n),
            "review_pct": percent((status == STATUS_REVIEW).sum(), n),
            "unmatched_pct": percent((status == STATUS_UNMATCHED).sum(), n),
            "matching_seconds": round(elapsed, 2),
            "names_from_cache": cache.used if cache is not None else 0,
            "names_parsed": len(names) - (cache.used if cache is not None else 0),
            "names_parsed_ahead": cache.ahead_used if cache is not None else 0,
            "unmatched_preview": preview(
                decided.loc[status == STATUS_UNMATCHED],
                ["source_file", "source_row", "agency", "item_name", "explanation"],
            ),
        }
    )
    return decided


def _load_cache(context, engine, catalogue: pd.DataFrame) -> EvidenceCache | None:
    """What the last run of this partition (or of every partition) stored in the match cache;
    None (match without it) if the database cannot give it: the cache only saves time."""
    keys = context.partition_keys if context.has_partition_key_range else []
    keys = [context.partition_key] if context.has_partition_key else keys
    scope = keys[0] if len(keys) == 1 else evidence_cache.EVERY_PARTITION
    try:
        return evidence_cache.load(engine, evidence_cache.fingerprint(catalogue), scope)
    except Exception as exc:
        context.log.warning(f"匹配缓存不可用，本次全部名称重新解析：{exc}")
        return None


def _save_cache(context, engine, cache: EvidenceCache) -> None:
    try:
        evidence_cache.save(engine, cache)
    except Exception as exc:
        context.log.warning(f"匹配缓存未能保存（下次将重新解析这些名称）：{exc}")


@dg.asset(name="qc_issues", group_name=OUTPUTS, partitions_def=PREFECTURES, kinds={"pandas"})
def qc_issues_asset(context: dg.AssetExecutionContext, matched_items: pd.DataFrame) -> pd.DataFrame:
    """Element quality issues (质检问题), one row per row and rule broken."""
    issues = rules.evaluate(matched_items)
    context.add_output_metadata(
        {
            "dagster/row_count": len(issues),
            "issues_by_rule": counts(issues["rule_id"])
            if len(issues)
            else dg.MetadataValue.json({}),
            "issues_by_level": counts(issues["level"])
            if len(issues)
            else dg.MetadataValue.json({}),
            "preview": preview(issues, ["source_file", "source_row", "rule_id", "message"]),
        }
    )
    return issues


@dg.asset_check(
    asset=qc_issues_asset,
    blocking=False,
    partitions_def=PREFECTURES,
    additional_ins={"matched_items": dg.AssetIn()},
    description="GX suite matched_library, built from shixiang/rules.py: one expectation per "
    "element rule (type, level, code, time limits, duplicates…) over the matched rows. Not "
    "blocking: the issues are published for the units to fix.",
)
def qc_issues_suite(
    context: dg.AssetCheckExecutionContext,
    settings: ShixiangSettings,
    qc_issues: pd.DataFrame,
    matched_items: pd.DataFrame,
) -> dg.AssetCheckResult:
    result = expectations.validate(
        rules.rule_frame(matched_items, qc_issues),
        "matched_library",
        docs_dir=docs_dir_for(context, settings),
        docs_label="matched_items",
    )
    return check_result(result, findings=True)


@dg.asset(name="unified_library", group_name=OUTPUTS, partitions_def=PREFECTURES, kinds={"pandas"})
def unified_library_asset(
    context: dg.AssetExecutionContext, matched_items: pd.DataFrame, qc_issues: pd.DataFrame
) -> pd.DataFrame:
    """The unified item library (事项库): exactly one row per accepted input row."""
    lib = library.build_library(matched_items, qc_issues)
    context.add_output_metadata(
        {
            "dagster/row_count": len(lib),
            "status_counts": counts(lib["status"]),
            "rows_with_issues": int((lib["qc_issue_count"] > 0).sum()),
        }
    )
    return lib


@dg.asset_check(
    asset=unified_library_asset,
    blocking=True,
    partitions_def=PREFECTURES,
    additional_ins={"item_rows": dg.AssetIn()},
    description="Nothing is lost (rows read = library rows + rejected rows) and the GX suite expectations/unified_library.json.",
)
def unified_library_suite(
    context: dg.AssetCheckExecutionContext,
    settings: ShixiangSettings,
    unified_library: pd.DataFrame,
    item_rows: ingest.Loaded,
) -> dg.AssetCheckResult:
    accounted = len(unified_library) + len(item_rows.rejected_rows)
    complete = accounted == item_rows.rows_read
    result = expectations.validate(
        unified_library,
        "unified_library",
        docs_dir=docs_dir_for(context, settings),
        docs_label="unified_library",
    )
    extra = {"rows_read": item_rows.rows_read, "rows_accounted": accounted}
    if complete:
        return check_result(result, extra=extra)
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            **extra,
            "problem": "读入的行数与事项库行数加拒收行数不一致",
            "gx": dg.MetadataValue.json(result.to_metadata()),
        },
    )


@dg.asset(name="review_queue", group_name=OUTPUTS, partitions_def=PREFECTURES, kinds={"pandas"})
def review_queue_asset(
    context: dg.AssetExecutionContext, unified_library: pd.DataFrame
) -> pd.DataFrame:
    """Rows a steward must decide, with their top three candidates; most shared names first."""
    queue = library.build_review_queue(unified_library)
    context.add_output_metadata(
        {
            "dagster/row_count": len(queue),
            "distinct_names": int(queue["name_key"].nunique()) if len(queue) else 0,
            "preview": preview(
                queue,
                [
                    "agency",
                    "item_name",
                    "candidate_1_name",
                    "candidate_1_score",
                    "units_with_same_name",
                ],
            ),
        }
    )
    return queue


@dg.asset(name="reuse_stats", group_name=OUTPUTS, partitions_def=PREFECTURES, kinds={"pandas"})
def reuse_stats_asset(
    context: dg.AssetExecutionContext, unified_library: pd.DataFrame
) -> pd.DataFrame:
    """Reuse (复用) per unit and per level: submitted, matched, review, unmatched, reuse rate."""
    stats = library.build_reuse_stats(unified_library)
    context.add_output_metadata(
        {
            "dagster/row_count": len(stats),
            "per_level": preview(
                stats.loc[stats["scope"] == "level"],
                ["level", "submitted", "matched", "review", "unmatched", "reuse_rate"],
            ),
        }
    )
    return stats


@dg.asset(name="library_changes", group_name=OUTPUTS, partitions_def=PREFECTURES, kinds={"pandas"})
def library_changes_asset(
    context: dg.AssetExecutionContext, settings: ShixiangSettings, unified_library: pd.DataFrame
) -> pd.DataFrame:
    """What changed since the library published last (动态维护): per unit, items added,
    removed, or whose status or matched code changed (against the same partitions' rows)."""
    previous = store.read_columns(
        settings.engine(),
        "unified_library",
        changes.COMPARED_COLUMNS,
        partitions=partitions.slice_keys(run_file_index(context, settings), context.partition_keys),
    )
    out = changes.library_changes(previous, unified_library)
    context.add_output_metadata(
        {
            "dagster/row_count": len(out),
            "first_publication": previous is None,
            "changes": dg.MetadataValue.json(changes.summary(out)),
            "units_with_most_changes": preview(changes.by_unit(out)),
        }
    )
    return out


@dg.asset(group_name=OUTPUTS, partitions_def=PREFECTURES, kinds={"sqlalchemy"})
def published_library(
    context: dg.AssetExecutionContext,
    settings: ShixiangSettings,
    catalogue: ingest.Loaded,
    item_rows: ingest.Loaded,
    unified_library: pd.DataFrame,
    review_queue: pd.DataFrame,
    qc_issues: pd.DataFrame,
    reuse_stats: pd.DataFrame,
    library_changes: pd.DataFrame,
) -> dg.MaterializeResult:
    """Writes every output table to the library database in ONE transaction."""
    rejected_rows = pd.concat([catalogue.rejected_rows, item_rows.rejected_rows], ignore_index=True)
    rejected_files = pd.concat(
        [catalogue.rejected_files, item_rows.rejected_files], ignore_index=True
    )
    summary = library.run_summary(
        unified_library, qc_issues, rejected_rows, rejected_files, item_rows.rows_read
    )
    summary["changes"] = changes.summary(library_changes)
    index = run_file_index(context, settings)
    slices = partitions.slice_keys(index, context.partition_keys)
    summary["partitions"] = "all" if slices is None else slices
    started = time.perf_counter()
    context.log.info(
        f"发布到 {store.safe_url(settings.database_url)}（单个事务；"
        f"{'整个事项库' if slices is None else '分区 ' + '、'.join(slices)}）…"
    )
    tables = partitions.tag_slices(
        {
            "catalogue_items": catalogue.rows,
            "unified_library": unified_library,
            "review_queue": review_queue,
            "qc_issues": qc_issues,
            "reuse_stats": reuse_stats,
            "rejected_rows": rejected_rows,
            "rejected_files": rejected_files,
            "library_changes": library_changes,
        },
        partitions.file_partitions(index),
        context.partition_keys,
    )
    store.publish(
        settings.engine(),
        tables,
        partitions=slices,
        run_id=context.run_id,
        data_dir=settings.data_dir,
        summary=summary,
    )
    # The run's headline on the run itself: Runs and the run page show tags.
    context.instance.add_run_tags(context.run_id, run_summary_tags(summary))
    return dg.MaterializeResult(
        metadata={
            "database": dg.MetadataValue.text(store.safe_url(settings.database_url)),
            "summary": dg.MetadataValue.json(summary),
            "publish_seconds": round(time.perf_counter() - started, 2),
            "rejected_files": preview(rejected_files),
        }
    )


library_assets = [
    steward_decisions,
    item_rows,
    matched_items,
    qc_issues_asset,
    unified_library_asset,
    review_queue_asset,
    reuse_stats_asset,
    library_changes_asset,
    published_library,
]
library_checks = [qc_issues_suite, unified_library_suite]
all_level_assets = list(level_assets.values())
