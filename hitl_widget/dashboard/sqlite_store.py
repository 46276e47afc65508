"""The SQLite store: one file, WAL mode, safe for many threads and several processes.

- Each thread gets its own connection (WAL lets readers run beside the one writer).
- Every write is ``BEGIN IMMEDIATE`` (the database's write lock is taken before the request is
  read, so two deciders cannot both see version 3 pending), behind an in-process lock so this
  process's threads queue without SQLite's busy back-off; other processes wait up to
  ``busy_timeout_s`` (30 s).
- Durability: every commit survives the process being killed (WAL). A claim is also on disk
  before ``claim`` returns (and so before the agent is told to run the function): after its
  commit, the WAL file is synced (``fsync``), so after a power cut an approved call is never
  claimed, and run, a second time; since the WAL is sequential (recovery keeps a prefix of its
  frames, never a later frame without an earlier one), that sync also keeps every decision
  committed before the claim. The sync runs *after* the write lock is released, and one sync
  covers every commit written before it (group commit): concurrent claims share a sync, and no
  other write waits behind it (measured: the claim holding the lock through its sync made the
  other writers wait p99 80 ms under 50 agents; docs/dashboard-api.md, "Figures"). Why this is
  as safe as ``synchronous=FULL`` for the claim: the claim's WAL frames were written by its
  COMMIT before the sync starts, and SQLite discards WAL content only through a checkpoint,
  which under ``synchronous=NORMAL`` syncs the WAL before and the database file after copying;
  so when the sync comes, the claim is either still in the WAL file (the fsync makes it
  durable) or already in a synced database file. Other commits use ``synchronous=NORMAL``: a
  power cut (not a crash) may lose the last unclaimed decisions or creates, which leaves those
  requests pending or unknown to the agent (it creates again, idempotently): fail closed.
  ``synchronous="FULL"`` syncs every commit itself (measured: 5x fewer decide+claim/s here;
  benchmarks/bench_dashboard_store.py).
- ``subscribe``: changes by this Store are announced right after their commit; changes by other
  Store objects on the file (other threads' stores, other processes) are read from the
  ``changes`` table by a poller thread every 20 ms.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from .policy_file import Policy
from .sql_store import SqlStore, Tx

__all__ = ["SqliteStore"]

log = logging.getLogger("hitl_widget.dashboard.store")

POLL_S = 0.02
KEEP_CHANGES = 100_000


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self.conn = conn

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql, tuple(params))
        rows = cur.fetchall() if cur.description is not None else []
        return [tuple(r) for r in rows]


class SqliteStore(SqlStore):
    """The store in the SQLite file ``path`` (created with its migrations when new)."""

    backend = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        policy: Policy | None = None,
        busy_timeout_s: float = 30.0,
        synchronous: Literal["FULL", "NORMAL"] = "NORMAL",
    ) -> None:
        super().__init__(policy=policy)
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        self._synchronous = synchronous
        self.path = str(path)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._commits = 0  # commits by this Store so far (counted under the write lock, after COMMIT)
        self._synced = 0  # every commit up to this number is synced to disk
        self._sync_lock = threading.Lock()
        self._dir_synced = False
        self._own_seqs: set[int] = set()
        self._own_lock = threading.Lock()
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        parent = Path(self.path).expanduser().resolve().parent
        if not parent.is_dir():
            raise FileNotFoundError(f"the folder of the database does not exist: {parent}")
        conn = self._conn()
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: SQLite refused WAL mode (journal_mode is {mode})")
        with self._write() as tx:
            self._apply_migrations(tx)

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("the store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[Tx]:
        with self._write_lock:
            conn = self._conn()
            if conn.in_transaction:  # a nested write (the RLock let this thread in): join it
                yield _SqliteTx(conn)
                return
            sync = durable and self._synchronous != "FULL"
            conn.execute("BEGIN IMMEDIATE")
            tx = _SqliteTx(conn)
            try:
                yield tx
                for rid in dict.fromkeys(tx.changed):
                    row = tx.one("INSERT INTO changes (request_id) VALUES (?) RETURNING seq", (rid,))
                    assert row is not None
                    if self._poller is not None:  # the poller skips what this Store announces itself
                        with self._own_lock:
                            self._own_seqs.add(int(row[0]))
                conn.execute("COMMIT")
                self._commits += 1
                mine = self._commits
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if sync:  # on disk before anyone is told (the caller's answer, the announcement)
            self._sync_wal(mine)
        if tx.changed:
            self._announce(list(dict.fromkeys(tx.changed)))

    def _sync_wal(self, commit: int) -> None:
        """Sync the WAL file to disk, unless a sync started after commit number ``commit`` did.

        Outside the write lock: writers go on meanwhile, and claims arriving during a sync are
        covered together by the next one (group commit).
        """
        with self._sync_lock:
            if self._synced >= commit:
                return
            upto = self._commits  # every commit up to here has written its WAL frames
            wal = self.path + "-wal"
            flags = os.O_RDWR | getattr(os, "O_BINARY", 0)
            try:
                fd = os.open(wal, flags)
            except FileNotFoundError:
                # no WAL file: it was checkpointed into the database file and removed; sync that
                fd = os.open(self.path, flags)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            if not self._dir_synced and hasattr(os, "O_DIRECTORY"):  # the WAL file's own entry, once
                dfd = os.open(str(Path(self.path).resolve().parent), os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
                self._dir_synced = True
            self._synced = upto

    @contextmanager
    def _read(self) -> Iterator[Tx]:
        conn = self._conn()
        if conn.in_transaction:
            yield _SqliteTx(conn)
            return
        conn.execute("BEGIN")
        try:
            yield _SqliteTx(conn)
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _integrity_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.IntegrityError,)

    def _prune(self) -> None:
        super()._prune()
        with self._write() as tx:
            tx.q("DELETE FROM changes WHERE seq < (SELECT MAX(seq) FROM changes) - ?", (KEEP_CHANGES,))

    # --- changes from other Store objects ------------------------------------------------------

    def _start_listening(self) -> None:
        with self._callbacks_lock:
            if self._poller is not None or self._closed:
                return
            row = self._conn().execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()
            start = int(row[0])
            self._poller = threading.Thread(target=self._poll, args=(start,), name="hitl-sqlite-changes", daemon=True)
            self._poller.start()

    def _poll(self, last: int) -> None:
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False)
        try:
            data_version = None
            while not self._stop.wait(POLL_S):
                try:
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                    if version == data_version:
                        continue
                    data_version = version
                    rows = conn.execute("SELECT seq, request_id FROM changes WHERE seq > ? ORDER BY seq", (last,)).fetchall()
                except sqlite3.Error:
                    log.exception("reading changes from %s failed; retrying", self.path)
                    data_version = None
                    continue
                theirs = []
                for seq, rid in rows:
                    last = max(last, int(seq))
                    with self._own_lock:
                        if seq in self._own_seqs:
                            self._own_seqs.discard(seq)
                            continue
                    theirs.append(str(rid))
                if theirs:
                    self._announce(theirs)
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the poller and close every connection (idempotent)."""
        if self._closed:
            return
        self._stop.set()
        if self._poller is not None and self._poller is not threading.current_thread():
            self._poller.join(timeout=5)
        self._closed = True
        with self._connections_lock:
            conns, self._connections = self._connections, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

