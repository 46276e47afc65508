"""The quickstart notebook in real JupyterLab: what a new user sees, the three decisions clicked on its cards.

Also writes docs/screenshots/quickstart-notebook.png: the notebook as opened, with the first
card waiting (light theme).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import Lab, assert_all_local, cell, open_notebook, pending_card, record_texts, run_cell, wait_cell_text

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "quickstart-notebook.png"

# cell indices in notebooks/quickstart.ipynb
DEFINE, APPROVE, EDIT, REJECT = 1, 3, 5, 7


@pytest.mark.slow
def test_quickstart_in_jupyterlab(browser: Any, jupyterlab: Lab, page: Any) -> None:
    from playwright.sync_api import expect

    shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", jupyterlab.root_dir / "quickstart.ipynb")
    page.set_viewport_size({"width": 1280, "height": 1100})
    open_notebook(page, jupyterlab, "quickstart.ipynb")
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()  # fold the file browser away
    assert "refund(" in cell(page, APPROVE).inner_text()  # the indices still point at the story's cells

    for index in range(APPROVE + 1):  # intro, the definition, the text, the first call
        run_cell(page, index)
    wait_cell_text(page, DEFINE, "refund(order_id: str, amount: float) -> str")
    card = pending_card(page, APPROVE)
    expect(card).to_contain_text("refund()")
    expect(card).to_contain_text("A-1001")
    expect(card).to_contain_text("high")

    # what a new user sees: the notebook from its title down to the first card, waiting
    page.mouse.move(0, 0)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer").evaluate("e => e.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    box = card.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 1100 - 30, f"the card does not fit in the screenshot: {box}"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    card.get_by_role("button", name="Approve", exact=True).click()
    assert "refunded 25.00 EUR on order A-1001" in wait_cell_text(page, APPROVE, "refunded")
    assert record_texts(page, APPROVE)[0].startswith("✓ refund() approved")

    run_cell(page, EDIT - 1)
    run_cell(page, EDIT)
    card = pending_card(page, EDIT)
    card.get_by_role("button", name="Edit", exact=True).click()
    field = card.get_by_label("amount (float)")
    field.fill("forty")  # the card checks as you type
    run_edit = card.get_by_role("button", name="Run with these arguments")
    expect(run_edit).to_be_disabled()
    field.fill("40")
    expect(card.locator(".hitl-diff")).to_contain_text("amount: 80.0 → 40")
    run_edit.click()
    out = wait_cell_text(page, EDIT, "refunded")
    assert "refunded 40.00 EUR on order A-1002" in out and "80.00" not in out, out

    run_cell(page, REJECT - 1)
    run_cell(page, REJECT)
    card = pending_card(page, REJECT)
    card.get_by_role("button", name="Reject", exact=True).click()
    card.locator("textarea.hitl-feedback").fill("refunds over 100 EUR need a manager; offer store credit instead")
    card.get_by_role("button", name="Send rejection").click()
    out = wait_cell_text(page, REJECT, "the agent reads:")
    assert "was rejected by a human reviewer" in out and "offer store credit instead" in out, out
    assert "refunded" not in out

    assert_all_local(page)
