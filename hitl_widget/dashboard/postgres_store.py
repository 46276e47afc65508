"""The PostgreSQL store: psycopg 3 with a psycopg_pool ConnectionPool; several servers, one database.

- A change to a request reads it with ``SELECT … FOR UPDATE`` first (the row lock serialises
  deciders on every server instance) and sends ``pg_notify('hitl_requests', id)`` in the same
  transaction, so the notification exists exactly when the change is committed.
- ``subscribe``: one listener thread per Store holds a connection of its own with ``LISTEN
  hitl_requests`` and calls the callbacks for every notification (its own changes included, so
  every instance behaves the same). When that connection drops it reconnects with back-off and
  announces nothing for the gap (a waiter re-reads on its own timeout).
- Migrations run under ``pg_advisory_xact_lock`` so servers starting together apply them once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .policy_file import Policy
from .sql_store import SqlStore, Tx
from .store import Invalid

__all__ = ["CHANNEL", "PostgresStore"]

log = logging.getLogger("hitl_widget.dashboard.store")

CHANNEL = "hitl_requests"
MIGRATION_LOCK = 0x6869746C  # "hitl"


def _import_psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError:  # pragma: no cover - the postgresql extra is missing
        raise RuntimeError("a postgresql:// store needs psycopg and psycopg-pool: pip install 'hitl_widget[postgresql]'") from None  # noqa: E501
    return psycopg, psycopg_pool


class _PgTx(Tx):
    def __init__(self, cur: Any) -> None:
        super().__init__()
        self.cur = cur

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if any(isinstance(p, str) and "\x00" in p for p in params):
            # PostgreSQL's text cannot hold U+0000 (psycopg would raise DataError: a 500); JSON
            # columns are unaffected (json.dumps writes it as \u0000)
            raise Invalid("text with a NUL character (U+0000) cannot be stored or looked up in PostgreSQL")
        self.cur.execute(sql.replace("?", "%s"), tuple(params) if params else None)
        rows = self.cur.fetchall() if self.cur.description is not None else []
        return [tuple(r) for r in rows]


class PostgresStore(SqlStore):
    """The store in the PostgreSQL database at ``url`` (``postgresql://user@host:port/dbname``)."""

    backend = "postgresql"
    for_update = " FOR UPDATE"

    def __init__(
        self,
        url: str,
        *,
        policy: Policy | None = None,
        min_size: int = 1,
        max_size: int = 16,
        connect_timeout_s: int = 10,
    ) -> None:
        super().__init__(policy=policy)
        psycopg, psycopg_pool = _import_psycopg()
        self._psycopg = psycopg
        self.url = url
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self._listen_conn: Any = None
        # one plain connection first: a clear error at once when the server cannot be reached
        # (the pool would retry quietly until its timeout), and the migrations
        with psycopg.connect(url, connect_timeout=connect_timeout_s) as conn, conn.transaction(), conn.cursor() as cur:
            tx = _PgTx(cur)
            tx.q("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            self._apply_migrations(tx)
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            name="hitl-store",
            timeout=30.0,
            kwargs={"connect_timeout": connect_timeout_s},
        )
        self._pool.open(wait=True, timeout=30.0)

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[Tx]:  # every PostgreSQL commit is durable
        if self._closed:
            raise RuntimeError("the store is closed")
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            tx = _PgTx(cur)
            yield tx
            for rid in dict.fromkeys(tx.changed):
                cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, rid))

    @contextmanager
    def _read(self) -> Iterator[Tx]:
        if self._closed:
            raise RuntimeError("the store is closed")
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _PgTx(cur)

    def _integrity_errors(self) -> tuple[type[BaseException], ...]:
        return (self._psycopg.errors.IntegrityError,)

    # --- LISTEN ------------------------------------------------------------------------------

    def _start_listening(self) -> None:
        with self._callbacks_lock:
            if self._listener is not None or self._closed:
                return
            ready = threading.Event()
            self._listener = threading.Thread(target=self._listen, args=(ready,), name="hitl-pg-listen", daemon=True)
            self._listener.start()
        # wait until LISTEN is in place, so a change committed after subscribe() returns is seen
        ready.wait(timeout=10)

    def _listen(self, ready: threading.Event) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except Exception as exc:
                log.warning("LISTEN connection to the store failed (%s); retrying in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._listen_conn = conn
            try:
                conn.execute(f"LISTEN {CHANNEL}")
                ready.set()
                backoff = 0.1
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=0.5):
                        self._announce([note.payload])
            except Exception as exc:
                if not self._stop.is_set():
                    log.warning("LISTEN connection to the store dropped (%s); reconnecting", exc)
                    self._stop.wait(backoff)
            finally:
                self._listen_conn = None
                with contextlib.suppress(Exception):
                    conn.close()

    def close(self) -> None:
        """Stop the listener and close the pool (idempotent)."""
        if self._closed:
            return
        self._stop.set()
        if self._listener is not None and self._listener is not threading.current_thread():
            self._listener.join(timeout=5)
        self._closed = True
        self._pool.close()
