"""What the gate remembers between calls (per approver, per class), and what it reads at every call.

Kept per approver object: whether it is async. Per approver class: whether its instances can have
run hooks. Read at each call: HITL_MODE, grants, an instance's own run hooks. Also: a sync tool
called in a worker thread (as the agent SDKs run them) with an async approver runs on that
thread's loop with the caller's context, and tasks the approver leaves behind are cancelled.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import os
import threading
import weakref
from typing import Any
from unittest import mock

import pytest

from hitl_widget import ApprovalRejected, ApprovalRequest, Approve, Gate, ScriptedApprover
from hitl_widget import gate as gate_module
from hitl_widget.policy import env_mode


def refund(order_id: str, amount: float = 10.0) -> str:
    return f"refunded {amount:g} on {order_id}"


# -- HITL_MODE: read at every call ----------------------------------------------------------


def test_hitl_mode_is_read_at_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITL_MODE", raising=False)
    approver = ScriptedApprover(default=Approve())
    f = Gate(approver=approver).wrap(refund)
    assert f("A-1") == "refunded 10 on A-1" and len(approver.requests) == 1
    os.environ["HITL_MODE"] = "reject"
    try:
        with pytest.raises(ApprovalRejected, match="HITL_MODE=reject"):
            f("A-2")
        os.environ["HITL_MODE"] = " Approve "
        assert f("A-3") == "refunded 10 on A-3"
        assert len(approver.requests) == 1  # approved by the mode, nobody asked
    finally:
        del os.environ["HITL_MODE"]
    assert f("A-4") == "refunded 10 on A-4" and len(approver.requests) == 2
    with mock.patch.dict(os.environ, {"HITL_MODE": "reject"}), pytest.raises(ApprovalRejected):
        f("A-5")
    monkeypatch.setenv("HITL_MODE", "nonsense")
    assert env_mode() == "reject"  # unknown values fail closed
    monkeypatch.setenv("HITL_MODE", "")
    assert env_mode() == "ask"


def test_hitl_mode_is_read_from_whatever_stands_for_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "environ", {"HITL_MODE": "approve"})
    assert env_mode() == "approve"
    os.environ["HITL_MODE"] = "reject"
    assert env_mode() == "reject"
    del os.environ["HITL_MODE"]
    assert env_mode() == "ask"


# -- async-ness: once per approver object ---------------------------------------------------


class AsyncApprover:
    async def __call__(self, request: ApprovalRequest) -> Any:
        return Approve()


class SyncApprover:
    blocking = False

    def __call__(self, request: ApprovalRequest) -> Any:
        return Approve()


class NoWeakrefAsync:
    __slots__ = ()

    async def __call__(self, request: ApprovalRequest) -> Any:
        return Approve()


def test_async_ness_is_remembered_per_object_and_forgotten_with_it() -> None:
    a = AsyncApprover()
    assert gate_module._is_async_approver(a) is True
    assert id(a) in gate_module._async_kinds
    key = id(a)
    del a
    gc.collect()
    assert key not in gate_module._async_kinds  # gone with the object: a new one at that id is looked at afresh
    s = SyncApprover()
    assert gate_module._is_async_approver(s) is False
    assert gate_module._is_async_approver(s) is False


def test_an_object_reusing_a_dead_approvers_id_is_looked_at_afresh() -> None:
    # an entry whose weak reference is dead (or names another object) is never trusted
    s = SyncApprover()
    other = AsyncApprover()

    gate_module._async_kinds[id(s)] = (weakref.ref(other), True)
    try:
        assert gate_module._is_async_approver(s) is False
    finally:
        gate_module._async_kinds.pop(id(s), None)


def test_approvers_that_cannot_be_referenced_weakly_are_looked_at_every_time() -> None:
    approver = NoWeakrefAsync()
    assert gate_module._is_async_approver(approver) is True
    assert id(approver) not in gate_module._async_kinds
    f = Gate(approver=approver).wrap(refund)
    assert f("A-1") == "refunded 10 on A-1"

    async def plain(request: ApprovalRequest) -> Any:
        return Approve()

    assert gate_module._is_async_approver(plain) is True
    assert gate_module._is_async_approver(lambda r: Approve()) is False


# -- run hooks: by class, and an instance's own ------------------------------------------


def test_a_run_hook_set_on_an_instance_of_a_class_without_hooks_is_called() -> None:
    approver = SyncApprover()
    f = Gate(approver=approver).wrap(refund)
    assert f("A-1") == "refunded 10 on A-1"  # the class is now known to have no hooks
    seen: list[str] = []
    approver.before_run = lambda request, resolution: seen.append(request.function)  # type: ignore[attr-defined]
    assert f("A-2") == "refunded 10 on A-2"
    assert seen == ["refund"]


def test_hooks_of_a_class_that_computes_its_attributes_are_looked_up() -> None:
    seen: list[str] = []

    class Dynamic:
        blocking = False

        def __call__(self, request: ApprovalRequest) -> Any:
            return Approve()

        def __getattr__(self, name: str) -> Any:
            if name == "after_run":
                return lambda request, outcome: seen.append(outcome["status"])
            raise AttributeError(name)

    f = Gate(approver=Dynamic()).wrap(refund)
    assert f("A-1") == "refunded 10 on A-1"
    assert seen == ["succeeded"]


# -- grants: after revoke_always nothing is left ----------------------------------------------


def test_grants_are_seen_after_a_first_grant_and_gone_after_revoke() -> None:
    approver = ScriptedApprover([Approve(always="function")], default=Approve())
    gate = Gate(approver=approver)
    f = gate.wrap(refund)
    f("A-1")
    f("A-2")
    assert len(approver.requests) == 1  # the grant covered the second call
    gate.revoke_always()
    f("A-3")
    assert len(approver.requests) == 2


# -- a sync tool in a worker thread, an async approver ------------------------------------------

who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


@pytest.mark.threads
def test_worker_thread_runs_async_approver_in_the_callers_context_and_cancels_leftovers() -> None:
    seen: list[str] = []
    left: list[asyncio.Task[None]] = []
    loops: list[asyncio.AbstractEventLoop] = []

    async def approver(request: ApprovalRequest) -> Any:
        await asyncio.sleep(0)
        seen.append(who.get())
        loops.append(asyncio.get_running_loop())
        left.append(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))
        return Approve()

    f = Gate(approver=approver).wrap(refund)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for name in ("ann", "bob"):
                token = who.set(name)
                try:
                    f(name)
                finally:
                    who.reset(token)
            with pytest.raises(RuntimeError):
                asyncio.get_running_loop()  # no loop left running in the thread
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert not errors
    assert seen == ["ann", "bob"]
    assert loops[0] is loops[1]  # the thread's loop, reused
    assert all(task.cancelled() for task in left)


@pytest.mark.threads
def test_leftovers_are_cancelled_when_the_approver_sets_its_own_task_factory() -> None:
    left: list[asyncio.Task[None]] = []

    async def approver(request: ApprovalRequest) -> Any:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(lambda loop, coro, **kwargs: asyncio.Task(coro, loop=loop, **kwargs))
        left.append(loop.create_task(asyncio.sleep(3600)))
        return Approve()

    f = Gate(approver=approver).wrap(refund)
    box: list[str] = []
    thread = threading.Thread(target=lambda: box.append(f("A-1")))
    thread.start()
    thread.join()
    assert box == ["refunded 10 on A-1"]
    assert left[0].cancelled()


@pytest.mark.threads
def test_tasks_of_other_loops_are_left_alone() -> None:
    async def approver(request: ApprovalRequest) -> Any:
        return Approve()

    f = Gate(approver=approver).wrap(refund)

    async def main() -> None:
        other = asyncio.get_running_loop().create_task(asyncio.sleep(3600))
        assert await asyncio.to_thread(f, "A-1") == "refunded 10 on A-1"
        assert not other.done()
        other.cancel()

    asyncio.run(main())
