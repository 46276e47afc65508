"""Who is asking: agents by ``Authorization: Bearer TOKEN``, people by a session cookie + CSRF token.

- People log in at ``POST /login`` (``store.verify_password``); the answer sets the session cookie
  (``hitl_session``: HttpOnly, SameSite=Strict, Secure when the request came over https, Path =
  the app's root path). The session lives in the store, so it survives a restart and works on
  every server instance of one PostgreSQL database.
- Every POST by a person carries ``X-CSRF-Token`` (or a ``csrf_token`` form field), which must be
  :func:`csrf_token` of the session: an HMAC-SHA256 keyed by the session id, so it is bound to
  that session, needs no server state and cannot be computed without the (HttpOnly) cookie.
  ``GET /api/me`` hands it to the page. POSTs whose ``Sec-Fetch-Site`` says ``cross-site`` are
  refused as well (login CSRF).
- Agents send their token (``hitl tokens add``); a request with an ``Authorization`` header is
  judged by that header alone (a cookie beside it is ignored), and needs no CSRF token: browsers
  never add that header on their own.

The identity always comes from here, never from a request body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

try:
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import JSONResponse, RedirectResponse, Response
except ModuleNotFoundError:  # say what to install (MissingLibrary), not a bare ModuleNotFoundError
    from ..environment import require_dashboard_libraries

    require_dashboard_libraries()
    raise

from .store import Store, User

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "ApiError",
    "Identity",
    "LoginThrottle",
    "authenticate",
    "check_csrf",
    "clear_session_cookie",
    "csrf_token",
    "login",
    "logout",
    "require_agent",
    "require_any",
    "require_person",
    "set_session_cookie",
]

SESSION_COOKIE = "hitl_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_CSRF_CONTEXT = b"hitl_widget dashboard csrf v1"


class ApiError(Exception):
    """An HTTP error answered as ``{"error": message, "code": code}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Identity:
    """The caller: ``user`` as the store knows it, and how they proved it (``via``)."""

    user: User
    via: Literal["token", "session"]
    session_id: str | None = None


def csrf_token(session_id: str) -> str:
    """The CSRF token bound to ``session_id`` (64 hex characters)."""
    return hmac.new(session_id.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "bad_authorization", "the Authorization header must be 'Bearer TOKEN'",
                       headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


async def authenticate(conn: HTTPConnection, store: Store) -> Identity | None:
    """The caller's identity, or None when they sent no credentials at all.

    Raises :class:`ApiError` 401 for a token that is unknown, revoked or malformed (a request
    with a bad token is never treated as anonymous or as the cookie's person).
    """
    token = _bearer(conn)
    if token is not None:
        if len(token) > 512:
            raise ApiError(401, "invalid_token", "the token is not valid", headers={"WWW-Authenticate": "Bearer"})
        user = await run_in_threadpool(store.user_for_token, token)
        if user is None:
            raise ApiError(401, "invalid_token", "the token is not valid (unknown or revoked)",
                           headers={"WWW-Authenticate": "Bearer"})
        return Identity(user=user, via="token")
    sid = conn.cookies.get(SESSION_COOKIE)
    if not sid or len(sid) > 512:
        return None
    person = await run_in_threadpool(store.user_for_session, sid)
    if person is None:
        return None
    return Identity(user=person, via="session", session_id=sid)


async def _identity(conn: HTTPConnection, store: Store) -> Identity:
    identity = await authenticate(conn, store)
    if identity is None:
        if conn.cookies.get(SESSION_COOKIE):
            raise ApiError(401, "session_expired", "the session has ended; log in again")
        raise ApiError(401, "unauthenticated", "log in (people) or send 'Authorization: Bearer TOKEN' (agents)")
    return identity


def check_csrf(conn: HTTPConnection, identity: Identity, form_token: str | None = None) -> None:
    """Raises :class:`ApiError` 403 unless a session's POST carries its CSRF token."""
    if identity.via != "session" or identity.session_id is None:
        return
    if conn.headers.get("sec-fetch-site") == "cross-site":
        raise ApiError(403, "cross_site", "cross-site requests are refused")
    sent = conn.headers.get(CSRF_HEADER) or form_token
    if not sent:
        raise ApiError(403, "csrf_missing", f"a POST needs the {CSRF_HEADER} header (GET /api/me gives it)")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), csrf_token(identity.session_id).encode()):
        raise ApiError(403, "csrf_invalid", "the CSRF token does not belong to this session")


