"""Batch: calls queue as PENDING_APPROVAL_n placeholders and are reviewed together."""

import asyncio
import inspect
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from hitl_widget import ApprovalRejected, Approve, AutoApprove, Batch, Edit, InvalidEdit, Reject, ScriptedApprover


@pytest.fixture(autouse=True)
def no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


@pytest.fixture
def sent():
    return []


@pytest.fixture
def send_email(sent):
    def send_email(to: str, subject: str = "hi") -> str:
        """Send an email."""
        sent.append((to, subject))
        return f"sent to {to}"

    return send_email


def test_calls_return_numbered_placeholders_and_do_not_run(send_email, sent):
    batch = Batch(approver=ScriptedApprover())
    send = batch.wrap(send_email)
    assert send("a@x") == "PENDING_APPROVAL_1"
    assert send("b@x", subject="yo") == "PENDING_APPROVAL_2"
    assert sent == []
    assert [c.n for c in batch.pending] == [1, 2]
    assert [c.placeholder for c in batch.pending] == ["PENDING_APPROVAL_1", "PENDING_APPROVAL_2"]
    assert batch.pending[1].request.arguments == {"to": "b@x", "subject": "yo"}


def test_wrapped_batch_function_is_a_stand_in(send_email):
    send = Batch(approver=ScriptedApprover()).wrap(send_email)
    assert send.__name__ == "send_email"
    assert send.__doc__ == "Send an email."
    assert inspect.signature(send) == inspect.signature(send_email)


def test_review_and_execute_with_scripted_approver(send_email, sent):
    approver = ScriptedApprover([Approve(), Reject("not this one")])
    batch = Batch(approver=approver)
    send = batch.wrap(send_email)
    send("a@x")
    send("b@x")
    assert batch.review_and_execute() == {1: "sent to a@x", 2: "REJECTED: not this one"}
    assert sent == [("a@x", "hi")]
    assert batch.pending == []
    assert batch.results == {1: "sent to a@x", 2: "REJECTED: not this one"}
    assert [r.arguments["to"] for r in approver.requests] == ["a@x", "b@x"]
    assert batch.review_and_execute() == {}


def test_review_with_edit(send_email, sent):
    batch = Batch(approver=ScriptedApprover([Edit({"to": "c@x"})]))
    batch.wrap(send_email)("a@x")
    assert batch.review_and_execute() == {1: "sent to c@x"}
    assert sent == [("c@x", "hi")]


def test_decisions_mapping(send_email, sent):
    approver = ScriptedApprover([Reject("asked")])
    batch = Batch(approver=approver)
    send = batch.wrap(send_email)
    for to in ("a@x", "b@x", "c@x"):
        send(to)
    results = batch.review_and_execute({1: Approve(), 2: Edit({"subject": "edited"}), 99: Approve()})
    assert results == {1: "sent to a@x", 2: "sent to b@x", 3: "REJECTED: asked"}
    assert sent == [("a@x", "hi"), ("b@x", "edited")]
    assert [r.arguments["to"] for r in approver.requests] == ["c@x"]  # only the undecided call was asked


def test_decisions_mapping_accepts_booleans(send_email, sent):
    batch = Batch(approver=ScriptedApprover())
    send = batch.wrap(send_email)
    send("a@x")
    send("b@x")
    results = batch.review_and_execute({1: True, 2: False})
    assert results[1] == "sent to a@x"
    assert results[2].startswith("REJECTED: ")
    assert sent == [("a@x", "hi")]


def test_approve_all_and_reject_all(send_email, sent):
    approver = ScriptedApprover()
    batch = Batch(approver=approver)
    send = batch.wrap(send_email)
    send("a@x")
    send("b@x")
    assert batch.approve_all() == {1: "sent to a@x", 2: "sent to b@x"}
    send("c@x")
    assert send("d@x") == "PENDING_APPROVAL_4"
    assert batch.reject_all("spam") == {3: "REJECTED: spam", 4: "REJECTED: spam"}
    assert approver.requests == []
    assert [to for to, _ in sent] == ["a@x", "b@x"]
    assert batch.approve_all() == {}


