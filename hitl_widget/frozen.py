"""Freezing a call's arguments at request time, and fingerprinting them exactly.

``copy_arguments`` makes the private copy a request holds, so what a person is shown
is what runs even if the caller mutates its objects while the person reads:
immutable values are shared, containers are copied, other objects are deep-copied,
and an argument that cannot be copied (a lock, a socket, a generator, an open file)
is kept as the caller's object and named with the reason.

``fingerprint`` is the key of an "approve these exact arguments" grant: a keyed
hash over an exact, type-tagged encoding of the values, so any difference in value
or type gives another fingerprint. Values with no exact encoding (arbitrary objects,
cycles) have no fingerprint (``None``), and no argument grant can cover them.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import fractions
import hashlib
import operator
import re
import secrets
import struct
import types
import uuid
import weakref
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import PurePath
from typing import Any

__all__ = ["InstanceState", "NotCopied", "copy_arguments", "fingerprint", "instance_state"]

_FINGERPRINT_KEY = secrets.token_bytes(32)

#: values that cannot change: a request shares them with the caller instead of copying
_ATOMIC: frozenset[type] = frozenset(
    {
        str,
        bytes,
        int,
        float,
        complex,
        bool,
        type(None),
        range,
        Decimal,
        fractions.Fraction,
        datetime,
        date,
        time,
        timedelta,
        timezone,
        uuid.UUID,
        type(Ellipsis),
        type(NotImplemented),
    }
)


def _all_atomic(items: Collection[Any], first: Any) -> bool:
    """Are all ``items`` of atomic types? (``first`` is one of them: one pass when they share its type.)"""
    t0 = type(first)
    if t0 in _ATOMIC and operator.countOf(map(type, items), t0) == len(items):
        return True
    return {*map(type, items)} <= _ATOMIC


def _copy(value: Any, memo: dict[int, Any]) -> Any:
    """A private copy of ``value``: atomic values shared, flat containers copied in C, the rest deep-copied."""
    t = type(value)
    if t in _ATOMIC:
        return value
    done = memo.get(id(value))
    if done is not None:
        return done
    if t is list:
        if not value or _all_atomic(value, value[0]):
            out: Any = value[:]
        else:
            out = []
            memo[id(value)] = out
            out.extend([_copy(v, memo) for v in value])
    elif t is dict:
        if not value or (_all_atomic(value.values(), next(iter(value.values()))) and {*map(type, value)} <= _ATOMIC):
            out = value.copy()
        else:
            out = {}
            memo[id(value)] = out
            for k, v in value.items():
                out[_copy(k, memo)] = _copy(v, memo)
    elif t is tuple:
        if not value or _all_atomic(value, value[0]):
            return value  # immutable all the way down: shared
        out = copy.deepcopy(value, memo)
    elif t is frozenset:
        if {*map(type, value)} <= _ATOMIC:
            return value
        out = copy.deepcopy(value, memo)
    elif t is set and {*map(type, value)} <= _ATOMIC:
        out = value.copy()
    elif t is bytearray:
        out = bytearray(value)
    else:
        out = copy.deepcopy(value, memo)
        if t not in _SELF_COPYING and not isinstance(value, _SELF_COPYING_KINDS):
            _check_not_shared(value, out)
    memo[id(value)] = out
    return out


class NotCopied(Exception):
    """A copy that is not one: it is the original, or shares the original's mutable state."""


#: types whose deep copy is the object itself by design (immutable, or code rather than data)
_SELF_COPYING: frozenset[type] = frozenset(
    {type, types.FunctionType, types.BuiltinFunctionType, types.CodeType, property, weakref.ref, type(re.compile(""))}
)
_SELF_COPYING_KINDS: tuple[type, ...] = (type, enum.Enum, types.FunctionType, types.BuiltinFunctionType)


def _check_not_shared(value: Any, out: Any) -> None:
    """Raise NotCopied when the deep copy ``out`` is ``value`` itself or shares a mutable attribute with it.

    One level of attributes is checked (cheap); state shared deeper is not detected.
    """
    if out is value:
        raise NotCopied("its __deepcopy__ returned the object itself")
    state = getattr(value, "__dict__", None)
    if type(state) is not dict or not state:
        return
    copied = getattr(out, "__dict__", None)
    if copied is state:
        raise NotCopied("its copy shares the original's attributes")
    if type(copied) is not dict:
        return
    for name, item in state.items():
        if copied.get(name, _ABSENT) is item and type(item) not in _ATOMIC and not _immutable(item):
            raise NotCopied(f"its copy shares the attribute {name!r} ({type(item).__name__}) with the original")


