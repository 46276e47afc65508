"""Slack's interaction callbacks, inside the dashboard server: ``POST /slack/interactions``.

The dashboard app mounts :func:`routes` (``hitl_widget.dashboard.app``). A click on a
message's Approve or Reject button (posted by :class:`hitl_widget.chat.slack.SlackApprover`)
arrives here as Slack's signed ``block_actions`` payload; Reject's feedback modal arrives as a
``view_submission``. What holds, whatever arrives:

- **Signed by Slack, recently.** slack_sdk's ``SignatureVerifier`` over the raw body with the
  signing secret from ``HITL_SLACK_SIGNING_SECRET``; a timestamp more than 5 minutes away from
  the server's clock is refused (401, code ``expired_signature``), so is a bad signature
  (``bad_signature``). Nothing is decided for a refused callback.
- **The person is a dashboard user.** The Slack user id is mapped with ``store.user_for_slack``
  (``hitl users link-slack NAME SLACK_USER_ID``); an unmapped user gets an ephemeral message
  saying so, and nothing changes.
- **One decision path.** Every decision is ``store.decide(..., channel="slack")``, the same
  function the dashboard's pages call, with the request id and the version of the arguments
  the message showed: quorum, roles and "the requester cannot approve their own request" hold,
  a click on a message whose request was edited since (another version) is refused (409), and
  every attempt, accepted or refused, is in the request's log.
- **Retries change nothing.** A callback Slack retries (``X-Slack-Retry-Num``) or that is
  replayed is recognised by its action (user, action, ``action_ts``, message) or view id and
  acknowledged without acting again; the store would refuse a second approval by the same
  person anyway.
- **Answered within Slack's 3 seconds.** The decision is given up to ``decide_budget`` (2 s)
  before the acknowledgement; Slack API calls (the message update, ephemeral messages, the
  modal) run on a background thread, with retries on 429 / 5xx / timeouts.
- **Dashboard only.** Requests of the risks in ``HITL_SLACK_DASHBOARD_ONLY`` (default
  ``critical``) are refused from Slack even if a button reaches here.
- **The message follows the request.** The message is updated in place after a decision here
  (who, when, outcome) and after every other change to the request (a decision in the
  dashboard, an approval toward a quorum, a timeout, the agent's outcome): the handler
  subscribes to the store's changes (``store.subscribe``) and re-renders registered messages.
  Messages are registered by the agent side after posting (``POST /slack/messages`` with the
  agent's token) and by every click on them.

Configuration (environment, or :func:`routes` keywords): ``HITL_SLACK_SIGNING_SECRET``
(required: without it the route answers 503 and changes nothing), ``HITL_SLACK_BOT_TOKEN``
(for ``chat.update``, ``chat.postEphemeral`` and ``views.open``; without it clicks are still
verified and decided but no message is updated and Reject cannot open its modal),
``HITL_SLACK_API_URL`` (the Web API's base URL; tests point it at a loopback fake),
``HITL_DASHBOARD_URL`` (the dashboard's public URL for links; default: the URL the callback
arrived at), ``HITL_SLACK_DASHBOARD_ONLY`` (comma-separated risks).

Which messages to keep current is held in memory: after a server restart a message is known
again once its agent re-registers it (every 20 s while it waits) or someone clicks it.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import json
import logging
import os
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

try:
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ModuleNotFoundError:  # say what to install (MissingLibrary), not a bare ModuleNotFoundError
    from ..environment import require_dashboard_libraries

    require_dashboard_libraries()
    raise

from .messages import (
    APPROVE,
    FEEDBACK_BLOCK,
    FEEDBACK_INPUT,
    REJECT,
    REJECT_VIEW,
    message,
    parse_action_value,
    reject_modal,
)
from .retry import GaveUp, call_with_retries

__all__ = ["DEFAULT_DASHBOARD_ONLY", "SlackInteractions", "routes"]

log = logging.getLogger("hitl_widget.chat.slack")

DEFAULT_DASHBOARD_ONLY = ("critical",)
#: Slack's window for a request's timestamp
SIGNATURE_WINDOW_S = 300
MAX_BODY = 1_000_000
#: requests whose messages are kept current at once (beyond it the oldest are no longer followed)
MAX_TRACKED = 20_000
_FINAL = ("succeeded", "failed", "rejected", "timed_out", "cancelled")


class _Store(Protocol):  # the part of hitl_widget.dashboard.store.Store used here
    def get_request(self, request_id: str) -> Any: ...
    def decide(
        self, request_id: str, *, version: int, user: Any, kind: Any, edits: Any, feedback: Any, channel: str, now: float
    ) -> Any: ...
    def user_for_slack(self, slack_id: str) -> Any: ...
    def user_for_token(self, token: str) -> Any: ...
    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]: ...


@dataclass(frozen=True)
class _Message:
    channel: str
    ts: str
    dashboard: str


@dataclass
class _Outcome:
    ok: bool
    text: str
    code: str | None = None


def _env_list(name: str, default: Iterable[str]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return tuple(default)
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _error(status: int, text: str, code: str) -> JSONResponse:
    return JSONResponse({"error": text, "code": code}, status_code=status)


class SlackInteractions:
    """The state behind :func:`routes`: verifier, seen actions, registered messages, the Slack worker.

    ``store``: the dashboard's store. Keywords as in :func:`routes`. ``close()`` unsubscribes
    and stops the worker (the app's shutdown; tests).
    """

    def __init__(
        self,
        store: _Store,
        *,
        signing_secret: str | None = None,
        bot_token: str | None = None,
        api_url: str | None = None,
        dashboard_url: str | None = None,
        dashboard_only: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
        decide_budget: float = 2.0,
        slack_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.signing_secret = signing_secret if signing_secret is not None else os.environ.get("HITL_SLACK_SIGNING_SECRET")
        self.bot_token = bot_token if bot_token is not None else os.environ.get("HITL_SLACK_BOT_TOKEN")
        self.api_url = api_url if api_url is not None else os.environ.get("HITL_SLACK_API_URL")
        self.dashboard_url = dashboard_url if dashboard_url is not None else os.environ.get("HITL_DASHBOARD_URL")
        self.dashboard_only = frozenset(
            dashboard_only if dashboard_only is not None else _env_list("HITL_SLACK_DASHBOARD_ONLY", DEFAULT_DASHBOARD_ONLY)
        )
        self.clock = clock
        self.decide_budget = decide_budget
        self.slack_timeout = slack_timeout
        self._lock = threading.Lock()
        self._seen: collections.OrderedDict[tuple[str, ...], float] = collections.OrderedDict()
        self._messages: dict[str, dict[tuple[str, str], _Message]] = {}
        self._last_sent: dict[tuple[str, str], str] = {}
        self._dirty: set[str] = set()
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="hitl-slack-store")
        self._client: Any = None
        self._verifier: Any = None
        self._closed = threading.Event()
        self._worker = threading.Thread(target=self._work, name="hitl-slack", daemon=True)
        self._worker.start()
        self._unsubscribe: Callable[[], None] | None = store.subscribe(self._changed)

    # -- configuration ---------------------------------------------------------------

    def _slack(self) -> Any:
        """slack_sdk's WebClient with the bot token (created once; no built-in retries: ours are bounded)."""
        if self._client is None:
            from slack_sdk import WebClient

            kwargs: dict[str, Any] = {"token": self.bot_token, "timeout": self.slack_timeout, "retry_handlers": []}
            if self.api_url:
                kwargs["base_url"] = self.api_url
            self._client = WebClient(**kwargs)
        return self._client

    def _signature_verifier(self) -> Any:
        if self._verifier is None:
            from slack_sdk.signature import SignatureVerifier

            owner = self

            class _Clock:
                def now(self) -> float:
                    return owner.clock()

            self._verifier = SignatureVerifier(str(self.signing_secret), clock=_Clock())  # type: ignore[arg-type]
        return self._verifier

    def routes(self) -> list[Route]:
        return [
            Route("/slack/interactions", self.interactions, methods=["POST"], name="slack_interactions"),
            Route("/slack/messages", self.register, methods=["POST"], name="slack_messages"),
        ]

    def close(self) -> None:
        if self._unsubscribe is not None:
            with contextlib.suppress(Exception):  # the store may be closed already
                self._unsubscribe()
            self._unsubscribe = None
        self._closed.set()
        self._jobs.put(None)
        self._pool.shutdown(wait=False)

    # -- messages kept current ------------------------------------------------------------

    def remember(self, request_id: str, channel: str, ts: str, dashboard: str, *, explicit: bool = False) -> None:
        """Keep the message ``(channel, ts)`` current with request ``request_id``, its links to ``dashboard``.

        ``explicit``: the agent registered it (its link base wins over one guessed from a click's URL,
        which behind a proxy may be an internal address).
        """
        with self._lock:
            known = self._messages.setdefault(request_id, {})
            if explicit or (channel, ts) not in known:
                known[(channel, ts)] = _Message(channel, ts, dashboard)
            while len(self._messages) > MAX_TRACKED:  # requests that never end (the oldest first)
                self._messages.pop(next(iter(self._messages)))

    def messages_for(self, request_id: str) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._messages.get(request_id, {}))

    def _changed(self, request_id: str) -> None:
        """store.subscribe's callback (any thread): re-render the request's messages, coalesced."""
        with self._lock:
            if request_id not in self._messages or request_id in self._dirty:
                return
            self._dirty.add(request_id)
        self._jobs.put(lambda: self._update(request_id))

    def _update(self, request_id: str) -> None:
        with self._lock:
            self._dirty.discard(request_id)
            targets = list(self._messages.get(request_id, {}).values())
        if not targets or not self.bot_token:
            return
        stored = self.store.get_request(request_id)
        if stored is None:
            return
        data = stored.to_json() if hasattr(stored, "to_json") else dict(stored)
        buttons = data.get("risk") not in self.dashboard_only
        for target in targets:
            text, blocks = message(data, dashboard=target.dashboard, buttons=buttons, now=self.clock())
            rendered = json.dumps([text, blocks], sort_keys=True)
            key = (target.channel, target.ts)
            if self._last_sent.get(key) == rendered:
                continue
            try:
                self._call("chat_update", channel=target.channel, ts=target.ts, text=text, blocks=blocks)
            except Exception as exc:
                log.warning("Slack message for request %s not updated: %s", request_id, exc)
                continue
            self._last_sent[key] = rendered
        if data.get("status") in _FINAL:
            with self._lock:
                done = self._messages.pop(request_id, {})
            for key in done:
                self._last_sent.pop(key, None)

    def _call(self, method: str, *, deadline_s: float = 60.0, **kwargs: Any) -> Any:
        client = self._slack()

        def attempt() -> Any:
            return getattr(client, method)(**kwargs)

        return call_with_retries(
            attempt,
            deadline=time.monotonic() + deadline_s,
            keep_going=lambda: not self._closed.is_set(),
            wait=self._closed.wait,
        )

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("Slack background job failed")

    def _ephemeral(self, channel: str | None, user: str, text: str) -> None:
        if not self.bot_token or not channel:
            log.info("Slack user %s: %s (no bot token or channel: not told in Slack)", user, text)
            return

        def job() -> None:
            try:
                self._call("chat_postEphemeral", deadline_s=20.0, channel=channel, user=user, text=text)
            except (GaveUp, Exception) as exc:
                log.warning("ephemeral message to Slack user %s not posted: %s", user, exc)

        self._jobs.put(job)

    # -- the callback -------------------------------------------------------------------

    def _fresh(self, key: tuple[str, ...]) -> bool:
        """True the first time ``key`` is seen (within 10 minutes); False for a retry or replay."""
        now = time.monotonic()
        with self._lock:
            while self._seen:
                oldest, at = next(iter(self._seen.items()))
                if now - at < 600 and len(self._seen) < 20_000:
                    break
                self._seen.pop(oldest)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def _verify(self, body: bytes, headers: Mapping[str, str]) -> JSONResponse | None:
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not timestamp or not signature:
            return _error(401, "missing Slack signature headers", "missing_signature")
        try:
            sent = int(timestamp)
        except ValueError:
            return _error(401, "malformed Slack request timestamp", "bad_signature")
        if abs(self.clock() - sent) > SIGNATURE_WINDOW_S:
            return _error(401, "Slack request timestamp is more than 5 minutes old (or ahead): refused", "expired_signature")
        try:
            valid = self._signature_verifier().is_valid(body=body, timestamp=timestamp, signature=signature)
        except (UnicodeDecodeError, ValueError):
            valid = False
        if not valid:
            return _error(401, "invalid Slack signature", "bad_signature")
        return None

    async def interactions(self, request: Request) -> Response:
        """``POST /slack/interactions``: verify, acknowledge, decide through the store, update the message."""
        if not self.signing_secret:
            return _error(503, "Slack is not configured on this server: set HITL_SLACK_SIGNING_SECRET", "slack_not_configured")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, "body too large", "too_large")
        refused = self._verify(body, request.headers)
        if refused is not None:
            log.warning("Slack interaction refused: %s", json.loads(bytes(refused.body))["code"])
            return refused
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8"), strict_parsing=False)
            payload = json.loads(form["payload"][0])
            if not isinstance(payload, dict):
                raise ValueError("payload is not an object")
        except (KeyError, IndexError, ValueError, UnicodeDecodeError):
            return _error(400, "expected a form field 'payload' holding a JSON object", "bad_payload")
        dashboard = self.dashboard_url or str(request.base_url).rstrip("/")
        kind = payload.get("type")
        try:
            if kind == "block_actions":
                return await self._block_actions(payload, dashboard)
            if kind == "view_submission":
                return await self._view_submission(payload, dashboard)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:  # a field of another JSON type ("user": "U1")
            log.warning("Slack interaction with an unexpected shape, nothing decided: %s", exc)
            return _error(400, "the payload's fields do not have the shapes Slack sends", "bad_payload")
        return Response(status_code=200)

    async def _store_call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.wrap_future(self._pool.submit(function, *args, **kwargs))

    async def _block_actions(self, payload: dict[str, Any], dashboard: str) -> Response:
        actions = payload.get("actions") or []
        user_id = str((payload.get("user") or {}).get("id") or "")
        if not actions or not isinstance(actions[0], dict) or not user_id:
            return Response(status_code=200)
        action = actions[0]
        action_id = action.get("action_id")
        if action_id not in (APPROVE, REJECT):
            return Response(status_code=200)  # "Edit in dashboard" (a link) and anything not ours
        container = payload.get("container") or {}
        channel = (payload.get("channel") or {}).get("id") or container.get("channel_id")
        ts = container.get("message_ts") or (payload.get("message") or {}).get("ts")
        key = ("action", user_id, str(action_id), str(action.get("action_ts")), str(ts))
        if not self._fresh(key):
            return Response(status_code=200)
        try:
            request_id, version = parse_action_value(action.get("value"))
        except ValueError:
            return Response(status_code=200)
        if channel and ts:
            self.remember(request_id, str(channel), str(ts), dashboard)
        user = await self._store_call(self.store.user_for_slack, user_id)
        if user is None:
            self._ephemeral(channel, user_id, _UNLINKED.format(user_id=user_id))
            return Response(status_code=200)
        stored = await self._store_call(self.store.get_request, request_id)
        if stored is None:
            self._ephemeral(channel, user_id, "This request is not in the dashboard (any more). Nothing was decided.")
            return Response(status_code=200)
        if stored.risk in self.dashboard_only:
            self._ephemeral(channel, user_id, f"{stored.risk} requests are decided in the dashboard only: {dashboard}")
            return Response(status_code=200)
        if action_id == APPROVE:
            job = self._pool.submit(self._decide, request_id, version, user, "approve", None, channel, user_id)
            with contextlib.suppress(TimeoutError):  # past the budget: acknowledged now, the decision tells the person itself
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), self.decide_budget)
            return Response(status_code=200)
        trigger = payload.get("trigger_id")
        if not trigger or not self.bot_token:
            self._ephemeral(channel, user_id, "Reject needs the feedback form, which this server cannot open: use the dashboard.")
            return Response(status_code=200)
        modal = reject_modal(request_id, version, str(stored.function), channel=channel, ts=ts)
        threading.Thread(target=self._open_modal, args=(trigger, modal, channel, user_id), daemon=True).start()
        return Response(status_code=200)

    def _open_modal(self, trigger: str, modal: dict[str, Any], channel: str | None, user_id: str) -> None:
        try:  # a trigger_id is valid for 3 seconds: a short deadline
            self._call("views_open", deadline_s=2.5, trigger_id=trigger, view=modal)
        except Exception as exc:
            log.warning("Slack feedback modal not opened: %s", exc)
            self._ephemeral(
                channel, user_id, "The feedback form could not be opened; nothing was decided. Try again, or use the dashboard."
            )

    def _decide(
        self, request_id: str, version: int, user: Any, kind: str, feedback: str | None, channel: str | None, slack_user: str
    ) -> _Outcome:
        """``store.decide`` for a Slack click; tells the person when it is refused; queues the message update."""
        from ..dashboard.store import StoreError

        try:
            self.store.decide(
                request_id,
                version=version,
                user=user,
                kind=kind,
                edits=None,
                feedback=feedback,
                channel="slack",
                now=self.clock(),
            )
            outcome = _Outcome(True, "")
        except StoreError as exc:
            text = _REFUSED.get(exc.code, "{message}").format(message=exc.message)
            outcome = _Outcome(False, f"Not {'approved' if kind == 'approve' else 'rejected'}: {text}", exc.code)
            self._ephemeral(channel, slack_user, outcome.text)
        self._changed(request_id)  # also when refused: the message may show an older state
        return outcome

    async def _view_submission(self, payload: dict[str, Any], dashboard: str) -> Response:
        view = payload.get("view") or {}
        if view.get("callback_id") != REJECT_VIEW:
            return Response(status_code=200)
        user_id = str((payload.get("user") or {}).get("id") or "")
        key = ("view", str(view.get("id")), str(view.get("hash")), user_id)
        if not self._fresh(key):
            return JSONResponse({"response_action": "clear"})
        try:
            meta = json.loads(view.get("private_metadata") or "")
            request_id, version = meta["id"], meta["version"]
            if not isinstance(request_id, str) or type(version) is not int:
                raise ValueError
            feedback = view["state"]["values"][FEEDBACK_BLOCK][FEEDBACK_INPUT].get("value") or ""
        except (ValueError, KeyError, TypeError, AttributeError):
            return _modal_error("This form does not belong to a request; nothing was decided.")
        channel, ts = meta.get("channel"), meta.get("ts")
        if isinstance(channel, str) and isinstance(ts, str):
            self.remember(request_id, channel, ts, dashboard)
        user = await self._store_call(self.store.user_for_slack, user_id)
        if user is None:
            return _modal_error(_UNLINKED.format(user_id=user_id))
        stored = await self._store_call(self.store.get_request, request_id)
        if stored is None:
            return _modal_error("This request is not in the dashboard (any more). Nothing was decided.")
        if stored.risk in self.dashboard_only:
            return _modal_error(f"{stored.risk} requests are decided in the dashboard only.")
        job = self._pool.submit(self._decide_quiet, request_id, version, user, str(feedback), channel, user_id)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), self.decide_budget)
        except TimeoutError:
            return JSONResponse({"response_action": "clear"})
        if outcome.ok:
            return JSONResponse({"response_action": "clear"})
        return _modal_error(outcome.text)

    def _decide_quiet(
        self, request_id: str, version: int, user: Any, feedback: str, channel: str | None, slack_user: str
    ) -> _Outcome:
        """The modal's reject: a refusal goes back into the modal (as an error), not an ephemeral message."""
        from ..dashboard.store import StoreError

        try:
            self.store.decide(
                request_id,
                version=version,
                user=user,
                kind="reject",
                edits=None,
                feedback=feedback,
                channel="slack",
                now=self.clock(),
            )
            outcome = _Outcome(True, "")
        except StoreError as exc:
            text = _REFUSED.get(exc.code, "{message}").format(message=exc.message)
            outcome = _Outcome(False, f"Not rejected: {text}", exc.code)
        self._changed(request_id)
        return outcome

    # -- the agent registers its message ---------------------------------------------

    async def register(self, request: Request) -> Response:
        """``POST /slack/messages`` (agent token): ``{request_id, channel, ts, dashboard?}`` → ``{updates, status, version}``.

        ``updates``: whether this server keeps the message current (it has a bot token); when
        False the agent updates its message itself once decided.
        """
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        agent = await self._store_call(self.store.user_for_token, token) if token else None
        if agent is None or getattr(agent, "kind", None) != "agent":
            return _error(401, "an agent token is required (Authorization: Bearer TOKEN)", "unauthorized")
        try:
            data = json.loads(await request.body())
            request_id, channel, ts = data["request_id"], data["channel"], data["ts"]
            if not all(isinstance(v, str) and 0 < len(v) <= 200 for v in (request_id, channel, ts)):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return _error(422, "expected {request_id, channel, ts} (strings)", "invalid")
        stored = await self._store_call(self.store.get_request, request_id)
        if stored is None:
            return _error(404, "no such request", "not_found")
        if stored.agent != agent.name:
            return _error(403, "this request belongs to another agent", "not_your_request")
        link = data.get("dashboard") if isinstance(data.get("dashboard"), str) else None
        dashboard = self.dashboard_url or link or str(request.base_url).rstrip("/")
        known = (channel, ts) in dict.fromkeys(self.messages_for(request_id))
        self.remember(request_id, channel, ts, dashboard, explicit=True)
        if not known and stored.status != "pending":
            self._changed(request_id)
        return JSONResponse({"updates": bool(self.bot_token), "status": stored.status, "version": stored.version})


