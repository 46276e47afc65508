"""Checking and converting edited arguments against a function's signature and type hints.

Edits arrive from every channel as text (what a person typed) or as JSON-decoded values,
and programmatic approvers pass Python values. Each edited argument becomes a value of the
parameter's annotated type, or the edit is refused with :class:`~hitl_widget.InvalidEdit`
naming the parameter and, inside structured values, the path (``address.city``, ``ids[2]``).
Nothing raised while checking escapes as another exception.

The conversion itself is pydantic's (``TypeAdapter`` in lax mode), so every type pydantic
validates works: ``int``/``float``/``bool``/``str``/``bytes``, ``Decimal``, ``UUID``, ``Path``,
``datetime``/``date``/``time``/``timedelta`` (ISO 8601 text), ``Enum``, ``Literal``,
``Optional``/``Union``, ``Annotated`` constraints, ``list``/``tuple``/``set``/``dict`` and the
``collections.abc`` ``Sequence``/``Mapping``/``Iterable`` of typed items, ``TypedDict``,
``NamedTuple``, dataclasses and pydantic models, nested. Arbitrary classes are checked by
``isinstance``. pydantic is imported on the first edit or schema, never on the call path.

Rules for text (a ``str`` edit value):

- The parameter accepts ``str`` (``str``, ``str | None``, ``str | int``, a ``Literal`` of
  strings): the text is that string, as typed (``"80331"`` for ``zip_code: str | None`` stays
  ``"80331"``, ``"7"`` for ``str | int`` stays ``"7"``, ``""`` stays ``""``). Two exceptions:
  the text ``null`` is ``None`` when the type accepts ``None``; and a JSON array or object
  (text starting with ``[`` or ``{``) is that container when the type also accepts one that
  it fits (``str | list[str]``).
- Otherwise the text is parsed: JSON for containers and objects; for scalars pydantic's lax
  text parsing (``"7"`` -> 7, ``" 7 "`` -> 7, ``"true"``/``"yes"``/``"1"`` -> True, ISO dates,
  paths, UUIDs; integers and decimals exactly, of any size), then JSON (``"1"`` for
  ``Literal[1, 2]``, a quoted ``"2024-01-02"``). ``""``, ``null`` and ``None`` are ``None`` for
  an optional type. An enum member may also be given by name (``"GREEN"``).
- Unannotated, ``Any``, ``object`` and unbounded-``TypeVar`` parameters are read like the
  value they replace: text for a string argument, JSON (where it parses, else the text) for
  anything else.

Nothing is let through unchecked. An annotation left as text that did not resolve when the
function was wrapped is resolved at the edit (:func:`edit_refusal`), or edits of it are refused
("cannot check edits: annotation 'Strict' could not be resolved"). A TypeVar is checked as its
bound or constraints, a Protocol by its members (``@runtime_checkable`` or not), ``Callable``
by ``callable()``, ``Unpack[TD]`` ``**kwargs`` as the TypedDict; an annotation that is no type
(``x: 5``), or a type pydantic would let anything through for, refuses edits; keys a TypedDict
or dataclass does not have are refused, not dropped; ``SkipValidation`` does not skip an edit.

Values that are not text are validated as they are; a value already of the right type is
kept as it is (the same object; a dataclass instance has its fields checked first).
Strictness: a float with a fraction is not an int, text is not a number for a ``str``
parameter, and NaN / infinity are refused for every float and Decimal (they slip past
comparisons such as ``amount > 10_000``).
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import dataclasses
import datetime
import enum
import functools
import inspect
import itertools
import json
import re
import sys
import threading
import types
import typing
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Union

from .errors import InvalidEdit
from .formatting import _loaded_types, bounded_repr
from .target import Target

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

__all__ = ["apply_edit", "coerce", "edit_refusal", "injected_parameters", "is_injected", "parameter_schema", "type_label"]

_P = inspect.Parameter
_CACHE_ATTR = "_hitl_checkers"
_MAX_ERRORS = 4  # problems listed inside one argument
_MAX_UNKNOWN = 20  # unknown names listed in one edit


class _Mismatch(ValueError):
    pass


# -- labels ------------------------------------------------------------------------------------------


def type_label(hint: Any) -> str:
    """A short readable name for an annotation: ``int``, ``list[str]``, ``'a' | 'b'``; never raises."""
    try:
        return _label(hint)
    except Exception:
        return "?"


def _label(hint: Any) -> str:
    if hint is inspect.Parameter.empty or hint is Any:
        return "any"
    if hint is type(None) or hint is None:
        return "None"
    if isinstance(hint, str):
        return hint
    if isinstance(hint, typing.ForwardRef):
        return hint.__forward_arg__
    if isinstance(hint, list):  # Callable's parameters
        return "[" + ", ".join(_label(a) for a in hint[:16]) + "]"
    if isinstance(hint, typing.TypeVar):  # what it accepts: its bound or constraints
        if hint.__constraints__:
            return " | ".join(_label(a) for a in hint.__constraints__)
        return _label(hint.__bound__) if hint.__bound__ is not None else "any"
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _label(typing.get_args(hint)[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(hint))
    if origin in (Union, types.UnionType):
        return " | ".join(_label(a) for a in typing.get_args(hint))
    if origin is not None:
        args = ", ".join("..." if a is Ellipsis else _label(a) for a in typing.get_args(hint))
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{args}]" if args else name
    return str(getattr(hint, "__name__", hint))


# -- SDK-injected context parameters -------------------------------------------------------------------

# (top-level module, class name): context objects an agent SDK passes to a tool itself
_INJECTED_CLASSES = frozenset(
    {
        ("pydantic_ai", "RunContext"),
        ("agents", "RunContextWrapper"),
        ("agents", "ToolContext"),
        ("langchain", "ToolRuntime"),
        ("langgraph", "ToolRuntime"),
        ("langchain_core", "InjectedToolArg"),
        ("langchain_core", "InjectedToolCallId"),
        ("langgraph", "InjectedState"),
        ("langgraph", "InjectedStore"),
    }
)
_INJECTED_NAMES = frozenset(name for _, name in _INJECTED_CLASSES)
_INJECTED_TEXT = re.compile(r"\b(?:" + "|".join(sorted(_INJECTED_NAMES)) + r")\b")


def _is_sdk_class(obj: Any) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    for base in getattr(cls, "__mro__", (cls,)):
        module = str(getattr(base, "__module__", "") or "").split(".", 1)[0]
        if (module, getattr(base, "__name__", "")) in _INJECTED_CLASSES:
            return True
    return False


def is_injected(hint: Any, _depth: int = 0) -> bool:
    """Whether ``hint`` marks a context parameter an agent SDK injects into a tool.

    pydantic-ai ``RunContext``, openai-agents ``RunContextWrapper`` / ``ToolContext``, langchain
    ``ToolRuntime``, and ``Annotated[..., InjectedToolArg]``-style markers (``InjectedState``,
    ``InjectedStore``, ``InjectedToolCallId``), also inside ``Optional``. Detected by the class's
    module and name, so the SDKs are never imported; an unresolved string annotation is
    matched by name.
    """
    if _depth > 8 or hint is None or hint is _P.empty:
        return False
    try:
        return _is_injected(hint, _depth)
    except Exception:  # an odd annotation object: not an SDK's context
        return False


def _is_injected(hint: Any, _depth: int) -> bool:
    if isinstance(hint, str):
        return bool(_INJECTED_TEXT.search(hint))
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        base, *metadata = typing.get_args(hint)
        return any(_is_sdk_class(m) for m in metadata) or is_injected(base, _depth + 1)
    if origin in (Union, types.UnionType):
        return any(is_injected(a, _depth + 1) for a in typing.get_args(hint) if a is not type(None))
    if origin is not None:
        return isinstance(origin, type) and _is_sdk_class(origin)
    return isinstance(hint, type) and _is_sdk_class(hint)


def injected_parameters(target: Target) -> frozenset[str]:
    """Names of ``target``'s SDK-injected context parameters (see :func:`is_injected`)."""
    cache = _cache(target)
    found = cache.get(" injected")
    if found is None:
        found = frozenset(
            p.name for p in target.signature.parameters.values() if is_injected(target.hints.get(p.name, p.annotation))
        )
        cache[" injected"] = found
    return typing.cast(frozenset[str], found)


