"""Where is this code running, and which channel can ask a person here?"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from typing import Any

__all__ = [
    "NOTEBOOK_INSTALL",
    "NOTEBOOK_LIBRARIES",
    "MissingLibrary",
    "channel_problems",
    "detect_channel",
    "has_tty",
    "has_window",
    "in_ipython_kernel",
    "in_pyodide",
    "missing_modules",
    "require_libraries",
    "require_notebook_libraries",
]

#: what the notebook card (JupyterLab, Notebook 7, JupyterLite) imports beyond the core
NOTEBOOK_LIBRARIES = ("anywidget", "ipywidgets", "traitlets")
#: how to get them (they are dependencies of hitl_widget; the extra names them for installs made without)
NOTEBOOK_INSTALL = "%pip install 'hitl_widget[notebook]' in a notebook cell (pip install 'hitl_widget[notebook]' in a terminal)"


class MissingLibrary(ModuleNotFoundError):
    """A library that a channel (or an integration) needs is not installed.

    Raised where the channel is first used, before anything runs; the message names the
    missing modules and the command that installs them; ``name`` is the first missing
    module::

        try:
            from hitl_widget.widget import ApprovalCard
        except MissingLibrary as e:
            print(e)   # the notebook card needs anywidget ... pip install 'hitl_widget[notebook]'
    """


def missing_modules(modules: Iterable[str]) -> list[str]:
    """The top-level modules among ``modules`` that cannot be imported here (found without importing them).

    A module set to None in ``sys.modules`` counts as missing (Python's way to block an import).
    """
    missing = []
    for name in modules:
        if name in sys.modules:
            if sys.modules[name] is None:
                missing.append(name)
            continue
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def missing_library_message(missing: list[str], *, needed_for: str, install: str) -> str:
    """``"<needed_for> needs a and b, which are not installed in this Python (<path>): <install>"``."""
    names = " and ".join(missing) if len(missing) <= 2 else ", ".join(missing[:-1]) + " and " + missing[-1]
    verb = "is" if len(missing) == 1 else "are"
    where = "" if in_pyodide() else f" ({sys.executable})"  # under Pyodide sys.executable names the JS host
    return f"{needed_for} needs {names}, which {verb} not installed in this Python{where}. Install: {install}"


def require_libraries(modules: Iterable[str], *, needed_for: str, install: str) -> None:
    """Raise :class:`MissingLibrary` naming ``install`` unless every one of ``modules`` can be imported.

    For channels and integrations that import their libraries lazily: call it where the channel
    is created or first used, so the error says what to install instead of surfacing as a
    bare ``ModuleNotFoundError`` from deep inside. ``needed_for`` is what needs them
    (``"the notebook card"``), ``install`` the command (``"pip install 'hitl_widget[notebook]'"``).
    """
    missing = missing_modules(modules)
    if missing:
        raise MissingLibrary(missing_library_message(missing, needed_for=needed_for, install=install), name=missing[0])


DASHBOARD_LIBRARIES = ("starlette", "anyio")
DASHBOARD_INSTALL = "pip install 'hitl_widget[dashboard]'"


def require_dashboard_libraries() -> None:
    """Raise :class:`MissingLibrary` unless the dashboard server's libraries (Starlette, anyio) import.

    The server's modules (``hitl_widget.dashboard.app`` and the modules it mounts) call it when
    their own imports fail, so the error names the extra; the store alone needs none of them.
    """
    require_libraries(DASHBOARD_LIBRARIES, needed_for="hitl_widget's dashboard server", install=DASHBOARD_INSTALL)


def require_notebook_libraries() -> None:
    """Raise :class:`MissingLibrary` unless the notebook card's libraries (anywidget, ipywidgets) import."""
    require_libraries(NOTEBOOK_LIBRARIES, needed_for="hitl_widget's notebook card", install=NOTEBOOK_INSTALL)


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


def channel_problems() -> list[str]:
    """Why a channel that fits this environment cannot be used (its libraries are missing); empty normally.

    Inside a Jupyter kernel (JupyterLab, Notebook 7, JupyterLite) the card needs anywidget and
    ipywidgets; the text names what to install, for the error the default approver raises.
    """
    if not in_ipython_kernel():
        return []
    missing = missing_modules(NOTEBOOK_LIBRARIES)
    if not missing:
        return []
    needed = missing_library_message(
        missing, needed_for="this is a Jupyter kernel, but hitl_widget's notebook card", install=NOTEBOOK_INSTALL
    )
    return [needed + ", then restart the kernel"]


def detect_channel() -> Any:
    """An approver for this environment, or None when no person can be asked here.

    Order: the notebook card inside a Jupyter kernel (JupyterLite's card under Pyodide)
    where its libraries are installed (else :func:`channel_problems` says what to install),
    browser dialogs for Pyodide on a page's main thread, then a terminal (stdin and
    stdout are TTYs).
    """
    global _terminal, _notebook, _browser
    if in_ipython_kernel() and (_notebook is not None or not missing_modules(NOTEBOOK_LIBRARIES)):
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
