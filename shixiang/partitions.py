"""Partitions: a province's lists split by prefecture (市/州), each published as its own slice.

A partition key is the first four digits of a division code: ``5116`` is 广安市 and every
county, township and village under it; the province's own units (``510000000000``, its
departments) make ``5100``. A *file* belongs to one partition, the one most of its rows'
division codes name; a file whose rows cannot be read (damaged, header only) goes by the
leading digits of its name (``511623_邻水县.csv`` → ``5116``), else to the province's own
partition. Every row of a file, accepted or rejected, is published in its file's slice, so a
partition's run replaces exactly what its previous run published.

Finding a file's partition means reading it, so the assignment is kept by file (path, size,
modification time; ``store.read_file_index``) and a file is read again only when it changed.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shixiang.config import LEVELS
from shixiang.scope import file_division_codes
from shixiang.tables import PARTITION_COLUMN

if TYPE_CHECKING:
    from sqlalchemy import Engine

KEY_DIGITS = 4
_CODE = re.compile(r"[0-9]{12}")
# What is given each file's item names as it is read (see peek_partition).
NameSink = Callable[[list[object]], None]
# The partition of files that name no unit at all, when no file shows which province this is.
UNKNOWN_PROVINCE_KEY = "0000"


def partition_of(codes: pd.Series) -> pd.Series:
    """The partition of each 12-digit division code (missing for anything else)."""
    s = codes.astype("str")
    return s.str[:KEY_DIGITS].where(s.str.fullmatch(r"[0-9]{12}").fillna(False))


@dataclass(frozen=True)
class FileEntry:
    """One input file's partition, valid while the file keeps its size and modification time."""

    source_file: str  # relative to the data directory, with /
    size: int
    mtime_ns: int
    partition_key: str | None  # None: no unit named in the file (decided by province_key)


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def peek_partition(
    path: Path, source_file: str, *, cache: bool = False, names: NameSink | None = None
) -> str | None:
    """The partition most rows of one implementation list name; else its file name's.

    ``cache`` keeps the file's cells for the next load of the file, in a process about to
    load the same files (``shixiang run``); a long-lived one (the sensor's) must not.
    ``names`` is given the file's item names (cells as read) once it is read (``shixiang
    run`` has them parsed ahead: :mod:`shixiang.prefetch`)."""
    from shixiang import ingest  # the reader (and its format detection) is only needed here
    from shixiang.schema import ITEM_COLUMNS

    try:
        raw, _ = ingest.read_table(path, ITEM_COLUMNS, keep=cache)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # a damaged file: read again, and rejected, by its partition's run
        raw = None
    if raw is not None and names is not None and "item_name" in raw:
        names(raw["item_name"].tolist())
    if raw is not None and "division_code" in raw:
        codes = raw["division_code"].tolist()
        # Clean codes are counted as they are (pandas per file cost 3 s over 2,000 files);
        # only a file without one pays for the reader's normalisation (full-width digits, ".0").
        keys = Counter(c[:KEY_DIGITS] for c in codes if isinstance(c, str) and _CODE.fullmatch(c))
        if not keys:
            normal = ingest.normalise_division_codes(pd.Series(codes, dtype="object"))
            keys = Counter(partition_of(normal).dropna())
        if keys:
            return str(keys.most_common(1)[0][0])
    by_name = partition_of(file_division_codes(pd.Series([source_file])).fillna(""))
    return None if by_name.isna().iloc[0] else str(by_name.iloc[0])


def index_files(
    data_dir: Path,
    known: Mapping[str, FileEntry],
    levels: Iterable[str] = LEVELS,
    *,
    cache: bool = False,
    names: NameSink | None = None,
) -> tuple[dict[str, FileEntry], list[FileEntry]]:
    """Every implementation list of ``levels`` with its partition: ``known`` entries whose
    file is unchanged are kept, the others are read (returned second, to be stored; ``cache``
    and ``names``: see ``peek_partition``)."""
    from shixiang.ingest import list_input_files

    index: dict[str, FileEntry] = {}
    fresh: list[FileEntry] = []
    for level in levels:
        for path in list_input_files(data_dir / level):
            rel = path.relative_to(data_dir).as_posix()
            size, mtime_ns = _stat(path)
            entry = known.get(rel)
            if entry is None or (entry.size, entry.mtime_ns) != (size, mtime_ns):
                entry = FileEntry(
                    rel, size, mtime_ns, peek_partition(path, rel, cache=cache, names=names)
                )
                fresh.append(entry)
            index[rel] = entry
    return index, fresh