# -- the annotation, prepared for pydantic ---------------------------------------------------------------


class _Unsupported(Exception):
    pass


def _members(hint: Any) -> list[Any]:
    """The alternatives a hint accepts: Annotated, Union, NewType and type aliases unwrapped."""
    out: list[Any] = []
    stack = [hint]
    while stack and len(out) < 64:
        h = stack.pop(0)
        origin = typing.get_origin(h)
        if origin is typing.Annotated:
            stack.insert(0, typing.get_args(h)[0])
        elif origin in (Union, types.UnionType):
            stack[0:0] = list(typing.get_args(h))
        elif isinstance(h, typing.NewType):
            stack.insert(0, h.__supertype__)
        elif isinstance(h, typing.TypeVar) and (h.__bound__ is not None or h.__constraints__):
            stack[0:0] = list(h.__constraints__) or [h.__bound__]
        elif type(h).__name__ == "TypeAliasType" and hasattr(h, "__value__"):
            stack.insert(0, h.__value__)
        else:
            out.append(h)
    return out


def _has_metadata(hint: Any) -> bool:
    """Whether ``hint`` is, or a union in it has, an ``Annotated`` (validators, constraints)."""
    stack, seen = [hint], 0
    while stack and seen < 64:
        h = stack.pop()
        seen += 1
        origin = typing.get_origin(h)
        if origin is typing.Annotated:
            return True
        if origin in (Union, types.UnionType):
            stack.extend(typing.get_args(h))
    return False


