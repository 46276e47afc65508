"""Approvers that answer without a person: for CI, staging, and composing policies."""

from __future__ import annotations

from ..decisions import Approve, Reject
from ..request import ApprovalRequest

__all__ = ["AutoApprove", "AutoReject"]


class AutoApprove:
    """Approves every request (the decision is still audited, as channel ``auto``)."""

    channel = "auto"
    #: never waits for a person: called inline (no thread), even from async code
    blocking = False

    def __call__(self, request: ApprovalRequest) -> Approve:
        return Approve(by="auto")


class AutoReject:
    """Rejects every request with ``feedback``."""

    channel = "auto"
    #: never waits for a person: called inline (no thread), even from async code
    blocking = False

    def __init__(self, feedback: str = "calls to this function are not allowed here") -> None:
        self.feedback = feedback

    def __call__(self, request: ApprovalRequest) -> Reject:
        return Reject(self.feedback, by="auto")
