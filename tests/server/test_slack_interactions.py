"""Slack's interaction callbacks against a real ``hitl dashboard`` process (SQLite file) and a loopback fake
of Slack's Web API: signed, forged, expired and replayed payloads; unmapped users; self-approval; a
quorum of two across Slack and the dashboard; the reject modal; the message kept current when the
request is decided elsewhere or times out; dashboard-only risks; stale versions.

Every payload is built the way Slack builds it (``application/x-www-form-urlencoded`` with a
``payload`` field; ``X-Slack-Request-Timestamp`` and ``v0=`` HMAC-SHA256 signature over
``v0:{timestamp}:{raw body}``) and signed with the server's secret, unless the test forges it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from chat_fakes import FakeSlack, texts
from server_process import DashboardServer, cli

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PASSWORD = "s3cret-pass"
POLICY = """
[risk.high]
approvals = 2
roles = ["ops"]

[risk.critical]
approvals = 1
roles = ["manager"]
"""
SLACK_IDS = {"alice": "UALICE01", "bob": "UBOB0002", "carol": "UCAROL03"}
_ids = itertools.count(1)


@dataclass
class Env:
    server: DashboardServer
    slack: FakeSlack
    token: str
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def agent(self) -> httpx.Client:
        if "agent" not in self.clients:
            self.clients["agent"] = self.server.agent(self.token)
        return self.clients["agent"]

    def person(self, name: str) -> httpx.Client:
        if name not in self.clients:
            self.clients[name] = self.server.person(name, PASSWORD)
        return self.clients[name]

    def create(self, **fields: Any) -> dict[str, Any]:
        answer = self.agent.post("/api/requests", json=new_body(**fields))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def get(self, rid: str) -> dict[str, Any]:
        answer = self.agent.get(f"/api/requests/{rid}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def log(self, rid: str) -> list[dict[str, Any]]:
        answer = self.person("alice").get(f"/api/requests/{rid}/log")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def post_message(self, stored: dict[str, Any]) -> str:
        """Post the request's message as SlackApprover does (into the fake) and register it; its ts."""
        from slack_sdk import WebClient

        from hitl_widget.chat.messages import message

        text, blocks = message(stored, dashboard=self.server.url, buttons=stored["risk"] != "critical")
        client = WebClient(token="xoxb-agent", base_url=self.slack.url)
        ts = str(client.chat_postMessage(channel="C0APPROVALS", text=text, blocks=blocks)["ts"])
        answer = self.agent.post("/slack/messages", json={"request_id": stored["id"], "channel": "C0APPROVALS", "ts": ts})
        assert answer.status_code == 200, answer.text
        assert answer.json()["updates"] is True
        return ts

    def interact(
        self,
        payload: dict[str, Any],
        *,
        timestamp: float | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        raw = body if body is not None else urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        sent = str(int(time.time() if timestamp is None else timestamp))
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{sent}:".encode() + raw, hashlib.sha256).hexdigest()
        all_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": sent,
            "X-Slack-Signature": signature,
            **(headers or {}),
        }
        return httpx.post(f"{self.server.url}/slack/interactions", content=raw, headers=all_headers, timeout=10)

    def updates_for(self, rid: str) -> list[dict[str, Any]]:
        return [c.body for c in self.slack.of("chat.update") if f"/requests/{rid}" in json.dumps(c.body)]

    def wait_update(self, rid: str, contains: str, timeout: float = 10.0) -> dict[str, Any]:
        """The first chat.update of ``rid``'s message whose text shows ``contains``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for body in self.updates_for(rid):
                if contains in " ".join(texts(body.get("blocks"))):
                    return body
            time.sleep(0.02)
        raise AssertionError(
            f"no update of {rid} showing {contains!r}: {[texts(b.get('blocks')) for b in self.updates_for(rid)]}"
        )

    def ephemerals_for(self, slack_user: str) -> list[str]:
        return [c.body.get("text", "") for c in self.slack.of("chat.postEphemeral") if c.body.get("user") == slack_user]


def new_body(**fields: Any) -> dict[str, Any]:
    n = next(_ids)
    body: dict[str, Any] = {
        "client_request_id": f"slack-{n}-{time.time_ns()}",
        "fingerprint": f"fp-{n}",
        "function": "refund",
        "risk": "medium",
        "timeout_s": None,
        "on_behalf_of": None,
        "view": {
            "function": "refund",
            "summary": "Refund an order.",
            "arguments": [{"name": "order_id", "text": '"A-1"', "complete": True}],
            "approvable": True,
        },
        "call_text": "refund(order_id='A-1')",
        "context": {},
    }
    body.update(fields)
    return body


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp: Path = tmp_path_factory.mktemp("slack")
    slack = FakeSlack()
    policy = tmp / "policy.toml"
    policy.write_text(POLICY)
    server = DashboardServer(
        str(tmp / "hitl.db"),
        policy=policy,
        log_path=tmp / "server.log",
        env={
            "HITL_SLACK_SIGNING_SECRET": SECRET,
            "HITL_SLACK_BOT_TOKEN": "xoxb-server",
            "HITL_SLACK_API_URL": slack.url,
            "HITL_SLACK_DASHBOARD_ONLY": "critical",
        },
    )
    try:
        server.start()
        for name, roles in {"alice": ["ops"], "bob": ["ops"], "carol": ["manager"], "dave": ["ops"]}.items():
            server.add_user(name, PASSWORD, *roles)
        for name, slack_id in SLACK_IDS.items():
            cli("users", "link-slack", name, slack_id, "--db", server.db, env=server.env)
        token = server.add_token("agent-1")
        yield Env(server, slack, token)
    finally:
        server.close()
        slack.close()


def click(
    stored: dict[str, Any],
    ts: str,
    user: str,
    action: str = "hitl_approve",
    *,
    version: int | None = None,
    action_ts: str | None = None,
) -> dict[str, Any]:
    """A block_actions payload as Slack sends it for a click on one of the message's buttons."""
    value = json.dumps({"id": stored["id"], "version": stored["version"] if version is None else version})
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
        "api_app_id": "A0001",
        "team": {"id": "T0001"},
        "container": {"type": "message", "message_ts": ts, "channel_id": "C0APPROVALS", "is_ephemeral": False},
        "channel": {"id": "C0APPROVALS", "name": "approvals"},
        "trigger_id": f"trigger-{time.time_ns()}",
        "response_url": "https://hooks.slack.invalid/actions/T0001/1/x",
        "message": {"ts": ts, "type": "message"},
        "actions": [
            {
                "type": "button",
                "action_id": action,
                "block_id": "hitl_actions",
                "value": value,
                "action_ts": action_ts or f"{time.time():.6f}",
            }
        ],
    }