def test_wait_for_approvals(send_email, sent):
    batch = Batch(approver=lambda request: request.arguments["to"].endswith("@ok"))
    send = batch.wrap(send_email)
    send("a@ok")
    send("b@bad")
    results = batch.wait_for_approvals()
    assert results[1] == "sent to a@ok"
    assert results[2].startswith("REJECTED: ")
    assert "PENDING_APPROVAL" in (batch.wait_for_approvals.__doc__ or "")


def test_rejection_without_feedback_says_why(send_email):
    batch = Batch(approver=ScriptedApprover([Reject()]))
    batch.wrap(send_email)("a@x")
    assert batch.review_and_execute() == {1: "REJECTED: rejected by a human reviewer"}


def test_function_error_is_reported_not_raised():
    def broken(x: int) -> None:
        raise RuntimeError("smtp down")

    batch = Batch(approver=ScriptedApprover(default=Approve()))
    batch.wrap(broken)(1)
    assert batch.review_and_execute() == {1: "ERROR: RuntimeError: smtp down"}


@pytest.mark.threads
def test_async_functions_in_a_batch():
    ran = []

    async def notify(user: str) -> str:
        await asyncio.sleep(0)
        ran.append(user)
        return f"notified {user}"

    batch = Batch(approver=ScriptedApprover([Approve(), Reject("no")]))
    wrapped = batch.wrap(notify)
    assert inspect.iscoroutinefunction(wrapped)

    async def agent():
        return [await wrapped("ann"), await wrapped("bob")]

    assert asyncio.run(agent()) == ["PENDING_APPROVAL_1", "PENDING_APPROVAL_2"]
    assert ran == []
    assert batch.review_and_execute() == {1: "notified ann", 2: "REJECTED: no"}
    assert ran == ["ann"]


@pytest.mark.threads
async def test_async_batch_review_inside_a_running_loop():
    async def notify(user: str) -> str:
        return f"notified {user}"

    batch = Batch(approver=ScriptedApprover(default=Approve()))
    wrapped = batch.wrap(notify)
    assert await wrapped("ann") == "PENDING_APPROVAL_1"
    assert batch.review_and_execute() == {1: "notified ann"}


def test_mixed_functions_in_one_batch(send_email):
    def charge(amount: int) -> int:
        return amount * 2

    batch = Batch(approver=ScriptedApprover(default=Approve()))
    batch.wrap(send_email)("a@x")
    batch.wrap(charge)(21)
    assert batch.review_and_execute() == {1: "sent to a@x", 2: 42}


def test_auto_approved_calls_run_at_once(send_email, sent):
    approver = ScriptedApprover()
    batch = Batch(approver=approver)
    send_low = batch.wrap(send_email, risk="low")
    send = batch.wrap(send_email)
    assert send_low("a@x") == "sent to a@x"
    assert send("b@x") == "PENDING_APPROVAL_1"
    assert sent == [("a@x", "hi")]
    assert approver.requests == []


def test_when_false_runs_at_once(send_email, sent):
    batch = Batch(approver=ScriptedApprover(), when=lambda r: r.arguments["to"] != "me@x")
    send = batch.wrap(send_email)
    assert send("me@x") == "sent to me@x"
    assert send("you@x") == "PENDING_APPROVAL_1"


def test_policy_rejection_raises_at_once(monkeypatch, send_email, sent):
    monkeypatch.setenv("HITL_MODE", "reject")
    batch = Batch(approver=ScriptedApprover())
    with pytest.raises(ApprovalRejected):
        batch.wrap(send_email)("a@x")
    assert batch.pending == [] and sent == []


@pytest.mark.threads
def test_placeholders_unique_under_threads(send_email, sent):
    batch = Batch(approver=ScriptedApprover(default=Approve()))
    send = batch.wrap(send_email)
    start = threading.Barrier(20)

    def call(i: int) -> str:
        start.wait()
        return send(f"{i}@x")

    with ThreadPoolExecutor(max_workers=20) as pool:
        placeholders = list(pool.map(call, range(20)))
    assert sorted(placeholders, key=lambda p: int(p.rsplit("_", 1)[1])) == [f"PENDING_APPROVAL_{n}" for n in range(1, 21)]
    ids = [c.request.id for c in batch.pending]
    assert len(set(ids)) == 20
    results = batch.review_and_execute()
    assert set(results) == set(range(1, 21))
    # each number runs the call that received that placeholder
    by_placeholder = dict(zip(placeholders, range(20)))
    for n, result in results.items():
        assert result == f"sent to {by_placeholder[f'PENDING_APPROVAL_{n}']}@x"


