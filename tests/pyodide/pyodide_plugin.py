"""pytest plugin for the core's tests inside Pyodide (loaded by tests/pyodide/run.mjs).

* Tests marked ``threads`` or ``subprocess`` are skipped with the reason: Pyodide has one
  thread and no processes (``threading.Thread.start`` raises), as in a browser; ``notebook``
  ones too (the core is installed without the card's anywidget here). Everything else runs,
  so a core change that starts a thread, or needs ``fcntl`` or a real file system where the
  browser has none, fails here. A test that truly needs threads gets ``@pytest.mark.threads``.
* ``async def`` tests run to completion with ``pyodide.ffi.run_sync`` (JavaScript Promise
  Integration; Node needs ``--experimental-wasm-stack-switching``): Pyodide's asyncio loop is
  the browser's event loop and cannot be run from inside a running task otherwise. pytest-asyncio
  is not installed there; its ``asyncio_mode = auto`` means this is all it did for these tests.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import pytest

REASONS = {
    "threads": "needs threads: Pyodide has a single thread (as in a browser)",
    "subprocess": "starts processes: Pyodide cannot (as in a browser)",
    "notebook": "needs the notebook card's libraries (anywidget), not installed with the core here",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.platform != "emscripten":
        return
    for item in items:
        for name, reason in REASONS.items():
            if item.get_closest_marker(name) is not None:
                item.add_marker(pytest.mark.skip(reason=reason))
                break


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Tell the JS host which test runs: if the runtime dies (a fatal error), run.mjs names it."""
    if sys.platform == "emscripten":
        import js

        js.globalThis.hitlCurrentTest = nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    from pyodide.ffi import can_run_sync, run_sync

    if not can_run_sync():
        pytest.skip("async test: pyodide.ffi.run_sync is unavailable (no JavaScript Promise Integration)")
    names = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in names}
    run_sync(pyfuncitem.obj(**kwargs))
    return True
