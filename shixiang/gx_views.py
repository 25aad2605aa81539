"""Data Docs views that compile GX's Jinja templates once per process.

GX builds a new Jinja environment for every page it renders, so every page recompiled the
same ~50 templates (0.2–0.3 s a page; a run renders 8 validation pages and the index each
time). These subclasses give every environment one shared in-memory bytecode cache, through
the documented ``view`` option of the site builder (see ``expectations._docs_context``). The
pages are the stock views' pages (only the ids and timestamps GX writes into every page
differ); a site's docs took about half the time. Imported only by GX when docs are built.
"""

from __future__ import annotations

import threading

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates keyed by name and source checksum, for the life of the process."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            self._code[bucket.key] = bucket.bytecode_to_string()


_CACHE = _MemoryBytecodeCache()


class CachedPageView(DefaultJinjaPageView):
    """GX's page view (validation and suite pages) with the shared template cache."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _CACHE


class CachedIndexPageView(DefaultJinjaIndexPageView):
    """GX's index page view with the shared template cache."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _CACHE
