"""What is shown is what runs: a request holds a private copy of the arguments, made when it is created."""

import asyncio
import io
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from hitl_widget import AuditLog, Batch, Budget, Edit, Gate, ScriptedApprover
from hitl_widget.decisions import Approve


@pytest.fixture(autouse=True)
def no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


@dataclass
class Order:
    to: str
    amount: int
    tags: list[str] = field(default_factory=list)


def mutate_then(answer, mutation):
    """An approver that, while "the person reads", lets the caller's objects change (as another thread would)."""

    def approver(request):
        mutation()
        return answer

    return approver


# each case: the caller's argument, a mutation of it, and what the approved call must receive
CASES = {
    "dict": (lambda: {"to": "alice", "amount": 10}, lambda o: o.update(to="mallory"), {"to": "alice", "amount": 10}),
    "nested dict": (
        lambda: {"to": {"iban": "DE01", "name": "alice"}, "items": [1, 2]},
        lambda o: (o["to"].__setitem__("iban", "XX99"), o["items"].append(3)),
        {"to": {"iban": "DE01", "name": "alice"}, "items": [1, 2]},
    ),
    "list of dicts": (lambda: [{"id": 1}, {"id": 2}], lambda o: o[1].__setitem__("id", 666), [{"id": 1}, {"id": 2}]),
    "flat list": (lambda: list(range(1000)), lambda o: o.__setitem__(500, -1), list(range(1000))),
    "set": (lambda: {"a", "b"}, lambda o: o.add("evil"), {"a", "b"}),
    "bytearray": (lambda: bytearray(b"rm -rf ./tmp"), lambda o: o.__setitem__(slice(6, 11), b"/"), bytearray(b"rm -rf ./tmp")),
    "dataclass": (
        lambda: Order("alice", 10, ["x"]),
        lambda o: (setattr(o, "to", "mallory"), o.tags.append("y")),
        Order("alice", 10, ["x"]),
    ),
    "tuple holding a list": (lambda: ("alice", [1, 2]), lambda o: o[1].append(3), ("alice", [1, 2])),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.threads
def test_sync_call_runs_with_what_was_shown(name):
    make, mutation, expected = CASES[name]
    order = make()
    ran = []

    def transfer(order):
        ran.append(order)
        return "sent"

    shown = []

    def approver(request):
        shown.append(request.arguments["order"])
        return mutate_then(Approve(), lambda: mutation(order))(request)

    assert Gate(approver=approver).wrap(transfer)(order) == "sent"
    assert ran == [expected]
    assert shown == [expected]
    assert ran[0] is shown[0]  # exactly the request's copy ran
    assert order != expected  # the caller's object did change


@pytest.mark.parametrize("name", sorted(CASES))
async def test_async_call_runs_with_what_was_shown(name):
    make, mutation, expected = CASES[name]
    order = make()
    ran = []

    async def transfer(order):
        ran.append(order)
        return "sent"

    async def approver(request):
        mutation(order)  # the agent's loop goes on while the person reads
        await asyncio.sleep(0)
        return Approve()

    assert await Gate(approver=approver).wrap(transfer)(order) == "sent"
    assert ran == [expected]


@pytest.mark.threads
def test_worker_threads_mutating_one_shared_dict_during_review():
    shared = {"to": "alice"}
    ran = []
    asked = threading.Barrier(3)

    def transfer(order):
        ran.append(order["to"])

    def approver(request):
        asked.wait(timeout=5)  # both calls are being reviewed...
        shared["to"] = "mallory"  # ...when someone changes the dict both were called with
        return Approve()

    wrapped = Gate(approver=approver).wrap(transfer)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(wrapped, shared) for _ in range(2)]
        asked.wait(timeout=5)
        for f in futures:
            f.result(timeout=5)
    assert ran == ["alice", "alice"]


@pytest.mark.threads
def test_edit_runs_the_edit_and_the_untouched_arguments_as_shown():
    order = {"to": "alice", "amount": 10}
    note = ["keep"]
    ran = []

    def transfer(order: dict, note: list, amount: int) -> None:
        ran.append((order, note, amount))

    def mutation():
        order["to"] = "mallory"
        note.append("evil")

    wrapped = Gate(approver=mutate_then(Edit({"amount": 5}), mutation)).wrap(transfer)
    wrapped(order, note, 10)
    assert ran == [({"to": "alice", "amount": 10}, ["keep"], 5)]


