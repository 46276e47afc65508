"""Card <-> kernel messages: the shared fixtures (also read by vitest) parse as promised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hitl_widget.decisions import Approve, Edit, Reject
from hitl_widget.errors import InvalidEdit
from hitl_widget.protocol import (
    MAX_EDIT_CHARS,
    PROTOCOL_VERSION,
    ProtocolError,
    decode_edit_arguments,
    error_message,
    parse_decision_message,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "messages"
VALID = json.loads((FIXTURES / "valid.json").read_text())
INVALID = json.loads((FIXTURES / "invalid.json").read_text())
INVALID_EDITS = json.loads((FIXTURES / "invalid_edits.json").read_text())


def test_the_fixtures_are_for_this_version() -> None:
    assert PROTOCOL_VERSION == 2
    assert all(case["message"]["version"] == PROTOCOL_VERSION for case in VALID + INVALID_EDITS)


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
        for name, value in expect["arguments"].items():
            assert type(decision.arguments[name]) is type(value)
    else:
        assert isinstance(decision, Reject)
        assert decision.feedback == expect["feedback"]


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_messages_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_decision_message(case["message"], request_id="r-1")


@pytest.mark.parametrize("case", INVALID_EDITS, ids=[c["name"] for c in INVALID_EDITS])
def test_edits_whose_json_does_not_parse_name_the_argument(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidEdit) as caught:
        parse_decision_message(case["message"], request_id="r-1", function="close_accounts")
    assert sorted(caught.value.problems) == case["problems"]
    assert all("JSON" in why for why in caught.value.problems.values())
    assert "close_accounts" in str(caught.value)


def test_json_edits_are_exact() -> None:
    huge = 10**200 + 1
    values = decode_edit_arguments(
        {
            "ids": {"json": "[1234567890123456789, 1234567890123456790]"},
            "big": {"json": str(huge)},
            "amount": {"json": "0.1"},
            "nested": {"json": '{"a": [{"b": 9007199254740993}]}'},
        }
    )
    assert values == {
        "ids": [1234567890123456789, 1234567890123456790],
        "big": huge,
        "amount": 0.1,
        "nested": {"a": [{"b": 9007199254740993}]},
    }


def test_text_edits_are_the_text_byte_for_byte() -> None:
    for text in ["", "  spaced  ", "line\r\nnext", "\u202e\u200b", "😀" * 3, "null", "42"]:
        assert decode_edit_arguments({"v": {"text": text}}) == {"v": text}


def test_hostile_json_edits_are_invalid_edits_not_crashes() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for bad in [deep, "1" * 5000, "NaN-ish", "{" + '"a":1,' * 3 + "}"]:
        with pytest.raises(InvalidEdit):
            decode_edit_arguments({"v": {"json": bad}})


def test_oversized_edit_values_are_refused() -> None:
    with pytest.raises(InvalidEdit, match="longer than"):
        decode_edit_arguments({"v": {"text": "x" * (MAX_EDIT_CHARS + 1)}})
    assert decode_edit_arguments({"v": {"text": "x" * MAX_EDIT_CHARS}})["v"] == "x" * MAX_EDIT_CHARS


def test_oversized_feedback_is_refused() -> None:
    message = {
        "kind": "decision",
        "version": PROTOCOL_VERSION,
        "request_id": "r-1",
        "decision": {"kind": "reject", "feedback": "x" * 10_001},
    }
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

    message = {
        "kind": "review_all",
        "version": PROTOCOL_VERSION,
        "request_ids": ["a", "b", "zzz"],
        "decision": {"kind": "approve"},
    }
    ids, decision = parse_review_all_message(message, pending={"a", "b"})
    assert ids == ["a", "b"] and decision == Approve()
    with pytest.raises(ProtocolError):
        parse_review_all_message({**message, "decision": {"kind": "edit", "arguments": {}}}, pending={"a"})
    with pytest.raises(ProtocolError):
        parse_review_all_message({**message, "version": 3}, pending={"a"})
    with pytest.raises(ProtocolError):
        parse_review_all_message({**message, "version": 1}, pending={"a"})


class _Int(int):
    pass


class _Str(str):
    pass


def _decision(**over: Any) -> dict[str, Any]:
    return {"kind": "decision", "version": PROTOCOL_VERSION, "request_id": "r-1", "decision": {"kind": "approve"}, **over}


# Values that compare equal to the right one (2.0 == 2, True == 1, Decimal/complex/int subclasses)
# or that JSON from a forged card could carry instead of it: each must be refused, not coerced.
LOOKALIKE_VERSIONS = [2.0, True, False, 1, "2", _Int(2), complex(2), None, [2], {"v": 2}, -2, 2**64 + 2]


@pytest.mark.parametrize("version", LOOKALIKE_VERSIONS, ids=[repr(v) for v in LOOKALIKE_VERSIONS])
def test_only_the_exact_int_version_is_accepted(version: Any) -> None:
    from decimal import Decimal

    with pytest.raises(ProtocolError, match="version"):
        parse_decision_message(_decision(version=version), request_id="r-1")
    with pytest.raises(ProtocolError, match="version"):
        parse_decision_message(_decision(version=Decimal(2)), request_id="r-1")
    from hitl_widget.protocol import parse_review_all_message

    review = {"kind": "review_all", "version": version, "request_ids": ["a"], "decision": {"kind": "approve"}}
    with pytest.raises(ProtocolError):
        parse_review_all_message(review, pending={"a"})


@pytest.mark.parametrize(
    "message",
    [
        _decision(kind=_Str("decision")),
        _decision(request_id=_Str("r-1")),
        _decision(decision={"kind": _Str("approve")}),
        _decision(decision={"kind": True}),
        _decision(decision={"kind": ["approve"]}),
        _decision(decision={"kind": "approve", "always": _Str("function")}),
        _decision(decision={"kind": "approve", "always": True}),
        _decision(decision={"kind": "reject", "feedback": _Str("no")}),
        _decision(decision={"kind": "edit", "arguments": {"x": {"text": _Str("1")}}}),
        _decision(decision={"kind": "edit", "arguments": {_Str("x"): {"text": "1"}}}),
        _decision(decision={"kind": "edit", "arguments": {"x": {_Str("json"): "1"}}}),
        _decision(decision={"kind": "edit", "arguments": {"x": {"text": 1}}}),
        _decision(decision={"kind": "edit", "arguments": {"x": {"json": 1.0}}}),
    ],
    ids=range(13),
)
def test_lookalike_field_types_are_refused(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        parse_decision_message(message, request_id="r-1")


def test_the_exact_version_still_parses() -> None:
    assert parse_decision_message(_decision(), request_id="r-1") == Approve()
    always = _decision(decision={"kind": "approve", "always": "function"})
    assert parse_decision_message(always, request_id="r-1") == Approve(always="function")


@pytest.mark.parametrize("depth", [101, 10_000, 100_000, 250_000])
@pytest.mark.parametrize("bracket", ["[]", "{}"])
def test_deep_json_edits_are_refused_before_parsing(depth: int, bracket: str) -> None:
    """Under Pyodide json.loads of a deep edit would kill the interpreter: the depth is checked first."""
    opening, closing = bracket
    inner = '{"k": ' if opening == "{" else "["
    text = inner * depth + "1" + closing * depth if opening == "{" else opening * depth + closing * depth
    with pytest.raises(InvalidEdit, match="nested more than 100 levels"):
        decode_edit_arguments({"v": {"json": text}})
    unclosed = opening * depth  # malformed as well as deep: refused the same way
    with pytest.raises(InvalidEdit):
        decode_edit_arguments({"v": {"json": unclosed}})


def test_json_up_to_the_depth_limit_parses_and_brackets_in_strings_do_not_count() -> None:
    from hitl_widget.protocol import MAX_EDIT_DEPTH

    ok = "[" * MAX_EDIT_DEPTH + "]" * MAX_EDIT_DEPTH
    value = decode_edit_arguments({"v": {"json": ok}})["v"]
    for _ in range(MAX_EDIT_DEPTH - 1):
        value = value[0]
    assert value == []
    text = json.dumps(["[" * 5000, '{"\\"' * 100, {"a": "]]]" * 100}])
    assert decode_edit_arguments({"v": {"json": text}}) == {"v": json.loads(text)}
