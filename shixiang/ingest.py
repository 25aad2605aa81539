"""Reading the data directory: files in any of the accepted formats and encodings (recognised
from their bytes, not their names), headers found among the first rows and mapped to the
contract, bad files and bad rows rejected with a reason in Chinese that names the problem.

Every file of a folder is read or listed in ``Loaded.rejected_files`` (hidden files and Excel
lock files excepted); whatever goes wrong reading one file rejects that file, never the folder.
Every data row read ends up either in ``Loaded.rows`` or in ``Loaded.rejected_rows``. Nothing
is dropped silently (blank catalogue rows are counted in ``Loaded.blank_rows_skipped``).
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import re
import unicodedata
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import python_calamine

from shixiang.config import (
    CATALOGUE_FOLDER,
    DIVISION_CODE_PATTERN,
    HEADER_SCAN_ROWS,
    INPUT_SUFFIXES,
    LEVELS,
    USE_LEVEL_ALIASES,
)
from shixiang.schema import CATALOGUE_COLUMNS, ITEM_COLUMNS, Column, fold_header, header_map
from shixiang.tables import REJECTED_FILE_COLUMNS, REJECTED_ROW_COLUMNS

_EXTRA = "extra::"  # prefix of columns outside the contract while a folder is being read


class InputFileError(Exception):
    """A whole file cannot be used; the message is the reason shown to stewards."""


@dataclass
class Loaded:
    """What one folder of the data directory yielded."""

    rows: pd.DataFrame
    rejected_rows: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=REJECTED_ROW_COLUMNS)
    )
    rejected_files: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=REJECTED_FILE_COLUMNS)
    )
    files_read: int = 0
    rows_read: int = 0  # data rows read from readable files = len(rows) + len(rejected_rows)
    # Catalogue only: blank rows skipped (not data rows, so not in rows_read nor rejected_rows:
    # the catalogue's rejected rows would be published beside the lists' and break
    # "rows read = library rows + rejected rows").
    blank_rows_skipped: int = 0


# --- Files ---------------------------------------------------------------------------------

# What a folder may hold besides input: hidden files and folders, Excel/WPS lock files (~$…)
# and what Windows leaves in folders. Everything else is read or rejected with a reason.
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".et")
SUPPORTED_FORMATS = (
    "支持的格式："
    + "、".join(INPUT_SUFFIXES)
    + "（CSV/TXT 可用逗号、分号、制表符或竖线分隔，编码为 UTF-8、GB18030/GBK、Big5 或 UTF-16）"
)
_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_CHARS = 32_768  # text looked at for the delimiter and the header row
_SPILL = "_spill::"  # fields of a CSV row beyond its header's width
_PROBLEM = "_problem"  # a row-level problem found while reading a file (levels reject the row)
# Control characters no cell may carry (PostgreSQL refuses NUL, openpyxl and GX the rest);
# tab, newline and carriage return stay.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Decorations around a header (after fold_header): "*行政区划代码", "1.事项名称", "实施主体(必填)",
# "法定办结时限(工作日)".
_HEADER_NOISE = re.compile(r"^(?:\d+[.、]|\*+)|\*+$|\([^()]*\)$")


def list_input_files(folder: Path) -> list[Path]:
    """Every file of one folder (recursively), sorted; hidden files and folders, Excel lock
    files (``~$…``), ``Thumbs.db`` and ``desktop.ini`` skipped. Unsupported files are listed
    too: reading rejects them with a reason, so nothing in a folder is ignored silently."""
    if not folder.is_dir():
        return []
    out = []
    for p in folder.rglob("*"):
        if p.name.startswith("~$") or p.name.lower() in _IGNORED_NAMES:
            continue
        if any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        if p.is_file():
            out.append(p)
    return sorted(out)


# --- Encodings -----------------------------------------------------------------------------
# Decoding is tried as UTF-8, then GB18030 and Big5, and the text must look like Chinese to be
# believed: Big5 bytes decode "successfully" as GB18030, into rare characters and symbols. Each
# character's class comes from one table lookup (numpy), so judging a file costs microseconds.
_SIMPLIFIED = 1  # a hanzi of GB2312 (the 6,763 characters simplified Chinese text is made of)
_TRADITIONAL = 2  # a hanzi of Big5 level 1 (the 5,401 frequent traditional characters)
_PUNCT = 4  # CJK or full-width punctuation, quotes, dashes, middle dot
_CONTROL_CLASS = 8  # a C0 control character other than tab, newline and carriage return
_ASCII = 16
_SAMPLE_CHARS = 20_000  # characters judged per file
_MAX_CONTROL = 0.05  # a larger share of control characters: binary, not text
_MIN_EVIDENCE = 20  # fewer non-ASCII characters than this: nothing to judge, any decoding fits
_PLAUSIBLE_LEGACY = 0.9  # share of common characters a GB18030 or Big5 reading needs
_PLAUSIBLE_UTF8 = 0.5  # valid UTF-8 is strong evidence by itself; this only catches mojibake


@functools.cache
def _char_classes() -> np.ndarray:
    table = np.zeros(0x10000, dtype=np.uint8)
    table[0x20:0x7F] = _ASCII
    table[[0x09, 0x0A, 0x0D]] = _ASCII
    table[[*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]] = _CONTROL_CLASS
    for cp in range(0x4E00, 0xA000):
        ch = chr(cp)
        try:
            ch.encode("gb2312")
            table[cp] |= _SIMPLIFIED
        except UnicodeEncodeError:
            pass
        try:
            if 0xA4 <= ch.encode("cp950")[0] <= 0xC6:
                table[cp] |= _TRADITIONAL
        except UnicodeEncodeError:
            pass
    punct = [
        *range(0x3000, 0x3040),  # 、。《》「」…
        *range(0xFF01, 0xFF5F),  # full-width forms: （），：；
        *range(0x2010, 0x2028),  # dashes, quotes, ellipsis
        *range(0x2160, 0x216C),  # Ⅰ–Ⅻ
        *range(0x2460, 0x2474),  # ①–⑳
        0xA0,
        0xB0,
        0xB7,
        0xD7,
        0x2103,
    ]
    table[punct] = _PUNCT
    return table


class _Reading(NamedTuple):
    """How plausible a decoded text is, judged on its first characters."""

    non_ascii: int
    simplified: float  # share of non-ASCII characters common in simplified text (or punctuation)
    traditional: float  # … in traditional text
    either: float  # … in either
    control: float  # share of all characters that are control characters
    overall: float  # share of all characters that are ASCII text or common

    def plausible(self, share: float, need: float) -> bool:
        """Whether ``share`` (``simplified``, ``traditional`` or ``either``) reaches ``need``.
        With too few non-ASCII characters to judge, nearly all of the text must be ASCII or
        common characters instead."""
        if self.control >= _MAX_CONTROL:
            return False
        if self.non_ascii < _MIN_EVIDENCE:
            return self.overall >= 0.9
        return share >= need


def _plausibility(text: str) -> _Reading:
    sample = text[:_SAMPLE_CHARS]
    if not sample:
        return _Reading(0, 1.0, 1.0, 1.0, 0.0, 1.0)
    cps = np.frombuffer(sample.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = np.where(cps < 0x10000, _char_classes()[np.minimum(cps, 0xFFFF)], 0)
    big = cps > 0x7F
    non_ascii = int(big.sum())
    control = float((classes == _CONTROL_CLASS).sum()) / len(cps)
    common = big & ((classes & (_SIMPLIFIED | _TRADITIONAL | _PUNCT)) > 0)
    overall = float(((classes == _ASCII) | common).sum()) / len(cps)
    if non_ascii == 0:
        return _Reading(0, 1.0, 1.0, 1.0, control, overall)
    simp = float((big & ((classes & (_SIMPLIFIED | _PUNCT)) > 0)).sum()) / non_ascii
    trad = float((big & ((classes & (_TRADITIONAL | _PUNCT)) > 0)).sum()) / non_ascii
    return _Reading(non_ascii, simp, trad, float(common.sum()) / non_ascii, control, overall)


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of the start is NUL (text saved as UTF-16
    without a BOM), else None."""
    head = data[:4000]
    if len(head) < 8:
        return None
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if odd > 0.3 * len(head) / 2 and even < 0.05 * len(head) / 2:
        return "utf-16-le"
    if even > 0.3 * len(head) / 2 and odd < 0.05 * len(head) / 2:
        return "utf-16-be"
    return None


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Decode a text table. Returns (text, encoding): ``utf-8``/``utf-8-sig``, ``utf-16``,
    ``gb18030`` or ``big5``. A decoding is believed only when the text looks like Chinese (most
    of its non-ASCII characters common simplified or traditional ones, few control characters);
    raises :class:`InputFileError` when none does."""
    advice = "请另存为 UTF-8 编码的 CSV，或 .xlsx 文件"
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"无法可靠识别文件编码：文件以 UTF-8 BOM 开头，但第 {exc.start + 3} 字节起不是有效的 UTF-8。{advice}"
            ) from exc
    utf16 = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else _utf16_without_bom(data)
    if utf16:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"无法可靠识别文件编码：文件像 UTF-16 编码，但第 {exc.start} 字节起无效。{advice}"
            ) from exc
        reading = _plausibility(text)
        if reading.plausible(reading.either, _PLAUSIBLE_UTF8):
            return text.removeprefix("\ufeff"), "utf-16"
        raise InputFileError(
            f"无法可靠识别文件编码：文件像 UTF-16 编码，但解码后不是正常文本。{advice}"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        reading = _plausibility(text)
        if reading.plausible(reading.either, _PLAUSIBLE_UTF8):
            return text, "utf-8"
        if reading.control < _MAX_CONTROL:
            raise InputFileError(
                "无法可靠识别文件编码：文件是有效的 UTF-8，但内容是乱码（像是中文被错当成其他编码"
                "读入后又存成了 UTF-8）。请从原始数据重新导出为 UTF-8 编码的 CSV，或 .xlsx 文件"
            )
    readings: list[tuple[bool, float, str, str]] = []
    for codec, label in (("gb18030", "gb18030"), ("cp950", "big5")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        reading = _plausibility(text)
        # Common simplified or traditional characters (GBK text may be traditional too): a
        # Big5 file read as GB18030 scores ~0.4 on this, read as Big5 ~1.0, and vice versa.
        share = reading.either
        readings.append((reading.plausible(share, _PLAUSIBLE_LEGACY), share, label, text))
    if readings:
        ok, _share, label, text = max(readings, key=lambda r: r[:2])  # ties: GB18030 (first)
        if ok:
            return text, label
    raise InputFileError(
        "无法可靠识别文件编码：不是有效的 UTF-8，按 GB18030/GBK 或 Big5 解读也不像正常的中文文本"
        f"（可能是乱码或二进制文件）。{advice}"
    )


# --- Headers -------------------------------------------------------------------------------

_HEADER_TARGETS: dict[int, tuple[tuple[Column, ...], dict[str, str | None]]] = {}


def _header_target(cell: str, columns: tuple[Column, ...]) -> str | None:
    """The contract column a header cell names (after folding, and without decorations such
    as ``*`` or ``(必填)``), or None. Cached per column set: asked for every cell of the first
    rows of every file."""
    entry = _HEADER_TARGETS.get(id(columns))
    if entry is None or entry[0] is not columns:
        entry = _HEADER_TARGETS[id(columns)] = (columns, {})
    cache = entry[1]
    if cell in cache:
        return cache[cell]
    if len(cell) > 40:  # a header is short; data cells are not cached
        return None
    if len(cache) > 100_000:
        cache.clear()
    mapping = header_map(columns)
    target = None
    for attempt in range(2):
        key = fold_header(cell if attempt == 0 else _to_simplified(cell))
        target = mapping.get(key)
        while target is None and key:
            stripped = _HEADER_NOISE.sub("", key)
            if stripped == key:
                break
            key = stripped
            target = mapping.get(key)
        if target is not None or cell.isascii():
            break
    cache[cell] = target
    return target


@functools.cache
def _t2s() -> Callable[[str], str]:
    from opencc import OpenCC

    return OpenCC("t2s").convert


def _to_simplified(text: str) -> str:
    """Traditional characters as simplified (headers of Big5 files: 行政區劃代碼)."""
    return _t2s()(text)


def _mapped(cells: list[str], columns: tuple[Column, ...]) -> set[str]:
    return {t for c in cells if c and (t := _header_target(c, columns))}


@dataclass
class _Header:
    top: int  # 0-based row of the (first) header row
    rows: int  # 1, or 2 for a two-row header
    cells: list[str]
    found: set[str]  # contract columns it names
    missing: list[Column]
    where: str = ""  # "工作表“…”" for workbooks

    @property
    def complete(self) -> bool:
        return not self.missing

    def missing_reason(self) -> str:
        names = "、".join(c.header for c in self.missing)
        rows = (
            f"第 {self.top + 1} 行像表头"
            if self.rows == 1
            else f"第 {self.top + 1}–{self.top + 2} 行像两行表头"
        )
        return f"{self.where}{rows}，但缺少必需列：{names}"


def _merge_header_rows(
    upper: list[str], lower: list[str], columns: tuple[Column, ...]
) -> list[str]:
    """Two header rows as one: per column the cell that names a contract column — the lower
    (the real names under a merged group label), the upper (a name merged down over both
    rows), or the two put together ("法定" under "办结时限")."""
    width = max(len(upper), len(lower))
    up = [*upper, *[""] * (width - len(upper))]
    lo = [*lower, *[""] * (width - len(lower))]
    group, filled = "", []
    for cell in up:  # a group label merged across columns sits in its first cell only
        group = cell or group
        filled.append(group)
    out = []
    for u, g, v in zip(up, filled, lo, strict=True):
        for candidate in (v, u, g + v, v + g):
            if candidate and _header_target(candidate, columns):
                out.append(candidate)
                break
        else:
            out.append(v or u)
    return out


def _find_header(records: list[list[str]], columns: tuple[Column, ...]) -> _Header | None:
    """The header among the first rows: the row naming most contract columns (the first such
    row), or two rows read as one when together they name more. None when no row names any."""
    required = {c.name for c in columns if c.required}
    best_row, best = -1, set()
    for r, rec in enumerate(records[:HEADER_SCAN_ROWS]):
        found = _mapped(rec, columns)
        if len(found) > len(best):
            best_row, best = r, found
        if required <= found:  # a complete header: no title or data row names more
            break
    if best_row < 0:
        return None
    top, rows, cells = best_row, 1, records[best_row]
    for up in (best_row - 1, best_row):
        if up < 0 or up + 1 >= len(records):
            continue
        merged = _merge_header_rows(records[up], records[up + 1], columns)
        found = _mapped(merged, columns)
        if len(found) > len(best):
            top, rows, cells, best = up, 2, merged, found
    missing = [c for c in columns if c.required and c.name not in best]
    return _Header(top, rows, [str(c).strip() for c in cells], best, missing)


def _header_names(cells: list[str], columns: tuple[Column, ...]) -> tuple[list[str], list[str]]:
    """A header's cells as unique internal names — contract columns by their name (the first
    one when two name the same column), everything else ``extra::`` + its header, blank headers
    ``extra::第N列`` — and the names of the blank-header columns."""
    names: list[str] = []
    blank: list[str] = []
    used: set[str] = set()
    for j, cell in enumerate(cells):
        target = _header_target(cell, columns) if cell else None
        if target and target not in used:
            name = target
        else:
            base = _EXTRA + (cell or f"第{j + 1}列")
            name, k = base, 1
            while name in used:
                name, k = f"{base}.{k}", k + 1
            if not cell:
                blank.append(name)
        used.add(name)
        names.append(name)
    return names, blank


def _tidy(frame: pd.DataFrame, blank: list[str]) -> pd.DataFrame:
    """Drop blank-header columns that hold nothing (trailing separators) and turn fields beyond
    the header's width into a row problem (a row whose columns have shifted)."""
    spill = [c for c in frame.columns if c.startswith(_SPILL)]
    drop = [c for c in blank if not (frame[c].fillna("").astype("str").str.strip() != "").any()]
    if spill:
        extra = (frame[spill].fillna("").astype("str").apply(lambda s: s.str.strip()) != "").sum(
            axis=1
        )
        if extra.any():
            width = len(frame.columns) - len(spill)
            frame[_PROBLEM] = (
                ("该行比表头多出 " + extra.astype("str") + " 个非空字段（表头共 ")
                + str(width)
                + " 列），各列已错位：可能是单元格中有未加引号的分隔符"
            ).where(extra > 0)
        drop += spill
    return frame.drop(columns=drop) if drop else frame


