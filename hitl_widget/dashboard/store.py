"""The dashboard's durable store: requests, the one decision function, users, tokens, sessions.

``open_store(db)`` opens a file path as SQLite (WAL) or a ``postgresql://`` URL as PostgreSQL
(psycopg 3 + psycopg_pool) and applies the numbered migrations. Every method is synchronous and
thread-safe (the app calls them from Starlette's thread pool); several ``Store`` objects, in one
process or many, may share one database ("server instances").

Errors (each carries ``code``, a short machine string, and ``http_status``)::

    StoreError
     ├── NotFound     404  no such request / user / token / session
     ├── Conflict     409  stale version, repeated or late decision, expired, wrong state,
     │                     other fingerprint for a client request id, name taken
     ├── Forbidden    403  role missing, self-approval, an agent deciding, another agent's request
     └── Invalid      422  malformed input (also a ValueError): unknown kind, bad edits, bad filter

Every decision attempt (``decide``), accepted or refused, and every agent step (claim, outcome,
invalid edit, cancel) and expiry is appended to the request's log: ``decision_log(request_id)``.

Refinements of the shared interface (all backward compatible):

- ``open_store(db, *, policy=None)``: ``policy`` (``policy_file.Policy``) sets, for each new
  request, ``approvals_needed`` and ``roles`` from its risk; default one approval by any
  approver. The rule is copied into the request when it is created (what the page shows is what
  is enforced); ``Store.policy`` can be replaced later and applies to requests created afterwards.
- ``StoredRequest`` also has ``context`` (the create body's ``context``), ``approved_by`` (the
  names whose approval of the current version counts, in order), ``updated_at``; approvals carry
  ``feedback`` too: ``{user, version, at, feedback}``.
- ``decide``: the decider's kind and roles are read from the store in the decision's transaction
  (the ``User`` passed names who decides; a name the store does not know is ``Forbidden``, code
  ``unknown_user``). Every kind needs one of the request's roles (when it names any) and a person
  (``User.kind == "person"``); ``on_behalf_of`` may reject but not approve or edit its request.
  Edits name arguments of the request's view (``view["arguments"][i]["name"]``) and are merged
  over the current version's edits (an argument not named keeps its earlier edit). A request
  whose view says ``approvable: False`` can only be rejected (``Forbidden``, code
  ``not_approvable``). A decision that reaches the quorum makes the request ``approved``, with
  ``decision.kind`` "edit" when the approved version carries edits, else "approve"; one
  rejection rejects. ``feedback`` is at most 10,000 characters.
- Expiry: a pending request whose ``expires_at`` has passed is ``timed_out``, never decided:
  ``decide`` on it records the refusal, marks it ``timed_out`` and raises ``Conflict`` (code
  ``expired``); ``expire_due(now)`` marks all due ones (the app runs it periodically). An approved
  request can be claimed after its ``expires_at`` (it was decided in time).
- ``claim``, ``report_outcome``, ``reopen_invalid_edit`` and ``cancel`` refuse another agent's
  request (``Forbidden``, code ``not_your_request``). ``cancel`` works on pending and approved
  (not yet claimed) requests. ``reopen_invalid_edit`` keeps the invalid edits so the next
  approver sees and fixes them; ``problems`` becomes ``{"error", "problems", "version"}``.
- ``list_requests``: ``RequestQuery.status`` may list several statuses separated by commas;
  ``requester`` matches ``on_behalf_of`` or ``agent``; ``order="newest"`` (newest first) is there
  for history views beside the default ``"queue"`` (pending first, then oldest first). ``limit``
  is 1..500 (default 50). A cursor is only valid with the same filters and order.
- ``subscribe``: SQLite calls back for changes committed by any ``Store`` on the same file in this
  or another process too (a change table polled every 20 ms); PostgreSQL via LISTEN/NOTIFY
  (channel ``hitl_requests``), delivered by one listener thread per ``Store``. A callback's
  exception is logged and does not reach the store.
- Users: ``add_user(name, password, roles) -> User`` raises ``Conflict`` when the name is taken;
  names are 1..64 letters, digits and ``. _ @ + -`` starting with a letter or digit (roles the
  same without ``@ +``); a password is 1..1024 characters. ``add_token(name)`` creates the agent
  ``name`` when missing (``Conflict`` when ``name`` is a person); ``revoke_token(name) -> int``
  revokes every token of that agent (``NotFound`` when it has none active).
  ``create_session(user, *, ttl_s=43200, now=None)``, ``user_for_session(sid, *, now=None)``,
  ``end_session(sid)``; ``end_sessions(name) -> int`` ends every session of a user;
  ``set_password(name, password)`` (ends their sessions); ``set_roles(name, roles) -> User``
  (effective at the next decision); ``remove_user(name)`` (sessions end, tokens revoked, the
  record of what they did stays).
  ``link_slack`` raises ``NotFound`` for an unknown person and ``Conflict`` when the Slack id is
  linked to someone else. ``get_user(name) -> User | None``, ``list_users() -> list[User]``.
- ``close()`` (also a context manager) stops the listener and closes connections;
  ``schema_version() -> int`` is the highest migration applied.
- Callbacks of ``subscribe`` run on the thread that committed (SQLite, this Store's changes) or on
  the listener/poller thread: keep them short (hand the id to an event loop with
  ``loop.call_soon_threadsafe``); they may call the store.
- Durability: SQLite commits survive a killed process; claims are also synced to disk (a power
  cut cannot undo one); PostgreSQL commits are durable as the server is configured.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .policy_file import Policy

__all__ = [
    "STATUSES",
    "Conflict",
    "DecisionKind",
    "DecisionRecord",
    "Forbidden",
    "Invalid",
    "NewRequest",
    "NotFound",
    "RequestPage",
    "RequestQuery",
    "Status",
    "Store",
    "StoreError",
    "StoredRequest",
    "User",
    "iso",
    "open_store",
]

Status = Literal["pending", "approved", "rejected", "timed_out", "cancelled", "running", "succeeded", "failed"]
STATUSES: tuple[str, ...] = ("pending", "approved", "rejected", "timed_out", "cancelled", "running", "succeeded", "failed")
DecisionKind = Literal["approve", "edit", "reject"]
_RISK = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
#: longest ``timeout_s`` (about 31 years): beyond it the expiry is not a date an answer can carry
MAX_TIMEOUT_S = 1e9


class StoreError(Exception):
    """Base of the store's refusals; ``code`` names the reason, ``http_status`` the API's answer."""

    http_status: ClassVar[int] = 400
    default_code: ClassVar[str] = "error"

    def __init__(self, message: str, *, code: str | None = None, request: StoredRequest | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.request = request  # the request's state after the refusal, when there is one

    def to_json(self) -> dict[str, str]:
        """``{"error": text, "code": str}``, the API's error body."""
        return {"error": self.message, "code": self.code}


