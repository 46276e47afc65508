"""No silent fail-open configuration: odd option values are refused when defined, or never widen what runs unasked."""

import contextlib
import math
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from fractions import Fraction

import pytest

from hitl_widget import ApprovalRejected, Approve, AuditLog, Batch, Budget, Gate, Reject, ScriptedApprover, TimeWindow


@pytest.fixture(autouse=True)
def no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


def rejecting():
    return ScriptedApprover(default=Reject("a person was asked"))


# -- TimeWindow --------------------------------------------------------------------------------------


def test_issue_example_empty_days_is_refused():
    with pytest.raises(ValueError, match="names no day"):
        TimeWindow("09:00", "17:00", days="")


@pytest.mark.parametrize("days", ["", " ", [], (), set(), "mon,", ",", "mon,,fri"])
def test_days_naming_no_day_or_with_empty_parts_are_refused(days):
    with pytest.raises(ValueError, match=r"no day|empty part"):
        TimeWindow("09:00", "17:00", days=days)


@pytest.mark.parametrize("days", ["funday", "monkey", "mo", "mon-xyz", "1-5", [7], [-1], ["mond"], [True], "weekdays"])
def test_unknown_day_names_are_refused_with_a_clear_error(days):
    with pytest.raises(ValueError, match="day"):
        TimeWindow("09:00", "17:00", days=days)


def test_days_of_the_wrong_kind_are_refused():
    with pytest.raises(TypeError, match="days="):
        TimeWindow("09:00", "17:00", days=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "days, expected",
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("Monday, Friday", {0, 4}),
        ("fri-mon", {4, 5, 6, 0}),
        (["sat", "SUNDAY", 0], {5, 6, 0}),
        ("mon-sun", set(range(7))),
    ],
)
def test_day_names_that_are_accepted(days, expected):
    assert TimeWindow("09:00", "17:00", days=days).days == expected


@pytest.mark.parametrize("bad", ["25:00", "9am", "09:60", "-1:00", "", "9", "09:00:60", "24:01", "noon", " : "])
def test_bad_times_are_refused(bad):
    with pytest.raises(ValueError, match="bad time"):
        TimeWindow(bad, "17:00")
    with pytest.raises(ValueError, match="bad time"):
        TimeWindow("08:00", bad)


@pytest.mark.parametrize("bad", [900, 9.5, None, datetime(2024, 1, 1)])
def test_times_of_the_wrong_kind_are_refused(bad):
    with pytest.raises(TypeError, match="window time"):
        TimeWindow(bad, "17:00")  # type: ignore[arg-type]


def test_a_time_with_its_own_zone_is_refused():
    with pytest.raises(ValueError, match="tz="):
        TimeWindow(dtime(9, tzinfo=UTC), "17:00")


@pytest.mark.parametrize("start, end", [("09:00", "09:00"), ("00:00", "00:00"), ("9:00", "09:00:00"), (dtime(0), "00:00")])
def test_an_empty_window_is_refused(start, end):
    with pytest.raises(ValueError, match="empty"):
        TimeWindow(start, end)


def test_24_00_is_the_end_of_the_day():
    window = TimeWindow("00:00", "24:00", inside="ask", outside="reject")
    for hour in (0, 12, 23):
        assert window.contains(datetime(2024, 1, 1, hour, 59, tzinfo=UTC))
    with pytest.raises(ValueError, match="bad time"):
        TimeWindow("24:00", "10:00")


def test_unknown_time_zone_is_a_value_error():
    with pytest.raises(ValueError, match="unknown time zone"):
        TimeWindow("09:00", "17:00", tz="Mars/Olympus")
    with pytest.raises(TypeError, match="tz="):
        TimeWindow("09:00", "17:00", tz=1)  # type: ignore[arg-type]


def test_a_naive_clock_is_read_as_utc():
    window = TimeWindow("09:00", "17:00", tz="UTC", clock=lambda: datetime(2024, 1, 1, 10))
    assert window.action()[0] == "ask"


def test_the_accepted_window_still_asks_inside():
    window = TimeWindow("09:00", "17:00", days="mon-fri", clock=lambda: datetime(2024, 1, 1, 10, tzinfo=UTC))
    with pytest.raises(ApprovalRejected, match="a person was asked"):
        Gate(approver=rejecting(), window=window).wrap(lambda: None)()


