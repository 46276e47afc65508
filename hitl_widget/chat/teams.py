"""Microsoft Teams: an Adaptive Card with the call and an "Open in dashboard" link, then its outcome.

Teams' incoming webhooks (Office 365 connectors) are retired; a Workflows webhook ("When a
Teams webhook request is received") posts an Adaptive Card into a channel or chat, but buttons
on such a card cannot call back into an app (that needs a registered bot). So the decision
happens in the dashboard, and Teams is told twice::

    from hitl_widget import DashboardApprover, TeamsNotifier
    teams = TeamsNotifier("https://prod-12.westeurope.logic.azure.com/workflows/...", dashboard="https://hitl.example")
    approver = DashboardApprover("https://hitl.example", token=agent_token, notify=[teams])

- :meth:`TeamsNotifier.notify` (for each new request): function, arguments (as text, cut, with
  secret-named arguments redacted: a channel is a wider audience than the approvers), risk,
  requester, agent, approvals needed, expiry; an ``Action.OpenUrl`` "Open in dashboard".
- :meth:`TeamsNotifier.notify_outcome` (after the decision): approved / rejected (with the
  feedback) / timed out, by whom and when.

The card is ``AdaptiveCard`` schema version 1.4 (what Teams renders on desktop, web and
mobile) inside the ``{"type": "message", "attachments": [...]}`` envelope Workflows expects.
Text from the call is in ``RichTextBlock``/``TextRun`` elements (Adaptive Cards apply no
markdown there), fact values through :func:`hitl_widget.chat.escaping.teams_markdown`; hidden
characters are escaped as in every channel.

Posting happens on a background thread with retries (429 with ``Retry-After``, 5xx, timeouts:
:mod:`hitl_widget.chat.retry`) for at most ``max_wait`` seconds, so a slow or failing Teams
never holds up the approval; :meth:`TeamsNotifier.flush` waits for what is queued (tests,
scripts that exit at once). Failures are logged (logger ``hitl_widget.chat.teams``) and kept in
:attr:`TeamsNotifier.errors`; the request stays decidable in the dashboard either way.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from .escaping import cut, teams_markdown, teams_plain
from .messages import epoch, request_facts, request_link
from .retry import GaveUp, call_with_retries

__all__ = ["CARD_VERSION", "TeamsNotifier", "card", "outcome_card"]

log = logging.getLogger("hitl_widget.chat.teams")

CARD_VERSION = "1.4"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VALUE_CHARS = 400
MAX_ARGUMENTS = 12

_OUTCOME = {
    "approved": ("Approved", "good"),
    "running": ("Approved", "good"),
    "succeeded": ("Approved, ran: succeeded", "good"),
    "failed": ("Approved, ran: failed", "attention"),
    "rejected": ("Rejected", "attention"),
    "timed_out": ("Timed out: nobody decided in time, the call did not run", "warning"),
    "cancelled": ("Cancelled", "warning"),
}


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _rich(*runs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **extra}


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _envelope(body: list[dict[str, Any]], link: str | None) -> dict[str, Any]:
    content: dict[str, Any] = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if link:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open in dashboard", "url": link}]
    return {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}],
    }


def card(facts: Mapping[str, Any], *, dashboard: str, now: float | None = None) -> dict[str, Any]:
    """The Workflows payload for a new request. ``facts``: :func:`hitl_widget.chat.messages.request_facts`."""
    now = time.time() if now is None else now
    rid = facts.get("id")
    link = request_link(dashboard, rid) if rid else dashboard
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": "Approval needed", "weight": "Bolder", "size": "Medium", "wrap": True},
        _rich(_run(teams_plain(str(facts.get("function", "?")), keep="") + "()", fontType="Monospace", weight="Bolder")),
    ]
    summary = facts.get("summary")
    if summary:
        body.append(_rich(_run(teams_plain(cut(str(summary), 300)[0], keep=""), isSubtle=True)))
    fact_rows = [{"title": "Risk", "value": teams_markdown(str(facts.get("risk", "?")), keep="")}]
    for key, title in (("on_behalf_of", "Requested by"), ("agent", "Agent")):
        if facts.get(key):
            fact_rows.append({"title": title, "value": teams_markdown(str(facts[key]), keep="")})
    if isinstance(facts.get("approvals_needed"), int):
        fact_rows.append({"title": "Approvals needed", "value": str(facts["approvals_needed"])})
    expires = epoch(facts.get("expires_at"))
    if expires is not None:
        left = max(0, int(expires - now))
        fact_rows.append({"title": "Expires", "value": teams_markdown(f"{_utc(expires)} (in {left} s, as of {_utc(now)})")})
    body.append({"type": "FactSet", "facts": fact_rows})
    arguments = list(facts.get("arguments") or [])
    for argument in arguments[:MAX_ARGUMENTS]:
        text, was_cut = cut(str(argument.get("text", "")), VALUE_CHARS)
        runs = [
            _run(teams_plain(str(argument.get("name", "?")), keep="") + " = ", weight="Bolder"),
            _run(teams_plain(text), fontType="Monospace"),
        ]
        if was_cut or not argument.get("complete", True):
            length = argument.get("length")
            total = length if isinstance(length, int) else len(str(argument.get("text", "")))
            runs.append(_run(f"  (cut: {total:,} characters; the whole value is in the dashboard)", isSubtle=True))
        body.append(_rich(*runs, spacing="Small"))
    if len(arguments) > MAX_ARGUMENTS:
        body.append(
            {
                "type": "TextBlock",
                "text": f"and {len(arguments) - MAX_ARGUMENTS} more arguments in the dashboard",
                "isSubtle": True,
                "wrap": True,
            }
        )
    body.append({"type": "TextBlock", "text": "Decide in the dashboard.", "isSubtle": True, "wrap": True})
    return _envelope(body, link)


def outcome_card(facts: Mapping[str, Any], *, dashboard: str) -> dict[str, Any]:
    """The Workflows payload after the decision: outcome, who, when, feedback."""
    rid = facts.get("id")
    link = request_link(dashboard, rid) if rid else dashboard
    status = str(facts.get("status", ""))
    label, color = _OUTCOME.get(status, (teams_plain(status, keep="") or "Decided", "default"))
    decision = facts.get("decision") if isinstance(facts.get("decision"), Mapping) else {}
    assert isinstance(decision, Mapping)
    runs = [_run(label, weight="Bolder", color=color)]
    by = decision.get("by") or []
    if by and status != "timed_out":
        names = by if isinstance(by, list) else [by]
        runs.append(_run(" by " + ", ".join(teams_plain(str(n), keep="") for n in names)))
    at = epoch(decision.get("at")) or epoch(facts.get("decided_at"))
    if at is not None:
        runs.append(_run(" at " + _utc(at)))
    body: list[dict[str, Any]] = [
        _rich(_run(teams_plain(str(facts.get("function", "?")), keep="") + "()", fontType="Monospace", weight="Bolder")),
        _rich(*runs),
    ]
    if decision.get("kind") == "edit":
        body.append(
            {"type": "TextBlock", "text": "Approved with edited arguments (the change is in the dashboard).", "wrap": True}
        )
    feedback = decision.get("feedback")
    if isinstance(feedback, str) and feedback:
        body.append(_rich(_run("Feedback: ", weight="Bolder"), _run(teams_plain(cut(feedback, 1000)[0]))))
    return _envelope(body, link)


class TeamsNotifier:
    """Posts Adaptive Cards about dashboard requests to a Teams Workflows webhook.

    ``webhook_url``: the Workflows trigger URL (its ``sig=`` query is the secret: keep it out
    of logs; this class never logs it). ``dashboard``: the dashboard's base URL, for the links.
    ``timeout``: seconds per HTTP attempt; ``max_wait``: seconds of retrying per card before it
    is given up (logged, kept in :attr:`errors`). ``post``: the HTTP seam (``(url, payload,
    timeout) -> status``), urllib by default. ``token``: an agent token for the dashboard; with it,
    each notified request is followed (the dashboard's long-poll, for up to ``follow_for``
    seconds) and its outcome card posted once it is decided (approved, rejected, timed out,
    cancelled); without it, call :meth:`notify_outcome` yourself.
    """

    def __init__(
        self,
        webhook_url: str,
        dashboard: str,
        *,
        timeout: float = 10.0,
        max_wait: float = 120.0,
        post: Callable[[str, dict[str, Any], float], int] | None = None,
        token: str | None = None,
        follow_for: float = 7 * 24 * 3600.0,
    ) -> None:
        if not isinstance(webhook_url, str) or not webhook_url.startswith(("https://", "http://")):
            raise ValueError("TeamsNotifier(webhook_url=...) takes the Workflows webhook's http(s) URL")
        if not isinstance(dashboard, str) or not dashboard.startswith(("https://", "http://")):
            raise ValueError("TeamsNotifier(dashboard=...) takes the dashboard's http(s) base URL")
        self.webhook_url = webhook_url
        self.dashboard = dashboard
        self.timeout = timeout
        self.max_wait = max_wait
        self._post = post or _urllib_post
        self._token = token
        self.follow_for = follow_for
        self.errors: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[dict[str, Any], float] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TeamsNotifier(dashboard={self.dashboard!r})"

    def notify(self, request: Any, dashboard_request: Mapping[str, Any] | None = None, link: str | None = None) -> None:
        """Queue the card for a new request (returns at once).

        ``request``: an ``ApprovalRequest`` or the dashboard's request JSON; ``dashboard_request``:
        the dashboard's JSON for it when the caller has it (``DashboardApprover(notify=[...])``
        passes it: its ``id`` makes the link point at the request's own page, else the link is the
        dashboard's queue). ``link`` is accepted for the dashboard approver's call and not needed.
        With ``token=``, the request is then followed and the outcome card posted once decided.
        """
        facts = request_facts(request, dashboard_request)
        self._enqueue(card(facts, dashboard=self.dashboard))
        if self._token and facts.get("id"):
            version = facts.get("version") if isinstance(facts.get("version"), int) else 1
            threading.Thread(
                target=self._follow, args=(request, str(facts["id"]), version), name="hitl-teams-follow", daemon=True
            ).start()

    def notify_outcome(self, request: Any, dashboard_request: Mapping[str, Any] | None = None) -> None:
        """Queue the card with the outcome (``dashboard_request``: the decided request's dashboard JSON)."""
        self._enqueue(outcome_card(request_facts(request, dashboard_request), dashboard=self.dashboard))

    def _follow(self, request: Any, request_id: str, version: int) -> None:
        """Wait (the dashboard's agent long-poll) until the request is decided, then post the outcome card."""
        import httpx

        end = time.monotonic() + self.follow_for
        pause = 0.5
        with httpx.Client(
            base_url=self.dashboard.rstrip("/"),
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=httpx.Timeout(40.0, connect=5.0),
        ) as client:
            while time.monotonic() < end:
                try:
                    response = client.get(f"/api/requests/{request_id}/wait", params={"version": version, "timeout": 25})
                    if 400 <= response.status_code < 500:  # a revoked token, another agent's request: asking again cannot help
                        self._failed(
                            f"Teams outcome card for request {request_id} not posted: the dashboard answered "
                            f"HTTP {response.status_code} while following it"
                        )
                        return
                    data = response.json() if response.status_code == 200 else None
                except (httpx.HTTPError, ValueError):
                    data = None
                if not isinstance(data, dict):
                    time.sleep(pause)
                    pause = min(30.0, pause * 2)
                    continue
                pause = 0.5
                if data.get("status") != "pending":
                    self.notify_outcome(request, data)
                    return
                if isinstance(data.get("version"), int):
                    version = data["version"]
        self._failed(f"Teams outcome card for request {request_id} not posted: not decided within {self.follow_for:.0f} s")

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued card is sent or given up; False when ``timeout`` passed first."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _enqueue(self, payload: dict[str, Any]) -> None:
        with self._idle:
            self._busy += 1
        self._queue.put((payload, time.monotonic() + self.max_wait))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._worker, name="hitl-teams", daemon=True)
                self._thread.start()

    def _worker(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=30)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            if item is None:
                return
            payload, deadline = item
            try:
                self._send(payload, deadline)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _send(self, payload: dict[str, Any], deadline: float) -> None:
        def attempt() -> int:
            status = self._post(self.webhook_url, payload, self.timeout)
            if status >= 300:
                raise _HTTPStatus(status)
            return status

        try:
            call_with_retries(attempt, deadline=deadline)
            self.sent.append(payload)
        except GaveUp as exc:
            self._failed(f"Teams card not posted: {exc}")
        except Exception as exc:  # a 4xx, a malformed URL: retrying would fail the same way
            self._failed(f"Teams card not posted: {type(exc).__name__}: {exc}")

    def _failed(self, message: str) -> None:
        self.errors.append(message)
        log.warning("%s (the request stays decidable in the dashboard)", message)


class _HTTPStatus(Exception):
    def __init__(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.headers = dict(headers or {})


def _urllib_post(url: str, payload: dict[str, Any], timeout: float) -> int:
    data = json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        raise _HTTPStatus(exc.code, dict(exc.headers.items()) if exc.headers else None) from None