@pytest.mark.threads
def test_audit_record_of_the_request_equals_what_ran(tmp_path):
    path = tmp_path / "audit.jsonl"
    order = {"to": "alice", "lines": [{"sku": "A", "qty": 1}]}
    ran = []

    def transfer(order):
        ran.append(order)

    def mutation():
        order["to"] = "mallory"
        order["lines"][0]["qty"] = 99

    with AuditLog(path) as audit:
        Gate(approver=mutate_then(Approve(), mutation), audit=audit).wrap(transfer)(order)
    [request] = [r for r in AuditLog.records(path) if r["type"] == "request"]
    assert request["request"]["arguments"] == {"order": ran[0]} == {"order": {"to": "alice", "lines": [{"sku": "A", "qty": 1}]}}
    assert "uncopied" not in request["request"]


def test_batch_queued_call_keeps_its_arguments_when_the_agent_reuses_its_dict():
    batch = Batch(approver=ScriptedApprover(default=Approve()))
    sent = []

    def send(message: dict) -> str:
        sent.append(dict(message))
        return f"sent to {message['to']}"

    wrapped = batch.wrap(send)
    message = {"to": "alice", "body": "hi"}
    assert wrapped(message) == "PENDING_APPROVAL_1"
    message["to"] = "mallory"  # the agent reuses its dict for the next call
    message["body"] = "send me the keys"
    assert wrapped(message) == "PENDING_APPROVAL_2"
    message.clear()
    assert [c.request.arguments["message"] for c in batch.pending] == [
        {"to": "alice", "body": "hi"},
        {"to": "mallory", "body": "send me the keys"},
    ]
    assert batch.review_and_execute() == {1: "sent to alice", 2: "sent to mallory"}
    assert sent == [{"to": "alice", "body": "hi"}, {"to": "mallory", "body": "send me the keys"}]


def test_batch_audit_request_record_matches_what_ran(tmp_path):
    path = tmp_path / "audit.jsonl"
    items = [1, 2, 3]
    ran = []
    with AuditLog(path) as audit:
        batch = Batch(approver=ScriptedApprover(default=Approve()), audit=audit)
        wrapped = batch.wrap(lambda items: ran.append(list(items)))
        wrapped(items)
        items.append(4)
        batch.review_and_execute()
    [request] = [r for r in AuditLog.records(path) if r["type"] == "request"]
    assert request["request"]["arguments"]["items"] == ran[0] == [1, 2, 3]


# -- what cannot be copied is kept, and named ------------------------------------------------------


def _generator():
    yield 1


def _socket() -> socket.socket:
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as exc:  # Pyodide has no real sockets
        pytest.skip(f"no sockets here: {exc}")


@pytest.mark.parametrize(
    "make, kind",
    [
        (threading.Lock, "lock"),
        (_generator, "generator"),
        (lambda: _socket(), "socket"),
        (lambda: open(__file__), "TextIOWrapper"),  # noqa: SIM115 - closed below
        (lambda: {"conn": threading.RLock(), "table": "users"}, "dict"),
    ],
    ids=["lock", "generator", "socket", "open file", "dict holding a lock"],
)
def test_an_argument_that_cannot_be_copied_is_kept_and_named(tmp_path, make, kind):
    value = make()
    try:
        seen = []

        def use(resource, label: str = "x"):
            seen.append(resource)

        approver = ScriptedApprover([Approve()])
        with AuditLog(tmp_path / "a.jsonl") as audit:
            Gate(approver=approver, audit=audit).wrap(use)(value, label="copied")
        [request] = approver.requests
        assert set(request.uncopied) == {"resource"}
        assert kind in request.uncopied["resource"]
        assert "could not be copied" in request.uncopied["resource"]
        assert seen == [value] and seen[0] is value  # the caller's object, as said
        assert request.can_grant_arguments is False
        [record] = [r for r in AuditLog.records(tmp_path / "a.jsonl") if r["type"] == "request"]
        assert set(record["request"]["uncopied"]) == {"resource"}
    finally:
        if isinstance(value, (socket.socket, io.IOBase)):
            value.close()


def test_immutable_values_are_shared_and_containers_copied():
    big = "x" * 1_000_000
    blob = b"\x00" * 1_000_000
    frozen = (1, "two", (3.0, None))
    flat = list(range(10))
    approver = ScriptedApprover([Approve()])
    seen = []
    Gate(approver=approver).wrap(lambda a, b, c, d: seen.append((a, b, c, d)))(big, blob, frozen, flat)
    a, b, c, d = seen[0]
    assert a is big and b is blob and c is frozen  # nothing to copy: shared (the cost stays bounded)
    assert d == flat and d is not flat
    assert approver.requests[0].uncopied == {}


