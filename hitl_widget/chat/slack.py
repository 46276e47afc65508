"""SlackApprover: ask in a Slack channel, decide through the dashboard.

::

    from hitl_widget import Gate, SlackApprover

    slack = SlackApprover(
        token=os.environ["SLACK_BOT_TOKEN"], channel="C0123456789",
        dashboard="https://hitl.example", dashboard_token=os.environ["HITL_TOKEN"],
    )
    gate = Gate(routes={"high": slack})

Each call becomes a request in the dashboard first (through
:class:`hitl_widget.approvers.dashboard.DashboardApprover`, with the agent token
``dashboard_token``): the policy (quorum, roles, no self-approval), the timeout and the record
are the server's, and the call waits, claims and reports its outcome exactly as it does with
the dashboard alone. Then a Block Kit message is posted with slack_sdk's ``WebClient``: the
function, each argument as text (long values cut, with a link to the whole request), risk,
requester, agent, approvals needed, expiry, and Approve / Reject buttons beside an
"Edit in dashboard" link (opening it changes nothing). The clicks go to the dashboard server
(``POST /slack/interactions``, :mod:`hitl_widget.chat.slack_interactions`), which maps the Slack
user to a dashboard user and decides through the store's one decision function.

- **Slack is never the only way.** The message is posted on a background thread after the
  request exists in the dashboard; while Slack answers 429 (``Retry-After`` honoured), 5xx, or
  nothing (a timeout), posting is retried with back-off as long as the request is pending,
  and the request is decidable in the dashboard all along. Nothing is lost when Slack is
  away; the call's timeout is the dashboard's.
- **Dashboard only.** Requests whose risk is in ``dashboard_only`` (default ``critical``: chat
  buttons are a weaker channel than a login) get a message without buttons, just the link;
  the server refuses Slack decisions for them too (``HITL_SLACK_DASHBOARD_ONLY``).
- **The message follows the request.** After posting, the message is registered with the
  dashboard server (``POST /slack/messages``; again every 20 s while pending, so a restarted
  server knows it again), which updates it in place on every change. A server without a Slack
  bot token says so, and then this approver updates the message itself once decided and
  once run.
- Hostile argument text cannot mention, link or format (:mod:`hitl_widget.chat.escaping`);
  secret-named arguments are shown ``[REDACTED]`` (a channel is a wider audience than the
  approvers; the dashboard shows them whole).

Duplicates: a post that timed out may still have reached Slack, and its retry then posts a
second message; both carry the same buttons (same request, same version) and a second click
changes nothing, and both are kept current once registered.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..approvers.dashboard import DashboardApprover
from ..decisions import Decision
from ..request import ApprovalRequest
from .messages import message
from .retry import GaveUp, Retryable, call_with_retries

if TYPE_CHECKING:
    import httpx

    from ..gate import Resolution

__all__ = ["DEFAULT_DASHBOARD_ONLY", "SlackApprover"]

log = logging.getLogger("hitl_widget.chat.slack")

DEFAULT_DASHBOARD_ONLY = ("critical",)
#: seconds between re-registrations of a pending request's message with the dashboard server
REGISTER_EVERY = 20.0
#: longest a message is tried for a request without a timeout (the request is in the dashboard anyway)
MAX_POSTING_S = 24 * 3600.0


@dataclass
class _Post:
    """One request's Slack message, from the first attempt to the last update."""

    request_id: str
    stored: dict[str, Any]
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    posted: threading.Event = field(default_factory=threading.Event)
    channel: str | None = None
    ts: str | None = None
    server_updates: bool = False
    attempts: int = 0
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class SlackApprover:
    """An approver that asks in Slack (Block Kit buttons) and decides through the dashboard.

    ``token``: the Slack bot token (``xoxb-...``; scope ``chat:write``). ``channel``: the channel
    id to post in. ``dashboard``: the dashboard's base URL (as the agent reaches it; the links in
    the message use ``link_base`` if given, else this). ``dashboard_token``: the agent token from
    ``hitl tokens add``. ``base_url``: the Slack Web API's base URL (tests: a loopback fake).
    ``on_behalf_of``: the person the agent acts for (cannot approve the request).
    ``dashboard_only``: risks whose messages get no buttons. ``notify``: more notifiers for
    the dashboard approver (a ``TeamsNotifier``). ``slack_timeout``: seconds per Slack API
    attempt. ``register_every``: seconds between re-registrations of a pending request's
    message with the server (so a restarted server keeps it current again). ``client``: a
    ready ``slack_sdk.WebClient`` (instead of ``token``/``base_url``).
    Other keywords go to :class:`~hitl_widget.approvers.dashboard.DashboardApprover`
    (``request_key``, ``poll_seconds``, ``unreachable_after``, ``backoff``, ``transport``).

    Errors are the dashboard approver's (``ApprovalTimeout``, ``ApprovalRejected``); Slack's
    failures are logged (logger ``hitl_widget.chat.slack``) and never decide anything.
    """

    #: the gate's channel name (audit records say "slack")
    channel = "slack"
    #: waits for a person (the gate calls it from a thread when needed)
    blocking = True
    honors_deadline = True

    def __init__(
        self,
        *,
        token: str | None = None,
        channel: str,
        dashboard: str,
        dashboard_token: str,
        base_url: str | None = None,
        on_behalf_of: str | None = None,
        dashboard_only: Iterable[str] = DEFAULT_DASHBOARD_ONLY,
        notify: Iterable[Any] = (),
        link_base: str | None = None,
        slack_timeout: float = 10.0,
        register_every: float = REGISTER_EVERY,
        client: Any = None,
        **dashboard_options: Any,
    ) -> None:
        if client is None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("SlackApprover(token=...) takes the Slack bot token (xoxb-...)")
        if not isinstance(channel, str) or not channel.strip():
            raise ValueError("SlackApprover(channel=...) takes the Slack channel id to post in (C0123...)")
        self.dashboard = DashboardApprover(
            dashboard, token=dashboard_token, on_behalf_of=on_behalf_of, notify=[self._posted, *notify], **dashboard_options
        )
        self.slack_channel = channel
        self.dashboard_only = frozenset(dashboard_only)
        self.link_base = (link_base or dashboard).rstrip("/")
        self.slack_timeout = slack_timeout
        self.register_every = register_every
        self._token = token
        self._base_url = base_url
        self._client = client
        self._client_lock = threading.Lock()
        self._dashboard_token = dashboard_token
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()
        self._posts: dict[str, _Post] = {}
        self._posts_lock = threading.Lock()
        #: what happened to the latest requests' messages: (dashboard request id, event, detail), for logs and tests
        self.events: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=2000)

    def __repr__(self) -> str:
        return f"SlackApprover(channel={self.slack_channel!r}, dashboard={self.dashboard.url!r})"

    # -- the approver ----------------------------------------------------------------

    def __call__(self, request: ApprovalRequest) -> Decision:
        """Create the request in the dashboard, post the message, wait for the decision (blocking)."""
        try:
            return self.dashboard(request)
        finally:
            self._finished(request.id, final=False)

    async def ask_async(self, request: ApprovalRequest) -> Decision:
        """``__call__`` for async callers: nothing blocks the event loop (Slack is posted on a thread)."""
        try:
            return await self.dashboard.ask_async(request)
        finally:
            self._finished(request.id, final=False)

    def before_run(self, request: ApprovalRequest, resolution: Resolution) -> None:
        self.dashboard.before_run(request, resolution)

    def after_run(self, request: ApprovalRequest, outcome: dict[str, str]) -> None:
        try:
            self.dashboard.after_run(request, outcome)
        finally:
            self._finished(request.id, final=True)

    async def before_run_async(self, request: ApprovalRequest, resolution: Resolution) -> None:
        await self.dashboard.before_run_async(request, resolution)

    async def after_run_async(self, request: ApprovalRequest, outcome: dict[str, str]) -> None:
        try:
            await self.dashboard.after_run_async(request, outcome)
        finally:
            self._finished(request.id, final=True)

    def close(self) -> None:
        """Close the HTTP connections (the dashboard's and the registration client)."""
        self.dashboard.close()
        with self._http_lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def message_for(self, request_id: str) -> tuple[str | None, str | None]:
        """``(channel, ts)`` of the message posted for a request (by the gate's request id), or Nones."""
        with self._posts_lock:
            post = self._posts.get(request_id)
        return (None, None) if post is None else (post.channel, post.ts)

    def wait_posted(self, request_id: str, timeout: float) -> bool:
        """Wait until the request's message is posted (tests, demos); False after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._posts_lock:
                post = self._posts.get(request_id)
            if post is not None:
                return post.posted.wait(max(0.0, end - time.monotonic()))
            time.sleep(0.01)
        return False

    # -- Slack ------------------------------------------------------------------------

    def _slack(self) -> Any:
        with self._client_lock:
            if self._client is None:
                try:
                    from slack_sdk import WebClient
                except ImportError:  # pragma: no cover - the slack extra installs it
                    raise ImportError("SlackApprover needs slack_sdk: pip install 'hitl_widget[slack]'") from None
                kwargs: dict[str, Any] = {"token": self._token, "timeout": self.slack_timeout, "retry_handlers": []}
                if self._base_url:
                    kwargs["base_url"] = self._base_url
                self._client = WebClient(**kwargs)
            return self._client

    def _registration_client(self) -> httpx.Client:
        with self._http_lock:
            if self._http is None:
                import httpx

                from .. import __version__

                self._http = httpx.Client(
                    base_url=self.dashboard.url,
                    headers={
                        "Authorization": f"Bearer {self._dashboard_token}",
                        "User-Agent": f"hitl_widget/{__version__} SlackApprover",
                    },
                    timeout=httpx.Timeout(10.0, connect=5.0),
                    follow_redirects=False,
                )
            return self._http

    def _posted(
        self, request: ApprovalRequest, dashboard_request: Mapping[str, Any] | None = None, link: str | None = None
    ) -> None:
        """The dashboard approver's notifier: the request exists on the server; post its message (on a thread)."""
        stored = dict(dashboard_request or {})
        if not stored.get("id"):
            return
        deadline = request.deadline if request.deadline is not None else time.monotonic() + MAX_POSTING_S
        post = _Post(str(stored["id"]), stored, deadline)
        with self._posts_lock:
            self._posts[request.id] = post
            while len(self._posts) > 10_000:
                self._posts.pop(next(iter(self._posts)))
        threading.Thread(target=self._post_and_follow, args=(request.id, post), name="hitl-slack-post", daemon=True).start()

    def _event(self, post: _Post, what: str, detail: str = "") -> None:
        self.events.append((post.request_id, what, detail))

    def _post_and_follow(self, key: str, post: _Post) -> None:
        buttons = str(post.stored.get("risk")) not in self.dashboard_only
        text, blocks = message(post.stored, dashboard=self.link_base, buttons=buttons)
        client = self._slack()

        def attempt() -> Any:
            post.attempts += 1
            return client.chat_postMessage(
                channel=self.slack_channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )

        def retried(number: int, why: Retryable, pause: float) -> None:
            self._event(post, "retry", f"{why.reason}; next attempt in {pause:.2f} s")
            log.info(
                "Slack message for request %s: attempt %d %s; retrying in %.1f s", post.request_id, number, why.reason, pause
            )

        try:
            response = call_with_retries(
                attempt,
                deadline=post.deadline,
                keep_going=lambda: not post.done.is_set(),
                wait=post.done.wait,
                on_retry=retried,
            )
        except GaveUp as exc:
            post.error = str(exc)
            self._event(post, "gave_up", str(exc))
            log.warning("Slack message for request %s not posted: %s (it is decidable in the dashboard)", post.request_id, exc)
            return
        except Exception as exc:
            post.error = f"{type(exc).__name__}: {exc}"
            self._event(post, "failed", post.error)
            log.error(
                "Slack message for request %s not posted: %s (it is decidable in the dashboard)", post.request_id, post.error
            )
            return
        with post.lock:
            post.channel = str(response.get("channel") or self.slack_channel)
            post.ts = str(response.get("ts"))
        post.posted.set()
        self._event(post, "posted", post.ts)
        while True:
            self._register(post)
            if post.done.wait(self.register_every) or time.monotonic() > post.deadline + 60:
                break
        if not post.server_updates:
            self._update_self(post)

    def _register(self, post: _Post) -> None:
        """Tell the dashboard server which message shows the request, so it keeps it current."""
        try:
            response = self._registration_client().post(
                "/slack/messages",
                json={"request_id": post.request_id, "channel": post.channel, "ts": post.ts, "dashboard": self.link_base},
            )
        except Exception as exc:
            post.server_updates = False
            self._event(post, "register_failed", f"{type(exc).__name__}")
            return
        if response.status_code == 200:
            data = response.json()
            post.server_updates = bool(data.get("updates"))
            self._event(post, "registered", "server updates" if post.server_updates else "agent updates")
            if data.get("status") != "pending" and post.server_updates:
                post.done.set()
        else:
            post.server_updates = False
            self._event(post, "register_failed", f"HTTP {response.status_code}")

    def _update_self(self, post: _Post) -> None:
        """No server keeps the message current: re-render it from the request's state now."""
        if post.ts is None:
            return
        try:
            response = self._registration_client().get(f"/api/requests/{post.request_id}")
            stored = response.json() if response.status_code == 200 else None
        except Exception:
            stored = None
        if not isinstance(stored, dict):
            return
        buttons = str(stored.get("risk")) not in self.dashboard_only
        text, blocks = message(stored, dashboard=self.link_base, buttons=buttons)
        client = self._slack()
        try:
            call_with_retries(
                lambda: client.chat_update(channel=post.channel, ts=post.ts, text=text, blocks=blocks),
                deadline=time.monotonic() + 60,
            )
            self._event(post, "updated", str(stored.get("status")))
        except Exception as exc:
            self._event(post, "update_failed", f"{type(exc).__name__}")
            log.warning("Slack message for request %s not updated: %s", post.request_id, exc)

    def _finished(self, key: str, *, final: bool) -> None:
        """The decision came (``final``: the call also ran): stop posting retries; update where the server will not."""
        with self._posts_lock:
            post = self._posts.get(key)
            if final and post is not None:
                self._posts.pop(key, None)
        if post is None:
            return
        if not post.done.is_set():
            post.done.set()  # the posting thread stops retrying / re-registering, and updates if it must
        elif final and post.posted.is_set() and not post.server_updates:
            threading.Thread(target=self._update_self, args=(post,), daemon=True).start()
