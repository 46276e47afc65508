"""openai-agents: show the model why a call was rejected.

Run-wide, for every tool of the run::

    from agents import Agent, RunConfig, Runner, function_tool
    from hitl_widget.integrations.openai_agents import tool_error_formatter

    agent = Agent(name="support", tools=[function_tool(f) for f in gate.wrap_all([refund, delete_user])])
    await Runner.run(agent, task, run_config=RunConfig(tool_error_formatter=tool_error_formatter))

or per tool: ``function_tool(gate.wrap(refund), failure_error_function=failure_error_function)``.

By default openai-agents answers any tool exception with "An error occurred while
running the tool. Please try again." and hides the reviewer's feedback. With either
hook the model reads the rejection's message (the call and the feedback). Other
exceptions keep the SDK's default message. A tool's ``RunContextWrapper`` /
``ToolContext`` parameter is passed through untouched; the reviewer sees it as
context, never as an argument to edit.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApprovalRejected
from . import missing_sdk

try:
    from agents.run_config import ToolErrorFormatterArgs
    from agents.run_context import RunContextWrapper
    from agents.tool import default_tool_error_function
except ImportError as exc:  # pragma: no cover - exercised without the SDK
    raise missing_sdk("openai_agents", "openai-agents", "openai-agents", exc) from exc

__all__ = ["failure_error_function", "tool_error_formatter"]


def tool_error_formatter(args: ToolErrorFormatterArgs[Any]) -> str | None:
    """For ``RunConfig(tool_error_formatter=...)``: a rejection's message, or None (the SDK's default) otherwise."""
    if args.kind == "tool_exception" and isinstance(args.error, ApprovalRejected):
        return str(args.error)
    return None


def failure_error_function(ctx: RunContextWrapper[Any], error: Exception) -> str:
    """For ``function_tool(..., failure_error_function=...)``: a rejection's message, else the SDK's default text."""
    if isinstance(error, ApprovalRejected):
        return str(error)
    return str(default_tool_error_function(ctx, error))