# -- Budget ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"calls": math.nan}, TypeError),
        ({"calls": 2.5}, TypeError),
        ({"calls": True}, TypeError),
        ({"calls": "5"}, TypeError),
        ({"calls": -1}, ValueError),
        ({"total": math.nan, "amount": lambda r: 1}, ValueError),
        ({"total": math.inf, "amount": lambda r: 1}, ValueError),
        ({"total": -5, "amount": lambda r: 1}, ValueError),
        ({"total": "100", "amount": lambda r: 1}, TypeError),
        ({"total": 100, "amount": 5}, TypeError),
        ({"calls": 5, "amount": lambda r: 1}, ValueError),
        ({"calls": 5, "per": 0}, ValueError),
        ({"calls": 5, "per": -1}, ValueError),
        ({"calls": 5, "per": math.nan}, ValueError),
        ({"calls": 5, "per": math.inf}, ValueError),
        ({"calls": 5, "per": timedelta(0)}, ValueError),
        ({"calls": 5, "per": "3600"}, TypeError),
        ({"calls": 5, "per": True}, TypeError),
        ({}, ValueError),
        ({"calls": 1, "total": 1, "amount": lambda r: 1}, ValueError),
    ],
)
def test_odd_budget_values_are_refused(kwargs, error):
    with pytest.raises(error):
        Budget(**kwargs)


@pytest.mark.parametrize("amount", [math.nan, -1, math.inf, None, "5", True, [1]])
def test_an_unusable_amount_is_asked_about_and_spends_nothing(amount):
    budget = Budget(total=100, amount=lambda r: amount)
    with pytest.raises(ApprovalRejected, match="a person was asked"):
        Gate(approver=rejecting(), budget=budget).wrap(lambda: None)()
    assert budget.remaining() == 100


def test_a_zero_budget_approves_nothing():
    budget = Budget(calls=0)
    with pytest.raises(ApprovalRejected, match="a person was asked"):
        Gate(approver=rejecting(), budget=budget).wrap(lambda: None)()


# -- when= -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("result", [None, 0, "", [], "no", 0.0, True, 1])
def test_only_false_itself_skips_approval(result):
    # None from a forgotten `return` must not skip the person
    with pytest.raises(ApprovalRejected, match="a person was asked"):
        Gate(approver=rejecting(), when=lambda r: result).wrap(lambda: None)()


def test_forgotten_return_in_when_asks():
    def when(request):
        request.arguments["amount"] > 100  # noqa: B015 - the bug being tested

    with pytest.raises(ApprovalRejected, match="a person was asked"):
        Gate(approver=rejecting(), when=when).wrap(lambda amount: None)(5)


def test_when_returning_false_skips():
    assert Gate(approver=rejecting(), when=lambda r: False).wrap(lambda: "ran")() == "ran"


def test_when_raising_asks_and_says_so(tmp_path):
    path = tmp_path / "audit.jsonl"

    def when(request):
        return request.arguments["missing"] > 1

    with AuditLog(path) as audit, pytest.raises(ApprovalRejected, match="a person was asked"):
        Gate(approver=rejecting(), when=when, audit=audit).wrap(lambda amount: None)(5)
    assert [r["type"] for r in AuditLog.records(path)][1:] == ["request", "decision"]


@pytest.mark.parametrize("when", [False, True, "amount > 100", 0])
def test_when_that_is_not_a_function_is_refused(when):
    with pytest.raises(TypeError, match="when="):
        Gate(when=when)
    with pytest.raises(TypeError, match="when="):
        Gate().wrap(lambda: None, when=when)


# -- Gate and wrap options -------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", ["low", "", "critical"])
def test_auto_approve_as_a_string_is_refused(levels):
    with pytest.raises(TypeError, match="tuple of risk levels"):
        Gate(auto_approve=levels)  # type: ignore[arg-type]


def test_auto_approve_none_and_unknown_levels_are_refused():
    with pytest.raises(TypeError):
        Gate(auto_approve=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown risk level"):
        Gate(auto_approve=("lo",))


def test_empty_auto_approve_asks_about_everything():
    with pytest.raises(ApprovalRejected):
        Gate(approver=rejecting(), auto_approve=()).wrap(lambda: None, risk="low")()


@pytest.mark.parametrize(
    "routes, error",
    [("critical", TypeError), (["critical"], TypeError), ({"critical": None}, TypeError), ({"urgent": rejecting()}, ValueError)],
)
def test_odd_routes_are_refused(routes, error):
    with pytest.raises(error):
        Gate(routes=routes)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, True, "30"])
