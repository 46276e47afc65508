"""json_safe (the audit log's and messages' form of a value): structured values as JSON, bounded, never failing."""

import dataclasses
import datetime as dt
import enum
import json
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import pydantic
import pytest
from pydantic_core import to_jsonable_python

from hitl_widget.formatting import json_safe, pretty_value


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 2


@dataclasses.dataclass
class Address:
    city: str
    zip_code: str


@dataclasses.dataclass
class Person:
    name: str
    address: Address
    born: dt.date | None = None
    tags: list[str] = dataclasses.field(default_factory=list)


class Item(pydantic.BaseModel):
    sku: str
    qty: int = 1
    when: dt.datetime | None = None


class Point(NamedTuple):
    x: int
    y: float


UID = uuid.UUID("12345678-1234-5678-1234-567812345678")

STRUCTURED = [
    Person("Ann", Address("Munich", "80331"), dt.date(1990, 1, 2), ["a"]),
    Item(sku="A-1", qty=3, when=dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)),
    [Item(sku="B")],
    Point(1, 2.5),
    {"p": Point(3, 4.0)},
    dt.datetime(2024, 5, 6, 7, 8, 9),
    dt.datetime(2024, 5, 6, 7, 8, 9, 123, tzinfo=dt.UTC),
    dt.datetime(2024, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    dt.date(2024, 5, 6),
    dt.time(12, 30, 15),
    dt.time(1, 2, tzinfo=dt.UTC),
    dt.timedelta(days=1, hours=2, seconds=3.5),
    dt.timedelta(seconds=-1),
    Path("/tmp/report 2024.csv"),
    UID,
    Decimal("0.10000000000000000001"),
    Decimal("1E+3"),
    Color.RED,
    Level.HIGH,
    {"when": [dt.date(2020, 1, 1)], "id": UID},
]


@pytest.mark.parametrize("value", STRUCTURED, ids=lambda v: type(v).__name__)
def test_structured_values_are_recorded_as_pydantic_writes_them(value: Any) -> None:
    safe = json_safe(value)
    assert safe == to_jsonable_python(value)
    assert json.loads(json.dumps(safe)) == safe


def test_pure_paths_and_big_ints_are_exact() -> None:
    assert json_safe(PurePosixPath("/a b")) == "/a b"
    big = 1234567890123456789012345678901234567890
    assert json_safe([big, -big]) == [big, -big]
    assert isinstance(json_safe(10**400), str)  # beyond the exact range: a bounded repr


def test_sets_bytes_and_non_string_keys_stay_reprs() -> None:
    assert json_safe({1, 2}) == "{1, 2}"
    assert json_safe(b"\x00") == "b'\\x00'"
    assert json_safe({1: "a"}) == "{1: 'a'}"


def test_structured_values_are_bounded() -> None:
    people = [Person(f"p{i}", Address("c" * 100, "z"), tags=["t"] * 50) for i in range(10_000)]
    safe = json_safe(people, max_chars=4000)
    assert len(json.dumps(safe)) < 12_000
    assert safe[0] == {"name": "p0", "address": {"city": "c" * 100, "zip_code": "z"}, "born": None, "tags": ["t"] * 50}
    assert safe[-1] == "… [10000 items]"


def test_deep_and_cyclic_structures_end_in_a_repr() -> None:
    @dataclasses.dataclass
    class Node:
        child: Any = None

    root = Node()
    root.child = Node(root)  # a cycle through dataclasses
    safe = json_safe(root)
    text = json.dumps(safe)
    assert text.startswith('{"child": {"child": {"child":')
    assert len(text) < 2000


def test_hostile_structured_values_never_fail() -> None:
    @dataclasses.dataclass
    class Sneaky:
        secret: str

        def __getattribute__(self, name: str) -> Any:
            if name == "secret":
                raise RuntimeError("no")
            return object.__getattribute__(self, name)

    class BadList(list):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            raise RuntimeError("no iterating")

    for value in (Sneaky("x"), BadList([1]), [Sneaky("x")]):
        safe = json_safe(value)
        json.dumps(safe)


def test_pretty_value_shows_structured_values_as_json() -> None:
    text = pretty_value(Person("Ann", Address("Munich", "80331")))
    assert json.loads(text) == {"name": "Ann", "address": {"city": "Munich", "zip_code": "80331"}, "born": None, "tags": []}
    assert pretty_value(dt.date(2024, 1, 2)) == "2024-01-02"


@pytest.mark.subprocess
def test_json_safe_of_structured_values_does_not_import_pydantic() -> None:
    code = (
        "import sys, dataclasses, datetime, uuid, decimal, pathlib\n"
        "from hitl_widget.formatting import json_safe\n"
        "@dataclasses.dataclass\n"
        "class A:\n"
        "    when: datetime.datetime\n"
        "print(json_safe([A(datetime.datetime(2024, 1, 1)), uuid.UUID(int=1), decimal.Decimal('1.5'), pathlib.Path('/x')]))\n"
        "print('pydantic' in sys.modules, 'pydantic_core' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    first, second = out.stdout.strip().splitlines()
    assert first == "[{'when': '2024-01-01T00:00:00'}, '00000000-0000-0000-0000-000000000001', '1.5', '/x']"
    assert second == "False False"


@pytest.mark.parametrize("value", ["x" * 100_000, b"y" * 5_000, bytearray(b"z" * 300)], ids=["str", "bytes", "bytearray"])
def test_a_long_text_repr_says_its_whole_length(value: Any) -> None:
    from hitl_widget.formatting import bounded_repr

    text = bounded_repr(value, 60)
    assert len(text) < 90 and text.endswith(f"… [{len(value)} chars]")
    assert text.startswith(repr(value[:10])[:8])
