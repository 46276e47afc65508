"""The dashboard's ASGI app: ``create_app(store, policy, settings=Settings())`` → a Starlette app.

Routes: the JSON API (:mod:`.api`), ``POST /login`` and ``POST /logout`` (:mod:`.sessions`),
``GET /healthz``, the static bundle at ``/static/`` (``hitl_widget/static``: dashboard.js,
card.css), the pages (``hitl_widget.dashboard.pages.routes()``: ``/``, ``/login``,
``/requests/{id}``) and Slack's ``POST /slack/interactions``
(``hitl_widget.chat.slack_interactions.routes(store)``) when those modules are importable.

Around them, outermost first:

- the path prefix: ``X-Forwarded-Prefix`` (jupyter-server-proxy and most reverse proxies send it)
  or ``Settings.root_path`` becomes the ASGI ``root_path``, so links, redirects and the cookie's
  path carry the prefix (``/hitl`` under Jupyter) while routes match without it;
- the body limit: a body over ``Settings.max_body_bytes`` is answered 413 before any endpoint
  reads it;
- security headers on every answer (nosniff, no referrer, no framing by other sites).

The lifespan starts the event bus (the store's ``subscribe``) and the timeout task (the store's
``expire_due`` every ``Settings.expire_interval_s``: a due pending request becomes ``timed_out``,
fail closed); at shutdown the bus answers every waiting long-poll and ends the event streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import BaseRoute, Mount, Route
    from starlette.staticfiles import StaticFiles
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ModuleNotFoundError:  # say what to install (MissingLibrary), not a bare ModuleNotFoundError
    from ..environment import require_dashboard_libraries

    require_dashboard_libraries()
    raise

from . import api
from .events import EventBus
from .sessions import ApiError, login, logout
from .store import Store, StoreError

if TYPE_CHECKING:
    from .policy_file import Policy

__all__ = ["Settings", "create_app", "error_body"]

log = logging.getLogger("hitl_widget.dashboard")

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?$")


@dataclass
class Settings:
    """How the app behaves (the command line's options map onto these).

    - ``max_body_bytes``: largest request body accepted (413 beyond it), default 4 MiB;
    - ``max_wait_s``: longest long-poll (``/wait?timeout=``), default 30 s;
    - ``wait_recheck_s``: a waiting long-poll re-reads its request this often even when no change
      was announced (a safety net for a lost notification), default 5 s;
    - ``expire_interval_s``: how often the timeout task runs, default 0.5 s (0: never, for tests);
    - ``secure_cookies``: None → Secure when the request came over https, or force True/False;
    - ``root_path``: the path prefix the app is served under when the proxy sends no
      ``X-Forwarded-Prefix`` (e.g. ``/hitl``);
    - ``sse_keepalive_s``: seconds between keep-alive comments on an idle event stream;
    - ``static_dir``: the folder served at ``/static/`` (default: the package's ``static``);
    - ``clock``: epoch seconds (injected in tests);
    - ``mount_pages`` / ``mount_slack``: mount those routes when their modules import.
    """

    max_body_bytes: int = 4 * 1024 * 1024
    max_wait_s: float = 30.0
    wait_recheck_s: float = 5.0
    expire_interval_s: float = 0.5
    secure_cookies: bool | None = None
    root_path: str = ""
    sse_keepalive_s: float = 15.0
    static_dir: Path = STATIC_DIR
    clock: Callable[[], float] = time.time
    mount_pages: bool = True
    mount_slack: bool = True


def error_body(message: str, code: str) -> bytes:
    return json.dumps({"error": message, "code": code}).encode()


async def _send_json_error(send: Send, status: int, message: str, code: str) -> None:
    body = error_body(message, code)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class PrefixMiddleware:
    """Sets the ASGI ``root_path`` from ``X-Forwarded-Prefix`` (or a fixed default).

    A prefix that is not a plain path (``//host``, a scheme, odd characters) is ignored, so the
    header can never turn a redirect into one to another site.
    """

    def __init__(self, app: ASGIApp, default: str = "") -> None:
        self.app = app
        self.default = default.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            prefix = self.default
            for key, value in scope.get("headers", ()):
                if key == b"x-forwarded-prefix":
                    candidate = value.decode("latin-1").strip()
                    if _PREFIX.match(candidate) and "//" not in candidate:
                        prefix = candidate.rstrip("/")
                    break
            if prefix and not scope.get("root_path"):
                scope = dict(scope)
                scope["root_path"] = prefix
                if not scope["path"].startswith(prefix + "/") and scope["path"] != prefix:
                    # Starlette matches routes on path minus root_path: a proxy that strips the
                    # prefix sends "/api/..."; give Starlette the full path it expects.
                    scope["path"] = prefix + scope["path"]
                    if scope.get("raw_path"):
                        scope["raw_path"] = prefix.encode() + scope["raw_path"]
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """413 ``{"error", "code": "payload_too_large"}`` for a body over ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading; otherwise the body
    is read (up to the limit) and handed on whole.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return (f"the request body is larger than this server's limit of {self.limit:,} bytes "
                "(hitl dashboard --max-body-bytes); shorten the arguments")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json_error(send, 400, "Content-Length is not a number", "bad_request")
                    return
                if declared > self.limit:
                    await _send_json_error(send, 413, self._message(), "payload_too_large")
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _send_json_error(send, 413, self._message(), "payload_too_large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"SAMEORIGIN"),
]


class SecurityHeadersMiddleware:
    """nosniff, ``Referrer-Policy: no-referrer`` (request ids stay out of other sites' logs) and no
    framing by other origins, unless the endpoint set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in _SECURITY_HEADERS if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


# -- errors --------------------------------------------------------------------------------------


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc.status, exc.message, exc.code, exc.headers)


async def _store_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreError)
    return _error(exc.http_status, exc.message, exc.code)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 401: "unauthenticated", 403: "forbidden"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no such page or endpoint: {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return _error(exc.status_code, message, _HTTP_CODES.get(exc.status_code, "error"), dict(exc.headers or {}))


def _store_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or is busy (not a bug): psycopg's or sqlite3's
    OperationalError, psycopg_pool's PoolTimeout, and the like."""
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in ("psycopg", "psycopg_pool", "sqlite3") and cls.__name__ in (
            "OperationalError", "InterfaceError", "PoolTimeout", "TooManyRequests",
        ):
            return True
    return False


def _unstorable(exc: BaseException) -> bool:
    """The database refused a value (psycopg's DataError: bad encoding, out of range)."""
    return any(cls.__module__.split(".")[0] == "psycopg" and cls.__name__ == "DataError" for cls in type(exc).__mro__)


async def _server_error(request: Request, exc: Exception) -> Response:
    if _unstorable(exc):
        log.warning("the store refused a value answering %s %s: %s", request.method, request.url.path, exc)
        return _error(422, f"the database cannot store a value of this request: {exc}", "unstorable")
    if _store_unavailable(exc):
        log.warning("the store is unavailable answering %s %s: %s", request.method, request.url.path, exc)
        return _error(503, f"the database is unavailable ({type(exc).__name__}); nothing was changed, try again",
                      "store_unavailable", {"Retry-After": "1"})
    log.exception("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "the server failed to answer this request; nothing was changed by the failure itself "
                       "(see the server's log)", "server_error")


# -- the app -------------------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    """200 when serving and the store answers a read; 503 while stopping or when it does not."""
    ctx: api.ApiContext = request.app.state.api
    status = "stopping" if ctx.bus.closing else "ok"
    try:
        await run_in_threadpool(ctx.store.get_request, "healthz-probe")
    except Exception as exc:
        log.warning("health check: the store does not answer: %s", exc)
        status = "store_unavailable"
    body = {"status": status, "store": type(ctx.store).__name__, "waiting": ctx.bus.waiting, "streams": ctx.bus.streams}
    return JSONResponse(body, status_code=200 if status == "ok" else 503, headers={"Cache-Control": "no-store"})


def _optional_routes(module: str, settings: Settings, *args: Any) -> list[BaseRoute]:
    """``module.routes(*args)`` when the module imports (its part may not be installed or written yet);
    ``settings=`` is passed too when ``routes`` takes it."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        log.info("not mounting %s: %s", module, exc)
        return []
    make = getattr(mod, "routes", None)
    if not callable(make):
        log.warning("not mounting %s: it has no routes()", module)
        return []
    kwargs: dict[str, Any] = {}
    with contextlib.suppress(TypeError, ValueError):
        if "settings" in inspect.signature(make).parameters:
            kwargs["settings"] = settings
    return list(make(*args, **kwargs))


def create_app(store: Store, policy: Policy | None = None, *, settings: Settings | None = None) -> Starlette:
    """The dashboard app over ``store``.

    ``policy`` (``policy_file.Policy``), when given, replaces ``store.policy`` (it applies to
    requests created from now on); ``settings``: see :class:`Settings`. The app does not close
    the store (its owner does: :func:`hitl_widget.dashboard.server.serve`).
    """
    settings = settings or Settings()
    if policy is not None:
        store.policy = policy
    bus = EventBus()
    ctx = api.ApiContext(store=store, bus=bus, settings=settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        bus.start(store, api.describe(store))
        expiry = asyncio.create_task(_expire_loop(store, settings)) if settings.expire_interval_s > 0 else None
        try:
            yield
        finally:
            bus.close()
            if expiry is not None:
                expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await expiry

    routes: list[BaseRoute] = [
        *api.routes(),
        Route("/login", login, methods=["POST"], name="login_post"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Mount("/static", app=StaticFiles(directory=settings.static_dir, check_dir=False), name="static"),
    ]
    if settings.mount_slack:
        routes += _optional_routes("hitl_widget.chat.slack_interactions", settings, store)
    if settings.mount_pages:
        routes += _optional_routes("hitl_widget.dashboard.pages", settings)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            StoreError: _store_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.api = ctx
    app.state.store = store
    app.state.bus = bus
    app.state.settings = settings
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(PrefixMiddleware, default=settings.root_path)
    return app


async def _expire_loop(store: Store, settings: Settings) -> None:
    """Every ``expire_interval_s``: mark due pending requests ``timed_out`` (fail closed)."""
    while True:
        try:
            expired = await run_in_threadpool(store.expire_due, settings.clock())
            for request in expired:
                log.info("request %s (%s) timed out", request.id, request.function)
        except Exception:
            log.exception("the timeout task failed; trying again")
        await asyncio.sleep(settings.expire_interval_s)
