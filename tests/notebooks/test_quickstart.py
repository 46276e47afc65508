"""The example notebooks run top to bottom in a real kernel and show what they promise."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _outputs(nb: nbformat.NotebookNode) -> str:
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


@pytest.mark.slow
def test_quickstart_runs_in_a_real_kernel(tmp_path: Path) -> None:
    shutil.copy(NOTEBOOKS / "quickstart.ipynb", tmp_path)
    nb = nbformat.read(tmp_path / "quickstart.ipynb", as_version=4)
    # cells that wait for a click are exercised by tests/kernel and tests/browser
    nb.cells = [c for c in nb.cells if "needs-a-person" not in c.get("metadata", {}).get("tags", [])]
    nbclient.NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = _outputs(nb)
    assert "refunded 25.00 on A-1" in text
    assert "refunded 40.00 on A-2" in text  # the edit "40" became a float
    assert "was rejected by a human reviewer: refunds over 100 need a manager" in text
    assert "{1: 'sent to a@example.com', 2: 'REJECTED: not this customer'}" in text
    assert "chain intact" in text
