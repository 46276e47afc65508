"""SlackApprover end to end: a gated function, a real ``hitl dashboard`` process, a loopback fake of
Slack's Web API, and Slack's signed clicks. Then the faults: Slack answering 429 with Retry-After,
500, or nothing at all (a hang): the request stays pending and decidable in the dashboard, nothing
is lost, and the message is retried with back-off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chat_fakes import FakeSlack, Fault, texts
from server_process import DashboardServer, cli

from hitl_widget import ApprovalRejected, Gate, SlackApprover

pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.threads]

SECRET = "slack-signing-secret-for-tests"
PASSWORD = "s3cret-pass"
POLICY = """
[risk.high]
approvals = 2
roles = ["ops"]
"""
ALICE, BOB = "UALICE01", "UBOB0002"


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Iterator[DashboardServer]:
    tmp: Path = tmp_path_factory.mktemp("slack-approver")
    policy = tmp / "policy.toml"
    policy.write_text(POLICY)
    dash = DashboardServer(
        str(tmp / "hitl.db"),
        policy=policy,
        log_path=tmp / "server.log",
        env={"HITL_SLACK_SIGNING_SECRET": SECRET, "HITL_SLACK_BOT_TOKEN": "xoxb-server", "HITL_SLACK_API_URL": slack.url},
    )
    try:
        dash.start()
        for name, slack_id in (("alice", ALICE), ("bob", BOB)):
            dash.add_user(name, PASSWORD, "ops")
            cli("users", "link-slack", name, slack_id, "--db", dash.db, env=dash.env)
        dash.agent_token = dash.add_token("support-bot")  # type: ignore[attr-defined]
        yield dash
    finally:
        dash.close()


def approver(server: DashboardServer, slack: FakeSlack, **kwargs: Any) -> SlackApprover:
    kwargs.setdefault("slack_timeout", 1.0)
    return SlackApprover(
        token="xoxb-agent",
        channel="C0APPROVALS",
        dashboard=server.url,
        dashboard_token=server.agent_token,
        base_url=slack.url,
        **kwargs,
    )  # type: ignore[attr-defined]


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


def posted_for(slack: FakeSlack, marker: str, timeout: float = 15.0) -> Any:
    """The chat.postMessage call whose message shows ``marker``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for call in slack.of("chat.postMessage"):
            if marker in json.dumps(call.body):
                return call
        time.sleep(0.02)
    raise AssertionError(f"no message showing {marker!r}: {slack.methods()}")


def button(call: Any, action_id: str) -> dict[str, Any]:
    for block in call.body["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} button")


