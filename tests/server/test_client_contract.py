"""DashboardApprover's own logic against an in-memory double of the API (tests/server/fake_dashboard.py).

Retries, deadlines, at-most-once, invalid edits, interrupts: quick and deterministic here; the
same behaviours against the real ``hitl dashboard`` server are in test_client.py and test_faults.py.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from client_helpers import Call
from fake_dashboard import FakeDashboard

from hitl_widget import ApprovalRejected, ApprovalTimeout, Batch, DashboardApprover, Gate

pytestmark = [pytest.mark.threads, pytest.mark.timeout(60)]

URL = "http://dashboard.test"


def approver(fake: FakeDashboard, **options: Any) -> DashboardApprover:
    options.setdefault("backoff", (0.01, 0.05))
    return DashboardApprover(URL, token=fake.token, transport=fake.transport(), async_transport=fake.async_transport(), **options)


def tools(dashboard: DashboardApprover, ran: list[Any], **options: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    gate = Gate(approver=dashboard)

    @gate.require_approval(risk="high", **options)
    def refund(order: str, amount: int = 10) -> str:
        ran.append((order, amount))
        return f"refunded {amount} on {order}"

    @gate.require_approval(risk="high", **options)
    async def refund_async(order: str, amount: int = 10) -> str:
        ran.append((order, amount))
        return f"refunded {amount} on {order}"

    return refund, refund_async


def test_approved_on_the_dashboard_it_is_claimed_runs_once_and_its_outcome_is_reported():
    fake, ran = FakeDashboard(), []
    refund, _ = tools(approver(fake, on_behalf_of="ana"), ran)
    call = Call(refund, "A1")
    posted = fake.wait_for_request()
    assert posted["on_behalf_of"] == "ana" and posted["function"] == "refund" and posted["risk"] == "high"
    assert posted["call_text"] == "refund(order='A1', amount=10)"
    assert [a["name"] for a in posted["view"]["arguments"]] == ["order", "amount"]
    fake.decide(posted["id"], "approve", by="alice")
    assert call.outcome() == "refunded 10 on A1"
    assert ran == [("A1", 10)] and fake.claims == [posted["id"]]
    assert posted["status"] == "succeeded" and posted["outcome"]["detail"] == "returned 'refunded 10 on A1'"
    assert ("POST", f"/api/requests/{posted['id']}/claim") in fake.log


def test_an_edit_runs_with_the_edited_arguments_decoded_from_protocol_v2():
    fake, ran = FakeDashboard(), []
    refund, _ = tools(approver(fake), ran)
    call = Call(refund, "A1")
    posted = fake.wait_for_request()
    fake.decide(posted["id"], "edit", edits={"amount": {"json": "7"}, "order": {"text": "A1-b"}})
    assert call.outcome() == "refunded 7 on A1-b"
    assert ran == [("A1-b", 7)]


def test_an_edit_the_gate_refuses_goes_back_to_the_dashboard_and_the_next_version_decides():
    fake, ran = FakeDashboard(), []
    refund, _ = tools(approver(fake), ran)
    call = Call(refund, "A1")
    posted = fake.wait_for_request()
    fake.decide(posted["id"], "edit", edits={"amount": {"text": "seven"}})
    deadline = time.monotonic() + 5
    while posted["status"] != "pending" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert posted["status"] == "pending" and posted["version"] == 3  # edit made v2, its refusal v3
    assert "amount" in posted["problems"]
    assert ran == []
    fake.decide(posted["id"], "approve", by="bob")
    assert call.outcome() == "refunded 10 on A1"


def test_a_claim_whose_answer_was_lost_is_known_as_this_calls_own_and_the_call_runs_once():
    fake, ran = FakeDashboard(), []
    fake.lose_answer_of = {"claim", "outcome"}  # committed, then the connection broke (a server killed just after)
    refund, _ = tools(approver(fake), ran)
    call = Call(refund, "A1")
    posted = fake.wait_for_request()
    fake.decide(posted["id"], "approve")
    assert call.outcome() == "refunded 10 on A1"
    assert ran == [("A1", 10)] and fake.claims == [posted["id"]] and posted["status"] == "succeeded"
    assert [p for m, p in fake.log if p.endswith("/claim")] == [f"/api/requests/{posted['id']}/claim"] * 2


def test_under_a_shared_request_key_a_lost_claim_answer_fails_closed_saying_so():
    fake, ran = FakeDashboard(), []
    fake.lose_answer_of = {"claim"}
    refund, _ = tools(approver(fake, request_key=lambda r: "task-1"), ran)
    call = Call(refund, "A1")
    fake.decide(fake.wait_for_request()["id"], "approve")
    with pytest.raises(ApprovalRejected, match=r"answer to its claim was lost.*does not run"):
        call.outcome()
    assert ran == []


def test_the_default_client_request_id_is_unique_to_each_call_and_the_gate_id_is_in_the_context():
    fake, ran = FakeDashboard(), []
    refund, _ = tools(approver(fake), ran)
    calls = [Call(refund, "A1"), Call(refund, "A1")]
    first, second = fake.wait_for_request(1), fake.wait_for_request(2)
    assert first["client_request_id"] != second["client_request_id"] and len(first["client_request_id"]) == 32
    gate_ids = [posted["context"]["gate_request_id"] for posted in (first, second)]
    assert all(isinstance(i, str) and i for i in gate_ids) and gate_ids[0] != gate_ids[1]
    for posted in (first, second):
        fake.decide(posted["id"], "approve")
    assert [c.outcome() for c in calls] == ["refunded 10 on A1"] * 2


def test_the_calls_context_goes_to_the_server_with_secret_named_entries_redacted():
    fake, ran = FakeDashboard(), []
    gate = Gate(approver=approver(fake))

    @gate.require_approval(risk="high", context={"ticket": "OPS-7", "api_token": "sk-live-0123456789"})
    def rotate(service: str) -> str:
        ran.append(service)
        return "rotated"

    call = Call(rotate, "billing")
    posted = fake.wait_for_request()
    assert posted["context"]["context"] == {"ticket": "OPS-7", "api_token": "[REDACTED]"}
    assert "sk-live-0123456789" not in str(posted)
    fake.decide(posted["id"], "approve")
    assert call.outcome() == "rotated"


def test_a_batch_reviewed_on_the_dashboard_claims_each_approved_call_and_runs_it_once():
    fake, ran = FakeDashboard(), []
    batch = Batch(approver=approver(fake))

    @batch.wrap
    def refund(order: str) -> str:
        ran.append(order)
        return f"refunded {order}"

    assert [refund("A1"), refund("A2")] == ["PENDING_APPROVAL_1", "PENDING_APPROVAL_2"]

    def people() -> None:
        fake.decide(fake.wait_for_request(1)["id"], "approve")
        fake.decide(fake.wait_for_request(2)["id"], "reject", feedback="not A2")

    threading.Thread(target=people, daemon=True).start()
    assert batch.review_and_execute() == {1: "refunded A1", 2: "REJECTED: not A2"}
    assert ran == ["A1"] and [r["status"] for r in fake.requests.values()] == ["succeeded", "rejected"]


def test_a_rejection_names_who_rejected_and_carries_the_feedback():
    fake, ran = FakeDashboard(), []
    refund, _ = tools(approver(fake), ran)
    call = Call(refund, "A1")
    fake.decide(fake.wait_for_request()["id"], "reject", by="carol", feedback="refund the order A2 instead")
    with pytest.raises(ApprovalRejected, match=r"rejected by a human reviewer \(carol\): refund the order A2 instead"):
        call.outcome()
    assert ran == [] and fake.claims == []


def test_the_servers_timeout_decides_and_is_recorded_as_timed_out_not_cancelled():
    fake, ran = FakeDashboard(), []
    refund, _ = tools(approver(fake), ran, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ApprovalTimeout, match="recorded it as timed out"):
        refund("A1")
    assert time.monotonic() - started < 1.5
    (posted,) = fake.requests.values()
    assert posted["status"] == "timed_out"
    assert ran == []


def test_a_server_that_cannot_be_reached_fails_closed_within_the_calls_timeout():
    fake, ran = FakeDashboard(), []
    fake.down(30)
    refund, _ = tools(approver(fake), ran, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ApprovalTimeout, match=r"could not be reached.*ConnectError"):
        refund("A1")
    assert time.monotonic() - started < 1.6
    assert ran == [] and len(fake.log) > 3  # it kept trying until its deadline


def test_without_a_timeout_an_unreachable_server_fails_closed_after_unreachable_after():
    fake, ran = FakeDashboard(), []
    fake.down(30)
    refund, _ = tools(approver(fake, unreachable_after=0.5), ran)
    started = time.monotonic()
    with pytest.raises(ApprovalRejected, match=r"could not be reached for \d+ s .*failing closed"):
        refund("A1")
    assert 0.5 <= time.monotonic() - started < 2 and ran == []


def test_a_server_restart_mid_wait_is_survived_with_the_same_server_request():
    fake, ran = FakeDashboard(), []
    refund, _ = tools(approver(fake), ran, timeout=20)
    call = Call(refund, "A1")
    posted = fake.wait_for_request()
    fake.down(0.5)
    time.sleep(0.2)
    fake.fail_next = [503, 502]
    time.sleep(0.4)
    fake.decide(posted["id"], "approve")
    assert call.outcome() == "refunded 10 on A1"
    assert len(fake.requests) == 1 and [m for m, p in fake.log if p == "/api/requests"] == ["POST"]


def test_a_lost_create_is_retried_with_the_same_client_request_id_and_finds_the_same_request():
    fake, ran = FakeDashboard(), []
    fake.fail_next = [503]
    refund, _ = tools(approver(fake), ran)
    call = Call(refund, "A1")
    posted = fake.wait_for_request()
    fake.decide(posted["id"], "approve")
    assert call.outcome() == "refunded 10 on A1"
    assert len(fake.requests) == 1 and [p for m, p in fake.log if p == "/api/requests"] == ["/api/requests"] * 2


def test_a_restarted_agent_replaying_a_call_that_ran_never_runs_it_again():
    fake, ran = FakeDashboard(), []
    key = lambda request: f"task-7:{request.function}"  # noqa: E731 - the same in every run of the agent
    first, _ = tools(approver(fake, request_key=key), ran)
    call = Call(first, "A1")
    fake.decide(fake.wait_for_request()["id"], "approve")
    assert call.outcome() == "refunded 10 on A1"
    again, _ = tools(approver(fake, request_key=key), ran)  # a new process: a new approver and gate
    with pytest.raises(ApprovalRejected, match=r"NOT run again.*outcome is recorded: succeeded \(returned 'refunded 10 on A1'\)"):
        again("A1")
    assert ran == [("A1", 10)] and len(fake.requests) == 1


def test_a_crash_after_the_claim_shows_outcome_unknown_and_the_replay_does_not_run():
    fake, ran = FakeDashboard(), []
    key = lambda request: "task-8"  # noqa: E731
    dashboard = approver(fake, request_key=key)
    dashboard.after_run = lambda request, outcome: None  # type: ignore[method-assign]  # the process dies before reporting
    first, _ = tools(dashboard, ran)
    call = Call(first, "A1")
    posted_id = fake.wait_for_request()["id"]
    fake.decide(posted_id, "approve")
    call.outcome()
    assert fake.requests[posted_id]["status"] == "running"
    again, _ = tools(approver(fake, request_key=key), ran)
    with pytest.raises(ApprovalRejected, match=r"NOT run again.*outcome is unknown"):
        again("A1")
    assert ran == [("A1", 10)]


def test_a_restarted_agent_replaying_a_pending_call_waits_on_the_same_request_and_runs_once():
    fake, ran = FakeDashboard(), []
    key = lambda request: "task-9"  # noqa: E731
    first, _ = tools(approver(fake, request_key=key), ran, timeout=0.5)
    with pytest.raises(ApprovalTimeout):
        first("A1")  # the agent gave up (and cancelled it): a replay cannot be approved by that request
    (posted,) = fake.requests.values()
    assert posted["status"] in ("timed_out", "cancelled")
    fake2 = FakeDashboard()
    second, _ = tools(approver(fake2, request_key=key), ran)
    call = Call(second, "A1")
    fake2.wait_for_request()
    again, _ = tools(approver(fake2, request_key=key), ran)
    call2 = Call(again, "A1")  # the restarted process asks while the first is still waiting
    time.sleep(0.2)
    assert len(fake2.requests) == 1
    fake2.decide(fake2.wait_for_request()["id"], "approve")
    outcomes = []
    for c in (call, call2):
        try:
            outcomes.append(c.outcome())
        except ApprovalRejected as exc:
            outcomes.append(type(exc).__name__)
    assert sorted(outcomes) == ["ApprovalRejected", "refunded 10 on A1"]  # one ran; the other was refused the claim
    assert ran == [("A1", 10)]


def test_the_same_key_with_other_arguments_is_refused_never_approved_by_the_old_decision():
    fake, ran = FakeDashboard(), []
    key = lambda request: "task-10"  # noqa: E731
    first, _ = tools(approver(fake, request_key=key), ran)
    call = Call(first, "A1")
    fake.decide(fake.wait_for_request()["id"], "approve")
    call.outcome()
    other, _ = tools(approver(fake, request_key=key), ran)
    with pytest.raises(ApprovalRejected, match=r"HTTP 409.*same request key with other arguments"):
        other("A1", 999)
    assert ran == [("A1", 10)]


def test_a_refused_token_fails_closed_saying_so():
    fake, ran = FakeDashboard(token="right"), []
    refund, _ = tools(DashboardApprover(URL, token="wrong", transport=fake.transport()), ran)
    with pytest.raises(ApprovalRejected, match=r"HTTP 401.*hitl tokens add"):
        refund("A1")
    assert ran == []


def test_ctrl_c_while_waiting_cancels_the_request_on_the_server_and_propagates():
    fake, ran = FakeDashboard(), []

    def interrupt(request: Any) -> None:
        raise KeyboardInterrupt  # as if Ctrl-C arrived while the request was being posted

    refund, _ = tools(approver(fake, notify=[interrupt]), ran)
    with pytest.raises(KeyboardInterrupt):
        refund("A1")
    (posted,) = fake.requests.values()
    assert posted["status"] == "cancelled" and "interrupted" in posted["outcome"]["detail"]


def test_ctrl_c_before_the_creates_answer_arrived_still_cancels_the_request_it_made():
    fake, ran = FakeDashboard(), []
    inner = fake.transport()

    class InterruptAfterCreate(httpx.BaseTransport):
        """The server made the request; Ctrl-C arrives before its answer is read."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            if request.method == "POST" and request.url.path == "/api/requests" and not fake.claims and len(fake.log) == 1:
                raise KeyboardInterrupt
            return response

    dashboard = DashboardApprover(URL, token=fake.token, transport=InterruptAfterCreate(), backoff=(0.01, 0.05))
    refund, _ = tools(dashboard, ran)
    with pytest.raises(KeyboardInterrupt):
        refund("A1")
    (posted,) = fake.requests.values()  # the create sent again names the same request, which is cancelled
    assert posted["status"] == "cancelled" and ran == []


