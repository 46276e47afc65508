"""The dashboard's HTTP API against a real ``python -m hitl_widget dashboard`` process, on a real
SQLite file and on a real PostgreSQL database: every endpoint, its auth, its refusals.

One server per backend for the whole module (users and tokens made through the CLI); each test
makes its own requests, so tests do not depend on one another.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_process import DashboardServer

from hitl_widget.dashboard.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

POLICY = """
[risk.high]
approvals = 2
roles = ["ops"]

[risk.critical]
approvals = 1
roles = ["manager"]
"""
PASSWORD = "s3cret-pass"
_ids = itertools.count(1)


@dataclass
class Api:
    server: DashboardServer
    db: str
    tokens: dict[str, str]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def agent(self, name: str = "agent-1") -> httpx.Client:
        key = f"agent:{name}"
        if key not in self.clients:
            self.clients[key] = self.server.agent(self.tokens[name])
        return self.clients[key]

    def person(self, name: str) -> httpx.Client:
        key = f"person:{name}"
        if key not in self.clients:
            self.clients[key] = self.server.person(name, PASSWORD)
        return self.clients[key]

    def create(self, agent: str = "agent-1", **fields: Any) -> dict[str, Any]:
        answer = self.agent(agent).post("/api/requests", json=new_body(**fields))
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body


def new_body(**fields: Any) -> dict[str, Any]:
    n = next(_ids)
    body: dict[str, Any] = {
        "client_request_id": f"call-{n}-{time.time_ns()}",
        "fingerprint": f"fp-{n}",
        "function": "refund",
        "risk": "medium",
        "timeout_s": None,
        "on_behalf_of": None,
        "view": {
            "function": "refund",
            "arguments": [{"name": "order_id", "text": '"A-1"'}, {"name": "amount", "text": "120.0"}],
            "approvable": True,
        },
        "call_text": "refund(order_id='A-1', amount=120.0)",
        "context": {"ticket": n},
    }
    body.update(fields)
    return body


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp(f"api-{request.param}")
    cluster = None
    if request.param == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        db = cluster.create_database("api")
    else:
        db = str(tmp / "hitl.db")
    policy = tmp / "policy.toml"
    policy.write_text(POLICY)
    server = DashboardServer(db, policy=policy, log_path=tmp / "server.log")
    try:
        server.start()
        people = {"alice": ["ops"], "bob": ["ops"], "carol": ["manager"], "dave": [], "erin": ["ops", "manager"]}
        for name, roles in people.items():
            server.add_user(name, PASSWORD, *roles)
        tokens = {name: server.add_token(name) for name in ("agent-1", "agent-2")}
        yield Api(server=server, db=db, tokens=tokens)
    finally:
        server.close()
        if cluster is not None:
            cluster.drop_database(db)


def error(answer: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is the JSON error ``{"error", "code"}`` with ``status`` (and ``code``)."""
    assert answer.status_code == status, f"{answer.status_code} {answer.text}"
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error", "code"}, body
    assert isinstance(body["error"], str) and body["error"]
    if code is not None:
        assert body["code"] == code, body
    return body


# -- create / read -------------------------------------------------------------------------------


def test_create_is_idempotent_on_client_id_and_fingerprint(api: Api) -> None:
    agent = api.agent()
    body = new_body()
    first = agent.post("/api/requests", json=body)
    assert first.status_code == 201
    created = first.json()
    assert created["status"] == "pending" and created["version"] == 1 and created["agent"] == "agent-1"
    assert created["function"] == "refund" and created["context"] == body["context"]
    assert created["approvals_needed"] == 1 and created["roles"] == []
    again = agent.post("/api/requests", json=body)
    assert again.status_code == 200 and again.json()["id"] == created["id"]
    other = agent.post("/api/requests", json={**body, "fingerprint": "another call"})
    error(other, 409, "fingerprint")
    # the same client id from another agent is another request
    theirs = api.agent("agent-2").post("/api/requests", json=body)
    assert theirs.status_code == 201 and theirs.json()["id"] != created["id"]


