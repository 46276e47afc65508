"""The notebook channel: a card in the cell's output; the call waits until a person decides.

Waiting works from the kernel's main thread (the cell blocks while comm messages keep
flowing, see ``hitl_widget.kernel_wait``), from worker threads (agent SDKs run sync
tools in threads; a sync cell's thread pool: on ipykernel >= 7.4 a kernel subshell serves
the card, on ipykernel 6 while the cell awaits), and from ``await`` (natively on
ipykernel >= 7.4, by a blocking wait on the main thread before). Where no click could
reach the kernel (ipykernel 6, a thread pool the cell blocks on), the card says so at once
and the call fails closed with :class:`~hitl_widget.NoApprovalChannel` naming what works.
A kernel interrupt while waiting settles the card as cancelled and re-raises
``KeyboardInterrupt``; a timeout fails closed. Either way the card turns into a compact
record that stays readable in the saved notebook.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Sequence
from typing import Any

from ..decisions import Decision
from ..errors import ApprovalTimeout, NoApprovalChannel
from ..request import ApprovalRequest

__all__ = ["NotebookApprover", "notebook_user"]


def notebook_user() -> str:
    """Who is deciding: JupyterHub's user where present, else the OS user."""
    hub_user = os.environ.get("JUPYTERHUB_USER")
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def review_timeout(requests: Sequence[ApprovalRequest]) -> float | None:
    """How long a review table may wait: until the earliest deadline among the requests."""
    left = [r.remaining() for r in requests]
    return min((s for s in left if s is not None), default=None)