def click(server: DashboardServer, element: dict[str, Any], ts: str, user: str) -> httpx.Response:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": f"t{time.time_ns()}",
        "container": {"type": "message", "message_ts": ts, "channel_id": "C0APPROVALS"},
        "channel": {"id": "C0APPROVALS"},
        "actions": [{"action_id": element["action_id"], "value": element["value"], "action_ts": f"{time.time():.6f}"}],
    }
    raw = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    sent = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{sent}:".encode() + raw, hashlib.sha256).hexdigest()
    return httpx.post(
        f"{server.url}/slack/interactions",
        content=raw,
        timeout=10,
        headers={
            "X-Slack-Request-Timestamp": sent,
            "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def updates(slack: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [c.body for c in slack.of("chat.update") if c.body.get("ts") == ts]


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_approve_in_slack_runs_the_function_once_and_the_message_shows_the_outcome(server, slack) -> None:
    ran: list[str] = []
    slack_approver = approver(server, slack, on_behalf_of=None)
    gate = Gate(approver=slack_approver)

    @gate.require_approval(timeout=60)
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        ran.append(order_id)
        return f"refunded {order_id}"

    thread, box = in_thread(lambda: refund("A-100", 12.5))
    call = posted_for(slack, "A-100")
    assert call.headers["authorization"] == "Bearer xoxb-agent"
    approve = button(call, "hitl_approve")
    link = button(call, "hitl_open")
    assert link["url"].startswith(f"{server.url}/requests/")
    httpx.get(link["url"], timeout=10)  # a preview bot fetching the link changes nothing
    rid = json.loads(approve["value"])["id"]
    agent = server.agent(server.agent_token)  # type: ignore[attr-defined]
    assert agent.get(f"/api/requests/{rid}").json()["status"] == "pending"
    message_ts = call.response["ts"]
    assert click(server, approve, message_ts, ALICE).status_code == 200
    thread.join(30)
    assert box.get("result") == "refunded A-100" and ran == ["A-100"]
    final = agent.get(f"/api/requests/{rid}").json()
    assert final["status"] == "succeeded" and final["decision"]["by"] == ["alice"]
    shown = wait_for(
        lambda: [u for u in updates(slack, message_ts) if "succeeded" in " ".join(texts(u["blocks"]))],
        what="the message showing the outcome",
    )
    assert "alice" in " ".join(texts(shown[-1]["blocks"]))


def test_reject_in_the_dashboard_reaches_the_agent_with_the_feedback(server, slack) -> None:
    slack_approver = approver(server, slack)
    gate = Gate(approver=slack_approver)

    @gate.require_approval
    def close_account(account: str) -> str:
        return "closed"

    thread, box = in_thread(lambda: close_account("acct-reject-1"))
    call = posted_for(slack, "acct-reject-1")
    rid = json.loads(button(call, "hitl_reject")["value"])["id"]
    alice = server.person("alice", PASSWORD)
    answer = alice.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "reject", "feedback": "archive it instead"})
    assert answer.status_code == 200
    thread.join(30)
    error = box.get("error")
    assert isinstance(error, ApprovalRejected) and "archive it instead" in str(error)
    wait_for(
        lambda: [u for u in updates(slack, call.response["ts"]) if "Rejected" in " ".join(texts(u["blocks"]))],
        what="the message showing the rejection",
    )


def test_hostile_arguments_never_become_mentions_or_links(server, slack) -> None:
    slack_approver = approver(server, slack)
    gate = Gate(approver=slack_approver)

    @gate.require_approval
    def send(note: str, to: str) -> str:
        return "sent"

    hostile = "<!channel> <@U024BE7LH> <https://evil.example|Approve here> *bold* :white_check_mark:"
    thread, box = in_thread(lambda: send(hostile, "hostile-marker-1"))
    call = posted_for(slack, "hostile-marker-1")
    for text in [call.body["text"], *texts(call.body["blocks"])]:
        for sequence in re.findall(r"<[^>]*>", text):
            assert sequence.startswith(("<!date^", f"<{server.url}/requests/")), sequence
    rid = json.loads(button(call, "hitl_approve")["value"])["id"]
    server.person("bob", PASSWORD).post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "reject", "feedback": "x"})
    thread.join(30)
    assert isinstance(box.get("error"), ApprovalRejected)