def _same_hint(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def _accepts_anything(hint: Any) -> bool:
    """``Any``, ``object``, no annotation, a TypeVar with neither bound nor constraints: every value fits.

    Text (an unresolved forward reference) is not "anything": see :func:`_unresolved`.
    """
    if hint is Any or hint is object or hint is _P.empty:
        return True
    return isinstance(hint, typing.TypeVar) and hint.__bound__ is None and not hint.__constraints__


def _is_legacy_typeddict(hint: Any) -> bool:
    # pydantic refuses typing.TypedDict before Python 3.12 ("use typing_extensions.TypedDict")
    return sys.version_info < (3, 12) and typing.is_typeddict(hint) and type(hint).__module__ == "typing"


def _prepared(hint: Any, memo: dict[int, Any], depth: int = 0) -> Any:
    """``hint`` as pydantic should see it: old-style TypedDicts rebuilt, ``Iterable[X]`` as ``list[X]``."""
    if depth > 32:
        raise _Unsupported("annotation nested too deeply")
    if _is_legacy_typeddict(hint):
        return _typeddict_copy(hint, memo, depth)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is None:
        return _leaf(hint)
    if not args or origin is typing.Literal:
        return hint
    if origin is typing.Annotated:
        inner = _prepared(args[0], memo, depth + 1)
        metadata = tuple(m for m in hint.__metadata__ if not _skips_validation(m))  # type: ignore[attr-defined]
        if not metadata:
            return inner
        if inner is args[0] and len(metadata) == len(hint.__metadata__):  # type: ignore[attr-defined]
            return hint
        return typing.Annotated[(inner, *metadata)]
    if origin is cabc.Callable or any(isinstance(a, (list, typing.ParamSpec)) for a in args):
        return hint  # Callable[[...], R], ParamSpec: pydantic checks callable(), the signature is not checkable
    if isinstance(origin, type) and _is_static_protocol(origin):
        return _runtime_protocol(origin)  # Getter[int]: its members are checked, not what they return
    new_args = tuple(a if a is Ellipsis else _prepared(a, memo, depth + 1) for a in args)
    if origin in (Union, types.UnionType):
        return hint if new_args == args else Union[new_args]  # noqa: UP007 - built from a tuple
    if origin is cabc.Iterable:  # pydantic validates Iterable lazily, inside the function: check it now
        return list[new_args[0]]  # type: ignore[valid-type]
    if new_args == args and all(a is b for a, b in zip(new_args, args)):
        return hint
    try:
        return origin[new_args]
    except TypeError:
        return hint


_LITERAL_STRING = (typing.LiteralString,)
# typing's special objects that are not classes yet mean a type pydantic handles (Never, NoReturn, Self, ...)
_TYPING_FORMS = ("TypeAliasType", "_SpecialForm", "TypeVarTuple", "ParamSpec")


def _leaf(hint: Any) -> Any:
    """A hint without arguments, as pydantic should see it; _Unsupported for an object that is no type.

    pydantic lets an annotation that is not a type (``x: 5``, ``LiteralString``, an instance)
    accept every value unchecked ("allow any object with no validation"): that would let any
    edit through, so it is refused here instead (``LiteralString`` is ``str``). A Protocol that
    is not ``@runtime_checkable`` is checked like one (isinstance: the protocol's members exist).
    """
    if hint is None or hint is Any or hint is Ellipsis:
        return hint
    if any(hint is ls for ls in _LITERAL_STRING):
        return str
    if isinstance(hint, type):
        return _runtime_protocol(hint) if _is_static_protocol(hint) else hint
    if isinstance(hint, (typing.TypeVar, typing.NewType)) or type(hint).__name__ in _TYPING_FORMS:
        return hint
    raise _Unsupported(f"the annotation {bounded_repr(hint, 60)} is not a type")


def _skips_validation(metadata: Any) -> bool:
    """pydantic's ``SkipValidation`` marker: the developer's own calls skip checks, a person's edit does not."""
    cls = metadata if isinstance(metadata, type) else type(metadata)
    return cls.__name__ == "SkipValidation" and str(cls.__module__).startswith("pydantic")


def _is_static_protocol(cls: type) -> bool:
    return (
        bool(cls.__dict__.get("_is_protocol", False))
        and not getattr(cls, "_is_runtime_protocol", False)
        and cls.__module__ not in ("typing", "typing_extensions")
    )


_RUNTIME_PROTOCOLS: dict[type, type] = {}


def _runtime_protocol(cls: type) -> type:
    """A ``@runtime_checkable`` sub-protocol of ``cls`` (same name): isinstance checks its members."""
    found = _RUNTIME_PROTOCOLS.get(cls)
    if found is None:
        try:
            made = types.new_class(cls.__name__, (cls, typing.Protocol))
            made.__qualname__ = cls.__qualname__
            made.__module__ = cls.__module__
            found = typing.runtime_checkable(made)
        except Exception as exc:
            raise _Unsupported(f"{cls.__name__} is a Protocol that cannot be checked ({type(exc).__name__})") from None
        if len(_RUNTIME_PROTOCOLS) < 256:
            _RUNTIME_PROTOCOLS[cls] = found
    return found


def _typeddict_copy(td: Any, memo: dict[int, Any], depth: int) -> Any:
    import typing_extensions as te

    if id(td) in memo:
        if memo[id(td)] is None:
            raise _Unsupported(f"recursive TypedDict {td.__name__}")
        return memo[id(td)]
    memo[id(td)] = None
    required: frozenset[str] = getattr(td, "__required_keys__", frozenset())
    fields: dict[str, Any] = {}
    for key, field_hint in typing.get_type_hints(td, include_extras=True).items():
        base = field_hint
        while typing.get_origin(base) in (typing.Required, typing.NotRequired, te.Required, te.NotRequired, te.ReadOnly):
            base = typing.get_args(base)[0]
        base = _prepared(base, memo, depth + 1)
        fields[key] = te.Required[base] if key in required else te.NotRequired[base]
    make: Any = te.TypedDict
    copy: Any = make(td.__name__, fields)
    copy.__module__ = td.__module__
    copy.__qualname__ = getattr(td, "__qualname__", td.__name__)
    copy.__doc__ = td.__doc__
    if hasattr(td, "__pydantic_config__"):
        copy.__pydantic_config__ = td.__pydantic_config__
    memo[id(td)] = copy
    return copy


def _build_adapter(hint: Any, mode: str, iterator: bool) -> TypeAdapter[Any]:
    """A TypeAdapter of a 1-tuple of the (prepared) hint, so pydantic's config (finite floats,
    arbitrary classes by isinstance) reaches dataclasses and TypedDicts, which refuse a config."""
    from pydantic import ConfigDict, PydanticUserError, TypeAdapter

    unpacked = _unpacked(hint) if mode != "one" else None
    item = _prepared(unpacked if unpacked is not None else hint, {})
    if iterator:
        args = typing.get_args(hint)
        item = list[args[0] if args else Any]  # type: ignore[misc]
    if unpacked is not None:
        pass  # **kwargs: Unpack[SomeTypedDict] is that TypedDict; *args: Unpack[tuple[...]] that tuple
    elif mode == "args":
        item = list[item]  # type: ignore[valid-type]
    elif mode == "kwargs":
        item = dict[str, item]  # type: ignore[valid-type]
    config = ConfigDict(allow_inf_nan=False, arbitrary_types_allowed=True, extra="forbid")
    try:
        return _checked_adapter(TypeAdapter, tuple[item], config)  # type: ignore[valid-type]
    except PydanticUserError as exc:
        if getattr(exc, "code", None) != "typed-dict-version":
            raise
    # Python < 3.12: a typing.TypedDict inside a dataclass or model (out of _prepared's reach).
    # pydantic refuses those only for generic TypedDicts' sake; plain ones validate correctly.
    from pydantic._internal import _generate_schema

    with _PATCH_LOCK:
        saved = _generate_schema._SUPPORTS_TYPEDDICT
        _generate_schema._SUPPORTS_TYPEDDICT = True
        try:
            return _checked_adapter(TypeAdapter, tuple[item], config)  # type: ignore[valid-type]
        finally:
            _generate_schema._SUPPORTS_TYPEDDICT = saved


_PATCH_LOCK = threading.RLock()


def _unpacked(hint: Any) -> Any:
    """``X`` of ``Unpack[X]`` (typing or typing_extensions), else None."""
    origin = typing.get_origin(hint)
    if origin is not None and getattr(origin, "_name", None) == "Unpack":
        args = typing.get_args(hint)
        return args[0] if args else None
    return None


def _checked_adapter(make: Any, item: Any, config: Any) -> TypeAdapter[Any]:
    """``make(item, config=config)``; _Unsupported where pydantic would accept any value unchecked.

    pydantic lets a part of a type that is no Python type (inside a dataclass's or TypedDict's
    fields too, out of :func:`_leaf`'s reach) validate anything, with an ``ArbitraryTypeWarning``:
    that warning refuses the type here. Other warnings raised meanwhile are passed on.
    """
    import warnings

    try:
        from pydantic.warnings import ArbitraryTypeWarning
    except ImportError:  # an older pydantic: no such warning to watch for
        return typing.cast("TypeAdapter[Any]", make(item, config=config))
    with _PATCH_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ArbitraryTypeWarning)
        adapter = make(item, config=config)
    unchecked = [w for w in caught if issubclass(w.category, ArbitraryTypeWarning)]
    for w in caught:
        if not issubclass(w.category, ArbitraryTypeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if unchecked:
        what = str(unchecked[0].message).split(" is not a Python type", 1)[0]
        raise _Unsupported(f"{bounded_repr(what, 80)[1:-1]} is not a type: pydantic would let any value through")
    return typing.cast("TypeAdapter[Any]", adapter)


# -- one parameter's checker -----------------------------------------------------------------------------


class _Checker:
    """How one parameter's edits are converted; its pydantic TypeAdapter is built on first use.

    ``mode`` is ``"one"`` for an ordinary parameter, ``"args"`` for ``*args`` (a list of the
    annotated type) and ``"kwargs"`` for ``**kwargs`` (an object of it).
    """

    def __init__(self, hint: Any, mode: str = "one", name: str = "value") -> None:
        self.hint = hint
        self.name = name
        self.mode = mode
        members = _members(hint)
        # Annotated[Any, AfterValidator(...)] is not "anything": its validators run
        self.any = any(_accepts_anything(m) for m in members) and not _has_metadata(hint)
        self.accepts_none = any(m is None or m is type(None) for m in members)
        self.accepts_str = self.any or any(
            m is str
            or (typing.get_origin(m) is typing.Literal and any(isinstance(a, str) for a in typing.get_args(m)))
            or (isinstance(m, type) and issubclass(m, str) and not issubclass(m, enum.Enum))
            for m in members
        )
        self.enums = [m for m in members if isinstance(m, type) and issubclass(m, enum.Enum)]
        # text for a plain `str` / `str | None` is the string itself: no pydantic needed
        self.plain_str = mode == "one" and (hint is str or _same_hint(hint, str | None))
        self.iterator = mode == "one" and typing.get_origin(hint) in (cabc.Iterator, cabc.Generator)
        self.union = sum(1 for m in members if m is not None and m is not type(None)) > 1 and mode == "one"
        self.label = type_label(hint)
        # text never evaluated (coerce() with a string, or an annotation _checker could not resolve)
        self.unresolved = _unresolved(hint)
        if mode != "one" and _unpacked(hint) is not None:
            self.label = type_label(_unpacked(hint))
        elif mode == "args":
            self.label = f"a list of {self.label}"
        elif mode == "kwargs":
            self.label = f"an object of {self.label} values"
        self._adapter: TypeAdapter[Any] | None = None
        self._built = False
        self.build_error = ""
        self._schema: dict[str, Any] | None = None
        self._decimals: bool | None = None
        self._fields: dict[type, dict[str, _Checker]] = {}  # dataclass field checkers, by class

    # the adapter validates a 1-tuple, so pydantic's config (finite floats, arbitrary classes)
    # reaches dataclasses and TypedDicts too, which refuse a config of their own
    def adapter(self) -> TypeAdapter[Any] | None:
        if not self._built:
            if self.unresolved:
                self.build_error = "unresolved"
            elif not (self.any and self.mode == "one"):
                try:
                    self._adapter = _build_adapter(self.hint, self.mode, self.iterator)
                except Exception as exc:  # an annotation pydantic cannot handle: edits of it are refused
                    first = str(exc).splitlines()[0] if str(exc) else ""
                    self.build_error = f"{type(exc).__name__}: {first[:200]}"
            self._built = True
        return self._adapter

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of one value (``{}`` where it cannot be generated)."""
        if self._schema is None:
            fast = _fast_schema(self.hint)
            if fast is not None:  # plain JSON types: pydantic's schema, without importing pydantic
                if self.mode == "args":
                    fast = {"items": fast, "type": "array"}
                elif self.mode == "kwargs":
                    fast = {"additionalProperties": fast or True, "type": "object"}
                self._schema = fast
                return fast
            self._schema = {}
            adapter = self.adapter()
            if adapter is not None:
                try:
                    self._schema = _inner_schema(adapter)
                except Exception:
                    self._schema = {}
        return self._schema

    # -- converting -----------------------------------------------------------------------------

    def convert(self, value: Any, current: Any) -> Any:
        if self.unresolved:
            raise _Mismatch(_unresolved_message(self.hint, NameError("not evaluated")))
        if self.plain_str and isinstance(value, str):
            return self._from_text(value, current)
        if self.adapter() is None and self.build_error:
            return self._unchecked(value)
        if isinstance(value, str):
            result = self._from_text(value, current)
        else:
            result = self._validate(value)
            if type(result) is type(value) and dataclasses.is_dataclass(value) and result is value:
                self._check_fields(value)  # pydantic takes an instance as it is; its fields may hold anything
            result = value if _identical(result, value) else result
        if self.iterator and isinstance(result, list):
            return iter(result)
        return result

    def _from_text(self, text: str, current: Any) -> Any:
        stripped = text.strip()
        if self.mode != "one":
            return self._validate_json(text)
        if self.any and self.adapter() is None:
            if isinstance(current, str):
                return text
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                return text
        if self.plain_str:
            return None if self.accepts_none and stripped == "null" else text
        if self.accepts_str:
            if self.accepts_none and stripped == "null":
                return self._validate(None)
            if stripped[:1] in ("[", "{"):
                try:
                    parsed = self._validate_json(text)
                except _Mismatch:
                    pass
                else:
                    if not isinstance(parsed, str):
                        return parsed
            return self._validate(text)
        if self.accepts_none and stripped in ("", "null", "None"):
            return self._validate(None)
        for enum_cls in self.enums:
            member = enum_cls.__members__.get(stripped)
            if member is not None and not any(str(m.value) == stripped for m in enum_cls):
                return self._validate(member)  # the type's own validators and constraints still run
        if stripped[:1] in ("[", "{"):
            return self._validate_json(text)
        try:
            return self._validate(text)
        except _Mismatch:
            try:
                return self._validate_json(text)
            except _Mismatch:
                pass
            raise

    def _check_fields(self, value: Any, depth: int = 0) -> None:
        """_Mismatch naming the first field of dataclass instance ``value`` whose value does not
        fit the field's type (a dataclass never checks its fields; nested instances too)."""
        cls = type(value)
        checkers = self._fields.get(cls)
        if checkers is None:
            try:
                hints = typing.get_type_hints(cls, include_extras=True)
            except Exception as exc:
                raise _Mismatch(f"{self.name}: the field types of {cls.__name__} cannot be resolved ({exc})") from None
            checkers = {
                f.name: _Checker(hints[f.name], "one", f"{self.name}.{f.name}")
                for f in dataclasses.fields(cls)
                if f.name in hints
            }
            if len(self._fields) < 16:
                self._fields[cls] = checkers
        for name, checker in checkers.items():
            field_value = getattr(value, name, None)
            if checker.any:
                continue
            if checker.adapter() is None and checker.build_error:
                checker._unchecked(field_value)
                continue
            try:
                checker._validate(field_value)
            except _Mismatch as exc:
                text = str(exc)
                raise _Mismatch(text if text.startswith(checker.name) else f"{checker.name}: {text}") from None
            if dataclasses.is_dataclass(field_value) and not isinstance(field_value, type) and depth < 16:
                checker._check_fields(field_value, depth + 1)

    def _exact_decimals(self, adapter: TypeAdapter[Any]) -> bool:
        if self._decimals is None:
            self._decimals = _has_decimal(adapter.core_schema)
        return self._decimals

    def _unchecked(self, value: Any) -> Any:
        """Without an adapter only a value that already is an instance of the class gets through."""
        cls = self.hint  # a plain class only: isinstance of list for list[X] would not check the items
        if self.mode == "one" and isinstance(cls, type) and not _is_static_protocol(cls):
            try:
                if isinstance(value, cls):
                    return value
            except Exception:
                pass
        raise _Mismatch(f"{self.label} cannot be checked here, so it cannot be edited ({self.build_error})")

    def _validate(self, value: Any) -> Any:
        adapter = self.adapter()
        if adapter is None:
            return value
        from pydantic import ValidationError

        try:
            return adapter.validate_python((value,))[0]
        except ValidationError as exc:
            raise _Mismatch(self._describe(exc, value)) from None

    def _validate_json(self, text: str) -> Any:
        adapter = self.adapter()
        if adapter is not None and self._exact_decimals(adapter):
            # pydantic reads JSON numbers as binary floats, so a Decimal inside JSON would be rounded:
            # parse the numbers as Decimal (exact), then validate (Decimal -> float/int where those are wanted)
            from decimal import Decimal

            try:
                parsed = json.loads(text, parse_float=Decimal)
            except (ValueError, RecursionError) as exc:
                raise _Mismatch(f"expected {self.label} as JSON, got {bounded_repr(text, 60)}: {exc}") from None
            return self._validate(parsed)
        if adapter is None:
            try:
                return json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise _Mismatch(f"expected {self.label} as JSON, got {bounded_repr(text, 60)}: {exc}") from None
        from pydantic import ValidationError

        try:
            return adapter.validate_json(f"[{text}]")[0]
        except ValidationError as exc:
            raise _Mismatch(self._describe(exc, text, as_json=True)) from None

    # -- messages ----------------------------------------------------------------------------------

    def _describe(self, exc: ValidationError, value: Any, as_json: bool = False) -> str:
        errors = exc.errors(include_url=False, include_context=False)
        got = bounded_repr(value, 60)
        located: list[tuple[tuple[Any, ...], str, Any, str]] = []
        for error in errors:
            loc = tuple(error.get("loc", ()))
            kind = str(error.get("type", ""))
            if not loc:  # the wrapping 1-tuple: the text was not a single JSON value
                msg = _short(error.get("msg", ""))
                # columns on the first line count the "[" the text was wrapped in
                msg = re.sub(r"at line 1 column (\d+)", lambda m: f"at line 1 column {max(int(m[1]) - 1, 1)}", msg)
                return f"expected {self.label} as JSON, got {got}: {msg}"
            located.append((loc[1:], _short(error.get("msg", "")), error.get("input"), kind))
        if self.union and located:
            groups: dict[Any, list[tuple[tuple[Any, ...], str, Any, str]]] = {}
            for loc, msg, inp, kind in located:
                if loc:
                    groups.setdefault(loc[0], []).append((loc[1:], msg, inp, kind))
            # the member the value had the shape of (its errors are inside it) explains best
            deep = [g for g in groups.values() if all(e[0] for e in g)]
            if not deep:
                return f"expected {self.label}, got {got}"
            located = min(deep, key=len)
        parts = []
        for loc, msg, inp, kind in located[:_MAX_ERRORS]:
            if not loc:
                plain = kind.endswith(("_type", "_parsing")) or kind in _PLAIN_KINDS
                parts.append(f"expected {self.label}, got {got}" + ("" if plain else f" ({msg})"))
                continue
            detail = msg if kind in ("missing", "extra_forbidden") else f"{msg} (input: {bounded_repr(inp, 60)})"
            parts.append(f"{_path(self.name, loc)}: {detail}")
        if len(located) > _MAX_ERRORS:
            parts.append(f"and {len(located) - _MAX_ERRORS} more")
        return "; ".join(parts)


# errors that only say "not of this type": the label says it already
_PLAIN_KINDS = frozenset({"is_instance_of", "literal_error", "enum", "dataclass_exact_type", "model_attributes_type"})


def _has_decimal(schema: Any) -> bool:
    """Whether a pydantic core schema validates a Decimal anywhere inside."""
    stack, seen = [schema], 0
    while stack and seen < 100_000:
        node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            if node.get("type") == "decimal":
                return True
            stack.extend(v for v in node.values() if isinstance(v, (dict, list, tuple)))
        elif isinstance(node, (list, tuple)):
            stack.extend(v for v in node if isinstance(v, (dict, list, tuple)))
    return False


def _short(msg: Any) -> str:
    text = str(msg)
    return text if len(text) <= 200 else text[:199] + "…"


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _path(name: str, loc: tuple[Any, ...]) -> str:
    """``address.city``, ``ids[2]``, ``items[0].name``: where inside an argument a problem is."""
    out = name
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (key)"
        elif isinstance(part, str) and _IDENT.match(part):
            out += f".{part}"
        else:
            out += f"[{bounded_repr(part, 40)}]"
    return out


_FAST_SCALARS: dict[Any, dict[str, Any]] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    None: {"type": "null"},
}
_LITERAL_TYPES = {str: "string", int: "integer", bool: "boolean"}