# --- Reading one file ----------------------------------------------------------------------


def _sniff_kind(data: bytes) -> str:
    """The real format from the first bytes: ``zip``, ``ole``, a named binary type, or
    ``text``."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    for magic, kind in (
        (b"%PDF", "PDF 文件"),
        (b"\x89PNG", "PNG 图片"),
        (b"\xff\xd8\xff", "JPEG 图片"),
        (b"GIF8", "GIF 图片"),
        (b"Rar!", "RAR 压缩包"),
        (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
        (b"\x1f\x8b", "gzip 压缩包"),
        (b"{\\rtf", "RTF 文档"),
    ):
        if data.startswith(magic):
            return kind
    return "text"


def _unsupported(what: str) -> InputFileError:
    return InputFileError(f"不支持的文件类型：{what}。{SUPPORTED_FORMATS}")


def _utf16le(name: str) -> bytes:
    return name.encode("utf-16-le")


def _workbook_kind(data: bytes, kind: str, suffix: str) -> str:
    """``xlsx``, ``xlsb``, ``ods`` or ``xls`` for a zip or OLE file; raises for anything else
    (Word, PowerPoint, an encrypted workbook, a plain archive, a damaged workbook)."""
    if kind == "ole":
        if _utf16le("EncryptedPackage") in data:
            raise InputFileError(
                "工作簿设置了打开密码（已加密），无法读取：请取消密码后另存为 .xlsx 重新提交"
            )
        if _utf16le("WordDocument") in data:
            raise _unsupported("Word 文档（.doc）")
        if _utf16le("PowerPoint Document") in data:
            raise _unsupported("PowerPoint 演示文稿（.ppt）")
        if _utf16le("Workbook") in data or _utf16le("Book") in data:
            return "xls"
        if suffix in _WORKBOOK_SUFFIXES:
            raise InputFileError(
                "工作簿已损坏：文件是旧版 Excel（.xls）的 OLE 格式，但找不到其中的工作簿数据"
                "（可能下载或复制时被截断）"
            )
        raise _unsupported("OLE 复合文档，但不是 Excel 工作簿")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            mimetype = zf.read("mimetype")[:80] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputFileError(
            "文件已损坏：zip 结构不完整，无法作为 Excel 工作簿打开（可能下载或复制时被截断）"
        ) from exc
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "ods"
    if any(n.startswith("xl/") for n in names):
        raise InputFileError("工作簿已损坏：缺少 xl/workbook.xml（工作簿结构），无法找到工作表")
    if any(n.startswith("word/") for n in names):
        raise _unsupported("Word 文档（.docx）")
    if any(n.startswith("ppt/") for n in names):
        raise _unsupported("PowerPoint 演示文稿（.pptx）")
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        raise _unsupported("OpenDocument 文档，但不是表格（.ods）")
    raise _unsupported("zip 压缩包：请解压后把其中的表格文件放入文件夹")


_PART_LABELS = (
    ("xl/workbook.xml", "工作簿结构"),
    ("xl/_rels/workbook.xml.rels", "工作簿关系文件"),
    ("[Content_Types].xml", "内容类型清单"),
    ("xl/styles.xml", "样式表"),
    ("xl/sharedStrings.xml", "共享字符串表"),
    ("content.xml", "表格内容"),
    ("styles.xml", "样式表"),
)


def _diagnose_workbook(data: bytes, fmt: str, exc: BaseException) -> str:
    """Why a workbook could not be read, as specifically as its parts tell (only asked after
    the reader failed)."""
    label = {"xls": "旧版 Excel（.xls）", "xlsb": "Excel 二进制工作簿（.xlsb）", "ods": ".ods"}
    text = str(exc).lower()
    if isinstance(exc, python_calamine.PasswordError) or "password" in text or "encrypt" in text:
        return "工作簿设置了打开密码（已加密），无法读取：请取消密码后另存为 .xlsx 重新提交"
    if fmt in ("xlsx", "ods", "xlsb"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                bad = zf.testzip()
                if bad:
                    return f"工作簿已损坏：{bad} 的数据校验失败（文件可能被截断或改动过）"
                names = zf.namelist()
                parts = [p for p, _ in _PART_LABELS if p in names]
                sheets = sorted(
                    n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")
                )
                for part in [*parts[:3], *sheets, *parts[3:]]:
                    parser = xml.parsers.expat.ParserCreate()
                    try:
                        parser.Parse(zf.read(part), True)
                    except xml.parsers.expat.ExpatError as err:
                        what = "工作表" if part in sheets else dict(_PART_LABELS)[part]
                        return f"工作簿已损坏：{what} XML 无法解析（{part}，第 {err.lineno} 行）"
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
            return f"文件已损坏：zip 数据无法解压（{err}）"
    return f"工作簿已损坏：{label.get(fmt, 'Excel 工作簿')}无法解析（{exc}）"


# What a reader may raise on a damaged file: its own errors, and pyo3's PanicException (a
# panic in the Rust reader), which derives from BaseException.
_READER_ERRORS: tuple[type[BaseException], ...] = (
    Exception,
    *(e for e in BaseException.__subclasses__() if e.__name__ == "PanicException"),
)


def _cell_text(value: object) -> str:
    """A workbook cell as the text a user sees: integral numbers without ``.0`` (codes typed
    as numbers), dates as ISO dates, control characters removed."""
    if isinstance(value, str):
        return _CONTROL.sub("", value) if _CONTROL.search(value) else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _read_workbook(data: bytes, fmt: str, columns: tuple[Column, ...]) -> pd.DataFrame:
    """The first sheet (visible ones first) whose first rows hold a header with every required
    column, from its header down; merged cells in the data filled down."""
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        metas = [
            m for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet
        ]
    except _READER_ERRORS as exc:  # calamine reports damage in many ways; tell which part
        raise InputFileError(_diagnose_workbook(data, fmt, exc)) from exc
    if not metas:
        raise InputFileError(
            _diagnose_workbook(data, fmt, ValueError("工作簿中没有工作表"))
            if fmt == "xlsx"
            else "工作簿中没有工作表"
        )
    visible = python_calamine.SheetVisibleEnum.Visible
    metas.sort(key=lambda m: m.visible != visible)  # stable: visible sheets first, in order
    best: tuple[_Header, python_calamine.CalamineSheet] | None = None
    empty = 0
    for meta in metas:
        try:
            sheet = book.get_sheet_by_name(meta.name)
            head = sheet.to_python(skip_empty_area=False, nrows=HEADER_SCAN_ROWS + 5)
        except _READER_ERRORS as exc:
            raise InputFileError(_diagnose_workbook(data, fmt, exc)) from exc
        records = [[_cell_text(v) for v in row] for row in head]
        if not any(any(c.strip() for c in rec) for rec in records):
            empty += 1
            continue
        header = _find_header(records, columns)
        if header is None:
            continue
        header.where = f"工作表“{meta.name}”" if len(metas) > 1 else ""
        if best is None or len(header.found) > len(best[0].found):
            best = (header, sheet)
        if header.complete:
            best = (header, sheet)
            break
    if best is None:
        if empty == len(metas):
            raise InputFileError("工作簿是空的：没有任何工作表有内容")
        required = "、".join(c.header for c in columns if c.required)
        raise InputFileError(
            f"没有找到表头：{len(metas)} 个工作表的前 {HEADER_SCAN_ROWS} 行都不含契约列名（必需列：{required}）"
        )
    header, sheet = best
    if not header.complete:
        raise InputFileError(header.missing_reason())
    rows = sheet.to_python(skip_empty_area=False)
    start = header.top + header.rows
    body = [[_cell_text(v) for v in row] for row in rows[start:]]
    for (r0, c0), (r1, _c1) in sheet.merged_cell_ranges or ():
        if r0 >= start and r1 > r0:  # a value merged down over several data rows
            for r in range(r0 + 1, r1 + 1):
                if r - start < len(body) and c0 < len(body[r - start]):
                    body[r - start][c0] = body[r0 - start][c0]
    while body and not any(c.strip() for c in body[-1]):  # the used range's empty tail
        body.pop()
    names, blank = _header_names(header.cells, columns)
    width = max([len(names), *(len(r) for r in body)])
    names += [f"{_EXTRA}第{j + 1}列" for j in range(len(names), width)]
    blank += names[len(header.cells) :]
    body = [r + [""] * (width - len(r)) if len(r) < width else r for r in body]
    return _tidy(pd.DataFrame(body, columns=names, dtype=object), blank)


def _read_text_table(text: str, suffix: str, columns: tuple[Column, ...]) -> pd.DataFrame:
    """A delimited text table: the delimiter and header row found in the first rows."""
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    head = text[:_SNIFF_CHARS]
    start = head.lstrip()[:1024].lower()
    if start.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in head:
        raise _unsupported("Excel 2003 XML 表格。请用 Excel 打开后另存为 .xlsx")
    if start.startswith(("<!doctype html", "<html")) or "<table" in start:
        raise _unsupported(
            "网页（HTML）格式的表格，不是真正的 Excel 文件（常见于系统“导出 Excel”）。"
            "请用 Excel 打开后另存为 .xlsx"
        )
    best: tuple[str, _Header, list[list[str]]] | None = None
    for sep in _DELIMITERS:
        if sep not in head:
            continue
        try:
            records = list(
                islice(
                    csv.reader(io.StringIO(head, newline=""), delimiter=sep), HEADER_SCAN_ROWS + 5
                )
            )
        except csv.Error:
            continue
        header = _find_header(records, columns)
        if header and (best is None or len(header.found) > len(best[1].found)):
            best = (sep, header, records)
        if header and header.complete:
            break
    if best is None:
        if suffix in _WORKBOOK_SUFFIXES:
            raise InputFileError(
                f"文件已损坏或不是 Excel 工作簿：扩展名是 {suffix}，但内容是纯文本，而且不是表格"
            )
        if suffix in (".csv", ".tsv"):
            required = "、".join(c.header for c in columns if c.required)
            raise InputFileError(
                f"没有找到表头：前 {HEADER_SCAN_ROWS} 行中没有一行含有契约列名（必需列：{required}）"
            )
        raise _unsupported(
            f"{suffix or '无扩展名'} 文本文件，内容不是表格（前 {HEADER_SCAN_ROWS} 行中没有契约列名）"
        )
    sep, header, records = best
    if not header.complete:
        raise InputFileError(header.missing_reason())
    names, blank = _header_names(header.cells, columns)
    skip = header.top + header.rows
    width = max([len(names), *(len(r) for r in records[skip:])])
    spill = [f"{_SPILL}{k}" for k in range(width - len(names))]
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            names=names + spill,
            skiprows=skip,
            index_col=False,  # never take a column as the index (rows with a trailing comma)
            # Python strings per file; the folder's cells become Arrow strings once, after
            # concatenation (_clean_cells): a thousand small files cost a second less.
            dtype=object,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=names, dtype=object)
    except pd.errors.ParserError:
        # A row further down is wider than the first ones: read every row as it is.
        rows = list(islice(csv.reader(io.StringIO(text, newline=""), delimiter=sep), skip, None))
        width = max([len(names), *(len(r) for r in rows)])
        spill = [f"{_SPILL}{k}" for k in range(width - len(names))]
        rows = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows]
        frame = pd.DataFrame(rows, columns=names + spill, dtype=object)
    return _tidy(frame, blank)


# Files read ahead (``read_table(..., keep=True)``: ``shixiang run`` places each file in its
# partition before the run) and not loaded yet; loading one takes it out.
_read_ahead: dict[tuple[Path, tuple[Column, ...], int, int], tuple[pd.DataFrame, str]] = {}


def _stamp(path: Path, columns: tuple[Column, ...]) -> tuple:
    st = path.stat()
    return path, columns, st.st_size, st.st_mtime_ns


def read_table(
    path: Path, columns: tuple[Column, ...], *, keep: bool = False
) -> tuple[pd.DataFrame, str]:
    """Read one file of any supported format, recognised from its bytes, as text cells under
    internal names (contract columns by name, others ``extra::`` + header). Returns (frame,
    format or encoding); raises :class:`InputFileError` with the reason when the file cannot
    be used. ``keep``: hold the result for the next load of the same unchanged file."""
    if keep:
        result = read_table(path, columns)
        _read_ahead[_stamp(path, columns)] = result
        return result
    ahead = _read_ahead.pop(_stamp(path, columns), None) if _read_ahead else None
    if ahead is not None:
        return ahead
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if not data.strip():
        raise InputFileError("文件为空")
    kind = _sniff_kind(data)
    if kind in ("zip", "ole"):
        fmt = _workbook_kind(data, kind, suffix)
        return _read_workbook(data, fmt, columns), fmt
    if kind != "text":
        raise _unsupported(kind)
    try:
        text, encoding = decode_csv_bytes(data)
    except InputFileError as exc:
        if suffix in _WORKBOOK_SUFFIXES:
            raise InputFileError(
                f"文件已损坏或不是 Excel 工作簿：扩展名是 {suffix}，但内容既不是 Excel 格式，也不是可识别编码的文本表格"
            ) from exc
        if suffix and suffix not in _TEXT_SUFFIXES:
            raise _unsupported(f"{suffix} 文件（二进制内容）") from exc
        raise
    return _read_text_table(text, suffix, columns), encoding


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each Arrow-backed column in one contiguous chunk.

    Concatenating thousands of small per-file frames leaves every column in thousands of
    chunks, and everything downstream (string methods, GX, matching) pays per chunk: the
    village suite ran 2.6× and the matching step 1.2× slower on such frames (500k rows)."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        arrow = getattr(s.array, "__arrow_array__", None)
        if arrow is not None:
            chunked = arrow()
            if getattr(chunked, "num_chunks", 1) > 1:
                s = pd.Series(
                    pd.array(chunked.combine_chunks(), dtype=s.dtype), index=s.index, name=col
                )
        out[col] = s
    return pd.DataFrame(out, index=frame.index)


def _clean_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip text cells; empty strings become missing values."""
    out = frame.astype("str").apply(lambda s: s.str.strip())
    return out.mask(out.isin(["", "nan", "None", "NaN"]))


