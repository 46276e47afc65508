"""TeamsNotifier against a loopback Workflows webhook receiver: the card's schema and content, retries, give-ups."""

from __future__ import annotations

import json
import logging

import pytest
from chat_fakes import FakeTeams, Fault, texts

from hitl_widget import Approve, Gate, TeamsNotifier

pytestmark = [pytest.mark.threads]


@pytest.fixture
def teams():
    fake = FakeTeams()
    yield fake
    fake.close()


def stored(**changes):
    base = {
        "id": "req-7",
        "function": "refund",
        "risk": "high",
        "status": "pending",
        "version": 1,
        "agent": "support-bot",
        "on_behalf_of": "ana",
        "approvals_needed": 2,
        "approvals": [],
        "decision": None,
        "expires_at": "2026-12-01T22:00:00.000Z",
        "view": {
            "function": "refund",
            "summary": "Refund an order.",
            "arguments": [
                {"name": "order_id", "text": '"A-1"', "complete": True},
                {"name": "note", "text": '"**urgent** [pay here](https://evil.example)"', "complete": True},
            ],
        },
    }
    base.update(changes)
    return base


def captured_request():
    """A real ApprovalRequest, as a gate makes it."""
    seen = []

    def approver(request):
        seen.append(request)
        return Approve()

    gate = Gate(approver=approver)

    @gate.require_approval(risk="high", timeout=60)
    def refund(order_id: str, amount: float, api_key: str = "sk-secret-1") -> str:
        """Refund an order."""
        return "ok"

    refund("<@U123>", 12.5)
    return seen[0]


def test_notify_posts_an_adaptive_card_1_4_with_facts_and_the_dashboard_link(teams):
    notifier = TeamsNotifier(teams.url, dashboard="http://127.0.0.1:8765")
    notifier.notify(None, dashboard_request=stored())
    assert notifier.flush(10)
    [call] = teams.wait_for("webhook")
    assert call.headers["content-type"].startswith("application/json")
    body = call.body
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert content["version"] == "1.4" and content["type"] == "AdaptiveCard"
    assert content["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in dashboard", "url": "http://127.0.0.1:8765/requests/req-7"}
    ]
    facts = {f["title"]: f["value"] for b in content["body"] if b["type"] == "FactSet" for f in b["facts"]}
    assert facts["Risk"] == "high" and facts["Requested by"] == "ana" and facts["Agent"] == "support\\-bot"
    assert facts["Approvals needed"] == "2" and "2026\\-12\\-01 22:00:00 UTC" in facts["Expires"].replace("\\:", ":")
    runs = [r["text"] for b in content["body"] if b["type"] == "RichTextBlock" for r in b["inlines"]]
    assert "refund()" in runs and '"A-1"' in runs
    assert '"**urgent** [pay here](https://evil.example)"' in runs  # a TextRun: no markdown, shown as written
    for block in content["body"]:
        if block["type"] == "TextBlock":
            assert "evil" not in block["text"]


def test_notify_from_an_approval_request_redacts_secrets_and_escapes(teams):
    request = captured_request()
    notifier = TeamsNotifier(teams.url, dashboard="http://127.0.0.1:8765")
    notifier.notify(request)  # no dashboard JSON: the link is the dashboard itself
    assert notifier.flush(10)
    [call] = teams.wait_for("webhook")
    content = call.body["attachments"][0]["content"]
    assert content["actions"][0]["url"] == "http://127.0.0.1:8765"
    everything = " ".join(texts(content))
    assert "sk-secret-1" not in everything and "[REDACTED]" in everything
    assert '"<@U123>"' in everything and "12.5" in everything


def test_the_outcome_card_says_who_when_and_the_feedback(teams):
    notifier = TeamsNotifier(teams.url, dashboard="http://127.0.0.1:8765")
    decided = stored(
        status="rejected",
        decided_at="2026-12-01T21:41:00.000Z",
        decision={"kind": "reject", "by": ["bob"], "at": "2026-12-01T21:41:00.000Z", "feedback": "use a voucher"},
    )
    notifier.notify_outcome(None, dashboard_request=decided)
    assert notifier.flush(10)
    [call] = teams.wait_for("webhook")
    content = call.body["attachments"][0]["content"]
    assert content["version"] == "1.4"
    shown = " ".join(texts(content["body"]))
    assert "Rejected" in shown and "bob" in shown and "2026-12-01 21:41:00 UTC" in shown and "use a voucher" in shown


@pytest.mark.parametrize(
    "faults",
    [[Fault("429", 1)], [Fault("500"), Fault("500")], [Fault("hang", 5)]],
    ids=["429-retry-after", "500-twice", "hang"],
)
def test_rate_limits_server_errors_and_hangs_are_retried_until_the_card_is_posted(teams, faults):
    teams.fail("webhook", *faults)
    notifier = TeamsNotifier(teams.url, dashboard="http://d.example", timeout=0.5)
    notifier.notify(None, dashboard_request=stored())
    assert notifier.flush(20)
    assert len(teams.wait_for("webhook")) == 1
    assert len(teams.attempts) == len(faults) + 1
    assert notifier.errors == []
    if faults[0].kind == "429":  # Retry-After: 1 was waited for
        assert teams.attempts[1].at - teams.attempts[0].at >= 0.9


def test_a_4xx_is_given_up_at_once_and_logged_without_the_webhook_secret(teams, caplog):
    teams.fail("webhook", Fault("status", 404))
    notifier = TeamsNotifier(teams.url, dashboard="http://d.example")
    with caplog.at_level(logging.WARNING, logger="hitl_widget.chat.teams"):
        notifier.notify(None, dashboard_request=stored())
        assert notifier.flush(10)
    assert notifier.sent == [] and len(notifier.errors) == 1 and "404" in notifier.errors[0]
    assert len(teams.attempts) == 1
    assert "sig=secret" not in caplog.text and "sig=secret" not in json.dumps(notifier.errors)


def test_giving_up_after_max_wait_keeps_the_error(teams):
    teams.fail("webhook", *[Fault("500")] * 50)
    notifier = TeamsNotifier(teams.url, dashboard="http://d.example", max_wait=1.0)
    notifier.notify(None, dashboard_request=stored())
    assert notifier.flush(10)
    assert notifier.sent == [] and "gave up" in notifier.errors[0]
    assert 1 <= len(teams.attempts) < 50


def test_bad_urls_are_refused_at_once():
    with pytest.raises(ValueError, match="webhook"):
        TeamsNotifier("ftp://x", dashboard="http://d")
    with pytest.raises(ValueError, match="dashboard"):
        TeamsNotifier("https://x", dashboard="d")
