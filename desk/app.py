"""The review desk (审核台): a Starlette application over the library database.

Server-rendered Jinja2 pages and plain HTML forms; the one stylesheet is served from
``desk/static``: no page loads anything from another host, so the desk works on an intranet
with no internet. Every handler takes the signed-in user's scope from the server-side user
record and passes it to the core (``shixiang.desk``); a row or an action outside the scope is
answered 403 and written to ``desk_audit``. Every POST carries the session's CSRF token.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from shixiang import candidates, reports, store
from shixiang import decisions as dec
from shixiang.config import LEVEL_LABELS
from shixiang.desk import accounts, actions
from shixiang.desk.queue import (
    ANY_STATUS,
    ELEMENTS,
    FACETS,
    PAGE_SIZE,
    STATE_LABELS,
    STATUS_LABELS,
    DeskData,
    cell_text,
    local_times,
)
from shixiang.scope import ScopeError, in_scope, valid_code
from shixiang.store import make_engine

HERE = Path(__file__).parent
SESSION_SECONDS = 8 * 3600
# Every response: nothing but the desk's own files may load or be posted to, no framing, no
# inline script (the pages have none; a javascript: link would not run either).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
ISSUE_ROWS_SHOWN = 50
SAME_NAME_SHOWN = 100
AUDIT_SHOWN = 500  # latest audit events on /audit  # rows with the same name listed on a row's page  # rows of each issue-list sheet on the page (the download has all)
WARM_SECONDS = 30  # how often the desk looks for a new publish between requests
FILTER_PARAMS = (*[f.param for f in FACETS], "q")


class Forbidden(Exception):
    """A request for something outside the user's scope (logged, answered 403)."""


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _filters(params) -> dict[str, str]:
    return {k: params.get(k, "").strip() for k in FILTER_PARAMS if params.get(k, "").strip()}


def _query(filters: dict[str, str], **extra) -> str:
    merged = {**filters, **{k: v for k, v in extra.items() if v not in (None, "")}}
    for k, v in extra.items():
        if v in (None, ""):
            merged.pop(k, None)
    return urlencode(merged)


