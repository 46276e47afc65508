"""A method's ``self`` (a classmethod's ``cls``): not copied, flagged with its state, checked before running,
and "approve always" kept to the one instance (or class) it was given for."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

from hitl_widget import ApprovalRejected, Approve, AuditLog, Batch, Edit, Gate, Reject, ScriptedApprover
from hitl_widget.gate import MAX_DECISION_ROUNDS


def table_class(gate: Gate, ran: list[str], **options: Any) -> type:
    class Table:
        def __init__(self, name: str) -> None:
            self.name = name

        @gate.require_approval(**options)
        def delete_rows(self, where: str) -> str:
            ran.append(f"{self.name}:{where}")
            return self.name

    return Table


def test_self_is_flagged_with_its_state_at_request_time():
    approver = ScriptedApprover([Approve()])
    ran: list[str] = []
    Table = table_class(Gate(approver=approver), ran)
    Table("logs").delete_rows("age > 30")
    reason = approver.requests[0].uncopied["self"]
    assert "not copied" in reason and "Table object" in reason and "name='logs'" in reason
    assert list(approver.requests[0].uncopied) == ["self"]


def test_self_changed_while_the_person_read_is_asked_again_with_the_new_state(tmp_path):
    holder: list[Any] = []
    seen: list[str] = []

    def approver(request):
        seen.append(request.uncopied["self"])
        if len(seen) == 1:
            holder[0].name = "users"  # another thread of the agent, while the person reads
        return Approve()

    ran: list[str] = []
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        Table = table_class(Gate(approver=approver, audit=audit), ran)
        t = Table("logs")
        holder.append(t)
        t.delete_rows("1=1")
    assert ran == ["users:1=1"]  # it ran only after the person saw (and approved) the state it ran on
    assert "name='logs'" in seen[0] and "name='users'" in seen[1]
    records = list(AuditLog.records(path))
    assert [r.get("decision") for r in records if r["type"] == "decision"] == ["approved", "state_changed", "approved"]
    assert [r.get("after") for r in records if r["type"] == "request"] == [None, "state_changed"]
    shown = [r["request"]["uncopied"]["self"] for r in records if r["type"] == "request"]
    assert "name='logs'" in shown[0] and "name='users'" in shown[1]  # the log says what each answer was about


def test_self_that_keeps_changing_fails_closed():
    holder: list[Any] = []

    def approver(request):
        holder[0].name += "!"
        return Approve()

    ran: list[str] = []
    Table = table_class(Gate(approver=approver), ran)
    holder.append(Table("logs"))
    with pytest.raises(ApprovalRejected, match="kept changing"):
        holder[0].delete_rows("1=1")
    assert ran == []


@pytest.mark.parametrize("change", ["rebind", "mutate_list", "add_attribute", "delete_attribute"])
def test_other_kinds_of_change_to_self_are_detected(change):
    holder: list[Any] = []
    asked: list[int] = []

    def approver(request):
        asked.append(1)
        if len(asked) == 1:
            t = holder[0]
            if change == "rebind":
                t.tags = ["other"]
            elif change == "mutate_list":
                t.tags.append("prod")
            elif change == "add_attribute":
                t.where_override = "1=1"
            else:
                del t.tags
        return Approve()

    ran: list[str] = []
    Table = table_class(Gate(approver=approver), ran)
    t = Table("logs")
    t.tags = ["a"]
    holder.append(t)
    t.delete_rows("x")
    assert len(asked) == 2


def test_slots_state_is_checked_too():
    gate = Gate(approver=None)
    asked: list[str] = []

    class Conn:
        __slots__ = ("host",)

        def __init__(self) -> None:
            self.host = "staging"

        def run(self, sql: str) -> str:
            return f"{self.host}:{sql}"

    conn = Conn()

    def approver(request):
        asked.append(request.uncopied["self"])
        if len(asked) == 1:
            conn.host = "prod"
        return Approve()

    gate = Gate(approver=approver)
    run = gate.wrap(Conn.run)
    assert run(conn, "drop") == "prod:drop"
    assert "host='staging'" in asked[0] and "host='prod'" in asked[1]


def test_an_attribute_without_exact_value_is_compared_by_identity_and_said_so():
    approver = ScriptedApprover([Approve()])
    ran: list[str] = []
    Table = table_class(Gate(approver=approver), ran)
    t = Table("logs")
    t.lock = threading.Lock()
    t.delete_rows("x")
    assert "changes inside lock cannot be detected" in approver.requests[0].uncopied["self"]


def test_secret_named_attributes_of_self_are_not_shown():
    approver = ScriptedApprover([Approve()])
    ran: list[str] = []
    Table = table_class(Gate(approver=approver), ran)
    t = Table("logs")
    t.password = "pw-S1-hunter2"
    t.options = {"api_key": "sk-live-1"}
    t.delete_rows("x")
    reason = approver.requests[0].uncopied["self"]
    assert "pw-S1" not in reason and "sk-live" not in reason and "[REDACTED]" in reason


def test_function_grant_covers_only_the_instance_it_was_given_for():
    approver = ScriptedApprover([Approve(always="function"), Approve(), Reject("no")])
    ran: list[str] = []
    Table = table_class(Gate(approver=approver), ran)
    logs, users = Table("logs"), Table("users")
    logs.delete_rows("age > 30")
    logs.delete_rows("age > 60")  # granted: this instance
    users.delete_rows("1=1")  # another instance: asked
    assert len(approver.requests) == 2
    with pytest.raises(ApprovalRejected):
        Table("logs").delete_rows("1=1")  # an equal but other instance: asked
    assert ran == ["logs:age > 30", "logs:age > 60", "users:1=1"]


def test_argument_grant_covers_only_that_instance_in_that_state():
    approver = ScriptedApprover([Approve(always="arguments"), Approve(), Approve()])
    ran: list[str] = []
    Table = table_class(Gate(approver=approver), ran)
    logs = Table("logs")
    logs.delete_rows("age > 30")
    logs.delete_rows("age > 30")  # granted
    assert len(approver.requests) == 1
    Table("logs").delete_rows("age > 30")  # another instance
    logs.name = "users"
    logs.delete_rows("age > 30")  # same instance, other state
    assert len(approver.requests) == 3


def test_a_grant_dies_with_its_instance():
    gate = Gate(approver=lambda request: Approve(always="function"))  # keeps no request (and so no self)
    ran: list[str] = []
    Table = table_class(gate, ran)
    t = Table("logs")
    t.delete_rows("x")
    guard = Table.delete_rows.__hitl_guard__
    assert len(gate._grants[guard].instances) == 1
    del t
    gc.collect()
    assert gate._grants[guard].instances == {}


def test_an_instance_that_cannot_be_referenced_weakly_gets_no_grant(tmp_path):
    approver = ScriptedApprover([Approve(always="function"), Approve()])
    gate = Gate(approver=approver)

    class Fixed:
        __slots__ = ("name",)

        def __init__(self) -> None:
            self.name = "logs"

        @gate.require_approval
        def drop(self) -> str:
            return self.name

    f = Fixed()
    f.drop()
    f.drop()
    assert len(approver.requests) == 2


def test_classmethod_grant_does_not_cover_a_subclass():
    approver = ScriptedApprover([Approve(always="function"), Approve()])
    gate = Gate(approver=approver)

    class Base:
        table = "logs"

        @classmethod
        @gate.require_approval
        def purge(cls) -> str:
            return cls.table

    class Users(Base):
        table = "users"

    assert Base.purge() == "logs"
    assert Base.purge() == "logs"  # granted for Base
    assert Users.purge() == "users"  # asked
    assert len(approver.requests) == 2
    assert "table='users'" in approver.requests[1].uncopied["cls"]


def test_edit_of_a_method_call_keeps_self_flagged_and_runs_on_it():
    approver = ScriptedApprover([Edit({"where": "age > 90"})])
    ran: list[str] = []
    Table = table_class(Gate(approver=approver), ran)
    Table("logs").delete_rows("1=1")
    assert ran == ["logs:age > 90"]


def test_batch_checks_self_before_running():
    batch = Batch(approver=ScriptedApprover([Approve(), Approve()]))
    ran: list[str] = []
    Table = table_class(batch, ran)  # type: ignore[arg-type]
    t = Table("logs")
    t.delete_rows("1=1")
    t.name = "users"  # the agent changes it after queueing
    batch.review_and_execute()
    assert ran == ["users:1=1"]
    assert len(batch.approver.requests) == 2  # type: ignore[union-attr]
    assert MAX_DECISION_ROUNDS >= 2


def test_async_method_self_change_is_asked_again():
    import asyncio

    holder: list[Any] = []
    seen: list[str] = []

    def approver(request):
        seen.append(request.uncopied["self"])
        if len(seen) == 1:
            holder[0].name = "users"
        return Approve()

    gate = Gate(approver=approver)

    class Table:
        def __init__(self, name: str) -> None:
            self.name = name

        @gate.require_approval
        async def drop(self) -> str:
            return self.name

    holder.append(Table("logs"))
    assert asyncio.run(holder[0].drop()) == "users"
    assert "name='logs'" in seen[0] and "name='users'" in seen[1]


def test_classmethod_grant_per_class_with_the_decorator_outside():
    approver = ScriptedApprover([Approve(always="function"), Approve()])
    gate = Gate(approver=approver)

    class Base:
        table = "logs"

        @gate.require_approval
        @classmethod
        def purge(cls) -> str:
            return cls.table

    class Users(Base):
        table = "users"

    assert [Base.purge(), Base.purge(), Users.purge()] == ["logs", "logs", "users"]
    assert len(approver.requests) == 2
