"""Wrapping a function whose ``__name__`` is not a Python identifier (MCP/SDK tool names).

makefun generates ``def <name>(...)``; a name such as ``"read-file"`` used to raise SyntaxError.
The stand-in is generated under a safe identifier and keeps the original names.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest

from hitl_widget import Approve, Gate, ScriptedApprover

NAMES = ["read-file", "create issue", "github.create_issue", "1st", "class", "None", "créer", "ﬁle", "名前", "a\nb"]


@pytest.mark.parametrize("name", NAMES)
def test_sync_tool_with_a_non_identifier_name_runs_and_keeps_its_name(name: str) -> None:
    ran: list[str] = []

    def tool(mode: str) -> str:
        ran.append(mode)
        return mode

    tool.__name__ = name
    tool.__qualname__ = f"ns.{name}"
    approver = ScriptedApprover([Approve()])
    wrapped = Gate(approver=approver).wrap(tool)
    assert wrapped("x") == "x"
    assert ran == ["x"]
    assert wrapped.__name__ == name
    assert wrapped.__qualname__ == f"ns.{name}"
    assert approver.requests[0].function == name
    assert list(inspect.signature(wrapped).parameters) == ["mode"]


@pytest.mark.parametrize("name", ["read-file", "github.create_issue", "def"])
def test_async_tool_with_a_non_identifier_name_runs(name: str) -> None:
    async def tool(n: int) -> int:
        return n + 1

    tool.__name__ = name
    approver = ScriptedApprover([Approve()])
    wrapped = Gate(approver=approver).wrap(tool)
    assert inspect.iscoroutinefunction(wrapped)
    assert asyncio.run(wrapped(1)) == 2
    assert wrapped.__name__ == name
    assert approver.requests[0].function == name


def test_an_empty_name_does_not_crash() -> None:
    def tool() -> str:
        return "ok"

    tool.__name__ = ""
    wrapped = Gate(approver=ScriptedApprover([Approve()])).wrap(tool)
    assert wrapped() == "ok"
