"""ScriptedApprover: a test double that answers from a script, like a mock transport."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..decisions import Approve, Decision, Edit, Reject, as_decision
from ..request import ApprovalRequest

__all__ = ["ScriptedApprover"]

Scripted = Decision | bool | Callable[[ApprovalRequest], Any]


class ScriptedApprover:
    """Answers requests in order from ``decisions`` and records every request seen.

    ::

        approver = ScriptedApprover([Approve(), Reject("too big"), Edit({"amount": 50})])
        gate = Gate(approver=approver)
        ...
        assert [r.function for r in approver.requests] == ["refund", "refund", "refund"]

    An item may also be a function of the request (to answer by its contents); it must
    answer at once, since ``blocking = False``: the gate calls this approver inline,
    with no thread, even from async code and under a timeout.
    Running out of answers raises ``LookupError`` unless ``default`` is given.
    """

    channel = "scripted"
    #: never waits for a person: called inline (no thread), even from async code
    blocking = False

    def __init__(self, decisions: Iterable[Scripted] = (), *, default: Scripted | None = None) -> None:
        self._script: list[Scripted] = list(decisions)
        self._default = default
        self._lock = threading.Lock()
        self.requests: list[ApprovalRequest] = []

    def __call__(self, request: ApprovalRequest) -> Decision:
        with self._lock:
            self.requests.append(request)
            if self._script:
                item: Scripted | None = self._script.pop(0)
            else:
                item = self._default
            if item is None:
                raise LookupError(f"ScriptedApprover has no answer left for request {len(self.requests)} ({request.call_text()})")
        answer = item(request) if callable(item) and not isinstance(item, (Approve, Edit, Reject)) else item
        return as_decision(answer)

    @property
    def remaining(self) -> int:
        """How many scripted answers are left."""
        return len(self._script)
