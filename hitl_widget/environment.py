"""Where is this code running, and which channel can ask a person here?"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["detect_channel", "has_tty", "in_ipython_kernel", "in_pyodide"]


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


def has_tty() -> bool:
    for stream in (sys.stdin, sys.stdout):
        try:
            if stream is None or not stream.isatty():
                return False
        except (AttributeError, ValueError):  # replaced or closed streams
            return False
    return True


_terminal: Any = None
_notebook: Any = None


def detect_channel() -> Any:
    """An approver for this environment, or None when no person can be asked here.

    Order: the notebook card inside a Jupyter kernel, then a terminal (stdin and
    stdout are TTYs).
    """
    global _terminal, _notebook
    if in_ipython_kernel():
        if _notebook is None:
            from .approvers.notebook import NotebookApprover

            _notebook = NotebookApprover()
        return _notebook
    if has_tty():
        if _terminal is None:
            from .approvers.terminal import TerminalApprover

            _terminal = TerminalApprover()
        return _terminal
    return None
