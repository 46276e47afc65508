"""The browser-dialog channel: Pyodide on a page's main thread (a plain HTML page, PyScript).

``window.confirm`` shows the call: OK approves. Cancel leads to ``window.prompt``: type
feedback to reject (the agent reads it), or ``edit`` to get the arguments as JSON in a
second prompt, which is validated like any edit and asked again, with the problem and
the person's own text, until it is valid. A dismissed prompt (``jsnull``) cancels the
call. Dialogs show plain text only; control characters are escaped and long values cut.
A dialog cannot give up at a deadline: an answer that comes after it fails closed.
"""

from __future__ import annotations

import json
from typing import Any

from ..decisions import Approve, Decision, Edit, Reject
from ..errors import ApprovalCancelled, InvalidEdit
from ..formatting import json_safe, pretty_value
from ..request import ApprovalRequest
from .terminal import current_user, sanitize

__all__ = ["BrowserConfirmApprover"]

MENU = (
    "Not approved. Type why to reject it (the agent reads this), or type edit to change the arguments.\nCancel: cancel the call."
)
EDIT = "Edit the arguments (JSON) and press OK to run with them. Cancel: cancel the call."


def _dismissed(answer: Any) -> bool:
    if answer is None:
        return True
    try:
        from pyodide.ffi import jsnull
    except ImportError:
        return False
    return answer is jsnull


class BrowserConfirmApprover:
    """Asks with the page's ``window.confirm`` / ``window.prompt``.

    ``window`` defaults to the page's (``js.window``); pass any object with ``confirm``
    and ``prompt`` to drive it elsewhere. ``user`` is recorded as who decided.
    """

    channel = "browser"
    honors_deadline = True  # the gate fails a late answer closed

    def __init__(self, window: Any = None, *, user: str | None = None, value_chars: int = 300) -> None:
        self._window = window
        self.user = user or current_user()
        self.value_chars = value_chars

    @property
    def window(self) -> Any:
        if self._window is None:
            from ..browser_relay import js_globals

            return js_globals().window
        return self._window

    def question(self, request: ApprovalRequest) -> str:
        timeout = f" · times out in {request.timeout:g} s" if request.timeout else ""
        lines = [f"Approve this call? (risk: {request.risk.upper()}{timeout})", ""]
        lines.append(sanitize(request.call_text()))
        if request.summary:
            lines.append(sanitize(request.summary))
        lines.append("")
        for param in request.parameters:
            if param.name in request.arguments:
                value = pretty_value(request.arguments[param.name], self.value_chars).replace("\n", " ")
                lines.append(f"{param.name} ({param.annotation}): {sanitize(value)}")
        lines += ["", "OK: approve · Cancel: edit or reject"]
        return "\n".join(lines)

    def __call__(self, request: ApprovalRequest) -> Decision:
        window = self.window
        if window.confirm(self.question(request)):
            return Approve(by=self.user)
        while True:
            answer = window.prompt(MENU, "")
            if _dismissed(answer):
                raise ApprovalCancelled("the dialog was dismissed")
            text = str(answer)
            if text.strip().lower() == "edit":
                return self._edit(window, request)
            return Reject(feedback=text, by=self.user)

    def _edit(self, window: Any, request: ApprovalRequest) -> Edit:
        names = [p.name for p in request.parameters if p.editable and p.name in request.arguments]
        current = {name: json_safe(request.arguments[name]) for name in names}
        text = json.dumps(current, ensure_ascii=False)
        message = EDIT
        while True:
            answer = window.prompt(message, text)
            if _dismissed(answer):
                raise ApprovalCancelled("the dialog was dismissed")
            text = str(answer)
            problem = self._problem(request, text)
            if problem is None:
                return Edit(arguments=json.loads(text), by=self.user)
            message = f"✗ {sanitize(problem)[:500]}\n\n{EDIT}"

    @staticmethod
    def _problem(request: ApprovalRequest, text: str) -> str | None:
        """What is wrong with the edited JSON, or None when the function may run with it."""
        try:
            arguments = json.loads(text)
        except ValueError as exc:
            return f"not valid JSON: {exc}"
        if not isinstance(arguments, dict):
            return "the arguments must be a JSON object of names to values"
        try:
            request.apply_edit(arguments)
        except InvalidEdit as exc:
            return str(exc)
        return None
