"""pydantic-ai with its offline FunctionModel: the wrapped tool, RejectionFeedback, RunContext passing through."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pydantic_ai", reason="pydantic-ai is an optional extra (make test-integrations)")

from pydantic_ai import Agent, RunContext, Tool
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from sdk_tools import FEEDBACK, Ran, by_amount, decisions, gate_with_audit, outcomes, refund_tools, scripted

from hitl_widget import ApprovalRejected, Approve, Edit, InvalidEdit, Reject
from hitl_widget.integrations.pydantic_ai import RejectionFeedback


@dataclass
class ScriptedModel:
    """A FunctionModel's function: the first turn calls the tools in ``calls``; the next one reports what it read."""

    calls: list[tuple[str, dict[str, Any]]]
    requests: list[list[ModelMessage]] = field(default_factory=list)
    tools: list[Any] = field(default_factory=list)

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.requests.append(list(messages))
        self.tools = info.function_tools
        if len(messages) == 1:
            return ModelResponse(
                parts=[ToolCallPart(name, args, tool_call_id=f"call-{i}") for i, (name, args) in enumerate(self.calls)]
            )
        return ModelResponse(parts=[TextPart("read: " + " | ".join(str(p.content) for p in self.returns()))])

    def returns(self) -> list[ToolReturnPart]:
        """The tool results in the last request the model received."""
        last = self.requests[-1][-1]
        assert isinstance(last, ModelRequest)
        return [p for p in last.parts if isinstance(p, ToolReturnPart)]


