"""The Slack message for one dashboard request, rendered from its JSON (both sides use this).

The agent side (:class:`hitl_widget.chat.slack.SlackApprover`) posts it when it creates the
request; the dashboard server (:mod:`hitl_widget.chat.slack_interactions`) re-renders it in
place after every change (an approval toward a quorum, a decision in Slack or the dashboard,
a timeout, the outcome). The input is the dashboard's request JSON (``StoredRequest.to_json()``
in ``hitl_widget.dashboard.store``: ``id, function, risk, status, version, view, agent,
on_behalf_of, approvals_needed, approvals, decision, expires_at, outcome``); a missing field
is shown as unknown, never an error.

Every text that comes from the call (function name, arguments, requester, feedback, user
names) goes through :func:`hitl_widget.chat.escaping.mrkdwn` in ``verbatim`` text objects:
it cannot mention, link or format. A long value is cut with a link to the whole request in the
dashboard (opening it there changes nothing: GET never does).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .escaping import cut, mrkdwn, slack_plain

__all__ = [
    "APPROVE",
    "OPEN",
    "REJECT",
    "REJECT_VIEW",
    "action_value",
    "epoch",
    "message",
    "parse_action_value",
    "reject_modal",
    "request_facts",
    "request_link",
    "secret_named",
]

#: action_id of the buttons (the interaction handler dispatches on these)
APPROVE = "hitl_approve"
REJECT = "hitl_reject"
OPEN = "hitl_open"
#: callback_id of the feedback modal Reject opens
REJECT_VIEW = "hitl_reject_feedback"
FEEDBACK_BLOCK = "feedback"
FEEDBACK_INPUT = "text"

#: characters of one argument's text shown in the message (the rest: the link)
VALUE_CHARS = 400
#: arguments shown in the message (the rest: the link)
MAX_ARGUMENTS = 12
#: Slack's limit for a section's text
SECTION_LIMIT = 3000
#: characters of feedback shown
FEEDBACK_CHARS = 500

_FINAL = {
    "approved": "Approved",
    "rejected": "Rejected",
    "timed_out": "Timed out",
    "cancelled": "Cancelled",
    "running": "Approved",
    "succeeded": "Approved",
    "failed": "Approved",
}
#: after who and when: what the approved call did since
_AFTER = {"running": " · running now", "succeeded": " · ran: succeeded", "failed": " · ran: failed"}


def request_link(dashboard: str, request_id: str) -> str:
    """The request's page in the dashboard (``GET /requests/{id}``; opening it changes nothing)."""
    return f"{dashboard.rstrip('/')}/requests/{urllib.parse.quote(str(request_id), safe='')}"


def action_value(request_id: str, version: int) -> str:
    """A button's value: which request, at which version of its arguments, the click decides."""
    return json.dumps({"id": request_id, "version": version}, separators=(",", ":"))


