"""Turning arbitrary (possibly huge, cyclic or hostile) argument values into bounded text.

Everything shown to a person or written to the audit log goes through here, so a
gigabyte string or a self-referencing list costs a bounded amount of time and space.
Values are text: callers must never interpret them as markup.
"""

from __future__ import annotations

import json
import math
import reprlib
from typing import Any

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
    """A ``repr`` of at most about ``limit`` characters that never fails."""
    try:
        text = _repr.repr(value)
    except Exception as exc:  # a hostile __repr__ must not break an approval
        text = f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"
    return _truncate(text, limit)


_SCALARS = (str, int, float, bool, type(None))


def json_safe(value: Any, *, max_chars: int = 4000, _depth: int = 0, _budget: list[int] | None = None) -> Any:
    """A JSON-serializable copy of ``value`` of bounded size.

    Plain JSON data (str, numbers, bool, None, lists/tuples and str-keyed dicts of
    them) is kept as is while it is small; anything else, or anything too large or
    too deep, becomes a bounded ``repr`` string. Cycles end in a repr, never recurse.
    """
    budget = _budget if _budget is not None else [max_chars]
    if budget[0] <= 0:
        return "…"
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) < 10**30:
            budget[0] -= 8
            return value
        return bounded_repr(value, 80)
    if isinstance(value, float):
        budget[0] -= 8
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        limit = min(max(budget[0], 16), max_chars)
        out = _truncate(value, limit)
        budget[0] -= len(out) + 2
        return out
    if _depth >= 6:
        deep = bounded_repr(value, 120)
        budget[0] -= len(deep)
        return deep
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        items = []
        for i, item in enumerate(value):
            if budget[0] <= 0 or i >= 200:
                items.append(f"… [{len(value)} items]")
                break
            items.append(json_safe(item, max_chars=max_chars, _depth=_depth + 1, _budget=budget))
        return items
    if type(value) is dict and all(isinstance(k, str) for k in value):
        out_dict: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if budget[0] <= 0 or i >= 200:
                out_dict["…"] = f"[{len(value)} keys]"
                break
            budget[0] -= len(key) + 4
            out_dict[_truncate(key, 200)] = json_safe(item, max_chars=max_chars, _depth=_depth + 1, _budget=budget)
        return out_dict
    text = bounded_repr(value, min(max(budget[0], 40), 400))
    budget[0] -= len(text)
    return text


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
    return _truncate(f"{function}({', '.join(parts)})", total)