def submission(modal: dict[str, Any], user: str, feedback: str, view_id: str | None = None) -> dict[str, Any]:
    """The view_submission Slack sends when the reject modal (as views.open got it) is submitted."""
    return {
        "type": "view_submission",
        "user": {"id": user, "team_id": "T0001"},
        "team": {"id": "T0001"},
        "view": {
            **modal,
            "id": view_id or f"V{time.time_ns()}",
            "hash": "1.abc",
            "state": {"values": {"feedback": {"text": {"type": "plain_text_input", "value": feedback}}}},
        },
    }


# -- signatures ---------------------------------------------------------------------------------------


def test_a_signed_click_approves_through_the_store_and_updates_the_message(env: Env) -> None:
    stored = env.create()
    ts = env.post_message(stored)
    started = time.monotonic()
    answer = env.interact(click(stored, ts, SLACK_IDS["alice"]))
    assert answer.status_code == 200 and time.monotonic() - started < 3.0  # within Slack's 3 seconds
    now = env.get(stored["id"])
    assert now["status"] == "approved" and now["decision"]["by"] == ["alice"]
    [entry] = [e for e in env.log(stored["id"]) if e["action"] == "approve"]
    assert entry["channel"] == "slack" and entry["actor"] == "alice" and entry["accepted"] is True
    update = env.wait_update(stored["id"], "Approved")
    assert update["ts"] == ts and update["channel"] == "C0APPROVALS"
    shown = " ".join(texts(update["blocks"]))
    assert "alice" in shown and "<!date^" in shown
    assert [e["action_id"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]] == ["hitl_open"]


