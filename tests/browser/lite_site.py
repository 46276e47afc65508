"""The offline JupyterLite site (build/lite/), built when stale and served on 127.0.0.1 from a thread.

``conftest.py`` wraps ``serve_lite_site()`` in the session-scoped ``lite_site`` fixture. The helpers
drive a notebook in Lite as a person would. Lite runs Python in the browser (Pyodide in a Web
Worker), so the first cell waits for the kernel to start: ~15-20 s on a 2-core machine.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = ROOT / "build" / "lite"
BUILD_SCRIPT = ROOT / "scripts" / "build_lite.py"
#: what the site is built from: newer than the site means rebuild
SITE_INPUTS = [
    ROOT / "hitl_widget",
    ROOT / "js" / "src",
    ROOT / "notebooks",
    ROOT / "examples",
    ROOT / "lite",
    BUILD_SCRIPT,
    ROOT / "pyproject.toml",
    ROOT / "js" / "package-lock.json",
]
BUILD_TIMEOUT_S = 600
#: navigation to the first output: the kernel's cold start (Pyodide, the wheels, IPython)
LITE_OUTPUT_TIMEOUT_MS = 240_000  # pydantic-ai-slim is preloaded too (issue 9): +6 s quiet, far more under load

_CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


@dataclass(frozen=True)
class LiteSite:
    base_url: str  # e.g. "http://127.0.0.1:40123" (no trailing slash)
    directory: Path

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def notebook_url(self, name: str) -> str:
        return self.url(f"lab/index.html?path={name}")


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        newest = max([newest, *(p.stat().st_mtime for p in files if "__pycache__" not in p.parts)])
    return newest


def site_is_stale(site_dir: Path = SITE_DIR) -> bool:
    marker = site_dir / "jupyter-lite.json"
    return not marker.exists() or marker.stat().st_mtime < _newest_mtime(SITE_INPUTS)


def build_site() -> None:
    """Run scripts/build_lite.py (the current hitl_widget wheel, Pyodide and the other wheels, jupyter lite build)."""
    proc = subprocess.run([sys.executable, str(BUILD_SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/build_lite.py failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")


@contextmanager
def serve_lite_site(site_dir: Path = SITE_DIR) -> Iterator[LiteSite]:
    """Build the site if missing or stale, serve it on a free 127.0.0.1 port from a thread; always stop."""
    if site_dir == SITE_DIR and site_is_stale(site_dir):
        build_site()
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from serve_lite import make_server
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    server = make_server(site_dir, 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, name="lite-site", daemon=True)
    thread.start()
    try:
        yield LiteSite(base_url=f"http://127.0.0.1:{server.server_address[1]}", directory=site_dir)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- driving a notebook in Lite ----------------------------------------------------------


def open_lite_notebook(page: Any, site: LiteSite, name: str) -> None:
    """Open ``name`` (a notebook of the site's contents) in Lite's JupyterLab; returns once its cells show.

    The kernel may still be starting: run a cell and wait for its output.
    """
    page.goto(site.notebook_url(name))
    page.locator(_CELLS).first.wait_for(timeout=LITE_OUTPUT_TIMEOUT_MS)


def run_code_in_new_cell(page: Any, code: str) -> None:
    """Insert a cell above the first one, type ``code`` into it and run it (Shift+Enter)."""
    page.locator(_CELLS).first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("a")  # a new cell above, now the first one
    page.locator(_CELLS).first.locator(".cm-content").click()
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")


def first_cell_output(page: Any, timeout_ms: int = LITE_OUTPUT_TIMEOUT_MS) -> str:
    """The text of the first cell's outputs, once it has one and its kernel is idle again."""
    outputs = page.locator(_CELLS).first.locator(".jp-OutputArea-output")
    outputs.first.wait_for(timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while "Idle" not in page.locator("#jp-main-statusbar").inner_text() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return "\n".join(str(t) for t in outputs.all_inner_texts())


def first_cell(page: Any) -> Any:
    """The first cell of the notebook shown (run_code_in_new_cell puts each new cell there)."""
    return page.locator(_CELLS).first


def cell_output_text(cell: Any) -> str:
    """The text of a cell's own output area (not its source, which may name the same words)."""
    return str(cell.locator(".jp-Cell-outputArea").inner_text())


def wait_cell_output(page: Any, cell: Any, text: str, timeout_ms: int = 60_000) -> str:
    """Wait until ``cell``'s output area contains ``text``; return that output's text."""
    page.wait_for_function(
        "([cell, text]) => { const o = cell.querySelector('.jp-Cell-outputArea'); return !!o && o.innerText.includes(text); }",
        arg=[cell.element_handle(), text],
        timeout=timeout_ms,
    )
    return cell_output_text(cell)
