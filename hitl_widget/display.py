"""The whole value of an argument as text, for a person to read and edit.

Every channel shows arguments through here, so what the person sees is exact and whole:

- :func:`full_text` is never shortened. It is JSON where the value is JSON-like (strings
  quoted, integers of any size as all their digits, dataclasses, pydantic models, NamedTuple,
  datetime/date/time/timedelta, Path, UUID, Decimal and enums as pydantic writes them), else
  a ``repr``. Invisible or look-alike characters inside strings (bidi overrides, zero-width
  and other format characters, control characters, line/paragraph separators, lone
  surrogates) are written as ``\\uXXXX`` escapes, so nothing hides in the text; the JSON
  still parses to the same value.
- :func:`preview` is a shortened :func:`full_text` plus whether it was shortened. A channel
  that shows a preview must also offer a way to see :func:`full_text`.
- :func:`edit_text` is what an edit field starts with: the string itself for a ``str``, the
  JSON text otherwise (edits come back as text and ``request.apply_edit`` parses them).

A value is not JSON-like (and gets a ``repr``) when it contains bytes, a dict with keys
that are not strings (JSON would merge ``1`` and ``"1"``), a cycle, or an object pydantic
cannot serialize. A ``repr`` that raises becomes ``<TypeName object: repr() raised ...>``;
cycles print as ``[...]`` / ``{...}`` the way Python does. Nothing here raises.

Cost: linear in the size of the value (a 1,000,000-item list takes a few hundred ms); the
caller decides how much of the text it can show (see the card's limit in ``widget.py``).
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import PurePath
from typing import Any

__all__ = ["edit_text", "full_text", "json_text", "preview", "safe_repr"]

_JSON_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_JSON_SCALARS)


class _NotJSON(Exception):
    pass


def _jsonable(value: Any, path: set[int]) -> Any:
    """Plain JSON data for ``value``; _NotJSON where JSON would lose or merge something."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind in (bytes, bytearray, memoryview):
        raise _NotJSON
    if kind in (list, tuple, set, frozenset, dict):
        if id(value) in path:
            raise _NotJSON  # a cycle
        path.add(id(value))
        try:
            if kind is dict:
                if not all(type(key) is str for key in value):
                    raise _NotJSON
                if _SCALAR_TYPES.issuperset(map(type, value.values())):
                    return value  # plain data already (the common case, at C speed)
                return {key: _jsonable(item, path) for key, item in value.items()}
            if kind in (list, tuple) and _SCALAR_TYPES.issuperset(map(type, value)):
                return value
            return [_jsonable(item, path) for item in value]
        finally:
            path.discard(id(value))
    if isinstance(value, PurePath):
        return str(value)
    try:
        from pydantic_core import to_jsonable_python
    except ImportError:  # pragma: no cover - pydantic is a dependency; a bare core still works
        raise _NotJSON from None
    # dataclasses, pydantic models, NamedTuple, datetime, Path, UUID, Decimal, Enum, ...
    try:
        return to_jsonable_python(value)
    except Exception:
        raise _NotJSON from None


# Characters a person cannot see for what they are, or that reorder the text around them.
_NON_ASCII_RUN = re.compile(r"[^\n -~]+")


def _escape_char(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _escape_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if run.isprintable():
        return run
    return "".join(char if char.isprintable() else _escape_char(char) for char in run)


def _show_invisible(text: str) -> str:
    # In JSON text such characters can only be inside strings, where \\uXXXX means the same.
    if text.isascii() and "\x7f" not in text:
        return text
    return _NON_ASCII_RUN.sub(_escape_run, text)


def json_text(value: Any, *, indent: int | None = None) -> str | None:
    """``value`` as whole JSON text (see the module docstring), or None when it is not JSON-like.

    ``indent``: as for ``json.dumps`` (None: one line, ``", "`` and ``": "`` separators).
    """
    try:
        data = _jsonable(value, set())
        text = json.dumps(data, ensure_ascii=False, indent=indent)
    except (_NotJSON, ValueError, TypeError, RecursionError, OverflowError):
        # ValueError also covers ints above sys.get_int_max_str_digits(); repr handles those.
        return None
    return _show_invisible(text)


def _int_text(value: int) -> str:
    """All digits of an int, even above ``sys.get_int_max_str_digits()``."""
    try:
        return int.__repr__(value)
    except ValueError:
        pass
    sign, magnitude = ("-", -value) if value < 0 else ("", value)
    chunks: list[str] = []
    while magnitude:
        magnitude, low = divmod(magnitude, 10**1000)
        chunks.append(f"{low:01000d}" if magnitude else str(low))
    return sign + "".join(reversed(chunks))


#: Under Pyodide a ``__repr__`` that recurses through ``repr()`` overflows the JavaScript stack
#: (a fatal error that kills the runtime: the JupyterLite kernel) long before Python's recursion
#: limit of 1000; this many more levels turn it into a RecursionError there.
PYODIDE_REPR_DEPTH = 60


def _repr(value: Any) -> Any:
    if sys.platform != "emscripten":
        return repr(value)
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, depth + PYODIDE_REPR_DEPTH))
    try:
        return repr(value)
    finally:
        sys.setrecursionlimit(limit)


