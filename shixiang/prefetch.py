"""Names parsed ahead: a first night's matching started while the files are still being read.

Parsing a distinct name and walking it through the tiers is the matcher's main cost (~80 µs a
name; 200,000 names in a 500,000-row province with real-world noise). A night whose match
cache holds the names (:mod:`shixiang.evidence_cache`: every night after the first on the same
lists) barely parses at all; the first night, and the first after the catalogue or the name
model changed, parses every name. ``shixiang run`` reads every file before the run starts (to
place it in its partition), then spends seconds in steps that use one core (loading, the GX
suites) while the other core waits for the matching step.

:class:`NamePrefetch` is a :mod:`shixiang.match_worker` process (``--serve``) that
``shixiang run`` starts before it reads the files when the cache holds nothing under this
catalogue's fingerprint: each file's item names are handed to it as the file is read, and it
parses them on the idle core. The matching step takes what it has found (the cache's entries:
evidence without the stewards' aliases, and the alias probes), parses the names it had not
reached half here and half in the helper, ends the helper and goes on as with the cache. The result is the same
as without it: a name's evidence depends only on the name and the fingerprint, and the
helper's is used only under the fingerprint it was found with. The helper only ever saves
time: if it fails, whatever it had not returned is parsed here.
"""

from __future__ import annotations