def _fast_schema(hint: Any, depth: int = 0) -> dict[str, Any] | None:
    """pydantic's JSON Schema for plain JSON types (scalars, Optional, Literal, list/set/dict of
    them), built without pydantic: a card of simple parameters never pays pydantic's import
    (seconds in the Pyodide kernel). None for anything else. Tests check it equals pydantic's."""
    if depth > 8:
        return None
    if hint is Any or hint is _P.empty:
        return {}
    try:
        scalar = _FAST_SCALARS.get(hint)
    except TypeError:  # unhashable annotation
        return None
    if scalar is not None:
        return dict(scalar)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        kinds = {type(a) for a in args}
        if len(kinds) != 1 or next(iter(kinds)) not in _LITERAL_TYPES or len(set(args)) != len(args):
            return None
        kind = _LITERAL_TYPES[next(iter(kinds))]
        return {"const": args[0], "type": kind} if len(args) == 1 else {"enum": list(args), "type": kind}
    if origin in (Union, types.UnionType):
        if len(set(args)) != len(args):
            return None
        members = [a for a in args if a is not type(None)]
        schemas = [_fast_schema(a, depth + 1) for a in members]
        if any(m is None or m == {} for m in schemas) or any("anyOf" in m for m in schemas if m):
            return None
        any_of: list[Any] = [*schemas, {"type": "null"}] if len(members) < len(args) else list(schemas)
        return {"anyOf": any_of} if len(any_of) > 1 else any_of[0]
    if origin in (list, set, frozenset) or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        items = _fast_schema(args[0], depth + 1) if args else {}
        if items is None:
            return None
        out: dict[str, Any] = {"items": items, "type": "array"}
        if origin in (set, frozenset):
            out["uniqueItems"] = True
        return out
    if origin is dict and args and args[0] is str:
        values = _fast_schema(args[1], depth + 1)
        if values is None:
            return None
        return {"additionalProperties": values or True, "type": "object"}
    return None


