"""DashboardApprover against a real ``hitl dashboard`` subprocess, decided by people through the API.

Each person logs in (session cookie + CSRF token) and decides as the request page does; the
agent side is the public ``DashboardApprover`` in a ``Gate``. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from client_helpers import Call, decide, pending, status_of, wait_status
from server_process import DashboardServer, dashboard_server_factory

from hitl_widget import ApprovalRejected, ApprovalTimeout, AuditLog, DashboardApprover, Gate
from hitl_widget.dashboard.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.threads, pytest.mark.subprocess, pytest.mark.timeout(120)]

POLICY = """
[risk.high]
approvals = 2
roles = ["ops"]

[risk.critical]
approvals = 1
roles = ["manager"]
"""


@dataclass
class Dashboard:
    server: DashboardServer
    token: str
    people: dict[str, httpx.Client]

    def approver(self, **options: Any) -> DashboardApprover:
        options.setdefault("backoff", (0.02, 0.5))
        return DashboardApprover(self.server.url + self.server.prefix, token=self.token, **options)


def start(make: Any, db: str, policy: str | None = POLICY) -> Dashboard:
    server = make(db, policy)
    with open_store(db) as store:  # (the CLI's own tests are test_store_cli.py; here, quicker in-process)
        for name, roles in (("alice", ("ops", "manager")), ("bob", ("ops",)), ("carol", ("ops", "manager")), ("dan", ())):
            store.add_user(name, f"{name}-pw", roles)
        token = store.add_token("agent-1")
    people = {name: server.person(name, f"{name}-pw") for name in ("alice", "bob", "carol", "dan")}
    return Dashboard(server, token, people)


def _module_dash(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Dashboard]:
    """One server (and its people) for every test of this module on ``backend``: each test makes
    calls with markers of its own (ORD-edit-1, events_2019, ...) and finds its request by them, so
    none depends on an empty queue; a fresh server per test cost a start and four logins."""
    tmp = tmp_path_factory.mktemp(f"client-{backend}")
    cluster = request.getfixturevalue("pg_cluster") if backend == "postgresql" else None
    db = cluster.create_database() if cluster is not None else str(tmp / "hitl.db")
    servers = dashboard_server_factory(tmp)
    try:
        yield start(next(servers), db)
    finally:
        servers.close()  # stops the server (the factory's finally)
        if cluster is not None:
            cluster.drop_database(db)


@pytest.fixture(scope="module")
def sqlite_dash(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A server on a SQLite file, shared by this module's tests."""
    yield from _module_dash(request, tmp_path_factory, "sqlite")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def dash(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A server on each backend (SQLite: the same one as ``sqlite_dash``; PostgreSQL: a database of
    conftest's session cluster), shared by this module's tests."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_dash")
    else:
        yield from _module_dash(request, tmp_path_factory, "postgresql")


def gate_tools(approver: DashboardApprover, ran: list[Any], audit: AuditLog | None = None, **options: Any) -> Any:
    gate = Gate(routes={"critical": approver, "high": approver}, audit=audit)

    @gate.require_approval(risk="critical", **options)
    def refund(order: str, amount: int = 10) -> str:
        """Refund an order."""
        ran.append((order, amount))
        return f"refunded {amount} on {order}"

    @gate.require_approval(risk="critical", **options)
    async def refund_async(order: str, amount: int = 10) -> str:
        ran.append((order, amount))
        return f"refunded {amount} on {order}"

    @gate.require_approval(risk="high", **options)
    def drop_table(name: str) -> str:
        ran.append(("drop", name))
        return f"dropped {name}"

    return refund, refund_async, drop_table


def test_approved_by_a_person_it_runs_once_and_the_dashboard_records_who_claim_and_outcome(dash: Dashboard, tmp_path: Path):
    ran: list[Any] = []
    audit = AuditLog(tmp_path / "audit.jsonl")
    refund, _, _ = gate_tools(dash.approver(), ran, audit)
    call = Call(refund, "ORD-approve-1")
    item = pending(dash.people["alice"], "ORD-approve-1")
    assert item["function"] == "refund" and item["risk"] == "critical" and item["agent"]
    assert item["view"]["summary"] == "Refund an order."
    assert decide(dash.people["alice"], item, "approve").status_code == 200
    assert call.outcome() == "refunded 10 on ORD-approve-1"
    assert ran == [("ORD-approve-1", 10)]
    final = wait_status(dash.people["bob"], item["id"], {"succeeded"})
    assert final["decision"]["by"] == ["alice"] and final["claimed_at"]
    assert "refunded 10 on ORD-approve-1" in str(final["outcome"])
    decisions = [r for r in AuditLog.records(tmp_path / "audit.jsonl") if r.get("type") == "decision"]
    assert [(r["decision"], r["by"], r["channel"]) for r in decisions] == [("approved", "alice", "dashboard")]


def test_an_edit_through_the_api_runs_with_exactly_the_edited_arguments(sqlite_dash: Dashboard):
    ran: list[Any] = []
    refund, _, _ = gate_tools(sqlite_dash.approver(), ran)
    call = Call(refund, "ORD-edit-1", 250)
    item = pending(sqlite_dash.people["alice"], "ORD-edit-1")
    answer = decide(sqlite_dash.people["alice"], item, "edit", edits={"amount": {"json": "25"}})
    assert answer.status_code == 200, answer.text
    assert call.outcome() == "refunded 25 on ORD-edit-1"
    assert ran == [("ORD-edit-1", 25)]


def test_a_rejection_reaches_the_agent_naming_who_rejected_and_why(sqlite_dash: Dashboard):
    ran: list[Any] = []
    refund, _, _ = gate_tools(sqlite_dash.approver(), ran)
    call = Call(refund, "ORD-reject-1")
    item = pending(sqlite_dash.people["carol"], "ORD-reject-1")
    assert decide(sqlite_dash.people["carol"], item, "reject", feedback="refund ORD-reject-2 instead").status_code == 200
    with pytest.raises(ApprovalRejected, match=r"rejected by a human reviewer \(carol\): refund ORD-reject-2 instead"):
        call.outcome()
    assert ran == []
    assert status_of(sqlite_dash.people["carol"], item["id"])["status"] == "rejected"


def test_an_async_tool_waits_without_blocking_its_event_loop(sqlite_dash: Dashboard):
    ran: list[Any] = []
    _, refund_async, _ = gate_tools(sqlite_dash.approver(), ran)
    ticks: list[float] = []

    async def agent() -> str:
        async def heartbeat() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.02)

        beat = asyncio.ensure_future(heartbeat())
        try:
            return await refund_async("ORD-async-1")
        finally:
            beat.cancel()

    call = Call(asyncio.run, agent())
    item = pending(sqlite_dash.people["alice"], "ORD-async-1")
    time.sleep(0.3)
    assert decide(sqlite_dash.people["alice"], item, "approve").status_code == 200
    assert call.outcome() == "refunded 10 on ORD-async-1"
    assert ran == [("ORD-async-1", 10)] and len(ticks) >= 10  # the loop kept running while it waited


