"""pydantic-ai: a capability that shows the model why a call was rejected.

::

    from pydantic_ai import Agent
    from hitl_widget.integrations.pydantic_ai import RejectionFeedback

    agent = Agent(model, tools=gate.wrap_all([refund, delete_user]), capabilities=[RejectionFeedback()])

Without it an ``ApprovalRejected`` raised by a tool ends the run. With it the
rejection becomes pydantic-ai's ``ToolFailed``: the model reads the message (the call
and the reviewer's feedback) as that tool call's failed result, and it does not count
against the tool's retries. Every other exception keeps pydantic-ai's own handling.
A tool's ``RunContext`` parameter is passed through untouched; the reviewer sees it as
context, never as an argument to edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ApprovalRejected
from . import missing_sdk

try:
    from pydantic_ai import ToolFailed
    from pydantic_ai.capabilities import AbstractCapability
except ImportError as exc:  # pragma: no cover - exercised without the SDK
    raise missing_sdk("pydantic_ai", "pydantic-ai", "pydantic-ai", exc) from exc

__all__ = ["RejectionFeedback"]


@dataclass
class RejectionFeedback(AbstractCapability[Any]):  # type: ignore[misc]
    """Turn ``ApprovalRejected`` from any tool into ``ToolFailed(str(error))``, which the model reads.

    Pass it in ``Agent(..., capabilities=[RejectionFeedback()])`` (or per run:
    ``agent.run(..., capabilities=[...])``).
    """

    async def on_tool_execute_error(self, ctx: Any, *, call: Any, tool_def: Any, args: dict[str, Any], error: Exception) -> Any:
        if isinstance(error, ApprovalRejected):
            raise ToolFailed(str(error)) from error
        raise error
