"""A helper process of :func:`shixiang.matching.name_evidence` and :mod:`shixiang.prefetch`.

``python -m shixiang.match_worker`` reads a pickled ``(CatalogueView, names, probes)`` from
stdin and writes the pickled list of evidence tuples to stdout. A plain child process rather
than a ``multiprocessing`` pool: spawn re-runs the parent's main script in the child (a script
without an ``if __name__ == "__main__"`` guard would start the pipeline again), and fork is
unsafe from a threaded process such as a Dagster run. Only the parent writes the payload, so
unpickling it is safe.

``python -m shixiang.match_worker --serve`` is the helper of :class:`shixiang.prefetch.NamePrefetch`:
it reads a stream of pickled messages (first the catalogue, as a DataFrame; then any of
``("names", [...])``: names to parse, ``("take", finish)``: reply with what has been parsed
since the last reply, after parsing every queued name when ``finish`` is true, else dropping
them) and parses queued names in small chunks between messages, with the catalogue's plain
view (no aliases) and the alias probes: the entries of :mod:`shixiang.evidence_cache`. A reply
is a pickled ``(names, entries)``. It ends when its stdin does.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import sys
import threading
from collections import deque
from typing import BinaryIO

# Names parsed between two looks at the inbox (~80 µs a name: a reply waits ~20 ms at most).
SERVE_CHUNK = 256


def main() -> int:
    from shixiang.tiers import evidence_of

    # Buffered streams over the pipes whatever PYTHONUNBUFFERED says. Under it (set in many
    # containers, and on the CI machines) sys.stdout.buffer is the raw FileIO, whose write() is
    # one write(2): a pipe write interrupted by a signal (SIGSTOP/SIGCONT from a profiler, a
    # debugger, a cgroup freezer) writes less than it was given, pickle.dump ignores the count,
    # and the parent read a pickle with a hole in it. A BufferedWriter writes the rest.
    with open(0, "rb", closefd=False) as stdin, open(1, "wb", closefd=False) as stdout:
        if "--serve" in sys.argv[1:]:
            return serve(stdin, stdout)
        view, names, probes = pickle.load(stdin)
        pickle.dump(evidence_of(names, view, probes), stdout, protocol=pickle.HIGHEST_PROTOCOL)
    return 0


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """The ``--serve`` loop (see the module's docstring)."""
    from shixiang.matching import plain_view
    from shixiang.tiers import evidence_of

    gc.disable()  # a short-lived process building tuples (see shixiang.perf.gc_paused)
    view = plain_view(pickle.load(stdin))
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:  # messages arrive while names are parsed
        try:
            while True:
                inbox.put(pickle.load(stdin))
        except EOFError:
            pass
        finally:
            inbox.put(None)

    threading.Thread(target=read, daemon=True).start()
    pending: deque[str] = deque()
    names: list[str] = []
    entries: list[tuple] = []
    while True:
        while True:  # every message waiting; wait for one only with nothing to parse
            try:
                message = inbox.get(block=not pending)
            except queue.Empty:
                break
            if message is None:
                return 0
            kind, payload = message
            if kind == "names":
                pending.extend(payload)
            elif kind == "take":
                if payload:
                    entries.extend(evidence_of(list(pending), view, True))
                    names.extend(pending)
                pending.clear()
                pickle.dump((names, entries), stdout, protocol=pickle.HIGHEST_PROTOCOL)
                stdout.flush()
                names, entries = [], []
            else:
                raise ValueError(f"unknown message {kind!r}")
        chunk = [pending.popleft() for _ in range(min(SERVE_CHUNK, len(pending)))]
        entries.extend(evidence_of(chunk, view, True))
        names.extend(chunk)


if __name__ == "__main__":
    status = main()
    # The result is written and flushed (main's `with`): leave without the interpreter's
    # teardown, which frees the share's objects one by one (0.65-0.85 s for 100,000 names)
    # while the parent waits for the end of the pipe. An exception in main never gets here.
    sys.stderr.flush()
    os._exit(status)
