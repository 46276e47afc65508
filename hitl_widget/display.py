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

What is shown is what the function gets: JSON is written from the values an object holds, not
through its serializer, and only where JSON is the whole value. A pydantic model's JSON is its
fields' values (``Field(exclude=True)`` and ``@field_serializer`` hide nothing) and extra
values; a model with private attributes (other than at a plain default), a dataclass, dict or
list subclass with attributes beyond its fields or items, are not JSON-like.

A value is not JSON-like (and gets a structural ``repr``, see :func:`safe_repr`) when it
contains bytes, a dict with keys that are not strings (JSON would merge ``1`` and ``"1"``), a
cycle, nesting deeper than MAX_JSON_DEPTH, or an object JSON cannot hold whole. Objects are
shown by their type and what they hold (``Table(table='logs')``), not by their own
``__repr__`` alone. A ``repr`` that raises becomes ``<TypeName object: repr() raised ...>``;
cycles print as ``[...]`` / ``{...}`` the way Python does. Nothing here raises, and no walk
recurses more than MAX_JSON_DEPTH deep (under Pyodide a value's own ``__repr__`` runs with a
lowered recursion limit too), so no value can exhaust a WebAssembly stack.

Cost: linear in the size of the value (a 1,000,000-item list takes a few hundred ms); the
caller decides how much of the text it can show (see the card's limit in ``widget.py``).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import itertools
import json
import re
import sys
import types
import uuid
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

__all__ = [
    "INVISIBLE",
    "edit_text",
    "full_text",
    "is_hidden",
    "json_escape",
    "json_text",
    "preview",
    "python_escape",
    "safe_repr",
    "show_hidden",
]

_JSON_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_JSON_SCALARS)
#: Deeper JSON-like values are shown as a repr (written without recursion, any depth): the JSON
#: encoder and the walk below recurse, and WebAssembly's stack (Pyodide) is far smaller than the
#: interpreter's recursion limit assumes.
MAX_JSON_DEPTH = 100
#: Objects shown by their attributes, nested deeper than this, are named but not opened.
MAX_OBJECT_DEPTH = 32
_CONTAINERS = (list, tuple, set, frozenset, dict)


class _NotJSON(Exception):
    pass


def _instance_dict(value: Any) -> dict[str, Any] | None:
    """The instance's real ``__dict__`` (through its type's own descriptor, so a ``__dict__``
    property or a hostile ``__getattribute__`` cannot hide it); None when it has none."""
    for cls in type(value).__mro__:
        descriptor = cls.__dict__.get("__dict__")
        if type(descriptor) is types.GetSetDescriptorType:
            own = descriptor.__get__(value, cls)
            return own if type(own) is dict else None
    return None


def _own_state(value: Any) -> dict[str, Any] | None:
    """The attributes an instance holds itself (``__dict__`` and ``__slots__``); None when it has none.

    Raises when the object's attribute machinery does (the caller falls back to its repr).
    """
    state: dict[str, Any] = {}
    own = _instance_dict(value)
    if own:
        state.update(own)
    for cls in type(value).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if not isinstance(name, str) or name in ("__dict__", "__weakref__"):
                continue
            attr = f"_{cls.__name__.lstrip('_')}{name}" if name.startswith("__") and not name.endswith("__") else name
            descriptor = cls.__dict__.get(attr)
            if descriptor is None or not hasattr(descriptor, "__get__"):
                continue
            try:
                state[attr] = descriptor.__get__(value, cls)
            except AttributeError:  # an unset slot
                continue
    return state or None


def _pydantic_model_class() -> Any:
    module = sys.modules.get("pydantic")
    return getattr(module, "BaseModel", None) if module is not None else None


