"""Every notebook in notebooks/ is stored for readable diffs, and every one is run by a test here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from harness import NOTEBOOKS

ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
#: what each notebook's test file is called; a notebook with no test here fails test_every_notebook_has_a_test
TESTS = Path(__file__).resolve().parent
CELL_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
#: what JupyterLab and nbformat generate for a new cell: a UUID, or 8+ hex digits
GENERATED_ID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{8,}")


def test_there_are_notebooks() -> None:
    assert "quickstart.ipynb" in ALL, ALL


@pytest.mark.parametrize("name", ALL)
def test_stored_with_cleared_outputs_and_stable_ids(name: str) -> None:
    path = NOTEBOOKS / name
    raw = json.loads(path.read_text(encoding="utf-8"))
    nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    nbformat.validate(nb)
    assert raw["nbformat"] == 4 and raw["nbformat_minor"] >= 5, "cell ids need nbformat 4.5"
    ids = [c["id"] for c in raw["cells"]]
    assert len(ids) == len(set(ids)), f"duplicate cell ids in {name}"
    # ids that name the cell (stable across saves), not the random ones a fresh frontend invents
    random_looking = [i for i in ids if not CELL_ID.fullmatch(i) or GENERATED_ID.fullmatch(i)]
    assert not random_looking, f"{name}: cell ids that look generated: {random_looking}"
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{name} cell {cell['id']}: outputs are stored"
            assert cell["execution_count"] is None, f"{name} cell {cell['id']}: an execution count is stored"
        run_metadata = {"execution", "collapsed", "scrolled"} & set(cell.get("metadata", {}))
        assert not run_metadata, f"{name} cell {cell['id']}: run metadata {run_metadata}"
    assert "widgets" not in raw["metadata"], f"{name}: widget state is stored"
    assert raw["metadata"].get("kernelspec", {}).get("name") == "python3", f"{name}: kernelspec"


@pytest.mark.parametrize("name", ALL)
def test_every_notebook_has_a_test(name: str) -> None:
    test_file = TESTS / f"test_{name.removesuffix('.ipynb')}.py"
    assert test_file.exists(), f"{name} has no test here ({test_file.name}): every notebook runs top to bottom in make test"
    assert f'"{name}"' in test_file.read_text(), f"{test_file.name} does not run {name}"


@pytest.mark.parametrize("name", ALL)
def test_no_library_the_lite_site_cannot_offer(name: str) -> None:
    """The offline JupyterLite site has no numpy, pandas or matplotlib (no Pyodide wheels on the registry)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    used = re.findall(r"^\s*(?:import|from)\s+(numpy|pandas|matplotlib|seaborn|plotly)\b", code, flags=re.M)
    assert not used, f"{name} imports {used}"
