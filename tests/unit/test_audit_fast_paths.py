"""The audit log's fast paths give exactly what the general paths give.

A request with plain scalar arguments is written as its ``to_dict()`` without the
copying walk; canonical JSON comes from the encoder's C core made once; the default
clock's timestamps are formatted with the text up to the second remembered; short
results get their ``repr`` without reprlib. Each is compared here with the slow path
it replaces, over many inputs of the kinds that must not take it.
"""

from __future__ import annotations

import json
import math
import random
import re
import reprlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hitl_widget import AuditLog, Gate
from hitl_widget import audit as audit_module
from hitl_widget.formatting import bounded_repr


def tool(**kwargs: Any) -> str:
    return "ok"


def make_request(arguments: dict[str, Any], context: dict[str, Any] | None = None) -> Any:
    gate = Gate(id_factory=lambda: "req-1", clock=lambda: datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC))
    wrapped = gate.wrap(tool, risk="low", context=context or {})
    guard = wrapped.__hitl_guard__
    return gate._new_request(guard, arguments)


def both_ways(log: AuditLog, monkeypatch: pytest.MonkeyPatch, request: Any, **fields: Any) -> tuple[Any, Any]:
    fast = log._prepare("decision", {"request": request, **fields})
    with monkeypatch.context() as patched:
        patched.setattr(audit_module, "_flat_cost", lambda *a, **k: None)
        slow = log._prepare("decision", {"request": request, **fields})
    return fast, slow


KINDS = ["str", "long", "int", "big", "float", "nan", "bool", "none", "dict", "list", "bytes", "escaped"]


def random_scalar(rng: random.Random, kinds: list[str] = KINDS) -> Any:
    kind = rng.choice(kinds)
    if kind == "str":
        return "".join(rng.choice("ab\u00e9\x1b\n\"'") for _ in range(rng.randrange(0, 30)))
    if kind == "long":
        return "x" * rng.choice([999, 1000, 3999, 4001, 9000])
    if kind == "int":
        return rng.randrange(-(10**12), 10**12)
    if kind == "big":
        return rng.choice([10**29, 10**30, -(10**30), 10**301])
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "nan":
        return rng.choice([float("nan"), float("inf"), -float("inf")])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "dict":
        return {rng.choice(["user", "password", "api_key", "n"]): rng.choice(["s3cr3t-value", 1, None])}
    if kind == "list":
        return [rng.randrange(10) for _ in range(rng.choice([0, 3, 250]))]
    if kind == "bytes":
        return b"token=abcdef"
    return "password=hunter2 and Authorization: Bearer abc.def"


NAMES = ["user", "amount", "note", "password", "api_key", "Token", "n" * 201, "x"]


@pytest.mark.parametrize("seed", range(200))
def test_a_request_written_as_it_is_equals_the_general_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    count = rng.choice([1, 3, 8, 30])
    if seed % 2:  # mostly the fast path's own inputs, up to its edges (long strings, many of them, big ints, NaN)
        plain = ["str", "long", "int", "big", "float", "bool", "none", "escaped"] + ["nan"] * (seed % 5 == 0)
        arguments = {f"{rng.choice(NAMES[:3])}{i}": random_scalar(rng, plain) for i in range(count)}
        context: dict[str, Any] = {}
    else:
        arguments = {rng.choice(NAMES) + (str(i) if i else ""): random_scalar(rng) for i in range(count)}
        context = rng.choice([{}, {}, {"ticket": "T-1"}, {"password": "ctx-secret-1"}])
    log = AuditLog(tmp_path / "a.jsonl")
    fast, slow = both_ways(log, monkeypatch, make_request(arguments, context), channel="policy", decision="auto_approved")
    assert fast == slow
    # and written: the same line, the secrets of the request remembered alike
    assert audit_module._canonical(dict(fast)) == audit_module._canonical(dict(slow))


