"""Hostile arguments: huge, cyclic, unprintable or markup-laden values never crash or run a call."""

import json
import time

import pytest

from hitl_widget import ApprovalRejected, ApprovalRequest, Approve, Edit, Gate, Reject, ScriptedApprover
from hitl_widget.formatting import bounded_repr, json_safe

LIMIT = 100_000  # bytes of JSON for one request


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    def __str__(self) -> str:
        raise RuntimeError("str exploded")


class ReprHuge:
    def __repr__(self) -> str:
        return "R" * 5_000_000


class Ambiguous:
    """Compares like a numpy array or a DataFrame: the result of == has no truth value."""

    def __eq__(self, other):
        return self

    def __ne__(self, other):
        return self

    def __bool__(self):
        raise ValueError("The truth value of an array with more than one element is ambiguous")

    __hash__ = object.__hash__


def cyclic_list():
    a = [1, "two"]
    a.append(a)
    return a


def cyclic_dict():
    d = {"name": "loop"}
    d["self"] = d
    d["list"] = [d, d]
    return d


def deep_list(depth=5000):
    value = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = {
    "ten_mb_string": "x" * 10_000_000,
    "markup": "<img src=x onerror=alert(1)>",
    "script": "</script><script>alert(document.cookie)</script>",
    "ansi": "\x1b[31mred\x1b[0m\r\x1b[2J\x1b]0;title\x07",
    "control": "a\x00b\x08c\u202ereversed\u2028line",
    "object": object(),
    "set": {1, 2, 3},
    "bytes": b"\x00\xff" * 1_000_000,
    "lambda": lambda: None,
    "repr_raises": ReprRaises(),
    "repr_huge": ReprHuge(),
    "cyclic_list": cyclic_list(),
    "cyclic_dict": cyclic_dict(),
    "deep_list": deep_list(),
    "nan": float("nan"),
    "inf": float("-inf"),
    "tuple_keys": {(1, 2): object(), None: ReprRaises()},
    "wide_list": list(range(100_000)),
    "wide_dict": {f"k{i}": "v" * 100 for i in range(10_000)},
    "long_key": {"k" * 1_000_000: 1},
    "nested_hostile": [ReprRaises(), {"x": ReprHuge()}, cyclic_list()],
    "ambiguous": Ambiguous(),
}


def rejected_request(value, **call) -> tuple[ApprovalRequest, list]:
    ran = []

    def process(data, note: str = "") -> None:
        """Process data."""
        ran.append(data)

    approver = ScriptedApprover([Reject("not this")])
    with pytest.raises(ApprovalRejected) as info:
        Gate(approver=approver).wrap(process)(value, **call)
    assert len(str(info.value)) < 2_000
    assert ran == []
    return approver.requests[0], ran


@pytest.fixture(params=sorted(HOSTILE), ids=sorted(HOSTILE))
def hostile(request):
    return HOSTILE[request.param]


def test_call_text_is_bounded(hostile):
    request, _ = rejected_request(hostile)
    text = request.call_text()
    assert text.startswith("process(data=")
    assert len(text) <= 400


def test_to_dict_is_json_and_bounded(hostile):
    request, _ = rejected_request(hostile)
    started = time.monotonic()
    encoded = json.dumps(request.to_dict())
    assert time.monotonic() - started < 2
    assert len(encoded) < LIMIT
    decoded = json.loads(encoded)
    assert decoded["function"] == "process"
    assert set(decoded["arguments"]) == {"data", "note"}


def test_arguments_text_is_bounded(hostile):
    request, _ = rejected_request(hostile)
    texts = request.arguments_text()
    assert set(texts) == {"data", "note"}
    assert all(isinstance(t, str) and len(t) <= 2_100 for t in texts.values())
    small = request.arguments_text(limit=50)
    assert all(len(t) <= 120 for t in small.values())