def test_notifiers_get_the_request_the_servers_json_and_the_link_and_their_failure_changes_nothing(caplog):
    fake, ran = FakeDashboard(), []
    seen: list[Any] = []

    class Teams:
        def notify(self, request: Any, *, dashboard_request: dict[str, Any], link: str) -> None:
            seen.append((request.function, dashboard_request["id"], link))

    def broken(request: Any) -> None:
        raise RuntimeError("webhook down")

    refund, _ = tools(approver(fake, notify=[Teams(), broken]), ran)
    call = Call(refund, "A1")
    posted = fake.wait_for_request()
    fake.decide(posted["id"], "approve")
    assert call.outcome() == "refunded 10 on A1"
    assert seen == [("refund", posted["id"], f"{URL}/requests/{posted['id']}")]
    assert "webhook down" in caplog.text


async def test_async_tools_wait_without_blocking_the_loop_and_run_once():
    fake, ran = FakeDashboard(), []
    _, refund_async = tools(approver(fake), ran)
    task = asyncio.ensure_future(refund_async("A1"))
    ticks = 0
    while not fake.requests:
        await asyncio.sleep(0.01)
        ticks += 1
    (posted,) = fake.requests.values()
    for _ in range(5):  # the loop keeps running while the call waits
        await asyncio.sleep(0.01)
        ticks += 1
    fake.decide(posted["id"], "edit", edits={"amount": {"json": "3"}})
    assert await task == "refunded 3 on A1"
    assert ran == [("A1", 3)] and posted["status"] == "succeeded" and ticks >= 5


