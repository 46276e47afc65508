"""Batch approvals: calls queue and return placeholders; a person reviews them together.

::

    batch = Batch(approver=TerminalApprover())
    send = batch.wrap(send_email)
    send("a@example.com", "hi")        # -> "PENDING_APPROVAL_1"
    send("b@example.com", "hello")     # -> "PENDING_APPROVAL_2"
    batch.review_and_execute()         # -> {1: "sent", 2: "REJECTED: not this one"}

From async code, ``await batch.areview_and_execute()`` (or give the agent
``batch.wait_for_approvals_async`` as a tool) keeps the event loop running while a person
decides, and runs approved coroutine functions on that loop.

Calls the policy decides without a person (``when=`` false, low risk, budgets, ...)
run at once and return their real result.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from .decisions import Approve, Decision, Reject, as_decision
from .errors import ApprovalTimeout, AuditUnavailable, InvalidEdit
from .gate import (
    _DEFAULT_ROUTE,
    Approver,
    Gate,
    Resolution,
    _blocks,
    _channel_name,
    _Guard,
    _request_field,
    _run_coroutine_blocking,
    in_own_thread,
    stand_in,
)
from .request import ApprovalRequest
from .target import inspect_target, method_descriptor

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

        async def wait_for_approvals() -> dict[int, Any]:
            """Wait until a person has reviewed every pending call, then return each call's outcome.

            Call this after tools returned PENDING_APPROVAL_n placeholders. Returns a
            mapping from each n to the call's result, or to "REJECTED: <feedback>" when
            the reviewer declined it (read the feedback and adapt).
            """
            return await self.areview_and_execute()

        wait_for_approvals.__qualname__ = "wait_for_approvals"
        #: ``wait_for_approvals`` as a coroutine function (named so, documented for the model):
        #: the tool to give an async agent; it awaits ``areview_and_execute()``
        self.wait_for_approvals_async: Callable[[], Coroutine[Any, Any, dict[int, Any]]] = wait_for_approvals

    def wrap(self, fn: F, /, **options: Any) -> F:
        """A stand-in for ``fn`` whose calls queue and return ``PENDING_APPROVAL_n``."""
        descriptor = method_descriptor(fn)  # staticmethod/classmethod: wrap the function, keep the kind
        if descriptor is not None:
            return cast(F, descriptor[0](self.wrap(descriptor[1], **options)))
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
        self._describe(guard, request)
        with self._queue_lock:
            n = next(self._numbers)
            call = PendingCall(n, request, guard)
            request.label = call.placeholder
            self._pending[n] = call
        self._audit(guard, "request", request=_request_field(guard, request), channel="batch", placeholder=call.placeholder)
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
        """Answers for every call: from the approver's ``review`` if it has one, else one by one.

        ``KeyboardInterrupt`` propagates (the review records the calls as interrupted and
        keeps them pending).
        """
        requests = self._start_review(calls)
        review = getattr(approver, "review", None)
        if callable(review):
            try:
                answers = list(review(requests))
            except Exception as exc:
                return [exc] * len(calls)
            return self._checked(approver, answers, calls)
        return [self._ask_sync(self.approver_for(c.guard, c.request), c.request) for c in calls]

    async def _ask_all_async(self, approver: Approver, calls: Sequence[PendingCall]) -> list[Any]:
        """``_ask_all`` without blocking the loop: ``areview``, else ``review`` in its own thread, else one by one."""
        requests = self._start_review(calls)
        areview = getattr(approver, "areview", None)
        review = getattr(approver, "review", None)
        if callable(areview) or callable(review):
            try:
                if callable(areview):
                    answers = list(await areview(requests))
                elif _blocks(approver):
                    answers = list(await in_own_thread(cast(Callable[..., Any], review), requests, name="hitl-batch-review"))
                else:
                    answers = list(cast(Callable[..., Any], review)(requests))
            except Exception as exc:
                return [exc] * len(calls)
            return self._checked(approver, answers, calls)
        return [await self._ask_async(self.approver_for(c.guard, c.request), c.request) for c in calls]

    @staticmethod
    def _start_review(calls: Sequence[PendingCall]) -> list[ApprovalRequest]:
        for call in calls:  # the timeout counts from the start of the review
            call.request.monotonic_start = time.monotonic()
        return [c.request for c in calls]

    @staticmethod
    def _checked(approver: Approver, answers: list[Any], calls: Sequence[PendingCall]) -> list[Any]:
        """The review's answers, one per call; a decision that came after its call's own deadline fails closed.

        A table review answers every call at once, so each call's ``timeout`` is judged here,
        per call: a late decision becomes ApprovalTimeout (recorded ``timed_out``, or run
        under ``on_timeout="approve"``), as it would be for a direct call.
        """
        if len(answers) != len(calls):
            raise ValueError(f"{_channel_name(approver)}.review returned {len(answers)} decisions for {len(calls)} calls")
        return [
            ApprovalTimeout("timed out") if not isinstance(a, BaseException) and c.request.remaining() == 0 else a
            for a, c in zip(answers, calls)
        ]

    def _groups(self, calls: Sequence[PendingCall]) -> list[tuple[Approver, list[PendingCall]]]:
        """The calls grouped by the approver that applies to each (``approver_for``), in queue order of groups.

        Calls for the default approver form one group (it is looked up once), so one
        review table shows them all; every other group is one approver object.
        """
        groups: list[tuple[object, Approver, list[PendingCall]]] = []
        for call in calls:
            route = self._route(call.guard, call.request)
            if route is not _DEFAULT_ROUTE:
                route = self.approver_for(call.guard, call.request)
            for key, _, members in groups:
                if key is route:
                    members.append(call)
                    break
            else:
                approver = route if route is not _DEFAULT_ROUTE else self.approver_for(call.guard, call.request)
                groups.append((route, cast(Approver, approver), [call]))
        return [(approver, members) for _, approver, members in groups]

    def _decide(self, call: PendingCall, answer: Any, channel: str, decider: object) -> Resolution | InvalidEdit | str:
        """One answer settled: a Resolution, the InvalidEdit that keeps the call pending, or why it did not run."""
        try:
            resolution = self._settle(call.guard, call.request, answer, channel, call.request.monotonic_start)
            return self._follow_sync(call.guard, call.request, resolution, decider)  # grants; edits decided again
        except InvalidEdit as exc:
            return exc
        except AuditUnavailable as exc:  # failed closed, as a direct call would: the agent reads why
            return f"NOT RUN: {exc}"

    async def _decide_async(
        self, call: PendingCall, answer: Any, channel: str, decider: object
    ) -> Resolution | InvalidEdit | str:
        """``_decide``, with another approver (after an edit) awaited."""
        try:
            resolution = self._settle(call.guard, call.request, answer, channel, call.request.monotonic_start)
            return await self._follow_async(call.guard, call.request, resolution, decider)
        except InvalidEdit as exc:
            return exc
        except AuditUnavailable as exc:
            return f"NOT RUN: {exc}"

    def _execute(
        self,
        calls: Sequence[PendingCall],
        answers: Sequence[Any],
        channels: Sequence[str],
        deciders: Sequence[object] | None = None,
    ) -> dict[int, Any]:
        """Settle and run ``calls`` in queue order; ``deciders[i]`` answered call i (None: given to the review)."""
        results: dict[int, Any] = {}
        invalid: list[tuple[PendingCall, InvalidEdit]] = []
        settled = 0
        try:
            for i, (call, answer) in enumerate(zip(calls, answers)):
                decided = self._decide(call, answer, channels[i], deciders[i] if deciders else None)
                settled += 1
                if isinstance(decided, InvalidEdit):
                    invalid.append((call, decided))
                elif isinstance(decided, str):
                    results[call.n] = decided
                else:
                    results[call.n] = self._result(call, decided)
        except BaseException as exc:
            self._stop(results, [*calls[settled:], *(c for c, _ in invalid)], dict(zip((c.n for c in calls), channels)), exc)
            raise
        return self._finish(results, invalid)

    async def _execute_async(
        self,
        calls: Sequence[PendingCall],
        answers: Sequence[Any],
        channels: Sequence[str],
        deciders: Sequence[object] | None = None,
    ) -> dict[int, Any]:
        results: dict[int, Any] = {}
        invalid: list[tuple[PendingCall, InvalidEdit]] = []
        settled = 0
        try:
            for i, (call, answer) in enumerate(zip(calls, answers)):
                decided = await self._decide_async(call, answer, channels[i], deciders[i] if deciders else None)
                settled += 1
                if isinstance(decided, InvalidEdit):
                    invalid.append((call, decided))
                elif isinstance(decided, str):
                    results[call.n] = decided
                else:
                    results[call.n] = await self._result_async(call, decided)
        except BaseException as exc:
            self._stop(results, [*calls[settled:], *(c for c, _ in invalid)], dict(zip((c.n for c in calls), channels)), exc)
            raise
        return self._finish(results, invalid)

    def _stop(
        self, results: dict[int, Any], unsettled: Sequence[PendingCall], channels: Mapping[int, str], exc: BaseException
    ) -> None:
        """The review stopped (the approver failed, Ctrl-C): what ran is kept, nothing undecided is lost."""
        self.results.update(results)
        self._requeue(unsettled)
        if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
            for call in unsettled:
                channel = channels.get(call.n, "batch")
                self._interrupted(call.guard, call.request, channel, call.request.monotonic_start, exc, still_pending=True)

    def _finish(self, results: dict[int, Any], invalid: list[tuple[PendingCall, InvalidEdit]]) -> dict[int, Any]:
        self.results.update(results)
        if invalid:
            self._requeue([c for c, _ in invalid])
            detail = "; ".join(f"PENDING_APPROVAL_{c.n}: {e}" for c, e in invalid)
            raise InvalidEdit("batch", {"*": f"{detail} (these calls stay pending; batch.results has the calls that ran)"})
        return results

    def _result(self, call: PendingCall, resolution: Resolution) -> Any:
        if not resolution.runs:
            return self._refused(call, resolution)
        try:
            if call.guard.target.is_async:
                return _run_coroutine_blocking(self.run_async(call.guard, call.request, resolution))
            return self.run(call.guard, call.request, resolution)
        except Exception as exc:
            return f"ERROR: {type(exc).__name__}: {exc}"

    async def _result_async(self, call: PendingCall, resolution: Resolution) -> Any:
        """As ``_result``, with coroutine functions awaited on the running loop (the caller's)."""
        if not resolution.runs:
            return self._refused(call, resolution)
        try:
            if call.guard.target.is_async:
                return await self.run_async(call.guard, call.request, resolution)
            return self.run(call.guard, call.request, resolution)
        except Exception as exc:
            return f"ERROR: {type(exc).__name__}: {exc}"

    def _refused(self, call: PendingCall, resolution: Resolution) -> str:
        return f"REJECTED: {self._rejection(call.request, resolution).feedback or _reason(resolution)}"

    def review_and_execute(self, decisions: Mapping[int, Decision | bool] | None = None) -> dict[int, Any]:
        """Ask about every pending call, run the approved ones, and return each result.

        Returns ``{n: result}`` for approved calls and ``{n: "REJECTED: feedback"}``
        for rejected ones (``"ERROR: ..."`` when the function raised, ``"NOT RUN: ..."``
        when the decision could not be audited). ``decisions``
        (``{n: Approve() | Edit(...) | Reject(...)}``) decides those calls directly; the
        approver is asked about the rest: each call's own (see ``approver_for``), the calls
        grouped by approver and each group reviewed together, groups in the order of their
        first call; approved calls then run in queue order. Async functions run on this
        thread's own event loop here (reused, not yours):
        from async code use ``await batch.areview_and_execute()``, which runs them on
        the caller's loop. Ctrl-C during the review keeps the undecided calls pending
        (each recorded as ``interrupted``, not as a decision) and raises ``KeyboardInterrupt``.
        """
        given = {n: as_decision(d) for n, d in decisions.items()} if decisions else {}
        with self._review_lock:
            results: dict[int, Any] = {}
            decided = self._take(sorted(given))
            if decided:
                results.update(self._execute(decided, [given[c.n] for c in decided], ["batch"] * len(decided)))
            rest = self._take()
            if rest:
                answers: dict[int, Any] = {}
                channels: dict[int, str] = {}
                try:
                    groups = self._groups(rest)  # each call's own approver; groups in queue order
                    for approver, calls in groups:
                        channels.update((c.n, _channel_name(approver)) for c in calls)
                    for approver, calls in groups:
                        answers.update((c.n, a) for c, a in zip(calls, self._ask_all(approver, calls)))
                except BaseException as exc:
                    self._stop({}, rest, channels, exc)
                    raise
                deciders = {c.n: approver for approver, calls in groups for c in calls}
                asked, by = [answers[c.n] for c in rest], [deciders[c.n] for c in rest]
                results.update(self._execute(rest, asked, [channels[c.n] for c in rest], by))
            return results

    async def areview_and_execute(self, decisions: Mapping[int, Decision | bool] | None = None) -> dict[int, Any]:
        """``review_and_execute`` for async code: the loop keeps running while a person decides.

        The approver's ``areview`` (or ``ask_async``) is awaited when it has one; a
        blocking ``review`` (or a sync approver) runs in its own thread. Approved
        coroutine functions run on the caller's loop, so they can use its connections,
        locks and queues; sync functions run inline, as they would if called here.
        Same results as ``review_and_execute``; ``CancelledError`` (the task cancelled)
        and ``KeyboardInterrupt`` keep the undecided calls pending and propagate.
        """
        given = {n: as_decision(d) for n, d in decisions.items()} if decisions else {}
        while not self._review_lock.acquire(blocking=False):  # another review: wait without blocking the loop
            await asyncio.sleep(0.01)
        try:
            results: dict[int, Any] = {}
            decided = self._take(sorted(given))
            if decided:
                results.update(await self._execute_async(decided, [given[c.n] for c in decided], ["batch"] * len(decided)))
            rest = self._take()
            if rest:
                answers: dict[int, Any] = {}
                channels: dict[int, str] = {}
                try:
                    groups = self._groups(rest)  # each call's own approver; groups in queue order
                    for approver, calls in groups:
                        channels.update((c.n, _channel_name(approver)) for c in calls)
                    for approver, calls in groups:
                        answers.update((c.n, a) for c, a in zip(calls, await self._ask_all_async(approver, calls)))
                except BaseException as exc:
                    self._stop({}, rest, channels, exc)
                    raise
                deciders = {c.n: approver for approver, calls in groups for c in calls}
                asked, by = [answers[c.n] for c in rest], [deciders[c.n] for c in rest]
                results.update(await self._execute_async(rest, asked, [channels[c.n] for c in rest], by))
            return results
        finally:
            self._review_lock.release()

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
