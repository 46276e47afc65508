"""The request view: what an approval card shows of one request, as JSON-safe text.

``request_view(request)`` is the one description every card renders (the notebook widget, the
batch review table, the dashboard's request page): mirrored by ``RequestView`` in
js/src/messages.ts. It needs only the core (no anywidget, no kernel), so an agent process
can post it to the dashboard and a server can store it.
"""

from __future__ import annotations

import inspect
import json
import time
from typing import Any

from . import display
from .request import ApprovalRequest

__all__ = ["MAX_SHOWN_CHARS", "TOO_LARGE_PREVIEW", "argument_view", "context_view", "request_view"]

#: The longest argument text (characters of :func:`display.full_text`) a card shows whole.
#: Above it the card shows the start, says how long the value is, and offers only Reject:
#: nobody can approve or edit what the card could not show. (A few MB of text is still
#: quick in a browser; the terminal pages any length.)
MAX_SHOWN_CHARS = 1_000_000
#: How much of an argument too large to show is given as its start.
TOO_LARGE_PREVIEW = 2_000
#: Above this many characters an argument's JSON is shown indented, one item a line.
_INDENT_OVER = 80
#: ... and up to this many (longer JSON stays on one line: Python's indenting encoder is slow).
_INDENT_UP_TO = 20_000

_schema_cache: dict[Any, dict[str, Any]] = {}


