"""Edited arguments become the annotated types (pydantic TypeAdapter), or InvalidEdit naming where.

Each kind of type is tried with text (what a person types at the terminal or in the card),
with JSON-decoded values (what the card sends for structured values) and with Python values
(programmatic approvers), and the value the function receives is asserted with its type.
"""

import dataclasses
import datetime as dt
import enum
import json
import subprocess
import sys
import types
import typing
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, NotRequired, Optional, TypedDict

import pydantic
import pytest

from hitl_widget import Approve, Edit, Gate, InvalidEdit, Reject, ScriptedApprover
from hitl_widget.validation import _checker, coerce, injected_parameters, is_injected, parameter_schema, type_label


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(TypedDict):
    city: str
    zip_code: str
    floor: NotRequired[int]


@dataclasses.dataclass
class Person:
    name: str
    address: Address
    born: dt.date | None = None


class Item(pydantic.BaseModel):
    sku: str
    qty: int = 1


class Order(pydantic.BaseModel):
    id: uuid.UUID
    items: list[Item]
    total: Decimal


class Point(NamedTuple):
    x: int
    y: float


def run_with(fn: typing.Callable[..., Any], edits: dict[str, Any], **call: Any) -> dict[str, Any]:
    """The arguments ``fn`` ran with after a scripted approver's Edit(edits)."""
    seen: dict[str, Any] = {}

    def spy(**kwargs: Any) -> None:
        seen.update(kwargs)

    wrapped = Gate(approver=ScriptedApprover([Edit(edits)])).wrap(fn)
    target = wrapped.__hitl_guard__.target
    object.__setattr__(target, "func", spy)
    object.__setattr__(target, "all_keyword", True)
    wrapped(**call)
    return seen


def refused(fn: typing.Callable[..., Any], edits: dict[str, Any], **call: Any) -> InvalidEdit:
    """The InvalidEdit for Edit(edits); the function must never run."""
    ran: list[int] = []
    wrapped = Gate(approver=ScriptedApprover([Edit(edits)])).wrap(fn)
    object.__setattr__(wrapped.__hitl_guard__.target, "func", lambda *a, **k: ran.append(1))
    with pytest.raises(InvalidEdit) as info:
        wrapped(**call)
    assert ran == []
    return info.value


def request_for(fn: typing.Callable[..., Any], **call: Any) -> Any:
    approver = ScriptedApprover([Reject("looking only")])
    with pytest.raises(Exception):  # noqa: B017 - the rejection
        Gate(approver=approver).wrap(fn)(**call)
    return approver.requests[0]


# -- one parameter of every kind, converted from text, JSON values and Python values --------------------

UID = uuid.UUID("12345678-1234-5678-1234-567812345678")
BIG = 1234567890123456789012345678901234567890

CASES: list[tuple[Any, Any, Any]] = [
    # (annotation, edit value, value the function receives)
    (int, "7", 7),
    (int, " 7 ", 7),
    (int, "-3", -3),
    (int, 7.0, 7),
    (int, str(BIG), BIG),
    (int, BIG, BIG),
    (float, "0.25", 0.25),
    (float, "1e3", 1000.0),
    (float, 2, 2.0),
    (bool, "true", True),
    (bool, "Yes", True),
    (bool, "off", False),
    (bool, "0", False),
    (bool, False, False),
    (str, "80331", "80331"),
    (str, "", ""),
    (str, " padded ", " padded "),
    (str, "[1, 2]", "[1, 2]"),
    (str, "null", "null"),
    (str | None, "80331", "80331"),
    (str | None, "", ""),
    (str | None, "null", None),
    (str | None, None, None),
    (Optional[str], "None", "None"),  # noqa: UP045 - Optional spelled out on purpose
    (str | int, "7", "7"),
    (int | str, "7", "7"),
    (str | int, 7, 7),
    (str | list[str], '["a", "b"]', ["a", "b"]),
    (str | list[str], "[not json", "[not json"),
    (str | dict[str, int], '{"a": 1}', {"a": 1}),
    (int | None, "7", 7),
    (int | None, "", None),
    (int | None, "null", None),
    (int | None, " None ", None),
    (int | list[int], "[1, 2]", [1, 2]),
    (int | list[int], "5", 5),
    (Literal["fast", "safe"], "fast", "fast"),
    (Literal[1, 2], "2", 2),
    (Literal[1, 2], 1, 1),
    (Color, "green", Color.GREEN),
    (Color, "GREEN", Color.GREEN),
    (Color, Color.RED, Color.RED),
    (Color | None, "RED", Color.RED),
    (Level, "2", Level.HIGH),
    (Level, "HIGH", Level.HIGH),
    (Level, 1, Level.LOW),
    (Annotated[int, pydantic.Field(gt=0)], "3", 3),
    (Annotated[str, "meta"], "x", "x"),
    (list[int], "[1, 2, 3]", [1, 2, 3]),
    (list[int], ["1", 2], [1, 2]),
    (list[int], (4, 5), [4, 5]),
    (list[int], "[]", []),
    (list[int], f"[{BIG}, 1]", [BIG, 1]),
    (list[int] | None, "null", None),
    (tuple[int, str], '["3", "y"]', (3, "y")),
    (tuple[int, str], [1, "x"], (1, "x")),
    (tuple[int, ...], "[1, 2, 3]", (1, 2, 3)),
    (set[int], "[1, 2, 2]", {1, 2}),
    (frozenset[str], ["a"], frozenset({"a"})),
    (dict[str, int], '{"a": 1}', {"a": 1}),
    (dict[str, int], {"a": "1", "b": 2}, {"a": 1, "b": 2}),
    (dict[int, str], '{"1": "a"}', {1: "a"}),
    (Sequence[int], "[1, 2]", [1, 2]),
    (Sequence[str], ("a", "b"), ("a", "b")),
    (Mapping[str, float], '{"a": 1}', {"a": 1.0}),
    (Iterable[int], '[1, "2"]', [1, 2]),
    (list[list[int]], "[[1, 2], [3]]", [[1, 2], [3]]),
    (dict[str, list[tuple[int, int]]], '{"p": [[1, 2]]}', {"p": [(1, 2)]}),
    (list[dict[str, int | None]], '[{"a": null, "b": 2}]', [{"a": None, "b": 2}]),
    (Path, "/tmp/report 2024.csv", Path("/tmp/report 2024.csv")),
    (Path, "relative/x.txt", Path("relative/x.txt")),
    (Path | None, "", None),
    (list[Path], '["/a", "b"]', [Path("/a"), Path("b")]),
    (dt.datetime, "2024-05-06T07:08:09", dt.datetime(2024, 5, 6, 7, 8, 9)),
    (dt.datetime, "2024-05-06 07:08", dt.datetime(2024, 5, 6, 7, 8)),
    (dt.datetime, '"2024-05-06T07:08:09Z"', dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)),
    (dt.datetime, "2024-05-06T07:08:09+02:00", dt.datetime(2024, 5, 6, 5, 8, 9, tzinfo=dt.UTC)),
    (dt.date, "2024-05-06", dt.date(2024, 5, 6)),
    (dt.date | None, "null", None),
    (dt.time, "12:30", dt.time(12, 30)),
    (dt.time, "12:30:15.5", dt.time(12, 30, 15, 500000)),
    (dt.timedelta, "PT1H30M", dt.timedelta(hours=1, minutes=30)),
    (dt.timedelta, "01:30:00", dt.timedelta(hours=1, minutes=30)),
    (dt.timedelta, 90, dt.timedelta(seconds=90)),
    (Decimal, "0.10000000000000000001", Decimal("0.10000000000000000001")),
    (Decimal, "12.50", Decimal("12.50")),
    (Decimal, 3, Decimal(3)),
    (uuid.UUID, str(UID), UID),
    (uuid.UUID, str(UID).upper(), UID),
    (uuid.UUID, UID.hex, UID),
    (bytes, "abc", b"abc"),
]


@pytest.mark.parametrize(("hint", "edit", "expected"), CASES, ids=lambda v: type_label(v) if not isinstance(v, str) else repr(v))
def test_edit_becomes_the_annotated_type(hint: Any, edit: Any, expected: Any) -> None:
    def f(value: hint = None) -> None:  # type: ignore[valid-type]
        """One annotated parameter."""

    ran = run_with(f, {"value": edit})
    assert ran["value"] == expected
    assert type(ran["value"]) is type(expected)
    if isinstance(expected, (list, tuple, dict)) and expected:
        first = next(iter(expected.values() if isinstance(expected, dict) else expected))
        inner = next(iter(ran["value"].values() if isinstance(ran["value"], dict) else ran["value"]))
        assert type(inner) is type(first)


