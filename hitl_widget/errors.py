"""Exceptions raised to the code (and the agent) that called a wrapped function.

The tree::

    Exception
     ├── ApprovalRejected        a call was not approved; the function did not run
     │    ├── ApprovalTimeout     nobody decided before the timeout (fails closed)
     │    ├── ApprovalCancelled   the reviewer dismissed or cancelled the prompt
     │    ├── NoApprovalChannel   no way to ask a person here (no TTY, no notebook)
     │    └── AuditUnavailable    the request or decision could not be audited (fails closed)
     └── InvalidEdit (ValueError) edited arguments do not fit the signature or types

    UserWarning
     └── AuditWarning            a call RAN but its outcome could not be written to the audit log

Messages are written for an agent to read and adapt to: they name the call and
carry the reviewer's feedback.

Ctrl-C is not an approval error. A ``KeyboardInterrupt`` while a person is being asked
(Ctrl-C at the terminal prompt, a kernel interrupt while a card waits) is recorded in the
audit log as ``cancelled`` (rule ``interrupted``) and then propagates as
``KeyboardInterrupt``, so it stops the agent instead of becoming a tool error the agent
reads and works around. An ``asyncio`` task cancelled while it waits is recorded the same
way (rule ``task cancelled``) and ``CancelledError`` propagates. In a ``Batch`` review the
calls not yet decided stay pending. To catch every way a call may not run::

    try:
        delete_user(123)
    except ApprovalRejected as e:      # a decision (or no way to decide): tell the agent
        ...
    # KeyboardInterrupt / CancelledError pass through: the person stopped the run
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .request import ApprovalRequest

__all__ = [
    "ApprovalCancelled",
    "ApprovalRejected",
    "ApprovalTimeout",
    "AuditUnavailable",
    "AuditWarning",
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
    """The reviewer dismissed or cancelled the prompt (a closed dialog, a Cancel button).

    Ctrl-C and kernel interrupts are not this: they are recorded as cancelled and
    propagate as ``KeyboardInterrupt`` (see the module's docstring)::

        except ApprovalCancelled:
            ask_again_later()
    """


class NoApprovalChannel(ApprovalRejected):
    """No channel could ask a person here, so the call failed closed.

    The message says how to choose a channel::

        except NoApprovalChannel as e:
            print(e)   # ... set HITL_MODE=approve, or pass approver=...
    """


class AuditUnavailable(ApprovalRejected):
    """The request or its decision could not be written to the audit log, so the call did not run.

    An audited call never runs unrecorded (disk full, a read-only file, a corrupt last
    line). The original error is ``__cause__``::

        except AuditUnavailable as e:
            alert_ops(e.__cause__)   # OSError: [Errno 28] No space left on device
    """


class AuditWarning(UserWarning):
    """A call ran, but the record of its outcome could not be written to the audit log.

    The caller still gets the function's result (or its own exception): the side
    effect happened, and a retry would repeat it. The failure is also logged as an
    error on the ``"hitl_widget"`` logger, the record is kept in memory and written
    (marked ``late``) before the next record that can be written, and
    ``hitl audit verify`` lists calls approved to run that have no outcome record.
    Make it an error in tests with ``-W error::hitl_widget.AuditWarning``.
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