class NotebookApprover:
    """Shows an ApprovalCard and waits for its decision."""

    channel = "notebook"
    honors_deadline = True

    def __init__(self, user: str | None = None) -> None:
        from ..environment import require_notebook_libraries

        require_notebook_libraries()  # MissingLibrary naming the extra, here rather than at the first card
        self.user = user or notebook_user()

    def _card(self, request: ApprovalRequest) -> Any:
        from ..kernel_wait import served
        from ..widget import ApprovalCard

        return served(lambda: ApprovalCard(request, user=self.user))

    @staticmethod
    def _display(card: Any) -> Any:
        from IPython.display import display

        return display(card, display_id=True)  # type: ignore[no-untyped-call]

    def _finish(self, card: Any, handle: Any, status: str, feedback: str = "", diff: dict[str, Any] | None = None) -> None:
        text = card.settle(status, feedback=feedback, diff=diff)
        if handle is not None:
            bundle = {**card._repr_mimebundle_()[0], **card.fallback_bundle(text)}
            handle.update(bundle, raw=True)

    def _refuse(self, card: Any, handle: Any, request: ApprovalRequest, why: str) -> NoApprovalChannel:
        """Settle the card at once with the reason no click can be answered here; the error to raise."""
        from ..widget import decision_record, record_text

        card.settle("cancelled")  # a late click must not count
        record = {**decision_record("rejected", None, f"not run: {why}"), "by": None}
        card.record = record
        if handle is not None:
            text = record_text(request.function, record)
            handle.update({**card._repr_mimebundle_()[0], **card.fallback_bundle(text)}, raw=True)
        return NoApprovalChannel(f"{request.call_text()} was not run: {why}", request=request)

    def _settled(self, card: Any, handle: Any, request: ApprovalRequest) -> Decision:
        from ..widget import status_of

        decision: Decision = card.decision
        status, feedback, diff = status_of(decision, request)
        self._finish(card, handle, status, feedback, diff)
        return decision

    def __call__(self, request: ApprovalRequest) -> Decision:
        from ..kernel_wait import NotAnswerable, wait_for

        card = self._card(request)
        handle = None
        try:  # an interrupt at any point from here on leaves the card saying "cancelled"
            handle = self._display(card)
            decided = wait_for(card.decided, request.remaining(), widget=card)
        except KeyboardInterrupt:
            self._finish(card, handle, "cancelled")
            raise
        except NotAnswerable as exc:
            raise self._refuse(card, handle, request, str(exc)) from None
        if not decided or card.decision is None:
            self._finish(card, handle, "timed_out")
            raise ApprovalTimeout("timed out")
        return self._settled(card, handle, request)

    def review(self, requests: Sequence[ApprovalRequest]) -> list[Any]:
        """The batch review table: every pending call at once; blocks until all are decided.

        Returns one answer per request: its Decision, or ApprovalTimeout / NoApprovalChannel
        (as a value) for the ones nobody decided. A kernel interrupt settles the undecided
        ones as cancelled and re-raises ``KeyboardInterrupt``.
        """
        from ..kernel_wait import NotAnswerable, served, wait_for
        from ..widget import BatchReview

        table = served(lambda: BatchReview(list(requests), user=self.user))
        handle = None
        timeout = review_timeout(requests)
        try:
            handle = self._display(table)
            finished = wait_for(table.done, timeout, widget=table)
        except KeyboardInterrupt:
            for request in requests:
                if request.id not in table.decisions:
                    table.settle(request.id, "cancelled")
            self._update(table, handle)
            raise
        except NotAnswerable as exc:
            for request in requests:
                if request.id not in table.decisions:
                    table.settle(request.id, "rejected", feedback=f"not run: {exc}")
            self._update(table, handle)
            return [
                table.decisions.get(r.id) or NoApprovalChannel(f"{r.call_text()} was not run: {exc}", request=r)
                for r in requests
            ]
        if not finished:
            for request in requests:
                if request.id not in table.decisions:
                    table.settle(request.id, "timed_out")
        self._update(table, handle)
        return [table.decisions.get(r.id) or ApprovalTimeout("timed out") for r in requests]

    @staticmethod
    def _update(table: Any, handle: Any) -> None:
        if handle is not None:
            text = table.summary_text()
            handle.update({**table._repr_mimebundle_()[0], "text/plain": text}, raw=True)

    async def ask_async(self, request: ApprovalRequest) -> Decision:
        from ..kernel_wait import comms_while_awaiting

        with comms_while_awaiting() as can_await:
            if not can_await:
                return self(request)  # not on a kernel's loop that handles comms while awaiting
            card = self._card(request)
            return await self._await_decision(card, self._display(card), request)

    async def _await_decision(self, card: Any, handle: Any, request: ApprovalRequest) -> Decision:
        """Await the shown card's decision; a timeout or a cancellation settles it and raises."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Decision] = loop.create_future()

        def resolve(decision: Decision) -> None:
            if not future.done():
                future.set_result(decision)

        def deliver(decision: Decision) -> None:  # may run on a subshell thread
            loop.call_soon_threadsafe(resolve, decision)

        unsubscribe = card.on_decided(deliver)
        try:
            await _wake_while_waiting(future, request.remaining())
        except TimeoutError:
            self._finish(card, handle, "timed_out")
            raise ApprovalTimeout("timed out") from None
        except (asyncio.CancelledError, KeyboardInterrupt):  # the task was cancelled, or the kernel interrupted
            self._finish(card, handle, "cancelled")
            raise
        finally:
            unsubscribe()
        return self._settled(card, handle, request)


_WAKE_S = 0.1


async def _wake_while_waiting(future: asyncio.Future[Any], timeout: float | None) -> None:
    """Await ``future`` (TimeoutError after ``timeout`` s), waking the loop every ``_WAKE_S`` seconds.

    Python runs a signal handler only when the main thread runs bytecode; an idle event loop
    sleeps in ``select`` with no wake-up for signals, so a kernel interrupt of an awaiting
    cell (ipykernel cancels the cell's task from its SIGINT handler) would wait for the next
    message. The wake-ups let it act within ``_WAKE_S``.
    """
    loop = asyncio.get_running_loop()
    end = None if timeout is None else loop.time() + max(timeout, 0.0)
    while not future.done():
        left = None if end is None else end - loop.time()
        if left is not None and left <= 0:
            raise TimeoutError
        await asyncio.wait({future}, timeout=_WAKE_S if left is None else min(_WAKE_S, left))

