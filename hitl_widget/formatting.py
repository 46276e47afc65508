"""Turning arbitrary (possibly huge, cyclic or hostile) argument values into bounded text.

Everything shown to a person or written to the audit log goes through here, so a
gigabyte string or a self-referencing list costs a bounded amount of time and space.
Values are text: callers must never interpret them as markup.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import reprlib
import sys
from pathlib import PurePath
from typing import Any

from .display import python_escape, show_hidden

__all__ = ["bounded_repr", "call_text", "json_safe", "pretty_value"]

_repr = reprlib.Repr()
_repr.maxstring = 160
_repr.maxother = 160
_repr.maxlong = 80
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxfrozenset = _repr.maxdeque = 20
_repr.maxdict = 20
_repr.maxlevel = 4


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 1, 0)]}… [{len(text)} chars]"


def bounded_repr(value: Any, limit: int = 200) -> str:
    """A ``repr`` of at most about ``limit`` characters that never fails.

    A long ``str`` or ``bytes`` is shown by its start and its whole length (``… [N chars]``).
    Characters that are not plain visible text (``display.is_hidden``: controls, bidi and
    zero-width characters, variation selectors, ... — also in a type's name or an object's own
    ``__repr__``) are written as Python escapes, so a message for a person or an agent shows them.
    """
    kind = type(value)
    if kind in (str, bytes, bytearray) and len(value) > limit:
        head = repr(value[: max(limit - 2, 0)])[: max(limit - 1, 0)]
        return f"{show_hidden(head, python_escape, keep='')}… [{len(value)} chars]"
    if kind is str or value is None or kind is bool or kind is float or (kind is int and -(10**40) < value < 10**40):
        text = repr(value)  # what reprlib writes for these while it is short enough, without its dispatch
        if len(text) <= 80:
            return _truncate(text, limit) if kind is not str else show_hidden(_truncate(text, limit), python_escape, keep="")
    try:
        text = _repr.repr(value)
    except Exception as exc:  # a hostile __repr__ must not break an approval
        text = f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"
    return show_hidden(_truncate(text, limit), python_escape, keep="")


_SCALARS = (str, int, float, bool, type(None))
_EXACT_INTS = 10**300  # larger ints are shown by a bounded repr (str() of huge ints is slow and limited)


def _loaded_types() -> tuple[type, ...]:
    """uuid.UUID and decimal.Decimal where those modules are loaded: no value is one otherwise,
    so importing hitl_widget does not import them."""
    found: list[type] = []
    for module, name in (("uuid", "UUID"), ("decimal", "Decimal")):
        loaded = sys.modules.get(module)
        cls = getattr(loaded, name, None) if loaded is not None else None
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)


def _leaf_json(value: Any) -> tuple[bool, Any]:
    """(True, JSON scalar) for values pydantic writes as one string, as pydantic writes them."""
    if isinstance(value, (datetime.datetime, datetime.time)):
        text = value.isoformat()
        return True, text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, datetime.date):
        return True, value.isoformat()
    if isinstance(value, (PurePath, *_loaded_types())):
        return True, str(value)
    if isinstance(value, datetime.timedelta):
        try:
            from pydantic_core import to_jsonable_python

            return True, to_jsonable_python(value)  # ISO 8601: "P1DT2H"
        except Exception:
            return True, str(value)
    return False, None


def _fields(value: Any) -> list[tuple[str, Any]] | None:
    """Named fields of a dataclass instance or a pydantic model; None for anything else."""
    cls = type(value)
    if dataclasses.is_dataclass(cls):
        return [(f.name, getattr(value, f.name, None)) for f in dataclasses.fields(cls)]
    model_fields = getattr(cls, "__pydantic_fields__", None)
    if isinstance(model_fields, dict) and hasattr(value, "__pydantic_fields_set__"):
        return [(name, getattr(value, name, None)) for name in model_fields]
    return None


def json_safe(value: Any, *, max_chars: int = 4000, _depth: int = 0, _budget: list[int] | None = None) -> Any:
    """A JSON-serializable copy of ``value`` of bounded size (about ``max_chars`` characters).

    Plain JSON data (str, numbers, bool, None, lists/tuples and str-keyed dicts of them)
    is kept as is while it is small. Structured values are written the way pydantic writes
    them (``pydantic_core.to_jsonable_python``): dataclasses and pydantic models as objects
    of their fields, NamedTuples as lists, datetime/date/time as ISO
    8601 text (``Z`` for UTC), timedelta as an ISO 8601 duration, Path, UUID and Decimal as
    text, enums as their value. Anything else (sets and bytes too), anything too large or too deep, and dicts with
    keys that are not strings become a bounded ``repr`` string. Cycles end in a repr, never
    recurse. Never raises.
    """
    budget = _budget if _budget is not None else [max_chars]
    try:
        return _json_safe(value, max_chars, _depth, budget)
    except Exception:  # a hostile __iter__, __getattr__ or property: the value is shown by repr
        text = bounded_repr(value, min(max(budget[0], 40), 400))
        budget[0] -= len(text)
        return text


def _json_safe(value: Any, max_chars: int, depth: int, budget: list[int]) -> Any:
    if budget[0] <= 0:
        return "…"
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not isinstance(value, enum.Enum):
        if -_EXACT_INTS < value < _EXACT_INTS:
            budget[0] -= 8 if -(10**15) < value < 10**15 else len(str(value))
            return int(value)
        return bounded_repr(value, 80)
    if isinstance(value, float) and not isinstance(value, enum.Enum):
        budget[0] -= 8
        return float(value) if math.isfinite(value) else repr(value)
    if isinstance(value, str) and not isinstance(value, enum.Enum):
        limit = min(max(budget[0], 16), max_chars)
        out = _truncate(str(value), limit)
        budget[0] -= len(out) + 2
        return out
    is_leaf, leaf = _leaf_json(value)
    if is_leaf:
        return _json_safe(leaf, max_chars, depth, budget)
    if depth >= 6:
        deep = bounded_repr(value, 120)
        budget[0] -= len(deep)
        return deep
    if isinstance(value, enum.Enum):
        return _json_safe(value.value, max_chars, depth + 1, budget)
    fields = _fields(value)
    if fields is not None:
        return _json_object(fields, len(fields), max_chars, depth, budget)
    if isinstance(value, (list, tuple)):  # NamedTuples too: a list, as pydantic writes them
        return _json_list(value, len(value), max_chars, depth, budget)
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return _json_object(value.items(), len(value), max_chars, depth, budget)
    text = bounded_repr(value, min(max(budget[0], 40), 400))
    budget[0] -= len(text)
    return text


def _json_list(items: Any, size: int, max_chars: int, depth: int, budget: list[int]) -> list[Any]:
    out = []
    for i, item in enumerate(items):
        if budget[0] <= 0 or i >= 200:
            out.append(f"… [{size} items]")
            break
        out.append(_json_safe(item, max_chars, depth + 1, budget))
    return out


def _json_object(items: Any, size: int, max_chars: int, depth: int, budget: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, (key, item) in enumerate(items):
        if budget[0] <= 0 or i >= 200:
            out["…"] = f"[{size} keys]"
            break
        budget[0] -= len(key) + 4
        out[_truncate(str(key), 200)] = _json_safe(item, max_chars, depth + 1, budget)
    return out


def pretty_value(value: Any, limit: int = 2000) -> str:
    """Multi-line text for showing one argument: JSON where possible, else a repr."""
    safe = json_safe(value, max_chars=limit)
    if isinstance(value, str):
        return _truncate(json.dumps(safe, ensure_ascii=False), limit + 20)
    if isinstance(safe, str) and not isinstance(value, str):
        return _truncate(safe, limit)
    try:
        text = json.dumps(safe, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        text = bounded_repr(value, limit)
    return _truncate(text, limit + 40)


def call_text(function: str, arguments: dict[str, Any], *, per_value: int = 60, total: int = 300) -> str:
    """``name(a=1, b='x')`` with every value and the whole text bounded."""
    parts = [f"{name}={bounded_repr(value, per_value)}" for name, value in arguments.items()]
    return _truncate(f"{show_hidden(function, python_escape, keep='')}({', '.join(parts)})", total)