class NotFound(StoreError):
    """No such request, user, token or session::

    try:
        store.decide(rid, ...)
    except NotFound:
        return 404
    """

    http_status = 404
    default_code = "not_found"


class Conflict(StoreError):
    """The request is not in a state this step applies to: a stale version, a repeated or late
    decision, expired, already claimed, or a client request id reused with another fingerprint.
    Nothing changed (except that an expired pending request became ``timed_out``)::

    try:
        store.decide(rid, version=3, ...)
    except Conflict as exc:
        return 409, exc.to_json()   # exc.request is the current state
    """

    http_status = 409
    default_code = "conflict"


class Forbidden(StoreError):
    """This user may not do this: a role missing, approving one's own request, an agent deciding,
    or an agent touching another agent's request::

    try:
        store.decide(rid, user=alice, ...)
    except Forbidden:
        return 403
    """

    http_status = 403
    default_code = "forbidden"


class Invalid(StoreError, ValueError):
    """Malformed input: an unknown decision kind, edits of the wrong shape, a bad filter or cursor::

    try:
        store.list_requests(RequestQuery(status="bogus"))
    except Invalid:
        return 422
    """

    http_status = 422
    default_code = "invalid"


def iso(t: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds (``2026-12-01T21:40:00.123Z``), None as None."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class User:
    """A person (logs in with a password, decides) or an agent (a token; creates requests)."""

    name: str
    kind: Literal["person", "agent"] = "person"
    roles: tuple[str, ...] = ()
    slack_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "roles": list(self.roles), "slack_id": self.slack_id}


