"""The approver used when none is given: the best channel for where the code runs."""

from __future__ import annotations

from ..environment import detect_channel
from ..errors import NoApprovalChannel
from ..request import ApprovalRequest

__all__ = ["HOW_TO_CHOOSE", "default_approver"]

HOW_TO_CHOOSE = (
    "no approval channel is available here (no notebook, no browser, no terminal), so it "
    "failed closed. Choose one: pass approver= to require_approval or Gate (for example "
    "TerminalApprover() or ScriptedApprover([...])), or set HITL_MODE=approve (or reject) to "
    "decide every call automatically in this environment."
)


class FailClosed:
    """Stands in where no channel exists: every request raises NoApprovalChannel."""

    channel = "none"

    def __call__(self, request: ApprovalRequest) -> object:
        raise NoApprovalChannel(f"{request.call_text()} was not run: {HOW_TO_CHOOSE}", request=request)


def default_approver() -> object:
    """The channel detected now (a notebook may start after import), or FailClosed."""
    return detect_channel() or FailClosed()