import contextlib
import pickle
import queue
import subprocess
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from shixiang import evidence_cache
from shixiang.config import MATCH_MIN_NAMES_PER_WORKER, match_workers
from shixiang.evidence_cache import Entry
from shixiang.matching import name_evidence, spawn_worker, worker_stderr
from shixiang.tiers import CatalogueView, evidence_of

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Names sent to the helper at a time (a file lists ~250; a message per file would cost more
# in pickling than it saves in waiting).
BATCH = 2_000


class NamePrefetch:
    """Names parsed ahead by a helper process; ``NamePrefetch()`` is the idle one (no helper,
    nothing ahead: a run started by Dagster rather than by ``shixiang run``)."""

    def __init__(self) -> None:
        self.fingerprint: str | None = None  # of the catalogue the helper parses against
        self.taken = 0  # names whose evidence the helper had found when the matching asked
        self.problem = ""  # why the helper stopped helping (for the run's log), if it did
        self._proc: subprocess.Popen | None = None
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._errors = None
        self._sent: set[str] = set()
        self._buffer: list[str] = []

    @classmethod
    def start(cls, catalogue: pd.DataFrame, fingerprint: str) -> NamePrefetch:
        """A helper parsing against ``catalogue`` (whose :func:`evidence_cache.fingerprint` is
        ``fingerprint``), ready for :meth:`add`."""
        self = cls()
        try:
            self._proc, self._errors = spawn_worker("--serve")
        except OSError as exc:
            self.problem = f"无法启动预解析子进程：{exc}"
            return self
        self.fingerprint = fingerprint
        # Messages are written by a thread: the helper reads its stdin only once its imports
        # are done (~1 s), and the reader must not wait for that.
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()
        self._send(catalogue)
        return self

    @property
    def active(self) -> bool:
        return self._proc is not None and not self.problem

    def add(self, values: Iterable[object]) -> None:
        """Queue item names as read from a file (cells: stripped; blanks and names already
        queued are left out)."""
        if not self.active:
            return
        sent, buffer = self._sent, self._buffer
        for value in values:
            if isinstance(value, str):
                name = value.strip()
                if name and name not in sent:
                    sent.add(name)
                    buffer.append(name)
        if len(buffer) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Send the names queued by :meth:`add` now (the last file has been read)."""
        if self._buffer and self.active:
            self._send(("names", self._buffer))
        self._buffer = []

    def evidence(self, names: list[str], view: CatalogueView) -> list[Entry]:
        """``(evidence, alias probes)`` of each of ``names`` (:func:`shixiang.tiers.evidence_of`
        with ``probes``; ``view``: the catalogue's plain view, of this fingerprint): what the
        helper found so far, the rest split between this process and the helper."""
        try:
            found = self._take(False) if self.active else {}
            self._sent = set()
            self.taken = sum(name in found for name in names)
            rest = [name for name in names if name not in found]
            if rest:
                found.update(self._share(rest, view))
            return [found[name] for name in names]
        finally:  # one use: the helper's memory is not kept through the rest of the run
            self.close()

    def _share(self, names: list[str], view: CatalogueView) -> dict[str, Entry]:
        """Half of ``names`` parsed here while the helper (already started: no start-up to
        wait for) parses the other half; without a helper, as the matcher would have parsed
        them (:func:`shixiang.matching.name_evidence`: in fresh helper processes if many)."""
        if not self.active:
            return dict(zip(names, name_evidence(names, view, probes=True), strict=True))
        half = len(names) // 2 if len(names) >= MATCH_MIN_NAMES_PER_WORKER else 0
        theirs = names[half:] if half else []
        if theirs:
            self._send(("names", theirs))
            self._outbox.put(pickle.dumps(("take", True), protocol=pickle.HIGHEST_PROTOCOL))
        mine = names[: half or len(names)]
        out = dict(zip(mine, evidence_of(mine, view, True), strict=True))
        if theirs:
            got = self._receive(len(theirs))
            if got is None:
                got = dict(zip(theirs, evidence_of(theirs, view, True), strict=True))
            out.update(got)
        return out

    def _take(self, finish: bool) -> dict[str, Entry]:
        """What the helper has parsed since it last replied; the names it has not reached are
        dropped (``finish``: parsed first)."""
        self._buffer = []  # never sent: the caller parses them
        self._outbox.put(pickle.dumps(("take", finish), protocol=pickle.HIGHEST_PROTOCOL))
        return self._receive(None) or {}

    def _receive(self, expected: int | None) -> dict[str, Entry] | None:
        try:
            names, entries = pickle.load(self._proc.stdout)
        except Exception as exc:  # the helper died, or wrote something else
            self._fail(f"预解析子进程没有返回结果（{type(exc).__name__}：{exc}）")
            return None
        if len(names) != len(entries) or (expected is not None and len(names) != expected):
            self._fail(f"预解析子进程的结果不完整（{len(entries)} 个）")
            return None
        return dict(zip(names, entries, strict=True))

    def _fail(self, message: str) -> None:
        code = self._proc.poll() if self._proc is not None else None
        detail = worker_stderr(self._errors, 1000) if self._errors is not None else ""
        self.problem = message + (f"；退出码 {code}" if code is not None else "")
        self.problem += f"：{detail}" if detail else ""

    def _send(self, message: object) -> None:
        self._outbox.put(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def _write(self) -> None:
        stdin = self._proc.stdin
        try:
            while (payload := self._outbox.get()) is not None:
                stdin.write(payload)
                stdin.flush()
        except OSError:  # the helper died: the next reply reports it
            pass
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def close(self) -> None:
        """End the helper (its stdin closes; it exits) and free its pipes."""
        if self._proc is None:
            return
        self._outbox.put(None)
        if self._writer is not None:
            self._writer.join(timeout=5)
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()
        self._errors.close()
        self._proc = None

    def __enter__(self) -> NamePrefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def for_first_night(
    catalogue: pd.DataFrame, engine: Engine, scope: str = evidence_cache.EVERY_PARTITION
) -> NamePrefetch:
    """A started helper when this night will parse its names in more than one process: the
    match cache holds nothing for ``scope`` under ``catalogue``'s fingerprint, and
    ``SHIXIANG_MATCH_WORKERS`` allows a second process. The idle one otherwise, and whenever
    the database cannot say (the matching step then reports why)."""
    if match_workers() < 2 or catalogue.empty:
        return NamePrefetch()
    fp = evidence_cache.fingerprint(catalogue)
    try:
        if evidence_cache.stored(engine, fp, scope):
            return NamePrefetch()
    except Exception:  # the run's own steps report a database that cannot be read
        return NamePrefetch()
    return NamePrefetch.start(catalogue, fp)