STRUCTURED: list[tuple[Any, Any, Any]] = [
    (Address, '{"city": "Munich", "zip_code": "80331"}', {"city": "Munich", "zip_code": "80331"}),
    (Address, {"city": "Munich", "zip_code": "80331", "floor": "3"}, {"city": "Munich", "zip_code": "80331", "floor": 3}),
    (Address | None, "null", None),
    (list[Address], '[{"city": "A", "zip_code": "1"}]', [{"city": "A", "zip_code": "1"}]),
    (
        Person,
        '{"name": "Ann", "address": {"city": "Munich", "zip_code": "80331"}, "born": "1990-01-02"}',
        Person("Ann", {"city": "Munich", "zip_code": "80331"}, dt.date(1990, 1, 2)),
    ),
    (Person, {"name": "Bo", "address": {"city": "X", "zip_code": "9"}}, Person("Bo", {"city": "X", "zip_code": "9"})),
    (Item, '{"sku": "A-1", "qty": "3"}', Item(sku="A-1", qty=3)),
    (Item, {"sku": "B"}, Item(sku="B", qty=1)),
    (
        Order,
        json.dumps({"id": str(UID), "items": [{"sku": "A", "qty": 2}], "total": "19.99"}),
        Order(id=UID, items=[Item(sku="A", qty=2)], total=Decimal("19.99")),
    ),
    (list[Item], '[{"sku": "A"}, {"sku": "B", "qty": 5}]', [Item(sku="A"), Item(sku="B", qty=5)]),
    (Point, "[1, 2.5]", Point(1, 2.5)),
    (Point, {"x": "3", "y": 4}, Point(3, 4.0)),
    (dict[str, Point], '{"a": [1, 2]}', {"a": Point(1, 2.0)}),
]


@pytest.mark.parametrize(
    ("hint", "edit", "expected"), STRUCTURED, ids=lambda v: type_label(v) if not isinstance(v, str) else "text"
)
def test_structured_edits_become_the_annotated_type(hint: Any, edit: Any, expected: Any) -> None:
    def f(value: hint = None) -> None:  # type: ignore[valid-type]
        """One structured parameter."""

    ran = run_with(f, {"value": edit})
    assert ran["value"] == expected
    assert type(ran["value"]) is type(expected)


def test_a_typeddict_parameter_is_editable_not_a_crash() -> None:
    # the reported fault: validation raised TypeError, and the card never got a reply
    def ship(to: Address, express: bool = False) -> None:
        """Ship a parcel."""

    ran = run_with(ship, {"to": '{"city": "Munich", "zip_code": "80331"}'}, to={"city": "Berlin", "zip_code": "10115"})
    assert ran["to"] == {"city": "Munich", "zip_code": "80331"}
    error = refused(ship, {"to": {"city": "Munich"}}, to={"city": "Berlin", "zip_code": "10115"})
    assert error.problems == {"to": "to.zip_code: Field required"}


def test_path_and_datetime_arguments_are_editable_from_text() -> None:
    # the reported fault: "expected Path, got str"
    def archive(src: Path, at: dt.datetime, keep: dt.timedelta) -> None:
        """Archive a folder."""

    ran = run_with(
        archive,
        {"src": "/data/new", "at": "2025-01-31T23:59:00", "keep": "P7D"},
        src=Path("/data/old"),
        at=dt.datetime(2024, 1, 1),
        keep=dt.timedelta(days=1),
    )
    assert ran == {"src": Path("/data/new"), "at": dt.datetime(2025, 1, 31, 23, 59), "keep": dt.timedelta(days=7)}


def test_unedited_arguments_are_the_originals() -> None:
    # the request holds a private copy of each argument (frozen at request time): untouched
    # arguments run with the values the person saw, equal in value and type, not re-validated
    def f(a: list[int], b: Person, c: str = "x") -> None:
        """Two structured arguments."""

    a, b = [1, 2], Person("x", {"city": "c", "zip_code": "z"})
    ran = run_with(f, {"c": "y"}, a=a, b=b)
    assert ran["a"] == a and type(ran["a"]) is list and ran["c"] == "y"
    assert ran["b"] == b and type(ran["b"]) is Person and ran["b"].address == {"city": "c", "zip_code": "z"}


# -- values already of the right type are kept as they are -------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "value"),
    [
        (Item, Item(sku="A")),
        (Item | None, Item(sku="A")),
        (Person, Person("a", {"city": "c", "zip_code": "z"})),
        (Path, Path("/tmp/x")),
        (dt.datetime, dt.datetime(2024, 1, 1)),
        (list[int], [1, 2, 3]),
        (dict[str, list[int]], {"a": [1]}),
        (Sequence[int], (1, 2)),
        (Any, object()),
        (Color, Color.GREEN),
    ],
    ids=lambda v: type_label(v) if not isinstance(v, object) or isinstance(v, type) else type(v).__name__,
)
def test_programmatic_values_of_the_right_type_are_kept_identical(hint: Any, value: Any) -> None:
    def f(value: hint) -> None:  # type: ignore[valid-type]
        """One parameter."""

    assert run_with(f, {"value": value}, value=None)["value"] is value


def test_a_value_that_needs_converting_is_converted_not_kept() -> None:
    def f(ids: list[int]) -> None:
        """A list."""

    ran = run_with(f, {"ids": ["1", 2]}, ids=[])
    assert ran["ids"] == [1, 2] and all(type(i) is int for i in ran["ids"])


# -- problems, with the path inside the value --------------------------------------------------------------


def everything(
    count: int = 0,
    ratio: float = 0.5,
    enabled: bool = False,
    label: str | None = None,
    limit: int | None = None,
    mode: Literal["fast", "safe"] = "safe",
    color: Color = Color.RED,
    ids: list[int] | None = None,
    weights: dict[str, int] | None = None,
    pair: tuple[int, str] = (0, ""),
    person: Person | None = None,
    order: Order | None = None,
    to: Address | None = None,
    where: Path | None = None,
    when: dt.datetime | None = None,
    amount: Decimal = Decimal(0),
    key: uuid.UUID | None = None,
    point: Point | None = None,
    positive: Annotated[int, pydantic.Field(gt=0)] = 1,
) -> None:
    """Many kinds of annotation."""


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("count", "abc", "expected int, got 'abc'"),
        ("count", "7.5", "expected int, got '7.5'"),
        ("count", 1.5, "expected int, got 1.5 (Input should be a valid integer, got a number with a fractional part)"),
        ("count", None, "expected int, got None"),
        ("count", [1], "expected int, got [1]"),
        ("count", "", "expected int, got ''"),
        ("ratio", "fast", "expected float, got 'fast'"),
        ("ratio", "nan", "expected float, got 'nan' (Input should be a finite number)"),
        ("ratio", "inf", "expected float, got 'inf' (Input should be a finite number)"),
        ("ratio", float("-inf"), "expected float, got -inf (Input should be a finite number)"),
        ("amount", "NaN", "expected Decimal, got 'NaN' (Input should be a finite number)"),
        ("amount", "12,50", "expected Decimal, got '12,50'"),
        ("enabled", "maybe", "expected bool, got 'maybe'"),
        ("label", 5, "expected str | None, got 5"),
        ("limit", "seven", "expected int | None, got 'seven'"),
        ("mode", "slow", "expected 'fast' | 'safe', got 'slow'"),
        ("color", "blue", "expected Color, got 'blue'"),
        ("positive", "0", "expected int, got '0' (Input should be greater than 0)"),
        ("where", 5, "expected Path | None, got 5"),
        ("when", "tomorrow", "expected datetime | None, got 'tomorrow'"),
        ("when", "2024-13-01T00:00", "expected datetime | None, got '2024-13-01T00:00'"),
        ("key", "not-a-uuid", "expected UUID | None, got 'not-a-uuid'"),
        (
            "ids",
            "[1, 2",
            "expected list[int] | None as JSON, got '[1, 2': Invalid JSON: EOF while parsing a list at line 1 column 6",
        ),
        ("ids", "1, 2", "expected list[int] | None, got '1, 2'"),
        ("ids", '[1, 2, "x"]', "ids[2]: Input should be a valid integer, unable to parse string as an integer (input: 'x')"),
        ("ids", [1, "b"], "ids[1]: Input should be a valid integer, unable to parse string as an integer (input: 'b')"),
        ("weights", {"a": "x"}, "weights.a: Input should be a valid integer, unable to parse string as an integer (input: 'x')"),
        ("weights", {"my key": []}, "weights['my key']: Input should be a valid integer (input: [])"),
        ("weights", "[1]", "expected dict[str, int] | None, got '[1]'"),
        (
            "pair",
            [1, 2, 3],
            "expected tuple[int, str], got [1, 2, 3] (Tuple should have at most 2 items after validation, not 3)",
        ),
        ("pair", ["x", "y"], "pair[0]: Input should be a valid integer, unable to parse string as an integer (input: 'x')"),
        ("to", '{"city": 5, "zip_code": "1"}', "to.city: Input should be a valid string (input: 5)"),
        ("to", {"city": "A"}, "to.zip_code: Field required"),
        (
            "to",
            {"city": "A", "zip_code": "1", "floor": "top"},
            "to.floor: Input should be a valid integer, unable to parse string as an integer (input: 'top')",
        ),
        (
            "person",
            {"name": "A", "address": {"city": None, "zip_code": "1"}},
            "person.address.city: Input should be a valid string (input: None)",
        ),
        (
            "person",
            {"name": "A", "address": {"city": "c", "zip_code": "1"}, "born": "yesterday"},
            "person.born: Input should be a valid date or datetime, input is too short (input: 'yesterday')",
        ),
        (
            "order",
            {"id": str(UID), "items": [{"sku": "A"}, {"sku": "B", "qty": "two"}], "total": "1"},
            "order.items[1].qty: Input should be a valid integer, unable to parse string as an integer (input: 'two')",
        ),
        (
            "order",
            {"id": "x", "items": [], "total": "1"},
            "order.id: Input should be a valid UUID, invalid character: found `x` at 0 (input: 'x')",
        ),
        ("point", "[1]", "point[1]: Field required"),  # a NamedTuple is checked by position
        ("point", '["a", 1]', "point[0]: Input should be a valid integer, unable to parse string as an integer (input: 'a')"),
    ],
)
def test_wrong_values_are_invalid_edits_naming_where(name: str, value: Any, expected: str) -> None:
    error = refused(everything, {name: value})
    assert error.problems == {name: expected}
    assert f"{name}: " in str(error) and "everything()" in str(error)


