"""``shixiang review``: the steward's commands (list, show, decide, undo, history, export, import).

Decisions are recorded in the library database and applied by the next run (or by the
``steward_decisions_recorded`` sensor in Dagster). It imports no Dagster, so steward commands
start fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from shixiang import candidates, review_sheet
from shixiang import decisions as dec
from shixiang.config import LEVELS, STATUSES
from shixiang.export import ExportError
from shixiang.store import make_engine, read_decisions, read_table, record_decisions


def _tables(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = make_engine(url)
    library = read_table(engine, "unified_library")
    catalogue = read_table(engine, "catalogue_items")
    if library.empty:
        raise SystemExit("错误：事项库为空，请先运行 shixiang run")
    return library, catalogue


def _row(library: pd.DataFrame, row_id: str) -> pd.Series:
    hit = library.loc[library["row_id"] == row_id]
    if hit.empty:
        raise SystemExit(f"错误：事项库中没有行 {row_id}（行号形如 county/文件.csv:12）")
    return hit.iloc[0]


def _print_frame(frame: pd.DataFrame, limit: int | None = None) -> None:
    if frame.empty:
        print("（无）")
        return
    shown = frame if limit is None else frame.head(limit)
    print(shown.to_string(index=False, max_colwidth=40))
    if limit is not None and len(frame) > limit:
        print(f"… 共 {len(frame)} 行，只显示前 {limit} 行（--limit）")


def cmd_list(args: argparse.Namespace) -> int:
    library, _ = _tables(args.database_url)
    f = library
    if args.unit:
        f = f.loc[f["division_code"] == args.unit]
    if args.level:
        f = f.loc[f["level"] == args.level]
    if args.status:
        f = f.loc[f["status"] == args.status]
    if args.type:
        f = f.loc[f["item_type"] == args.type]
    if args.min_score is not None:
        f = f.loc[f["score"] >= args.min_score]
    if args.max_score is not None:
        f = f.loc[f["score"] <= args.max_score]
    first = candidates.spread(f["candidates"], n=1)
    out = pd.DataFrame(
        {
            "row_id": f["row_id"],
            "division_code": f["division_code"],
            "agency": f["agency"],
            "item_name": f["item_name"],
            "status": f["status"],
            "score": f["score"],
            "candidate": (
                first["candidate_1_code"].fillna("") + " " + first["candidate_1_name"].fillna("")
            ).str.strip(),
        }
    )
    _print_frame(out, args.limit)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    library, _ = _tables(args.database_url)
    row = _row(library, args.row_id)
    for col in (
        "row_id",
        "division_code",
        "level",
        "agency",
        "item_name",
        "name_key",
        "status",
        "business_code",
        "catalogue_name",
        "match_method",
        "score",
        "margin",
        "explanation",
    ):
        print(f"{col:>15}: {'' if pd.isna(row[col]) else row[col]}")
    print("     candidates:")
    for c in candidates.decode(row["candidates"]):
        print(f"                 {c.business_code}  {c.name}  ({c.score})")
    print("        history:")
    hist = dec.history_for(
        read_decisions(make_engine(args.database_url)),
        division_code=row["division_code"],
        name_key=row["name_key"],
    )
    _print_frame(
        hist[["id", "decided_at", "steward", "decision", "scope", "business_code", "reason"]]
        if len(hist)
        else hist
    )
    return 0


def _record_one(args: argparse.Namespace, decision: str) -> int:
    steward = _steward(args)
    if steward is None:
        return 2
    library, catalogue = _tables(args.database_url)
    row = _row(library, args.row_id)
    d = dec.Decision(
        steward=steward,
        name_key=row["name_key"],
        decision=decision,
        scope=args.scope,
        division_code=row["division_code"],
        item_name=row["item_name"],
        business_code=getattr(args, "code", None),
        reason=args.reason,
        source="cli",
        catalogue_fingerprint=dec.catalogue_fingerprint(catalogue),
    )
    try:
        d.validate(catalogue["business_code"])
    except dec.DecisionError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    record_decisions(make_engine(args.database_url), [d])
    where = (
        "所有单位的同名事项"
        if args.scope == dec.SCOPE_ALL
        else f"单位 {row['division_code']} 的“{row['item_name']}”"
    )
    print(
        f"已记录：{dec.DECISION_LABELS[decision]} {where}。下次运行（或 Dagster 传感器）将应用该决定。"
    )
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    return _record_one(args, args.decision)


def cmd_undo(args: argparse.Namespace) -> int:
    args.code = None
    return _record_one(args, dec.UNDO)


def cmd_history(args: argparse.Namespace) -> int:
    engine = make_engine(args.database_url)
    name_key = division = None
    if args.row_id:
        library, _ = _tables(args.database_url)
        row = _row(library, args.row_id)
        name_key, division = row["name_key"], row["division_code"]
    hist = dec.history_for(
        read_decisions(engine), division_code=division or args.unit, name_key=name_key
    )
    _print_frame(
        hist[
            [
                "id",
                "decided_at",
                "steward",
                "decision",
                "scope",
                "division_code",
                "item_name",
                "business_code",
                "reason",
                "source",
            ]
        ]
        if len(hist)
        else hist,
        args.limit,
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    library, catalogue = _tables(args.database_url)
    lines = review_sheet.review_lines(library, args.unit)
    out = Path(args.out or f"核对表_{args.unit}.xlsx")
    try:
        review_sheet.write_sheet(
            lines, out, unit=args.unit, fingerprint=dec.catalogue_fingerprint(catalogue)
        )
    except ExportError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print(f"已导出 {len(lines)} 个待核对事项到 {out}")
    return 0


def _steward(args: argparse.Namespace) -> str | None:
    """The steward's name, trimmed; None (after saying why) when it is blank."""
    name = (args.steward or "").strip()
    if not name:
        print("错误：--steward 不能为空：请填写数据管理员姓名（决定按姓名记录）", file=sys.stderr)
        return None
    return name


