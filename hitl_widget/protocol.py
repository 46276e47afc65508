"""Messages between an approval card (JS) and the kernel, validated before anything acts on them.

Card -> kernel::

    {"kind": "decision", "version": 1, "request_id": "...",
     "decision": {"kind": "approve", "always": "function" | "arguments" (optional)}
               | {"kind": "edit", "arguments": {...}, "always": ... (optional)}
               | {"kind": "reject", "feedback": "..."}}

Kernel -> card: ``{"kind": "error", "version": 1, "request_id": ..., "error": "...",
"problems": {...}}`` when a message is malformed, stale, or an edit is invalid.
Mirrored in ``js/src/messages.ts``; ``tests/fixtures/messages/`` is checked by both sides.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from .decisions import Approve, Decision, Edit, Reject

__all__ = [
    "PROTOCOL_VERSION",
    "ErrorMessage",
    "ProtocolError",
    "error_message",
    "parse_decision_message",
    "parse_review_all_message",
]

PROTOCOL_VERSION = 1
MAX_FEEDBACK = 10_000
_SCOPES = ("function", "arguments")


class ErrorMessage(TypedDict):
    kind: Literal["error"]
    version: int
    request_id: str | None
    error: str
    problems: dict[str, str]


class ProtocolError(ValueError):
    """A message that must change nothing: malformed, wrong version, or for another request."""


def _scope(payload: dict[str, Any]) -> Any:
    always = payload.get("always")
    if always is not None and always not in _SCOPES:
        raise ProtocolError(f"decision.always must be one of {_SCOPES} or absent, not {str(always)[:40]!r}")
    return always


def parse_decision_message(message: object, *, request_id: str, by: str | None = None) -> Decision:
    """The Decision a card sent for ``request_id``; ProtocolError for anything else."""
    if not isinstance(message, dict):
        raise ProtocolError(f"a message must be an object, not {type(message).__name__}")
    if message.get("kind") != "decision":
        raise ProtocolError(f"unknown message kind {str(message.get('kind'))[:40]!r}")
    if message.get("version") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {message.get('version')!r} (expected {PROTOCOL_VERSION})")
    if message.get("request_id") != request_id:
        raise ProtocolError("this decision is for another (or an already decided) request")
    payload = message.get("decision")
    if not isinstance(payload, dict):
        raise ProtocolError("decision must be an object")
    kind = payload.get("kind")
    if kind == "approve":
        return Approve(always=_scope(payload), by=by)
    if kind == "edit":
        arguments = payload.get("arguments")
        if not isinstance(arguments, dict) or not all(isinstance(k, str) for k in arguments):
            raise ProtocolError("decision.arguments must be an object of argument names to values")
        return Edit(arguments=arguments, always=_scope(payload), by=by)
    if kind == "reject":
        feedback = payload.get("feedback", "")
        if not isinstance(feedback, str):
            raise ProtocolError("decision.feedback must be a string")
        if len(feedback) > MAX_FEEDBACK:
            raise ProtocolError(f"decision.feedback is longer than {MAX_FEEDBACK} characters")
        return Reject(feedback=feedback, by=by)
    raise ProtocolError(f"unknown decision kind {str(kind)[:40]!r}")


def error_message(request_id: str | None, error: str, problems: dict[str, str] | None = None) -> ErrorMessage:
    return {
        "kind": "error",
        "version": PROTOCOL_VERSION,
        "request_id": request_id,
        "error": error,
        "problems": dict(problems or {}),
    }


def parse_review_all_message(message: object, *, pending: set[str], by: str | None = None) -> tuple[list[str], Decision]:
    """``(request ids, decision)`` of an "Approve all" / "Reject all" from the review table.

    Ids that are not pending (already decided, or forged) are dropped, never acted on.
    """
    if not isinstance(message, dict) or message.get("kind") != "review_all":
        raise ProtocolError("not a review_all message")
    if message.get("version") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {message.get('version')!r} (expected {PROTOCOL_VERSION})")
    ids = message.get("request_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ProtocolError("request_ids must be a list of strings")
    payload = message.get("decision")
    if not isinstance(payload, dict) or payload.get("kind") not in ("approve", "reject"):
        raise ProtocolError("review_all decides approve or reject")
    decision = parse_decision_message(
        {"kind": "decision", "version": PROTOCOL_VERSION, "request_id": "*", "decision": payload}, request_id="*", by=by
    )
    return [i for i in ids if i in pending], decision