def parse_action_value(value: object) -> tuple[str, int]:
    """``(request_id, version)`` from a button's value; ValueError when it is not one of ours."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValueError("not a hitl_widget button value")
    rid, version = data.get("id"), data.get("version")
    if not isinstance(rid, str) or type(version) is not int:
        raise ValueError("not a hitl_widget button value")
    return rid, version


def epoch(value: object) -> float | None:
    """Epoch seconds from a number or an ISO 8601 text (the API's times); None otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def _date(epoch: float, fallback_format: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A Slack date token: the reader's local time, with a UTC fallback."""
    fallback = datetime.fromtimestamp(epoch, UTC).strftime(fallback_format)
    return f"<!date^{int(epoch)}^{{date_short_pretty}} {{time}}|{fallback}>"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _name(text: str, limit: int = 100) -> str:
    """A name (function, risk, person, agent) for mrkdwn: escaped, on one line, bounded."""
    return mrkdwn(cut(text, limit)[0], keep="")


def _names(items: Iterable[object]) -> str:
    return ", ".join(_name(str(item)) for item in list(items)[:20])


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}


def secret_named(name: str) -> bool:
    """Is this argument's name secret-looking (the audit log's pattern)? Chat shows such values redacted."""
    from .. import audit

    return bool(audit.SECRET_NAMES.search(name))


def _argument_block(argument: Mapping[str, Any], link: str) -> dict[str, Any]:
    raw_name = str(argument.get("name", "?"))
    name = mrkdwn(raw_name, keep="")
    if secret_named(raw_name):
        return _section(f"*{name}*\n[REDACTED] <{link}|(shown in the dashboard)>")
    text = argument.get("text")
    text = text if isinstance(text, str) else ""
    length = argument.get("length")
    complete = bool(argument.get("complete", True))
    shown, was_cut = cut(text, VALUE_CHARS)
    body = mrkdwn(shown)
    while len(body) > SECTION_LIMIT - 300 and len(shown) > 1:  # escapes lengthen the text: keep within Slack's limit
        shown, was_cut = cut(shown, len(shown) // 2)[0], True
        body = mrkdwn(shown)
    note = ""
    if was_cut or not complete:
        total = length if isinstance(length, int) else len(text)
        note = f"\n_(cut: {total:,} characters; <{link}|the whole value in the dashboard>)_"
    return _section(f"*{name}*\n{body}{note}")


def _status_text(stored: Mapping[str, Any]) -> str:
    status = str(stored.get("status", "pending"))
    decision = stored.get("decision") if isinstance(stored.get("decision"), Mapping) else None
    approvals = [a for a in stored.get("approvals") or [] if isinstance(a, Mapping)]
    version = stored.get("version")
    current = [a for a in approvals if a.get("version") == version]
    needed = stored.get("approvals_needed")
    if status == "pending":
        so_far = f"{len(current)} of {needed}" if isinstance(needed, int) else str(len(current))
        who = f" ({_names(a.get('user', '?') for a in current)})" if current else ""
        problems = stored.get("problems")
        extra = ""
        if problems:
            extra = "\n:warning: The last edit was refused by the agent: " + mrkdwn(cut(json.dumps(problems), 300)[0])
        return f"*Waiting for approval:* {so_far} approvals{who}{extra}"
    label = _FINAL.get(status, mrkdwn(status, keep=""))
    parts = [f"*{label}*"]
    if decision is not None:
        by = decision.get("by") or []
        if by and status != "timed_out":
            parts.append(f"by {_names(by if isinstance(by, list) else [by])}")
        at = epoch(decision.get("at"))
        if at is not None:
            parts.append(f"at {_date(at)}")
    else:
        at = epoch(stored.get("decided_at"))
        if at is not None:
            parts.append(f"at {_date(at)}")
    if status == "timed_out":
        parts.append("(nobody decided in time; the call did not run)")
    text = " ".join(parts) + _AFTER.get(status, "")
    if decision is not None and decision.get("kind") == "edit":
        text += "\nApproved with edited arguments (see the dashboard for the change)."
    feedback = decision.get("feedback") if decision is not None else None
    if isinstance(feedback, str) and feedback:
        text += "\n*Feedback:* " + mrkdwn(cut(feedback, FEEDBACK_CHARS)[0])
    outcome = stored.get("outcome")
    if isinstance(outcome, Mapping) and isinstance(outcome.get("detail"), str) and outcome.get("detail"):
        text += "\n*Outcome:* " + mrkdwn(cut(str(outcome["detail"]), 300)[0])
    return text


def message(
    stored: Mapping[str, Any],
    *,
    dashboard: str,
    buttons: bool = True,
    now: float | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """``(fallback_text, blocks)`` for ``chat.postMessage`` / ``chat.update``.

    ``stored``: the dashboard's request JSON. ``dashboard``: the dashboard's base URL (the
    link). ``buttons``: Approve / Reject while the request is pending (False: "dashboard only",
    just the link). ``now`` (epoch seconds): for "expires in"; the fallback text is what
    notifications show, escaped as well.
    """
    now = time.time() if now is None else now
    rid = str(stored.get("id", ""))
    link = request_link(dashboard, rid)
    view = stored.get("view") if isinstance(stored.get("view"), Mapping) else {}
    assert isinstance(view, Mapping)
    function = str(view.get("function") or stored.get("function") or "?")
    risk = str(stored.get("risk") or "?")
    status = str(stored.get("status") or "pending")
    pending = status == "pending"
    title = "Approval needed" if pending else "Approval request"
    blocks: list[dict[str, Any]] = [_section(f"*{title}:* {_name(function, 200)}()")]
    summary = view.get("summary")
    if isinstance(summary, str) and summary:
        blocks.append(_context(mrkdwn(cut(summary, 300)[0], keep="")))
    facts = [f"*Risk:* {_name(risk)}"]
    requester = stored.get("on_behalf_of")
    if requester:
        facts.append(f"*Requested by:* {_name(str(requester))}")
    agent = stored.get("agent")
    if agent:
        facts.append(f"*Agent:* {_name(str(agent))}")
    needed = stored.get("approvals_needed")
    roles = stored.get("roles")
    if isinstance(needed, int):
        of = f" ({_names(roles)})" if isinstance(roles, list) and roles else ""
        facts.append(f"*Needs:* {needed} approval{'s' if needed != 1 else ''}{of}")
    expires = epoch(stored.get("expires_at"))
    if expires is not None and pending:
        as_of = datetime.fromtimestamp(now, UTC).strftime("%H:%M UTC")
        facts.append(f"*Expires:* {_date(expires)} (in {_duration(expires - now)}, as of {as_of})")
    blocks.append(_context("  ·  ".join(facts)))
    arguments = [a for a in view.get("arguments") or [] if isinstance(a, Mapping)]
    for argument in arguments[:MAX_ARGUMENTS]:
        blocks.append(_argument_block(argument, link))
    if not arguments:
        blocks.append(_context("_(no arguments)_"))
    if len(arguments) > MAX_ARGUMENTS:
        more = len(arguments) - MAX_ARGUMENTS
        blocks.append(_context(f"…and {more} more argument{'s' if more != 1 else ''}: <{link}|see them in the dashboard>"))
    blocks.append(_section(_status_text(stored)))
    elements: list[dict[str, Any]] = []
    version = stored.get("version")
    approvable = view.get("approvable", True) is not False
    if pending and buttons and type(version) is int:
        value = action_value(rid, version)
        if approvable:  # (else the store would refuse an approval: an argument too large to show whole)
            elements.append(
                {
                    "type": "button",
                    "action_id": APPROVE,
                    "style": "primary",
                    "value": value,
                    "text": {"type": "plain_text", "text": "Approve", "emoji": False},
                }
            )
        elements.append(
            {
                "type": "button",
                "action_id": REJECT,
                "style": "danger",
                "value": value,
                "text": {"type": "plain_text", "text": "Reject", "emoji": False},
            }
        )
    elements.append(
        {
            "type": "button",
            "action_id": OPEN,
            "url": link,
            "text": {"type": "plain_text", "text": "Edit in dashboard" if pending else "Open in dashboard", "emoji": False},
        }
    )
    blocks.append({"type": "actions", "block_id": "hitl_actions", "elements": elements})
    if pending and not buttons:
        blocks.append(_context(f"{_name(risk)} requests are decided in the dashboard only."))
    elif pending and not approvable:
        blocks.append(_context("An argument is too large to show whole, so this call can only be rejected."))
    state = _FINAL.get(status, mrkdwn(status, keep="")) + _AFTER.get(status, "")
    fallback = f"{title}: {_name(function, 200)}() [{_name(risk)}] — {state}"
    return fallback, blocks


def reject_modal(request_id: str, version: int, function: str, *, channel: str | None, ts: str | None) -> dict[str, Any]:
    """The modal Reject opens: a required feedback field the agent will read."""
    metadata = json.dumps({"id": request_id, "version": version, "channel": channel, "ts": ts}, separators=(",", ":"))
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Reject the call", "emoji": False},
        "submit": {"type": "plain_text", "text": "Reject", "emoji": False},
        "close": {"type": "plain_text", "text": "Cancel", "emoji": False},
        "blocks": [
            _section(f"Reject *{_name(function, 200)}()*? The agent reads your feedback and can try another way."),
            {
                "type": "input",
                "block_id": FEEDBACK_BLOCK,
                "label": {"type": "plain_text", "text": "Feedback for the agent", "emoji": False},
                "element": {
                    "type": "plain_text_input",
                    "action_id": FEEDBACK_INPUT,
                    "multiline": True,
                    "max_length": 3000,
                    "placeholder": {"type": "plain_text", "text": slack_plain("What should it do instead?", 150)},
                },
            },
        ],
    }


def request_facts(request: Any, stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a chat message shows about a request, from the dashboard's JSON or an ``ApprovalRequest``.

    Returns ``{id, function, summary, risk, status, agent, on_behalf_of, approvals_needed,
    expires_at, arguments: [{name, text, complete, length}], decision, decided_at}`` (missing
    facts are None). ``stored`` (the dashboard's JSON for the same request) wins where given;
    argument texts are :func:`hitl_widget.display.preview` of the values (hidden characters
    escaped), secret-named arguments ``[REDACTED]``.
    """
    source: Mapping[str, Any] | None = stored if isinstance(stored, Mapping) else None
    if source is None and isinstance(request, Mapping):
        source = request
    if source is not None:
        view = source.get("view") if isinstance(source.get("view"), Mapping) else {}
        assert isinstance(view, Mapping)
        arguments = []
        for a in view.get("arguments") or []:
            if not isinstance(a, Mapping):
                continue
            name = str(a.get("name", "?"))
            text = "[REDACTED] (shown in the dashboard)" if secret_named(name) else a.get("text", "")
            arguments.append({"name": name, "text": text, "complete": a.get("complete", True), "length": a.get("length")})
        return {
            "id": source.get("id"),
            "version": source.get("version"),
            "function": view.get("function") or source.get("function"),
            "summary": view.get("summary"),
            "risk": source.get("risk"),
            "status": source.get("status"),
            "agent": source.get("agent"),
            "on_behalf_of": source.get("on_behalf_of"),
            "approvals_needed": source.get("approvals_needed"),
            "expires_at": source.get("expires_at"),
            "arguments": arguments,
            "decision": source.get("decision"),
            "decided_at": source.get("decided_at"),
        }
    from .. import display

    arguments = []
    for name, value in getattr(request, "arguments", {}).items():
        if secret_named(name):
            arguments.append({"name": name, "text": "[REDACTED] (shown in the dashboard)", "complete": True, "length": None})
            continue
        text, shortened = display.preview(value, VALUE_CHARS + 1)
        arguments.append({"name": name, "text": text, "complete": not shortened, "length": None})
    created = getattr(request, "created_at", None)
    timeout = getattr(request, "timeout", None)
    expires = created.timestamp() + timeout if created is not None and timeout is not None else None
    context = getattr(request, "context", {}) or {}
    return {
        "id": None,
        "version": None,
        "function": getattr(request, "function", "?"),
        "summary": getattr(request, "summary", None),
        "risk": getattr(request, "risk", None),
        "status": "pending",
        "agent": context.get("agent"),
        "on_behalf_of": context.get("on_behalf_of"),
        "approvals_needed": None,
        "expires_at": expires,
        "arguments": arguments,
        "decision": None,
        "decided_at": None,
    }
