"""Concurrent calls each get their own request and their own decision: no cross-talk."""

import asyncio
import contextvars
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hitl_widget import ApprovalRejected, Approve, Edit, Gate, Reject, ScriptedApprover

N = 60
caller = contextvars.ContextVar("caller", default=None)


@pytest.fixture(autouse=True)
def no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


def decide(request):
    """Answers by the request's own arguments, after a small random pause to interleave."""
    time.sleep(random.uniform(0, 0.002))
    i = request.arguments["i"]
    if i % 3 == 0:
        return Reject(f"reject {i}")
    if i % 3 == 1:
        return Edit({"tag": f"edited-{i}"})
    return Approve()


async def decide_async(request):
    await asyncio.sleep(random.uniform(0, 0.002))
    return decide(request)


def expected(i: int):
    if i % 3 == 0:
        return ("rejected", f"reject {i}")
    if i % 3 == 1:
        return ("ran", (i, f"edited-{i}"))
    return ("ran", (i, f"tag-{i}"))


def outcome(call):
    try:
        return ("ran", call())
    except ApprovalRejected as exc:
        return ("rejected", exc.feedback, exc.request.arguments["i"])


def check(results, approver: ScriptedApprover):
    for i, result in enumerate(results):
        if result[0] == "rejected":
            assert result[1:] == (f"reject {i}", i)
        else:
            assert result == expected(i)
    requests = approver.requests
    assert len(requests) == N
    assert len({r.id for r in requests}) == N
    assert sorted(r.arguments["i"] for r in requests) == list(range(N))
    for r in requests:
        assert r.arguments["tag"] == f"tag-{r.arguments['i']}"  # the request itself is never edited


@pytest.mark.parametrize("timeout", [None, 10])
@pytest.mark.threads
def test_threads_get_their_own_decisions(timeout):
    approver = ScriptedApprover(default=decide)
    ran = []
    lock = threading.Lock()

    def act(i: int, tag: str) -> tuple[int, str]:
        time.sleep(random.uniform(0, 0.001))
        with lock:
            ran.append(i)
        return (i, tag)

    wrapped = Gate(approver=approver, timeout=timeout).wrap(act)
    barrier = threading.Barrier(20)

    def call(i: int):
        if i < 20:
            barrier.wait()
        return outcome(lambda: wrapped(i, tag=f"tag-{i}"))

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(call, range(N)))
    check(results, approver)
    assert sorted(ran) == [i for i in range(N) if i % 3 != 0]


@pytest.mark.parametrize("timeout", [None, 10])
async def test_asyncio_gather_gets_its_own_decisions(timeout):
    approver = ScriptedApprover(default=decide)
    ran = []

    async def act(i: int, tag: str) -> tuple[int, str]:
        await asyncio.sleep(random.uniform(0, 0.001))
        ran.append(i)
        return (i, tag)

    wrapped = Gate(approver=approver, timeout=timeout).wrap(act)

    async def call(i: int):
        try:
            return ("ran", await wrapped(i, tag=f"tag-{i}"))
        except ApprovalRejected as exc:
            return ("rejected", exc.feedback, exc.request.arguments["i"])

    results = await asyncio.gather(*(call(i) for i in range(N)))
    check(results, approver)
    assert sorted(ran) == [i for i in range(N) if i % 3 != 0]


async def test_asyncio_gather_with_async_approver():
    requests = []

    async def approver(request):
        requests.append(request)
        return await decide_async(request)

    async def act(i: int, tag: str) -> tuple[int, str]:
        await asyncio.sleep(0)
        return (i, tag)

    wrapped = Gate(approver=approver, timeout=10).wrap(act)

    async def call(i: int):
        try:
            return ("ran", await wrapped(i, tag=f"tag-{i}"))
        except ApprovalRejected as exc:
            return ("rejected", exc.feedback, exc.request.arguments["i"])

    results = await asyncio.gather(*(call(i) for i in range(N)))
    for i, result in enumerate(results):
        if result[0] == "rejected":
            assert result[1:] == (f"reject {i}", i)
        else:
            assert result == expected(i)
    assert len({r.id for r in requests}) == N


@pytest.mark.threads
def test_threads_with_async_approver_and_sync_function():
    async def approver(request):
        return await decide_async(request)

    def act(i: int, tag: str) -> tuple[int, str]:
        return (i, tag)

    wrapped = Gate(approver=approver).wrap(act)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: outcome(lambda: wrapped(i, tag=f"tag-{i}")), range(30)))
    for i, result in enumerate(results):
        if result[0] == "rejected":
            assert result[1:] == (f"reject {i}", i)
        else:
            assert result == expected(i)


@pytest.mark.parametrize("timeout", [None, 10])
@pytest.mark.threads
def test_approver_sees_the_callers_context(timeout):
    def approver(request):
        time.sleep(random.uniform(0, 0.002))
        return Approve() if caller.get() == request.arguments["i"] else Reject(f"saw {caller.get()}")

    def act(i: int) -> int:
        return i

    wrapped = Gate(approver=approver, timeout=timeout).wrap(act)

    def call(i: int) -> int:
        caller.set(i)
        return wrapped(i)

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(call, range(40))) == list(range(40))


async def test_async_approver_sees_the_tasks_context():
    async def approver(request):
        await asyncio.sleep(random.uniform(0, 0.002))
        return Approve() if caller.get() == request.arguments["i"] else Reject(f"saw {caller.get()}")

    async def act(i: int) -> int:
        return i

    wrapped = Gate(approver=approver).wrap(act)

    async def call(i: int) -> int:
        caller.set(i)
        return await wrapped(i)

    assert await asyncio.gather(*(call(i) for i in range(40))) == list(range(40))


@pytest.mark.threads
def test_always_arguments_grants_under_threads():
    asked = []
    lock = threading.Lock()

    def approver(request):
        with lock:
            asked.append(request.arguments["i"])
        return Approve(always="arguments")

    def act(i: int) -> int:
        return i

    gate = Gate(approver=approver)
    wrapped = gate.wrap(act)
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(wrapped, [i % 5 for i in range(50)]))
    assert set(asked) == set(range(5))
    before = len(asked)
    assert [wrapped(i) for i in range(5)] == list(range(5))
    assert len(asked) == before  # every argument set is granted now


@pytest.mark.threads
def test_mixed_functions_on_one_gate_from_threads():
    approver = ScriptedApprover(default=lambda r: Reject("no") if r.function == "dangerous" else Approve())

    def safe(i: int) -> str:
        return f"safe {i}"

    def dangerous(i: int) -> str:
        return f"dangerous {i}"

    gate = Gate(approver=approver)
    wrapped_safe, wrapped_dangerous = gate.wrap(safe), gate.wrap(dangerous)

    def call(i: int):
        fn = wrapped_safe if i % 2 else wrapped_dangerous
        try:
            return fn(i)
        except ApprovalRejected as exc:
            assert exc.request.function == "dangerous" and exc.request.arguments == {"i": i}
            return None

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, range(64)))
    assert results == [f"safe {i}" if i % 2 else None for i in range(64)]