def _inner_schema(adapter: TypeAdapter[Any]) -> dict[str, Any]:
    from pydantic.json_schema import GenerateJsonSchema

    class _Lenient(GenerateJsonSchema):
        # an arbitrary class or a callable inside a type describes as {} ("anything"), not an error
        def handle_invalid_for_json_schema(self, schema: Any, error_info: str) -> dict[str, Any]:
            return {}

    full = adapter.json_schema(schema_generator=_Lenient)
    items = full.get("prefixItems") or [{}]
    inner = dict(items[0])
    if "$defs" in full:  # kept beside the value's schema: every "$ref" points into its own "$defs"
        inner["$defs"] = full["$defs"]
    return inner


def _identical(a: Any, b: Any, depth: int = 0) -> bool:
    """Same types and equal values all the way down (True == 1, but a bool is not an int)."""
    if a is b:
        return True
    if type(a) is not type(b) or depth > 64:
        return False
    try:
        if type(a) in (list, tuple):
            return len(a) == len(b) and all(_identical(x, y, depth + 1) for x, y in zip(a, b))
        if type(a) is dict:
            return len(a) == len(b) and all(
                type(k1) is type(k2) and k1 == k2 and _identical(v1, v2, depth + 1)
                for (k1, v1), (k2, v2) in zip(a.items(), b.items())
            )
        return bool(a == b)
    except Exception:
        return False


