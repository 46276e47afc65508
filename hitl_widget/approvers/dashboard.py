"""DashboardApprover: the agent side of ``hitl dashboard``: ask the people logged in there.

::

    from hitl_widget import DashboardApprover, Gate

    dashboard = DashboardApprover("http://127.0.0.1:8765", token=os.environ["HITL_TOKEN"], on_behalf_of="ana")
    gate = Gate(routes={"critical": dashboard})

One call, over the dashboard's HTTP API (docs/dashboard-api.md)::

    POST /api/requests              the request: client request id, fingerprint, the card's view, risk, timeout
    GET  /api/requests/{id}/wait    bounded long-polls (<= 25 s each), re-issued until it is decided
    POST /api/requests/{id}/claim   approved: claim it (approved -> running, once), then the function runs
    POST /api/requests/{id}/outcome succeeded | failed, after it ran
    POST .../invalid-edit           an edit the gate refuses (wrong type): back to the approvers, the wait goes on
    POST .../cancel                 Ctrl-C, a cancelled task, or the agent's own timeout

What it guarantees:

- **The same request after a restart.** Every call is created with a client request id
  (``request.id``, or ``request_key(request)`` for an agent that replays its calls after it
  restarts) and a fingerprint of the exact arguments, so retrying the create (the server
  restarted, a response was lost) or replaying the call finds the same server request; other
  arguments under the same key are refused (409), never approved by an old decision.
- **At most once.** The function runs only after the server let this process claim the
  approved request. A request already claimed (an agent that restarted after the claim asks
  again with the same key) never runs again: the call fails closed saying its earlier outcome
  (unknown, succeeded or failed).
- **Timeouts, and a server that is away.** Requests, waits and claims are retried with
  exponential back-off and jitter while the server is unreachable (a restart). The call's
  ``timeout`` holds throughout: the server is given it (a little less, so that its clock
  decides and records ``timed_out``), and the agent gives up at its own deadline even when the
  server cannot be reached (``ApprovalTimeout`` saying so). Without a timeout it gives up after
  ``unreachable_after`` seconds without an answer (``ApprovalRejected``). Both fail closed.
- **Who decided.** Approve / Edit / Reject carry the names of the people who decided
  (``by``), and a rejection their feedback.

Sync and async: a sync call (or a sync tool in an agent's worker thread) uses one shared
``httpx.Client``; ``await``-ed calls use ``httpx.AsyncClient`` without blocking the loop.
httpx is imported when the first request is made: ``import hitl_widget`` does not need it
(``pip install 'hitl_widget[dashboard]'``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import hashlib
import inspect
import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..card_view import request_view
from ..decisions import Approve, Decision, Edit, Reject
from ..errors import ApprovalRejected, ApprovalTimeout, InvalidEdit
from ..formatting import json_safe
from ..frozen import fingerprint
from ..protocol import ProtocolError, decode_edit_arguments
from ..request import ApprovalRequest
from ..validation import injected_parameters

if TYPE_CHECKING:
    import ssl

    import httpx

    from ..gate import Resolution

__all__ = ["DashboardApprover"]

log = logging.getLogger("hitl_widget")

#: the longest single long-poll (the API allows up to 30 s)
POLL_SECONDS = 25.0
#: statuses in which a request no longer waits for a person
_RETRYABLE_STATUS = frozenset({502, 503, 504})
#: how long a cancel is tried (Ctrl-C must not hang on a server that is away)
CANCEL_SECONDS = 5.0
#: how long a timed-out or interrupted call waits for its cancel before it returns; the cancel
#: goes on in a daemon thread (bounded by CANCEL_SECONDS per step, never keeping the process alive)
CANCEL_GRACE_SECONDS = 1.0
#: how long a claim and an outcome report are retried while the server is away (a restart)
REPORT_SECONDS = 30.0

Notifier = Callable[..., Any]


class _Unreachable(Exception):
    """The server did not answer (connection refused, reset, timed out, 502-504) within the budget."""


@dataclass(slots=True)
class _Http:
    method: str
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    read_timeout: float = 10.0


@dataclass(slots=True)
class _Sleep:
    seconds: float


@dataclass(slots=True)
class _Notify:
    notifier: Notifier
    request: ApprovalRequest
    stored: dict[str, Any]


@dataclass(slots=True)
class _Background:
    """Clean-up steps (a cancel) that must not delay the caller: run in the background, waited for
    at most CANCEL_GRACE_SECONDS."""

    make: Callable[[], Generator[Any, Any, Any]]


_Step = _Http | _Sleep | _Notify | _Background


@dataclass(slots=True)
class _Tracked:
    """One call's request on the server, from its creation to its outcome."""

    server_id: str
    version: int
    stored: dict[str, Any]
    approvable: bool = True
    claimed: bool = False
    started: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class _Budget:
    """How long to keep trying: until the call's deadline (monotonic) and ``patience`` seconds without an answer."""

    deadline: float | None
    patience: float
    failing_since: float | None = None
    last_error: str = ""
    #: an attempt failed after it may have reached the server (no answer read): its effect is unknown
    maybe_delivered: bool = False

    def left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