def test_plain_requests_do_take_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = audit_module._flat_cost
    monkeypatch.setattr(audit_module, "_flat_cost", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    log = AuditLog(tmp_path / "a.jsonl")
    log._prepare("decision", {"request": make_request({"order_id": "A-1", "amount": 10.0, "note": ""}), "decision": "x"})
    assert calls and isinstance(calls[0], int)


def test_secrets_in_plain_requests_are_still_redacted(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    request = make_request({"user": "bob", "password": "hunter2-long", "note": "token=abcdef123 sent"})
    log.append("request", request=request, channel="x")
    log.append("outcome", request_id=request.id, status="returned", result="echo hunter2-long")
    text = path.read_text()
    assert "hunter2-long" not in text and "abcdef123" not in text
    assert AuditLog.verify(path)


def test_a_custom_pattern_is_honoured_on_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path, redact_names=re.compile("ssn|function", re.IGNORECASE))
    log.append("request", request=make_request({"ssn": "123-45-6789", "password": "kept"}))
    record = list(AuditLog.records(path))[-1]
    assert record["request"]["arguments"] == {"ssn": "[REDACTED]", "password": "kept"}
    assert record["request"]["function"] == "[REDACTED]"


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["str", "int", "float", "bool", "none"] + (["dict", "list"] if depth < 5 else []))
    if kind == "str":
        return "".join(rng.choice('az\u00e9\u2028\x00"\\\ud800') for _ in range(rng.randrange(0, 12)))
    if kind == "int":
        return rng.randrange(-(10**40), 10**40)
    if kind == "float":
        return rng.choice([rng.uniform(-1e300, 1e300), 0.1, -0.0, 1e-320])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "dict":
        return {random_json(rng, 5) if rng.random() < 0.9 else "k": random_json(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]


@pytest.mark.parametrize("seed", range(100))
def test_canonical_json_is_the_encoders(seed: int) -> None:
    rng = random.Random(seed)
    body = {"seq": seed, "value": random_json(rng), "k": [random_json(rng) for _ in range(3)]}
    body = json.loads(json.dumps(body, default=str)) if rng.random() < 0.1 else body
    try:
        expected = audit_module._ENCODER.encode(body)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            audit_module._canonical(body)
    else:
        assert audit_module._canonical(body) == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), {(1,): "x"}, {1.5: {2j}}])
def test_canonical_json_refuses_what_the_encoder_refuses(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        audit_module._canonical({"v": bad})


def test_canonical_json_without_the_c_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_module, "_C_ENCODE", None)
    body = {"b": [1, 2.5, None], "a": "\u00e9"}
    assert audit_module._canonical(body) == '{"a":"\\u00e9","b":[1,2.5,null]}'


