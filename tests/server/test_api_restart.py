"""Stopping the real server: SIGTERM answers the waiting long-polls and loses nothing; SIGKILL
loses nothing either; a restart on the same port and database carries on where it stopped."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_process import DashboardServer

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

PASSWORD = "restart-pass"


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DashboardServer]:
    cluster = None
    if request.param == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        db = cluster.create_database("restart")
    else:
        db = str(tmp_path / "hitl.db")
    srv = DashboardServer(db, log_path=tmp_path / "server.log")
    try:
        srv.start()
        srv.add_user("alice", PASSWORD, "ops")
        yield srv
    finally:
        srv.close()
        if cluster is not None:
            cluster.drop_database(db)


def _create(agent: httpx.Client, n: int) -> dict[str, Any]:
    answer = agent.post(
        "/api/requests",
        json={
            "client_request_id": f"restart-{n}",
            "fingerprint": f"fp-{n}",
            "function": "deploy",
            "risk": "medium",
            "view": {"arguments": [{"name": "env", "text": '"prod"'}], "approvable": True},
            "call_text": "deploy('prod')",
        },
    )
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_sigterm_answers_waiting_long_polls_and_loses_nothing(server: DashboardServer) -> None:
    token = server.add_token("agent-1")
    agent = server.agent(token)
    made = [_create(agent, i) for i in range(4)]
    alice = server.person("alice", PASSWORD)
    assert alice.post(f"/api/requests/{made[0]['id']}/decisions", json={"version": 1, "kind": "approve"}).status_code == 200

    answers: dict[int, tuple[float, httpx.Response | BaseException]] = {}

    def wait(i: int) -> None:
        client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        try:
            answer = client.get(f"/api/requests/{made[i]['id']}/wait", params={"version": 1, "timeout": 30})
            answers[i] = (time.monotonic(), answer)
        except BaseException as exc:  # recorded, asserted below
            answers[i] = (time.monotonic(), exc)
        finally:
            client.close()

    threads = [threading.Thread(target=wait, args=(i,)) for i in (1, 2, 3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.url}/healthz").json()["waiting"] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    events: list[str] = []

    def sse() -> None:
        with alice.stream("GET", "/api/events", timeout=60) as stream:
            for line in stream.iter_lines():
                events.append(line)
        events.append("<ended>")

    sse_thread = threading.Thread(target=sse)
    sse_thread.start()
    while httpx.get(f"{server.url}/healthz").json()["streams"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)

    signalled = time.monotonic()
    code = server.stop(signal.SIGTERM)
    stopped = time.monotonic() - signalled
    for t in threads:
        t.join(10)
    sse_thread.join(10)
    assert code == 0, server.log()
    assert stopped < 5, f"the graceful stop took {stopped:.1f} s (the 30 s long-polls held it up?)"
    for i in (1, 2, 3):
        at, answer = answers[i]
        assert isinstance(answer, httpx.Response), answer
        assert answer.status_code == 200 and answer.json()["status"] == "pending"  # answered, still pending
        assert at - signalled < 5
    assert events and events[-1] == "<ended>"  # the event stream ended cleanly
    print(f"\nSIGTERM with 3 long-polls + 1 event stream open: exited in {stopped * 1000:.0f} ms")

    server.start()  # same port, same database
    agent = server.agent(token)
    alice = server.person("alice", PASSWORD)
    again = [_create(agent, i) for i in range(4)]  # the agent's retry: same client ids -> the same requests
    assert [r["id"] for r in again] == [r["id"] for r in made]
    assert [r["status"] for r in again] == ["approved", "pending", "pending", "pending"]
    thread = threading.Thread(target=wait, args=(1,))
    thread.start()
    while httpx.get(f"{server.url}/healthz").json()["waiting"] < 1:
        time.sleep(0.01)
    alice.post(f"/api/requests/{made[1]['id']}/decisions", json={"version": 1, "kind": "reject", "feedback": "after restart"})
    thread.join(10)
    final = answers[1][1]
    assert isinstance(final, httpx.Response) and final.json()["status"] == "rejected"
    assert agent.post(f"/api/requests/{made[0]['id']}/claim", json={"version": 1}).json()["status"] == "running"


def test_sigkill_loses_nothing_and_a_claim_still_runs_once(server: DashboardServer) -> None:
    token = server.add_token("agent-1")
    agent = server.agent(token)
    alice = server.person("alice", PASSWORD)
    made = [_create(agent, i) for i in range(3)]
    alice.post(f"/api/requests/{made[0]['id']}/decisions", json={"version": 1, "kind": "approve"})
    alice.post(f"/api/requests/{made[1]['id']}/decisions", json={"version": 1, "kind": "approve"})
    assert agent.post(f"/api/requests/{made[1]['id']}/claim", json={"version": 1}).status_code == 200
    server.kill()
    server.start()
    agent = server.agent(token)
    states = [agent.get(f"/api/requests/{r['id']}").json() for r in made]
    assert [s["status"] for s in states] == ["approved", "running", "pending"]
    # the claim made before the crash holds: the agent that restarts and asks again cannot run it twice
    refused = agent.post(f"/api/requests/{made[1]['id']}/claim", json={"version": 1})
    assert refused.status_code == 409 and refused.json()["code"] == "claimed"
    assert agent.post(f"/api/requests/{made[0]['id']}/claim", json={"version": 1}).json()["status"] == "running"
    alice = server.person("alice", PASSWORD)
    log = alice.get(f"/api/requests/{made[0]['id']}/log").json()["items"]
    assert [(r["actor"], r["action"], r["accepted"]) for r in log] == [("alice", "approve", True), ("agent-1", "claim", True)]


def test_bad_options_and_databases_fail_clearly(tmp_path: Path) -> None:
    bad_policy = tmp_path / "policy.toml"
    bad_policy.write_text("[risk.high]\napprovals = 0\n")
    server = DashboardServer(str(tmp_path / "hitl.db"), policy=bad_policy, log_path=tmp_path / "a.log")
    with pytest.raises(Exception, match="approvals"):
        server.start(timeout=20)
    assert server.proc is not None and server.proc.returncode == 2
    unreadable = DashboardServer(str(tmp_path / "no-such-dir" / "x" / "hitl.db"), log_path=tmp_path / "b.log")
    with pytest.raises(Exception, match="cannot open the database"):
        unreadable.start(timeout=20)
    assert unreadable.proc is not None and unreadable.proc.returncode == 2


def test_a_database_that_goes_away_is_503_not_500(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """PostgreSQL dropped under a running server: 503 store_unavailable (retry later), never a 500."""
    cluster = request.getfixturevalue("pg_cluster")
    db = cluster.create_database("gone")
    server = DashboardServer(db, log_path=tmp_path / "server.log")
    try:
        server.start()
        agent = server.agent(server.add_token("agent-1"), timeout=90)
        assert _create(agent, 1)["status"] == "pending"
        cluster.drop_database(db)
        answer = agent.post("/api/requests", json={"client_request_id": "after", "fingerprint": "f", "function": "f"})
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "store_unavailable" and answer.headers["retry-after"] == "1"
        health = httpx.get(f"{server.url}/healthz", timeout=90)
        assert health.status_code == 503 and health.json()["status"] == "store_unavailable"
    finally:
        server.close()


def test_the_body_limit_and_root_path_options(tmp_path: Path) -> None:
    server = DashboardServer(
        str(tmp_path / "hitl.db"),
        extra_args=["--max-body-bytes", "4096", "--root-path", "/approvals"],
        log_path=tmp_path / "server.log",
    )
    try:
        server.start()
        assert server.prefix == "/approvals"  # the banner names the prefix
        agent = server.agent(server.add_token("agent-1"))  # its base URL carries the prefix
        small = agent.post("/api/requests", json={"client_request_id": "s", "fingerprint": "f", "function": "f"})
        assert small.status_code == 201
        body = {"client_request_id": "b", "fingerprint": "f", "function": "f", "call_text": "x" * 5000}
        big = agent.post("/api/requests", json=body)
        assert big.status_code == 413 and big.json()["code"] == "payload_too_large" and "4,096" in big.json()["error"]
        login = server.client().post("/login", data={"username": "nobody", "password": "x"})
        assert login.status_code == 303 and login.headers["location"] == "./login?error=invalid"
        server.add_user("alice", PASSWORD)
        ok = server.client().post("/login", data={"username": "alice", "password": PASSWORD})
        assert "path=/approvals/" in ok.headers["set-cookie"].lower()
    finally:
        server.close()
    refused = DashboardServer(str(tmp_path / "hitl.db"), extra_args=["--max-body-bytes", "10"], log_path=tmp_path / "b.log")
    with pytest.raises(Exception, match="at least 1024"):
        refused.start(timeout=20)


def test_decisions_acknowledged_during_a_sigterm_are_all_kept(server: DashboardServer) -> None:
    """Approvals sent in a loop while the server is told to stop: every one answered 200 is in
    the database after the restart, exactly once; none that failed was applied."""
    agent = server.agent(server.add_token("agent-1"))
    made = [_create(agent, 100 + i) for i in range(300)]  # more than a fast server answers before it stops
    alice = server.person("alice", PASSWORD)
    acked: list[str] = []
    failed: list[str] = []
    stop_now = threading.Event()

    def approve_all() -> None:
        for r in made:
            try:
                answer = alice.post(f"/api/requests/{r['id']}/decisions", json={"version": 1, "kind": "approve"})
            except httpx.HTTPError:
                failed.append(r["id"])
                break
            if answer.status_code == 200:
                acked.append(r["id"])
            else:
                failed.append(r["id"])
                break
            if len(acked) == 10:
                stop_now.set()

    thread = threading.Thread(target=approve_all)
    thread.start()
    assert stop_now.wait(30)
    assert server.stop(signal.SIGTERM) == 0
    thread.join(30)
    assert 10 <= len(acked) < len(made), (len(acked), failed)
    server.start()
    alice = server.person("alice", PASSWORD)
    statuses = {r["id"]: alice.get(f"/api/requests/{r['id']}").json()["status"] for r in made}
    assert {rid for rid, s in statuses.items() if s == "approved"} == set(acked)
    for rid in acked:
        log = alice.get(f"/api/requests/{rid}/log").json()["items"]
        assert [(e["actor"], e["action"], e["accepted"]) for e in log] == [("alice", "approve", True)]
    print(f"\n{len(acked)} approvals acknowledged before the SIGTERM, all kept; the next one failed and was not applied")
