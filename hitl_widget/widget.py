"""ApprovalCard: the anywidget model behind the notebook card.

The message handler only validates (``hitl_widget.protocol``) and then calls the
public verb ``decide()``, so everything the card can do, Python and tests can do too.
Handlers may run on the kernel's main thread or a subshell thread: state changes are
under a lock and the waiting side is woken by a ``threading.Event``.
"""

from __future__ import annotations

import html
import pathlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

try:
    import anywidget
    import traitlets
except ModuleNotFoundError:  # say what to install (MissingLibrary), not a bare ModuleNotFoundError
    from .environment import require_notebook_libraries

    require_notebook_libraries()
    raise

from . import audit, display
from .card_view import MAX_SHOWN_CHARS, _shown, request_view  # the view is the core's (no anywidget)
from .card_view import argument_view as argument_view
from .decisions import Decision, Edit, Reject
from .errors import InvalidEdit
from .protocol import ProtocolError, error_message, parse_decision_message, parse_review_all_message
from .request import ApprovalRequest

__all__ = ["MAX_SHOWN_CHARS", "ApprovalCard", "BatchReview", "request_view"]

STATIC = pathlib.Path(__file__).parent / "static"

#: How much of a value the compact record (after the decision) repeats.
RECORD_CHARS = 300
#: the decision record's call summary: each argument's text cut to CALL_ARG_CHARS, the whole to CALL_CHARS
CALL_ARG_CHARS = 60
CALL_CHARS = 240


def _refuse_unseen(view: dict[str, Any], decision: Decision) -> None:
    """ProtocolError for an approve/edit of a request whose arguments the card could not show whole."""
    if isinstance(decision, Reject) or view["approvable"]:
        return
    raise ProtocolError(
        f"{', '.join(view['too_large'])}: too large to show whole in the card (over {MAX_SHOWN_CHARS:,} characters), "
        "so this call can only be rejected here"
    )


def _error_reply(request_id: Any, exc: BaseException, function: str) -> dict[str, Any]:
    """The error reply for any exception while handling a card's message (the card re-enables)."""
    rid = request_id if isinstance(request_id, str) else None
    if isinstance(exc, InvalidEdit):  # (the messages may quote a type's name or the person's input)
        problems = {name: _shown(str(problem), keep="\n") for name, problem in exc.problems.items()}
        return dict(error_message(rid, _shown(str(exc), keep="\n"), problems))
    if isinstance(exc, ProtocolError):
        return dict(error_message(rid, _shown(str(exc), keep="\n")))
    detail = display.preview(str(exc) if _str_ok(exc) else type(exc).__name__, 500)[0]
    return dict(
        error_message(
            rid, _shown(f"could not check this decision for {function}(): {type(exc).__name__}: {detail}; nothing was run")
        )
    )


def _str_ok(exc: BaseException) -> bool:
    try:
        str(exc)
    except Exception:
        return False
    return True