def test_dashboard_only_risk_gets_no_buttons(server, slack) -> None:
    slack_approver = approver(server, slack, dashboard_only=("critical",))
    gate = Gate(approver=slack_approver)

    @gate.require_approval(risk="critical")
    def drop_table(name: str) -> str:
        return "dropped"

    thread, box = in_thread(lambda: drop_table("critical-marker-1"))
    call = posted_for(slack, "critical-marker-1")
    actions = [e["action_id"] for b in call.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["hitl_open"]
    rid = button(call, "hitl_open")["url"].rsplit("/", 1)[1]
    server.person("alice", PASSWORD).post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"})
    thread.join(30)
    assert box.get("result") == "dropped"


# -- faults: Slack rate limits, fails, hangs ----------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [[Fault("429", 1)], [Fault("500"), Fault("500")], [Fault("hang", 10)]],
    ids=["429-retry-after", "500-twice", "hang"],
)
def test_slack_failing_delays_the_message_but_never_the_dashboard(server, slack, faults) -> None:
    marker = f"fault-{faults[0].kind}-{time.time_ns()}"
    slack.fail("chat.postMessage", *faults)
    before = len(slack.attempts)
    slack_approver = approver(server, slack, slack_timeout=0.5)
    gate = Gate(approver=slack_approver)
    ran: list[str] = []

    @gate.require_approval(timeout=60)
    def refund(order_id: str) -> str:
        ran.append(order_id)
        return "ok"

    thread, box = in_thread(lambda: refund(marker))
    call = posted_for(slack, marker, timeout=20)  # posted in the end
    attempts = [c for c in slack.attempts[before:] if c.method == "chat.postMessage" and marker in json.dumps(c.body)]
    assert len(attempts) == len(faults) + 1
    if faults[0].kind == "429":
        assert attempts[1].at - attempts[0].at >= 0.9  # Retry-After: 1 was honoured
    wait_for(lambda: [e for e in slack_approver.events if e[1] == "posted"], what="the approver to see its message posted")
    events = [e for _, e, _ in slack_approver.events]
    assert events.count("retry") == len(faults)
    rid = json.loads(button(call, "hitl_approve")["value"])["id"]
    answer = server.person("alice", PASSWORD).post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"})
    assert answer.status_code == 200
    thread.join(30)
    assert box.get("result") == "ok" and ran == [marker]


def test_while_slack_is_down_the_request_is_decided_in_the_dashboard_and_posting_stops(server, slack) -> None:
    marker = f"down-{time.time_ns()}"
    slack.fail("chat.postMessage", *[Fault("500")] * 1000)
    slack_approver = approver(server, slack, slack_timeout=0.5)
    gate = Gate(approver=slack_approver)
    ran: list[str] = []

    @gate.require_approval(timeout=60)
    def refund(order_id: str) -> str:
        ran.append(order_id)
        return "ok"

    try:
        thread, box = in_thread(lambda: refund(marker))
        agent = server.agent(server.agent_token)  # type: ignore[attr-defined]

        def pending() -> Any:
            page = (
                server.person("alice", PASSWORD).get("/api/requests", params={"status": "pending", "function": "refund"}).json()
            )
            return [r for r in page["items"] if marker in r["call_text"]]

        [stored] = wait_for(pending, what="the request in the dashboard")
        wait_for(lambda: [e for e in slack_approver.events if e[1] == "retry"], what="a retry")
        assert agent.get(f"/api/requests/{stored['id']}").json()["status"] == "pending"
        answer = server.person("bob", PASSWORD).post(
            f"/api/requests/{stored['id']}/decisions", json={"version": 1, "kind": "approve"}
        )
        assert answer.status_code == 200
        thread.join(30)
        assert box.get("result") == "ok" and ran == [marker]
        wait_for(lambda: [e for e in slack_approver.events if e[1] == "gave_up"], what="posting to stop")
        tries = len([c for c in slack.attempts if marker in json.dumps(c.body)])
        time.sleep(1.5)
        assert len([c for c in slack.attempts if marker in json.dumps(c.body)]) == tries  # no more attempts
        assert not [c for c in slack.of("chat.postMessage") if marker in json.dumps(c.body)]
    finally:
        slack.fail("chat.postMessage")  # (nothing more)
        with slack._lock:
            slack._faults["chat.postMessage"].clear()


def test_a_slack_error_that_retrying_cannot_fix_is_not_retried(server, slack) -> None:
    marker = f"notfound-{time.time_ns()}"
    slack.fail("chat.postMessage", Fault("error", "channel_not_found"))
    slack_approver = approver(server, slack)
    gate = Gate(approver=slack_approver)

    @gate.require_approval(timeout=30)
    def refund(order_id: str) -> str:
        return "ok"

    thread, box = in_thread(lambda: refund(marker))
    failed = wait_for(lambda: [e for e in slack_approver.events if e[1] == "failed"], what="the failure")
    assert "channel_not_found" in failed[0][2]
    rid = failed[0][0]
    server.person("alice", PASSWORD).post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"})
    thread.join(30)
    assert box.get("result") == "ok"
