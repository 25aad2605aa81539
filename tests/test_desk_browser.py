"""The review desk in a real browser with no network: a steward's session, scopes and CSRF.

The demo province (``data/sample``) is published once to a SQLite file and the desk
(:func:`desk.app.create_app`) is served by uvicorn on a free 127.0.0.1 port in a thread.
Headless Chromium (Debian's ``chromium`` driven by Playwright for Python, as in
``tests/test_docs_offline.py``; ``SHIXIANG_CHROMIUM`` names another binary) opens it with
every request outside the desk's own origin aborted and recorded: each test asserts there was
none, and no failed request and no script error either.

Screenshots go to ``/tmp/desk_screenshots``; ``SHIXIANG_DESK_SCREENSHOTS=docs/desk`` refreshes
the README's images (login, queue, row, issues, stats at 1400×900).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from shixiang import store
from shixiang.desk import accounts
from tests.browser import OfflinePage, chromium
from tests.helpers import SAMPLE_DIR

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(os.environ.get("SHIXIANG_DESK_SCREENSHOTS", "/tmp/desk_screenshots"))
VIEWPORT = {"width": 1400, "height": 900}
PASSWORD = "correct-horse-battery"
COUNTY = "511602000000"  # 广安区: its steward sees every code starting 511602
TOWNSHIP = "511602001000"  # 浓洄街道: sees 511602001…, not its sibling 北辰街道 511602002…
SIBLING = "511602002"
HEADER_BLUE = "rgb(18, 53, 91)"  # header.top in desk/static/desk.css
PENDING, APPLIED = "待生效（下次发布后生效）", "已生效"
OPEN = ("review", "unmatched")


# --- The published demo province and the desk serving it -------------------------------------


@dataclass
class Desk:
    base: str
    url: str
    engine: Engine
    data_dir: Path
    work: Path

    def publish(self) -> None:
        """Run the nightly job (applies the recorded decisions) from a scratch directory, so
        its GX Data Docs land there and not in the repository's var/."""
        from commands import main as cli

        argv = ["run", "--data-dir", str(self.data_dir), "--database-url", self.url]
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(self.work)
            mp.delenv("DAGSTER_HOME", raising=False)
            assert cli.main([*argv, "--log-level", "ERROR"]) == 0

    def library(self) -> pd.DataFrame:
        return store.read_table(self.engine, "unified_library")

    def row_id(self, division_code: str, item_name: str) -> str:
        lib = self.library()
        hit = lib.loc[(lib["division_code"] == division_code) & (lib["item_name"] == item_name)]
        assert len(hit) == 1, (division_code, item_name)
        return str(hit["row_id"].iloc[0])

    def decisions(self) -> pd.DataFrame:
        decided = store.read_table(self.engine, "steward_decisions")
        return decided.sort_values("id").reset_index(drop=True)

    def audit(self, event: str, username: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(
                select(accounts.desk_audit).where(
                    (accounts.desk_audit.c.event == event)
                    & (accounts.desk_audit.c.username == username)
                ),
                conn,
            )

    def decision_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(store.steward_decisions)).scalar()
            )


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Desk]:
    import uvicorn

    from desk.app import create_app

    root = tmp_path_factory.mktemp("desk")
    data_dir = root / "data"
    shutil.copytree(SAMPLE_DIR, data_dir)
    work = root / "work"
    work.mkdir()
    url = f"sqlite:///{root / 'library.db'}"
    engine = store.make_engine(url)
    d = Desk(base="", url=url, engine=engine, data_dir=data_dir, work=work)
    d.publish()

    app = create_app(url, secret="desk-browser-test")
    for name, role, code in (
        ("guangan", "unit", COUNTY),
        ("nonghui", "unit", TOWNSHIP),
        ("sheng", "province", None),
    ):
        accounts.add_user(engine, name, PASSWORD, role, code, display_name=name)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # a free port, held until uvicorn takes over the socket
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the desk did not start"
        time.sleep(0.05)
    d.base = f"http://127.0.0.1:{port}"
    try:
        yield d
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        engine.dispose()


# --- The browser, with every request outside the desk blocked --------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as b:
        yield b


