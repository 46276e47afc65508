"""TeamsNotifier as DashboardApprover's notifier, against a real ``hitl dashboard`` process and a loopback
Workflows webhook: the first card links to the request's page; the decision is taken in the dashboard;
the outcome card follows. A failing webhook delays the cards, never the decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chat_fakes import FakeTeams, Fault, texts
from server_process import DashboardServer

from hitl_widget import ApprovalRejected, Gate, TeamsNotifier
from hitl_widget.approvers.dashboard import DashboardApprover

pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.threads]

PASSWORD = "s3cret-pass"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    tmp: Path = tmp_path_factory.mktemp("teams")
    dash = DashboardServer(str(tmp / "hitl.db"), log_path=tmp / "server.log")
    try:
        dash.start()
        dash.add_user("alice", PASSWORD, "ops")
        dash.agent_token = dash.add_token("teams-bot")  # type: ignore[attr-defined]
        yield dash
    finally:
        dash.close()


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    fake = FakeTeams()
    yield fake
    fake.close()


def cards(teams: FakeTeams) -> list[dict[str, Any]]:
    return [c.body["attachments"][0]["content"] for c in teams.of("webhook")]


def run_call(server: DashboardServer, notifier: TeamsNotifier, marker: str) -> tuple[threading.Thread, dict[str, Any]]:
    approver = DashboardApprover(server.url, token=server.agent_token, notify=[notifier])  # type: ignore[attr-defined]
    gate = Gate(approver=approver)

    @gate.require_approval(timeout=60)
    def rotate_keys(service: str) -> str:
        """Rotate a service's keys."""
        return f"rotated {service}"

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = rotate_keys(marker)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_a_card_with_the_link_then_the_outcome_card_after_a_dashboard_decision(server, teams) -> None:
    notifier = TeamsNotifier(teams.url, dashboard=server.url, token=server.agent_token)  # type: ignore[attr-defined]
    thread, box = run_call(server, notifier, "billing-api")
    [first] = [c.body for c in teams.wait_for("webhook")]
    content = first["attachments"][0]["content"]
    assert content["version"] == "1.4"
    [action] = content["actions"]
    assert action["type"] == "Action.OpenUrl" and action["url"].startswith(f"{server.url}/requests/")
    rid = action["url"].rsplit("/", 1)[1]
    assert '"billing-api"' in texts(content["body"])
    alice = server.person("alice", PASSWORD)
    answer = alice.post(
        f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "reject", "feedback": "not during the freeze"}
    )
    assert answer.status_code == 200, answer.text
    thread.join(30)
    assert isinstance(box.get("error"), ApprovalRejected)
    teams.wait_for("webhook", 2)
    outcome = cards(teams)[1]
    shown = " ".join(texts(outcome["body"]))
    assert "Rejected" in shown and "alice" in shown and "not during the freeze" in shown
    assert outcome["actions"][0]["url"] == action["url"]


def test_approved_in_the_dashboard_gives_an_approved_outcome_card(server, teams) -> None:
    notifier = TeamsNotifier(teams.url, dashboard=server.url, token=server.agent_token)  # type: ignore[attr-defined]
    thread, box = run_call(server, notifier, "search-api")
    [first] = teams.wait_for("webhook")
    rid = first.body["attachments"][0]["content"]["actions"][0]["url"].rsplit("/", 1)[1]
    server.person("alice", PASSWORD).post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"})
    thread.join(30)
    assert box.get("result") == "rotated search-api"
    teams.wait_for("webhook", 2)
    assert "Approved" in " ".join(texts(cards(teams)[1]["body"]))


def test_a_failing_webhook_never_holds_up_the_decision(server, teams) -> None:
    teams.fail("webhook", Fault("500"), Fault("hang", 5), Fault("429", 1))
    notifier = TeamsNotifier(teams.url, dashboard=server.url, timeout=0.5)
    thread, box = run_call(server, notifier, "mail-api")
    alice = server.person("alice", PASSWORD)
    end = time.monotonic() + 15
    pending: list[dict[str, Any]] = []
    while not pending and time.monotonic() < end:  # in the dashboard at once, while Teams is failing
        items = alice.get("/api/requests", params={"status": "pending"}).json()["items"]
        pending = [r for r in items if "mail-api" in r["call_text"]]
        time.sleep(0.02)
    [stored] = pending
    assert alice.post(f"/api/requests/{stored['id']}/decisions", json={"version": 1, "kind": "approve"}).status_code == 200
    thread.join(30)
    assert box.get("result") == "rotated mail-api"
    assert notifier.flush(20)
    assert len(teams.of("webhook")) == 1 and len(teams.attempts) == 4 and notifier.errors == []


def test_following_with_a_token_the_dashboard_refuses_stops_at_once(server, teams) -> None:
    notifier = TeamsNotifier(teams.url, dashboard=server.url, token="not-a-token")
    thread, box = run_call(server, notifier, "audit-api")
    [first] = teams.wait_for("webhook")
    rid = first.body["attachments"][0]["content"]["actions"][0]["url"].rsplit("/", 1)[1]
    end = time.monotonic() + 10
    while not notifier.errors and time.monotonic() < end:
        time.sleep(0.02)
    assert notifier.errors and "HTTP 401" in notifier.errors[0] and "not-a-token" not in notifier.errors[0]
    server.person("alice", PASSWORD).post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"})
    thread.join(30)
    assert box.get("result") == "rotated audit-api"
    assert len(teams.of("webhook")) == 1  # no outcome card without a way to follow the request