def test_the_person_the_agent_acts_for_cannot_approve_and_someone_else_can(dash: Dashboard):
    ran: list[Any] = []
    refund, _, _ = gate_tools(dash.approver(on_behalf_of="alice"), ran)
    call = Call(refund, "ORD-self-1")
    item = pending(dash.people["alice"], "ORD-self-1")
    assert item["on_behalf_of"] == "alice"
    refused = decide(dash.people["alice"], item, "approve")
    assert refused.status_code == 403, refused.text
    time.sleep(0.2)
    assert call.is_alive() and ran == []  # her refused approval changed nothing
    assert decide(dash.people["carol"], item, "approve").status_code == 200
    assert call.outcome() == "refunded 10 on ORD-self-1"
    assert ran == [("ORD-self-1", 10)]


def test_a_quorum_of_two_ops_people_is_needed_and_one_person_cannot_count_twice(sqlite_dash: Dashboard):
    ran: list[Any] = []
    _, _, drop_table = gate_tools(sqlite_dash.approver(), ran)
    call = Call(drop_table, "events_2019")
    item = pending(sqlite_dash.people["alice"], "events_2019")
    assert decide(sqlite_dash.people["alice"], item, "approve").status_code == 200
    again = decide(sqlite_dash.people["alice"], status_of(sqlite_dash.people["alice"], item["id"]), "approve")
    assert again.status_code == 409, again.text
    time.sleep(0.3)
    assert call.is_alive() and ran == []
    assert decide(sqlite_dash.people["dan"], item, "approve").status_code == 403  # no ops role
    assert decide(sqlite_dash.people["bob"], item, "approve").status_code == 200
    assert call.outcome() == "dropped events_2019"
    assert ran == [("drop", "events_2019")]


