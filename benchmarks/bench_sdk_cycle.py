"""The cost of one approval inside each agent SDK: hitl_widget's gate against the SDK's own mechanism.

For each SDK, four agents run the same offline model and the same tool, side by side,
interleaved round by round (each run complete: prompt -> tool call -> tool -> answer):

- bare:      the tool, no approval at all;
- glue:      the same, with the SDK's hitl_widget.integrations hook installed (which only
             rejections need; it costs what the SDK's hook mechanism costs);
- SDK cycle: the SDK's own human-in-the-loop mechanism, approving --
             LangChain HumanInTheLoopMiddleware + InMemorySaver (interrupt, Command(resume=...)),
             pydantic-ai deferred tools (DeferredToolRequests -> DeferredToolResults),
             openai-agents needs_approval (interruptions -> state.approve -> resume);
- hitl:      the tool wrapped by a Gate whose approver approves (ScriptedApprover, or an
             async approver around one), the glue installed.

Each round runs every variant ``--repeat`` times and keeps its best time. The two runs of a
pair (bare / SDK cycle, glue / hitl) always run back to back, their order alternating, and the
pairs' order rotates from one repeat to the next: whatever slows one moment (another process,
a worker thread of the SDK's pool waking up late) hits both halves of a pair alike. The paired
differences of a round say what one approval adds: SDK cycle - bare, hitl - glue (the
approval), and glue - bare. Reported: medians with the interquartile range (the spread of
one round's difference) and a 95% confidence interval of the median (distribution-free, from
the order statistics: how well the rounds pin it down), the ratio of the medians, for
sync/async tool x sync/async approver, in wall-clock and in CPU time. Target: hitl's approval
at least 20x cheaper than the cheapest SDK mechanism in every combination; a verdict is
"OK" or "UNDER" only where the confidence interval says so, else "UNSURE" (more rounds).

A last table times the gate alone, without any SDK: one call of the wrapped tool against the
bare tool, per call, CPU time of the calling thread, on the main thread and in a worker
thread (where the SDKs run sync tools). It is exact to a microsecond where the paired SDK
runs, 3-6 ms each, resolve about 20-50 µs at best. And the same call warm (call after call) and
cold (each right after one bare run of the SDK): inside an agent's run the gate's code and data
have left the CPU caches, and the cold call costs several times the warm one; that, not the
warm figure, is what the SDK tables' approval measures. ``--gate-only`` prints just these.

Needs the SDK extras (make test-integrations creates .venv-sdk):
    .venv-sdk/bin/python benchmarks/bench_sdk_cycle.py [--rounds 40] [--repeat 7] [--sdk langchain]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hitl_widget import ApprovalRequest, Approve, Gate, ScriptedApprover

Run = Callable[[], Awaitable[str]]
Best = dict[str, list[float]]
TARGET = 20.0


# -- the tool and the approvers ----------------------------------------------------------


def refund(order_id: str, amount: float = 10.0) -> str:
    """Refund an order."""
    return f"refunded {amount:g} on {order_id}"


async def refund_async(order_id: str, amount: float = 10.0) -> str:
    """Refund an order."""
    return f"refunded {amount:g} on {order_id}"


class AsyncScripted:
    """An async approver that approves (the ScriptedApprover inside records every request)."""

    channel = "scripted-async"

    def __init__(self) -> None:
        self.inner = ScriptedApprover(default=Approve())

    async def __call__(self, request: ApprovalRequest) -> Any:
        return self.inner(request)


def approver_for(kind: str) -> Any:
    return ScriptedApprover(default=Approve()) if kind == "sync" else AsyncScripted()


async def decide(kind: str) -> bool:
    """The SDK cycle's decision, made by a sync or an async function, as in the hitl runs."""
    if kind == "sync":
        return (lambda: True)()

    async def approve() -> bool:
        return True

    return await approve()


CALL = {"order_id": "A-1", "amount": 5}
EXPECTED = "refunded 5 on A-1"