_ABSENT = object()


def _immutable(value: Any) -> bool:
    t = type(value)
    if t in _SELF_COPYING or isinstance(value, _SELF_COPYING_KINDS):
        return True
    if t is tuple or t is frozenset:
        return _all_atomic(value, next(iter(value))) if value else True
    return False


def copy_arguments(arguments: dict[str, Any], shared: Iterable[str] = ()) -> tuple[dict[str, Any], dict[str, str]]:
    """``(copy, uncopied)``: a private copy of every argument, and why some could not be copied.

    Arguments named in ``shared`` (``self``/``cls``, SDK-injected contexts) are passed
    through as they are. One memo for the whole call keeps aliasing: two arguments
    that were the same list are the same copied list. An argument whose copy raises
    is kept as the caller's object and appears in ``uncopied`` as ``name -> reason``;
    so does one whose deep copy is the object itself (a ``__deepcopy__`` returning
    ``self``) or shares a mutable attribute with it (a shallow "deep" copy; one level of
    attributes is checked). Values whose copy is themselves by design (classes,
    functions, enum members, compiled patterns) are shared without a flag.
    """
    keep = frozenset(shared)
    memo: dict[int, Any] = {}
    out: dict[str, Any] = {}
    uncopied: dict[str, str] = {}
    for name, value in arguments.items():
        if name in keep or type(value) in _ATOMIC:
            out[name] = value
            continue
        try:
            out[name] = _copy(value, memo)
        except NotCopied as exc:  # a "copy" that is the original, or shares its state
            out[name] = value
            uncopied[name] = (
                f"{type(value).__name__} was not really copied ({exc}); "
                "the call gets the caller's object, which may change after this was shown"
            )
        except Exception as exc:  # any failure to copy keeps the original, and says so
            out[name] = value
            detail = str(exc).splitlines()[0][:160] if str(exc) else ""
            uncopied[name] = (
                f"{type(value).__name__} could not be copied ({type(exc).__name__}{': ' + detail if detail else ''}); "
                "the call gets the caller's object, which may change after this was shown"
            )
    return out, uncopied


# -- exact fingerprints ---------------------------------------------------------------------------


class _NoExactEncoding(Exception):
    """The value has no exact encoding here (an arbitrary object, a cycle)."""


_FLAT_REPR = frozenset({int, str, bool, type(None)})  # repr() of a list of these is exact and injective


def _tz(value: tzinfo | None) -> str:
    if value is None:
        return "N"
    if type(value) is timezone:
        offset = value.utcoffset(None)
        return f"z{offset.days},{offset.seconds},{offset.microseconds},{_text(value.tzname(None))}"
    key = getattr(value, "key", None)
    if type(value).__name__ == "ZoneInfo" and isinstance(key, str):
        return f"Z{_text(key)}"
    raise _NoExactEncoding(type(value).__name__)


def _text(value: str) -> str:
    return f"{len(value)}:{value}"


def _type_tag(t: type) -> str:
    return f"{id(t)}:{t.__module__}.{t.__qualname__}"


def _encode(value: Any, out: list[str], path: set[int]) -> None:
    """Append an exact, type-tagged encoding of ``value`` to ``out``; raise _NoExactEncoding if there is none."""
    t = type(value)
    if t is str:
        out.append(f"s{len(value)}:")
        out.append(value)
        return
    if t is int:
        out.append(f"i{value:x};")
        return
    if t is bool:
        out.append("T" if value else "F")
        return
    if value is None:
        out.append("N")
        return
    if t is float:
        out.append(f"f{struct.pack('<d', value).hex()}")
        return
    simple = _SIMPLE.get(t)
    if simple is not None:
        out.append(simple(value))
        return
    if t in (list, tuple, set, frozenset, dict, bytearray) or dataclasses.is_dataclass(value) or isinstance(value, tuple):
        key = id(value)
        if key in path:
            raise _NoExactEncoding("cycle")
        path.add(key)
        try:
            _encode_container(value, t, out, path)
        finally:
            path.discard(key)
        return
    if isinstance(value, enum.Enum):
        out.append(f"E{_type_tag(t)}:{_text(value.name)}")
        return
    if isinstance(value, PurePath) and not _instance_state(value):
        out.append(f"P{t.__qualname__}:{_text(str(value))}")
        return
    raise _NoExactEncoding(t.__name__)


def _instance_state(value: Any) -> bool:
    """Has ``value`` attributes of its own (beyond what its type encodes)?"""
    state = getattr(value, "__dict__", None)
    return bool(state)