def cmd_import(args: argparse.Namespace) -> int:
    steward = _steward(args)
    if steward is None:
        return 2
    library, catalogue = _tables(args.database_url)
    try:
        lines, meta = review_sheet.read_sheet(Path(args.file))
    except dec.DecisionError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    result = review_sheet.validate_sheet(
        lines,
        meta,
        steward=steward,
        library=library,
        catalogue_names=dict(zip(catalogue["business_code"], catalogue["item_name"], strict=True)),
        fingerprint=dec.catalogue_fingerprint(catalogue),
        source=f"sheet:{Path(args.file).name}",
    )
    in_force = dec.effective(read_decisions(make_engine(args.database_url)))
    current = {
        (r.scope, r.division_code if r.scope == dec.SCOPE_ROW else None, r.name_key): (
            r.decision,
            r.business_code,
        )
        for r in in_force.itertuples()
    }
    fresh = [
        d
        for d in result.decisions
        if current.get((d.scope, d.division_code if d.scope == dec.SCOPE_ROW else None, d.name_key))
        != (d.decision, d.business_code)
    ]
    if len(fresh) < len(result.decisions):
        print(f"提示：{len(result.decisions) - len(fresh)} 条决定与现行决定相同，未重复记录")
    result.decisions = fresh
    for w in result.warnings:
        print(f"提示：{w}")
    for line, reason in result.rejected:
        print(f"第 {line} 行未导入：{reason}", file=sys.stderr)
    written = record_decisions(make_engine(args.database_url), result.decisions)
    print(
        f"已导入 {written} 条决定（一个事务），未导入 {len(result.rejected)} 行，未填写决定 {result.skipped} 行。"
    )
    return 1 if result.rejected else 0


def add_parser(sub: argparse._SubParsersAction, database_help: str) -> None:
    review = sub.add_parser(
        "review", help="steward review: list, show, decide, undo, history, export, import"
    )
    rsub = review.add_subparsers(dest="review_command", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database-url", default=None, help=database_help)
        return p

    p = common(rsub.add_parser("list", help="rows of the library, filtered"))
    p.add_argument("--unit", help="行政区划代码 of the unit")
    p.add_argument("--level", choices=LEVELS)
    p.add_argument(
        "--status", default="review", choices=[*STATUSES, ""], help="default: review ('' for all)"
    )
    p.add_argument("--type", help="事项类型 as submitted, e.g. 行政许可")
    p.add_argument("--min-score", type=float)
    p.add_argument("--max-score", type=float)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_list)

    p = common(rsub.add_parser("show", help="one row with its candidates, explanation and history"))
    p.add_argument("row_id")
    p.set_defaults(func=cmd_show)

    for name, fn, helptext in (
        ("decide", cmd_decide, "record a decision for a row"),
        ("undo", cmd_undo, "withdraw the decision in force"),
    ):
        p = common(rsub.add_parser(name, help=helptext))
        p.add_argument("row_id")
        if name == "decide":
            p.add_argument(
                "--decision", required=True, choices=[dec.CONFIRM, dec.LOCAL, dec.REJECT]
            )
            p.add_argument("--code", help="业务办理项编码 (required with confirm)")
        p.add_argument("--reason")
        p.add_argument("--steward", required=True)
        p.add_argument(
            "--scope",
            default=dec.SCOPE_ROW,
            choices=dec.SCOPES,
            help="row: this unit's identical name; all: every unit's identical name",
        )
        p.set_defaults(func=fn, writes_database=True)

    p = common(rsub.add_parser("history", help="decisions, oldest first"))
    p.add_argument("--unit")
    p.add_argument("--row-id")
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(func=cmd_history)

    p = common(rsub.add_parser("export", help="write a unit's review sheet (.xlsx)"))
    p.add_argument("--unit", required=True)
    p.add_argument("--out")
    p.set_defaults(func=cmd_export)

    p = common(
        rsub.add_parser("import", help="validate a filled-in review sheet and record its decisions")
    )
    p.add_argument("file")
    p.add_argument("--steward", required=True)
    p.set_defaults(func=cmd_import, writes_database=True)
