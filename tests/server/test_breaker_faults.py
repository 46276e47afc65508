"""Faults a careless operator or a flooding agent cause on a real ``hitl dashboard`` (SQLite file):
a server killed while a request's timeout passes, then started again; decisions racing the
kill; a queue full of huge requests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_process import DashboardServer

from hitl_widget.dashboard.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.timeout(120)]


class Env:
    def __init__(self, server: DashboardServer, token: str) -> None:
        self.server = server
        self.token = token
        self.n = 0

    def agent(self) -> httpx.Client:
        return self.server.agent(self.token)

    def alice(self) -> httpx.Client:
        return self.server.person("alice", "alice-pw")

    def create(self, **fields: Any) -> dict[str, Any]:
        self.n += 1
        body = {
            "client_request_id": f"f-{self.n}-{time.time_ns()}", "fingerprint": "f", "function": "refund",
            "view": {"function": "refund", "arguments": [], "approvable": True}, "call_text": "refund()", **fields,
        }  # fmt: skip
        answer = self.agent().post("/api/requests", json=body)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    db = str(tmp_path / "hitl.db")
    with open_store(db) as store:
        store.add_user("alice", "alice-pw", ("ops",))
        token = store.add_token("agent-1")
    with DashboardServer(db, log_path=tmp_path / "server.log") as server:
        yield Env(server, token)


def test_a_timeout_that_passes_while_the_server_is_down_fails_closed_after_the_restart(env: Env) -> None:
    made = env.create(timeout_s=1.0)
    approved = env.create()
    decided = env.alice().post(f"/api/requests/{approved['id']}/decisions", json={"version": 1, "kind": "approve"})
    assert decided.status_code == 200
    env.server.kill()  # SIGKILL: no shutdown at all
    time.sleep(1.3)
    env.server.start()
    # a decision that arrives before the server's own timeout task has run is refused as expired
    late = env.alice().post(f"/api/requests/{made['id']}/decisions", json={"version": 1, "kind": "approve"})
    assert late.status_code == 409 and late.json()["code"] == "expired", late.text
    agent = env.agent()
    waited = agent.get(f"/api/requests/{made['id']}/wait", params={"version": 1, "timeout": 5}).json()
    assert waited["status"] == "timed_out" and waited["decision"] is None
    assert agent.post(f"/api/requests/{made['id']}/claim", json={"version": 1}).status_code == 409
    # what was approved before the kill is still approved, and runs once
    assert agent.post(f"/api/requests/{approved['id']}/claim", json={"version": 1}).status_code == 200
    env.server.kill()
    env.server.start()
    again = env.agent().post(f"/api/requests/{approved['id']}/claim", json={"version": 1})
    assert again.status_code == 409 and again.json()["code"] == "claimed"


def test_a_few_huge_requests_do_not_make_the_queue_page_huge(env: Env) -> None:
    big = "y" * 1_000_000
    for _ in range(5):
        env.create(call_text=big, view={"function": "refund", "arguments": [{"name": "a", "text": big}], "approvable": True})
    page = env.alice().get("/api/requests", params={"limit": 50})
    assert page.status_code == 200
    # was: about 10 MB (every item carried its whole view and call text)
    assert len(page.content) < 1_000_000, f"the queue's first page is {len(page.content):,} bytes"
    items = page.json()["items"]
    assert len(items) == 5
    for item in items:
        assert item["summary"] is True and item["truncated"] is True
        assert item["call_text_length"] == 1_000_000 and item["call_text"].startswith("yyy")
        (argument,) = item["view"]["arguments"]
        assert argument["name"] == "a" and argument["complete"] is False and argument["truncated"] is True
        assert argument["length"] == 1_000_000 and argument["text"] == "y" * len(argument["text"])
    # the request page's answer is the whole request
    whole = env.alice().get(f"/api/requests/{items[0]['id']}").json()
    assert whole["call_text"] == big and whole["view"]["arguments"][0]["text"] == big and "summary" not in whole
    # a queue row is refreshed with the same bounded summary
    row = env.alice().get(f"/api/requests/{items[0]['id']}", params={"summary": "1"})
    assert row.status_code == 200 and len(row.content) < 10_000 and row.json()["summary"] is True
    bad = env.alice().get(f"/api/requests/{items[0]['id']}", params={"summary": "yes"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_query"
