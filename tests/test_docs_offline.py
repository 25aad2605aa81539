"""GX Data Docs work without the internet: every page loads only the vendored files.

A real site is built with :func:`shixiang.expectations.validate` (three validations in one run)
and opened in headless Chromium with every request outside file:// blocked and recorded. The
browser is Debian's ``chromium`` (``apt-get install -y chromium``) driven by Playwright for
Python; ``SHIXIANG_CHROMIUM`` names another binary. Screenshots go to /tmp/docs_offline.png
(the index) and /tmp/docs_offline_validation.png (a validation page).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from shixiang import data_docs, docs_assets
from shixiang import expectations as ex
from tests.browser import OfflinePage, chromium
from tests.test_expectations import _str, catalogue_frame, implementation_frame, library_frame

SCREENSHOT = Path("/tmp/docs_offline.png")
SCREENSHOT_VALIDATION = Path("/tmp/docs_offline_validation.png")
RUN = "run-offline"
# data asset label → suite; two validations fail one expectation each, the catalogue passes
VALIDATIONS = {
    "unified_library": "unified_library",
    "county_items": "implementation_lists",
    "catalogue": "catalogue",
}


def _gx_view_dir() -> Path:
    import great_expectations

    return Path(great_expectations.__file__).parent / "render" / "view"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, dict[str, ex.SuiteResult]]:
    root = tmp_path_factory.mktemp("gx_docs")
    library = library_frame()
    library.loc[2, "status"] = "pending"
    lists = implementation_frame()
    lists["visits"] = _str(["9"] * len(lists))
    frames = {"unified_library": library, "county_items": lists, "catalogue": catalogue_frame()}

    def offline(*args, **kwargs):
        raise OSError("no network while rendering Data Docs")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", offline)
        results = {
            label: ex.validate(frames[label], suite, docs_dir=root / RUN, docs_label=label)
            for label, suite in VALIDATIONS.items()
        }
    assert all(
        r.docs_path and r.docs_path.endswith(f"{label}.html") for label, r in results.items()
    )
    return root / RUN, results


def _pages(run: Path) -> list[Path]:
    return sorted(run.rglob("*.html"))


# --- The files ------------------------------------------------------------------------------


def test_pages_reference_no_url_of_the_internet(site) -> None:
    run, _ = site
    pages = _pages(run)
    assert len(pages) == 1 + 3 + 3  # the index, three suites, three validations
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert docs_assets.external_resources(html) == [], page
        # not even a link: a CDN reference in an inline script would hide from the line above
        assert re.findall(r"https?://[^\s\"'<>]+", html) == [], page
        assert "integrity=" not in html and "crossorigin=" not in html, page


def test_every_local_reference_resolves(site) -> None:
    run, _ = site
    static = docs_assets.static_dir(run.parent)
    used: set[Path] = set()
    for page in _pages(run):
        html = page.read_text(encoding="utf-8")
        refs = re.findall(r"""(?:src|href)="([^"#][^"]*)"|url\('([^']+)'\)""", html)
        for ref in (a or b for a, b in refs):
            if ref.startswith(("javascript:", "data:", "mailto:")):
                continue
            target = (page.parent / unquote(urlsplit(ref).path)).resolve()
            assert target.is_file(), f"{page.relative_to(run)} → {ref}"
            if static in target.parents:
                used.add(target)
    assert {p.relative_to(static).as_posix() for p in used} == set(
        docs_assets.CDN_FILES.values()
    ) | {"gx/favicon.ico"}


def test_one_shared_static_folder_and_no_gx_static_in_the_run(site) -> None:
    run, _ = site
    assert not (run / "static").exists()  # GX's 4 MB folder
    shared = run.parent / docs_assets.STATIC_DIRNAME
    assert [p.name for p in shared.iterdir()] == [docs_assets.static_version()]
    size = sum(p.stat().st_size for p in run.rglob("*") if p.is_file())
    assert size < 1_000_000, size  # the pages and GX's stores of three validations


def test_every_cdn_url_of_gx_templates_is_vendored() -> None:
    view = _gx_view_dir()
    sources = [*view.joinpath("templates").glob("*.j2"), *view.joinpath("static").rglob("*.css")]
    links = {  # anchors, not resources: GX's home page (removed) and newsletter (footer dropped)
        "https://greatexpectations.io",
        "https://greatexpectations.io/",
        "https://greatexpectations.io/newsletter",
    }
    s3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"  # + logo file
    found = set()
    for source in sources:
        for url in re.findall(r"https?://[^\s\"'<>()]+", source.read_text(encoding="utf-8")):
            found.add(url.split("?")[0])
    unknown = {u for u in found if u not in docs_assets.CDN_FILES and u not in links and u != s3}
    assert unknown == set(), "add these to shixiang.docs_assets.CDN_FILES"
    for local in docs_assets.CDN_FILES.values():
        assert (docs_assets.STATIC_SOURCE / local).is_file(), local


def test_vendored_scripts_are_the_cdn_files_gx_pins() -> None:
    """GX's templates give subresource-integrity hashes for two CDN scripts: the vendored
    files have the same bytes."""
    template = (_gx_view_dir() / "templates" / "js_script_imports.j2").read_text()
    pinned = re.findall(r'src="([^"]+)" integrity="sha384-([^"]+)"', template)
    assert len(pinned) == 2
    for url, digest in pinned:
        data = (docs_assets.STATIC_SOURCE / docs_assets.CDN_FILES[url]).read_bytes()
        assert base64.b64encode(hashlib.sha384(data).digest()).decode() == digest, url