def test_several_problems_in_one_value_are_all_named_and_bounded() -> None:
    error = refused(everything, {"ids": json.dumps(["x"] * 50)})
    problem = error.problems["ids"]
    assert problem.startswith("ids[0]: Input should be a valid integer")
    assert "ids[3]:" in problem and "ids[4]:" not in problem
    assert problem.endswith("; and 46 more")


def test_every_problem_is_named() -> None:
    error = refused(everything, {"count": "x", "ratio": "y", "mode": "z", "bogus": 1, "other": 2})
    assert set(error.problems) == {"count", "ratio", "mode", "bogus", "other"}
    assert error.problems["bogus"].startswith("no such parameter (parameters: count, ratio,")
    message = str(error)
    for name in ("count", "ratio", "mode", "bogus", "other"):
        assert f"{name}: " in message


def test_an_edit_that_is_not_a_dict() -> None:
    request = request_for(everything)
    with pytest.raises(InvalidEdit) as info:
        request.apply_edit("count=9")
    assert info.value.problems == {"*": "an edit must be a dict of argument names to values, not str"}


def test_non_string_parameter_name() -> None:
    assert set(refused(everything, {1: "x"}).problems) == {"1"}


# -- never a crash: anything raised while checking is an InvalidEdit naming the parameter ---------------------


class Picky(pydantic.BaseModel):
    n: int

    @pydantic.field_validator("n")
    @classmethod
    def explode(cls, v: int) -> int:
        if v == 13:
            raise TypeError("unlucky")  # not a ValueError: pydantic lets it through
        if v == 7:
            raise ValueError("seven is taken")
        return v


class Hostile:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing")

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_a_validator_raising_any_exception_is_an_invalid_edit() -> None:
    def f(p: Picky) -> None:
        """A model with a validator."""

    error = refused(f, {"p": '{"n": 13}'}, p=Picky(n=1))
    assert error.problems == {"p": "could not be checked: TypeError: 'unlucky'"}
    error = refused(f, {"p": {"n": 7}}, p=Picky(n=1))
    assert error.problems == {"p": "p.n: Value error, seven is taken (input: 7)"}
    assert run_with(f, {"p": {"n": 8}}, p=Picky(n=1))["p"] == Picky(n=8)


def test_hostile_values_are_checked_without_crashing() -> None:
    def f(anything: Any, thing: Hostile, n: int = 0) -> None:
        """Odd values."""

    hostile = Hostile()
    ran = run_with(f, {"anything": hostile, "thing": hostile}, anything=1, thing=hostile)
    assert ran["anything"] is hostile and ran["thing"] is hostile
    error = refused(f, {"n": hostile}, anything=1, thing=hostile)
    assert error.problems["n"].startswith("expected int, got <Hostile instance at 0x")


def test_an_arbitrary_class_is_checked_by_isinstance() -> None:
    class Connection:
        pass

    def f(conn: Connection) -> None:
        """An arbitrary class."""

    conn = Connection()
    assert run_with(f, {"conn": conn}, conn=Connection())["conn"] is conn
    assert refused(f, {"conn": "sqlite:///x"}, conn=conn).problems == {"conn": "expected Connection, got 'sqlite:///x'"}


def test_an_unusable_annotation_refuses_edits_instead_of_accepting_anything() -> None:
    class Weird:
        @classmethod
        def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
            raise RuntimeError("no schema for you")

    def f(w: Weird) -> None:
        """A class whose schema hook fails."""

    w = Weird()
    assert run_with(f, {"w": w}, w=Weird())["w"] is w
    error = refused(f, {"w": "{}"}, w=w)
    assert error.problems == {"w": "Weird cannot be checked here, so it cannot be edited (RuntimeError: no schema for you)"}


def test_an_unresolvable_annotation_does_not_disable_the_others() -> None:
    def f(n: "int", thing: "UndefinedName") -> None:  # type: ignore[name-defined]  # noqa: F821
        """A forward reference that does not resolve."""

    assert refused(f, {"n": "abc"}, n=1, thing=None).problems == {"n": "expected int, got 'abc'"}
    assert run_with(f, {"n": "2"}, n=1, thing="old") == {"n": 2, "thing": "old"}
    assert refused(f, {"thing": "free text"}, n=1, thing="old").problems == {
        "thing": "cannot check edits: annotation 'UndefinedName' could not be resolved (name 'UndefinedName' is not defined)"
    }


# -- hostile and huge input: bounded messages, no crash ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("count", "9" * 100_000),
        ("count", "x" * 1_000_000),
        ("ids", "[" * 100_000 + "]" * 100_000),
        ("ids", json.dumps([*range(100_000), "x"])),
        ("to", json.dumps({"city": "a" * 10, "zip_code": ["z"] * 100_000})),
        ("label", "\x00\u202e" * 10),
        ("weights", {f"k{i}": "x" for i in range(10_000)}),
    ],
    ids=["huge-int", "huge-text", "deep-json", "long-list", "huge-field", "control-chars-ok", "many-keys"],
)
def test_hostile_input_gives_a_bounded_message(name: str, value: Any) -> None:
    def f(
        count: int = 0,
        ids: list[int] | None = None,
        to: Address | None = None,
        label: str = "",
        weights: dict[str, int] | None = None,
    ) -> None:
        """Targets for hostile input."""

    if name == "label":
        assert run_with(f, {name: value})[name] == value
        return
    error = refused(f, {name: value})
    assert set(error.problems) == {name}
    assert len(error.problems[name]) < 1200
    assert len(str(error)) < 1400


# -- *args and **kwargs, unannotated and Any ---------------------------------------------------------------------


def test_var_positional_and_var_keyword_edits() -> None:
    def f(first: int, *rest: dt.date, **options: int) -> None:
        """Extra arguments."""

    seen: list[Any] = []
    wrapped = Gate(
        approver=ScriptedApprover([Edit({"rest": '["2024-01-02", "2024-01-03"]', "options": '{"retries": "3"}'})])
    ).wrap(f)
    object.__setattr__(wrapped.__hitl_guard__.target, "func", lambda *a, **k: seen.append((a, k)))
    wrapped(1, dt.date(2020, 1, 1), retries=1)
    assert seen == [((1, dt.date(2024, 1, 2), dt.date(2024, 1, 3)), {"retries": 3})]

    def call(edits: dict[str, Any]) -> InvalidEdit:
        w = Gate(approver=ScriptedApprover([Edit(edits)])).wrap(f)
        object.__setattr__(w.__hitl_guard__.target, "func", lambda *a, **k: pytest.fail("ran"))
        with pytest.raises(InvalidEdit) as info:
            w(1)
        return info.value

    assert call({"rest": ["2024-01-02", "soon"]}).problems == {
        "rest": "rest[1]: Input should be a valid date or datetime, input is too short (input: 'soon')"
    }
    assert call({"rest": 5}).problems == {"rest": "expected a list of date, got 5"}
    assert call({"options": {"retries": "many"}}).problems == {
        "options": "options.retries: Input should be a valid integer, unable to parse string as an integer (input: 'many')"
    }
    assert call({"options": {"first": 2}}).problems == {"options": "keys ['first'] are named parameters; edit them directly"}
    assert call({"options": "[1]"}).problems == {"options": "expected an object of int values, got '[1]'"}


