"""Run hitl_widget's core tests inside Pyodide under Node (``make test-pyodide``).

    .venv/bin/python scripts/run_pyodide_tests.py [pytest args ...]

Downloads (once, into build/pyodide-cache/) the wheels the core and pytest need under Pyodide
(scripts/pyodide_wheels.py), then runs tests/pyodide/run.mjs: npm's pyodide from
js/node_modules, the wheels unpacked, the package and the tests copied into its in-memory file
system, pytest over tests/unit and tests/pyodide. Without arguments it runs every unit test
module except those about the notebook card and the packaging (NOT_CORE below); tests that
need threads or processes are marked and skip there. Exit status: pytest's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pyodide_wheels import CACHE, ROOT, wheels

MANIFEST = CACHE.parent / "manifest.json"
RUNNER = ROOT / "tests" / "pyodide" / "run.mjs"
#: unit test modules that are not about the core: they import the card's libraries (anywidget,
#: IPython) or check the built package; everything else in tests/unit runs under Pyodide
NOT_CORE = [
    "tests/unit/test_widget_model.py",  # the card's anywidget model
    "tests/unit/test_lite_fallbacks.py",  # the Lite card in a (faked) Pyodide kernel: IPython, anywidget
    "tests/unit/test_notebook_interrupts.py",  # the notebook and Lite cards' approvers: anywidget
    "tests/unit/test_static_build.py",  # the JS bundle and the wheel build
]
#: JavaScript Promise Integration, for pyodide.ffi.run_sync (async tests); flag needed on Node 20
NODE_FLAGS = ["--experimental-wasm-stack-switching"]


def node_command(pytest_args: list[str], manifest: Path = MANIFEST, src: Path = ROOT) -> list[str]:
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed (the Pyodide tests run in Node): apt-get install -y nodejs")
    return [node, *NODE_FLAGS, str(RUNNER), "--manifest", str(manifest), "--src", str(src), "--", *pytest_args]


def write_manifest(manifest: Path = MANIFEST) -> Path:
    import json

    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps([str(p) for p in wheels()], indent=1) + "\n")
    return manifest


def main(argv: list[str]) -> int:
    manifest = write_manifest()
    args = argv or ["tests/unit", "tests/pyodide", *(f"--ignore={p}" for p in NOT_CORE)]
    return subprocess.run(node_command(args, manifest), cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
