"""Gate: shared approval settings, and the wrapper that stands in for each function.

``Gate.wrap(fn)`` returns a function with ``fn``'s name, docs, signature, hints and
async-ness whose every call is turned into an ApprovalRequest, decided by the policy
(see ``hitl_widget.policy`` for the order of rules) or by a person, audited, and
then run with exactly the approved arguments, or refused with ApprovalRejected.

Run hooks: an approver that keeps its own record of the call (the dashboard's, which runs a
call at most once) may define, beside ``__call__``:

- ``before_run(request, resolution)``: called once the call is approved, right before the
  function runs (``resolution.arguments`` are what it runs with). Raising stops the call: the
  function does not run, the exception reaches the caller (an audit log records the outcome
  ``not_run``).
- ``after_run(request, outcome)``: called after the function returned or raised, with
  ``outcome = {"status": "succeeded" | "failed", "detail": text}`` (the result's or the error's
  bounded repr, with the audit log's secrets redacted). Its failure is logged, never raised:
  the call has run and its result goes to the caller.

Async calls await ``before_run_async`` / ``after_run_async`` when the approver has them (else
the sync ones are called). Only the approver whose answer let the call run is called (after
an edit decided by another approver, that one), and only for a person's decision through it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import functools
import inspect
import itertools
import keyword
import logging
import math
import os
import re
import secrets
import sys
import threading
import time
import unicodedata
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast, overload

from makefun import create_function

from .audit import SECRET_NAMES, AuditLog, redact_text, redacted_repr, secret_values
from .decisions import Decision, Edit, Reject, as_decision
from .errors import ApprovalCancelled, ApprovalRejected, ApprovalTimeout, AuditUnavailable, AuditWarning, InvalidEdit
from .formatting import bounded_repr, json_safe
from .frozen import instance_state
from .policy import ASK, Budget, TimeWindow, Verdict, env_mode
from .request import RISK_LEVELS, ApprovalRequest
from .target import Target, inspect_target, method_descriptor
from .validation import injected_parameters

__all__ = ["Gate", "Resolution", "require_approval"]

log = logging.getLogger("hitl_widget")

F = TypeVar("F", bound=Callable[..., Any])
Approver = Callable[[ApprovalRequest], Any]
Risk = str | Callable[[ApprovalRequest], str]
OnTimeout = Literal["reject", "approve"]

_process_prefix = secrets.token_hex(3)
_counter = itertools.count(1)

#: how many times one call may be decided (the first answer, then after each edit) before it fails closed
MAX_DECISION_ROUNDS = 4
_NOT_REQUIRED = Verdict("run", "when", "when= returned False")
#: stands for "the default approver" when no approver is configured, in grants and re-decisions
_DEFAULT_ROUTE = "default approver"


def _default_id() -> str:
    return f"{_process_prefix}-{next(_counter)}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Resolution:
    """How a request was settled: status, final arguments, and who/what decided."""

    status: str  # approved | edited | rejected | timed_out | cancelled | auto_approved | auto_rejected | not_required
    arguments: dict[str, Any]
    rule: str
    by: str | None = None
    channel: str | None = None
    feedback: str = ""
    diff: dict[str, Any] = field(default_factory=dict)
    always: str | None = None
    waited_ms: float = 0.0
    grant_refused: str = ""  # why an "always: arguments" asked for was not granted
    grant_key: str | None = field(default=None, repr=False)  # the fingerprint an arguments grant is keyed by
    decider: object = field(default=None, repr=False)  # the approver whose answer this is (its run hooks are called)

    @property
    def runs(self) -> bool:
        return self.status in ("approved", "edited", "auto_approved", "not_required")


class _Guard:
    """One wrapped function's settings; unset options fall back to the gate's."""

    def __init__(self, gate: Gate, target: Target, options: dict[str, Any]) -> None:
        unknown = set(options) - _OPTION_NAMES
        if unknown:
            raise TypeError(f"unknown option(s) {sorted(unknown)}; expected some of {sorted(_OPTION_NAMES)}")
        self.gate = gate
        self.target = target
        get = options.get
        self.when: Callable[[ApprovalRequest], Any] | None = get("when", gate.when)
        self.risk: Risk = get("risk", gate.risk)
        self.timeout: float | None = get("timeout", gate.timeout)
        self.on_timeout: OnTimeout = get("on_timeout", gate.on_timeout)
        self.budget: Budget | None = get("budget", gate.budget)
        self.window: TimeWindow | None = get("window", gate.window)
        self.approver: Approver | None = get("approver", None)
        self.audit: AuditLog | None = get("audit", gate.audit)
        context = get("context", None)
        # a function of the request: computed for each call a person will be asked about (a dry run's row count)
        self.context_of: Callable[[ApprovalRequest], Mapping[str, Any]] | None = None
        if callable(context) and not isinstance(context, Mapping):
            self.context_of, context = context, None
        if context is not None and not isinstance(context, Mapping):
            raise TypeError(f"context= takes a dict or a function of the request returning one, not {type(context).__name__}")
        self.context: dict[str, Any] = dict(context or {})
        _check_options(self.risk, self.timeout, self.on_timeout)
        _check_parts(when=self.when, approver=self.approver, budget=self.budget, window=self.window, audit=self.audit)
        params = list(target.signature.parameters)
        self.frozen = frozenset(params[:1]) if params[:1] in (["self"], ["cls"]) and "." in target.qualname else frozenset()
        # a method's self/cls: never copied; grants are kept per instance, its state checked before running
        self.instance_name: str | None = params[0] if self.frozen else None
        self.static_risk = self.risk if isinstance(self.risk, str) else None
        # rules that read the arguments to let a call through see the copy (made before they look):
        # a risk function and a budget amount. when= is left out: it can only skip the person by
        # returning False (then nothing is copied); when it asks, the copy is made before anyone is asked.
        self.reads_arguments = self.static_risk is None or (self.budget is not None and self.budget.amount is not None)
        self.shared_names: frozenset[str] | None = None  # arguments never copied (self, injected contexts)
        self.unrecorded = self.audit is None and self.when is None  # an auto-approved call leaves no trace


def _check_parts(*, when: Any, approver: Any, budget: Any, window: Any, audit: Any) -> None:
    """Refuse option values of the wrong kind at definition time, before any call could slip through."""
    if when is not None and not callable(when):
        raise TypeError(
            f"when= takes a function of the request (ask when it returns anything but False), not {type(when).__name__}: "
            f"{when!r:.60}; to never ask, use risk='low' or auto_approve="
        )
    if approver is not None:
        _check_approver("approver=", approver)
    if budget is not None and not isinstance(budget, Budget):
        raise TypeError(f"budget= takes a Budget(...), not {type(budget).__name__}: {budget!r:.60}")
    if window is not None and not isinstance(window, TimeWindow):
        raise TypeError(f"window= takes a TimeWindow(...), not {type(window).__name__}: {window!r:.60}")
    if audit is not None and not callable(getattr(audit, "append", None)):
        raise TypeError(f"audit= takes an AuditLog(...), not {type(audit).__name__}: {audit!r:.60}")


def _levels(name: str, levels: Any) -> frozenset[str]:
    """The risk levels named by ``levels``: a list, tuple or set of level names, nothing else.

    A string, a dict (``{"low": True, "critical": False}`` would be read by its keys),
    a generator or another iterable whose meaning is not a plain collection of names is
    refused, as is any item that is not a level name.
    """
    if isinstance(levels, (str, bytes, bytearray, Mapping)) or not isinstance(levels, (Sequence, AbstractSet)):
        hint = "a dict is read by its keys, so its True/False values would be ignored; " if isinstance(levels, Mapping) else ""
        raise TypeError(
            f"{name}= takes a tuple of risk levels such as ('low',), not {type(levels).__name__}: {levels!r:.60}"
            + (f" ({hint.rstrip('; ')})" if hint else "")
        )
    out = set()
    for level in levels:
        if not isinstance(level, str) or level not in RISK_LEVELS:
            raise ValueError(f"unknown risk level {level!r:.60} in {name}=; levels are {RISK_LEVELS}")
        out.add(level)
    return frozenset(out)


def _check_approver(what: str, approver: Any) -> None:
    """An approver must be a callable object or function; a class (``ScriptedApprover`` unmade) is refused."""
    if isinstance(approver, type):
        raise TypeError(f"{what} is the class {approver.__name__}; pass an instance, e.g. {approver.__name__}(...)")
    if not callable(approver):
        raise TypeError(f"{what} must be an approver (callable: request -> Approve/Edit/Reject), not {type(approver).__name__}")


_OPTION_NAMES = frozenset({"when", "risk", "timeout", "on_timeout", "budget", "window", "approver", "audit", "context"})


def _check_options(risk: Any, timeout: Any, on_timeout: Any) -> None:
    if isinstance(risk, str):
        if risk not in RISK_LEVELS:
            raise ValueError(f"risk must be one of {RISK_LEVELS} (or a function of the request), not {risk!r}")
    elif not callable(risk):
        raise TypeError(f"risk must be one of {RISK_LEVELS} or a function of the request, not {type(risk).__name__}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0
    ):
        raise ValueError(f"timeout must be a positive, finite number of seconds or None (no timeout), not {timeout!r}")
    if on_timeout not in ("reject", "approve"):
        raise ValueError(f"on_timeout must be 'reject' (fail closed) or 'approve', not {on_timeout!r}")


class Gate:
    """Shared approval settings for many functions.

    ::

        gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog("audit.jsonl"))
        safe_delete = gate.wrap(delete_user)

        @gate.require_approval(risk="high", timeout=300)
        def drop_table(name: str) -> None: ...

    ``approver``: asked when the policy does not decide (default: the best channel
    for this environment). ``routes``: approvers by risk level, e.g.
    ``{"critical": dashboard}``. ``auto_approve``: risk levels approved without
    asking (``("low",)`` by default; a list, tuple or set of level names: a string or
    a dict is refused with TypeError). ``budget``/``window``: see ``hitl_widget.policy``.
    ``clock`` and ``id_factory`` make tests deterministic.
    """

    def __init__(
        self,
        approver: Approver | None = None,
        *,
        when: Callable[[ApprovalRequest], Any] | None = None,
        risk: Risk = "medium",
        timeout: float | None = None,
        on_timeout: OnTimeout = "reject",
        audit: AuditLog | None = None,
        routes: Mapping[str, Approver] | None = None,
        auto_approve: Sequence[str] | AbstractSet[str] = ("low",),
        budget: Budget | None = None,
        window: TimeWindow | None = None,
        clock: Callable[[], datetime] = _utcnow,
        id_factory: Callable[[], str] = _default_id,
    ) -> None:
        _check_options(risk, timeout, on_timeout)
        _check_parts(when=when, approver=approver, budget=budget, window=window, audit=audit)
        if routes is not None and not isinstance(routes, Mapping):
            raise TypeError(f"routes= takes a dict of risk level -> approver, not {type(routes).__name__}: {routes!r:.60}")
        _levels("routes", list(routes or {}))
        for level, routed in (routes or {}).items():
            _check_approver(f"routes[{level!r}]", routed)
        for name, fn in (("clock", clock), ("id_factory", id_factory)):
            if not callable(fn):
                raise TypeError(f"{name}= must be a function, not {type(fn).__name__}")
        self.approver = approver
        self.when = when
        self.risk = risk
        self.timeout = timeout
        self.on_timeout: OnTimeout = on_timeout
        self.audit = audit
        self.routes = dict(routes or {})
        self.auto_approve = _levels("auto_approve", auto_approve)
        self.budget = budget
        self.window = window
        self.clock = clock
        self.id_factory = id_factory
        # "approve always" grants, per stand-in (its _Guard) and per approver that gave them
        self._grants: weakref.WeakKeyDictionary[_Guard, _Grants] = weakref.WeakKeyDictionary()
        # False until a first grant (again after revoke_always): calls skip the grant lookups, the
        # common case (a WeakKeyDictionary's len() takes a lock-like guard on every call)
        self._granted = False
        self._grant_lock = threading.Lock()

    # -- wrapping ------------------------------------------------------------------

    @overload
    def require_approval(self, fn: F, /) -> F: ...
    @overload
    def require_approval(self, fn: None = None, /, **options: Any) -> Callable[[F], F]: ...
    def require_approval(self, fn: Any = None, /, **options: Any) -> Any:
        """Decorator form of ``wrap``: bare, or with per-function options."""
        if fn is None:
            return lambda f: self.wrap(f, **options)
        return self.wrap(fn, **options)

    def wrap(self, fn: F, /, **options: Any) -> F:
        """A stand-in for ``fn`` that asks before every call.

        Options override the gate's for this function: ``when``, ``risk``,
        ``timeout``, ``on_timeout``, ``budget``, ``window``, ``approver``, ``audit``,
        ``context``. A ``staticmethod`` or ``classmethod`` comes back as the same kind of
        descriptor around the stand-in (so decorator order does not matter); a property
        raises TypeError.
        """
        descriptor = method_descriptor(fn)  # staticmethod/classmethod: wrap the function, keep the kind
        if descriptor is not None:
            return cast(F, descriptor[0](self.wrap(descriptor[1], **options)))
        target = inspect_target(fn)
        guard = _Guard(self, target, options)
        arguments_from_wrapper = target.arguments_from_wrapper
        info = logging.INFO
        if target.is_async:

            async def impl_async(*args: Any, **kwargs: Any) -> Any:
                arguments = arguments_from_wrapper(args, kwargs)
                # approved whatever else holds, and nothing to record: no request at all
                if guard.unrecorded and guard.static_risk in self.auto_approve and not log.isEnabledFor(info):
                    return await target.call(arguments)
                return await self._call_async(guard, arguments)

            impl: Callable[..., Any] = impl_async
        else:

            def impl_sync(*args: Any, **kwargs: Any) -> Any:
                arguments = arguments_from_wrapper(args, kwargs)
                # approved whatever else holds, and nothing to record: no request at all
                if guard.unrecorded and guard.static_risk in self.auto_approve and not log.isEnabledFor(info):
                    return target.call(arguments)
                return self._call_sync(guard, arguments)

            impl = impl_sync
        return cast(F, stand_in(target, impl, guard))

    # -- grants --------------------------------------------------------------------

    def revoke_always(self) -> None:
        """Forget every "approve always" given so far."""
        with self._grant_lock:
            self._grants.clear()
            self._granted = False

    def _grant(self, guard: _Guard, route: object, scope: str, key: str | None, request: ApprovalRequest) -> None:
        """Record "approve always" for this stand-in (for a method: for this instance), as given by the approver at ``route``."""
        with self._grant_lock:
            grants = self._grants.get(guard)
            if grants is None:
                grants = self._grants[guard] = _Grants()
            self._granted = True
            if guard.instance_name is not None:
                found = grants.instance(request.arguments.get(guard.instance_name), create=True)
                if found is None:  # cannot be held weakly: refused in _settle already
                    return
                grants = found
            if scope == "function":
                if not any(r is route for r in grants.functions):
                    grants.functions.append(route)
            elif key is not None:
                for r, keys in grants.arguments:
                    if r is route:
                        keys.add(key)
                        break
                else:
                    grants.arguments.append((route, {key}))

    def _grants_for(self, guard: _Guard, request: ApprovalRequest) -> _Grants | None:
        """The grants covering ``request``: its stand-in's, and for a method its instance's."""
        grants = self._grants.get(guard)
        if grants is None or guard.instance_name is None:
            return grants
        with self._grant_lock:
            return grants.instance(request.arguments.get(guard.instance_name), create=False)

    def _has_argument_grants(self, guard: _Guard) -> bool:
        if not self._granted:
            return False
        grants = self._grants.get(guard)
        if grants is None:
            return False
        return bool(grants.arguments) or (guard.instance_name is not None and bool(grants.instances))

    def _route(self, guard: _Guard, request: ApprovalRequest) -> object:
        """Who is asked about ``request`` (an approver object, or the default-approver marker)."""
        if guard.approver is not None:
            return guard.approver
        routed = self.routes.get(request.risk)
        if routed is not None:
            return routed
        return self.approver if self.approver is not None else _DEFAULT_ROUTE

    def _route_of(self, guard: _Guard, approver: object) -> object:
        """The route ``approver`` stands for: itself when configured here, else the default-approver marker."""
        if approver is guard.approver or approver is self.approver or any(approver is r for r in self.routes.values()):
            return approver
        return _DEFAULT_ROUTE

    # -- policy --------------------------------------------------------------------

    def _new_request(self, guard: _Guard, arguments: dict[str, Any], *, copy: bool | None = None) -> ApprovalRequest:
        """The request for one call. Its arguments are copied now when the policy will read them
        (``when=``, a risk function, a budget amount, an argument grant) or ``copy`` is true;
        otherwise ``_freeze`` copies them before anyone is asked."""
        request = ApprovalRequest(
            id=self.id_factory(),
            function=guard.target.name,
            arguments=arguments,
            risk=guard.static_risk or "medium",
            created_at=self.clock(),
            target=guard.target,
            timeout=guard.timeout,
            context=guard.context,
            frozen=guard.frozen,
        )
        if copy or (copy is None and (guard.reads_arguments or self._has_argument_grants(guard))):
            self._freeze(guard, request)
        if guard.static_risk is None:
            request.risk = self._risk_of(guard, request)
        return request

    def _risk_of(self, guard: _Guard, request: ApprovalRequest) -> str:
        """The risk function's level for ``request``; when it raises or returns something else,
        ``"critical"``, noted on the request (``risk_unknown``), so the call is asked about
        (the risk-level rule never auto-approves it) by the approver routed for critical calls."""
        try:
            level = cast(Callable[[ApprovalRequest], str], guard.risk)(request)
        except Exception as exc:
            why = f"the risk function raised {type(exc).__name__}"
        else:
            if isinstance(level, str) and level in RISK_LEVELS:
                return level
            why = f"the risk function returned {_brief(level)}, not one of {RISK_LEVELS}"
        request.risk_unknown = True
        request.notes.append(f"{why}: treated as critical, and asked")
        log.warning("%s: %s", request.call_text(), request.notes[-1])
        return "critical"

    def _freeze(self, guard: _Guard, request: ApprovalRequest) -> None:
        """Give ``request`` its private copy of the arguments (once)."""
        if request.copied:
            return
        shared = guard.shared_names
        if shared is None:  # self/cls and SDK-injected contexts: never editable, passed through as they are
            shared = guard.shared_names = request.frozen | injected_parameters(guard.target)  # no schemas built
        request.copy_arguments(shared)
        name = guard.instance_name
        if name is not None and name in request.arguments:
            _snapshot_instance(request, name)

    def _describe(self, guard: _Guard, request: ApprovalRequest) -> None:
        """``request.context``: the function's static context plus what ``context=`` computes for this call.

        Called once a person will be asked and the request holds its own copy of the arguments
        (``resolve``, a batch's queue), and again for an edited call's new state; never for a
        call the policy lets through or refuses by itself. A context function that raises or returns no dict
        adds a ``context`` entry saying so, noted on the request; the call is still asked about.
        """
        context_of = guard.context_of
        if context_of is None:
            return
        try:
            extra = context_of(request)
            if not isinstance(extra, Mapping):
                raise TypeError(f"it returned {type(extra).__name__}, not a dict")
            request.context = {**guard.context, **extra}
        except Exception as exc:
            pattern = getattr(guard.audit, "redact_names", SECRET_NAMES)
            detail = str(exc)[:200]
            if pattern is not None:
                detail = redact_text(detail, secret_values(request.arguments, pattern), pattern)
            why = f"the context function failed ({type(exc).__name__}: {detail})"
            self._note(request, why)
            request.context = {**guard.context, "context": why}

    def evaluate(self, guard: _Guard, request: ApprovalRequest) -> Verdict:
        """The first policy rule that decides this request, or ASK (see hitl_widget.policy).

        ``when=`` skips approval only when it returns ``False`` itself; any other
        result (``None`` from a forgotten ``return``, 0, "") asks, and so does a
        ``when=`` that raises (logged, and noted in the request record).

        No rule's failure escapes: a ``when=``, grant match, window clock or budget
        (amount or clock) that raises makes that rule not decide, noted in
        ``request.notes`` (the request record's ``notes``) and logged; a risk function
        that fails makes the call ``critical`` and never auto-approved by level
        (see ``_risk_of``). Each fails closed: the call goes on to the next rule, and
        is asked about when no rule approves it.
        """
        when = guard.when
        if when is not None:
            try:
                needed = when(request)
            except Exception as exc:  # fail closed: an unanswerable question means asking
                self._note(request, f"when= raised {type(exc).__name__}; asking")
            else:
                if needed is False:
                    return _NOT_REQUIRED
        if self._granted:
            try:
                grants = self._grants_for(guard, request)
                if grants is not None:
                    route = self._route(guard, request)
                    with self._grant_lock:
                        if any(r is route for r in grants.functions):
                            return Verdict("approve", "always:function")
                        keys = next((k for r, k in grants.arguments if r is route), None)
                    if keys and request.fingerprint in keys:
                        return Verdict("approve", "always:arguments")
            except Exception as exc:  # a grant that cannot be matched covers nothing
                self._note(request, f"matching grants raised {type(exc).__name__}; asking")
        if request.risk in self.auto_approve and not request.risk_unknown:
            return Verdict("approve", f"risk:{request.risk}")
        if guard.window is not None:
            try:
                action, where = guard.window.action()
            except Exception as exc:  # a window clock that fails: the window does not decide
                self._note(request, f"the time window could not be read ({type(exc).__name__}); asking")
            else:
                if action != "ask":
                    return Verdict(cast(Any, action), "window", where)
        if guard.budget is not None:
            try:
                spent, detail = guard.budget.try_spend(request)
            except Exception as exc:  # a budget clock that fails: the budget covers nothing
                self._note(request, f"the budget could not be read ({type(exc).__name__}); asking")
            else:
                if spent:
                    return Verdict("approve", f"budget:{guard.budget.name}", detail)
        mode = env_mode()
        if mode != "ask":
            raw = os.environ.get("HITL_MODE", "").strip()
            detail = "" if raw.lower() == mode else f"unknown value {raw[:40]!r}, not ask|approve|reject: failing closed"
            return Verdict(cast(Any, mode), f"env:HITL_MODE={mode}", detail)
        return Verdict("ask", "ask", "; ".join(request.notes)) if request.notes else ASK

    @staticmethod
    def _note(request: ApprovalRequest, note: str) -> None:
        """Why a rule could not decide (recorded with the request, and logged)."""
        request.notes.append(note)
        log.warning("%s: %s", request.call_text(), note)

    def approver_for(self, guard: _Guard, request: ApprovalRequest) -> Approver:
        """The approver asked about ``request``: the function's, the risk route, the gate's, or the default."""
        if guard.approver is not None:
            return guard.approver
        routed = self.routes.get(request.risk)
        if routed is not None:
            return routed
        if self.approver is not None:
            return self.approver
        from .approvers.default import default_approver

        return cast(Approver, default_approver())

    # -- settling a request --------------------------------------------------------

    def _automatic(self, guard: _Guard, request: ApprovalRequest, verdict: Verdict) -> Resolution:
        status = {"run": "not_required", "approve": "auto_approved", "reject": "auto_rejected"}[verdict.action]
        feedback = ""
        if verdict.action == "reject":
            feedback = f"rejected automatically by policy ({verdict.rule}{': ' + verdict.detail if verdict.detail else ''})"
        resolution = Resolution(status, request.arguments, verdict.rule, channel="policy", feedback=feedback)
        if guard.audit is not None:
            fields = self._decision_fields(resolution, verdict.detail)
            self._audit(guard, "decision", request=_request_field(guard, request), **fields)
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s by %s", _log_text(guard, request), status, verdict.rule)
        return resolution

    def _decision_fields(self, resolution: Resolution, detail: str = "") -> dict[str, Any]:
        fields: dict[str, Any] = {"decision": resolution.status, "rule": resolution.rule}
        for name in ("by", "channel", "feedback", "always", "grant_refused"):
            value = getattr(resolution, name)
            if value:
                fields[name] = value
        if resolution.diff:
            fields["edit"] = resolution.diff
        if detail:
            fields["detail"] = detail
        if resolution.waited_ms:
            fields["waited_ms"] = round(resolution.waited_ms, 3)
        return fields

    def _settle(self, guard: _Guard, request: ApprovalRequest, answer: Any, channel: str, started: float) -> Resolution:
        """Turn an approver's answer (or the exception it raised) into a Resolution, audited."""
        waited = (time.monotonic() - started) * 1000
        if isinstance(answer, BaseException):
            if isinstance(answer, ApprovalTimeout):
                if guard.on_timeout == "approve":
                    resolution = Resolution(
                        "auto_approved", request.arguments, "on_timeout=approve", channel=channel, feedback="timed out"
                    )
                else:
                    # the approver's reason (a dashboard that could not be reached) goes to the agent and the log
                    resolution = Resolution("timed_out", request.arguments, "timeout", channel=channel, feedback=answer.feedback)
            elif isinstance(answer, ApprovalCancelled):
                resolution = Resolution("cancelled", request.arguments, "cancelled", channel=channel, feedback=answer.feedback)
            else:
                self._audit(
                    guard,
                    "decision",
                    request_id=request.id,
                    decision="error",
                    channel=channel,
                    error=f"{type(answer).__name__}: {_redacted_text(guard, request, str(answer))}",
                    waited_ms=round(waited, 3),
                )
                raise answer
            resolution.waited_ms = waited
            self._audit_decision(guard, request, resolution)
            return resolution
        try:
            decision: Decision = as_decision(answer)
        except TypeError as exc:
            self._audit(guard, "decision", request_id=request.id, decision="error", channel=channel, error=str(exc))
            raise
        by = decision.by
        if isinstance(decision, Reject):
            resolution = Resolution("rejected", request.arguments, "person", by, channel, feedback=decision.feedback)
        elif isinstance(decision, Edit):
            try:
                arguments = request.apply_edit(decision.arguments)
            except InvalidEdit as exc:
                self._audit(
                    guard,
                    "decision",
                    request_id=request.id,
                    decision="invalid_edit",
                    by=by,
                    channel=channel,
                    problems=exc.problems,
                    waited_ms=round(waited, 3),
                )
                raise
            diff = {
                k: {"from": json_safe(request.arguments.get(k)), "to": json_safe(v)}
                for k, v in arguments.items()
                if _differs(request.arguments.get(k, _MISSING), v)
            }
            resolution = Resolution(
                "edited" if diff else "approved", arguments, "person", by, channel, diff=diff, always=decision.always
            )
        else:
            resolution = Resolution("approved", request.arguments, "person", by, channel, always=decision.always)
        resolution.waited_ms = waited
        if resolution.always == "arguments" and resolution.runs:
            self._grant_key(request, resolution)
        if resolution.always and resolution.runs and guard.instance_name is not None and not resolution.grant_refused:
            try:
                weakref.ref(request.arguments.get(guard.instance_name))
            except TypeError:
                resolution.grant_refused = (
                    f"not granted: {guard.instance_name} ({type(request.arguments.get(guard.instance_name)).__name__}) "
                    "cannot be referenced weakly, so a grant could not be kept to this one instance; "
                    "its calls are asked about every time"
                )
        self._audit_decision(guard, request, resolution)
        return resolution

    def _grant_key(self, request: ApprovalRequest, resolution: Resolution) -> None:
        """The exact fingerprint an "always: arguments" grant would be keyed by, or why there is none."""
        same = resolution.arguments is request.arguments
        key = request.fingerprint if same else request.fingerprint_of(resolution.arguments)
        if key is None:
            resolution.grant_refused = (
                "not granted: some argument has no exact encoding (or could not be copied), "
                "so no later call could be matched exactly; such calls are asked about every time"
            )
        resolution.grant_key = key

    # -- after a decision: grants, and edited calls decided again --------------------------

    def _apply_grant(self, guard: _Guard, route: object, resolution: Resolution, request: ApprovalRequest) -> None:
        if resolution.always and resolution.runs and not resolution.grant_refused:
            if resolution.always == "function":
                self._grant(guard, route, "function", None, request)
            elif resolution.grant_key is not None:
                self._grant(guard, route, "arguments", resolution.grant_key, request)

    def _edited_request(self, guard: _Guard, request: ApprovalRequest, resolution: Resolution) -> ApprovalRequest:
        """The request state an edit made: same id, the edited arguments, its own risk level and timeout."""
        arguments = resolution.arguments  # values an approver handed over are kept as given (validation's contract)
        changed = {k for k, v in arguments.items() if k not in request.arguments or v is not request.arguments[k]}
        uncopied = {k: why for k, why in request.uncopied.items() if k not in changed}
        new = ApprovalRequest(
            id=request.id,
            function=request.function,
            arguments=arguments,
            risk=guard.static_risk or "medium",
            created_at=request.created_at,
            target=request.target,
            timeout=request.timeout,
            context=request.context,
            frozen=request.frozen,
            label=request.label,
            uncopied=uncopied,
            edited_from=request,
            copied=True,
            instance_state=request.instance_state,
        )
        if guard.static_risk is None:
            new.risk = self._risk_of(guard, new)
        self._describe(guard, new)
        return new

    def _after_decision(
        self, guard: _Guard, request: ApprovalRequest, resolution: Resolution, rounds: int, decider: object = None
    ) -> Resolution | _Reask:
        """What follows a person's decision about ``request``: the final resolution, or another approver to ask.

        An edit makes a new request state that the policy decides again (risk, ``when=``,
        grants, auto-approved levels, window, budget, ``HITL_MODE``): when it decides, that
        stands; when it would ask the same approver, the edit stands; when another approver
        now applies, that approver is asked about the edited call (at most
        ``MAX_DECISION_ROUNDS`` decisions in all, then the call fails closed).

        An "approve always" is credited only to ``decider`` (the approver that answered;
        None: an answer given to the review directly, which stands for the call's own
        approver), and only when the call is routed to that approver: a grant never covers
        calls that go to another approver.
        """
        route = self._route(guard, request)
        state = request.instance_state
        if state is not None and resolution.runs and state.changed():
            return self._state_changed(guard, request, resolution, rounds)
        if resolution.always and decider is not None and self._route_of(guard, decider) is not route:
            to = route if isinstance(route, str) else _channel_name(route)
            resolution.grant_refused = f"not granted: {_channel_name(decider)} answered, but this call goes to {to}"
            log.warning("%s: always=%s %s", _log_text(guard, request), resolution.always, resolution.grant_refused)
            resolution.always = None
        if resolution.status != "edited":
            self._apply_grant(guard, route, resolution, request)
            return resolution
        try:
            new = self._edited_request(guard, request, resolution)
            verdict = self.evaluate(guard, new)
        except Exception as exc:  # a risk function failing on the edited call: it does not run
            self._audit(
                guard, "decision", request_id=request.id, decision="error", after="edit",
                error=f"deciding the edited call failed: {type(exc).__name__}",
            )  # fmt: skip
            raise
        if verdict.action == "ask":
            if self._route(guard, new) is route:
                self._apply_grant(guard, route, resolution, request)
                return resolution
            if rounds >= MAX_DECISION_ROUNDS:
                feedback = (
                    f"rejected automatically: decided {rounds} times, and each edit moved it to another approver "
                    f"(limit {MAX_DECISION_ROUNDS})"
                )
                final = Resolution("auto_rejected", new.arguments, "rounds", channel="policy", feedback=feedback)
                self._audit(guard, "decision", request_id=new.id, round=rounds + 1, **self._decision_fields(final))
                return final
            self._freeze(guard, new)
            approver = self.approver_for(guard, new)
            return _Reask(new, approver, _channel_name(approver))
        if verdict.action == "reject":
            detail = f"{verdict.rule}{': ' + verdict.detail if verdict.detail else ''}"
            final = Resolution(
                "auto_rejected", new.arguments, verdict.rule, channel="policy",
                feedback=f"rejected automatically by policy ({detail}) after an edit",
            )  # fmt: skip
            fields = self._decision_fields(final, verdict.detail)
        else:  # the policy lets the edited call through: the person's edit stands
            self._apply_grant(guard, route, resolution, request)
            final = resolution
            fields = {"decision": "approved_after_edit", "rule": verdict.rule, "channel": "policy"}
            if verdict.detail:
                fields["detail"] = verdict.detail
        self._audit(guard, "decision", request=_request_field(guard, new), round=rounds + 1, after="edit", **fields)
        return final

    def _state_changed(self, guard: _Guard, request: ApprovalRequest, resolution: Resolution, rounds: int) -> Resolution | _Reask:
        """A method's ``self`` changed while the person decided: ask again, showing its state now.

        The person's answer (and any "always") was about the old state, so it does not
        stand: the same approver is asked about the call as it would run now, at most
        ``MAX_DECISION_ROUNDS`` decisions in all, then the call fails closed.
        """
        name = guard.instance_name or "self"
        self._audit(
            guard, "decision", request_id=request.id, decision="state_changed", channel="policy",
            detail=f"{name} changed after it was shown; the {resolution.status} answer does not stand",
        )  # fmt: skip
        if rounds >= MAX_DECISION_ROUNDS:
            feedback = (
                f"rejected automatically: {name} kept changing while it was being decided "
                f"({rounds} decisions, limit {MAX_DECISION_ROUNDS})"
            )
            final = Resolution("auto_rejected", request.arguments, "state_changed", channel="policy", feedback=feedback)
            self._audit(guard, "decision", request_id=request.id, round=rounds + 1, **self._decision_fields(final))
            return final
        new = ApprovalRequest(
            id=request.id,
            function=request.function,
            arguments=request.arguments,
            risk=request.risk,
            created_at=request.created_at,
            target=request.target,
            timeout=request.timeout,
            context=request.context,
            frozen=request.frozen,
            label=request.label,
            uncopied=dict(request.uncopied),
            edited_from=request.edited_from,
            copied=True,
            notes=[*request.notes, f"{name} changed after it was shown; asked again"],
            risk_unknown=request.risk_unknown,
        )
        if name in new.arguments:
            _snapshot_instance(new, name)
        approver = self.approver_for(guard, new)
        return _Reask(new, approver, _channel_name(approver), after="state_changed")

    def _follow_sync(self, guard: _Guard, request: ApprovalRequest, resolution: Resolution, decider: object = None) -> Resolution:
        """Settle what follows a decision by ``decider`` (grants; an edited call decided again), asking synchronously."""
        rounds = 1
        resolution.decider = decider
        step = self._after_decision(guard, request, resolution, rounds, decider)
        while isinstance(step, _Reask):
            rounds += 1
            edited = _request_field(guard, step.request)
            self._audit(guard, "request", request=edited, channel=step.channel, round=rounds, after=step.after)
            started = time.monotonic()
            answer = self._ask_recorded(guard, step.approver, step.request, step.channel, started)
            resolution = self._settle(guard, step.request, answer, step.channel, started)
            resolution.decider = step.approver
            step = self._after_decision(guard, step.request, resolution, rounds, step.approver)
        return step

    async def _follow_async(
        self, guard: _Guard, request: ApprovalRequest, resolution: Resolution, decider: object = None
    ) -> Resolution:
        """``_follow_sync`` for async callers: another approver is awaited, never blocking the loop."""
        rounds = 1
        resolution.decider = decider
        step = self._after_decision(guard, request, resolution, rounds, decider)
        while isinstance(step, _Reask):
            rounds += 1
            edited = _request_field(guard, step.request)
            self._audit(guard, "request", request=edited, channel=step.channel, round=rounds, after=step.after)
            started = time.monotonic()
            answer = await self._ask_recorded_async(guard, step.approver, step.request, step.channel, started)
            resolution = self._settle(guard, step.request, answer, step.channel, started)
            resolution.decider = step.approver
            step = self._after_decision(guard, step.request, resolution, rounds, step.approver)
        return step

    def _audit_decision(self, guard: _Guard, request: ApprovalRequest, resolution: Resolution) -> None:
        """``_audit(guard, "decision", request_id=..., **_decision_fields(resolution))``; nothing built without a log."""
        if guard.audit is not None:
            self._audit(guard, "decision", request_id=request.id, **self._decision_fields(resolution))

    def _audit(self, guard: _Guard, kind: str, **fields: Any) -> None:
        """Record something that happens before the call runs; fails closed when it cannot be written."""
        audit = guard.audit
        if audit is None:
            return
        try:
            audit.append(kind, **fields)
        except Exception as exc:
            request = fields.get("request")
            rid = fields.get("request_id") or getattr(request, "id", None) or "?"
            raise AuditUnavailable(
                f"{guard.target.name}() did not run: its {kind} (request {rid}) could not be written to the audit "
                f"log {audit.path} ({type(exc).__name__}: {exc}), and a call that cannot be audited fails closed. "
                "Fix the log (disk space, permissions) before retrying.",
                request=request if isinstance(request, ApprovalRequest) else None,
            ) from exc

    def _rejection(self, request: ApprovalRequest, resolution: Resolution) -> ApprovalRejected:
        call = request.call_text()
        status = resolution.status
        if status == "timed_out":
            why = f" {resolution.feedback}" if resolution.feedback else ""
            return ApprovalTimeout(
                f"{call} was not approved: no decision {_within(request.timeout)}, so it did not run "
                f"(failing closed).{why} Ask the user before retrying it.",
                request=request,
                feedback=resolution.feedback,
            )
        if status == "cancelled":
            return ApprovalCancelled(
                f"{call} was cancelled by the reviewer before a decision; it did not run."
                + (f" {resolution.feedback}" if resolution.feedback else ""),
                request=request,
                feedback=resolution.feedback,
            )
        if status == "auto_rejected":
            return ApprovalRejected(
                f"{call} was {resolution.feedback}; it did not run.", request=request, feedback=resolution.feedback
            )
        who = f"a human reviewer ({resolution.by})" if resolution.by else "a human reviewer"
        feedback = resolution.feedback.strip()
        message = f"{call} was rejected by {who}" + (f": {feedback}" if feedback else ". No reason was given.")
        return ApprovalRejected(message, request=request, feedback=feedback)

    def _record_request(self, guard: _Guard, request: ApprovalRequest, channel: str) -> None:
        if guard.audit is not None:
            self._audit(guard, "request", request=_request_field(guard, request), channel=channel)

    # -- asking, sync and async ------------------------------------------------------

    def _ask_sync(self, approver: Approver, request: ApprovalRequest) -> Any:
        """The approver's answer, or the exception that stands for no answer.

        ``KeyboardInterrupt`` (and ``CancelledError``) propagate: the callers record the
        call as cancelled and re-raise them. An approver with ``blocking = False`` is
        called inline, without a thread, even under a timeout.
        """
        try:
            if _is_async_approver(approver):
                return _run_coroutine_blocking(self._ask_async(approver, request))
            remaining = request.remaining()
            if remaining is None or not _blocks(approver) or getattr(approver, "honors_deadline", False):
                answer = approver(request)
                if remaining is not None and request.remaining() == 0:
                    return ApprovalTimeout("timed out")
                return answer
            return _call_with_timeout(approver, request, remaining)
        except Exception as exc:
            return exc

    async def _ask_async(self, approver: Approver, request: ApprovalRequest) -> Any:
        """As ``_ask_sync``, without blocking the running loop.

        A blocking sync approver runs in its own daemon thread (never the loop's default
        executor, which abandoned approvers would fill, and which ``asyncio.run`` waits
        for on exit); a non-blocking one (``blocking = False``) is called inline.
        """
        try:
            ask_async = getattr(approver, "ask_async", None)
            if ask_async is not None:
                awaitable = ask_async(request)
            elif _is_async_approver(approver):
                awaitable = approver(request)
            elif not _blocks(approver):
                answer = approver(request)
                if request.timeout is not None and request.remaining() == 0:
                    return ApprovalTimeout("timed out")
                return answer
            else:
                awaitable = in_own_thread(approver, request, name=f"hitl-approver-{request.id}")
            remaining = request.remaining()
            if remaining is None:
                answer = await _interrupt_as_value(awaitable)
            else:
                try:
                    answer = await asyncio.wait_for(_interrupt_as_value(awaitable), remaining)
                except TimeoutError:
                    return ApprovalTimeout("timed out")
        except Exception as exc:
            return exc
        if isinstance(answer, _Interrupt):
            raise answer.exc
        return answer

    def _interrupted(
        self, guard: _Guard, request: ApprovalRequest, channel: str, started: float, exc: BaseException, **extra: Any
    ) -> None:
        """Record a call whose asking was interrupted (Ctrl-C, a cancelled task) as cancelled; the caller re-raises.

        With ``still_pending=True`` (a batch keeps the undecided call for a later review) the
        record is of type ``"interrupted"``, not a decision: the call was not cancelled, and
        its decision is the one recorded when it is reviewed again.
        """
        rule = "task cancelled" if isinstance(exc, asyncio.CancelledError) else "interrupted"
        resolution = Resolution("cancelled", request.arguments, rule, channel=channel)
        resolution.waited_ms = (time.monotonic() - started) * 1000
        fields = self._decision_fields(resolution)
        kind = "decision"
        if extra.get("still_pending"):
            kind = "interrupted"
            del fields["decision"]
        try:
            self._audit(guard, kind, request_id=request.id, **fields, **extra)
        except AuditUnavailable as failure:  # the interrupt matters more: say so and let it through
            log.error("%s was %s, and that could not be recorded: %s", _log_text(guard, request), rule, failure)

    def _ask_recorded(self, guard: _Guard, approver: Approver, request: ApprovalRequest, channel: str, started: float) -> Any:
        """``_ask_sync``; an interrupt is recorded as cancelled, then re-raised."""
        try:
            return self._ask_sync(approver, request)
        except (KeyboardInterrupt, asyncio.CancelledError) as exc:
            self._interrupted(guard, request, channel, started, exc)
            raise

    async def _ask_recorded_async(
        self, guard: _Guard, approver: Approver, request: ApprovalRequest, channel: str, started: float
    ) -> Any:
        """``_ask_async``; an interrupt (or the task cancelled) is recorded as cancelled, then re-raised."""
        try:
            return await self._ask_async(approver, request)
        except (KeyboardInterrupt, asyncio.CancelledError) as exc:
            self._interrupted(guard, request, channel, started, exc)
            raise

    def resolve(self, guard: _Guard, request: ApprovalRequest) -> Resolution:
        """Decide ``request`` synchronously (policy, then a person). Does not run anything."""
        verdict = self.evaluate(guard, request)
        if verdict.action != "ask":
            return self._automatic(guard, request, verdict)
        self._freeze(guard, request)
        self._describe(guard, request)
        approver = self.approver_for(guard, request)
        channel = _channel_name(approver)
        self._record_request(guard, request, channel)
        started = time.monotonic()
        answer = self._ask_recorded(guard, approver, request, channel, started)
        resolution = self._settle(guard, request, answer, channel, started)
        return self._follow_sync(guard, request, resolution, approver)

    async def resolve_async(self, guard: _Guard, request: ApprovalRequest) -> Resolution:
        verdict = self.evaluate(guard, request)
        if verdict.action != "ask":
            return self._automatic(guard, request, verdict)
        self._freeze(guard, request)
        self._describe(guard, request)
        approver = self.approver_for(guard, request)
        channel = _channel_name(approver)
        self._record_request(guard, request, channel)
        started = time.monotonic()
        answer = await self._ask_recorded_async(guard, approver, request, channel, started)
        resolution = self._settle(guard, request, answer, channel, started)
        return await self._follow_async(guard, request, resolution, approver)

    # -- running -------------------------------------------------------------------

    def _outcome(
        self, guard: _Guard, request: ApprovalRequest, started: float, result: Any = None, error: BaseException | None = None
    ) -> None:
        """Record what the call did. Never raises: the call has run, its result must reach the caller."""
        audit = guard.audit
        if audit is None:
            return
        try:
            duration = round((time.perf_counter() - started) * 1000, 3)
            if error is None:
                fields: dict[str, Any] = {"status": "returned", "result": _redacted_text(guard, request, result)}
            else:
                fields = {"status": "raised", "error": f"{type(error).__name__}: {_redacted_text(guard, request, str(error))}"}
            if isinstance(audit, AuditLog):
                _, failure = audit.append_or_keep("outcome", request_id=request.id, duration_ms=duration, **fields)
            else:  # a duck-typed log
                audit.append("outcome", request_id=request.id, duration_ms=duration, **fields)
                failure = None
        except Exception as exc:  # not even a record to keep: say so all the same
            failure = exc
        if failure is not None:
            _report_unrecorded(guard, request, failure, error)

    def _call_sync(self, guard: _Guard, arguments: dict[str, Any]) -> Any:
        request = self._new_request(guard, arguments)
        resolution = self.resolve(guard, request)
        if not resolution.runs:
            raise self._rejection(request, resolution)
        return self.run(guard, request, resolution)

    def run(self, guard: _Guard, request: ApprovalRequest, resolution: Resolution) -> Any:
        """Run the real function with the approved arguments, recording the outcome (and the run hooks, see the module)."""
        hooks = _run_hooks(resolution)
        if guard.audit is None and hooks is None:
            return guard.target.call(resolution.arguments)
        if hooks is not None:
            try:
                before = hooks.before_run
                if before is not None:
                    before(request, resolution)
                elif hooks.before_run_async is not None:
                    _run_coroutine_blocking(hooks.before_run_async(request, resolution))
            except BaseException as exc:
                self._not_run(guard, request, exc)
                raise
        started = time.perf_counter()
        try:
            result = guard.target.call(resolution.arguments)
        except BaseException as exc:
            self._outcome(guard, request, started, error=exc)
            if hooks is not None:
                self._after_run(guard, request, hooks, exc, None)
            raise
        self._outcome(guard, request, started, result)
        if hooks is not None:
            self._after_run(guard, request, hooks, None, result)
        return result

    def _not_run(self, guard: _Guard, request: ApprovalRequest, exc: BaseException) -> None:
        """A before_run hook stopped an approved call: record that it did not run (the caller gets ``exc``)."""
        error = f"{type(exc).__name__}: {_redacted_text(guard, request, str(exc))}"
        log.warning("%s was approved but did not run: before_run refused (%s)", _log_text(guard, request), error)
        try:
            self._audit(guard, "outcome", request_id=request.id, status="not_run", rule="before_run", error=error)
        except AuditUnavailable as failure:  # the call did not run either way; the caller gets the hook's error
            log.error("%s: %s", _log_text(guard, request), failure)

    def _outcome_for_hook(
        self, guard: _Guard, request: ApprovalRequest, error: BaseException | None, result: Any
    ) -> dict[str, str]:
        if error is None:
            return {"status": "succeeded", "detail": f"returned {_redacted_text(guard, request, result)}"}
        return {"status": "failed", "detail": f"raised {type(error).__name__}: {_redacted_text(guard, request, str(error))}"}

    def _after_run(
        self, guard: _Guard, request: ApprovalRequest, hooks: _RunHooks, error: BaseException | None, result: Any
    ) -> None:
        """Call the after_run hook; never raises (the call has run: its result or error goes to the caller)."""
        try:
            outcome = self._outcome_for_hook(guard, request, error, result)
            if hooks.after_run is not None:
                hooks.after_run(request, outcome)
            elif hooks.after_run_async is not None:
                _run_coroutine_blocking(hooks.after_run_async(request, outcome))
        except Exception as exc:
            log.error("%s ran, but its approver's after_run failed: %s: %s", _log_text(guard, request), type(exc).__name__, exc)

    async def _after_run_async(
        self, guard: _Guard, request: ApprovalRequest, hooks: _RunHooks, error: BaseException | None, result: Any
    ) -> None:
        try:
            outcome = self._outcome_for_hook(guard, request, error, result)
            if hooks.after_run_async is not None:
                await hooks.after_run_async(request, outcome)
            elif hooks.after_run is not None:
                hooks.after_run(request, outcome)
        except Exception as exc:
            log.error("%s ran, but its approver's after_run failed: %s: %s", _log_text(guard, request), type(exc).__name__, exc)

    async def _call_async(self, guard: _Guard, arguments: dict[str, Any]) -> Any:
        request = self._new_request(guard, arguments)
        resolution = await self.resolve_async(guard, request)
        if not resolution.runs:
            raise self._rejection(request, resolution)
        return await self.run_async(guard, request, resolution)

    async def run_async(self, guard: _Guard, request: ApprovalRequest, resolution: Resolution) -> Any:
        hooks = _run_hooks(resolution)
        if hooks is not None:
            try:
                if hooks.before_run_async is not None:
                    await hooks.before_run_async(request, resolution)
                elif hooks.before_run is not None:
                    hooks.before_run(request, resolution)
            except BaseException as exc:
                self._not_run(guard, request, exc)
                raise
        started = time.perf_counter()
        try:
            result = await guard.target.call(resolution.arguments)
        except BaseException as exc:
            self._outcome(guard, request, started, error=exc)
            if hooks is not None:
                await self._after_run_async(guard, request, hooks, exc, None)
            raise
        self._outcome(guard, request, started, result)
        if hooks is not None:
            await self._after_run_async(guard, request, hooks, None, result)
        return result

    # -- many tools at once ----------------------------------------------------------

    def wrap_all(self, tools: Iterable[F], /, **options: Any) -> list[F]:
        """``wrap`` each of ``tools`` with the same options, in order: an agent's tool list in one line.

        ::

            agent = Agent(model, tools=gate.wrap_all([refund, delete_user], risk="high"))

        A function that is already a stand-in (from any gate) is kept as it is, so one
        decorated with its own options is not asked about twice. Raises TypeError for an
        item that is not callable, such as an SDK's tool object: wrap the function first.
        """
        wrapped: list[F] = []
        for index, tool in enumerate(tools):
            if getattr(tool, "__hitl_guard__", None) is not None:
                wrapped.append(tool)
                continue
            if not callable(tool):
                raise TypeError(
                    f"wrap_all: item {index} is a {type(tool).__name__}, not a function; "
                    "wrap the function itself, then hand the result to the SDK"
                )
            wrapped.append(self.wrap(tool, **options))
        return wrapped


_MISSING = object()


@dataclass(slots=True)
class _RunHooks:
    """An approver's run hooks (see the module's docstring); each None when it has not that one."""

    before_run: Callable[[ApprovalRequest, Resolution], Any] | None
    after_run: Callable[[ApprovalRequest, dict[str, str]], Any] | None
    before_run_async: Callable[[ApprovalRequest, Resolution], Any] | None
    after_run_async: Callable[[ApprovalRequest, dict[str, str]], Any] | None


_HOOK_NAMES = ("before_run", "after_run", "before_run_async", "after_run_async")
#: approver class -> whether its instances may have run hooks (the class has one, or computes attributes)
_hook_classes: dict[type, bool] = {}


def _may_have_hooks(decider: object) -> bool:
    """False when neither ``decider``'s class nor the instance itself has any run hook (no attribute lookup misses)."""
    cls = type(decider)
    may = _hook_classes.get(cls)
    if may is None:
        may = (
            any(hasattr(cls, name) for name in (*_HOOK_NAMES, "__getattr__"))
            or cls.__getattribute__ is not object.__getattribute__
        )
        if len(_hook_classes) < 512:
            _hook_classes[cls] = may
    if may:
        return True
    own = getattr(decider, "__dict__", None)
    return own is not None and any(name in own for name in _HOOK_NAMES)


def _run_hooks(resolution: Resolution) -> _RunHooks | None:
    """The run hooks of the approver whose decision let this call run, or None (the common case, at once)."""
    decider = resolution.decider
    if decider is None or resolution.rule != "person" or not _may_have_hooks(decider):
        return None
    found = [getattr(decider, name, None) for name in _HOOK_NAMES]
    return _RunHooks(*found) if any(hook is not None for hook in found) else None


@dataclass(slots=True)
class _Reask:
    """An edited call that another approver must now decide."""

    request: ApprovalRequest
    approver: Approver
    channel: str
    after: str = "edit"  # why: "edit" (the route changed) or "state_changed" (a method's self changed)


@dataclass(slots=True)
class _Grants:
    """The "approve always" grants of one stand-in, each with the approver (route) that gave it."""

    functions: list[object] = field(default_factory=list)
    arguments: list[tuple[object, set[str]]] = field(default_factory=list)
    # a method's grants, per instance (its self/cls): id -> (weak reference, that instance's grants)
    instances: dict[int, tuple[weakref.ref[Any], _Grants]] = field(default_factory=dict)

    def instance(self, owner: Any, *, create: bool) -> _Grants | None:
        """The grants of one instance (None when it has none, or cannot be referenced weakly). Call under the grant lock."""
        key = id(owner)
        entry = self.instances.get(key)
        if entry is not None and entry[0]() is owner:
            return entry[1]
        if not create:
            return None
        instances = self.instances

        def forget(ref: weakref.ref[Any]) -> None:  # the instance is gone: so are its grants
            if instances.get(key, (None,))[0] is ref:
                instances.pop(key, None)

        try:
            ref = weakref.ref(owner, forget)
        except TypeError:
            return None
        grants = _Grants()
        instances[key] = (ref, grants)
        return grants


def _snapshot_instance(request: ApprovalRequest, name: str) -> None:
    """Flag a method's ``self``/``cls`` as uncopied, with its state now (remembered to detect a change)."""
    owner = request.arguments[name]
    try:
        state = instance_state(owner)
    except Exception as exc:  # a state that cannot be read: flagged, and no grant or change check can rely on it
        request.instance_state = None
        request.uncopied = {
            name: f"{name} is not copied: the method runs on the caller's {type(owner).__name__} object itself; "
            f"its state could not be read ({type(exc).__name__}), so a change before the call runs is not detected.",
            **{k: v for k, v in request.uncopied.items() if k != name},
        }
        return
    request.instance_state = state
    request.uncopied = {name: state.reason(name), **{k: v for k, v in request.uncopied.items() if k != name}}
    request.__dict__.pop("fingerprint", None)  # computed before the state was known


def _differs(old: Any, new: Any) -> bool:
    """Changed? Safe for values whose ``!=`` is not a bool (numpy arrays, DataFrames)."""
    if old is new:
        return False
    if type(old) is not type(new):
        return True
    try:
        return bool(old != new)
    except Exception:
        return True


def _brief(value: Any) -> str:
    """``repr(value)`` cut to 80 characters, never raising."""
    try:
        return f"{value!r:.80}"
    except Exception:
        return f"<{type(value).__name__} object>"


def _request_field(guard: _Guard, request: ApprovalRequest) -> Any:
    """An AuditLog takes the request itself (it finds secrets in the arguments as passed); others its dict."""
    return request if isinstance(guard.audit, AuditLog) else request.to_dict()


def _log_text(guard: _Guard, request: ApprovalRequest) -> str:
    """The call as text for Python's logging, with the secrets the audit log would redact cut out."""
    pattern = getattr(guard.audit, "redact_names", SECRET_NAMES)
    text = request.call_text()
    if pattern is None:
        return text
    return redact_text(text, secret_values(request.arguments, pattern) + secret_values(request.context, pattern), pattern)


def _redacted_text(guard: _Guard, request: ApprovalRequest, value: Any) -> str:
    """``value`` as the audit log's bounded repr, the request's secrets cut out before the text is formed
    (so that quoting it again, or shortening it, leaves no piece of one)."""
    audit = guard.audit
    pattern = getattr(audit, "redact_names", SECRET_NAMES)
    if pattern is None:
        return bounded_repr(value, 500)
    known = secret_values(request.arguments, pattern) + secret_values(request.context, pattern)
    if isinstance(audit, AuditLog):
        known += audit.known_secrets(request.id)
    if not known and type(value) in _PLAIN_RESULTS:  # nothing to cut before the repr (the log scans its text)
        return bounded_repr(value, 500)
    return redacted_repr(value, sorted(set(known), key=len, reverse=True), pattern, 500)


_PLAIN_RESULTS = frozenset({str, int, float, bool, type(None)})


def _report_unrecorded(guard: _Guard, request: ApprovalRequest, failure: Exception, error: BaseException | None) -> None:
    """Loudly: an error on the "hitl_widget" logger and an AuditWarning (never an exception here)."""
    audit = guard.audit
    what = "returned" if error is None else f"raised {type(error).__name__}"
    message = (
        f"{_log_text(guard, request)} RAN and {what}, but its outcome could not be written to the audit log "
        f"{audit.path if audit is not None else ''} ({type(failure).__name__}: {failure}). The caller got the "
        "function's own result; do not retry the call because of this. The record is kept in memory and written, "
        "marked late, before the next record that can be written; `hitl audit verify` lists calls approved to run "
        f"that have no outcome record (request {request.id})."
    )
    log.error(message)
    with contextlib.suppress(Exception):  # warnings turned into errors must not take the result away
        warnings.warn(message, AuditWarning, stacklevel=5)


def _within(timeout: float | None) -> str:
    return "before the approver's deadline" if timeout is None else f"within {timeout:g} s"


def stand_in(target: Target, impl: Callable[..., Any], guard: _Guard) -> Callable[..., Any]:
    """A function with ``target``'s name, docs, signature, hints and async-ness that calls ``impl``.

    The function is generated with the real parameters, so its own ``__code__``
    shows them to tools that read it rather than ``__wrapped__``.
    """
    wrapper = create_function(
        target.signature,
        impl,
        func_name=_code_name(target.name),
        qualname=target.qualname,
        doc=target.doc or "",
        module_name=target.module or "",
    )
    # Tool names need not be identifiers ("read-file", "github.create_issue", "class"):
    # the generated code uses a safe one, the stand-in keeps the original names.
    wrapper.__name__ = target.name
    wrapper.__qualname__ = target.qualname
    if target.doc is None:
        wrapper.__doc__ = None
    if not wrapper.__defaults__:  # makefun leaves () where a plain function has None
        wrapper.__defaults__ = None
    wrapper.__annotations__ = dict(target.hints)
    wrapper.__wrapped__ = target.func  # type: ignore[attr-defined]
    wrapper.__hitl_guard__ = guard  # type: ignore[attr-defined]
    return cast(Callable[..., Any], wrapper)


def _code_name(name: str) -> str:
    """``name`` where it can be a ``def`` name, else an identifier made from it (``"read-file"`` -> ``"read_file"``).

    Non-ASCII identifiers are kept only when already NFKC-normal (the parser would fold them).
    """
    if name.isidentifier() and not keyword.iskeyword(name) and unicodedata.normalize("NFKC", name) == name:
        return name
    safe = re.sub(r"\W", "_", name, flags=re.ASCII)
    if not safe or not (safe[0].isalpha() or safe[0] == "_") or keyword.iskeyword(safe):
        safe = "_" + safe
    return safe if safe.isidentifier() else "_tool"


def _channel_name(approver: Any) -> str:
    name = getattr(approver, "channel", None)
    if isinstance(name, str):
        return name
    return getattr(approver, "__name__", type(approver).__name__)


@dataclass(slots=True)
class _Interrupt:
    exc: KeyboardInterrupt


async def _interrupt_as_value(awaitable: Any) -> Any:
    """Await ``awaitable``, handing a KeyboardInterrupt back as a value.

    ``wait_for`` runs the approver in a task of its own; a KeyboardInterrupt raised there
    would stop the event loop at once, before the gate records the call as cancelled.
    """
    try:
        return await awaitable
    except KeyboardInterrupt as exc:
        return _Interrupt(exc)


def _blocks(approver: Any) -> bool:
    """False for approvers that never wait for a person (``blocking = False``): they are called inline."""
    return getattr(approver, "blocking", True) is not False


def in_own_thread(fn: Callable[..., Any], *args: Any, name: str = "hitl-approver") -> asyncio.Future[Any]:
    """``fn(*args)`` in a new daemon thread, as a future of the running loop.

    Not the loop's default executor: a caller that stops waiting (a timeout) leaves the
    thread behind without taking a worker from later calls, and ``asyncio.run`` does not
    wait for it on exit. The answer arrives with ``call_soon_threadsafe``; it is dropped
    when nobody waits any more (the future is cancelled, or the loop has closed). Where
    threads cannot start (Pyodide), ``fn`` is called inline.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    ctx = contextvars.copy_context()

    def deliver(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def target() -> None:
        try:
            value, ok = ctx.run(fn, *args), True
        except BaseException as exc:  # handed to the awaiting task
            value, ok = exc, False
        # the loop has closed: nobody waits for this answer any more
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, ok, value)

    try:
        threading.Thread(target=target, name=name, daemon=True).start()
    except RuntimeError:  # no threads here (Pyodide): the only way left is to call it inline
        target()  # its answer is delivered by the loop, as from a thread
    return future


def _async_kind(approver: Any) -> bool:
    if inspect.iscoroutinefunction(approver):
        return True
    call = getattr(type(approver), "__call__", None)
    return not inspect.isroutine(approver) and inspect.iscoroutinefunction(call)


#: id(approver) -> (weak reference to it, whether it is async): found once per approver object, not per call
_async_kinds: dict[int, tuple[weakref.ref[Any], bool]] = {}


def _is_async_approver(approver: Any) -> bool:
    """Is ``approver`` an async function, or an object whose class's ``__call__`` is one?

    Remembered per approver object while it lives (an object that cannot be referenced
    weakly is looked at every time).
    """
    key = id(approver)
    entry = _async_kinds.get(key)
    if entry is not None and entry[0]() is approver:
        return entry[1]
    found = _async_kind(approver)

    def forget(ref: weakref.ref[Any]) -> None:
        if _async_kinds.get(key, (None,))[0] is ref:
            _async_kinds.pop(key, None)

    try:
        ref = weakref.ref(approver, forget)
    except TypeError:
        return found
    if len(_async_kinds) < 1024:
        _async_kinds[key] = (ref, found)
    return found


def _call_with_timeout(approver: Approver, request: ApprovalRequest, timeout: float) -> Any:
    """Call a blocking approver in a daemon thread so a slow answer cannot outlive the timeout."""
    done = threading.Event()
    box: list[Any] = []
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box.append(ctx.run(approver, request))
        except BaseException as exc:  # handed to the caller below
            box.append(exc)
        finally:
            done.set()

    try:
        threading.Thread(target=target, name=f"hitl-approver-{request.id}", daemon=True).start()
    except RuntimeError:  # no threads here (Pyodide): ask inline, and judge the deadline after
        target()
        if request.remaining() == 0:
            return ApprovalTimeout("timed out")
    if not done.wait(timeout):
        return ApprovalTimeout("timed out")
    answer = box[0]
    if isinstance(answer, BaseException) and not isinstance(answer, Exception):
        raise answer
    return answer


async def _boxed(coro: Any) -> tuple[bool, Any]:
    """``(True, result)`` or ``(False, exception)``: nothing escapes the task (a KeyboardInterrupt would stop Pyodide)."""
    try:
        return True, await coro
    except BaseException as exc:
        return False, exc


def _run_without_threads(coro: Any) -> Any:
    """Suspend this sync call until ``coro`` is done, where the runtime can (Pyodide's ``run_sync``)."""
    try:
        from pyodide.ffi import run_sync
    except ImportError:
        coro.close()
        raise RuntimeError(
            "an async approver was asked from sync code inside a running event loop, and no thread can be "
            "started here: await the wrapped function from async code, or use a sync approver"
        ) from None
    ok, value = run_sync(_boxed(coro))
    if not ok:
        raise value
    return value


class _ThreadLoop:
    """One thread's event loop (an ``asyncio.Runner``) for async approvers asked from sync code.

    Reused for every such request of the thread (``asyncio.run`` makes and closes a loop each
    time: 0.3-0.5 ms); closed when the thread ends (its thread-local goes away) or at exit.
    """

    def __init__(self) -> None:
        # a loop_factory: the runner does not make its loop the thread's current event loop
        self.runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        # the tasks made on this loop during a request: what is left of them is cancelled after it.
        # Not asyncio.all_tasks(loop): that walks every task alive in the process, on every loop
        # (an agent's own loop holds hundreds), 0.15 µs each, on every request.
        started: list[asyncio.Task[Any]] = []

        def track(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            task = asyncio.Task(coro, loop=loop, **kwargs)
            started.append(task)
            return task

        self.started = started
        self.track = track
        self.tracking = False

    def loop(self) -> asyncio.AbstractEventLoop:
        """The runner's loop, made on first use, every task made on it noted in ``started``."""
        loop = self.runner.get_loop()
        if not self.tracking:
            loop.set_task_factory(self.track)
            self.tracking = True
        return loop

    def run(self, coro: Any) -> Any:
        """``asyncio.run(coro)``: same SIGINT handling (Ctrl-C cancels the task, then KeyboardInterrupt),
        the caller's context variables, and nothing left behind: tasks it started are cancelled after.

        Only the main thread receives signals: there the runner installs its SIGINT handler
        around the task; another thread (an SDK's worker running a sync tool) runs the task on
        the loop directly, without the runner's signal-handler lookups (most of the cost).
        """
        try:
            loop = self.loop()
            if threading.current_thread() is threading.main_thread():
                return self.runner.run(coro, context=contextvars.copy_context())
            return loop.run_until_complete(loop.create_task(coro, context=contextvars.copy_context()))
        finally:
            self._cancel_leftovers()

    def _cancel_leftovers(self) -> None:
        try:
            loop = self.runner.get_loop()
            left: Iterable[asyncio.Task[Any]]
            if loop.get_task_factory() is self.track:
                left = [task for task in self.started if not task.done()]
            else:  # the approver set a task factory of its own: look at every task
                left = asyncio.all_tasks(loop)
            self.started.clear()
            if left:
                for task in left:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
                self.started.clear()
        except BaseException as exc:  # a loop that cannot settle them is not reused; an interrupt goes on
            _thread_loops.__dict__.pop("loop", None)
            self.close()
            if not isinstance(exc, Exception):
                raise

    def close(self) -> None:
        try:
            self.runner.close()
        except Exception:  # another loop runs in the thread that collects this one: close it plainly
            with contextlib.suppress(Exception):
                self.runner.get_loop().close()

    def __del__(self) -> None:
        self.close()


_thread_loops = threading.local()
_main_loop: list[_ThreadLoop] = []


def _close_main_loop() -> None:
    for loop in _main_loop:
        loop.close()


def _thread_loop() -> _ThreadLoop:
    loop: _ThreadLoop | None = getattr(_thread_loops, "loop", None)
    if loop is None:
        loop = _thread_loops.loop = _ThreadLoop()
        if threading.current_thread() is threading.main_thread() and not _main_loop:  # its local outlives atexit
            _main_loop.append(loop)
            atexit.register(_close_main_loop)
    return loop


def _run_coroutine_blocking(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running event loop.

    Without a running loop it runs on this thread's reused loop (as ``asyncio.run`` would,
    without making a loop each time); inside one, in a new thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if sys.platform == "emscripten":  # Pyodide's loop: as before
            return asyncio.run(coro)
        return _thread_loop().run(coro)
    box: list[Any] = []
    ctx = contextvars.copy_context()

    def runner() -> None:
        try:
            box.append(ctx.run(asyncio.run, coro))
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=runner, name="hitl-async-approver", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no threads (Pyodide)
        return _run_without_threads(coro)
    thread.join()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


_default_gate: Gate | None = None
_default_gate_lock = threading.Lock()


def default_gate() -> Gate:
    """The gate behind bare ``@require_approval`` (default approver, no audit)."""
    global _default_gate
    with _default_gate_lock:
        if _default_gate is None:
            _default_gate = Gate()
        return _default_gate


@overload
def require_approval(fn: F, /) -> F: ...
@overload
def require_approval(
    fn: None = None,
    /,
    *,
    approver: Approver | None = ...,
    when: Callable[[ApprovalRequest], Any] | None = ...,
    risk: Risk = ...,
    timeout: float | None = ...,
    on_timeout: OnTimeout = ...,
    audit: AuditLog | None = ...,
    budget: Budget | None = ...,
    window: TimeWindow | None = ...,
    context: Mapping[str, Any] | Callable[[ApprovalRequest], Mapping[str, Any]] | None = ...,
    gate: Gate | None = ...,
) -> Callable[[F], F]: ...
def require_approval(fn: Any = None, /, *, gate: Gate | None = None, **options: Any) -> Any:
    """Ask a person before every call of the decorated function.

    ::

        @require_approval
        def delete_user(user_id: int) -> str: ...

        @require_approval(when=lambda r: r.arguments["amount"] > 100, risk="high", timeout=300)
        def refund(order_id: str, amount: float) -> str: ...

    Options: ``approver`` (who is asked; default: the best channel here), ``when``
    (ask only when it returns true), ``risk`` (low | medium | high | critical, or a
    function of the request), ``timeout`` seconds and ``on_timeout`` ("reject",
    the default, fails closed), ``audit`` (an AuditLog), ``budget``, ``window``,
    ``context`` (a dict shown with every request, or a function of the request returning
    one, computed for each call a person is asked about, e.g. a dry run's row count);
    ``gate`` shares settings and "approve always" grants.
    """
    chosen = gate or default_gate()
    if fn is None:
        return functools.partial(chosen.wrap, **options)
    return chosen.wrap(fn, **options)
