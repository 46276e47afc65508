"""Ctrl-C stops the agent: an interrupt while a person is asked is recorded as cancelled and propagates.

KeyboardInterrupt used to become ApprovalCancelled (an ordinary Exception), so an agent loop
that feeds tool errors to the model simply went on to its next step.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hitl_widget import (
    ApprovalCancelled,
    Approve,
    AuditLog,
    Batch,
    Gate,
    Reject,
    ScriptedApprover,
)


@pytest.fixture(autouse=True)
def _no_env_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITL_MODE", raising=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


def ctrl_c(request: Any) -> Any:
    raise KeyboardInterrupt


def decisions(path: Path) -> list[dict[str, Any]]:
    return [r for r in AuditLog.records(path) if r["type"] == "decision"]


def interruptions(path: Path) -> list[dict[str, Any]]:
    """Records of batch calls whose review was interrupted: they stay pending, so no decision is recorded."""
    return [r for r in AuditLog.records(path) if r["type"] == "interrupted"]


def blocking_ctrl_c(request: Any) -> Any:
    """A plain function approver (blocking: asked in a thread under a timeout) that is interrupted."""
    raise KeyboardInterrupt


async def async_ctrl_c(request: Any) -> Any:
    raise KeyboardInterrupt


APPROVERS = {
    "scripted (inline)": lambda: ScriptedApprover([ctrl_c]),
    "plain function": lambda: blocking_ctrl_c,
    "async function": lambda: async_ctrl_c,
}


@pytest.mark.parametrize("timeout", [None, 5])
@pytest.mark.parametrize("make", APPROVERS.values(), ids=list(APPROVERS))
def test_sync_call_records_cancelled_and_reraises(path: Path, make: Any, timeout: float | None) -> None:
    ran: list[int] = []
    gate = Gate(approver=make(), audit=AuditLog(path), timeout=timeout)

    @gate.require_approval
    def delete_repo(name: str) -> None:
        ran.append(1)

    with pytest.raises(KeyboardInterrupt):
        delete_repo("prod")
    assert ran == []
    (decision,) = decisions(path)
    assert decision["decision"] == "cancelled" and decision["rule"] == "interrupted"
    assert AuditLog.verify(path)


@pytest.mark.threads
def test_ctrl_c_on_the_main_thread_while_a_timed_approver_thread_waits(path: Path) -> None:
    """The real signal path: SIGINT reaches the main thread in its wait, not the approver's thread."""
    started = threading.Event()

    def slow_person(request: Any) -> Any:
        started.set()
        time.sleep(3)
        return Approve()

    gate = Gate(approver=slow_person, audit=AuditLog(path), timeout=10)
    fn = gate.wrap(lambda name: "ran")
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT)).start()
    begun = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        fn("prod")
    assert time.monotonic() - begun < 2.5 and started.is_set()
    assert decisions(path)[0]["rule"] == "interrupted"


def test_an_agent_loop_that_feeds_errors_to_the_model_stops(path: Path) -> None:
    steps: list[str] = []
    gate = Gate(approver=ScriptedApprover([Reject("not that"), ctrl_c, Approve()]), audit=AuditLog(path))
    tool = gate.wrap(lambda step: f"did {step}")

    def agent() -> None:
        for step in ("one", "two", "three"):
            try:
                steps.append(tool(step))
            except Exception as exc:  # what agent frameworks do: the model reads the error
                steps.append(f"error: {type(exc).__name__}")

    with pytest.raises(KeyboardInterrupt):
        agent()
    assert steps == ["error: ApprovalRejected"]
    assert [d["decision"] for d in decisions(path)] == ["rejected", "cancelled"]


def test_a_dismissed_prompt_is_still_approval_cancelled(path: Path) -> None:
    def dismiss(request: Any) -> Any:
        raise ApprovalCancelled("closed the dialog", feedback="closed")

    gate = Gate(approver=ScriptedApprover([dismiss]), audit=AuditLog(path))
    with pytest.raises(ApprovalCancelled):
        gate.wrap(lambda: None)()
    assert decisions(path)[0]["rule"] == "cancelled"


# -- async ----------------------------------------------------------------------------------------


ASYNC_APPROVERS = {
    "scripted (inline)": lambda: ScriptedApprover([ctrl_c]),
    "plain function (own thread)": lambda: blocking_ctrl_c,
    "async function": lambda: async_ctrl_c,
}


@pytest.mark.parametrize("timeout", [None, 5])
@pytest.mark.parametrize("make", ASYNC_APPROVERS.values(), ids=list(ASYNC_APPROVERS))
def test_async_call_records_cancelled_and_reraises(path: Path, make: Any, timeout: float | None) -> None:
    ran: list[int] = []
    gate = Gate(approver=make(), audit=AuditLog(path), timeout=timeout)

    @gate.require_approval
    async def delete_repo(name: str) -> None:
        ran.append(1)

    async def main() -> str:
        try:
            await delete_repo("prod")
        except KeyboardInterrupt:
            return "interrupted"
        return "went on"

    assert asyncio.run(main()) == "interrupted"
    assert ran == []
    (decision,) = decisions(path)
    assert decision["decision"] == "cancelled" and decision["rule"] == "interrupted"


