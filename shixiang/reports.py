"""Reports by scope: the issue list (质检问题清单) a unit receives and the statistics (统计查询).

The review desk shows them; ``shixiang export issues`` writes the same issue lists as .xlsx
(one per unit with work, :func:`write_all`), so a unit's workbook is one thing wherever it
comes from — including a unit whose only file was rejected.

Everything here reads the published tables (``unified_library``, ``qc_issues``,
``reuse_stats``, ``rejected_files``, ``rejected_rows``, ``library_changes``, ``publications``)
and takes the user's scope prefix first: a 12-digit 行政区划代码 is in scope when it starts with
the prefix (``""``: every unit). The database filters by the prefix (a range of codes, which the
indexes on ``division_code`` serve) and every frame is filtered again in pandas, so nothing outside the scope is ever returned.

Rejected files have no 行政区划代码 of their own: a file belongs to the unit named by its file
name's leading digits (``county/511602_广安区_实施清单.csv`` → 511602000000, padded with zeros
to 12 digits) and to every unit that has library rows from that file. A rejected row belongs to
the 12-digit code in its raw cells, or, without one, to its file's units.

Charts are inline SVG rendered here (no JavaScript, no web fonts, nothing fetched from another
host); every label is XML-escaped, since unit names are untrusted data.

Pure Python: pandas and SQLAlchemy; no Dagster, no web framework.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from markupsafe import Markup, escape
from sqlalchemy import Engine, func, inspect, select

from shixiang import candidates
from shixiang.changes import CHANGE_LABELS
from shixiang.config import (
    LEVEL_LABELS,
    LEVELS,
    STATUS_CONFIRMED,
    STATUS_LOCAL,
    STATUS_MATCHED,
    STATUS_REVIEW,
    STATUS_UNMATCHED,
    TIMEZONE,
)
from shixiang.export import ExportError, write_xlsx
from shixiang.rules import SEVERITY_ERROR, SEVERITY_WARNING, TITLES
from shixiang.scope import (
    ScopeError,
    code_range,
    file_division_codes,
    in_scope,
    level_of,
    valid_code,
)
from shixiang.tables import CHANGE_COLUMNS, OUTPUT_TABLES, publications

# --- constants the web layer may show ---------------------------------------------------------

# Chinese headers of the issue list's sheets (the unit's workbook is a public contract).
SEVERITY_LABELS = {SEVERITY_ERROR: "错误", "warning": "警告"}

ISSUE_HEADERS = {
    "source_file": "文件",
    "source_row": "行号",
    "agency": "实施主体",
    "item_name": "事项名称",
    "business_code": "业务办理项编码",
    "rule_id": "规则",
    "element": "要素",
    "severity": "严重程度",
    "message": "问题描述",
    "suggestion": "整改建议",
}
ROW_HEADERS = {
    "source_file": "文件",
    "source_row": "行号",
    "agency": "实施主体",
    "item_name": "事项名称",
    "claimed_code": "填报的基本编码",
    "explanation": "说明",
}
CANDIDATE_HEADERS = {f"candidate_{i}": f"候选{i}（编码 名称 相似度）" for i in (1, 2, 3)}

SHEET_SUMMARY = "汇总"
SHEET_ISSUES = "质检问题"
SHEET_UNMATCHED = "未匹配事项"
SHEET_REVIEW = "待核对事项"
SHEET_REJECTED_FILES = "拒收文件"
SHEET_REJECTED_ROWS = "拒收行"
SHEETS: tuple[str, ...] = (
    SHEET_SUMMARY,
    SHEET_ISSUES,
    SHEET_UNMATCHED,
    SHEET_REVIEW,
    SHEET_REJECTED_FILES,
    SHEET_REJECTED_ROWS,
)

CODE_HEADER = {"division_code": "行政区划代码"}
REJECTED_FILE_HEADERS = {
    "source_file": "文件",
    "division_code": "行政区划代码（据文件名）",
    "reason": "拒收原因",
}
REJECTED_ROW_HEADERS = {
    "source_file": "文件",
    "source_row": "行号",
    "division_code": "所属单位",
    "raw_division_code": "填报的行政区划代码",
    "raw_agency": "实施主体",
    "raw_item_name": "事项名称",
    "reason": "拒收原因",
    "raw": "原始内容",
}
STATUS_LABELS: dict[str, str] = {
    STATUS_MATCHED: "已匹配",
    STATUS_CONFIRMED: "已确认",
    STATUS_REVIEW: "待核对",
    STATUS_UNMATCHED: "未匹配",
    STATUS_LOCAL: "本地事项",
}
_REUSED = (STATUS_MATCHED, STATUS_CONFIRMED)
_COUNTS = ["submitted", "matched", "review", "unmatched", "local"]
LATEST_CHANGES = 200

# System fonts only (Linux, then Windows), never a web font: the desk runs on intranets.
CHART_FONTS = '"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif'
BAR_COLOUR = "#2f6fb0"
SEVERITY_COLOURS: dict[str, str] = {
    SEVERITY_LABELS[SEVERITY_ERROR]: "#c0392b",
    SEVERITY_LABELS[SEVERITY_WARNING]: "#e0a030",
}
_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}")
# A top-level key of a rejected row's raw JSON: a quote inside a JSON string is escaped (\"), so
# an unescaped "division_code" followed by a colon can only be a key.
_RAW_CODE = r'(?<!\\)"division_code"\s*:\s*"([0-9]{12})"'


# --- reading, always within the scope ------------------------------------------------------


def _has_table(engine: Engine, name: str) -> bool:
    with engine.connect() as conn:
        return inspect(conn).has_table(name)


def _code_filter(column, prefix: str, unit: str | None) -> list:
    """SQL conditions for ``column`` in the scope (and equal to ``unit`` when given)."""
    where = []
    if unit is not None:
        where.append(column == unit)
    bounds = code_range(prefix)
    if bounds:  # a range, not LIKE: an index on the code serves it on both backends
        where += [column >= bounds[0], column < bounds[1]]
    return where


def _matches(codes: pd.Series, prefix: str, unit: str | None = None) -> pd.Series:
    """Boolean mask: codes in the scope (equal to ``unit`` when given); missing codes are in
    no scope but the whole province's (``prefix == ""`` without a unit)."""
    if unit is None and not prefix:
        return pd.Series(True, index=codes.index, dtype="bool")
    text = codes.astype("object").where(codes.notna(), "").astype("str")
    mask = text.str.startswith(prefix)
    if unit is not None:
        mask &= text == unit
    return mask.astype("bool")


