"""The ``shixiang`` command line.

``shixiang run``    runs the nightly asset job in-process (the same job the schedule runs).
``shixiang export`` writes a published table to .csv or .xlsx.
``shixiang review`` is the steward's workflow (see commands/review.py).
``shixiang desk``   the review desk in the browser, and its users (see commands/desk.py).

Exit codes: 0 success; 1 the run failed or a blocking check failed (nothing was published), or
an export could not be written; 2 usage errors (missing data directory, unknown table, bad file
suffix, a database URL that is malformed, unreachable, read-only or names no database).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

from commands import desk as desk_cli
from commands import review as review_cli
from shixiang import export as export_mod
from shixiang import ingest, partitions, reports
from shixiang import settings as env_settings
from shixiang.changes import CHANGE_LABELS
from shixiang.config import LEVELS
from shixiang.export import ExportError
from shixiang.store import (
    DEFAULT_DATABASE_URL,
    OUTPUT_TABLES,
    DatabaseProblem,
    check_database,
    make_engine,
    read_table,
    safe_url,
)


def _print_summary(summary: dict) -> None:
    def p(*parts: str) -> None:
        print(*parts)

    status = summary.get("status", {})
    p(
        f"读入 {summary['rows_read']} 行实施清单数据；事项库 {summary['library_rows']} 行，拒收 {summary['rejected_rows']} 行。"
    )
    p("  状态：" + "，".join(f"{k} {v}" for k, v in sorted(status.items())))
    p("  各层级：" + "，".join(f"{k} {v}" for k, v in summary.get("by_level", {}).items()))
    if summary.get("rejected_row_reasons"):
        p(
            "  拒收行原因："
            + "；".join(f"{k} ×{v}" for k, v in summary["rejected_row_reasons"].items())
        )
    files = summary.get("rejected_files", [])
    if files:
        p(f"  拒收文件 {len(files)} 个：")
        for f in files:
            p(f"    - {f['source_file']}：{f['reason']}")
    p(
        f"  质检问题 {summary['qc_issues']} 条："
        + "，".join(f"{k} {v}" for k, v in summary.get("qc_issues_by_rule", {}).items())
    )
    if summary.get("qc_issues_by_level"):
        p("    各层级：" + "，".join(f"{k} {v}" for k, v in summary["qc_issues_by_level"].items()))
    for u in summary.get("units_with_most_issues", []):
        p(f"    问题最多：{u['division_code']} {u['agency']}（{u['issues']} 条）")
    changed = summary.get("changes")
    if changed is not None:
        if any(changed.values()):
            p(
                "  与上次发布相比："
                + "，".join(f"{CHANGE_LABELS[k]} {v}" for k, v in changed.items())
                + "（明细：shixiang export library_changes）"
            )
        else:
            p("  与上次发布相比：没有变化（或这是第一次发布）")


def _print_failed_check(evaluation) -> None:
    """One line per failed rule of a failed check: rule, message, count, first row ids."""
    severity = evaluation.severity.value if evaluation.severity else "ERROR"
    meta = {k: (v.value if hasattr(v, "value") else v) for k, v in evaluation.metadata.items()}
    print(f"检查未通过 [{severity}] {evaluation.check_name}", file=sys.stderr)
    problems = list(meta.get("problems") or []) + ([meta["problem"]] if "problem" in meta else [])
    for problem in problems:
        print(f"    {problem}", file=sys.stderr)
    for failure in (meta.get("gx") or {}).get("failures", []):
        ids = "、".join(failure.get("failing_ids", [])[:5])
        print(
            f"    {failure['rule_id']} {failure['message']}：{failure['unexpected_count']} 行"
            + (f"（{ids} …）" if ids else "")
            + (f" 错误：{failure['error']}" if failure.get("error") else ""),
            file=sys.stderr,
        )


def _step_seconds(instance, run_id: str) -> dict[str, float]:
    """Wall time of each step of a run (assets and checks), from the run's event log."""
    import dagster as dg

    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = record.timestamp
        elif (event.is_step_success or event.is_step_failure) and event.step_key in started:
            seconds[event.step_key] = round(record.timestamp - started[event.step_key], 2)
    return seconds


def _report_timings(seconds: dict[str, float], target: str) -> None:
    """``--timings``: a table on standard output ("-"), or JSON into a file."""
    if target != "-":
        Path(target).write_text(json.dumps(seconds, ensure_ascii=False, indent=2), "utf-8")
        return
    width = max((len(k) for k in seconds), default=0)
    print("各步骤用时（秒，按用时从长到短）：")
    for step, sec in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {step:<{width}}  {sec:7.2f}")