def test_policy_is_copied_into_the_request(api: Api) -> None:
    high = api.create(risk="high")
    assert high["approvals_needed"] == 2 and high["roles"] == ["ops"]
    critical = api.create(risk="critical")
    assert critical["approvals_needed"] == 1 and critical["roles"] == ["manager"]


def test_create_refuses_malformed_bodies(api: Api) -> None:
    agent = api.agent()
    error(agent.post("/api/requests", content=b"{not json", headers={"content-type": "application/json"}), 422, "invalid_json")
    error(agent.post("/api/requests", json=[1, 2]), 422, "invalid_body")
    missing = error(agent.post("/api/requests", json={"fingerprint": "f", "function": "f"}), 422, "invalid_body")
    assert "client_request_id" in missing["error"]
    typo = error(agent.post("/api/requests", json={**new_body(), "on_behalf": "bob"}), 422, "invalid_body")
    assert "on_behalf" in typo["error"]  # an unknown field is refused, never silently dropped
    error(agent.post("/api/requests", json={**new_body(), "timeout_s": -1}), 422)
    error(agent.post("/api/requests", json={**new_body(), "client_request_id": 7}), 422, "invalid_body")


def test_hostile_argument_text_is_kept_as_text(api: Api) -> None:
    """Markup, control characters, bidi overrides and deep nesting: stored and returned exactly as
    sent (the pages show it as text), or refused with 422 (JSON too deep) — never a 500."""
    hostile = "<script>alert(1)</script>\x1b[2J\x7f\u202eevil\u200b\"'</textarea>\\u0000"
    req = api.create(call_text=hostile, context={"note": hostile}, function="<b>refund</b>")
    got = api.agent().get(f"/api/requests/{req['id']}").json()
    assert got["call_text"] == hostile and got["context"] == {"note": hostile} and got["function"] == "<b>refund</b>"
    # a raw NUL: refused on both backends alike (PostgreSQL cannot store it), never a 500
    nul = error(api.agent().post("/api/requests", json=new_body(context={"deep": [{"a\x00": 1}]})), 422, "invalid_text")
    assert "body.context.deep[0]" in nul["error"]
    error(api.agent().post("/api/requests", json=new_body(call_text="a\x00b")), 422, "invalid_text")
    error(api.agent().get("/api/requests/a%00b"), 404, "not_found")
    error(api.agent().get("/api/requests/" + "x" * 300), 404, "not_found")
    error(api.server.client().post("/login", json={"username": "alice\x00", "password": PASSWORD}), 422)
    error(api.server.client().post("/login", json={"username": "dave", "password": "x\x00"}), 401, "invalid_login")
    deep = "[" * 100_000 + "]" * 100_000
    body = json.dumps(new_body())[:-1] + f', "context": {{"x": {deep}}}}}'
    error(api.agent().post("/api/requests", content=body.encode(), headers={"content-type": "application/json"}), 422)
    nested: Any = "leaf"
    for _ in range(900):
        nested = [nested]
    answer = api.agent().post("/api/requests", json=new_body(context={"nested": nested}))
    assert answer.status_code in (201, 422), answer.text  # stored whole, or refused as too deep


def test_create_needs_an_agent_token(api: Api) -> None:
    anonymous = api.server.client()
    error(anonymous.post("/api/requests", json=new_body()), 401, "unauthenticated")
    forged = api.server.client(headers={"Authorization": "Bearer hitl_forged0000000000000000000000000000000000"})
    error(forged.post("/api/requests", json=new_body()), 401, "invalid_token")
    error(
        api.server.client(headers={"Authorization": "Basic YWxpY2U6cHc="}).post("/api/requests", json=new_body()),
        401,
        "bad_authorization",
    )
    # a person (session + CSRF) is not an agent
    error(api.person("alice").post("/api/requests", json=new_body()), 403, "agents_only")


