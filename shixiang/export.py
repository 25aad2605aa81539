"""Writing tables for people: CSV that Excel opens correctly, and tidy .xlsx sheets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    out = formula_safe(frame)
    if headers:
        out = out.rename(columns=headers)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        out.to_csv(path, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        write_xlsx(path, {sheet_name: out})
    else:
        raise ValueError(f"不支持的文件类型 {path.suffix!r}：请用 .csv 或 .xlsx")
    return len(frame)


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """Sheets with a bold frozen header row, filters and column widths that fit the text."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
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


def _display_width(text: str) -> int:
    """Width in Excel character units: CJK characters count double."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