def cmd_run(args: argparse.Namespace) -> int:
    data_dir = Path(env_settings.from_env(data_dir=args.data_dir).data_dir)
    if not data_dir.is_dir():
        print(f"错误：数据目录不存在：{data_dir}", file=sys.stderr)
        return 2
    missing = [f for f in ("catalogue", *LEVELS) if not (data_dir / f).is_dir()]
    if "catalogue" in missing:
        print(f"错误：{data_dir} 下没有 catalogue/ 文件夹（通用目录）", file=sys.stderr)
        return 2
    if missing:
        print(
            f"提示：{data_dir} 下没有这些层级文件夹，按空清单处理：{'、'.join(missing)}",
            file=sys.stderr,
        )
    url = args.database_url

    # Dagster is imported here, not at module import, so `shixiang export` starts fast.
    import dagster as dg

    from assets.partitions import file_index, register, whole_run_tags
    from pipelines.definitions import build_definitions
    from pipelines.jobs import NIGHTLY_JOB_NAME
    from pipelines.resources import settings_from_env

    settings = settings_from_env(data_dir=str(data_dir), database_url=url)
    job = build_definitions(settings, in_memory=True).resolve_job_def(NIGHTLY_JOB_NAME)
    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    if args.measure:
        tracemalloc.start()
    if not args.partition:
        # Files read to place them in their partitions are kept for the run's own reading,
        # and their names parsed meanwhile by a helper when the match cache cannot help.
        with _name_prefetch(settings) as ahead:
            tags = whole_run_tags(instance, settings, cache=True, names=ahead.add)
            ahead.flush()
            print(f"shixiang run: {data_dir} → {safe_url(url)}", flush=True)
            return _run_once(job, instance, args, settings, None, tags, ahead)
    keys = partitions.keys(file_index(settings))
    unknown = sorted(set(args.partition) - set(keys))
    if unknown:
        print(
            f"错误：数据目录中没有分区 {'、'.join(unknown)}；现有分区：{'、'.join(keys)}",
            file=sys.stderr,
        )
        return 2
    register(instance, keys)
    status = 0
    for key in dict.fromkeys(args.partition):
        print(f"shixiang run: {data_dir} 分区 {key} → {safe_url(url)}", flush=True)
        status = max(status, _run_once(job, instance, args, settings, key, {}))
    return status


def _name_prefetch(settings):
    """:func:`shixiang.prefetch.for_first_night` for the settings' catalogue and database (the
    idle one when the catalogue cannot be read: its step reports why)."""
    from shixiang import prefetch

    try:
        catalogue = ingest.load_catalogue(settings.data_path).rows
    except Exception:
        return prefetch.NamePrefetch()
    return prefetch.for_first_night(catalogue, settings.engine())


def _run_once(
    job,
    instance,
    args: argparse.Namespace,
    settings,
    partition: str | None,
    tags: dict,
    ahead=None,
) -> int:
    """One in-process run of the nightly job: of one partition, or of every partition the
    instance knows (one run; the library is then replaced whole). ``ahead``: names parsed
    ahead for it (:mod:`shixiang.prefetch`)."""
    from pipelines.definitions import LOCATION_NAME, file_under_code_location

    url = settings.database_url
    tags = {
        **tags,
        "shixiang/source": "cli",
        "shixiang/data_dir": settings.data_dir,
        # The code location's label (workspace.yaml: location shixiang), which the UI's
        # run filters and Overview timeline use: an in-process run has no origin of its own.
        ".dagster/repository": f"__repository__@{LOCATION_NAME}",
    }
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        partition_key=partition,
        run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
        tags=tags,
        resources={"name_prefetch": ahead} if ahead is not None else None,
    )
    elapsed = time.perf_counter() - started
    if instance.is_persistent:
        file_under_code_location(instance, result.run_id)
    if args.timings:
        _report_timings(_step_seconds(instance, result.run_id), args.timings)
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for e in failed_checks:
        _print_failed_check(e)
    if not result.success:
        print(
            "运行失败：阻断性检查未通过或步骤出错，本次没有发布，原有事项库保持不变。",
            file=sys.stderr,
        )
        for event in result.all_events:
            if event.is_step_failure:
                print(
                    f"  步骤失败：{event.step_key}：{event.event_specific_data.error.message.strip()[:500]}",
                    file=sys.stderr,
                )
        return 1
    pubs = read_table(make_engine(url), "publications")
    summary = json.loads(pubs.sort_values("id").iloc[-1]["summary"])
    _print_summary(summary)
    print(f"完成，用时 {elapsed:.1f} 秒。事项库：{safe_url(url)}")
    docs = settings.run_docs_dir(result.run_id) / "index.html"
    if docs.exists():
        print(f"GX 数据文档（Data Docs）：{docs}")
    if args.measure:
        _, peak = tracemalloc.get_traced_memory()
        print(f"python heap peak {peak / 2**20:.0f} MiB")
    return 0