def _read(
    engine: Engine,
    name: str,
    columns: list[str],
    prefix: str,
    unit: str | None = None,
    *,
    where: tuple = (),
    code_column: str = "division_code",
    order_by: tuple[str, ...] = (),
    limit: int | None = None,
) -> pd.DataFrame:
    """Columns of a published table for the codes in scope (an empty frame when nothing was
    published yet), optionally ordered and limited by the database. Filtered by the database
    and again here."""
    table = OUTPUT_TABLES[name]
    if not _has_table(engine, name):
        return pd.DataFrame(columns=columns)
    stmt = (
        select(*(table.c[c] for c in columns))
        .where(*_code_filter(table.c[code_column], prefix, unit), *where)
        .order_by(*(table.c[c] for c in order_by))
        .limit(limit)
    )
    with engine.connect() as conn:
        frame = pd.read_sql(stmt, conn)
    return frame.loc[_matches(frame[code_column], prefix, unit)].reset_index(drop=True)


def _library_files(engine: Engine, prefix: str, unit: str | None = None) -> pd.DataFrame:
    """Distinct (source_file, division_code) of library rows in scope."""
    table = OUTPUT_TABLES["unified_library"]
    if not _has_table(engine, "unified_library"):
        return pd.DataFrame(columns=["source_file", "division_code"])
    stmt = (
        select(table.c.source_file, table.c.division_code)
        .where(*_code_filter(table.c.division_code, prefix, unit))
        .distinct()
    )
    with engine.connect() as conn:
        frame = pd.read_sql(stmt, conn)
    return frame.loc[_matches(frame["division_code"], prefix, unit)].reset_index(drop=True)


def _file_unit_names(source_files: pd.Series) -> pd.Series:
    """The name part of a file name: ``511623_邻水县_实施清单.csv`` → ``邻水县``."""
    stem = (
        source_files.astype("str")
        .str.replace("\\", "/", regex=False)
        .str.rsplit("/", n=1)
        .str[-1]
        .str.rsplit(".", n=1)
        .str[0]
    )
    return stem.str.extract(r"^[0-9]{1,12}_([^_]+)", expand=False)


def _file_belongs(
    source_files: pd.Series, library_files: pd.DataFrame, prefix: str, unit: str | None
) -> pd.Series:
    """Files of the scope: named after a unit in scope, or holding library rows in scope."""
    by_name = _matches(file_division_codes(source_files), prefix, unit)
    by_rows = source_files.isin(set(library_files["source_file"].dropna()))
    return (by_name | by_rows).astype("bool")


