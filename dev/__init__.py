"""Development-only tools: generators of test data for the tests, the benchmarks and the demo.

Never imported by the product (``shixiang``, ``assets``, ``pipelines``, ``desk``): only
``tests/``, ``bench/`` and ``scripts/`` use it. Not installed: ``pyproject.toml``'s package list
leaves ``dev`` out, so it is imported from a checkout, with the repository root on ``sys.path``
(pytest's rootdir, or the ``sys.path.insert(0, REPO)`` of the benchmarks and scripts).
"""

from __future__ import annotations

from pathlib import Path

#: The repository root. ``dev/`` is a top-level package of the checkout, beside ``data/``, and is
#: never installed, so repository files (``data/reference/``) are found from here.
REPO_ROOT = Path(__file__).resolve().parents[1]
