"""A small deterministic agent for the example notebooks: a real pydantic-ai ``Agent`` whose "model" is a planner.

The notebooks run without an API key: the model is pydantic-ai's offline ``FunctionModel``,
driven by a *planner* you write in a few lines. The planner is shown everything a model
would read (the task, every tool result, every rejection message) and answers with the tool
calls to make next, or with the final answer. Everything else is the real SDK: the tool
schemas, the tool-call loop, and hitl_widget's gate in front of every tool::

    from demo_agent import Plan, ToolCall, make_agent, run

    def planner(history: list[Step]) -> Plan | list[ToolCall] | str:
        if not history[-1].kind == "task":
            return "done: " + history[-1].text          # the final answer
        return Plan("I will deploy to staging first.", [ToolCall("deploy", {"env": "staging"})])

    agent = make_agent([deploy], planner)
    answer = await run(agent, "ship v2.3")             # prints the transcript, returns the answer

One line switches to a real LLM (the planner is then not used; the model plans itself)::

    agent = make_agent([deploy], planner, model="openai:gpt-5.2")   # needs OPENAI_API_KEY

``run`` is a coroutine: ``await`` it in a notebook cell. That works in ipykernel (sync tools
run in pydantic-ai's worker threads and their cards wait there; async tools' cards are awaited)
and in the JupyterLite (Pyodide) kernel, which has no threads: pydantic-ai runs sync tools
inline there, so give the agent ``async def`` tools in notebooks meant for Lite and the card
is awaited on the browser's event loop. From plain Python (no event loop running) use
``run_sync``.

A rejection reaches the planner as a ``"failed"`` step whose text is the ``ApprovalRejected``
message (the call and the reviewer's feedback), through hitl_widget's ``RejectionFeedback``
capability. The transcript then shows what the model says it will do differently: the
planner's own words (``Plan.say``), or, when a planner says nothing, a sentence naming the
feedback it read.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic_ai import Agent
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from hitl_widget.integrations.pydantic_ai import RejectionFeedback

__all__ = ["INSTRUCTIONS", "Plan", "Planner", "Step", "ToolCall", "make_agent", "run", "run_sync", "transcript_of"]

INSTRUCTIONS = (
    "You are an agent whose tool calls are reviewed by a person before they run. "
    "Before calling tools, say in one sentence what you are about to do. "
    "When a call is rejected, the tool result is the reviewer's message: read it, say what you will do "
    "differently, and never repeat the rejected call unchanged."
)
"""The instructions every agent made here gets (a real LLM reads them; the planner has its own rules)."""

#: the most model turns one run may take (a planner that never answers is stopped with an error)
MAX_TURNS = 25


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model makes: the tool's name and its arguments (JSON-like values)."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """``deploy(env='staging', version='2.3')``: how the transcript shows the call."""
        return f"{self.tool}({', '.join(f'{k}={v!r}' for k, v in self.args.items())})"


@dataclass(frozen=True)
class Plan:
    """What the model says (``say``: its stated plan, or what it will do differently) and the calls it makes.

    With no ``calls``, ``say`` is the final answer.
    """

    say: str
    calls: Sequence[ToolCall] = ()


StepKind = Literal["task", "said", "call", "result", "failed", "retry"]


@dataclass(frozen=True)
class Step:
    """One thing in the conversation so far, oldest first.

    - ``task``: the person's task (``text``).
    - ``said``: what the model said in an earlier turn (``text``).
    - ``call``: a tool call the model made (``tool``, ``args``).
    - ``result``: a tool's result (``text``: its return value as the model reads it; ``tool``, ``args``: the call).
    - ``failed``: a call that did not run: ``text`` is the message the model reads, for a rejection
      the ``ApprovalRejected`` message with the reviewer's feedback (``rejected`` is then True).
    - ``retry``: pydantic-ai asks to call again (invalid arguments, ``ModelRetry``): ``text`` says why.
    """

    kind: StepKind
    text: str = ""
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        """True for a call a person (or the gate, failing closed) refused: the function did not run."""
        return self.kind == "failed" and ("rejected" in self.text or "was not run" in self.text or "timed out" in self.text)

    @property
    def feedback(self) -> str:
        """A rejection's feedback: what the reviewer wrote (the whole message when it has no feedback part)."""
        for pattern in _FEEDBACK:
            found = pattern.search(self.text)
            if found:
                return found.group(1).strip()
        return self.text


