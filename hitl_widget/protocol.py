"""Messages between an approval card (JS) and the kernel, validated before anything acts on them.

Card -> kernel::

    {"kind": "decision", "version": 2, "request_id": "...",
     "decision": {"kind": "approve", "always": "function" | "arguments" (optional)}
               | {"kind": "edit", "arguments": {name: {"text": "..."} | {"json": "..."}, ...},
                  "always": ... (optional)}
               | {"kind": "reject", "feedback": "..."}}

An edit carries only the arguments the person changed, each as the text of its input:
``{"text": s}`` is the string ``s`` itself (converted to the annotated type by
``request.apply_edit``, e.g. ``"2026-01-02"`` for a ``date``); ``{"json": s}`` is JSON text,
parsed here with Python's exact ``json`` (``[1234567890123456789]`` keeps every digit) — the
card's JavaScript never turns a value into a JS number. Version 2 replaced version 1's raw
JSON values for that reason; a version 1 message is refused.

Types are checked exactly (``type(x) is int`` / ``str`` / ``dict`` / ``list``): ``"version": 2.0``,
``true`` or ``"2"``, a kind or scope that is not a plain string, are refused like any malformed
message, never coerced to what they compare equal to.

Kernel -> card: ``{"kind": "error", "version": 2, "request_id": ..., "error": "...",
"problems": {...}}`` when a message is malformed, stale, or an edit is invalid.
Mirrored in ``js/src/messages.ts``; ``tests/fixtures/messages/`` is checked by both sides.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any, Literal, TypedDict

from .decisions import Approve, Decision, Edit, Reject
from .errors import InvalidEdit

__all__ = [
    "PROTOCOL_VERSION",
    "ErrorMessage",
    "ProtocolError",
    "decode_edit_arguments",
    "error_message",
    "parse_decision_message",
    "parse_review_all_message",
]

PROTOCOL_VERSION = 2
MAX_FEEDBACK = 10_000
#: The longest edited value (characters of text or JSON) a card may send for one argument.
MAX_EDIT_CHARS = 2_000_000
_SCOPES = ("function", "arguments")
#: The deepest nesting of arrays/objects an edit's JSON may have. Deeper JSON is refused before it
#: is parsed: json.loads recurses, and under Pyodide a few thousand levels exhaust the WebAssembly
#: stack and kill the kernel (a RecursionError is only what CPython does).
MAX_EDIT_DEPTH = 100
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text (brackets inside strings do not count), without parsing it."""
    if text.count("[") + text.count("{") <= MAX_EDIT_DEPTH:
        return 0  # cannot be deeper (the common case, at C speed)
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


class ErrorMessage(TypedDict):
    kind: Literal["error"]
    version: int
    request_id: str | None
    error: str
    problems: dict[str, str]


class ProtocolError(ValueError):
    """A message that must change nothing: malformed, wrong version, or for another request."""


def _is_version(value: object) -> bool:
    """True only for the int PROTOCOL_VERSION itself: not ``2.0``, ``True``, ``"2"`` or an int subclass."""
    return type(value) is int and value == PROTOCOL_VERSION


def _is_str(value: object) -> bool:
    """An exact ``str`` (a subclass could compare equal yet behave differently)."""
    return type(value) is str


def _shown(value: object) -> str:
    """A short description of a forged field for an error message (never its whole repr)."""
    try:
        return f"{value!r:.40} ({type(value).__name__})"
    except Exception:
        return type(value).__name__


def _scope(payload: dict[str, Any]) -> Any:
    always = payload.get("always")
    if always is not None and not (_is_str(always) and always in _SCOPES):
        raise ProtocolError(f"decision.always must be one of {_SCOPES} or absent, not {str(always)[:40]!r}")
    return always


