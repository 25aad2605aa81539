"""A helper process of :func:`shixiang.matching.name_evidence`.

Run as ``python -m shixiang.match_worker``: reads a pickled ``(CatalogueView, names, probes)``
from stdin and writes the pickled list of evidence tuples to stdout. A plain child process rather
than a ``multiprocessing`` pool: spawn re-runs the parent's main script in the child (a script
without an ``if __name__ == "__main__"`` guard would start the pipeline again), and fork is
unsafe from a threaded process such as a Dagster run. Only the parent writes the payload, so
unpickling it is safe.
"""

from __future__ import annotations

import pickle
import sys


def main() -> int:
    from shixiang.tiers import evidence_of

    view, names, probes = pickle.load(sys.stdin.buffer)
    pickle.dump(
        evidence_of(names, view, probes), sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL
    )
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
