"""A whole province: catalogue, five levels of unit lists, ``truth.csv`` and broken files.

:func:`generate_province` sizes the province, lays out its units, draws each level's rows
(:mod:`dev.synth.rows`), files them (the province's biggest agencies get their own files, a
township row lands in its county's file), spoils a few rows for robustness, and writes it all
(:mod:`dev.synth.files`).
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from dev.synth.catalogue import _BIT, DEFAULT_REFERENCE, _build_model, build_catalogue
from dev.synth.files import (
    LIST_HEADERS,
    TRUTH_COLUMNS,
    _choose_formats,
    _write_broken_files,
    _write_rows,
    _write_table,
)
from dev.synth.rows import _level_rows
from dev.synth.units import _assign_files, _build_units, _plan, _plan_total, _solve_scale
from shixiang.config import CATALOGUE_FOLDER, LEVELS


def generate_province(
    out_dir: Path,
    *,
    scale: float = 1.0,
    seed: int = 7,
    broken_files: bool = True,
    xlsx_share: float | None = None,
    reference_csv: Path | None = None,
    target_rows: int | None = None,
) -> dict:
    """Write a synthetic province (catalogue, five levels of unit lists, truth.csv) to out_dir.

    ``scale`` multiplies the number of unit-list rows of the demo (scale 1 ≈ 1,200 rows);
    ``target_rows`` (overrides ``scale``) asks for about that many rows. ``xlsx_share`` is the
    share of unit files written as .xlsx (default 0.2 up to 20,000 rows, then 0.01).

    Returns a dict: ``rows`` (per level), ``rows_total``, ``units`` and ``files`` (per level),
    ``formats`` (files per format), ``catalogue_items``, ``withheld_items``,
    ``withheld_siblings``, ``variations`` (rows per class), ``qc_flags`` (rows per flag),
    ``broken_files`` (relative paths), ``catalogue_files`` and ``seconds``.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    for sub in (CATALOGUE_FOLDER, *LEVELS):
        d = out_dir / sub
        if d.exists() and any(d.iterdir()):
            raise FileExistsError(f"{d} is not empty; generate into a fresh directory")
    model = _build_model(str(reference_csv or DEFAULT_REFERENCE), seed, 0.04)
    cat = model.items
    rng = np.random.default_rng(seed)
    prng = random.Random(seed + 1)

    pools = {lv: int(((cat["levels"].to_numpy() & _BIT[lv]) > 0).sum()) for lv in LEVELS}
    if target_rows is not None:
        s = _solve_scale(int(target_rows), pools)
    elif scale == 1.0:
        s = 1.0
    else:
        s = _solve_scale(round(scale * _plan_total(_plan(1.0, pools))), pools)
    plan = _plan(s, pools)
    units, spare_counties = _build_units(plan, prng, extra_counties=2)
    _assign_files(units)

    by_level: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        by_level[u.level].append(i)
    frames = [
        _level_rows(lv, by_level[lv], units, plan[lv][1], model, rng)
        for lv in LEVELS
        if by_level[lv]
    ]
    rows = pd.concat(frames, ignore_index=True)
    rows["file"] = [units[i].file for i in rows["unit"].tolist()]

    # Province: the two biggest agencies get their own files.
    prov = rows["level"] == "province"
    top = (
        rows.loc[prov, "实施主体"]
        .value_counts()
        .sort_index()
        .sort_values(ascending=False, kind="stable")
    )
    for agency in top.index[:2]:
        sel = prov & (rows["实施主体"] == agency)
        rows.loc[sel, "file"] = f"province/510000_{agency}"
    rows.loc[prov & ~rows["实施主体"].isin(top.index[:2]), "file"] = (
        "province/510000_四川省_其他省级部门"
    )

    # One or two township rows filed in their county's folder.
    town_rows = np.flatnonzero(
        (rows["level"] == "township").to_numpy() & (rows["variation"] == "exact").to_numpy()
    )
    if len(town_rows) and by_level["county"]:
        for r in rng.choice(town_rows, min(2, len(town_rows)), replace=False):
            county = units[units[int(rows.at[r, "unit"])].parent]
            rows.at[r, "file"] = county.file
            rows.at[r, "qc_flags"] = (rows.at[r, "qc_flags"] + ";misfiled_level").lstrip(";")

    # Unparseable division codes and an empty name (demo robustness).
    if broken_files:
        # letter O for a zero, 11 digits, empty
        bad = (
            ("county", lambda c: c.replace("0", "O", 1) if "0" in c else c + "O"),
            ("county", lambda c: c[:-1]),
            ("township", lambda c: ""),
        )
        for lv, spoil in bad:
            cand = np.flatnonzero(
                (rows["level"] == lv).to_numpy()
                & (rows["qc_flags"] == "").to_numpy()
                & rows["expected_in_catalogue"].to_numpy(dtype=bool)
            )
            r = int(rng.choice(cand))
            rows.at[r, "行政区划代码"] = spoil(rows.at[r, "行政区划代码"])
            rows.at[r, "qc_flags"] = "bad_division_code"
            rows.at[r, "broken_row"] = True
        cand = np.flatnonzero(
            (rows["level"] == "city").to_numpy() & (rows["qc_flags"] == "").to_numpy()
        )
        r = int(rng.choice(cand))
        rows.loc[r, ["事项名称", "expected_business_code", "expected_base_code"]] = ""
        rows.loc[r, ["variation", "qc_flags"]] = ["empty_name", "empty_name"]
        rows.at[r, "expected_in_catalogue"] = False
        rows.at[r, "broken_row"] = True

    rows = rows.sort_values(["file", "行政区划代码", "实施主体", "sort_key"], kind="stable")
    rows["source_row"] = rows.groupby("file", sort=False).cumcount() + 1

    files = sorted(rows["file"].unique())
    if xlsx_share is None:
        xlsx_share = 0.2 if len(rows) <= 20000 else 0.01
    fmts = _choose_formats(files, rng, xlsx_share)
    suffix = {f: (".xlsx" if fmts[f] == "xlsx" else ".csv") for f in files}
    rows["source_file"] = rows["file"].map(lambda f: f + suffix[f])
    rows = rows.sort_values(["source_file", "source_row"], kind="stable").reset_index(drop=True)

    # Rows of one file are contiguous: write each range from plain lists.
    source_files = rows["source_file"].to_numpy()
    starts = [0, *(np.flatnonzero(source_files[1:] != source_files[:-1]) + 1).tolist()]
    ends = [*starts[1:], len(rows)]
    columns = [rows[c].astype(str).tolist() for c in LIST_HEADERS]
    for a, b in zip(starts, ends, strict=True):
        rel = str(source_files[a])
        fmt = fmts[rel.rsplit(".", 1)[0]]
        _write_rows(out_dir / rel, list(LIST_HEADERS), [c[a:b] for c in columns], fmt)

    # Catalogue: 行政许可 as CSV (UTF-8 with BOM), the rest as xlsx (CSV when xlsx is off).
    catalogue, withheld = build_catalogue(reference_csv, seed=seed)
    lic = catalogue["事项类型"] == "行政许可"
    cat_files = ["catalogue/四川省政务服务事项基本目录_行政许可.csv"]
    _write_table(catalogue[lic], out_dir / cat_files[0], "utf-8-sig")
    rest = (
        "catalogue/四川省政务服务事项基本目录_其他.xlsx"
        if xlsx_share > 0
        else "catalogue/四川省政务服务事项基本目录_其他.csv"
    )
    _write_table(catalogue[~lic], out_dir / rest, "xlsx" if rest.endswith("xlsx") else "utf-8")
    cat_files.append(rest)

    broken: list[tuple[str, str]] = []
    if broken_files:
        broken = _write_broken_files(out_dir, units, spare_counties, model, rng)

    truth = rows.assign(
        division_code=rows["行政区划代码"],
        item_name=rows["事项名称"],
        expected_in_catalogue=rows["expected_in_catalogue"].map({True: "true", False: "false"}),
        broken_row=rows["broken_row"].map({True: "true", False: "false"}),
    )
    _write_rows(
        out_dir / "truth.csv",
        list(TRUTH_COLUMNS),
        [truth[c].astype(str).tolist() for c in TRUTH_COLUMNS],
        "utf-8",
    )
    _write_rows(
        out_dir / "broken_files.csv",
        ["source_file", "problem"],
        [[b[0] for b in broken], [b[1] for b in broken]],
        "utf-8",
    )

    flag_counts: Counter[str] = Counter()
    for f in rows["qc_flags"]:
        if f:
            flag_counts.update(f.split(";"))
    level_files: Counter[str] = Counter(f.split("/")[0] for f in files)
    return {
        "rows": {lv: int((rows["level"] == lv).sum()) for lv in LEVELS},
        "rows_total": len(rows),
        "units": {lv: len(by_level[lv]) for lv in LEVELS},
        "files": {lv: level_files[lv] for lv in LEVELS},
        "formats": dict(sorted(Counter(fmts.values()).items())),
        "catalogue_items": len(catalogue),
        "catalogue_files": cat_files,
        "withheld_items": int((withheld["withheld_kind"] == "withheld_item").sum()),
        "withheld_siblings": int((withheld["withheld_kind"] == "withheld_sibling").sum()),
        "variations": {v: int(n) for v, n in rows["variation"].value_counts().sort_index().items()},
        "qc_flags": dict(sorted(flag_counts.items())),
        "broken_files": [b[0] for b in broken],
        "seconds": round(time.perf_counter() - t0, 2),
    }
