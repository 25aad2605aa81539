"""Reading the data directory: files in any of the accepted encodings, headers mapped to the
contract, bad files and bad rows rejected with a reason in Chinese that names the problem.

Every data row read ends up either in ``Loaded.rows`` or in ``Loaded.rejected_rows``; a file
that cannot be read at all ends up in ``Loaded.rejected_files``. Nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shixiang.config import CATALOGUE_FOLDER, INPUT_SUFFIXES, LEVELS, USE_LEVEL_ALIASES
from shixiang.schema import CATALOGUE_COLUMNS, ITEM_COLUMNS, Column, fold_header, header_map

REJECTED_ROW_COLUMNS = ["source_file", "source_row", "reason", "raw"]
REJECTED_FILE_COLUMNS = ["source_file", "reason"]
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


# --- Files ---------------------------------------------------------------------------------


def list_input_files(folder: Path) -> list[Path]:
    """Input files of one folder (recursively), sorted; hidden and temporary files skipped."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES and not p.name.startswith((".", "~$"))
    )


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or GB18030. Returns (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"文件以 UTF-8 BOM 开头，但第 {exc.start} 字节起不是有效的 UTF-8"
            ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"无法识别文件编码：既不是 UTF-8 也不是 GB18030/GBK（第 {exc.start} 字节无效）。"
            "请另存为 UTF-8 或 GB18030 编码的 CSV，或 .xlsx 文件"
        ) from exc


def read_raw_table(path: Path) -> tuple[pd.DataFrame, str]:
    """Read a .csv or .xlsx file as text cells with its own headers. Returns (frame, encoding)."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if not data.strip():
        raise InputFileError("文件为空")
    if suffix == ".xlsx":
        try:
            frame = pd.read_excel(
                io.BytesIO(data), sheet_name=0, dtype=str, engine="openpyxl", header=0
            )
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise InputFileError(
                f"无法打开 .xlsx 文件，文件已损坏或不是 Excel 工作簿（{exc}）"
            ) from exc
        encoding = "xlsx"
    else:
        text, encoding = decode_csv_bytes(data)
        first_line = text.split("\n", 1)[0]
        sep = "\t" if "\t" in first_line and "," not in first_line else ","
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                # Python strings per file; the folder's cells become Arrow strings once, after
                # concatenation (_clean_cells): a thousand small files cost a second less.
                dtype=object,
                keep_default_na=False,
                skip_blank_lines=False,
                quoting=csv.QUOTE_MINIMAL,
            )
        except pd.errors.EmptyDataError as exc:
            raise InputFileError("文件没有表头") from exc
        except pd.errors.ParserError as exc:
            raise InputFileError(f"CSV 格式错误：{exc}") from exc
    if frame.columns.size == 0:
        raise InputFileError("文件没有表头")
    return frame, encoding


def _internal_headers(headers: pd.Index, columns: tuple[Column, ...]) -> list[str]:
    """A file's headers as internal names: contract headers (and their aliases) by their
    column's name, the first one only when two map to the same column; everything else kept
    with the ``extra::`` prefix. Raises when a required column is missing."""
    mapping = header_map(columns)
    out: list[str] = []
    taken: set[str] = set()
    for col in headers:
        target = mapping.get(fold_header(col))
        if target and target not in taken:
            taken.add(target)
            out.append(target)
        else:
            out.append(_EXTRA + str(col))
    missing = [c for c in columns if c.required and c.name not in taken]
    if missing:
        names = "、".join(c.header for c in missing)
        raise InputFileError(f"缺少必需列：{names}")
    return out


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


def _read_file(path: Path, columns: tuple[Column, ...]) -> pd.DataFrame:
    """One file → its cells under internal names (extras prefixed). Kept to the minimum of
    pandas calls: a province sends thousands of small files and per-file work dominates."""
    raw, _encoding = read_raw_table(path)
    if raw.empty:
        raise InputFileError("只有表头，没有数据行")
    raw.columns = _internal_headers(raw.columns, columns)
    return raw


def _load_folder(
    root: Path, folder: str, columns: tuple[Column, ...]
) -> tuple[pd.DataFrame | None, list[dict[str, str]], int]:
    """Read every file of a folder; clean the cells of all of them at once (per-file pandas
    work dominates when thousands of units each send a small file)."""
    frames: list[pd.DataFrame] = []
    sources: list[str] = []
    rejected_files: list[dict[str, str]] = []
    files = list_input_files(root / folder)
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            frames.append(_read_file(path, columns))
        except InputFileError as exc:
            rejected_files.append({"source_file": rel, "reason": str(exc)})
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
    out["_blank"] = cells.isna().all(axis=1)
    return out, rejected_files, len(files)


def _reject(frame: pd.DataFrame, mask: pd.Series, reason: pd.Series | str) -> pd.DataFrame:
    bad = frame.loc[mask]
    reasons = reason.loc[mask] if isinstance(reason, pd.Series) else reason
    internal = [
        c for c in bad.columns if c not in ("row_id", "source_file", "source_row", "_blank")
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


def normalise_division_codes(codes: pd.Series) -> pd.Series:
    """Tidy what spreadsheets do to codes: ``511602000000.0`` → ``511602000000``."""
    s = codes.astype("str").str.strip()
    return s.str.replace(r"^(\d{12})\.0+$", r"\1", regex=True).mask(codes.isna())


def division_levels(codes: pd.Series) -> pd.Series:
    """Level of each 12-digit division code from its trailing zero groups; NaN when invalid.

    220000000000 province, 220100000000 city, 220102000000 county, 220102001000 township,
    220102001001 village.
    """
    s = codes.astype("str")
    valid = s.str.fullmatch(r"\d{12}") & ~s.str.startswith("00")
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
    s = codes.astype("str")
    reasons = np.select(
        [
            codes.isna(),
            ~s.str.fullmatch(r"\d+").fillna(False),
            s.str.len() != 12,
            s.str.startswith("00"),
        ],
        [
            "行政区划代码为空",
            "行政区划代码“" + s + "”含非数字字符",
            "行政区划代码“" + s + "”不是12位（共" + s.str.len().astype(str) + "位）",
            "行政区划代码“" + s + "”不是有效的省级代码开头",
        ],
        default="",
    )
    out = pd.Series(reasons, index=codes.index, dtype="str")
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
    """The five levels' results as one: accepted rows in level order, every rejection."""
    parts = [loaded[lv].rows for lv in LEVELS if lv in loaded and len(loaded[lv].rows)]
    rows = (
        compact(pd.concat(parts, ignore_index=True))
        if parts
        else next(iter(loaded.values())).rows.iloc[0:0]
    )
    return Loaded(
        rows=rows,
        rejected_rows=pd.concat([x.rejected_rows for x in loaded.values()], ignore_index=True),
        rejected_files=pd.concat([x.rejected_files for x in loaded.values()], ignore_index=True),
        files_read=sum(x.files_read for x in loaded.values()),
        rows_read=sum(x.rows_read for x in loaded.values()),
    )


