"""The dashboard store with 10,000 pending requests: the queue's first page, filters, a deep page;
decisions and claims per second; on a real SQLite file and a real PostgreSQL cluster.

    python benchmarks/bench_dashboard_store.py [--backend sqlite|postgresql|both] [--pending 10000]

Each figure is the median of repeated runs (ms), next to a baseline run side by side on the same
database: the same rows read with one plain SQL statement (no mapping to StoredRequest), and the
deep page read with OFFSET instead of the store's keyset cursor. Target (issue 10): the first page
in under 50 ms from the API; the store's share is what this measures. PostgreSQL runs in a
throwaway cluster (tests/server/pg_cluster.py), stopped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))

from pg_cluster import PgCluster, PgUnavailable

from hitl_widget.dashboard.sql_store import REQUEST_COLUMNS, SqlStore
from hitl_widget.dashboard.sqlite_store import SqliteStore
from hitl_widget.dashboard.store import NewRequest, RequestQuery, User, open_store

PAGE = 50


def view(n: int) -> dict[str, Any]:
    return {
        "id": f"c{n}",
        "function": "refund" if n % 2 else "delete_user",
        "summary": "Refund an order.",
        "doc": "Refund an order to the customer's original payment method." * 3,
        "risk": "high" if n % 5 == 0 else "low",
        "arguments": [
            {"name": "order_id", "text": f'"A-{n}"', "annotation": "str", "complete": True, "injected": False},
            {"name": "amount", "text": f"{n % 500}.0", "annotation": "float", "complete": True, "injected": False},
            {"name": "reason", "text": '"customer asked"' * 10, "annotation": "str", "complete": True, "injected": False},
        ],
        "approvable": True,
    }


def fill(store: SqlStore, pending: int, decided: int) -> float:
    """Create ``pending + decided`` requests through the store; returns creates per second."""
    alice = store.add_user("alice", "pw", [])
    start = time.perf_counter()
    ids = []
    for n in range(pending + decided):
        v = view(n)
        new = NewRequest(
            client_request_id=f"c{n}",
            fingerprint=f"fp{n}",
            function=v["function"],
            risk=v["risk"],
            on_behalf_of=f"user{n % 50}",
            view=v,
            call_text=f"{v['function']}(order_id='A-{n}')",
        )
        req, _ = store.create_request(new, agent=f"agent-{n % 10}", now=1_000_000.0 + n)
        ids.append(req.id)
    rate = len(ids) / (time.perf_counter() - start)
    for rid in ids[:decided]:  # the oldest are decided: the queue must still show pending first
        store.decide(rid, version=1, user=alice, kind="reject", edits=None, feedback="no", channel="bench", now=2_000_000.0)
    return rate


def median_ms(fn: Callable[[], object], runs: int = 30) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def raw_first_page(store: SqlStore, offset: int = 0) -> list[Any]:
    with store._read() as tx:
        return tx.q(
            f"SELECT {REQUEST_COLUMNS} FROM requests ORDER BY queue_rank, created_at, id LIMIT ? OFFSET ?", (PAGE, offset)
        )


def deep_cursor(store: SqlStore, pages: int) -> str:
    cursor = None
    for _ in range(pages):
        cursor = store.list_requests(RequestQuery(limit=PAGE, cursor=cursor)).next_cursor
        assert cursor is not None
    return cursor


def decisions_per_second(store: SqlStore, threads: int = 8, per_thread: int = 40) -> tuple[float, float, float]:
    """``threads`` deciders, each approving then claiming its own requests: decisions/s and the
    single decide→claim p50/p99 (ms) measured in the same run."""
    people = [store.add_user(f"p{i}", "pw", []) for i in range(threads)]
    reqs = [
        [store.create_request(NewRequest(f"d{i}-{j}", "fp", "refund", view=view(j)), agent="agent-x", now=time.time())[0].id
         for j in range(per_thread)]
        for i in range(threads)
    ]  # fmt: skip
    lat: list[float] = []
    lock = threading.Lock()

    def run(i: int, user: User) -> None:
        for rid in reqs[i]:
            t0 = time.perf_counter()
            store.decide(rid, version=1, user=user, kind="approve", edits=None, feedback=None, channel="bench", now=time.time())
            store.claim(rid, agent="agent-x", version=1, now=time.time())
            with lock:
                lat.append(time.perf_counter() - t0)

    workers = [threading.Thread(target=run, args=(i, people[i])) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    lat.sort()
    return threads * per_thread / elapsed, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000


def bench(name: str, db: str, pending: int, *, synchronous: str | None = None) -> None:
    store = open_store(db) if synchronous is None else SqliteStore(db, synchronous=synchronous)  # type: ignore[arg-type]
    assert isinstance(store, SqlStore)
    try:
        rate = fill(store, pending, decided=pending // 5)
        first = store.list_requests(RequestQuery(limit=PAGE))
        assert all(r.status == "pending" for r in first.items) and len(first.items) == PAGE
        deep = min(100, (pending + pending // 5) // PAGE - 1)
        cursor = deep_cursor(store, deep)
        figures = {
            "first page (store.list_requests, 50 rows)": median_ms(lambda: store.list_requests(RequestQuery(limit=PAGE))),
            "  baseline: one plain SELECT of the same rows": median_ms(lambda: raw_first_page(store)),
            "first page + to_json (what the API serialises)": median_ms(
                lambda: store.list_requests(RequestQuery(limit=PAGE)).to_json()
            ),
            "status=pending": median_ms(lambda: store.list_requests(RequestQuery(status="pending", limit=PAGE))),
            "function=refund": median_ms(lambda: store.list_requests(RequestQuery(function="refund", limit=PAGE))),
            "risk=high": median_ms(lambda: store.list_requests(RequestQuery(risk="high", limit=PAGE))),
            "requester=user7": median_ms(lambda: store.list_requests(RequestQuery(requester="user7", limit=PAGE))),
            "newest first (history)": median_ms(lambda: store.list_requests(RequestQuery(order="newest", limit=PAGE))),
            f"page {deep + 1} by cursor": median_ms(lambda: store.list_requests(RequestQuery(limit=PAGE, cursor=cursor))),
            f"  baseline: page {deep + 1} by OFFSET {deep * PAGE}": median_ms(lambda: raw_first_page(store, offset=deep * PAGE)),
            "get_request by id": median_ms(lambda: store.get_request(first.items[0].id), runs=200),
        }
        dps, p50, p99 = decisions_per_second(store)
    finally:
        store.close()
    print(f"\n== {name}: {pending} pending + {pending // 5} decided requests (created at {rate:.0f}/s through the store)")
    for label, ms in figures.items():
        print(f"  {label:<50} {ms:8.2f} ms")
    ratio = figures["first page (store.list_requests, 50 rows)"] / figures["  baseline: one plain SELECT of the same rows"]
    print(f"  {'first page vs plain SELECT':<50} {ratio:8.2f} x")
    print(f"  {'decide + claim, 8 threads':<50} {dps:8.0f} requests/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--sqlite-full", action="store_true", help="also SQLite with synchronous=FULL for every commit")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            bench("SQLite (WAL, NORMAL; claims FULL: the default)", str(Path(tmp) / "bench.db"), args.pending)
        if args.sqlite_full:
            with tempfile.TemporaryDirectory() as tmp:
                name = "SQLite (WAL, synchronous=FULL for every commit)"
                bench(name, str(Path(tmp) / "bench.db"), args.pending, synchronous="FULL")
    if args.backend in ("postgresql", "both"):
        try:
            cluster = PgCluster()
        except PgUnavailable as exc:
            print(f"\n== PostgreSQL: skipped ({exc})")
            return
        try:
            cluster.start()
            bench("PostgreSQL (throwaway cluster, fsync off)", cluster.create_database("bench"), args.pending)
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
