"""Async callers: abandoned approvers never starve later calls, and batches run on the caller's loop."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any

import pytest

from hitl_widget import (
    ApprovalTimeout,
    Approve,
    AutoApprove,
    AutoReject,
    Batch,
    Edit,
    Gate,
    Reject,
    ScriptedApprover,
)


@pytest.fixture(autouse=True)
def _no_env_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITL_MODE", raising=False)


# -- timed-out approvers -------------------------------------------------------------------------


@pytest.mark.threads
def test_twenty_timed_out_approvers_then_the_next_is_asked_and_the_loop_exits_promptly() -> None:
    """More abandoned approvers than the default executor has workers (cpus + 4)."""
    release = threading.Event()
    asked: list[int] = []

    def person(request: Any) -> Any:
        n = request.arguments["n"]
        asked.append(n)
        if n < 20:
            release.wait(5)  # a person who never answers in time
        return Approve()

    gate = Gate(approver=person, timeout=0.3)

    @gate.require_approval
    async def tool(n: int) -> int:
        return n

    finished: list[float] = []

    async def main() -> Any:
        timed_out = await asyncio.gather(*(tool(n) for n in range(20)), return_exceptions=True)
        assert all(isinstance(r, ApprovalTimeout) for r in timed_out)
        result = await tool(20)
        finished.append(time.monotonic())
        return result

    try:
        assert asyncio.run(main()) == 20
        exit_seconds = time.monotonic() - finished[0]
    finally:
        release.set()
    assert sorted(asked) == list(range(21))  # the 21st approver was called, and decided
    assert exit_seconds < 1.0, f"asyncio.run waited {exit_seconds:.1f} s on exit for abandoned approvers"


@pytest.mark.threads
async def test_a_late_answer_after_the_loop_moved_on_changes_nothing() -> None:
    release = threading.Event()
    ran: list[int] = []

    def person(request: Any) -> Any:
        release.wait(5)
        return Approve()

    gate = Gate(approver=person, timeout=0.1)

    @gate.require_approval
    async def tool() -> None:
        ran.append(1)

    with pytest.raises(ApprovalTimeout):
        await tool()
    release.set()
    await asyncio.sleep(0.05)
    assert ran == []


# -- approvers that cannot block are called inline ------------------------------------------------


def thread_counting_approver(decision: Any) -> Any:
    def approve(request: Any) -> Any:
        approve.threads.append(threading.get_ident())  # type: ignore[attr-defined]
        return decision

    approve.threads = []  # type: ignore[attr-defined]
    return approve


@pytest.mark.parametrize("timeout", [None, 30])
async def test_non_blocking_approvers_are_called_on_the_loops_thread(timeout: float | None) -> None:
    here = threading.get_ident()
    seen: list[int] = []

    def record(request: Any) -> Any:
        seen.append(threading.get_ident())
        return Approve()

    for approver, expected in (
        (ScriptedApprover([record]), 1),
        (AutoApprove(), 1),
        (AutoReject("no"), "rejected"),
    ):
        gate = Gate(approver=approver, timeout=timeout)

        @gate.require_approval
        async def tool() -> int:
            return 1

        before = threading.active_count()
        try:
            assert await tool() == expected
        except Exception as exc:
            assert expected == "rejected" and "no" in str(exc)
        assert threading.active_count() == before  # no thread was started
    assert seen == [here]


@pytest.mark.parametrize("timeout", [None, 30])
def test_non_blocking_approvers_are_called_inline_from_sync_code_under_a_timeout(timeout: float | None) -> None:
    seen: list[int] = []
    gate = Gate(approver=ScriptedApprover([lambda r: seen.append(threading.get_ident()) or Approve()]), timeout=timeout)
    assert gate.wrap(lambda: "ok")() == "ok"
    assert seen == [threading.get_ident()]


async def test_a_users_approver_can_say_it_does_not_block() -> None:
    approver = thread_counting_approver(Approve())
    approver.blocking = False  # type: ignore[attr-defined]
    gate = Gate(approver=approver, timeout=5)

    @gate.require_approval
    async def tool() -> str:
        return "ok"

    assert await tool() == "ok"
    assert approver.threads == [threading.get_ident()]  # type: ignore[attr-defined]


@pytest.mark.threads
async def test_blocking_sync_approvers_run_in_their_own_threads_not_the_default_executor() -> None:
    approver = thread_counting_approver(Approve())
    gate = Gate(approver=approver)

    @gate.require_approval
    async def tool() -> str:
        return "ok"

    assert await tool() == "ok"
    (thread_id,) = approver.threads  # type: ignore[attr-defined]
    assert thread_id != threading.get_ident()


# -- batches on the caller's loop -----------------------------------------------------------------


class LoopBoundConnection:
    """Like an asyncio database driver: its futures belong to the loop it was opened on."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.lock = asyncio.Lock()

    async def query(self, sql: str) -> str:
        async with self.lock:
            reply = self.loop.create_future()
            self.loop.call_later(0.01, reply.set_result, f"rows for {sql}")
            return str(await reply)  # from another loop: "attached to a different loop"


