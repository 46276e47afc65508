"""The dashboard's JSON endpoints (documented in docs/dashboard-api.md; ``routes()`` lists them).

Every answer is JSON; every error is ``{"error": text, "code": str}`` with its status: 401 no or
bad credentials, 403 not allowed (role, self-approval, CSRF, an agent deciding), 404 no such
request, 409 stale / repeated / expired / wrong state, 413 body too large, 422 malformed input.
The store (:mod:`hitl_widget.dashboard.store`) decides what is allowed; this module only checks
who is asking (:mod:`.sessions`), parses, and maps the store's answers to HTTP. GET never
changes anything (except that a wait may mark a due request timed out, as the server's own
timeout task would a moment later).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

try:
    import anyio
    from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
    from starlette.types import Receive, Scope, Send
except ModuleNotFoundError:  # say what to install (MissingLibrary), not a bare ModuleNotFoundError
    from ..environment import require_dashboard_libraries

    require_dashboard_libraries()
    raise

from ..display import show_hidden
from .events import EventBus
from .sessions import ApiError, Identity, LoginThrottle, csrf_token, identify, require_any, require_person
from .store import NewRequest, RequestQuery, Store, StoredRequest

if TYPE_CHECKING:
    from .app import Settings

__all__ = ["ApiContext", "read_json", "routes"]

MAX_BULK_ITEMS = 500  # items of one POST /api/decisions
SSE_KEEPALIVE_S = 15.0


@dataclass
class ApiContext:
    """What every endpoint needs: the store, the event bus, the settings, the clock."""

    store: Store
    bus: EventBus
    settings: Settings
    throttle: LoginThrottle = field(default_factory=LoginThrottle)  # failed logins per user name
    address_throttle: LoginThrottle = field(default_factory=lambda: LoginThrottle(free=100))  # per client address

    def now(self) -> float:
        return self.settings.clock()


# -- bodies --------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateBody(_Body):
    client_request_id: StrictStr
    fingerprint: StrictStr
    function: StrictStr
    risk: StrictStr = "medium"
    timeout_s: float | None = None
    on_behalf_of: StrictStr | None = None
    view: dict[str, Any] = Field(default_factory=dict)
    call_text: StrictStr = ""
    context: dict[str, Any] = Field(default_factory=dict)


class DecisionBody(_Body):
    version: StrictInt
    kind: Literal["approve", "edit", "reject"]
    edits: dict[str, Any] | None = None
    feedback: StrictStr | None = None


class BulkItem(_Body):
    id: StrictStr
    version: StrictInt


class BulkBody(_Body):
    items: Annotated[list[BulkItem], Field(min_length=1, max_length=MAX_BULK_ITEMS)]
    kind: Literal["approve", "reject"]
    feedback: StrictStr | None = None


class ClaimBody(_Body):
    version: StrictInt


class OutcomeBody(_Body):
    status: Literal["succeeded", "failed"]
    detail: Any = None


class InvalidEditBody(_Body):
    version: StrictInt
    error: StrictStr
    problems: Any = None


class CancelBody(_Body):
    reason: StrictStr | None = None


_M = TypeVar("_M", bound=_Body)
_T = TypeVar("_T")


def _problems(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _nul_at(data: Any) -> str | None:
    """Where a string (or key) of ``data`` holds U+0000, or None (iterative: any depth)."""
    stack: list[tuple[str, Any]] = [("body", data)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where
        elif isinstance(item, dict):
            for key, value in item.items():
                if "\x00" in key:
                    return where
                stack.append((f"{where}.{key}", value))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", value) for i, value in enumerate(item))
    return None


async def read_json(request: Request) -> Any:
    """The request body as JSON (the size limit is the app's middleware's), else 422.

    Text holding U+0000 is refused on every backend alike (PostgreSQL cannot store it; a client
    tested on SQLite must not fail only in production); an agent's view shows such a character
    escaped anyway.
    """
    raw = await request.body()
    if not raw:
        raise ApiError(422, "invalid_json", "the body must be a JSON object (it is empty)")
    try:
        data = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise ApiError(422, "invalid_json", "the body's JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_json", f"the body is not JSON: {exc}") from None
    if _ESCAPED_SURROGATE.search(raw):  # it parses, but no database can store it (nor an answer carry it)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(422, "invalid_json", "the body holds an unpaired surrogate (\\ud800-\\udfff)") from None
    where = _nul_at(data)
    if where is not None:
        raise ApiError(422, "invalid_text", f"{where}: text must not contain the NUL character (U+0000); escape it")
    return data


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _not_json(constant: str) -> Any:
    """``json.loads``' hook for NaN / Infinity / -Infinity, which JSON has not (and answers cannot hold)."""
    raise ValueError(f"{constant} is not a JSON value")


