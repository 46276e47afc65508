"""context= as a function of the request: computed for each call a person is asked about (a dry run's row count)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hitl_widget import ApprovalRejected, Approve, AuditLog, Edit, Gate, Reject, ScriptedApprover
from hitl_widget.request import ApprovalRequest


def _rows_matching(request: ApprovalRequest) -> dict[str, Any]:
    where = request.arguments["where"]
    return {"dry run": f"would delete {len(where)} rows", "where seen": list(where)}


def test_computed_for_each_asked_call_from_its_own_copy(tmp_path: Path) -> None:
    approver = ScriptedApprover([Approve(), Reject("no")])
    gate = Gate(approver=approver, audit=AuditLog(tmp_path / "a.jsonl"))
    seen: list[Any] = []

    def dry_run(request: ApprovalRequest) -> dict[str, Any]:
        seen.append(request.arguments["where"])
        return _rows_matching(request)

    @gate.require_approval(context=dry_run)
    def delete(where: list[int]) -> int:
        return len(where)

    ids = [1, 2, 3]
    assert delete(ids) == 3
    assert seen[0] == ids and seen[0] is not ids  # the request's private copy, not the caller's list
    with pytest.raises(ApprovalRejected):
        delete([9])
    assert [r.context for r in approver.requests] == [
        {"dry run": "would delete 3 rows", "where seen": [1, 2, 3]},
        {"dry run": "would delete 1 rows", "where seen": [9]},
    ]
    recorded = [r["request"]["context"] for r in AuditLog.records(tmp_path / "a.jsonl") if r.get("type") == "request"]
    assert recorded == [r.context for r in approver.requests]


def test_not_computed_when_no_one_is_asked() -> None:
    calls: list[int] = []

    def counted(request: ApprovalRequest) -> dict[str, Any]:
        calls.append(1)
        return {}

    gate = Gate(approver=ScriptedApprover([]))

    @gate.require_approval(when=lambda call: call.arguments["n"] > 10, context=counted)
    def small(n: int) -> int:
        return n

    @gate.require_approval(risk="low", context=counted)
    def harmless(n: int) -> int:
        return n

    # a risk function reads (a copy of) the arguments of every call: still no context for a call nobody is asked about
    @gate.require_approval(when=lambda call: call.arguments["n"] > 10, risk=lambda r: "high", context=counted)
    def rated(n: int) -> int:
        return n

    assert small(1) == 1 and harmless(2) == 2 and rated(3) == 3
    assert calls == []


def test_a_batch_computes_it_when_the_call_is_queued() -> None:
    from hitl_widget import Batch

    approver = ScriptedApprover([Approve()])
    batch = Batch(approver=approver)
    delete = batch.wrap(lambda where: len(where), context=_rows_matching)
    assert delete([4, 5]) == "PENDING_APPROVAL_1"
    assert batch.review_and_execute() == {1: 2}
    assert approver.requests[0].context["dry run"] == "would delete 2 rows"


def test_static_entries_are_kept_and_a_failing_function_still_asks() -> None:
    approver = ScriptedApprover([Approve()])
    gate = Gate(approver=approver)

    def broken(request: ApprovalRequest) -> dict[str, Any]:
        raise RuntimeError("database is locked")

    @gate.require_approval(context=broken)
    def drop(table: str) -> str:
        return f"dropped {table}"

    assert drop("logs") == "dropped logs"  # the person was asked and approved
    (request,) = approver.requests
    assert request.context == {"context": "the context function failed (RuntimeError: database is locked)"}
    assert any("context function failed" in note for note in request.notes)

    wrong = ScriptedApprover([Approve()])

    @Gate(approver=wrong).require_approval(context=lambda request: ["not", "a", "dict"])
    def other(x: int) -> int:
        return x

    assert other(1) == 1
    assert "it returned list, not a dict" in wrong.requests[0].context["context"]


def test_an_edited_call_asked_again_gets_its_own_context() -> None:
    first = ScriptedApprover([Edit(arguments={"where": "[1, 2, 3, 4, 5, 6]"})])
    second = ScriptedApprover([Approve()])
    gate = Gate(approver=first, routes={"critical": second})

    @gate.require_approval(risk=lambda r: "critical" if len(r.arguments["where"]) > 5 else "high", context=_rows_matching)
    def delete(where: list[int]) -> int:
        return len(where)

    assert delete([1]) == 6
    assert first.requests[0].context["dry run"] == "would delete 1 rows"
    assert second.requests[0].context["dry run"] == "would delete 6 rows"  # recomputed for the edited call


def test_wrong_kinds_are_refused_when_wrapping() -> None:
    with pytest.raises(TypeError, match="context= takes a dict or a function of the request"):
        Gate().wrap(lambda: None, context="ticket 7")


def test_the_card_view_shows_the_context_as_text(tmp_path: Path) -> None:
    from hitl_widget.card_view import request_view

    approver = ScriptedApprover([Approve()])
    gate = Gate(approver=approver)

    @gate.require_approval(context=lambda r: {"dry run": "would delete 2 rows", "tables": ["orders"], "api_token": "s3cret"})
    def delete(where: str) -> str:
        return where

    delete("id < 3")
    view = request_view(approver.requests[0])
    assert view["context"] == [
        {"name": "dry run", "text": "would delete 2 rows"},
        {"name": "tables", "text": json.dumps(["orders"])},
        {"name": "api_token", "text": "[REDACTED]"},
    ]


def test_the_terminal_prompt_shows_the_context_too() -> None:
    import io

    from hitl_widget import TerminalApprover

    out = io.StringIO()
    gate = Gate(approver=TerminalApprover(io.StringIO("a\n"), out))

    @gate.require_approval(context=lambda r: {"dry run": "2 rows would change\n(rolled back)", "api_token": "s3cret"})
    def delete(where: str) -> str:
        return where

    assert delete("id < 3") == "id < 3"
    shown = out.getvalue()
    assert "  context · dry run: 2 rows would change\\n(rolled back)\n" in shown
    assert "  context · api_token: [REDACTED]\n" in shown and "s3cret" not in shown
