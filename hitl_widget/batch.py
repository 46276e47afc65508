"""Batch approvals: calls queue and return placeholders; a person reviews them together.

::

    batch = Batch(approver=TerminalApprover())
    send = batch.wrap(send_email)
    send("a@example.com", "hi")        # -> "PENDING_APPROVAL_1"
    send("b@example.com", "hello")     # -> "PENDING_APPROVAL_2"
    batch.review_and_execute()         # -> {1: "sent", 2: "REJECTED: not this one"}

Calls the policy decides without a person (``when=`` false, low risk, budgets, ...)
run at once and return their real result.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from .decisions import Approve, Decision, Reject, as_decision
from .errors import InvalidEdit
from .gate import Approver, Gate, Resolution, _channel_name, _Guard, _run_coroutine_blocking, stand_in
from .request import ApprovalRequest
from .target import inspect_target

__all__ = ["Batch", "PendingCall"]

F = TypeVar("F", bound=Callable[..., Any])
PLACEHOLDER = "PENDING_APPROVAL_{n}"


@dataclass
class PendingCall:
    """One queued call: its number (the ``n`` of ``PENDING_APPROVAL_n``) and request."""

    n: int
    request: ApprovalRequest
    guard: _Guard

    @property
    def placeholder(self) -> str:
        return PLACEHOLDER.format(n=self.n)


class Batch(Gate):
    """A Gate whose calls wait in a queue for one review (same options as Gate)."""

    def __init__(self, approver: Approver | None = None, **options: Any) -> None:
        super().__init__(approver, **options)
        self._numbers = itertools.count(1)
        self._queue_lock = threading.Lock()
        self._pending: dict[int, PendingCall] = {}
        self._review_lock = threading.Lock()
        self.results: dict[int, Any] = {}

    def wrap(self, fn: F, /, **options: Any) -> F:
        """A stand-in for ``fn`` whose calls queue and return ``PENDING_APPROVAL_n``."""
        target = inspect_target(fn)
        guard = _Guard(self, target, options)
        if target.is_async:

            async def impl_async(*args: Any, **kwargs: Any) -> Any:
                result = self._enqueue(guard, target.arguments_from_wrapper(args, kwargs))
                if isinstance(result, _RunNow):
                    return await self.run_async(guard, result.request, result.resolution)
                return result

            impl: Callable[..., Any] = impl_async
        else:

            def impl_sync(*args: Any, **kwargs: Any) -> Any:
                result = self._enqueue(guard, target.arguments_from_wrapper(args, kwargs))
                if isinstance(result, _RunNow):
                    return self.run(guard, result.request, result.resolution)
                return result

            impl = impl_sync
        return cast(F, stand_in(target, impl, guard))

    def _enqueue(self, guard: _Guard, arguments: dict[str, Any]) -> Any:
        """Decide by policy now, or queue the call with a private copy of its arguments.

        The copy is made here, so an agent that reuses (and mutates) its argument objects
        after getting ``PENDING_APPROVAL_n`` does not change what is reviewed or run.
        """
        request = self._new_request(guard, arguments)
        verdict = self.evaluate(guard, request)
        if verdict.action != "ask":
            resolution = self._automatic(guard, request, verdict)
            if not resolution.runs:
                raise self._rejection(request, resolution)
            return _RunNow(request, resolution)
        self._freeze(guard, request)
        with self._queue_lock:
            n = next(self._numbers)
            call = PendingCall(n, request, guard)
            request.label = call.placeholder
            self._pending[n] = call
        self._audit(guard, "request", request=request.to_dict(), channel="batch", placeholder=call.placeholder)
        return call.placeholder

    # -- reviewing -----------------------------------------------------------------

    @property
    def pending(self) -> list[PendingCall]:
        """The calls waiting for review, oldest first."""
        with self._queue_lock:
            return [self._pending[n] for n in sorted(self._pending)]

    def _take(self, numbers: Sequence[int] | None = None) -> list[PendingCall]:
        with self._queue_lock:
            chosen = sorted(self._pending) if numbers is None else [n for n in numbers if n in self._pending]
            return [self._pending.pop(n) for n in chosen]

    def _requeue(self, calls: Sequence[PendingCall]) -> None:
        with self._queue_lock:
            for call in calls:
                self._pending[call.n] = call

    def _ask_all(self, approver: Approver, calls: Sequence[PendingCall]) -> list[Any]:
        """Answers for every call: from the approver's ``review`` if it has one, else one by one."""
        for call in calls:  # the timeout counts from the start of the review
            call.request.monotonic_start = time.monotonic()
        review = getattr(approver, "review", None)
        if callable(review):
            try:
                answers = list(review([c.request for c in calls]))
            except Exception as exc:
                return [exc] * len(calls)
            if len(answers) != len(calls):
                raise ValueError(f"{_channel_name(approver)}.review returned {len(answers)} decisions for {len(calls)} calls")
            return answers
        return [self._ask_sync(self.approver_for(c.guard, c.request), c.request) for c in calls]

    def _execute(self, calls: Sequence[PendingCall], answers: Sequence[Any], channel: str) -> dict[int, Any]:
        results: dict[int, Any] = {}
        invalid: list[tuple[PendingCall, InvalidEdit]] = []
        for index, (call, answer) in enumerate(zip(calls, answers)):
            try:
                resolution = self._settle(call.guard, call.request, answer, channel, call.request.monotonic_start)
                resolution = self._follow_sync(call.guard, call.request, resolution)  # grants; edits decided again
            except InvalidEdit as exc:
                invalid.append((call, exc))
                continue
            except BaseException:
                # the approver failed: nothing undecided is lost, it stays pending
                self.results.update(results)
                self._requeue([*calls[index:], *(c for c, _ in invalid)])
                raise
            results[call.n] = self._result(call, resolution)
        self.results.update(results)
        if invalid:
            self._requeue([c for c, _ in invalid])
            detail = "; ".join(f"PENDING_APPROVAL_{c.n}: {e}" for c, e in invalid)
            raise InvalidEdit("batch", {"*": f"{detail} (these calls stay pending; batch.results has the calls that ran)"})
        return results

    def _result(self, call: PendingCall, resolution: Resolution) -> Any:
        if not resolution.runs:
            return f"REJECTED: {self._rejection(call.request, resolution).feedback or _reason(resolution)}"
        try:
            if call.guard.target.is_async:
                return _run_coroutine_blocking(self.run_async(call.guard, call.request, resolution))
            return self.run(call.guard, call.request, resolution)
        except Exception as exc:
            return f"ERROR: {type(exc).__name__}: {exc}"

    def review_and_execute(self, decisions: Mapping[int, Decision | bool] | None = None) -> dict[int, Any]:
        """Ask about every pending call, run the approved ones, and return each result.

        Returns ``{n: result}`` for approved calls and ``{n: "REJECTED: feedback"}``
        for rejected ones. ``decisions`` (``{n: Approve() | Edit(...) | Reject(...)}``)
        decides those calls directly; the approver is asked about the rest.
        """
        with self._review_lock:
            decided = self._take(sorted(decisions)) if decisions else []
            results: dict[int, Any] = {}
            if decided:
                assert decisions is not None
                answers = [as_decision(decisions[c.n]) for c in decided]
                results.update(self._execute(decided, answers, "batch"))
            rest = self._take()
            if rest:
                try:
                    approver = self.approver_for(rest[0].guard, rest[0].request)
                    answers = self._ask_all(approver, rest)
                except BaseException:
                    self._requeue(rest)
                    raise
                results.update(self._execute(rest, answers, _channel_name(approver)))
            return results

    def approve_all(self) -> dict[int, Any]:
        """Approve and run every pending call."""
        return self.review_and_execute({c.n: Approve() for c in self.pending})

    def reject_all(self, feedback: str = "") -> dict[int, Any]:
        """Reject every pending call with ``feedback``."""
        return self.review_and_execute({c.n: Reject(feedback) for c in self.pending})

    def wait_for_approvals(self) -> dict[int, Any]:
        """Wait until a person has reviewed every pending call, then return each call's outcome.

        Call this after tools returned PENDING_APPROVAL_n placeholders. Returns a
        mapping from each n to the call's result, or to "REJECTED: <feedback>" when
        the reviewer declined it (read the feedback and adapt).
        """
        return self.review_and_execute()


@dataclass
class _RunNow:
    request: ApprovalRequest
    resolution: Resolution


def _reason(resolution: Resolution) -> str:
    return {"timed_out": "no decision before the timeout", "cancelled": "cancelled by the reviewer"}.get(
        resolution.status, "rejected by a human reviewer"
    )