def _extra_json(frame: pd.DataFrame) -> pd.Series:
    """Columns outside the contract as one JSON object per row (empty cells left out)."""
    extras = [c for c in frame.columns if c.startswith(_EXTRA)]
    if not extras:
        return pd.Series(np.nan, index=frame.index, dtype="str")
    sub = frame[extras].rename(columns=lambda c: c.removeprefix(_EXTRA)).astype(object)
    records = sub.where(sub.notna(), None).to_dict("records")
    return pd.Series(
        [
            json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False)
            for r in records
        ],
        index=frame.index,
        dtype="str",
    )


def _raw_json(frame: pd.DataFrame) -> pd.Series:
    sub = frame.astype(object).where(frame.notna(), None)
    return pd.Series(
        [json.dumps(r, ensure_ascii=False) for r in sub.to_dict("records")], index=frame.index
    )


def _read_file(
    path: Path, columns: tuple[Column, ...], *, row_problems_reject_file: bool = False
) -> pd.DataFrame:
    """One file → its cells under internal names (extras prefixed). Kept to the minimum of
    pandas calls: a province sends thousands of small files and per-file work dominates.

    A row the reader found broken (columns shifted) is marked in ``_problem``; with
    ``row_problems_reject_file`` the whole file is rejected instead (the catalogue: a half
    catalogue must not pass)."""
    raw, _fmt = read_table(path, columns)
    if raw.empty:
        raise InputFileError("只有表头，没有数据行")
    if row_problems_reject_file and _PROBLEM in raw.columns:
        bad = raw[_PROBLEM].notna().to_numpy()
        first = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"第 {first + 1} 个数据行：{raw[_PROBLEM].iloc[first]}（共 {int(bad.sum())} 行如此）"
        )
    return raw


