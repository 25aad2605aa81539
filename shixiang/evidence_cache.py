"""Name evidence kept across runs, so that a night does not parse again the names it has seen.

Parsing a distinct name and walking it through the tiers (:func:`shixiang.tiers.evidence_of`)
is the matcher's main cost: ~80 µs a name, 200,000 distinct names in a 500,000-row province
with real-world noise. Night after night almost all of them are the same names. What the name
model and the tiers say about a name depends only on:

* the name itself;
* the catalogue's codes and names, in order (the tiers' tables are built from them);
* the code of the name model and the tiers, and the versions of the libraries it uses;
* the stewards' aliases, which only the alias tier reads, under the keys of
  :func:`shixiang.tiers.alias_probes`.

So the cache holds each name's evidence found *without* aliases, with its alias probes, under a
:func:`fingerprint` of the rest. A run uses a cached entry when the fingerprint is the same and
none of its probes is an alias in force; every other name is parsed as before (see
:func:`shixiang.matching.match_names`). Each run stores the entries of its own names for the
next run of the same partition (``scope``: a partition key, or ``*`` for a run of every
partition), as one Parquet document in the library database's ``match_cache`` table, which is
not part of the output contract. Parquet rather than a row per name: 200,000 entries load in
well under a second (a row per name with a JSON document took 7 s), and unlike a pickle,
reading it runs no code. The table can be emptied at any time (``DELETE FROM match_cache``):
the cache never changes a result, only how long the matching takes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
from dataclasses import dataclass, field
from importlib import metadata as dist_metadata
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, insert, inspect, select
from sqlalchemy.engine import Engine

from shixiang.tables import match_cache
from shixiang.tiers import EVIDENCE_COLUMNS, CatalogueView

# The modules whose code decides a name's evidence, and the libraries they call.
_CODE = ("cleaning.py", "decoration.py", "names.py", "tiers.py")
_LIBRARIES = ("opencc-python-reimplemented", "pypinyin")
# The scope of a run that covers every partition.
EVERY_PARTITION = "*"

Entry = tuple[tuple, tuple[str, ...]]  # (evidence tuple, alias probes)
_ARROW = {"str": pa.string(), "bool": pa.bool_(), "object": pa.list_(pa.string())}
_SCHEMA = pa.schema(
    [("name", pa.string())]
    + [(col, _ARROW[dtype]) for col, dtype in EVIDENCE_COLUMNS.items()]
    + [("alias_probes", pa.list_(pa.string()))]
)


class NamesAhead(Protocol):
    """Entries found for a run before its matching step asked (:class:`shixiang.prefetch.NamePrefetch`)."""

    fingerprint: str | None  # the catalogue's they were found under
    taken: int  # of the names last asked for, how many had been found ahead

    def evidence(self, names: list[str], view: CatalogueView) -> list[Entry]:
        """The entry of each of ``names`` (those not found ahead are parsed on the way)."""
        ...


@dataclass
class EvidenceCache:
    """The entries a run may use (``known``: of its scope, under its fingerprint), those it
    found (``new``), and the names it asked about (``seen``: what it stores for the next run)."""

    fingerprint: str
    scope: str = EVERY_PARTITION
    known: dict[str, Entry] = field(default_factory=dict)
    new: dict[str, Entry] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    used: int = 0  # names whose evidence came from ``known``
    # Names parsed ahead of the matching step (shixiang run's first night), of any fingerprint:
    # used only when it is this one. ``ahead_used``: how many of the run's names it had.
    ahead: NamesAhead | None = None
    ahead_used: int = 0


def fingerprint(catalogue: pd.DataFrame) -> str:
    """What the evidence depends on besides the name and the aliases: the catalogue's codes and
    names in order, the name model's and tiers' code, and its libraries' versions."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _CODE:
        digest.update((here / name).read_bytes())
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={dist_metadata.version(library)}".encode())
        except dist_metadata.PackageNotFoundError:  # pragma: no cover - both are dependencies
            digest.update(library.encode())
    for column in ("business_code", "item_name"):
        digest.update("\x1f".join(catalogue[column].astype(str).tolist()).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def encode(entries: dict[str, Entry]) -> bytes:
    """``entries`` as a Parquet document (one row a name)."""
    names = list(entries)
    evidence = [e for e, _ in entries.values()]
    columns = list(zip(*evidence, strict=True)) if evidence else [()] * len(EVIDENCE_COLUMNS)
    arrays = [names, *columns, [p for _, p in entries.values()]]  # tuples are lists to Arrow
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, schema=_SCHEMA), buffer)
    return buffer.getvalue()


def decode(payload: bytes) -> dict[str, Entry]:
    """The entries of a document written by :func:`encode`."""
    table = pq.read_table(io.BytesIO(payload))
    if table.schema != _SCHEMA:
        raise ValueError("匹配缓存的格式与本版本不同")
    columns = [_python_values(table.column(c)) for c in _SCHEMA.names]
    names, probes = columns[0], columns[-1]
    evidence = zip(*columns[1:-1], strict=True)
    return dict(zip(names, zip(evidence, probes, strict=True), strict=True))


def _python_values(column: pa.ChunkedArray) -> list:
    """A column's values as Python objects, a list as a tuple. Through NumPy and one slice of
    the flattened values per list: ``to_pylist`` and a tuple per list took 1.7 s for the
    200,000 names of a province, this 0.5 s."""
    column = column.combine_chunks()
    if pa.types.is_list(column.type):
        flat = column.flatten().to_numpy(zero_copy_only=False).tolist()
        offsets = column.offsets.to_numpy().tolist()
        return [tuple(flat[a:b]) for a, b in itertools.pairwise(offsets)]
    return column.to_numpy(zero_copy_only=False).tolist()


def load(engine: Engine, fp: str, scope: str = EVERY_PARTITION) -> EvidenceCache:
    """The entries the last run of ``scope`` stored, if it ran under fingerprint ``fp`` (none
    when the table does not exist yet). Only reads."""
    cache = EvidenceCache(fp, scope)
    with engine.connect() as conn:
        if not inspect(conn).has_table(match_cache.name):
            return cache
        payload = conn.execute(
            select(match_cache.c.payload).where(
                match_cache.c.scope == scope, match_cache.c.fingerprint == fp
            )
        ).scalar_one_or_none()
    if payload is not None:
        cache.known = decode(payload)
    return cache


def stored(engine: Engine, fp: str, scope: str = EVERY_PARTITION) -> bool:
    """Whether the last run of ``scope`` stored entries under fingerprint ``fp`` (without
    reading them)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(match_cache.name):
            return False
        return (
            conn.execute(
                select(match_cache.c.names).where(
                    match_cache.c.scope == scope, match_cache.c.fingerprint == fp
                )
            ).first()
            is not None
        )


def save(engine: Engine, cache: EvidenceCache) -> int:
    """Store the entries of the names the run asked about, replacing what the scope's last run
    stored (names no longer listed go). Returns the number of entries. Writes nothing when
    the run asked about exactly the names loaded (a rerun on the same lists: encoding and
    writing 200,000 entries takes over a second)."""
    from shixiang.store import ensure_schema

    if not cache.new and len(cache.known) == len(set(cache.seen)):
        return len(cache.known)

    entries = {n: cache.known.get(n) or cache.new[n] for n in cache.seen}
    row = {
        "scope": cache.scope,
        "fingerprint": cache.fingerprint,
        "names": len(entries),
        "payload": encode(entries),
        "saved_at": dt.datetime.now(dt.UTC),
    }
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(delete(match_cache).where(match_cache.c.scope == cache.scope))
        conn.execute(insert(match_cache), [row])
    return len(entries)