# -- caches ------------------------------------------------------------------------------------------------


def _cache(target: Target) -> dict[str, Any]:
    """Per-target cache of checkers, kept on the Target itself (it lives as long as the wrapper)."""
    try:
        store = target.__dict__
    except AttributeError:
        return {}
    cache = store.get(_CACHE_ATTR)
    if cache is None:
        cache = store.setdefault(_CACHE_ATTR, {})
    return typing.cast(dict[str, Any], cache)


_NO_VALUE: Any = object()


class _Pending:
    """A parameter whose annotation did not resolve when the function was wrapped.

    It is resolved again on every use (the name may exist by now); ``by_value`` keeps the
    checkers made from the classes of the current value (see :func:`_resolve`).
    """

    def __init__(self) -> None:
        self.by_value: dict[tuple[tuple[str, int], ...], _Checker] = {}


def _checker(target: Target, name: str, current: Any = _NO_VALUE) -> _Checker:
    """The checker of parameter ``name``; _Mismatch when its annotation cannot be resolved.

    ``current`` is the argument's present value: when the annotation is text that names no
    class the function can see (a class defined inside a function, an import made only for
    type checkers), a class of that name among the value's own classes is used.
    """
    cache = _cache(target)
    found = cache.get(name)
    if isinstance(found, _Checker):
        return found
    param = target.signature.parameters[name]
    hint = target.hints.get(name, param.annotation)
    mode = "args" if param.kind is _P.VAR_POSITIONAL else "kwargs" if param.kind is _P.VAR_KEYWORD else "one"
    if found is None:
        if not _unresolved(hint):
            return typing.cast(_Checker, cache.setdefault(name, _Checker(hint, mode, name)))
        found = cache.setdefault(name, _Pending())
    pending = typing.cast(_Pending, found)
    try:
        resolved, used = _resolve(target.func, hint, current)
    except Exception as exc:
        raise _Mismatch(_unresolved_message(hint, exc)) from None
    if not used:  # resolved from the function's own namespaces: for good
        checker = _Checker(resolved, mode, name)
        cache[name] = checker
        return checker
    made = pending.by_value.get(used)
    if made is None:
        made = _Checker(resolved, mode, name)
        if len(pending.by_value) < 32:
            pending.by_value[used] = made
    return made