def test_every_vendored_package_keeps_its_licence() -> None:
    for folder in sorted(p for p in docs_assets.STATIC_SOURCE.iterdir() if p.is_dir()):
        assert any(f.name.startswith("LICENSE") for f in folder.iterdir()), folder.name


def test_prune_keeps_the_static_versions_in_use(tmp_path) -> None:
    current = docs_assets.static_version()
    shared = tmp_path / docs_assets.STATIC_DIRNAME
    for version in (current, "oldbutused", "stale", ".tmp-copying"):
        (shared / version).mkdir(parents=True)
    for i, version in enumerate(("stale", "oldbutused", current)):  # oldest first
        run = tmp_path / f"run-{i}"
        run.mkdir()
        (run / "index.html").write_text(f'<link href="../_static/{version}/a.css">')
        os.utime(run, (1_000 + i, 1_000 + i))
    deleted = data_docs.prune_docs(tmp_path, keep=2)
    assert sorted(p.name for p in deleted) == ["run-0", "stale"]
    assert sorted(p.name for p in shared.iterdir()) == sorted(
        [current, "oldbutused", ".tmp-copying"]
    )


def test_offline_html_warns_about_an_unknown_cdn(caplog) -> None:
    html = '<script src="https://cdn.example.org/new.js"></script><a href="https://x.org/">x</a>'
    assert docs_assets.offline_html(html, "../_static/v/") == html
    assert "https://cdn.example.org/new.js" in caplog.text and "x.org" not in caplog.text


# --- In a browser with no network -----------------------------------------------------------


class Offline(OfflinePage):
    """A page whose requests outside file:// are recorded and aborted."""

    def __init__(self, context) -> None:
        super().__init__(context, ("file:",), ignore_failed=("data:",))

    def open(self, path: Path) -> None:
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.evaluate("document.fonts.ready.then(() => true)")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


@pytest.fixture
def offline(browser) -> Iterator[Offline]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield Offline(context)
    context.close()


# The visible rows that bootstrap-table rendered (it marks them with data-index and wraps each
# header in .th-inner) in the tables that have a column ``header``.
_ROWS_JS = """header => [...document.querySelectorAll('table')]
    .filter(t => [...t.querySelectorAll('thead th .th-inner')]
        .some(th => th.innerText.trim() === header))
    .flatMap(t => [...t.querySelectorAll(':scope > tbody > tr[data-index]')])
    .filter(tr => tr.offsetParent !== null)
    .map(tr => [...tr.children].map(td => td.innerText.trim()))"""


def _table_rows(page, header: str, expected: int) -> list[list[str]]:
    """The rows (see _ROWS_JS), once there are ``expected`` of them or after 5 s (tabs and
    filters fade)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            f"([h, n]) => ({_ROWS_JS})(h).length === n", arg=[header, expected], timeout=5000
        )
    return page.evaluate(_ROWS_JS, header)


def test_index_lists_every_validation_offline(site, offline: Offline) -> None:
    run, results = site
    page = offline.page
    offline.open(run / "index.html")
    # the validations tab: a table that bootstrap-table builds from data in a script
    rows = _table_rows(page, "Run Name", len(results))
    assert len(rows) == len(results)
    assert sorted(row[3] for row in rows) == sorted(VALIDATIONS)  # the asset names
    assert {row[2] for row in rows} == {RUN}
    page.screenshot(path=str(SCREENSHOT), full_page=True)  # before the tabs fade
    page.get_by_role("tab", name="Expectation Suites").click()
    assert sorted(r[0] for r in _table_rows(page, "Expectation Suites", 3)) == sorted(
        set(VALIDATIONS.values())
    )
    page.get_by_role("tab", name="Validation Results").click()
    # Bootstrap's styles, and Font Awesome's solid font for the status icons
    assert "Segoe UI" in page.evaluate("getComputedStyle(document.body).fontFamily")
    assert page.evaluate("getComputedStyle(document.querySelector('nav.sticky-top')).position") == (
        "sticky"
    )
    assert page.evaluate(
        """[...document.fonts].some(f => f.family.includes('Font Awesome 6 Free')
            && f.weight === '900' && f.status === 'loaded')"""
    )
    assert page.locator("img[alt='Great Expectations']").evaluate("img => img.naturalWidth") > 0
    offline.check()


def test_validation_page_renders_its_expectations_offline(site, offline: Offline) -> None:
    _, results = site
    result = results["unified_library"]
    page = offline.page
    offline.open(Path(result.docs_path))
    rows = _table_rows(page, "Expectation", result.evaluated)
    assert len(rows) == result.evaluated == 6
    assert page.get_by_text("values must belong to this set").is_visible()
    assert page.get_by_role("cell", name="pending", exact=True).is_visible()  # the value
    assert page.evaluate("getComputedStyle(document.querySelector('.fa-times')).fontFamily") == (
        '"Font Awesome 6 Free"'
    )
    page.screenshot(path=str(SCREENSHOT_VALIDATION), full_page=True)
    page.get_by_text("Failed Only").click()  # jQuery and Bootstrap's buttons at work
    assert [r[1].splitlines()[0] for r in _table_rows(page, "Expectation", 1)] == [
        "values must belong to this set: matched confirmed review unmatched local."
    ]
    offline.check()


def test_every_page_loads_only_local_files(site, offline: Offline) -> None:
    run, _ = site
    for page in _pages(run):
        offline.open(page)
        assert offline.page.locator("nav.sticky-top img").is_visible(), page  # the logo
        font = offline.page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Segoe UI" in font, page  # Bootstrap's styles
    offline.check()
