"""Desk accounts (``desk_users``), the audit log (``desk_audit``) and login throttling.

Passwords are hashed with Argon2id (argon2-cffi's defaults); a user is never deleted, only
disabled, so the decisions they took keep a name. Every login, logout, refused login and
out-of-scope attempt is written to ``desk_audit``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Engine,
    insert,
    select,
    update,
)

from shixiang.scope import PROVINCE, ROLES, UNIT, scope_prefix, valid_code
from shixiang.tables import desk_audit, desk_settings, desk_users, metadata

_hasher = PasswordHasher()
MIN_PASSWORD = 8


AUDIT_LABELS: dict[str, str] = {
    "login": "登录",
    "login_failed": "登录失败",
    "login_throttled": "登录被限流",
    "logout": "退出",
    "forbidden": "越权访问（已拒绝）",
    "csrf_refused": "表单校验失败（已拒绝）",
}


class AccountError(ValueError):
    """A user that cannot be created or changed; the message says why (in Chinese)."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    division_code: str | None
    disabled: bool

    @property
    def prefix(self) -> str:
        """The division-code prefix of everything this user may see and decide."""
        if self.role == PROVINCE:
            return ""
        return scope_prefix(self.division_code or "")

    @property
    def is_province(self) -> bool:
        return self.role == PROVINCE

    @property
    def label(self) -> str:
        scope = "全省" if self.is_province else self.division_code
        return f"{self.display_name or self.username}（{scope}）"


def ensure_desk_schema(engine: Engine) -> None:
    metadata.create_all(engine, checkfirst=True, tables=[desk_users, desk_audit, desk_settings])


def _user(row) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name or row.username,
        role=row.role,
        division_code=row.division_code,
        disabled=bool(row.disabled),
    )


def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    division_code: str | None = None,
    display_name: str | None = None,
) -> User:
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("用户名不能为空、不能含空格，最长 64 个字符")
    if role not in ROLES:
        raise AccountError(f"未知的角色“{role}”，应为 {'、'.join(ROLES)}")
    if role == UNIT:
        if not valid_code(division_code or ""):
            raise AccountError("单位数据管理员必须指定 12 位行政区划代码（--division-code）")
        try:
            scope_prefix(division_code or "")
        except ValueError as e:
            raise AccountError(str(e)) from e
    else:
        division_code = None
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")
    ensure_desk_schema(engine)
    with engine.begin() as conn:
        if conn.execute(select(desk_users.c.id).where(desk_users.c.username == username)).first():
            raise AccountError(f"用户“{username}”已存在")
        conn.execute(
            insert(desk_users).values(
                username=username,
                display_name=(display_name or "").strip() or username,
                role=role,
                division_code=division_code,
                password_hash=_hasher.hash(password),
                disabled=False,
                created_at=datetime.now(UTC),
            )
        )
    user = get_user(engine, username)
    assert user is not None
    return user


def get_user(engine: Engine, username: str) -> User | None:
    ensure_desk_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(select(desk_users).where(desk_users.c.username == username)).first()
    return _user(row) if row else None


def get_user_by_id(engine: Engine, user_id: int) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(desk_users).where(desk_users.c.id == user_id)).first()
    return _user(row) if row else None


def list_users(engine: Engine) -> list[User]:
    ensure_desk_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(desk_users).order_by(desk_users.c.username)).all()
    return [_user(r) for r in rows]


def set_disabled(engine: Engine, username: str, disabled: bool = True) -> None:
    ensure_desk_schema(engine)
    with engine.begin() as conn:
        done = conn.execute(
            update(desk_users).where(desk_users.c.username == username).values(disabled=disabled)
        )
    if done.rowcount == 0:
        raise AccountError(f"没有用户“{username}”")


def set_password(engine: Engine, username: str, password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")
    ensure_desk_schema(engine)
    with engine.begin() as conn:
        done = conn.execute(
            update(desk_users)
            .where(desk_users.c.username == username)
            .values(password_hash=_hasher.hash(password))
        )
    if done.rowcount == 0:
        raise AccountError(f"没有用户“{username}”")


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """The user when the password is right and the account enabled; None otherwise (the
    same time is spent on an unknown user, so names cannot be probed by timing)."""
    ensure_desk_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(select(desk_users).where(desk_users.c.username == username)).first()
    stored = row.password_hash if row else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or row.disabled:
        return None
    return _user(row)


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def audit(
    engine: Engine, event: str, username: str | None, detail: str = "", client: str = ""
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(desk_audit).values(
                at=datetime.now(UTC),
                username=username,
                event=event,
                detail=detail[:2000],
                client=(client or "")[:64],
            )
        )


def audit_log(engine: Engine, limit: int = 200) -> list[dict]:
    ensure_desk_schema(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(desk_audit).order_by(desk_audit.c.id.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def session_secret(engine: Engine) -> str:
    """The key that signs session cookies: generated once and kept in the database, so that
    sessions survive a restart of the desk and every worker signs alike."""
    ensure_desk_schema(engine)
    with engine.begin() as conn:
        row = conn.execute(
            select(desk_settings.c.value).where(desk_settings.c.key == "session_secret")
        ).first()
        if row:
            return row.value
        value = secrets.token_urlsafe(48)
        conn.execute(insert(desk_settings).values(key="session_secret", value=value))
        return value


class LoginThrottle:
    """At most ``limit`` failed logins per user name and per client in ``window`` seconds;
    further attempts are refused without checking the password until the window passes."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, username: str, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(
                len(self._recent(k, now)) >= self.limit for k in (f"u:{username}", f"c:{client}")
            )

    def failed(self, username: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in (f"u:{username}", f"c:{client}"):
                self._recent(k, now).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{username}", None)