@pytest.mark.threads
@pytest.mark.parametrize("timeout", [None, 5])
async def test_a_cancelled_task_records_cancelled_and_propagates(path: Path, timeout: float | None) -> None:
    asked = threading.Event()
    release = threading.Event()

    def person(request: Any) -> Any:
        asked.set()
        release.wait(5)
        return Approve()

    ran: list[int] = []
    gate = Gate(approver=person, audit=AuditLog(path), timeout=timeout)

    @gate.require_approval
    async def delete_repo(name: str) -> None:
        ran.append(1)

    task = asyncio.create_task(delete_repo("prod"))
    while not asked.is_set():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    await asyncio.sleep(0.05)  # the late answer arrives: it must change nothing
    assert ran == []
    (decision,) = decisions(path)
    assert decision["decision"] == "cancelled" and decision["rule"] == "task cancelled"


# -- batches: what is not decided stays pending --------------------------------------------------


class InterruptedReview:
    channel = "review"

    def __init__(self) -> None:
        self.interrupt = True

    def __call__(self, request: Any) -> Any:
        return Approve()

    def review(self, requests: list[Any]) -> list[Any]:
        if self.interrupt:
            self.interrupt = False
            raise KeyboardInterrupt
        return [Approve() for _ in requests]


def test_batch_review_interrupted_keeps_every_call_pending(path: Path) -> None:
    sent: list[str] = []
    approver = InterruptedReview()
    batch = Batch(approver=approver, audit=AuditLog(path))
    send = batch.wrap(lambda to: sent.append(to) or f"sent {to}")
    for to in ("a", "b", "c"):
        send(to)
    with pytest.raises(KeyboardInterrupt):
        batch.review_and_execute()
    assert sent == [] and [c.n for c in batch.pending] == [1, 2, 3]
    assert decisions(path) == []  # not cancelled: undecided, still pending
    assert [(d["rule"], d["still_pending"]) for d in interruptions(path)] == [("interrupted", True)] * 3
    assert batch.review_and_execute() == {1: "sent a", 2: "sent b", 3: "sent c"}  # asked again later
    assert [d["decision"] for d in decisions(path)] == ["approved"] * 3
    assert batch.pending == []


def test_batch_one_by_one_interrupted_at_the_second_call(path: Path) -> None:
    sent: list[str] = []
    batch = Batch(approver=ScriptedApprover([Approve(), ctrl_c]), audit=AuditLog(path))
    send = batch.wrap(lambda to: sent.append(to) or f"sent {to}")
    for to in ("a", "b", "c"):
        send(to)
    with pytest.raises(KeyboardInterrupt):
        batch.review_and_execute()
    assert sent == [] and len(batch.pending) == 3  # the first answer was not acted on either


def test_ctrl_c_while_an_approved_call_runs_keeps_the_rest_pending(path: Path) -> None:
    sent: list[str] = []

    def send_email(to: str) -> str:
        if to == "b":
            raise KeyboardInterrupt
        sent.append(to)
        return f"sent {to}"

    batch = Batch(approver=ScriptedApprover(default=Approve()), audit=AuditLog(path))
    send = batch.wrap(send_email)
    for to in ("a", "b", "c"):
        send(to)
    with pytest.raises(KeyboardInterrupt):
        batch.review_and_execute()
    assert sent == ["a"] and batch.results == {1: "sent a"}
    assert [c.n for c in batch.pending] == [3]  # b was running (its outcome says raised), c not decided
    outcomes = [r for r in AuditLog.records(path) if r["type"] == "outcome"]
    assert [o["status"] for o in outcomes] == ["returned", "raised"] and outcomes[1]["error"].startswith("KeyboardInterrupt")


@pytest.mark.threads
async def test_async_batch_review_cancelled_keeps_calls_pending(path: Path) -> None:
    release = threading.Event()

    class SlowReview:
        channel = "review"

        def __call__(self, request: Any) -> Any:
            return Approve()

        def review(self, requests: list[Any]) -> list[Any]:
            release.wait(5)
            return [Approve() for _ in requests]

    batch = Batch(approver=SlowReview(), audit=AuditLog(path))
    send = batch.wrap(lambda to: f"sent {to}")
    send("a")
    send("b")
    task = asyncio.create_task(batch.areview_and_execute())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    assert [c.n for c in batch.pending] == [1, 2]
    assert decisions(path) == []
    assert [d["rule"] for d in interruptions(path)] == ["task cancelled"] * 2
    assert await batch.areview_and_execute() == {1: "sent a", 2: "sent b"}


@pytest.mark.parametrize("how", ["review in a thread", "one by one"])
def test_async_batch_review_interrupted(path: Path, how: str) -> None:
    approver: Any = InterruptedReview() if how == "review in a thread" else blocking_ctrl_c
    batch = Batch(approver=approver, audit=AuditLog(path))

    @batch.require_approval
    async def send(to: str) -> str:
        return f"sent {to}"

    async def main() -> str:
        await send("a")
        await send("b")
        try:
            await batch.areview_and_execute()
        except KeyboardInterrupt:
            return "interrupted"
        return "went on"

    assert asyncio.run(main()) == "interrupted"
    assert [c.n for c in batch.pending] == [1, 2]
    assert decisions(path) == []
    assert [(d["rule"], d["still_pending"]) for d in interruptions(path)] == [("interrupted", True)] * 2