_UNLINKED = (
    "Your Slack account ({user_id}) is not linked to a dashboard user, so this click changed nothing. "
    "An administrator can link it: hitl users link-slack NAME {user_id}"
)

_REFUSED = {
    "self_approval": "you requested this call, so you cannot approve it. ({message})",
    "expired": "the request timed out before this decision. ({message})",
    "stale": "the arguments were edited since this message was posted; look at the new version. ({message})",
    "repeated": "you have already approved this version. ({message})",
    "already_decided": "the request was already decided. ({message})",
    "role": "your dashboard user does not have a role this request needs. ({message})",
    "not_approvable": "its arguments are too large to show whole, so it can only be rejected. ({message})",
}


def _modal_error(text: str) -> JSONResponse:
    return JSONResponse({"response_action": "errors", "errors": {FEEDBACK_BLOCK: text[:2000]}})


def routes(store: _Store, *, settings: Any = None, **options: Any) -> list[Route]:
    """The Slack routes for the dashboard app: ``POST /slack/interactions`` and ``POST /slack/messages``.

    ``store``: the dashboard's store (``hitl_widget.dashboard.store.Store``). ``settings``: the
    app's ``Settings`` (its ``clock`` is used, so injected test clocks hold here too).
    ``options``: the keywords of :class:`SlackInteractions` (``signing_secret``, ``bot_token``,
    ``api_url``, ``dashboard_url``, ``dashboard_only``, ``clock``, ``decide_budget``), each
    defaulting to its environment variable (see the module). Importing this needs starlette;
    slack_sdk is imported on the first callback (the ``slack`` extra).
    """
    clock = getattr(settings, "clock", None)
    if callable(clock):
        options.setdefault("clock", clock)
    return SlackInteractions(store, **options).routes()
