"""The in-process event bus: store changes wake long-polls and feed the SSE streams.

``store.subscribe(callback)`` calls ``callback(request_id)`` after every committed change, from
whatever thread the store uses (the committing thread for SQLite, the LISTEN thread for
PostgreSQL, where a change made by another server instance arrives too). :class:`EventBus`
hands each id over to the server's event loop and there

- wakes every :meth:`EventBus.watch` of that request id (the long-poll ``/wait``), and
- when SSE streams are open (``/api/events``), reads the request's new state once (``describe``,
  in a worker thread; a burst of changes to one request is read once) and puts that payload on
  every :meth:`EventBus.stream` queue.

:meth:`EventBus.close` (graceful shutdown) wakes every watch and ends every stream, so pending
long-polls are answered at once with the request's current state instead of being cut off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

try:
    from starlette.concurrency import run_in_threadpool
except ModuleNotFoundError:  # say what to install (MissingLibrary), not a bare ModuleNotFoundError
    from ..environment import require_dashboard_libraries

    require_dashboard_libraries()
    raise

__all__ = ["EventBus", "Subscribable", "Watch"]

log = logging.getLogger("hitl_widget.dashboard")

# An SSE client that falls this far behind is dropped (its page reconnects and reloads).
STREAM_QUEUE_SIZE = 10_000


class Subscribable(Protocol):
    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]: ...


class Watch:
    """One long-poll's interest in one request: :attr:`changed` is set on every change of it.

    Clear it *before* reading the request, then wait on it: a change committed after the read
    sets it again, so no change between the read and the wait is missed.
    """

    __slots__ = ("changed", "request_id")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.changed = asyncio.Event()


class EventBus:
    """Relays ``store.subscribe`` notifications (any thread) to waiters on one event loop.

    Start with :meth:`start` on the loop that serves requests; :meth:`close` on shutdown.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watches: dict[str, set[Watch]] = {}
        self._streams: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._describe: Callable[[str], dict[str, Any] | None] | None = None
        self._to_describe: dict[str, None] = {}  # ordered set of ids waiting to be read for the streams
        self._publisher: asyncio.Task[None] | None = None
        self.closing = False
        self.notifications = 0  # ids relayed so far (for /healthz and tests)

    def start(self, store: Subscribable, describe: Callable[[str], dict[str, Any] | None] | None = None) -> None:
        """Subscribe to ``store`` and deliver its notifications on the running event loop.

        ``describe(request_id)`` (sync, run in a worker thread) gives the payload the streams get
        for a change, or None to send nothing (the request is gone).
        """
        self._loop = asyncio.get_running_loop()
        self._describe = describe
        self.closing = False
        self._unsubscribe = store.subscribe(self.notify_threadsafe)

    def notify_threadsafe(self, request_id: str) -> None:
        """The store's callback: safe from any thread; never blocks, never raises."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in between (process ending)
            loop.call_soon_threadsafe(self._dispatch, request_id)

    def _dispatch(self, request_id: str) -> None:
        self.notifications += 1
        for watch in self._watches.get(request_id, ()):
            watch.changed.set()
        if self._streams and self._describe is not None and not self.closing:
            self._to_describe[request_id] = None
            if self._publisher is None or self._publisher.done():
                self._publisher = asyncio.get_running_loop().create_task(self._publish())

    async def _publish(self) -> None:
        describe = self._describe
        assert describe is not None
        while self._to_describe and not self.closing:
            request_id = next(iter(self._to_describe))
            del self._to_describe[request_id]
            try:
                payload = await run_in_threadpool(describe, request_id)
            except Exception:
                log.exception("reading request %s for the event streams failed", request_id)
                continue
            if payload is None:
                continue
            for queue in list(self._streams):
                try:
                    queue.put_nowait(payload)
                except asyncio.QueueFull:
                    log.warning("an event stream fell %d events behind; closing it", STREAM_QUEUE_SIZE)
                    self._streams.discard(queue)
                    self._end(queue)

    @staticmethod
    def _end(queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(None)
        if queue.full():  # make room for the end marker
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            queue.put_nowait(None)

    @contextlib.contextmanager
    def watch(self, request_id: str) -> Iterator[Watch]:
        """Register interest in ``request_id`` for the duration of the ``with`` block."""
        watch = Watch(request_id)
        self._watches.setdefault(request_id, set()).add(watch)
        if self.closing:
            watch.changed.set()
        try:
            yield watch
        finally:
            watchers = self._watches.get(request_id)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._watches[request_id]

    @contextlib.asynccontextmanager
    async def stream(self) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        """A queue of ``describe`` payloads of changed requests; ``None`` on it ends the stream."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=STREAM_QUEUE_SIZE)
        if self.closing:
            queue.put_nowait(None)
        else:
            self._streams.add(queue)
        try:
            yield queue
        finally:
            self._streams.discard(queue)

    @property
    def waiting(self) -> int:
        """Long-polls currently waiting."""
        return sum(len(w) for w in self._watches.values())

    @property
    def streams(self) -> int:
        """SSE streams currently open."""
        return len(self._streams)

    def close(self) -> None:
        """Shutdown: answer every waiting long-poll now, end every stream, stop listening."""
        self.closing = True
        for watchers in self._watches.values():
            for watch in watchers:
                watch.changed.set()
        for queue in list(self._streams):
            self._end(queue)
        self._streams.clear()
        self._to_describe.clear()
        if self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            try:
                unsubscribe()
            except Exception:  # pragma: no cover - a store failing to unsubscribe must not block shutdown
                log.exception("unsubscribing from the store failed")

    def close_threadsafe(self) -> None:
        """:meth:`close` from a signal handler or another thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.closing = True
            return
        try:
            loop.call_soon_threadsafe(self.close)
        except RuntimeError:
            self.closing = True
