"""Glue for agent SDKs: hand a rejection's feedback to the model as the tool's result.

A wrapped function already works as a tool in these SDKs (same name, docs, schema).
What each SDK does with an exception from a tool differs, and by default the model
never reads why a person said no. One module per SDK, each importing its SDK, each an
optional extra::

    hitl_widget.integrations.pydantic_ai     RejectionFeedback        (a capability)     [pydantic-ai]
    hitl_widget.integrations.openai_agents   tool_error_formatter,    (RunConfig / function_tool)
                                             failure_error_function                      [openai-agents]
    hitl_widget.integrations.langchain       RejectionFeedback        (create_agent middleware) [langchain]

Only ``ApprovalRejected`` (and its subclasses: timeouts, cancellations, no channel) is
turned into a tool result; every other exception keeps the SDK's own behaviour.
Importing a module without its SDK raises ImportError naming the extra to install.
"""

from __future__ import annotations

__all__: list[str] = []


def missing_sdk(module: str, sdk: str, extra: str, error: ImportError) -> ImportError:
    """The ImportError raised by ``hitl_widget.integrations.<module>`` when its SDK is not installed."""
    return ImportError(
        f"hitl_widget.integrations.{module} needs {sdk}, which is not installed ({error}). "
        f"Install it with: pip install 'hitl_widget[{extra}]'",
        name=error.name,
    )