def agent_for(model: ScriptedModel, tools: list[Any], feedback: bool = True) -> Agent[Any, str]:
    return Agent(FunctionModel(model), tools=tools, capabilities=[RejectionFeedback()] if feedback else [])


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_schema_is_the_bare_functions(kind: str, tmp_path: Path) -> None:
    ran = Ran()
    bare = refund_tools(ran)[kind == "async"]
    gate, _ = gate_with_audit(tmp_path, scripted())
    schemas = []
    for fn in (bare, gate.wrap(bare)):
        model = ScriptedModel([])
        agent_for(model, [fn]).run_sync("hello")
        (tool,) = model.tools
        schemas.append((tool.name, tool.description, tool.parameters_json_schema))
    assert schemas[0] == schemas[1]
    name, description, schema = schemas[1]
    assert name == bare.__name__ and description == "Refund an order to the customer's card."
    assert schema["required"] == ["order_id"]
    assert schema["properties"]["speed"] == {"default": "standard", "enum": ["standard", "express"], "type": "string"}
    assert schema["properties"]["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_approve_edit_reject_reach_the_model(kind: str, tmp_path: Path) -> None:
    ran = Ran()
    bare = refund_tools(ran)[kind == "async"]
    name = bare.__name__
    gate, audit = gate_with_audit(tmp_path, scripted(Approve(), Edit({"amount": "7.5"}), Reject(FEEDBACK)))
    tool = gate.wrap(bare)
    seen = []
    for order in ("A-1", "A-2", "A-3"):
        model = ScriptedModel([(name, {"order_id": order, "amount": 250})])
        result = agent_for(model, [tool]).run_sync("refund it")
        (returned,) = model.returns()
        seen.append((returned.outcome, str(returned.content)))
        assert result.output.startswith("read: ")
    assert seen[0] == ("success", "refunded 250 on A-1")
    assert seen[1] == ("success", "refunded 7.5 on A-2")  # the edited amount, converted to float
    outcome, text = seen[2]
    assert outcome == "failed" and FEEDBACK in text and "A-3" in text  # the feedback is the model's next input
    assert [(c[1]["order_id"], c[1]["amount"]) for c in ran.calls] == [("A-1", 250), ("A-2", 7.5)]
    assert decisions(audit) == ["approved", "edited", "rejected"]
    assert outcomes(audit) == ["returned", "returned"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_without_the_capability_a_rejection_ends_the_run(kind: str, tmp_path: Path) -> None:
    ran = Ran()
    bare = refund_tools(ran)[kind == "async"]
    gate, _ = gate_with_audit(tmp_path, scripted(Reject(FEEDBACK)))
    model = ScriptedModel([(bare.__name__, {"order_id": "A-1"})])
    with pytest.raises(ApprovalRejected, match="freeze until Monday"):
        agent_for(model, [gate.wrap(bare)], feedback=False).run_sync("refund it")
    assert len(model.requests) == 1  # the model never heard about it


def test_other_exceptions_keep_pydantic_ais_behaviour(tmp_path: Path) -> None:
    def broken(order_id: str) -> str:
        """Always fails."""
        raise ValueError("ledger is down")

    gate, audit = gate_with_audit(tmp_path, scripted(Approve()))
    model = ScriptedModel([("broken", {"order_id": "A-1"})])
    with pytest.raises(ValueError, match="ledger is down"):
        agent_for(model, [gate.wrap(broken)]).run_sync("go")
    assert decisions(audit) == ["approved"] and outcomes(audit) == ["raised"]


def test_sync_tool_and_its_approval_run_in_pydantic_ais_worker_thread(tmp_path: Path) -> None:
    ran = Ran()
    refund, _ = refund_tools(ran)
    approver_threads: list[str] = []

    def approve(request: Any) -> Approve:
        approver_threads.append(threading.current_thread().name)
        return Approve()

    gate, audit = gate_with_audit(tmp_path, scripted(approve))
    model = ScriptedModel([("refund", {"order_id": "A-1"})])

    async def main() -> str:  # the agent awaited on the main thread, as in a notebook cell
        return (await agent_for(model, [gate.wrap(refund)]).run("go")).output

    assert asyncio.run(main()) == "read: refunded 10 on A-1"
    assert ran.threads == approver_threads
    assert ran.threads[0] != threading.main_thread().name
    assert decisions(audit) == ["approved"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_parallel_calls_are_decided_each_on_its_own_arguments(kind: str, tmp_path: Path) -> None:
    ran = Ran()
    bare = refund_tools(ran)[kind == "async"]
    decide = by_amount(100)
    if kind == "sync":  # three worker threads must be asking at the same time, or the barrier breaks
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
    model = ScriptedModel([(bare.__name__, {"order_id": o, "amount": a}) for o, a in amounts.items()])
    agent_for(model, [gate.wrap(bare)]).run_sync("refund them")
    results = {p.tool_call_id: (p.outcome, str(p.content)) for p in model.returns()}
    assert results["call-0"] == ("success", "refunded 20 on A-1")
    assert results["call-2"] == ("success", "refunded 80 on A-3")
    assert results["call-1"][0] == "failed" and f"A-2: {FEEDBACK}" in results["call-1"][1]
    assert sorted(c[1]["order_id"] for c in ran.calls) == ["A-1", "A-3"]
    assert sorted(decisions(audit)) == ["approved", "approved", "rejected"]


@dataclass
class Deps:
    lock: Any = field(default_factory=threading.Lock)  # cannot be deep-copied


def test_run_context_passes_through_and_is_not_editable(tmp_path: Path) -> None:
    received: list[RunContext[Deps]] = []

    def refund_for(ctx: RunContext[Deps], order_id: str, amount: float = 10.0) -> str:
        """Refund an order of the current customer."""
        received.append(ctx)
        return f"refunded {amount:g} on {order_id}"

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
    wrapped = gate.wrap(refund_for)
    deps = Deps()
    m = ScriptedModel([("refund_for", {"order_id": "A-1"})])
    Agent(FunctionModel(m), deps_type=Deps, tools=[wrapped], capabilities=[RejectionFeedback()]).run_sync("go", deps=deps)
    assert str(m.returns()[0].content) == "refunded 3 on A-1"
    (ctx,) = received
    assert isinstance(ctx, RunContext) and ctx.deps is deps  # untouched: the very objects pydantic-ai passed
    assert asked[0].arguments["ctx"] is ctx
    assert "ctx" not in m.tools[0].parameters_json_schema["properties"]  # pydantic-ai still sees a context tool
    params = {p.name: p for p in asked[0].parameters}
    assert params["ctx"].injected is True and params["amount"].injected is False
    assert params["ctx"].editable is False and params["amount"].editable is True
    assert isinstance(edit_of_ctx[0], InvalidEdit)

    m2 = ScriptedModel([("refund_for", {"order_id": "A-2"})])
    Agent(FunctionModel(m2), deps_type=Deps, tools=[wrapped], capabilities=[RejectionFeedback()]).run_sync("go", deps=deps)
    text = str(m2.returns()[0].content)
    assert FEEDBACK in text and "RunContext(" not in text  # the model reads the call, not pydantic-ai's context
    assert decisions(audit) == ["edited", "rejected"]


def test_tool_objects_built_from_the_stand_in_work_too(tmp_path: Path) -> None:
    ran = Ran()
    refund, _ = refund_tools(ran)
    gate, audit = gate_with_audit(tmp_path, scripted(Reject(FEEDBACK)))
    model = ScriptedModel([("refund", {"order_id": "A-1"})])
    agent_for(model, [Tool(gate.wrap(refund), max_retries=0)]).run_sync("go")
    assert FEEDBACK in str(model.returns()[0].content) and ran.calls == []
    assert decisions(audit) == ["rejected"]