def test_an_edit_the_gate_refuses_goes_back_to_the_queue_with_its_problem_and_the_next_version_decides(sqlite_dash: Dashboard):
    ran: list[Any] = []
    refund, _, _ = gate_tools(sqlite_dash.approver(), ran)
    call = Call(refund, "ORD-bad-edit")
    alice = sqlite_dash.people["alice"]
    item = pending(alice, "ORD-bad-edit")
    answer = decide(alice, item, "edit", edits={"amount": {"text": "ten euros"}})
    assert answer.status_code == 200, answer.text  # the server cannot know the type: the agent's gate refuses it
    deadline = time.monotonic() + 15
    while True:
        reopened = status_of(alice, item["id"])
        if reopened["status"] == "pending" and reopened["problems"]:
            break
        assert time.monotonic() < deadline, reopened
        time.sleep(0.02)
    assert reopened["version"] > item["version"] + 1 and "amount" in str(reopened["problems"])
    assert ran == [] and call.is_alive()
    assert decide(alice, reopened, "edit", edits={"amount": {"json": "12"}}).status_code == 200
    assert call.outcome() == "refunded 12 on ORD-bad-edit"
    assert ran == [("ORD-bad-edit", 12)]


def test_a_stale_decision_for_an_old_version_changes_nothing(sqlite_dash: Dashboard):
    ran: list[Any] = []
    _, _, drop_table = gate_tools(sqlite_dash.approver(), ran)
    call = Call(drop_table, "old_logs")
    alice, bob = sqlite_dash.people["alice"], sqlite_dash.people["bob"]
    seen = pending(alice, "old_logs")
    assert decide(alice, seen, "edit", edits={"name": {"text": "old_logs_2020"}}).status_code == 200
    stale = decide(bob, seen, "approve")  # bob approves the version he saw: the table alice changed
    assert stale.status_code == 409, stale.text
    time.sleep(0.3)
    assert call.is_alive() and ran == []
    assert decide(bob, status_of(bob, seen["id"]), "approve").status_code == 200
    assert call.outcome() == "dropped old_logs_2020"
    assert ran == [("drop", "old_logs_2020")]


def test_the_servers_timeout_is_an_approval_timeout_recorded_as_timed_out(dash: Dashboard):
    ran: list[Any] = []
    refund, _, _ = gate_tools(dash.approver(), ran, timeout=2.0)
    started = time.monotonic()
    with pytest.raises(ApprovalTimeout, match="timed out"):
        refund("ORD-timeout-1")
    assert time.monotonic() - started < 3.0
    item = pending(dash.people["alice"], "ORD-timeout-1", status="timed_out")
    assert item["status"] == "timed_out" and ran == []
    late = decide(dash.people["alice"], item, "approve")
    assert late.status_code == 409, late.text  # too late: nothing runs