def _fallback_schema(hint: Any) -> dict[str, Any]:
    """JSON Schema of an annotation by pydantic's TypeAdapter; ``{}`` (anything) where it has none."""
    if hint is None or hint is inspect.Parameter.empty or hint is Any:
        return {}
    try:
        cached = _schema_cache.get(hint)
    except TypeError:  # an unhashable annotation (Annotated with a list, ...)
        cached, hint_key = None, None
    else:
        hint_key = hint
    if cached is not None:
        return cached
    try:
        from pydantic import TypeAdapter

        schema = TypeAdapter(hint).json_schema()
        json.dumps(schema)
    except Exception:  # a type pydantic cannot describe: the card builds an input from the value
        schema = {}
    if hint_key is not None and len(_schema_cache) < 512:
        _schema_cache[hint_key] = schema
    return schema


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with local ``$ref``s (``#/$defs/Name``) followed."""
    for _ in range(32):
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            return schema
        schema = root.get("$defs", {}).get(ref[len("#/$defs/") :], {})
    return {}


def _choices(schema: dict[str, Any]) -> list[dict[str, str]] | None:
    """Allowed values (``enum``/``const``, also inside ``anyOf``) as exact JSON text for a select.

    ``[{"label": text shown, "json": JSON text sent}]``; None when the values are not a closed set.
    A ``null`` member is left out: the card offers None for every nullable parameter.
    """
    root = schema
    schema = _resolve(schema, root)
    members = schema.get("anyOf") or schema.get("oneOf")
    options = [_resolve(m, root) for m in members] if isinstance(members, list) else [schema]
    values: list[Any] = []
    for option in options:
        if option.get("type") == "null" and "enum" not in option and "const" not in option:
            continue
        if "const" in option:
            values.append(option["const"])
        elif isinstance(option.get("enum"), list):
            values.extend(option["enum"])
        else:
            return None
    if not values:
        return None
    out = []
    for value in values:
        if value is None:
            continue
        text = display.full_text(value)
        out.append({"label": text, "json": text})
    return out or None


def _edit_start(value: Any, text: str, is_json: bool) -> tuple[dict[str, str] | None, str | None]:
    """``(edit, why not)``: what an edit field starts with, or why this value cannot be edited here.

    ``edit`` is ``{"text": ..., "encoding": "text" | "json"}``: a string (or a value pydantic
    writes as a string: datetime, UUID, Path, Decimal) starts as its plain text, anything else as
    its JSON text.
    """
    if type(value) is str:
        return {"text": value, "encoding": "text"}, None
    if is_json:
        if text.startswith('"'):
            return {"text": json.loads(text), "encoding": "text"}, None
        return {"text": text, "encoding": "json"}, None
    if isinstance(value, bytes | bytearray):
        try:
            return {"text": bytes(value).decode("utf-8"), "encoding": "text"}, None
        except UnicodeDecodeError:
            return None, "bytes that are not UTF-8 text cannot be edited in the card"
    return None, "shown as a Python repr (not JSON): it cannot be edited in the card"


def _too_large(value: Any) -> bool:
    """True when ``value``'s text is certainly longer than MAX_SHOWN_CHARS, judged without writing it."""
    kind = type(value)
    if kind in (str, bytes, bytearray):
        return len(value) > MAX_SHOWN_CHARS
    if kind in (list, tuple, set, frozenset, dict):
        return len(value) > MAX_SHOWN_CHARS // 3 + 1  # every item takes at least 3 characters
    return False


def argument_view(request: ApprovalRequest, param: Any) -> dict[str, Any]:
    """One argument as the card shows it (``ArgumentView`` in js/src/messages.ts)."""
    value = request.arguments[param.name]
    hint = request.target.hints.get(param.name)
    schema = getattr(param, "schema", None)
    if not isinstance(schema, dict):  # a ParameterInfo without a schema (an older core)
        schema = _fallback_schema(hint)
    injected = bool(getattr(param, "injected", False))
    uncopied = getattr(request, "uncopied", {}) or {}
    text: str | None = None
    compact: str | None = None
    is_json = False
    if not _too_large(value):
        compact = display.json_text(value)
        is_json = compact is not None
        text = compact if compact is not None else display.safe_repr(value)
        if is_json and _INDENT_OVER < len(text) <= _INDENT_UP_TO and text[:1] in "[{":
            text = display.json_text(value, indent=2) or text
    complete = text is not None and len(text) <= MAX_SHOWN_CHARS
    edit: dict[str, str] | None = None
    not_editable: str | None = None
    if complete:
        assert text is not None
        edit, not_editable = _edit_start(value, text, is_json)
        shown, length = text, len(text)
    else:
        length = None
        shown, _ = display.preview(value, TOO_LARGE_PREVIEW)
        if text is not None:
            length = len(text)
        elif type(value) in (str, bytes, bytearray):
            length = len(value)  # the value's own length (its text is at least as long)
        is_json = shown.startswith(("[", "{", '"'))
        not_editable = "too large to show whole in the card"
    if injected:
        not_editable = "provided by the agent framework, not by the model"
    elif not param.editable:
        not_editable = not_editable or getattr(param, "not_editable", None) or "fixed: this argument cannot be edited"
    return {
        "name": param.name,
        "annotation": _shown(param.annotation),
        "schema": schema,
        "text": shown,
        "format": "json" if is_json else "repr",
        "complete": complete,
        "length": length,
        "edit": edit,
        # compact JSON for matching a select option or a checkbox (short values only: those are)
        "value_json": compact if complete and compact is not None and len(compact) <= 1000 else None,
        "choices": _choices(schema) if schema else None,
        "editable": bool(param.editable and not injected and edit is not None),
        "not_editable": _shown(not_editable),
        "injected": injected,
        "uncopied": _shown(str(uncopied[param.name])) if param.name in uncopied else None,
    }


def _shown(text: Any, keep: str = "") -> Any:
    """Text from the tool's author, an SDK or a schema (names, summary, docstring, annotations,
    reasons) with every character that is not plain visible text written as a Python escape
    (``display.is_hidden``), so every renderer gets safe text; None and non-text stay as they are."""
    return display.show_hidden(text, display.python_escape, keep=keep) if isinstance(text, str) else text


def request_view(request: ApprovalRequest) -> dict[str, Any]:
    """What the card shows (mirrors ``RequestView`` in js/src/messages.ts): text only, exact, whole.

    Every argument's text is :func:`display.full_text` (JSON, else a repr), never shortened;
    an argument (other than an SDK-injected context) longer than MAX_SHOWN_CHARS makes the
    request ``approvable: False`` (the card then offers Reject only, and Python refuses an
    approve or edit for it). The function's name, summary, docstring, label and each
    argument's annotation and notes are escaped where they are not plain visible text (bidi
    overrides, zero-width characters, terminal escapes, variation selectors: ``display.is_hidden``).
    """
    deadline = request.deadline
    deadline_ms = None if deadline is None else (time.time() + (deadline - time.monotonic())) * 1000
    arguments = [argument_view(request, param) for param in request.parameters if param.name in request.arguments]
    too_large = [a["name"] for a in arguments if not a["complete"] and not a["injected"]]
    return {
        "id": request.id,
        "function": _shown(request.function),
        "summary": _shown(request.summary),
        "doc": _shown(request.doc, keep="\n"),
        "risk": request.risk,
        "label": _shown(request.label),
        "timeout": request.timeout,
        "deadline_ms": deadline_ms,
        "arguments": arguments,
        "approvable": not too_large,
        "max_shown_chars": MAX_SHOWN_CHARS,
        "too_large": too_large,
        "context": context_view(request),
    }


def context_view(request: ApprovalRequest) -> list[dict[str, str]]:
    """``request.context`` as the card shows it: ``[{"name", "text"}]``, a string as it is, anything else as JSON.

    Secret-named entries (the audit log's pattern) are shown as ``[REDACTED]``, as everywhere else.
    """
    from .audit import redact

    shown = redact(dict(request.context)) if request.context else {}
    entries: list[dict[str, str]] = []
    for name, value in shown.items():
        text = value if isinstance(value, str) else display.full_text(value)
        if len(text) > MAX_SHOWN_CHARS:
            text = text[:MAX_SHOWN_CHARS] + "…"
        entries.append({"name": _shown(str(name)), "text": _shown(text, keep="\n")})
    return entries
