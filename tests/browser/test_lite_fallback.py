"""LiteApprover's fallbacks in the real JupyterLite kernel (Pyodide in a Web Worker, Debian's Chromium).

A cell in Chromium can block on ``run_sync`` (JSPI), so it gets the card (test_lite_card.py).
Where it cannot block, LiteApprover falls back to the terminal menu read with ``input()``
(JupyterLite's stdin box in the cell's output), and when ``input()`` fails it fails closed
with NoApprovalChannel pointing to Batch. Python entered from a widget callback (a comm
message) can neither block nor get a stdin box: it fails closed at once.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import assert_all_local
from lite_site import (
    LiteSite,
    cell_output_text,
    first_cell,
    first_cell_output,
    open_lite_notebook,
    run_code_in_new_cell,
    wait_cell_output,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ANSWER_TIMEOUT_MS = 60_000

FUNCTION = '''\
from hitl_widget import require_approval

@require_approval
def transfer(amount: int) -> str:
    """Move money."""
    print("RAN", amount)
    return f"moved {amount}"

def call(*args):
    try:
        print("RESULT", transfer(*args))
    except Exception as e:
        print("ERROR", type(e).__name__, e)
'''


def _answer_stdin(page: Any, prompt: str, text: str) -> None:
    """Type ``text`` + Enter into the first cell's stdin box once it shows ``prompt``."""
    stdin = first_cell(page).locator(".jp-Stdin", has_text=prompt)
    box = stdin.locator(".jp-Stdin-input")
    box.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    box.fill(text)
    box.press("Enter")


def test_a_lite_cell_in_chromium_can_block(browser: Any, lite_site: LiteSite, page: Any) -> None:
    """The card depends on it: a cell runs in Pyodide and run_sync works there (JSPI)."""
    open_lite_notebook(page, lite_site, "quickstart.ipynb")
    run_code_in_new_cell(
        page,
        "import sys\nfrom hitl_widget.browser_relay import can_block\nprint('PLATFORM', sys.platform, 'CAN_BLOCK', can_block())",
    )
    out = first_cell_output(page)
    assert "PLATFORM emscripten CAN_BLOCK True" in out, out
    assert_all_local(page)


def test_lite_falls_back_to_the_stdin_box_then_fails_closed(browser: Any, lite_site: LiteSite, page: Any) -> None:
    """can_block() False in a cell: the terminal menu in the stdin box; no stdin either: NoApprovalChannel."""
    open_lite_notebook(page, lite_site, "quickstart.ipynb")
    run_code_in_new_cell(
        page,
        FUNCTION + "import hitl_widget.approvers.lite as lite\nlite.can_block = lambda: False  # as without JSPI\nprint('READY')",
    )
    assert "READY" in first_cell_output(page)

    # reject with feedback, line by line in the stdin box
    run_code_in_new_cell(page, "call(9)")
    _answer_stdin(page, "> ", "r")
    _answer_stdin(page, "Feedback for the agent", "too much, ask for 3")
    out = first_cell_output(page)
    assert "Approval needed" in out and "amount (int): 9" in out and "[a] approve" in out, out
    assert "ERROR ApprovalRejected" in out and "too much, ask for 3" in out, out
    assert "RAN 9" not in out and "RESULT" not in out, out

    # approve: the call runs
    run_code_in_new_cell(page, "call(5)")
    _answer_stdin(page, "> ", "a")
    out = first_cell_output(page)
    assert "RAN 5" in out and "RESULT moved 5" in out and "ERROR" not in out, out

    # no stdin box either (input() fails): fail closed, pointing to Batch
    run_code_in_new_cell(
        page,
        "import builtins\n"
        "_input = builtins.input\n"
        "def _no_stdin(*args, **kwargs):\n"
        "    raise RuntimeError('no stdin here')\n"
        "builtins.input = _no_stdin\n"
        "try:\n"
        "    call(7)\n"
        "finally:\n"
        "    builtins.input = _input",
    )
    out = first_cell_output(page)
    assert "ERROR NoApprovalChannel" in out and "Batch" in out, out
    assert "RAN 7" not in out and "RESULT" not in out, out

    assert_all_local(page)


BUTTON = (
    FUNCTION
    + """\
import ipywidgets as widgets
from IPython.display import display
from hitl_widget.browser_relay import can_block

out = widgets.Output()
button = widgets.Button(description="Transfer 5")

def on_click(_):
    with out:
        print("CALLBACK_CAN_BLOCK", can_block())
        call(5)

button.on_click(on_click)
display(button, out)
print("READY")
"""
)


def test_a_widget_callback_in_lite_fails_closed_and_the_kernel_stays_usable(browser: Any, lite_site: LiteSite, page: Any) -> None:
    """Python entered synchronously (a Button's on_click): it can neither block nor get a stdin box
    (JupyterLite shows one only for a cell), so NoApprovalChannel pointing to Batch; never a hang."""
    open_lite_notebook(page, lite_site, "quickstart.ipynb")
    run_code_in_new_cell(page, BUTTON)
    assert "READY" in first_cell_output(page)
    cell = first_cell(page)
    cell.get_by_role("button", name="Transfer 5").click()
    wait_cell_output(page, cell, "CALLBACK_CAN_BLOCK", ANSWER_TIMEOUT_MS)

    deadline = time.monotonic() + 30
    outcome = None
    while outcome is None and time.monotonic() < deadline:
        text = cell_output_text(cell)
        if "ERROR" in text or "RESULT" in text:
            outcome = "error"
        elif cell.locator(".jp-Stdin-input").count():
            outcome = "stdin"
        else:
            page.wait_for_timeout(250)
    assert outcome == "error", f"no error 30 s after the click ({outcome}):\n{cell_output_text(cell)}"
    out = cell_output_text(cell)
    assert "CALLBACK_CAN_BLOCK False" in out, out
    assert "ERROR NoApprovalChannel" in out and "Batch" in out, out
    assert "RAN 5" not in out, out

    # the kernel is still usable
    run_code_in_new_cell(page, "print('AFTER')")
    assert "AFTER" in first_cell_output(page, timeout_ms=30_000)
    assert_all_local(page)


TIMER = (
    FUNCTION
    + """\
from js import setTimeout
from pyodide.ffi import create_once_callable

later = []

def from_a_timer():
    try:
        later.append(("RESULT", transfer(5)))
    except Exception as e:
        later.append(("ERROR", type(e).__name__, str(e)))

setTimeout(create_once_callable(from_a_timer), 200)
print("SCHEDULED")
"""
)


def test_a_js_timer_after_the_cell_ended_fails_closed(browser: Any, lite_site: LiteSite, page: Any) -> None:
    """Python entered from a JS event after its cell ended (the kernel still names that cell as parent)."""
    open_lite_notebook(page, lite_site, "quickstart.ipynb")
    run_code_in_new_cell(page, TIMER)
    assert "SCHEDULED" in first_cell_output(page)
    page.wait_for_timeout(1000)
    run_code_in_new_cell(page, "print('LATER', later)")
    out = first_cell_output(page, timeout_ms=30_000)
    assert "LATER [('ERROR', 'NoApprovalChannel'" in out and "Batch" in out, out
    assert "RAN 5" not in out, out
    assert_all_local(page)