def cmd_export_issues(args: argparse.Namespace) -> int:
    engine = make_engine(args.database_url)
    if args.all:
        out_dir = Path(args.out or "var/issue_lists")
        failures: list[tuple[str, str]] = []
        paths = reports.write_all(engine, out_dir, failures)
        print(f"已为 {len(paths)} 个单位导出质检问题清单到 {out_dir}/")
        if failures:
            print(f"错误：{len(failures)} 个单位的质检问题清单导出失败：", file=sys.stderr)
            for unit, reason in failures:
                print(f"  {unit}：{reason}", file=sys.stderr)
            return 1
        return 0
    if not args.unit:
        print("错误：请用 --unit 行政区划代码 指定单位，或用 --all 导出所有单位", file=sys.stderr)
        return 2
    known = {code for code, _ in reports.units_in_scope(engine, "")}
    if args.unit not in known:
        print(f"错误：事项库中没有单位 {args.unit}（也没有它被拒收的文件或行）", file=sys.stderr)
        return 2
    path = Path(args.out or f"质检问题清单_{args.unit}.xlsx")
    try:
        reports.write_issue_workbook(reports.unit_issue_list(engine, "", args.unit), path)
    except ExportError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print(f"已导出单位 {args.unit} 的质检问题清单到 {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.table == "issues":
        return cmd_export_issues(args)
    if args.table not in OUTPUT_TABLES:
        print(f"错误：未知的表 {args.table}；可导出：{', '.join(OUTPUT_TABLES)}", file=sys.stderr)
        return 2
    out = Path(args.out or f"{args.table}.{args.format}")
    try:
        frame = read_table(make_engine(args.database_url), args.table)
        n = export_mod.write_table(frame, out, sheet_name=args.table)
    except ExportError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(f"已导出 {n} 行到 {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shixiang", description="事项库：通用目录与各级实施清单的比对与发布"
    )
    parser.set_defaults(writes_database=False)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the nightly job in-process and publish the library")
    run.add_argument(
        "--data-dir",
        default=None,
        help=f"default: ${env_settings.ENV['data_dir']} or {env_settings.DEFAULTS.data_dir}",
    )
    run.add_argument(
        "--database-url",
        default=None,
        help=f"SQLAlchemy URL (default: $SHIXIANG_DATABASE_URL or {DEFAULT_DATABASE_URL})",
    )
    run.add_argument(
        "--partition",
        action="append",
        metavar="KEY",
        help="run only this prefecture's partition (its first four division-code digits, e.g. "
        "5116; 5100 for the province's own units) and publish only its slice; repeat for "
        "several (one run each). Default: every partition in one run, the library replaced whole",
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.add_argument(
        "--measure", action="store_true", help="also report the Python heap peak (slower)"
    )
    run.add_argument(
        "--timings",
        nargs="?",
        const="-",
        metavar="FILE",
        help="report each step's wall time: a table, or JSON into FILE",
    )
    run.set_defaults(func=cmd_run, writes_database=True)

    exp = sub.add_parser("export", help="write a published table to .csv or .xlsx")
    exp.add_argument(
        "table", help="issues (per-unit issue lists), or a table: " + ", ".join(OUTPUT_TABLES)
    )
    exp.add_argument("--unit", help="with issues: the unit's 行政区划代码")
    exp.add_argument(
        "--all", action="store_true", help="with issues: one workbook per unit into --out DIR"
    )
    exp.add_argument("--database-url", default=None)
    exp.add_argument(
        "--out", default=None, help="output file (.csv or .xlsx); default <table>.<format>"
    )
    exp.add_argument("--format", default="csv", choices=["csv", "xlsx"])
    exp.set_defaults(func=cmd_export)

    database_help = f"SQLAlchemy URL (default: $SHIXIANG_DATABASE_URL or {DEFAULT_DATABASE_URL})"
    review_cli.add_parser(sub, database_help)
    desk_cli.add_parser(sub, database_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Every command works on the library database: --database-url, else the environment.
    args.database_url = env_settings.from_env(database_url=args.database_url).database_url
    # One line naming the problem, before any work (instead of a traceback, or a failed run
    # step that only names the step).
    try:
        check_database(args.database_url, write=args.writes_database)
    except DatabaseProblem as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return int(args.func(args))


def cli() -> None:
    """The ``shixiang`` console script: :func:`main`, and after ``run`` an exit without the
    interpreter's teardown (:func:`_exit_now`)."""
    status = main()
    if sys.argv[1:2] == ["run"]:
        _exit_now(status)
    sys.exit(status)


def _exit_now(status: int) -> None:
    """Leave the process at once, after its exit handlers. A run leaves millions of objects
    behind (Dagster's events and definitions, GX, pandas' caches), which the interpreter frees
    one by one on the way out: 1.8-1.9 s after the last line of a 500,000-row run. Everything
    a run writes is written by then: the library committed, the timings file and the Data Docs
    closed, the output flushed here; the exit handlers (logging's flush, temporary folders)
    still run. Where this Python has no ``atexit._run_exitfuncs``, the normal exit."""
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:
        sys.exit(status)
    run_exit_handlers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    cli()
