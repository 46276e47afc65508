"""Policy rules that decide without a person, in their documented order, and the environment switch."""

import io
import re
import sys
from datetime import UTC, datetime, timedelta

import pytest

import hitl_widget.policy as policy
from hitl_widget import (
    ApprovalRejected,
    Approve,
    Budget,
    Gate,
    NoApprovalChannel,
    Reject,
    ScriptedApprover,
    TimeWindow,
)


class RecordingAudit:
    """Duck-typed audit log: keeps every record in memory."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def append(self, type: str, **fields):
        record = {"type": type, **fields}
        self.records.append(record)
        return record

    def rules(self) -> list[str]:
        return [r["rule"] for r in self.records if r["type"] == "decision"]

    def decisions(self) -> list[str]:
        return [r["decision"] for r in self.records if r["type"] == "decision"]


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fixed(moment: datetime):
    return lambda: moment


@pytest.fixture(autouse=True)
def no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


@pytest.fixture
def ran():
    return []


@pytest.fixture
def refund(ran):
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        ran.append((order_id, amount))
        return f"refunded {amount:g}"

    return refund


def refusing() -> ScriptedApprover:
    return ScriptedApprover(default=Reject("asked a person"))


# -- the documented order ------------------------------------------------------------------------------


def test_docstring_documents_the_order():
    doc = policy.__doc__
    assert doc is not None
    steps = re.findall(r"^(\d)\. (.*)$", doc, re.MULTILINE)
    assert [n for n, _ in steps] == ["1", "2", "3", "4", "5", "6", "7"]
    keywords = ["when=", "always", "risk", "TimeWindow", "Budget", "HITL_MODE", "approver"]
    for (_, text), keyword in zip(steps, keywords):
        assert keyword in text


def test_when_false_beats_env_reject(monkeypatch, refund, ran):
    monkeypatch.setenv("HITL_MODE", "reject")
    audit = RecordingAudit()
    gate = Gate(approver=refusing(), when=lambda r: False, audit=audit)
    assert gate.wrap(refund)("o1", 1) == "refunded 1"
    assert audit.rules() == ["when"]
    assert audit.decisions() == ["not_required"]


def test_grant_beats_low_risk_window_and_budget(refund):
    clock = FakeClock()
    budget = Budget(total=5, amount=lambda r: r.arguments["amount"], clock=clock)
    audit = RecordingAudit()
    moment = [datetime(2024, 1, 1, 12, tzinfo=UTC)]
    window = TimeWindow("09:00", "17:00", inside="ask", outside="reject", clock=lambda: moment[0])
    approver = ScriptedApprover([Approve(always="function")])
    gate = Gate(approver=approver, audit=audit)
    guarded = gate.wrap(refund, window=window, budget=budget, risk=lambda r: "low" if r.arguments["amount"] < 5 else "medium")
    guarded("o1", 10)  # medium, inside the window, over the budget: asked, and approved always
    moment[0] = datetime(2024, 1, 1, 20, tzinfo=UTC)  # outside: the window would reject
    guarded("o1", 2)  # low risk, within budget, outside the window: the grant decides first
    assert audit.rules() == ["person", "always:function"]
    assert budget.remaining() == 5


def test_low_risk_beats_window_reject(refund, ran):
    window = TimeWindow("00:00", "24:00", inside="reject", outside="reject", clock=fixed(datetime(2024, 1, 1, tzinfo=UTC)))
    audit = RecordingAudit()
    gate = Gate(approver=refusing(), risk="low", window=window, audit=audit)
    gate.wrap(refund)("o", 1)
    assert audit.rules() == ["risk:low"]


def test_window_beats_budget(refund, ran):
    clock = FakeClock()
    budget = Budget(calls=3, clock=clock)
    window = TimeWindow("09:00", "17:00", inside="reject", clock=fixed(datetime(2024, 1, 1, 10, tzinfo=UTC)))
    audit = RecordingAudit()
    gate = Gate(approver=refusing(), window=window, budget=budget, audit=audit)
    with pytest.raises(ApprovalRejected, match="rejected automatically by policy") as info:
        gate.wrap(refund)("o", 1)
    assert audit.rules() == ["window"]
    assert "inside 09:00-17:00" in info.value.feedback
    assert budget.remaining() == 3
    assert ran == []


def test_budget_beats_env_reject(monkeypatch, refund, ran):
    monkeypatch.setenv("HITL_MODE", "reject")
    audit = RecordingAudit()
    gate = Gate(approver=refusing(), budget=Budget(calls=1, clock=FakeClock()), audit=audit)
    wrapped = gate.wrap(refund)
    wrapped("o", 1)
    with pytest.raises(ApprovalRejected, match="HITL_MODE=reject"):
        wrapped("o", 2)
    assert audit.rules()[0].startswith("budget:")
    assert audit.rules()[1] == "env:HITL_MODE=reject"
    assert ran == [("o", 1)]


def test_env_beats_approver(monkeypatch, refund, ran):
    monkeypatch.setenv("HITL_MODE", "approve")
    approver = refusing()
    assert Gate(approver=approver).wrap(refund)("o", 3) == "refunded 3"
    assert approver.requests == []


# -- when= ------------------------------------------------------------------------------------------------


def test_when_false_runs_without_asking(refund, ran):
    seen = []

    def big(request):
        seen.append(request)
        return request.arguments["amount"] > 100

    approver = ScriptedApprover([Reject("too much")])
    wrapped = Gate(approver=approver).wrap(refund, when=big)
    assert wrapped("small", 50) == "refunded 50"
    assert approver.requests == []
    with pytest.raises(ApprovalRejected, match="too much"):
        wrapped("big", 500)
    assert ran == [("small", 50)]
    assert [r.function for r in seen] == ["refund", "refund"]
    assert seen[0].arguments == {"order_id": "small", "amount": 50}


# -- risk -------------------------------------------------------------------------------------------------


def test_low_risk_is_auto_approved_by_default(refund, ran):
    approver = refusing()
    assert Gate(approver=approver).wrap(refund, risk="low")("o", 1) == "refunded 1"
    assert approver.requests == []


def test_medium_risk_asks_by_default(refund, ran):
    approver = refusing()
    with pytest.raises(ApprovalRejected):
        Gate(approver=approver).wrap(refund)("o", 1)
    assert len(approver.requests) == 1
    assert approver.requests[0].risk == "medium"


def test_auto_approve_levels_are_configurable(refund, ran):
    approver = refusing()
    gate = Gate(approver=approver, auto_approve=())
    with pytest.raises(ApprovalRejected):
        gate.wrap(refund, risk="low")("o", 1)
    gate = Gate(approver=approver, auto_approve=("low", "medium"))
    assert gate.wrap(refund)("o", 2) == "refunded 2"
    with pytest.raises(ValueError):
        Gate(auto_approve=("trivial",))


def test_routes_per_risk_level(refund, ran):
    high = ScriptedApprover(default=Approve())
    critical = ScriptedApprover(default=Reject("critical says no"))
    fallback = ScriptedApprover(default=Approve())
    gate = Gate(approver=fallback, routes={"high": high, "critical": critical})
    gate.wrap(refund)("m", 1)
    gate.wrap(refund, risk="high")("h", 2)
    with pytest.raises(ApprovalRejected, match="critical says no"):
        gate.wrap(refund, risk="critical")("c", 3)
    assert [r.arguments["order_id"] for r in fallback.requests] == ["m"]
    assert [r.arguments["order_id"] for r in high.requests] == ["h"]
    assert [r.arguments["order_id"] for r in critical.requests] == ["c"]
    with pytest.raises(ValueError):
        Gate(routes={"severe": high})


def test_function_approver_beats_route(refund):
    routed = refusing()
    own = ScriptedApprover([Approve()])
    Gate(routes={"high": routed}).wrap(refund, risk="high", approver=own)("o", 1)
    assert routed.requests == [] and len(own.requests) == 1


def test_risk_as_a_function_of_the_request(refund, ran):
    high = ScriptedApprover(default=Reject("needs finance"))
    gate = Gate(approver=refusing(), routes={"high": high})

    def risk(request):
        return "high" if request.arguments["amount"] > 1000 else "low"

    wrapped = gate.wrap(refund, risk=risk)
    assert wrapped("small", 10) == "refunded 10"
    with pytest.raises(ApprovalRejected, match="needs finance") as info:
        wrapped("big", 5000)
    assert info.value.request.risk == "high"
    assert ran == [("small", 10)]


def test_risk_function_returning_unknown_level_asks(refund, ran):
    with pytest.raises(ApprovalRejected):
        Gate(approver=refusing(), auto_approve=("low", "critical")).wrap(refund, risk=lambda r: "extreme")("o", 1)
    assert ran == []


def test_bad_static_risk_is_rejected_at_wrap_time(refund):
    with pytest.raises(ValueError):
        Gate().wrap(refund, risk="urgent")


# -- Budget -----------------------------------------------------------------------------------------------


def test_budget_calls_with_rolling_window(refund, ran):
    clock = FakeClock()
    approver = refusing()
    gate = Gate(approver=approver, budget=Budget(calls=2, per=60, clock=clock))
    wrapped = gate.wrap(refund)
    wrapped("a", 1)
    clock.advance(30)
    wrapped("b", 1)
    with pytest.raises(ApprovalRejected):
        wrapped("c", 1)  # spent: a person is asked
    assert len(approver.requests) == 1
    clock.advance(30)  # the first call is now 60 s old: it no longer counts
    wrapped("d", 1)
    with pytest.raises(ApprovalRejected):
        wrapped("e", 1)
    clock.advance(30)
    wrapped("f", 1)
    assert [o for o, _ in ran] == ["a", "b", "d", "f"]
    assert len(approver.requests) == 2


def test_budget_per_timedelta_and_remaining():
    clock = FakeClock()
    budget = Budget(calls=3, per=timedelta(minutes=1), clock=clock)
    assert budget.window == 60
    assert budget.remaining() == 3


def test_budget_total_by_amount(refund, ran):
    clock = FakeClock()
    budget = Budget(total=100, amount=lambda r: r.arguments["amount"], per=86400, clock=clock)
    approver = refusing()
    wrapped = Gate(approver=approver, budget=budget).wrap(refund)
    wrapped("a", 60)
    wrapped("b", 30)
    with pytest.raises(ApprovalRejected):
        wrapped("c", 20)  # does not fit: asked, and spends nothing
    assert budget.remaining() == 10
    wrapped("d", 10)
    assert budget.remaining() == 0
    clock.advance(86400)
    assert budget.remaining() == 100
    wrapped("e", 100)
    assert [o for o, _ in ran] == ["a", "b", "d", "e"]
    assert [r.arguments["order_id"] for r in approver.requests] == ["c"]


def test_budget_unreadable_amount_is_asked(refund, ran):
    budget = Budget(total=100, amount=lambda r: r.arguments["missing"], clock=FakeClock())
    approver = refusing()
    with pytest.raises(ApprovalRejected):
        Gate(approver=approver, budget=budget).wrap(refund)("a", 1)
    assert len(approver.requests) == 1
    negative = Budget(total=100, amount=lambda r: -5, clock=FakeClock())
    with pytest.raises(ApprovalRejected):
        Gate(approver=approver, budget=negative).wrap(refund)("b", 1)
    assert negative.remaining() == 100


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"calls": 1, "total": 1, "amount": len}, {"total": 5}, {"calls": -1}, {"calls": 1, "per": 0}],
)
def test_budget_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        Budget(**kwargs)


# -- TimeWindow -------------------------------------------------------------------------------------------

MONDAY = datetime(2024, 1, 15, tzinfo=UTC)  # a Monday in winter (Berlin = UTC+1)


def window_gate(window: TimeWindow, approver: ScriptedApprover) -> Gate:
    return Gate(approver=approver, window=window)


@pytest.mark.parametrize(
    ("utc_hour", "asked"),
    [(7, False), (8, True), (12, True), (15, True), (16, False), (23, False)],
)
def test_time_window_inside_asks_outside_approves(refund, utc_hour, asked):
    moment = MONDAY.replace(hour=utc_hour, minute=30)
    window = TimeWindow("09:00", "17:00", tz="Europe/Berlin", outside="approve", clock=fixed(moment))
    approver = refusing()
    wrapped = window_gate(window, approver).wrap(refund)
    if asked:
        with pytest.raises(ApprovalRejected, match="asked a person"):
            wrapped("o", 1)
    else:
        assert wrapped("o", 1) == "refunded 1"
    assert len(approver.requests) == int(asked)


@pytest.mark.parametrize(("utc_hour", "asked"), [(7, False), (12, True), (23, False)])
def test_time_window_outside_rejects_by_default(refund, utc_hour, asked):
    # nobody is there to ask outside the window: by default the call fails closed (never runs unasked)
    moment = MONDAY.replace(hour=utc_hour, minute=30)
    window = TimeWindow("09:00", "17:00", tz="Europe/Berlin", clock=fixed(moment))
    approver = refusing()
    wrapped = window_gate(window, approver).wrap(refund)
    with pytest.raises(ApprovalRejected, match="asked a person" if asked else "outside 09:00-17:00 Europe/Berlin"):
        wrapped("o", 1)
    assert len(approver.requests) == int(asked)


def test_time_window_respects_daylight_saving():
    window = TimeWindow("09:00", "17:00", tz="Europe/Berlin")
    assert not window.contains(datetime(2024, 1, 15, 7, 30, tzinfo=UTC))  # 08:30 CET
    assert window.contains(datetime(2024, 7, 15, 7, 30, tzinfo=UTC))  # 09:30 CEST


def test_time_window_reverse(refund):
    inside = MONDAY.replace(hour=10)  # 11:00 Berlin
    outside = MONDAY.replace(hour=20)
    approver = refusing()
    for moment, asked in ((inside, False), (outside, True)):
        window = TimeWindow("09:00", "17:00", tz="Europe/Berlin", inside="approve", outside="ask", clock=fixed(moment))
        wrapped = window_gate(window, approver).wrap(refund)
        if asked:
            with pytest.raises(ApprovalRejected):
                wrapped("o", 1)
        else:
            wrapped("o", 1)
    assert len(approver.requests) == 1


def test_time_window_reject_outside(refund, ran):
    window = TimeWindow("09:00", "17:00", outside="reject", clock=fixed(MONDAY.replace(hour=3)))
    with pytest.raises(ApprovalRejected, match="outside 09:00-17:00"):
        window_gate(window, refusing()).wrap(refund)("o", 1)
    assert ran == []


def test_time_window_wraps_past_midnight_with_days():
    ny = "America/New_York"
    window = TimeWindow("22:00", "06:00", tz=ny, days="mon-fri")

    def local(day: int, hour: int) -> datetime:
        # January 2024: the 15th is a Monday; New York is UTC-5
        return datetime(2024, 1, day, hour, tzinfo=UTC) + timedelta(hours=5)

    assert window.contains(local(19, 23))  # Friday 23:00
    assert window.contains(local(20, 2))  # Saturday 02:00 belongs to Friday's window
    assert not window.contains(local(20, 23))  # Saturday night
    assert not window.contains(local(22, 2))  # Monday 02:00 belongs to Sunday's window
    assert window.contains(local(22, 22))  # Monday 22:00
    assert window.contains(local(23, 5))  # Tuesday 05:00
    assert not window.contains(local(23, 6))  # the end is exclusive
    assert not window.contains(local(23, 12))


def test_time_window_days():
    window = TimeWindow("00:00", "23:59", days="sat,sun")
    assert window.contains(datetime(2024, 1, 20, 12, tzinfo=UTC))  # Saturday
    assert not window.contains(MONDAY.replace(hour=12))
    wrapped_days = TimeWindow("09:00", "17:00", days="fri-mon")  # wraps around the week
    assert wrapped_days.days == frozenset({4, 5, 6, 0})
    numeric = TimeWindow("09:00", "17:00", days=[0, "tue"])
    assert numeric.days == frozenset({0, 1})


def test_time_window_bad_action():
    with pytest.raises(ValueError):
        TimeWindow("09:00", "17:00", inside="maybe")  # type: ignore[arg-type]


# -- HITL_MODE --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "mode"), [("approve", "approve"), (" Reject ", "reject"), ("ASK", "ask"), ("", "ask")])
def test_env_mode_values(monkeypatch, value, mode):
    monkeypatch.setenv("HITL_MODE", value)
    assert policy.env_mode() == mode


def test_hitl_mode_approve_overrides_the_approver(monkeypatch, refund, ran):
    monkeypatch.setenv("HITL_MODE", "approve")
    audit = RecordingAudit()
    approver = refusing()
    assert Gate(approver=approver, audit=audit).wrap(refund)("o", 1) == "refunded 1"
    assert approver.requests == []
    assert audit.decisions() == ["auto_approved"]
    assert audit.rules() == ["env:HITL_MODE=approve"]


def test_hitl_mode_reject(monkeypatch, refund, ran):
    monkeypatch.setenv("HITL_MODE", "reject")
    approver = ScriptedApprover(default=Approve())
    with pytest.raises(ApprovalRejected) as info:
        Gate(approver=approver).wrap(refund)("o", 1)
    assert "refund(order_id='o', amount=1)" in str(info.value)
    assert "HITL_MODE=reject" in str(info.value)
    assert approver.requests == [] and ran == []


def test_hitl_mode_is_read_at_call_time(monkeypatch, refund, ran):
    approver = ScriptedApprover(default=Reject("person"))
    wrapped = Gate(approver=approver).wrap(refund)
    monkeypatch.setenv("HITL_MODE", "approve")
    wrapped("a", 1)
    monkeypatch.setenv("HITL_MODE", "reject")
    with pytest.raises(ApprovalRejected, match="HITL_MODE=reject"):
        wrapped("b", 1)
    monkeypatch.setenv("HITL_MODE", "ask")
    with pytest.raises(ApprovalRejected, match="person"):
        wrapped("c", 1)
    monkeypatch.delenv("HITL_MODE")
    with pytest.raises(ApprovalRejected, match="person"):
        wrapped("d", 1)
    assert ran == [("a", 1)]
    assert len(approver.requests) == 2


@pytest.mark.parametrize("value", ["yes", "approved", "1", "auto", "off"])
def test_unknown_hitl_mode_fails_closed_to_reject(monkeypatch, refund, ran, value):
    monkeypatch.setenv("HITL_MODE", value)
    approver = ScriptedApprover(default=Approve())
    with pytest.raises(ApprovalRejected, match="HITL_MODE=reject"):
        Gate(approver=approver).wrap(refund)("o", 1)
    assert ran == [] and approver.requests == []


async def test_hitl_mode_for_async_functions(monkeypatch):
    async def act() -> str:
        return "done"

    monkeypatch.setenv("HITL_MODE", "approve")
    wrapped = Gate(approver=refusing()).wrap(act)
    assert await wrapped() == "done"
    monkeypatch.setenv("HITL_MODE", "reject")
    with pytest.raises(ApprovalRejected):
        await wrapped()


# -- no channel ---------------------------------------------------------------------------------------------


@pytest.fixture
def no_tty(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys, "stdout", io.StringIO())


def test_default_approver_without_channel_fails_closed(no_tty, refund, ran):
    with pytest.raises(NoApprovalChannel) as info:
        Gate().wrap(refund)("o", 1)
    error = info.value
    assert isinstance(error, ApprovalRejected)
    message = str(error)
    assert "refund(order_id='o', amount=1)" in message
    assert "approver=" in message
    assert "HITL_MODE" in message
    assert error.request is not None and error.request.function == "refund"
    assert ran == []


async def test_default_approver_without_channel_fails_closed_async(no_tty):
    ran = []

    async def act() -> None:
        ran.append(1)

    with pytest.raises(NoApprovalChannel, match="approver="):
        await Gate().wrap(act)()
    assert ran == []


def test_no_channel_with_hitl_mode_approve_runs(no_tty, monkeypatch, refund, ran):
    monkeypatch.setenv("HITL_MODE", "approve")
    assert Gate().wrap(refund)("o", 2) == "refunded 2"


def test_no_channel_under_pytest_capture(refund, ran):
    """pytest replaces stdin, so there is no TTY here: the default approver must not approve."""
    if sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty():
        pytest.skip("running with a real terminal (pytest -s)")
    with pytest.raises(NoApprovalChannel):
        Gate().wrap(refund)("o", 1)
    assert ran == []


def test_an_unknown_hitl_mode_fails_closed_and_says_which_value(refund, monkeypatch):
    monkeypatch.setenv("HITL_MODE", "yes")
    approver = refusing()
    with pytest.raises(ApprovalRejected, match=r"unknown value 'yes', not ask\|approve\|reject: failing closed"):
        Gate(approver=approver).wrap(refund)("o", 1)
    assert approver.requests == []
