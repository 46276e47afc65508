"""Chat channels beside the dashboard: Slack (approve / reject from a message) and Teams (a card with a link).

Both go through the dashboard: the request is created there first, the policy and the record
are the server's, and the dashboard stays the place where everything can be decided.

- :class:`~hitl_widget.chat.slack.SlackApprover` (agent side) posts a Block Kit message with
  Approve / Reject; the clicks arrive at the dashboard server's ``POST /slack/interactions``
  (:mod:`hitl_widget.chat.slack_interactions`), which decides through the store.
- :class:`~hitl_widget.chat.teams.TeamsNotifier` posts an Adaptive Card with an "Open in
  dashboard" link to a Teams Workflows webhook, and a second card with the outcome.
- :mod:`hitl_widget.chat.escaping`: hostile text shown as text in mrkdwn and Teams markdown.

The chat modules import their libraries (slack_sdk, httpx, starlette) lazily: ``pip install
'hitl_widget[slack]'``. Nothing here is imported by ``import hitl_widget``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .slack import SlackApprover
    from .teams import TeamsNotifier

__all__ = ["SlackApprover", "TeamsNotifier"]


def __getattr__(name: str) -> Any:
    if name == "SlackApprover":
        from .slack import SlackApprover

        return SlackApprover
    if name == "TeamsNotifier":
        from .teams import TeamsNotifier

        return TeamsNotifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
