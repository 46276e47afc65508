"""The card in real JupyterLab: what the person reads is what runs.

- Layout: each argument's name sits on the same row as its own value, whatever the host page's
  output styles do to description lists (JupyterLab floats ``dt`` at 20% width, which once put
  later names in the value column). Checked by bounding boxes, light and dark, in a single card
  and in the batch review table, with long, wrapping annotations.
- A pending edit: with the edit panel holding changes, Approve cannot run the ORIGINAL
  arguments; the person runs the edit (asserted by what the function received) or discards it.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from conftest import CARD_TIMEOUT_MS, Lab, assert_all_local, cell, pending_card, run_cell, wait_cell_text
from lab_server import open_in_workspace, write_notebook

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"  # per-run (git-ignored)

SETUP = """\
import datetime
from typing import Literal
import hitl_widget
from hitl_widget import require_approval

def send_email(
    to: list[str],
    subject: str,
    body: str,
    priority: Literal["low", "normal", "urgent"] = "normal",
    cc: str | None = None,
    send_at: datetime.date | None = None,
    meta: dict | None = None,
    a_rather_long_argument_name_that_wraps_in_the_name_column_of_the_card: int = 1,
) -> str:
    \"\"\"Send an email.\"\"\"
    print("RAN", to, subject, priority, cc)
    return "sent"