def _rejected(
    engine: Engine, prefix: str, unit: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`rejected_in_scope`, or only one unit's (``unit``: the file names that unit, or
    the file holds its library rows; the row's raw code is that unit)."""
    files = (
        _read_all(engine, "rejected_files", ["source_file", "reason"])
        if _has_table(engine, "rejected_files")
        else pd.DataFrame(columns=["source_file", "reason"])
    )
    rows = (
        _read_all(engine, "rejected_rows", ["source_file", "source_row", "reason", "raw"])
        if _has_table(engine, "rejected_rows")
        else pd.DataFrame(columns=["source_file", "source_row", "reason", "raw"])
    )
    everything = unit is None and not prefix
    library_files = (
        pd.DataFrame(columns=["source_file", "division_code"])
        if everything
        else _library_files(engine, prefix, unit)
    )
    files = files.assign(division_code=file_division_codes(files["source_file"]))
    if not everything:
        files = files.loc[_file_belongs(files["source_file"], library_files, prefix, unit)]
    raw_code = rows["raw"].astype("object").where(rows["raw"].notna(), "").astype("str")
    raw_code = raw_code.str.extract(_RAW_CODE, expand=False)
    rows = rows.assign(
        division_code=raw_code.fillna(file_division_codes(rows["source_file"])).astype("object")
    )
    if not everything:
        belongs = np.where(
            raw_code.notna(),
            _matches(raw_code, prefix, unit),
            _file_belongs(rows["source_file"], library_files, prefix, unit),
        )
        rows = rows.loc[belongs.astype(bool)]
    files = files.sort_values("source_file", kind="stable").reset_index(drop=True)
    rows = rows.sort_values(["source_file", "source_row"], kind="stable").reset_index(drop=True)
    return files, rows


def _read_all(engine: Engine, name: str, columns: list[str]) -> pd.DataFrame:
    table = OUTPUT_TABLES[name]
    with engine.connect() as conn:
        return pd.read_sql(select(*(table.c[c] for c in columns)), conn)


def rejected_in_scope(engine: Engine, prefix: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rejected files and rejected rows of the scope.

    A file belongs to a unit when its file name's leading digits, padded with zeros to 12
    digits, are in scope, or when any library row from that file is in scope. A row belongs
    by the 12-digit ``division_code`` of its raw cells when it has one, else by its file.

    Returns ``(files, rows)``: ``files`` has columns ``source_file, reason, division_code``
    (the code from the file name, missing when the name has none), sorted by file; ``rows``
    has ``source_file, source_row, reason, raw, division_code`` (the raw cells' code, else
    the file name's), sorted by file and row. The empty prefix returns everything.
    """
    return _rejected(engine, prefix)


# --- the issue list --------------------------------------------------------------------------


def _check_unit(prefix: str, unit: str | None) -> None:
    if unit is None:
        return
    if not valid_code(unit) or not in_scope(prefix, unit):
        raise ScopeError(f"单位 {unit!r} 不在您的范围（{prefix or '全部单位'}）内")


def _latest_publication(engine: Engine) -> dict | None:
    if not _has_table(engine, "publications"):
        return None
    with engine.connect() as conn:
        pub = conn.execute(
            select(publications.c.id, publications.c.published_at, publications.c.run_id)
            .order_by(publications.c.id.desc())
            .limit(1)
        ).first()
    if pub is None:
        return None
    at = pub.published_at
    if isinstance(at, str):  # a driver without datetime parsing
        at = datetime.fromisoformat(at)
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return {
        "id": int(pub.id),
        "run_id": pub.run_id,
        "published_at": at,
        "published_at_text": at.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M"),
    }


# reuse_stats count columns → the status they count
_STATUS_COUNTS = {
    "matched": STATUS_MATCHED,
    "review": STATUS_REVIEW,
    "unmatched": STATUS_UNMATCHED,
    "local": STATUS_LOCAL,
}


def _status_counts(engine: Engine, prefix: str, unit: str | None) -> pd.DataFrame:
    """Library rows in scope counted per (division_code, level, agency, status), read from
    ``reuse_stats`` (the publish counted them already; a GROUP BY over 500,000 library rows
    costs a second). Its ``matched`` counts matched and confirmed rows: both are reused."""
    cols = ["division_code", "level", "agency", "status", "n"]
    per_unit = _read(
        engine,
        "reuse_stats",
        ["scope", "division_code", "level", "agency", *_STATUS_COUNTS],
        prefix,
        unit,
    )
    per_unit = per_unit.loc[per_unit["scope"] == "unit"]
    if per_unit.empty:
        return pd.DataFrame(columns=cols)
    long = per_unit.melt(
        id_vars=["division_code", "level", "agency"],
        value_vars=list(_STATUS_COUNTS),
        var_name="status",
        value_name="n",
    )
    long["status"] = long["status"].map(_STATUS_COUNTS)
    return long.loc[long["n"] > 0, cols].reset_index(drop=True)


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def _severity_counts(engine: Engine, prefix: str, unit: str | None) -> pd.Series:
    """The severity of every issue in scope, rebuilt from one GROUP BY (for a limited list)."""
    table = OUTPUT_TABLES["qc_issues"]
    if not _has_table(engine, "qc_issues"):
        return pd.Series([], dtype="object")
    stmt = (
        select(table.c.severity, func.count().label("n"))
        .where(*_code_filter(table.c.division_code, prefix, unit))
        .group_by(table.c.severity)
    )
    with engine.connect() as conn:
        counts = conn.execute(stmt).all()
    return pd.Series(np.repeat([c.severity for c in counts], [c.n for c in counts]), dtype="object")


def unit_issue_list(
    engine: Engine, prefix: str, unit: str | None = None, *, limit: int | None = None
) -> dict[str, pd.DataFrame]:
    """The issue list (质检问题清单) of the scope, or of one unit ``unit`` (a 12-digit code in
    the scope: ``ScopeError`` otherwise), as sheets with Chinese headers, in this order:

    * ``汇总``: columns ``项目, 数值`` (every value text);
    * ``质检问题``: ``行政区划代码`` + the headers of :data:`ISSUE_HEADERS`
      (严重程度 as 错误/警告, 整改建议 included);
    * ``未匹配事项``: ``行政区划代码`` + :data:`ROW_HEADERS`;
    * ``待核对事项``: the same + three candidate columns ``候选1（编码 名称 相似度）`` …;
    * ``拒收文件``: :data:`REJECTED_FILE_HEADERS` values;
    * ``拒收行``: :data:`REJECTED_ROW_HEADERS` values.

    A unit with no library rows (its only file was rejected) gets its rejected files and rows
    and a summary that says so. With ``limit`` (a page, not a download) the issue and row
    sheets hold their first ``limit`` rows, read so by the database, and ``frame.attrs
    ["total"]`` says how many there are; the summary counts everything.
    """
    _check_unit(prefix, unit)
    counts = _status_counts(engine, prefix, unit)
    issues = _read(
        engine,
        "qc_issues",
        ["division_code", *ISSUE_HEADERS],
        prefix,
        unit,
        order_by=("division_code", "source_file", "source_row", "rule_id"),
        limit=limit,
    ).sort_values(["division_code", "source_file", "source_row", "rule_id"], kind="stable")
    library = OUTPUT_TABLES["unified_library"]
    open_rows = {
        status: _read(
            engine,
            "unified_library",
            ["division_code", *ROW_HEADERS, "status", "candidates"],
            prefix,
            unit,
            where=(library.c.status == status,),
            order_by=("division_code", "source_file", "source_row"),
            limit=limit,
        ).sort_values(["division_code", "source_file", "source_row"], kind="stable")
        for status in (STATUS_UNMATCHED, STATUS_REVIEW)
    }
    files, rows = _rejected(engine, prefix, unit)

    severity = issues["severity"] if limit is None else _severity_counts(engine, prefix, unit)
    issues = issues.assign(severity=severity.map(SEVERITY_LABELS).fillna(severity))
    unmatched = open_rows[STATUS_UNMATCHED]
    review = open_rows[STATUS_REVIEW]
    review = pd.concat([review, candidates.labels(review["candidates"])], axis=1)
    per_status = counts.groupby("status")["n"].sum()
    n_review = int(per_status.get(STATUS_REVIEW, 0))

    summary = _summary(engine, prefix, unit, counts, severity, files, rows, n_review=n_review)
    row_cols = {**CODE_HEADER, **ROW_HEADERS}
    sheets = {
        SHEET_SUMMARY: summary,
        SHEET_ISSUES: _sheet(issues, {**CODE_HEADER, **ISSUE_HEADERS}),
        SHEET_UNMATCHED: _sheet(unmatched, row_cols),
        SHEET_REVIEW: _sheet(review, {**row_cols, **CANDIDATE_HEADERS}),
        SHEET_REJECTED_FILES: _sheet(files, REJECTED_FILE_HEADERS),
        SHEET_REJECTED_ROWS: _sheet(_raw_cells(rows), REJECTED_ROW_HEADERS),
    }
    totals = {
        SHEET_ISSUES: len(severity),
        SHEET_UNMATCHED: int(per_status.get(STATUS_UNMATCHED, 0)),
        SHEET_REVIEW: n_review,
    }
    for name, frame in sheets.items():
        frame.attrs["total"] = totals.get(name, len(frame))
    return sheets


def _sheet(frame: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
    return frame[list(headers)].rename(columns=headers).reset_index(drop=True)


def _raw_cells(rows: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows with the code, agency and name they were submitted with (from ``raw``;
    parsed for the scope's rejected rows only, which are few)."""

    def cell(raw: object, key: str) -> object:
        try:
            value = json.loads(raw).get(key) if isinstance(raw, str) else None
        except (ValueError, AttributeError):
            return None
        return None if value is None else str(value)

    out = rows.copy()
    for key in ("division_code", "agency", "item_name"):
        out[f"raw_{key}"] = rows["raw"].map(lambda r, key=key: cell(r, key)).astype("object")
    return out


def _summary(
    engine: Engine,
    prefix: str,
    unit: str | None,
    counts: pd.DataFrame,
    severity: pd.Series,
    files: pd.DataFrame,
    rows: pd.DataFrame,
    *,
    n_review: int,
) -> pd.DataFrame:
    by_status = counts.groupby("status")["n"].sum()
    submitted = int(counts["n"].sum())
    reused = int(by_status.reindex(list(_REUSED), fill_value=0).sum())
    items: list[tuple[str, object]] = []
    if unit is not None:
        levels = counts["level"].dropna()
        level = levels.iloc[0] if len(levels) else _level_of(unit)
        agencies = "、".join(sorted(counts["agency"].dropna().unique()))
        if not agencies:
            named = _file_unit_names(files.loc[files["division_code"] == unit, "source_file"])
            named = "、".join(sorted(named.dropna().unique()))
            agencies = f"（没有入库事项{'；文件名：' + named if named else ''}）"
        items += [
            ("行政区划代码", unit),
            ("层级", LEVEL_LABELS.get(level, level)),
            ("实施主体", agencies),
        ]
    else:
        items += [
            (
                "范围",
                f"行政区划代码以 {prefix} 开头的单位（本单位及下级）" if prefix else "全部单位",
            ),
            ("有事项入库的单位", counts["division_code"].nunique()),
        ]
    items += [
        ("报送事项", submitted),
        ("已复用目录事项", reused),
        ("复用率", _percent(reused, submitted)),
        ("待核对", n_review),
        ("未匹配", int(by_status.get(STATUS_UNMATCHED, 0))),
        ("本地事项", int(by_status.get(STATUS_LOCAL, 0))),
        ("质检问题", len(severity)),
        ("其中错误", int((severity == SEVERITY_ERROR).sum())),
        ("其中警告", int((severity == SEVERITY_WARNING).sum())),
        ("拒收文件", len(files)),
        ("拒收行", len(rows)),
    ]
    pub = _latest_publication(engine)
    items.append(("发布时间", pub["published_at_text"] if pub else "尚未发布"))
    if submitted == 0 and (len(files) or len(rows)):
        items.append(
            (
                "说明",
                "没有事项进入事项库：报送的文件或行被拒收。请按“拒收文件”“拒收行”表的原因修正后重新报送。",
            )
        )
    elif submitted == 0:
        items.append(("说明", "范围内没有已发布的事项。"))
    return pd.DataFrame(
        {"项目": [k for k, _ in items], "数值": [str(v) for _, v in items]}, dtype="object"
    )


def _level_of(code: str) -> str:
    try:
        return level_of(code)
    except ValueError:
        return ""


def _joined_names(
    frame: pd.DataFrame, key: str, name: str, *, distinct: bool = False, limit: int = 60
) -> dict[str, str]:
    """``key`` → its ``name`` values sorted and 、-joined (at most ``limit`` characters), with
    plain dictionaries: a groupby with a Python lambda per group costs seconds on 5,000 units."""
    groups: dict[str, list[str]] = {}
    for k, v in zip(frame[key], frame[name].astype(str), strict=True):
        groups.setdefault(k, []).append(v)
    return {k: "、".join(sorted(set(vs) if distinct else vs))[:limit] for k, vs in groups.items()}


def units_in_scope(engine: Engine, prefix: str) -> list[tuple[str, str]]:
    """Every unit of the scope an issue list can be asked for, sorted by code: ``(code,
    label)``; the label is the unit's agencies (``、``-joined, at most 60 characters), or, for
    a unit known only from rejected files or rows, the name in its file name (or the rejected
    row's 实施主体) followed by ``（仅有拒收）``."""
    stats = _read(engine, "reuse_stats", ["scope", "division_code", "agency"], prefix)
    stats = stats.loc[stats["scope"] == "unit"]
    out = _joined_names(stats.dropna(), "division_code", "agency", distinct=True)
    files, rows = _rejected(engine, prefix)
    # A file name names the unit its leading digits stand for; a row whose code came from its
    # raw cells is named by its raw 实施主体 instead.
    rows = _raw_cells(rows)
    from_file = rows["division_code"].eq(file_division_codes(rows["source_file"])).fillna(False)
    row_names = _file_unit_names(rows["source_file"]).where(from_file, rows["raw_agency"])
    known = pd.DataFrame(
        {
            "division_code": pd.concat([files["division_code"], rows["division_code"]]),
            "name": pd.concat([_file_unit_names(files["source_file"]), row_names]),
        }
    ).dropna(subset=["division_code"])
    known = known.loc[_matches(known["division_code"], prefix) & ~known["division_code"].isin(out)]
    known["name"] = known["name"].astype("object").where(known["name"].ne("").fillna(False))
    for code, name in known.groupby("division_code")["name"].first().items():
        if valid_code(code):
            out[code] = f"{name}（仅有拒收）" if isinstance(name, str) else "（仅有拒收）"
    return sorted(out.items())


def write_issue_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write the sheets of :func:`unit_issue_list` to an .xlsx at ``path``: atomically, text
    cells that cannot run as formulas (``export.ExportError`` and no file on failure)."""
    path = Path(path)
    write_xlsx(path, sheets)  # cleans cells and makes them formula-safe
    return path


# --- statistics ------------------------------------------------------------------------------


def _rates(frame: pd.DataFrame) -> pd.Series:
    return (
        (frame["matched"] / frame["submitted"].where(frame["submitted"] > 0)).round(4).fillna(0.0)
    )


def _level_order(levels: pd.Series) -> pd.Series:
    order = {level: i for i, level in enumerate(LEVELS)}
    return levels.map(order).fillna(len(order))


def stats(engine: Engine, prefix: str) -> dict:
    """The statistics of the scope. Keys:

    * ``prefix``: the scope prefix;
    * ``publication``: the latest publication, ``{"id", "run_id", "published_at"
      (aware UTC datetime), "published_at_text" ("YYYY-MM-DD HH:MM UTC")}``, or None;
    * ``totals``: ``{"units", "agencies", "submitted", "matched", "review", "unmatched",
      "local", "reuse_rate"}`` over the scope (ints; reuse_rate a 0..1 float);
    * ``levels``: DataFrame ``level, level_label, units, agencies, submitted, matched,
      review, unmatched, local, reuse_rate``, one row per level with units in scope, top
      level first (aggregated from the scope's unit rows of ``reuse_stats``);
    * ``units``: DataFrame ``division_code, level, level_label, agencies (count),
      agency_names, submitted, matched, review, unmatched, local, reuse_rate``, one row per
      行政区划代码, sorted by code;
    * ``agencies``: DataFrame ``division_code, level, level_label, agency, submitted, matched,
      review, unmatched, local, reuse_rate``: the unit rows of ``reuse_stats`` in scope (a unit
      there is a code + 实施主体), sorted by code and agency;
    * ``issues``: ``{"total", "error", "warning"}`` (ints);
    * ``issues_by_rule``: DataFrame ``rule_id, title, error, warning, total`` sorted by rule;
    * ``issues_by_level``: DataFrame ``level, level_label, error, warning, total``, top
      level first;
    * ``changes_total``: int, rows of ``library_changes`` in scope;
    * ``changes_by_kind``: DataFrame ``change, label, count``, every kind of
      :data:`changes.CHANGE_LABELS` in its order (zeros included);
    * ``changes``: DataFrame of the first :data:`LATEST_CHANGES` changes in scope (the
      published order: by unit), the columns of ``library_changes`` plus ``change_label,
      level_label, status_before_label, status_label``;
    * ``rejected``: ``{"files", "rows"}`` counts in scope.
    """
    agencies = _read(
        engine,
        "reuse_stats",
        ["scope", "level", "division_code", "agency", *_COUNTS],
        prefix,
    )
    agencies = agencies.loc[agencies["scope"] == "unit"].drop(columns="scope")
    for c in _COUNTS:
        agencies[c] = pd.to_numeric(agencies[c], errors="coerce").fillna(0).astype("int64")
    agencies["reuse_rate"] = _rates(agencies)
    agencies = agencies.sort_values(["division_code", "agency"], kind="stable")
    agencies["level_label"] = agencies["level"].map(LEVEL_LABELS).fillna(agencies["level"])
    agencies = agencies[
        ["division_code", "level", "level_label", "agency", *_COUNTS, "reuse_rate"]
    ].reset_index(drop=True)

    per_level = (
        agencies.groupby("level", sort=False)
        .agg(
            units=("division_code", "nunique"),
            agencies=("agency", "size"),
            **{c: (c, "sum") for c in _COUNTS},
        )
        .reset_index()
    )
    per_level = per_level.sort_values("level", key=_level_order, kind="stable")
    per_level["reuse_rate"] = _rates(per_level)
    per_level.insert(
        1, "level_label", per_level["level"].map(LEVEL_LABELS).fillna(per_level["level"])
    )
    per_level = per_level.reset_index(drop=True)

    per_unit = (
        agencies.groupby(["division_code", "level", "level_label"], sort=True)
        .agg(agencies=("agency", "size"), **{c: (c, "sum") for c in _COUNTS})
        .reset_index()
    )
    names = _joined_names(agencies.dropna(subset=["agency"]), "division_code", "agency")
    per_unit.insert(4, "agency_names", per_unit["division_code"].map(names).fillna(""))
    per_unit["reuse_rate"] = _rates(per_unit)

    totals = {c: int(agencies[c].sum()) for c in _COUNTS}
    totals = {
        "units": int(agencies["division_code"].nunique()),
        "agencies": len(agencies),
        **totals,
        "reuse_rate": round(totals["matched"] / totals["submitted"], 4)
        if totals["submitted"]
        else 0.0,
    }

    issues = _issue_counts(engine, prefix)
    by_rule = _severity_table(issues, "rule_id")
    by_rule.insert(1, "title", by_rule["rule_id"].map(TITLES).fillna(""))
    by_level = _severity_table(issues, "level")
    by_level = by_level.sort_values("level", key=_level_order, kind="stable").reset_index(drop=True)
    by_level.insert(1, "level_label", by_level["level"].map(LEVEL_LABELS).fillna(by_level["level"]))

    changes = _read(engine, "library_changes", CHANGE_COLUMNS, prefix)
    kinds = changes["change"].value_counts()
    by_kind = pd.DataFrame(
        {
            "change": list(CHANGE_LABELS),
            "label": list(CHANGE_LABELS.values()),
            "count": [int(kinds.get(k, 0)) for k in CHANGE_LABELS],
        }
    )
    latest = changes.head(LATEST_CHANGES).copy()
    latest["change_label"] = latest["change"].map(CHANGE_LABELS).fillna(latest["change"])
    latest["level_label"] = latest["level"].map(LEVEL_LABELS).fillna(latest["level"])
    for col in ("status_before", "status"):
        latest[f"{col}_label"] = latest[col].map(STATUS_LABELS).fillna(latest[col])

    files, rows = _rejected(engine, prefix)
    return {
        "prefix": prefix,
        "publication": _latest_publication(engine),
        "totals": totals,
        "levels": per_level,
        "units": per_unit,
        "agencies": agencies,
        "issues": {
            "total": int(issues["n"].sum()),
            "error": int(issues.loc[issues["severity"] == SEVERITY_ERROR, "n"].sum()),
            "warning": int(issues.loc[issues["severity"] == SEVERITY_WARNING, "n"].sum()),
        },
        "issues_by_rule": by_rule,
        "issues_by_level": by_level,
        "changes_total": len(changes),
        "changes_by_kind": by_kind,
        "changes": latest.reset_index(drop=True),
        "rejected": {"files": len(files), "rows": len(rows)},
    }


def _issue_counts(engine: Engine, prefix: str) -> pd.DataFrame:
    """Issues in scope counted per (level, rule_id, severity) by the database: ``n``."""
    cols = ["level", "rule_id", "severity", "n"]
    table = OUTPUT_TABLES["qc_issues"]
    if not _has_table(engine, "qc_issues"):
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "n" else "object") for c in cols})
    keys = [table.c.level, table.c.rule_id, table.c.severity]
    stmt = (
        select(*keys, func.count().label("n"))
        .where(*_code_filter(table.c.division_code, prefix, None))
        .group_by(*keys)
    )
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn).astype({"n": "int64"})


def _severity_table(counts: pd.DataFrame, key: str) -> pd.DataFrame:
    """Issue counts (:func:`_issue_counts`) per ``key`` with the error/warning split, sorted
    by ``key``."""
    cols = [key, "error", "warning", "total"]
    if counts.empty:
        return pd.DataFrame({c: pd.Series(dtype="object" if c == key else "int64") for c in cols})
    table = (
        counts.assign(**{key: counts[key].fillna(""), "severity": counts["severity"].fillna("")})
        .pivot_table(index=key, columns="severity", values="n", aggfunc="sum", fill_value=0)
        .reindex(columns=[SEVERITY_ERROR, SEVERITY_WARNING], fill_value=0)
        .astype("int64")
    )
    table.columns = ["error", "warning"]
    table["total"] = counts.groupby(counts[key].fillna(""))["n"].sum().astype("int64")
    table.index.name = key
    return table.reset_index()[cols]


def stats_charts(s: dict, *, top: int = 30) -> dict[str, Markup]:
    """The charts of a :func:`stats` result, as inline SVG: ``reuse_by_level``,
    ``reuse_by_unit`` (the ``top`` units with the lowest reuse rate), ``issues_by_rule`` and
    ``issues_by_level`` (stacked 错误/警告), ``changes`` (by kind)."""
    err, warn = SEVERITY_LABELS[SEVERITY_ERROR], SEVERITY_LABELS[SEVERITY_WARNING]
    levels = s["levels"]
    units = s["units"].sort_values(["reuse_rate", "division_code"], kind="stable").head(top)
    by_rule = s["issues_by_rule"]
    by_level = s["issues_by_level"]
    kinds = s["changes_by_kind"]
    shown = "" if len(s["units"]) <= top else f"（复用率最低的 {top} 个）"
    return {
        "reuse_by_level": svg_bar_chart(
            list(zip(levels["level_label"], levels["reuse_rate"], strict=True)),
            title="各层级目录复用率",
            value_format="{:.1%}",
            max_value=1.0,
        ),
        "reuse_by_unit": svg_bar_chart(
            [
                (f"{code} {names}", rate)
                for code, names, rate in zip(
                    units["division_code"], units["agency_names"], units["reuse_rate"], strict=True
                )
            ],
            title=f"各单位目录复用率{shown}",
            value_format="{:.1%}",
            max_value=1.0,
        ),
        "issues_by_rule": svg_stacked_bar_chart(
            [
                (f"{rid} {t}", {err: e, warn: w})
                for rid, t, e, w in zip(
                    by_rule["rule_id"],
                    by_rule["title"],
                    by_rule["error"],
                    by_rule["warning"],
                    strict=True,
                )
            ],
            SEVERITY_COLOURS,
            title="各规则质检问题数",
        ),
        "issues_by_level": svg_stacked_bar_chart(
            [
                (label, {err: e, warn: w})
                for label, e, w in zip(
                    by_level["level_label"], by_level["error"], by_level["warning"], strict=True
                )
            ],
            SEVERITY_COLOURS,
            title="各层级质检问题数",
        ),
        "changes": svg_bar_chart(
            list(zip(kinds["label"], kinds["count"], strict=True)),
            title="与上次发布相比的变化",
        ),
    }


# --- SVG charts --------------------------------------------------------------------------------

_ROW = 24  # px per bar
_BAR = 16
_TITLE = 30
_VALUE_ROOM = 80
_FONT_SIZE = 12


def _text_width(text: str) -> float:
    """Approximate width in px at 12px: CJK and full-width characters are about one em."""
    return sum(_FONT_SIZE if ord(ch) > 0x2E80 else _FONT_SIZE * 0.6 for ch in text)


def _fit(label: str, room: float) -> str:
    if _text_width(label) <= room:
        return label
    out = ""
    for ch in label:
        if _text_width(out + ch + "…") > room:
            break
        out += ch
    return out + "…"


def _number(value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return v if np.isfinite(v) and v > 0 else 0.0


def _formatted(value_format: str, value: float) -> str:
    try:
        return value_format.format(value)
    except (ValueError, IndexError, KeyError):
        return f"{value:g}"


def _colour(value: str) -> str:
    return value if _COLOUR.fullmatch(value or "") else BAR_COLOUR


def _chart_id(*parts: object) -> str:
    return "chart-" + hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:10]


def _svg(
    *,
    cid: str,
    title: str,
    desc: str,
    width: int,
    height: int,
    body: list[str],
) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"'
        f' aria-labelledby="{cid}-t {cid}-d" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}"'
        f" font-family='{CHART_FONTS}' font-size=\"{_FONT_SIZE}\">"
        f'<title id="{cid}-t">{escape(title)}</title>'
        f'<desc id="{cid}-d">{escape(desc)}</desc>'
        f'<text x="0" y="18" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _label_room(labels: list[str], width: int) -> float:
    widest = max((_text_width(label) for label in labels), default=0.0)
    return min(widest, width * 0.4) + 8


def _empty(cid: str, title: str, width: int) -> Markup:
    return _svg(
        cid=cid,
        title=title,
        desc="暂无数据",
        width=width,
        height=_TITLE + _ROW,
        body=[f'<text x="0" y="{_TITLE + 16}" fill="#666">暂无数据</text>'],
    )


def svg_bar_chart(
    items: list[tuple[str, float]],
    *,
    title: str,
    value_format: str = "{:.0f}",
    max_value: float | None = None,
    width: int = 640,
) -> Markup:
    """A horizontal bar chart as inline SVG: one bar per ``(label, value)`` in the given
    order, the value printed with ``value_format`` (e.g. ``"{:.1%}"``) at the bar's end.
    Bars are scaled to ``max_value`` (default: the largest value); missing or negative
    values draw no bar. Labels too wide for the label column are shortened with … (the full
    label and value in the bar's tooltip). Everything is XML-escaped; the chart carries
    ``role="img"``, a ``<title>`` and a ``<desc>`` listing every value."""
    cid = _chart_id("bar", title, items, value_format, max_value, width)
    if not items:
        return _empty(cid, title, width)
    labels = [str(label) for label, _ in items]
    values = [_number(v) for _, v in items]
    texts = [_formatted(value_format, v) for v in values]
    scale_max = _number(max_value) if max_value is not None else max(values)
    scale_max = scale_max or 1.0
    room = _label_room(labels, width)
    bar_room = max(width - room - _VALUE_ROOM, 40)
    body = []
    for i, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        y = _TITLE + i * _ROW
        w = bar_room * min(value, scale_max) / scale_max
        body.append(
            f"<g><title>{escape(label)}：{escape(text)}</title>"
            f'<text x="{room - 6:.1f}" y="{y + _BAR - 3}" text-anchor="end" fill="#222">'
            f"{escape(_fit(label, room - 8))}</text>"
            f'<rect x="{room:.1f}" y="{y}" width="{w:.1f}" height="{_BAR}" fill="{BAR_COLOUR}"/>'
            f'<text x="{room + w + 4:.1f}" y="{y + _BAR - 3}" fill="#222">{escape(text)}</text></g>'
        )
    desc = "；".join(f"{label}：{text}" for label, text in zip(labels, texts, strict=True))
    return _svg(
        cid=cid,
        title=title,
        desc=desc,
        width=width,
        height=_TITLE + len(items) * _ROW + 4,
        body=body,
    )


def svg_stacked_bar_chart(
    items: list[tuple[str, dict[str, float]]],
    series: dict[str, str],
    *,
    title: str,
    value_format: str = "{:.0f}",
    max_value: float | None = None,
    width: int = 640,
) -> Markup:
    """A horizontal stacked bar chart as inline SVG: one bar per ``(label, {series: value})``,
    one segment per series in the order of ``series`` (series name → colour, e.g.
    ``{"错误": "#c0392b", "警告": "#e0a030"}``), with a legend and the total at the bar's
    end. Scaled to ``max_value`` (default: the largest total). Escaped and accessible as
    :func:`svg_bar_chart`; a colour that is not ``#hex`` or a plain colour name is replaced."""
    cid = _chart_id("stacked", title, items, series, value_format, max_value, width)
    if not items:
        return _empty(cid, title, width)
    names = list(series)
    labels = [str(label) for label, _ in items]
    parts = [[_number((values or {}).get(name)) for name in names] for _, values in items]
    totals = [sum(p) for p in parts]
    scale_max = _number(max_value) if max_value is not None else max(totals)
    scale_max = scale_max or 1.0
    room = _label_room(labels, width)
    bar_room = max(width - room - _VALUE_ROOM, 40)
    legend_y = _TITLE
    top = _TITLE + _ROW
    body = []
    x = room
    for name in names:
        body.append(
            f'<rect x="{x:.1f}" y="{legend_y + 2}" width="12" height="12"'
            f' fill="{_colour(series[name])}"/>'
            f'<text x="{x + 16:.1f}" y="{legend_y + 12}" fill="#222">{escape(name)}</text>'
        )
        x += 16 + _text_width(name) + 16
    for i, (label, part, total) in enumerate(zip(labels, parts, totals, strict=True)):
        y = top + i * _ROW
        tip = "，".join(
            f"{name} {_formatted(value_format, v)}" for name, v in zip(names, part, strict=True)
        )
        segs = []
        x = room
        for name, v in zip(names, part, strict=True):
            w = bar_room * min(v, scale_max) / scale_max
            w = min(w, room + bar_room - x)
            if w > 0:
                segs.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{_BAR}"'
                    f' fill="{_colour(series[name])}"/>'
                )
            x += max(w, 0)
        total_text = _formatted(value_format, total)
        body.append(
            f"<g><title>{escape(label)}：{escape(total_text)}（{escape(tip)}）</title>"
            f'<text x="{room - 6:.1f}" y="{y + _BAR - 3}" text-anchor="end" fill="#222">'
            f"{escape(_fit(label, room - 8))}</text>"
            + "".join(segs)
            + f'<text x="{x + 4:.1f}" y="{y + _BAR - 3}" fill="#222">{escape(total_text)}</text></g>'
        )
    desc = "；".join(
        f"{label}："
        + "，".join(f"{n} {_formatted(value_format, v)}" for n, v in zip(names, p, strict=True))
        for label, p in zip(labels, parts, strict=True)
    )
    return _svg(
        cid=cid,
        title=title,
        desc=desc,
        width=width,
        height=top + len(items) * _ROW + 4,
        body=body,
    )


# --- every unit's workbook (shixiang export issues --all) --------------------------------------


def units_with_work(engine: Engine) -> list[str]:
    """Units that have a quality issue, a row in review or unmatched, or a rejected file or
    row (by its file name or its own code), sorted."""
    stats = _read(engine, "reuse_stats", ["scope", "division_code", "review", "unmatched"], "")
    stats = stats.loc[stats["scope"] == "unit"]
    open_rows = stats.loc[(stats["review"] > 0) | (stats["unmatched"] > 0), "division_code"]
    table = OUTPUT_TABLES["qc_issues"]
    with_issues: list[str] = []
    if _has_table(engine, "qc_issues"):
        with engine.connect() as conn:
            with_issues = list(conn.execute(select(table.c.division_code).distinct()).scalars())
    files, rows = _rejected(engine, "")
    codes = {*open_rows, *with_issues, *files["division_code"], *rows["division_code"]}
    return sorted(c for c in codes if isinstance(c, str) and valid_code(c))


def write_all(
    engine: Engine, out_dir: Path, failures: list[tuple[str, str]] | None = None
) -> list[Path]:
    """One workbook per unit with work into ``out_dir`` (``质检问题清单_<code>.xlsx``). A unit
    whose workbook cannot be written is added to ``failures`` as (unit, reason) and leaves no
    file; without a ``failures`` list the first failure is raised once every other unit has
    been written. Returns the paths written."""
    written: list[Path] = []
    failed: list[tuple[str, str]] = []
    for unit in units_with_work(engine):
        path = Path(out_dir) / f"质检问题清单_{unit}.xlsx"
        try:
            written.append(write_issue_workbook(unit_issue_list(engine, "", unit), path))
        except ExportError as exc:
            failed.append((unit, str(exc)))
        except Exception as exc:  # a unit's data the sheets cannot be built from
            failed.append((unit, f"无法生成 {path}：{type(exc).__name__}：{exc}"))
    if failures is not None:
        failures.extend(failed)
    elif failed:
        raise ExportError(
            f"{len(failed)} 个单位的质检问题清单导出失败（已导出 {len(written)} 个）："
            + "；".join(f"{unit}：{reason}" for unit, reason in failed)
        )
    return written
