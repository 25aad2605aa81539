"""Writing tables for people: CSV that Excel opens correctly, and tidy .xlsx sheets.

Every export is written to a hidden temporary file beside the target and renamed into place
(``os.replace``) only once complete: a failed export leaves no partial file and no temporary
file (an existing file of that name stays as it was), and raises ``ExportError`` with the
reason in Chinese. Cells written to .xlsx lose the control characters XML forbids (\\x00-\\x08,
\\x0b, \\x0c, \\x0e-\\x1f), which openpyxl refuses to write; everything else is kept.
"""

from __future__ import annotations

import errno
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What ``formula_safe`` adds: the ' before a cell that starts like a formula (a pattern string,
# for ``re`` and for pandas ``.str.replace``).
FORMULA_PREFIX = "^'(?=[" + re.escape("".join(_FORMULA_START)) + "])"
# openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE, as a pattern string (pandas string columns take one)
_ILLEGAL_XML = r"[\000-\010]|[\013-\014]|[\016-\037]"


class ExportError(Exception):
    """An export that could not be written (nothing was left behind); the message says why."""


def _reason(exc: BaseException) -> str:
    """Why a write failed, in Chinese."""
    from openpyxl.utils.exceptions import IllegalCharacterError

    if isinstance(exc, IllegalCharacterError):
        return "单元格含有 Excel 不允许的控制字符"
    if isinstance(exc, PermissionError):
        return f"没有写入权限（{exc.filename or exc}）"
    if isinstance(exc, IsADirectoryError):
        return f"同名的文件夹已存在（{exc.filename or exc}）"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "磁盘空间不足"
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return "文件系统只读"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}（{exc.filename or ''}）"
    return f"{type(exc).__name__}：{exc}"


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` (same folder, so the rename is atomic, and the
    same suffix, so writers recognise the format). On success it is renamed to ``path``; on
    any failure it is removed and ``ExportError`` says why."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"无法写入 {path}：无法创建文件夹 {path.parent}（{_reason(exc)}）"
        ) from exc
    if path.is_dir():
        raise ExportError(f"无法写入 {path}：同名的文件夹已存在")
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):  # the folder vanished or became read-only meanwhile
            tmp.unlink(missing_ok=True)
        if isinstance(exc, ExportError) or not isinstance(exc, Exception):
            raise
        raise ExportError(f"导出失败，没有写入 {path}：{_reason(exc)}") from exc


def xlsx_clean(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the characters XML 1.0 (so .xlsx) cannot hold, in headers and text
    cells; the frame itself when there are none. Everything else is kept as it was."""
    out = frame
    for i, col in enumerate(frame.columns):
        s = frame[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        try:
            hit = s.str.contains(_ILLEGAL_XML, regex=True, na=False).astype(bool)
        except (AttributeError, TypeError):  # no text in the column
            continue
        if hit.any():
            if out is frame:
                out = frame.copy()
            out.isetitem(i, s.where(~hit, s.str.replace(_ILLEGAL_XML, "", regex=True)))
    if any(isinstance(c, str) and re.search(_ILLEGAL_XML, c) for c in out.columns):
        out = out.rename(columns=lambda c: re.sub(_ILLEGAL_XML, "", c) if isinstance(c, str) else c)
    return out


def undo_formula_safe(value: object) -> object:
    """The cell as it was before ``formula_safe`` (for reading back a sheet we exported): the
    leading ' goes when a formula character follows it. (A cell that itself began with ' and a
    formula character would lose its '; names are matched on ``name_key``, which drops quotes.)"""
    return re.sub(FORMULA_PREFIX, "", value, count=1) if isinstance(value, str) else value


def formula_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting with = + - @ are prefixed with ' so spreadsheets never execute them."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
            s = out[col]
            risky = s.astype("str").str.startswith(_FORMULA_START) & s.notna()
            if risky.any():
                out[col] = s.where(~risky, "'" + s.astype("str"))
    return out


def write_table(
    frame: pd.DataFrame,
    path: Path,
    *,
    sheet_name: str = "data",
    headers: dict[str, str] | None = None,
) -> int:
    """Write ``frame`` to ``path`` (.csv as UTF-8 with BOM, or .xlsx). Returns rows written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"不支持的文件类型 {path.suffix!r}：请用 .csv 或 .xlsx")
    out = frame.rename(columns=headers) if headers else frame
    if suffix == ".csv":
        out = formula_safe(out)
        with atomic_output(path) as tmp:
            out.to_csv(tmp, index=False, encoding="utf-8-sig")
    else:
        write_xlsx(path, {sheet_name: out})
    return len(frame)


def write_xlsx(
    path: Path,
    sheets: dict[str, pd.DataFrame],
    *,
    finish: Callable[[object], None] | None = None,
) -> None:
    """Sheets with a bold frozen header row, filters and column widths that fit the text.

    Text cells lose the characters .xlsx cannot hold (``xlsx_clean``) and then cannot run as
    formulas (``formula_safe``, which is idempotent, so frames already made safe are fine).
    ``finish(workbook)`` may style the openpyxl workbook before it is saved. Written
    atomically (``atomic_output``): a failure raises ``ExportError`` and leaves nothing."""
    with atomic_output(path) as tmp:
        _write_xlsx(tmp, sheets, finish)


def _write_xlsx(path: Path, sheets: dict[str, pd.DataFrame], finish) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame = formula_safe(xlsx_clean(frame))
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            ws = writer.sheets[name[:31]]
            ws.freeze_panes = "A2"
            if frame.shape[1]:
                ws.auto_filter.ref = ws.dimensions
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for i, col in enumerate(frame.columns, start=1):
                sample = [("" if pd.isna(v) else str(v)) for v in frame[col].head(500)]
                widest = max(
                    [_display_width(str(col)), *(_display_width(v) for v in sample)], default=8
                )
                ws.column_dimensions[get_column_letter(i)].width = min(max(widest + 2, 8), 60)
        if finish is not None:
            finish(writer.book)


def _display_width(text: str) -> int:
    """Width in Excel character units: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