def _load_folder(
    root: Path, folder: str, columns: tuple[Column, ...], only: Collection[str] | None = None
) -> tuple[pd.DataFrame | None, list[dict[str, str]], int]:
    """Read every file of a folder (or those of ``only``, paths relative to ``root``); clean
    the cells of all of them at once (per-file pandas work dominates when thousands of units
    each send a small file)."""
    frames: list[pd.DataFrame] = []
    sources: list[str] = []
    rejected_files: list[dict[str, str]] = []
    files = list_input_files(root / folder)
    if only is not None:
        files = [p for p in files if p.relative_to(root).as_posix() in only]
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            frames.append(
                _read_file(path, columns, row_problems_reject_file=folder == CATALOGUE_FOLDER)
            )
        except InputFileError as exc:
            rejected_files.append({"source_file": rel, "reason": str(exc)})
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            # readers' panics derive from BaseException)
            rejected_files.append(
                {
                    "source_file": rel,
                    "reason": f"读取文件时出错，文件可能已损坏（{type(exc).__name__}：{exc}）",
                }
            )
        else:
            sources.append(rel)
    if not frames:
        return None, rejected_files, len(files)
    raw = compact(pd.concat(frames, ignore_index=True)) if len(frames) > 1 else frames[0]
    lengths = [len(f) for f in frames]
    source_file = pd.Series(np.repeat(np.array(sources, dtype=object), lengths), dtype="str")
    source_row = pd.Series(np.concatenate([np.arange(1, n + 1, dtype="int64") for n in lengths]))
    cells = _clean_cells(raw)
    out = pd.DataFrame(
        {
            "row_id": source_file + ":" + source_row.astype("str"),
            "source_file": source_file,
            "source_row": source_row,
        }
    )
    for col in columns:
        out[col.name] = (
            cells[col.name]
            if col.name in cells
            else pd.Series(np.nan, index=out.index, dtype="str")
        )
    out["extra"] = _extra_json(cells)
    if _PROBLEM in cells:
        out[_PROBLEM] = cells[_PROBLEM]
        cells = cells.drop(columns=_PROBLEM)
    out["_blank"] = cells.isna().all(axis=1)
    return out, rejected_files, len(files)


