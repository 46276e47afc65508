"""What only holds inside Pyodide (run by ``make test-pyodide``; skipped elsewhere).

The rest of the core's tests (tests/unit) run there too; these check the environment itself:
that this really is the single-threaded WebAssembly Python a browser runs, that every core
module imports in it without the notebook stack, and what the default approver does there.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "emscripten", reason="runs inside Pyodide: make test-pyodide")

#: imported only where a notebook kernel runs: the card's libraries and the kernel's
NOTEBOOK_STACK = ("anywidget", "ipywidgets", "traitlets", "IPython", "ipykernel", "comm", "zmq")


def test_this_is_pyodide_with_one_thread():
    assert sys.platform == "emscripten"
    with pytest.raises(RuntimeError, match="can't start new thread"):
        threading.Thread(target=lambda: None).start()


def test_every_module_imports_without_the_notebook_stack_or_says_what_to_install():
    import hitl_widget
    from hitl_widget.environment import MissingLibrary

    failed = {}
    for info in pkgutil.walk_packages(hitl_widget.__path__, "hitl_widget."):
        if info.name.endswith(".__main__"):
            continue  # runs the CLI
        try:
            importlib.import_module(info.name)
        except MissingLibrary:
            pass  # a channel's module (the card): its error says what to install
        except ImportError as exc:
            if "pip install" not in str(exc):  # an integration without its SDK must name the extra
                failed[info.name] = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            failed[info.name] = f"{type(exc).__name__}: {exc}"
    assert failed == {}
    loaded = sorted(name for name in NOTEBOOK_STACK if name in sys.modules)
    assert loaded == [], "importing hitl_widget's modules imported the notebook stack"
    assert threading.active_count() == 1


def test_the_default_approver_fails_closed_saying_how_to_choose():
    from hitl_widget import NoApprovalChannel, require_approval

    ran = []

    @require_approval
    def delete(name: str) -> None:
        ran.append(name)

    with pytest.raises(NoApprovalChannel, match=r"delete\(name='x'\) was not run: no approval channel is available here"):
        delete("x")
    assert ran == []