def load_catalogue(data_dir: Path) -> Loaded:
    """Read every file under ``catalogue/``. Only blank rows are rejected here: the catalogue
    suite (a blocking check) judges the rest, so a broken catalogue stops the run instead of
    being published half."""
    all_rows, rejected_files, n_files = _load_folder(data_dir, CATALOGUE_FOLDER, CATALOGUE_COLUMNS)
    if all_rows is None:
        if n_files == 0:
            rejected_files.append(
                {
                    "source_file": CATALOGUE_FOLDER + "/",
                    "reason": "目录文件夹中没有 .csv 或 .xlsx 文件",
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
    rejected = _reject(all_rows, blank, "空行")
    rows = all_rows.loc[~blank].drop(columns="_blank").reset_index(drop=True)
    rows["use_level_keys"] = parse_use_levels(rows["use_levels"])
    return Loaded(
        rows=rows,
        rejected_rows=rejected.reset_index(drop=True),
        rejected_files=pd.DataFrame(rejected_files, columns=REJECTED_FILE_COLUMNS),
        files_read=n_files,
        rows_read=len(all_rows),
    )


def load_level(data_dir: Path, level: str) -> Loaded:
    """Read every implementation list under ``<level>/`` and reject unusable rows."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    all_rows, rejected_files, n_files = _load_folder(data_dir, level, ITEM_COLUMNS)
    item_cols = [c.name for c in ITEM_COLUMNS]
    out_cols = ["row_id", "source_file", "source_row", "folder_level", "level", *item_cols, "extra"]
    rej_files = pd.DataFrame(rejected_files, columns=REJECTED_FILE_COLUMNS)
    if all_rows is None:
        return Loaded(
            rows=pd.DataFrame(columns=out_cols), rejected_files=rej_files, files_read=n_files
        )
    all_rows["division_code"] = normalise_division_codes(all_rows["division_code"])
    reason = division_code_problem(all_rows["division_code"])
    reason = reason.fillna(all_rows["agency"].isna().map({True: "实施主体为空", False: np.nan}))
    reason = reason.fillna(all_rows["item_name"].isna().map({True: "事项名称为空", False: np.nan}))
    reason = reason.where(~all_rows["_blank"], "空行")
    bad = reason.notna()
    rejected = _reject(all_rows, bad, reason)
    rows = all_rows.loc[~bad].drop(columns="_blank").reset_index(drop=True)
    rows["folder_level"] = level
    rows["level"] = division_levels(rows["division_code"])
    return Loaded(
        rows=rows[out_cols],
        rejected_rows=rejected.reset_index(drop=True),
        rejected_files=rej_files,
        files_read=n_files,
        rows_read=len(all_rows),
    )


def data_dir_fingerprint(data_dir: Path) -> str:
    """A digest of every input file's path, size and modification time (for change sensors)."""
    import hashlib

    h = hashlib.sha256()
    for folder in (CATALOGUE_FOLDER, *LEVELS):
        for path in list_input_files(data_dir / folder):
            st = path.stat()
            h.update(
                f"{path.relative_to(data_dir).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode()
            )
    return h.hexdigest()[:32]