class ApprovalCard(anywidget.AnyWidget):  # type: ignore[misc]
    """One request's card; ``decided`` is set once a valid decision arrived."""

    _esm = STATIC / "widget.js"
    _css = STATIC / "card.css"

    request = traitlets.Dict(help="the request as shown: function, arguments (text), risk, deadline").tag(sync=True)
    record = traitlets.Dict(help="the settled decision: status, by, at, feedback, diff").tag(sync=True)
    relay = traitlets.Unicode("", help="BroadcastChannel name the card sends decisions on instead of the comm (JupyterLite)").tag(
        sync=True
    )

    def __init__(self, approval_request: ApprovalRequest, *, user: str | None = None, **kwargs: Any) -> None:
        view = request_view(approval_request)
        # Ready before super().__init__ opens the comm: a click may be handled at once on
        # another thread (a kernel subshell) while this thread is still here.
        self.approval_request = approval_request
        self._view = view  # kept here: the synced trait could be changed by a frontend
        self.user = user
        self.decision: Decision | None = None
        self.decided = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Decision], None]] = []
        self.reply: Callable[[dict[str, Any]], None] = self.send
        self.on_msg(lambda _widget, content, _buffers: self.receive(content))
        super().__init__(request=view, record={}, **kwargs)

    # -- from the frontend -----------------------------------------------------------

    def receive(self, content: Any) -> None:
        """Handle one message from the card (comm or relay); every message that decides nothing gets an error reply.

        Malformed, stale and forged messages, invalid edits, and any exception while checking an
        edit (a validator that blows up) are all answered with ``{"kind": "error", ...}``, so the
        card re-enables its buttons instead of waiting forever.
        """
        request_id = content.get("request_id") if isinstance(content, dict) else None
        function = self.approval_request.function
        try:
            decision = parse_decision_message(content, request_id=self.approval_request.id, by=self.user, function=function)
            self.decide(decision)
        except Exception as exc:
            if isinstance(exc, InvalidEdit):
                request_id = self.approval_request.id
            self.reply(_error_reply(request_id, exc, function))

    # -- public verbs --------------------------------------------------------------------

    def decide(self, decision: Decision) -> None:
        """Record ``decision`` (validating an edit first); ProtocolError if already decided.

        Also ProtocolError for an approve or edit when an argument was too large for the card to
        show whole (``request_view``'s ``approvable``): only Reject is possible then.
        """
        _refuse_unseen(self._view, decision)
        if isinstance(decision, Edit):
            self.approval_request.apply_edit(decision.arguments)  # raises InvalidEdit: the card asks again
        with self._lock:
            if self.decided.is_set():
                raise ProtocolError("this request was already decided")
            self.decision = decision
            self.decided.set()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(decision)

    def on_decided(self, listener: Callable[[Decision], None]) -> Callable[[], None]:
        """Call ``listener`` (from any thread) when decided; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)
            already = self.decision if self.decided.is_set() else None
        if already is not None:
            listener(already)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def settle(self, status: str, *, feedback: str = "", diff: dict[str, Any] | None = None) -> str:
        """Show the compact record; returns it as plain text (for outputs where widgets do not render)."""
        with self._lock:
            if status in ("timed_out", "cancelled") and not self.decided.is_set():
                self.decided.set()  # a late click must not count any more
        record = decision_record(status, self.user, feedback, diff, request=self.approval_request)
        self.record = record
        return record_text(self.approval_request.function, record)

    def fallback_bundle(self, text: str) -> dict[str, str]:
        return {"text/plain": text, "text/html": f"<pre>{html.escape(text)}</pre>"}


class BatchReview(anywidget.AnyWidget):  # type: ignore[misc]
    """The batch review table: one card per pending request; ``done`` is set when all are decided."""

    _esm = STATIC / "widget.js"
    _css = STATIC / "card.css"

    requests = traitlets.List(traitlets.Dict(), help="the pending requests as shown, one card each").tag(sync=True)
    records = traitlets.Dict(help="request id -> settled decision record").tag(sync=True)
    relay = traitlets.Unicode("", help="BroadcastChannel name for decisions (JupyterLite)").tag(sync=True)

    def __init__(self, approval_requests: list[ApprovalRequest], *, user: str | None = None, **kwargs: Any) -> None:
        views = [request_view(r) for r in approval_requests]
        # Ready before super().__init__ opens the comm (see ApprovalCard).
        self.approval_requests = {r.id: r for r in approval_requests}
        self._views = {view["id"]: view for view in views}
        self.user = user
        self.decisions: dict[str, Decision] = {}
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.reply: Callable[[dict[str, Any]], None] = self.send
        self.on_msg(lambda _widget, content, _buffers: self.receive(content))
        super().__init__(requests=views, records={}, **kwargs)

    def receive(self, content: Any) -> None:
        """Handle one message from the table (comm or relay); anything invalid is answered with an error."""
        request_id = content.get("request_id") if isinstance(content, dict) else None
        function = "a call in this review"
        try:
            if isinstance(content, dict) and content.get("kind") == "review_all":
                with self._lock:
                    pending = set(self.approval_requests) - set(self.decisions)
                ids, decision = parse_review_all_message(content, pending=pending, by=self.user)
                refused = []
                for rid in ids:
                    try:
                        self.decide(rid, decision)
                    except ProtocolError as refusal:  # e.g. one call too large to approve here: the others still count
                        refused.append((rid, refusal))
                for rid, why in refused:
                    self.reply(_error_reply(rid, why, self.approval_requests[rid].function))
                return
            if not isinstance(request_id, str) or request_id not in self.approval_requests:
                raise ProtocolError("this decision is for a request that is not in this review")
            function = self.approval_requests[request_id].function
            self.decide(request_id, parse_decision_message(content, request_id=request_id, by=self.user, function=function))
        except Exception as exc:
            self.reply(_error_reply(request_id, exc, function))

    def decide(self, request_id: str, decision: Decision) -> None:
        """Record one call's decision (edits validated first); ProtocolError if already decided,
        or for an approve/edit of a call whose arguments were too large to show whole."""
        request = self.approval_requests[request_id]
        _refuse_unseen(self._views[request_id], decision)
        if isinstance(decision, Edit):
            request.apply_edit(decision.arguments)
        with self._lock:
            if request_id in self.decisions:
                raise ProtocolError("this request was already decided")
            self.decisions[request_id] = decision
            all_done = len(self.decisions) == len(self.approval_requests)
        status, feedback, diff = status_of(decision, request)
        self.settle(request_id, status, feedback=feedback, diff=diff)
        if all_done:
            self.done.set()
            for listener in list(self._listeners):
                listener()

    def on_done(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` once every request is decided (at once if they already are)."""
        self._listeners.append(listener)
        if self.done.is_set():
            listener()

    def settle(self, request_id: str, status: str, *, feedback: str = "", diff: dict[str, Any] | None = None) -> None:
        record = decision_record(status, self.user, feedback, diff, request=self.approval_requests[request_id])
        with self._lock:
            self.records = {**self.records, request_id: record}

    def summary_text(self) -> str:
        return "\n".join(record_text(self.approval_requests[rid].function, rec) for rid, rec in self.records.items())