async def require_agent(conn: HTTPConnection, store: Store) -> Identity:
    """An agent's token, else 401 (none/bad) or 403 (a person)."""
    identity = await _identity(conn, store)
    if identity.user.kind != "agent" or identity.via != "token":
        raise ApiError(403, "agents_only", "only an agent (with its token) can do this")
    return identity


async def require_person(conn: HTTPConnection, store: Store, *, post: bool) -> Identity:
    """A logged-in person (and, for a POST, the session's CSRF token), else 401/403."""
    identity = await _identity(conn, store)
    if identity.user.kind != "person" or identity.via != "session":
        raise ApiError(403, "people_only", "only a person logged in to the dashboard can do this")
    if post:
        check_csrf(conn, identity)
    return identity


async def require_any(conn: HTTPConnection, store: Store) -> Identity:
    """An agent or a person (GET only: no CSRF check), else 401."""
    return await _identity(conn, store)


def _cookie_path(conn: HTTPConnection) -> str:
    root = str(conn.scope.get("root_path") or "").rstrip("/")
    return root + "/"


def is_https(conn: HTTPConnection, secure: bool | None) -> bool:
    return conn.url.scheme in ("https", "wss") if secure is None else secure


def set_session_cookie(response: Response, conn: HTTPConnection, session_id: str, *, secure: bool | None) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over https (or when ``secure``)."""
    response.set_cookie(
        SESSION_COOKIE, session_id, httponly=True, samesite="strict", secure=is_https(conn, secure), path=_cookie_path(conn)
    )


def clear_session_cookie(response: Response, conn: HTTPConnection, *, secure: bool | None) -> None:
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(conn), httponly=True, samesite="strict",
                           secure=is_https(conn, secure))


class LoginThrottle:
    """Slows password guessing: after ``free`` failures for one key (a user name, or an address)
    within ``window_s``, each further attempt must wait ``delay_s``, doubling per failure, at most
    ``max_delay_s``; a success clears the key. In memory, per server process.

    The app keeps one per name (5 free failures) and one per address (100: behind a proxy every
    person comes from the proxy's address)."""

    def __init__(self, *, free: int = 5, window_s: float = 300.0, delay_s: float = 1.0, max_delay_s: float = 60.0) -> None:
        self.free = free
        self.window_s = window_s
        self.delay_s = delay_s
        self.max_delay_s = max_delay_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, []) if now - t < self.window_s]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Seconds to wait before another attempt for ``key`` (0: go ahead)."""
        now = time.time() if now is None else now
        with self._lock:
            times = self._recent(key, now)
            extra = len(times) - self.free
            if extra < 0:
                return 0.0
            delay: float = min(self.max_delay_s, self.delay_s * 2.0**extra)
            return max(0.0, times[-1] + delay - now)

    def failed(self, key: str, now: float | None = None) -> float:
        """Count a failure for ``key`` (also an attempt not yet known to succeed); its time."""
        now = time.time() if now is None else now
        with self._lock:
            self._failures.setdefault(key, []).append(now)
            if len(self._failures) > 10_000:  # bounded memory: forget the oldest keys
                for old in sorted(self._failures, key=lambda k: self._failures[k][-1])[:5_000]:
                    del self._failures[old]
        return now

    def withdraw(self, key: str, at: float) -> None:
        """Take back the failure counted at ``at`` (the attempt succeeded)."""
        with self._lock:
            times = self._failures.get(key)
            if times and at in times:
                times.remove(at)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


# -- login / logout ------------------------------------------------------------------------------

_MAX_LOGIN_FIELD = 1024


def _redirect(path: str) -> Response:
    """303 to ``path`` (a path of the app, ``/…``) as a *relative* reference.

    ``/login`` and ``/logout`` sit at the app's root, so ``path`` without its leading slash
    resolves to the right place under any prefix, whether the proxy strips it, passes it on, or
    rewrites absolute ``Location`` paths itself (jupyter-server-proxy does: an absolute
    ``/hitl/…`` would come out as ``/hitl/hitl/…``).
    Always ``./…``, so the first segment can never read as a scheme (``javascript:``).
    """
    return RedirectResponse("./" + path.lstrip("/"), status_code=303)


def _safe_next(value: str | None) -> str:
    """A path inside the app to go to after login (never another site: no ``//``, ``\\``, scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or any(ord(c) < 33 for c in value):
        return "/"
    return value


async def _login_fields(request: Request) -> tuple[dict[str, str], bool]:
    """(fields, answer_as_json): a urlencoded form or a JSON object; 422 for anything else."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    wants_json = ctype == "application/json" or "application/json" in request.headers.get("accept", "")
    if ctype == "application/json":
        try:
            data = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(422, "invalid_json", "the body is not JSON") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ApiError(422, "invalid_body", "the body must be an object of strings: {username, password}")
        return {str(k): v for k, v in data.items()}, True
    if ctype in ("application/x-www-form-urlencoded", ""):
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            raise ApiError(422, "invalid_body", "the form is not valid UTF-8 form data") from None
        return dict(pairs), wants_json
    raise ApiError(422, "invalid_body", "send the login as a form (username, password) or as JSON")


async def login(request: Request) -> Response:
    """``POST /login``: form or JSON ``{username, password[, next]}``.

    JSON callers (``Content-Type`` or ``Accept`` application/json) get 200 ``{name, kind, roles,
    csrf_token}`` or 401; form posts are redirected (303) to ``next`` (a path in the app, default
    ``/``) or back to ``/login?error=invalid``. Either way the answer sets the session cookie.
    Repeated failures for a name or from an address are slowed down (429 with Retry-After).
    """
    ctx = request.app.state.api
    store: Store = ctx.store
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise ApiError(403, "cross_site", "cross-site login attempts are refused")
    fields, as_json = await _login_fields(request)
    name, password = fields.get("username", ""), fields.get("password", "")
    target = _safe_next(fields.get("next"))
    if not name or not password or len(name) > _MAX_LOGIN_FIELD or len(password) > _MAX_LOGIN_FIELD or "\x00" in name:
        if as_json:
            raise ApiError(422, "invalid_body", "username and password are required (at most 1024 characters each, no NUL)")
        return _redirect("/login?error=missing")
    client = request.client.host if request.client else "?"
    wait = max(ctx.throttle.retry_after(name), ctx.address_throttle.retry_after(client))
    if wait > 0:
        raise ApiError(429, "too_many_attempts", f"too many failed logins; try again in {math.ceil(wait)} s",
                       headers={"Retry-After": str(math.ceil(wait))})
    # counted as failures before the password is checked (and taken back if it is right), so that
    # guesses sent all at once are throttled just as guesses sent one after another
    ctx.throttle.failed(name)
    address_mark = ctx.address_throttle.failed(client)
    # (a NUL cannot be in any name or password the store keeps: PostgreSQL cannot store it)
    user = None if "\x00" in password else await run_in_threadpool(store.verify_password, name, password)
    if user is None or user.kind != "person":
        if as_json:
            raise ApiError(401, "invalid_login", "wrong username or password")
        return _redirect("/login?error=invalid")
    ctx.throttle.succeeded(name)
    ctx.address_throttle.withdraw(client, address_mark)
    old = request.cookies.get(SESSION_COOKIE)
    if old and len(old) <= 512:
        await run_in_threadpool(store.end_session, old)
    sid = await run_in_threadpool(store.create_session, user)
    response: Response
    if as_json:
        response = JSONResponse(
            {"name": user.name, "kind": user.kind, "roles": list(user.roles), "csrf_token": csrf_token(sid)},
            headers={"Cache-Control": "no-store"},
        )
    else:
        response = _redirect(target)
    set_session_cookie(response, request, sid, secure=ctx.settings.secure_cookies)
    return response


async def logout(request: Request) -> Response:
    """``POST /logout`` (with the CSRF token, header or ``csrf_token`` form field): ends the session.

    JSON callers get 200 ``{"ok": true}``; form posts are redirected (303) to ``/login``. Without a
    valid session it only clears the cookie.
    """
    ctx = request.app.state.api
    store: Store = ctx.store
    identity = await authenticate(request, store)
    fields: dict[str, str] = {}
    as_json = "application/json" in request.headers.get("accept", "")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        raw = await request.body()
        try:
            fields = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20))
        except ValueError:
            raise ApiError(422, "invalid_body", "the form has too many fields") from None
    elif ctype == "application/json":
        as_json = True
    if identity is not None and identity.via == "session" and identity.session_id:
        check_csrf(request, identity, fields.get(CSRF_FIELD))
        await run_in_threadpool(store.end_session, identity.session_id)
    response = JSONResponse({"ok": True}, headers={"Cache-Control": "no-store"}) if as_json else _redirect("/login")
    clear_session_cookie(response, request, secure=ctx.settings.secure_cookies)
    return response
