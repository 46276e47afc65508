"""The Pyodide leg (``make test-pyodide``) fails when the core stops working in a browser.

A copy of the package gets one fault of each kind a CPython run does not notice, and the
core's tests run on it inside Pyodide (scripts/run_pyodide_tests.py, tests/pyodide/run.mjs): the run
must fail, with the reason in its output.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from run_pyodide_tests import node_command, write_manifest  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

COPIED = ["hitl_widget", "tests/unit", "tests/pyodide", "tests/fixtures"]

FAULTS = {
    # a core module starts a thread when imported (a worker, a timer): Pyodide has one thread
    "thread": ("hitl_widget/policy.py", "\nimport threading as _t\n_t.Timer(60, print).start()\n", "can't start new thread"),
    # a core module imports a notebook library at the top: the core is installed without it there
    "notebook-import": ("hitl_widget/gate.py", "\nimport ipywidgets as _w\n", "No module named 'ipywidgets'"),
    # the audit log takes a lock only a multi-process OS offers
    "process-lock": (
        "hitl_widget/audit.py",
        "\nimport multiprocessing as _mp\n_LOCK = _mp.Lock()\n",
        "No module named '_multiprocessing'",
    ),
}


@pytest.fixture(scope="module")
def manifest() -> Path:
    if shutil.which("node") is None:
        pytest.fail("node is needed for the Pyodide tests")
    return write_manifest()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_core_fault_that_only_a_browser_shows_fails_the_pyodide_leg(fault: str, manifest: Path, tmp_path: Path) -> None:
    for part in COPIED:
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__", "static"))
    path, code, reason = FAULTS[fault]
    with (tmp_path / path).open("a") as f:
        f.write(code)
    cmd = node_command(["tests/pyodide", "tests/unit/test_wrapper.py", "-q", "-x"], manifest, src=tmp_path)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert reason in output, output[-3000:]