def edit_refusal(target: Target, name: str, current: Any = _NO_VALUE) -> str | None:
    """Why no edit of parameter ``name`` can be checked at all, or None when edits can be checked.

    Today the one reason is an annotation that cannot be resolved to a type (text naming a
    class that neither the function's globals, its closure, the class it is defined in, the
    still-running function that defined it, nor ``current``'s own classes provide). Channels
    show such a parameter as not editable, with this text as the reason.
    """
    try:
        _checker(target, name, current)
    except _Mismatch as exc:
        return str(exc)
    except Exception:
        return None
    return None


# -- annotations left as text: resolved late, or refused ----------------------------------------------------


def _unresolved(hint: Any, depth: int = 0) -> bool:
    """Whether ``hint`` is, or holds, a forward reference (text) that was never evaluated."""
    if depth > 16:
        return False
    if isinstance(hint, (str, typing.ForwardRef)):
        return True
    try:
        origin = typing.get_origin(hint)
        if origin is None or origin is typing.Literal:
            return False
        args = typing.get_args(hint)
        if origin is typing.Annotated:
            return _unresolved(args[0], depth + 1)
        return any(any(_unresolved(x, depth + 1) for x in a) if isinstance(a, list) else _unresolved(a, depth + 1) for a in args)
    except Exception:
        return False


def _annotation_text(hint: Any) -> str:
    if isinstance(hint, str):
        return hint
    if isinstance(hint, typing.ForwardRef):
        return hint.__forward_arg__
    return type_label(hint)


def _unresolved_message(hint: Any, exc: BaseException) -> str:
    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = bounded_repr(_annotation_text(hint), 80)
    return f"cannot check edits: annotation {text} could not be resolved ({bounded_repr(why, 120)[1:-1]})"


class _Holder:
    def __init__(self, hint: Any) -> None:
        self.__annotations__ = {"h": hint}


def _layers(func: Any) -> list[Any]:
    """The functions behind a callable, outermost first: partials, bound methods, a callable
    instance's ``__call__``, decorators' ``__wrapped__``."""
    out: list[Any] = []
    obj = func
    for _ in range(16):
        if isinstance(obj, functools.partial):
            obj = obj.func
            continue
        if inspect.ismethod(obj):
            obj = obj.__func__
            continue
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
            continue
        if not inspect.isroutine(obj) and not isinstance(obj, type):
            obj = getattr(type(obj), "__call__", None)
            if obj is None:
                break
            continue
        out.append(obj)
        obj = getattr(obj, "__wrapped__", None)
        if obj is None:
            break
    return out


