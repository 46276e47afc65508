"""Wait for a :class:`threading.Event` without freezing an IPython kernel's comm traffic.

A cell that blocks on the kernel's main thread stops the kernel from reading its shell
channel, so the widget's ``comm_msg`` (the person's click) would never arrive. How the
click still gets through depends on where the wait runs:

- **On the kernel's main thread** (a sync cell calls the tool), :func:`wait_for` polls the
  main shell stream itself: comm messages (``comm_open``/``comm_msg``/``comm_close``) are
  handled at once; every other message (a queued cell, say) is kept and, in a ``finally``,
  handed back to the stream's own receive callback in arrival order, so it runs after the
  current cell.
- **On another thread, ipykernel >= 7.4** (a sync cell runs tools in a thread pool and blocks
  in ``pool.map``; an agent SDK's worker thread): :func:`served` has the kernel's shell
  channel thread hand the card's comm messages to a kernel subshell of hitl_widget's own
  (created the way the kernel creates any subshell, on its control thread), whose thread
  handles them while the main thread is blocked. That subshell's message lock stays taken,
  so the kernel handles each comm message there as it does while a cell awaits: at once and
  without a status of its own. The waiting thread just waits on the event.
- **On another thread, ipykernel 6** (no subshells): while the cell awaits, the kernel has
  already read the click but queues it behind the cell (``kernel.msg_queue``); a small task
  on the kernel's loop takes comm messages out of that queue and handles them at once. When
  instead the main thread is blocked in the cell's own code waiting for threads (``pool.map``,
  ``future.result()``, ``join()``), nothing can read the click: :func:`wait_for` raises
  :class:`NotAnswerable` after :data:`GRACE` seconds rather than hang.

While a cell runs, other nested handling (a control request, another widget's message on a
frontend's subshell) ends with an ``idle`` status that frontends take for the whole kernel;
:func:`keep_busy` has the kernel publish ``busy`` again right after it, so every indicator
shows the kernel busy until the cell ends. A kernel interrupt of the cell a worker's wait
belongs to raises ``KeyboardInterrupt`` in that worker too (a sync cell's interrupt, or an
awaiting cell's cancellation, which the worker's wait keeps the kernel's loop awake for).

Elsewhere (plain Python, a non-IPython thread) it is just ``event.wait(timeout)``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import inspect
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

__all__ = ["GRACE", "NotAnswerable", "comms_while_awaiting", "keep_busy", "served", "wait_for"]

# Slice of one poll of the shell socket: bounds how late an event set by another thread
# (a subshell handling the click, say) is noticed.
_POLL_MS = 10

# Slice of a worker thread's wait: bounds how late an interrupt of its cell is noticed.
_WORKER_SLICE = 0.02

GRACE = 0.3
"""Seconds a worker waits for a sign that the kernel can still deliver the click (ipykernel 6)."""

W = TypeVar("W")

_COMM_TYPES = frozenset({"comm_open", "comm_msg", "comm_close"})

WHAT_WORKS = (
    "Run the calls where the kernel can deliver clicks instead: await them from an async cell "
    "(`await asyncio.gather(asyncio.to_thread(tool, a), asyncio.to_thread(tool, b))`), call them "
    "one by one from the cell itself, or queue them in a hitl_widget.Batch and review them with "
    "`batch.review_and_execute()`; ipykernel >= 7.4 also answers calls from a thread pool."
)


class NotAnswerable(RuntimeError):
    """No click can reach this wait: the kernel's main thread is blocked waiting for this thread.

    The message says why and what works instead (:data:`WHAT_WORKS`).
    """


class _Deferred(threading.local):
    """Messages kept back while a (possibly nested) wait runs on this thread."""

    def __init__(self) -> None:
        self.depth = 0
        self.messages: list[list[Any]] = []


_deferred = _Deferred()
_main_polls = 0  # how many waits the main thread runs now (it handles comm messages meanwhile)


def wait_for(event: threading.Event, timeout: float | None, *, widget: Any = None) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; return ``event.is_set()``.

    On the main thread of a running IPython kernel, comm messages keep flowing while it
    waits. A kernel interrupt (``KeyboardInterrupt``) propagates, after the messages kept
    back have been returned to the kernel; on a worker thread of a kernel, an interrupt of
    the cell it was started from raises ``KeyboardInterrupt`` here as well.

    Raises :class:`NotAnswerable` (at once, after :data:`GRACE` seconds) where the click
    cannot reach the kernel while this thread waits. ``widget`` is the widget whose click
    sets ``event``: on ipykernel >= 7.4, one not made by :func:`served` (its subshell could
    not be created) has its messages sent to the main thread, so the same check applies.
    """
    found = _main_shell_stream()
    if found is not None:
        if event.is_set():
            return True
        kernel, stream = found
        return _poll_shell(kernel, stream, event, timeout)
    kernel = _kernel_off_main()
    if kernel is None:
        return event.wait(timeout)
    keeper = keep_busy(kernel)
    parent = keeper.running if keeper is not None else None
    try:
        if event.is_set():
            return True
        if _has_message_queue(kernel):
            return _wait_draining_queue(kernel, event, timeout, _msg_id(parent))
        check = _no_check
        if widget is not None and _routes_comms(kernel) and not _is_served(widget):
            check = _blocked_main_check(time.monotonic())
        stop = threading.Event()
        loop = getattr(kernel, "io_loop", None)
        if loop is not None:  # an awaiting cell's interrupt needs its loop awake, see _tick
            loop.add_callback(_tick, stop, event)
        try:
            return _wait_in_slices(event, timeout, _msg_id(parent), check)
        finally:
            stop.set()
    finally:
        if parent is not None:
            _adopt_cell_output(kernel, parent)


