"""An edited call is decided by the policy again: the rule or approver that now applies decides it."""

from datetime import UTC, datetime

import pytest

from hitl_widget import (
    ApprovalRejected,
    Approve,
    AuditLog,
    Batch,
    Budget,
    Edit,
    Gate,
    Reject,
    ScriptedApprover,
    TimeWindow,
)
from hitl_widget.gate import MAX_DECISION_ROUNDS


@pytest.fixture(autouse=True)
def no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


def by_amount(request):
    return "critical" if request.arguments["amount"] > 10_000 else "medium"


def records(path):
    return [r for r in AuditLog.records(path) if r["type"] in ("request", "decision")]


def test_issue_example_edit_into_the_critical_route_asks_the_critical_approver(tmp_path):
    path = tmp_path / "audit.jsonl"
    ran = []
    medium = ScriptedApprover([Edit({"amount": 1_000_000}, by="mia")])
    critical = ScriptedApprover([Reject("far too much", by="cara")])
    with AuditLog(path) as audit:
        gate = Gate(approver=medium, routes={"critical": critical}, audit=audit)
        transfer = gate.wrap(lambda to, amount: ran.append((to, amount)), risk=by_amount)
        with pytest.raises(ApprovalRejected, match="far too much"):
            transfer("bob", 50)
    assert ran == []
    [asked] = critical.requests
    assert asked.arguments == {"to": "bob", "amount": 1_000_000}
    assert asked.risk == "critical"
    assert asked.edited_from is medium.requests[0]
    assert asked.id == medium.requests[0].id
    steps = [(r["type"], r.get("decision"), r.get("by"), r.get("round")) for r in records(path)]
    assert steps == [
        ("request", None, None, None),
        ("decision", "edited", "mia", None),
        ("request", None, None, 2),
        ("decision", "rejected", "cara", None),
    ]
    ids = {r.get("request_id") or r["request"]["id"] for r in records(path)}
    assert len(ids) == 1
    assert records(path)[2]["request"]["arguments"]["amount"] == 1_000_000
    assert records(path)[2]["request"]["risk"] == "critical"


def test_critical_approval_of_the_edited_call_runs_it():
    ran = []
    medium = ScriptedApprover([Edit({"amount": 20_000})])
    critical = ScriptedApprover([Approve()])
    gate = Gate(approver=medium, routes={"critical": critical})
    gate.wrap(lambda amount: ran.append(amount), risk=by_amount)(50)
    assert ran == [20_000]


def test_an_edit_within_the_same_route_stands():
    ran = []
    medium = ScriptedApprover([Edit({"amount": 70})])
    critical = ScriptedApprover()
    gate = Gate(approver=medium, routes={"critical": critical})
    gate.wrap(lambda amount: ran.append(amount), risk=by_amount)(50)
    assert ran == [70]
    assert critical.requests == [] and len(medium.requests) == 1


@pytest.mark.parametrize("edited, asks_critical", [(10_000, False), (10_001, True), (10**30, True)])
def test_the_boundary_of_the_route(edited, asks_critical):
    medium = ScriptedApprover([Edit({"amount": edited})])
    critical = ScriptedApprover([Approve()])
    Gate(approver=medium, routes={"critical": critical}).wrap(lambda amount: amount, risk=by_amount)(1)
    assert len(critical.requests) == int(asks_critical)


def test_an_edit_into_an_auto_approved_level_runs_without_asking_again(tmp_path):
    path = tmp_path / "audit.jsonl"
    ran = []
    reviewer = ScriptedApprover([Edit({"amount": 5})])
    with AuditLog(path) as audit:
        gate = Gate(approver=reviewer, audit=audit)
        gate.wrap(lambda amount: ran.append(amount), risk=lambda r: "low" if r.arguments["amount"] < 10 else "high")(500)
    assert ran == [5]
    last = records(path)[-1]
    assert (last["decision"], last["rule"], last["after"]) == ("approved_after_edit", "risk:low", "edit")
    assert last["request"]["arguments"] == {"amount": 5}


def test_an_edit_out_of_when_runs_as_not_required():
    ran = []
    reviewer = ScriptedApprover([Edit({"amount": 5})])
    Gate(approver=reviewer, when=lambda r: r.arguments["amount"] > 100).wrap(lambda amount: ran.append(amount))(500)
    assert ran == [5]


def test_an_edit_into_a_when_that_asks_under_another_route_asks_it():
    # when= decides per call; the route is by risk: moved up, the other approver is asked
    ran = []
    medium = ScriptedApprover([Edit({"amount": 50_000})])
    critical = ScriptedApprover([Reject("no")])
    gate = Gate(approver=medium, routes={"critical": critical}, when=lambda r: r.arguments["amount"] > 10)
    with pytest.raises(ApprovalRejected):
        gate.wrap(lambda amount: ran.append(amount), risk=by_amount)(50)
    assert ran == []


def test_an_edit_covered_by_a_budget_spends_it():
    budget = Budget(total=100, amount=lambda r: r.arguments["amount"])
    ran = []
    reviewer = ScriptedApprover([Edit({"amount": 30})])
    Gate(approver=reviewer, budget=budget).wrap(lambda amount: ran.append(amount))(500)
    assert ran == [30]
    assert budget.remaining() == 70