async def _parse(request: Request, model: type[_M]) -> _M:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_body", _problems(exc)) from None


async def _parse_later(request: Request, model: type[_M]) -> _M | ApiError:
    """The body parsed now (on the event loop), its error raised later by :func:`_got`: after the
    caller is known, so a request without credentials is 401 whatever its body."""
    try:
        return await _parse(request, model)
    except ApiError as exc:
        return exc


def _got(body: _M | ApiError) -> _M:
    if isinstance(body, ApiError):
        raise body
    return body


async def _as(request: Request, ctx: ApiContext, who: Literal["agent", "person", "any"],
              op: Callable[[Identity], _T], *, post: bool = False) -> _T:
    """``op(identity)`` after :func:`~.sessions.identify`, both in ONE worker-thread call.

    Under load each hop between the event loop and the thread pool waits for a thread to be
    scheduled (and for the GIL): measured at p50 3 ms, p99 over 80 ms each on the loaded 2-core
    machine (docs/dashboard-api.md, "Figures"); the token or session lookup and the store call
    are both short SQL statements, so they share one hop.
    """
    return await run_in_threadpool(lambda: op(identify(request, ctx.store, who, post=post)))


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


def _ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.api
    return ctx


def _query_int(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(422, "invalid_query", f"{name} must be an integer, not {raw!r}") from None


def _query_float(request: Request, name: str, default: float) -> float:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(422, "invalid_query", f"{name} must be a number of seconds, not {raw!r}") from None
    if not math.isfinite(value):
        raise ApiError(422, "invalid_query", f"{name} must be a finite number of seconds")
    return value


MAX_ID = 200


def _request_id(request: Request) -> str:
    """The ``{id}`` of the path; 404 for one no request can have (too long, a NUL character)."""
    rid = str(request.path_params["id"])
    if len(rid) > MAX_ID or "\x00" in rid:
        raise ApiError(404, "not_found", "no such request")
    return rid


async def _visible_request(ctx: ApiContext, identity: Identity, request_id: str) -> StoredRequest:
    """The request, or 404 when there is none (or it is another agent's: agents see their own)."""
    return await run_in_threadpool(_visible, ctx, identity, request_id)


def _visible(ctx: ApiContext, identity: Identity, request_id: str) -> StoredRequest:
    """:func:`_visible_request` in the calling (worker) thread."""
    found = ctx.store.get_request(request_id)
    if found is None or (identity.user.kind == "agent" and found.agent != identity.user.name):
        raise ApiError(404, "not_found", f"no request {request_id!r}")
    return found


# -- agents --------------------------------------------------------------------------------------


def _shown(value: Any, depth: int = 0) -> Any:
    """``value`` (JSON) with every string's hidden characters escaped (:func:`hitl_widget.display.show_hidden`)."""
    if isinstance(value, str):
        return show_hidden(value)
    if depth > 200:
        return value
    if isinstance(value, dict):
        return {k: _shown(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v, depth + 1) for v in value]
    return value


async def create_request(request: Request) -> Response:
    ctx = _ctx(request)
    parsed = await _parse_later(request, CreateBody)

    def op(identity: Identity) -> tuple[StoredRequest, bool]:
        fields = _got(parsed).model_dump()
        # what the card shows comes from any agent over HTTP, not only hitl_widget's (which escapes
        # them itself): bidi, zero-width and other hidden characters are escaped (\uXXXX, the same
        # character inside a JSON string), so "safe\u202etxt.exe" cannot read as "safeexe.txt".
        # (call_text is kept exactly as sent; the pages escape it where they show it.)
        fields["view"] = _shown(fields["view"])
        new = NewRequest(**fields)
        new.validate()
        return ctx.store.create_request(new, agent=identity.user.name, now=ctx.now())

    stored, created = await _as(request, ctx, "agent", op)
    return _json(stored.to_json(), 201 if created else 200)


async def _agent_step(
    request: Request, body_type: type[_Body], step: Callable[[ApiContext, str, str, Any], StoredRequest]
) -> Response:
    """One of an agent's steps on its own request (claim, outcome, invalid edit, cancel): the body
    parsed, then ``step(ctx, request_id, agent_name, body)`` in the same worker hop as the token check."""
    ctx = _ctx(request)
    parsed = await _parse_later(request, body_type)

    def op(identity: Identity) -> StoredRequest:
        return step(ctx, _request_id(request), identity.user.name, _got(parsed))

    done = await _as(request, ctx, "agent", op)
    return _json(done.to_json())


async def claim(request: Request) -> Response:
    return await _agent_step(
        request, ClaimBody, lambda ctx, rid, agent, body: ctx.store.claim(rid, agent=agent, version=body.version, now=ctx.now())
    )


async def outcome(request: Request) -> Response:
    return await _agent_step(
        request,
        OutcomeBody,
        lambda ctx, rid, agent, body: ctx.store.report_outcome(
            rid, agent=agent, status=body.status, detail=body.detail, now=ctx.now()
        ),
    )


async def invalid_edit(request: Request) -> Response:
    return await _agent_step(
        request,
        InvalidEditBody,
        lambda ctx, rid, agent, body: ctx.store.reopen_invalid_edit(
            rid, agent=agent, version=body.version, error=body.error, problems=body.problems, now=ctx.now()
        ),
    )


async def cancel(request: Request) -> Response:
    return await _agent_step(
        request, CancelBody, lambda ctx, rid, agent, body: ctx.store.cancel(rid, agent=agent, reason=body.reason, now=ctx.now())
    )


async def wait(request: Request) -> Response:
    """Long-poll: the request as soon as it is not pending at ``version``, else after ``timeout``."""
    ctx = _ctx(request)
    identity = await require_any(request, ctx.store)
    rid = _request_id(request)
    version = _query_int(request, "version", None)
    limit = ctx.settings.max_wait_s
    timeout = _query_float(request, "timeout", limit)
    if not 0 <= timeout <= limit:
        raise ApiError(422, "invalid_query", f"timeout must be from 0 to {limit:g} seconds (then ask again)")
    deadline = time.monotonic() + timeout
    with ctx.bus.watch(rid) as watch:
        while True:
            watch.changed.clear()
            current = await _visible_request(ctx, identity, rid)
            if version is None:
                version = current.version
            if current.status != "pending" or current.version != version or ctx.bus.closing:
                return _json(current.to_json())
            left = deadline - time.monotonic()
            if left <= 0:
                return _json(current.to_json())
            due_in = None if current.expires_at is None else current.expires_at - ctx.now()
            if due_in is not None and due_in <= 0:
                # due: mark it timed out now rather than at the timeout task's next round
                await run_in_threadpool(ctx.store.expire_due, ctx.now())
                continue
            # re-read now and then even without a notification: one lost in a gap (PostgreSQL's
            # LISTEN connection reconnecting) costs at most wait_recheck_s, not the whole poll
            sleep = min(left, ctx.settings.wait_recheck_s)
            if due_in is not None:
                sleep = min(sleep, due_in + 0.005)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.changed.wait(), timeout=sleep)


