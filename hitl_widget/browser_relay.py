"""The card <-> kernel link in JupyterLite: a ``BroadcastChannel``, and blocking on it with ``run_sync``.

In JupyterLite the kernel is Pyodide in a Web Worker. A widget's comm message (the click)
queues behind the running cell, so a cell waiting for it would wait forever. Instead the
kernel names a ``BroadcastChannel`` (the card's ``relay`` trait); the card's JS sends its
decision there, Python hears it in an ordinary JS event handler, and a synchronous call
waits with ``pyodide.ffi.run_sync`` (JavaScript Promise Integration), which lets the
worker's event loop run meanwhile. Only importable usefully under Pyodide.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["Relay", "block_on", "can_block", "js_globals", "new_relay_name"]

T = TypeVar("T")


def js_globals() -> Any:
    """Pyodide's ``js`` module: the JS global scope (the page's ``window``, or a worker's ``self``)."""
    import js

    return js


def can_block() -> bool:
    """True when ``run_sync`` works here (JSPI enabled, Python entered through ``runPythonAsync``)."""
    try:
        from pyodide.ffi import can_run_sync
    except ImportError:  # not Pyodide, or a Pyodide without stack switching
        return False
    try:
        return bool(can_run_sync())
    except Exception:
        return False


def block_on(awaitable: Awaitable[T]) -> T:
    """Wait synchronously for ``awaitable`` while the browser's event loop keeps running."""
    from pyodide.ffi import run_sync

    result: T = run_sync(awaitable)
    return result


def new_relay_name() -> str:
    return f"hitl-{uuid.uuid4().hex}"


class Relay:
    """One ``BroadcastChannel``: ``on_message`` gets each message as plain Python data."""

    def __init__(self, name: str, on_message: Callable[[Any], None]) -> None:
        from pyodide.ffi import create_proxy

        self.name = name
        self._on_message = on_message
        self._channel: Any = js_globals().BroadcastChannel.new(name)
        self._proxy: Any = create_proxy(self._handle)
        self._channel.onmessage = self._proxy

    def _handle(self, event: Any) -> None:
        data = event.data
        to_py = getattr(data, "to_py", None)
        self._on_message(to_py() if to_py is not None else data)

    def post(self, message: dict[str, Any]) -> None:
        from pyodide.ffi import to_js

        self._channel.postMessage(to_js(message, dict_converter=js_globals().Object.fromEntries))

    def close(self) -> None:
        self._channel.onmessage = None
        self._channel.close()
        self._proxy.destroy()
