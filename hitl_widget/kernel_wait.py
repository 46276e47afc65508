"""Wait for a :class:`threading.Event` without freezing an IPython kernel's comm traffic.

A cell that blocks on the kernel's main thread stops the kernel from reading its shell
channel, so the widget's ``comm_msg`` (the person's click) would never arrive. While
waiting on the main thread of a running ipykernel (6.x or 7.x), :func:`wait_for` polls
the main shell stream itself: comm messages (``comm_open``/``comm_msg``/``comm_close``)
are handled at once; every other message (a queued cell, say) is kept and, in a
``finally``, handed back to the stream's own receive callback in arrival order, so it
runs after the current cell.

On another thread of an ipykernel 6 kernel (an agent SDK running a sync tool in a thread
while the cell awaits), the kernel has already read the click but queues it behind the
awaiting cell (``kernel.msg_queue``). There :func:`wait_for` also runs a small task on the
kernel's loop that takes comm messages out of that queue and handles them at once
(ipykernel >= 7 does the same by itself). Elsewhere (a subshell, plain Python) it is just
``event.wait(timeout)``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable
from typing import Any

__all__ = ["wait_for"]

# Slice of one poll of the shell socket: bounds how late an event set by another thread
# (a subshell handling the click, say) is noticed.
_POLL_MS = 10

_COMM_TYPES = frozenset({"comm_open", "comm_msg", "comm_close"})


class _Deferred(threading.local):
    """Messages kept back while a (possibly nested) wait runs on this thread."""

    def __init__(self) -> None:
        self.depth = 0
        self.messages: list[list[Any]] = []


_deferred = _Deferred()


def wait_for(event: threading.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; return ``event.is_set()``.

    On the main thread of a running IPython kernel, comm messages keep flowing while it
    waits. A kernel interrupt (``KeyboardInterrupt``) propagates, after the messages kept
    back have been returned to the kernel.
    """
    if event.is_set():
        return True
    found = _main_shell_stream()
    if found is not None:
        kernel, stream = found
        return _poll_shell(kernel, stream, event, timeout)
    queued = _kernel_with_message_queue()
    if queued is not None:
        return _wait_draining_queue(queued, event, timeout)
    return event.wait(timeout)


def _main_shell_stream() -> tuple[Any, Any] | None:
    """The kernel and its main shell ZMQStream, when called on a kernel's main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None or getattr(kernel, "session", None) is None:
        return None
    channel_thread = getattr(kernel, "shell_channel_thread", None)
    stream: Any
    if channel_thread is not None:  # ipykernel 7: the shell channel thread forwards to an inproc pair
        try:
            stream = channel_thread.manager.get_shell_channel_to_subshell_pair(None).to_stream
        except Exception:
            return None
    else:  # ipykernel 6: the main thread reads the shell socket itself
        stream = getattr(kernel, "shell_stream", None)
    if stream is None or getattr(stream, "socket", None) is None or stream.closed():
        return None
    return kernel, stream


def _kernel_with_message_queue() -> Any | None:
    """An ipykernel 6 kernel (shell messages wait in ``msg_queue``), when called off its main thread."""
    if threading.current_thread() is threading.main_thread():
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None or getattr(kernel, "session", None) is None:
        return None
    if getattr(kernel, "shell_channel_thread", None) is not None:
        return None  # ipykernel 7 dispatches comm messages while a cell awaits
    queue = getattr(getattr(kernel, "msg_queue", None), "_queue", None)
    if queue is None or getattr(kernel, "io_loop", None) is None or getattr(kernel, "shell_stream", None) is None:
        return None
    return kernel


def _wait_draining_queue(kernel: Any, event: threading.Event, timeout: float | None) -> bool:
    """``event.wait`` while a task on the kernel's loop handles queued comm messages."""
    stop = threading.Event()

    async def drain() -> None:
        while not (stop.is_set() or event.is_set()):
            _take_queued_comm_messages(kernel)
            await asyncio.sleep(_POLL_MS / 1000)

    kernel.io_loop.add_callback(drain)
    try:
        return event.wait(timeout)
    finally:
        stop.set()