def test_get_request_and_its_visibility(api: Api) -> None:
    mine = api.create()
    got = api.agent().get(f"/api/requests/{mine['id']}")
    assert got.status_code == 200 and got.json() == mine
    assert got.headers["cache-control"] == "no-store"
    assert api.person("dave").get(f"/api/requests/{mine['id']}").json()["id"] == mine["id"]
    # another agent cannot read it (nor learn that it exists)
    error(api.agent("agent-2").get(f"/api/requests/{mine['id']}"), 404, "not_found")
    error(api.agent().get("/api/requests/no-such-request"), 404, "not_found")
    error(api.server.client().get(f"/api/requests/{mine['id']}"), 401)


def test_list_filters_orders_and_pages(api: Api) -> None:
    fn = f"list_fn_{time.time_ns()}"
    made = [api.create(function=fn, risk="low" if i % 2 else "medium", on_behalf_of="zoe" if i == 4 else None) for i in range(5)]
    alice = api.person("alice")
    alice.post(f"/api/requests/{made[0]['id']}/decisions", json={"version": 1, "kind": "reject", "feedback": "no"})
    page = alice.get("/api/requests", params={"function": fn, "limit": 2})
    assert page.status_code == 200
    body = page.json()
    # pending first, oldest first: made[1], made[2] ... then the rejected made[0]
    assert [r["id"] for r in body["items"]] == [made[1]["id"], made[2]["id"]]
    seen = [r["id"] for r in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        body = alice.get("/api/requests", params={"function": fn, "limit": 2, "cursor": cursor}).json()
        seen += [r["id"] for r in body["items"]]
        cursor = body["next_cursor"]
    assert seen == [made[i]["id"] for i in (1, 2, 3, 4, 0)]
    low = alice.get("/api/requests", params={"function": fn, "risk": "low"}).json()["items"]
    assert {r["id"] for r in low} == {made[1]["id"], made[3]["id"]}
    rejected = alice.get("/api/requests", params={"function": fn, "status": "rejected,cancelled"}).json()["items"]
    assert [r["id"] for r in rejected] == [made[0]["id"]]
    zoe = alice.get("/api/requests", params={"function": fn, "requester": "zoe"}).json()["items"]
    assert [r["id"] for r in zoe] == [made[4]["id"]]
    newest = alice.get("/api/requests", params={"function": fn, "order": "newest", "limit": 1}).json()["items"]
    assert newest[0]["id"] == made[4]["id"]
    error(alice.get("/api/requests", params={"status": "bogus"}), 422)
    error(alice.get("/api/requests", params={"limit": "0"}), 422)
    error(alice.get("/api/requests", params={"limit": "ten"}), 422, "invalid_query")
    error(alice.get("/api/requests", params={"stauts": "pending"}), 422, "invalid_query")
    error(alice.get("/api/requests", params={"cursor": "not-a-cursor"}), 422)
    error(api.agent().get("/api/requests"), 403, "people_only")


def test_me(api: Api) -> None:
    me = api.person("carol").get("/api/me").json()
    assert me["name"] == "carol" and me["kind"] == "person" and me["roles"] == ["manager"]
    assert len(me["csrf_token"]) == 64
    agent = api.agent().get("/api/me").json()
    assert agent == {"name": "agent-1", "kind": "agent", "roles": [], "csrf_token": None}
    error(api.server.client().get("/api/me"), 401, "unauthenticated")


# -- decisions -----------------------------------------------------------------------------------


def test_approve_then_stale_and_repeated_decisions_change_nothing(api: Api) -> None:
    req = api.create()
    alice = api.person("alice")
    done = alice.post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "approve", "feedback": "ok"})
    assert done.status_code == 200
    approved = done.json()
    assert approved["status"] == "approved" and approved["decision"]["by"] == ["alice"]
    error(alice.post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "approve"}), 409, "already_decided")
    error(api.person("bob").post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "reject"}), 409)
    assert api.agent().get(f"/api/requests/{req['id']}").json() == approved
    log = alice.get(f"/api/requests/{req['id']}/log").json()["items"]
    assert [(r["actor"], r["action"], r["accepted"]) for r in log] == [
        ("alice", "approve", True),
        ("alice", "approve", False),
        ("bob", "reject", False),
    ]


