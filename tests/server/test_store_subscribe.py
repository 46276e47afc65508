"""``Store.subscribe``: callbacks after every committed change, from this Store and from another
Store on the same database (a second server instance: SQLite's change table, PostgreSQL's NOTIFY)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from store_factories import make_person, make_request

from hitl_widget.dashboard.store import Conflict, Store

pytestmark = [pytest.mark.slow, pytest.mark.threads]


class Seen:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.cond = threading.Condition()

    def __call__(self, request_id: str) -> None:
        with self.cond:
            self.ids.append(request_id)
            self.cond.notify_all()

    def wait_for(self, request_id: str, count: int = 1, timeout: float = 5.0) -> float:
        """Seconds until ``request_id`` was seen ``count`` times (fails after ``timeout``)."""
        start = time.perf_counter()
        with self.cond:
            ok = self.cond.wait_for(lambda: self.ids.count(request_id) >= count, timeout)
        assert ok, f"{request_id} seen {self.ids.count(request_id)} times, wanted {count}: {self.ids}"
        return time.perf_counter() - start


def test_changes_from_this_store_and_another_reach_both(store: Store, open_db: Callable[[], Store]) -> None:
    other = open_db()
    here, there = Seen(), Seen()
    store.subscribe(here)
    other.subscribe(there)
    alice = make_person(store, "alice")

    req = make_request(store)  # created on the first instance
    here.wait_for(req.id)
    there.wait_for(req.id)
    # decided on the second instance
    other.decide(req.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=time.time())
    here.wait_for(req.id, 2)
    there.wait_for(req.id, 2)
    # claimed on the first
    store.claim(req.id, agent="agent-1", version=1, now=time.time())
    here.wait_for(req.id, 3)
    there.wait_for(req.id, 3)
    time.sleep(0.2)
    assert here.ids.count(req.id) == 3 and there.ids.count(req.id) == 3  # each change once


def test_refusals_change_nothing_and_announce_nothing_but_expiry_does(store: Store, open_db: Callable[[], Store]) -> None:
    other = open_db()
    seen = Seen()
    other.subscribe(seen)
    alice = make_person(store, "alice")
    req = make_request(store, timeout_s=1, now=100.0)
    seen.wait_for(req.id)
    with pytest.raises(Conflict):
        store.decide(req.id, version=9, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=100.5)
    with pytest.raises(Conflict):
        store.decide(req.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=101.0)
    seen.wait_for(req.id, 2)  # the expiry (timed_out) is a change; the stale attempt was not
    time.sleep(0.2)
    assert seen.ids.count(req.id) == 2


def test_unsubscribe_and_a_failing_callback(store: Store) -> None:
    calls: list[str] = []
    seen = Seen()

    def broken(request_id: str) -> None:
        calls.append(request_id)
        raise RuntimeError("subscriber bug")

    unsubscribe = store.subscribe(broken)
    store.subscribe(seen)
    a = make_request(store)
    seen.wait_for(a.id)
    unsubscribe()
    b = make_request(store)
    seen.wait_for(b.id)
    assert calls == [a.id]  # the failing callback broke nothing, and is gone after unsubscribe


def test_notification_latency_across_instances(store: Store, open_db: Callable[[], Store], backend: str) -> None:
    """Not a timed assertion beyond the callback's 5 s bound: prints the figure for the report."""
    other = open_db()
    seen = Seen()
    other.subscribe(seen)
    lat = []
    for _ in range(10):
        start = time.perf_counter()
        req = make_request(store)
        seen.wait_for(req.id)
        lat.append(time.perf_counter() - start)
    lat.sort()
    print(f"\n{backend}: create on one Store -> callback on another: p50 {lat[5] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
