"""The approver used when none is given: the best channel for where the code runs."""

from __future__ import annotations

from ..environment import channel_problems, detect_channel
from ..errors import NoApprovalChannel
from ..request import ApprovalRequest

__all__ = ["HOW_TO_CHOOSE", "FailClosed", "default_approver"]

HOW_TO_CHOOSE = (
    "no approval channel is available here (no notebook, no browser, no terminal), so it "
    "failed closed. Choose one: pass approver= to require_approval or Gate (for example "
    "TerminalApprover() or ScriptedApprover([...])), or set HITL_MODE=approve (or reject) to "
    "decide every call automatically in this environment."
)

#: after a channel's problem (its libraries are missing): the other ways out
UNTIL_THEN = (
    "Until then every call fails closed; or pass approver= to require_approval or Gate, or set "
    "HITL_MODE=approve (or reject) to decide every call automatically in this environment."
)


class FailClosed:
    """Stands in where no channel exists: every request raises NoApprovalChannel.

    ``problems`` are why a channel that fits here cannot be used (a Jupyter kernel without
    anywidget: what to install); the message leads with them.
    """

    channel = "none"

    def __init__(self, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])

    def message(self) -> str:
        if self.problems:
            return "it failed closed: " + "; ".join(self.problems) + ". " + UNTIL_THEN
        return HOW_TO_CHOOSE

    def __call__(self, request: ApprovalRequest) -> object:
        raise NoApprovalChannel(f"{request.call_text()} was not run: {self.message()}", request=request)


def default_approver() -> object:
    """The channel detected now (a notebook may start after import), or FailClosed saying why."""
    return detect_channel() or FailClosed(channel_problems())
