"""openai-agents with a small offline Model: the wrapped tool, the error formatters, ToolContext passing through."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents", reason="openai-agents is an optional extra (make test-integrations)")

from agents import Agent, FunctionTool, RunConfig, RunContextWrapper, Runner, function_tool
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.testing import assistant_message, function_call
from agents.tool_context import ToolContext
from agents.usage import Usage
from sdk_tools import FEEDBACK, Ran, by_amount, decisions, gate_with_audit, outcomes, refund_tools, scripted

from hitl_widget import Approve, Edit, InvalidEdit, Reject
from hitl_widget.integrations.openai_agents import failure_error_function, tool_error_formatter

DEFAULT_MESSAGE = "An error occurred while running the tool. Please try again."


class PlanModel(Model):
    """Reusable (unlike agents.testing.ScriptedModel): the first turn calls ``calls``; the next reports the tool outputs."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self.calls = calls
        self.inputs: list[list[Any]] = []
        self.tools: list[Any] = []

    async def get_response(
        self, system_instructions: Any, input: Any, model_settings: Any, tools: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        self.inputs.append(items)
        self.tools = list(tools)
        if not self.outputs():
            output = [function_call(name, args, call_id=f"call-{i}") for i, (name, args) in enumerate(self.calls)]
        else:
            output = [assistant_message("read: " + " | ".join(self.outputs().values()))]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("these tests do not stream")

    def outputs(self) -> dict[str, str]:
        """call id -> the tool output text in the latest input the model received."""
        return {
            item["call_id"]: str(item["output"])
            for item in self.inputs[-1]
            if isinstance(item, dict) and item.get("type") == "function_call_output"
        }


def run(agent: Agent[Any], *, formatter: bool = True, context: Any = None) -> Any:
    config = RunConfig(tracing_disabled=True, tool_error_formatter=tool_error_formatter if formatter else None)
    return asyncio.run(Runner.run(agent, "refund it", run_config=config, context=context))


def full_args(order_id: str, amount: float) -> dict[str, Any]:
    return {"order_id": order_id, "amount": amount, "note": None, "speed": "standard"}  # strict schema: all present


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_schema_is_the_bare_functions(kind: str, tmp_path: Path) -> None:
    bare = refund_tools(Ran())[kind == "async"]
    gate, _ = gate_with_audit(tmp_path, scripted())
    bare_tool, wrapped_tool = function_tool(bare), function_tool(gate.wrap(bare))
    assert isinstance(wrapped_tool, FunctionTool)
    assert (wrapped_tool.name, wrapped_tool.description) == (bare_tool.name, bare_tool.description)
    assert wrapped_tool.params_json_schema == bare_tool.params_json_schema
    schema = wrapped_tool.params_json_schema
    assert list(schema["properties"]) == ["order_id", "amount", "note", "speed"]
    assert schema["properties"]["speed"]["enum"] == ["standard", "express"]
    assert schema["properties"]["amount"]["default"] == 10.0


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("hook", ["run-level tool_error_formatter", "per-tool failure_error_function"])
def test_approve_edit_reject_reach_the_model(kind: str, hook: str, tmp_path: Path) -> None:
    ran = Ran()
    bare = refund_tools(ran)[kind == "async"]
    gate, audit = gate_with_audit(tmp_path, scripted(Approve(), Edit({"amount": "7.5"}), Reject(FEEDBACK)))
    per_tool = hook.startswith("per-tool")
    tool = (
        function_tool(gate.wrap(bare), failure_error_function=failure_error_function)
        if per_tool
        else function_tool(gate.wrap(bare))
    )
    seen = []
    for order in ("A-1", "A-2", "A-3"):
        model = PlanModel([(bare.__name__, full_args(order, 250))])
        result = run(Agent(name="support", model=model, tools=[tool]), formatter=not per_tool)
        (output,) = model.outputs().values()
        seen.append(output)
        assert result.final_output == f"read: {output}"
    assert seen[:2] == ["refunded 250 on A-1", "refunded 7.5 on A-2"]
    assert FEEDBACK in seen[2] and "A-3" in seen[2]  # the reviewer's words are the model's next input
    assert [(c[1]["order_id"], c[1]["amount"]) for c in ran.calls] == [("A-1", 250), ("A-2", 7.5)]
    assert decisions(audit) == ["approved", "edited", "rejected"]


def test_without_a_hook_the_model_gets_the_sdks_generic_message(tmp_path: Path) -> None:
    refund, _ = refund_tools(Ran())
    gate, _ = gate_with_audit(tmp_path, scripted(Reject(FEEDBACK)))
    model = PlanModel([("refund", full_args("A-1", 250))])
    run(Agent(name="support", model=model, tools=[function_tool(gate.wrap(refund))]), formatter=False)
    assert list(model.outputs().values()) == [DEFAULT_MESSAGE]


@pytest.mark.parametrize("per_tool", [False, True])
def test_other_exceptions_keep_the_sdks_default_message(per_tool: bool, tmp_path: Path) -> None:
    def broken(order_id: str) -> str:
        """Always fails."""
        raise ValueError("ledger is down: secret internals")

    gate, audit = gate_with_audit(tmp_path, scripted(Approve()))
    extra = {"failure_error_function": failure_error_function} if per_tool else {}
    model = PlanModel([("broken", {"order_id": "A-1"})])
    run(Agent(name="support", model=model, tools=[function_tool(gate.wrap(broken), **extra)]), formatter=not per_tool)
    assert list(model.outputs().values()) == [DEFAULT_MESSAGE]
    assert decisions(audit) == ["approved"] and outcomes(audit) == ["raised"]


def test_sync_tool_and_its_approval_run_in_the_sdks_worker_thread(tmp_path: Path) -> None:
    ran = Ran()
    refund, _ = refund_tools(ran)
    approver_threads: list[str] = []

    def approve(request: Any) -> Approve:
        approver_threads.append(threading.current_thread().name)
        return Approve()

    gate, audit = gate_with_audit(tmp_path, scripted(approve))
    model = PlanModel([("refund", full_args("A-1", 10))])
    assert (
        run(Agent(name="support", model=model, tools=[function_tool(gate.wrap(refund))])).final_output
        == "read: refunded 10 on A-1"
    )
    assert ran.threads == approver_threads and ran.threads[0] != threading.main_thread().name
    assert decisions(audit) == ["approved"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_parallel_calls_are_decided_each_on_its_own_arguments(kind: str, tmp_path: Path) -> None:
    ran = Ran()
    bare = refund_tools(ran)[kind == "async"]
    decide = by_amount(100)
    if kind == "sync":  # three worker threads asking at once, or the barrier breaks
        barrier = threading.Barrier(3, timeout=10)

        def approver(request: Any) -> Any:
            barrier.wait()
            return decide(request)
    else:
        abarrier = asyncio.Barrier(3)

        async def approver(request: Any) -> Any:
            await asyncio.wait_for(abarrier.wait(), 10)
            return decide(request)

    gate, audit = gate_with_audit(tmp_path, approver)
    amounts = {"A-1": 20, "A-2": 500, "A-3": 80}
    model = PlanModel([(bare.__name__, full_args(o, a)) for o, a in amounts.items()])
    run(Agent(name="support", model=model, tools=[function_tool(gate.wrap(bare))]))
    outputs = model.outputs()
    assert outputs["call-0"] == "refunded 20 on A-1" and outputs["call-2"] == "refunded 80 on A-3"
    assert f"A-2: {FEEDBACK}" in outputs["call-1"]
    assert sorted(c[1]["order_id"] for c in ran.calls) == ["A-1", "A-3"]
    assert sorted(decisions(audit)) == ["approved", "approved", "rejected"]


@dataclass
class Deps:
    lock: Any = field(default_factory=threading.Lock)  # cannot be deep-copied


@pytest.mark.parametrize("annotation", ["RunContextWrapper", "ToolContext"])
def test_tool_context_passes_through_and_is_not_editable(annotation: str, tmp_path: Path) -> None:
    received: list[Any] = []

    def refund_for(ctx: RunContextWrapper[Deps], order_id: str, amount: float = 10.0) -> str:
        """Refund an order of the current customer."""
        received.append(ctx)
        return f"refunded {amount:g} on {order_id}"

    if annotation == "ToolContext":
        refund_for.__annotations__["ctx"] = ToolContext[Deps]

    asked: list[Any] = []
    edit_of_ctx: list[Any] = []

    def approver(request: Any) -> Any:
        asked.append(request)
        if len(asked) == 1:
            try:
                edit_of_ctx.append(request.apply_edit({"ctx": "something else"}))
            except InvalidEdit as exc:
                edit_of_ctx.append(exc)
            return Edit({"amount": 3})
        return Reject(FEEDBACK)

    gate, audit = gate_with_audit(tmp_path, approver)
    tool = function_tool(gate.wrap(refund_for))
    assert tool.params_json_schema == function_tool(refund_for).params_json_schema
    assert "ctx" not in tool.params_json_schema["properties"]
    deps = Deps()
    model = PlanModel([("refund_for", {"order_id": "A-1", "amount": 10})])
    run(Agent(name="support", model=model, tools=[tool]), context=deps)
    assert list(model.outputs().values()) == ["refunded 3 on A-1"]
    (ctx,) = received
    assert isinstance(ctx, ToolContext) and ctx.context is deps and ctx.tool_name == "refund_for"
    assert json.loads(ctx.tool_arguments) == {"order_id": "A-1", "amount": 10}
    assert asked[0].arguments["ctx"] is ctx
    params = {p.name: p for p in asked[0].parameters}
    assert params["ctx"].injected is True and params["amount"].injected is False
    assert params["ctx"].editable is False and params["amount"].editable is True
    assert isinstance(edit_of_ctx[0], InvalidEdit)

    model = PlanModel([("refund_for", {"order_id": "A-2", "amount": 10})])
    run(Agent(name="support", model=model, tools=[tool]), context=deps)
    (text,) = model.outputs().values()
    assert FEEDBACK in text and "ToolContext(" not in text  # the model reads the call, not the SDK's context
    assert decisions(audit) == ["edited", "rejected"]
