"""Where is this code running, and which channel can ask a person here?"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["detect_channel", "has_tty", "has_window", "in_ipython_kernel", "in_pyodide"]


def in_pyodide() -> bool:
    return sys.platform == "emscripten"


def in_ipython_kernel() -> bool:
    """True inside a Jupyter kernel (not in a plain IPython terminal)."""
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return False
    try:
        shell = ipython_module.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def has_window() -> bool:
    """True for Pyodide on a page's main thread (``window`` exists; not in a Web Worker)."""
    if not in_pyodide():
        return False
    from .browser_relay import js_globals

    try:
        scope = js_globals()
    except ImportError:
        return False
    return hasattr(scope, "window") and hasattr(scope.window, "confirm")


def has_tty() -> bool:
    for stream in (sys.stdin, sys.stdout):
        try:
            if stream is None or not stream.isatty():
                return False
        except (AttributeError, ValueError):  # replaced or closed streams
            return False
    return True


class CellWatch:
    """Whether an IPython cell is running now, from the shell's ``pre_run_cell`` / ``post_run_cell`` events.

    JupyterLite keeps the last cell's message as the kernel's parent after the cell ended,
    so the parent alone cannot tell a running cell from a JS event handler calling Python
    later. ``running`` is None where the events could not be watched.
    """

    def __init__(self) -> None:
        self.running: bool | None = None

    def install(self) -> None:
        try:
            from IPython import get_ipython

            events = get_ipython().events  # type: ignore[no-untyped-call]
            events.register("pre_run_cell", self._started)
            events.register("post_run_cell", self._ended)
        except Exception:
            return
        self.running = True  # installed on import of hitl_widget, which a cell does

    def _started(self, info: object) -> None:
        self.running = True

    def _ended(self, result: object) -> None:
        self.running = False


cells = CellWatch()


_terminal: Any = None
_notebook: Any = None
_browser: Any = None


def detect_channel() -> Any:
    """An approver for this environment, or None when no person can be asked here.

    Order: the notebook card inside a Jupyter kernel (JupyterLite's card under Pyodide),
    browser dialogs for Pyodide on a page's main thread, then a terminal (stdin and
    stdout are TTYs).
    """
    global _terminal, _notebook, _browser
    if in_ipython_kernel():
        if _notebook is None:
            if in_pyodide():
                from .approvers.lite import LiteApprover

                _notebook = LiteApprover()
            else:
                from .approvers.notebook import NotebookApprover

                _notebook = NotebookApprover()
        return _notebook
    if has_window():
        if _browser is None:
            from .approvers.browser import BrowserConfirmApprover

            _browser = BrowserConfirmApprover()
        return _browser
    if has_tty():
        if _terminal is None:
            from .approvers.terminal import TerminalApprover

            _terminal = TerminalApprover()
        return _terminal
    return None