@pytest.mark.threads
def test_placeholders_unique_under_asyncio_tasks():
    async def notify(user: int) -> int:
        return user

    batch = Batch(approver=ScriptedApprover(default=Approve()))
    wrapped = batch.wrap(notify)

    async def agent():
        return await asyncio.gather(*(wrapped(i) for i in range(30)))

    placeholders = asyncio.run(agent())
    assert len(set(placeholders)) == 30
    assert {int(p.rsplit("_", 1)[1]) for p in placeholders} == set(range(1, 31))
    results = batch.review_and_execute()
    for placeholder, user in zip(placeholders, range(30)):
        assert results[int(placeholder.rsplit("_", 1)[1])] == user


def test_bad_edit_keeps_that_call_pending_and_others_run(send_email, sent):
    approver = ScriptedApprover([Approve(), Edit({"nope": 1}), Approve()])
    batch = Batch(approver=approver)
    send = batch.wrap(send_email)
    for to in ("a@x", "b@x", "c@x"):
        send(to)
    with pytest.raises(InvalidEdit) as info:
        batch.review_and_execute()
    assert "PENDING_APPROVAL_2" in str(info.value)
    assert [to for to, _ in sent] == ["a@x", "c@x"]
    assert batch.results == {1: "sent to a@x", 3: "sent to c@x"}
    assert [c.n for c in batch.pending] == [2]
    # a second review settles the call that stayed pending
    assert batch.review_and_execute({2: Edit({"subject": "fixed"})}) == {2: "sent to b@x"}
    assert sent[-1] == ("b@x", "fixed")
    assert batch.pending == []


def test_bad_edit_in_decisions_mapping(send_email, sent):
    batch = Batch(approver=ScriptedApprover(default=Approve()))
    send = batch.wrap(send_email)
    for to in ("a@x", "b@x", "c@x"):
        send(to)
    with pytest.raises(InvalidEdit) as info:
        batch.review_and_execute({1: Edit({"to": 5}), 2: Approve()})
    assert "to" in str(info.value)
    assert batch.results == {2: "sent to b@x"}
    assert sent == [("b@x", "hi")]
    pending = [c.n for c in batch.pending]
    assert 1 in pending and 2 not in pending
    # nothing is lost: the undecided call either ran or is still pending
    assert 3 in pending or 3 in batch.results
    batch.review_and_execute({1: Approve()})
    assert batch.pending == []
    assert sorted(to for to, _ in sent) == ["a@x", "b@x", "c@x"]


def test_approver_with_review_method(send_email, sent):
    class Reviewer:
        channel = "table"

        def __init__(self) -> None:
            self.seen: list[list[str]] = []

        def __call__(self, request):
            raise AssertionError("review() should be used")

        def review(self, requests):
            self.seen.append([r.arguments["to"] for r in requests])
            return [Approve(), Reject("second")]

    reviewer = Reviewer()
    batch = Batch(approver=reviewer)
    send = batch.wrap(send_email)
    send("a@x")
    send("b@x")
    assert batch.review_and_execute() == {1: "sent to a@x", 2: "REJECTED: second"}
    assert reviewer.seen == [["a@x", "b@x"]]


@pytest.mark.threads
def test_timeout_in_batch_review_fails_closed(send_email, sent):
    release = threading.Event()

    def slow(request):
        release.wait(5)
        return Approve()

    batch = Batch(approver=slow, timeout=0.05)
    batch.wrap(send_email)("a@x")
    try:
        results = batch.review_and_execute()
    finally:
        release.set()
    assert results == {1: "REJECTED: no decision before the timeout"}
    assert sent == []


@pytest.mark.notebook
def test_each_queued_request_carries_its_placeholder_as_label_for_the_reviewer() -> None:
    from hitl_widget.widget import request_view

    batch = Batch(approver=AutoApprove())
    send = batch.wrap(lambda to: to)
    assert send("a") == "PENDING_APPROVAL_1" and send("b") == "PENDING_APPROVAL_2"
    assert [request_view(c.request)["label"] for c in batch.pending] == ["PENDING_APPROVAL_1", "PENDING_APPROVAL_2"]
