"""The audit log's one-pass path for small plain records gives exactly the general path's result."""

import random
import re

import pytest

from hitl_widget.audit import SECRET_NAMES, _plain_safe, redact
from hitl_widget.formatting import json_safe


def general(fields, pattern=SECRET_NAMES):
    return json_safe(redact(fields, pattern), max_chars=20000)


def random_value(rng: random.Random, depth: int = 0):
    kinds = ["str", "int", "float", "bool", "none", "big", "nan", "long"] + (["dict", "list", "tuple"] if depth < 7 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return "".join(rng.choice("ab\u00e9\x1b\n") for _ in range(rng.randrange(0, 30)))
    if kind == "long":
        return "x" * rng.choice([199, 4000, 17000, 25000])
    if kind == "int":
        return rng.randrange(-(10**12), 10**12)
    if kind == "big":
        return rng.choice([10**30, -(10**30), 10**29])
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "nan":
        return rng.choice([float("nan"), float("inf")])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    n = rng.choice([0, 1, 3, 200, 201])  # long containers hold scalars: the size stays small
    if kind == "dict":
        keys = ["password", "api_key", "name", "Token", "k" * 201, "note"]
        if n >= 200:
            return {f"k{i}": i for i in range(n)}
        return {rng.choice(keys) + str(i): random_value(rng, depth + 1) for i in range(n)}
    items = list(range(n)) if n >= 200 else [random_value(rng, depth + 1) for _ in range(n)]
    return items if kind == "list" else tuple(items)


@pytest.mark.parametrize("seed", range(300))
def test_plain_path_equals_the_general_path(seed):
    rng = random.Random(seed)
    fields = {"request": {"id": "x-1", "arguments": {"a": random_value(rng), "secret": "pw"}}, "channel": random_value(rng)}
    fast = _plain_safe(fields, SECRET_NAMES)
    if fast is not None:
        assert fast == general(fields)


def test_typical_records_take_the_plain_path():
    record = {
        "request": {"id": "a-1", "arguments": {"user": "bob", "password": "pw-S1", "n": 3}, "timeout": None},
        "channel": "x",
    }
    assert _plain_safe(record, SECRET_NAMES) == general(record)
    assert _plain_safe(record, SECRET_NAMES)["request"]["arguments"]["password"] == "[REDACTED]"
    assert _plain_safe(record, None) == general(record, None)


@pytest.mark.parametrize(
    "value", [object(), b"bytes", {1: "int key"}, [0] * 201, "x" * 16000, float("nan"), 10**40, [[[[[[1]]]]]]]
)
def test_anything_else_takes_the_general_path(value):
    assert _plain_safe({"v": value}, SECRET_NAMES) is None


def test_custom_patterns_are_honoured():
    pattern = re.compile("ssn", re.IGNORECASE)
    record = {"arguments": {"SSN": "123", "password": "kept"}}
    assert _plain_safe(record, pattern) == general(record, pattern) == {"arguments": {"SSN": "[REDACTED]", "password": "kept"}}