# -- where are we ----------------------------------------------------------------------------


def _current_kernel() -> Any | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None or getattr(kernel, "session", None) is None:
        return None
    return kernel


def _main_shell_stream() -> tuple[Any, Any] | None:
    """The kernel and its main shell ZMQStream, when called on a kernel's main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    kernel = _current_kernel()
    if kernel is None:
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


def _kernel_off_main() -> Any | None:
    """The running kernel, when called on a thread other than its main thread."""
    if threading.current_thread() is threading.main_thread():
        return None
    return _current_kernel()


def _has_message_queue(kernel: Any) -> bool:
    """ipykernel 6: shell messages wait in ``msg_queue`` behind the running cell."""
    if getattr(kernel, "shell_channel_thread", None) is not None:
        return False
    queue = getattr(getattr(kernel, "msg_queue", None), "_queue", None)
    loop, stream = getattr(kernel, "io_loop", None), getattr(kernel, "shell_stream", None)
    return queue is not None and loop is not None and stream is not None


# -- worker threads --------------------------------------------------------------------------


def _wait_in_slices(event: threading.Event, timeout: float | None, cell: str | None, check: Callable[[], None]) -> bool:
    """``event.wait`` in short slices; between them, an interrupt of ``cell`` and ``check()`` may raise."""
    deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
    while True:
        slice_s = _WORKER_SLICE
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return event.is_set()
            slice_s = min(slice_s, left)
        if event.wait(slice_s):
            return True
        if cell is not None and _interrupts.hit(cell):
            raise KeyboardInterrupt
        check()


def _no_check() -> None:
    return None


def _blocked_main_check(started: float) -> Callable[[], None]:
    """ipykernel 7.4, a widget whose messages go to the main thread: NotAnswerable while it is blocked."""

    def check() -> None:
        if _main_polls or time.monotonic() - started < GRACE:
            return
        blocked_in = _main_thread_waits_on_lock()
        if blocked_in:
            raise NotAnswerable(
                f"the kernel's main thread is blocked in the cell's own code ({blocked_in}), waiting "
                "for this thread, and this card's messages go to the main thread (a kernel subshell "
                f"for it could not be created), so no click could reach it. {WHAT_WORKS}"
            )

    return check


def _is_served(widget: Any) -> bool:
    route = getattr(getattr(widget, "comm", None), "__dict__", {}).get("_reply_subshell_for")
    return getattr(route, "__name__", "") == "route"


def _adopt_cell_output(kernel: Any, parent: dict[str, Any]) -> None:
    """Send this thread's output (the approved function's prints) to the cell it was started from.

    A thread that was not started in the cell's context writes to the kernel's latest parent,
    which after a click handled on a subshell is that click's comm message: not shown in the
    cell. ipykernel 7's streams and display publisher take a parent for the calling thread.
    """
    targets = (sys.stdout, sys.stderr, getattr(getattr(kernel, "shell", None), "display_pub", None))
    for target in targets:
        setter = getattr(target, "set_thread_parent", None)
        own = getattr(target, "_parent_header", None)
        if setter is not None and isinstance(own, contextvars.ContextVar) and own.get(None) is None:
            setter(parent)


def _wait_draining_queue(kernel: Any, event: threading.Event, timeout: float | None, cell: str | None) -> bool:
    """ipykernel 6, off the main thread: a task on the kernel's loop handles queued comm messages.

    The task also beats a heartbeat. If it never runs (the loop is blocked), the main thread
    is not in our own poll either, and it waits on a lock (for this thread, most likely),
    the click cannot arrive: NotAnswerable.
    """
    stop = threading.Event()
    beats: list[float] = []
    started = time.monotonic()

    def check() -> None:
        if beats or _main_polls or time.monotonic() - started < GRACE:
            return
        blocked_in = _main_thread_waits_on_lock()
        if blocked_in:
            raise NotAnswerable(
                "the kernel's main thread is blocked in the cell's own code "
                f"({blocked_in}), waiting for this thread, and this kernel (ipykernel "
                f"{_ipykernel_version()}) reads widget messages only on its main thread, "
                f"so no click could reach it. {WHAT_WORKS}"
            )

    kernel.io_loop.add_callback(_drain, kernel, stop, event, beats)
    try:
        return _wait_in_slices(event, timeout, cell, check)
    finally:
        stop.set()


async def _tick(stop: threading.Event, event: threading.Event) -> None:
    """On the kernel's loop: wake it every 0.1 s until ``stop``.

    Python runs a signal handler only when the main thread runs bytecode; an idle loop (a cell
    awaiting this worker) sleeps in ``select``, so the kernel's SIGINT handler, which cancels the
    awaiting cell, would wait for the next message.
    """
    while not (stop.is_set() or event.is_set()):
        await asyncio.sleep(0.1)


async def _drain(kernel: Any, stop: threading.Event, event: threading.Event | None, beats: list[float]) -> None:
    """On the kernel's loop (ipykernel 6): handle queued comm messages every few ms until ``stop``."""
    while not (stop.is_set() or (event is not None and event.is_set())):
        beats.append(time.monotonic())
        del beats[:-1]
        _take_queued_comm_messages(kernel)
        await asyncio.sleep(_POLL_MS / 1000)