def test_forged_signatures_change_nothing(env: Env) -> None:
    stored = env.create()
    ts = env.post_message(stored)
    payload = click(stored, ts, SLACK_IDS["alice"])
    wrong_secret = env.interact(payload, secret="not-the-secret")
    assert wrong_secret.status_code == 401 and wrong_secret.json()["code"] == "bad_signature"
    raw = urllib.parse.urlencode({"payload": json.dumps(click(stored, ts, SLACK_IDS["bob"]))}).encode()
    other = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    sent = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{sent}:".encode() + raw, hashlib.sha256).hexdigest()
    swapped = httpx.post(
        f"{env.server.url}/slack/interactions",
        content=other,  # bob's signature on alice's click
        headers={
            "X-Slack-Request-Timestamp": sent,
            "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert swapped.status_code == 401 and swapped.json()["code"] == "bad_signature"
    missing = httpx.post(
        f"{env.server.url}/slack/interactions", content=other, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert missing.status_code == 401 and missing.json()["code"] == "missing_signature"
    garbage = env.interact(payload, headers={"X-Slack-Signature": "v0=" + "0" * 64})
    assert garbage.status_code == 401
    assert env.get(stored["id"])["status"] == "pending" and env.log(stored["id"]) == []
    assert env.interact(payload).status_code == 200  # the same click, signed: it counts, once
    assert env.get(stored["id"])["decision"]["by"] == ["alice"]


def test_expired_and_future_timestamps_are_refused(env: Env) -> None:
    stored = env.create()
    ts = env.post_message(stored)
    old = env.interact(click(stored, ts, SLACK_IDS["alice"]), timestamp=time.time() - 301)
    assert old.status_code == 401 and old.json()["code"] == "expired_signature"
    ahead = env.interact(click(stored, ts, SLACK_IDS["alice"]), timestamp=time.time() + 400)
    assert ahead.status_code == 401 and ahead.json()["code"] == "expired_signature"
    assert env.get(stored["id"])["status"] == "pending" and env.log(stored["id"]) == []


def test_a_replayed_or_retried_click_counts_once(env: Env) -> None:
    stored = env.create(risk="high")  # 2 of ops: a second count would approve it
    ts = env.post_message(stored)
    payload = click(stored, ts, SLACK_IDS["alice"])
    assert env.interact(payload).status_code == 200
    assert env.interact(payload).status_code == 200  # replayed within the 5 minutes: same signature, same action
    assert env.interact(payload, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}).status_code == 200
    now = env.get(stored["id"])
    assert now["status"] == "pending" and now["approved_by"] == ["alice"]
    assert len([e for e in env.log(stored["id"]) if e["action"] == "approve"]) == 1
    # a new click by alice (another action_ts) reaches the store, which refuses double counting
    assert env.interact(click(stored, ts, SLACK_IDS["alice"])).status_code == 200
    attempts = [e for e in env.log(stored["id"]) if e["action"] == "approve"]
    assert [a["accepted"] for a in attempts] == [True, False] and attempts[1]["code"] == "repeated"
    assert env.get(stored["id"])["approved_by"] == ["alice"]


# -- who may decide -----------------------------------------------------------------------------------


def test_an_unmapped_slack_user_changes_nothing_and_is_told(env: Env) -> None:
    stored = env.create()
    ts = env.post_message(stored)
    assert env.interact(click(stored, ts, "UNKNOWN99")).status_code == 200
    end = time.monotonic() + 10
    while not env.ephemerals_for("UNKNOWN99") and time.monotonic() < end:
        time.sleep(0.02)
    [told] = env.ephemerals_for("UNKNOWN99")
    assert "not linked" in told and "hitl users link-slack NAME UNKNOWN99" in told
    assert env.get(stored["id"])["status"] == "pending" and env.log(stored["id"]) == []


def test_self_approval_from_slack_is_refused(env: Env) -> None:
    stored = env.create(on_behalf_of="bob")
    ts = env.post_message(stored)
    env.interact(click(stored, ts, SLACK_IDS["bob"]))
    assert env.get(stored["id"])["status"] == "pending"
    [attempt] = env.log(stored["id"])
    assert attempt["actor"] == "bob" and attempt["accepted"] is False and attempt["code"] == "self_approval"
    assert attempt["channel"] == "slack"
    end = time.monotonic() + 10
    while not any("requested this call" in t for t in env.ephemerals_for(SLACK_IDS["bob"])) and time.monotonic() < end:
        time.sleep(0.02)
    assert any("requested this call" in t for t in env.ephemerals_for(SLACK_IDS["bob"]))


def test_a_quorum_of_two_across_slack_and_the_dashboard(env: Env) -> None:
    stored = env.create(risk="high")
    ts = env.post_message(stored)
    env.interact(click(stored, ts, SLACK_IDS["alice"]))
    update = env.wait_update(stored["id"], "1 of 2")
    assert "alice" in " ".join(texts(update["blocks"]))
    assert any(e["action_id"] == "hitl_approve" for b in update["blocks"] if b["type"] == "actions" for e in b["elements"])
    answer = env.person("bob").post(
        f"/api/requests/{stored['id']}/decisions", json={"version": stored["version"], "kind": "approve"}
    )
    assert answer.status_code == 200, answer.text
    now = env.get(stored["id"])
    assert now["status"] == "approved" and now["decision"]["by"] == ["alice", "bob"]
    channels = [(e["actor"], e["channel"]) for e in env.log(stored["id"]) if e["action"] == "approve"]
    assert channels == [("alice", "slack"), ("bob", "dashboard")]
    done = env.wait_update(stored["id"], "Approved")  # decided in the dashboard: the message follows (store.subscribe)
    assert "bob" in " ".join(texts(done["blocks"]))


def test_a_role_the_request_needs_is_enforced_for_slack_too(env: Env) -> None:
    stored = env.create(risk="high")  # needs ops; carol is a manager only
    ts = env.post_message(stored)
    env.interact(click(stored, ts, SLACK_IDS["carol"]))
    [attempt] = env.log(stored["id"])
    assert attempt["accepted"] is False and attempt["code"] == "role"
    assert env.get(stored["id"])["approved_by"] == []


# -- reject with feedback -----------------------------------------------------------------------------


def test_reject_opens_a_modal_and_its_submission_rejects_with_the_feedback(env: Env) -> None:
    stored = env.create()
    ts = env.post_message(stored)
    payload = click(stored, ts, SLACK_IDS["alice"], "hitl_reject")
    assert env.interact(payload).status_code == 200
    end = time.monotonic() + 5
    opened: list[Any] = []
    while not opened and time.monotonic() < end:
        opened = [c.body for c in env.slack.of("views.open") if c.body.get("trigger_id") == payload["trigger_id"]]
        time.sleep(0.02)
    [call] = opened
    modal = call["view"]
    assert modal["type"] == "modal" and modal["callback_id"] == "hitl_reject_feedback"
    assert env.get(stored["id"])["status"] == "pending"  # the click itself decides nothing
    answer = env.interact(submission(modal, SLACK_IDS["alice"], "Use a voucher <!channel> instead"))
    assert answer.status_code == 200 and answer.json() == {"response_action": "clear"}
    now = env.get(stored["id"])
    assert now["status"] == "rejected" and now["decision"]["feedback"] == "Use a voucher <!channel> instead"
    update = env.wait_update(stored["id"], "Rejected")
    section = " ".join(texts(update["blocks"]))
    assert "Use a voucher &lt;!channel&gt; instead" in section and "<!channel>" not in section


def test_a_refused_modal_submission_shows_the_reason_in_the_modal(env: Env) -> None:
    stored = env.create()
    ts = env.post_message(stored)
    from hitl_widget.chat.messages import reject_modal

    modal = reject_modal(stored["id"], stored["version"], "refund", channel="C0APPROVALS", ts=ts)
    decided = env.person("bob").post(f"/api/requests/{stored['id']}/decisions", json={"version": 1, "kind": "approve"})
    assert decided.status_code == 200
    answer = env.interact(submission(modal, SLACK_IDS["alice"], "no"))
    assert answer.json()["response_action"] == "errors" and "Not rejected" in answer.json()["errors"]["feedback"]
    assert env.get(stored["id"])["status"] == "approved"
    unmapped = env.interact(submission(modal, "UNKNOWN98", "no"))
    assert "not linked" in unmapped.json()["errors"]["feedback"]


# -- the message follows the request ------------------------------------------------------------------


def test_a_dashboard_rejection_and_a_timeout_update_the_message(env: Env) -> None:
    stored = env.create()
    env.post_message(stored)
    answer = env.person("dave").post(
        f"/api/requests/{stored['id']}/decisions", json={"version": 1, "kind": "reject", "feedback": "not today"}
    )
    assert answer.status_code == 200
    update = env.wait_update(stored["id"], "Rejected")
    assert "dave" in " ".join(texts(update["blocks"])) and "not today" in " ".join(texts(update["blocks"]))
    short = env.create(timeout_s=1.0)
    env.post_message(short)
    timed_out = env.wait_update(short["id"], "Timed out", timeout=15)
    assert [e["action_id"] for b in timed_out["blocks"] if b["type"] == "actions" for e in b["elements"]] == ["hitl_open"]
    assert env.get(short["id"])["status"] == "timed_out"


def test_a_click_on_an_edited_request_is_refused_as_stale(env: Env) -> None:
    stored = env.create()
    ts = env.post_message(stored)
    edit = env.person("dave").post(
        f"/api/requests/{stored['id']}/decisions", json={"version": 1, "kind": "edit", "edits": {"order_id": {"json": '"A-2"'}}}
    )
    assert edit.status_code == 200, edit.text
    # the edit approved version 2 (the editor's approval counts); a click on the old message's button is for version 1
    env.interact(click(stored, ts, SLACK_IDS["alice"], version=1))
    attempts = [e for e in env.log(stored["id"]) if e["actor"] == "alice"]
    assert [a["accepted"] for a in attempts] == [False]


def test_dashboard_only_risks_are_refused_from_slack(env: Env) -> None:
    stored = env.create(risk="critical")
    ts = env.post_message(stored)
    env.interact(click(stored, ts, SLACK_IDS["carol"]))
    assert env.get(stored["id"])["status"] == "pending" and env.log(stored["id"]) == []
    end = time.monotonic() + 10
    while not any("dashboard only" in t for t in env.ephemerals_for(SLACK_IDS["carol"])) and time.monotonic() < end:
        time.sleep(0.02)
    assert any("dashboard only" in t for t in env.ephemerals_for(SLACK_IDS["carol"]))


def test_other_payloads_and_bad_bodies(env: Env) -> None:
    stored = env.create()
    ts = env.post_message(stored)
    assert env.interact(click(stored, ts, SLACK_IDS["alice"], "hitl_open")).status_code == 200  # the link button
    assert env.interact({"type": "view_closed"}).status_code == 200
    assert env.interact({}, body=b"payload=%7Bnot+json").json()["code"] == "bad_payload"
    forged_value = click(stored, ts, SLACK_IDS["alice"])
    forged_value["actions"][0]["value"] = "approve-all"
    assert env.interact(forged_value).status_code == 200
    assert env.get(stored["id"])["status"] == "pending" and env.log(stored["id"]) == []


def test_registering_a_message_needs_the_requests_own_agent(env: Env) -> None:
    stored = env.create()
    anonymous = httpx.post(f"{env.server.url}/slack/messages", json={"request_id": stored["id"], "channel": "C", "ts": "1.2"})
    assert anonymous.status_code == 401
    other = env.server.agent(env.server.add_token("agent-2"))
    answer = other.post("/slack/messages", json={"request_id": stored["id"], "channel": "C", "ts": "1.2"})
    assert answer.status_code == 403 and answer.json()["code"] == "not_your_request"
    person = env.person("alice").post("/slack/messages", json={"request_id": stored["id"], "channel": "C", "ts": "1.2"})
    assert person.status_code == 401