def _encode_container(value: Any, t: type, out: list[str], path: set[int]) -> None:
    if t is list or t is tuple:
        n = len(value)
        types = {*map(type, value)}
        if types <= _FLAT_REPR:
            try:
                text = repr(value)  # exact for ints, strs, bools and None; fails only on ints past the digit limit
            except ValueError:
                pass
            else:
                out.append(f"{'l' if t is list else 't'}r{n}:{len(text)}:")
                out.append(text)
                return
        elif types == {float}:
            out.append(f"{'l' if t is list else 't'}f{n}:{struct.pack(f'<{n}d', *value).hex()}")
            return
        out.append(f"{'L' if t is list else 'U'}{n}[")
        for item in value:
            _encode(item, out, path)
        out.append("]")
    elif t is dict:
        out.append(f"D{len(value)}{{")  # insertion order counts: a function may depend on it
        for k, v in value.items():
            _encode(k, out, path)
            _encode(v, out, path)
        out.append("}")
    elif t is set or t is frozenset:
        parts = []
        for item in value:
            one: list[str] = []
            _encode(item, one, path)
            parts.append("".join(one))
        parts.sort()
        out.append(f"{'S' if t is set else 'Q'}{len(value)}{{")
        out.extend(f"{len(p)}:{p}" for p in parts)
        out.append("}")
    elif t is bytearray:
        out.append(f"y{len(value)}:{value.hex()}")
    elif isinstance(value, tuple) and hasattr(t, "_fields") and not _instance_state(value):  # a NamedTuple
        out.append(f"NT{_type_tag(t)}[")
        for item in value:
            _encode(item, out, path)
        out.append("]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value)]
        state = getattr(value, "__dict__", None)
        if state is not None and set(state) != set(names):
            raise _NoExactEncoding(f"{t.__name__} has attributes beyond its fields")
        out.append(f"DC{_type_tag(t)}{{")
        for name in names:
            out.append(_text(name))
            _encode(getattr(value, name), out, path)
        out.append("}")
    else:
        raise _NoExactEncoding(t.__name__)


def _timedelta(v: timedelta) -> str:
    return f"{v.days},{v.seconds},{v.microseconds}"


_SIMPLE: dict[type, Callable[[Any], str]] = {
    bytes: lambda v: f"b{len(v)}:{v.hex()}",
    complex: lambda v: f"c{struct.pack('<dd', v.real, v.imag).hex()}",
    Decimal: lambda v: f"d{_text(str(v))}",  # str keeps sign, digits and exponent: 1.0 and 1.00 differ
    fractions.Fraction: lambda v: f"q{v.numerator:x}/{v.denominator:x}",
    datetime: lambda v: f"dt{v.isoformat()};{v.fold};{_tz(v.tzinfo)}",
    date: lambda v: f"da{v.isoformat()}",
    time: lambda v: f"ti{v.isoformat()};{v.fold};{_tz(v.tzinfo)}",
    timedelta: lambda v: f"td{_timedelta(v)}",
    timezone: lambda v: f"tz{_tz(v)}",
    uuid.UUID: lambda v: f"u{v.int:x}",
    range: lambda v: f"r{v.start:x},{v.stop:x},{v.step:x}",
    type(Ellipsis): lambda v: "...",
}


def fingerprint(arguments: dict[str, Any], *, key: bytes | None = None) -> str | None:
    """A keyed hash of the exact arguments, or None when some value has no exact encoding.

    Equal fingerprints mean equal names, value types and values (``1`` and ``1.0``,
    ``b"a"`` and ``bytearray(b"a")``, ``0.0`` and ``-0.0`` all differ). Supported:
    None, bool, int (any size), float (by its bits), complex, str, bytes, bytearray,
    Decimal, Fraction, datetime/date/time (with UTC-offset or zoneinfo zones)/timedelta,
    UUID, paths, range, enum members, lists, tuples, dicts (in order), sets,
    frozensets, NamedTuples and dataclasses of these. The key is random per process, so
    a log reader cannot test guessed values against it; ``key`` (up to 64 bytes) gives one that
    outlives the process (the dashboard approver's, so an agent that restarts matches its request).
    """
    out: list[str] = []
    try:
        _encode(arguments, out, set())
    except (_NoExactEncoding, RecursionError):
        return None
    hasher = hashlib.blake2b(key=_FINGERPRINT_KEY if key is None else key, digest_size=16)
    for part in out:
        hasher.update(part.encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()


# -- a method's self: never copied, its state remembered --------------------------------------------


class InstanceState:
    """The state of a method's ``self`` (or a classmethod's ``cls``) when it was shown to a person.

    ``digest`` is a keyed hash of every attribute: exact values where they have an
    exact encoding (see ``fingerprint``), the identity of the object otherwise (those
    attribute names are in ``by_identity``: rebinding them is detected, a change inside
    them is not). ``changed()`` tells whether the object's state differs now. ``text``
    is a short description for the person (secret-named attributes redacted);
    ``exact`` is true when every attribute was compared by value.
    """

    __slots__ = ("_refs", "by_identity", "digest", "owner", "text")

    def __init__(self, owner: Any, digest: str, text: str, by_identity: tuple[str, ...], refs: tuple[Any, ...]) -> None:
        self.owner = owner
        self.digest = digest
        self.text = text
        self.by_identity = by_identity
        self._refs = refs  # objects compared by identity, kept alive so their ids cannot be reused

    @property
    def exact(self) -> bool:
        return not self.by_identity

    def changed(self) -> bool:
        """Does the owner's state differ from this snapshot? (An unreadable state counts as changed.)"""
        try:
            return _state_digest(self.owner)[0] != self.digest
        except Exception:
            return True

    def reason(self, name: str) -> str:
        """The ``uncopied`` text for the person: what the method runs on, and its state now."""
        kind = "class" if isinstance(self.owner, type) else f"{type(self.owner).__name__} object"
        what = f"the caller's {kind} {self.owner.__name__}" if isinstance(self.owner, type) else f"the caller's {kind}"
        text = (
            f"{name} is not copied: the method runs on {what} itself. At request time: {self.text or 'no attributes'}. "
            "If it changes before the call runs, the call is asked about again"
        )
        if self.by_identity:
            shown = ", ".join(self.by_identity[:5]) + (", ..." if len(self.by_identity) > 5 else "")
            text += f" (changes inside {shown} cannot be detected, only their replacement)"
        return text + "."


_MAX_STATE_ATTRIBUTES = 256


def _state_items(owner: Any) -> list[tuple[str, Any]]:
    """The attributes that make up ``owner``'s state: instance ``__dict__`` and ``__slots__``;
    for a class, the data attributes along its MRO (not methods, descriptors or dunders)."""
    items: list[tuple[str, Any]] = []
    if isinstance(owner, type):
        seen: set[str] = set()
        for klass in owner.__mro__[:-1]:
            for name, value in vars(klass).items():
                if name in seen or (name.startswith("__") and name.endswith("__")):
                    continue
                seen.add(name)
                if callable(value) or isinstance(value, (classmethod, staticmethod, property, types.MemberDescriptorType)):
                    continue
                items.append((name, value))
        return items
    state = getattr(owner, "__dict__", None)
    if isinstance(state, dict):
        items.extend((k, v) for k, v in state.items() if isinstance(k, str))
    for klass in type(owner).__mro__:
        slots = vars(klass).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            value = getattr(owner, name, _ABSENT)
            if value is not _ABSENT:
                items.append((name, value))
    return items


def _state_digest(owner: Any) -> tuple[str, list[tuple[str, Any, bool]]]:
    """``(digest, [(name, value, by_identity)])`` of ``owner``'s state now."""
    hasher = hashlib.blake2b(key=_FINGERPRINT_KEY, digest_size=16)
    hasher.update(_type_tag(type(owner)).encode())
    parts: list[tuple[str, Any, bool]] = []
    for name, value in _state_items(owner):
        out: list[str] = []
        try:
            _encode(value, out, set())
            by_identity = False
        except (_NoExactEncoding, RecursionError):
            out = [f"@{id(value)}:{_type_tag(type(value))}"]
            by_identity = True
        hasher.update(f"{len(name)}:{name}=".encode())
        for part in out:
            hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b";")
        parts.append((name, value, by_identity))
    return hasher.hexdigest(), parts


def instance_state(owner: Any) -> InstanceState:
    """Snapshot ``owner``'s state (a method's ``self`` or a classmethod's ``cls``); see ``InstanceState``."""
    from .audit import REDACTED, SECRET_NAMES, redact  # the audit log's pattern of secret names
    from .formatting import bounded_repr

    digest, parts = _state_digest(owner)
    shown = []
    for name, value, _ in parts[:_MAX_STATE_ATTRIBUTES]:
        shown.append(f"{name}={REDACTED if SECRET_NAMES.search(name) else bounded_repr(redact(value), 60)}")
    text = ", ".join(shown)
    if len(text) > 400:
        text = text[:400] + f"… ({len(parts)} attributes)"
    by_identity = tuple(name for name, _, identity in parts if identity)
    refs = tuple(value for _, value, identity in parts if identity)
    return InstanceState(owner, digest, text, by_identity, refs)