@pytest.mark.parametrize(
    ("current", "text", "expected"),
    [
        ("old text", "7", "7"),
        ("old text", "[1, 2]", "[1, 2]"),
        (5, "7", 7),
        (5, "hello", "hello"),
        ([0], "[1, 2]", [1, 2]),
        ({"a": 1}, '{"b": 12345678901234567890123}', {"b": 12345678901234567890123}),
        (None, "true", True),
        (None, "null", None),
        (None, "plain words", "plain words"),
    ],
)
def test_unannotated_and_any_text_is_read_like_the_value_it_replaces(current: Any, text: str, expected: Any) -> None:
    def f(raw=None, anything: Any = None) -> None:  # type: ignore[no-untyped-def]
        """Unannotated and Any."""

    ran = run_with(f, {"raw": text, "anything": text}, raw=current, anything=current)
    assert ran["raw"] == expected and type(ran["raw"]) is type(expected)
    assert ran["anything"] == expected and type(ran["anything"]) is type(expected)


def test_programmatic_values_for_any_are_kept() -> None:
    def f(raw=None) -> None:  # type: ignore[no-untyped-def]
        """Unannotated."""

    value = {"free": ["form", 1]}
    assert run_with(f, {"raw": value})["raw"] is value


# -- what the terminal and the card send: raw text typed by a person ------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "typed", "expected"),
    [
        (str | None, "80331", "80331"),
        (str | None, "  spaced  ", "  spaced  "),
        (str | int, "007", "007"),
        (int | None, "80331", 80331),
        (float | None, "3.5", 3.5),
        (bool | None, "no", False),
        (Path | None, "~/notes.md", Path("~/notes.md")),
        (dt.date | None, "2026-12-01", dt.date(2026, 12, 1)),
        (Decimal | None, "0.30", Decimal("0.30")),
        (list[str] | None, '["a", "b"]', ["a", "b"]),
        (Address | None, '{"city": "Graz", "zip_code": "8010"}', {"city": "Graz", "zip_code": "8010"}),
        (Item | None, '{"sku": "Z"}', Item(sku="Z")),
        (Color | None, "GREEN", Color.GREEN),
    ],
)
def test_typed_text_through_request_apply_edit(annotation: Any, typed: str, expected: Any) -> None:
    def f(field: annotation = None) -> None:  # type: ignore[valid-type]
        """One field."""

    request = request_for(f)
    result = request.apply_edit({"field": typed})["field"]
    assert result == expected and type(result) is type(expected)


# -- SDK-injected context parameters ---------------------------------------------------------------------------------


def _sdk_class(module: str, name: str, generic: bool = False) -> Any:
    """A stand-in for an SDK's class: same module and name, so detection sees what it would."""
    bases: tuple[Any, ...] = (typing.Generic[typing.TypeVar("T")],) if generic else ()  # type: ignore[misc]
    return types.new_class(name, bases, {}, lambda ns: ns.update({"__module__": module}))


RunContext = _sdk_class("pydantic_ai._run_context", "RunContext", generic=True)
RunContextWrapper = _sdk_class("agents.run_context", "RunContextWrapper", generic=True)
ToolContext = type("ToolContext", (RunContextWrapper,), {"__module__": "agents.tool_context"})
ToolRuntime = _sdk_class("langchain.tools", "ToolRuntime")
InjectedToolArg = _sdk_class("langchain_core.tools.base", "InjectedToolArg")
InjectedState = type("InjectedState", (InjectedToolArg,), {"__module__": "langgraph.prebuilt.tool_node"})
MyRunContext = _sdk_class("myapp.context", "RunContext")


@pytest.mark.parametrize(
    ("hint", "injected"),
    [
        (RunContext, True),
        (RunContext[int], True),
        (RunContextWrapper[dict], True),  # type: ignore[type-arg]
        (ToolContext, True),
        (ToolRuntime, True),
        (ToolRuntime | None, True),
        (Annotated[str, InjectedToolArg], True),
        (Annotated[str, InjectedToolArg()], True),
        (Annotated[dict, InjectedState], True),  # type: ignore[type-arg]
        ("RunContext[MyDeps]", True),
        ("Annotated[str, InjectedToolArg]", True),
        (MyRunContext, False),
        (Annotated[str, "InjectedToolArg"], False),
        (str, False),
        (list[int], False),
        ("RunContextual", False),
    ],
)
def test_injected_context_is_detected_by_module_and_name(hint: Any, injected: bool) -> None:
    assert is_injected(hint) is injected
    assert "pydantic_ai" not in sys.modules and "agents" not in sys.modules


def test_injected_parameters_are_context_not_editable_arguments() -> None:
    def tool(ctx: RunContext[int], runtime: ToolRuntime, call_id: Annotated[str, InjectedToolArg], city: str) -> None:  # type: ignore[valid-type]
        """A tool an SDK calls with context."""

    request = request_for(tool, ctx=RunContext(), runtime=ToolRuntime(), call_id="c1", city="Graz")
    info = {p.name: p for p in request.parameters}
    assert [n for n, p in info.items() if p.injected] == ["ctx", "runtime", "call_id"]
    assert [n for n, p in info.items() if p.editable] == ["city"]
    assert info["ctx"].schema == {} and info["city"].schema == {"type": "string"}
    assert injected_parameters(request.target) == frozenset({"ctx", "runtime", "call_id"})
    with pytest.raises(InvalidEdit) as caught:
        request.apply_edit({"ctx": "{}", "call_id": "forged", "city": "Wien"})
    assert caught.value.problems == {
        "ctx": "this is context the agent framework passes in; it cannot be edited",
        "call_id": "this is context the agent framework passes in; it cannot be edited",
    }
    assert request.apply_edit({"city": "Wien"})["city"] == "Wien"


# -- JSON Schema per parameter ----------------------------------------------------------------------------------------