def test_quorum_roles_no_double_counting_and_edit_versions(api: Api) -> None:
    req = api.create(risk="high")  # 2 approvals of ops
    rid = req["id"]
    alice, bob, dave, carol = (api.person(n) for n in ("alice", "bob", "dave", "carol"))
    error(dave.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}), 403, "role")
    error(carol.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}), 403, "role")
    one = alice.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}).json()
    assert one["status"] == "pending" and one["approved_by"] == ["alice"]
    error(alice.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}), 409, "repeated")
    # bob edits: version 2, his edit counts as his approval, alice's (of version 1) no longer counts
    edited = bob.post(
        f"/api/requests/{rid}/decisions",
        json={"version": 1, "kind": "edit", "edits": {"amount": {"json": 60}}, "feedback": "half"},
    )
    assert edited.status_code == 200, edited.text
    e = edited.json()
    assert e["version"] == 2 and e["status"] == "pending" and e["approved_by"] == ["bob"]
    assert e["edits"] == {"amount": {"json": 60}}
    error(alice.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}), 409, "stale")
    final = alice.post(f"/api/requests/{rid}/decisions", json={"version": 2, "kind": "approve"}).json()
    assert final["status"] == "approved" and final["decision"]["kind"] == "edit"
    assert sorted(final["decision"]["by"]) == ["alice", "bob"]


def test_the_requester_cannot_approve_their_own_request(api: Api) -> None:
    req = api.create(on_behalf_of="alice")
    alice = api.person("alice")
    error(alice.post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "approve"}), 403, "self_approval")
    error(
        alice.post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "edit", "edits": {"amount": {"json": 1}}}),
        403,
        "self_approval",
    )
    assert api.agent().get(f"/api/requests/{req['id']}").json()["status"] == "pending"
    ok = api.person("bob").post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "approve"})
    assert ok.json()["status"] == "approved"


def test_decision_bodies_are_checked(api: Api) -> None:
    req = api.create()
    alice = api.person("alice")
    url = f"/api/requests/{req['id']}/decisions"
    error(alice.post(url, json={"version": 1, "kind": "maybe"}), 422, "invalid_body")
    error(alice.post(url, json={"version": "1", "kind": "approve"}), 422, "invalid_body")
    error(alice.post(url, json={"version": 1, "kind": "approve", "by": "carol"}), 422, "invalid_body")  # no identity in bodies
    error(alice.post(url, json={"version": 1, "kind": "edit"}), 422)
    error(alice.post(url, json={"version": 1, "kind": "edit", "edits": {"nope": {"json": 1}}}), 422)
    error(alice.post("/api/requests/no-such/decisions", json={"version": 1, "kind": "approve"}), 404)
    error(api.agent().post(url, json={"version": 1, "kind": "approve"}), 403, "people_only")
    assert alice.get(f"/api/requests/{req['id']}").json()["status"] == "pending"


def test_bulk_decisions_report_each_item(api: Api) -> None:
    a, b, c = api.create(), api.create(), api.create(on_behalf_of="alice")
    alice = api.person("alice")
    alice.post(f"/api/requests/{b['id']}/decisions", json={"version": 1, "kind": "reject"})
    answer = alice.post(
        "/api/decisions",
        json={
            "items": [
                {"id": a["id"], "version": 1},
                {"id": b["id"], "version": 1},
                {"id": c["id"], "version": 1},
                {"id": "missing", "version": 1},
            ],
            "kind": "approve",
            "feedback": "batch ok",
        },
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["id"] for r in results] == [a["id"], b["id"], c["id"], "missing"]
    assert results[0]["ok"] is True and results[0]["status"] == "approved"
    assert results[1]["ok"] is False and results[1]["code"] == "already_decided"
    assert results[2]["ok"] is False and results[2]["code"] == "self_approval"
    assert results[3]["ok"] is False and results[3]["code"] == "not_found"
    error(alice.post("/api/decisions", json={"items": [], "kind": "approve"}), 422)
    error(alice.post("/api/decisions", json={"items": [{"id": a["id"], "version": 1}], "kind": "edit"}), 422)


# -- agent steps ---------------------------------------------------------------------------------


