"""Checking and converting edited arguments against a function's signature and type hints.

Values from a UI often arrive as strings; a string is converted to the annotated type
only where that is unambiguous (``"7"`` for ``int``, ``"true"`` for ``bool``, JSON text
for a ``list``). Anything that does not fit is reported, never guessed.
Supported annotations: int, float, str, bool, None/Optional/Union, Literal, Enum,
list/tuple/set/dict (with item types) of these, Any, and unannotated parameters.
"""

from __future__ import annotations

import enum
import inspect
import json
import types
import typing
from typing import Any, Union

from .errors import InvalidEdit
from .formatting import bounded_repr
from .target import Target

__all__ = ["apply_edit", "coerce", "type_label"]

_P = inspect.Parameter


class _Mismatch(ValueError):
    pass


_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def type_label(hint: Any) -> str:
    """A short readable name for an annotation: ``int``, ``list[str]``, ``'a' | 'b'``."""
    if hint is inspect.Parameter.empty or hint is Any:
        return "any"
    if hint is type(None) or hint is None:
        return "None"
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return type_label(typing.get_args(hint)[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(hint))
    if origin in (Union, types.UnionType):
        return " | ".join(type_label(a) for a in typing.get_args(hint))
    if origin is not None:
        args = ", ".join(type_label(a) for a in typing.get_args(hint))
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{args}]" if args else name
    return getattr(hint, "__name__", str(hint))


def _parse_json_text(value: str, expected: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise _Mismatch(f"expected {expected} (as JSON), got {bounded_repr(value, 60)}: {exc.msg}") from None


def coerce(value: Any, hint: Any) -> Any:
    """``value`` converted to ``hint``; raises ValueError saying what was expected."""
    if hint is inspect.Parameter.empty or hint is Any or hint is object:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return coerce(value, args[0])
    if hint is None or hint is type(None):
        if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
            return None
        raise _Mismatch(f"expected None, got {bounded_repr(value, 60)}")
    if origin is typing.Literal:
        for choice in args:
            if value == choice and type(value) is type(choice):
                return choice
        if isinstance(value, str):
            for choice in args:
                if str(choice) == value or (isinstance(choice, enum.Enum) and choice.name == value):
                    return choice
        raise _Mismatch(f"expected one of {', '.join(repr(a) for a in args)}, got {bounded_repr(value, 60)}")
    if origin in (Union, types.UnionType):
        # exact type matches first, so "7" stays a str in `str | int`
        for member in args:
            if _is_instance(value, member):
                return coerce(value, member)
        errors = []
        for member in args:
            try:
                return coerce(value, member)
            except ValueError as exc:
                errors.append(str(exc))
        raise _Mismatch(f"expected {type_label(hint)}, got {bounded_repr(value, 60)}")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if isinstance(value, hint):
            return value
        for member in hint:
            if value == member.value or value == member.name or (isinstance(value, str) and str(member.value) == value):
                return member
        choices = ", ".join(repr(m.value) for m in hint)
        raise _Mismatch(f"expected a {hint.__name__} ({choices}), got {bounded_repr(value, 60)}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _Mismatch(f"expected bool (true/false), got {bounded_repr(value, 60)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip(), 10)
            except ValueError:
                pass
        raise _Mismatch(f"expected int, got {bounded_repr(value, 60)}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                pass
            else:
                if result == result and abs(result) != float("inf"):
                    return result
        raise _Mismatch(f"expected float, got {bounded_repr(value, 60)}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch(f"expected str, got {type(value).__name__} {bounded_repr(value, 60)}")
    container = origin or hint
    if container in (list, tuple, set, frozenset, dict):
        label = type_label(hint)
        if isinstance(value, str):
            value = _parse_json_text(value, label)
        if container is dict:
            if not isinstance(value, dict):
                raise _Mismatch(f"expected {label}, got {bounded_repr(value, 60)}")
            key_t, val_t = (*args, Any, Any)[:2]
            return {_item(coerce, k, key_t, f"key {k!r}"): _item(coerce, v, val_t, f"[{k!r}]") for k, v in value.items()}
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise _Mismatch(f"expected {label}, got {bounded_repr(value, 60)}")
        items = list(value)
        if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(items) != len(args):
                raise _Mismatch(f"expected {label} with {len(args)} items, got {len(items)}")
            return tuple(_item(coerce, v, t, f"[{i}]") for i, (v, t) in enumerate(zip(items, args)))
        item_t = args[0] if args else Any
        converted = [_item(coerce, v, item_t, f"[{i}]") for i, v in enumerate(items)]
        return container(converted) if container is not list else converted
    if isinstance(hint, type):
        if isinstance(value, hint):
            return value
        raise _Mismatch(f"expected {hint.__name__}, got {type(value).__name__} {bounded_repr(value, 60)}")
    return value  # an annotation we cannot check (a TypeVar, a string forward ref): accept as given


def _item(fn: Any, value: Any, hint: Any, where: str) -> Any:
    try:
        return fn(value, hint)
    except ValueError as exc:
        raise _Mismatch(f"{where}: {exc}") from None


def _is_instance(value: Any, hint: Any) -> bool:
    if hint is None or hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type) and typing.get_origin(hint) is None:
        return isinstance(value, hint)
    return False


def apply_edit(
    target: Target, arguments: dict[str, Any], edits: dict[str, Any], *, frozen: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The full argument dict after ``edits``, or InvalidEdit naming every problem."""
    if not isinstance(edits, dict):
        raise InvalidEdit(target.name, {"*": f"an edit must be a dict of argument names to values, not {type(edits).__name__}"})
    params = target.signature.parameters
    problems: dict[str, str] = {}
    result = dict(arguments)
    for name, raw in edits.items():
        if not isinstance(name, str) or name not in params:
            problems[str(name)[:80]] = f"no such parameter (parameters: {', '.join(params) or 'none'})"
            continue
        if name in frozen:
            problems[name] = "this argument cannot be edited"
            continue
        param = params[name]
        hint = target.hints.get(name, param.annotation)
        try:
            if param.kind is _P.VAR_POSITIONAL:
                if isinstance(raw, str):
                    raw = _parse_json_text(raw, "a list")
                if not isinstance(raw, (list, tuple)):
                    raise _Mismatch(f"expected a list of extra positional arguments, got {bounded_repr(raw, 60)}")
                result[name] = tuple(_item(coerce, v, hint, f"[{i}]") for i, v in enumerate(raw))
            elif param.kind is _P.VAR_KEYWORD:
                if isinstance(raw, str):
                    raw = _parse_json_text(raw, "an object")
                if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
                    raise _Mismatch(f"expected an object of extra keyword arguments, got {bounded_repr(raw, 60)}")
                clash = sorted(set(raw) & target.keyword_names)
                if clash:
                    raise _Mismatch(f"keys {clash} are named parameters; edit them directly")
                result[name] = {k: _item(coerce, v, hint, f"[{k!r}]") for k, v in raw.items()}
            else:
                result[name] = coerce(raw, hint)
        except ValueError as exc:
            problems[name] = str(exc)
    missing = [
        p.name
        for p in params.values()
        if p.kind not in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD) and p.default is _P.empty and p.name not in result
    ]
    for name in missing:
        problems[name] = "required argument is missing"
    if problems:
        raise InvalidEdit(target.name, problems)
    return result