def test_parameter_schemas() -> None:
    def f(
        n: int,
        label: str | None = None,
        mode: Literal["fast", "safe"] = "safe",
        color: Color = Color.RED,
        when: dt.datetime | None = None,
        where: Path = Path("/tmp"),
        amount: Decimal = Decimal("1.5"),
        ids: list[int] = [],  # noqa: B006 - a default shown in the schema
        to: Address | None = None,
        people: list[Person] | None = None,
        order: Order | None = None,
        *more: uuid.UUID,
        **opts: float,
    ) -> None:
        """Schemas."""

    request = request_for(f, n=1)
    schema = {p.name: p.schema for p in request.parameters}
    assert schema["n"] == {"type": "integer"}
    assert schema["label"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert schema["mode"] == {"enum": ["fast", "safe"], "type": "string", "default": "safe"}
    assert schema["color"]["$ref"] == "#/$defs/Color"
    assert schema["color"]["$defs"]["Color"]["enum"] == ["red", "green"] and schema["color"]["default"] == "red"
    assert schema["when"]["anyOf"][0] == {"format": "date-time", "type": "string"}
    assert schema["where"] == {"format": "path", "type": "string", "default": "/tmp"}
    assert schema["amount"]["anyOf"][0] == {"type": "number"} and schema["amount"]["default"] == "1.5"
    assert schema["ids"] == {"items": {"type": "integer"}, "type": "array", "default": []}
    address = schema["to"]["$defs"]["Address"]
    assert address["required"] == ["city", "zip_code"] and set(address["properties"]) == {"city", "zip_code", "floor"}
    people = schema["people"]
    assert people["anyOf"][0] == {"items": {"$ref": "#/$defs/Person"}, "type": "array"}
    assert people["$defs"]["Person"]["properties"]["address"] == {"$ref": "#/$defs/Address"}
    assert "Address" in people["$defs"]  # every $ref resolves inside the parameter's own schema
    order = schema["order"]["$defs"]["Order"]["properties"]
    assert order["id"] == {"format": "uuid", "title": "Id", "type": "string"}
    assert order["items"] == {"items": {"$ref": "#/$defs/Item"}, "title": "Items", "type": "array"}
    assert schema["more"] == {"items": {"format": "uuid", "type": "string"}, "type": "array"}
    assert schema["opts"] == {"additionalProperties": {"type": "number"}, "type": "object"}


def test_schema_falls_back_for_odd_types() -> None:
    class Connection:
        pass

    def f(conn: Connection, conns: list[Connection], cb: typing.Callable[[int], int], raw=None, any_: Any = 1) -> None:  # type: ignore[no-untyped-def]
        """Odd types."""

    schema = {
        name: parameter_schema(request_for(f, conn=Connection(), conns=[], cb=abs).target, name)
        for name in ("conn", "conns", "cb", "raw", "any_")
    }
    assert schema == {
        "conn": {},
        "conns": {"items": {}, "type": "array"},
        "cb": {},
        "raw": {"default": None},
        "any_": {"default": 1},
    }


# -- cost: pydantic is never touched on the plain call path; adapters are built once ----------------------------------


@pytest.mark.subprocess
def test_a_plain_call_never_imports_pydantic() -> None:
    code = (
        "import sys\n"
        "from hitl_widget import Gate, Approve, ScriptedApprover\n"
        "def f(a: dict[str, list[int]], b: str | None = None) -> int: return 1\n"
        "g = Gate(approver=ScriptedApprover([Approve()] * 3))\n"
        "w = g.wrap(f)\n"
        "assert [w({'x': [1]}), w({'y': []}, 'z'), w(a={})] == [1, 1, 1]\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_adapters_are_built_once_per_parameter_and_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []
    real = pydantic.TypeAdapter

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pydantic, "TypeAdapter", Counting)

    def f(a: list[int], b: Item | None = None, c: str = "") -> None:
        """Three parameters."""

    request = request_for(f, a=[1])
    assert built == []  # asking about the call built nothing
    for text in ("[1]", "[2]", "[3]"):
        request.apply_edit({"a": text})
    assert len(built) == 1
    request.apply_edit({"b": None})
    request.apply_edit({"a": "[4]", "b": None})
    assert len(built) == 2
    assert _checker(request.target, "a") is _checker(request.target, "a")


# -- helpers ------------------------------------------------------------------------------------------------------------


def test_type_labels() -> None:
    assert type_label(int) == "int"
    assert type_label(Optional[int]) == "int | None"  # noqa: UP045
    assert type_label(list[int]) == "list[int]"
    assert type_label(tuple[int, ...]) == "tuple[int, ...]"
    assert type_label(dict[str, int]) == "dict[str, int]"
    assert type_label(Literal["a", "b"]) == "'a' | 'b'"
    assert type_label(Any) == "any"
    assert type_label(Annotated[int, "meta"]) == "int"
    assert type_label(Address) == "Address"
    assert type_label("Forward") == "Forward"


def test_coerce_follows_the_same_rules() -> None:
    assert coerce("7", str | int) == "7"
    assert coerce("7", int | None) == 7
    assert coerce("2024-01-02", dt.date) == dt.date(2024, 1, 2)
    assert coerce({1, 2}, set[int]) == {1, 2}
    with pytest.raises(ValueError, match="expected int, got 'x'"):
        coerce("x", int)


def test_iterator_parameters_get_an_iterator_checked_up_front() -> None:
    def f(items: Iterator[int]) -> None:
        """An iterator."""

    ran = run_with(f, {"items": "[1, 2]"}, items=iter([]))
    assert list(ran["items"]) == [1, 2]
    assert refused(f, {"items": '[1, "x"]'}, items=iter([])).problems == {
        "items": "items[1]: Input should be a valid integer, unable to parse string as an integer (input: 'x')"
    }


def test_programmatic_approver_gets_invalid_edit_at_once_and_is_not_asked_again() -> None:
    ran = []

    def f(n: int) -> None:
        ran.append(n)

    approver = ScriptedApprover([Edit({"n": "nope"}), Reject("should not be asked")])
    with pytest.raises(InvalidEdit) as info:
        Gate(approver=approver).wrap(f)(1)
    assert info.value.problems == {"n": "expected int, got 'nope'"}
    assert ran == [] and len(approver.requests) == 1 and approver.remaining == 1


async def test_invalid_edit_for_async_function() -> None:
    ran = []

    async def f(when: dt.datetime) -> None:
        ran.append(when)

    wrapped = Gate(approver=ScriptedApprover([Edit({"when": "soon"})])).wrap(f)
    with pytest.raises(InvalidEdit):
        await wrapped(dt.datetime(2024, 1, 1))
    assert ran == []
    ok = Gate(approver=ScriptedApprover([Edit({"when": "2025-02-03T04:05"}), Approve()])).wrap(f)
    await ok(dt.datetime(2024, 1, 1))
    assert ran == [dt.datetime(2025, 2, 3, 4, 5)]


FAST = [
    int, float, str, bool, type(None), Any, int | None, Optional[str], int | str, str | int | None, Literal["a", "b"],  # noqa: UP045
    Literal["a"], Literal[1, 2], Literal[True], list[int], list[Any], typing.List[str], set[str], frozenset[int],  # noqa: UP006
    tuple[int, ...], dict[str, int], dict[str, Any], list[int | None], dict[str, list[float]], list[int] | None,
    Optional[list[Literal["x", "y"]]],  # noqa: UP045
]  # fmt: skip


@pytest.mark.parametrize("hint", FAST, ids=type_label)
@pytest.mark.parametrize("mode", ["one", "args", "kwargs"])
def test_plain_json_schemas_equal_pydantics_without_importing_it(hint: Any, mode: str) -> None:
    from hitl_widget.validation import _build_adapter, _Checker, _fast_schema, _inner_schema

    assert _fast_schema(hint) is not None
    assert _Checker(hint, mode).schema() == _inner_schema(_build_adapter(hint, mode, False))


@pytest.mark.parametrize(
    "hint", [Literal[1, "a"], Literal["a", None], bytes, tuple[int, str], Color, Path, list[Item], int | list[int | str]]
)
def test_other_schemas_come_from_pydantic(hint: Any) -> None:
    from hitl_widget.validation import _build_adapter, _Checker, _inner_schema

    assert _Checker(hint).schema() == _inner_schema(_build_adapter(hint, "one", False)) != {}


@pytest.mark.subprocess
def test_a_card_of_plain_parameters_never_imports_pydantic() -> None:
    code = (
        "import sys, enum, pathlib\n"
        "from typing import Literal\n"
        "from hitl_widget import Gate, Reject, ScriptedApprover\n"
        "class C(enum.Enum):\n"
        "    A = 'a'\n"
        "def f(a: int, b: str | None = None, c: Literal['x', 'y'] = 'x', d: list[int] = [], e: dict[str, float] | None = None,\n"
        "      g: pathlib.Path = pathlib.Path('/tmp'), h: C = C.A, *rest: int, **kw: str) -> int: return 1\n"
        "s = ScriptedApprover([Reject('no')])\n"
        "try: Gate(approver=s).wrap(f)(1)\n"
        "except Exception: pass\n"
        "info = s.requests[0].parameters\n"
        "print([p.schema.get('type') for p in info], info[5].schema.get('default'), info[6].schema.get('default'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    schemas, modules = out.stdout.strip().splitlines()
    # g (Path) and h (an Enum) need pydantic for their schema: they come last, once it is imported
    assert modules != "[]" and schemas == "['integer', None, 'string', 'array', None, 'string', None, 'array', 'object'] /tmp a"
    plain = code.replace(",\n      g: pathlib.Path = pathlib.Path('/tmp'), h: C = C.A", "").replace(
        "info[5].schema.get('default'), info[6].schema.get('default')", "info[1].schema"
    )
    out = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, check=True, timeout=60)
    schemas, modules = out.stdout.strip().splitlines()
    assert modules == "[]"
    nullable_text = "{'anyOf': [{'type': 'string'}, {'type': 'null'}], 'default': None}"
    assert schemas == f"['integer', None, 'string', 'array', None, 'array', 'object'] {nullable_text}"


class HostileAnnotation:
    """An annotation object that fails at everything: hashing, comparing, repr, attributes."""

    def __hash__(self) -> int:
        raise RuntimeError("no hash")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name}")


def test_a_hostile_annotation_object_never_breaks_showing_or_editing() -> None:
    def f(x: HostileAnnotation(), n: int = 0) -> None:  # type: ignore[valid-type]
        """An annotation that is an odd object."""

    request = request_for(f, x=1)
    info = {p.name: p for p in request.parameters}
    assert info["x"].injected is False and info["x"].editable is True and isinstance(info["x"].annotation, str)
    assert info["n"].schema == {"type": "integer", "default": 0}
    with pytest.raises(InvalidEdit) as caught:
        request.apply_edit({"x": "2", "n": "3"})
    assert set(caught.value.problems) == {"x"}
    assert request.apply_edit({"n": "3"})["n"] == 3


