"""Without any SDK: Gate.wrap_all, what Agentica reads from the stand-in (its own __code__ and annotations),
and the ImportError each integration module gives when its SDK is missing."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import typing
from pathlib import Path
from typing import Any, Literal, Optional

import pytest
from sdk_tools import FEEDBACK, Ran, decisions, gate_with_audit, refund_tools, scripted

from hitl_widget import ApprovalRejected, Approve, Gate, Reject


def transfer(
    source: str, target: str, /, amount: float, *memo: str, currency: Literal["EUR", "USD"] = "EUR", **tags: int
) -> dict[str, Any]:
    """Move money between two accounts."""
    return {"source": source, "target": target, "amount": amount, "memo": memo, "currency": currency, "tags": tags}


async def archive(user_id: int, reason: Optional[str] = None, *, notify: bool = True) -> str:  # noqa: UP045
    """Archive a user instead of deleting them."""
    return f"archived {user_id}"


def code_view(fn: Any) -> dict[str, Any]:
    """What a tool that reads a function's own ``__code__`` (Agentica does) learns from it."""
    code = fn.__code__
    n = code.co_argcount + code.co_kwonlyargcount
    n += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return {
        "names": code.co_varnames[:n],
        "argcount": code.co_argcount,
        "posonly": code.co_posonlyargcount,
        "kwonly": code.co_kwonlyargcount,
        "varargs": bool(code.co_flags & inspect.CO_VARARGS),
        "varkw": bool(code.co_flags & inspect.CO_VARKEYWORDS),
        "coroutine": bool(code.co_flags & inspect.CO_COROUTINE),
        "defaults": fn.__defaults__,
        "kwdefaults": fn.__kwdefaults__,
        "name": (fn.__name__, fn.__qualname__, fn.__module__, fn.__doc__),
    }


@pytest.mark.parametrize("fn", [transfer, archive], ids=["sync-all-kinds", "async-kw-only"])
def test_agentica_sees_the_real_parameters_in_the_stand_ins_own_code(fn: Any, tmp_path: Path) -> None:
    gate, _ = gate_with_audit(tmp_path, scripted())
    wrapped = gate.wrap(fn)
    assert code_view(wrapped) == code_view(fn)
    assert code_view(wrapped)["names"] != ("args", "kwargs")  # what a plain functools.wraps wrapper would show
    # resolved annotations on the stand-in itself (this module uses postponed annotations: strings on the original)
    assert wrapped.__annotations__ == typing.get_type_hints(fn)
    assert wrapped.__annotations__["return"] == (dict[str, Any] if fn is transfer else str)
    assert inspect.signature(wrapped) == inspect.signature(fn)
    assert inspect.iscoroutinefunction(wrapped) is inspect.iscoroutinefunction(fn)


def test_the_stand_in_called_as_agentica_calls_it(tmp_path: Path) -> None:
    gate, audit = gate_with_audit(tmp_path, scripted(Approve(), Reject(FEEDBACK)))
    wrapped = gate.wrap(transfer)
    assert wrapped("A", "B", 5.0, "rent", currency="USD", day=3) == transfer("A", "B", 5.0, "rent", currency="USD", day=3)
    with pytest.raises(ApprovalRejected) as info:
        wrapped("A", "B", 500.0)
    assert FEEDBACK in str(info.value) and "transfer(" in str(info.value)  # what the agent's code reads
    assert decisions(audit) == ["approved", "rejected"]


def test_wrap_all_wraps_each_tool_with_the_same_options(tmp_path: Path) -> None:
    ran = Ran()
    refund, refund_async = refund_tools(ran)
    approver = scripted(default=Approve())
    gate, audit = gate_with_audit(tmp_path, approver)
    tools = gate.wrap_all([refund, refund_async, archive], risk="high", context={"agent": "support"})
    assert [t.__name__ for t in tools] == ["refund", "refund_async", "archive"]
    assert [inspect.iscoroutinefunction(t) for t in tools] == [False, True, True]
    assert tools[0]("A-1") == "refunded 10 on A-1"
    assert asyncio_run(tools[1]("A-2", 5)) == "refunded 5 on A-2"
    assert asyncio_run(tools[2](7)) == "archived 7"
    assert [(r.function, r.risk, r.context) for r in approver.requests] == [
        ("refund", "high", {"agent": "support"}),
        ("refund_async", "high", {"agent": "support"}),
        ("archive", "high", {"agent": "support"}),
    ]
    assert decisions(audit) == ["approved"] * 3


def test_wrap_all_keeps_stand_ins_and_refuses_tool_objects(tmp_path: Path) -> None:
    ran = Ran()
    refund, _ = refund_tools(ran)
    approver = scripted(default=Approve())
    gate = Gate(approver=approver)
    own = gate.wrap(archive, risk="critical")
    tools = gate.wrap_all([refund, own], risk="low")
    assert tools[1] is own  # not wrapped twice: one question per call, with its own options
    assert asyncio_run(tools[1](1)) == "archived 1"
    assert [r.risk for r in approver.requests] == ["critical"]
    assert gate.wrap_all([]) == []

    class ToolObject:  # like an SDK's FunctionTool / BaseTool: not callable
        name = "refund"

    with pytest.raises(TypeError, match=r"item 1 is a ToolObject.*wrap the function itself"):
        gate.wrap_all([refund, ToolObject()])  # type: ignore[list-item]


def asyncio_run(awaitable: Any) -> Any:
    return asyncio.run(awaitable)


@pytest.mark.parametrize(
    ("module", "sdk", "extra"),
    [
        ("pydantic_ai", "pydantic_ai", "pydantic-ai"),
        ("openai_agents", "agents", "openai-agents"),
        ("langchain", "langchain", "langchain"),
    ],
)
def test_an_integration_without_its_sdk_names_the_extra(
    module: str, sdk: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"hitl_widget.integrations.{module}"
    monkeypatch.delitem(sys.modules, name, raising=False)
    for loaded in [m for m in sys.modules if m == sdk or m.startswith(sdk + ".")] or [sdk]:
        monkeypatch.setitem(sys.modules, loaded, None)  # as if not installed: importing it raises ImportError
    with pytest.raises(ImportError, match=rf"pip install 'hitl_widget\[{extra}\]'"):
        importlib.import_module(name)
    importlib.import_module("hitl_widget.integrations")  # the package itself never needs an SDK


def test_a_rejection_names_the_call_without_the_sdks_context(tmp_path: Path) -> None:
    # the annotation cannot be resolved here (no SDK installed is needed): matched by the SDK class's name
    def refund_for(ctx: RunContext[Deps], order_id: str, amount: float = 10.0) -> str:  # type: ignore[name-defined]  # noqa: F821
        """Refund an order of the current customer."""
        return "refunded"

    gate, audit = gate_with_audit(tmp_path, scripted(Reject(FEEDBACK)))
    with pytest.raises(ApprovalRejected) as info:
        gate.wrap(refund_for)(object(), "A-7", amount=3)
    assert str(info.value).startswith("refund_for(order_id='A-7', amount=3) was rejected")
    assert decisions(audit) == ["rejected"]
