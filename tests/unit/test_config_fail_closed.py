"""No silent fail-open configuration: odd option values are refused when defined, or never widen what runs unasked."""

import math
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

import pytest

from hitl_widget import ApprovalRejected, AuditLog, Batch, Budget, Gate, Reject, ScriptedApprover, TimeWindow


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


@pytest.mark.parametrize("level", [None, "HIGH", 3, ""])
def test_a_risk_function_returning_no_level_fails_the_call(level):
    ran = []
    with pytest.raises(ValueError, match="risk function"):
        Gate(approver=rejecting()).wrap(lambda: ran.append(1), risk=lambda r: level)()
    assert ran == []


@pytest.mark.parametrize("value", ["1", "yes", "true", "on", "APPROVE!", "approved"])
def test_unknown_hitl_modes_reject(monkeypatch, value):
    monkeypatch.setenv("HITL_MODE", value)
    with pytest.raises(ApprovalRejected, match="HITL_MODE=reject"):
        Gate(approver=rejecting()).wrap(lambda: None)()


@pytest.mark.parametrize("option", ["clock", "id_factory"])
def test_gate_clock_and_id_factory_must_be_functions(option):
    with pytest.raises(TypeError, match=option):
        Gate(**{option: "now"})
