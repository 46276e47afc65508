"""Faults around a real ``hitl dashboard``: restarts (SIGTERM, SIGKILL), a server away, timeouts, agents that restart.

Every call must end exactly as it was decided, and no call may run twice: executions are
counted in a file that each run appends to (tests/server/agent_process.py for agents in
processes of their own). ``db`` (tests/server/conftest.py) runs a test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from client_helpers import Call, decide, pending, status_of, wait_status
from server_process import DashboardServer, dashboard_server_factory

from hitl_widget import ApprovalRejected, ApprovalTimeout, DashboardApprover, Gate
from hitl_widget.dashboard.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.threads, pytest.mark.subprocess, pytest.mark.timeout(180)]

AGENT = Path(__file__).with_name("agent_process.py")


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    yield from dashboard_server_factory(tmp_path)


def setup(make: Any, db: str) -> tuple[DashboardServer, str]:
    server = make(db)
    with open_store(db) as store:  # (quicker than the CLI, whose own tests are test_store_cli.py)
        store.add_user("alice", "alice-pw", ("ops", "manager"))
        store.add_user("bob", "bob-pw", ("ops", "manager"))
        return server, store.add_token("agent-1")


def tools(server: DashboardServer, token: str, ran: list[Any], **options: Any) -> Any:
    dashboard = DashboardApprover(server.url + server.prefix, token=token, backoff=(0.02, 0.3))
    gate = Gate(approver=dashboard)

    @gate.require_approval(risk="critical", **options)
    def refund(order: str) -> str:
        ran.append(order)
        return f"refunded {order}"

    return refund


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_server_restart_while_calls_wait_loses_nothing_and_every_call_ends_exactly_as_decided(make_server, db, sig):
    server, token = setup(make_server, db)
    ran: list[str] = []
    refund = tools(server, token, ran, timeout=90)
    orders = [f"ORD-restart-{sig.name}-{i}" for i in range(6)]
    calls = {order: Call(refund, order) for order in orders}
    alice = server.person("alice", "alice-pw")
    items = {order: pending(alice, order) for order in orders}
    # decided before the restart: 0 approved, 1 rejected (their calls may be mid-claim when it stops)
    assert decide(alice, items[orders[0]], "approve").status_code == 200
    assert decide(alice, items[orders[1]], "reject", feedback="not this one").status_code == 200
    server.stop(sig)
    time.sleep(0.5)  # the agents find it away and retry
    server.start()
    alice = server.person("alice", "alice-pw")
    for order in orders[2:]:
        assert pending(alice, order)["id"] == items[order]["id"]  # the same requests: nothing pending was lost
    assert decide(alice, items[orders[2]], "approve").status_code == 200
    assert decide(alice, items[orders[3]], "edit", edits={"order": {"text": orders[3] + "-edited"}}).status_code == 200
    assert decide(alice, items[orders[4]], "reject", feedback="wrong customer").status_code == 200
    assert decide(alice, items[orders[5]], "approve").status_code == 200
    results: dict[str, Any] = {}
    for order, call in calls.items():
        try:
            results[order] = call.outcome(60)
        except ApprovalRejected as exc:
            results[order] = f"{type(exc).__name__}: {exc}"
    assert results[orders[0]] == f"refunded {orders[0]}"
    assert "not this one" in results[orders[1]]
    assert results[orders[2]] == f"refunded {orders[2]}"
    assert results[orders[3]] == f"refunded {orders[3]}-edited"
    assert "wrong customer" in results[orders[4]]
    assert results[orders[5]] == f"refunded {orders[5]}"
    assert sorted(ran) == sorted([orders[0], orders[2], orders[3] + "-edited", orders[5]])  # each once
    for order in (orders[0], orders[2], orders[3], orders[5]):
        assert wait_status(alice, items[order]["id"], {"succeeded"})["status"] == "succeeded"
    for order in (orders[1], orders[4]):
        assert status_of(alice, items[order]["id"])["status"] == "rejected"


def test_a_sigkill_while_a_decision_is_being_taken_never_runs_a_call_twice(make_server, tmp_path):
    server, token = setup(make_server, str(tmp_path / "hitl.db"))
    ran: list[str] = []
    refund = tools(server, token, ran, timeout=90)
    orders = [f"ORD-kill-{i}" for i in range(10)]
    calls = [Call(refund, order) for order in orders]
    alice = server.person("alice", "alice-pw")
    items = [pending(alice, order) for order in orders]
    for item in items[:5]:
        decide(alice, item, "approve")
    server.kill()  # right after the approvals: some claims are in flight
    server.start()
    alice = server.person("alice", "alice-pw")
    for item in items[5:]:
        assert decide(alice, status_of(alice, item["id"]), "approve").status_code == 200
    for call in calls:
        assert call.outcome(60).startswith("refunded")
    assert sorted(ran) == sorted(orders)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_that_is_not_there_fails_closed_within_the_calls_timeout():
    dashboard = DashboardApprover(f"http://127.0.0.1:{free_port()}", token="t", backoff=(0.02, 0.3))
    ran: list[str] = []

    @Gate(approver=dashboard).require_approval(risk="critical", timeout=1.5)
    def refund(order: str) -> str:
        ran.append(order)
        return "ran"

    started = time.monotonic()
    with pytest.raises(
        ApprovalTimeout, match=r"could not be reached.*ConnectError.*did not run|did not run.*could not be reached"
    ):
        refund("ORD-nowhere")
    assert time.monotonic() - started < 2.0 and ran == []


def test_a_server_that_goes_away_mid_wait_and_stays_away_fails_closed_at_the_deadline(make_server, tmp_path):
    server, token = setup(make_server, str(tmp_path / "hitl.db"))
    ran: list[str] = []
    refund = tools(server, token, ran, timeout=3.0)
    call = Call(refund, "ORD-gone")
    pending(server.person("alice", "alice-pw"), "ORD-gone")
    started = time.monotonic()
    server.kill()
    with pytest.raises(ApprovalTimeout, match="could not be reached"):
        call.outcome(10)
    assert call.ended_at is not None and call.ended_at - started < 3.5 and ran == []


def test_without_a_timeout_a_server_away_for_longer_than_unreachable_after_fails_closed(make_server, tmp_path):
    server, token = setup(make_server, str(tmp_path / "hitl.db"))
    dashboard = DashboardApprover(server.url, token=token, unreachable_after=1.0, backoff=(0.02, 0.2))
    ran: list[str] = []

    @Gate(approver=dashboard).require_approval(risk="critical")
    def refund(order: str) -> str:
        ran.append(order)
        return "ran"

    call = Call(refund, "ORD-patience")
    pending(server.person("alice", "alice-pw"), "ORD-patience")
    server.stop()
    with pytest.raises(ApprovalRejected, match=r"could not be reached for \d+ s"):
        call.outcome(10)
    assert ran == []


def agent(server: DashboardServer, token: str, key: str, order: str, ran_file: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH", "")]))}
    return subprocess.Popen(
        [sys.executable, str(AGENT), server.url + server.prefix, token, key, order, str(ran_file), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def last_json(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, f"agent exited {proc.returncode} with no result:\n{out}\n{err}"
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def test_an_agent_that_crashes_after_the_claim_is_never_run_again_and_shows_outcome_unknown(make_server, db, tmp_path):
    server, token = setup(make_server, db)
    ran_file = tmp_path / "ran.txt"
    key = f"task-crash-{time.monotonic_ns()}"
    first = agent(server, token, key, "ORD-crash", ran_file, "--crash-in-function")
    alice = server.person("alice", "alice-pw")
    item = pending(alice, "ORD-crash")
    assert decide(alice, item, "approve").status_code == 200
    first.communicate(timeout=60)
    assert first.returncode == 3  # died inside the function: after the claim, before the outcome
    assert status_of(alice, item["id"])["status"] == "running"  # claimed, no outcome: "outcome unknown"
    second = agent(server, token, key, "ORD-crash", ran_file)  # the agent restarts and asks again
    answer = last_json(second)
    assert answer["error"] == "ApprovalRejected"
    assert "NOT run again" in answer["message"] and "outcome is unknown" in answer["message"]
    assert ran_file.read_text().count("ORD-crash") == 1
    assert status_of(alice, item["id"])["status"] == "running"


def test_an_agent_killed_while_waiting_asks_again_after_its_restart_and_the_call_runs_once(make_server, tmp_path):
    server, token = setup(make_server, str(tmp_path / "hitl.db"))
    ran_file = tmp_path / "ran.txt"
    first = agent(server, token, "task-wait-1", "ORD-agent-restart", ran_file)
    alice = server.person("alice", "alice-pw")
    item = pending(alice, "ORD-agent-restart")
    first.kill()
    first.communicate(timeout=10)
    second = agent(server, token, "task-wait-1", "ORD-agent-restart", ran_file)
    time.sleep(0.5)
    assert pending(alice, "ORD-agent-restart")["id"] == item["id"]  # the same request, still pending
    assert decide(alice, item, "approve").status_code == 200
    assert last_json(second) == {"result": "refunded ORD-agent-restart"}
    assert ran_file.read_text().count("ORD-agent-restart") == 1
    done = agent(server, token, "task-wait-1", "ORD-agent-restart", ran_file)  # and once more: recorded, not run
    answer = last_json(done)
    assert answer["error"] == "ApprovalRejected" and "outcome is recorded: succeeded" in answer["message"]
    assert ran_file.read_text().count("ORD-agent-restart") == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_ctrl_c_in_the_agent_cancels_its_request_on_the_dashboard(make_server, tmp_path, mode):
    server, token = setup(make_server, str(tmp_path / "hitl.db"))
    ran_file = tmp_path / "ran.txt"
    extra = ["--async"] if mode == "async" else []
    proc = agent(server, token, f"task-int-{mode}", f"ORD-interrupt-{mode}", ran_file, *extra)
    alice = server.person("alice", "alice-pw")
    item = pending(alice, f"ORD-interrupt-{mode}")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "KeyboardInterrupt" in err
    cancelled = wait_status(alice, item["id"], {"cancelled"})
    assert cancelled["status"] == "cancelled"
    assert decide(alice, cancelled, "approve").status_code == 409
    assert not ran_file.exists()


def test_a_request_timed_out_on_the_server_cannot_be_approved_after_and_the_agent_is_told(make_server, tmp_path):
    server, token = setup(make_server, str(tmp_path / "hitl.db"))
    ran_file = tmp_path / "ran.txt"
    proc = agent(server, token, "task-to-1", "ORD-server-timeout", ran_file, "--timeout", "2")
    answer = last_json(proc)
    assert answer["error"] == "ApprovalTimeout" and "did not run" in answer["message"]
    alice = server.person("alice", "alice-pw")
    item = pending(alice, "ORD-server-timeout", status="timed_out")
    assert decide(alice, item, "approve").status_code == 409
    assert not ran_file.exists()