def _real_sdk_hints() -> list[Any]:
    """The SDKs' own context annotations, where the SDKs are installed (tests/integrations' venv)."""
    import importlib

    found: list[Any] = []
    for module, names in [
        ("pydantic_ai", ["RunContext"]),
        ("agents", ["RunContextWrapper"]),
        ("agents.tool_context", ["ToolContext"]),
        ("langchain.tools", ["ToolRuntime"]),
    ]:
        try:
            loaded = importlib.import_module(module)
        except Exception:
            continue
        found += [getattr(loaded, n) for n in names]
    try:
        from langchain.tools import InjectedToolArg as RealInjected
        from langchain.tools import InjectedToolCallId
        from langgraph.prebuilt import InjectedState as RealState

        found += [Annotated[str, RealInjected], Annotated[str, InjectedToolCallId], Annotated[dict, RealState]]  # type: ignore[type-arg]
    except Exception:
        pass
    return found


def test_the_real_sdk_context_classes_are_injected() -> None:
    hints = _real_sdk_hints()
    if not hints:
        pytest.skip("no agent SDK installed here (tests/integrations' environment has them)")
    assert [h for h in hints if not is_injected(h)] == []


def test_an_edit_with_very_many_unknown_names_gets_a_bounded_message() -> None:
    error = refused(everything, {f"bogus{i}": i for i in range(100_000)} | {"count": "x"})
    assert len(error.problems) == 22  # 20 unknown names, count, and the rest counted under "*"
    assert error.problems["*"] == "and 99980 more names that are not parameters"
    assert error.problems["count"] == "expected int, got 'x'"
    assert len(str(error)) < 12_000


def test_the_parameter_list_in_a_message_is_bounded() -> None:
    namespace: dict[str, Any] = {}
    exec("def wide(" + ", ".join(f"p{i}=0" for i in range(500)) + "): pass", namespace)
    error = refused(namespace["wide"], {"nope": 1})
    assert error.problems["nope"].startswith("no such parameter (parameters: p0, p1,")
    assert error.problems["nope"].endswith(", p29, … (500 in all))")


@dataclasses.dataclass
class Invoice:
    amount: Decimal
    rate: float
    lines: list[Decimal]
    count: int = 0


@pytest.mark.parametrize(
    ("hint", "text", "expected"),
    [
        (list[Decimal], "[0.10000000000000000001, 2]", [Decimal("0.10000000000000000001"), Decimal(2)]),
        (dict[str, Decimal], '{"a": 12345678901234567890.5}', {"a": Decimal("12345678901234567890.5")}),
        (
            Invoice,
            '{"amount": 19.999999999999999999, "rate": 0.1, "lines": [1.10, 2], "count": 3}',
            Invoice(Decimal("19.999999999999999999"), 0.1, [Decimal("1.10"), Decimal(2)], 3),
        ),
        (Order, f'{{"id": "{UID}", "items": [], "total": 0.30}}', Order(id=UID, items=[], total=Decimal("0.30"))),
    ],
    ids=["list", "dict", "dataclass", "model"],
)
def test_decimals_inside_json_text_are_exact(hint: Any, text: str, expected: Any) -> None:
    result = coerce(text, hint)
    assert result == expected and type(result) is type(expected)
    if isinstance(result, Invoice):
        assert type(result.rate) is float and type(result.count) is int and str(result.lines[0]) == "1.10"


def test_decimal_json_problems_still_name_the_path() -> None:
    with pytest.raises(ValueError, match=r"^value\.count: Input should be a valid integer, got a number with a fractional part"):
        coerce('{"amount": 1, "rate": 1, "lines": [], "count": 2.5}', Invoice)
    with pytest.raises(ValueError, match=r"^expected Invoice as JSON, got '\{\"amount\": 1': Expecting"):
        coerce('{"amount": 1', Invoice)
    with pytest.raises(ValueError, match=r"value\.lines\[0\]: Input should be a finite number"):
        coerce('{"amount": 1, "rate": 1, "lines": [NaN]}', Invoice)