class Offline(OfflinePage):
    """A browser context of its own (its own session cookie) whose requests outside the
    desk's origin are recorded and aborted."""

    def __init__(self, context, base: str) -> None:
        self.base = base
        super().__init__(context, (base + "/",))

    def open(self, path: str, status: int = 200):
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None and response.status == status, (path, response.status)
        return response

    def login(self, username: str) -> None:
        page = self.page
        self.open("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == self.base + "/queue", page.url

    def csrf(self) -> str:
        return self.page.locator("input[name=csrf]").first.get_attribute("value") or ""


@pytest.fixture
def offline(browser, desk: Desk) -> Iterator[Offline]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    session = Offline(context, desk.base)
    yield session
    context.close()


@pytest.fixture
def second(browser, desk: Desk) -> Iterator[Offline]:
    """Another user's browser, at the same time."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    session = Offline(context, desk.base)
    yield session
    context.close()


# --- Reading the pages ------------------------------------------------------------------------


def _total(page) -> int:
    """The queue's count in its header: 事项核对 <small>N 行</small>."""
    text = page.locator("h1 small").inner_text()
    m = re.fullmatch(r"(\d+) 行", text.strip())
    assert m, text
    return int(m.group(1))


def _facet(page, facet: str, label: str):
    return (
        page.locator(f"aside.facets section.facet[data-facet={facet}] li")
        .filter(has=page.get_by_role("link", name=label, exact=True))
        .first
    )


def _facet_count(page, facet: str, label: str) -> int:
    return int(_facet(page, facet, label).locator("span.count").inner_text())


def _click_facet(page, facet: str, label: str) -> int:
    """Click a facet value; its count (before the click) must be the queue's new total."""
    count = _facet_count(page, facet, label)
    with page.expect_navigation():
        _facet(page, facet, label).get_by_role("link", name=label, exact=True).click()
    assert _facet(page, facet, label).locator("a.on").count() == 1  # the value is selected
    assert _total(page) == count, (facet, label)
    return count


def _queue_rows(page) -> list[list[str]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('table.grid tbody tr')]
            .map(tr => [...tr.children].map(td => td.innerText.trim()))"""
    )


def _open_row(page, row_id: str) -> None:
    """Follow the queue's link to a row (each row shows its id under the name)."""
    link = page.locator("table.grid tbody tr").filter(has_text=row_id).locator("a.rowlink")
    with page.expect_navigation():
        link.click()
    assert page.locator("h1").count() == 1 and page.locator("table.cands").count() == 1


def _flash(page) -> str:
    return page.locator("div.flash").inner_text()


def _decision(page) -> str:
    return page.locator("div.decision").inner_text()


def _submit(page, button) -> None:
    with page.expect_navigation():
        button.click()


def _shot(page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=full_page, type="png")
    return path


def _row_path(row_id: str) -> str:
    return "/row?" + urlencode({"id": row_id})


# --- 1. A county steward's session ------------------------------------------------------------


def test_county_steward_decides_and_the_next_publish_applies(desk: Desk, offline: Offline) -> None:
    page = offline.page
    offline.login("guangan")
    scope_total = _total(page)
    lib = desk.library()
    in_scope = lib.loc[lib["division_code"].str.startswith("511602")]
    assert scope_total == int(in_scope["status"].isin(OPEN).sum())

    # filter: 村级; the facet's count is the new total, and every listed row is a village's
    villages = _click_facet(page, "level", "村级")
    assert 0 < villages < scope_total
    rows = _queue_rows(page)
    assert len(rows) == min(villages, 50) and {r[2] for r in rows} == {"村级"}
    assert all(r[1].startswith("511602") for r in rows)
    queue_url = page.url

    # A: confirm the first candidate for this unit only (another unit wrote the same name)
    row_a = desk.row_id("511602001004", "零就业家庭认定申请")
    twin_a = desk.row_id("511602002003", "零就业家庭认定申请")
    before = desk.decision_count()
    _open_row(page, row_a)
    form = page.locator("table.cands tbody tr").first.locator("form")
    form.locator("input[name=scope][value=row]").check()
    button = form.locator("button[data-confirm]")
    code_a = button.get_attribute("data-confirm")
    _submit(page, button)
    assert "（1 条决定）" in _flash(page)
    assert page.locator("div.decision.pending").count() == 1
    assert PENDING in _decision(page) and code_a in _decision(page)
    new = desk.decisions().iloc[before:]
    assert new[
        ["decision", "scope", "division_code", "business_code", "steward"]
    ].values.tolist() == [["confirm", "row", "511602001004", code_a, "guangan"]]

    # B: confirm 司法鉴定咨询 for every identical name in the scope: one row decision per unit
    # of 511602 that wrote it, none for the province's and 南充's rows of that name
    with page.expect_navigation():
        page.get_by_role("link", name="← 返回列表").click()
    assert page.url == queue_url and _total(page) == villages
    row_b = desk.row_id("511602001001", "司法鉴定咨询")
    key_b = lib.loc[lib["row_id"] == row_b, "name_key"].iloc[0]
    writers = set(lib.loc[lib["name_key"] == key_b, "division_code"])
    units_b = {c for c in writers if c.startswith("511602")}
    assert len(units_b) == 4 and writers - units_b == {"510000000000", "511300000000"}
    before = desk.decision_count()
    _open_row(page, row_b)
    form = page.locator("table.cands tbody tr").first.locator("form")
    form.locator("input[name=scope][value=all]").check()
    button = form.locator("button[data-confirm]")
    code_b = button.get_attribute("data-confirm")
    _submit(page, button)
    assert f"（{len(units_b)} 条决定）" in _flash(page)
    assert PENDING in _decision(page)
    new = desk.decisions().iloc[before:]
    assert set(new["scope"]) == {"row"} and new["division_code"].notna().all()
    assert sorted(new["division_code"]) == sorted(units_b)
    assert all(c.startswith("511602") for c in new["division_code"])
    assert set(new["business_code"]) == {code_b} and set(new["decision"]) == {"confirm"}

    # D: undo the decision B made for one of those units (from the same-name list)
    undone_unit = "511602102003"
    row_d = desk.row_id(undone_unit, "司法鉴定咨询")
    with page.expect_navigation():
        page.get_by_role("link", name=undone_unit, exact=True).click()
    assert row_d in page.locator("p.meta").inner_text()
    assert PENDING in _decision(page)
    before = desk.decision_count()
    _submit(page, page.locator("div.decision").get_by_role("button", name="撤销"))
    assert "撤销" in _flash(page) and "（1 条决定）" in _flash(page)
    assert page.locator("div.decision").count() == 0  # nothing in force any more
    assert "未处理" in page.locator("tr.self").inner_text()
    new = desk.decisions().iloc[before:]
    assert new[["decision", "scope", "division_code"]].values.tolist() == [
        ["undo", "row", undone_unit]
    ]

    # C: reject the scope's one row in review, with a reason
    offline.open("/queue")
    review = _click_facet(page, "status", "待核对")
    assert review == int((in_scope["status"] == "review").sum()) == 1
    row_c = desk.row_id("511602101000", "参保人员参保信息企业查询")
    _open_row(page, row_c)
    reason = "名称与目录不一致，请按目录改为“参保人员参保信息查询”"
    reject = page.locator("form").filter(has=page.locator("#reject"))
    reject.locator("input[name=reason]").fill(reason)
    _submit(page, page.locator("#reject"))
    assert "退回整改" in _flash(page)
    assert PENDING in _decision(page) and reason in _decision(page)

    # the queue: five rows pending (A, three of B, C); nothing applied yet
    offline.open("/queue")
    assert _click_facet(page, "state", PENDING) == 1 + (len(units_b) - 1) + 1
    lib = desk.library()
    assert (lib.loc[lib["row_id"].isin([row_a, row_b, row_c]), "status"] != "confirmed").all()

    # the next publish applies them
    desk.publish()
    lib = desk.library().set_index("row_id")
    a = lib.loc[row_a]
    assert (a["status"], a["business_code"], a["match_method"]) == ("confirmed", code_a, "steward")
    assert lib.loc[twin_a, "status"] == "unmatched"  # the same name in another unit: untouched
    for unit in units_b - {undone_unit}:
        b = lib.loc[desk.row_id(unit, "司法鉴定咨询")]
        assert (b["status"], b["business_code"]) == ("confirmed", code_b), unit
    for unit in writers - units_b:  # outside the county: untouched
        assert lib.loc[desk.row_id(unit, "司法鉴定咨询"), "status"] == "unmatched", unit
    d = lib.loc[row_d]
    assert d["status"] == "unmatched" and pd.isna(d["decision_id"])  # back as it was
    c = lib.loc[row_c]
    assert (c["status"], c["match_method"]) == ("unmatched", "steward")
    issues = store.read_table(desk.engine, "qc_issues")
    st = issues.loc[issues["rule_id"] == "ST-001"]
    file_c, line_c = row_c.rsplit(":", 1)
    st_c = st.loc[(st["source_file"] == file_c) & (st["source_row"].astype(str) == line_c)]
    assert len(st_c) == 1 and reason in st_c["message"].iloc[0]

    # and the pages say so
    for row_id, status in ((row_a, "已确认"), (row_b, "已确认"), (row_c, "未匹配")):
        offline.open(_row_path(row_id))
        assert page.locator("p.meta span.status").inner_text() == status, row_id
        assert page.locator("div.decision.applied").count() == 1, row_id
        assert APPLIED in _decision(page), row_id
    assert reason in _decision(page)  # C's reason
    offline.open(_row_path(row_d))
    assert page.locator("p.meta span.status").inner_text() == "未匹配"
    assert page.locator("div.decision").count() == 0
    offline.open("/queue?" + urlencode({"status": "*"}))
    assert _click_facet(page, "state", APPLIED) == 1 + (len(units_b) - 1) + 1
    offline.open("/queue")
    assert _total(page) == scope_total - 1 - (len(units_b) - 1)  # confirmed rows left the queue
    offline.check()


# --- 2. A township steward cannot reach a sibling township ----------------------------------


def test_township_steward_cannot_see_or_decide_a_sibling_township(
    desk: Desk, offline: Offline
) -> None:
    page = offline.page
    offline.login("nonghui")
    lib = desk.library()
    mine = lib.loc[lib["division_code"].str.startswith("511602001") & lib["status"].isin(OPEN)]
    assert _total(page) == len(mine) > 0
    listed = [r[1][:12] for r in _queue_rows(page)]
    assert listed and all(c.startswith("511602001") for c in listed)
    assert not any(SIBLING in r[0] or r[1].startswith(SIBLING) for r in _queue_rows(page))
    units = page.locator("section.facet[data-facet=unit] a").all_inner_texts()
    assert units and all(u.startswith("511602001") for u in units)
    page.fill("aside.facets input[name=q]", "北辰")  # searching does not reach it either
    with page.expect_navigation():
        page.click("aside.facets form.search button")
    assert page.locator("table.grid").count() == 0 and _total(page) == 0

    sibling = lib.loc[lib["division_code"].str.startswith(SIBLING) & lib["status"].isin(OPEN)]
    sibling_row = str(sibling["row_id"].iloc[0])
    forbidden_before = len(desk.audit("forbidden", "nonghui"))

    # the sibling's row by its URL, and the sibling's unit as a queue filter
    offline.open(_row_path(sibling_row), status=403)
    assert "无权访问" in page.locator("h1").inner_text()
    assert sibling_row not in page.content()
    for path in ("/queue", "/history", "/issues", "/issues.xlsx"):  # the sibling's unit
        offline.open(path + "?" + urlencode({"unit": f"{SIBLING}000"}), status=403)
        assert "无权访问" in page.locator("h1").inner_text(), path

    # a forged decision with the steward's own valid token
    offline.open("/queue")
    token = offline.csrf()
    assert token
    decisions_before = desk.decision_count()
    catalogue = store.read_table(desk.engine, "catalogue_items")
    for action in ("confirm", "reject", "undo"):
        response = page.request.post(
            desk.base + "/decide",
            form={
                "csrf": token,
                "row_id": sibling_row,
                "action": action,
                "scope": "all",
                "business_code": str(catalogue["business_code"].iloc[0]),
                "reason": "越权",
                "back": "/queue",
            },
            max_redirects=0,
        )
        assert response.status == 403, (action, response.status)
        assert "无权访问" in response.text()
    assert desk.decision_count() == decisions_before
    audit = desk.audit("forbidden", "nonghui").iloc[forbidden_before:]
    assert len(audit) == 1 + 4 + 3
    assert audit["detail"].str.contains(sibling_row, regex=False).sum() == 1 + 3
    assert audit["detail"].str.startswith("POST /decide").sum() == 3
    offline.check()


# --- 3. CSRF ------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused(desk: Desk, offline: Offline) -> None:
    page = offline.page
    offline.login("guangan")
    lib = desk.library()
    target = lib.loc[lib["division_code"].str.startswith("511602") & lib["status"].isin(OPEN)]
    row_id = str(target["row_id"].iloc[0])
    refused_before = len(desk.audit("csrf_refused", "guangan"))
    decisions_before = desk.decision_count()
    for tamper in ("f => f.querySelector('[name=csrf]').remove()", "f => f.csrf.value = 'forged'"):
        offline.open(_row_path(row_id))
        form = page.locator("form").filter(has=page.locator("#mark-local"))
        form.evaluate(tamper)
        with page.expect_navigation() as nav:
            page.click("#mark-local")
        assert nav.value.status == 403
        assert "CSRF" in page.locator("main").inner_text()
    assert desk.decision_count() == decisions_before
    assert len(desk.audit("csrf_refused", "guangan")) == refused_before + 2
    # the untampered form still works: the refusal was about the token, not the form
    offline.open(_row_path(row_id))
    _submit(page, page.locator("#mark-local"))
    assert desk.decision_count() == decisions_before + 1
    _submit(page, page.locator("div.decision").get_by_role("button", name="撤销"))  # tidy up
    offline.check()


# --- 4. The province sees everything ---------------------------------------------------------


def test_province_user_sees_every_open_row(desk: Desk, offline: Offline, second: Offline) -> None:
    offline.login("sheng")
    lib = desk.library()
    assert _total(offline.page) == int(lib["status"].isin(OPEN).sum())
    levels = offline.page.locator("section.facet[data-facet=level] a").all_inner_texts()
    assert set(levels) == {"省级", "市级", "县级", "乡级", "村级"}
    # a county steward at the same time sees only the county's rows
    second.login("guangan")
    county = lib.loc[lib["division_code"].str.startswith("511602")]
    assert _total(second.page) == int(county["status"].isin(OPEN).sum()) < _total(offline.page)
    offline.check()
    second.check()


# --- 5. Every page loads offline, with its stylesheet ----------------------------------------


def _styled(page, base: str) -> None:
    """The desk's one stylesheet is loaded and applied."""
    assert page.evaluate("[...document.styleSheets].map(s => s.href)") == [
        base + "/static/desk.css"
    ], page.url
    header = page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor")
    assert header == HEADER_BLUE, page.url


def test_every_page_loads_offline(desk: Desk, offline: Offline) -> None:
    page = offline.page
    offline.open("/queue")  # not signed in: to the login page
    assert page.url.startswith(desk.base + "/login?")
    offline.open("/login")
    _styled(page, desk.base)
    assert page.locator("input[name=csrf]").count() == 1
    _shot(page, "login.png")
    offline.login("guangan")
    _styled(page, desk.base)
    _click_facet(page, "level", "乡级")
    assert page.locator("form.bulk").count() == 1 and page.locator("nav.pager").count() == 1
    _shot(page, "queue.png")

    row = desk.row_id(COUNTY, "新建或迁建农村机电提灌站审批（变更）")
    offline.open(_row_path(row))
    _styled(page, desk.base)
    assert page.locator("table.cands mark").count() > 0  # the name differences, marked
    assert page.locator("table.cands tbody tr").count() >= 2
    _shot(page, "row.png")
    page.fill("input[name=search]", "提灌站")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").click()
    found = page.locator("button[data-confirm]").count()
    assert found > page.locator("table.cands tbody tr").count()  # candidates + search results

    offline.open("/history")
    _styled(page, desk.base)
    assert "处理记录" in page.locator("h1").inner_text()
    offline.open("/history?" + urlencode({"unit": COUNTY}))
    _styled(page, desk.base)

    offline.open("/queue")
    with page.expect_navigation():
        page.get_by_role("button", name="退出").click()
    assert page.url == desk.base + "/login"
    _styled(page, desk.base)
    offline.open("/queue")
    assert page.url.startswith(desk.base + "/login?")  # signed out
    offline.check()


def test_report_pages_load_offline(desk: Desk, offline: Offline) -> None:
    """质检问题清单 and 统计查询 (shixiang/desk/reports.py): the unit's issue list with its
    workbook, and the SVG charts, drawn on the server: nothing from another host."""
    page = offline.page
    offline.login("guangan")
    offline.open("/issues")
    _styled(page, desk.base)
    assert "质检问题清单" in page.locator("h1").inner_text()
    _shot(page, "issues.png")
    offline.open("/issues?" + urlencode({"unit": COUNTY}))
    _styled(page, desk.base)
    link = page.locator("a[href^='/issues.xlsx']").first
    assert f"unit={COUNTY}" in (link.get_attribute("href") or "")
    download = page.request.get(desk.base + (link.get_attribute("href") or ""))
    assert download.status == 200 and download.body()[:2] == b"PK"  # an .xlsx workbook
    assert ".xlsx" in download.headers.get("content-disposition", "")

    offline.open("/stats")
    _styled(page, desk.base)
    charts = page.locator("svg")
    assert charts.count() > 0
    assert all(
        box and box["width"] > 0 and box["height"] > 0
        for box in (charts.nth(i).bounding_box() for i in range(charts.count()))
    )
    _shot(page, "stats.png")
    offline.check()


# --- The row page's "back" link stays on the desk -----------------------------------------


def test_back_link_stays_on_the_desk(desk: Desk, offline: Offline) -> None:
    page = offline.page
    offline.login("guangan")
    row = desk.row_id(COUNTY, "新建或迁建农村机电提灌站审批（变更）")
    for back in (
        "javascript:void(document.title='pwned')",
        "https://example.org/",
        "//example.org/",
    ):
        offline.open("/row?" + urlencode({"id": row, "back": back}))
        href = page.get_by_role("link", name="← 返回列表").get_attribute("href") or ""
        assert href.startswith("/") and not href.startswith("//"), href
