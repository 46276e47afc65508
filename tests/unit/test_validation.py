"""Edited arguments are converted to the annotated types, or rejected naming every problem."""

import enum
import typing
from typing import Any, Literal, Optional

import pytest

from hitl_widget import Edit, Gate, InvalidEdit, Reject, ScriptedApprover
from hitl_widget.validation import coerce, type_label


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def configure(
    count: int,
    ratio: float = 0.5,
    enabled: bool = False,
    label: Optional[str] = None,  # noqa: UP045 - Optional spelled out on purpose
    limit: int | None = None,
    mode: Literal["fast", "safe"] = "safe",
    color: Color = Color.RED,
    level: Level = Level.LOW,
    ids: list[int] | None = None,
    weights: dict[str, int] | None = None,
    pair: tuple[int, str] = (0, ""),
    anything: Any = None,
    raw=None,
) -> dict:
    """Every supported kind of annotation."""
    return dict(locals())


def edited(edits: dict, **call: Any) -> dict:
    """What ``configure`` ran with after ``edits`` (an Edit from a scripted approver)."""
    gate = Gate(approver=ScriptedApprover([Edit(edits)]))
    return gate.wrap(configure)(**{"count": 1, **call})


def invalid(edits: dict, fn=configure, **call: Any) -> InvalidEdit:
    ran = []

    def spy(*args, **kwargs):
        ran.append(1)

    gate = Gate(approver=ScriptedApprover([Edit(edits)]))
    wrapped = gate.wrap(fn)
    target = wrapped.__hitl_guard__.target
    object.__setattr__(target, "func", spy)  # the real function must never be reached
    with pytest.raises(InvalidEdit) as info:
        wrapped(**({"count": 1} if fn is configure else {}), **call)
    assert ran == []
    return info.value


# -- conversions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ({"count": "7"}, {"count": 7}),
        ({"count": " 7 "}, {"count": 7}),
        ({"count": 7.0}, {"count": 7}),
        ({"count": -3}, {"count": -3}),
        ({"ratio": "0.25"}, {"ratio": 0.25}),
        ({"ratio": 2}, {"ratio": 2.0}),
        ({"ratio": "1e3"}, {"ratio": 1000.0}),
        ({"enabled": "true"}, {"enabled": True}),
        ({"enabled": "Yes"}, {"enabled": True}),
        ({"enabled": "no"}, {"enabled": False}),
        ({"enabled": "0"}, {"enabled": False}),
        ({"enabled": True}, {"enabled": True}),
        ({"label": None}, {"label": None}),
        ({"label": "hello"}, {"label": "hello"}),
        ({"label": "7"}, {"label": "7"}),
        ({"limit": "7"}, {"limit": 7}),
        ({"limit": "null"}, {"limit": None}),
        ({"limit": ""}, {"limit": None}),
        ({"limit": None}, {"limit": None}),
        ({"mode": "fast"}, {"mode": "fast"}),
        ({"color": "green"}, {"color": Color.GREEN}),
        ({"color": "GREEN"}, {"color": Color.GREEN}),
        ({"color": Color.GREEN}, {"color": Color.GREEN}),
        ({"level": "2"}, {"level": Level.HIGH}),
        ({"level": 2}, {"level": Level.HIGH}),
        ({"level": "HIGH"}, {"level": Level.HIGH}),
        ({"ids": "[1, 2, 3]"}, {"ids": [1, 2, 3]}),
        ({"ids": ["1", 2]}, {"ids": [1, 2]}),
        ({"ids": (4, 5)}, {"ids": [4, 5]}),
        ({"ids": []}, {"ids": []}),
        ({"ids": "null"}, {"ids": None}),
        ({"weights": {"a": "1", "b": 2}}, {"weights": {"a": 1, "b": 2}}),
        ({"weights": '{"a": 1}'}, {"weights": {"a": 1}}),
        ({"pair": [1, "x"]}, {"pair": (1, "x")}),
        ({"pair": '["3", "y"]'}, {"pair": (3, "y")}),
        ({"pair": ("4", "z")}, {"pair": (4, "z")}),
        ({"anything": object}, {"anything": object}),
        ({"raw": {"free": "form"}}, {"raw": {"free": "form"}}),
    ],
)
def test_edit_values_are_converted(edits, expected):
    result = edited(edits)
    for name, value in expected.items():
        assert result[name] == value
        assert type(result[name]) is type(value)


def test_unedited_arguments_are_kept():
    result = edited({"ratio": "0.1"}, count=5, enabled=True, ids=[9])
    assert result["count"] == 5 and result["enabled"] is True and result["ids"] == [9] and result["ratio"] == 0.1


def test_empty_edit_runs_with_the_proposed_arguments():
    result = edited({}, count=3)
    assert result["count"] == 3


def test_several_edits_at_once():
    result = edited({"count": "2", "enabled": "on", "color": "red", "ids": "[7]", "pair": [1, "a"]})
    assert (result["count"], result["enabled"], result["color"], result["ids"], result["pair"]) == (
        2, True, Color.RED, [7], (1, "a"),
    )  # fmt: skip


