"""Fixtures for the dashboard's server tests: a real SQLite file and a real PostgreSQL cluster.

- ``pg_cluster`` (session): Debian's PostgreSQL started as the ``postgres`` user in a temporary
  folder on a free loopback port, stopped at the end of the session (tests/server/pg_cluster.py).
  Where PostgreSQL is missing the PostgreSQL cases skip, or fail when ``CI`` is set.
- ``backend``: "sqlite" | "postgresql" (parametrized); ``db``: a fresh database of that backend
  (a file path in ``tmp_path``, or the URL of a new database); ``store``: ``open_store(db)``;
  ``open_db()``: another ``Store`` on the same database (another "server instance").
- ``postgres_url`` / ``sqlite_db``: a fresh database of one backend, for tests that need one.
- ``person(name, *roles)``, ``agent_token(name)``, ``pending(**fields)``: factories on ``store``
  (plain versions in tests/server/store_factories.py).
- Passwords hashed in this process use argon2id's cheapest parameters (``_cheap_argon2``), and so
  do the servers and CLI runs started through server_process.py (``CHEAP_PASSWORDS``,
  tests/server/cheap_hitl.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import server_process
from pg_cluster import PgCluster, PgUnavailable
from store_factories import make_person, make_request

from hitl_widget.dashboard.store import Store, StoredRequest, User, open_store

BACKENDS = ["sqlite", "postgresql"]
server_process.CHEAP_PASSWORDS = True  # test-only cost: hitl subprocesses hash passwords cheaply too


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores opened in this process hash passwords with argon2id at its cheapest parameters
    (about 1 ms instead of about 50 ms, or a second on a loaded machine); server subprocesses and
    test_store.py's check of the real parameters are unaffected."""
    from argon2 import PasswordHasher

    from hitl_widget.dashboard import auth

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

    def cheap_hasher() -> PasswordHasher:
        return cheap

    cheap_hasher.real = auth._hasher  # type: ignore[attr-defined]
    monkeypatch.setattr(auth, "_hasher", cheap_hasher)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster for the whole session (started on first use)."""
    try:
        cluster = PgCluster()
    except PgUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is needed under CI: {exc}")
        pytest.skip(str(exc))
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped after the test)."""
    url = pg_cluster.create_database()
    try:
        yield url
    finally:
        pg_cluster.drop_database(url)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    """A path for a fresh SQLite database file."""
    return str(tmp_path / "hitl.db")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest) -> str:
    """A fresh database of ``backend``: a SQLite file path or a PostgreSQL URL."""
    name = "postgres_url" if backend == "postgresql" else "sqlite_db"
    return str(request.getfixturevalue(name))


@pytest.fixture
def open_db(db: str) -> Iterator[Callable[[], Store]]:
    """Open more ``Store`` objects on ``db`` (closed at the end of the test)."""
    opened: list[Store] = []

    def opener() -> Store:
        s = open_store(db)
        opened.append(s)
        return s

    try:
        yield opener
    finally:
        for s in reversed(opened):
            s.close()


@pytest.fixture
def store(open_db: Callable[[], Store]) -> Store:
    """``open_store(db)`` for the test's backend."""
    return open_db()


@pytest.fixture
def person(store: Store) -> Callable[..., User]:
    """``person("alice", "ops", ...)``: a person with those roles in ``store``."""

    def make(name: str, *roles: str) -> User:
        return make_person(store, name, *roles)

    return make


@pytest.fixture
def agent_token(store: Store) -> Callable[[str], str]:
    """``agent_token("agent-1")``: a new token for that agent."""
    return store.add_token


@pytest.fixture
def pending(store: Store) -> Callable[..., StoredRequest]:
    """``pending(agent="agent-1", risk="high", on_behalf_of="bob", timeout_s=5, ...)``: a new request."""

    def make(**fields: object) -> StoredRequest:
        return make_request(store, **fields)  # type: ignore[arg-type]

    return make
