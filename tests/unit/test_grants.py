""" "Approve always": a grant covers exactly the arguments, the stand-in and the approver it was given for."""

import gc
import math
import uuid
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import PurePosixPath, PureWindowsPath
from zoneinfo import ZoneInfo

import pytest

import hitl_widget.frozen as frozen
from hitl_widget import ApprovalRejected, Approve, AuditLog, Gate, Reject, ScriptedApprover
from hitl_widget.frozen import fingerprint


@pytest.fixture(autouse=True)
def no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


def granted_then(first, second):
    """Grant "these arguments" for ``up(first)``; was ``up(second)`` then asked again?"""
    approver = ScriptedApprover([Approve(always="arguments")], default=Reject("asked again"))
    ran = []
    up = Gate(approver=approver).wrap(lambda data: ran.append(data))
    up(first)
    try:
        up(second)
    except ApprovalRejected:
        return True
    return False


def test_the_issue_example_bytes_differing_in_the_middle_ask_again():
    assert granted_then(b"A" * 100 + b"SAFE" + b"Z" * 100, b"A" * 100 + b"EVIL" + b"Z" * 100)


Point = namedtuple("Point", "x y")
OtherPoint = namedtuple("OtherPoint", "x y")


@dataclass
class Config:
    name: str
    limits: list[int]


DIFFERENT = {
    "int vs float": (1, 1.0),
    "int vs bool": (1, True),
    "0.0 vs -0.0": (0.0, -0.0),
    "nan vs inf": (math.nan, math.inf),
    "bytes vs bytearray": (b"abc", bytearray(b"abc")),
    "bytearray middle": (bytearray(b"x" * 300 + b"a" + b"x" * 300), bytearray(b"x" * 300 + b"b" + b"x" * 300)),
    "long str middle": ("a" * 5000 + "SAFE" + "a" * 5000, "a" * 5000 + "EVIL" + "a" * 5000),
    "str vs bytes": ("abc", b"abc"),
    "big int": (10**5000, 10**5000 + 1),
    "Decimal precision": (Decimal("1.0"), Decimal("1.00")),
    "Decimal sign of zero": (Decimal("0"), Decimal("-0")),
    "Fraction": (Fraction(1, 3), Fraction(2, 6) + Fraction(1, 10**30)),
    "naive vs aware datetime": (datetime(2024, 1, 1, 12), datetime(2024, 1, 1, 12, tzinfo=UTC)),
    "same instant, other zone": (
        datetime(2024, 1, 1, 12, tzinfo=UTC),
        datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))),
    ),
    "zoneinfo zones": (
        datetime(2024, 6, 1, 12, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2024, 6, 1, 12, tzinfo=ZoneInfo("Europe/Paris")),
    ),
    "fold": (datetime(2024, 10, 27, 2, 30, fold=0), datetime(2024, 10, 27, 2, 30, fold=1)),
    "date vs datetime": (date(2024, 1, 1), datetime(2024, 1, 1)),
    "time microseconds": (time(9, 0, 0, 1), time(9, 0, 0, 2)),
    "timedelta": (timedelta(days=1), timedelta(hours=24, microseconds=1)),
    "uuid": (uuid.UUID(int=1), uuid.UUID(int=2)),
    "path flavour": (PurePosixPath("a/b"), PureWindowsPath("a/b")),
    "list vs tuple": ([1, 2], (1, 2)),
    "nested deep": ([[[[[[[[[[{"k": [1, 2, 3]}]]]]]]]]]], [[[[[[[[[[{"k": [1, 2, 4]}]]]]]]]]]]),
    "item 600 of a long list": (list(range(1000)), [*range(600), -1, *range(601, 1000)]),
    "float list, one bit": ([0.1] * 500, [0.1] * 499 + [math.nextafter(0.1, 1)]),
    "dict order": ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
    "dict key type": ({1: "x"}, {"1": "x"}),
    "set": ({1, 2}, {1, 3}),
    "set vs frozenset": ({1, 2}, frozenset({1, 2})),
    "namedtuple vs tuple": (Point(1, 2), (1, 2)),
    "namedtuple types": (Point(1, 2), OtherPoint(1, 2)),
    "dataclass field": (Config("a", [1, 2]), Config("a", [1, 3])),
    "None vs empty": (None, ""),
    "complex": (complex(1, 0.0), complex(1, -0.0)),
}


@pytest.mark.parametrize("name", sorted(DIFFERENT))
def test_any_difference_in_value_or_type_asks_again(name):
    first, second = DIFFERENT[name]
    assert fingerprint({"data": first}) != fingerprint({"data": second})
    assert granted_then(first, second)


