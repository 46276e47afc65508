"""``hitl users …``, ``hitl tokens …`` and the slot for ``hitl dashboard`` (the ``hitl`` command).

```sh
echo "$PASSWORD" | hitl users add alice --role ops [--role manager] [--db PATH_OR_URL]
hitl users passwd alice                  # a new password, from standard input
hitl users roles alice --role manager    # replace alice's roles (effective at her next decision)
hitl users remove alice                  # sessions end; what she decided stays on record
hitl users link-slack alice U012ABC      # Slack user id -> dashboard user
hitl users list
hitl tokens add agent-1                  # the new token is the last line of standard output
hitl tokens revoke agent-1               # every token of agent-1 stops working
```

``--db`` (default ``hitl.db``, or the ``HITL_DB`` environment variable) is a SQLite file path or a
``postgresql://`` URL, as for ``hitl dashboard``; the schema is created or migrated on open. The
password is the first line of standard input (without its line ending); at a terminal it is asked
twice without echo. Exit status: 0 done; 1 refused (the name is taken, no such user, no active
token); 2 usage errors (bad options, names, roles or password; a database that cannot be opened).

``hitl dashboard`` comes from :mod:`hitl_widget.dashboard.server`: its ``add_dashboard_parser(subparsers)``
when it has one, else its ``add_arguments(parser)`` and ``run(args) -> int``. Nothing here imports the
store's libraries until a command runs, so ``hitl audit`` works without the dashboard extra.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["add_parsers", "redact"]

DEFAULT_DB = "hitl.db"

Handler = Callable[[argparse.Namespace], int]


def redact(db: str) -> str:
    """``db`` without a password in its URL (``postgresql://user:***@host/db``)."""
    return re.sub(r"(://[^:/@]*:).*@", r"\1***@", db)  # greedy: an unescaped @ or / in the password too


def _fail(message: str, status: int) -> int:
    print(f"hitl: {message}", file=sys.stderr)
    return status


def _with_store(args: argparse.Namespace, action: Callable[[Any], int]) -> int:
    """Open ``args.db``, run ``action(store)``, map the store's refusals to exit statuses."""
    from .store import Conflict, Invalid, NotFound, open_store

    try:
        store = open_store(args.db)
    except Exception as exc:
        return _fail(f"cannot open the store {redact(args.db)}: {exc}", 2)
    try:
        return action(store)
    except Invalid as exc:
        return _fail(str(exc), 2)
    except (Conflict, NotFound) as exc:
        return _fail(str(exc), 1)
    except RuntimeError as exc:  # a library of the dashboard extra is missing
        return _fail(str(exc), 2)
    finally:
        store.close()


def _read_password(stream: Any = None) -> str | None:
    """The new password: asked twice at a terminal, else the first line of standard input."""
    stream = stream or sys.stdin
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != first:
            print("hitl: the two passwords differ", file=sys.stderr)
            return None
        return first
    line = str(stream.readline())
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    return line


def _users_add(args: argparse.Namespace) -> int:
    password = _read_password()
    if password is None:
        return 2
    if not password:
        return _fail("no password: give it on standard input (echo \"$PASSWORD\" | hitl users add NAME)", 2)

    def add(store: Any) -> int:
        user = store.add_user(args.name, password, args.role)
        roles = ", ".join(user.roles) or "no roles"
        print(f"added {user.name} ({roles}) to {redact(args.db)}")
        return 0

    return _with_store(args, add)


def _users_passwd(args: argparse.Namespace) -> int:
    password = _read_password()
    if password is None:
        return 2
    if not password:
        return _fail("no password on standard input", 2)

    def change(store: Any) -> int:
        store.set_password(args.name, password)
        print(f"changed the password of {args.name}; their sessions ended")
        return 0

    return _with_store(args, change)


def _users_roles(args: argparse.Namespace) -> int:
    def change(store: Any) -> int:
        user = store.set_roles(args.name, args.role)
        print(f"{user.name}: {', '.join(user.roles) or 'no roles'}")
        return 0

    return _with_store(args, change)


def _users_remove(args: argparse.Namespace) -> int:
    def remove(store: Any) -> int:
        store.remove_user(args.name)
        print(f"removed {args.name} (sessions ended, tokens revoked; the record of what they did stays)")
        return 0

    return _with_store(args, remove)


def _users_link_slack(args: argparse.Namespace) -> int:
    def link(store: Any) -> int:
        user = store.link_slack(args.name, args.slack_user_id)
        print(f"linked Slack user {user.slack_id} to {user.name}")
        return 0

    return _with_store(args, link)


def _users_list(args: argparse.Namespace) -> int:
    def show(store: Any) -> int:
        for user in store.list_users():
            slack = f"  slack={user.slack_id}" if user.slack_id else ""
            print(f"{user.name}\t{user.kind}\t{','.join(user.roles) or '-'}{slack}")
        return 0

    return _with_store(args, show)


def _tokens_add(args: argparse.Namespace) -> int:
    def add(store: Any) -> int:
        token = store.add_token(args.name)
        print(f"new token for agent {args.name} (shown once; the store keeps only its hash):")
        print(token)
        return 0

    return _with_store(args, add)


def _tokens_revoke(args: argparse.Namespace) -> int:
    def revoke(store: Any) -> int:
        n = store.revoke_token(args.name)
        print(f"revoked {n} token(s) of {args.name}")
        return 0

    return _with_store(args, revoke)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("HITL_DB") or DEFAULT_DB,
        help=f"SQLite file or postgresql:// URL (default: $HITL_DB or {DEFAULT_DB})",
    )


