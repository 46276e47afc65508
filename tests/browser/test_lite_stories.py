"""customer_support_refunds.ipynb top to bottom in the offline JupyterLite site, its cards and review table clicked.

The demanding one of the story notebooks for the browser-only kernel (Pyodide in a Web Worker,
no threads): the demo agent's awaited cards, a TimeWindow and Budget on an injected clock, a
Batch reviewed in the table (awaited), the audit trail as a table and the chart. The kernel
tests (tests/notebooks/) assert the whole story; this checks the same outcomes arrive in Lite.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import assert_all_local
from lite_site import LiteSite, first_cell_output, open_lite_notebook, run_code_in_new_cell

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
CARD_TIMEOUT_MS = 120_000  # the first card waits for the kernel's start and pydantic-ai's import
TOTALS = "{'Mon 30 Nov': 187.0, 'Tue 01 Dec': 295.0, 'Wed 02 Dec': 117.0}"


def _pending(page: Any, text: str) -> Any:
    """The first undecided card (a lone card or one in a review table), once it shows ``text``."""
    from playwright.sync_api import expect

    card = page.locator(f"{NOTEBOOK} .hitl-card:not(.hitl-record)").first
    card.wait_for(state="visible", timeout=CARD_TIMEOUT_MS)
    expect(card).to_contain_text(text, timeout=CARD_TIMEOUT_MS)
    expect(card.locator(".hitl-function")).to_have_text("refund()")
    return card


def _reject(card: Any, feedback: str) -> None:
    card.get_by_role("button", name="Reject", exact=True).click()
    card.locator("textarea.hitl-feedback").fill(feedback)
    card.get_by_role("button", name="Send rejection").click()


def _outputs(page: Any) -> str:
    return "\n".join(str(t) for t in page.locator(f"{NOTEBOOK} .jp-OutputArea-output").all_inner_texts())


def _wait_for_output(page: Any, text: str) -> None:
    """Wait until some output shows ``text``, scrolling to the end (JupyterLab renders only cells near the viewport)."""
    found = page.locator(f"{NOTEBOOK} .jp-OutputArea-output", has_text=text)
    deadline = time.monotonic() + CARD_TIMEOUT_MS / 1000
    while found.count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"no output shows {text!r}; the outputs:\n{_outputs(page)}")
        page.evaluate(
            "() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')"
            ".forEach((el) => { el.scrollTop = el.scrollHeight; })"
        )
        page.wait_for_timeout(250)


def test_customer_support_refunds_in_lite(browser: Any, lite_site: LiteSite, page: Any) -> None:
    from playwright.sync_api import expect

    open_lite_notebook(page, lite_site, "customer_support_refunds.ipynb")
    run_code_in_new_cell(page, "print('KERNEL READY')")
    assert "KERNEL READY" in first_cell_output(page)
    page.locator(f"{NOTEBOOK} .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.keyboard.press("d")  # the helper cell goes again: the notebook runs as shipped
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    # Monday: over the day's budget, then over 500 EUR
    card = _pending(page, '"T-104"')
    card.get_by_role("button", name="Approve", exact=True).click()
    _reject(_pending(page, '"T-105"'), "inspect the returned laptop before refunding anything over 500 EUR")
    # Tuesday's review table: approve, a partial refund by edit, reject
    card = _pending(page, "PENDING_APPROVAL_1")
    expect(card).to_contain_text('"T-108"')
    card.get_by_role("button", name="Approve", exact=True).click()
    card = _pending(page, "PENDING_APPROVAL_2")
    card.get_by_role("button", name="Edit", exact=True).click()
    card.get_by_label("amount (float)").fill("50")
    card.get_by_role("button", name="Run with these arguments").click()
    _reject(_pending(page, "PENDING_APPROVAL_3"), "we already sent a replacement lens; no refund")

    _wait_for_output(page, TOTALS)  # the chart's totals: what ran, edits applied, as in the kernel test
    texts = _outputs(page)
    assert "Traceback" not in texts, texts
    assert "chain intact: True" in texts
    notebook = page.locator(NOTEBOOK)
    expect(notebook.locator('svg[aria-label="refunds by day"] rect')).not_to_have_count(0)
    expect(notebook.locator("table caption", has_text="refunds.audit.jsonl")).to_have_count(1)
    audit = str(notebook.locator("table", has_text="refunds.audit.jsonl").inner_text())
    assert "95.00 → 50.00" in audit and "refused: outside business hours" in audit
    assert audit.count("approved by") == 2 and audit.count("rejected by") == 2
    assert_all_local(page)