# -- reading -------------------------------------------------------------------------------------


async def get_request(request: Request) -> Response:
    ctx = _ctx(request)
    summary = request.query_params.get("summary")
    if summary not in (None, "", "0", "1"):
        raise ApiError(422, "invalid_query", "summary must be 0 or 1")
    found = await _as(request, ctx, "any", lambda identity: _visible(ctx, identity, _request_id(request)))
    # ?summary=1: the bounded item the queue's list has (the queue refreshes a row with it)
    return _json(found.summary_json() if summary == "1" else found.to_json())


async def request_log(request: Request) -> Response:
    ctx = _ctx(request)
    await require_person(request, ctx.store, post=False)
    rid = _request_id(request)
    found = await run_in_threadpool(ctx.store.get_request, rid)
    if found is None:
        raise ApiError(404, "not_found", f"no request {rid!r}")
    records = await run_in_threadpool(ctx.store.decision_log, rid)
    return _json({"items": [r.to_json() for r in records]})


async def list_requests(request: Request) -> Response:
    ctx = _ctx(request)
    await require_person(request, ctx.store, post=False)
    q = request.query_params
    unknown = sorted(set(q) - {"status", "function", "risk", "requester", "limit", "cursor", "order"})
    if unknown:
        raise ApiError(422, "invalid_query", f"unknown query parameter(s): {', '.join(unknown)}")
    order = q.get("order") or "queue"
    if order not in ("queue", "newest"):
        raise ApiError(422, "invalid_query", "order must be 'queue' or 'newest'")
    query = RequestQuery(
        status=q.get("status") or None,
        function=q.get("function") or None,
        risk=q.get("risk") or None,
        requester=q.get("requester") or None,
        limit=_query_int(request, "limit", 50) or 0,
        cursor=q.get("cursor") or None,
        order=order,  # type: ignore[arg-type]  # checked above
    )
    page = await run_in_threadpool(ctx.store.list_requests, query)
    return _json(page.summary_json())  # bounded items: the whole request is at GET /api/requests/{id}


async def me(request: Request) -> Response:
    ctx = _ctx(request)
    identity = await require_any(request, ctx.store)
    user = identity.user
    return _json(
        {
            "name": user.name,
            "kind": user.kind,
            "roles": list(user.roles),
            "csrf_token": csrf_token(identity.session_id) if identity.session_id else None,
        }
    )


# -- people --------------------------------------------------------------------------------------


