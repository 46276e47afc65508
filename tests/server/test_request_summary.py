"""The queue's list items (``StoredRequest.summary_json``): bounded, flagged, short requests whole."""

from __future__ import annotations

import json
from typing import Any

from hitl_widget.dashboard.store import SUMMARY_MAX_ITEMS, SUMMARY_PREVIEW_CHARS, StoredRequest


def _request(**changes: Any) -> StoredRequest:
    fields: dict[str, Any] = dict(
        id="r1", client_request_id="c1", fingerprint="f", agent="agent-1", on_behalf_of=None, function="refund",
        risk="high", status="pending", version=1, call_text="refund(order='A')", edits=None, approvals_needed=1,
        roles=(), approvals=(), decision=None, created_at=1.0, expires_at=None, decided_at=None, claimed_at=None,
        outcome=None, problems=None,
        view={"function": "refund", "approvable": True, "too_large": [],
              "arguments": [{"name": "order", "text": '"A"', "complete": True, "length": 3,
                             "edit": {"text": "A", "encoding": "text"}, "editable": True}]},
    )  # fmt: skip
    fields.update(changes)
    return StoredRequest(**fields)


def test_a_short_request_is_its_whole_json_plus_the_flags() -> None:
    r = _request()
    summary = r.summary_json()
    assert summary.pop("summary") is True and summary.pop("truncated") is False
    assert summary.pop("call_text_length") == len(r.call_text)
    assert summary == r.to_json()


def test_long_texts_are_previews_with_their_length_and_lists_are_capped() -> None:
    big = "x" * 50_000
    arguments = [{"name": "a", "text": big, "complete": True, "length": len(big), "edit": {"text": big, "encoding": "text"},
                  "value_json": None, "editable": True}]  # fmt: skip
    arguments += [{"name": f"n{i}", "text": "1", "complete": True, "length": 1} for i in range(200)]
    r = _request(
        call_text=big,
        view={"function": "refund", "doc": big, "arguments": arguments, "approvable": True},
        edits={"a": {"text": big}},
        context={"k": big, "many": list(range(10_000))},
        approvals=tuple({"user": f"u{i}", "version": 1, "at": 2.0, "feedback": big} for i in range(100)),
    )
    summary = r.summary_json()
    assert summary["truncated"] is True
    assert len(json.dumps(summary)) < 60_000, len(json.dumps(summary))
    first = summary["view"]["arguments"][0]
    assert first["text"] == "x" * SUMMARY_PREVIEW_CHARS and first["length"] == 50_000
    assert first["complete"] is False and first["truncated"] is True and first["edit"] is None and first["editable"] is False
    assert len(summary["view"]["arguments"]) == SUMMARY_MAX_ITEMS and summary["view"]["arguments_total"] == 201
    assert summary["call_text_length"] == 50_000 and summary["call_text"].endswith("…")
    assert len(summary["edits"]["a"]["text"]) == SUMMARY_PREVIEW_CHARS + 1
    # the server's own fields are kept whole
    assert summary["id"] == "r1" and summary["version"] == 1 and summary["status"] == "pending"
    # the stored request itself is untouched
    assert r.view["arguments"][0]["text"] == big
