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
:func:`shixiang.matching.match_names`). Entries live in the library database's ``match_cache``
table (one row a name, shared by every partition: names repeat across prefectures), which is
not part of the output contract. The cache can be emptied at any time
(``DELETE FROM match_cache``); it never changes a result, only how long the matching takes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata as dist_metadata
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, inspect, select
from sqlalchemy.engine import Engine

from shixiang.tables import match_cache

# The modules whose code decides a name's evidence, and the libraries they call.
_CODE = ("cleaning.py", "decoration.py", "names.py", "tiers.py")
_LIBRARIES = ("opencc-python-reimplemented", "pypinyin")
# Names looked up per query (SQLite allows 32,766 bound values).
_LOOKUP_CHUNK = 10_000

Entry = tuple[tuple, tuple[str, ...]]  # (evidence tuple, alias probes)


@dataclass
class EvidenceCache:
    """The entries of one fingerprint a run may use (``known``) and those it found (``new``)."""

    fingerprint: str
    known: dict[str, Entry] = field(default_factory=dict)
    new: dict[str, Entry] = field(default_factory=dict)
    used: int = 0  # names whose evidence came from ``known``


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


def _encode(entry: Entry) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def _decode(text: str) -> Entry:
    evidence, probes = json.loads(text)
    evidence[-2] = tuple(evidence[-2])  # the items a blocking tier found: a tuple, as computed
    return tuple(evidence), tuple(probes)


def load(engine: Engine, fp: str, names: Iterable[str]) -> EvidenceCache:
    """The cached entries of ``names`` under fingerprint ``fp`` (none when the table does not
    exist yet). Only reads."""
    cache = EvidenceCache(fp)
    names = list(names)
    with engine.connect() as conn:
        if not inspect(conn).has_table(match_cache.name):
            return cache
        for start in range(0, len(names), _LOOKUP_CHUNK):
            rows = conn.execute(
                select(match_cache.c.name, match_cache.c.evidence).where(
                    match_cache.c.fingerprint == fp,
                    match_cache.c.name.in_(names[start : start + _LOOKUP_CHUNK]),
                )
            )
            cache.known.update((name, _decode(text)) for name, text in rows)
    return cache


def save(engine: Engine, cache: EvidenceCache) -> int:
    """Store the run's new entries, in one transaction that also drops the entries of other
    fingerprints (an older catalogue or matcher: they would never be used again). Another run
    storing the same name at the same time stored the same evidence: the first one stays.
    Returns the number of new entries."""
    from shixiang.store import ensure_schema

    rows = [(name, cache.fingerprint, _encode(entry)) for name, entry in cache.new.items()]
    ensure_schema(engine)
    table = match_cache.name
    if engine.dialect.name == "postgresql":
        sql = f'INSERT INTO "{table}" (name, fingerprint, evidence) VALUES (%s, %s, %s) '
        sql += "ON CONFLICT (name) DO NOTHING"
    else:
        sql = f'INSERT OR IGNORE INTO "{table}" (name, fingerprint, evidence) VALUES (?, ?, ?)'
    with engine.begin() as conn:
        conn.execute(delete(match_cache).where(match_cache.c.fingerprint != cache.fingerprint))
        if rows:
            conn.exec_driver_sql(sql, rows)
    return len(rows)