class DashboardApprover:
    """An approver that posts each request to a ``hitl dashboard`` server and waits for its decision.

    ``url``: the dashboard's base URL (``http://127.0.0.1:8765``, or behind a proxy
    ``https://jupyter.example/hitl``). ``token``: the agent token from ``hitl tokens add``.
    ``on_behalf_of``: the person the agent acts for; the server refuses that person's approval
    of the request. ``notify``: callables (or objects with ``.notify``, such as a
    ``TeamsNotifier``) called with each request once it exists on the server
    (``notify(request)``; a callable that takes a ``dashboard_request`` or ``link`` keyword gets
    the server's request JSON and its page's URL too); a notifier's failure is logged and
    changes nothing. ``request_key``: a function of the request giving its client request id
    (default ``request.id``, unique per process); give one that is the same when a restarted
    agent makes the same call (a task id and step), so the replayed call finds its request, and
    runs only if it never ran.

    ``poll_seconds`` (<= 30): the length of each long-poll. ``unreachable_after``: seconds
    without any answer from the server after which a call with no timeout fails closed.
    ``backoff``: the first and the longest pause between retries (seconds; each pause is
    drawn at random up to the doubled previous one, "full jitter").
    ``transport`` / ``async_transport``: httpx transports (tests: ``httpx.MockTransport``).

    Errors (each says what happened, and that the function did not run): ``ApprovalTimeout``
    (no decision within the call's timeout, on the server or, when it cannot be reached, on the
    agent's clock); ``ApprovalRejected`` (rejected, with who and why; the token or the request
    refused; the server away for ``unreachable_after`` s without a timeout; a request already
    claimed by an earlier run). ``Ctrl-C`` and a cancelled task cancel the request on the
    server, then propagate. That cancel (and the one after the call's timeout) is waited for at
    most ``CANCEL_GRACE_SECONDS`` (1 s): against a hung server it goes on in a daemon thread,
    bounded, logged if it fails, never raising into the caller nor keeping the process alive.
    """

    channel = "dashboard"
    #: waits for a person (the gate calls it from a thread when needed)
    blocking = True
    #: keeps the call's deadline itself (and tells the server): the gate calls it without a watchdog thread
    honors_deadline = True

    def __init__(
        self,
        url: str,
        *,
        token: str,
        on_behalf_of: str | None = None,
        notify: Iterable[Notifier] = (),
        request_key: Callable[[ApprovalRequest], str] | None = None,
        poll_seconds: float = POLL_SECONDS,
        unreachable_after: float = 300.0,
        backoff: tuple[float, float] = (0.05, 2.0),
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be the dashboard's http:// or https:// address, not {url!r:.80}")
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token= must be the agent token printed by `hitl tokens add NAME`")
        if on_behalf_of is not None and (not isinstance(on_behalf_of, str) or not on_behalf_of.strip()):
            raise ValueError(f"on_behalf_of= names a dashboard user, not {on_behalf_of!r:.60}")
        if request_key is not None and not callable(request_key):
            raise TypeError(f"request_key= takes a function of the request, not {type(request_key).__name__}")
        notifiers = list(notify)
        for n in notifiers:
            if not callable(n) and not callable(getattr(n, "notify", None)):
                raise TypeError(f"notify= takes callables (or objects with .notify), not {type(n).__name__}")
        if not 0 < poll_seconds <= 30:
            raise ValueError(f"poll_seconds must be in (0, 30], not {poll_seconds!r}")
        if not unreachable_after > 0:
            raise ValueError(f"unreachable_after must be a positive number of seconds, not {unreachable_after!r}")
        first, longest = backoff
        if not 0 < first <= longest:
            raise ValueError(f"backoff=(first, longest) needs 0 < first <= longest, not {backoff!r}")
        self.url = url.rstrip("/")
        self.on_behalf_of = on_behalf_of
        self.notify = notifiers
        self.request_key = request_key
        self.poll_seconds = float(poll_seconds)
        self.unreachable_after = float(unreachable_after)
        self.backoff = (float(first), float(longest))
        self._token = token
        self._fingerprint_key = hashlib.blake2b(b"hitl-dashboard-fingerprint\0" + token.encode(), digest_size=32).digest()
        self._transport = transport
        self._async_transport = async_transport
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._tracked: collections.OrderedDict[str, _Tracked] = collections.OrderedDict()
        self._tracked_lock = threading.Lock()
        #: clean-up tasks where threads cannot start (Pyodide): kept referenced until they end
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"DashboardApprover({self.url!r}, on_behalf_of={self.on_behalf_of!r})"

    # -- the approver ------------------------------------------------------------------

    def __call__(self, request: ApprovalRequest) -> Decision:
        """Post ``request`` and wait for its decision (blocking; see the class docstring for errors)."""
        box: dict[str, Any] = {}
        try:
            return cast(Decision, self._drive(self._ask(request, box)))
        except BaseException as exc:
            self._forget(request.id)
            if not isinstance(exc, Exception) and "body" in box:  # Ctrl-C, SystemExit: the server is told
                reason = f"the agent was interrupted ({type(exc).__name__})"
                with contextlib.suppress(BaseException):  # a second Ctrl-C during the grace: leave it to the thread
                    self._clean_up(functools.partial(self._abandon, box, reason))
            raise

    async def ask_async(self, request: ApprovalRequest) -> Decision:
        """``__call__`` for async callers (the gate awaits this): nothing blocks the event loop."""
        box: dict[str, Any] = {}
        try:
            return cast(Decision, await self._drive_async(self._ask(request, box)))
        except BaseException as exc:
            self._forget(request.id)
            if not isinstance(exc, Exception) and "body" in box:  # a cancelled task (the gate's timeout), Ctrl-C
                reason = (
                    "the agent's timeout passed with no decision"
                    if request.deadline is not None and request.remaining() == 0
                    else f"the agent stopped waiting ({type(exc).__name__})"
                )
                with contextlib.suppress(BaseException):  # never delays the caller past the grace, never raises
                    await self._clean_up_async(functools.partial(self._abandon, box, reason))
            raise

    # -- the gate's run hooks -----------------------------------------------------------

    def before_run(self, request: ApprovalRequest, resolution: Resolution) -> None:
        """Claim the approved request (approved -> running, once): the function runs only if this succeeds."""
        self._drive(self._claim(request))

    def after_run(self, request: ApprovalRequest, outcome: dict[str, str]) -> None:
        """Report what the function did (``succeeded`` / ``failed``, with a bounded detail)."""
        self._drive(self._report(request, outcome))

    async def before_run_async(self, request: ApprovalRequest, resolution: Resolution) -> None:
        await self._drive_async(self._claim(request))

    async def after_run_async(self, request: ApprovalRequest, outcome: dict[str, str]) -> None:
        await self._drive_async(self._report(request, outcome))

    def close(self) -> None:
        """Close the shared HTTP connection pool (a new one is made if the approver is used again)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- the steps of one call (sans I/O: driven by _drive and _drive_async) ------------

    def _ask(self, request: ApprovalRequest, box: dict[str, Any]) -> Generator[_Step, Any, Decision]:
        budget = _Budget(request.deadline, self.unreachable_after)
        view = request_view(request)
        body = box["body"] = self._create_body(request, view)
        response = yield from self._send(_Http("POST", "/api/requests", body), budget, request)
        if response.status_code not in (200, 201):
            raise self._refused(request, "the request", response)
        stored = _json(response)
        tracked = _Tracked(str(stored["id"]), int(stored["version"]), stored, approvable=bool(view.get("approvable", True)))
        box["tracked"] = tracked
        self._remember(request.id, tracked)
        if response.status_code == 201:
            for notifier in self.notify:
                yield _Notify(notifier, request, stored)
        while True:
            status = stored.get("status")
            if status != "pending":
                decision = yield from self._decision(request, tracked, budget)
                if decision is not None:
                    return decision
                stored = tracked.stored
                continue
            left = budget.left()
            if left == 0:
                yield from self._give_up(request, tracked, budget)
            wait = self.poll_seconds if left is None else max(0.05, min(self.poll_seconds, left))
            params = {"version": tracked.version, "timeout": round(wait, 3)}
            step = _Http("GET", f"/api/requests/{tracked.server_id}/wait", params=params, read_timeout=wait + 10)
            response = yield from self._send(step, budget, request)
            if response.status_code != 200:
                raise self._refused(request, "waiting for the decision", response)
            stored = tracked.stored = _json(response)
            tracked.version = int(stored["version"])

    def _create_body(self, request: ApprovalRequest, view: dict[str, Any]) -> dict[str, Any]:
        # unique to this call (request.id is unique to a process only): no other call, in any process, can find it
        key = uuid.uuid4().hex if self.request_key is None else self.request_key(request)
        if not isinstance(key, str) or not key or len(key) > 200:
            raise ValueError(f"request_key must return a non-empty string of at most 200 characters, not {key!r:.60}")
        left = request.remaining()
        # the server's clock decides the timeout (and records it as timed out); the agent's deadline, a
        # moment later, is the backstop for a server that cannot be reached
        timeout_s = None if left is None else max(0.001, left - min(1.0, 0.1 * left))
        context: dict[str, Any] = {"agent_process": f"{socket.gethostname()} pid {os.getpid()}", "gate_request_id": request.id}
        if request.context:  # secret-named entries redacted, as the card's view has them
            from ..audit import redact

            context["context"] = json_safe(redact(dict(request.context)))
        if request.notes:
            context["notes"] = list(request.notes)
        if request.label:
            context["label"] = request.label
        return {
            "client_request_id": key,
            "fingerprint": self._fingerprint(request, view),
            "function": request.function,
            "risk": request.risk,
            "timeout_s": timeout_s,
            "on_behalf_of": self.on_behalf_of,
            "view": view,
            "call_text": request.call_text(),
            "context": context,
        }

    def _fingerprint(self, request: ApprovalRequest, view: dict[str, Any]) -> str:
        """The exact arguments' hash, keyed by the token (the same in a restarted agent; see frozen.fingerprint).

        Arguments with no exact encoding (an open file, a lock) are fingerprinted by their text
        as shown, prefixed ``shown:``. A method's ``self`` and SDK-injected contexts are left out.
        """
        skip = request.frozen | injected_parameters(request.target)
        arguments = {k: v for k, v in request.arguments.items() if k not in skip}
        exact = None if request.uncopied.keys() - skip else fingerprint(arguments, key=self._fingerprint_key)
        if exact is not None:
            return f"{request.function}:{exact}"
        shown = [[a.get("name"), a.get("text")] for a in view.get("arguments", []) if a.get("name") not in skip]
        digest = hashlib.blake2b(json.dumps([request.function, shown]).encode(), key=self._fingerprint_key, digest_size=16)
        return f"{request.function}:shown:{digest.hexdigest()}"

    def _decision(self, request: ApprovalRequest, tracked: _Tracked, budget: _Budget) -> Generator[_Step, Any, Decision | None]:
        """The Decision for a request that is no longer pending; None when it went back to pending (a refused edit)."""
        stored = tracked.stored
        status = stored.get("status")
        decision = stored.get("decision") or {}
        names = [str(n) for n in decision.get("by") or []]
        by = ", ".join(names) or None
        where = f"on the dashboard ({self.url}, request {tracked.server_id})"
        if status == "approved":
            if not tracked.approvable:
                self._forget(request.id)
                raise ApprovalRejected(
                    f"{request.call_text()} did not run: it was approved {where}, but its arguments are too large for "
                    "the card to show whole, so only a rejection can stand (failing closed).",
                    request=request,
                )
            edits = stored.get("edits") or decision.get("edits")
            if not edits:
                return Approve(by=by)
            try:
                values = decode_edit_arguments(edits, function=request.function)
                request.apply_edit(values)  # the gate checks it again; a refusal goes back to the approvers now
            except (InvalidEdit, ProtocolError) as exc:
                problems = exc.problems if isinstance(exc, InvalidEdit) else {"*": str(exc)}
                body = {"version": tracked.version, "error": str(exc)[:2000], "problems": problems}
                step = _Http("POST", f"/api/requests/{tracked.server_id}/invalid-edit", body)
                budget.maybe_delivered = False
                response = yield from self._send(step, budget, request)
                if response.status_code == 409 and budget.maybe_delivered:  # recorded; its answer was lost: read it
                    response = yield from self._send(_Http("GET", f"/api/requests/{tracked.server_id}"), budget, request)
                if response.status_code != 200:
                    raise self._refused(request, "the report of an invalid edit", response) from exc
                tracked.stored = _json(response)
                tracked.version = int(tracked.stored["version"])
                log.warning("%s: the edit %s was refused (%s); asked again", request.call_text(), where, exc)
                return None
            return Edit(arguments=values, by=by)
        if status == "rejected":
            self._forget(request.id)
            feedback = str(decision.get("feedback") or "").strip()
            return Reject(feedback=feedback, by=by or "a dashboard approver")
        if status == "timed_out":
            self._forget(request.id)
            raise ApprovalTimeout("timed out", request=request, feedback=f"The dashboard recorded it as timed out ({where}).")
        if status == "cancelled":
            self._forget(request.id)
            reason = str((stored.get("outcome") or {}).get("detail") or decision.get("feedback") or "").strip()
            raise ApprovalRejected(
                f"{request.call_text()} did not run: its request was cancelled {where}"
                + (f" ({reason})" if reason else "")
                + ". Ask the user before retrying it.",
                request=request,
            )
        if status in ("running", "succeeded", "failed"):
            self._forget(request.id)
            raise ApprovalRejected(self._claimed_before(request, stored, where), request=request)
        raise ApprovalRejected(
            f"{request.call_text()} did not run: the dashboard answered with an unknown status {str(status)[:40]!r} {where}.",
            request=request,
        )

    @staticmethod
    def _claimed_before(request: ApprovalRequest, stored: dict[str, Any], where: str) -> str:
        status = stored.get("status")
        claimed = stored.get("claimed_at") or "earlier"
        if status == "running":
            known = "its outcome is unknown (the process that claimed it did not report one)"
        else:
            detail = str((stored.get("outcome") or {}).get("detail") or "").strip()
            known = f"its outcome is recorded: {status}" + (f" ({detail[:300]})" if detail else "")
        return (
            f"{request.call_text()} was NOT run again: this request was already claimed to run ({claimed}) {where}, "
            f"and {known}. A call runs at most once; check what the first run did before making it again."
        )

    def _give_up(self, request: ApprovalRequest, tracked: _Tracked, budget: _Budget) -> Generator[_Step, Any, None]:
        """The agent's deadline passed with the request still pending: cancel it there (in the background
        after CANCEL_GRACE_SECONDS, so a hung server cannot delay the timeout), time out."""
        yield _Background(functools.partial(self._cancel_late, tracked, request.call_text()))
        self._forget(request.id)
        feedback = "Nobody decided on the dashboard in time."
        if budget.failing_since is not None:
            feedback = f"The approval dashboard at {self.url} could not be reached ({budget.last_error})."
        raise ApprovalTimeout("timed out", request=request, feedback=feedback)

    def _cancel_late(self, tracked: _Tracked, call_text: str) -> Generator[_Step, Any, None]:
        yield from self._cancel(tracked, "the agent's timeout passed with no decision")
        if tracked.stored.get("status") not in ("pending", "cancelled", None):  # decided at the last moment: too late
            log.info("%s: decided on the dashboard just after the agent's timeout; not run", call_text)

    def _abandon(self, box: dict[str, Any], reason: str) -> Generator[_Step, Any, None]:
        """Cancel the request of an interrupted call, even one interrupted before the create's answer came:
        the create is idempotent, so sending it again names the request (bounded, as ``_cancel``)."""
        tracked: _Tracked | None = box.get("tracked")
        if tracked is None:
            budget = _Budget(time.monotonic() + CANCEL_SECONDS, CANCEL_SECONDS)
            try:
                step = _Http("POST", "/api/requests", box["body"], read_timeout=CANCEL_SECONDS)
                response = yield from self._send(step, budget, None)
            except _Unreachable:
                return
            if response.status_code not in (200, 201):
                return
            stored = _json(response)
            tracked = _Tracked(str(stored["id"]), int(stored["version"]), stored)
        yield from self._cancel(tracked, reason)

    def _cancel(self, tracked: _Tracked, reason: str) -> Generator[_Step, Any, None]:
        """Cancel the request on the server (bounded: a server that is away is not waited for)."""
        budget = _Budget(time.monotonic() + CANCEL_SECONDS, CANCEL_SECONDS)
        step = _Http("POST", f"/api/requests/{tracked.server_id}/cancel", {"reason": reason}, read_timeout=CANCEL_SECONDS)
        try:
            response = yield from self._send(step, budget, None)
        except _Unreachable as exc:
            log.warning("request %s could not be cancelled on the dashboard %s: %s", tracked.server_id, self.url, exc)
            return
        if response.status_code == 200:
            tracked.stored = _json(response)
        elif response.status_code == 409:
            with contextlib.suppress(Exception):
                tracked.stored = _json(response).get("request") or tracked.stored

    def _claim(self, request: ApprovalRequest) -> Generator[_Step, Any, None]:
        tracked = self._lookup(request.id)
        if tracked is None:
            raise ApprovalRejected(
                f"{request.call_text()} did not run: the dashboard approver has no approved request for it to claim.",
                request=request,
            )
        budget = _Budget(time.monotonic() + REPORT_SECONDS, REPORT_SECONDS)
        step = _Http("POST", f"/api/requests/{tracked.server_id}/claim", {"version": tracked.version})
        try:
            response = yield from self._send(step, budget, request)
        except ApprovalRejected:
            self._forget(request.id)
            raise
        if response.status_code == 200:
            tracked.claimed = True
            tracked.stored = _json(response)
            return
        self._forget(request.id)
        if response.status_code != 409:
            raise self._refused(request, "the claim to run it", response)
        # someone else's change came first (or our own claim, whose answer was lost): read what it is now
        lost_answer = budget.maybe_delivered
        current: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            current = _json((yield from self._send(_Http("GET", f"/api/requests/{tracked.server_id}"), budget, request)))
        status = current.get("status")
        where = f"on the dashboard ({self.url}, request {tracked.server_id})"
        if lost_answer and status == "running" and self.request_key is None and current.get("version") == tracked.version:
            # the key is this call's own (a random id no other call has), so no one else can have claimed it:
            # the earlier attempt did, and only its answer was lost (the server stopped after committing it)
            tracked.claimed = True
            tracked.stored = current
            self._remember(request.id, tracked)
            return
        if lost_answer and status == "running":
            raise ApprovalRejected(
                f"{request.call_text()} did not run: the answer to its claim was lost (the dashboard stopped or the "
                f"connection broke) and the request is now running {where}. Under request_key= another run of the "
                "agent may hold the same request, so this one cannot tell that claim was its own, and does not run "
                "(a call runs at most once). Check what ran before making it again.",
                request=request,
            )
        if status == "timed_out":
            raise ApprovalTimeout("timed out", request=request, feedback=f"It timed out before it could be claimed {where}.")
        if status in ("running", "succeeded", "failed"):
            raise ApprovalRejected(self._claimed_before(request, current, where), request=request)
        error = _error_text(response)
        raise ApprovalRejected(
            f"{request.call_text()} did not run: it was approved, but the dashboard refused the claim to run it "
            f"({error}; now {status or 'unknown'}) {where}. Ask the user before retrying it.",
            request=request,
        )

    def _report(self, request: ApprovalRequest, outcome: dict[str, str]) -> Generator[_Step, Any, None]:
        tracked = self._forget(request.id)
        if tracked is None or not tracked.claimed:
            return
        budget = _Budget(time.monotonic() + REPORT_SECONDS, REPORT_SECONDS)
        body = {"status": outcome["status"], "detail": outcome["detail"][:2000]}
        step = _Http("POST", f"/api/requests/{tracked.server_id}/outcome", body)
        try:
            response = yield from self._send(step, budget, None)
        except _Unreachable as exc:
            log.error(
                "%s ran (%s) but its outcome could not be reported to the dashboard %s: %s; it shows there as "
                "'outcome unknown'",
                request.call_text(), outcome["status"], self.url, exc,
            )  # fmt: skip
            return
        if response.status_code == 409 and budget.maybe_delivered:
            return  # the earlier attempt was recorded; only its answer was lost
        if response.status_code != 200:
            log.error(
                "%s ran (%s) but the dashboard %s refused its outcome: %s",
                request.call_text(), outcome["status"], self.url, _error_text(response),
            )  # fmt: skip

    def _send(self, step: _Http, budget: _Budget, request: ApprovalRequest | None) -> Generator[_Step, Any, httpx.Response]:
        """``step``, retried with back-off and jitter while the server is unreachable and the budget lasts.

        Raises ApprovalTimeout (the call's deadline passed) or ApprovalRejected (``patience``
        seconds without an answer) for a call; _Unreachable for a cancel or a report.
        """
        pause = self.backoff[0]
        while True:
            left = budget.left()
            if left is not None:
                step.read_timeout = max(0.2, min(step.read_timeout, left + 0.5))
            answer = yield step
            failure, delivered = _failure(answer)
            budget.maybe_delivered = budget.maybe_delivered or delivered
            if failure is None:
                budget.failing_since = None
                return answer  # type: ignore[no-any-return]
            now = time.monotonic()
            if budget.failing_since is None:
                budget.failing_since = now
            budget.last_error = failure
            left = budget.left()
            out_of_patience = now - budget.failing_since >= budget.patience
            if left == 0 or out_of_patience:
                if request is None:
                    raise _Unreachable(failure)
                if left == 0:  # the call's own deadline: a timeout, saying why
                    feedback = f"The approval dashboard at {self.url} could not be reached in time ({failure})."
                    raise ApprovalTimeout("timed out", request=request, feedback=feedback)
                raise ApprovalRejected(
                    f"{request.call_text()} did not run: the approval dashboard at {self.url} could not be reached "
                    f"for {now - budget.failing_since:.0f} s ({failure}), so it was not approved (failing closed). "
                    "Ask the user to check the dashboard server before retrying it.",
                    request=request,
                )
            pause = min(self.backoff[1], pause * 2)
            sleep = random.uniform(self.backoff[0], pause)
            if left is not None:
                sleep = min(sleep, left)
            yield _Sleep(sleep)

    def _refused(self, request: ApprovalRequest, what: str, response: httpx.Response) -> ApprovalRejected:
        status = response.status_code
        hint = {
            401: " The agent token was not accepted (wrong, revoked or expired): make one with `hitl tokens add NAME`.",
            403: " The token's user may not do this.",
            409: " Another call was already made under the same request key with other arguments: it is never "
            "approved by that call's decision.",
        }.get(status, "")
        return ApprovalRejected(
            f"{request.call_text()} did not run: the dashboard at {self.url} refused {what} "
            f"(HTTP {status}: {_error_text(response)}).{hint}",
            request=request,
        )

    # -- the calls this approver has on the server -------------------------------------------

    def _remember(self, request_id: str, tracked: _Tracked) -> None:
        with self._tracked_lock:
            self._tracked[request_id] = tracked
            while len(self._tracked) > 10_000:  # calls the gate never ran (another approver took over after an edit)
                self._tracked.popitem(last=False)

    def _lookup(self, request_id: str) -> _Tracked | None:
        with self._tracked_lock:
            return self._tracked.get(request_id)

    def _forget(self, request_id: str) -> _Tracked | None:
        with self._tracked_lock:
            return self._tracked.pop(request_id, None)

    # -- drivers: the same steps over a blocking or an async client ----------------------------

    def _clean_up(self, make: Callable[[], Generator[_Step, Any, Any]]) -> None:
        """Run the clean-up steps ``make()`` (a cancel) in the background, waiting at most
        CANCEL_GRACE_SECONDS for them (a reachable server answers well within; a hung one is left to
        the daemon thread, bounded by CANCEL_SECONDS per step). Never raises. Where threads cannot
        start (Pyodide), the steps run here, bounded the same way."""
        what = f"cancelling a request on the dashboard {self.url}"
        done = _in_background(lambda: self._drive(make()), what)
        if done is None:
            with contextlib.suppress(Exception):
                self._drive(make())
            return
        done.wait(CANCEL_GRACE_SECONDS)

    async def _clean_up_async(self, make: Callable[[], Generator[_Step, Any, Any]]) -> None:
        """``_clean_up`` for async callers: the event loop is never blocked. The steps run on a daemon
        thread's own event loop (so they outlive this one), at most 2 x (CANCEL_SECONDS + 1) s; where
        threads cannot start (Pyodide) as a task of this loop. Either is awaited at most
        CANCEL_GRACE_SECONDS. Never raises."""
        limit = 2 * (CANCEL_SECONDS + 1.0)  # the re-sent create, then the cancel

        async def bounded() -> None:
            async with asyncio.timeout(limit):
                await self._drive_async(make())

        done = _in_background(lambda: asyncio.run(bounded()), f"cancelling a request on the dashboard {self.url}")
        if done is None:
            task = asyncio.get_running_loop().create_task(bounded())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: never "never retrieved"
            with contextlib.suppress(BaseException):
                await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
            return
        until = time.monotonic() + CANCEL_GRACE_SECONDS
        while not done.is_set() and time.monotonic() < until:
            await asyncio.sleep(0.01)

    def _sync_client(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                httpx = _httpx()
                self._client = httpx.Client(
                    base_url=self.url,
                    headers=self._headers(),
                    transport=self._transport,
                    verify=self._ssl_context(),
                    limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
                    follow_redirects=False,
                )
            return self._client

    def _headers(self) -> dict[str, str]:
        from .. import __version__

        return {"Authorization": f"Bearer {self._token}", "User-Agent": f"hitl_widget/{__version__} DashboardApprover"}

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:  # made once: each httpx client would make (and load certificates into) its own
            import ssl  # here: Pyodide has no ssl module until it is loaded

            self._ssl = ssl.create_default_context()
        return self._ssl

    def _drive(self, steps: Generator[_Step, Any, Any]) -> Any:
        httpx = _httpx()
        client = self._sync_client()
        answer: Any = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, _Http):
                    try:
                        answer = _within(
                            step.read_timeout + 0.5,
                            functools.partial(
                                client.request,
                                step.method,
                                step.path,
                                json=step.body,
                                params=step.params,
                                timeout=httpx.Timeout(step.read_timeout, connect=min(5.0, step.read_timeout)),
                            ),
                        )
                    except TimeoutError:
                        answer = httpx.ReadTimeout(f"no whole answer within {step.read_timeout + 0.5:.1f} s")
                    except httpx.TransportError as exc:
                        answer = exc
                elif isinstance(step, _Sleep):
                    time.sleep(step.seconds)
                    answer = None
                elif isinstance(step, _Background):
                    self._clean_up(step.make)
                    answer = None
                else:
                    _call_notifier(step, self.url)
                    answer = None
        except StopIteration as stop:
            return stop.value
        finally:
            steps.close()

    async def _drive_async(self, steps: Generator[_Step, Any, Any]) -> Any:
        httpx = _httpx()
        answer: Any = None
        async with httpx.AsyncClient(
            base_url=self.url,
            headers=self._headers(),
            transport=self._async_transport,
            verify=self._ssl_context(),
            follow_redirects=False,
        ) as client:
            try:
                while True:
                    step = steps.send(answer)
                    if isinstance(step, _Http):
                        try:
                            # a bound on the whole answer: httpx's timeouts are per read (a server that
                            # answers a byte at a time would hold the call past its deadline)
                            # (asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation)
                            async with asyncio.timeout(step.read_timeout + 0.5):
                                answer = await client.request(
                                    step.method,
                                    step.path,
                                    json=step.body,
                                    params=step.params,
                                    timeout=httpx.Timeout(step.read_timeout, connect=min(5.0, step.read_timeout)),
                                )
                        except TimeoutError:
                            answer = httpx.ReadTimeout(f"no whole answer within {step.read_timeout + 0.5:.1f} s")
                        except httpx.TransportError as exc:
                            answer = exc
                    elif isinstance(step, _Sleep):
                        await asyncio.sleep(step.seconds)
                        answer = None
                    elif isinstance(step, _Background):
                        await self._clean_up_async(step.make)
                        answer = None
                    else:
                        await asyncio.to_thread(_call_notifier, step, self.url)
                        answer = None
            except StopIteration as stop:
                return stop.value
            finally:
                steps.close()


def _in_background(run: Callable[[], Any], what: str) -> threading.Event | None:
    """``run()`` on a daemon thread (it never keeps the process alive at exit; its errors are logged,
    never raised); the event is set when it ends. None where threads cannot start (Pyodide)."""
    done = threading.Event()

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # a clean-up: logged, never raised into anyone
            log.warning("%s did not complete: %s: %s", what, type(exc).__name__, exc)
        finally:
            done.set()

    try:
        threading.Thread(target=target, name="hitl-dashboard-cancel", daemon=True).start()
    except RuntimeError:
        return None
    return done


def _within(seconds: float, function: Callable[[], Any]) -> Any:
    """``function()`` given at most ``seconds`` in all (``TimeoutError`` after; its thread is left to
    end by itself). httpx's timeouts are per read: a server that answers one byte at a time would
    otherwise hold a blocking call far past its deadline. Where threads cannot start (Pyodide), it
    is called directly."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = function()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
        finally:
            done.set()

    try:
        threading.Thread(target=run, name="hitl-dashboard-request", daemon=True).start()
    except RuntimeError:
        return function()
    if not done.wait(seconds):
        raise TimeoutError(f"no answer within {seconds:.1f} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _httpx() -> Any:
    try:
        import httpx
    except ImportError:  # pragma: no cover - the dashboard extra installs it
        raise ImportError("DashboardApprover needs httpx: pip install 'hitl_widget[dashboard]' (or pip install httpx)") from None
    return httpx


def _failure(answer: Any) -> tuple[str | None, bool]:
    """``(why an attempt got no usable answer, whether it may have reached the server)``; ``(None, False)``
    for a response to act on. Only a refused or timed-out connection certainly delivered nothing."""
    if isinstance(answer, BaseException):
        httpx = _httpx()
        undelivered = isinstance(answer, httpx.ConnectError | httpx.ConnectTimeout)
        return f"{type(answer).__name__}: {str(answer)[:200] or 'no answer'}", not undelivered
    if answer.status_code in _RETRYABLE_STATUS:
        return f"HTTP {answer.status_code}", True
    return None, False


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApprovalRejected(
            f"the dashboard answered {response.request.method} {response.request.url.path} with HTTP "
            f"{response.status_code} and no JSON object; nothing was run"
        )
    return data


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, Mapping):
        error, code = data.get("error"), data.get("code")
        if error:
            return f"{str(error)[:300]}" + (f" [{str(code)[:40]}]" if code else "")
    return str(data)[:200]


def _call_notifier(step: _Notify, url: str) -> None:
    """Call one notifier; its failure is logged (the request is on the dashboard all the same)."""
    fn = getattr(step.notifier, "notify", step.notifier)
    link = f"{url}/requests/{step.stored.get('id')}"
    try:
        kwargs: dict[str, Any] = {}
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if takes_any or "dashboard_request" in params:
            kwargs["dashboard_request"] = step.stored
        if takes_any or "link" in params:
            kwargs["link"] = link
        fn(step.request, **kwargs)
    except Exception as exc:
        log.error("a notifier (%s) failed for %s: %s: %s", _name(step.notifier), link, type(exc).__name__, exc)


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__name__
