"""Decisions an approver may give, the exceptions a caller sees, timeouts and grants."""

import asyncio
import importlib
import threading
import time

import pytest

import hitl_widget
from hitl_widget import (
    ApprovalCancelled,
    ApprovalRejected,
    ApprovalTimeout,
    Approve,
    Edit,
    Gate,
    InvalidEdit,
    NoApprovalChannel,
    Reject,
    ScriptedApprover,
)
from hitl_widget.decisions import GENERIC_FEEDBACK, as_decision


@pytest.fixture
def calls():
    return []


@pytest.fixture
def delete_user(calls):
    def delete_user(user_id: int) -> str:
        """Delete a user."""
        calls.append(user_id)
        return f"deleted {user_id}"

    return delete_user


# -- decision values ---------------------------------------------------------------------


def test_decision_values():
    assert Approve().kind == "approve" and Approve().always is None
    assert Edit({"a": 1}).arguments == {"a": 1} and Edit().kind == "edit"
    assert Reject("why").feedback == "why" and Reject().kind == "reject"
    with pytest.raises(ValueError):
        Approve(always="forever")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Edit({}, always="nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Edit(arguments=[("a", 1)])  # type: ignore[arg-type]


def test_as_decision():
    assert as_decision(True) == Approve()
    assert as_decision(False) == Reject(GENERIC_FEEDBACK)
    decision = Edit({"x": 1})
    assert as_decision(decision) is decision
    for bad in (None, 1, 0, "approve", "yes", {"kind": "approve"}, Approve):
        with pytest.raises(TypeError, match="an approver must return"):
            as_decision(bad)


def test_approve(delete_user, calls):
    gate = Gate(approver=ScriptedApprover([Approve()]))
    assert gate.wrap(delete_user)(1) == "deleted 1"
    assert calls == [1]


def test_true_and_false_are_accepted(delete_user, calls):
    gate = Gate(approver=ScriptedApprover([True, False]))
    wrapped = gate.wrap(delete_user)
    assert wrapped(1) == "deleted 1"
    with pytest.raises(ApprovalRejected) as info:
        wrapped(2)
    assert info.value.feedback == GENERIC_FEEDBACK
    assert calls == [1]


def test_plain_callable_approver(delete_user, calls):
    gate = Gate(approver=lambda request: request.arguments["user_id"] < 10)
    wrapped = gate.wrap(delete_user)
    assert wrapped(3) == "deleted 3"
    with pytest.raises(ApprovalRejected):
        wrapped(30)
    assert calls == [3]


def test_edit(delete_user, calls):
    gate = Gate(approver=ScriptedApprover([Edit({"user_id": "124"})]))
    assert gate.wrap(delete_user)(123) == "deleted 124"
    assert calls == [124]


@pytest.mark.parametrize("bad", [None, "approve", 1, {"decision": "approve"}, object()])
def test_bad_approver_return_is_type_error_and_function_not_run(delete_user, calls, bad):
    gate = Gate(approver=lambda request: bad)
    with pytest.raises(TypeError, match="an approver must return"):
        gate.wrap(delete_user)(1)
    assert calls == []


# -- ApprovalRejected --------------------------------------------------------------------------


def test_rejection_message_names_the_call_and_carries_feedback(delete_user, calls):
    gate = Gate(approver=ScriptedApprover([Reject("use archive_user")]))
    with pytest.raises(ApprovalRejected) as info:
        gate.wrap(delete_user)(123)
    error = info.value
    assert str(error) == "delete_user(user_id=123) was rejected by a human reviewer: use archive_user"
    assert error.feedback == "use archive_user"
    assert error.request is not None
    assert error.request.function == "delete_user"
    assert error.request.arguments == {"user_id": 123}
    assert calls == []


def test_rejection_names_the_reviewer_and_handles_no_feedback(delete_user):
    gate = Gate(approver=ScriptedApprover([Reject("no", by="alice"), Reject()]))
    wrapped = gate.wrap(delete_user)
    with pytest.raises(ApprovalRejected, match=r"rejected by a human reviewer \(alice\): no"):
        wrapped(1)
    with pytest.raises(ApprovalRejected) as info:
        wrapped(2)
    assert "delete_user(user_id=2)" in str(info.value)
    assert "No reason was given" in str(info.value)
    assert info.value.feedback == ""


def test_exception_tree():
    assert issubclass(ApprovalRejected, Exception)
    for cls in (ApprovalTimeout, ApprovalCancelled, NoApprovalChannel):
        assert issubclass(cls, ApprovalRejected)
    assert issubclass(InvalidEdit, ValueError)
    assert not issubclass(InvalidEdit, ApprovalRejected)
    error = ApprovalTimeout("m", feedback="f")
    assert error.request is None and error.feedback == "f" and str(error) == "m"


def test_invalid_edit_message_and_problems():
    error = InvalidEdit("f", {"a": "expected int, got 'x'", "b": "no such parameter"})
    assert error.function == "f"
    assert error.problems == {"a": "expected int, got 'x'", "b": "no such parameter"}
    assert str(error) == "invalid edit of f(): a: expected int, got 'x'; b: no such parameter"


# -- timeouts ----------------------------------------------------------------------------------


@pytest.mark.threads
def test_slow_sync_approver_times_out_fast_and_fails_closed(delete_user, calls):
    def slow(request):
        time.sleep(3)
        return Approve()

    gate = Gate(approver=slow, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(ApprovalTimeout) as info:
        gate.wrap(delete_user)(5)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5
    assert "delete_user(user_id=5)" in str(info.value)
    assert "0.2 s" in str(info.value)
    assert info.value.request.arguments == {"user_id": 5}
    assert isinstance(info.value, ApprovalRejected)
    assert calls == []


@pytest.mark.threads
def test_timeout_per_function_overrides_gate(delete_user, calls):
    release = threading.Event()

    def slow(request):
        release.wait(5)
        return Approve()

    gate = Gate(approver=slow)
    try:
        with pytest.raises(ApprovalTimeout):
            gate.wrap(delete_user, timeout=0.1)(1)
    finally:
        release.set()
    time.sleep(0.05)  # the late answer arrives after the timeout: it must not run the call
    assert calls == []


@pytest.mark.threads
def test_on_timeout_approve_runs_the_function(delete_user, calls):
    release = threading.Event()

    def slow(request):
        release.wait(5)
        return Reject("too late")

    gate = Gate(approver=slow, timeout=0.1, on_timeout="approve")
    started = time.monotonic()
    try:
        assert gate.wrap(delete_user)(9) == "deleted 9"
    finally:
        release.set()
    assert time.monotonic() - started < 1.5
    assert calls == [9]


@pytest.mark.threads
def test_fast_approver_within_timeout(delete_user, calls):
    gate = Gate(approver=ScriptedApprover([Approve()]), timeout=5)
    assert gate.wrap(delete_user)(2) == "deleted 2"


async def test_async_approver_timeout_on_async_function(calls):
    async def slow(request):
        await asyncio.sleep(5)
        return Approve()

    async def act(x: int) -> int:
        calls.append(x)
        return x

    gate = Gate(approver=slow, timeout=0.1)
    started = time.monotonic()
    with pytest.raises(ApprovalTimeout):
        await gate.wrap(act)(1)
    assert time.monotonic() - started < 1.5
    assert calls == []


@pytest.mark.threads
def test_async_approver_timeout_on_sync_function(delete_user, calls):
    async def slow(request):
        await asyncio.sleep(5)
        return Approve()

    gate = Gate(approver=slow, timeout=0.1)
    started = time.monotonic()
    with pytest.raises(ApprovalTimeout):
        gate.wrap(delete_user)(1)
    assert time.monotonic() - started < 1.5
    assert calls == []


@pytest.mark.threads
async def test_sync_slow_approver_timeout_on_async_function(calls):
    release = threading.Event()

    def slow(request):
        release.wait(5)
        return Approve()

    async def act(x: int) -> int:
        calls.append(x)
        return x

    gate = Gate(approver=slow, timeout=0.1, on_timeout="reject")
    started = time.monotonic()
    try:
        with pytest.raises(ApprovalTimeout):
            await gate.wrap(act)(1)
    finally:
        release.set()
    assert time.monotonic() - started < 1.5
    assert calls == []


async def test_async_on_timeout_approve(calls):
    async def slow(request):
        await asyncio.sleep(5)

    async def act(x: int) -> int:
        calls.append(x)
        return x

    gate = Gate(approver=slow, timeout=0.05, on_timeout="approve")
    assert await gate.wrap(act)(4) == 4
    assert calls == [4]


@pytest.mark.parametrize(
    "kwargs", [{"timeout": 0}, {"timeout": -1}, {"timeout": "5"}, {"on_timeout": "ignore"}, {"risk": "huge"}]
)
def test_bad_options_are_rejected(kwargs):
    with pytest.raises(ValueError):
        Gate(**kwargs)


# -- approver errors ---------------------------------------------------------------------------


def test_approver_exception_propagates_and_function_not_run(delete_user, calls):
    def broken(request):
        raise RuntimeError("channel down")

    gate = Gate(approver=broken)
    with pytest.raises(RuntimeError, match="channel down"):
        gate.wrap(delete_user)(1)
    assert calls == []


@pytest.mark.threads
def test_approver_exception_propagates_with_timeout(delete_user, calls):
    def broken(request):
        raise ConnectionError("gone")

    gate = Gate(approver=broken, timeout=2)
    with pytest.raises(ConnectionError, match="gone"):
        gate.wrap(delete_user)(1)
    assert calls == []


async def test_async_approver_exception_propagates(calls):
    async def broken(request):
        raise RuntimeError("async channel down")

    async def act() -> None:
        calls.append(1)

    with pytest.raises(RuntimeError, match="async channel down"):
        await Gate(approver=broken).wrap(act)()
    assert calls == []


def test_scripted_approver_out_of_answers_raises_lookup_error(delete_user, calls):
    approver = ScriptedApprover([Approve()])
    wrapped = Gate(approver=approver).wrap(delete_user)
    wrapped(1)
    with pytest.raises(LookupError, match="no answer left"):
        wrapped(2)
    assert calls == [1]
    assert approver.remaining == 0
    assert [r.arguments["user_id"] for r in approver.requests] == [1, 2]


def test_approver_cancel_is_a_rejection(delete_user, calls):
    def cancel(request):
        raise ApprovalCancelled("dismissed", feedback="closed the dialog")

    with pytest.raises(ApprovalCancelled, match="cancelled") as info:
        Gate(approver=cancel).wrap(delete_user)(1)
    assert info.value.feedback == "closed the dialog"
    assert calls == []


# -- "approve always" grants ---------------------------------------------------------------------


def test_always_function_grant(delete_user, calls):
    approver = ScriptedApprover([Approve(always="function")])
    gate = Gate(approver=approver)
    wrapped = gate.wrap(delete_user)
    assert [wrapped(i) for i in (1, 2, 3)] == ["deleted 1", "deleted 2", "deleted 3"]
    assert len(approver.requests) == 1
    assert calls == [1, 2, 3]


def test_always_function_grant_is_per_function(delete_user):
    def other(x: int) -> int:
        return x

    approver = ScriptedApprover([Approve(always="function"), Reject("no")])
    gate = Gate(approver=approver)
    gate.wrap(delete_user)(1)
    with pytest.raises(ApprovalRejected):
        gate.wrap(other)(1)
    assert len(approver.requests) == 2


def test_always_grant_covers_only_the_stand_in_it_was_given_for(delete_user):
    approver = ScriptedApprover([Approve(always="function"), Reject("another stand-in")])
    gate = Gate(approver=approver)
    first = gate.wrap(delete_user)
    first(1)
    first(2)
    assert len(approver.requests) == 1
    # wrapping the same function again makes another stand-in, with its own grants
    with pytest.raises(ApprovalRejected, match="another stand-in"):
        gate.wrap(delete_user)(3)
    # a separate gate keeps its own grants
    other = ScriptedApprover([Reject("separate")])
    with pytest.raises(ApprovalRejected):
        Gate(approver=other).wrap(delete_user)(3)


def test_always_arguments_grant(delete_user, calls):
    approver = ScriptedApprover([Approve(always="arguments"), Reject("different user")])
    gate = Gate(approver=approver)
    wrapped = gate.wrap(delete_user)
    wrapped(7)
    wrapped(7)
    wrapped(user_id=7)
    assert len(approver.requests) == 1
    with pytest.raises(ApprovalRejected, match="different user"):
        wrapped(8)
    assert len(approver.requests) == 2
    assert calls == [7, 7, 7]


def test_edit_with_always_arguments_grants_the_edited_arguments(delete_user, calls):
    approver = ScriptedApprover([Edit({"user_id": 2}, always="arguments"), Reject("asked")])
    wrapped = Gate(approver=approver).wrap(delete_user)
    wrapped(1)
    wrapped(2)  # the edited arguments were granted
    assert calls == [2, 2]
    assert len(approver.requests) == 1


def test_rejected_call_grants_nothing(delete_user):
    approver = ScriptedApprover([Reject("no"), Approve()])
    wrapped = Gate(approver=approver).wrap(delete_user)
    with pytest.raises(ApprovalRejected):
        wrapped(1)
    wrapped(1)
    assert len(approver.requests) == 2


def test_revoke_always(delete_user, calls):
    approver = ScriptedApprover([Approve(always="function"), Approve(always="arguments"), Reject("revoked")])
    gate = Gate(approver=approver)
    wrapped = gate.wrap(delete_user)
    wrapped(1)
    wrapped(2)
    assert len(approver.requests) == 1
    gate.revoke_always()
    wrapped(3)  # asked again: grants "arguments" for user 3
    wrapped(3)
    assert len(approver.requests) == 2
    gate.revoke_always()
    with pytest.raises(ApprovalRejected, match="revoked"):
        wrapped(3)
    assert calls == [1, 2, 3, 3]


async def test_always_grant_for_async_function():
    approver = ScriptedApprover([Approve(always="function")])

    async def act(x: int) -> int:
        return x

    wrapped = Gate(approver=approver).wrap(act)
    assert [await wrapped(i) for i in range(3)] == [0, 1, 2]
    assert len(approver.requests) == 1


# -- public names --------------------------------------------------------------------------------


def test_all_is_sorted_and_every_name_imports():
    names = hitl_widget.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))
    module = importlib.import_module("hitl_widget")
    for name in names:
        assert getattr(module, name) is not None
    namespace: dict = {}
    exec(f"from hitl_widget import {', '.join(names)}", namespace)
    assert set(names) <= set(namespace)


def test_contract_names_are_exported():
    contract = {
        "require_approval", "Gate", "ApprovalRequest", "Approve", "Edit", "Reject",
        "ApprovalRejected", "ApprovalTimeout", "InvalidEdit", "ScriptedApprover", "Batch", "AuditLog",
    }  # fmt: skip
    assert contract <= set(hitl_widget.__all__)
