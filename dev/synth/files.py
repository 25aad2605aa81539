"""Writing a province: unit lists and tables in their encodings, and the broken files.

Unit lists are written as UTF-8, UTF-8 with BOM, GB18030 or .xlsx (:func:`_choose_formats`);
:func:`_write_broken_files` adds whole files no reader can use, listed in ``broken_files.csv``
and kept out of ``truth.csv``.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from dev.synth.catalogue import _Model
from dev.synth.units import _Unit
from shixiang.schema import ITEM_COLUMNS

# Headers of a unit's implementation list (the contract's, in its order).
LIST_HEADERS: tuple[str, ...] = tuple(c.header for c in ITEM_COLUMNS)
# Columns of truth.csv, one row per row of every well-formed unit file (see dev.synth).
TRUTH_COLUMNS: tuple[str, ...] = (
    "source_file",
    "source_row",
    "level",
    "division_code",
    "item_name",
    "expected_business_code",
    "expected_base_code",
    "variation",
    "expected_in_catalogue",
    "claimed_code_kind",
    "qc_flags",
    "broken_row",
)


# --- Formats and writers ---------------------------------------------------------------------
_FORMATS = ("utf-8", "utf-8-sig", "gb18030", "xlsx")


def _write_rows(path: Path, headers: list[str], columns: list[list], fmt: str) -> None:
    """Write column lists as a CSV in encoding ``fmt`` (or as .xlsx when fmt is "xlsx")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        pd.DataFrame(dict(zip(headers, columns, strict=True))).to_excel(
            path, index=False, engine="openpyxl"
        )
        return
    # The csv module writes the same minimal quoting as pandas, several times faster.
    with path.open("w", encoding=fmt, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(zip(*columns, strict=True))


def _write_table(df: pd.DataFrame, path: Path, fmt: str) -> None:
    _write_rows(path, list(df.columns), [df[c].astype(str).tolist() for c in df.columns], fmt)


def _choose_formats(
    files: list[str], rng: np.random.Generator, xlsx_share: float
) -> dict[str, str]:
    csv_p = np.array([0.6, 0.2, 0.2]) * (1 - xlsx_share)
    p = np.append(csv_p, xlsx_share)
    draws = rng.choice(len(_FORMATS), size=len(files), p=p / p.sum())
    fmts = {f: _FORMATS[d] for f, d in zip(files, draws, strict=True)}
    wanted = [f for f in _FORMATS if f != "xlsx" or xlsx_share > 0]
    if len(files) >= 2 * len(wanted):
        for fmt in wanted:
            counts = Counter(fmts.values())
            if counts[fmt]:
                continue
            common = counts.most_common(1)[0][0]
            victim = next(f for f in files if fmts[f] == common)
            fmts[victim] = fmt
    return fmts


# --- Broken files -----------------------------------------------------------------------------
def _write_broken_files(
    out_dir: Path,
    units: list[_Unit],
    spare_counties: list[tuple[str, str, str]],
    model: _Model,
    rng: np.random.Generator,
) -> list[tuple[str, str]]:
    """Files no reader can use; their rows are not part of truth.csv."""
    cat = model.items
    sample = cat.iloc[rng.choice(len(cat), 8, replace=False)]

    def frame(code: str, agency: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "行政区划代码": code,
                "实施主体": agency,
                "事项名称": sample["name"].to_numpy(),
                "基本编码": sample["base_code"].to_numpy(),
                "事项类型": sample["item_type"].to_numpy(),
                "设定依据": sample["basis"].to_numpy(),
                "办件类型": sample["handling"].to_numpy(),
                "法定办结时限": sample["legal"].astype(str).to_numpy(),
                "承诺办结时限": sample["legal"].astype(str).to_numpy(),
                "到办事现场次数": "1",
            }
        )

    out: list[tuple[str, str]] = []
    code6, county, city = spare_counties[0]
    body = frame(f"{code6}000000", f"{city}{county}行政审批局").to_csv(
        index=False, lineterminator="\n"
    )
    raw = bytearray(body.encode("gb18030"))
    for pos in sorted(
        rng.choice(np.arange(200, len(raw)), 4, replace=False).tolist(), reverse=True
    ):
        raw[pos:pos] = b"\xff\xfe"
    rel = f"county/{code6}_{county}_实施清单（编码异常）.csv"
    (out_dir / rel).write_bytes(bytes(raw))
    out.append((rel, "undecodable: bytes invalid in UTF-8 and GB18030"))

    code6b, county_b, city_b = spare_counties[1]
    rel = f"township/{code6b}101_缺少区划代码列.csv"
    frame(f"{code6b}101000", f"{city_b}{county_b}某镇人民政府").drop(columns="行政区划代码").to_csv(
        out_dir / rel, index=False, encoding="utf-8", lineterminator="\n"
    )
    out.append((rel, "missing column 行政区划代码"))

    village = next(u for u in units if u.level == "village")
    rel = f"village/{village.code[:9]}_补充清单（空）.csv"
    (out_dir / rel).write_bytes(b"")
    out.append((rel, "empty file (0 bytes)"))

    city_u = next((u for u in units if u.level == "city"), None)
    name = city_u.name if city_u else "广安市"
    code = city_u.code[:6] if city_u else "511600"
    rel = f"city/{code}_{name}_补充清单（仅表头）.csv"
    (out_dir / rel).write_text(",".join(LIST_HEADERS) + "\n", encoding="utf-8")
    out.append((rel, "header only, no data rows"))

    rel = "province/510000_四川省_损坏文件.xlsx"
    (out_dir / rel).write_bytes(rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    out.append((rel, "corrupt .xlsx (random bytes)"))
    return sorted(out)