@contextlib.contextmanager
def comms_while_awaiting() -> Iterator[bool]:
    """While the body awaits in a cell on the kernel's loop, comm messages keep being handled.

    ipykernel >= 7.4 does this itself; on ipykernel 6 (messages queue behind the awaiting
    cell) a task on the loop takes them out of the queue. Yields whether awaiting here can
    receive a click at all (False: not on a kernel's loop that does either).
    """
    kernel = _current_kernel()
    on_loop = kernel is not None and threading.current_thread() is threading.main_thread()
    if not on_loop or kernel is None:
        yield False
        return
    keep_busy(kernel)
    if getattr(kernel, "shell_channel_thread", None) is not None:
        from ipykernel.comm.comm import BaseComm

        yield hasattr(BaseComm, "_reply_subshell_for")  # 7.4 dispatches comms while a cell awaits
        return
    if not _has_message_queue(kernel):
        yield False
        return
    stop = threading.Event()
    task = asyncio.ensure_future(_drain(kernel, stop, None, []))
    try:
        yield True
    finally:
        stop.set()
        task.cancel()


_WAITING_FILES = ("threading.py", "queue.py", os.path.join("concurrent", "futures"), os.path.join("multiprocessing", "pool.py"))


def _main_thread_waits_on_lock() -> str:
    """Where the main thread waits on a lock or condition (``threading.py:wait``), or ''."""
    frame = sys._current_frames().get(threading.main_thread().ident or -1)
    depth = 0
    while frame is not None and depth < 6:
        filename = frame.f_code.co_filename
        if any(part in filename for part in _WAITING_FILES):
            return f"{os.path.basename(filename)}:{frame.f_code.co_name}"
        frame = frame.f_back
        depth += 1
    return ""