def test_aliasing_between_arguments_is_kept():
    shared = [1, 2]
    seen = []
    Gate(approver=ScriptedApprover([Approve()])).wrap(lambda a, b: seen.append((a, b)))(shared, shared)
    a, b = seen[0]
    assert a is b and a is not shared


def test_self_is_not_copied():
    class Account:
        def __init__(self) -> None:
            self.log: list[str] = []

        def close(self, reason: str) -> None:
            self.log.append(reason)

    gate = Gate(approver=ScriptedApprover(default=Approve()))
    Account.close = gate.wrap(Account.close)  # type: ignore[method-assign]
    account = Account()
    account.close("done")
    assert account.log == ["done"]


def test_rules_that_let_calls_through_read_the_copy_not_the_callers_object():
    order = {"amount": 10}
    seen = []

    def risk(request):
        seen.append(request.arguments["order"])
        return "low" if request.arguments["order"]["amount"] < 5 else "medium"

    def amount(request):
        seen.append(request.arguments["order"])
        return 1_000

    budget = Budget(total=100, amount=amount)
    Gate(approver=ScriptedApprover([Approve()]), risk=risk, budget=budget).wrap(lambda order: None)(order)
    assert seen == [{"amount": 10}, {"amount": 10}]
    assert all(s is not order for s in seen)


def test_when_false_skips_the_copy_and_when_it_asks_the_person_sees_a_copy():
    order = {"amount": 10}
    ran = []
    Gate(approver=ScriptedApprover(), when=lambda r: False).wrap(lambda order: ran.append(order))(order)
    assert ran[0] is order
    approver = ScriptedApprover([Approve()])
    Gate(approver=approver, when=lambda r: True).wrap(lambda order: ran.append(order))(order)
    assert approver.requests[0].arguments["order"] is not order and ran[1] is approver.requests[0].arguments["order"]


def test_auto_approved_calls_skip_the_copy():
    # documented: no person looks, so nothing is frozen (and nothing is paid for it)
    order = {"to": "alice"}
    seen = []
    Gate(approver=ScriptedApprover(), risk="low").wrap(lambda order: seen.append(order))(order)
    assert seen[0] is order


# -- a "copy" that is not one (breaker #15) ---------------------------------------------------------


class ReturnsSelf:
    def __init__(self) -> None:
        self.to = "bob"

    def __deepcopy__(self, memo):
        return self


class ShallowDeepCopy:
    def __init__(self) -> None:
        self.recipients = ["bob"]

    def __deepcopy__(self, memo):
        new = ShallowDeepCopy.__new__(ShallowDeepCopy)
        new.__dict__.update(self.__dict__)  # shares the list
        return new


class SharesDict:
    def __init__(self) -> None:
        self.to = "bob"

    def __deepcopy__(self, memo):
        new = SharesDict.__new__(SharesDict)
        object.__setattr__(new, "__dict__", self.__dict__)
        return new


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (ReturnsSelf, "returned the object itself"),
        (ShallowDeepCopy, "shares the attribute 'recipients'"),
        (SharesDict, "shares the original's attributes"),
        (lambda: [ReturnsSelf()], "returned the object itself"),  # inside a list
        (lambda: {"order": ReturnsSelf()}, "returned the object itself"),  # inside a dict
    ],
)
def test_a_copy_that_is_the_original_or_shares_its_state_is_flagged(make, why):
    value = make()
    approver = ScriptedApprover([Approve()])
    Gate(approver=approver).wrap(lambda order: None)(value)
    assert why in approver.requests[0].uncopied["order"]
    assert approver.requests[0].arguments["order"] is value
    assert approver.requests[0].fingerprint is None  # no "these exact arguments" grant over it


def test_values_whose_copy_is_themselves_by_design_are_not_flagged():
    import enum
    import re

    class Color(enum.Enum):
        RED = 1

    @dataclass
    class Holder:
        color: Color
        pattern: re.Pattern[str]
        factory: type
        callback: object

    approver = ScriptedApprover([Approve()])
    Gate(approver=approver).wrap(lambda a, b, c, d, e: None)(
        Color.RED, re.compile("x"), int, len, Holder(Color.RED, re.compile("y"), int, print)
    )
    assert approver.requests[0].uncopied == {}
