"""The JupyterLite channel: the same card as in JupyterLab, in the browser-only Pyodide kernel.

The card sends its decision over a ``BroadcastChannel`` (``hitl_widget.browser_relay``)
and a synchronous call blocks with ``pyodide.ffi.run_sync``; ``await tool(...)`` in a
cell just awaits it. Where blocking is impossible (a browser without JavaScript Promise
Integration, or Python entered synchronously, e.g. from a widget callback), it falls back
in this order:

1. the kernel's stdin box (``input()``, which JupyterLite serves without ``run_sync``):
   the terminal's prompt, line by line. Only while a cell runs: JupyterLite shows no stdin
   box for a widget callback (a comm message), where ``input()`` would wait forever;
2. fail closed: :class:`~hitl_widget.NoApprovalChannel`, pointing to ``Batch`` (queue the
   calls, then ``review_and_execute()`` from a later cell, where nothing has to block).

(A ``window.confirm`` asked by the card's JS on the page would need the same blocking
wait to bring its answer into the worker, so it adds nothing here; it is the channel for
Pyodide on a page's main thread, ``BrowserConfirmApprover``.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ..browser_relay import Relay, block_on, can_block, new_relay_name
from ..decisions import Decision
from ..errors import ApprovalCancelled, ApprovalTimeout, NoApprovalChannel
from ..request import ApprovalRequest
from .notebook import NotebookApprover, review_timeout
from .terminal import InputApprover

__all__ = ["LiteApprover"]

BATCH_HINT = (
    "this JupyterLite kernel cannot wait for a decision here (the browser lacks JavaScript "
    "Promise Integration, or Python was entered synchronously) and has no stdin box, so it "
    "failed closed. Use a Batch instead: calls return PENDING_APPROVAL_n placeholders, and "
    "batch.review_and_execute() in a later cell shows the review table."
)


def _in_a_running_cell() -> bool:
    """False when the kernel is handling something other than a cell: a widget's comm message,
    or a JS event handler calling Python after the cell ended.

    JupyterLite's kernel records the message it handles as ``kernel._parent_header``; IPython's
    cell events say whether a cell is still running. Where neither tells, it answers True.
    """
    from ..environment import cells

    if cells.running is False:
        return False
    try:
        from IPython import get_ipython

        parent = get_ipython().kernel._parent_header  # type: ignore[no-untyped-call]
        msg_type = parent["header"]["msg_type"]
    except Exception:
        return True
    return bool(msg_type == "execute_request")


class LiteApprover(NotebookApprover):
    """Shows an ApprovalCard in a JupyterLite notebook and waits for its decision."""

    channel = "jupyterlite"
    honors_deadline = True

    def __init__(self, user: str | None = None) -> None:
        super().__init__(user)
        self._prompt = InputApprover(user=self.user)

    # -- one request -----------------------------------------------------------------

    def __call__(self, request: ApprovalRequest) -> Decision:
        if can_block():
            return block_on(self.ask_async(request))
        if not _in_a_running_cell():
            raise NoApprovalChannel(f"{request.call_text()} was not run: {BATCH_HINT}", request=request)
        try:
            return self._prompt(request)
        except (ApprovalCancelled, ApprovalTimeout):
            raise
        except Exception as exc:  # no stdin box either
            raise NoApprovalChannel(f"{request.call_text()} was not run: {BATCH_HINT}", request=request) from exc

    async def ask_async(self, request: ApprovalRequest) -> Decision:
        from ..widget import ApprovalCard

        name = new_relay_name()
        card = ApprovalCard(request, user=self.user, relay=name)
        relay = self._relay(name, card)
        try:
            return await self._await_decision(card, self._display(card), request)
        finally:
            relay.close()

    # -- a batch -------------------------------------------------------------------------

    def review(self, requests: Sequence[ApprovalRequest]) -> list[Any]:
        if not can_block():
            return [self._answer_or_error(request) for request in requests]
        return block_on(self._review_async(requests))

    def _answer_or_error(self, request: ApprovalRequest) -> Any:
        try:
            return self(request)
        except Exception as exc:
            return exc

    async def _review_async(self, requests: Sequence[ApprovalRequest]) -> list[Any]:
        from ..widget import BatchReview

        name = new_relay_name()
        table = BatchReview(list(requests), user=self.user, relay=name)
        relay = self._relay(name, table)
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        table.on_done(lambda: None if finished.done() else finished.set_result(None))
        handle = self._display(table)
        try:
            await asyncio.wait_for(asyncio.shield(finished), review_timeout(requests))
        except TimeoutError:
            pass
        except (asyncio.CancelledError, KeyboardInterrupt):  # interrupted: settle the rest, then propagate
            self._settle_rest(table, handle, requests, "cancelled")
            raise
        finally:
            relay.close()
        self._settle_rest(table, handle, requests, "timed_out")
        return [table.decisions.get(r.id) or ApprovalTimeout("timed out") for r in requests]

    def _settle_rest(self, table: Any, handle: Any, requests: Sequence[ApprovalRequest], status: str) -> None:
        for request in requests:
            if request.id not in table.decisions:
                table.settle(request.id, status)
        self._update(table, handle)

    @staticmethod
    def _relay(name: str, widget: Any) -> Relay:
        """Listen on the widget's channel; its error replies go back the same way."""
        relay = Relay(name, widget.receive)
        widget.reply = relay.post
        return relay