def _ipykernel_version() -> str:
    try:
        from importlib.metadata import version

        return version("ipykernel")
    except Exception:
        return "?"


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


# -- interrupts seen from worker threads -----------------------------------------------------


class _Interrupts:
    """Which cells a kernel interrupt ended (or is ending), for waits on other threads."""

    def __init__(self) -> None:
        self.cells: set[str] = set()
        self.installed = False
        self.lock = threading.Lock()

    def install(self, kernel: Any) -> None:
        with self.lock:
            if self.installed:
                return
            self.installed = True
        shell = getattr(kernel, "shell", None)
        events = getattr(shell, "events", None)
        if events is not None:
            events.register("post_run_cell", lambda result: self._ended(kernel, result))

    def _ended(self, kernel: Any, result: Any) -> None:
        # An awaiting cell's interrupt reaches it as CancelledError (ipykernel cancels its task).
        if isinstance(getattr(result, "error_in_exec", None), (KeyboardInterrupt, asyncio.CancelledError)):
            cell = _msg_id(kernel.get_parent("shell"))
            if cell is not None:
                self.cells.add(cell)

    def hit(self, cell: str) -> bool:
        """Whether ``cell`` was interrupted: it ended so, or the main thread is handling the interrupt now."""
        if cell in self.cells:
            return True
        exc = sys._current_exceptions().get(threading.main_thread().ident or -1)
        if isinstance(exc, KeyboardInterrupt) or (isinstance(exc, tuple) and exc and exc[0] is KeyboardInterrupt):
            keeper = _keepers.get(id(_current_kernel()))
            return keeper is not None and keeper.running_id() == cell
        return False


_interrupts = _Interrupts()


def _msg_id(parent: Any) -> str | None:
    try:
        msg_id = parent["header"]["msg_id"]
    except (KeyError, TypeError):
        return None
    return msg_id if isinstance(msg_id, str) else None


# -- the kernel stays busy while a cell runs -------------------------------------------------


