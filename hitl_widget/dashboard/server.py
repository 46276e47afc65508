"""``hitl dashboard``: the dashboard app under uvicorn, with a graceful SIGTERM.

```sh
hitl dashboard [--db PATH_OR_URL] [--host 127.0.0.1] [--port 8765] [--policy FILE]
               [--root-path /prefix] [--max-body-bytes N] [--log-level info]
```

Once it serves, it prints one line to standard output::

    hitl dashboard: serving http://127.0.0.1:8765/ (store: SqliteStore hitl.db, policy: default)

(``--port 0`` picks a free port; the line names it.) SIGTERM or SIGINT: stop accepting, answer
every waiting long-poll at once with the request's current state (the agent asks again after the
restart), end the event streams, let every request in flight finish (decisions are committed or
not started: nothing half-done), close the store, exit 0. A second SIGINT stops at once.
Exit status 2 for bad options, a policy file that does not load, or a database that cannot be
opened; 1 when the port cannot be bound.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Settings
    from .events import EventBus

__all__ = ["add_arguments", "main", "run", "serve"]

DEFAULT_DB = "hitl.db"
DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``hitl dashboard`` (for the ``hitl`` command's subparser)."""
    parser.add_argument("--db", default=os.environ.get("HITL_DB") or DEFAULT_DB,
                        help=f"SQLite file or postgresql:// URL (default: $HITL_DB or {DEFAULT_DB})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--policy", default=os.environ.get("HITL_POLICY") or None,
                        help="policy TOML file (default: $HITL_POLICY, else one approval by any approver)")
    parser.add_argument("--root-path", default="", help="path prefix when served behind a proxy that sends no "
                        "X-Forwarded-Prefix (e.g. /hitl)")
    parser.add_argument("--max-body-bytes", type=int, default=None, help="largest request body accepted (default 4 MiB)")
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--access-log", action="store_true", help="log every request")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it
    # Nagle holds a response's body behind its headers for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    db: str,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    policy_path: str | None = None,
    settings: Settings | None = None,
    log_level: str = "warning",
    access_log: bool = False,
) -> int:
    """Open the store at ``db``, serve the app until SIGTERM/SIGINT, close the store; the exit status."""
    try:
        import uvicorn

        from . import policy_file
        from .app import Settings, create_app
        from .store import open_store
    except ImportError as exc:
        print(f"hitl dashboard: a library of the dashboard extra is missing ({exc}); "
              "pip install 'hitl_widget[dashboard]'", file=sys.stderr)
        return 2

    try:
        policy = policy_file.load(policy_path) if policy_path else None
    except (OSError, ValueError) as exc:
        print(f"hitl dashboard: cannot load the policy {policy_path}: {exc}", file=sys.stderr)
        return 2
    try:
        store = open_store(db, policy=policy)
    except Exception as exc:
        print(f"hitl dashboard: cannot open the database {db}: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            sock = _bind(host, port)
        except OSError as exc:
            print(f"hitl dashboard: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
            return 1
        settings = settings or Settings()
        app = create_app(store, policy, settings=settings)
        real_port = sock.getsockname()[1]
        shown_host = f"[{host}]" if ":" in host else host
        where = db if not db.startswith(("postgresql://", "postgres://")) else _redact(db)
        banner = (f"hitl dashboard: serving http://{shown_host}:{real_port}{settings.root_path.rstrip('/')}/ "
                  f"(store: {type(store).__name__} {where}, policy: {policy_path or 'default'})")
        config = uvicorn.Config(
            app,
            log_level=log_level,
            access_log=access_log,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
            timeout_graceful_shutdown=15,
            lifespan="on",
            server_header=False,
        )
        server = _make_server(config, app.state.bus, banner)
        server.run(sockets=[sock])
        if server.startup_failed:
            return 1
        return 0
    finally:
        store.close()


def _redact(url: str) -> str:
    """A database URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _server_class() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, plus: SIGTERM first answers the waiting long-polls (the bus closes),
        and a graceful stop exits 0 instead of re-raising the signal."""

        def __init__(self, config: uvicorn.Config, bus: EventBus, banner: str) -> None:
            super().__init__(config)
            self.bus = bus
            self.banner = banner
            self.startup_failed = False

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.should_exit:
                self.startup_failed = True
                return
            print(self.banner, flush=True)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.should_exit and sig == 2:  # a second SIGINT: stop now
                self.force_exit = True
                return
            self.should_exit = True
            self.bus.close_threadsafe()

    return Server


def _make_server(config: Any, bus: EventBus, banner: str) -> Any:
    return _server_class()(config, bus, banner)


def run(args: argparse.Namespace) -> int:
    """``hitl dashboard`` with parsed ``args`` (see :func:`add_arguments`)."""
    try:
        from .app import Settings
    except ImportError as exc:
        print(f"hitl dashboard: a library of the dashboard extra is missing ({exc}); "
              "pip install 'hitl_widget[dashboard]'", file=sys.stderr)
        return 2

    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(root_path=args.root_path or "")
    if args.max_body_bytes is not None:
        if args.max_body_bytes < 1024:
            print("hitl dashboard: --max-body-bytes must be at least 1024", file=sys.stderr)
            return 2
        settings.max_body_bytes = args.max_body_bytes
    if args.root_path and not args.root_path.startswith("/"):
        print("hitl dashboard: --root-path must start with /", file=sys.stderr)
        return 2
    return serve(
        args.db,
        host=args.host,
        port=args.port,
        policy_path=args.policy,
        settings=settings,
        log_level=args.log_level,
        access_log=args.access_log,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hitl_widget.dashboard.server [options]`` (the same as ``hitl dashboard``)."""
    parser = argparse.ArgumentParser(prog="hitl dashboard", description="serve the approval dashboard")
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code not in (0, None) else 0
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