# plain data has an exact fingerprint; objects, cycles and too-deep values have none (no argument grant can cover them)
NO_EXACT_ENCODING = {
    "object", "lambda", "repr_raises", "repr_huge", "cyclic_list", "cyclic_dict", "deep_list",
    "tuple_keys", "nested_hostile", "ambiguous",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_parameters_and_fingerprint_do_not_crash(name):
    request, _ = rejected_request(HOSTILE[name])
    assert [p.name for p in request.parameters] == ["data", "note"]
    if name in NO_EXACT_ENCODING:
        assert request.fingerprint is None
        assert request.can_grant_arguments is False
    else:
        assert isinstance(request.fingerprint, str) and len(request.fingerprint) == 32
        assert request.can_grant_arguments is True


def test_text_never_contains_raw_control_characters():
    request, _ = rejected_request(HOSTILE["ansi"], note="\x1b[1mbold\x1b[0m")
    for text in (request.call_text(), *request.arguments_text().values()):
        assert "\x1b" not in text
        assert "\r" not in text
        assert "\x07" not in text


def test_markup_is_kept_as_plain_text():
    markup = HOSTILE["markup"]
    request, _ = rejected_request(markup)
    assert request.to_dict()["arguments"]["data"] == markup  # data, for a channel to show as text
    assert markup in request.call_text()
    assert json.loads(request.arguments_text()["data"]) == markup


def test_repr_failure_is_described_not_raised():
    request, _ = rejected_request(ReprRaises())
    assert "ReprRaises" in request.call_text()
    assert "ReprRaises" in request.to_dict()["arguments"]["data"]
    assert "ReprRaises" in request.arguments_text()["data"]
    assert "ReprRaises" in bounded_repr(ReprRaises())
    assert "ReprRaises" in bounded_repr([ReprRaises()])


def test_huge_int_is_shown_bounded():
    request, _ = rejected_request(10**5000)
    assert len(request.call_text()) <= 400
    assert len(request.arguments_text()["data"]) <= 2_100
    assert isinstance(json_safe(10**5000), str)


def test_huge_int_to_dict():
    request, _ = rejected_request(10**5000)
    assert len(json.dumps(request.to_dict())) < LIMIT


def test_huge_int_with_audit_and_grant(tmp_path):
    from hitl_widget import AuditLog

    def process(data) -> str:
        return "ran"

    with AuditLog(tmp_path / "audit.jsonl") as audit:
        assert Gate(approver=ScriptedApprover([Approve()]), audit=audit).wrap(process)(10**5000) == "ran"
    assert Gate(approver=ScriptedApprover([Approve(always="arguments")])).wrap(process)(10**5000) == "ran"


def test_approve_of_hostile_arguments_runs_with_the_copies_made_at_request_time():
    seen = []

    def process(data, other) -> None:
        seen.append((data, other))

    values = (HOSTILE["cyclic_list"], HOSTILE["repr_raises"])
    Gate(approver=ScriptedApprover([Approve()])).wrap(process)(*values)
    data, other = seen[0]
    assert data is not values[0] and data[:2] == [1, "two"] and data[2] is data  # the cycle is copied as a cycle
    assert type(other) is ReprRaises and other is not values[1]


@pytest.mark.parametrize("name", ["cyclic_list", "repr_raises", "ten_mb_string", "object"])
def test_edit_of_other_argument_with_hostile_value(name):
    seen = []

    def process(data, note: str = "") -> None:
        seen.append((data, note))

    Gate(approver=ScriptedApprover([Edit({"note": "edited"})])).wrap(process)(HOSTILE[name])
    [(data, note)] = seen
    assert note == "edited"
    assert type(data) is type(HOSTILE[name])  # the request's own copy (a cycle stays a cycle)
    if name == "cyclic_list":
        assert data[2] is data
    if name == "ten_mb_string":
        assert data is HOSTILE[name]  # immutable: shared, never copied


def test_edit_of_other_argument_when_one_compares_ambiguously():
    seen = []

    def process(data, note: str = "") -> None:
        seen.append(note)

    Gate(approver=ScriptedApprover([Edit({"note": "edited"})])).wrap(process)(Ambiguous())
    assert seen == ["edited"]


def test_no_decision_means_not_executed():
    ran = []

    def process(data) -> None:
        ran.append(1)

    for value in HOSTILE.values():
        with pytest.raises(ApprovalRejected):
            Gate(approver=ScriptedApprover([Reject("no")])).wrap(process)(value)
        with pytest.raises(ApprovalRejected):
            Gate(approver=lambda r: False).wrap(process)(value)
        with pytest.raises(TypeError):
            Gate(approver=lambda r: None).wrap(process)(value)
        with pytest.raises(LookupError):
            Gate(approver=ScriptedApprover([])).wrap(process)(value)
    assert ran == []


async def test_no_decision_means_not_executed_async():
    ran = []

    async def process(data) -> None:
        ran.append(1)

    for value in (HOSTILE["cyclic_dict"], HOSTILE["repr_raises"], HOSTILE["ten_mb_string"]):
        with pytest.raises(ApprovalRejected):
            await Gate(approver=ScriptedApprover([Reject("no")])).wrap(process)(value)
    assert ran == []


def test_hostile_context_is_bounded():
    def process(data) -> None:
        pass

    approver = ScriptedApprover([Reject("no")])
    context = {"agent": "x" * 1_000_000, "loop": cyclic_dict(), "bad": ReprRaises()}
    with pytest.raises(ApprovalRejected):
        Gate(approver=approver).wrap(process, context=context)(1)
    assert len(json.dumps(approver.requests[0].to_dict())) < LIMIT


def test_audit_records_hostile_arguments_bounded(tmp_path):
    from hitl_widget import AuditLog

    path = tmp_path / "audit.jsonl"

    def process(data, note: str = "") -> None:
        pass

    with AuditLog(path) as audit:
        gate = Gate(approver=ScriptedApprover(default=Reject("no")), audit=audit)
        wrapped = gate.wrap(process)
        for name in ("ten_mb_string", "cyclic_dict", "repr_raises", "ansi", "bytes"):
            with pytest.raises(ApprovalRejected):
                wrapped(HOSTILE[name])
    assert path.stat().st_size < 5 * LIMIT
    assert AuditLog.verify(path)


def self_referencing_list(width: int) -> list:
    a: list = []
    a.extend([a] * width)
    return a


def test_json_safe_of_wide_cycle_is_bounded():
    assert len(json.dumps(json_safe(self_referencing_list(3)))) < 20_000


def test_formatting_a_wide_cycle_calls_repr_a_bounded_number_of_times():
    calls = [0]

    class Probe:
        def __repr__(self) -> str:
            calls[0] += 1
            return "P"

    value: list = [Probe()]
    value.extend([value] * 3)
    request, _ = rejected_request(value)
    request.to_dict()
    assert calls[0] < 5_000
