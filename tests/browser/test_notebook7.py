"""The approval card in Notebook 7 (``jupyter notebook``, the ``notebook`` package): approve, reject with feedback.

Notebook 7 is a different frontend shell on the same JupyterLab components; the card
must render and deliver its decision there too.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    Lab,
    assert_all_local,
    cell,
    open_notebook7,
    pending_card,
    record_texts,
    run_cell,
    wait_cell_text,
    write_notebook,
)

pytestmark = pytest.mark.slow

CELLS = [
    """\
from hitl_widget import ApprovalRejected, require_approval

calls = []

@require_approval
def drop_table(name: str) -> str:
    \"\"\"Drop a database table.\"\"\"
    calls.append(name)
    return f"dropped {name}"

print("READY")
""",
    'print("RESULT", drop_table("sessions"))',
    'try:\n    drop_table("users")\nexcept ApprovalRejected as e:\n    print("REJECTED", e)\nprint("CALLS", calls)',
]


def test_card_in_notebook7(browser: Any, notebook7: Lab, page: Any) -> None:
    from playwright.sync_api import expect

    write_notebook(notebook7.root_dir, "nb7.ipynb", CELLS)
    open_notebook7(page, notebook7, "nb7.ipynb")
    assert "/notebooks/nb7.ipynb" in page.url
    assert page.locator("#jp-main-statusbar").count() == 0  # this is Notebook 7's shell, not JupyterLab's
    run_cell(page, 0)
    wait_cell_text(page, 0, "READY")

    # approve
    run_cell(page, 1)
    card = pending_card(page, 1)
    expect(card).to_contain_text("drop_table()")
    expect(card.locator(".hitl-arg-value")).to_have_text('"sessions"')
    card.get_by_role("button", name="Approve", exact=True).click()
    out = wait_cell_text(page, 1, "RESULT")
    assert "RESULT dropped sessions" in out, out
    records = record_texts(page, 1)
    assert len(records) == 1 and records[0].startswith("✓ drop_table() approved"), records

    # reject with feedback
    run_cell(page, 2)
    card = pending_card(page, 2)
    card.get_by_role("button", name="Reject", exact=True).click()
    card.locator("textarea.hitl-feedback").fill("users is production data")
    card.get_by_role("button", name="Send rejection").click()
    out = wait_cell_text(page, 2, "CALLS")
    assert "drop_table(name='users') was rejected by a human reviewer" in out and "users is production data" in out, out
    assert "CALLS ['sessions']" in out, out
    records = record_texts(page, 2)
    assert len(records) == 1 and records[0].startswith("✗ drop_table() rejected"), records
    assert records[0].endswith(": users is production data"), records
    expect(cell(page, 2).locator(".hitl-card:not(.hitl-record)")).to_have_count(0)

    assert_all_local(page)
