"""ApprovalRequest: one proposed call, as a person (or a policy) sees it."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from .formatting import call_text, json_safe, pretty_value
from .frozen import InstanceState, copy_arguments, fingerprint
from .target import Target
from .validation import _NO_VALUE, apply_edit, edit_refusal, injected_parameters, parameter_schema, type_label

__all__ = ["ApprovalRequest", "ParameterInfo"]

RISK_LEVELS = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class ParameterInfo:
    """One parameter as a channel shows it: for edit forms and argument rows.

    ``annotation`` is a short readable label (``list[int] | None``); ``schema`` the JSON Schema
    of the values it accepts (pydantic's, ``{}`` when none can be made; structured types keep
    their definitions in the schema's own ``"$defs"``; ``*args`` is an array and ``**kwargs``
    an object of the annotated type; the default as ``"default"`` where it is JSON data).
    ``injected`` marks a context parameter an agent SDK passes in (pydantic-ai ``RunContext``,
    openai-agents ``RunContextWrapper``/``ToolContext``, langchain ``ToolRuntime`` or an
    ``InjectedToolArg`` marker): shown as context, never editable. ``not_editable`` says why
    ``editable`` is False (``"cannot check edits: annotation 'Strict' could not be resolved (...)"``
    for an annotation that names no class the function can see); None when it is editable.
    """

    name: str
    kind: str  # "positional_only" | "positional_or_keyword" | "var_positional" | "keyword_only" | "var_keyword"
    annotation: str
    has_default: bool
    default: Any
    editable: bool
    schema: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    injected: bool = False
    not_editable: str | None = None


@dataclass(eq=False)
class ApprovalRequest:
    """A proposed call awaiting a decision.

    ``arguments`` maps every parameter name to its value, defaults applied.
    ``context`` carries whatever else the caller attached (an agent name, a ticket).
    ``label`` is how the agent knows the call when it is not the call itself (a batch's
    ``PENDING_APPROVAL_n`` placeholder); channels show it.

    When a person (or a batch) is asked, ``arguments`` is a private copy made when the
    request was created, and the call runs with exactly that copy (or the person's
    edit). ``uncopied`` names the arguments that could not be copied (a lock, a socket,
    a generator, an open file) with the reason: those run with the caller's object,
    which may change after it was shown, and every channel says so.
    ``edited_from`` is the request state a reviewer edited into this one (the edited
    call is decided by the policy again, and possibly asked of another approver);
    it keeps the same ``id``.

    A method's ``self`` (a classmethod's ``cls``) is never copied: the method must run on
    the caller's own object. It is listed in ``uncopied`` with its state at request time
    (``instance_state``); when that state has changed by the time the person has decided,
    the call is asked about again, showing the new state (``Gate._after_decision``).
    ``notes`` says why a policy rule could not decide (a ``when=``, risk function,
    window or budget that failed), and ``risk_unknown`` that the risk function failed
    (the call is then ``critical``).
    """

    id: str
    function: str
    arguments: dict[str, Any]
    risk: str
    created_at: datetime
    target: Target = field(repr=False)
    timeout: float | None = None
    context: dict[str, Any] = field(default_factory=dict)
    frozen: frozenset[str] = field(default=frozenset(), repr=False)
    monotonic_start: float = field(default_factory=time.monotonic, repr=False)
    label: str | None = None
    uncopied: dict[str, str] = field(default_factory=dict)
    edited_from: ApprovalRequest | None = field(default=None, repr=False)
    copied: bool = field(default=False, repr=False)
    notes: list[str] = field(default_factory=list, repr=False)
    risk_unknown: bool = field(default=False, repr=False)
    instance_state: InstanceState | None = field(default=None, repr=False)

    @property
    def qualname(self) -> str:
        return self.target.qualname

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.target.doc or "")

    @property
    def summary(self) -> str:
        """The first docstring line."""
        return self.target.summary

    @property
    def deadline(self) -> float | None:
        """``time.monotonic()`` value when the call times out, or None."""
        return None if self.timeout is None else self.monotonic_start + self.timeout

    def remaining(self) -> float | None:
        """Seconds left before the timeout, or None when there is none."""
        deadline = self.deadline
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def copy_arguments(self, shared: frozenset[str] = frozenset()) -> None:
        """Replace ``arguments`` by a private copy (once); see ``hitl_widget.frozen.copy_arguments``.

        ``shared`` names arguments passed through uncopied and unflagged (``self``,
        SDK-injected contexts).
        """
        if not self.copied:
            self.arguments, self.uncopied = copy_arguments(self.arguments, shared)
            self.copied = True

    @cached_property
    def fingerprint(self) -> str | None:
        """A keyed hash of the exact arguments (for "approve these exact arguments"), or None.

        None when some argument has no exact encoding (see ``hitl_widget.frozen.fingerprint``)
        or could not be copied: no argument grant can cover such a call. A method's
        ``self``/``cls`` counts by its state (``instance_state``, exact or None); which
        instance it is, the gate's grants keep apart.
        """
        return self.fingerprint_of(self.arguments)

    def fingerprint_of(self, arguments: dict[str, Any]) -> str | None:
        """``fingerprint`` for ``arguments`` (this call's, or an edit of them)."""
        state = self.instance_state
        if state is None:
            if self.uncopied:
                return None
            return fingerprint(arguments)
        if not state.exact or any(name not in self.frozen for name in self.uncopied):
            return None
        found = fingerprint({k: v for k, v in arguments.items() if k not in self.frozen})
        return None if found is None else f"{found}:{state.digest}"

    @property
    def can_grant_arguments(self) -> bool:
        """Can "approve always for these exact arguments" be granted for this call?

        False when an argument has no exact encoding or could not be copied; channels
        should then not offer that choice (a gate asked for it grants nothing, and says
        so in the audit log).
        """
        return self.fingerprint is not None

    @cached_property
    def parameters(self) -> tuple[ParameterInfo, ...]:
        """Every parameter, in order, with its label, JSON Schema and whether it may be edited."""
        out = []
        injected = injected_parameters(self.target)
        for p in self.target.signature.parameters.values():
            hint = self.target.hints.get(p.name, p.annotation)
            current = self.arguments.get(p.name, _NO_VALUE)
            if p.name in injected:
                reason: str | None = "provided by the agent framework, not by the model"
            elif p.name in self.frozen:
                reason = "fixed: this argument cannot be edited"
            else:
                reason = edit_refusal(self.target, p.name, current)
            out.append(
                ParameterInfo(
                    name=p.name,
                    kind=p.kind.name.lower(),
                    annotation=type_label(hint),
                    has_default=p.default is not inspect.Parameter.empty,
                    default=None if p.default is inspect.Parameter.empty else p.default,
                    editable=reason is None,
                    schema=parameter_schema(self.target, p.name, current),
                    injected=p.name in injected,
                    not_editable=reason,
                )
            )
        return tuple(out)

    def call_text(self) -> str:
        """``delete_user(user_id=123)``, bounded: for messages and logs.

        SDK-injected contexts (a RunContext, ToolRuntime, ...) are left out: the agent
        reads this in a rejection, and the context is the SDK's, not the model's call.
        Secret-named arguments (and secret-named keys inside dict values) read
        ``[REDACTED]``, by the audit log's pattern (``hitl_widget.audit.SECRET_NAMES``), and
        so does the password of a URL (``postgresql://app:[REDACTED]@db/prod``): exception
        texts built from this are shown to agents and logged.
        """
        from . import audit  # read at each call: the pattern is the audit log's, whatever it is now

        injected = injected_parameters(self.target)
        arguments = {k: v for k, v in self.arguments.items() if k not in injected} if injected else self.arguments
        pattern = audit.SECRET_NAMES
        budget = [200]  # containers and items looked into: the text shows at most ~60 characters of each
        shown = {
            name: audit.REDACTED if pattern.search(name) else _redacted(value, pattern, audit.REDACTED, budget, set())
            for name, value in arguments.items()
        }
        return audit._redact_url_passwords(call_text(self.function, shown))

    def arguments_text(self, limit: int = 2000) -> dict[str, str]:
        """Every argument as pretty-printed, truncated text."""
        return {name: pretty_value(value, limit) for name, value in self.arguments.items()}

    def apply_edit(self, edits: dict[str, Any]) -> dict[str, Any]:
        """The complete arguments after ``edits``; raises InvalidEdit naming each problem."""
        return apply_edit(self.target, self.arguments, edits, frozen=self.frozen)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (arguments bounded) for channels and the audit log."""
        return {
            "id": self.id,
            "function": self.function,
            "qualname": self.qualname,
            "summary": _summary(self.target.doc),
            "arguments": {k: _safe_argument(v) for k, v in self.arguments.items()},
            "risk": self.risk,
            "created_at": self.created_at.isoformat(),
            "timeout": self.timeout,
            "context": json_safe(self.context) if self.context else {},
            **({"uncopied": dict(self.uncopied)} if self.uncopied else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
        }


_summaries: dict[str | None, str] = {}


def _summary(doc: str | None) -> str:
    """The first docstring line (remembered: a function's docstring does not change between calls)."""
    line = _summaries.get(doc)
    if line is None:
        cleaned = inspect.cleandoc(doc or "")
        line = cleaned.splitlines()[0] if cleaned else ""
        if len(_summaries) < 4096:
            _summaries[doc] = line
    return line


def _redacted(value: Any, pattern: Any, mark: str, budget: list[int], path: set[int]) -> Any:
    """``value`` with secret-named dict keys' values replaced by ``mark``, for a bounded text.

    Looks into plain dicts, lists and tuples only, through at most ``budget`` items in
    all (then the rest is left out: the text is cut long before); a cycle is left as it is.
    """
    t = type(value)
    if t is not dict and t is not list and t is not tuple:
        return value
    if id(value) in path or budget[0] <= 0:
        return value
    path.add(id(value))
    try:
        if t is dict:
            out: dict[Any, Any] = {}
            for k, v in value.items():
                budget[0] -= 1
                if budget[0] < 0:
                    break
                out[k] = mark if isinstance(k, str) and pattern.search(k) else _redacted(v, pattern, mark, budget, path)
            return out
        items = []
        for v in value:
            budget[0] -= 1
            if budget[0] < 0:
                break
            items.append(_redacted(v, pattern, mark, budget, path))
        return items if t is list else tuple(items)
    finally:
        path.discard(id(value))


def _safe_argument(value: Any) -> Any:
    """``json_safe(value)``, without the call for the values it keeps as they are."""
    t = type(value)
    if (t is str and len(value) <= 4000) or t is bool or value is None or (t is int and -(10**30) < value < 10**30):
        return value
    return json_safe(value)


def now_utc() -> datetime:
    return datetime.now(UTC)