def decode_edit_arguments(arguments: object, *, function: str = "the function") -> dict[str, Any]:
    """Edited values from a card's ``{name: {"text": s} | {"json": s}}``.

    ``{"text": s}`` gives ``s``; ``{"json": s}`` gives ``json.loads(s)`` (exact integers of any
    size). ProtocolError when the shape is wrong (a forged or stale card); InvalidEdit naming
    each argument whose JSON does not parse (the person fixes it and sends again).
    """
    if type(arguments) is not dict or not all(_is_str(k) for k in arguments):
        raise ProtocolError("decision.arguments must be an object of argument names to values")
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, entry in arguments.items():
        shape_ok = type(entry) is dict and len(entry) == 1 and all(_is_str(k) for k in entry)
        if not shape_ok or not ({"text", "json"} >= entry.keys()):
            raise ProtocolError(f'decision.arguments[{name[:40]!r}] must be {{"text": ...}} or {{"json": ...}}')
        ((encoding, text),) = entry.items()
        if not _is_str(text):
            raise ProtocolError(f"decision.arguments[{name[:40]!r}].{encoding} must be a string")
        if len(text) > MAX_EDIT_CHARS:
            problems[name] = f"longer than {MAX_EDIT_CHARS:,} characters"
        elif encoding == "text":
            values[name] = text
        elif _json_depth(text) > MAX_EDIT_DEPTH:
            problems[name] = f"nested more than {MAX_EDIT_DEPTH} levels deep"
        else:
            try:
                values[name] = json.loads(text)
            except json.JSONDecodeError as exc:
                problems[name] = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            except RecursionError:
                problems[name] = "not valid JSON here: nested too deeply"
            except ValueError as exc:  # e.g. an integer above sys.get_int_max_str_digits()
                problems[name] = f"not valid JSON here: {str(exc)[:200]}"
    if problems:
        raise InvalidEdit(function, problems)
    return values


def parse_decision_message(
    message: object, *, request_id: str, by: str | None = None, function: str = "the function"
) -> Decision:
    """The Decision a card sent for ``request_id``; ProtocolError for anything else.

    An edit's values are decoded (:func:`decode_edit_arguments`); JSON that does not parse
    raises InvalidEdit naming the argument (``function`` names the call in its message).
    """
    if type(message) is not dict:
        raise ProtocolError(f"a message must be an object, not {type(message).__name__}")
    if not (_is_str(message.get("kind")) and message.get("kind") == "decision"):
        raise ProtocolError(f"unknown message kind {str(message.get('kind'))[:40]!r}")
    if not _is_version(message.get("version")):
        raise ProtocolError(f"unsupported protocol version {_shown(message.get('version'))} (expected {PROTOCOL_VERSION})")
    if not (_is_str(message.get("request_id")) and message.get("request_id") == request_id):
        raise ProtocolError("this decision is for another (or an already decided) request")
    payload = message.get("decision")
    if type(payload) is not dict:
        raise ProtocolError("decision must be an object")
    kind = payload.get("kind")
    if not _is_str(kind):
        raise ProtocolError(f"unknown decision kind {str(kind)[:40]!r}")
    if kind == "approve":
        return Approve(always=_scope(payload), by=by)
    if kind == "edit":
        always = _scope(payload)
        return Edit(arguments=decode_edit_arguments(payload.get("arguments"), function=function), always=always, by=by)
    if kind == "reject":
        feedback = payload.get("feedback", "")
        if not _is_str(feedback):
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
    if type(message) is not dict or not (_is_str(message.get("kind")) and message.get("kind") == "review_all"):
        raise ProtocolError("not a review_all message")
    if not _is_version(message.get("version")):
        raise ProtocolError(f"unsupported protocol version {_shown(message.get('version'))} (expected {PROTOCOL_VERSION})")
    ids = message.get("request_ids")
    if type(ids) is not list or not all(_is_str(i) for i in ids):
        raise ProtocolError("request_ids must be a list of strings")
    payload = message.get("decision")
    if type(payload) is not dict or not (_is_str(payload.get("kind")) and payload.get("kind") in ("approve", "reject")):
        raise ProtocolError("review_all decides approve or reject")
    decision = parse_decision_message(
        {"kind": "decision", "version": PROTOCOL_VERSION, "request_id": "*", "decision": payload}, request_id="*", by=by
    )
    return [i for i in ids if i in pending], decision