batch = hitl_widget.Batch()
queued = batch.wrap(send_email)  # the undecorated function: the review table is its only gate
send_email = require_approval(send_email)
print("READY")
"""

BODY = "Hello team,\\n" + "Lorem ipsum dolor sit amet. " * 20

CELLS = [
    SETUP,  # 0
    f'send_email(["alice@example.com", "bob@example.com"], "Quarterly report", "{BODY}", meta={{"n": 1}})',  # 1 card
    # 2 the batch review table: two rows with the same arguments
    f'queued(["a@example.com"], "one", "{BODY}", meta={{"n": 1}}); queued(["b@example.com"], "two", "x", cc="c@x")\n'
    "print(batch.review_and_execute())",
    'print(send_email(["alice@example.com"], "Original subject", "hi"))',  # 3 pending edit: Approve is off
    'print(send_email(["alice@example.com"], "Keep me", "hi"))',  # 4 pending edit discarded, then Approve
]

# For every argument row: the name's and the value's boxes (the value's first line of text).
ROW_BOXES = """
card => [...card.querySelectorAll('.hitl-arguments > .hitl-arg-row')].map(row => {
  const box = e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const name = row.querySelector('.hitl-arg-name');
  const value = row.querySelector('.hitl-arg .hitl-value');
  return {arg: row.dataset.name, row: box(row), name: box(name), value: box(value), nameText: name.textContent};
})
"""


def _switch_theme(page: Any, theme: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.get_by_role("menuitem", name=theme, exact=False).first.click()
    page.wait_for_function("name => document.body.dataset.jpThemeName === name", arg=theme, timeout=CARD_TIMEOUT_MS)
    page.wait_for_timeout(300)


def _assert_aligned(card: Any, expected: list[str], where: str) -> None:
    rows: list[dict[str, Any]] = card.evaluate(ROW_BOXES)
    assert [r["arg"] for r in rows] == expected, (where, rows)
    heights = [r["name"]["bottom"] - r["name"]["top"] for r in rows]
    assert max(heights) > 1.5 * min(heights), (where, "no name wrapped onto a second line", rows)
    name_lefts = {round(r["name"]["left"]) for r in rows}
    value_lefts = {round(r["value"]["left"]) for r in rows}
    assert len(name_lefts) == 1, (where, "names not in one column", rows)
    assert len(value_lefts) == 1, (where, "values not in one column", rows)
    value_left = value_lefts.pop()
    for r in rows:
        n, v, box = r["name"], r["value"], r["row"]
        assert n["top"] >= box["top"] - 1 and n["bottom"] <= box["bottom"] + 1, (where, r)
        assert n["top"] - 1 <= v["top"] < n["bottom"], (where, "value not beside its name", r)
        assert n["right"] <= value_left, (where, "name runs into the value column", r)
    for above, below in itertools.pairwise(rows):
        assert below["row"]["top"] >= above["row"]["bottom"] - 1, (where, "rows overlap", above, below)


ARGS = ["to", "subject", "body", "priority", "cc", "send_at", "meta",
        "a_rather_long_argument_name_that_wraps_in_the_name_column_of_the_card"]  # fmt: skip


def test_argument_names_stay_beside_their_values(browser: Any, jupyterlab: Lab, page: Any) -> None:
    from playwright.sync_api import expect

    write_notebook(jupyterlab.root_dir, "layout.ipynb", CELLS[:3])
    open_in_workspace(page, jupyterlab, "layout.ipynb")
    run_cell(page, 0)
    wait_cell_text(page, 0, "READY")

    # a single card (the cell blocks until it is decided, so the review table runs next)
    run_cell(page, 1)
    card = pending_card(page, 1)
    _assert_aligned(card, ARGS, "card, light")
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    card.screenshot(path=str(ARTIFACTS / "card-rich-light.png"))
    _switch_theme(page, "JupyterLab Dark")
    _assert_aligned(card, ARGS, "card, dark")
    card.get_by_role("button", name="Approve", exact=True).click()
    wait_cell_text(page, 1, "RAN")

    # the batch review table renders the same card per row
    run_cell(page, 2)
    review = cell(page, 2).locator(".hitl-review")
    review.wait_for(state="visible", timeout=CARD_TIMEOUT_MS)
    rows = review.locator(".hitl-review-row .hitl-card")
    _assert_aligned(rows.nth(0), ARGS, "review row 1, dark")
    _assert_aligned(rows.nth(1), ARGS, "review row 2, dark")
    _switch_theme(page, "JupyterLab Light")
    _assert_aligned(rows.nth(0), ARGS, "review row 1, light")
    _assert_aligned(rows.nth(1), ARGS, "review row 2, light")
    review.get_by_role("button", name="Approve all").click()
    wait_cell_text(page, 2, "RAN")
    # the compact records say which call was decided, with the label the agent got
    calls = review.locator(".hitl-record-call")
    expect(calls.nth(0)).to_contain_text('PENDING_APPROVAL_1 send_email(to=["a@example.com"], subject="one", body="Hello')
    expect(calls.nth(1)).to_contain_text('PENDING_APPROVAL_2 send_email(to=["b@example.com"], subject="two", body="x"')
    expect(cell(page, 1).locator(".hitl-record-call")).to_contain_text('send_email(to=["alice@example.com", "bob@example.com"]')
    assert_all_local(page)


def test_approve_never_discards_a_pending_edit(browser: Any, jupyterlab: Lab, page: Any) -> None:
    from playwright.sync_api import expect

    write_notebook(jupyterlab.root_dir, "pending-edit.ipynb", [CELLS[0], CELLS[3], CELLS[4]])
    open_in_workspace(page, jupyterlab, "pending-edit.ipynb")
    run_cell(page, 0)
    wait_cell_text(page, 0, "READY")

    # An edit typed but not sent: Approve and Always approve are off and the card says why.
    run_cell(page, 1)
    card = pending_card(page, 1)
    card.get_by_role("button", name="Edit", exact=True).click()
    card.get_by_label("subject (str)").fill("Edited subject")
    expect(card.locator(".hitl-diff")).to_contain_text('subject: "Original subject" → "Edited subject"')
    approve = card.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_disabled()
    expect(card.get_by_role("button", name="Always approve")).to_be_disabled()
    expect(card.locator(".hitl-unsent")).to_be_visible()
    expect(card.locator(".hitl-unsent")).to_contain_text("unsent edits")
    ARTIFACTS.mkdir(exist_ok=True)
    card.screenshot(path=str(ARTIFACTS / "card-unsent-edit-light.png"))
    approve.click(force=True)  # a click on the disabled button sends nothing
    page.wait_for_timeout(500)
    assert "RAN" not in str(cell(page, 1).inner_text())
    card.get_by_role("button", name="Run with these arguments").click()
    out = wait_cell_text(page, 1, "RAN")
    assert "RAN ['alice@example.com'] Edited subject" in out, out
    assert "Original subject" not in out.split("RAN", 1)[1], out

    # Discard edits: the panel closes, Approve is on again and runs the original arguments.
    run_cell(page, 2)
    card = pending_card(page, 2)
    card.get_by_role("button", name="Edit", exact=True).click()
    card.get_by_label("subject (str)").fill("Not this")
    approve = card.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_disabled()
    card.get_by_role("button", name="Discard edits").click()
    expect(card.locator(".hitl-unsent")).to_be_hidden()
    expect(approve).to_be_enabled()
    approve.click()
    out = wait_cell_text(page, 2, "RAN")
    assert "RAN ['alice@example.com'] Keep me" in out and "Not this" not in out, out
    assert_all_local(page)
