"""The README's "Agent SDKs" examples run as written, with an offline model in place of the named one."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sdk_tools import FEEDBACK, decisions

from hitl_widget import AuditLog, Gate, Reject, ScriptedApprover

README = Path(__file__).resolve().parents[2] / "README.md"
MODEL_NAME = '"openai:gpt-5.2"'


def sdk_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Agent SDKs", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def run_blocks(setup: str, block: str, namespace: dict[str, Any]) -> None:
    code = setup + "\n" + block.replace(MODEL_NAME, "model")
    if "await " in code:  # top-level await, as in a notebook cell
        code = "async def _cell():\n" + textwrap.indent(code, "    ") + "\n    return locals()\n"
        exec(compile(code, str(README), "exec"), namespace)
        namespace.update(asyncio.run(namespace["_cell"]()))
    else:
        exec(compile(code, str(README), "exec"), namespace)


def namespace_for(tmp_path: Path) -> dict[str, Any]:
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        return f"refunded {amount:g} on {order_id}"

    def delete_user(user_id: int) -> str:
        """Delete a user account permanently."""
        return f"deleted {user_id}"

    approver = ScriptedApprover([Reject(FEEDBACK)])
    return {
        "Gate": lambda **kw: Gate(approver=approver, **kw),
        "AuditLog": lambda path: AuditLog(tmp_path / path),
        "refund": refund,
        "delete_user": delete_user,
        "task": "refund order A-1",
        "approver": approver,
    }


def test_the_section_has_one_example_per_sdk() -> None:
    blocks = sdk_blocks()
    assert "gate.wrap_all(" in blocks[0]
    assert [b.split("\n", 1)[0] for b in blocks[1:]] == [
        "# pip install 'hitl_widget[pydantic-ai]'",
        "# pip install 'hitl_widget[openai-agents]'",
        "# pip install 'hitl_widget[langchain]'",
    ]


def test_pydantic_ai_example(tmp_path: Path) -> None:
    pytest.importorskip("pydantic_ai")
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    def plan(messages: list[Any], info: Any) -> ModelResponse:
        returned = [p for p in messages[-1].parts if isinstance(p, ToolReturnPart)]
        if not returned:
            return ModelResponse(parts=[ToolCallPart("refund", {"order_id": "A-1", "amount": 500})])
        return ModelResponse(parts=[TextPart(str(returned[0].content))])

    ns = namespace_for(tmp_path) | {"model": FunctionModel(plan)}
    blocks = sdk_blocks()
    run_blocks(blocks[0], blocks[1], ns)
    assert FEEDBACK in ns["agent"].run_sync(ns["task"]).output
    assert decisions(tmp_path / "audit.jsonl") == ["rejected"]


def test_openai_agents_example(tmp_path: Path) -> None:
    pytest.importorskip("agents")
    from agents import Agent, set_tracing_disabled

    set_tracing_disabled(True)  # the README's RunConfig leaves tracing on; nothing is exported offline anyway
    from test_openai_agents import PlanModel

    model = PlanModel([("refund", {"order_id": "A-1", "amount": 500})])
    ns = namespace_for(tmp_path)
    blocks = sdk_blocks()
    block = blocks[2].replace('Agent(name="support",', 'Agent(name="support", model=model,')
    assert block != blocks[2]
    run_blocks(blocks[0], block, ns | {"model": model, "Agent": Agent})
    (output,) = model.outputs().values()
    assert FEEDBACK in output
    assert decisions(tmp_path / "audit.jsonl") == ["rejected"]


def test_langchain_example(tmp_path: Path) -> None:
    pytest.importorskip("langchain.agents")
    from test_langchain import plan

    model = plan(("refund", {"order_id": "A-1", "amount": 500}))
    ns = namespace_for(tmp_path) | {"model": model}
    blocks = sdk_blocks()
    run_blocks(blocks[0], blocks[3], ns)
    result = ns["agent"].invoke({"messages": [{"role": "user", "content": ns["task"]}]})
    assert FEEDBACK in result["messages"][-1].content
    assert decisions(tmp_path / "audit.jsonl") == ["rejected"]
