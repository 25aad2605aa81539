"""The review desk over a published demo province: accounts, scope, CSRF, decisions, bulk.

Requests go through Starlette's TestClient (the real app, a real SQLite library published by
``shixiang run``); the scripted browser session is in tests/test_desk_browser.py.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from commands import main as cli
from desk.app import create_app
from shixiang import decisions as dec
from shixiang import tables
from shixiang.desk import accounts
from shixiang.desk.queue import DeskData
from shixiang.scope import code_range, in_scope, level_of, scope_prefix
from shixiang.store import make_engine, read_table

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse"
USERS = {
    "prov": ("province", None),
    "county": ("unit", "511602000000"),  # 广安区
    "town": ("unit", "511602001000"),  # 浓洄街道, under 广安区
}


# --- scope arithmetic -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "prefix", "level"),
    [
        ("510000000000", "51", "province"),
        ("511600000000", "5116", "city"),
        ("511602000000", "511602", "county"),
        ("511602001000", "511602001", "township"),
        ("511602001004", "511602001004", "village"),
        ("511602100000", "511602100", "township"),  # a township whose own code ends in 00
    ],
)
def test_scope_prefix_keeps_the_significant_groups(code: str, prefix: str, level: str) -> None:
    assert scope_prefix(code) == prefix
    assert level_of(code) == level


def test_scope_prefix_refuses_what_is_not_a_code() -> None:
    for bad in ("", "5116", "51160200000a", "000000000000", "５１１６０２０００１００"):
        with pytest.raises(ValueError):
            scope_prefix(bad)


def test_code_range_is_exactly_the_prefix() -> None:
    low, high = code_range("511602")
    codes = ["511601999999", "511602000000", "511602999999", "511603000000"]
    assert [low <= c < high for c in codes] == [in_scope("511602", c) for c in codes]
    assert code_range("") is None


# --- a published province with three users -------------------------------------------------


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("desk")
    data = root / "data"
    shutil.copytree(REPO / "data" / "sample", data)
    url = f"sqlite:///{root / 'lib.db'}"
    assert (
        cli.main(["run", "--data-dir", str(data), "--database-url", url, "--log-level", "ERROR"])
        == 0
    )
    engine = make_engine(url)
    for name, (role, code) in USERS.items():
        accounts.add_user(engine, name, PASSWORD, role, division_code=code)
    return url, data


@pytest.fixture
def db(province, tmp_path: Path) -> str:
    """A private copy of the published province (tests that decide must not see each other)."""
    src = Path(province[0].removeprefix("sqlite:///"))
    dst = tmp_path / "lib.db"
    make_engine(province[0]).dispose()
    with make_engine(province[0]).connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
    shutil.copy(src, dst)
    return f"sqlite:///{dst}"


def _token(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(url: str, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(create_app(url, secret="test-secret"))
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf": _token(page.text),
            "next": "/queue",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return client


def csrf(client: TestClient) -> str:
    return _token(client.get("/queue").text)


def open_rows(url: str) -> pd.DataFrame:
    lib = read_table(make_engine(url), "unified_library")
    return lib.loc[lib["status"].isin(["review", "unmatched"])]


def decisions(url: str) -> pd.DataFrame:
    return read_table(make_engine(url), "steward_decisions")


def audit_events(url: str) -> list[str]:
    return [a["event"] for a in accounts.audit_log(make_engine(url))]


def row_ids(html: str) -> set[str]:
    from urllib.parse import parse_qs, unquote

    return {
        parse_qs(unquote(m).replace("&amp;", "&"))["id"][0]
        for m in re.findall(r'href="/row\?([^"]+)" class="rowlink"', html)
    }


# --- accounts -------------------------------------------------------------------------------


def test_user_commands(tmp_path: Path, capsys, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    monkeypatch.setenv("SHIXIANG_DESK_PASSWORD", PASSWORD)
    base = ["desk", "user"]
    add_wu = [*base, "add", "wu", "--role", "unit", "--division-code", "511602001000"]
    assert cli.main([*add_wu, "--database-url", url]) == 0
    assert cli.main([*add_wu, "--database-url", url]) == 2
    assert "已存在" in capsys.readouterr().err
    assert cli.main([*base, "add", "x", "--role", "unit", "--database-url", url]) == 2
    assert "行政区划代码" in capsys.readouterr().err
    assert (
        cli.main(
            [*base, "add", "y", "--role", "unit", "--division-code", "5116", "--database-url", url]
        )
        == 2
    )
    monkeypatch.setenv("SHIXIANG_DESK_PASSWORD", "short")
    assert cli.main([*base, "add", "z", "--role", "province", "--database-url", url]) == 2
    assert "至少 8" in capsys.readouterr().err
    assert cli.main([*base, "disable", "wu", "--database-url", url]) == 0
    capsys.readouterr()
    assert cli.main([*base, "list", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "wu" in out and "511602001000" in out and "已停用" in out
    engine = make_engine(url)
    stored = engine.connect().execute(select(tables.desk_users.c.password_hash)).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.authenticate(engine, "wu", PASSWORD) is None  # disabled
    accounts.set_disabled(engine, "wu", False)
    assert accounts.authenticate(engine, "wu", PASSWORD).prefix == "511602001"
    assert accounts.authenticate(engine, "wu", "wrong-password") is None


@pytest.mark.slow
def test_pages_need_a_login_and_logins_are_throttled(db: str) -> None:
    client = TestClient(create_app(db, secret="s"))
    r = client.get("/queue?level=village", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    token = _token(client.get("/login").text)
    for _ in range(5):
        r = client.post(
            "/login", data={"username": "county", "password": "nope-nope", "csrf": token}
        )
        assert r.status_code == 401
    r = client.post("/login", data={"username": "county", "password": PASSWORD, "csrf": token})
    assert r.status_code == 429  # the right password too, until the window passes
    assert audit_events(db).count("login_failed") == 5 and "login_throttled" in audit_events(db)
    assert login(db, "town").get("/queue").status_code == 200  # another user is not locked out


@pytest.mark.slow
def test_logout_ends_the_session(db: str) -> None:
    client = login(db, "county")
    assert (
        client.post("/logout", data={"csrf": csrf(client)}, follow_redirects=False).status_code
        == 303
    )
    assert client.get("/queue", follow_redirects=False).status_code == 303


# --- scope ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_each_steward_sees_exactly_their_scope(db: str) -> None:
    rows = open_rows(db)
    for name, (role, code) in USERS.items():
        client = login(db, name)
        seen: set[str] = set()
        page = 1
        while True:
            html = client.get(f"/queue?page={page}").text
            ids = row_ids(html)
            if not ids:
                break
            seen |= ids
            page += 1
        prefix = "" if role == "province" else scope_prefix(code)
        expected = set(rows.loc[rows["division_code"].str.startswith(prefix), "row_id"])
        assert seen == expected, name
        total = int(re.search(r"<small>(\d+) 行</small>", client.get("/queue").text).group(1))
        assert total == len(expected)


@pytest.mark.slow
def test_a_sibling_units_row_is_refused_by_url_and_by_replayed_post(db: str) -> None:
    rows = open_rows(db)
    sibling = rows.loc[rows["division_code"].str.startswith("511602002")].iloc[0]
    client = login(db, "town")
    r = client.get("/row?" + urlencode({"id": sibling["row_id"]}))
    assert r.status_code == 403 and "无权访问" in r.text
    for action in ("confirm", "local", "reject", "undo"):
        r = client.post(
            "/decide",
            data={
                "csrf": csrf(client),
                "row_id": sibling["row_id"],
                "action": action,
                "scope": "all",
                "business_code": "x",
                "reason": "越权",
            },
        )
        assert r.status_code == 403, action
    assert client.get("/queue?unit=511602002000").status_code == 403
    assert client.get("/history?unit=511602002000").status_code == 403
    assert decisions(db).empty
    assert audit_events(db).count("forbidden") >= 6


@pytest.mark.slow
def test_a_form_without_its_csrf_token_is_refused(db: str) -> None:
    rows = open_rows(db)
    mine = rows.loc[rows["division_code"].str.startswith("511602")].iloc[0]
    client = login(db, "county")
    form = {"row_id": mine["row_id"], "action": "local", "scope": "row"}
    assert client.post("/decide", data=form).status_code == 403
    assert client.post("/decide", data={**form, "csrf": "forged"}).status_code == 403
    other = login(db, "town")  # another session's token is no good either
    assert client.post("/decide", data={**form, "csrf": csrf(other)}).status_code == 403
    assert decisions(db).empty
    assert "csrf_refused" in audit_events(db)
    assert client.post("/decide", data={**form, "csrf": csrf(client)}).status_code == 200


# --- deciding -------------------------------------------------------------------------------


def _review_row(url: str, prefix: str) -> pd.Series:
    rows = open_rows(url)
    return rows.loc[
        rows["division_code"].str.startswith(prefix) & (rows["status"] == "review")
    ].iloc[0]


@pytest.mark.slow
def test_decisions_are_pending_until_the_next_run_applies_them(db: str, province) -> None:
    data_dir = province[1]
    rows = open_rows(db)
    mine = rows.loc[rows["division_code"].str.startswith("511602")]
    confirm_row = _review_row(db, "511602")
    import json

    code = json.loads(confirm_row["candidates"])[0]["business_code"]
    local_row, reject_row, undo_row = (
        mine.loc[(mine["status"] == "unmatched") & (mine["row_id"] != confirm_row["row_id"])]
        .drop_duplicates("name_key")
        .iloc[:3]
        .itertuples()
    )
    client = login(db, "county")
    post = lambda **f: client.post("/decide", data={"csrf": csrf(client), "scope": "row", **f})  # noqa: E731
    assert "待生效" in post(row_id=confirm_row["row_id"], action="confirm", business_code=code).text
    post(row_id=local_row.row_id, action="local")
    r = post(row_id=reject_row.row_id, action="reject", reason="")
    assert "必须写明理由" in r.text
    post(row_id=reject_row.row_id, action="reject", reason="名称应按目录填写")
    post(row_id=undo_row.row_id, action="local")
    post(row_id=undo_row.row_id, action="undo")
    pending = client.get("/queue?state=pending").text
    assert {confirm_row["row_id"], reject_row.row_id} <= row_ids(pending)
    assert undo_row.row_id not in row_ids(pending)
    recorded = decisions(db)
    assert set(recorded["steward"]) == {"county"} and set(recorded["source"]) == {"desk"}

    assert (
        cli.main(["run", "--data-dir", str(data_dir), "--database-url", db, "--log-level", "ERROR"])
        == 0
    )
    lib = read_table(make_engine(db), "unified_library").set_index("row_id")
    assert lib.loc[confirm_row["row_id"], "status"] == "confirmed"
    assert lib.loc[confirm_row["row_id"], "business_code"] == code
    assert lib.loc[local_row.row_id, "status"] == "local"
    assert lib.loc[reject_row.row_id, "status"] == "unmatched"
    assert lib.loc[undo_row.row_id, "status"] == "unmatched"
    issues = read_table(make_engine(db), "qc_issues")
    st = issues.loc[(issues["rule_id"] == "ST-001") & (issues["item_name"] == reject_row.item_name)]
    assert "名称应按目录填写" in st["message"].iloc[0] + st["suggestion"].iloc[0]
    client = login(db, "county")
    assert row_ids(client.get("/queue?state=pending").text) == set()
    applied = client.get("/queue?" + urlencode({"status": "*", "state": "applied"})).text
    assert {confirm_row["row_id"], local_row.row_id, reject_row.row_id} <= row_ids(applied)


@pytest.mark.slow
def test_every_identical_name_means_within_my_scope(db: str) -> None:
    rows = open_rows(db)
    spread = rows.groupby("name_key")["division_code"].agg(lambda s: set(s))
    inside_and_out = spread.loc[
        spread.map(
            lambda s: (
                any(c.startswith("511602") for c in s)
                and any(not c.startswith("511602") for c in s)
            )
        )
    ]
    key = inside_and_out.index[0]
    row = rows.loc[(rows["name_key"] == key) & rows["division_code"].str.startswith("511602")].iloc[
        0
    ]
    client = login(db, "county")
    client.post(
        "/decide",
        data={"csrf": csrf(client), "row_id": row["row_id"], "action": "local", "scope": "all"},
    )
    made = decisions(db)
    units = {c for c in inside_and_out[key] if c.startswith("511602")}
    assert set(made["scope"]) == {dec.SCOPE_ROW}
    assert set(made["division_code"]) == units and len(made) == len(units)

    prov = login(db, "prov")
    prov.post(
        "/decide",
        data={"csrf": csrf(prov), "row_id": row["row_id"], "action": "local", "scope": "all"},
    )
    assert decisions(db)["scope"].iloc[-1] == dec.SCOPE_ALL  # the province decides for everyone
    # The county's own row decision beats the province-wide one; once the county withdraws
    # it, the province's is in force, and that one only the province can withdraw.
    undo = {"csrf": csrf(client), "row_id": row["row_id"], "action": "undo"}
    assert client.post("/decide", data=undo).status_code == 200
    assert decisions(db)["decision"].iloc[-1] == dec.UNDO
    snap = DeskData(make_engine(db)).snapshot()
    assert snap.rows.loc[row["row_id"], "eff_scope"] == dec.SCOPE_ALL
    n = len(decisions(db))
    assert client.post("/decide", data={**undo, "csrf": csrf(client)}).status_code == 403
    assert len(decisions(db)) == n


@pytest.mark.slow
def test_bulk_confirm_asks_again_with_the_count(db: str) -> None:
    rows = open_rows(db)
    client = login(db, "prov")
    review = rows.loc[rows["status"] == "review"]
    r = client.post("/bulk", data={"csrf": csrf(client), "status": "review"})
    assert r.status_code == 200 and decisions(db).empty
    count = int(re.search(r"批量确认：(\d+) 行", r.text).group(1))
    assert 0 < count <= len(review)
    r = client.post(
        "/bulk", data={"csrf": csrf(client), "expected": str(count + 1), "really": "yes"}
    )
    assert decisions(db).empty  # the slice changed since the count was shown: ask again
    client.post("/bulk", data={"csrf": csrf(client), "expected": str(count), "really": "yes"})
    made = decisions(db)
    assert len(made) == count and set(made["decision"]) == {dec.CONFIRM}
    assert made["business_code"].notna().all()


# --- the unit's issue list and the statistics ------------------------------------------------


@pytest.mark.slow
def test_issue_list_online_and_as_xlsx_within_the_scope(db: str, tmp_path: Path) -> None:
    import openpyxl

    client = login(db, "county")
    page = client.get("/issues?unit=511602001000")
    assert page.status_code == 200 and 'data-sheet="质检问题"' in page.text
    r = client.get("/issues.xlsx?unit=511602001000")
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    path = tmp_path / "list.xlsx"
    path.write_bytes(r.content)
    assert openpyxl.load_workbook(path).sheetnames[:2] == ["汇总", "质检问题"]
    for url in ("/issues?unit=511603000000", "/issues.xlsx?unit=511603000000", "/issues?unit=5116"):
        assert client.get(url).status_code == 403, url
    # a unit whose only file was rejected still has its list (邻水县: encoding not recognised)
    prov = login(db, "prov")
    rejected_only = prov.get("/issues?unit=511623000000")
    assert rejected_only.status_code == 200 and "邻水县" in rejected_only.text


@pytest.mark.slow
def test_statistics_are_svg_drawn_on_the_server(db: str) -> None:
    html = login(db, "town").get("/stats").text
    assert html.count("<svg") >= 4 and 'role="img"' in html
    assert "<script" not in html
    assert (
        "511603" not in html
    )  # a township steward's statistics hold nothing of the sibling county


@pytest.mark.slow
def test_the_same_decision_twice_is_recorded_once(db: str) -> None:
    row = _review_row(db, "511602")
    client = login(db, "county")
    form = {"row_id": row["row_id"], "action": "local", "scope": "row"}
    client.post("/decide", data={**form, "csrf": csrf(client)})
    r = client.post("/decide", data={**form, "csrf": csrf(client)})
    assert "没有重复记录" in r.text and len(decisions(db)) == 1
    client.post("/decide", data={**form, "action": "reject", "reason": "改", "csrf": csrf(client)})
    assert list(decisions(db)["decision"]) == ["local", "reject"]  # a different one is recorded


@pytest.mark.slow
def test_every_response_forbids_foreign_scripts_and_redirects(db: str) -> None:
    client = TestClient(create_app(db, secret="s"))
    for r in (client.get("/login"), login(db, "county").get("/queue")):
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
    # a next= or back= that leads elsewhere is replaced by a page of the desk
    token = _token(client.get("/login?next=//evil.example/").text)
    r = client.post(
        "/login",
        data={
            "username": "county",
            "password": PASSWORD,
            "csrf": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"
    county = login(db, "county")
    row = open_rows(db).loc[lambda f: f["division_code"].str.startswith("511602")].iloc[0]
    page = county.get("/row?" + urlencode({"id": row["row_id"], "back": "javascript:alert(1)"}))
    assert "javascript:" not in page.text


@pytest.mark.slow
def test_decisions_laid_over_incrementally_equal_a_fresh_read(db: str) -> None:
    """After new decisions only the rows of their names are laid over again: the result must
    be the one a fresh read of the library and every decision gives."""
    from shixiang import store
    from shixiang.desk.queue import OVERLAY_COLUMNS, read_snapshot

    engine = make_engine(db)
    data = DeskData(engine)
    first = data.snapshot()
    rows = open_rows(db)
    a, b = rows.drop_duplicates("name_key").iloc[:2].itertuples()
    store.record_decisions(
        engine,
        [
            dec.Decision("t", a.name_key, dec.LOCAL, dec.SCOPE_ROW, a.division_code, a.item_name),
            dec.Decision("t", b.name_key, dec.REJECT, dec.SCOPE_ALL, None, b.item_name, reason="x"),
        ],
    )
    second = data.snapshot()
    assert second is not first and second.decision_version > first.decision_version
    store.record_decisions(
        engine, [dec.Decision("t", a.name_key, dec.UNDO, dec.SCOPE_ROW, a.division_code)]
    )
    third = data.snapshot()
    fresh = read_snapshot(engine)

    def overlay(snap) -> pd.DataFrame:
        cols = snap.rows[list(OVERLAY_COLUMNS)].astype(object)
        return cols.where(cols.notna(), None)

    pd.testing.assert_frame_equal(overlay(third), overlay(fresh))
    assert (second.rows["state"] == "pending").sum() >= 2


@pytest.mark.slow
def test_the_command_line_writes_the_desks_workbook_even_for_a_rejected_only_unit(
    db: str, tmp_path: Path
) -> None:
    """`shixiang export issues` and the desk's download are one workbook (shixiang/reports.py):
    邻水县's only file was rejected, and it still gets its list with the reason."""
    import openpyxl

    out = tmp_path / "邻水县.xlsx"
    args = ["export", "issues", "--unit", "511623000000", "--out", str(out), "--database-url", db]
    assert cli.main(args) == 0
    wb = openpyxl.load_workbook(out)
    rejected = [[c.value for c in r] for r in wb["拒收文件"].iter_rows(min_row=2)]
    assert any("511623" in str(r[0]) and "编码" in str(r[-1]) for r in rejected), rejected
    assert (
        cli.main(
            ["export", "issues", "--all", "--out", str(tmp_path / "all"), "--database-url", db]
        )
        == 0
    )
    assert (tmp_path / "all" / "质检问题清单_511623000000.xlsx").is_file()


@pytest.mark.slow
def test_the_audit_log_is_for_the_province_role(db: str) -> None:
    town = login(db, "town")
    town.get("/row?" + urlencode({"id": "county/nothing.csv:1"}))
    assert town.get("/audit").status_code == 403  # and that attempt is itself logged
    page = login(db, "prov").get("/audit")
    assert page.status_code == 200
    assert "越权访问（已拒绝）" in page.text and "town" in page.text
