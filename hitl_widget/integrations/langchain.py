"""LangChain v1 (``create_agent``): a middleware that shows the model why a call was rejected.

::

    from langchain.agents import create_agent
    from hitl_widget.integrations.langchain import RejectionFeedback

    agent = create_agent(model, tools=gate.wrap_all([refund, delete_user]), middleware=[RejectionFeedback()])

Without it an ``ApprovalRejected`` raised by a tool ends the run. With it the
rejection becomes an error ``ToolMessage`` whose text (the call and the reviewer's
feedback) the model reads next. Every other exception propagates as before. A tool's
``ToolRuntime`` parameter is passed through untouched; the reviewer sees it as context,
never as an argument to edit.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApprovalRejected
from . import missing_sdk

try:
    from langchain.agents.middleware import ToolErrorMiddleware
except ImportError as exc:  # pragma: no cover - exercised without the SDK
    raise missing_sdk("langchain", "langchain v1", "langchain", exc) from exc

__all__ = ["RejectionFeedback"]


def _rejection_text(error: Exception, request: Any) -> str | None:
    return str(error) if isinstance(error, ApprovalRejected) else None


class RejectionFeedback(ToolErrorMiddleware):  # type: ignore[misc]
    """A ``ToolErrorMiddleware`` that returns ``ApprovalRejected``'s message as the tool's result.

    ``tools``: limit it to these tools (objects or names); all tools by default.
    Works on the sync (``invoke``) and async (``ainvoke``) paths alike.
    """

    def __init__(self, *, tools: list[Any] | None = None) -> None:
        super().__init__(_rejection_text, tools=tools)