#: "<call> was rejected by a human reviewer (alice): <feedback>", "<call> was <why>; it did not run."
_FEEDBACK = [
    re.compile(r"was rejected by (?:a human reviewer|[^:]*?)(?: \([^)]*\))?: (.*)\Z", re.DOTALL),
    re.compile(r"\) was (.*?); it did not run\.\Z", re.DOTALL),
]

Planner = Callable[[list[Step]], "Plan | list[ToolCall] | str"]
"""``planner(history) -> Plan | list[ToolCall] | str``: the calls to make next, or the final answer."""


# -- the offline model --------------------------------------------------------------------


def history_of(messages: Sequence[ModelMessage]) -> list[Step]:
    """The conversation pydantic-ai hands the model, as a list of :class:`Step`."""
    calls: dict[str, ToolCallPart] = {}
    steps: list[Step] = []
    for message in messages:
        if isinstance(message, ModelResponse):
            for part in message.parts:
                if isinstance(part, TextPart) and part.content:
                    steps.append(Step("said", part.content))
                elif isinstance(part, ToolCallPart):
                    calls[part.tool_call_id] = part
                    steps.append(Step("call", tool=part.tool_name, args=part.args_as_dict()))
            continue
        for req in message.parts:
            if isinstance(req, UserPromptPart):
                steps.append(Step("task", req.content if isinstance(req.content, str) else str(req.content)))
            elif isinstance(req, ToolReturnPart):
                call = calls.get(req.tool_call_id)
                args = call.args_as_dict() if call else {}
                kind: StepKind = "result" if req.outcome == "success" else "failed"
                steps.append(Step(kind, req.model_response_str(wrap_if_error=False), tool=req.tool_name, args=args))
            elif isinstance(req, RetryPromptPart):
                call = calls.get(req.tool_call_id)
                text = req.content if isinstance(req.content, str) else json.dumps(req.content, default=str)
                steps.append(Step("retry", text, tool=req.tool_name, args=call.args_as_dict() if call else {}))
    return steps


def _as_plan(answer: object) -> Plan:
    if isinstance(answer, Plan):
        return answer
    if isinstance(answer, str):
        return Plan(answer)
    if isinstance(answer, list | tuple) and all(isinstance(c, ToolCall) for c in answer):
        return Plan("", list(answer))
    raise TypeError(f"a planner returns a Plan, a list of ToolCall or the final answer (str), not {answer!r}")


def _new_failures(history: list[Step]) -> list[Step]:
    """The failed steps since the model last spoke or called."""
    fresh: list[Step] = []
    for step in reversed(history):
        if step.kind in ("said", "call", "task"):
            break
        if step.kind in ("failed", "retry"):
            fresh.append(step)
    return fresh[::-1]


def _what_changes(failures: list[Step], plan: Plan) -> str:
    """The sentence a planner that said nothing gets after a refusal: what it read, what it does now."""
    read = "; ".join(f"{ToolCall(s.tool or '?', s.args).text()} was refused ({s.feedback})" for s in failures)
    if not plan.calls:
        return f"{read}. I will not try that again."
    return f"{read}. I will not repeat it; instead I call {', '.join(c.text() for c in plan.calls)}."


def planner_model(planner: Planner, *, name: str = "demo-planner") -> FunctionModel:
    """pydantic-ai's offline ``FunctionModel`` answering with ``planner``'s decisions.

    Raises ``ValueError`` (the run stops with it) when the planner calls a tool the agent does
    not have, or ``TypeError`` when it returns anything but a Plan, a list of ToolCall or a str.
    """

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        history = history_of(messages)
        turns = sum(1 for m in messages if isinstance(m, ModelResponse))
        if turns >= MAX_TURNS:
            raise RuntimeError(f"the planner made {turns} turns without a final answer; it must return a str at some point")
        plan = _as_plan(planner(history))
        known = {t.name for t in info.function_tools}
        unknown = [c.tool for c in plan.calls if c.tool not in known]
        if unknown:
            raise ValueError(f"the planner called {unknown}, which the agent does not have (its tools: {sorted(known)})")
        say = plan.say
        failures = _new_failures(history)
        if not say and failures:
            say = _what_changes(failures, plan)
        if not plan.calls:
            return ModelResponse(parts=[TextPart(say or "(no answer)")], model_name=name)
        made = sum(1 for s in history if s.kind == "call")
        parts: list[Any] = [TextPart(say)] if say else []
        parts += [ToolCallPart(c.tool, dict(c.args), tool_call_id=f"call-{made + i + 1}") for i, c in enumerate(plan.calls)]
        return ModelResponse(parts=parts, model_name=name)

    return FunctionModel(respond, model_name=name)