async def test_an_async_call_whose_task_is_cancelled_cancels_its_request():
    fake, ran = FakeDashboard(), []
    _, refund_async = tools(approver(fake), ran)
    task = asyncio.ensure_future(refund_async("A1"))
    while not fake.requests:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (posted,) = fake.requests.values()
    assert posted["status"] == "cancelled"


async def test_an_async_call_times_out_on_the_servers_clock():
    fake, ran = FakeDashboard(), []
    _, refund_async = tools(approver(fake), ran, timeout=0.6)
    with pytest.raises(ApprovalTimeout):
        await refund_async("A1")
    (posted,) = fake.requests.values()
    assert posted["status"] in ("timed_out", "cancelled") and ran == []


@pytest.mark.subprocess
def test_the_fingerprint_is_the_same_in_another_process_with_the_same_token_and_differs_with_the_arguments():
    script = (
        "from hitl_widget import DashboardApprover, Gate\n"
        "from hitl_widget.card_view import request_view\n"
        "import sys\n"
        "d = DashboardApprover('http://x', token='tok')\n"
        "g = Gate(approver=d)\n"
        "def refund(order: str, amount: int = 10) -> str: ...\n"
        "w = g.wrap(refund)\n"
        "r = g._new_request(w.__hitl_guard__, {'order': sys.argv[1], 'amount': 10}, copy=True)\n"
        "print(d._fingerprint(r, request_view(r)))\n"
    )
    run = lambda order: subprocess.run([sys.executable, "-c", script, order], capture_output=True, text=True, check=True).stdout  # noqa: E731
    assert run("A1") == run("A1") != run("A2")