SAME = {
    "bytes": (b"A" * 1000, b"A" * 999 + b"A"),
    "big int": (10**5000, 10 ** (5000 + 0)),
    "nested": ({"a": [1, (2, 3)], "b": {"c": None}}, {"a": [1, (2, 3)], "b": {"c": None}}),
    "set order": ({"x", "y", "z"}, {"z", "y", "x"}),
    "nan": (math.nan, math.nan),
    "Decimal": (Decimal("1.50"), Decimal("1.50")),
    "aware datetime": (
        datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")),
    ),
    "dataclass": (Config("a", [1]), Config("a", [1])),
    "long list": (list(range(100_000)), list(range(100_000))),
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_the_same_value_again_is_covered(name):
    first, second = SAME[name]
    assert fingerprint({"data": first}) == fingerprint({"data": second}) is not None
    assert not granted_then(first, second)


class Opaque:
    def __init__(self, value: str) -> None:
        self.value = value


def cyclic():
    a: list = [1]
    a.append(a)
    return a


class Stamp(datetime):
    """A datetime subclass (like pandas' Timestamp): its extra state is unknown here."""


class Name(str):
    pass


@pytest.mark.parametrize(
    "value",
    [Opaque("x"), cyclic(), lambda: None, {"nested": [Opaque("y")]}, Stamp(2024, 1, 1), Name("x")],
    ids=["object", "cycle", "function", "object nested", "datetime subclass", "str subclass"],
)
def test_values_with_no_exact_encoding_grant_nothing_and_say_so(tmp_path, value):
    path = tmp_path / "audit.jsonl"
    approver = ScriptedApprover([Approve(always="arguments")], default=Reject("asked again"))
    with AuditLog(path) as audit:
        wrapped = Gate(approver=approver, audit=audit).wrap(lambda data: "ran")
        assert wrapped(value) == "ran"
        assert approver.requests[0].can_grant_arguments is False
        with pytest.raises(ApprovalRejected, match="asked again"):
            wrapped(value)  # the very same object: still asked, nothing was granted
    [decision, _] = [r for r in AuditLog.records(path) if r["type"] == "decision"]
    assert decision["always"] == "arguments"
    assert decision["grant_refused"].startswith("not granted")


def test_fingerprint_is_keyed_per_process_and_not_in_the_audit_log(tmp_path, monkeypatch):
    calls = []
    real = frozen.fingerprint
    monkeypatch.setattr("hitl_widget.request.fingerprint", lambda a: calls.append(1) or real(a))
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        gate = Gate(approver=ScriptedApprover(default=Approve()), audit=audit)
        wrapped = gate.wrap(lambda data: None)
        for i in range(5):
            wrapped(list(range(i)))
        gate.wrap(lambda data: None, risk="low")([1])
    assert calls == []  # no grant anywhere: never computed
    assert all("fingerprint" not in r.get("request", {}) for r in AuditLog.records(path))


def test_fingerprint_is_computed_only_for_stand_ins_with_an_argument_grant(monkeypatch):
    calls = []
    real = frozen.fingerprint
    monkeypatch.setattr("hitl_widget.request.fingerprint", lambda a: calls.append(1) or real(a))
    gate = Gate(approver=ScriptedApprover([Approve(always="arguments")], default=Approve()))
    granted = gate.wrap(lambda data: None)
    other = gate.wrap(lambda data: None)
    granted(1)
    assert calls == [1]  # granting needs it
    other(2)
    other(3)
    assert calls == [1]  # another stand-in: no grant, no fingerprint
    granted(1)
    assert calls == [1, 1]


# -- a grant covers the one stand-in it was given for -------------------------------------------


def test_issue_example_grant_for_one_made_function_does_not_cover_another():
    deleted = []
    approver = ScriptedApprover([Approve(always="function")], default=Reject("asked about users"))
    gate = Gate(approver=approver)

    def make(table):
        def delete_rows(where):
            deleted.append((table, where))

        return gate.wrap(delete_rows)

    logs, users = make("logs"), make("users")
    logs("age > 30")
    logs("1=1")  # granted
    with pytest.raises(ApprovalRejected, match="asked about users"):
        users("1=1")
    assert deleted == [("logs", "age > 30"), ("logs", "1=1")]


def test_arguments_grant_for_one_stand_in_does_not_cover_another_with_the_same_name():
    approver = ScriptedApprover([Approve(always="arguments")], default=Reject("asked"))
    gate = Gate(approver=approver)

    def make():
        def drop(name: str) -> str:
            return name

        return gate.wrap(drop)

    first, second = make(), make()
    first("t")
    first("t")
    with pytest.raises(ApprovalRejected):
        second("t")


def test_grants_go_away_with_their_stand_in():
    gate = Gate(approver=ScriptedApprover([Approve(always="function")]))
    wrapped = gate.wrap(lambda: None)
    wrapped()
    assert len(gate._grants) == 1
    del wrapped
    gc.collect()
    assert len(gate._grants) == 0


# -- a grant covers calls its approver would be asked about ---------------------------------------


def test_function_grant_by_one_route_does_not_cover_calls_routed_elsewhere():
    medium = ScriptedApprover([Approve(always="function")], default=Approve())
    critical = ScriptedApprover(default=Reject("critical says no"))
    gate = Gate(approver=medium, routes={"critical": critical})
    ran = []
    transfer = gate.wrap(
        lambda amount: ran.append(amount), risk=lambda r: "critical" if r.arguments["amount"] > 10_000 else "medium"
    )
    transfer(50)
    transfer(60)  # granted by the medium reviewer
    with pytest.raises(ApprovalRejected, match="critical says no"):
        transfer(1_000_000)
    assert len(medium.requests) == 1 and len(critical.requests) == 1
    assert ran == [50, 60]


def test_revoke_always_forgets_everything():
    approver = ScriptedApprover([Approve(always="function")], default=Reject("asked"))
    gate = Gate(approver=approver)
    wrapped = gate.wrap(lambda: None)
    wrapped()
    wrapped()
    gate.revoke_always()
    with pytest.raises(ApprovalRejected):
        wrapped()
