"""ApprovalCard's Python side: validation of frontend messages, the decide() verb, the view."""

from __future__ import annotations

import enum
import json
import threading
from typing import Any, Literal

import pytest

from hitl_widget import Approve, Edit, Gate, Reject
from hitl_widget.gate import _Guard
from hitl_widget.protocol import ProtocolError
from hitl_widget.request import ApprovalRequest
from hitl_widget.widget import ApprovalCard, record_text, request_view, status_of


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def delete_user(user_id: int, mode: Literal["soft", "hard"] = "soft", color: Color = Color.RED, note: str = "") -> str:
    """Delete a user account.

    Irreversible.
    """
    return "ok"


def make_request(**arguments: Any) -> ApprovalRequest:
    gate = Gate()
    wrapped = gate.wrap(delete_user, timeout=60)
    guard: _Guard = wrapped.__hitl_guard__  # type: ignore[attr-defined]
    args = {"user_id": 1, "mode": "soft", "color": Color.RED, "note": "", **arguments}
    return gate._new_request(guard, args)


class Card(ApprovalCard):
    """Captures what the card would send to the frontend."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[Any] = []

    def send(self, content: Any, buffers: Any = None) -> None:
        self.sent.append(content)


def message(request_id: str, decision: dict[str, Any], version: int = 1) -> dict[str, Any]:
    return {"kind": "decision", "version": version, "request_id": request_id, "decision": decision}


def test_view_is_json_text_with_types_choices_and_deadline() -> None:
    request = make_request(note="<img src=x onerror=alert(1)>")
    view = request_view(request)
    json.dumps(view)
    assert view["function"] == "delete_user"
    assert view["summary"] == "Delete a user account."
    assert "Irreversible." in view["doc"]
    args = {a["name"]: a for a in view["arguments"]}
    assert args["user_id"]["annotation"] == "int" and args["user_id"]["value"] == 1
    assert args["mode"]["annotation"] == "'soft' | 'hard'"
    assert args["color"]["choices"] == ["red", "blue"] and args["color"]["value"] == "red"
    assert args["note"]["text"] == '"<img src=x onerror=alert(1)>"'
    assert view["deadline_ms"] is not None and view["timeout"] == 60


def test_huge_argument_is_bounded_in_the_view() -> None:
    view = request_view(make_request(note="x" * 10_000_000))
    assert len(json.dumps(view)) < 20_000


def test_valid_message_decides_once() -> None:
    request = make_request()
    card = Card(request, user="alice")
    card.receive(message(request.id, {"kind": "approve"}))
    assert card.decided.is_set() and card.decision == Approve(by="alice")
    card.receive(message(request.id, {"kind": "reject", "feedback": "late"}))
    assert card.decision == Approve(by="alice")  # a double click changes nothing
    assert card.sent[-1]["kind"] == "error" and "already decided" in card.sent[-1]["error"]


@pytest.mark.parametrize(
    "content",
    [
        "approve",
        {"kind": "decision", "version": 99, "request_id": "?", "decision": {"kind": "approve"}},
        {"kind": "decision", "version": 1, "request_id": "someone-else", "decision": {"kind": "approve"}},
        {"kind": "decision", "version": 1, "decision": {"kind": "approve"}},
    ],
)
def test_malformed_or_stale_messages_change_nothing(content: Any) -> None:
    card = Card(make_request())
    card.receive(content)
    assert not card.decided.is_set()
    assert card.sent and card.sent[0]["kind"] == "error"


def test_invalid_edit_is_answered_with_problems_and_can_be_retried() -> None:
    request = make_request()
    card = Card(request)
    card.receive(message(request.id, {"kind": "edit", "arguments": {"user_id": "abc", "mode": "nope"}}))
    assert not card.decided.is_set()
    assert set(card.sent[-1]["problems"]) == {"user_id", "mode"}
    card.receive(message(request.id, {"kind": "edit", "arguments": {"user_id": "7"}}))
    assert card.decision == Edit(arguments={"user_id": "7"})


def test_decide_is_thread_safe_only_one_wins() -> None:
    request = make_request()
    card = Card(request)
    errors: list[Exception] = []

    def click(n: int) -> None:
        try:
            card.decide(Reject(f"click {n}"))
        except ProtocolError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 15 and card.decided.is_set()


def test_listeners_hear_the_decision_and_can_unsubscribe() -> None:
    request = make_request()
    card = Card(request)
    heard: list[Any] = []
    unsubscribe = card.on_decided(heard.append)
    unsubscribe()
    card.on_decided(heard.append)
    card.decide(Approve())
    assert heard == [Approve()]
    late: list[Any] = []
    card.on_decided(late.append)
    assert late == [Approve()]


def test_settle_sets_the_record_and_returns_readable_text() -> None:
    request = make_request()
    card = Card(request, user="alice")
    card.decide(Edit(arguments={"user_id": "7"}))
    status, feedback, diff = status_of(card.decision, request)  # type: ignore[arg-type]
    assert (status, diff) == ("edited", {"user_id": {"from": 1, "to": 7}})
    text = card.settle(status, feedback=feedback, diff=diff)
    assert card.record["status"] == "edited" and card.record["by"] == "alice"
    assert text.startswith("✎ delete_user() edited by alice") and "user_id: 1 → 7" in text
    assert "&lt;b&gt;" in card.fallback_bundle("<b>")["text/html"]


def test_timeout_settles_and_late_clicks_are_refused() -> None:
    request = make_request()
    card = Card(request)
    assert card.settle("timed_out").endswith("timed out at " + card.record["at"] + ": not run")
    card.receive(message(request.id, {"kind": "approve"}))
    assert card.decision is None


def test_record_text_for_each_status() -> None:
    assert record_text("f", {"status": "rejected", "by": "bob", "feedback": "no"}) == "✗ f() rejected by bob: no"
    assert record_text("f", {"status": "cancelled"}) == "⊘ f() cancelled: not run"
    assert record_text("f", {"status": "approved"}) == "✓ f() approved"