class _StatusKeeper:
    """Wraps the kernel's ``_publish_status``: knows the main shell's running cell, and after an
    ``idle`` of anything else while that cell runs, publishes ``busy`` (for the cell) again."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.original: Callable[..., None] = kernel._publish_status
        self.lock = threading.Lock()
        self.running: dict[str, Any] | None = None
        self.rebusied = 0  # how many times busy was published again (for tests and benchmarks)

    def running_id(self) -> str | None:
        return _msg_id(self.running)

    def seed(self) -> None:
        """Learn the running cell when installed in the middle of it."""
        if threading.current_thread() is not threading.main_thread() and not _main_shell_busy(self.kernel):
            return  # no cell runs (an agent's background thread): nothing to keep busy
        try:  # off the main thread: the kernel's shell context, most recently the cell's
            parent = self.kernel.get_parent("shell")
        except Exception:
            return
        header = parent.get("header", {}) if isinstance(parent, dict) else {}
        if header.get("msg_type") == "execute_request" and header.get("subshell_id") is None:
            with self.lock:
                if self.running is None:
                    self.running = parent

    def publish(self, status: str, channel: str, parent: Any = None) -> None:
        resolved = parent or self.kernel.get_parent(channel)
        header = resolved.get("header", {}) if isinstance(resolved, dict) else {}
        with self.lock:  # one at a time, so iopub sees them in the order decided here
            self.original(status, channel, parent)
            if channel == "shell" and header.get("msg_type") == "execute_request" and header.get("subshell_id") is None:
                if status == "busy":
                    self.running = resolved
                elif status == "idle":
                    self.running = None
                return
            if status == "idle" and self.running is not None:
                self.original("busy", "shell", self.running)
                self.rebusied += 1


_keepers: dict[int, _StatusKeeper] = {}
_keepers_lock = threading.Lock()


def _main_shell_busy(kernel: Any) -> bool:
    """Whether the main shell is handling a message now (a cell runs)."""
    lock = getattr(kernel, "_main_asyncio_lock", None)
    if lock is not None and hasattr(lock, "locked"):  # ipykernel 7
        return bool(lock.locked())
    # ipykernel 6: the handler is on the main thread's stack (a sync cell) or awaited by a task
    frame = sys._current_frames().get(threading.main_thread().ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "execute_request":
            return True
        frame = frame.f_back
    loop = getattr(getattr(kernel, "io_loop", None), "asyncio_loop", None)
    if loop is None:
        return False
    try:
        tasks = list(asyncio.all_tasks(loop))
    except RuntimeError:
        return False
    for task in tasks:
        awaited: Any = task.get_coro()
        for _ in range(32):
            code = getattr(awaited, "cr_code", None)
            if code is None:
                break
            if code.co_name == "execute_request":
                return True
            awaited = getattr(awaited, "cr_await", None)
    return False


def keep_busy(kernel: Any | None = None) -> _StatusKeeper | None:
    """Make ``kernel`` (default: the running one) publish ``busy`` again after nested idles while a cell runs.

    Installed once per kernel; returns the keeper, or None outside a kernel.
    """
    kernel = kernel if kernel is not None else _current_kernel()
    if kernel is None or not callable(getattr(kernel, "_publish_status", None)):
        return None
    with _keepers_lock:
        keeper = _keepers.get(id(kernel))
        if keeper is None:
            keeper = _StatusKeeper(kernel)
            kernel._publish_status = keeper.publish
            _keepers[id(kernel)] = keeper
            _interrupts.install(kernel)
        else:
            return keeper
    keeper.seed()
    return keeper


# -- ipykernel 7: a subshell of our own serves the cards' comms ------------------------------


_subshells: dict[int, str] = {}  # id(kernel) -> hitl_widget's subshell of that kernel
_subshells_lock = threading.Lock()


def _subshell_id(kernel: Any) -> str | None:
    """hitl_widget's own subshell of ``kernel`` (created once, by the kernel's control thread)."""
    with _subshells_lock:
        known = _subshells.get(id(kernel))
        if known is not None:
            return known
        control = getattr(kernel, "control_thread", None)
        channel_thread = getattr(kernel, "shell_channel_thread", None)
        if control is None or channel_thread is None or threading.current_thread() is control:
            return None
        done: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()

        def create() -> None:  # on the control thread, as the kernel's create_subshell_request does
            try:
                socket = channel_thread.manager.control_to_shell_channel.from_socket
                socket.send_json({"type": "create"})
                done.set_result(socket.recv_json())
            except BaseException as exc:
                done.set_exception(exc)

        control.io_loop.add_callback(create)
        try:
            reply = done.result(timeout=10)
        except Exception:
            kernel.log.warning("hitl_widget: could not create a kernel subshell", exc_info=True)
            return None
        subshell = reply.get("subshell_id") if reply.get("status") == "ok" else None
        if not isinstance(subshell, str):
            return None
        _hold_lock(kernel, channel_thread.manager, subshell)
        _subshells[id(kernel)] = subshell
        return subshell


def _hold_lock(kernel: Any, manager: Any, subshell: str) -> None:
    """Keep the subshell's message lock taken, so the kernel handles each comm message there as it
    does while a cell awaits: at once, and without a busy/idle status of its own (a frontend takes
    that idle for the whole kernel's, while a cell still waits for the click)."""
    try:
        with manager._lock_cache:
            thread = manager._cache[subshell]
        lock = manager.get_subshell_asyncio_lock(subshell)
    except Exception:
        kernel.log.debug("hitl_widget: the subshell's lock is not reachable; its idles are followed by busy", exc_info=True)
        return
    taken = threading.Event()

    async def hold() -> None:
        await lock.acquire()  # never released: this subshell only serves comm messages
        taken.set()

    thread.io_loop.add_callback(hold)
    taken.wait(5)


def served(make_widget: Callable[[], W]) -> W:
    """Make a widget (``make_widget()``) whose comm messages, off the kernel's main thread, are
    handled on a kernel subshell thread (ipykernel >= 7.4).

    Then a click reaches its handler even while the kernel's main thread is blocked (a sync
    cell waiting in ``pool.map`` for tools that wait for a person). Handlers must be
    thread-safe. The subshell exists before the widget's ``comm_open`` is sent, and the route
    is set right after, before any frontend could answer. On the main thread the kernel's own
    routing stays (the wait there polls the main shell stream, or the kernel dispatches comms
    while a cell awaits), and so it does where the kernel cannot route a comm (ipykernel 6).
    """
    kernel = _current_kernel()
    if kernel is None:
        return make_widget()
    keep_busy(kernel)
    if threading.current_thread() is threading.main_thread():
        return make_widget()
    subshell = _subshell_id(kernel) if _routes_comms(kernel) else None
    with _routing_paused(kernel):
        widget = make_widget()
        comm = getattr(widget, "comm", None)
        if subshell is not None and comm is not None and hasattr(type(comm), "_reply_subshell_for"):

            def route(_data: Any, _default: str | None) -> str:
                return subshell

            comm._reply_subshell_for = route
    return widget


@contextlib.contextmanager
def _routing_paused(kernel: Any) -> Iterator[None]:
    """While the body builds a widget off the main thread, the thread that routes or handles shell
    messages waits (ipykernel 7: the shell channel thread; 6: the kernel's loop, if it is free).

    ipywidgets publishes ``comm_open`` before it sets the comm's message handler; a click handled
    on another thread in between would be dropped. The pause lasts the widget's construction.
    """
    channel_thread = getattr(kernel, "shell_channel_thread", None)
    loop = channel_thread.io_loop if channel_thread is not None else getattr(kernel, "io_loop", None)
    if loop is None or threading.current_thread() is channel_thread:
        yield
        return
    started, release = threading.Event(), threading.Event()

    def pause() -> None:
        if release.is_set():
            return  # the widget was built meanwhile
        started.set()
        release.wait(5)

    loop.add_callback(pause)
    # ipykernel 7's shell channel thread is always free; ipykernel 6's loop may be running a
    # cell, and then it handles no message until the cell ends anyway.
    started.wait(5 if channel_thread is not None else 0.05)
    try:
        yield
    finally:
        release.set()


def _routes_comms(kernel: Any) -> bool:
    """ipykernel >= 7.4 asks each comm which subshell handles its messages (``_reply_subshell_for``)."""
    try:
        from ipykernel.comm.comm import BaseComm
    except ImportError:
        return False
    return getattr(kernel, "shell_channel_thread", None) is not None and hasattr(BaseComm, "_reply_subshell_for")


# -- the main thread polls its shell stream --------------------------------------------------


def _poll_shell(kernel: Any, stream: Any, event: threading.Event, timeout: float | None) -> bool:
    global _main_polls
    import zmq

    keep_busy(kernel)
    deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
    socket: zmq.Socket[Any] = stream.socket
    copy = bool(getattr(stream, "_recv_copy", False))
    poller = zmq.Poller()
    poller.register(socket, zmq.POLLIN)
    _deferred.depth += 1
    _main_polls += 1
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
        _main_polls -= 1
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
