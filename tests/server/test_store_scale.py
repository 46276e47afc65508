"""10,000 pending requests (many sharing a creation time): the queue's first page and a walk over
every page by cursor; and PostgreSQL's LISTEN connection coming back after it was cut.

The rows are written with one SQL statement (a few hundred ms) rather than 10,000 creates; the
times printed are figures for the report, not assertions (benchmarks/bench_dashboard_store.py
measures them side by side with a baseline)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from store_factories import make_request

from hitl_widget.dashboard.store import RequestQuery, Store

pytestmark = [pytest.mark.slow, pytest.mark.threads]

N = 10_000

ROW = (
    "'r' || printf('%05d', n), 'c' || n, 'fp', 'agent-' || (n % 7), "
    "CASE WHEN n % 10 = 0 THEN 'user3' END, CASE WHEN n % 2 = 0 THEN 'refund' ELSE 'delete_user' END, "
    "CASE WHEN n % 5 = 0 THEN 'high' ELSE 'low' END, 'pending', 0, 1, "
    "'{\"arguments\": [], \"approvable\": true}', 'f()', '{}', NULL, 1, '[]', '[]', NULL, "
    "1000.0 + (n % 100), NULL, NULL, NULL, 1000.0, NULL, NULL"
)
COLUMNS = (
    "id, client_request_id, fingerprint, agent, on_behalf_of, function, risk, status, queue_rank, version, view, "
    "call_text, context, edits, approvals_needed, roles, approvals, decision, created_at, expires_at, decided_at, "
    "claimed_at, updated_at, outcome, problems"
)


def fill(db: str, backend: str) -> None:
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(db)
        with conn:
            conn.execute(
                f"WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {N - 1}) "
                f"INSERT INTO requests ({COLUMNS}) SELECT {ROW} FROM s"
            )
        conn.close()
        return
    import psycopg

    row = ROW.replace("printf('%05d', n)", "lpad(n::text, 5, '0')")
    with psycopg.connect(db) as pg:  # no parameters: psycopg sends the text as it is
        pg.execute(f"INSERT INTO requests ({COLUMNS}) SELECT {row} FROM generate_series(0, {N - 1}) AS n")


def test_ten_thousand_pending_first_page_and_every_page(store: Store, db: str, backend: str) -> None:
    fill(db, backend)
    decided = make_request(store, now=1.0)  # the oldest of all, but decided: after every pending one
    store.cancel(decided.id, agent="agent-1", reason="gone", now=2.0)

    start = time.perf_counter()
    first = store.list_requests(RequestQuery(limit=50))
    first_ms = (time.perf_counter() - start) * 1000
    expected = sorted((1000.0 + n % 100, f"r{n:05d}") for n in range(N))
    assert [(r.created_at, r.id) for r in first.items] == expected[:50]
    assert all(r.status == "pending" for r in first.items)

    start = time.perf_counter()
    seen: list[str] = []
    cursor = first.next_cursor
    seen.extend(r.id for r in first.items)
    pages = 1
    while cursor is not None:
        page = store.list_requests(RequestQuery(limit=500, cursor=cursor))
        seen.extend(r.id for r in page.items)
        cursor = page.next_cursor
        pages += 1
    walk_s = time.perf_counter() - start
    assert seen == [rid for _, rid in expected] + [decided.id]  # every row once, ties broken by id, pending first

    high = store.list_requests(RequestQuery(risk="high", requester="user3", status="pending", limit=50))
    assert [r.id for r in high.items] == [rid for _, rid in expected if int(rid[1:]) % 10 == 0][:50]
    assert high.next_cursor is not None
    print(f"\n{backend}: first page of {N} pending {first_ms:.1f} ms; all {pages} pages {walk_s * 1000:.0f} ms")


def test_postgres_listener_reconnects_after_its_connection_is_cut(postgres_url: str, open_db_pg: Callable[[], Store]) -> None:
    import psycopg

    a, b = open_db_pg(), open_db_pg()
    seen: list[str] = []
    got = threading.Event()

    def callback(rid: str) -> None:
        seen.append(rid)
        got.set()

    b.subscribe(callback)
    first = make_request(a)
    assert got.wait(5) and first.id in seen
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()"
        ).fetchall()
    assert cut, "no LISTEN connection found"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # after the reconnect (back-off 0.1 s), changes arrive again
        got.clear()
        again = make_request(a)
        if got.wait(0.5) and again.id in seen:
            break
    else:
        pytest.fail("no notification after the LISTEN connection was cut")


@pytest.fixture
def open_db_pg(postgres_url: str) -> Iterator[Callable[[], Store]]:
    from hitl_widget.dashboard.store import open_store

    opened: list[Store] = []

    def opener() -> Store:
        s = open_store(postgres_url)
        opened.append(s)
        return s

    yield opener
    for s in opened:
        s.close()
