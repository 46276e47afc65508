"""The browser-dialog channel: Pyodide on a page's main thread (a plain HTML page, PyScript).

``window.confirm`` shows the call with every argument whole: OK approves. A call too long
for one dialog is shown in parts ("part 2 of 4"), one confirm each, and is approved only
after OK on the last part; a call too long for ``max_parts`` dialogs cannot be approved here
(the dialog says so; it can still be rejected, or edited to something shorter).

Cancel leads to ``window.prompt``: type feedback to reject (the agent reads it), or ``edit``
to get the editable arguments as exact JSON in a second prompt. A value too long for a
prompt, or one that is not JSON, is left out of that JSON (the dialog names it) and runs
unchanged. Only the arguments the person changed go into the ``Edit``; every other one runs
exactly as it was passed. A bad edit is asked again, with the problem and the person's own
text; a valid one is shown again in full for OK before anything runs.

A dismissed prompt (``jsnull``) cancels the call. Dialogs show plain text only; control and
invisible characters are escaped. A dialog cannot give up at a deadline: an answer that
comes after it fails closed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..decisions import Approve, Decision, Edit, Reject
from ..display import full_text, json_text
from ..errors import ApprovalCancelled, InvalidEdit
from ..formatting import call_text
from ..request import ApprovalRequest, ParameterInfo
from .terminal import _same, current_user, sanitize, wrap_exact

__all__ = ["BrowserConfirmApprover"]

MENU = (
    "Not approved. Type why to reject it (the agent reads this), or type edit to change the arguments.\nCancel: cancel the call."
)
EDIT = "Edit the arguments (JSON) and press OK; the call is shown again before it runs. Cancel: cancel the call."
# Chromium on Linux elides a dialog's message beyond 32 rows of 132 columns, elsewhere
# beyond 2,000 characters, and a prompt's default text beyond 24 x 132 / 2,000: stay below.
COLUMNS = 100
PART_ROWS = 28
PART_CHARS = 1800
PROMPT_CHARS = 2000


def _dismissed(answer: Any) -> bool:
    if answer is None:
        return True
    try:
        from pyodide.ffi import jsnull
    except ImportError:
        return False
    return answer is jsnull


@dataclass
class _Line:
    text: str
    owner: str | None = None  # the argument this row belongs to
    first: bool = False  # the row that names the argument


class BrowserConfirmApprover:
    """Asks with the page's ``window.confirm`` / ``window.prompt``.

    ``window`` defaults to the page's (``js.window``); pass any object with ``confirm``
    and ``prompt`` to drive it elsewhere. ``user`` is recorded as who decided.
    ``part_chars`` (characters) and ``max_parts`` bound each confirm dialog and how many
    of them one call may take; ``prompt_chars`` bounds the edit prompt's JSON.
    """

    channel = "browser"
    honors_deadline = True  # the gate fails a late answer closed

    def __init__(
        self,
        window: Any = None,
        *,
        user: str | None = None,
        part_chars: int = PART_CHARS,
        max_parts: int = 8,
        prompt_chars: int = PROMPT_CHARS,
    ) -> None:
        self._window = window
        self.user = user or current_user()
        self.part_chars = max(part_chars, 400)
        self.max_parts = max(max_parts, 1)
        self.prompt_chars = prompt_chars

    @property
    def window(self) -> Any:
        if self._window is None:
            from ..browser_relay import js_globals

            return js_globals().window
        return self._window

    # -- showing the call --------------------------------------------------------

    @staticmethod
    def _label(param: ParameterInfo) -> str:
        context = " context" if getattr(param, "injected", False) else ""
        return sanitize(f"{param.name} ({param.annotation}{context})").replace("\n", "\\n")

    def _body(self, request: ApprovalRequest, arguments: dict[str, Any], edited: set[str]) -> list[_Line]:
        lines: list[_Line] = []
        for param in request.parameters:
            if param.name not in arguments:
                continue
            mark = " · edited" if param.name in edited else ""
            text = f"{self._label(param)}{mark}: {sanitize(full_text(arguments[param.name]))}"
            first = True
            for raw in text.split("\n"):
                for row in wrap_exact(raw, COLUMNS):
                    lines.append(_Line(row, param.name, first))
                    first = False
        uncopied: dict[str, str] = getattr(request, "uncopied", None) or {}
        for name, why in uncopied.items():
            note = (
                f"⚠ {sanitize(name)} could not be copied when the call was made ({sanitize(why)}): "
                "the function gets the object itself, which may change before it runs"
            )
            lines += [_Line(row) for row in wrap_exact(note, COLUMNS)]
        return lines

    def parts(
        self, request: ApprovalRequest, arguments: dict[str, Any] | None = None, edited: set[str] | frozenset[str] = frozenset()
    ) -> list[str]:
        """The confirm dialogs' texts for the call with ``arguments`` (default: as requested).

        Together they show every argument whole; each fits one dialog.
        """
        arguments = request.arguments if arguments is None else arguments
        timeout = f" · times out in {request.timeout:g} s" if request.timeout else ""
        title = f"Approve this call? (risk: {request.risk.upper()}{timeout})"
        intro = [sanitize(call_text(request.function, arguments))]
        if request.summary:
            intro.append(sanitize(request.summary))
        if edited:
            intro.append(f"edited by you: {', '.join(sorted(edited))}")
        intro = [row for line in intro for row in wrap_exact(line, COLUMNS)]
        body = self._body(request, arguments, set(edited))
        # pack rows into parts, each with a title, the intro (first part) and a last line
        pages: list[list[str]] = []
        page: list[str] = [*intro, ""]
        size = sum(len(r) + 1 for r in page)
        rows_per_part = PART_ROWS - 4  # title, blank, blank, last line
        chars_per_part = self.part_chars - 200
        for line in body:
            if len(page) + 1 > rows_per_part or size + len(line.text) + 1 > chars_per_part:
                pages.append(page)
                page, size = [], 0
                if not line.first and line.owner is not None:
                    page.append(f"({line.owner}, continued)")
                    size += len(page[0]) + 1
            page.append(line.text)
            size += len(line.text) + 1
        pages.append(page)
        n = len(pages)
        texts = []
        for i, rows in enumerate(pages, start=1):
            head = title if n == 1 else f"{title} — part {i} of {n}"
            foot = "OK: approve · Cancel: edit or reject" if i == n else f"OK: show part {i + 1} of {n} · Cancel: edit or reject"
            texts.append("\n".join([head, "", *rows, "", foot]))
        return texts

    def question(self, request: ApprovalRequest) -> str:
        """The whole call as one text (the first dialog when it fits in one)."""
        return "\n\n".join(self.parts(request))

    # -- deciding ------------------------------------------------------------------

    def __call__(self, request: ApprovalRequest) -> Decision:
        window = self.window
        changes: dict[str, Any] = {}  # only what the person changed
        while True:
            arguments = request.apply_edit(changes) if changes else request.arguments
            chars = sum(len(full_text(v)) for v in arguments.values())
            # far too long: say so without laying out hundreds of dialogs first
            too_long = chars > self.max_parts * self.part_chars
            parts = [] if too_long else self.parts(request, arguments, frozenset(changes))
            too_long = too_long or len(parts) > self.max_parts
            menu = MENU
            if too_long:
                menu = (
                    f"This call cannot be approved here: its arguments take {chars:,} characters, more than "
                    f"{self.max_parts} dialogs can show, and nothing runs unseen.\n{MENU}"
                )
            elif all(window.confirm(part) for part in parts):  # stops at the first Cancel
                return Edit(arguments=changes, by=self.user) if changes else Approve(by=self.user)
            answer = window.prompt(menu, "")
            if _dismissed(answer):
                raise ApprovalCancelled("the dialog was dismissed")
            text = str(answer)
            if text.strip().lower() == "edit":
                changes = self._edit(window, request, changes)
                continue
            if not text.strip() and too_long:
                text = "the call's arguments were too long to review in a browser dialog"
            return Reject(feedback=text, by=self.user)

    def _editable_json(self, request: ApprovalRequest, arguments: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """(exact JSON values shown in the edit prompt, notes on the arguments left out)."""
        shown: dict[str, Any] = {}
        left_out: list[str] = []
        for param in request.parameters:
            if param.name not in arguments or not param.editable or getattr(param, "injected", False):
                continue
            text = json_text(arguments[param.name])
            if text is None:
                left_out.append(f"{param.name} (not JSON)")
                continue
            shown[param.name] = json.loads(text)
        while shown and len(json_text(shown) or "") > self.prompt_chars:
            name = max(shown, key=lambda k: len(json_text(shown[k]) or ""))
            length = len(json_text(shown.pop(name)) or "")
            left_out.append(f"{name} ({length:,} characters, too long for this dialog)")
        return shown, left_out

    def _edit(self, window: Any, request: ApprovalRequest, changes: dict[str, Any]) -> dict[str, Any]:
        """Ask for edited JSON until it is valid; returns the changes (only what differs from the original)."""
        arguments = request.apply_edit(changes) if changes else request.arguments
        shown, left_out = self._editable_json(request, arguments)
        base = EDIT
        if left_out:
            base = f"{EDIT}\nLeft out, they run unchanged (add a name to replace its value): {', '.join(left_out)}"
        text = json_text(shown) or "{}"
        message = base
        while True:
            answer = window.prompt(message, text)
            if _dismissed(answer):
                raise ApprovalCancelled("the dialog was dismissed")
            text = str(answer)
            problem, updated = self._apply(request, text, shown, changes)
            if problem is None:
                return updated
            message = f"✗ {sanitize(problem)[:500]}\n\n{base}"

    @staticmethod
    def _apply(
        request: ApprovalRequest, text: str, shown: dict[str, Any], changes: dict[str, Any]
    ) -> tuple[str | None, dict[str, Any]]:
        """(what is wrong with the edited JSON or None, the changes it makes)."""
        try:
            edited = json.loads(text)
        except ValueError as exc:
            return f"not valid JSON: {exc}", changes
        if not isinstance(edited, dict):
            return "the arguments must be a JSON object of names to values", changes

        def canonical(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False)

        updated = dict(changes)
        for name, value in edited.items():
            if name in shown and canonical(value) == canonical(shown[name]):
                continue  # untouched: keeps its current value, byte for byte
            updated[name] = value
        try:
            final = request.apply_edit(updated)
        except InvalidEdit as exc:
            return str(exc), changes
        for name in list(updated):
            if name in request.arguments and _same(final.get(name), request.arguments[name]):
                del updated[name]  # changed back to the original
        return None, updated
