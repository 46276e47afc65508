"""What a wrapped callable looks like: its name, docs, signature, hints, and how to call it.

Works for plain and async functions, methods, ``functools.partial`` objects and
callable instances, so the wrapper can stand in for any of them.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Target", "inspect_target", "method_descriptor"]

_P = inspect.Parameter


@dataclass(frozen=True)
class Target:
    """The facts about one wrapped callable that every call reuses."""

    func: Callable[..., Any]
    name: str
    qualname: str
    module: str | None
    doc: str | None
    signature: inspect.Signature
    hints: dict[str, Any]
    is_async: bool
    # positional parameters passed positionally by the generated wrapper (see bind_wrapper_call)
    positional: tuple[str, ...]
    var_positional: str | None
    var_keyword: str | None
    named: frozenset[str]
    all_keyword: bool = False
    # names that may be passed by keyword (a **kwargs key equal to a positional-only name is an extra)
    keyword_names: frozenset[str] = frozenset()

    @property
    def summary(self) -> str:
        """The first line of the docstring, or ''."""
        doc = inspect.cleandoc(self.doc or "")
        return doc.splitlines()[0] if doc else ""

    def arguments_from_wrapper(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Arguments by parameter name, from how the generated wrapper passes them.

        The wrapper has the real signature (defaults already applied). It passes
        positional-only parameters positionally, and also the positional-or-keyword
        ones when there is a ``*args``; everything else arrives by keyword, with the
        ``**kwargs`` entries mixed in.
        """
        if not args and self.var_keyword is None:
            return kwargs
        arguments: dict[str, Any] = dict(zip(self.positional, args))
        if self.var_positional is not None:
            arguments[self.var_positional] = tuple(args[len(self.positional) :])
        extra: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in self.keyword_names:
                arguments[key] = value
            else:
                extra[key] = value
        if self.var_keyword is not None:
            arguments[self.var_keyword] = extra
        return arguments

    def call_parts(self, arguments: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """``(args, kwargs)`` that call the real function with ``arguments``."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in self.signature.parameters.values():
            if param.name not in arguments:
                continue
            value = arguments[param.name]
            if param.kind is _P.POSITIONAL_ONLY or (param.kind is _P.POSITIONAL_OR_KEYWORD and self.var_positional):
                args.append(value)
            elif param.kind is _P.VAR_POSITIONAL:
                args.extend(value)
            elif param.kind is _P.VAR_KEYWORD:
                kwargs.update(value)
            else:
                kwargs[param.name] = value
        return args, kwargs

    def call(self, arguments: dict[str, Any]) -> Any:
        if self.all_keyword:  # the common case: every parameter can be passed by name
            return self.func(**arguments)
        args, kwargs = self.call_parts(arguments)
        return self.func(*args, **kwargs)


def _underlying(obj: Any) -> Any:
    """The function whose name, doc and hints describe ``obj``."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.isroutine(obj) or inspect.isclass(obj):
        return obj
    call = getattr(type(obj), "__call__", None)
    return call if call is not None else obj


class _Annotated:
    """Carries one annotation, so get_type_hints can resolve it alone."""

    def __init__(self, name: str, annotation: Any) -> None:
        self.__annotations__ = {name: annotation}


def _raw_annotations(described: Any) -> dict[str, Any]:
    """``__annotations__``; on Python 3.14+ (annotations evaluated lazily) a name nothing defines
    is a ForwardRef there instead of a NameError (validation resolves it later, or refuses edits)."""
    try:
        return dict(getattr(described, "__annotations__", {}) or {})
    except NameError:
        if sys.version_info < (3, 14):
            raise
        annotationlib: Any = importlib.import_module("annotationlib")
        return dict(annotationlib.get_annotations(described, format=annotationlib.Format.FORWARDREF))


def _signature(func: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(func)
    except NameError:  # Python 3.14+: an annotation naming something undefined (a TYPE_CHECKING import)
        if sys.version_info < (3, 14):
            raise
        annotationlib: Any = importlib.import_module("annotationlib")
        signature: Any = inspect.signature
        return typing.cast(inspect.Signature, signature(func, annotation_format=annotationlib.Format.FORWARDREF))


def _hints(described: Any, signature: inspect.Signature) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(described, include_extras=True)
    except Exception:  # one unresolvable forward reference: resolve the others one by one
        hints = {}
        namespace = getattr(inspect.unwrap(described), "__globals__", {})
        for name, annotation in _raw_annotations(described).items():
            try:
                hints[name] = typing.get_type_hints(_Annotated(name, annotation), globalns=namespace, include_extras=True)[name]
            except Exception:
                hints[name] = annotation  # left as text: validation cannot check it
    names = set(signature.parameters) | {"return"}
    return {k: v for k, v in hints.items() if k in names}


def _is_async(obj: Any) -> bool:
    if inspect.iscoroutinefunction(obj):
        return True
    inner = obj
    while isinstance(inner, functools.partial):
        inner = inner.func
    if inspect.iscoroutinefunction(inner):
        return True
    call = getattr(type(inner), "__call__", None)
    return not inspect.isroutine(inner) and inspect.iscoroutinefunction(call)


def method_descriptor(obj: Any) -> tuple[type[Any], Callable[..., Any]] | None:
    """``(staticmethod | classmethod, function)`` for those descriptors, else None.

    The stand-in is made for the function and put back in the same kind of descriptor,
    so ``@require_approval`` works above or below ``@staticmethod``/``@classmethod``,
    called on the class or an instance. A property cannot be a stand-in (reading an
    attribute cannot wait for a person): that raises TypeError saying what to do.
    """
    if isinstance(obj, (staticmethod, classmethod)):
        return type(obj), obj.__func__
    if isinstance(obj, (property, functools.cached_property)):
        fget = obj.fget if isinstance(obj, property) else obj.func
        name = getattr(fget, "__qualname__", None) or type(obj).__name__
        raise TypeError(
            f"require_approval cannot wrap a {type(obj).__name__} ({name}): reading an attribute cannot ask a person. "
            "Make it a method (and wrap that), or put @require_approval below @property to gate the getter function."
        )
    return None


def inspect_target(func: Callable[..., Any]) -> Target:
    if not callable(func):
        raise TypeError(f"require_approval needs a callable, not {type(func).__name__}")
    described = _underlying(func)
    signature = _signature(func)
    if inspect.isroutine(func) or isinstance(func, functools.partial):
        name = str(getattr(described, "__name__", None) or type(func).__name__)
        qualname = str(getattr(described, "__qualname__", name))
        doc = getattr(func, "__doc__", None) if not isinstance(func, functools.partial) else described.__doc__
    else:  # a callable instance: describe it by its class, document it by __call__ or the class
        name = type(func).__name__
        qualname = type(func).__qualname__
        doc = getattr(described, "__doc__", None) or type(func).__doc__
    params = list(signature.parameters.values())
    var_positional = next((p.name for p in params if p.kind is _P.VAR_POSITIONAL), None)
    var_keyword = next((p.name for p in params if p.kind is _P.VAR_KEYWORD), None)
    positional = tuple(
        p.name
        for p in params
        if p.kind is _P.POSITIONAL_ONLY or (p.kind is _P.POSITIONAL_OR_KEYWORD and var_positional is not None)
    )
    named = frozenset(p.name for p in params if p.kind not in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD))
    return Target(
        func=func,
        name=name,
        qualname=qualname,
        module=getattr(described, "__module__", None),
        doc=doc,
        signature=signature,
        hints=_hints(described, signature),
        is_async=_is_async(func),
        positional=positional,
        var_positional=var_positional,
        var_keyword=var_keyword,
        named=named,
        keyword_names=frozenset(p.name for p in params if p.kind in (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)),
        all_keyword=all(p.kind in (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY) for p in params),
    )
