"""``shixiang desk``: start the review desk, and manage its users.

    shixiang desk [--host 127.0.0.1] [--port 8300]       start the web application
    shixiang desk user add NAME --role unit --division-code 511602000000 [--display-name …]
    shixiang desk user list
    shixiang desk user disable NAME   /   enable NAME   /   password NAME

Passwords are read from the terminal (twice), or from ``SHIXIANG_DESK_PASSWORD`` for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from shixiang.desk import accounts
from shixiang.scope import ROLES, UNIT
from shixiang.store import make_engine, safe_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8300


def _password(args: argparse.Namespace) -> str:
    env = os.environ.get("SHIXIANG_DESK_PASSWORD")
    if env:
        return env
    first = getpass.getpass("密码（至少 8 个字符）：")
    if getpass.getpass("再输入一次：") != first:
        raise accounts.AccountError("两次输入的密码不一致")
    return first


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from desk.app import create_app

    app = create_app(args.database_url, https_only=args.https_only)
    users = accounts.list_users(app.state.engine)
    print(
        f"shixiang desk: {safe_url(args.database_url)} → http://{args.host}:{args.port}/",
        flush=True,
    )
    if not users:
        print(
            "提示：还没有用户。先创建一个省级管理员：\n"
            "  shixiang desk user add admin --role province",
            file=sys.stderr,
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    engine = make_engine(args.database_url)
    try:
        if args.user_command == "add":
            user = accounts.add_user(
                engine,
                args.username,
                _password(args),
                args.role,
                division_code=args.division_code,
                display_name=args.display_name,
            )
            print(
                f"已创建用户 {user.username}：{ROLES[user.role]}，范围 {user.division_code or '全省'}"
            )
        elif args.user_command == "list":
            users = accounts.list_users(engine)
            if not users:
                print("（还没有用户）")
            for u in users:
                state = "已停用" if u.disabled else "正常"
                print(
                    f"{u.username}\t{u.display_name}\t{u.role}\t{u.division_code or '全省'}\t{state}"
                )
        elif args.user_command in ("disable", "enable"):
            accounts.set_disabled(engine, args.username, args.user_command == "disable")
            print(f"用户 {args.username} 已{'停用' if args.user_command == 'disable' else '启用'}")
        elif args.user_command == "password":
            accounts.set_password(engine, args.username, _password(args))
            print(f"用户 {args.username} 的密码已更新")
    except accounts.AccountError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


def add_parser(sub: argparse._SubParsersAction, database_help: str) -> None:
    desk = sub.add_parser("desk", help="the review desk in the browser (and its users)")
    desk.add_argument("--database-url", default=None, help=database_help)
    desk.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    desk.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    desk.add_argument(
        "--https-only", action="store_true", help="send the session cookie only over HTTPS"
    )
    desk.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    desk.set_defaults(func=cmd_serve, writes_database=True)
    dsub = desk.add_subparsers(dest="desk_command")
    user = dsub.add_parser("user", help="desk users: add, list, disable, enable, password")
    usub = user.add_subparsers(dest="user_command", required=True)
    p = usub.add_parser("add", help="create a user")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=list(ROLES))
    p.add_argument("--division-code", help=f"the unit's 12-digit 行政区划代码 (role {UNIT})")
    p.add_argument("--display-name")
    usub.add_parser("list", help="every user with role, scope and state")
    for name in ("disable", "enable", "password"):
        usub.add_parser(name).add_argument("username")
    for p in (user, *usub.choices.values()):
        p.add_argument("--database-url", default=argparse.SUPPRESS, help=database_help)
    user.set_defaults(func=cmd_user)
