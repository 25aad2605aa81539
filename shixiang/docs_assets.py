"""GX Data Docs that work without the internet.

GX 1.24's page templates load jQuery, Bootstrap, bootstrap-table, Font Awesome, Vega and the
GX logo from public CDNs; on an intranet the index table (built by bootstrap-table) stays empty
and the pages unstyled. ``shixiang/docs_static`` holds those files (see its README.md for the
packages, versions and licences). They are copied once per docs root, beside the run
directories::

    <docs root>/_static/<version>/...      the vendored files (~2 MB, shared by every run)
    <docs root>/<run id>/index.html        one site per run, referencing ../_static/<version>/

``<version>`` is a hash of the vendored files, so pages of older runs keep the files they were
written with. :func:`offline_html` rewrites one rendered page (the views of
:mod:`shixiang.gx_views` call it before GX writes the page): each CDN URL becomes the relative
path of its vendored file, the ``integrity``/``crossorigin`` attributes go (a browser refuses
CORS loads of ``file://`` URLs), and so does the link to greatexpectations.io. Any external
resource left afterwards is logged as a warning (``tests/test_docs_offline.py`` fails on it).

Imports nothing from GX (:mod:`shixiang.data_docs` imports GX only when a site is built).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STATIC_SOURCE: Path = Path(__file__).resolve().with_name("docs_static")
STATIC_DIRNAME = "_static"  # under the docs root; never a run id (prune_docs skips it)

# Every external resource of GX 1.24.1's templates (render/view/templates/*.j2 and
# render/view/static/styles/*.css) → its vendored file, relative to docs_static/.
CDN_FILES: dict[str, str] = {
    # js_script_imports.j2 (every page)
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome/css/all.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js/popper.min.js"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap/js/bootstrap.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker/js/bootstrap-datepicker.min.js",
    # page.j2, index_page.j2 and page_minimal.j2
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table/bootstrap-table.min.css"
    ),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap/css/bootstrap.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker/css/bootstrap-datepicker.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark/css/bootstrap-prefers-dark.min.css",
    # top_navbar.j2 (the logo) and data_docs_default_styles.css (the logo in dark mode; GX's
    # dark variant is not in its package, the light one stands in)
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png": (
        "gx/logo-long.png"
    ),
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png": (
        "gx/logo-long.png"
    ),
}

# One alternation of the CDN URLs, longest first; a URL matches only whole (up to a quote,
# a bracket or its query string, which the view no longer adds).
_CDN_RE = re.compile(
    "|".join(re.escape(url) for url in sorted(CDN_FILES, key=len, reverse=True))
    + r"""(?=["')?\s])"""
)
# GX's favicon link points into the per-site static/ folder it no longer gets (and is one
# level short on validation pages).
_FAVICON_RE = re.compile(r'href="(?:\.\.?/)+static/images/favicon\.ico"')
# Subresource integrity needs CORS, which browsers refuse for file:// URLs; the hashes were
# those of the CDN copies (identical to the vendored files).
_SRI_RES = (re.compile(r' integrity="[^"]*"'), re.compile(r' crossorigin="[^"]*"'))
# The one link out of the pages (ge_info.j2, index page); the text stays.
_GX_LINK_RE = re.compile(r"""<a href="https?://greatexpectations\.io/?">([^<]*)</a>""")
# External resources: script/link/img/iframe/source src or href, CSS url() and @import.
_EXTERNAL_RE = re.compile(
    r"""<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*["']?"""
    r"""(https?:)?//[^"'\s>]+"""
    r"""|url\(\s*["']?(?:https?:)?//[^"')\s]+"""
    r"""|@import\s+(?:url\()?\s*["']?(?:https?:)?//[^"')\s;]+""",
    re.IGNORECASE,
)
# What any match of _EXTERNAL_RE contains (in lower case): a cheap test first.
_EXTERNAL_MARKERS = ("http:", "https:", "'//", '"//', "(//", "=//")
_warned: set[str] = set()


@functools.cache
def static_version() -> str:
    """12 hex digits of a hash of every vendored file (path and content)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC_SOURCE.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC_SOURCE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def static_dir(docs_root: Path | str) -> Path:
    """``<docs_root>/_static/<version>``: where the pages of every run under docs_root look."""
    return Path(docs_root) / STATIC_DIRNAME / static_version()


def ensure_static(docs_root: Path | str) -> Path:
    """Copy the vendored files to :func:`static_dir` unless they are there; returns it.

    Copied to a temporary sibling and renamed into place, so concurrent writers (processes of
    one run, overlapping runs) never see half a folder: a writer that loses the race drops its
    copy.
    """
    target = static_dir(docs_root)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex}"
    try:
        shutil.copytree(STATIC_SOURCE, tmp, ignore=shutil.ignore_patterns("__pycache__"))
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def page_depth(document: Any) -> int:
    """How many folders below the site root GX writes this page (see GX's top_navbar.j2):
    ``validations/<suite, one folder per dot>/<run name>/<run time>/<batch>.html``,
    ``expectations/<suite>.html`` or ``index.html``."""
    get = document.get if isinstance(document, dict) else lambda k: getattr(document, k, None)
    renderer = str(get("renderer_type") or "")
    dots = str(get("expectation_suite_name") or "").count(".")
    if "ValidationResults" in renderer or "ProfilingResults" in renderer:
        return dots + 4
    if "ExpectationSuite" in renderer:
        return dots + 1
    return 0


def static_prefix(depth: int) -> str:
    """The relative URL of :func:`static_dir` from a page ``depth`` folders below the site
    root (the site root is a run directory, one below the docs root)."""
    return "../" * (depth + 1) + f"{STATIC_DIRNAME}/{static_version()}/"


def offline_html(html: str, prefix: str) -> str:
    """The page with every CDN resource replaced by its vendored copy under ``prefix``."""
    html = _CDN_RE.sub(lambda m: prefix + CDN_FILES[m.group(0)], html)
    html = _FAVICON_RE.sub(f'href="{prefix}gx/favicon.ico"', html)
    for sri in _SRI_RES:
        html = sri.sub("", html)
    html = _GX_LINK_RE.sub(r"\1", html)
    left = sorted(set(external_resources(html)) - _warned)
    if left:
        _warned.update(left)
        logger.warning(
            "GX Data Docs page still loads from the internet (add to docs_assets.CDN_FILES): %s",
            "; ".join(left),
        )
    return html


def external_resources(html: str) -> list[str]:
    """The external resource references of a page (what :func:`offline_html` warns about)."""
    lower = html.lower()
    if not any(marker in lower for marker in _EXTERNAL_MARKERS):  # the regex takes ~1 ms
        return []
    return [m.group(0) for m in _EXTERNAL_RE.finditer(html)]
