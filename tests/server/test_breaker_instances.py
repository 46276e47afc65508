"""Two ``hitl dashboard`` instances on one PostgreSQL database, hammered at once: one person
approving from a session on each instance counts once; claims of one approved request sent to
both instances run it once.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_process import DashboardServer

from hitl_widget.dashboard.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.threads, pytest.mark.timeout(180)]

POLICY = """
[risk.high]
approvals = 2
roles = ["ops"]
"""


@pytest.fixture
def two(tmp_path: Path, pg_cluster: Any) -> Iterator[tuple[DashboardServer, DashboardServer, str]]:
    db = pg_cluster.create_database("breaker_two")
    (tmp_path / "policy.toml").write_text(POLICY)
    with open_store(db) as store:
        store.add_user("alice", "alice-pw", ("ops",))
        token = store.add_token("agent-1")
    one = DashboardServer(db, policy=tmp_path / "policy.toml", log_path=tmp_path / "one.log")
    other = DashboardServer(db, policy=tmp_path / "policy.toml", log_path=tmp_path / "other.log")
    try:
        one.start()
        other.start()
        yield one, other, token
    finally:
        one.close()
        other.close()
        pg_cluster.drop_database(db)


Two = tuple[DashboardServer, DashboardServer, str]


def test_one_person_on_two_instances_counts_once_and_claims_on_both_run_once(two: Two) -> None:
    one, other, token = two
    agents = [one.agent(token), other.agent(token)]
    made = agents[0].post("/api/requests", json={
        "client_request_id": "c-1", "fingerprint": "f", "function": "refund", "risk": "high",
        "view": {"arguments": [], "approvable": True},
    }).json()  # fmt: skip
    rid = made["id"]
    sessions = [one.person("alice", "alice-pw"), other.person("alice", "alice-pw")]

    def approve(i: int) -> int:
        return sessions[i % 2].post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}).status_code

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(approve, range(20)))
    assert codes.count(200) == 1 and codes.count(409) == 19, codes
    got = agents[1].get(f"/api/requests/{rid}").json()
    assert got["status"] == "pending" and got["approved_by"] == ["alice"]

    # a second approver (the quorum), then claims raced on both instances
    with open_store(one.db) as store:
        store.add_user("bob", "bob-pw", ("ops",))
    bob = one.person("bob", "bob-pw")
    assert bob.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}).status_code == 200

    def claim(i: int) -> int:
        return agents[i % 2].post(f"/api/requests/{rid}/claim", json={"version": 1}).status_code

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        claims = list(pool.map(claim, range(20)))
    assert claims.count(200) == 1 and claims.count(409) == 19, claims
    log = sessions[0].get(f"/api/requests/{rid}/log").json()["items"]
    assert [r["action"] for r in log if r["accepted"]] == ["approve", "approve", "claim"]