async def decide(request: Request) -> Response:
    ctx = _ctx(request)
    parsed = await _parse_later(request, DecisionBody)

    def op(identity: Identity) -> StoredRequest:
        body = _got(parsed)
        rid = _request_id(request)
        return ctx.store.decide(
            rid,
            version=body.version,
            user=identity.user,
            kind=body.kind,
            edits=body.edits,
            feedback=body.feedback,
            channel="dashboard",
            now=ctx.now(),
        )

    done = await _as(request, ctx, "person", op, post=True)
    return _json(done.to_json())


async def bulk_decide(request: Request) -> Response:
    """Each item decided on its own (one failing does not stop the others); 200 with one result each."""
    from .store import StoreError

    ctx = _ctx(request)
    identity = await require_person(request, ctx.store, post=True)
    body = await _parse(request, BulkBody)

    def run() -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for item in body.items:
            try:
                done = ctx.store.decide(
                    item.id,
                    version=item.version,
                    user=identity.user,
                    kind=body.kind,
                    edits=None,
                    feedback=body.feedback,
                    channel="dashboard-bulk",
                    now=ctx.now(),
                )
            except StoreError as exc:
                results.append(
                    {"id": item.id, "ok": False, "error": exc.message, "code": exc.code, "http_status": exc.http_status}
                )
            else:
                results.append({"id": item.id, "ok": True, "status": done.status, "version": done.version})
        return results

    return _json({"results": await run_in_threadpool(run)})


# -- live updates --------------------------------------------------------------------------------


class EventStream(Response):
    """``text/event-stream`` of ``event: request`` / ``data: {"id", "status", "version"}``.

    Registered on the bus before the headers go out, so no change after the client sees the
    stream open is missed; a ``: keepalive`` comment every 15 s; ends on shutdown (the browser's
    EventSource reconnects after ``retry``) or when the client goes away.
    """

    media_type = "text/event-stream"

    def __init__(self, bus: EventBus, *, keepalive_s: float = SSE_KEEPALIVE_S) -> None:
        # not Response.__init__: it would declare an empty body (content-length: 0)
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]
        self.bus = bus
        self.keepalive_s = keepalive_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self.bus.stream() as queue:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b"retry: 2000\n: connected\n\n", "more_body": True})

            async with anyio.create_task_group() as tg:

                async def watch_disconnect() -> None:
                    while True:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            tg.cancel_scope.cancel()
                            return

                tg.start_soon(watch_disconnect)
                try:
                    while True:
                        try:
                            payload = await asyncio.wait_for(queue.get(), timeout=self.keepalive_s)
                        except TimeoutError:
                            await send({"type": "http.response.body", "body": b": keepalive\n\n", "more_body": True})
                            continue
                        if payload is None:
                            break
                        data = json.dumps(payload, separators=(",", ":"))
                        await send({"type": "http.response.body", "body": f"event: request\ndata: {data}\n\n".encode(),
                                    "more_body": True})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                except OSError:  # the client went away mid-write
                    pass
                tg.cancel_scope.cancel()


async def events(request: Request) -> Response:
    ctx = _ctx(request)
    await require_person(request, ctx.store, post=False)
    return EventStream(ctx.bus, keepalive_s=ctx.settings.sse_keepalive_s)


def describe(store: Store) -> Callable[[str], dict[str, Any] | None]:
    """The SSE payload of a request: ``{"id", "status", "version"}`` (None when it is gone)."""

    def read(request_id: str) -> dict[str, Any] | None:
        found = store.get_request(request_id)
        if found is None:
            return None
        return {"id": found.id, "status": found.status, "version": found.version}

    return read


def routes() -> list[Route]:
    """The JSON API's routes (paths as in docs/dashboard-api.md)."""
    return [
        Route("/api/requests", create_request, methods=["POST"], name="api_create"),
        Route("/api/requests", list_requests, methods=["GET"], name="api_list"),
        Route("/api/requests/{id}", get_request, methods=["GET"], name="api_get"),
        Route("/api/requests/{id}/wait", wait, methods=["GET"], name="api_wait"),
        Route("/api/requests/{id}/log", request_log, methods=["GET"], name="api_log"),
        Route("/api/requests/{id}/claim", claim, methods=["POST"], name="api_claim"),
        Route("/api/requests/{id}/outcome", outcome, methods=["POST"], name="api_outcome"),
        Route("/api/requests/{id}/invalid-edit", invalid_edit, methods=["POST"], name="api_invalid_edit"),
        Route("/api/requests/{id}/cancel", cancel, methods=["POST"], name="api_cancel"),
        Route("/api/requests/{id}/decisions", decide, methods=["POST"], name="api_decide"),
        Route("/api/decisions", bulk_decide, methods=["POST"], name="api_bulk"),
        Route("/api/events", events, methods=["GET"], name="api_events"),
        Route("/api/me", me, methods=["GET"], name="api_me"),
    ]
