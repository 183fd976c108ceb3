"""``gatewatch serve``, ``gatewatch users add|list|disable|enable|passwd``, ``gatewatch keys create|list|revoke``,
``gatewatch db upgrade``.

Settings come from the environment (``GATEWATCH_*``); ``--database-url`` overrides
``GATEWATCH_DATABASE_URL`` for one command. Heavy imports happen inside the handlers.

Example::

    gatewatch users add an --role admin --password-stdin < pw.txt
    gatewatch users disable olga      # sign-in refused, every token of olga's ends at once
    gatewatch keys create --gate huu-nghi --camera cam-1
    gatewatch serve --host 0.0.0.0 --port 8000
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from gatewatch.errors import ConfigError


def _settings(args: argparse.Namespace) -> Any:
    from gatewatch.api.settings import load_settings

    overrides = {"database_url": args.database_url} if getattr(args, "database_url", None) else {}
    return load_settings(**overrides)


def _session(args: argparse.Namespace) -> Any:
    from gatewatch.api.db import make_engine, make_sessionmaker, upgrade

    settings = _settings(args)
    engine = make_engine(settings)
    upgrade(engine)
    return make_sessionmaker(engine)()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.database_url:
        os.environ["GATEWATCH_DATABASE_URL"] = args.database_url
    from gatewatch.api.app import create_app

    if args.workers > 1:
        uvicorn.run("gatewatch.api.app:create_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level=args.log_level)
    else:
        uvicorn.run(create_app(_settings(args)), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("GATEWATCH_NEW_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        raise ConfigError("no password: use --password-stdin or GATEWATCH_NEW_PASSWORD")
    first = getpass.getpass(f"password for {args.username}: ")
    if first != getpass.getpass("again: "):
        raise ConfigError("passwords differ")
    return first


def _users_add(args: argparse.Namespace) -> int:
    from gatewatch.api.auth import create_user

    with _session(args) as session:
        user = create_user(session, args.username, _read_password(args), args.role)
        print(f"user {user.username} ({user.role}) created")
    return 0


def _users_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from gatewatch.api.models import User

    with _session(args) as session:
        for u in session.scalars(select(User).order_by(User.username)):
            state = "disabled" if u.disabled else "active"
            print(f"{u.username}\t{u.role}\t{state}\t{u.created_at:%Y-%m-%d}")
    return 0


def _users_disable(args: argparse.Namespace) -> int:
    from gatewatch.api.auth import find_user, set_disabled

    with _session(args) as session:
        set_disabled(session, find_user(session, args.username), True)
        print(f"user {args.username} disabled; their tokens no longer work")
    return 0


def _users_enable(args: argparse.Namespace) -> int:
    from gatewatch.api.auth import find_user, set_disabled

    with _session(args) as session:
        set_disabled(session, find_user(session, args.username), False)
        print(f"user {args.username} enabled")
    return 0


def _users_passwd(args: argparse.Namespace) -> int:
    from gatewatch.api.auth import find_user, set_password

    with _session(args) as session:
        user = find_user(session, args.username)
        set_password(session, user, _read_password(args))
        print(f"password of {args.username} changed; their tokens no longer work")
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    from gatewatch.api.auth import new_api_key

    with _session(args) as session:
        created = new_api_key(session, args.gate, args.camera, args.name, created_by="cli")
        print(created.key)
        print(f"key {created.record.id} for gate {args.gate} camera {args.camera}: shown once, store it now",
              file=sys.stderr)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from gatewatch.api.models import ApiKey

    with _session(args) as session:
        for k in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            print(f"{k.id}\t{k.prefix}…\t{k.gate}\t{k.camera}\t{state}\t{k.name}")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from gatewatch.api.models import ApiKey, utcnow

    with _session(args) as session:
        record = session.get(ApiKey, args.id)
        if record is None:
            raise ConfigError(f"API key {args.id} not found")
        record.revoked_at = record.revoked_at or utcnow()
        session.commit()
        print(f"key {args.id} revoked")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from gatewatch.api.db import make_engine, upgrade

    engine = make_engine(_settings(args))
    upgrade(engine, args.revision)
    print(f"database at {args.revision}")
    return 0


def _help(parser: argparse.ArgumentParser) -> Any:
    def handler(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return handler


def register(subparsers: Any) -> None:
    """Add the API's commands to the ``gatewatch`` parser."""
    db_help = "SQLAlchemy URL (default: GATEWATCH_DATABASE_URL or sqlite:///gatewatch.db)"

    serve = subparsers.add_parser("serve", help="run the gate API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--database-url", help=db_help)
    serve.set_defaults(handler=_serve)

    users = subparsers.add_parser("users", help="operator and admin accounts")
    users.set_defaults(handler=_help(users))
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION")
    add = users_sub.add_parser("add", help="create a user (password from --password-stdin, "
                                            "GATEWATCH_NEW_PASSWORD or a prompt)")
    add.add_argument("username")
    add.add_argument("--role", choices=("operator", "admin"), default="operator")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    add.add_argument("--database-url", help=db_help)
    add.set_defaults(handler=_users_add)

    listing = users_sub.add_parser("list", help="list users: name, role, active or disabled, created")
    listing.add_argument("--database-url", help=db_help)
    listing.set_defaults(handler=_users_list)
    for action, handler, text in (
        ("disable", _users_disable, "refuse sign-in and end every token of the user at once"),
        ("enable", _users_enable, "let a disabled user sign in again"),
        ("passwd", _users_passwd, "set a user's password (--password-stdin, GATEWATCH_NEW_PASSWORD or a prompt); "
                                  "ends their tokens"),
    ):
        sub = users_sub.add_parser(action, help=text)
        sub.add_argument("username")
        if action == "passwd":
            sub.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
        sub.add_argument("--database-url", help=db_help)
        sub.set_defaults(handler=handler)

    keys = subparsers.add_parser("keys", help="edge-box API keys")
    keys.set_defaults(handler=_help(keys))
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    create = keys_sub.add_parser("create", help="create a key (printed once on stdout)")
    create.add_argument("--gate", required=True)
    create.add_argument("--camera", default="*", help="camera id, or '*' for every camera of the gate")
    create.add_argument("--name", default="", help="a label, e.g. the edge box's host name")
    create.add_argument("--database-url", help=db_help)
    create.set_defaults(handler=_keys_create)
    listing = keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--database-url", help=db_help)
    listing.set_defaults(handler=_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.add_argument("--database-url", help=db_help)
    revoke.set_defaults(handler=_keys_revoke)

    db = subparsers.add_parser("db", help="database maintenance")
    db.set_defaults(handler=_help(db))
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="run migrations (create_app also does this at start)")
    up.add_argument("revision", nargs="?", default="head")
    up.add_argument("--database-url", help=db_help)
    up.set_defaults(handler=_db_upgrade)
