"""BrowserConfirmApprover's dialog flow, driven by a scripted stand-in for ``window``.

The real ``window.confirm`` / ``window.prompt`` under Pyodide are exercised in
tests/browser/test_pyodide_page.py; here every branch of the flow runs fast.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hitl_widget import ApprovalCancelled, ApprovalRejected, ApprovalTimeout, Gate
from hitl_widget.approvers.browser import BrowserConfirmApprover

JSNULL = None  # what a dismissed prompt returns outside Pyodide (there: pyodide.ffi.jsnull)


class Window:
    """Answers confirm/prompt from a script and records every dialog's text."""

    def __init__(self, confirm: bool, prompts: list[str | None] | None = None) -> None:
        self._confirm = confirm
        self._prompts = list(prompts or [])
        self.dialogs: list[tuple[str, str, str]] = []

    def confirm(self, message: str) -> bool:
        self.dialogs.append(("confirm", message, ""))
        return self._confirm

    def prompt(self, message: str, default: str = "") -> str | None:
        self.dialogs.append(("prompt", message, default))
        if not self._prompts:
            raise AssertionError(f"unexpected prompt: {message!r}")
        return self._prompts.pop(0)


ran: list[tuple[int, str]] = []


def make(window: Window, **options: Any) -> Any:
    gate = Gate(approver=BrowserConfirmApprover(window, user="ana"))

    @gate.require_approval(**options)
    def refund(order: int, reason: str = "damaged") -> str:
        """Refund an order."""
        ran.append((order, reason))
        return f"refunded {order}"

    ran.clear()
    return refund


def test_ok_approves_and_the_dialog_shows_the_call_as_text() -> None:
    window = Window(confirm=True)
    assert make(window)(7) == "refunded 7"
    kind, text, _ = window.dialogs[0]
    assert kind == "confirm" and "refund(order=7, reason='damaged')" in text
    assert "Refund an order." in text and "risk: " in text


def test_cancel_then_feedback_rejects_and_the_agent_reads_it() -> None:
    window = Window(confirm=False, prompts=["wrong order, use 8"])
    with pytest.raises(ApprovalRejected, match="wrong order, use 8") as info:
        make(window)(7)
    assert info.value.feedback == "wrong order, use 8"
    assert ran == []


def test_edit_runs_with_the_validated_json() -> None:
    window = Window(confirm=False, prompts=["edit", '{"order": 8, "reason": "late"}'])
    assert make(window)(7) == "refunded 8"
    assert ran == [(8, "late")]
    _, _, default = window.dialogs[-1]
    assert json.loads(default) == {"order": 7, "reason": "damaged"}


def test_bad_edits_are_asked_again_keeping_the_persons_text() -> None:
    window = Window(confirm=False, prompts=["EDIT", '{"order": "abc"}', "[1, 2]", "{not json", '{"order": 9}'])
    assert make(window)(7) == "refunded 9"
    messages = [(m, d) for kind, m, d in window.dialogs if kind == "prompt"][2:]
    assert "order" in messages[0][0] and "✗" in messages[0][0] and messages[0][1] == '{"order": "abc"}'
    assert "JSON object" in messages[1][0] and messages[1][1] == "[1, 2]"
    assert "not valid JSON" in messages[2][0] and messages[2][1] == "{not json"


@pytest.mark.parametrize("prompts", [[JSNULL], ["edit", JSNULL]])
def test_a_dismissed_prompt_cancels(prompts: list[str | None]) -> None:
    with pytest.raises(ApprovalCancelled):
        make(Window(confirm=False, prompts=prompts))(7)
    assert ran == []


def test_hostile_arguments_are_plain_text_without_control_characters() -> None:
    window = Window(confirm=True)
    make(window)(1, "\x1b[2J<img src=x onerror=alert(1)>" + "x" * 5000)
    _, text, _ = window.dialogs[0]
    assert "\x1b" not in text and "\\x1b[2J<img src=x onerror=alert(1)>" in text
    assert len(text) < 2000


def test_a_late_answer_fails_closed() -> None:
    class Slow(Window):
        def confirm(self, message: str) -> bool:
            import time

            time.sleep(0.3)
            return True

    with pytest.raises(ApprovalTimeout):
        make(Slow(confirm=True), timeout=0.1)(7)
    assert ran == []