def call_summary(request: ApprovalRequest) -> str:
    """``function(name=value, ...)`` for a decision record: which call was decided, bounded.

    Each argument's text is cut to CALL_ARG_CHARS characters and the whole to CALL_CHARS (cuts end
    in "…"). The value of an argument whose name looks secret (``audit.SECRET_NAMES``) reads
    ``[REDACTED]``, and so do secret-looking keys inside values (``audit.redact``): the record is
    saved with the notebook.
    """
    parts = []
    for name, value in request.arguments.items():
        if audit.SECRET_NAMES.search(name):
            text = audit.REDACTED
        else:
            try:
                text = display.preview(audit.redact(value), CALL_ARG_CHARS)[0]
            except Exception as e:  # a value that cannot even be walked still names its argument
                text = f"<{type(e).__name__}>"
        parts.append(f"{name}={text}")
    call = f"{request.function}({', '.join(parts)})"
    return call if len(call) <= CALL_CHARS else call[: CALL_CHARS - 1] + "…"


def decision_record(
    status: str,
    user: str | None,
    feedback: str = "",
    diff: dict[str, Any] | None = None,
    *,
    request: ApprovalRequest | None = None,
) -> dict[str, Any]:
    """The compact record a settled card shows (``DecisionRecord`` in js/src/card.ts); ``by`` and
    ``feedback`` with hidden characters escaped (``display.is_hidden``), as the values are.

    With ``request``, the record also names the call (``call``: ``call_summary``) and its batch
    label (``label``, e.g. ``PENDING_APPROVAL_1``; None outside a batch). Records saved without
    them (older notebooks) stay readable: both keys are optional.
    """
    named: dict[str, Any] = {}
    if request is not None:
        named = {"call": call_summary(request), "label": request.label}
    return {
        **named,
        "status": status,
        "by": None if status in ("timed_out", "cancelled") else _shown(user),
        "at": datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "feedback": _shown(feedback, keep="\n") or None,
        "diff": {
            name: {"from": _record_text(change.get("from")), "to": _record_text(change.get("to"))}
            for name, change in (diff or {}).items()
        },
    }


def _record_text(value: Any) -> str:
    """A changed value as the record repeats it: exact text, cut (ending in "…") past RECORD_CHARS."""
    return display.preview(value, RECORD_CHARS)[0]


def record_text(function: str, record: dict[str, Any]) -> str:
    """Plain-text twin of ``describeRecord`` in js/src/card.ts (plus ``recordCall`` on a second line)."""
    headline = _record_headline(_shown(function), record)
    call = " ".join(_shown(str(part)) for part in (record.get("label"), record.get("call")) if part)
    return f"{headline}\n  {call}" if call else headline


def _record_headline(function: str, record: dict[str, Any]) -> str:
    status = record["status"]
    who = f" by {record['by']}" if record.get("by") else ""
    when = f" at {record['at']}" if record.get("at") else ""
    if status == "edited":
        changes = ", ".join(  # the values' text, like describeRecord in js/src/card.ts
            f"{k}: {d['from']} → {d['to']}" for k, d in (record.get("diff") or {}).items()
        )
        return f"✎ {function}() edited{who}{when}: {changes}"
    if status == "rejected":
        feedback = f": {record['feedback']}" if record.get("feedback") else ""
        return f"✗ {function}() rejected{who}{when}{feedback}"
    if status == "timed_out":
        return f"⏱ {function}() timed out{when}: not run"
    if status == "cancelled":
        return f"⊘ {function}() cancelled{when}: not run"
    return f"✓ {function}() approved{who}{when}"


def status_of(decision: Decision, request: ApprovalRequest) -> tuple[str, str, dict[str, Any]]:
    """``(status, feedback, diff)`` the card shows for a valid decision."""
    if isinstance(decision, Reject):
        return "rejected", decision.feedback, {}
    if isinstance(decision, Edit):
        final = request.apply_edit(decision.arguments)
        diff = {k: {"from": request.arguments.get(k), "to": v} for k, v in decision.arguments.items() if k in final}
        return ("edited" if diff else "approved"), "", {k: {"from": d["from"], "to": final[k]} for k, d in diff.items()}
    return "approved", "", {}
