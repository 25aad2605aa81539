"""A helper process of :func:`shixiang.matching.name_evidence`.

Run as ``python -m shixiang.match_worker``: reads a pickled ``(CatalogueView, names, probes)``
from stdin and writes the pickled list of evidence tuples to stdout. A plain child process rather
than a ``multiprocessing`` pool: spawn re-runs the parent's main script in the child (a script
without an ``if __name__ == "__main__"`` guard would start the pipeline again), and fork is
unsafe from a threaded process such as a Dagster run. Only the parent writes the payload, so
unpickling it is safe.
"""

from __future__ import annotations

import os
import pickle
import sys


def main() -> int:
    from shixiang.tiers import evidence_of

    # Buffered streams over the pipes whatever PYTHONUNBUFFERED says. Under it (set in many
    # containers, and on the CI machines) sys.stdout.buffer is the raw FileIO, whose write() is
    # one write(2): a pipe write interrupted by a signal (SIGSTOP/SIGCONT from a profiler, a
    # debugger, a cgroup freezer) writes less than it was given, pickle.dump ignores the count,
    # and the parent read a pickle with a hole in it. A BufferedWriter writes the rest.
    with open(0, "rb", closefd=False) as stdin, open(1, "wb", closefd=False) as stdout:
        view, names, probes = pickle.load(stdin)
        pickle.dump(evidence_of(names, view, probes), stdout, protocol=pickle.HIGHEST_PROTOCOL)
    return 0


if __name__ == "__main__":
    status = main()
    # The result is written and flushed (main's `with`): leave without the interpreter's
    # teardown, which frees the share's objects one by one (0.65-0.85 s for 100,000 names)
    # while the parent waits for the end of the pipe. An exception in main never gets here.
    sys.stderr.flush()
    os._exit(status)
