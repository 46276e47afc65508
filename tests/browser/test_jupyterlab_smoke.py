"""hitl_widget imports and gates a call in real JupyterLab, driven by headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import Lab, assert_all_local, open_notebook, run_all_cells, wait_for_outputs

# test runs write here (git-ignored); docs/screenshots/ holds the curated copies
SCREENSHOT = Path(__file__).resolve().parents[2] / "test-results" / "jupyterlab-smoke.png"

IMPORT_CELL = 'import hitl_widget; print("hitl", hitl_widget.__version__)'
REJECT_CELL = """\
from hitl_widget import Gate, ScriptedApprover, Reject, ApprovalRejected

def delete_user(user_id: int) -> str:
    return f"deleted {user_id}"

gate = Gate(approver=ScriptedApprover([Reject("not on a Friday", by="alice")]))
safe_delete = gate.wrap(delete_user)
try:
    safe_delete(42)
except ApprovalRejected as e:
    print("rejected:", e)
    print("feedback:", e.feedback)
"""


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(IMPORT_CELL), nbformat.v4.new_code_cell(REJECT_CELL)]
    nbformat.write(nb, path)


@pytest.mark.slow
def test_gate_rejects_in_real_jupyterlab(browser: Any, jupyterlab: Lab, page: Any) -> None:
    # `browser` first: a missing Chromium skips (or, under CI, fails) before JupyterLab starts.
    import hitl_widget

    _write_notebook(jupyterlab.root_dir / "smoke.ipynb")
    open_notebook(page, jupyterlab, "smoke.ipynb")
    run_all_cells(page)

    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output')].some(e => e.innerText.includes('feedback:'))",
        timeout=30_000,
    )
    texts = wait_for_outputs(page, 2)
    joined = "\n".join(texts)
    assert f"hitl {hitl_widget.__version__}" in joined, texts
    assert "rejected: delete_user(user_id=42) was rejected by a human reviewer (alice): not on a Friday" in joined, texts
    assert "feedback: not on a Friday" in joined, texts
    assert "deleted 42" not in joined and "Traceback" not in joined, texts

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    assert_all_local(page)
