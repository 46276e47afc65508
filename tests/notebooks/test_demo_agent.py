"""notebooks/demo_agent.py: the planner reads results and rejections, the transcript shows it adapting."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("pydantic_ai", reason="the demo agent needs pydantic-ai-slim (the demo extra; make test-integrations)")

from hitl_widget import Approve, AuditLog, Gate, Reject, ScriptedApprover

DEMO_AGENT = Path(__file__).resolve().parents[2] / "notebooks" / "demo_agent.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_agent", DEMO_AGENT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_agent"] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


demo = _load()


def _tools(ran: list[tuple[str, str]], gate: Gate) -> list[Any]:
    async def deploy(env: str, version: str) -> str:
        """Deploy a built version to an environment."""
        ran.append(("deploy", env))
        return f"deployed {version} to {env}"

    def schedule(env: str, version: str, day: str) -> str:
        """Schedule a deploy for a later day."""
        ran.append(("schedule", day))
        return f"scheduled {version} to {env} on {day}"

    prod_only = gate.require_approval(when=lambda call: call.arguments["env"] == "production")
    return [prod_only(deploy), gate.wrap(schedule)]


def _planner(seen: list[list[Any]]) -> Any:
    def planner(history: list[Any]) -> Any:
        seen.append(list(history))
        last = history[-1]
        if last.kind == "task":
            calls = [demo.ToolCall("deploy", {"env": env, "version": "2.3"}) for env in ("staging", "production")]
            return demo.Plan("Staging first, then production.", calls)
        refused = [s for s in history if s.rejected]
        if refused and not any(s.tool == "schedule" for s in history):
            day = "Monday" if "Monday" in refused[0].feedback else "tomorrow"
            return [demo.ToolCall("schedule", {"env": "production", "version": "2.3", "day": day})]
        return "; ".join(s.text for s in history if s.kind == "result")

    return planner


def test_a_rejection_reaches_the_planner_which_changes_its_plan(tmp_path: Path) -> None:
    ran: list[tuple[str, str]] = []
    approver = ScriptedApprover([Reject("freeze until Monday"), Approve()])
    audit = AuditLog(tmp_path / "audit.jsonl")
    gate = Gate(approver=approver, audit=audit)
    seen: list[list[Any]] = []
    agent = demo.make_agent(_tools(ran, gate), _planner(seen))
    lines: list[str] = []
    answer = demo.run_sync(agent, "ship 2.3", echo=lambda line: None, log=lines)

    assert ran == [("deploy", "staging"), ("schedule", "Monday")]  # production never deployed
    assert answer == "deployed 2.3 to staging; scheduled 2.3 to production on Monday"
    # staging needed nobody (when=); production and the schedule were asked
    assert [r.call_text() for r in approver.requests] == [
        "deploy(env='production', version='2.3')",
        "schedule(env='production', version='2.3', day='Monday')",
    ]
    third = seen[1]  # what the planner read after the first turn
    assert [(s.kind, s.tool) for s in third[-2:]] == [("result", "deploy"), ("failed", "deploy")]
    assert third[-1].rejected and third[-1].feedback == "freeze until Monday"
    assert third[-1].args == {"env": "production", "version": "2.3"}
    assert lines[:4] == [
        "task: ship 2.3",
        "model: Staging first, then production.",
        "  → deploy(env='staging', version='2.3')",
        "  → deploy(env='production', version='2.3')",
    ]
    assert "  ← deploy: deployed 2.3 to staging" in lines
    rejected = next(line for line in lines if "REJECTED" in line)
    assert "deploy(env='production', version='2.3') was rejected by a human reviewer: freeze until Monday" in rejected
    # the planner said nothing after the rejection: the model states what it read and what it does instead
    explains = lines[lines.index(rejected) + 1]
    assert explains.startswith("model: deploy(env='production', version='2.3') was refused (freeze until Monday).")
    assert "instead I call schedule(env='production', version='2.3', day='Monday')" in explains
    assert lines[-1] == f"answer: {answer}"
    assert AuditLog.verify(tmp_path / "audit.jsonl")


def test_planner_mistakes_are_clear_errors(tmp_path: Path) -> None:
    gate = Gate(approver=ScriptedApprover([]))
    tools = _tools([], gate)
    with pytest.raises(ValueError, match=r"called \['launch'\], which the agent does not have"):
        demo.run_sync(demo.make_agent(tools, lambda h: [demo.ToolCall("launch")]), "go", echo=lambda line: None)
    with pytest.raises(TypeError, match="a planner returns a Plan"):
        demo.run_sync(demo.make_agent(tools, lambda h: 42), "go", echo=lambda line: None)
    with pytest.raises(RuntimeError, match="without a final answer"):
        loop = demo.make_agent(tools, lambda h: [demo.ToolCall("deploy", {"env": "staging", "version": "1"})])
        demo.run_sync(loop, "go", echo=lambda line: None)


def test_one_line_switches_the_model_and_the_transcript_reads_any_run(tmp_path: Path) -> None:
    from pydantic_ai.models.test import TestModel

    ran: list[tuple[str, str]] = []
    gate = Gate(approver=ScriptedApprover([Approve(), Approve()]))

    def never(history: list[Any]) -> Any:
        raise AssertionError("the planner is not used when a model is given")

    agent = demo.make_agent(_tools(ran, gate), never, model=TestModel())  # as a real LLM would be
    lines: list[str] = []
    demo.run_sync(agent, "ship it", echo=lambda line: None, log=lines)
    assert {name for name, _ in ran} == {"deploy", "schedule"}  # TestModel calls every tool once
    assert lines[0] == "task: ship it" and lines[-1].startswith("answer: ")

    # transcript_of: the same lines from a finished run's messages (e.g. agent.run_sync with a real model)
    def planned() -> Any:
        gate = Gate(approver=ScriptedApprover([Reject("freeze until Monday"), Approve()]))
        return demo.make_agent(_tools([], gate), _planner([]))

    printed: list[str] = []
    demo.run_sync(planned(), "ship 2.3", echo=lambda line: None, log=printed)
    assert any("REJECTED" in line for line in printed)
    assert demo.transcript_of(planned().run_sync("ship 2.3").all_messages()) == printed
