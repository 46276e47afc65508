"""The plain Pyodide page (examples/pyodide-page/, served by the Lite build at /pyodide-page/).

Pyodide runs on the page's main thread, so hitl_widget's default channel there is the
browser's own dialogs. Playwright's dialog handler plays the person: accept the confirm,
dismiss it and give feedback, edit the arguments as JSON (a bad edit is asked again), and
dismiss a prompt (cancel).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import assert_all_local
from lite_site import LiteSite

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

START_TIMEOUT_MS = 120_000


def _open(page: Any, site: LiteSite) -> None:
    page.goto(site.url("pyodide-page/index.html"))
    page.get_by_role("status").filter(has_text="Ready.").wait_for(timeout=START_TIMEOUT_MS)


def _answer(page: Any, script: list[tuple[str, str | None]]) -> list[tuple[str, str, str]]:
    """Answer dialogs in order: ("accept", text or None) or ("dismiss", None). Returns what was shown."""
    shown: list[tuple[str, str, str]] = []
    steps = list(script)

    def handle(dialog: Any) -> None:
        shown.append((dialog.type, dialog.message, dialog.default_value))
        action, text = steps.pop(0) if steps else ("dismiss", None)
        if action == "accept":
            dialog.accept(text) if text is not None else dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", handle)
    return shown


def _refund(page: Any, order: int, amount: str) -> str:
    page.locator("#order").fill(str(order))
    page.locator("#amount").fill(amount)
    page.locator("#result").evaluate("e => { e.textContent = '' }")
    page.get_by_role("button", name="Refund").click()
    page.wait_for_function("() => document.querySelector('#result').textContent !== ''", timeout=30_000)
    return str(page.locator("#result").text_content())


@pytest.fixture
def pyodide_page(browser: Any, lite_site: LiteSite, page: Any) -> Iterator[Any]:
    _open(page, lite_site)
    yield page
    assert_all_local(page)


def test_ok_approves(pyodide_page: Any) -> None:
    shown = _answer(pyodide_page, [("accept", None)])
    assert _refund(pyodide_page, 42, "19.99") == "RESULT refunded 19.99 on order 42"
    kind, message, _ = shown[0]
    assert kind == "confirm" and "refund(order_id=42, amount=19.99, note='')" in message
    assert "risk: HIGH" in message and "Refund a customer's order." in message


def test_cancel_then_feedback_rejects(pyodide_page: Any) -> None:
    shown = _answer(pyodide_page, [("dismiss", None), ("accept", "order 7 was never paid")])
    result = _refund(pyodide_page, 7, "5")
    assert result.startswith("ApprovalRejected: ") and "order 7 was never paid" in result, result
    assert [s[0] for s in shown] == ["confirm", "prompt"]
    assert "refunded" not in result


def test_prompt_edit_is_validated_and_asked_again(pyodide_page: Any) -> None:
    shown = _answer(
        pyodide_page,
        [
            ("dismiss", None),
            ("accept", "edit"),
            ("accept", '{"amount": "lots"}'),
            ("accept", '{"amount": 5.5, "note": "partial"}'),
        ],
    )
    assert _refund(pyodide_page, 8, "50") == "RESULT refunded 5.50 on order 8"
    edit_prompts = [s for s in shown if s[0] == "prompt"][1:]
    assert '"order_id": 8' in edit_prompts[0][2] and '"amount": 50' in edit_prompts[0][2]
    assert "✗" in edit_prompts[1][1] and "amount" in edit_prompts[1][1]
    assert edit_prompts[1][2] == '{"amount": "lots"}'  # the person's text is kept


def test_dismissed_prompt_cancels(pyodide_page: Any) -> None:
    _answer(pyodide_page, [("dismiss", None), ("dismiss", None)])
    result = _refund(pyodide_page, 9, "1")
    assert result.startswith("ApprovalCancelled: "), result