def _leaf_repr(value: Any) -> str:
    if isinstance(value, int) and type(value).__repr__ is int.__repr__:
        return _int_text(value)
    try:
        text = _repr(value)
        if not isinstance(text, str):
            raise TypeError(f"__repr__ returned {type(text).__name__}")
        return text
    except Exception as exc:
        try:
            detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        except Exception:
            detail = type(exc).__name__
        return f"<{type(value).__name__} object: repr() raised {detail}>"


_OPEN: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
    dict: ("{", "}"),
}


def safe_repr(value: Any) -> str:
    """A whole ``repr`` that never raises and never recurses without end.

    Builtin containers are walked without recursion (any depth), with cycles shown as
    ``[...]``; anything else uses its own ``repr``, and one that raises is described instead.
    """
    out: list[str] = []
    on_path: set[int] = set()
    # A stack of work items: ("value", v) to print v, ("text", s) to emit s, ("leave", id).
    stack: list[tuple[str, Any]] = [("value", value)]
    while stack:
        what, item = stack.pop()
        if what == "text":
            out.append(item)
            continue
        if what == "leave":
            on_path.discard(item)
            continue
        kind = type(item)
        if kind not in _OPEN:
            out.append(_leaf_repr(item))
            continue
        if id(item) in on_path:
            out.append("[...]" if kind is list else "{...}" if kind is dict else f"<{kind.__name__} ...>")
            continue
        opening, closing = _OPEN[kind]
        try:
            entries = list(item.items()) if kind is dict else list(item)
        except Exception:
            out.append(_leaf_repr(item))
            continue
        if kind is set and not entries:
            out.append("set()")
            continue
        if kind is frozenset and not entries:
            out.append("frozenset()")
            continue
        on_path.add(id(item))
        out.append(opening)
        work: list[tuple[str, Any]] = []
        for index, entry in enumerate(entries):
            if index:
                work.append(("text", ", "))
            if kind is dict:
                work.append(("value", entry[0]))
                work.append(("text", ": "))
                work.append(("value", entry[1]))
            else:
                work.append(("value", entry))
        if kind is tuple and len(entries) == 1:
            work.append(("text", ","))
        work.append(("text", closing))
        work.append(("leave", id(item)))
        stack.extend(reversed(work))
    return "".join(out)


def full_text(value: Any, *, indent: int | None = None) -> str:
    """The whole of ``value`` as text: JSON where it is JSON-like, else a ``repr``. Never raises.

    Never shortened: a 6,000-character command comes back with all 6,000 characters (quoted,
    as JSON), ``[1234567890123456789]`` with every digit. ``indent`` applies to JSON only.
    """
    text = json_text(value, indent=indent)
    return text if text is not None else safe_repr(value)


def edit_text(value: Any) -> str:
    """What an edit field for ``value`` starts with: a ``str`` itself, anything else :func:`full_text`."""
    if type(value) is str:
        return value
    return full_text(value)


def preview(value: Any, limit: int) -> tuple[str, bool]:
    """``(text, shortened)``: :func:`full_text` cut to at most ``limit`` characters.

    A cut text ends with ``"…"``; ``shortened`` says so, and the channel must then offer the
    whole :func:`full_text`. ``limit`` below 1 counts as 1. Costs time in proportion to
    ``limit``, not to the value, for strings, bytes and builtin containers longer than ``limit``
    (their first ``limit`` items cannot fit in ``limit`` characters anyway).
    """
    limit = max(int(limit), 1)
    kind = type(value)
    head: Any = None
    if kind in (str, bytes, bytearray, list, tuple) and len(value) > limit:
        head = value[:limit]
    elif kind in (dict, set, frozenset) and len(value) > limit:
        head = dict(itertools.islice(value.items(), limit)) if kind is dict else list(itertools.islice(value, limit))
        if kind is not dict:
            head = kind(head)
    text = full_text(value if head is None else head)
    if head is None and len(text) <= limit:
        return text, False
    return text[: limit - 1] + "…", True