def _namespaces(func: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(globals, locals) where a function's text annotations are looked up.

    Globals: the innermost function's module. Locals, later ones winning: the locals of the
    still-running function that defined it (found on this thread's stack by qualified name and
    module), the namespaces of the classes it is defined in, the contents of its closure cells.
    """
    layers = _layers(func)
    inner = layers[-1] if layers else func
    globalns = getattr(inner, "__globals__", None)
    if not isinstance(globalns, dict):
        module = sys.modules.get(str(getattr(inner, "__module__", "") or ""))
        globalns = dict(vars(module)) if module is not None else {}
    localns: dict[str, Any] = {}
    for fn in layers:
        qualname = str(getattr(fn, "__qualname__", "") or "")
        start: dict[str, Any] = globalns
        if ".<locals>." in qualname:
            definer, qualname = qualname.rsplit(".<locals>.", 1)
            start = _defining_locals(definer, getattr(fn, "__globals__", None))
            localns = {**start, **localns}
        scope: Any = None
        for part in qualname.split(".")[:-1]:  # the classes it is defined in
            scope = start.get(part) if scope is None else getattr(scope, part, None)
            if not isinstance(scope, type):
                break
            localns.update(vars(scope))
        code = getattr(fn, "__code__", None)
        for var, cell in zip(getattr(code, "co_freevars", ()), getattr(fn, "__closure__", None) or ()):
            with contextlib.suppress(ValueError):  # an empty cell
                localns[var] = cell.cell_contents
    return globalns, localns


def _defining_locals(qualname: str, globalns: Any) -> dict[str, Any]:
    frame = sys._getframe(1)
    for _ in range(400):
        if frame is None:
            break
        code = frame.f_code
        if getattr(code, "co_qualname", code.co_name) == qualname and frame.f_globals is globalns:
            return dict(frame.f_locals)
        frame = frame.f_back  # type: ignore[assignment]
    return {}


def _value_classes(current: Any) -> dict[str, type]:
    """The classes of ``current`` (and of the items of a list/tuple/set/dict), by name."""
    found: dict[str, type] = {}
    if current is _NO_VALUE:
        return found
    values = [current]
    if type(current) in (list, tuple, set, frozenset):
        values += list(itertools.islice(current, 32))
    elif type(current) is dict:
        values += list(itertools.islice(current.values(), 32))
    for value in values:
        for cls in type(value).__mro__:
            found.setdefault(cls.__name__, cls)
    return found


_NOT_DEFINED = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


def _resolve(func: Any, hint: Any, current: Any) -> tuple[Any, tuple[tuple[str, int], ...]]:
    """``hint`` evaluated where ``func`` was written, plus the names taken from ``current``'s classes.

    A name nothing defines is looked up among the classes of ``current``; ``pd.DataFrame``
    with ``pd`` imported only for type checkers matches a class ``DataFrame`` there. Raises
    (NameError and such) when the annotation still cannot be evaluated.
    """
    globalns, localns = _namespaces(func)
    text = _annotation_text(hint)
    extra: dict[str, Any] = {}
    used: list[tuple[str, int]] = []
    classes: dict[str, type] | None = None
    for _ in range(16):
        try:
            resolved = typing.get_type_hints(_Holder(hint), globalns=globalns, localns={**localns, **extra}, include_extras=True)
            return resolved["h"], tuple(used)
        except NameError as exc:
            match = _NOT_DEFINED.search(str(exc))
            missing = getattr(exc, "name", None) or (match[1] if match else None)
            if not missing or missing in extra:
                raise
            if classes is None:
                classes = _value_classes(current)
            if missing in classes:
                extra[missing] = classes[missing]
                used.append((missing, id(classes[missing])))
                continue
            paths = re.findall(rf"(?<![\w.]){re.escape(missing)}((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text)
            if not paths or any(p.rsplit(".", 1)[1] not in classes for p in paths):
                raise
            root = types.SimpleNamespace()
            for path in paths:
                *between, last = path[1:].split(".")
                node = root
                for part in between:
                    node = node.__dict__.setdefault(part, types.SimpleNamespace())
                setattr(node, last, classes[last])
                used.append((path, id(classes[last])))
            extra[missing] = root
    raise NameError(f"too many names in {text!r}")


def parameter_schema(target: Target, name: str, current: Any = _NO_VALUE) -> dict[str, Any]:
    """The JSON Schema of parameter ``name`` of ``target`` (a copy; ``{}`` when none can be made).

    ``current`` (the argument's value) helps resolve an annotation left as text (see ``edit_refusal``).
    ``*args`` is an array of the annotated type and ``**kwargs`` an object of it. Structured
    types keep their definitions under the schema's own ``"$defs"``. The parameter's default
    is added as ``"default"`` where it is JSON data.
    """
    try:
        if name in injected_parameters(target):
            return {}
        schema = dict(_checker(target, name, current).schema())
    except Exception:  # never let describing a parameter break showing the request
        return {}
    default = target.signature.parameters[name].default
    if default is not _P.empty and "default" not in schema:
        jsonable = _default_json(default)
        if jsonable is not _NO_JSON:
            schema["default"] = jsonable
    return schema


_NO_JSON = object()


def _plain_json(value: Any, depth: int = 0) -> bool:
    """JSON data as it is: None, str, bool, finite numbers, lists/tuples and str-keyed dicts of them."""
    if value is None or type(value) in (str, bool):
        return True
    if type(value) is int:
        return -(10**300) < value < 10**300
    if type(value) is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if depth > 8:
        return False
    if type(value) in (list, tuple):
        return len(value) <= 100 and all(_plain_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return len(value) <= 100 and all(type(k) is str and _plain_json(v, depth + 1) for k, v in value.items())
    return False


def _default_json(value: Any) -> Any:
    """A parameter's default as JSON, the way pydantic writes it (small values only), or _NO_JSON."""
    from .formatting import json_safe

    try:
        if _plain_json(value):
            jsonable = json.loads(json.dumps(value))  # tuples as lists
        elif isinstance(value, (enum.Enum, datetime.date, datetime.time, datetime.timedelta, PurePath, *_loaded_types())):
            jsonable = json_safe(value, max_chars=2000)  # pydantic's format, without importing it
        elif "pydantic_core" in sys.modules:  # dataclasses, models: pydantic is loaded already (an edit ran)
            from pydantic_core import to_jsonable_python

            jsonable = to_jsonable_python(value)
        else:
            return _NO_JSON
        text = json.dumps(jsonable, allow_nan=False)
    except Exception:
        return _NO_JSON
    return jsonable if len(text) <= 2000 else _NO_JSON


_adhoc: dict[Any, _Checker] = {}


def coerce(value: Any, hint: Any) -> Any:
    """``value`` converted to ``hint`` by the rules above; raises ValueError saying what was expected."""
    try:
        checker = _adhoc.get(hint)
    except TypeError:  # an unhashable annotation
        checker = None
    if checker is None:
        checker = _Checker(hint)
        try:
            if len(_adhoc) < 256:
                _adhoc[hint] = checker
        except TypeError:
            pass
    try:
        return checker.convert(value, None)
    except _Mismatch:
        raise
    except Exception as exc:
        raise _Mismatch(f"could not be checked against {checker.label}: {type(exc).__name__}") from None


# -- applying an edit -------------------------------------------------------------------------------------


def apply_edit(
    target: Target, arguments: dict[str, Any], edits: dict[str, Any], *, frozen: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The full argument dict after ``edits``, or InvalidEdit naming every problem.

    ``edits`` maps parameter names to new values (text from a UI, JSON-decoded values or
    Python values; see the module docstring for how text is read). Arguments not in
    ``edits`` are kept as they are. Parameters in ``frozen`` and SDK-injected context
    parameters cannot be edited. Never raises anything but InvalidEdit (and BaseExceptions
    such as KeyboardInterrupt).
    """
    if not isinstance(edits, dict):
        raise InvalidEdit(target.name, {"*": f"an edit must be a dict of argument names to values, not {type(edits).__name__}"})
    params = target.signature.parameters
    problems: dict[str, str] = {}
    result = dict(arguments)
    injected = injected_parameters(target)
    names = list(params)
    known = ", ".join(names[:30]) + (f", … ({len(names)} in all)" if len(names) > 30 else "") if names else "none"
    unknown = 0
    for name, raw in edits.items():
        if not isinstance(name, str) or name not in params:
            unknown += 1
            if unknown <= _MAX_UNKNOWN:
                key = bounded_repr(name, 80) if not isinstance(name, str) else name[:80]
                problems[key] = f"no such parameter (parameters: {known})"
            continue
        if name in frozen:
            problems[name] = "this argument cannot be edited"
            continue
        if name in injected:
            problems[name] = "this is context the agent framework passes in; it cannot be edited"
            continue
        try:
            checker = _checker(target, name, arguments.get(name, _NO_VALUE))
            value = checker.convert(raw, arguments.get(name))
            if checker.mode == "args":
                value = tuple(value)
            elif checker.mode == "kwargs":
                clash = sorted(set(value) & target.keyword_names)
                if clash:
                    raise _Mismatch(f"keys {clash} are named parameters; edit them directly")
            result[name] = value
        except _Mismatch as exc:
            problems[name] = str(exc)
        except RecursionError:
            problems[name] = "nested too deeply to check"
        except Exception as exc:  # a validator or a value's own method failed: never a crash
            problems[name] = f"could not be checked: {type(exc).__name__}: {bounded_repr(str(exc), 200)}"
    missing = [
        p.name
        for p in params.values()
        if p.kind not in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD) and p.default is _P.empty and p.name not in result
    ]
    for name in missing:
        problems[name] = "required argument is missing"
    if unknown > _MAX_UNKNOWN:
        problems["*"] = f"and {unknown - _MAX_UNKNOWN} more names that are not parameters"
    if problems:
        raise InvalidEdit(target.name, problems)
    return result
