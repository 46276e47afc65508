"""The card's countdown in real JupyterLab: it counts down, then the card fails closed.

``@require_approval(timeout=TIMEOUT_S)``: the card shows "times out in N s", N decreases
while nobody decides, and at the deadline the card becomes a "timed out" record, the
cell raises ApprovalTimeout and the function never runs.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import (
    Lab,
    assert_all_local,
    cell,
    open_in_workspace,
    pending_card,
    record_texts,
    run_cell,
    wait_cell_text,
    write_notebook,
)

pytestmark = pytest.mark.slow

TIMEOUT_S = 6

CELLS = [
    f"""\
from hitl_widget import require_approval

calls = []

@require_approval(timeout={TIMEOUT_S})
def wire_money(amount: int) -> str:
    calls.append(amount)
    print("RAN", amount)
    return "wired"

print("READY")
""",
    'print("RESULT", wire_money(500))',
    'print("CALLS", calls)',
]

COUNTDOWN = re.compile(r"^times out in (\d+) s$")


def _seconds_left(card: Any) -> int:
    text = str(card.locator(".hitl-countdown").inner_text()).strip()
    match = COUNTDOWN.match(text)
    assert match, f"countdown reads {text!r}"
    return int(match.group(1))


def test_countdown_then_timed_out_record(browser: Any, jupyterlab: Lab, page: Any) -> None:
    from playwright.sync_api import expect

    write_notebook(jupyterlab.root_dir, "countdown.ipynb", CELLS)
    open_in_workspace(page, jupyterlab, "countdown.ipynb")
    run_cell(page, 0)
    wait_cell_text(page, 0, "READY")

    run_cell(page, 1)
    card = pending_card(page, 1)
    first = _seconds_left(card)
    assert 0 < first <= TIMEOUT_S, first
    # it decreases while nobody decides (the card ticks once a second)
    page.wait_for_function(
        """([el, first]) => {
            const m = /times out in (\\d+) s/.exec(el.textContent || "");
            return m !== null && Number(m[1]) < first;
        }""",
        arg=[card.locator(".hitl-countdown").element_handle(), first],
        timeout=5_000,
    )
    assert _seconds_left(card) < first

    # at the deadline: a "timed out" record, ApprovalTimeout in the output, nothing ran
    out = wait_cell_text(page, 1, "ApprovalTimeout", timeout_ms=(TIMEOUT_S + 20) * 1000)
    assert "wire_money(amount=500) was not approved: no decision within 6 s, so it did not run" in out, out
    # (the traceback quotes the cell's source, so look for the printed lines, not the words)
    assert not [line for line in out.splitlines() if line.startswith(("RESULT ", "RAN "))], out
    expect(cell(page, 1).locator(".hitl-card:not(.hitl-record)")).to_have_count(0)
    records = record_texts(page, 1)
    assert len(records) == 1 and records[0].startswith("⏱ wire_money() timed out") and records[0].endswith(": not run"), records
    assert cell(page, 1).locator(".hitl-record-timed_out").count() == 1
    assert cell(page, 1).get_by_role("button", name="Approve", exact=True).count() == 0

    run_cell(page, 2)
    out = wait_cell_text(page, 2, "CALLS")
    assert "CALLS []" in out, out
    assert_all_local(page)
