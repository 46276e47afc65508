"""ApprovalCard: the anywidget model behind the notebook card.

The message handler only validates (``hitl_widget.protocol``) and then calls the
public verb ``decide()``, so everything the card can do, Python and tests can do too.
Handlers may run on the kernel's main thread or a subshell thread: state changes are
under a lock and the waiting side is woken by a ``threading.Event``.
"""

from __future__ import annotations

import enum
import html
import json
import pathlib
import threading
import time
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

from .decisions import Decision, Edit, Reject
from .errors import InvalidEdit
from .formatting import json_safe, pretty_value
from .protocol import ProtocolError, error_message, parse_decision_message, parse_review_all_message
from .request import ApprovalRequest

__all__ = ["ApprovalCard", "BatchReview", "request_view"]

STATIC = pathlib.Path(__file__).parent / "static"


def _choices(hint: Any) -> list[str] | None:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return [str(member.value) for member in hint]
    return None


def request_view(request: ApprovalRequest) -> dict[str, Any]:
    """What the card shows: JSON-safe, bounded, text only (mirrors ``RequestView`` in js/src/messages.ts)."""
    deadline = request.deadline
    deadline_ms = None if deadline is None else (time.time() + (deadline - time.monotonic())) * 1000
    arguments = []
    for param in request.parameters:
        if param.name not in request.arguments:
            continue
        value = request.arguments[param.name]
        hint = request.target.hints.get(param.name)
        arguments.append(
            {
                "name": param.name,
                "annotation": param.annotation,
                "value": json_safe(value.value if isinstance(value, enum.Enum) else value),
                "text": pretty_value(value),
                "editable": param.editable,
                "choices": _choices(hint),
            }
        )
    return {
        "id": request.id,
        "function": request.function,
        "summary": request.summary,
        "doc": request.doc,
        "risk": request.risk,
        "label": request.label,
        "timeout": request.timeout,
        "deadline_ms": deadline_ms,
        "arguments": arguments,
    }


class ApprovalCard(anywidget.AnyWidget):  # type: ignore[misc]
    """One request's card; ``decided`` is set once a valid decision arrived."""

    _esm = STATIC / "widget.js"
    _css = STATIC / "card.css"

    request = traitlets.Dict(help="the request as shown: function, arguments (text), risk, deadline").tag(sync=True)
    record = traitlets.Dict(help="the settled decision: status, by, at, feedback, diff").tag(sync=True)
    relay = traitlets.Unicode(
        "", help="BroadcastChannel name the card sends decisions on instead of the comm (JupyterLite)"
    ).tag(sync=True)

    def __init__(self, approval_request: ApprovalRequest, *, user: str | None = None, **kwargs: Any) -> None:
        super().__init__(request=request_view(approval_request), record={}, **kwargs)
        self.approval_request = approval_request
        self.user = user
        self.decision: Decision | None = None
        self.decided = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Decision], None]] = []
        self.reply: Callable[[dict[str, Any]], None] = self.send
        self.on_msg(lambda _widget, content, _buffers: self.receive(content))

    # -- from the frontend -----------------------------------------------------------

    def receive(self, content: Any) -> None:
        """Handle one message from the card (comm or relay); anything invalid is answered with an error."""
        request_id = content.get("request_id") if isinstance(content, dict) else None
        try:
            decision = parse_decision_message(content, request_id=self.approval_request.id, by=self.user)
            self.decide(decision)
        except ProtocolError as exc:
            self.reply(dict(error_message(request_id if isinstance(request_id, str) else None, str(exc))))
        except InvalidEdit as exc:
            self.reply(dict(error_message(self.approval_request.id, str(exc), exc.problems)))

    # -- public verbs --------------------------------------------------------------------

    def decide(self, decision: Decision) -> None:
        """Record ``decision`` (validating an edit first); ProtocolError if already decided."""
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
        record = decision_record(status, self.user, feedback, diff)
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
        super().__init__(requests=[request_view(r) for r in approval_requests], records={}, **kwargs)
        self.approval_requests = {r.id: r for r in approval_requests}
        self.user = user
        self.decisions: dict[str, Decision] = {}
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.reply: Callable[[dict[str, Any]], None] = self.send
        self.on_msg(lambda _widget, content, _buffers: self.receive(content))

    def receive(self, content: Any) -> None:
        """Handle one message from the table (comm or relay); anything invalid is answered with an error."""
        request_id = content.get("request_id") if isinstance(content, dict) else None
        try:
            if isinstance(content, dict) and content.get("kind") == "review_all":
                with self._lock:
                    pending = set(self.approval_requests) - set(self.decisions)
                ids, decision = parse_review_all_message(content, pending=pending, by=self.user)
                for rid in ids:
                    self.decide(rid, decision)
                return
            if not isinstance(request_id, str) or request_id not in self.approval_requests:
                raise ProtocolError("this decision is for a request that is not in this review")
            self.decide(request_id, parse_decision_message(content, request_id=request_id, by=self.user))
        except ProtocolError as exc:
            self.reply(dict(error_message(request_id if isinstance(request_id, str) else None, str(exc))))
        except InvalidEdit as exc:
            self.reply(dict(error_message(request_id if isinstance(request_id, str) else None, str(exc), exc.problems)))

    def decide(self, request_id: str, decision: Decision) -> None:
        """Record one call's decision (edits validated first); ProtocolError if already decided."""
        request = self.approval_requests[request_id]
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
        record = decision_record(status, self.user, feedback, diff)
        with self._lock:
            self.records = {**self.records, request_id: record}

    def summary_text(self) -> str:
        return "\n".join(
            record_text(self.approval_requests[rid].function, rec) for rid, rec in self.records.items()
        )


def decision_record(status: str, user: str | None, feedback: str = "", diff: dict[str, Any] | None = None) -> dict[str, Any]:
    """The compact record a settled card shows (``DecisionRecord`` in js/src/card.ts)."""
    return {
        "status": status,
        "by": None if status in ("timed_out", "cancelled") else user,
        "at": datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "feedback": feedback or None,
        "diff": json_safe(diff or {}),
    }


def record_text(function: str, record: dict[str, Any]) -> str:
    """Plain-text twin of ``describeRecord`` in js/src/card.ts."""
    status = record["status"]
    who = f" by {record['by']}" if record.get("by") else ""
    when = f" at {record['at']}" if record.get("at") else ""
    if status == "edited":
        changes = ", ".join(  # JSON, like describeRecord in js/src/card.ts
            f"{k}: {json.dumps(d['from'], ensure_ascii=False)} → {json.dumps(d['to'], ensure_ascii=False)}"
            for k, d in (record.get("diff") or {}).items()
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
