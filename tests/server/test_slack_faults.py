"""Slack around server faults and deployments: a dashboard restart while a request waits, a server without a
Slack bot token (the agent keeps its message current itself), two server instances on one PostgreSQL
database (a decision on one reaches the message the other keeps), and an async tool.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chat_fakes import FakeSlack, texts
from server_process import DashboardServer, cli

from hitl_widget import Gate, SlackApprover

pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.threads]

SECRET = "slack-faults-secret"
PASSWORD = "s3cret-pass"
ALICE = "UALICE01"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


def start(
    db: str, tmp: Path, slack: FakeSlack, *, bot_token: bool = True, users: bool = True, name: str = "server"
) -> DashboardServer:
    env = {
        "HITL_SLACK_SIGNING_SECRET": SECRET,
        "HITL_SLACK_API_URL": slack.url,
        "HITL_SLACK_BOT_TOKEN": "xoxb-server" if bot_token else "",
    }
    server = DashboardServer(db, log_path=tmp / f"{name}.log", env=env)
    server.start()
    if users:
        server.add_user("alice", PASSWORD, "ops")
        cli("users", "link-slack", "alice", ALICE, "--db", db, env=server.env)
    return server


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def posted(slack: FakeSlack, marker: str) -> Any:
    return wait_for(
        lambda: next((c for c in slack.of("chat.postMessage") if marker in json.dumps(c.body)), None),
        what=f"a message showing {marker}",
    )


def approve_value(call: Any) -> str:
    return str(
        next(e["value"] for b in call.body["blocks"] for e in b.get("elements", []) if e.get("action_id") == "hitl_approve")
    )


def signed_click(url: str, value: str, ts: str, user: str = ALICE) -> httpx.Response:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "t",
        "container": {"type": "message", "message_ts": ts, "channel_id": "C0APPROVALS"},
        "channel": {"id": "C0APPROVALS"},
        "actions": [{"action_id": "hitl_approve", "value": value, "action_ts": f"{time.time():.6f}"}],
    }
    raw = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    sent = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{sent}:".encode() + raw, hashlib.sha256).hexdigest()
    return httpx.post(
        f"{url}/slack/interactions",
        content=raw,
        timeout=10,
        headers={
            "X-Slack-Request-Timestamp": sent,
            "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def updates_showing(slack: FakeSlack, ts: str, text: str) -> list[dict[str, Any]]:
    return [c.body for c in slack.of("chat.update") if c.body.get("ts") == ts and text in " ".join(texts(c.body["blocks"]))]


def gated(approver: SlackApprover) -> Callable[[str], str]:
    gate = Gate(approver=approver)

    @gate.require_approval(timeout=90)
    def restart_service(service: str) -> str:
        return f"restarted {service}"

    return restart_service


def test_a_dashboard_restart_while_pending_loses_nothing_and_the_message_is_kept_current_again(tmp_path, slack) -> None:
    server = start(str(tmp_path / "hitl.db"), tmp_path, slack)
    try:
        token = server.add_token("ops-bot")
        approver = SlackApprover(
            token="xoxb-agent",
            channel="C0APPROVALS",
            dashboard=server.url,
            dashboard_token=token,
            base_url=slack.url,
            register_every=0.3,
            backoff=(0.05, 0.5),
        )
        thread, box = in_thread(lambda: gated(approver)("checkout"))
        call = posted(slack, "checkout")
        ts = call.response["ts"]
        wait_for(lambda: [e for e in approver.events if e[1] == "registered"], what="the first registration")
        server.restart()  # SIGTERM, then the same port and database: the in-memory list of messages is gone
        registered = len([e for e in approver.events if e[1] == "registered"])
        wait_for(lambda: len([e for e in approver.events if e[1] == "registered"]) > registered + 1, what="re-registration")
        rid = json.loads(approve_value(call))["id"]
        alice = server.person("alice", PASSWORD)
        assert alice.get(f"/api/requests/{rid}").json()["status"] == "pending"  # the request survived the restart
        assert alice.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}).status_code == 200
        thread.join(30)
        assert box.get("result") == "restarted checkout"
        wait_for(lambda: updates_showing(slack, ts, "ran: succeeded"), what="the restarted server updating the message")
        assert len(slack.of("chat.postMessage")) == 1  # one message, not a second one after the restart
    finally:
        server.close()


def test_without_a_bot_token_on_the_server_the_agent_updates_its_own_message(tmp_path, slack) -> None:
    server = start(str(tmp_path / "hitl.db"), tmp_path, slack, bot_token=False)
    try:
        token = server.add_token("ops-bot")
        approver = SlackApprover(
            token="xoxb-agent", channel="C0APPROVALS", dashboard=server.url, dashboard_token=token, base_url=slack.url
        )
        thread, box = in_thread(lambda: gated(approver)("search"))
        call = posted(slack, "search")
        ts = call.response["ts"]
        wait_for(lambda: [e for e in approver.events if e[1] == "registered" and e[2] == "agent updates"], what="registration")
        assert signed_click(server.url, approve_value(call), ts).status_code == 200  # verified and decided all the same
        thread.join(30)
        assert box.get("result") == "restarted search"
        update = wait_for(lambda: updates_showing(slack, ts, "ran: succeeded"), what="the agent's own update")
        assert all(c.headers["authorization"] == "Bearer xoxb-agent" for c in slack.of("chat.update"))
        assert "alice" in " ".join(texts(update[-1]["blocks"]))
    finally:
        server.close()


def test_two_instances_on_one_postgresql_database(tmp_path, slack, pg_cluster) -> None:
    db = pg_cluster.create_database("slack_instances")
    first = start(db, tmp_path, slack, name="first")
    second = start(db, tmp_path, slack, users=False, name="second")
    try:
        token = first.add_token("ops-bot")
        approver = SlackApprover(
            token="xoxb-agent", channel="C0APPROVALS", dashboard=first.url, dashboard_token=token, base_url=slack.url
        )
        thread, box = in_thread(lambda: gated(approver)("payments"))
        call = posted(slack, "payments")
        ts = call.response["ts"]
        wait_for(lambda: [e for e in approver.events if e[1] == "registered"], what="registration on the first instance")
        rid = json.loads(approve_value(call))["id"]
        alice = second.person("alice", PASSWORD)  # decided on the other instance
        assert alice.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"}).status_code == 200
        thread.join(30)
        assert box.get("result") == "restarted payments"
        wait_for(lambda: updates_showing(slack, ts, "ran: succeeded"), what="the first instance updating the message (NOTIFY)")
        # a click that Slack delivers to the second instance is verified and decided there, through the same store
        thread2, box2 = in_thread(lambda: gated(approver)("ledger"))
        call2 = posted(slack, "ledger")
        assert signed_click(second.url, approve_value(call2), call2.response["ts"]).status_code == 200
        thread2.join(30)
        assert box2.get("result") == "restarted ledger"
    finally:
        second.close()
        first.close()
        pg_cluster.drop_database(db)


def test_an_async_tool_waits_without_blocking_the_loop(tmp_path, slack) -> None:
    server = start(str(tmp_path / "hitl.db"), tmp_path, slack)
    try:
        token = server.add_token("ops-bot")
        approver = SlackApprover(
            token="xoxb-agent", channel="C0APPROVALS", dashboard=server.url, dashboard_token=token, base_url=slack.url
        )
        gate = Gate(approver=approver)

        @gate.require_approval(timeout=60)
        async def deploy(version: str) -> str:
            return f"deployed {version}"

        async def main() -> tuple[str, int]:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            task = asyncio.create_task(ticker())
            try:
                return await deploy("v2.4.1"), ticks
            finally:
                task.cancel()

        thread, box = in_thread(lambda: asyncio.run(main()))
        call = posted(slack, "v2.4.1")
        time.sleep(0.3)
        assert signed_click(server.url, approve_value(call), call.response["ts"]).status_code == 200
        thread.join(30)
        result, ticks = box["result"]
        assert result == "deployed v2.4.1" and ticks > 10  # the event loop kept running while it waited
    finally:
        server.close()


def test_a_server_without_the_signing_secret_refuses_every_callback(tmp_path, slack) -> None:
    server = DashboardServer(
        str(tmp_path / "hitl.db"),
        log_path=tmp_path / "plain.log",
        env={"HITL_SLACK_SIGNING_SECRET": "", "HITL_SLACK_BOT_TOKEN": ""},
    )
    try:
        server.start()
        answer = signed_click(server.url, json.dumps({"id": "x", "version": 1}), "1.2")
        assert answer.status_code == 503 and answer.json()["code"] == "slack_not_configured"
        token = server.add_token("ops-bot")
        created = server.agent(token).post(
            "/api/requests",
            json={
                "client_request_id": "c-1",
                "fingerprint": "f",
                "function": "f",
                "risk": "medium",
                "timeout_s": None,
                "on_behalf_of": None,
                "view": {"function": "f", "arguments": []},
                "call_text": "f()",
                "context": {},
            },
        )
        registered = server.agent(token).post(
            "/slack/messages", json={"request_id": created.json()["id"], "channel": "C", "ts": "1.2"}
        )
        assert registered.status_code == 200 and registered.json()["updates"] is False  # the agent keeps its message current
    finally:
        server.close()
