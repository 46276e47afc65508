"""Exceptions raised to the code (and the agent) that called a wrapped function.

The tree::

    Exception
     ├── ApprovalRejected        a call was not approved; the function did not run
     │    ├── ApprovalTimeout     nobody decided before the timeout (fails closed)
     │    ├── ApprovalCancelled   the reviewer cancelled the prompt (Ctrl-C, kernel interrupt)
     │    └── NoApprovalChannel   no way to ask a person here (no TTY, no notebook)
     └── InvalidEdit (ValueError) edited arguments do not fit the signature or types

Messages are written for an agent to read and adapt to: they name the call and
carry the reviewer's feedback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .request import ApprovalRequest

__all__ = [
    "ApprovalCancelled",
    "ApprovalRejected",
    "ApprovalTimeout",
    "InvalidEdit",
    "NoApprovalChannel",
]


class ApprovalRejected(Exception):
    """The call was not approved, and the function did not run.

    ::

        try:
            delete_user(123)
        except ApprovalRejected as e:
            print(e.feedback)      # what the reviewer said
            print(e.request.arguments)
    """

    def __init__(self, message: str, *, request: ApprovalRequest | None = None, feedback: str = "") -> None:
        super().__init__(message)
        self.request = request
        self.feedback = feedback


class ApprovalTimeout(ApprovalRejected):
    """Nobody decided within the call's ``timeout``; the call failed closed.

    Recorded in the audit log as ``timed_out``, not as a person's rejection::

        except ApprovalTimeout:
            retry_later()
    """


class ApprovalCancelled(ApprovalRejected):
    """The reviewer cancelled the prompt (Ctrl-C, a dismissed dialog, a kernel interrupt)."""


class NoApprovalChannel(ApprovalRejected):
    """No channel could ask a person here, so the call failed closed.

    The message says how to choose a channel::

        except NoApprovalChannel as e:
            print(e)   # ... set HITL_MODE=approve, or pass approver=...
    """


class InvalidEdit(ValueError):
    """Edited arguments do not fit the function's signature or annotated types.

    The function never runs with them. ``problems`` maps each argument name (or
    ``"*"`` for problems with the edit as a whole) to what is wrong with it::

        try:
            new_args = request.apply_edit({"user_id": "abc"})
        except InvalidEdit as e:
            e.problems   # {"user_id": "expected int, got 'abc'"}
    """

    def __init__(self, function: str, problems: dict[str, str]) -> None:
        self.function = function
        self.problems = dict(problems)
        listed = "; ".join(f"{name}: {why}" for name, why in self.problems.items())
        super().__init__(f"invalid edit of {function}(): {listed}")
