"""What an approver answers: Approve, Edit or Reject.

An approver is any callable ``(ApprovalRequest) -> Approve | Edit | Reject`` (sync or
async). ``True`` and ``False`` are accepted as Approve and Reject.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["AlwaysScope", "Approve", "Decision", "Edit", "Reject", "as_decision"]

AlwaysScope = Literal["function", "arguments"]
_SCOPES = ("function", "arguments")


def _check_scope(always: str | None) -> None:
    if always is not None and always not in _SCOPES:
        raise ValueError(f"always= must be one of {_SCOPES} or None, not {always!r}")


@dataclass(frozen=True)
class Approve:
    """Run the call as proposed.

    ``always="function"`` also approves every later call of this function for the
    rest of the session; ``always="arguments"`` every later call with these exact
    arguments. ``by`` names the person (channels fill it in).
    """

    always: AlwaysScope | None = None
    by: str | None = None
    kind: Literal["approve"] = field(default="approve", init=False)

    def __post_init__(self) -> None:
        _check_scope(self.always)


@dataclass(frozen=True)
class Edit:
    """Run the call with changed arguments (only the changed names are needed).

    Values may be strings from a UI; they are converted to the annotated type where
    that is unambiguous (``"7"`` for an ``int``) and validated before anything runs.
    """

    arguments: dict[str, Any] = field(default_factory=dict)
    by: str | None = None
    always: AlwaysScope | None = None
    kind: Literal["edit"] = field(default="edit", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.arguments, dict):
            raise TypeError(f"Edit(arguments=...) takes a dict, not {type(self.arguments).__name__}")
        _check_scope(self.always)


@dataclass(frozen=True)
class Reject:
    """Do not run the call; ``feedback`` is what the agent reads."""

    feedback: str = ""
    by: str | None = None
    kind: Literal["reject"] = field(default="reject", init=False)


Decision = Approve | Edit | Reject

GENERIC_FEEDBACK = "the reviewer declined this call"


def as_decision(value: object) -> Decision:
    """Normalize what an approver returned; anything unrecognised is an error."""
    if isinstance(value, (Approve, Edit, Reject)):
        return value
    if value is True:
        return Approve()
    if value is False:
        return Reject(GENERIC_FEEDBACK)
    raise TypeError(
        "an approver must return Approve(), Edit(arguments=...), Reject(feedback=...), "
        f"True or False, not {type(value).__name__}: {value!r:.200}"
    )
