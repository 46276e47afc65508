"""Slack interaction callbacks that a careless admin or an odd (but signed) payload produce,
against a real ``hitl dashboard`` (SQLite file) and the loopback fake of Slack's Web API:
payload fields of the wrong JSON type, a linked person who was removed since, a click replayed
after a server restart (the in-memory replay guard is gone then), NUL bytes in a signed body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chat_fakes import FakeSlack
from server_process import DashboardServer

from hitl_widget.dashboard.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

SECRET = "breaker-signing-secret-0123456789"
POLICY = """
[risk.high]
approvals = 2
roles = ["ops"]
"""


class Env:
    def __init__(self, server: DashboardServer, token: str) -> None:
        self.server = server
        self.agent = server.agent(token)
        self.n = 0

    def create(self, **fields: Any) -> dict[str, Any]:
        self.n += 1
        body = {
            "client_request_id": f"s-{self.n}-{time.time_ns()}", "fingerprint": "f", "function": "refund",
            "view": {"function": "refund", "arguments": [], "approvable": True}, "call_text": "refund()", **fields,
        }  # fmt: skip
        answer = self.agent.post("/api/requests", json=body)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def get(self, rid: str) -> dict[str, Any]:
        got: dict[str, Any] = self.agent.get(f"/api/requests/{rid}").json()
        return got

    def interact(self, payload: Any, *, raw: bytes | None = None) -> httpx.Response:
        body = raw if raw is not None else urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        sent = str(int(time.time()))
        signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{sent}:".encode() + body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": sent,
                   "X-Slack-Signature": signature}  # fmt: skip
        return httpx.post(f"{self.server.url}/slack/interactions", content=body, headers=headers, timeout=10)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    slack = FakeSlack()
    db = str(tmp_path / "hitl.db")
    (tmp_path / "policy.toml").write_text(POLICY)
    with open_store(db) as store:
        for name, slack_id in (("alice", "UALICE"), ("bob", "UBOB"), ("mallory", "UMALLORY")):
            store.add_user(name, "pw", ("ops",))
            store.link_slack(name, slack_id)
        token = store.add_token("agent-1")
    server = DashboardServer(db, policy=tmp_path / "policy.toml", log_path=tmp_path / "server.log", env={
        "HITL_SLACK_SIGNING_SECRET": SECRET, "HITL_SLACK_BOT_TOKEN": "xoxb-test", "HITL_SLACK_API_URL": slack.url,
    })  # fmt: skip
    try:
        server.start()
        yield Env(server, token)
    finally:
        server.close()
        slack.close()


def click(stored: dict[str, Any], user: Any, *, action_ts: str = "1700000000.000001") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C1"},
        "channel": {"id": "C1"},
        "trigger_id": "t-1",
        "actions": [
            {"action_id": "hitl_approve", "value": json.dumps({"id": stored["id"], "version": 1}), "action_ts": action_ts}
        ],
    }


def test_signed_payloads_with_fields_of_the_wrong_type_are_answered_and_decide_nothing(env: Env) -> None:
    stored = env.create()
    good = click(stored, "UALICE")
    odd: list[Any] = [
        {**good, "user": "UALICE"},
        {**good, "user": ["UALICE"]},
        {**good, "channel": "C1"},
        {**good, "container": ["x"]},
        {**good, "actions": {"action_id": "hitl_approve"}},
        {**good, "actions": ["hitl_approve"]},
        {**good, "actions": [{**good["actions"][0], "value": {"id": stored["id"], "version": 1}}]},
        {**good, "message": "x", "container": None},
        {"type": "view_submission", "user": {"id": "UALICE"}, "view": "x"},
        {"type": "view_submission", "user": "UALICE", "view": {"callback_id": "hitl_reject_feedback", "private_metadata": "[]"}},
        {"type": ["block_actions"]},
    ]
    for payload in odd:
        answer = env.interact(payload)
        assert answer.status_code in (200, 400), f"{payload}: {answer.status_code} {answer.text}"
    assert env.get(stored["id"])["status"] == "pending"


def test_a_removed_persons_slack_clicks_decide_nothing(env: Env) -> None:
    stored = env.create()
    with open_store(env.server.db) as store:
        store.remove_user("mallory")
    assert env.interact(click(stored, "UMALLORY")).status_code == 200
    assert env.get(stored["id"])["status"] == "pending"


def test_a_click_replayed_after_a_restart_counts_once(env: Env) -> None:
    stored = env.create(risk="high")  # 2 of ops
    payload = click(stored, "UALICE")
    assert env.interact(payload).status_code == 200
    env.server.restart()
    assert env.interact(payload).status_code == 200  # the same signed body, within 5 minutes
    now = env.get(stored["id"])
    assert now["status"] == "pending" and now["approved_by"] == ["alice"]


def test_nul_and_odd_text_in_a_signed_payload_are_answered(env: Env) -> None:
    stored = env.create()
    for user in ("U\x00ALICE", "UALICE\u202e", "x" * 10_000):
        answer = env.interact(click(stored, user))
        assert answer.status_code == 200, answer.text
    answer = env.interact(None, raw=b"payload=" + urllib.parse.quote(json.dumps(click(stored, "UALICE"))).encode() + b"%ff")
    assert answer.status_code in (200, 400)
    assert env.get(stored["id"])["status"] in ("pending", "approved")