def test_an_edit_decided_when_the_window_now_rejects():
    moment = [datetime(2024, 1, 1, 12, tzinfo=UTC)]
    window = TimeWindow("09:00", "17:00", inside="ask", outside="reject", clock=lambda: moment[0])

    def slow_reviewer(request):
        moment[0] = datetime(2024, 1, 1, 18, tzinfo=UTC)  # the person took until after hours
        return Edit({"amount": 5})

    ran = []
    with pytest.raises(ApprovalRejected, match="after an edit"):
        Gate(approver=slow_reviewer, window=window).wrap(lambda amount: ran.append(amount))(500)
    assert ran == []


def test_an_edit_decided_by_hitl_mode_reject(monkeypatch):
    def reviewer(request):
        monkeypatch.setenv("HITL_MODE", "reject")  # the switch was thrown while the person decided
        return Edit({"amount": 5})

    ran = []
    with pytest.raises(ApprovalRejected, match="HITL_MODE=reject"):
        Gate(approver=reviewer).wrap(lambda amount: ran.append(amount))(500)
    assert ran == []


def test_edits_that_keep_moving_between_approvers_fail_closed():
    medium = ScriptedApprover(default=Edit({"amount": 50_000}))
    critical = ScriptedApprover(default=Edit({"amount": 50}))
    ran = []
    gate = Gate(approver=medium, routes={"critical": critical})
    with pytest.raises(ApprovalRejected, match="decided 4 times"):
        gate.wrap(lambda amount: ran.append(amount), risk=by_amount)(1)
    assert ran == []
    assert len(medium.requests) + len(critical.requests) == MAX_DECISION_ROUNDS


def test_a_grant_given_with_an_edit_that_moved_the_call_is_not_applied():
    medium = ScriptedApprover([Edit({"amount": 20_000}, always="function")], default=Reject("medium asked"))
    critical = ScriptedApprover([Approve()], default=Reject("critical asked"))
    ran = []
    transfer = Gate(approver=medium, routes={"critical": critical}).wrap(lambda amount: ran.append(amount), risk=by_amount)
    transfer(50)
    assert ran == [20_000]
    with pytest.raises(ApprovalRejected, match="medium asked"):
        transfer(60)  # the medium reviewer's "always" did not stand: its decision was not the final one
    with pytest.raises(ApprovalRejected, match="critical asked"):
        transfer(30_000)


def test_an_edit_with_always_arguments_grants_the_edited_call_for_its_approver():
    reviewer = ScriptedApprover([Edit({"amount": 70}, always="arguments")], default=Reject("asked"))
    ran = []
    transfer = Gate(approver=reviewer).wrap(lambda amount: ran.append(amount), risk=by_amount)
    transfer(50)
    transfer(70)
    with pytest.raises(ApprovalRejected):
        transfer(50)
    assert ran == [70, 70]


async def test_async_edit_into_the_critical_route_asks_the_critical_approver():
    ran = []

    async def transfer(amount: int) -> None:
        ran.append(amount)

    async def critical(request):
        return Reject("async critical says no")

    medium = ScriptedApprover([Edit({"amount": 1_000_000})])
    wrapped = Gate(approver=medium, routes={"critical": critical}).wrap(transfer, risk=by_amount)
    with pytest.raises(ApprovalRejected, match="async critical says no"):
        await wrapped(50)
    assert ran == []


def test_batch_edit_into_the_critical_route_asks_the_critical_approver(tmp_path):
    path = tmp_path / "audit.jsonl"
    ran = []
    critical = ScriptedApprover([Reject("critical: no")])
    with AuditLog(path) as audit:
        batch = Batch(approver=ScriptedApprover(), routes={"critical": critical}, audit=audit)
        transfer = batch.wrap(lambda amount: ran.append(amount), risk=by_amount)
        assert transfer(50) == "PENDING_APPROVAL_1"
        results = batch.review_and_execute({1: Edit({"amount": 1_000_000})})
    assert results == {1: "REJECTED: critical: no"}
    assert ran == []
    assert critical.requests[0].label == "PENDING_APPROVAL_1"
    assert [r.get("decision") for r in records(path)] == [None, "edited", None, "rejected"]


def test_batch_review_edit_within_the_route_stands():
    ran = []
    batch = Batch(approver=ScriptedApprover([Edit({"amount": 60})]))
    transfer = batch.wrap(lambda amount: ran.append(amount) or amount, risk=by_amount)
    transfer(50)
    assert batch.review_and_execute() == {1: 60}


def test_a_risk_function_failing_on_the_edited_call_asks_the_critical_route(tmp_path):
    """The edited call's level is unknown: it is critical, so the critical route decides it (and can refuse)."""
    path = tmp_path / "audit.jsonl"
    ran = []

    def risk(request):
        return "medium" if request.arguments["amount"] < 100 else {}["no level for this"]

    critical = ScriptedApprover([Reject("not that much")])
    with AuditLog(path) as audit:
        gate = Gate(approver=ScriptedApprover([Edit({"amount": 500})]), routes={"critical": critical}, audit=audit)
        wrapped = gate.wrap(lambda amount: ran.append(amount), risk=risk)
        with pytest.raises(ApprovalRejected, match="not that much"):
            wrapped(5)
    assert ran == []
    assert [r.arguments["amount"] for r in critical.requests] == [500]
    assert critical.requests[0].risk == "critical"
    assert "risk function raised KeyError" in critical.requests[0].notes[0]
    assert [r.get("decision") for r in records(path)] == [None, "edited", None, "rejected"]

