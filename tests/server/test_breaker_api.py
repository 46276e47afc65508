"""A hostile or careless agent against a real ``hitl dashboard`` (SQLite and PostgreSQL): bodies
and queries that must be refused with a clear 4xx (or stored), never a 500, and never leave a
request behind that breaks the queue for everyone.

One server per backend for the module; each test makes its own requests.
"""

from __future__ import annotations

import base64
import itertools
import json
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

PASSWORD = "breaker-pass"
_ids = itertools.count(1)


@dataclass
class Api:
    server: DashboardServer
    backend: str
    tokens: dict[str, str]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def agent(self, name: str = "agent-1") -> httpx.Client:
        key = f"agent:{name}"
        if key not in self.clients:
            # a fresh connection per request: a 500 closes the connection it was sent on
            self.clients[key] = self.server.agent(self.tokens[name])
            self.clients[key].headers["Connection"] = "close"
        return self.clients[key]

    def person(self, name: str = "alice") -> httpx.Client:
        key = f"person:{name}"
        if key not in self.clients:
            self.clients[key] = self.server.person(name, PASSWORD)
            self.clients[key].headers["Connection"] = "close"
        return self.clients[key]

    def create(self, **fields: Any) -> dict[str, Any]:
        answer = self.agent().post("/api/requests", json=body(**fields))
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def queue_reads(self) -> None:
        """The queue (every page of it) and each request on it still read for a person."""
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = self.person().get("/api/requests", params=params)
            assert page.status_code == 200, page.text
            cursor = page.json()["next_cursor"]
            if not cursor:
                return


def body(**fields: Any) -> dict[str, Any]:
    n = next(_ids)
    made: dict[str, Any] = {
        "client_request_id": f"brk-{n}-{time.time_ns()}",
        "fingerprint": f"fp-{n}",
        "function": "refund",
        "risk": "medium",
        "timeout_s": None,
        "on_behalf_of": None,
        "view": {"function": "refund", "arguments": [{"name": "amount", "text": "1"}], "approvable": True},
        "call_text": "refund(amount=1)",
        "context": {},
    }
    made.update(fields)
    return made


def raw_body(**fields: str) -> bytes:
    """A create body as JSON text, ``fields`` given as raw JSON (NaN, 1e999, deep nesting...)."""
    base = body()
    text = json.dumps({k: v for k, v in base.items() if k not in fields})
    extra = ", ".join(f'"{k}": {v}' for k, v in fields.items())
    return (text[:-1] + ", " + extra + "}").encode()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp(f"breaker-api-{request.param}")
    cluster = None
    if request.param == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        db = cluster.create_database("breaker_api")
    else:
        db = str(tmp / "hitl.db")
    server = DashboardServer(db, log_path=tmp / "server.log")
    try:
        server.start()
        with open_store(db) as store:
            store.add_user("alice", PASSWORD, ("ops",))
            store.add_user("bob", PASSWORD, ("ops",))
            tokens = {name: store.add_token(name) for name in ("agent-1", "agent-2")}
        yield Api(server=server, backend=str(request.param), tokens=tokens)
    finally:
        server.close()
        if cluster is not None:
            cluster.drop_database(db)


