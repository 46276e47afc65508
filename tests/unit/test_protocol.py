"""Card <-> kernel messages: the shared fixtures (also read by vitest) parse as promised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hitl_widget.decisions import Approve, Edit, Reject
from hitl_widget.protocol import PROTOCOL_VERSION, ProtocolError, error_message, parse_decision_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "messages"
VALID = json.loads((FIXTURES / "valid.json").read_text())
INVALID = json.loads((FIXTURES / "invalid.json").read_text())


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_valid_messages_parse_to_decisions(case: dict[str, Any]) -> None:
    decision = parse_decision_message(case["message"], request_id="r-1", by="alice")
    expect = case["expect"]
    assert decision.kind == expect["kind"]
    assert decision.by == "alice"
    if isinstance(decision, Approve):
        assert decision.always == expect["always"]
    elif isinstance(decision, Edit):
        assert decision.arguments == expect["arguments"]
    else:
        assert isinstance(decision, Reject)
        assert decision.feedback == expect["feedback"]


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_messages_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_decision_message(case["message"], request_id="r-1")


def test_oversized_feedback_is_refused() -> None:
    message = {"kind": "decision", "version": 1, "request_id": "r-1", "decision": {"kind": "reject", "feedback": "x" * 10_001}}
    with pytest.raises(ProtocolError, match="longer than"):
        parse_decision_message(message, request_id="r-1")


def test_error_reply_is_versioned_and_names_the_request() -> None:
    reply = error_message("r-1", "invalid edit", {"user_id": "expected int"})
    assert reply == {
        "kind": "error",
        "version": PROTOCOL_VERSION,
        "request_id": "r-1",
        "error": "invalid edit",
        "problems": {"user_id": "expected int"},
    }
    json.dumps(reply)


def test_review_all_keeps_only_pending_ids() -> None:
    from hitl_widget.protocol import parse_review_all_message

    message = {"kind": "review_all", "version": 1, "request_ids": ["a", "b", "zzz"], "decision": {"kind": "approve"}}
    ids, decision = parse_review_all_message(message, pending={"a", "b"})
    assert ids == ["a", "b"] and decision == Approve()
    with pytest.raises(ProtocolError):
        parse_review_all_message({**message, "decision": {"kind": "edit", "arguments": {}}}, pending={"a"})
    with pytest.raises(ProtocolError):
        parse_review_all_message({**message, "version": 3}, pending={"a"})