@dataclass(frozen=True)
class NewRequest:
    """What an agent posts (``POST /api/requests``).

    ``fingerprint``: the client's hash of the exact call (function + arguments), so a retried
    create is recognised; ``timeout_s``: seconds from creation until the request times out
    (None: never); ``view``: ``hitl_widget.widget.request_view(request)``; ``call_text``: the call
    as text; ``context``: any JSON object the agent adds.
    """

    client_request_id: str
    fingerprint: str
    function: str
    risk: str = "medium"
    timeout_s: float | None = None
    on_behalf_of: str | None = None
    view: Mapping[str, Any] = field(default_factory=dict)
    call_text: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raises :class:`Invalid` naming the first field that is wrong."""
        for name in ("client_request_id", "fingerprint", "function"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value or len(value) > 500:
                raise Invalid(f"{name} must be a non-empty string of at most 500 characters")
        if not isinstance(self.risk, str) or not _RISK.fullmatch(self.risk):
            # one spelling per level: "High", "high " or "ｈｉｇｈ" would silently get the default rule
            # instead of [risk.high]'s (and pass a dashboard-only check for "high")
            raise Invalid(f"risk must be a level name of lowercase letters, digits or _ . - (like 'high'), not {self.risk!r:.99}")
        if self.timeout_s is not None and (
            isinstance(self.timeout_s, bool)
            or not isinstance(self.timeout_s, int | float)
            or not math.isfinite(self.timeout_s)
            or self.timeout_s <= 0
            or self.timeout_s > MAX_TIMEOUT_S
        ):
            raise Invalid(f"timeout_s must be a positive number of seconds (at most {MAX_TIMEOUT_S:.0e}) or null")
        if self.on_behalf_of is not None:
            from .auth import check_name  # (auth imports this module)

            # a dashboard user's name exactly (the self-approval rule compares it ignoring case): a
            # look-alike (" bob", "ｂｏｂ", "bob\u200b", "boᴃ") would let that person approve their own call
            check_name(self.on_behalf_of, "on_behalf_of (the name of the dashboard user the agent acts for)")
        if not isinstance(self.view, Mapping):
            raise Invalid("view must be an object")
        if not isinstance(self.call_text, str):
            raise Invalid("call_text must be a string")
        if not isinstance(self.context, Mapping):
            raise Invalid("context must be an object")
        try:
            json.dumps(dict(self.view)), json.dumps(dict(self.context))
        except (TypeError, ValueError) as exc:
            raise Invalid(f"view and context must be JSON: {exc}") from None


@dataclass(frozen=True)
class StoredRequest:
    """A request as stored; ``to_json()`` is the API's JSON (times as ISO 8601 UTC).

    ``version`` starts at 1 and grows with each edit (and each reopened invalid edit);
    ``edits``: protocol-v2 edit arguments ``{name: {"text": ...} | {"json": ...}}`` of the current
    version, or None; ``approvals``: every approval ``{user, version, at, feedback}`` (only those of
    the current version count: ``approved_by``); ``decision``: None, or ``{kind, by: [names], at,
    feedback, edits}`` once approved or rejected; ``outcome``: None or ``{status, detail, at}``;
    ``problems``: None or ``{error, problems, version}`` after the agent refused an edit.
    """

    id: str
    client_request_id: str
    fingerprint: str
    agent: str
    on_behalf_of: str | None
    function: str
    risk: str
    status: Status
    version: int
    view: dict[str, Any]
    call_text: str
    edits: dict[str, Any] | None
    approvals_needed: int
    roles: tuple[str, ...]
    approvals: tuple[dict[str, Any], ...]
    decision: dict[str, Any] | None
    created_at: float
    expires_at: float | None
    decided_at: float | None
    claimed_at: float | None
    outcome: dict[str, Any] | None
    problems: dict[str, Any] | None
    context: dict[str, Any] = field(default_factory=dict)
    updated_at: float = 0.0

    @property
    def approved_by(self) -> list[str]:
        """Names whose approval of the current version counts, in the order they came."""
        seen: list[str] = []
        for a in self.approvals:
            if a.get("version") == self.version and a.get("user") not in seen:
                seen.append(str(a.get("user")))
        return seen

    def with_changes(self, **changes: Any) -> StoredRequest:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        decision = None
        if self.decision is not None:
            decision = dict(self.decision)
            decision["at"] = iso(decision.get("at"))
        outcome = None
        if self.outcome is not None:
            outcome = dict(self.outcome)
            outcome["at"] = iso(outcome.get("at"))
        return {
            "id": self.id,
            "client_request_id": self.client_request_id,
            "fingerprint": self.fingerprint,
            "agent": self.agent,
            "on_behalf_of": self.on_behalf_of,
            "function": self.function,
            "risk": self.risk,
            "status": self.status,
            "version": self.version,
            "view": self.view,
            "call_text": self.call_text,
            "edits": self.edits,
            "approvals_needed": self.approvals_needed,
            "roles": list(self.roles),
            "approvals": [{**a, "at": iso(a.get("at"))} for a in self.approvals],
            "approved_by": self.approved_by,
            "decision": decision,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "decided_at": iso(self.decided_at),
            "claimed_at": iso(self.claimed_at),
            "updated_at": iso(self.updated_at),
            "outcome": outcome,
            "problems": self.problems,
            "context": self.context,
        }

    def summary_json(self, preview_chars: int = 0) -> dict[str, Any]:
        """``to_json()`` bounded for a list (the queue): every argument's text cut to a preview of
        ``preview_chars`` (default ``SUMMARY_PREVIEW_CHARS``) characters, marked ``complete: False,
        truncated: True`` with its full ``length`` and no ``edit`` start; every other text (call
        text, context, edits, feedback) cut the same way, lists to ``SUMMARY_MAX_ITEMS`` entries.
        The item gets ``"summary": True`` and ``"truncated"`` (whether anything was cut); the
        whole request stays at ``GET /api/requests/{id}``.
        """
        n = preview_chars or SUMMARY_PREVIEW_CHARS
        cut = [False]
        data = self.to_json()
        view = dict(data["view"]) if isinstance(data.get("view"), Mapping) else {}
        arguments = view.get("arguments")
        if isinstance(arguments, list):
            view["arguments"] = [_argument_summary(a, n, cut) for a in arguments[:SUMMARY_MAX_ITEMS]]
            if len(arguments) > SUMMARY_MAX_ITEMS:
                cut[0] = True
                view["arguments_total"] = len(arguments)
        data["view"] = view
        call_text = self.call_text
        data["call_text_length"] = len(call_text)
        out = {key: (value if key in _SUMMARY_KEPT else _bounded(value, n, cut)) for key, value in data.items()}
        out["summary"] = True
        out["truncated"] = cut[0]
        return out


#: characters of each text a list item keeps (``StoredRequest.summary_json``)
SUMMARY_PREVIEW_CHARS = 300
#: entries of each list (arguments, approvals, context) a list item keeps
SUMMARY_MAX_ITEMS = 50
#: fields of a summary that are the server's own, bounded already
_SUMMARY_KEPT = frozenset({
    "id", "client_request_id", "fingerprint", "agent", "on_behalf_of", "status", "version", "approvals_needed",
    "roles", "created_at", "expires_at", "decided_at", "claimed_at", "updated_at", "call_text_length",
})  # fmt: skip


def _bounded(value: Any, n: int, cut: list[bool], depth: int = 0) -> Any:
    """``value`` (JSON) with each string cut to ``n`` characters (ending "…"), each list and
    object to SUMMARY_MAX_ITEMS entries, nothing deeper than 8 levels; ``cut[0]`` set when it cut."""
    if isinstance(value, str):
        if len(value) > n:
            cut[0] = True
            return value[:n] + "…"
        return value
    if depth >= 8 and isinstance(value, (list, dict)):
        cut[0] = True
        return None
    if isinstance(value, list):
        if len(value) > SUMMARY_MAX_ITEMS:
            cut[0] = True
        return [_bounded(v, n, cut, depth + 1) for v in value[:SUMMARY_MAX_ITEMS]]
    if isinstance(value, dict):
        if len(value) > SUMMARY_MAX_ITEMS:
            cut[0] = True
        items = list(value.items())[:SUMMARY_MAX_ITEMS]
        return {str(k)[:n]: _bounded(v, n, cut, depth + 1) for k, v in items}
    return value


def _argument_summary(argument: Any, n: int, cut: list[bool]) -> Any:
    """One argument of a view for a list: its text a preview, with the full length, never editable from it."""
    if not isinstance(argument, Mapping):
        return _bounded(argument, n, cut, 2)
    text = argument.get("text")
    if not isinstance(text, str) or len(text) <= n:
        return _bounded(dict(argument), n, cut, 2)
    cut[0] = True
    shown = dict(argument)
    length = argument.get("length")
    shown.update(
        text=text[:n],
        complete=False,
        truncated=True,
        length=max(length, len(text)) if isinstance(length, int) and not isinstance(length, bool) else len(text),
        edit=None,
        value_json=None,
        editable=False,
    )
    return _bounded(shown, n, cut, 2)


@dataclass(frozen=True)
class DecisionRecord:
    """One line of a request's log: a decision attempt (accepted or refused) or an agent step.

    ``action``: "approve" | "edit" | "reject" (decide), "claim", "outcome", "invalid_edit",
    "cancel", "timeout"; ``accepted``: whether it changed the request; ``code``: the refusal's
    code (None when accepted); ``status``: the request's status after it.
    """

    seq: int
    request_id: str
    at: float
    actor: str
    actor_kind: str
    channel: str
    action: str
    version: int | None
    accepted: bool
    code: str | None
    message: str
    status: str | None
    feedback: str | None
    edits: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "request_id": self.request_id,
            "at": iso(self.at),
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "channel": self.channel,
            "action": self.action,
            "version": self.version,
            "accepted": self.accepted,
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "feedback": self.feedback,
            "edits": self.edits,
        }


QueueOrder = Literal["queue", "newest"]


@dataclass(frozen=True)
class RequestQuery:
    """Filters for ``list_requests``; None means any. ``status``: one status or several joined by
    commas; ``requester``: matches ``on_behalf_of`` or ``agent``; ``cursor``: ``next_cursor`` of the
    previous page (same filters)."""

    status: str | None = None
    function: str | None = None
    risk: str | None = None
    requester: str | None = None
    limit: int = 50
    cursor: str | None = None
    order: QueueOrder = "queue"

    MAX_LIMIT: ClassVar[int] = 500

    def statuses(self) -> tuple[str, ...]:
        """The status filter as a tuple (empty: any); raises :class:`Invalid` for an unknown one."""
        if not self.status:
            return ()
        names = tuple(s.strip() for s in self.status.split(",") if s.strip())
        for s in names:
            if s not in STATUSES:
                raise Invalid(f"unknown status {s!r}; one of {', '.join(STATUSES)}")
        return names

    def checked_limit(self) -> int:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or not 1 <= self.limit <= self.MAX_LIMIT:
            raise Invalid(f"limit must be an integer from 1 to {self.MAX_LIMIT}")
        return self.limit

    def checked_order(self) -> QueueOrder:
        if self.order not in ("queue", "newest"):
            raise Invalid("order must be 'queue' or 'newest'")
        return self.order


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this server gave") from None
    if not isinstance(key, list) or len(key) != 3:
        raise Invalid("cursor is not one this server gave")
    return key


@dataclass(frozen=True)
class RequestPage:
    """One page of ``list_requests``: ``next_cursor`` is None on the last page."""

    items: list[StoredRequest]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"items": [r.to_json() for r in self.items], "next_cursor": self.next_cursor}

    def summary_json(self) -> dict[str, Any]:
        """``to_json()`` with bounded items (``StoredRequest.summary_json``): what ``GET /api/requests`` answers."""
        return {"items": [r.summary_json() for r in self.items], "next_cursor": self.next_cursor}


@runtime_checkable
class Store(Protocol):
    """The dashboard's store (see the module docstring for the rules). Times are epoch seconds."""

    policy: Policy

    # requests
    def create_request(self, new: NewRequest, *, agent: str, now: float) -> tuple[StoredRequest, bool]: ...
    def get_request(self, request_id: str) -> StoredRequest | None: ...
    def list_requests(self, query: RequestQuery) -> RequestPage: ...
    def decide(
        self,
        request_id: str,
        *,
        version: int,
        user: User,
        kind: str,
        edits: dict[str, Any] | None,
        feedback: str | None,
        channel: str,
        now: float,
    ) -> StoredRequest: ...
    def claim(self, request_id: str, *, agent: str, version: int, now: float) -> StoredRequest: ...
    def report_outcome(self, request_id: str, *, agent: str, status: str, detail: Any, now: float) -> StoredRequest: ...
    def reopen_invalid_edit(
        self, request_id: str, *, agent: str, version: int, error: str, problems: Any, now: float
    ) -> StoredRequest: ...
    def cancel(self, request_id: str, *, agent: str, reason: str | None, now: float) -> StoredRequest: ...
    def expire_due(self, now: float) -> list[StoredRequest]: ...
    def decision_log(self, request_id: str) -> list[DecisionRecord]: ...
    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]: ...

    def schema_version(self) -> int: ...

    # people and agents
    def add_user(self, name: str, password: str, roles: Sequence[str] = ()) -> User: ...
    def set_password(self, name: str, password: str) -> None: ...
    def set_roles(self, name: str, roles: Sequence[str]) -> User: ...
    def remove_user(self, name: str) -> None: ...
    def get_user(self, name: str) -> User | None: ...
    def list_users(self) -> list[User]: ...
    def verify_password(self, name: str, password: str) -> User | None: ...
    def add_token(self, name: str) -> str: ...
    def user_for_token(self, token: str) -> User | None: ...
    def revoke_token(self, name: str) -> int: ...
    def link_slack(self, name: str, slack_id: str) -> User: ...
    def user_for_slack(self, slack_id: str) -> User | None: ...
    def create_session(self, user: User, *, ttl_s: float = ..., now: float | None = None) -> str: ...
    def user_for_session(self, sid: str, *, now: float | None = None) -> User | None: ...
    def end_session(self, sid: str) -> None: ...
    def end_sessions(self, name: str) -> int: ...

    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(self, *exc: object) -> None: ...


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def open_store(db: str, *, policy: Policy | None = None) -> Store:
    """Open (creating when needed) the store at ``db`` and apply its migrations.

    ``db``: a file path (or ``sqlite:///PATH``) → SQLite in WAL mode (the file and its folder
    must be writable);
    ``postgresql://user@host:port/dbname`` → PostgreSQL (needs the ``postgresql`` extra).
    ``policy``: approvals and roles per risk (default: one approval by any approver).
    Raises ``ValueError`` for an empty ``db``, ``RuntimeError`` naming the extra when psycopg is
    missing, and the driver's error when the database cannot be opened.
    """
    if not isinstance(db, str) or not db.strip():
        raise ValueError("db must be a file path or a postgresql:// URL")
    if is_postgres_url(db):
        from .postgres_store import PostgresStore

        return PostgresStore(db, policy=policy)
    from .sqlite_store import SqliteStore

    path = db[len("sqlite:///") :] if db.startswith("sqlite:///") else db
    return SqliteStore(path, policy=policy)