def _take_queued_comm_messages(kernel: Any) -> None:
    """Runs on the kernel's loop: handle the comm messages waiting in ``msg_queue``, keep the rest in order."""
    queue = kernel.msg_queue._queue
    for item in list(queue):
        try:
            _, dispatch, args = item
        except (TypeError, ValueError):
            continue
        if getattr(dispatch, "__name__", "") != "dispatch_shell" or len(args) != 1:
            continue
        frames = args[0]
        if _comm_type(kernel, frames) is None:
            continue
        try:
            queue.remove(item)
        except ValueError:  # the kernel took it meanwhile
            continue
        _dispatch_comm(kernel, kernel.shell_stream, frames)


def _poll_shell(kernel: Any, stream: Any, event: threading.Event, timeout: float | None) -> bool:
    import zmq

    deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
    socket: zmq.Socket[Any] = stream.socket
    copy = bool(getattr(stream, "_recv_copy", False))
    poller = zmq.Poller()
    poller.register(socket, zmq.POLLIN)
    _deferred.depth += 1
    try:
        while not event.is_set():
            if deadline is None:
                slice_ms = _POLL_MS
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                slice_ms = max(1, min(_POLL_MS, int(left * 1000)))
            if not poller.poll(slice_ms):
                continue
            while not event.is_set():
                try:
                    frames = socket.recv_multipart(zmq.NOBLOCK, copy=copy)
                except zmq.Again:
                    break
                if _comm_type(kernel, frames) is None:
                    _deferred.messages.append(frames)
                else:
                    _dispatch_comm(kernel, stream, frames)
        return event.is_set()
    finally:
        _deferred.depth -= 1
        if _deferred.depth == 0:
            kept, _deferred.messages = _deferred.messages, []
            _replay(stream, kept)


def _comm_type(kernel: Any, frames: list[Any]) -> str | None:
    """The message type if ``frames`` is a comm message; None for anything else."""
    session = kernel.session
    try:
        _, body = session.feed_identities(frames, copy=False)
        # content=False does not record the signature, so the kept message replays cleanly.
        header = session.deserialize(body, content=False, copy=False)["header"]
    except Exception:
        return None  # let the kernel report a malformed message when it replays it
    msg_type = header.get("msg_type")
    return msg_type if msg_type in _COMM_TYPES else None


def _dispatch_comm(kernel: Any, stream: Any, frames: list[Any]) -> None:
    """Handle one comm message now, as ``Kernel.dispatch_shell`` would, keeping the cell's parent."""
    session = kernel.session
    try:
        idents, body = session.feed_identities(frames, copy=False)
        msg = session.deserialize(body, content=True, copy=False)
    except Exception:
        kernel.log.error("hitl_widget: invalid comm message", exc_info=True)
        return
    handler = kernel.shell_handlers.get(msg["header"]["msg_type"])
    if handler is None:
        return
    reply_to: Any = stream
    channel_thread = getattr(kernel, "shell_channel_thread", None)
    if channel_thread is not None:
        reply_to = channel_thread.manager.get_subshell_to_shell_channel_socket(None)
    parent = kernel.get_parent("shell")
    parent_ident = kernel._parent_ident["shell"]
    kernel.set_parent(idents, msg, channel="shell")
    try:
        result = handler(reply_to, idents, msg)
        if inspect.isawaitable(result):
            _run_awaitable(result)
    except Exception:
        kernel.log.error("hitl_widget: exception in comm handler", exc_info=True)
    finally:
        kernel.set_parent(parent_ident, parent, channel="shell")


def _run_awaitable(awaitable: Awaitable[Any]) -> None:
    """Run an async handler to completion; the main loop is busy running this cell."""

    async def drive() -> None:
        await awaitable

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(drive())
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=run, name="hitl-comm-handler", daemon=True)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


def _replay(stream: Any, kept: list[list[Any]]) -> None:
    """Hand kept messages back to the stream's receive callback in order, then re-arm it."""
    callback = getattr(stream, "_recv_callback", None)
    for frames in kept:
        if callback is None:
            break
        try:
            stream._run_callback(callback, frames)
        except Exception:  # already logged by the stream; the next messages must still run
            continue
    # Our poll consumed the socket's edge-triggered readiness: make the stream look again.
    stream._rebuild_io_state()