@pytest.mark.parametrize(
    "ns",
    [
        0,
        1_000,
        999_999_999,
        1_764_616_799_000_000_000,
        1_764_616_799_000_001_000,
        1_764_616_800_123_456_789,
        4_102_444_800_000_000_000,
    ],
)
def test_timestamps_are_isoformat(monkeypatch: pytest.MonkeyPatch, ns: int) -> None:
    monkeypatch.setattr(audit_module, "_second_text", (-1, ""))
    monkeypatch.setattr(audit_module.time, "time_ns", lambda: ns)
    expected = datetime.fromtimestamp(ns // 1000 // 1_000_000, UTC).replace(microsecond=ns // 1000 % 1_000_000).isoformat()
    assert audit_module._utc_now_text() == expected
    assert audit_module._utc_now_text() == expected  # the remembered second too


def test_default_clock_timestamps_are_now(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    before = datetime.now(UTC)
    AuditLog(path).append("note", text="x")
    after = datetime.now(UTC)
    stamps = [datetime.fromisoformat(r["ts"]) for r in AuditLog.records(path)]
    assert all(before <= ts <= after for ts in stamps)


def test_a_given_clock_is_still_used(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    AuditLog(path, clock=lambda: datetime(2020, 5, 6, tzinfo=UTC)).append("note", text="x")
    assert {r["ts"] for r in AuditLog.records(path)} == {"2020-05-06T00:00:00+00:00"}


_reference = reprlib.Repr()
_reference.maxstring = _reference.maxother = 160
_reference.maxlong = 80
_reference.maxlist = _reference.maxtuple = _reference.maxset = _reference.maxfrozenset = _reference.maxdeque = 20
_reference.maxdict = 20
_reference.maxlevel = 4


@pytest.mark.parametrize(
    "value",
    [
        "",
        "A-1",
        "x" * 78,
        "x" * 79,
        "x" * 170,
        "\x00\u00e9'\"" * 20,
        0,
        -5,
        10**79,
        10**80,
        10**200,
        1.5,
        math.nan,
        -0.0,
        True,
        None,
    ],
)
@pytest.mark.parametrize("limit", [10, 200, 500])
def test_short_reprs_are_reprlibs(value: Any, limit: int) -> None:
    text = _reference.repr(value)
    expected = text if len(text) <= limit else f"{text[: limit - 1]}… [{len(text)} chars]"
    if type(value) is str and len(value) > limit:
        expected = f"{repr(value[: limit - 2])[: limit - 1]}… [{len(value)} chars]"
    assert bounded_repr(value, limit) == expected


TEXTS = [
    "",
    "A-1",
    "policy",
    "auto_approved",
    "2026-12-01T19:20:59.430759+00:00",
    "1e0f97-12",
    "password=hunter2",
    "PASSWORD: x",
    "my token is abc",
    "Authorization: Bearer abc.def",
    "('api_key', 'zzz')",
    "authorName=bob",
    "ssh_key=AAAA",
    "x" * 150 + " secret=1",
    "deadbeef-cafe",
    "t" * 20,
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_text_called_clean_is_one_the_scrub_leaves(text: str) -> None:
    record = {"note": text, "nested": {"list": [text, 1, None]}}
    for _ in range(2):  # the remembered verdict too
        if audit_module._texts_clean(record):
            assert audit_module._scrub(record, (), audit_module.SECRET_NAMES) == record
            assert not audit_module._may_hold_secret_names(text, audit_module.SECRET_NAMES)
        else:
            assert audit_module._may_hold_secret_names(text, audit_module.SECRET_NAMES)


def test_texts_of_needleless_characters_hold_no_names() -> None:
    rng = random.Random(7)
    chars = audit_module._NEEDLELESS
    assert chars  # the shortcut is on for the current needles
    for _ in range(2000):
        text = "".join(rng.choice(chars) for _ in range(rng.randrange(1, 40)))
        assert not audit_module._may_hold_secret_names(text, audit_module.SECRET_NAMES)
        assert audit_module._texts_clean(text)


@pytest.mark.parametrize("text", [t for t in TEXTS if "=" in t or ":" in t or "," in t])
def test_free_text_assignments_are_still_cut_in_every_record(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    request = make_request({"note": text})
    log.append("request", request=request, channel="x")
    log.append("outcome", request_id=request.id, status="returned", result=text)
    for record in list(AuditLog.records(path))[1:]:
        expected = audit_module.redact_text(text)
        shown = record["request"]["arguments"]["note"] if "request" in record else record["result"]
        assert shown == expected
    assert AuditLog.verify(path)


@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    real_write = audit_module.os.write
    monkeypatch.setattr(audit_module.os, "write", lambda fd, data: real_write(fd, bytes(data[:chunk])))
    path = tmp_path / "a.jsonl"
    log = AuditLog(path)
    for i in range(3):
        log.append("note", text=f"record {i} " + "x" * 150)
    assert AuditLog.check(path).ok and AuditLog.check(path).records == 4


def prepared_both_ways(log: AuditLog, monkeypatch: pytest.MonkeyPatch, kind: str, fields: dict[str, Any]) -> tuple[Any, Any]:
    fast = log._prepare(kind, dict(fields))
    with monkeypatch.context() as patched:
        patched.setattr(audit_module, "_flat_cost", lambda *a, **k: None)
        slow = log._prepare(kind, dict(fields))
    return fast, slow


@pytest.mark.parametrize("seed", range(150))
def test_a_flat_record_written_as_it_is_equals_the_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    names = ["request_id", "status", "result", "error", "password", "token", "detail", "k" * 201, "duration_ms"]
    fields = {rng.choice(names) + (str(i) if i else ""): random_scalar(rng) for i in range(rng.choice([1, 4, 12]))}
    if seed % 3 == 0:
        fields["request_id"] = "r-1"
    log = AuditLog(tmp_path / "a.jsonl")
    if seed % 4 == 0:  # a request whose secrets were seen first: its later records are cut the same either way
        log.append("request", request=make_request({"password": "s3cr3t-value"}))
        fields["request_id"] = "req-1"
        fields["note"] = "sent s3cr3t-value"
    kind = "outcome" if seed % 2 and seed % 4 else "decision"  # an outcome forgets the request's secrets
    fast, slow = prepared_both_ways(log, monkeypatch, kind, fields)
    assert fast == slow
    if seed % 4 == 0:
        assert "s3cr3t-value" not in json.dumps(dict(fast), default=str)
    if seed % 5 == 0:  # and with a request beside them
        fast, slow = both_ways(log, monkeypatch, make_request({"a": "b"}), **fields)
        assert fast == slow
