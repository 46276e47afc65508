"""The gate's run hooks: an approver's ``before_run`` / ``after_run`` around the function it approved.

The dashboard approver claims the approved request in ``before_run`` (so the call runs at most
once) and reports the outcome in ``after_run``; these tests pin the hook contract with a
scripted approver, sync and async, without any server.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from hitl_widget import ApprovalRejected, Approve, AuditLog, Edit, Gate, Reject, ScriptedApprover
from hitl_widget.gate import Resolution
from hitl_widget.request import ApprovalRequest


class Hooked(ScriptedApprover):
    """A scripted approver that records its run hooks (and may refuse in before_run)."""

    def __init__(self, decisions: list[Any], *, refuse: BaseException | None = None, fail_after: bool = False) -> None:
        super().__init__(decisions)
        self.events: list[tuple[Any, ...]] = []
        self.refuse = refuse
        self.fail_after = fail_after

    def before_run(self, request: ApprovalRequest, resolution: Resolution) -> None:
        self.events.append(("before", request.id, resolution.status, dict(resolution.arguments)))
        if self.refuse is not None:
            raise self.refuse

    def after_run(self, request: ApprovalRequest, outcome: dict[str, str]) -> None:
        self.events.append(("after", request.id, outcome["status"], outcome["detail"]))
        if self.fail_after:
            raise RuntimeError("the record could not be written")


class AsyncHooked(Hooked):
    async def before_run_async(self, request: ApprovalRequest, resolution: Resolution) -> None:
        self.events.append(("before_async", request.id, resolution.status))
        if self.refuse is not None:
            raise self.refuse

    async def after_run_async(self, request: ApprovalRequest, outcome: dict[str, str]) -> None:
        self.events.append(("after_async", request.id, outcome["status"], outcome["detail"]))


def make(approver: Any, ran: list[Any], **gate_options: Any) -> Any:
    gate = Gate(approver=approver, id_factory=iter(f"r{i}" for i in range(1, 99)).__next__, **gate_options)

    @gate.require_approval(risk="high")
    def refund(order: str, amount: int = 10) -> str:
        ran.append((order, amount))
        if order == "boom":
            raise ValueError("card declined")
        return f"refunded {amount} on {order}"

    return refund


def test_before_run_is_called_after_the_decision_and_before_the_function_then_after_run_with_the_result():
    ran: list[Any] = []
    approver = Hooked([Approve(by="alice")])
    refund = make(approver, ran)

    def order_check(request: ApprovalRequest, resolution: Resolution) -> None:
        approver.events.append(("before", request.id, resolution.status, dict(resolution.arguments)))
        assert ran == [], "before_run must come before the function runs"

    approver.before_run = order_check  # type: ignore[method-assign]
    assert refund("A1") == "refunded 10 on A1"
    assert approver.events == [
        ("before", "r1", "approved", {"order": "A1", "amount": 10}),
        ("after", "r1", "succeeded", "returned 'refunded 10 on A1'"),
    ]
    assert ran == [("A1", 10)]


def test_before_run_gets_the_edited_arguments_the_function_runs_with():
    ran: list[Any] = []
    approver = Hooked([Edit({"amount": "7"}, by="bob")])
    assert make(approver, ran)("A1") == "refunded 7 on A1"
    assert approver.events[0] == ("before", "r1", "edited", {"order": "A1", "amount": 7})


def test_a_before_run_that_raises_stops_the_call_the_caller_gets_its_error_and_the_log_says_not_run(tmp_path):
    ran: list[Any] = []
    log_path = tmp_path / "audit.jsonl"
    approver = Hooked([Approve()], refuse=ApprovalRejected("already ran once: not again"))
    refund = make(approver, ran, audit=AuditLog(log_path))
    with pytest.raises(ApprovalRejected, match="already ran once"):
        refund("A1")
    assert ran == []
    assert [e[0] for e in approver.events] == ["before"]  # no after_run for a call that did not run
    outcomes = [r for r in AuditLog.records(log_path) if r.get("type") == "outcome"]
    assert [(r["status"], r["rule"]) for r in outcomes] == [("not_run", "before_run")]
    assert "already ran once" in outcomes[0]["error"]
    assert AuditLog.without_outcome(log_path) == []  # the approved decision is accounted for
    assert AuditLog.verify(log_path)


def test_after_run_reports_a_failure_and_the_caller_still_gets_the_functions_own_exception():
    ran: list[Any] = []
    approver = Hooked([Approve()])
    with pytest.raises(ValueError, match="card declined"):
        make(approver, ran)("boom")
    assert approver.events[-1] == ("after", "r1", "failed", "raised ValueError: 'card declined'")


def test_an_after_run_that_fails_is_logged_and_the_result_still_reaches_the_caller(caplog):
    ran: list[Any] = []
    approver = Hooked([Approve()], fail_after=True)
    with caplog.at_level(logging.ERROR, logger="hitl_widget"):
        assert make(approver, ran)("A1") == "refunded 10 on A1"
    assert "after_run failed" in caplog.text and "could not be written" in caplog.text


def test_the_outcome_detail_has_the_audit_logs_secrets_redacted():
    gate_ran: list[Any] = []
    approver = Hooked([Approve()])
    gate = Gate(approver=approver)

    @gate.require_approval(risk="high")
    def connect(api_key: str) -> str:
        gate_ran.append(1)
        return f"connected with {api_key}"

    connect("sk-very-secret-value-123")
    detail = approver.events[-1][3]
    assert "sk-very-secret-value-123" not in detail and "[REDACTED]" in detail


def test_no_hook_runs_for_a_rejection_or_an_automatic_decision():
    ran: list[Any] = []
    approver = Hooked([Reject("no")])
    with pytest.raises(ApprovalRejected):
        make(approver, ran)("A1")
    gate = Gate(approver=approver)

    @gate.require_approval(risk="low")  # auto-approved by level: no person's decision, no hooks
    def look(order: str) -> str:
        return order

    assert look("A2") == "A2"
    assert approver.events == [] and ran == []


def test_after_an_edit_moves_the_call_to_another_approver_only_that_approvers_hooks_run():
    first = Hooked([Edit({"amount": 500})])
    second = Hooked([Approve(by="manager")])
    ran: list[Any] = []
    gate = Gate(routes={"high": first, "critical": second})

    @gate.require_approval(risk=lambda r: "critical" if r.arguments["amount"] > 100 else "high")
    def refund(order: str, amount: int = 10) -> str:
        ran.append(amount)
        return "ok"

    assert refund("A1") == "ok"
    assert first.events == []
    assert [e[0] + ":" + e[2] for e in second.events] == ["before:approved", "after:succeeded"]
    assert ran == [500]


async def test_an_async_call_awaits_the_async_hooks():
    ran: list[Any] = []
    approver = AsyncHooked([Approve()])
    gate = Gate(approver=approver, id_factory=lambda: "a1")

    @gate.require_approval(risk="high")
    async def refund(order: str) -> str:
        ran.append(order)
        return "ok"

    assert await refund("A1") == "ok"
    assert approver.events == [("before_async", "a1", "approved"), ("after_async", "a1", "succeeded", "returned 'ok'")]


async def test_an_async_call_with_only_sync_hooks_calls_them_and_a_refusal_stops_it():
    ran: list[Any] = []
    approver = Hooked([Approve(), Approve()], refuse=None)
    gate = Gate(approver=approver, id_factory=iter(["a1", "a2"]).__next__)

    @gate.require_approval(risk="high")
    async def refund(order: str) -> str:
        ran.append(order)
        return "ok"

    assert await refund("A1") == "ok"
    approver.refuse = ApprovalRejected("claimed elsewhere")
    with pytest.raises(ApprovalRejected, match="claimed elsewhere"):
        await refund("A2")
    assert ran == ["A1"]
    assert [e[0] for e in approver.events] == ["before", "after", "before"]


def test_a_sync_call_with_only_async_hooks_runs_them_to_completion():
    ran: list[Any] = []

    class OnlyAsync(ScriptedApprover):
        def __init__(self) -> None:
            super().__init__([Approve()])
            self.events: list[str] = []

        async def before_run_async(self, request: ApprovalRequest, resolution: Resolution) -> None:
            self.events.append("before")

        async def after_run_async(self, request: ApprovalRequest, outcome: dict[str, str]) -> None:
            self.events.append(outcome["status"])

    approver = OnlyAsync()
    assert make(approver, ran)("A1") == "refunded 10 on A1"
    assert approver.events == ["before", "succeeded"]
