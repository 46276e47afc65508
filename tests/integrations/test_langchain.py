"""LangChain v1 create_agent with an offline chat model: the wrapped tool, the middleware, ToolRuntime passing through."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain.agents", reason="langchain is an optional extra (make test-integrations)")

from langchain.agents import create_agent
from langchain.tools import ToolRuntime, tool
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field
from sdk_tools import FEEDBACK, Ran, by_amount, decisions, gate_with_audit, outcomes, refund_tools, scripted

from hitl_widget import ApprovalRejected, Approve, Edit, InvalidEdit, Reject
from hitl_widget.integrations.langchain import RejectionFeedback


class PlanModel(BaseChatModel):
    """The first turn calls ``calls``; the next one reports the tool messages it read."""

    calls: list[tuple[str, dict[str, Any]]]
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound: list[Any] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "hitl-test-plan"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        self.bound = [convert_to_openai_tool(t) for t in tools]
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        results = self.tool_messages()
        if not results:
            message = AIMessage(
                content="", tool_calls=[{"name": n, "args": a, "id": f"call-{i}"} for i, (n, a) in enumerate(self.calls)]
            )
        else:
            message = AIMessage(content="read: " + " | ".join(str(m.content) for m in results))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def tool_messages(self) -> list[ToolMessage]:
        return [m for m in self.seen[-1] if isinstance(m, ToolMessage)] if self.seen else []


def plan(*calls: tuple[str, dict[str, Any]]) -> PlanModel:
    return PlanModel(calls=list(calls))


def invoke(model: PlanModel, tools: list[Any], *, feedback: bool = True, asynchronous: bool = False, **kwargs: Any) -> Any:
    agent = create_agent(model, tools=tools, middleware=[RejectionFeedback()] if feedback else [], **kwargs.pop("agent", {}))
    state = {"messages": [{"role": "user", "content": "refund it"}]}
    if asynchronous:
        return asyncio.run(agent.ainvoke(state, **kwargs))
    return agent.invoke(state, **kwargs)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_schema_is_the_bare_functions(kind: str, tmp_path: Path) -> None:
    bare = refund_tools(Ran())[kind == "async"]
    gate, _ = gate_with_audit(tmp_path, scripted())
    bound = []
    for fn in (bare, gate.wrap(bare)):
        model = plan()
        invoke(model, [fn])
        bound.append(model.bound)
    assert bound[0] == bound[1]
    (spec,) = bound[1]
    assert spec["function"]["name"] == bare.__name__
    params = spec["function"]["parameters"]
    assert params["required"] == ["order_id"]
    assert params["properties"]["speed"]["enum"] == ["standard", "express"]
    assert tool(gate.wrap(bare)).tool_call_schema.model_json_schema() == tool(bare).tool_call_schema.model_json_schema()


@pytest.mark.parametrize(
    ("kind", "asynchronous"),
    [("sync", False), ("sync", True), ("async", True)],
    ids=["sync-invoke", "sync-ainvoke", "async-ainvoke"],
)
def test_approve_edit_reject_reach_the_model(kind: str, asynchronous: bool, tmp_path: Path) -> None:
    ran = Ran()
    bare = refund_tools(ran)[kind == "async"]
    gate, audit = gate_with_audit(tmp_path, scripted(Approve(), Edit({"amount": "7.5"}), Reject(FEEDBACK)))
    wrapped = gate.wrap(bare)
    seen = []
    for order in ("A-1", "A-2", "A-3"):
        model = plan((bare.__name__, {"order_id": order, "amount": 250}))
        result = invoke(model, [wrapped], asynchronous=asynchronous)
        (message,) = model.tool_messages()
        seen.append((message.status, str(message.content)))
        assert result["messages"][-1].content == f"read: {message.content}"
    assert seen[:2] == [("success", "refunded 250 on A-1"), ("success", "refunded 7.5 on A-2")]
    status, text = seen[2]
    assert status == "error" and FEEDBACK in text and "A-3" in text  # the feedback is the model's next input
    assert [(c[1]["order_id"], c[1]["amount"]) for c in ran.calls] == [("A-1", 250), ("A-2", 7.5)]
    assert decisions(audit) == ["approved", "edited", "rejected"]


def test_without_the_middleware_a_rejection_ends_the_run(tmp_path: Path) -> None:
    refund, _ = refund_tools(Ran())
    gate, _ = gate_with_audit(tmp_path, scripted(Reject(FEEDBACK)))
    model = plan(("refund", {"order_id": "A-1"}))
    with pytest.raises(ApprovalRejected, match="freeze until Monday"):
        invoke(model, [gate.wrap(refund)], feedback=False)
    assert len(model.seen) == 1


def test_other_exceptions_still_propagate(tmp_path: Path) -> None:
    def broken(order_id: str) -> str:
        """Always fails."""
        raise ValueError("ledger is down")

    gate, audit = gate_with_audit(tmp_path, scripted(Approve()))
    with pytest.raises(ValueError, match="ledger is down"):
        invoke(plan(("broken", {"order_id": "A-1"})), [gate.wrap(broken)])
    assert decisions(audit) == ["approved"] and outcomes(audit) == ["raised"]


def test_sync_tool_and_its_approval_run_in_langchains_worker_thread(tmp_path: Path) -> None:
    ran = Ran()
    refund, _ = refund_tools(ran)
    approver_threads: list[str] = []

    def approve(request: Any) -> Approve:
        approver_threads.append(threading.current_thread().name)
        return Approve()

    gate, audit = gate_with_audit(tmp_path, scripted(approve))
    result = invoke(plan(("refund", {"order_id": "A-1"})), [gate.wrap(refund)], asynchronous=True)
    assert result["messages"][-1].content == "read: refunded 10 on A-1"
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
    model = plan(*[(bare.__name__, {"order_id": o, "amount": a}) for o, a in amounts.items()])
    invoke(model, [gate.wrap(bare)], asynchronous=kind == "async")
    results = {m.tool_call_id: (m.status, str(m.content)) for m in model.tool_messages()}
    assert results["call-0"] == ("success", "refunded 20 on A-1")
    assert results["call-2"] == ("success", "refunded 80 on A-3")
    assert results["call-1"][0] == "error" and f"A-2: {FEEDBACK}" in results["call-1"][1]
    assert sorted(c[1]["order_id"] for c in ran.calls) == ["A-1", "A-3"]
    assert sorted(decisions(audit)) == ["approved", "approved", "rejected"]


@dataclass
class Deps:
    lock: Any = field(default_factory=threading.Lock)  # cannot be deep-copied


def test_tool_runtime_passes_through_and_is_not_editable(tmp_path: Path) -> None:
    received: list[Any] = []

    def refund_for(order_id: str, runtime: ToolRuntime[Deps], amount: float = 10.0) -> str:
        """Refund an order of the current customer."""
        received.append(runtime)
        return f"refunded {amount:g} on {order_id}"

    asked: list[Any] = []
    edit_of_runtime: list[Any] = []

    def approver(request: Any) -> Any:
        asked.append(request)
        if len(asked) == 1:
            try:
                edit_of_runtime.append(request.apply_edit({"runtime": "something else"}))
            except InvalidEdit as exc:
                edit_of_runtime.append(exc)
            return Edit({"amount": 3})
        return Reject(FEEDBACK)

    gate, audit = gate_with_audit(tmp_path, approver)
    wrapped = gate.wrap(refund_for)
    assert tool(wrapped).tool_call_schema.model_json_schema() == tool(refund_for).tool_call_schema.model_json_schema()
    assert "runtime" not in tool(wrapped).tool_call_schema.model_json_schema()["properties"]
    deps = Deps()
    model = plan(("refund_for", {"order_id": "A-1"}))
    invoke(model, [wrapped], agent={"context_schema": Deps}, context=deps)
    assert [str(m.content) for m in model.tool_messages()] == ["refunded 3 on A-1"]
    (runtime,) = received
    assert isinstance(runtime, ToolRuntime) and runtime.context is deps and runtime.tool_call_id == "call-0"
    assert asked[0].arguments["runtime"] is runtime
    params = {p.name: p for p in asked[0].parameters}
    assert params["runtime"].injected is True and params["amount"].injected is False
    assert params["runtime"].editable is False and params["amount"].editable is True
    assert isinstance(edit_of_runtime[0], InvalidEdit)

    model = plan(("refund_for", {"order_id": "A-2"}))
    invoke(model, [wrapped], agent={"context_schema": Deps}, context=deps)
    (message,) = model.tool_messages()
    assert FEEDBACK in str(message.content) and "ToolRuntime(" not in str(message.content)
    assert decisions(audit) == ["edited", "rejected"]