def create_app(
    database_url: str, *, secret: str | None = None, https_only: bool = False
) -> Starlette:
    """The desk over ``database_url``. ``secret`` signs the session cookie (default: a key
    generated once and kept in the database)."""
    engine: Engine = make_engine(database_url)
    accounts.ensure_desk_schema(engine)
    data = DeskData(engine)
    throttle = accounts.LoginThrottle()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(
        LEVEL_LABELS=LEVEL_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        STATE_LABELS=STATE_LABELS,
        ELEMENTS=ELEMENTS,
        ACTIONS=actions.ACTIONS,
        SCOPE_LABELS=actions.SCOPE_LABELS,
        DECISION_LABELS=dec.DECISION_LABELS,
        query=_query,
        ANY_STATUS=ANY_STATUS,
        AUDIT_LABELS=accounts.AUDIT_LABELS,
    )
    templates.env.filters["first_candidate"] = _first_candidate
    templates.env.filters["cell"] = cell_text
    templates.env.globals["SHOWN"] = ISSUE_ROWS_SHOWN
    templates.env.globals["SAME_NAME_SHOWN"] = SAME_NAME_SHOWN

    # --- session, user, CSRF ---------------------------------------------------------------
    def current_user(request: Request) -> accounts.User | None:
        uid = request.session.get("uid")
        if uid is None or time.time() - request.session.get("at", 0) > SESSION_SECONDS:
            return None
        user = accounts.get_user_by_id(engine, int(uid))
        if user is None or user.disabled:
            return None
        return user

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return token

    async def checked_form(request: Request):
        form = await request.form()
        expected = request.session.get("csrf", "")
        given = str(form.get("csrf", ""))
        if not expected or not hmac.compare_digest(expected, given):
            user = current_user(request)
            accounts.audit(
                engine,
                "csrf_refused",
                user.username if user else None,
                request.url.path,
                _client(request),
            )
            raise HTTPException(403, "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试")
        return form

    def render(
        request: Request, name: str, user: accounts.User | None, status: int = 200, **ctx
    ) -> Response:
        flash = request.session.pop("flash", None)
        return templates.TemplateResponse(
            request,
            name,
            {"user": user, "csrf": csrf_token(request), "flash": flash, **ctx},
            status_code=status,
        )

    def forbidden(request: Request, user: accounts.User, detail: str) -> Response:
        accounts.audit(engine, "forbidden", user.username, detail, _client(request))
        return render(
            request,
            "error.html",
            user,
            status=403,
            title="无权访问",
            message="这一行或这个单位不在您的管辖范围内。此次访问已记录。",
        )

    def no_such_row(request: Request, user: accounts.User, row_id: str) -> Response:
        return render(
            request,
            "error.html",
            user,
            status=404,
            title="没有这一行",
            message=f"事项库的待处理行中没有 {row_id}。",
        )

    def need_user(request: Request) -> accounts.User:
        user = current_user(request)
        if user is None:
            raise _Redirect(
                "/login?"
                + urlencode(
                    {
                        "next": str(request.url.path)
                        + ("?" + request.url.query if request.url.query else "")
                    }
                )
            )
        return user

    def snapshot(request: Request, user: accounts.User):
        snap = data.snapshot()
        if snap is None:
            raise _Page(
                render(
                    request,
                    "error.html",
                    user,
                    status=200,
                    title="尚无事项库",
                    message="事项库还没有发布。请先运行 shixiang run（或等待夜间任务）。",
                )
            )
        return snap

    # --- pages -------------------------------------------------------------------------------
    async def login_page(request: Request) -> Response:
        return render(
            request, "login.html", None, next=_local_path(request.query_params.get("next"), "/")
        )

    async def login(request: Request) -> Response:
        form = await checked_form(request)
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        nxt = _local_path(str(form.get("next", "")), "/")
        client = _client(request)
        if throttle.blocked(username, client):
            accounts.audit(engine, "login_throttled", username, "", client)
            return render(
                request,
                "login.html",
                None,
                status=429,
                next=nxt,
                error="登录失败次数过多，请 5 分钟后再试。",
            )
        user = await run_in_threadpool(accounts.authenticate, engine, username, password)
        if user is None:
            throttle.failed(username, client)
            accounts.audit(engine, "login_failed", username, "", client)
            return render(
                request,
                "login.html",
                None,
                status=401,
                next=nxt,
                error="用户名或密码错误，或账号已停用。",
            )
        throttle.succeeded(username)
        request.session.clear()
        request.session.update(
            {"uid": user.id, "at": time.time(), "csrf": secrets.token_urlsafe(32)}
        )
        accounts.audit(engine, "login", user.username, "", client)
        return RedirectResponse(nxt, status_code=303)

    async def logout(request: Request) -> Response:
        await checked_form(request)
        user = current_user(request)
        if user:
            accounts.audit(engine, "logout", user.username, "", _client(request))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    def home(request: Request) -> Response:
        need_user(request)
        return RedirectResponse("/queue", status_code=303)

    def queue(request: Request) -> Response:
        user = need_user(request)
        snap = snapshot(request, user)
        filters = _filters(request.query_params)
        unit = filters.get("unit")
        if unit and not in_scope(user.prefix, unit):
            return forbidden(request, user, f"queue unit={unit}")
        try:
            page = max(int(request.query_params.get("page", "1")), 1)
        except ValueError:
            page = 1
        started = time.perf_counter()
        rows, total = snap.page(user.prefix, filters, page)
        facets = snap.facets(user.prefix, filters)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        return render(
            request,
            "queue.html",
            user,
            snap=snap,
            rows=rows,
            total=total,
            facets=facets,
            filters=filters,
            page=page,
            pages=pages,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def row_page(request: Request) -> Response:
        user = need_user(request)
        snap = snapshot(request, user)
        row_id = request.query_params.get("id", "")
        try:
            row = actions.scoped_row(snap, user, row_id)
        except KeyError:
            return no_such_row(request, user, row_id)
        except ScopeError as e:
            return forbidden(request, user, str(e))
        q = request.query_params.get("search", "")
        same = snap.same_name(user.prefix, row["name_key"])
        history = actions.unit_history(snap, user, name_key=row["name_key"])
        history = history.loc[
            history["division_code"].isna() | (history["division_code"] == row["division_code"])
        ]
        return render(
            request,
            "row.html",
            user,
            snap=snap,
            row=row,
            candidates=snap.candidates(row),
            current=snap.effective_for(row),
            same=same,
            history=_records(history),
            search=q,
            results=snap.search_catalogue(q) if q else [],
            back=_local_path(request.query_params.get("back")),
        )

    async def decide(request: Request) -> Response:
        user = need_user(request)
        form = await checked_form(request)
        snap = await run_in_threadpool(snapshot, request, user)
        row_id = str(form.get("row_id", ""))
        back = _local_path(str(form.get("back", "")))
        try:
            if form.get("action") == dec.UNDO:
                made = [actions.undo_for(snap, user, row_id)]
            else:
                made = actions.decisions_for(
                    snap,
                    user,
                    row_id,
                    str(form.get("action", "")),
                    str(form.get("scope", dec.SCOPE_ROW)),
                    business_code=str(form.get("business_code", "")),
                    reason=str(form.get("reason", "")),
                )
        except KeyError:
            return no_such_row(request, user, row_id)
        except ScopeError as e:
            return forbidden(request, user, f"POST /decide {e}")
        except dec.DecisionError as e:
            request.session["flash"] = {"kind": "error", "text": str(e)}
            return RedirectResponse(
                "/row?" + urlencode({"id": row_id, "back": back}), status_code=303
            )
        if not made:
            request.session["flash"] = {
                "kind": "ok",
                "text": "这个决定已经记录过了，没有重复记录。",
            }
            return RedirectResponse(
                "/row?" + urlencode({"id": row_id, "back": back}), status_code=303
            )
        n = await run_in_threadpool(store.record_decisions, engine, made)
        what = dec.DECISION_LABELS.get(made[0].decision, made[0].decision)
        request.session["flash"] = {
            "kind": "ok",
            "text": f"已记录：{what}（{n} 条决定）。下次发布后生效，发布前可撤销。",
        }
        return RedirectResponse("/row?" + urlencode({"id": row_id, "back": back}), status_code=303)

    async def bulk(request: Request) -> Response:
        user = need_user(request)
        form = await checked_form(request)
        snap = await run_in_threadpool(snapshot, request, user)
        filters = _filters(form)
        if filters.get("unit") and not in_scope(user.prefix, filters["unit"]):
            return forbidden(request, user, f"POST /bulk unit={filters['unit']}")
        targets = actions.bulk_targets(snap, user, filters)
        expected = str(form.get("expected", ""))
        if expected != str(len(targets)) or form.get("really") != "yes":
            return render(
                request,
                "bulk.html",
                user,
                snap=snap,
                filters=filters,
                targets=targets.head(20),
                count=len(targets),
            )
        made = actions.bulk_decisions(snap, user, targets)
        n = await run_in_threadpool(store.record_decisions, engine, made)
        request.session["flash"] = {
            "kind": "ok",
            "text": f"已批量确认 {n} 行（第一候选）。下次发布后生效。",
        }
        return RedirectResponse("/queue?" + _query(filters), status_code=303)

    def history(request: Request) -> Response:
        user = need_user(request)
        snap = snapshot(request, user)
        unit = request.query_params.get("unit", "")
        if unit and not in_scope(user.prefix, unit):
            return forbidden(request, user, f"history unit={unit}")
        h = actions.unit_history(snap, user)
        if unit:
            h = h.loc[h["division_code"].isna() | (h["division_code"] == unit)]
        return render(
            request,
            "history.html",
            user,
            snap=snap,
            history=_records(h.head(500)),
            total=len(h),
            unit=unit,
        )

    def audit(request: Request) -> Response:
        """The audit log (logins, refusals, out-of-scope attempts): the province role only."""
        user = need_user(request)
        if not user.is_province:
            return forbidden(request, user, "audit log")
        events = accounts.audit_log(engine, limit=AUDIT_SHOWN)
        for e in events:
            e["at"] = local_times([e["at"]]).iloc[0]
        return render(request, "audit.html", user, events=events)

    def issues(request: Request) -> Response:
        user = need_user(request)
        unit = request.query_params.get("unit", "") or None
        if unit and (not valid_code(unit) or not in_scope(user.prefix, unit)):
            return forbidden(request, user, f"issues unit={unit}")
        try:
            sheets = reports.unit_issue_list(engine, user.prefix, unit, limit=ISSUE_ROWS_SHOWN)
        except ScopeError as e:
            return forbidden(request, user, str(e))
        units = reports.units_in_scope(engine, user.prefix)
        return render(request, "issues.html", user, sheets=sheets, unit=unit or "", units=units)

    def issues_xlsx(request: Request) -> Response:
        user = need_user(request)
        unit = request.query_params.get("unit", "") or None
        if unit and (not valid_code(unit) or not in_scope(user.prefix, unit)):
            return forbidden(request, user, f"issues.xlsx unit={unit}")
        sheets = reports.unit_issue_list(engine, user.prefix, unit)
        tmp = Path(tempfile.mkdtemp(prefix="shixiang-desk-"))
        path = tmp / f"质检问题清单_{unit or user.division_code or '全省'}.xlsx"
        reports.write_issue_workbook(sheets, path)
        return FileResponse(
            path,
            filename=path.name,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            background=BackgroundTask(_remove_tree, tmp),
        )

    def stats(request: Request) -> Response:
        user = need_user(request)
        s = reports.stats(engine, user.prefix)
        return render(request, "stats.html", user, stats=s, charts=reports.stats_charts(s))

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/queue", queue),
        Route("/row", row_page),
        Route("/decide", decide, methods=["POST"]),
        Route("/bulk", bulk, methods=["POST"]),
        Route("/history", history),
        Route("/audit", audit),
        Route("/issues", issues),
        Route("/issues.xlsx", issues_xlsx),
        Route("/stats", stats),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    async def redirect_handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Redirect)
        return RedirectResponse(exc.location, status_code=303)

    async def page_handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Page)
        return exc.response

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return render(
            request,
            "error.html",
            current_user(request),
            status=exc.status_code,
            title="请求被拒绝" if exc.status_code == 403 else "出错了",
            message=exc.detail,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        """Read the library before the first steward asks, and again after each publish."""
        stop = threading.Event()

        def warm() -> None:
            while not stop.is_set():
                with contextlib.suppress(Exception):  # a request will show the error
                    data.snapshot()
                stop.wait(WARM_SECONDS)

        thread = threading.Thread(target=warm, name="desk-warm", daemon=True)
        thread.start()
        yield
        stop.set()

    app = Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret or accounts.session_secret(engine),
                session_cookie="shixiang_desk",
                max_age=SESSION_SECONDS,
                same_site="strict",
                https_only=https_only,
            ),
        ],
        exception_handlers={
            _Redirect: redirect_handler,
            _Page: page_handler,
            HTTPException: http_error,
        },
    )
    app.state.engine = engine
    app.state.data = data
    return app


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


class _Page(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _records(frame) -> list[dict]:
    """Rows as dicts with None for missing values (NaN would print as "nan")."""
    return frame.astype("object").where(frame.notna(), None).to_dict("records")


def _first_candidate(cell: str) -> str:
    cands = candidates.decode(cell)
    return f"{cands[0].name}（{cands[0].business_code}）" if cands else ""


def _local_path(value: str | None, default: str = "/queue") -> str:
    """``value`` if it is a path on the desk itself, else ``default``: a ``back`` or ``next``
    taken from a URL or a form must not send the browser to another site (``//host``,
    ``/\\host``, ``https:``) or run script (``javascript:``)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


class SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every HTTP response."""

    def __init__(self, app) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)
