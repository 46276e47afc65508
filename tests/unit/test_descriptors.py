"""@require_approval with methods: any order with staticmethod/classmethod, called on the class or an instance."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import pytest

from hitl_widget import Approve, Batch, Gate, ScriptedApprover


@pytest.fixture(autouse=True)
def _no_env_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITL_MODE", raising=False)


@pytest.fixture
def approver() -> ScriptedApprover:
    return ScriptedApprover(default=Approve())


@pytest.fixture
def gate(approver: ScriptedApprover) -> Gate:
    return Gate(approver=approver)


def test_gate_above_staticmethod(gate: Gate, approver: ScriptedApprover) -> None:
    class Repo:
        @gate.require_approval
        @staticmethod
        def delete(name: str) -> str:
            """Delete a repository."""
            return f"deleted {name}"

    assert Repo.delete("a") == "deleted a"
    assert Repo().delete("b") == "deleted b"
    assert [r.arguments for r in approver.requests] == [{"name": "a"}, {"name": "b"}]
    assert isinstance(inspect.getattr_static(Repo, "delete"), staticmethod)
    assert list(inspect.signature(Repo.delete).parameters) == ["name"]
    assert Repo.delete.__doc__ == "Delete a repository."


def test_gate_below_staticmethod(gate: Gate, approver: ScriptedApprover) -> None:
    class Repo:
        @staticmethod
        @gate.require_approval
        def delete(name: str) -> str:
            return f"deleted {name}"

    assert Repo.delete("a") == "deleted a" and Repo().delete("b") == "deleted b"
    assert len(approver.requests) == 2


def test_gate_above_classmethod(gate: Gate, approver: ScriptedApprover) -> None:
    class Repo:
        prefix = "repo"

        @gate.require_approval
        @classmethod
        def delete(cls, name: str) -> str:
            return f"{cls.prefix}: deleted {name}"

    class Sub(Repo):
        prefix = "sub"

    assert Repo.delete("a") == "repo: deleted a"
    assert Repo().delete("b") == "repo: deleted b"
    assert Sub.delete("c") == "sub: deleted c"
    assert [r.arguments["name"] for r in approver.requests] == ["a", "b", "c"]
    assert approver.requests[2].arguments["cls"] is Sub
    assert not next(p for p in approver.requests[0].parameters if p.name == "cls").editable


def test_gate_below_classmethod(gate: Gate, approver: ScriptedApprover) -> None:
    class Repo:
        @classmethod
        @gate.require_approval
        def delete(cls, name: str) -> str:
            return f"{cls.__name__}: deleted {name}"

    assert Repo.delete("a") == "Repo: deleted a" and Repo().delete("b") == "Repo: deleted b"


def test_plain_and_async_methods(gate: Gate, approver: ScriptedApprover) -> None:
    import asyncio

    class Repo:
        def __init__(self, name: str) -> None:
            self.name = name

        @gate.require_approval
        def delete(self, force: bool = False) -> str:
            return f"deleted {self.name} force={force}"

        @gate.require_approval
        async def adelete(self) -> str:
            return f"deleted {self.name} later"

        @gate.require_approval
        @staticmethod
        async def sweep(days: int) -> str:
            return f"swept {days}"

        @gate.require_approval
        @classmethod
        async def make(cls, name: str) -> Repo:
            return cls(name)

    repo = Repo("x")
    assert repo.delete(force=True) == "deleted x force=True"
    assert asyncio.run(repo.adelete()) == "deleted x later"
    assert asyncio.run(Repo.sweep(3)) == "swept 3" and asyncio.run(repo.sweep(4)) == "swept 4"
    assert asyncio.run(Repo.make("y")).name == "y"
    assert inspect.iscoroutinefunction(Repo.sweep) and inspect.iscoroutinefunction(Repo.make)


@pytest.mark.parametrize("kind", ["property", "cached_property"])
def test_properties_are_refused_at_decoration_with_a_message(gate: Gate, kind: str) -> None:
    make: Any = property if kind == "property" else functools.cached_property
    with pytest.raises(TypeError, match=rf"cannot wrap a {kind} \(.*size\).*Make it a method"):

        class Repo:
            @gate.require_approval
            @make
            def size(self) -> int:
                return 1


def test_property_over_the_gate_gates_the_getter(gate: Gate, approver: ScriptedApprover) -> None:
    class Repo:
        @property
        @gate.require_approval
        def size(self) -> int:
            return 7

    assert Repo().size == 7 and len(approver.requests) == 1


def test_batch_with_static_and_class_methods(approver: ScriptedApprover) -> None:
    batch = Batch(approver=approver)

    class Mailer:
        @batch.require_approval
        @staticmethod
        def send(to: str) -> str:
            return f"sent {to}"

        @batch.require_approval
        @classmethod
        def announce(cls, text: str) -> str:
            return f"{cls.__name__} announced {text}"

    assert Mailer().send("a") == "PENDING_APPROVAL_1"
    assert Mailer.announce("hi") == "PENDING_APPROVAL_2"
    assert batch.review_and_execute() == {1: "sent a", 2: "Mailer announced hi"}


def test_module_level_require_approval_over_staticmethod(approver: ScriptedApprover) -> None:
    from hitl_widget import require_approval

    class Repo:
        @require_approval(approver=approver)
        @staticmethod
        def delete(name: str) -> str:
            return f"deleted {name}"

    assert Repo().delete("z") == "deleted z"