def refused(answer: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert answer.status_code == status, f"{answer.status_code} {answer.text}"
    data: dict[str, Any] = answer.json()
    assert set(data) == {"error", "code"} and data["error"], data
    return data


# -- create bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", ["1e308", "1" + "0" * 28, "1e300"])
def test_a_huge_timeout_is_refused_and_leaves_nothing_behind(api: Api, timeout: str) -> None:
    # was: the request was stored, then writing its expires_at (year > 9999) failed: 500, and every
    # later create with that client id, and every read of it, failed the same way
    sent = raw_body(timeout_s=timeout)
    answer = api.agent().post("/api/requests", content=sent, headers={"content-type": "application/json"})
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 201:
        api.agent().get(f"/api/requests/{answer.json()['id']}").raise_for_status()
    else:
        assert "timeout_s" in refused(answer)["error"]
    api.queue_reads()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_that_are_not_json_are_refused_and_do_not_poison_the_queue(api: Api, constant: str) -> None:
    # was: context {"x": NaN} was stored, its answer failed (500), and the queue page, which lists
    # it, failed for every person from then on
    sent = raw_body(context='{"x": ' + constant + "}")
    answer = api.agent().post("/api/requests", content=sent, headers={"content-type": "application/json"})
    assert refused(answer)["code"] == "invalid_json"
    api.queue_reads()


@pytest.mark.parametrize("where", ["body", "context"])
def test_deeply_nested_json_is_refused_with_422(api: Api, where: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    sent = deep.encode() if where == "body" else raw_body(context='{"a": ' + deep + "}")
    answer = api.agent().post("/api/requests", content=sent, headers={"content-type": "application/json"})
    assert refused(answer)["code"] == "invalid_json"
    api.queue_reads()


def test_a_lone_surrogate_in_a_string_is_refused_with_422(api: Api) -> None:
    sent = raw_body(client_request_id='"x\\ud800y"')
    answer = api.agent().post("/api/requests", content=sent, headers={"content-type": "application/json"})
    assert refused(answer)["code"] in ("invalid_json", "invalid_body", "invalid")
    sent = raw_body(context='{"note": "\\udfff"}')
    answer = api.agent().post("/api/requests", content=sent, headers={"content-type": "application/json"})
    assert refused(answer)["code"] in ("invalid_json", "invalid_body", "invalid")
    api.queue_reads()


def test_nul_characters_in_a_request_are_stored_whole_or_refused_never_a_500(api: Api) -> None:
    # PostgreSQL's text cannot hold U+0000; SQLite's can. Either way: a clear answer, nothing half-made.
    fields = {"call_text": "refund('a\x00b')", "context": {"note": "x\x00y"}, "function": "re\x00fund"}
    answer = api.agent().post("/api/requests", json=body(**fields))
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 201:
        got = api.agent().get(f"/api/requests/{answer.json()['id']}").json()
        assert got["call_text"] == fields["call_text"] and got["context"] == fields["context"]
    api.queue_reads()


def test_nul_characters_in_queries_and_ids_are_answered_not_500(api: Api) -> None:
    # (PostgreSQL cannot even look such text up: 422 there, 404 / an empty page on SQLite)
    alice = api.person()
    for params in ({"function": "a\x00"}, {"requester": "\x00"}, {"risk": "\x00"}):
        assert alice.get("/api/requests", params=params).status_code in (200, 422)
    assert alice.get("/api/requests/a%00b").status_code in (404, 422)
    assert api.agent().get("/api/requests/a%00b/wait", params={"timeout": 0}).status_code in (404, 422)
    answer = alice.post("/api/requests/a%00b/decisions", json={"version": 1, "kind": "approve"})
    assert answer.status_code in (404, 422), answer.text
    made = api.create()
    assert alice.post(f"/api/requests/{made['id']}/decisions", json={"version": 1, "kind": "reject", "feedback": "no\x00"}
                      ).status_code in (200, 422)


def test_a_login_name_with_nul_is_a_wrong_login_not_a_500(api: Api) -> None:
    client = api.server.client(headers={"Connection": "close"})
    answer = client.post("/login", json={"username": "alice\x00", "password": PASSWORD})
    assert answer.status_code in (401, 422), answer.text
    assert refused(answer, answer.status_code)["code"] in ("invalid_login", "invalid", "invalid_body")


# -- queries --------------------------------------------------------------------------------------


def _cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "key",
    [[10**30, 1.0, "x"], [-(10**30), 1.0, "x"], [0, 1.0, "x\x00"], [0, 1e308, "x"]],
    ids=["huge-rank", "negative-huge-rank", "nul-id", "huge-time"],
)
def test_a_forged_cursor_is_refused_with_422_not_500(api: Api, key: Any) -> None:
    answer = api.person().get("/api/requests", params={"cursor": _cursor(key)})
    assert answer.status_code in (200, 422), answer.text


# -- decisions and agent steps with absurd versions -----------------------------------------------


@pytest.mark.parametrize("version", [10**30, -(10**30), 2**63])
def test_a_decision_for_an_absurd_version_is_stale_and_recorded(api: Api, version: int) -> None:
    # was: SQLite could not store the version in the log line: 500, and the refused attempt was not recorded
    made = api.create()
    answer = api.person().post(f"/api/requests/{made['id']}/decisions", json={"version": version, "kind": "approve"})
    assert refused(answer, 409)["code"] == "stale"
    log = api.person().get(f"/api/requests/{made['id']}/log").json()["items"]
    assert [(r["action"], r["accepted"], r["code"]) for r in log] == [("approve", False, "stale")]
    claim = api.agent().post(f"/api/requests/{made['id']}/claim", json={"version": version})
    assert refused(claim, 409)["code"] in ("not_approved", "stale")
    assert api.agent().get(f"/api/requests/{made['id']}").json()["status"] == "pending"