def refresh_index(
    engine: Engine, data_dir: Path, *, cache: bool = False, names: NameSink | None = None
) -> dict[str, FileEntry]:
    """The data directory's implementation lists with their partitions, from the placements
    stored in the library database (``input_files``); new and changed files are read and
    their placements stored (``cache`` and ``names``: see ``peek_partition``)."""
    from shixiang import store

    known = {f: FileEntry(f, *v) for f, v in store.read_file_index(engine).items()}
    index, fresh = index_files(data_dir, known, cache=cache, names=names)
    if fresh:
        store.save_file_index(
            engine, [(e.source_file, e.size, e.mtime_ns, e.partition_key) for e in fresh]
        )
    return index


def province_key(entries: Iterable[FileEntry]) -> str:
    """The province's own partition (``5100``): its two digits are those most files name."""
    provinces = Counter(e.partition_key[:2] for e in entries if e.partition_key)
    if not provinces:
        return UNKNOWN_PROVINCE_KEY
    return provinces.most_common(1)[0][0] + "0" * (KEY_DIGITS - 2)


def file_partitions(index: Mapping[str, FileEntry]) -> dict[str, str]:
    """``source_file → partition key`` with every file placed (unplaced ones: the province's)."""
    fallback = province_key(index.values())
    return {f: e.partition_key or fallback for f, e in index.items()}


def keys(index: Mapping[str, FileEntry]) -> list[str]:
    """The partitions the data directory has now, sorted (the province's own when it has no
    implementation list at all: a run still publishes, an empty library)."""
    return sorted(set(file_partitions(index).values())) or [province_key(index.values())]


def files_in(index: Mapping[str, FileEntry], wanted: Collection[str]) -> set[str]:
    """The files of the partitions ``wanted``."""
    return {f for f, key in file_partitions(index).items() if key in wanted}


def slice_keys(index: Mapping[str, FileEntry], run_keys: Collection[str]) -> list[str] | None:
    """The partitions whose slices a run over ``run_keys`` replaces, sorted; None when the run
    covers every partition the data directory has now: the library is then replaced whole
    (the rows of a prefecture that left the directory go too)."""
    if set(keys(index)) <= set(run_keys):
        return None
    return sorted(run_keys)


def changed_partitions(before: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Partitions whose fingerprint differs between two ``fingerprints`` results, sorted: a
    partition with changed files, a new one, and one with no file any more (its run
    publishes an empty slice, so its rows leave the library)."""
    return sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))


def fingerprints(index: Mapping[str, FileEntry]) -> dict[str, str]:
    """One digest per partition of its files' paths, sizes and times: a partition whose digest
    changed (a file added, changed, removed or moved to another partition) must run again."""
    digests: dict[str, hashlib._Hash] = {}
    placed = file_partitions(index)
    for rel in sorted(index):
        e = index[rel]
        h = digests.setdefault(placed[rel], hashlib.sha256())
        h.update(f"{rel}\0{e.size}\0{e.mtime_ns}\n".encode())
    return {key: h.hexdigest()[:24] for key, h in sorted(digests.items())}


def _by_file(files: pd.Series, placed: Mapping[str, str]) -> pd.Series:
    """``files.map(placed)`` looked up once per distinct file (a library has 500,000 rows and
    1,500 files), missing where a file has no place."""
    codes, uniques = pd.factorize(files)
    looked_up = np.array([placed.get(f) for f in uniques] + [None], dtype=object)
    return pd.Series(looked_up[codes], index=files.index, dtype="object")


def tag_slices(
    tables: Mapping[str, pd.DataFrame], placed: Mapping[str, str], run_keys: Collection[str]
) -> dict[str, pd.DataFrame]:
    """The output tables with each row's partition in ``partition_key``: by its source file
    where it has one; a unit's statistics and changes by the partition of the unit's files
    (the only partition of the run when the run has one). Rows of all partitions (the
    province-wide rows of ``reuse_stats``) keep it empty."""
    run_keys = sorted(run_keys)
    units: dict[tuple[str, str], str] = {}
    library = tables.get("unified_library")
    if library is not None and len(library):
        unit_key = _by_file(library["source_file"], placed)
        first = pd.DataFrame(
            {"d": library["division_code"], "a": library["agency"], "k": unit_key}
        ).drop_duplicates(["d", "a"])
        units = dict(zip(zip(first["d"], first["a"], strict=True), first["k"], strict=True))
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        if frame is None or name == "catalogue_items":
            out[name] = frame
            continue
        frame = frame.copy(deep=False)  # copy-on-write: the caller's frame keeps its columns
        if "source_file" in frame:
            key = _by_file(frame["source_file"], placed)
        else:
            key = pd.Series(
                [units.get(u) for u in zip(frame["division_code"], frame["agency"], strict=True)],
                index=frame.index,
                dtype="object",
            )
            own = partition_of(frame["division_code"].fillna(""))
            key = key.fillna(own.where(own.isin(run_keys)))
            if len(run_keys) == 1:
                key = key.fillna(run_keys[0])
        if name == "reuse_stats":
            key = key.where(frame["scope"] != "level")
        frame[PARTITION_COLUMN] = key.astype("object")
        out[name] = frame
    return out
