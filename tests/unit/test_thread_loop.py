"""A sync tool with an async approver: one event loop per thread, reused, behaving as asyncio.run did."""

import asyncio
import contextvars
import gc
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from hitl_widget import ApprovalTimeout, Approve, AuditLog, Gate, Reject

pytestmark = pytest.mark.threads

who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


class LoopRecorder:
    """An async approver that notes the loop and the context variable it ran with."""

    def __init__(self, answer: Any = None) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.who: list[str] = []
        self.answer = answer or Approve()

    async def __call__(self, request: Any) -> Any:
        await asyncio.sleep(0)
        self.loops.append(asyncio.get_running_loop())
        self.who.append(who.get())
        return self.answer


def test_one_loop_per_thread_is_reused() -> None:
    approver = LoopRecorder()
    f = Gate(approver=approver).wrap(lambda x: x)
    assert [f(i) for i in range(5)] == list(range(5))
    assert len({id(loop) for loop in approver.loops}) == 1
    assert not approver.loops[0].is_closed()

    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(f(9)))
    thread.start()
    thread.join()
    assert other == [9]
    assert approver.loops[-1] is not approver.loops[0]  # each thread has its own


def test_a_threads_loop_is_closed_when_the_thread_ends() -> None:
    approver = LoopRecorder()
    f = Gate(approver=approver).wrap(lambda x: x)
    thread = threading.Thread(target=lambda: f(1))
    thread.start()
    thread.join()
    loop = approver.loops[0]
    approver.loops.clear()
    del thread
    gc.collect()
    assert loop.is_closed()


def test_no_current_event_loop_is_set_for_the_thread() -> None:
    """Like asyncio.run, the thread has no current loop afterwards (get_event_loop does not return ours)."""
    approver = LoopRecorder()
    f = Gate(approver=approver).wrap(lambda x: x)
    result: list[Any] = []

    def body() -> None:
        f(1)
        policy = asyncio.get_event_loop_policy()
        result.append(policy._local._loop)  # type: ignore[attr-defined]

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert result == [None]


def test_each_request_runs_in_the_callers_context() -> None:
    approver = LoopRecorder()
    f = Gate(approver=approver).wrap(lambda x: x)
    for name in ("ann", "bob"):
        token = who.set(name)
        try:
            f(name)
        finally:
            who.reset(token)
    f("none")
    assert approver.who == ["ann", "bob", "nobody"]


def test_tasks_an_approver_leaves_behind_are_cancelled() -> None:
    started: list[asyncio.Task[None]] = []

    async def approver(request: Any) -> Any:
        started.append(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))
        return Approve()

    f = Gate(approver=approver).wrap(lambda x: x)
    assert f(1) == 1
    assert started[0].cancelled()
    assert f(2) == 2  # the loop still serves the next request
    assert started[1].cancelled()


def test_timeouts_still_hold_on_the_reused_loop() -> None:
    async def slow(request: Any) -> Any:
        await asyncio.sleep(5)
        return Approve()

    f = Gate(approver=slow, timeout=0.05).wrap(lambda x: x)
    for _ in range(3):
        with pytest.raises(ApprovalTimeout):
            f(1)


def test_a_real_sigint_records_cancelled_and_the_loop_serves_the_next_call(tmp_path: Path) -> None:
    """Ctrl-C while an async approver waits: the task is cancelled, KeyboardInterrupt raised, the call recorded."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("needs the main thread with Python's own SIGINT handler")
    path = tmp_path / "a.jsonl"
    waiting = threading.Event()

    class Waits:
        async def __call__(self, request: Any) -> Any:
            if request.arguments["x"] == "wait":
                waiting.set()
                await asyncio.sleep(30)
            return Reject("no")

    f = Gate(approver=Waits(), audit=AuditLog(path)).wrap(lambda x: x)
    timer = threading.Thread(target=lambda: waiting.wait(5) and os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        f("wait")
    timer.join()
    decisions = [json.loads(line) for line in path.read_text().splitlines() if '"type":"decision"' in line]
    assert decisions[-1]["decision"] == "cancelled" and decisions[-1]["rule"] == "interrupted"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    with pytest.raises(Exception, match="no"):
        f("next")