def make_agent(
    tools: Sequence[Callable[..., Any]], planner: Planner, *, model: Any = None, instructions: str = INSTRUCTIONS
) -> Agent[None, str]:
    """A pydantic-ai ``Agent`` with ``tools`` (wrapped or not) and hitl_widget's ``RejectionFeedback``.

    ``model=None``: the offline planner model (deterministic, no key). Any other value is
    handed to pydantic-ai as the model (``"openai:gpt-5.2"``, ``"anthropic:claude-sonnet-4-5"``, a
    ``Model`` instance); ``planner`` is then unused. A rejected call's message reaches the model as
    that call's failed result, so the run goes on and the model can adapt.
    """
    return Agent(
        planner_model(planner) if model is None else model,
        tools=list(tools),
        instructions=instructions,
        capabilities=[RejectionFeedback()],
    )


# -- running with a transcript ------------------------------------------------------------


def _short(text: str, limit: int = 600) -> str:
    """At most ``limit`` characters; a result of several lines stays readable (continuation lines indented)."""
    text = text.strip()
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("\n", "\n      ")


def _request_lines(request: ModelRequest, calls: dict[str, ToolCallPart]) -> list[str]:
    lines: list[str] = []
    for part in request.parts:
        if isinstance(part, UserPromptPart):
            lines.append(f"task: {part.content}")
        elif isinstance(part, ToolReturnPart):
            if part.outcome == "success":
                lines.append(f"  ← {part.tool_name}: {_short(part.model_response_str())}")
            else:
                lines.append(f"  ✗ REJECTED {part.tool_name}: {_short(part.model_response_str(wrap_if_error=False))}")
        elif isinstance(part, RetryPromptPart):
            lines.append(f"  ↻ retry {part.tool_name or ''}: {_short(str(part.content))}")
    return lines


def _response_lines(response: ModelResponse, calls: dict[str, ToolCallPart]) -> list[str]:
    lines: list[str] = []
    tool_calls = [p for p in response.parts if isinstance(p, ToolCallPart)]
    for part in response.parts:
        if isinstance(part, TextPart) and part.content.strip():
            lines.append(("model: " if tool_calls else "answer: ") + part.content.strip())
    for part in tool_calls:
        calls[part.tool_call_id] = part
        lines.append(f"  → {ToolCall(part.tool_name, part.args_as_dict()).text()}")
    return lines


async def run(agent: Agent[Any, str], task: str, *, echo: Callable[[str], None] = print, log: list[str] | None = None) -> str:
    """Run ``agent`` on ``task``, printing the transcript as it goes; return the final answer.

    The transcript: ``task: ...``, the model's stated plan (``model: ...``), each call
    (``→ deploy(env='staging')``), each result (``← deploy: ...``) or rejection
    (``✗ REJECTED deploy: <the message the model reads>``), and the final ``answer: ...``.
    Each line is printed before what follows it runs, so the plan is on screen when a card
    asks. ``echo`` prints a line (default ``print``); ``log``, when given, gets every line too.
    Errors other than rejections (a tool raising, the planner's mistakes) propagate.
    """
    calls: dict[str, ToolCallPart] = {}

    def say(lines: list[str]) -> None:
        for line in lines:
            echo(line)
            if log is not None:
                log.append(line)

    async with agent.iter(task) as agent_run:
        async for node in agent_run:
            if Agent.is_model_request_node(node):
                say(_request_lines(node.request, calls))
            elif Agent.is_call_tools_node(node):
                say(_response_lines(node.model_response, calls))
    result = agent_run.result
    if result is None:  # pragma: no cover - iter() always ends with a result or raises
        raise RuntimeError("the agent run ended without a result")
    return result.output


def run_sync(agent: Agent[Any, str], task: str, **kwargs: Any) -> str:
    """:func:`run` from plain Python, where no event loop is running (a script, a test).

    In a notebook ``await run(...)`` instead: a kernel's event loop is already running there.
    """
    return asyncio.run(run(agent, task, **kwargs))


def transcript_of(agent_messages: Sequence[ModelMessage]) -> list[str]:
    """The transcript lines of a finished run's messages (``result.all_messages()``), as :func:`run` prints them."""
    calls: dict[str, ToolCallPart] = {}
    lines: list[str] = []
    for message in agent_messages:
        lines += _request_lines(message, calls) if isinstance(message, ModelRequest) else _response_lines(message, calls)
    return lines