def test_odd_timeouts_are_refused(timeout):
    with pytest.raises(ValueError, match="timeout"):
        Gate(timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        Gate().wrap(lambda: None, timeout=timeout)


@pytest.mark.parametrize(
    "option, value",
    [
        ("risk", None),
        ("risk", 3),
        ("risk", "HIGH"),
        ("approver", "terminal"),
        ("budget", 5),
        ("window", "09:00-17:00"),
        ("audit", "audit.jsonl"),
        ("context", "ticket-1"),
        ("on_timeout", "allow"),
        ("on_timeout", None),
    ],
)
def test_options_of_the_wrong_kind_are_refused_at_wrap_time(option, value):
    with pytest.raises((TypeError, ValueError)):
        Gate().wrap(lambda: None, **{option: value})
    with pytest.raises((TypeError, ValueError)):
        Batch().wrap(lambda: None, **{option: value})


@pytest.mark.parametrize("level", [None, "HIGH", 3, "", "low ", ["low"]])
def test_a_risk_function_returning_no_level_asks_the_critical_route(level):
    """No level is not "low": the call is critical, asked (never auto-approved by level), and noted."""
    ran = []
    asked = []

    def critical(request):
        asked.append((request.risk, list(request.notes)))
        return Reject("no")

    gate = Gate(approver=rejecting(), routes={"critical": critical}, auto_approve=("low", "critical"))
    with pytest.raises(ApprovalRejected):
        gate.wrap(lambda: ran.append(1), risk=lambda r: level)()
    assert ran == []
    assert asked[0][0] == "critical"
    assert "risk function returned" in asked[0][1][0]


def test_a_risk_function_that_raises_asks_and_is_recorded(tmp_path):
    log = tmp_path / "audit.jsonl"
    asked = []

    def boom(request):
        raise KeyError("amount")

    gate = Gate(approver=lambda r: asked.append(r.risk) or Approve(), audit=AuditLog(log), auto_approve=("critical",))
    assert gate.wrap(lambda x: x * 2, risk=boom)(21) == 42
    assert asked == ["critical"]
    request = next(r for r in AuditLog.records(log) if r["type"] == "request")
    assert "the risk function raised KeyError" in request["request"]["notes"][0]


@pytest.mark.parametrize("value", ["1", "yes", "true", "on", "APPROVE!", "approved"])
def test_unknown_hitl_modes_reject(monkeypatch, value):
    monkeypatch.setenv("HITL_MODE", value)
    with pytest.raises(ApprovalRejected, match="HITL_MODE=reject"):
        Gate(approver=rejecting()).wrap(lambda: None)()


@pytest.mark.parametrize("option", ["clock", "id_factory"])
def test_gate_clock_and_id_factory_must_be_functions(option):
    with pytest.raises(TypeError, match=option):
        Gate(**{option: "now"})


# -- auto_approve / routes of an ambiguous kind (breaker #7) ---------------------------------------


@pytest.mark.parametrize(
    "levels",
    [
        {"low": True, "critical": False},  # a dict is read by its keys: critical would be auto-approved
        {"low": 1},
        (level for level in ["low"]),  # a one-shot generator
        {"low": True}.values(),
        "low",
        b"low",
        None,
        5,
        [None],
        ["LOW"],
        ["medium "],
        [["low"]],
    ],
)
def test_auto_approve_of_an_ambiguous_kind_is_refused(levels):
    with pytest.raises((TypeError, ValueError), match=r"auto_approve|risk level"):
        Gate(auto_approve=levels)


def test_auto_approve_dict_error_says_why():
    with pytest.raises(TypeError, match="read by its keys"):
        Gate(auto_approve={"low": True, "critical": False})


@pytest.mark.parametrize("levels", [("low",), ["low", "medium"], {"low"}, frozenset({"low"}), (), {"low": 1}.keys()])
def test_auto_approve_collections_of_names_are_taken(levels):
    gate = Gate(auto_approve=levels, approver=rejecting())
    with pytest.raises(ApprovalRejected):
        gate.wrap(lambda: None, risk="critical")()


@pytest.mark.parametrize("route", [ScriptedApprover, None, "terminal", [rejecting()], True])
def test_routes_values_that_are_not_approvers_are_refused(route):
    with pytest.raises(TypeError, match=r"routes\['critical'\]"):
        Gate(routes={"critical": route})


def test_an_approver_class_instead_of_an_instance_is_refused():
    with pytest.raises(TypeError, match="pass an instance"):
        Gate(approver=ScriptedApprover)
    with pytest.raises(TypeError, match="pass an instance"):
        Gate().wrap(lambda: None, approver=ScriptedApprover)


# -- budgets: no free calls, exact amounts, nothing raised out of the policy (breaker #11, #12) --------


def asked_with(**options):
    """How many of three calls reach the (rejecting) approver."""
    asked = []

    def approver(request):
        asked.append(request)
        return Reject("asked")

    f = Gate(approver=approver, **options).wrap(lambda amount: amount)
    for _ in range(3):
        with contextlib.suppress(ApprovalRejected):
            f(1)
    return asked


HUGE = 10**400


@pytest.mark.parametrize(
    "amount",
    [0, 0.0, -0.0, -5, float("nan"), float("inf"), float("-inf"), None, "1", True, Decimal("0"), Decimal("-0"),
     Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Fraction(0), HUGE, -HUGE, complex(1, 0), object()],
)  # fmt: skip
def test_budget_amounts_that_are_not_a_positive_finite_number_ask(amount):
    asked = asked_with(budget=Budget(total=2 * HUGE + 1, amount=lambda r: amount))
    if amount is HUGE:  # a finite number above zero: two fit in 2 * HUGE + 1, exactly; the third is asked
        assert len(asked) == 1
    else:
        assert len(asked) == 3, "a call whose amount is not above zero ran unasked"


def test_zero_budgets_cover_nothing():
    assert len(asked_with(budget=Budget(total=0, amount=lambda r: 0))) == 3
    assert len(asked_with(budget=Budget(total=0, amount=lambda r: 1))) == 3
    assert len(asked_with(budget=Budget(calls=0))) == 3


def test_huge_int_amount_asks_and_is_not_an_overflow(tmp_path):
    log = tmp_path / "audit.jsonl"
    asked = []
    gate = Gate(
        approver=lambda r: asked.append(1) or Approve(),
        audit=AuditLog(log),
        budget=Budget(total=100, amount=lambda r: r.arguments["n"]),
    )
    assert gate.wrap(lambda n: n > 0)(10**400) is True
    assert asked == [1]


def test_budget_amounts_are_exact():
    budget = Budget(total=10**17, amount=lambda r: r.arguments["amount"])
    f = Gate(approver=rejecting(), budget=budget).wrap(lambda amount: amount)
    with pytest.raises(ApprovalRejected):
        f(10**17 + 1)  # a float would round this to 1e17 and let it fit
    budget = Budget(total=0.3, amount=lambda r: r.arguments["amount"])
    f = Gate(approver=rejecting(), budget=budget).wrap(lambda amount: amount)
    assert f(Decimal("0.1")) == Decimal("0.1")
    assert f(Fraction(1, 10)) == Fraction(1, 10)
    with pytest.raises(ApprovalRejected):
        f(Decimal("0.1") + Decimal("1e-20"))  # 0.1 + 0.1 + a bit over 0.1 > 0.3 (exactly: 0.3 is a binary float just below)


@pytest.mark.parametrize("clock", [lambda: 1 / 0, lambda: "now", lambda: float("inf"), lambda: float("nan"), lambda: None])
def test_a_budget_clock_that_fails_asks(clock):
    assert len(asked_with(budget=Budget(calls=100, clock=clock))) == 3


@pytest.mark.parametrize("clock", [lambda: 1 / 0, lambda: "noon", lambda: None, lambda: 12.0])
def test_a_window_clock_that_fails_asks(clock):
    window = TimeWindow("09:00", "17:00", inside="approve", outside="approve", clock=clock)
    assert len(asked_with(window=window)) == 3


def test_every_failing_rule_is_noted_on_the_request(tmp_path):
    log = tmp_path / "audit.jsonl"
    seen = []
    gate = Gate(
        approver=lambda r: seen.append(list(r.notes)) or Approve(),
        audit=AuditLog(log),
        when=lambda r: 1 / 0,
        window=TimeWindow("09:00", "17:00", outside="approve", clock=lambda: None),
        budget=Budget(calls=5, clock=lambda: "x"),
    )
    assert gate.wrap(lambda: "ran")() == "ran"
    notes = seen[0]
    assert [n.split(" ")[0:2] for n in notes] == [["when=", "raised"], ["the", "time"], ["the", "budget"]]
    request = next(r for r in AuditLog.records(log) if r["type"] == "request")
    assert request["request"]["notes"] == notes


# -- exception texts name no secret (breaker #10) ---------------------------------------------------------


SECRET = "pw-S1-hunter2"


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (lambda user, password: None, ("bob", SECRET)),
        (lambda user, api_key: None, ("bob", SECRET)),
        (lambda user, options: None, ("bob", {"token": SECRET})),
        (lambda user, options: None, ("bob", [{"client_secret": SECRET}])),
        (lambda user, options: None, ("bob", ({"Authorization": SECRET},))),
    ],
)
def test_rejection_messages_redact_secret_named_arguments(call, args):
    with pytest.raises(ApprovalRejected) as caught:
        Gate(approver=ScriptedApprover([Reject("no")])).wrap(call)(*args)
    assert SECRET not in str(caught.value)
    assert "[REDACTED]" in str(caught.value) and "bob" in str(caught.value)


def test_timeout_and_policy_rejections_redact_too(monkeypatch):
    monkeypatch.setenv("HITL_MODE", "reject")
    with pytest.raises(ApprovalRejected) as caught:
        Gate().wrap(lambda password: None)(SECRET)
    assert SECRET not in str(caught.value)


def test_call_text_of_a_wide_cycle_stays_bounded():
    d: dict = {}
    for i in range(50):
        d[f"k{i}"] = d
    d["password"] = SECRET
    with pytest.raises(ApprovalRejected) as caught:
        Gate(approver=ScriptedApprover([Reject("no")])).wrap(lambda options: None)(d)
    assert len(str(caught.value)) < 600
