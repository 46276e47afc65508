"""The event bus on its own (hitl_widget/dashboard/events.py): notifications from any thread wake
the right waits, a burst is read once for the streams, a stream that falls behind is dropped,
and closing answers every wait and ends every stream. A real SQLite store feeds it."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hitl_widget.dashboard import events
from hitl_widget.dashboard.api import describe
from hitl_widget.dashboard.events import EventBus
from hitl_widget.dashboard.store import NewRequest, open_store


def _new(n: int) -> NewRequest:
    return NewRequest(client_request_id=f"c{n}", fingerprint="f", function="f", view={"arguments": [], "approvable": True})


async def test_a_change_committed_in_another_thread_wakes_only_its_watch(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "hitl.db")) as store:
        bus = EventBus()
        bus.start(store)
        a, _ = store.create_request(_new(1), agent="bot", now=time.time())
        b, _ = store.create_request(_new(2), agent="bot", now=time.time())
        with bus.watch(a.id) as wa, bus.watch(b.id) as wb:
            assert bus.waiting == 2
            await asyncio.sleep(0.05)  # let the creations' own notifications pass
            wa.changed.clear()
            wb.changed.clear()
            change = {"agent": "bot", "reason": "x", "now": time.time()}
            thread = threading.Thread(target=store.cancel, args=(a.id,), kwargs=change)
            thread.start()
            await asyncio.wait_for(wa.changed.wait(), 5)
            thread.join()
            assert not wb.changed.is_set()
        assert bus.waiting == 0
        bus.close()


async def test_streams_get_one_read_per_burst_and_a_slow_one_is_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(str(tmp_path / "hitl.db")) as store:
        reads: list[str] = []
        read = describe(store)

        def counting(rid: str) -> dict[str, Any] | None:
            reads.append(rid)
            return read(rid)

        bus = EventBus()
        bus.start(store, counting)
        req, _ = store.create_request(_new(1), agent="bot", now=time.time())
        async with bus.stream() as fast:
            for _ in range(50):  # a burst of notifications of one request
                bus.notify_threadsafe(req.id)
            payload = await asyncio.wait_for(fast.get(), 5)
            assert payload == {"id": req.id, "status": "pending", "version": 1}
            await asyncio.sleep(0.1)
            assert len(reads) < 10  # coalesced: not one read per notification
        monkeypatch.setattr(events, "STREAM_QUEUE_SIZE", 3)
        async with bus.stream() as slow:
            for n in range(2, 8):
                store.create_request(_new(n), agent="bot", now=time.time())
                await asyncio.sleep(0.05)  # each read and delivered before the next
            assert bus.streams == 0  # fell behind: dropped
            items = [slow.get_nowait() for _ in range(slow.qsize())]
            assert items[-1] is None  # ... and told to end (the page reconnects and reloads)
        bus.close()


async def test_close_answers_every_wait_and_ends_every_stream(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "hitl.db")) as store:
        bus = EventBus()
        bus.start(store, describe(store))
        async with bus.stream() as queue:
            with bus.watch("r1") as w1, bus.watch("r2") as w2:
                bus.close_threadsafe()  # as the SIGTERM handler does
                await asyncio.wait_for(asyncio.gather(w1.changed.wait(), w2.changed.wait()), 5)
                assert await asyncio.wait_for(queue.get(), 5) is None
            with bus.watch("r3") as late:  # a wait arriving during shutdown is answered at once
                assert late.changed.is_set()
        async with bus.stream() as after:
            assert after.get_nowait() is None
        # the store's later changes reach nobody (unsubscribed), and nothing raises
        store.create_request(_new(9), agent="bot", now=time.time())