class SlowPerson:
    """A blocking approver with a review table: decides after ``seconds``."""

    channel = "slow"

    def __init__(self, seconds: float, decisions: list[Any]) -> None:
        self.seconds = seconds
        self.decisions = decisions
        self.threads: list[int] = []

    def __call__(self, request: Any) -> Any:
        raise AssertionError("the batch asks review()")

    def review(self, requests: list[Any]) -> list[Any]:
        self.threads.append(threading.get_ident())
        time.sleep(self.seconds)
        return self.decisions[: len(requests)]


@pytest.mark.threads
async def test_areview_runs_async_tools_on_the_callers_loop_and_keeps_it_running() -> None:
    conn = LoopBoundConnection()
    person = SlowPerson(0.3, [Approve(), Edit({"sql": "select 2"}), Reject("not that table")])
    batch = Batch(approver=person)

    @batch.require_approval
    async def run_sql(sql: str) -> str:
        return await conn.query(sql)

    for sql in ("select 1", "select 1 again", "drop table users"):
        assert (await run_sql(sql)).startswith("PENDING_APPROVAL_")

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        results = await batch.areview_and_execute()
    finally:
        ticking.cancel()
    assert results == {1: "rows for select 1", 2: "rows for select 2", 3: "REJECTED: not that table"}
    assert ticks >= 10, f"the loop ran only {ticks} ticks during a 0.3 s review"
    assert person.threads and person.threads[0] != threading.get_ident()


@pytest.mark.threads
async def test_the_sync_review_inside_a_loop_cannot_use_the_callers_connection() -> None:
    """Why areview exists: the sync review runs coroutines in a fresh loop."""
    conn = LoopBoundConnection()
    batch = Batch(approver=ScriptedApprover([Approve()]))

    @batch.require_approval
    async def run_sql(sql: str) -> str:
        return await conn.query(sql)

    await run_sql("select 1")
    (result,) = batch.review_and_execute().values()
    assert result.startswith("ERROR: ") and "loop" in result


async def test_wait_for_approvals_async_is_a_tool_for_an_async_agent() -> None:
    conn = LoopBoundConnection()
    batch = Batch(approver=ScriptedApprover([Approve(), Approve()]))
    tool = batch.wait_for_approvals_async
    assert tool.__name__ == "wait_for_approvals" and inspect.iscoroutinefunction(tool)
    assert "PENDING_APPROVAL_n" in (tool.__doc__ or "") and "REJECTED" in (tool.__doc__ or "")
    assert inspect.signature(tool).parameters == {}

    @batch.require_approval
    async def run_sql(sql: str) -> str:
        return await conn.query(sql)

    @batch.require_approval
    def note(text: str) -> str:
        return f"noted {text}"

    await run_sql("select 1")
    note("hello")
    assert await tool() == {1: "rows for select 1", 2: "noted hello"}


async def test_areview_awaits_an_approvers_areview_and_decisions_given() -> None:
    class CardTable:
        channel = "card"
        blocking = True

        def __init__(self) -> None:
            self.loops: list[Any] = []

        def __call__(self, request: Any) -> Any:
            raise AssertionError("areview is used")

        async def areview(self, requests: list[Any]) -> list[Any]:
            self.loops.append(asyncio.get_running_loop())
            await asyncio.sleep(0.01)
            return [Approve() for _ in requests]

    table = CardTable()
    batch = Batch(approver=table)
    send = batch.wrap(lambda to: f"sent {to}")
    send("a")
    send("b")
    send("c")
    assert await batch.areview_and_execute({2: Reject("not b")}) == {2: "REJECTED: not b", 1: "sent a", 3: "sent c"}
    assert table.loops == [asyncio.get_running_loop()]


async def test_areview_one_by_one_with_async_and_sync_approvers() -> None:
    async def async_person(request: Any) -> Any:
        await asyncio.sleep(0.01)
        return Approve()

    for approver in (async_person, thread_counting_approver(Approve()), ScriptedApprover(default=Approve())):
        batch = Batch(approver=approver, timeout=5)
        send = batch.wrap(lambda to: f"sent {to}")
        send("a")
        send("b")
        assert await batch.areview_and_execute() == {1: "sent a", 2: "sent b"}


@pytest.mark.threads
async def test_two_reviews_at_once_on_one_loop_do_not_deadlock() -> None:
    person = SlowPerson(0.1, [Approve(), Approve()])
    batch = Batch(approver=person)
    send = batch.wrap(lambda to: f"sent {to}")
    send("a")
    send("b")
    first, second = await asyncio.wait_for(asyncio.gather(batch.areview_and_execute(), batch.areview_and_execute()), 5)
    assert {**first, **second} == {1: "sent a", 2: "sent b"}


async def test_without_threads_a_blocking_approver_is_called_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pyodide cannot start threads: the approver is then called on the loop's thread, not refused."""

    def no_threads(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    approver = thread_counting_approver(Approve())
    gate = Gate(approver=approver, timeout=5)

    @gate.require_approval
    async def tool() -> str:
        return "ok"

    monkeypatch.setattr(threading.Thread, "start", no_threads)
    assert await tool() == "ok"
    assert approver.threads == [threading.get_ident()]  # type: ignore[attr-defined]