def test_claim_once_then_outcome(api: Api) -> None:
    req = api.create()
    agent = api.agent()
    error(agent.post(f"/api/requests/{req['id']}/claim", json={"version": 1}), 409, "not_approved")
    api.person("alice").post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "approve"})
    error(api.agent("agent-2").post(f"/api/requests/{req['id']}/claim", json={"version": 1}), 403, "not_your_request")
    claimed = agent.post(f"/api/requests/{req['id']}/claim", json={"version": 1})
    assert claimed.status_code == 200 and claimed.json()["status"] == "running"
    error(agent.post(f"/api/requests/{req['id']}/claim", json={"version": 1}), 409, "claimed")
    done = agent.post(f"/api/requests/{req['id']}/outcome", json={"status": "succeeded", "detail": "refunded"})
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    assert done.json()["outcome"]["detail"] == "refunded"
    error(agent.post(f"/api/requests/{req['id']}/outcome", json={"status": "failed"}), 409)
    error(agent.post(f"/api/requests/{req['id']}/outcome", json={"status": "exploded"}), 422)


def test_invalid_edit_reopens_and_cancel(api: Api) -> None:
    req = api.create()
    agent = api.agent()
    api.person("alice").post(
        f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "edit", "edits": {"amount": {"text": "lots"}}}
    )
    reopened = agent.post(
        f"/api/requests/{req['id']}/invalid-edit",
        json={"version": 2, "error": "amount: not a number", "problems": {"amount": "not a number"}},
    )
    assert reopened.status_code == 200, reopened.text
    r = reopened.json()
    assert r["status"] == "pending" and r["version"] == 3 and r["problems"]["error"] == "amount: not a number"
    cancelled = agent.post(f"/api/requests/{req['id']}/cancel", json={"reason": "agent stopped"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    error(agent.post(f"/api/requests/{req['id']}/cancel", json={"reason": "again"}), 409)
    error(api.person("alice").post(f"/api/requests/{req['id']}/cancel", json={}), 403, "agents_only")


# -- waiting -------------------------------------------------------------------------------------


def test_wait_answers_at_once_when_decided_and_after_the_timeout_when_not(api: Api) -> None:
    req = api.create()
    agent = api.agent()
    t0 = time.monotonic()
    still = agent.get(f"/api/requests/{req['id']}/wait", params={"version": 1, "timeout": 0.5})
    waited = time.monotonic() - t0
    assert still.status_code == 200 and still.json()["status"] == "pending"
    assert waited >= 0.45
    api.person("alice").post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "reject", "feedback": "no"})
    t0 = time.monotonic()
    done = agent.get(f"/api/requests/{req['id']}/wait", params={"version": 1, "timeout": 20})
    assert done.json()["status"] == "rejected" and done.json()["decision"]["feedback"] == "no"
    assert time.monotonic() - t0 < 5
    error(agent.get(f"/api/requests/{req['id']}/wait", params={"timeout": 31}), 422, "invalid_query")
    error(agent.get(f"/api/requests/{req['id']}/wait", params={"timeout": "soon"}), 422, "invalid_query")
    error(agent.get(f"/api/requests/{req['id']}/wait", params={"version": "x"}), 422, "invalid_query")
    error(api.agent("agent-2").get(f"/api/requests/{req['id']}/wait"), 404)


def _wait_in_thread(client: httpx.Client, rid: str, version: int, timeout: float = 20) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        answer = client.get(f"/api/requests/{rid}/wait", params={"version": version, "timeout": timeout})
        out["at"] = time.perf_counter()
        out["answer"] = answer

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _until_waiting(server: DashboardServer, n: int = 1) -> None:
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.url}/healthz").json()["waiting"] < n:
        assert time.monotonic() < deadline, "the wait never registered"
        time.sleep(0.01)