def _model_state(value: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A pydantic model's ``(fields, extra, private)`` values, as the function gets them.

    Read from the instance itself, not through pydantic's serializer: ``Field(exclude=True)``,
    ``@field_serializer`` and ``PrivateAttr`` cannot hide a value.
    """
    fields = dict(_instance_dict(value) or {})
    slots = _own_state(value) or {}
    extra = slots.get("__pydantic_extra__") or {}
    private = slots.get("__pydantic_private__") or {}
    return fields, dict(extra), dict(private)


def _private_at_default(value: Any, private: dict[str, Any]) -> bool:
    """Do all private attributes hold their declared plain default (so the JSON of the fields is the whole value)?"""
    declared = getattr(type(value), "__private_attributes__", {}) or {}
    for name, current in private.items():
        attr = declared.get(name)
        default = getattr(attr, "default", None)
        if attr is None or getattr(attr, "default_factory", None) is not None or type(default) not in _SCALAR_TYPES:
            return False
        if type(current) is not type(default) or current != default:
            return False
    return True


def _json_leaf(value: Any) -> Any:
    """JSON for a value pydantic writes as a scalar (datetime, UUID, Decimal, Enum, Path); _NotJSON otherwise."""
    if issubclass(type(value), enum.Enum):
        return _jsonable(value.value, set(), MAX_JSON_DEPTH - 1)
    stdlib_leaf = type(value).__module__ in _LEAF_MODULES  # (an ip_network caches in its __dict__)
    if not stdlib_leaf and _instance_dict(value):
        raise _NotJSON  # a subclass with attributes of its own: JSON would drop them
    if issubclass(type(value), PurePath):
        return str(value)
    if not issubclass(type(value), _LEAF_TYPES) and not stdlib_leaf:
        raise _NotJSON
    try:
        from pydantic_core import to_jsonable_python
    except ImportError:  # pragma: no cover - pydantic is a dependency; a bare core still works
        raise _NotJSON from None
    try:
        return to_jsonable_python(value)
    except Exception:
        raise _NotJSON from None


def _as_builtin(value: Any) -> Any:
    """A plain builtin copy of a str/int/float/container subclass without attributes of its own; _NotJSON otherwise.

    Read through the builtin's own methods, so an overridden ``__iter__``/``items`` cannot show
    something other than what the object holds.
    """
    if _own_state(value):
        raise _NotJSON
    if issubclass(type(value), str):
        return str.__str__(value)
    if issubclass(type(value), bool):
        return bool(value)
    if issubclass(type(value), int):
        return int.__int__(value)
    if issubclass(type(value), float):
        return float.__float__(value)
    if issubclass(type(value), (dict, list, tuple, frozenset, set)):
        return _builtin_view(value)
    raise _NotJSON


def _jsonable(value: Any, path: set[int], depth: int = 0) -> Any:
    """Plain JSON data for ``value``; _NotJSON where JSON would lose, merge or hide something.

    ``depth``: how deep in the value this is; past MAX_JSON_DEPTH the value is not JSON here.
    """
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if depth >= MAX_JSON_DEPTH or kind in (bytes, bytearray, memoryview):
        raise _NotJSON
    if kind in _CONTAINERS:
        if id(value) in path:
            raise _NotJSON  # a cycle
        path.add(id(value))
        try:
            if kind is dict:
                if not all(type(key) is str for key in value):
                    raise _NotJSON
                if _SCALAR_TYPES.issuperset(map(type, value.values())):
                    return value  # plain data already (the common case, at C speed)
                return {key: _jsonable(item, path, depth + 1) for key, item in value.items()}
            if kind in (list, tuple) and _SCALAR_TYPES.issuperset(map(type, value)):
                return value
            return [_jsonable(item, path, depth + 1) for item in value]
        finally:
            path.discard(id(value))
    model = _pydantic_model_class()
    if model is not None and issubclass(type(value), model):
        fields, extra, private = _model_state(value)
        if not _private_at_default(value, private) or set(fields) != set(type(value).model_fields):
            raise _NotJSON
        if getattr(type(value), "__pydantic_root_model__", False):
            return _jsonable(fields.get("root"), path, depth + 1)
        return _jsonable({**fields, **extra}, path, depth + 1)
    if dataclasses.is_dataclass(value) and not issubclass(type(value), type):
        names = [f.name for f in dataclasses.fields(value)]
        state = _own_state(value) or {}
        if set(state) - set(names):
            raise _NotJSON  # attributes beyond the fields
        return _jsonable({name: state[name] if name in state else getattr(value, name) for name in names}, path, depth + 1)
    if issubclass(type(value), (*_JSON_SCALARS, *_CONTAINERS)) and not issubclass(type(value), enum.Enum):
        return _jsonable(_as_builtin(value), path, depth)  # NamedTuple, OrderedDict, a str subclass, ...
    return _json_leaf(value)


# Characters a person cannot see for what they are, or that reorder the text around them.
_LEAF_TYPES = (datetime.date, datetime.time, datetime.timedelta, uuid.UUID, decimal.Decimal)
#: Standard-library types pydantic also writes as one exact JSON string (IP addresses, fractions).
_LEAF_MODULES = frozenset({"ipaddress", "fractions"})
#: Characters that ``str.isprintable`` calls printable yet show nothing (or nothing of what
#: they are): Unicode's Default_Ignorable_Code_Point set — soft hyphen, combining grapheme
#: joiner, Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), Khmer inherent vowels, Mongolian
#: free variation selectors, zero-width and bidi characters, variation selectors (U+FE00-FE0F,
#: U+E0100-E01EF: they can carry hidden bytes after a visible character), musical formatting
#: characters, tag characters (U+E0000-E007F) — plus the blank braille pattern U+2800.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)


def is_hidden(char: str) -> bool:
    """Is ``char`` (one character) not plain visible text?

    True for every character ``str.isprintable`` refuses (controls, format characters such as
    bidi overrides, separators other than the space, lone surrogates, private-use and
    unassigned code points; also ``\\n`` and ``\\t``, which callers may keep as layout) and
    for the printable-but-invisible ones in :data:`INVISIBLE`. The card's JavaScript mirrors
    this (``NOT_PLAIN_TEXT`` in js/src/inputs.ts); tests/fixtures/hidden_characters.json holds
    code points both sides are tested with.
    """
    return not char.isprintable() or INVISIBLE.match(char) is not None


def json_escape(char: str) -> str:
    """``char`` as a JSON ``\\uXXXX`` escape (a surrogate pair above U+FFFF)."""
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def python_escape(char: str) -> str:
    """``char`` as a Python string escape: ``\\x1b``, ``\\r``, ``\\u202e``, ``\\U000e0101``."""
    text = repr(char)[1:-1]
    if text != char:
        return text
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


_RUNS: dict[str, re.Pattern[str]] = {}


def show_hidden(text: str, escape: Callable[[str], str] = json_escape, keep: str = "\n") -> str:
    """``text`` with every character that is not plain visible text (:func:`is_hidden`) escaped.

    ``escape`` writes one character (:func:`json_escape`, or :func:`python_escape` for text
    shown as Python); the characters in ``keep`` (newline by default) stay as they are. Visible
    text, including a literal backslash, is unchanged. Linear in ``len(text)``; ASCII text
    without controls is returned at once.
    """
    if text.isascii() and text.isprintable():
        return text
    runs = _RUNS.get(keep)
    if runs is None:
        runs = _RUNS[keep] = re.compile("[^ -~" + re.escape(keep).replace("-", "\\-") + "]+")

    def one_run(match: re.Match[str]) -> str:
        run = match.group(0)
        if run.isprintable() and INVISIBLE.search(run) is None:
            return run
        return "".join(escape(char) if is_hidden(char) and char not in keep else char for char in run)

    return runs.sub(one_run, text)


def _show_invisible(text: str) -> str:
    # In JSON text such characters can only be inside strings, where \\uXXXX means the same.
    return show_hidden(text)


def json_text(value: Any, *, indent: int | None = None) -> str | None:
    """``value`` as whole JSON text (see the module docstring), or None when it is not JSON-like.

    ``indent``: as for ``json.dumps`` (None: one line, ``", "`` and ``": "`` separators).
    """
    try:
        data = _jsonable(value, set(), 0)
        text = json.dumps(data, ensure_ascii=False, indent=indent)
    except Exception:
        # _NotJSON; ValueError for ints above sys.get_int_max_str_digits() (repr handles those);
        # anything a hostile attribute or property raises while the value is read.
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


#: Under Pyodide the WebAssembly stack is far smaller than the recursion limit (1000) assumes:
#: a ``__repr__`` that recurses a few hundred times (Python -> C -> Python) kills the whole
#: interpreter ("Maximum call stack size exceeded"), not only raises. There, code of the value's
#: own (``__repr__``, ``__str__``) runs with at most this many more frames, so it raises
#: RecursionError instead. (Off WebAssembly the limit is left alone: it is process-wide.)
USER_CODE_FRAMES = 60
_SMALL_STACK = sys.platform in ("emscripten", "wasi")


def _frame_depth() -> int:
    frame: types.FrameType | None = sys._getframe()
    depth = 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _call_user_code(function: Callable[[], str]) -> str:
    """``function()``, with the recursion limit lowered around it where the stack is small."""
    if not _SMALL_STACK:
        return function()
    old = sys.getrecursionlimit()
    limit = _frame_depth() + USER_CODE_FRAMES
    if limit >= old:
        return function()
    sys.setrecursionlimit(limit)
    try:
        return function()
    finally:
        sys.setrecursionlimit(old)


def _leaf_repr(value: Any) -> str:
    kind: Any = type(value)
    if issubclass(kind, int) and kind.__repr__ is int.__repr__:
        return _int_text(value)
    try:
        text = _call_user_code(lambda: repr(value))
        if not isinstance(text, str):
            raise TypeError(f"__repr__ returned {type(text).__name__}")
        return text
    except Exception as exc:
        error = exc
        try:
            detail = f"{type(error).__name__}: {_call_user_code(lambda: str(error))[:200]}"
        except Exception:
            detail = type(error).__name__
        return f"<{type(value).__name__} object: repr() raised {detail}>"


_OPEN: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
    dict: ("{", "}"),
}
#: Exact builtin types with nothing but their value: their own repr is the whole of them.
_PLAIN_LEAVES = frozenset(
    {str, int, float, bool, type(None), bytes, bytearray, complex, range, slice, type(Ellipsis)}
    | {datetime.datetime, datetime.date, datetime.time, datetime.timedelta, datetime.timezone, decimal.Decimal, uuid.UUID}
)
#: Shown by their own repr: what they hold is not instance attributes a function acts on.
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, enum.Enum, BaseException)


def _builtin_view(value: Any) -> Any:
    """The builtin container a subclass (or deque) holds, read through the builtin's own methods."""
    if issubclass(type(value), dict):
        return dict.copy(value)
    if issubclass(type(value), list):
        return list.copy(value)
    if issubclass(type(value), tuple):
        return tuple.__getitem__(value, slice(None))
    if issubclass(type(value), frozenset):
        return frozenset.copy(value)
    if issubclass(type(value), set):
        return set.copy(value)
    return list(value)  # a deque


def _from_stdlib(kind: type) -> bool:
    """Is ``kind`` defined by the standard library (whose reprs do not hide what they hold)?"""
    module = getattr(kind, "__module__", None)
    return isinstance(module, str) and module.partition(".")[0] in sys.stdlib_module_names


def _structure(value: Any) -> tuple[Any, list[tuple[str, Any]]] | None:
    """``(contents, [(attribute, value)])`` for a value shown by its structure, None for one shown by its repr.

    ``contents`` is the builtin container a container subclass holds (or None); the attributes
    are a pydantic model's fields, extra and private values, a NamedTuple's fields, a dataclass's
    or any object's own ``__dict__`` / ``__slots__`` values.
    """
    if issubclass(type(value), _OPAQUE):
        return None
    model = _pydantic_model_class()
    if model is not None and issubclass(type(value), model):
        fields, extra, private = _model_state(value)
        return None, [*fields.items(), *extra.items(), *private.items()]
    state = _own_state(value)
    attributes = list(state.items()) if state else []
    if issubclass(type(value), tuple) and isinstance(getattr(type(value), "_fields", None), tuple):
        named = list(zip(type(value)._fields, tuple.__iter__(value), strict=False))
        return None, named + attributes
    if issubclass(type(value), (*_CONTAINERS, collections.deque)):
        return _builtin_view(value), attributes
    if not attributes or _from_stdlib(type(value)):
        return None  # nothing of its own to show, or the standard library's own (honest) repr
    return None, attributes


def safe_repr(value: Any) -> str:
    """A whole ``repr`` that never raises and never recurses without end.

    Builtin containers are walked without recursion (any depth), with cycles shown as
    ``[...]``. Other objects are shown by their type and what they hold — ``Table(table='logs')``
    from the instance's ``__dict__``/``__slots__`` (dataclass fields and any other attributes),
    a pydantic model's fields, extra and private values, a NamedTuple's fields, a dict or list
    subclass's items and attributes — never by their own ``__repr__`` alone, which need not show
    what the function acts on. Objects nested more than MAX_OBJECT_DEPTH deep are named
    (``Name(…)``) but not opened; one met again inside itself is ``Name(...)``. Objects with no
    attributes of their own (datetime, Decimal, enum members, functions, types) use their own
    ``repr``; one that raises is described instead. Characters that are not plain visible
    text (:func:`is_hidden`) are written as Python escapes (``\\u202e``), even where an
    object's own ``__repr__`` returned them raw.
    """
    out: list[str] = []
    on_path: set[int] = set()
    # A stack of work items: ("value", v, object depth), ("text", s, 0), ("leave", id, 0).
    stack: list[tuple[str, Any, int]] = [("value", value, 0)]
    while stack:
        what, item, depth = stack.pop()
        if what == "text":
            out.append(item)
            continue
        if what == "leave":
            on_path.discard(item)
            continue
        kind = type(item)
        if kind in _PLAIN_LEAVES:
            out.append(_leaf_repr(item))
            continue
        work: list[tuple[str, Any, int]] = []
        if kind not in _OPEN:
            try:
                structure = _structure(item)
            except Exception:
                structure = None
            if structure is None:
                out.append(_leaf_repr(item))
                continue
            name = kind.__name__
            if id(item) in on_path:
                out.append(f"{name}(...)")
                continue
            if depth >= MAX_OBJECT_DEPTH:
                out.append(f"{name}(…)")
                continue
            contents, attributes = structure
            on_path.add(id(item))
            out.append(f"{name}(")
            if contents is not None:
                work.append(("value", contents, depth + 1))
            for index, (attribute, attribute_value) in enumerate(attributes):
                if index or contents is not None:
                    work.append(("text", ", ", 0))
                work.append(("text", f"{attribute}=", 0))
                work.append(("value", attribute_value, depth + 1))
            work.append(("text", ")", 0))
            work.append(("leave", id(item), 0))
            stack.extend(reversed(work))
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
        for index, entry in enumerate(entries):
            if index:
                work.append(("text", ", ", 0))
            if kind is dict:
                work.append(("value", entry[0], depth))
                work.append(("text", ": ", 0))
                work.append(("value", entry[1], depth))
            else:
                work.append(("value", entry, depth))
        if kind is tuple and len(entries) == 1:
            work.append(("text", ",", 0))
        work.append(("text", closing, 0))
        work.append(("leave", id(item), 0))
        stack.extend(reversed(work))
    return show_hidden("".join(out), python_escape, keep="")


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
