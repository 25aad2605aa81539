"""Data Docs views that compile GX's Jinja templates once per process and work offline.

GX builds a new Jinja environment for every page it renders, so every page recompiled the
same ~50 templates (0.2–0.3 s a page; a run renders 8 validation pages and the index each
time). These subclasses give every environment one shared in-memory bytecode cache, through
the documented ``view`` option of the site builder (see ``data_docs._docs_context``). The
pages are the stock views' pages (only the ids and timestamps GX writes into every page
differ); a site's docs took about half the time. Imported only by GX when docs are built.

The offline views (the ones ``data_docs._docs_context`` configures) also point every
script, style, font and image at the vendored copies of ``shixiang/docs_static`` (see
:mod:`shixiang.docs_assets`), drop GX's newsletter footer and the tracking query GX adds to
its logo URL; :class:`OfflineSiteBuilder` no longer copies GX's own 4 MB static folder into
every site.
"""

from __future__ import annotations

import threading
from typing import Any

from great_expectations.render.renderer.site_builder import SiteBuilder
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache, ChoiceLoader, DictLoader, pass_context
from jinja2.bccache import Bucket

from shixiang.docs_assets import offline_html, page_depth, static_prefix


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


# Templates of GX replaced by name: the fixed footer is a newsletter link.
_TEMPLATE_OVERRIDES = {"cloud-footer.j2": ""}


@pass_context
def _plain_url(_context: Any, url: str, add_datetime: bool = True) -> str:
    """GX's ``add_data_context_id_to_url`` filter without the time and context id it appends
    to the logo URL (a tracking query; it also made every page differ)."""
    return url


class _Offline:
    """Mixin for GX page views: pages load nothing from the internet (see the module doc)."""

    env: Any

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.loader = ChoiceLoader([DictLoader(_TEMPLATE_OVERRIDES), self.env.loader])
        self.env.filters["add_data_context_id_to_url"] = _plain_url

    def render(self, document, template=None, **kwargs):
        html = super().render(document, template, **kwargs)  # type: ignore[misc]
        return offline_html(html, static_prefix(page_depth(document)))


class OfflinePageView(_Offline, CachedPageView):
    """Validation and suite pages: cached templates, vendored assets."""


class OfflineIndexPageView(_Offline, CachedIndexPageView):
    """The site index: cached templates, vendored assets."""


class OfflineSiteBuilder(SiteBuilder):
    """GX's site builder without the copy of GX's ``static/`` folder into the site (4 MB a
    site: fonts the styles never use, tutorial GIFs, the favicon and logo, which the offline
    views take from the shared vendored folder instead)."""

    def build(self, resource_identifiers=None, build_index: bool = True):
        for section_builder in self.site_section_builders.values():
            section_builder.build(resource_identifiers=resource_identifiers)
        _, index_links_dict = self.site_index_builder.build(build_index=build_index)
        return self.get_resource_url(only_if_exists=False), index_links_dict