# -- pydantic-ai ----------------------------------------------------------------------------


def pydantic_ai_runs(tool_kind: str, approver_kind: str) -> dict[str, Run]:
    from pydantic_ai import Agent, DeferredToolRequests, Tool
    from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from hitl_widget.integrations.pydantic_ai import RejectionFeedback

    fn = refund if tool_kind == "sync" else refund_async

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        returned = [p for p in last.parts if isinstance(p, ToolReturnPart)] if isinstance(last, ModelRequest) else []
        if not returned:
            return ModelResponse(parts=[ToolCallPart(fn.__name__, dict(CALL), tool_call_id="call-1")])
        return ModelResponse(parts=[TextPart(str(returned[0].content))])

    bare = Agent(FunctionModel(model), tools=[fn])
    deferred = Agent(FunctionModel(model), tools=[Tool(fn, requires_approval=True)], output_type=[str, DeferredToolRequests])
    gate = Gate(approver=approver_for(approver_kind))
    glued = Agent(FunctionModel(model), tools=[fn], capabilities=[RejectionFeedback()])
    gated = Agent(FunctionModel(model), tools=[gate.wrap(fn)], capabilities=[RejectionFeedback()])

    async def run_bare() -> str:
        return (await bare.run("refund A-1")).output

    async def run_sdk() -> str:
        first = await deferred.run("refund A-1")
        requests = first.output
        assert isinstance(requests, DeferredToolRequests) and len(requests.approvals) == 1
        approvals = {call.tool_call_id: await decide(approver_kind) for call in requests.approvals}
        second = await deferred.run(
            message_history=first.all_messages(), deferred_tool_results=requests.build_results(approvals=approvals)
        )
        return str(second.output)

    async def run_glue() -> str:
        return (await glued.run("refund A-1")).output

    async def run_hitl() -> str:
        return (await gated.run("refund A-1")).output

    return {"bare": run_bare, "glue": run_glue, "sdk": run_sdk, "hitl": run_hitl}


# -- openai-agents --------------------------------------------------------------------------