@pytest.mark.subprocess
def test_a_text_edit_of_a_plain_string_needs_no_pydantic() -> None:
    code = (
        "import sys\n"
        "from typing import Optional\n"
        "from hitl_widget import Edit, Gate, ScriptedApprover\n"
        "def f(a: str, b: Optional[str] = 'x', c: str | None = None, d=1) -> tuple: return (a, b, c, d)\n"
        "w = Gate(approver=ScriptedApprover([Edit({'a': '80331', 'b': 'null', 'c': ' 7 ', 'd': '[1]'})])).wrap(f)\n"
        "print(w('old'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip().splitlines() == ["('80331', None, ' 7 ', [1])", "[]"]


# -- annotations that cannot be resolved, and other types an edit could slip past unchecked -----------------------
# The function itself runs here (its namespaces resolve its annotations); it returns what it got.


def ran_real(fn: typing.Callable[..., Any], edits: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """What ``fn`` returned after a scripted approver's Edit(edits)."""
    return Gate(approver=ScriptedApprover([Edit(edits)])).wrap(fn)(*args, **kwargs)


def refused_real(fn: typing.Callable[..., Any], edits: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, str]:
    """The problems of the InvalidEdit for Edit(edits) (the call does not run: the edit is refused)."""
    with pytest.raises(InvalidEdit) as info:
        ran_real(fn, edits, *args, **kwargs)
    return info.value.problems


def not_editable(fn: typing.Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, str | None]:
    """Each parameter's ``not_editable`` reason as the request shows it (None: editable)."""
    approver = ScriptedApprover([Reject("looking only")])
    with pytest.raises(Exception):  # noqa: B017 - the rejection
        Gate(approver=approver).wrap(fn)(*args, **kwargs)
    info = approver.requests[0].parameters
    assert all(p.editable is (p.not_editable is None) for p in info)
    return {p.name: p.not_editable for p in info}


def _unresolved(text: str, name: str | None = None) -> str:
    return f"cannot check edits: annotation {text!r} could not be resolved (name {(name or text)!r} is not defined)"


def test_a_local_model_under_string_annotations_is_checked_not_accepted_as_is() -> None:
    """Breaker #13: a model defined inside a function, its annotation left as text."""

    class Strict(pydantic.BaseModel):
        n: int

    def f(s: "Strict") -> Any:  # resolved from this test's running frame
        return s

    assert refused_real(f, {"s": '{"n": "not a number"}'}, Strict(n=1)) == {
        "s": "s.n: Input should be a valid integer, unable to parse string as an integer (input: 'not a number')"
    }
    assert refused_real(f, {"s": {"n": "not a number"}}, Strict(n=1))  # JSON-decoded, as the card sends
    got = ran_real(f, {"s": '{"n": "5"}'}, Strict(n=1))
    assert type(got) is Strict and got.n == 5
    assert not_editable(f, Strict(n=1)) == {"s": None}

    def g(s: "Strict | None") -> Any:  # no instance to learn from: this running test's locals have it
        return s

    assert ran_real(g, {"s": {"n": "6"}}, None) == Strict(n=6)
    assert refused_real(g, {"s": {"n": "six"}}, None)["s"].startswith("s.n: Input should be a valid integer")
    assert not_editable(g, None) == {"s": None}


def _factory() -> tuple[Any, Any, Any]:
    """A model and two functions defined in a function that has returned by the time they run."""

    class Local(pydantic.BaseModel):
        n: int

    def by_value(s: "Local") -> Any:
        return s

    def by_closure(s: "Local | None") -> Any:
        assert Local  # the body uses it: a closure cell holds it
        return s

    return Local, by_value, by_closure


def test_an_unresolvable_annotation_uses_the_arguments_own_class_or_refuses() -> None:
    local, by_value, by_closure = _factory()
    got = ran_real(by_value, {"s": '{"n": "7"}'}, local(n=1))
    assert type(got) is local and got.n == 7
    assert "s.n: Input should be a valid integer" in refused_real(by_value, {"s": '{"n": "x"}'}, local(n=1))["s"]
    # no instance to learn the class from: refused, and shown as not editable
    assert refused_real(by_value, {"s": '{"n": "7"}'}, None) == {"s": _unresolved("Local")}
    assert refused_real(by_value, {"s": None}, 3) == {"s": _unresolved("Local")}
    assert not_editable(by_value, None) == {"s": _unresolved("Local")}
    assert not_editable(by_value, local(n=1)) == {"s": None}
    # the closure holds it: resolved even when the current value is None
    got = ran_real(by_closure, {"s": '{"n": "8"}'}, None)
    assert type(got) is local and got.n == 8
    assert ran_real(by_closure, {"s": "null"}, local(n=1)) is None


class Base:
    def __init__(self, n: int) -> None:
        self.n = n


class Sub(Base):
    pass


def test_the_arguments_class_is_matched_by_name_along_its_bases() -> None:
    namespace: dict[str, Any] = {}
    exec("def f(x: 'Base', y: 'list[Base]' = ()):\n    return x, y\n", namespace)  # Base is not in these globals
    f = namespace["f"]
    base, sub = Base(1), Sub(2)
    assert ran_real(f, {"x": sub}, base, [base])[0] is sub  # a Sub is a Base
    assert refused_real(f, {"x": "text"}, sub, [base]) == {"x": "expected Base, got 'text'"}
    assert ran_real(f, {"y": [sub, base]}, base, [base, sub])[1] == [sub, base]  # from the list's items
    assert refused_real(f, {"y": [sub, 5]}, base, [base])["y"].startswith("y[1]: Input should be an instance of Base")
    assert refused_real(f, {"x": base}, 5, [base]) == {"x": _unresolved("Base")}


def test_a_name_defined_after_wrapping_is_resolved_when_edited() -> None:
    namespace: dict[str, Any] = {}
    exec("def f(when: 'Later'):\n    return when\n", namespace)
    f = namespace["f"]
    assert refused_real(f, {"when": "2026-01-02"}, 1) == {"when": _unresolved("Later")}
    namespace["Later"] = dt.date
    assert ran_real(f, {"when": "2026-01-02"}, 1) == dt.date(2026, 1, 2)


def test_a_type_checking_only_import_is_resolved_from_the_value_or_refused() -> None:
    namespace: dict[str, Any] = {}
    exec(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import decimal as dec\n"
        "    from fractions import Fraction\n"
        "def pay(amount: dec.Decimal, share: Fraction | None = None):\n"
        "    return amount, share\n",
        namespace,
    )
    pay = namespace["pay"]
    from fractions import Fraction

    assert ran_real(pay, {"amount": "0.30"}, Decimal(1)) == (Decimal("0.30"), None)
    assert refused_real(pay, {"amount": "lots"}, Decimal(1)) == {"amount": "expected Decimal, got 'lots'"}
    assert refused_real(pay, {"amount": "1"}, 1.0) == {"amount": _unresolved("dec.Decimal", "dec")}
    assert ran_real(pay, {"share": Fraction(1, 3)}, Decimal(1), Fraction(1, 2)) == (Decimal(1), Fraction(1, 3))
    assert ran_real(pay, {"share": "1/4"}, Decimal(1), Fraction(1, 2)) == (Decimal(1), Fraction(1, 4))
    assert refused_real(pay, {"share": "a third"}, Decimal(1), Fraction(1, 2))["share"].startswith("expected Fraction | None")
    assert refused_real(pay, {"share": Fraction(1, 3)}, Decimal(1), None) == {"share": _unresolved("Fraction | None", "Fraction")}


class Shelf:
    class Book(pydantic.BaseModel):
        title: str
        pages: int

    def put(self, book: "Book") -> Any:
        return book


def test_a_name_from_the_enclosing_class_body_is_resolved() -> None:
    shelf = Shelf()
    got = ran_real(shelf.put, {"book": '{"title": "T", "pages": "12"}'}, None)
    assert type(got) is Shelf.Book and got.pages == 12
    assert refused_real(shelf.put, {"book": '{"title": "T"}'}, None) == {"book": "book.pages: Field required"}

    class Local:
        class Page(pydantic.BaseModel):
            n: int

        def turn(self, page: "Page") -> Any:
            return page

    assert ran_real(Local().turn, {"page": {"n": "3"}}, None) == Local.Page(n=3)


def test_coerce_with_text_for_a_type_refuses() -> None:
    with pytest.raises(ValueError, match=r"^cannot check edits: annotation 'int' could not be resolved"):
        coerce("5", "int")
    with pytest.raises(ValueError, match=r"^cannot check edits: annotation 'list\[Nope\]' could not be resolved"):
        coerce([1], list["Nope"])  # type: ignore[name-defined]  # noqa: F821


def test_a_nested_forward_reference_is_resolved_or_refused() -> None:
    def f(items: list["Nope"], opt: Optional["Nope"] = None) -> Any:  # type: ignore[name-defined]  # noqa: F821
        return items

    problems = refused_real(f, {"items": [{"anything": 1}], "opt": 1}, [])
    assert problems == {"items": _unresolved("list[Nope]", "Nope"), "opt": _unresolved("Nope | None", "Nope")}
    assert not_editable(f, []) == {"items": _unresolved("list[Nope]", "Nope"), "opt": _unresolved("Nope | None", "Nope")}


T = typing.TypeVar("T")
Bounded = typing.TypeVar("Bounded", bound=int)
Either = typing.TypeVar("Either", int, dt.date)
UserId = typing.NewType("UserId", int)


class Quacks(typing.Protocol):
    def quack(self) -> str: ...


@typing.runtime_checkable
class Honks(typing.Protocol):
    def honk(self) -> str: ...


class Duck:
    def quack(self) -> str:
        return "quack"

    def honk(self) -> str:
        return "honk"


class Box(typing.Generic[T]):
    pass


class NoSchema:
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        raise RuntimeError("no schema")


@pytest.mark.parametrize(
    ("hint", "current", "edit", "expected"),
    [
        (Bounded, 1, "5", 5),  # a bound: checked as the bound
        (Either, 1, "2026-01-02", dt.date(2026, 1, 2)),  # constraints: one of them
        (Either, 1, "7", 7),
        (UserId, 1, "42", 42),
        (Annotated[int, ["unhashable", "meta"]], 1, "3", 3),  # unknown metadata: the base type is checked
        (Annotated[int, object()], 1, "3", 3),
        (pydantic.SkipValidation[int], 1, "3", 3),  # SkipValidation is for the developer's calls, not edits
        (typing.LiteralString, "a", "b", "b"),
        (Quacks, None, Duck(), "same"),  # a Protocol (not runtime_checkable): its members are there
        (Honks, None, Duck(), "same"),
        (list[Quacks], [], "keep", "keep"),
        (typing.Callable[[int], int], abs, len, len),
        (Box[int], None, "box", "box"),
        (object, 1, "[1, 2]", [1, 2]),  # object and an unconstrained TypeVar accept anything, like Any
        (T, "old", "free text", "free text"),
    ],
    ids=lambda v: type_label(v) if not isinstance(v, (str, int)) else repr(v),
)
def test_other_annotations_check_edits(hint: Any, current: Any, edit: Any, expected: Any) -> None:
    def f(x: hint) -> Any:  # type: ignore[valid-type]
        return x

    if expected == "same":
        expected = edit
    elif expected == "box":
        current, edit = Box[int](), Box[str]()
        expected = edit
    elif expected == "keep":
        edit = expected = [Duck()]
    got = ran_real(f, {"x": edit}, current)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("hint", "current", "edit", "problem"),
    [
        (Bounded, 1, "five", "expected int, got 'five'"),
        (Bounded, 1, "2026-01-02", "expected int, got '2026-01-02'"),
        (Either, 1, "soon", "expected int | date, got 'soon'"),
        (UserId, 1, "x", "expected UserId, got 'x'"),
        (Annotated[int, ["meta"]], 1, "x", "expected int, got 'x'"),
        (pydantic.SkipValidation[int], 1, "x", "expected int, got 'x'"),
        (typing.LiteralString, "a", 5, "expected LiteralString, got 5"),
        (Quacks, None, "a duck", "expected Quacks, got 'a duck'"),
        (Quacks, None, {"quack": 1}, "expected Quacks, got {'quack': 1}"),
        (Honks, None, object(), "expected Honks, got <object object at 0x"),
        (list[Quacks], [], [Duck(), 5], "x[1]: Input should be an instance of Quacks (input: 5)"),
        (typing.Callable[[int], int], abs, "len", "expected Callable[[int], int], got 'len'"),
        (Box[int], None, "a box", "expected Box[int], got 'a box'"),
        (Box[int], None, [1], "expected Box[int], got [1]"),
        (5, 1, "anything", "the annotation 5 is not a type"),  # pydantic would let every value through
        (list[5], [], [1], "the annotation 5 is not a type"),  # type: ignore[valid-type]
        (dict[str, typing.cast(Any, "x".upper)], {}, {}, "is not a type"),
        (NoSchema, NoSchema(), {}, "NoSchema cannot be checked here, so it cannot be edited"),
        (list[NoSchema], [], [{}], "list[NoSchema] cannot be checked here, so it cannot be edited"),
        (dict[str, NoSchema], {}, {"a": NoSchema()}, "dict[str, NoSchema] cannot be checked here"),
    ],
    ids=lambda v: type_label(v) if not isinstance(v, (str, int)) else repr(v)[:20],
)
def test_other_annotations_refuse_what_they_cannot_check(hint: Any, current: Any, edit: Any, problem: str) -> None:
    def f(x: hint) -> Any:  # type: ignore[valid-type]
        return x

    problems = refused_real(f, {"x": edit}, current)
    assert set(problems) == {"x"}
    assert problem in problems["x"], problems["x"]


class Getter(typing.Protocol[T]):
    def get(self) -> T: ...


def test_a_static_protocol_is_checked_by_its_members_without_changing_it() -> None:
    class Half:
        def quack(self) -> str:
            return ""

        def get(self) -> int:
            return 1

    half = Half()
    assert coerce(half, Getter[int]) is half and coerce([half], list[Getter[str]]) == [half]
    with pytest.raises(ValueError, match=r"^expected Getter\[int\], got 'text'"):
        coerce("text", Getter[int])

    assert not getattr(Quacks, "_is_runtime_protocol", False)
    assert coerce(Half(), Quacks).quack() == ""
    with pytest.raises(ValueError, match="expected Quacks, got"):
        coerce(Box(), Quacks)
    assert not getattr(Quacks, "_is_runtime_protocol", False)  # the user's class is left as it was
    with pytest.raises(TypeError):
        isinstance(Half(), Quacks)


def test_the_card_shows_an_unresolvable_parameter_as_not_editable_with_the_reason() -> None:
    _, by_value, _ = _factory()
    approver = ScriptedApprover([Reject("looking only")])
    with pytest.raises(Exception):  # noqa: B017 - the rejection
        Gate(approver=approver).wrap(by_value)(None)
    request = approver.requests[0]
    pytest.importorskip("anywidget")
    from hitl_widget.widget import argument_view

    view = argument_view(request, request.parameters[0])
    assert view["editable"] is False
    assert view["not_editable"] == _unresolved("Local")


class Retry(TypedDict, total=False):
    retries: int
    backoff: float


@dataclasses.dataclass
class Odd:
    a: 5  # type: ignore[valid-type]  # not a type: pydantic would accept anything for it


@dataclasses.dataclass
class Settings:
    level: int = 0


def test_unpacked_kwargs_odd_fields_and_unknown_keys_are_checked() -> None:
    def call(*args: Any, **options: typing.Unpack[Retry]) -> Any:
        return options

    assert ran_real(call, {"options": {"retries": "3"}}, retries=1) == {"retries": 3}
    assert ran_real(call, {"options": '{"backoff": 0.5}'}) == {"backoff": 0.5}
    assert refused_real(call, {"options": {"retries": "x"}}) == {
        "options": "options.retries: Input should be a valid integer, unable to parse string as an integer (input: 'x')"
    }
    # a misspelt key is refused, not dropped (the call would run without the setting the person meant)
    assert refused_real(call, {"options": {"retires": 3}}) == {"options": "options.retires: Extra inputs are not permitted"}

    def tune(limits: Retry, settings: Settings, odd: Odd) -> Any:
        return limits, settings

    assert refused_real(tune, {"limits": '{"retires": 3}'}, {}, Settings(), Odd(1)) == {
        "limits": "limits.retires: Extra inputs are not permitted"
    }
    assert refused_real(tune, {"settings": {"level": 1, "lvl": 2}}, {}, Settings(), Odd(1)) == {
        "settings": "settings.lvl: Unexpected keyword argument (input: 2)"
    }
    problem = refused_real(tune, {"odd": {"a": "anything"}}, {}, Settings(), Odd(1))["odd"]
    assert problem.startswith("Odd cannot be checked here, so it cannot be edited") and "5 is not a type" in problem
    assert ran_real(tune, {"settings": {"level": "2"}}, {}, Settings(), Odd(1)) == ({}, Settings(level=2))


@dataclasses.dataclass(eq=False)
class Plain:
    level: int
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Derived:
    x: int
    seed: dataclasses.InitVar[str]
    double: int = dataclasses.field(init=False)
    inner: Settings | None = None

    def __post_init__(self, seed: str) -> None:
        self.double = self.x * 2


def test_a_programmatic_dataclass_edit_has_its_fields_checked() -> None:
    def f(p: Plain, s: Settings, d: Derived | None = None) -> Any:
        return p, s, d

    given = Plain(1, ["a"])
    got = ran_real(f, {"p": given}, Plain(0), Settings())
    assert got[0] is given  # valid: the approver's own object, as it was given
    settings = Settings(level=3)
    assert ran_real(f, {"s": settings}, Plain(0), Settings())[1] is settings
    derived = Derived(2, "s", Settings(1))  # an InitVar and an init=False field: still a valid instance
    assert ran_real(f, {"d": derived}, Plain(0), Settings())[2] is derived
    # a dataclass does not check its fields itself: the edit does, nested instances too
    assert refused_real(f, {"p": Plain("high")}, Plain(0), Settings()) == {"p": "p.level: expected int, got 'high'"}  # type: ignore[arg-type]
    assert refused_real(f, {"p": Plain(1, [3])}, Plain(0), Settings())["p"].startswith(
        "p.tags[0]: Input should be a valid string"
    )  # type: ignore[list-item]
    assert refused_real(f, {"s": Settings(level=[1])}, Plain(0), Settings()) == {"s": "s.level: expected int, got [1]"}  # type: ignore[arg-type]
    bad = Derived(2, "s", Settings("x"))  # type: ignore[arg-type]
    assert refused_real(f, {"d": bad}, Plain(0), Settings()) == {"d": "d.inner.level: expected int, got 'x'"}
    bad.inner, bad.double = None, "four"  # type: ignore[assignment]
    assert refused_real(f, {"d": bad}, Plain(0), Settings()) == {"d": "d.double: expected int, got 'four'"}


def _no_bad(value: Any) -> Any:
    if value in ("bad", ["bad"]):
        raise ValueError("bad is not allowed")
    return value


@pytest.mark.parametrize(
    "hint",
    [
        Annotated[Any, pydantic.AfterValidator(_no_bad)],
        Annotated[object, pydantic.AfterValidator(_no_bad)],
        Annotated[Any, pydantic.AfterValidator(_no_bad)] | None,
        Annotated[T, pydantic.AfterValidator(_no_bad)],
    ],
    ids=["Any", "object", "Optional", "TypeVar"],
)
def test_validators_on_an_anything_annotation_run_for_edits(hint: Any) -> None:
    def f(x: hint) -> Any:  # type: ignore[valid-type]
        return x

    assert "bad is not allowed" in refused_real(f, {"x": "bad"}, "old")["x"]
    assert "bad is not allowed" in refused_real(f, {"x": ["bad"]}, "old")["x"]
    assert ran_real(f, {"x": "good"}, "old") == "good"
    assert ran_real(f, {"x": {"any": ["thing"]}}, "old") == {"any": ["thing"]}


def _not_green(value: Color) -> Color:
    if value is Color.GREEN:
        raise ValueError("green is sold out")
    return value


def test_an_enum_member_given_by_name_still_meets_the_annotations_validators() -> None:
    def f(c: Annotated[Color, pydantic.AfterValidator(_not_green)] | None) -> Any:
        return c

    assert ran_real(f, {"c": "RED"}, None) is Color.RED
    assert "green is sold out" in refused_real(f, {"c": "GREEN"}, None)["c"]
    assert "green is sold out" in refused_real(f, {"c": Color.GREEN}, None)["c"]


@pytest.mark.skipif(sys.version_info < (3, 14), reason="annotations are evaluated lazily from Python 3.14 (the Pyodide leg)")
def test_a_lazily_evaluated_annotation_naming_nothing_wraps_and_refuses_edits() -> None:
    """Python 3.14: `if TYPE_CHECKING:` imports need no quotes, so reading the annotations raises NameError."""
    namespace: dict[str, Any] = {}
    exec(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from fractions import Fraction\n"
        "def share(part: Fraction, missing: Missing = None, n: int = 0):\n"
        "    return part, missing, n\n",
        namespace,
    )
    share = namespace["share"]
    from fractions import Fraction

    assert ran_real(share, {"n": "2"}, Fraction(1, 2)) == (Fraction(1, 2), None, 2)
    assert ran_real(share, {"part": "1/3"}, Fraction(1, 2)) == (Fraction(1, 3), None, 0)  # from the value's class
    assert refused_real(share, {"missing": "x"}, Fraction(1, 2)) == {"missing": _unresolved("Missing")}
    assert refused_real(share, {"part": "1/3"}, 0.5) == {"part": _unresolved("Fraction")}
    assert not_editable(share, Fraction(1, 2)) == {"part": None, "missing": _unresolved("Missing"), "n": None}