def test_a_decision_wakes_a_waiting_long_poll(api: Api) -> None:
    """The figure: decision sent → the waiting agent has the answer (printed; asserted only loosely)."""
    agent_wait = api.server.agent(api.tokens["agent-1"])
    alice = api.person("alice")
    latencies = []
    for _ in range(10):
        req = api.create()
        thread, out = _wait_in_thread(agent_wait, req["id"], 1)
        _until_waiting(api.server)
        sent = time.perf_counter()
        alice.post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "approve"})
        thread.join(20)
        assert out["answer"].json()["status"] == "approved"
        latencies.append((out["at"] - sent) * 1000)
    latencies.sort()
    backend = "postgresql" if api.db.startswith("postgresql") else "sqlite"
    print(f"\n[{backend}] decide sent -> wait answered: p50 {latencies[5]:.1f} ms, max {latencies[-1]:.1f} ms")
    assert latencies[5] < 1000  # woken by the event, not by the 20 s timeout


def test_an_edit_wakes_a_wait_on_the_old_version(api: Api) -> None:
    req = api.create(risk="high")
    thread, out = _wait_in_thread(api.server.agent(api.tokens["agent-1"]), req["id"], 1)
    _until_waiting(api.server)
    api.person("alice").post(
        f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "edit", "edits": {"amount": {"json": 5}}}
    )
    thread.join(20)
    woke = out["answer"].json()
    assert woke["status"] == "pending" and woke["version"] == 2  # not pending at version 1 any more


def test_a_wait_sees_a_change_no_one_announced(api: Api) -> None:
    """The safety net for a lost notification: a waiting long-poll re-reads its request every
    5 s on its own. (The change here is written straight into the SQLite file, bypassing the
    store's change table, so no notification exists at all.)"""
    if api.db.startswith("postgresql"):
        pytest.skip("written with sqlite3 into the SQLite file")
    import sqlite3

    req = api.create()
    thread, out = _wait_in_thread(api.server.agent(api.tokens["agent-1"]), req["id"], 1, timeout=25)
    _until_waiting(api.server)
    written = time.perf_counter()
    with sqlite3.connect(api.db) as conn:
        conn.execute("UPDATE requests SET status = 'cancelled', queue_rank = 1 WHERE id = ?", (req["id"],))
    thread.join(30)
    assert out["answer"].json()["status"] == "cancelled"
    assert out["at"] - written < 8  # the 5 s re-read, not the 25 s poll


def test_the_server_times_out_a_request_fail_closed(api: Api) -> None:
    req = api.create(timeout_s=1.0)
    agent = api.agent()
    t0 = time.monotonic()
    answer = agent.get(f"/api/requests/{req['id']}/wait", params={"version": 1, "timeout": 10}).json()
    assert answer["status"] == "timed_out" and answer["decision"] is None
    assert 0.9 <= time.monotonic() - t0 < 5
    error(
        api.person("alice").post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "approve"}), 409, "expired"
    )
    # no one waiting: the server's own timeout task marks it
    other = api.create(timeout_s=0.5)
    deadline = time.monotonic() + 15
    while (status := agent.get(f"/api/requests/{other['id']}").json()["status"]) == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)  # until the server's timeout task has marked it (no fixed sleep)
    assert status == "timed_out"


# -- live updates --------------------------------------------------------------------------------


def test_event_stream_sends_each_change(api: Api) -> None:
    carol = api.person("carol")
    req = api.create()
    events: list[dict[str, Any]] = []
    with carol.stream("GET", "/api/events", timeout=20) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        api.person("alice").post(f"/api/requests/{req['id']}/decisions", json={"version": 1, "kind": "approve"})
        event = None
        for line in lines:
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "request":
                payload = json.loads(line.split(":", 1)[1])
                events.append(payload)
                if payload["id"] == req["id"] and payload["status"] == "approved":
                    break
    assert {"id": req["id"], "status": "approved", "version": 1} in events
    error(api.agent().get("/api/events"), 403, "people_only")
    error(api.server.client().get("/api/events"), 401)


# -- people: login, sessions, CSRF ---------------------------------------------------------------