def _add_dashboard(sub: Any) -> None:
    try:
        server: Any = importlib.import_module(f"{__package__}.server")
    except ImportError as exc:
        if getattr(exc, "name", None) == f"{__package__}.server":
            missing = "this copy of hitl_widget has no hitl_widget.dashboard.server"
        else:
            missing = f"{exc}; pip install 'hitl_widget[dashboard]'"
        parser = sub.add_parser("dashboard", help="serve the approval dashboard (unavailable here)")
        for option in ("--db", "--host", "--port", "--policy"):  # DESIGN.md's options, so the answer is this message
            parser.add_argument(option)
        parser.add_argument("rest", nargs=argparse.REMAINDER)

        def unavailable(args: argparse.Namespace) -> int:
            return _fail(f"the dashboard server cannot be loaded: {missing}", 2)

        parser.set_defaults(handler=unavailable)
        return
    add_parser = getattr(server, "add_dashboard_parser", None)
    if add_parser is not None:
        add_parser(sub)
        return
    parser = sub.add_parser("dashboard", help="serve the approval dashboard")
    server.add_arguments(parser)
    parser.set_defaults(handler=server.run)


def add_parsers(sub: Any) -> None:
    """Add ``users``, ``tokens`` and ``dashboard`` to the ``hitl`` command's subparsers; each leaf
    sets ``handler`` (``args -> exit status``)."""
    users = sub.add_parser("users", help="dashboard users (people who approve)")
    users_sub = users.add_subparsers(dest="action", required=True)
    add = users_sub.add_parser("add", help="add a person; the password is read from standard input")
    add.add_argument("name")
    add.add_argument("--role", action="append", default=[], help="a role (repeat for several), e.g. ops, manager")
    _db_option(add)
    add.set_defaults(handler=_users_add)
    passwd = users_sub.add_parser("passwd", help="set a person's password (standard input); ends their sessions")
    passwd.add_argument("name")
    _db_option(passwd)
    passwd.set_defaults(handler=_users_passwd)
    roles = users_sub.add_parser("roles", help="replace a person's roles (no --role: none)")
    roles.add_argument("name")
    roles.add_argument("--role", action="append", default=[], help="a role (repeat for several)")
    _db_option(roles)
    roles.set_defaults(handler=_users_roles)
    remove = users_sub.add_parser("remove", help="remove a person or agent (sessions end, tokens stop working)")
    remove.add_argument("name")
    _db_option(remove)
    remove.set_defaults(handler=_users_remove)
    link = users_sub.add_parser("link-slack", help="map a Slack user id to a dashboard user")
    link.add_argument("name")
    link.add_argument("slack_user_id")
    _db_option(link)
    link.set_defaults(handler=_users_link_slack)
    listing = users_sub.add_parser("list", help="list people and agents")
    _db_option(listing)
    listing.set_defaults(handler=_users_list)

    tokens = sub.add_parser("tokens", help="agent tokens")
    tokens_sub = tokens.add_subparsers(dest="action", required=True)
    tadd = tokens_sub.add_parser("add", help="a new token for an agent (printed as the last line)")
    tadd.add_argument("name")
    _db_option(tadd)
    tadd.set_defaults(handler=_tokens_add)
    revoke = tokens_sub.add_parser("revoke", help="revoke every token of an agent")
    revoke.add_argument("name")
    _db_option(revoke)
    revoke.set_defaults(handler=_tokens_revoke)

    _add_dashboard(sub)