def _reject(frame: pd.DataFrame, mask: pd.Series, reason: pd.Series | str) -> pd.DataFrame:
    bad = frame.loc[mask]
    reasons = reason.loc[mask] if isinstance(reason, pd.Series) else reason
    internal = [
        c
        for c in bad.columns
        if c not in ("row_id", "source_file", "source_row", "_blank", _PROBLEM)
    ]
    return pd.DataFrame(
        {
            "source_file": bad["source_file"],
            "source_row": bad["source_row"],
            "reason": reasons,
            "raw": _raw_json(bad[internal]) if len(bad) else pd.Series(dtype="str"),
        }
    )


# --- Division codes ------------------------------------------------------------------------


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def _per_distinct(values: pd.Series, fn: Callable[[str], str]) -> pd.Series:
    """``fn`` applied once per distinct value (codes and limits repeat a few values over
    hundreds of thousands of rows); values it leaves empty become missing."""
    lookup = {v: fn(v) for v in values.dropna().unique()}
    changed = {k: v for k, v in lookup.items() if k != v}
    if not changed:
        return values
    out = values.map(lookup).astype("str")
    return out.mask(out == "")


def _nfkc(text: str) -> str:
    """Full-width digits and letters as ASCII (``５１１６０２`` → ``511602``), stripped."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).strip()


def _nfkc_code(text: str) -> str:
    """A code as typed → NFKC, no spaces anywhere, no ``.0`` Excel added to a number."""
    s = "".join(_nfkc(text).split())
    return re.sub(r"^(\d+)\.0+$", r"\1", s)


def normalise_division_codes(codes: pd.Series) -> pd.Series:
    """Tidy what spreadsheets and typists do to codes: ``511602000000.0``, full-width digits
    ``５１１６０２０００１００``, spaces inside ``5116 0200 0000`` → ``511602000000``."""
    return _per_distinct(codes, _nfkc_code)


def division_levels(codes: pd.Series) -> pd.Series:
    """Level of each 12-digit division code from its trailing zero groups; NaN when invalid.

    220000000000 province, 220100000000 city, 220102000000 county, 220102001000 township,
    220102001001 village.
    """
    s = codes.astype("str")
    valid = s.str.fullmatch(DIVISION_CODE_PATTERN) & ~s.str.startswith("00")
    level = np.select(
        [
            s.str[2:] == "0" * 10,
            s.str[4:] == "0" * 8,
            s.str[6:] == "0" * 6,
            s.str[9:] == "000",
        ],
        ["province", "city", "county", "township"],
        default="village",
    )
    return pd.Series(level, index=codes.index, dtype="str").where(valid.fillna(False))


def division_code_problem(codes: pd.Series) -> pd.Series:
    """Reason text for each unusable division code; NaN where the code is fine."""
    out = pd.Series(np.nan, index=codes.index, dtype="str")
    s_all = codes.astype("str")
    valid = (s_all.str.fullmatch(DIVISION_CODE_PATTERN) & ~s_all.str.startswith("00")).fillna(False)
    if valid.all():
        return out
    codes = codes.loc[~valid]  # reasons are spelled out for the bad codes only
    s = s_all.loc[~valid]
    reasons = np.select(
        [
            codes.isna(),
            s.str.fullmatch(r"\d(?:\.\d+)?[eE][+-]?\d+").fillna(False),
            ~s.str.fullmatch(r"\d+").fillna(False),
            s.str.len() != 12,
            s.str.startswith("00"),
        ],
        [
            "行政区划代码为空",
            "行政区划代码“"
            + s
            + "”是科学计数法：Excel 把代码当成了数字，后几位可能已丢失；请把该列设为文本后重新导出",
            "行政区划代码“" + s + "”含非数字字符",
            "行政区划代码“" + s + "”不是12位（共" + s.str.len().astype(str) + "位）",
            "行政区划代码“" + s + "”不是有效的省级代码开头",
        ],
        default="",
    )
    out.loc[~valid] = reasons
    return out.mask(out == "")


# --- Public loaders ------------------------------------------------------------------------


def parse_use_levels(values: pd.Series) -> pd.Series:
    """行使层级 text → comma-joined level keys, e.g. "省级、镇（乡、街道）级" → "province,township".

    Known labels are matched as whole labels first (so 镇（乡、街道）级 is not cut on its 、).
    """
    labels = sorted(USE_LEVEL_ALIASES, key=len, reverse=True)

    def parse(text: str) -> str:
        found: list[str] = []
        rest = text
        for label in labels:
            if label in rest:
                rest = rest.replace(label, "、")
                found.append(USE_LEVEL_ALIASES[label])
        order = ("national", *LEVELS)
        return ",".join(k for k in order if k in found)

    uniques = values.dropna().unique()
    lookup = {u: parse(str(u)) for u in uniques}
    return values.map(lookup).fillna("").astype("str")


def level_allowed(levels: pd.Series, use_level_keys: pd.Series) -> pd.Series:
    """Whether each row's level is among its item's 行使层级 keys (as :func:`parse_use_levels`
    writes them, e.g. "province,city,county")."""
    level = levels.fillna("")
    keys = use_level_keys.fillna("")
    allowed = pd.Series(False, index=levels.index)
    for lv in LEVELS:
        allowed |= (level == lv) & keys.str.contains(lv, regex=False)
    return allowed


def combine(loaded: dict[str, Loaded]) -> Loaded:
    """The five levels' results as one: accepted rows in level order, every rejection.

    The rows are not compacted (:func:`compact`): each level's columns are one chunk already,
    so the combined columns have at most five, and they share the levels' buffers instead of
    copying them (the levels' frames stay alive beside the combined one in a run: 175 MiB on
    a 500,000-row province)."""
    parts = [loaded[lv].rows for lv in LEVELS if lv in loaded and len(loaded[lv].rows)]
    rows = (
        pd.concat(parts, ignore_index=True) if parts else next(iter(loaded.values())).rows.iloc[0:0]
    )
    return Loaded(
        rows=rows,
        rejected_rows=pd.concat([x.rejected_rows for x in loaded.values()], ignore_index=True),
        rejected_files=pd.concat([x.rejected_files for x in loaded.values()], ignore_index=True),
        files_read=sum(x.files_read for x in loaded.values()),
        rows_read=sum(x.rows_read for x in loaded.values()),
    )


def load_catalogue(data_dir: Path) -> Loaded:
    """Read every file under ``catalogue/``. No row is rejected here: blank rows are skipped
    (counted in ``blank_rows_skipped``), a file with shifted rows is rejected whole, and the
    catalogue suite (a blocking check) judges the rest, so a broken catalogue stops the run
    instead of being published half."""
    all_rows, rejected_files, n_files = _load_folder(data_dir, CATALOGUE_FOLDER, CATALOGUE_COLUMNS)
    if all_rows is None:
        if n_files == 0:
            rejected_files.append(
                {
                    "source_file": CATALOGUE_FOLDER + "/",
                    "reason": "目录文件夹中没有 .csv 或 .xlsx 等表格文件",
                }
            )
        rows = pd.DataFrame(
            columns=[
                "row_id",
                "source_file",
                "source_row",
                *[c.name for c in CATALOGUE_COLUMNS],
                "use_level_keys",
                "extra",
            ]
        )
        return Loaded(
            rows=rows,
            rejected_files=pd.DataFrame(rejected_files, columns=REJECTED_FILE_COLUMNS),
            files_read=n_files,
        )
    blank = all_rows["_blank"]
    rows = all_rows.loc[~blank].drop(columns="_blank").reset_index(drop=True)
    for col in ("business_code", "base_code"):
        rows[col] = _per_distinct(rows[col], _nfkc_code)
    rows["legal_limit"] = _per_distinct(rows["legal_limit"], _nfkc)
    rows["use_level_keys"] = parse_use_levels(rows["use_levels"])
    return Loaded(
        rows=rows,
        rejected_files=pd.DataFrame(rejected_files, columns=REJECTED_FILE_COLUMNS),
        files_read=n_files,
        rows_read=len(rows),
        blank_rows_skipped=int(blank.sum()),
    )


def load_level(data_dir: Path, level: str, files: Collection[str] | None = None) -> Loaded:
    """Read every implementation list under ``<level>/`` (or only ``files``, paths relative to
    ``data_dir``: one partition's) and reject unusable rows."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    all_rows, rejected_files, n_files = _load_folder(data_dir, level, ITEM_COLUMNS, files)
    item_cols = [c.name for c in ITEM_COLUMNS]
    out_cols = ["row_id", "source_file", "source_row", "folder_level", "level", *item_cols, "extra"]
    rej_files = pd.DataFrame(rejected_files, columns=REJECTED_FILE_COLUMNS)
    if all_rows is None:
        return Loaded(
            rows=pd.DataFrame(columns=out_cols), rejected_files=rej_files, files_read=n_files
        )
    all_rows["division_code"] = normalise_division_codes(all_rows["division_code"])
    all_rows["claimed_code"] = _per_distinct(
        all_rows["claimed_code"], lambda v: _nfkc_code(v).upper()
    )
    for col in ("legal_limit", "promised_limit", "visits"):
        all_rows[col] = _per_distinct(all_rows[col], _nfkc)
    reason = division_code_problem(all_rows["division_code"])
    if _PROBLEM in all_rows:
        reason = all_rows[_PROBLEM].astype("str").fillna(reason)
    reason = reason.fillna(all_rows["agency"].isna().map({True: "实施主体为空", False: np.nan}))
    reason = reason.fillna(all_rows["item_name"].isna().map({True: "事项名称为空", False: np.nan}))
    reason = reason.where(~all_rows["_blank"], "空行")
    bad = reason.notna()
    rejected = _reject(all_rows, bad, reason)
    rows = all_rows.loc[~bad].drop(columns=["_blank", _PROBLEM], errors="ignore")
    rows = rows.reset_index(drop=True)
    rows["folder_level"] = level
    rows["level"] = division_levels(rows["division_code"])
    return Loaded(
        rows=rows[out_cols],
        rejected_rows=rejected.reset_index(drop=True),
        rejected_files=rej_files,
        files_read=n_files,
        rows_read=len(all_rows),
    )


def data_dir_fingerprint(
    data_dir: Path, folders: tuple[str, ...] = (CATALOGUE_FOLDER, *LEVELS)
) -> str:
    """A digest of every input file's path, size and modification time (for change sensors)."""
    import hashlib

    h = hashlib.sha256()
    for folder in folders:
        for path in list_input_files(data_dir / folder):
            st = path.stat()
            h.update(
                f"{path.relative_to(data_dir).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()
            )
    return h.hexdigest()[:32]