def openai_agents_runs(tool_kind: str, approver_kind: str) -> dict[str, Run]:
    from agents import Agent, RunConfig, Runner, function_tool
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.testing import assistant_message, function_call
    from agents.usage import Usage

    from hitl_widget.integrations.openai_agents import tool_error_formatter

    fn = refund if tool_kind == "sync" else refund_async

    class PlanModel(Model):
        async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
            items = [] if isinstance(input, str) else input
            outputs = [i["output"] for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
            if not outputs:
                output = [function_call(fn.__name__, dict(CALL), call_id="call-1")]
            else:
                output = [assistant_message(str(outputs[0]))]
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    config = RunConfig(tracing_disabled=True)
    gated_config = RunConfig(tracing_disabled=True, tool_error_formatter=tool_error_formatter)
    bare = Agent(name="bare", model=PlanModel(), tools=[function_tool(fn)])
    asking = Agent(name="asking", model=PlanModel(), tools=[function_tool(fn, needs_approval=True)])
    gate = Gate(approver=approver_for(approver_kind))
    gated = Agent(name="gated", model=PlanModel(), tools=[function_tool(gate.wrap(fn))])

    async def run_bare() -> str:
        return str((await Runner.run(bare, "refund A-1", run_config=config)).final_output)

    async def run_sdk() -> str:
        first = await Runner.run(asking, "refund A-1", run_config=config)
        assert len(first.interruptions) == 1
        state = first.to_state()
        for interruption in first.interruptions:
            if await decide(approver_kind):
                state.approve(interruption)
        return str((await Runner.run(asking, state, run_config=config)).final_output)

    async def run_glue() -> str:
        return str((await Runner.run(bare, "refund A-1", run_config=gated_config)).final_output)

    async def run_hitl() -> str:
        return str((await Runner.run(gated, "refund A-1", run_config=gated_config)).final_output)

    return {"bare": run_bare, "glue": run_glue, "sdk": run_sdk, "hitl": run_hitl}


# -- LangChain ------------------------------------------------------------------------------


def langchain_runs(tool_kind: str, approver_kind: str) -> dict[str, Run]:
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    from hitl_widget.integrations.langchain import RejectionFeedback

    fn = refund if tool_kind == "sync" else refund_async

    class PlanModel(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "bench-plan"

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

        def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
            returned = [m for m in messages if isinstance(m, ToolMessage)]
            if not returned:
                message = AIMessage(content="", tool_calls=[{"name": fn.__name__, "args": dict(CALL), "id": "call-1"}])
            else:
                message = AIMessage(content=str(returned[0].content))
            return ChatResult(generations=[ChatGeneration(message=message)])

    prompt = {"messages": [{"role": "user", "content": "refund A-1"}]}
    bare = create_agent(PlanModel(), tools=[fn])
    asking = create_agent(
        PlanModel(),
        tools=[fn],
        middleware=[HumanInTheLoopMiddleware(interrupt_on={fn.__name__: True})],
        checkpointer=InMemorySaver(),
    )
    gate = Gate(approver=approver_for(approver_kind))
    glued = create_agent(PlanModel(), tools=[fn], middleware=[RejectionFeedback()])
    gated = create_agent(PlanModel(), tools=[gate.wrap(fn)], middleware=[RejectionFeedback()])

    async def run_bare() -> str:
        return str((await bare.ainvoke(prompt))["messages"][-1].content)

    async def run_sdk() -> str:
        config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
        first = await asking.ainvoke(prompt, config)
        (interrupt,) = first["__interrupt__"]
        decisions = [
            {"type": "approve"} if await decide(approver_kind) else {"type": "reject"} for _ in interrupt.value["action_requests"]
        ]
        second = await asking.ainvoke(Command(resume={"decisions": decisions}), config)
        return str(second["messages"][-1].content)

    async def run_glue() -> str:
        return str((await glued.ainvoke(prompt))["messages"][-1].content)

    async def run_hitl() -> str:
        return str((await gated.ainvoke(prompt))["messages"][-1].content)

    return {"bare": run_bare, "glue": run_glue, "sdk": run_sdk, "hitl": run_hitl}


SDKS: dict[str, tuple[str, Callable[[str, str], dict[str, Run]]]] = {
    "langchain": ("LangChain HumanInTheLoopMiddleware + InMemorySaver", langchain_runs),
    "pydantic-ai": ("pydantic-ai deferred tools", pydantic_ai_runs),
    "openai-agents": ("openai-agents needs_approval", openai_agents_runs),
}


# -- measuring ------------------------------------------------------------------------------


VARIANTS = ("bare", "glue", "sdk", "hitl")
PAIRS = (("bare", "sdk"), ("glue", "hitl"))


async def measure(runs: dict[str, Run], rounds: int, repeat: int, warmup: int) -> tuple[Best, Best]:
    """Each variant's best wall-clock and CPU time (ms) per round; per round each runs ``repeat`` times, interleaved.

    The best of a few runs drops the moments another process had the CPU (this machine is
    shared); the process's CPU time (all threads, the SDKs' worker threads included) does not
    count them at all, but neither does it count waiting for a thread to wake up.
    """
    for name, run in runs.items():  # warm up, and check every variant really ran the tool and answered
        for _ in range(warmup):
            answer = await run()
            if answer != EXPECTED:
                raise AssertionError(f"{name} run answered {answer!r}, expected {EXPECTED!r}")
    wall: Best = {name: [] for name in VARIANTS}
    cpu: Best = {name: [] for name in VARIANTS}
    for i in range(rounds):
        gc.collect()
        gc.disable()
        try:
            best_wall = dict.fromkeys(VARIANTS, float("inf"))
            best_cpu = dict.fromkeys(VARIANTS, float("inf"))
            for j in range(repeat):
                k = i * repeat + j
                pairs = PAIRS if k % 2 == 0 else PAIRS[::-1]  # which pair first: alternating
                # each pair back to back, its two halves in alternating order: a slow moment hits both
                order = [name for pair in pairs for name in (pair if (k // 2) % 2 == 0 else pair[::-1])]
                for name in order:
                    run = runs[name]
                    wall_started, cpu_started = time.perf_counter(), time.process_time()
                    await run()
                    cpu_ms = (time.process_time() - cpu_started) * 1000
                    wall_ms = (time.perf_counter() - wall_started) * 1000
                    best_wall[name] = min(best_wall[name], wall_ms)
                    best_cpu[name] = min(best_cpu[name], cpu_ms)
        finally:
            gc.enable()
        for name in VARIANTS:
            wall[name].append(best_wall[name])
            cpu[name].append(best_cpu[name])
    return wall, cpu


def added(best: Best, variant: str, baseline: str) -> list[float]:
    """Paired differences, round by round: what ``variant`` adds to ``baseline``."""
    return [v - b for v, b in zip(best[variant], best[baseline])]


def fmt(values: list[float]) -> str:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return f"{q2:6.3f} [{q1:6.3f},{q3:6.3f}]"


def median_ci(values: list[float]) -> tuple[float, float]:
    """A 95% confidence interval of the median: order statistics k and n-1-k (normal approximation
    of the binomial; for n < 6 no interval is that sure, and the whole range is returned)."""
    ordered = sorted(values)
    n = len(ordered)
    k = max(0, math.floor((n - 1.96 * math.sqrt(n)) / 2))
    return ordered[k], ordered[n - 1 - k]


def fmt_ci(values: list[float]) -> str:
    low, high = median_ci(values)
    return f"[{low:6.3f},{high:6.3f}]"


def report(title: str, results: dict[tuple[str, str, str], Best]) -> tuple[int, int]:
    """One table and the verdicts; returns how many combinations meet the target (approval alone, with the glue)."""
    med = statistics.median
    print(f"\n{title}")
    print(
        f"{'SDK':<14}{'tool':<6}{'approver':<9}{'bare run':>9}{'SDK cycle':>24}{'hitl approval [IQR]':>24}"
        f"{'approval 95% CI':>18}{'glue':>24}{'ratio':>8}{'w/ glue':>8}"
    )
    for (sdk, tool_kind, approver_kind), best in results.items():
        cycle, approval, glue = added(best, "sdk", "bare"), added(best, "hitl", "glue"), added(best, "glue", "bare")
        total = med(added(best, "hitl", "bare"))
        print(
            f"{sdk:<14}{tool_kind:<6}{approver_kind:<9}{med(best['bare']):9.3f}{fmt(cycle):>24}{fmt(approval):>24}"
            f"{fmt_ci(approval):>18}{fmt(glue):>24}{ratio(med(cycle), med(approval)):>8}{ratio(med(cycle), total):>8}"
        )
    met = [0, 0]
    for tool_kind in ("sync", "async"):
        for approver_kind in ("sync", "async"):
            rows = {sdk: b for (sdk, t, a), b in results.items() if (t, a) == (tool_kind, approver_kind)}
            cheapest = min(rows, key=lambda s: med(added(rows[s], "sdk", "bare")))
            cheapest_ms = med(added(rows[cheapest], "sdk", "bare"))
            line = f"  {tool_kind} tool, {approver_kind} approver: cheapest SDK cycle {cheapest_ms:.3f} ms ({cheapest});"
            for k, (variant, baseline, label) in enumerate((("hitl", "glue", "approval"), ("hitl", "bare", "with glue"))):
                worst = max(rows, key=lambda s: med(added(rows[s], variant, baseline)))
                worst_ms = med(added(rows[worst], variant, baseline))
                ok = worst_ms <= cheapest_ms / TARGET
                met[k] += ok
                # sure only when every SDK's interval of the median is on the same side of the limit
                highs = [median_ci(added(rows[s], variant, baseline))[1] for s in rows]
                lows = [median_ci(added(rows[s], variant, baseline))[0] for s in rows]
                limit = cheapest_ms / TARGET
                verdict = "OK" if max(highs) <= limit else "UNDER" if max(lows) > limit else "UNSURE"
                line += f" hitl {label} at most {worst_ms:.3f} ms ({worst}) {ratio(cheapest_ms, worst_ms)} {verdict};"
            print(line.rstrip(";"))
    return met[0], met[1]


def gate_alone(number: int = 2000, rounds: int = 9) -> None:
    """The gate's own cost per call, no SDK: wrapped tool - bare tool, CPU time of the calling thread (µs)."""
    loop = asyncio.new_event_loop()

    def sync_case(approver_kind: str) -> tuple[Callable[[], object], Callable[[], object]]:
        wrapped = Gate(approver=approver_for(approver_kind)).wrap(refund)
        return (lambda: refund("A-1", 5)), (lambda: wrapped("A-1", 5))

    def async_case(approver_kind: str) -> tuple[Callable[[], object], Callable[[], object]]:
        wrapped = Gate(approver=approver_for(approver_kind)).wrap(refund_async)

        async def many(fn: Callable[..., Awaitable[str]]) -> None:
            for _ in range(number):
                await fn("A-1", 5)

        return (lambda: loop.run_until_complete(many(refund_async))), (lambda: loop.run_until_complete(many(wrapped)))

    def per_call(bare: Callable[[], object], gated: Callable[[], object], batched: bool) -> list[float]:
        added_us = []
        for i in range(rounds + 1):  # the first round warms up
            pair = []
            gc.collect()
            gc.disable()  # as in the SDK rounds: a collection of the SDKs' objects is no cost of the call
            try:
                for fn in (bare, gated):
                    started = time.thread_time()
                    if batched:
                        fn()
                    else:
                        for _ in range(number):
                            fn()
                    pair.append((time.thread_time() - started) / number * 1e6)
            finally:
                gc.enable()
            if i:
                added_us.append(pair[1] - pair[0])
        return added_us

    def in_worker(fn: Callable[[], list[float]]) -> list[float]:
        box: list[list[float]] = []
        thread = threading.Thread(target=lambda: box.append(fn()))
        thread.start()
        thread.join()
        return box[0]

    print("\nThe gate alone (no SDK): µs added per call, wrapped tool - bare tool, CPU time of the calling thread;")
    print(f"median [min, max] over {rounds} rounds of {number} calls each")
    print(f"{'tool':<7}{'approver':<10}{'main thread':>26}{'worker thread':>26}")
    for tool_kind in ("sync", "async"):
        for approver_kind in ("sync", "async"):
            bare, gated = (sync_case if tool_kind == "sync" else async_case)(approver_kind)
            batched = tool_kind == "async"
            cells = []
            for values in (per_call(bare, gated, batched), None if batched else in_worker(partial(per_call, bare, gated, False))):
                if values is None:
                    cells.append("(async: on the loop)")
                else:
                    cells.append(f"{statistics.median(values):7.1f} [{min(values):6.1f},{max(values):6.1f}]")
            print(f"{tool_kind:<7}{approver_kind:<10}{cells[0]:>26}{cells[1]:>26}")
    loop.close()


def gate_cold(chosen: list[str], calls: int = 200) -> None:
    """The wrapped tool called directly, warm (call after call) and cold (each call right after one bare run
    of the SDK, as inside an agent's run): µs per call, CPU time of the thread, collections off."""
    print(
        "\nThe gate alone, warm and cold: µs per call of the wrapped tool called directly (no SDK in the call),\n"
        f"  warm = {calls} calls back to back; cold = each call right after one bare run of the SDK (its code and data\n"
        "  pushed the gate's out of the CPU caches, as in an agent's run: the SDK tables' approval is this cold call)"
    )
    print(f"{'SDK':<14}{'tool':<6}{'approver':<9}{'warm':>9}{'cold':>9}")

    async def one(sdk: str, tool_kind: str, approver_kind: str) -> tuple[float, float]:
        bare = SDKS[sdk][1](tool_kind, approver_kind)["bare"]
        wrapped: Any = Gate(approver=approver_for(approver_kind)).wrap(refund if tool_kind == "sync" else refund_async)

        async def call() -> None:
            if tool_kind == "sync":
                wrapped("A-1", 5)
            else:
                await wrapped("A-1", 5)

        for _ in range(20):
            await bare()
            await call()
        out = []
        for cold in (False, True):
            total = 0.0
            gc.collect()
            gc.disable()
            try:
                for _ in range(calls):
                    if cold:
                        await bare()
                    started = time.thread_time()
                    await call()
                    total += time.thread_time() - started
            finally:
                gc.enable()
            out.append(total / calls * 1e6)
        return out[0], out[1]

    for sdk in chosen:
        for tool_kind, approver_kind in (("sync", "sync"), ("async", "async")):
            warm, cold = asyncio.run(one(sdk, tool_kind, approver_kind))
            print(f"{sdk:<14}{tool_kind:<6}{approver_kind:<9}{warm:9.1f}{cold:9.1f}")


def ratio(cost: float, hitl: float) -> str:
    return f"{cost / hitl:6.1f}x" if hitl > 0 else "  <0 ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--rounds", type=int, default=40, help="paired rounds per combination (default 40; 12 leave the verdicts UNSURE)"
    )
    parser.add_argument("--repeat", type=int, default=7, help="runs of each variant per round, best kept (default 7)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--sdk", action="append", choices=sorted(SDKS), help="only these SDKs (repeatable)")
    parser.add_argument("--gate-only", action="store_true", help="only the gate-alone tables (no SDK cycles)")
    options = parser.parse_args()
    chosen = options.sdk or list(SDKS)
    if options.gate_only:
        gate_alone()
        gate_cold(chosen)
        return

    wall: dict[tuple[str, str, str], Best] = {}
    cpu: dict[tuple[str, str, str], Best] = {}
    for sdk in chosen:
        _, factory = SDKS[sdk]
        for tool_kind in ("sync", "async"):
            for approver_kind in ("sync", "async"):
                key = (sdk, tool_kind, approver_kind)
                wall[key], cpu[key] = asyncio.run(
                    measure(factory(tool_kind, approver_kind), options.rounds, options.repeat, options.warmup)
                )

    print(
        f"One approval inside each SDK: ms added to a run; median [IQR] over {options.rounds} rounds of paired differences "
        f"(each run the best of {options.repeat}).\n"
        "  SDK cycle     = the SDK's own approval mechanism - bare run\n"
        "  hitl approval = wrapped tool, approver approves, glue installed - bare tool with the glue installed\n"
        "  glue          = the hitl_widget.integrations hook installed (bare tool) - bare run; only rejections need it\n"
        f"  ratio = SDK cycle / hitl approval; w/ glue = SDK cycle / (hitl approval + glue). Target: {TARGET:g}x against\n"
        "  the cheapest SDK mechanism in every combination of sync/async tool x sync/async approver."
    )
    for sdk in chosen:
        print(f"  {sdk}: {SDKS[sdk][0]}")
    met_wall = report("Wall clock (what the agent's run waits):", wall)
    met_cpu = report("CPU time of the process (all threads; not inflated by other processes' load):", cpu)
    print(
        f"\ncombinations meeting the target (by the medians): wall clock {met_wall[0]} of 4 (with glue {met_wall[1]}), "
        f"CPU time {met_cpu[0]} of 4 (with glue {met_cpu[1]})"
    )
    gate_alone()
    gate_cold(chosen)


if __name__ == "__main__":
    main()