# -- problems --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("count", "abc", "expected int"),
        ("count", "7.5", "expected int"),
        ("count", 7.5, "expected int"),
        ("count", True, "expected int"),
        ("count", None, "expected int"),
        ("count", [1], "expected int"),
        ("ratio", "fast", "expected float"),
        ("ratio", "nan", "expected float"),
        ("ratio", "inf", "expected float"),
        ("ratio", True, "expected float"),
        ("enabled", "maybe", "expected bool"),
        ("enabled", 1, "expected bool"),
        ("label", 5, "str | None"),
        ("limit", "seven", "int | None"),
        ("mode", "slow", "expected one of 'fast', 'safe'"),
        ("color", "blue", "expected a Color"),
        ("level", 3, "expected a Level"),
        ("ids", "[1, 2", "list[int] | None"),
        ("ids", "{}", "list[int]"),
        ("weights", [1, 2], "dict[str, int]"),
        ("pair", [1, 2, 3], "2 items"),
        ("pair", ["x", "y"], "[0]"),
        ("pair", 5, "tuple[int, str]"),
    ],
)
def test_wrong_types_are_invalid_edits(name, value, fragment):
    error = invalid({name: value})
    assert set(error.problems) == {name}
    assert fragment in error.problems[name]
    assert name in str(error)
    assert "configure" in str(error)


def load(ids: list[int], weights: dict[str, int]) -> None:
    """Containers without Optional, so the item-level problem is reported."""


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ids", "[1, 2", "as JSON"),
        ("ids", '["a"]', "[0]: expected int"),
        ("ids", [1, "b"], "[1]: expected int"),
        ("ids", "{}", "expected list[int]"),
        ("weights", {"a": "x"}, "['a']: expected int"),
        ("weights", "[1]", "expected dict[str, int]"),
    ],
)
def test_container_item_problems_say_where(name, value, fragment):
    error = invalid({name: value}, fn=load, ids=[1], weights={})
    assert set(error.problems) == {name}
    assert fragment in error.problems[name]


def test_every_problem_is_named():
    error = invalid({"count": "x", "ratio": "y", "mode": "z", "bogus": 1, "other": 2})
    assert set(error.problems) == {"count", "ratio", "mode", "bogus", "other"}
    assert "no such parameter" in error.problems["bogus"]
    assert "count" in error.problems["other"]  # lists the real parameters
    message = str(error)
    for name in ("count", "ratio", "mode", "bogus", "other"):
        assert f"{name}: " in message


def test_unknown_parameter_name():
    error = invalid({"user": 1})
    assert error.problems == {"user": error.problems["user"]}
    assert error.problems["user"].startswith("no such parameter")


def test_non_string_parameter_name():
    error = invalid({1: "x"})
    assert "1" in error.problems


def test_var_keyword_edit_cannot_shadow_named_parameter():
    def f(a: int, **extra: int):
        return a, extra

    error = invalid({"extra": {"a": 1}}, fn=f, a=1)
    assert "extra" in error.problems


def test_var_positional_edit_must_be_a_list():
    def f(*items: int):
        return items

    error = invalid({"items": 5}, fn=f)
    assert "items" in error.problems
    error = invalid({"items": ["x"]}, fn=f)
    assert "[0]" in error.problems["items"]


def test_programmatic_approver_gets_invalid_edit_at_once_and_is_not_asked_again():
    ran = []

    def f(n: int) -> None:
        ran.append(n)

    approver = ScriptedApprover([Edit({"n": "nope"}), Reject("should not be asked")])
    wrapped = Gate(approver=approver).wrap(f)
    with pytest.raises(InvalidEdit) as info:
        wrapped(1)
    assert info.value.problems["n"] == "expected int, got 'nope'"
    assert ran == []
    assert len(approver.requests) == 1
    assert approver.remaining == 1


async def test_invalid_edit_for_async_function():
    ran = []

    async def f(n: int) -> None:
        ran.append(n)

    wrapped = Gate(approver=ScriptedApprover([Edit({"n": "x"})])).wrap(f)
    with pytest.raises(InvalidEdit):
        await wrapped(1)
    assert ran == []


def test_request_apply_edit_directly():
    approver = ScriptedApprover([Reject("just looking")])
    with pytest.raises(Exception):  # noqa: B017
        Gate(approver=approver).wrap(configure)(count=1)
    request = approver.requests[0]
    assert request.apply_edit({"count": "9"})["count"] == 9
    assert request.arguments["count"] == 1  # the request itself is not changed
    with pytest.raises(InvalidEdit) as info:
        request.apply_edit("count=9")  # type: ignore[arg-type]
    assert "*" in info.value.problems


def test_one_unresolvable_annotation_does_not_disable_validation_of_the_others():
    ran = []

    # string annotations, as under `from __future__ import annotations`
    def f(n: "int", thing: "UndefinedName") -> None:  # type: ignore[name-defined]  # noqa: F821
        ran.append(n)

    wrapped = Gate(approver=ScriptedApprover([Edit({"n": "abc"})])).wrap(f)
    with pytest.raises(InvalidEdit):
        wrapped(1, None)
    assert ran == []


# -- helpers ---------------------------------------------------------------------------------------


def test_type_labels():
    assert type_label(int) == "int"
    assert type_label(Optional[int]) == "int | None"  # noqa: UP045
    assert type_label(list[int]) == "list[int]"
    assert type_label(dict[str, int]) == "dict[str, int]"
    assert type_label(Literal["a", "b"]) == "'a' | 'b'"
    assert type_label(Any) == "any"
    assert type_label(typing.Annotated[int, "meta"]) == "int"


def test_coerce_keeps_exact_union_member():
    assert coerce("7", str | int) == "7"
    assert coerce(7, str | int) == 7
    assert coerce("7", int | None) == 7
    assert coerce({1, 2}, set[int]) == {1, 2}
    assert coerce("3", typing.Annotated[int, "meta"]) == 3