def test_login_sets_a_strict_http_only_cookie(api: Api) -> None:
    client = api.server.client()
    answer = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["location"] == "./"  # relative: right under any prefix
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("hitl_session=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags and "secure" not in flags
    # behind a TLS-terminating proxy on loopback: Secure
    https = api.server.client().post(
        "/login", data={"username": "alice", "password": PASSWORD}, headers={"X-Forwarded-Proto": "https"}
    )
    assert "secure" in {p.strip().lower() for p in https.headers["set-cookie"].split(";")}
    nxt = client.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/requests/abc"})
    assert nxt.headers["location"] == "./requests/abc"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        answer = client.post("/login", data={"username": "alice", "password": PASSWORD, "next": evil})
        assert answer.headers["location"] == "./", evil
    scheme_like = client.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/javascript:alert(1)"})
    assert scheme_like.headers["location"] == "./javascript:alert(1)"  # a path under the app, never a scheme
    wrong = api.server.client().post("/login", data={"username": "alice", "password": "nope"})
    assert wrong.status_code == 303 and wrong.headers["location"] == "./login?error=invalid"
    assert "set-cookie" not in wrong.headers
    error(api.server.client().post("/login", json={"username": "alice", "password": "nope"}), 401, "invalid_login")
    error(api.server.client().post("/login", json={"username": "agent-1", "password": "x"}), 401, "invalid_login")
    error(
        api.server.client().post(
            "/login", data={"username": "alice", "password": PASSWORD}, headers={"Sec-Fetch-Site": "cross-site"}
        ),
        403,
        "cross_site",
    )


def test_repeated_failed_logins_are_slowed_down(api: Api) -> None:
    client = api.server.client()
    codes = [client.post("/login", json={"username": "erin", "password": f"guess-{i}"}).status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and 429 in codes[5:]
    limited = client.post("/login", json={"username": "erin", "password": PASSWORD})
    body = error(limited, 429, "too_many_attempts")
    assert int(limited.headers["retry-after"]) >= 1 and "try again" in body["error"]


def test_posts_by_people_need_the_sessions_csrf_token(api: Api) -> None:
    req = api.create()
    url = f"/api/requests/{req['id']}/decisions"
    bob = api.server.person("bob", PASSWORD)
    token = bob.headers.pop("X-CSRF-Token")
    error(bob.post(url, json={"version": 1, "kind": "approve"}), 403, "csrf_missing")
    other = api.person("alice").get("/api/me").json()["csrf_token"]  # alice's session's token
    error(bob.post(url, json={"version": 1, "kind": "approve"}, headers={"X-CSRF-Token": other}), 403, "csrf_invalid")
    error(
        bob.post(url, json={"version": 1, "kind": "approve"}, headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}),
        403,
        "cross_site",
    )
    error(bob.post("/api/decisions", json={"items": [{"id": req["id"], "version": 1}], "kind": "approve"}), 403, "csrf_missing")
    assert bob.get(f"/api/requests/{req['id']}").json()["status"] == "pending"
    assert bob.post(url, json={"version": 1, "kind": "approve"}, headers={"X-CSRF-Token": token}).json()["status"] == "approved"


def test_logout_ends_the_session(api: Api) -> None:
    dave = api.server.person("dave", PASSWORD)
    cookie = dave.cookies["hitl_session"]
    token = dave.headers.pop("X-CSRF-Token")
    error(dave.post("/logout", headers={"Accept": "application/json"}), 403, "csrf_missing")
    out = dave.post("/logout", headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert out.status_code == 200 and out.json() == {"ok": True}
    stale = api.server.client(cookies={"hitl_session": cookie})
    error(stale.get("/api/me"), 401, "session_expired")


def test_ended_sessions_and_revoked_tokens_are_refused(api: Api) -> None:
    erin_like = api.server.person("carol", PASSWORD)
    agent_token = api.server.add_token("agent-temp")
    agent = api.server.agent(agent_token)
    assert agent.post("/api/requests", json=new_body()).status_code == 201
    with open_store(api.db) as store:
        assert store.end_sessions("carol") >= 1
        assert store.revoke_token("agent-temp") >= 1
    error(erin_like.get("/api/me"), 401, "session_expired")
    error(agent.post("/api/requests", json=new_body()), 401, "invalid_token")
    api.clients.pop("person:carol", None)  # its session ended too


def test_an_expired_session_is_refused(api: Api) -> None:
    with open_store(api.db) as store:
        bob = store.get_user("bob")
        assert bob is not None
        short = store.create_session(bob, ttl_s=0.5)
    client = api.server.client(cookies={"hitl_session": short})
    assert client.get("/api/me").json()["name"] == "bob"
    deadline = time.monotonic() + 15
    while (me := client.get("/api/me")).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the half-second session has run out (no fixed sleep)
    error(me, 401, "session_expired")
    from hitl_widget.dashboard.sessions import csrf_token

    req = api.create()
    refused = client.post(
        f"/api/requests/{req['id']}/decisions",
        json={"version": 1, "kind": "approve"},
        headers={"X-CSRF-Token": csrf_token(short)},
    )  # even with the right CSRF token
    error(refused, 401, "session_expired")
    assert api.agent().get(f"/api/requests/{req['id']}").json()["status"] == "pending"


def test_get_changes_nothing(api: Api) -> None:
    """A chat preview bot or a prefetch that GETs every link decides nothing."""
    req = api.create()
    alice = api.person("alice")
    for path in (
        f"/api/requests/{req['id']}",
        f"/api/requests/{req['id']}/decisions",
        f"/api/requests/{req['id']}/claim",
        f"/requests/{req['id']}",
        "/logout",
        "/api/decisions",
    ):
        alice.get(path)
        api.server.client().get(path)
    error(alice.get(f"/api/requests/{req['id']}/decisions"), 405, "method_not_allowed")
    after = alice.get(f"/api/requests/{req['id']}").json()
    assert after["status"] == "pending" and after["approvals"] == []
    assert alice.get(f"/api/requests/{req['id']}/log").json()["items"] == []
    assert alice.get("/api/me").status_code == 200  # GET /logout did not log out


# -- limits, errors, prefix ----------------------------------------------------------------------


def test_a_huge_body_gets_413(api: Api) -> None:
    agent = api.agent()
    huge = new_body(call_text="x" * (5 * 1024 * 1024))
    body = error(agent.post("/api/requests", json=huge), 413, "payload_too_large")
    assert "limit" in body["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b'{"client_request_id": "c", "call_text": "'
        for _ in range(600):
            yield b"y" * 10_000
        yield b'"}'

    error(agent.post("/api/requests", content=chunks(), headers={"content-type": "application/json"}), 413, "payload_too_large")
    # the server is fine afterwards, and nothing was created
    assert api.create()["status"] == "pending"


def test_unknown_paths_and_methods_are_json_errors(api: Api) -> None:
    client = api.server.client()
    error(client.get("/api/nothing-here"), 404, "not_found")
    error(client.delete("/api/requests"), 405, "method_not_allowed")
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.headers["x-content-type-options"] == "nosniff"


def test_a_path_prefix_from_the_proxy(api: Api) -> None:
    """jupyter-server-proxy strips /hitl and sends X-Forwarded-Prefix: the cookie's path keeps it
    (redirects are relative, so they need no prefix)."""
    client = api.server.client(headers={"X-Forwarded-Prefix": "/user/me/hitl"})
    answer = client.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/requests/r1"})
    assert answer.status_code == 303 and answer.headers["location"] == "./requests/r1"
    assert "path=/user/me/hitl/" in answer.headers["set-cookie"].lower()
    assert client.get("/healthz").status_code == 200
    # (the browser sends the cookie under /user/me/hitl/; this client is told to)
    session = {"Cookie": answer.headers["set-cookie"].split(";")[0]}
    assert client.get("/api/me", headers=session).json()["name"] == "alice"  # the routes match without the prefix
    # a proxy that passes the prefix on (does not strip it) works too
    assert client.get("/user/me/hitl/api/me", headers=session).json()["name"] == "alice"
    # a prefix that is not a plain path is ignored
    evil = api.server.client(headers={"X-Forwarded-Prefix": "//evil.example"})
    assert "path=/;" in evil.post("/login", data={"username": "alice", "password": PASSWORD}).headers["set-cookie"].lower()
