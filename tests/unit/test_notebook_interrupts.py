"""The notebook and Lite approvers on Ctrl-C, task cancellation and an unanswerable wait.

The real kernel interrupt is tested in tests/kernel (test_threads.py, test_notebook_card.py);
here the approvers' own contract: the card settles, then KeyboardInterrupt / CancelledError
propagates (never turned into an ordinary Exception), and a wait no click can reach fails
closed at once with NoApprovalChannel naming what works.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar

import pytest

from hitl_widget import Approve, Gate, NoApprovalChannel, kernel_wait
from hitl_widget.approvers import lite, notebook
from hitl_widget.approvers.lite import LiteApprover
from hitl_widget.approvers.notebook import NotebookApprover
from hitl_widget.gate import _Guard
from hitl_widget.request import ApprovalRequest

# the card's libraries (anywidget) are not part of the core that tests/pyodide runs
pytestmark = pytest.mark.notebook


def transfer(amount: int, to: str) -> str:
    return f"sent {amount} to {to}"


def make_requests(count: int = 1) -> list[ApprovalRequest]:
    gate = Gate()
    wrapped = gate.wrap(transfer)
    guard: _Guard = wrapped.__hitl_guard__  # type: ignore[attr-defined]
    return [gate._new_request(guard, {"amount": 10 * (n + 1), "to": "bob"}) for n in range(count)]


class FakeRelay:
    """Stands in for the BroadcastChannel (Pyodide only); records that it was closed."""

    opened: ClassVar[list[FakeRelay]] = []

    def __init__(self, name: str, on_message: Any) -> None:
        self.name, self.on_message, self.closed = name, on_message, False
        FakeRelay.opened.append(self)

    def post(self, message: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Shown:
    """Captures the widgets the approver displays (no IPython display outside a kernel)."""

    def __init__(self) -> None:
        self.widgets: list[Any] = []

    def __call__(self, widget: Any) -> None:
        self.widgets.append(widget)


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> Shown:
    capture = Shown()
    monkeypatch.setattr(NotebookApprover, "_display", staticmethod(capture))
    monkeypatch.setattr(lite, "Relay", FakeRelay)
    FakeRelay.opened = []
    return capture


# -- the notebook card, sync ------------------------------------------------------------------


def test_keyboard_interrupt_while_waiting_settles_the_card_and_propagates(shown: Shown, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(event: threading.Event, timeout: float | None, **_: Any) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(kernel_wait, "wait_for", interrupted)
    with pytest.raises(KeyboardInterrupt):
        NotebookApprover(user="ana")(make_requests()[0])
    card = shown.widgets[0]
    assert card.record["status"] == "cancelled" and card.decided.is_set()


def test_an_unanswerable_wait_fails_closed_at_once_and_the_card_says_why(shown: Shown, monkeypatch: pytest.MonkeyPatch) -> None:
    def blocked(event: threading.Event, timeout: float | None, **_: Any) -> bool:
        raise kernel_wait.NotAnswerable(f"the kernel's main thread is blocked. {kernel_wait.WHAT_WORKS}")

    monkeypatch.setattr(kernel_wait, "wait_for", blocked)
    request = make_requests()[0]
    with pytest.raises(NoApprovalChannel) as info:
        NotebookApprover(user="ana")(request)
    message = str(info.value)
    assert message.startswith("transfer(amount=10, to='bob') was not run: the kernel's main thread is blocked")
    assert "asyncio.to_thread" in message and "Batch" in message and "async cell" in message
    card = shown.widgets[0]
    assert card.record["status"] == "rejected" and card.record["by"] is None
    assert card.record["feedback"].startswith("not run: the kernel's main thread is blocked")
    card.receive({"kind": "decision", "version": 2, "request_id": request.id, "decision": {"kind": "approve"}})
    assert card.decision is None  # a late click counts for nothing


def test_an_unanswerable_review_fails_every_row_closed(shown: Shown, monkeypatch: pytest.MonkeyPatch) -> None:
    def blocked(event: threading.Event, timeout: float | None, **_: Any) -> bool:
        raise kernel_wait.NotAnswerable("no click can reach this kernel")

    monkeypatch.setattr(kernel_wait, "wait_for", blocked)
    answers = NotebookApprover(user="ana").review(make_requests(2))
    assert [type(a) for a in answers] == [NoApprovalChannel, NoApprovalChannel]
    assert all("no click can reach this kernel" in str(a) for a in answers)
    table = shown.widgets[0]
    assert {r["status"] for r in table.records.values()} == {"rejected"}


def test_keyboard_interrupt_during_a_review_cancels_the_undecided_rows_and_propagates(
    shown: Shown, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = make_requests(3)

    def first_decided_then_interrupted(event: threading.Event, timeout: float | None, **_: Any) -> bool:
        shown.widgets[0].decide(requests[0].id, Approve())
        raise KeyboardInterrupt

    monkeypatch.setattr(kernel_wait, "wait_for", first_decided_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        NotebookApprover(user="ana").review(requests)
    records = shown.widgets[0].records
    assert [records[r.id]["status"] for r in requests] == ["approved", "cancelled", "cancelled"]


# -- awaiting the card (ipykernel >= 7.4 cells, and the Lite card) ------------------------------


def test_a_cancelled_await_settles_the_lite_card_and_propagates(shown: Shown) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(LiteApprover(user="ana").ask_async(make_requests()[0]))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert shown.widgets[0].record["status"] == "cancelled"
    assert FakeRelay.opened[0].closed


def test_a_keyboard_interrupt_in_the_lite_await_propagates(shown: Shown, monkeypatch: pytest.MonkeyPatch) -> None:
    async def interrupted(future: Any, timeout: float | None) -> None:
        raise KeyboardInterrupt  # Pyodide raises it inside the awaiting frame (the interrupt buffer)

    monkeypatch.setattr(notebook, "_wake_while_waiting", interrupted)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(LiteApprover(user="ana").ask_async(make_requests()[0]))
    assert shown.widgets[0].record["status"] == "cancelled"
    assert FakeRelay.opened[0].closed


def test_a_cancelled_lite_review_cancels_the_undecided_rows_and_propagates(shown: Shown) -> None:
    requests = make_requests(2)

    async def main() -> None:
        task = asyncio.ensure_future(LiteApprover(user="ana")._review_async(requests))
        await asyncio.sleep(0.05)
        shown.widgets[0].decide(requests[1].id, Approve())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    records = shown.widgets[0].records
    assert [records[r.id]["status"] for r in requests] == ["cancelled", "approved"]


def test_the_awaited_wait_ends_on_a_decision_from_another_thread_and_keeps_its_deadline() -> None:
    """(That its wake-ups let a kernel interrupt through is tested in a real kernel: test_threads.py.)"""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        threading.Timer(0.35, lambda: loop.call_soon_threadsafe(future.set_result, "decided")).start()
        started = loop.time()
        await notebook._wake_while_waiting(future, 5)
        took = loop.time() - started
        with pytest.raises(TimeoutError):
            await notebook._wake_while_waiting(loop.create_future(), 0.15)
        return took

    assert 0.3 <= asyncio.run(main()) < 1.5
