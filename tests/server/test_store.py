"""The dashboard store on a real SQLite file and a real PostgreSQL database: requests, listing,
agent steps, reopening, migrations, users, tokens and sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from store_factories import PASSWORD, make_person, make_request, new_request

from hitl_widget.dashboard.sql_store import migrations
from hitl_widget.dashboard.store import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RequestQuery,
    Store,
    StoredRequest,
    User,
    open_store,
)

pytestmark = [pytest.mark.slow, pytest.mark.threads]


def test_create_is_idempotent_on_agent_and_client_request_id(store: Store) -> None:
    new = new_request()
    first, created = store.create_request(new, agent="agent-1", now=100.0)
    assert created and first.status == "pending" and first.version == 1
    again, created_again = store.create_request(new, agent="agent-1", now=200.0)
    assert not created_again and again == first  # same row, nothing changed (not even created_at)
    # the same client id from another agent is another request
    other, created_other = store.create_request(new, agent="agent-2", now=100.0)
    assert created_other and other.id != first.id
    # another fingerprint for the same client id: refused, the stored request untouched
    with pytest.raises(Conflict) as exc:
        store.create_request(new_request(client_request_id=new.client_request_id, fingerprint="other"), agent="agent-1", now=1.0)
    assert exc.value.code == "fingerprint" and exc.value.http_status == 409
    assert store.get_request(first.id) == first


def test_concurrent_creates_with_one_client_id_make_one_request(store: Store) -> None:
    new = new_request()
    results: list[tuple[StoredRequest, bool]] = []
    lock = threading.Lock()

    def create() -> None:
        r = store.create_request(new, agent="agent-1", now=time.time())
        with lock:
            results.append(r)

    threads = [threading.Thread(target=create) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(created for _, created in results) == 1
    assert len({r.id for r, _ in results}) == 1


def test_stored_fields_round_trip_and_json(store: Store) -> None:
    new = new_request(risk="high", timeout_s=30, on_behalf_of="bob", context={"ticket": "T-9", "nested": [1, "ü"]})
    req, _ = store.create_request(new, agent="agent-1", now=1_700_000_000.25)
    got = store.get_request(req.id)
    assert got == req
    assert got.expires_at == pytest.approx(1_700_000_030.25)
    assert got.view == dict(new.view) and got.context == {"ticket": "T-9", "nested": [1, "ü"]}
    data = got.to_json()
    assert data["created_at"] == "2023-11-14T22:13:20.250Z"
    assert data["expires_at"] == "2023-11-14T22:13:50.250Z"
    assert data["status"] == "pending" and data["decision"] is None and data["approvals"] == []
    assert data["on_behalf_of"] == "bob" and data["approvals_needed"] == 1 and data["roles"] == []
    assert store.get_request("no-such-id") is None


@pytest.mark.parametrize(
    "fields",
    [
        {"client_request_id": ""},
        {"function": ""},
        {"timeout_s": 0},
        {"timeout_s": float("nan")},
        {"timeout_s": True},
        {"view": "not an object"},
        {"context": {"x": object()}},
    ],
)
def test_create_refuses_bad_fields(store: Store, fields: dict[str, object]) -> None:
    with pytest.raises(Invalid):
        store.create_request(new_request(**fields), agent="agent-1", now=1.0)
    assert store.list_requests(RequestQuery()).items == []


def test_list_pending_first_oldest_first_with_filters_and_cursor(store: Store, person: Callable[..., User]) -> None:
    alice = person("alice")
    reqs = [
        make_request(store, now=1000.0 + i, function="refund" if i % 2 else "delete_user", risk="high" if i % 3 == 0 else "low",
                     on_behalf_of="bob" if i == 4 else None, agent="agent-2" if i == 5 else "agent-1")
        for i in range(10)
    ]  # fmt: skip
    # decide the two oldest: they go after every pending one
    for r in reqs[:2]:
        store.decide(r.id, version=1, user=alice, kind="reject", edits=None, feedback="no", channel="test", now=2000.0)
    page = store.list_requests(RequestQuery(limit=100))
    assert [r.id for r in page.items] == [r.id for r in reqs[2:]] + [reqs[0].id, reqs[1].id]
    assert page.next_cursor is None

    # pages of 3 walk the same order, no duplicates, no gaps
    seen: list[str] = []
    cursor = None
    while True:
        p = store.list_requests(RequestQuery(limit=3, cursor=cursor))
        seen.extend(r.id for r in p.items)
        cursor = p.next_cursor
        if cursor is None:
            break
    assert seen == [r.id for r in page.items]

    assert [r.id for r in store.list_requests(RequestQuery(status="rejected")).items] == [reqs[0].id, reqs[1].id]
    assert {r.id for r in store.list_requests(RequestQuery(status="pending,rejected")).items} == {r.id for r in reqs}
    assert all(r.function == "refund" for r in store.list_requests(RequestQuery(function="refund")).items)
    assert len(store.list_requests(RequestQuery(function="refund")).items) == 5
    assert {r.id for r in store.list_requests(RequestQuery(risk="high")).items} == {reqs[i].id for i in (0, 3, 6, 9)}
    assert [r.id for r in store.list_requests(RequestQuery(requester="bob")).items] == [reqs[4].id]
    assert [r.id for r in store.list_requests(RequestQuery(requester="agent-2")).items] == [reqs[5].id]
    newest = store.list_requests(RequestQuery(order="newest", limit=4))
    assert [r.id for r in newest.items] == [r.id for r in reversed(reqs)][:4]
    rest = store.list_requests(RequestQuery(order="newest", limit=100, cursor=newest.next_cursor))
    assert [r.id for r in rest.items] == [r.id for r in reversed(reqs)][4:]


@pytest.mark.parametrize(
    "query",
    [RequestQuery(status="bogus"), RequestQuery(limit=0), RequestQuery(limit=501), RequestQuery(cursor="%%%"),
     RequestQuery(cursor="WzFd")],
)  # fmt: skip
def test_list_refuses_bad_queries(store: Store, query: RequestQuery) -> None:
    with pytest.raises(Invalid):
        store.list_requests(query)


def test_claim_outcome_and_their_refusals(store: Store, person: Callable[..., User]) -> None:
    alice = person("alice")
    req = make_request(store)
    with pytest.raises(Conflict) as exc:
        store.claim(req.id, agent="agent-1", version=1, now=1.0)
    assert exc.value.code == "not_approved"
    store.decide(req.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=2.0)
    with pytest.raises(Forbidden):
        store.claim(req.id, agent="agent-2", version=1, now=3.0)
    with pytest.raises(Invalid):
        store.claim(req.id, agent="agent-1", version="1", now=3.0)  # type: ignore[arg-type]
    running = store.claim(req.id, agent="agent-1", version=1, now=3.0)
    assert running.status == "running" and running.claimed_at == 3.0
    with pytest.raises(Conflict) as exc:
        store.claim(req.id, agent="agent-1", version=1, now=4.0)  # the agent restarted and asks again
    assert exc.value.code == "claimed" and exc.value.request is not None and exc.value.request.status == "running"
    with pytest.raises(Invalid):
        store.report_outcome(req.id, agent="agent-1", status="maybe", detail=None, now=5.0)
    done = store.report_outcome(req.id, agent="agent-1", status="succeeded", detail={"result": "ok"}, now=5.0)
    assert done.status == "succeeded" and done.outcome == {"status": "succeeded", "detail": {"result": "ok"}, "at": 5.0}
    with pytest.raises(Conflict):
        store.report_outcome(req.id, agent="agent-1", status="failed", detail=None, now=6.0)
    with pytest.raises(NotFound):
        store.claim("missing", agent="agent-1", version=1, now=1.0)
    actions = [(e.action, e.accepted, e.code) for e in store.decision_log(req.id)]
    assert actions == [
        ("claim", False, "not_approved"),
        ("approve", True, None),
        ("claim", False, "not_your_request"),
        ("claim", False, "invalid"),
        ("claim", True, None),
        ("claim", False, "claimed"),
        ("outcome", False, "invalid"),
        ("outcome", True, None),
        ("outcome", False, "not_running"),
    ]


def test_claim_exactly_once_across_threads_and_two_stores(store: Store, open_db: Callable[[], Store]) -> None:
    other = open_db()  # a second "server instance" on the same database
    alice = make_person(store, "alice")
    reqs = [make_request(store) for _ in range(5)]
    for r in reqs:
        store.decide(r.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=time.time())
    wins: list[str] = []
    conflicts: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def claimer(s: Store) -> None:
        barrier.wait()
        for r in reqs:
            try:
                s.claim(r.id, agent="agent-1", version=1, now=time.time())
            except Conflict:
                with lock:
                    conflicts.append(r.id)
            else:
                with lock:
                    wins.append(r.id)

    threads = [threading.Thread(target=claimer, args=(store if i % 2 else other,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(r.id for r in reqs)  # each exactly once
    assert len(conflicts) == 16 * 5 - 5
    for r in reqs:
        log = [e for e in other.decision_log(r.id) if e.action == "claim"]
        assert sum(e.accepted for e in log) == 1 and len(log) == 16


def test_invalid_edit_reopens_at_next_version(store: Store, person: Callable[..., User]) -> None:
    alice = person("alice")
    req = make_request(store)
    edited = store.decide(req.id, version=1, user=alice, kind="edit", edits={"amount": {"text": "ten"}}, feedback=None,
                          channel="test", now=2.0)  # fmt: skip
    assert edited.status == "approved" and edited.version == 2 and edited.decision is not None
    assert edited.decision["kind"] == "edit"
    with pytest.raises(Conflict):
        store.reopen_invalid_edit(req.id, agent="agent-1", version=1, error="bad", problems=[], now=3.0)
    problems = [{"argument": "amount", "message": "not a number: 'ten'"}]
    back = store.reopen_invalid_edit(req.id, agent="agent-1", version=2, error="amount: not a number", problems=problems, now=3.0)
    assert back.status == "pending" and back.version == 3 and back.decision is None
    assert back.problems == {"error": "amount: not a number", "problems": problems, "version": 2}
    assert back.edits == {"amount": {"text": "ten"}} and back.approved_by == []
    fixed = store.decide(req.id, version=3, user=alice, kind="edit", edits={"amount": {"json": 10}}, feedback="fixed",
                         channel="test", now=4.0)  # fmt: skip
    assert fixed.status == "approved" and fixed.version == 4 and fixed.problems is None
    assert fixed.edits == {"amount": {"json": 10}}


def test_cancel(store: Store, person: Callable[..., User]) -> None:
    alice = person("alice")
    a = make_request(store)
    b = make_request(store)
    assert store.cancel(a.id, agent="agent-1", reason="user gave up", now=2.0).status == "cancelled"
    store.decide(b.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=2.0)
    store.claim(b.id, agent="agent-1", version=1, now=3.0)
    with pytest.raises(Conflict):
        store.cancel(b.id, agent="agent-1", reason=None, now=4.0)  # running: too late
    with pytest.raises(Conflict):
        store.decide(a.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=5.0)


def test_reopen_after_close_keeps_everything(db: str, person: Callable[..., User], store: Store) -> None:
    alice = person("alice", "ops")
    token = store.add_token("agent-1")
    reqs = [make_request(store, now=100.0 + i, timeout_s=3600) for i in range(20)]
    store.decide(reqs[0].id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=200.0)
    store.close()
    store.close()  # idempotent
    with open_store(db) as again:
        assert again.get_request(reqs[0].id).status == "approved"  # type: ignore[union-attr]
        pending = again.list_requests(RequestQuery(status="pending", limit=100)).items
        assert [r.id for r in pending] == [r.id for r in reqs[1:]]
        assert again.user_for_token(token) == User("agent-1", kind="agent")
        assert again.verify_password("alice", PASSWORD) == alice
        assert [e.action for e in again.decision_log(reqs[0].id)] == ["approve"]


def test_migrations_apply_once(db: str, store: Store, backend: str) -> None:
    assert store.schema_version() == len(migrations(backend)) >= 1  # type: ignore[attr-defined]
    make_request(store)
    for _ in range(2):
        with open_store(db) as again:
            assert again.schema_version() == len(migrations(backend))  # type: ignore[attr-defined]
            assert len(again.list_requests(RequestQuery()).items) == 1


def test_migrations_applied_by_stores_opening_together(db: str, backend: str) -> None:
    opened: list[Store] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def opener() -> None:
        try:
            s = open_store(db)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                opened.append(s)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors
        assert {s.schema_version() for s in opened} == {len(migrations(backend))}  # type: ignore[attr-defined]
    finally:
        for s in opened:
            s.close()


# --- users, tokens, sessions -------------------------------------------------------------------


def test_users_and_passwords(store: Store) -> None:
    alice = store.add_user("alice", "s3cret", ["ops", "manager", "ops"])
    assert alice == User("alice", kind="person", roles=("ops", "manager"))
    with pytest.raises(Conflict):
        store.add_user("alice", "other", [])
    for bad_name in ("", "a b", "x" * 65, "<script>", "ali\nce"):
        with pytest.raises(Invalid):
            store.add_user(bad_name, "pw", [])
    with pytest.raises(Invalid):
        store.add_user("bob", "", [])
    with pytest.raises(Invalid):
        store.add_user("bob", "pw", ["has space"])
    assert store.verify_password("alice", "s3cret") == alice
    assert store.verify_password("alice", "S3cret") is None
    assert store.verify_password("nobody", "s3cret") is None
    assert store.get_user("alice") == alice and store.get_user("nobody") is None
    assert [u.name for u in store.list_users()] == ["alice"]


def test_the_real_hasher_uses_argon2_cffis_defaults() -> None:
    """Outside these tests (conftest.py makes hashing cheap here) the store hashes with argon2-cffi's
    default parameters (RFC 9106's low-memory profile: argon2id, t=3, m=64 MiB, p=4)."""
    import argon2

    from hitl_widget.dashboard import auth

    real = getattr(auth._hasher, "real", auth._hasher)()
    default = argon2.PasswordHasher()
    assert (real.time_cost, real.memory_cost, real.parallelism, real.type) == (
        default.time_cost, default.memory_cost, default.parallelism, argon2.Type.ID,
    )  # fmt: skip
    assert default.memory_cost >= 65536 and default.time_cost >= 3


def test_passwords_are_stored_as_argon2_hashes(store: Store, db: str, backend: str) -> None:
    store.add_user("alice", "s3cret-password", [])
    if backend == "sqlite":
        import sqlite3

        with sqlite3.connect(db) as conn:
            (stored,) = conn.execute("SELECT password_hash FROM users WHERE name = 'alice'").fetchone()
    else:
        import psycopg

        with psycopg.connect(db) as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE name = 'alice'").fetchone()
            assert row is not None
            stored = row[0]
    assert stored.startswith("$argon2id$") and "s3cret-password" not in stored


def test_tokens(store: Store, db: str, backend: str) -> None:
    t1 = store.add_token("agent-1")
    t2 = store.add_token("agent-1")
    assert t1 != t2 and t1.startswith("hitl_") and len(t1) >= 40
    agent = User("agent-1", kind="agent")
    assert store.user_for_token(t1) == agent and store.user_for_token(t2) == agent
    assert store.user_for_token(t1[:-1] + ("A" if t1[-1] != "A" else "B")) is None  # forged
    assert store.user_for_token("") is None and store.user_for_token("x" * 5000) is None
    store.add_user("alice", "pw", [])
    with pytest.raises(Conflict):
        store.add_token("alice")  # a person cannot get an agent token
    assert store.revoke_token("agent-1") == 2
    assert store.user_for_token(t1) is None and store.user_for_token(t2) is None
    with pytest.raises(NotFound):
        store.revoke_token("agent-1")
    t3 = store.add_token("agent-1")
    assert store.user_for_token(t3) == agent
    # only hashes are stored
    dump = _dump(db, backend)
    assert t1 not in dump and t3 not in dump and t3[5:] not in dump


def _dump(db: str, backend: str) -> str:
    if backend == "sqlite":
        import sqlite3

        with sqlite3.connect(db) as conn:
            return "\n".join(conn.iterdump())
    import psycopg

    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT token_hash, name FROM tokens UNION ALL SELECT sid_hash, name FROM sessions").fetchall()
        return repr(rows)


def test_sessions(store: Store, person: Callable[..., User], db: str, backend: str) -> None:
    alice = person("alice", "ops")
    sid = store.create_session(alice, now=1000.0, ttl_s=60)
    assert store.user_for_session(sid, now=1030.0) == alice
    assert store.user_for_session(sid, now=1060.0) is None  # expired
    sid2 = store.create_session(alice)
    assert store.user_for_session(sid2) == alice
    assert sid2 not in _dump(db, backend)
    store.end_session(sid2)
    assert store.user_for_session(sid2) is None
    store.end_session(sid2)  # again: nothing to do
    assert store.user_for_session("forged") is None
    a, b = store.create_session(alice), store.create_session(alice)
    assert store.end_sessions("alice") == 3  # the two, and the expired one not yet pruned
    assert store.user_for_session(a) is None and store.user_for_session(b) is None
    with pytest.raises(Forbidden):
        store.create_session(User("agent-1", kind="agent"))
    with pytest.raises(NotFound):
        store.create_session(User("ghost"))


def test_slack_links(store: Store, person: Callable[..., User]) -> None:
    person("alice", "ops")
    person("bob")
    linked = store.link_slack("alice", "U012ABC")
    assert linked.slack_id == "U012ABC"
    assert store.user_for_slack("U012ABC") == linked
    assert store.user_for_slack("U999") is None
    with pytest.raises(Conflict):
        store.link_slack("bob", "U012ABC")
    with pytest.raises(NotFound):
        store.link_slack("carol", "U777")
    with pytest.raises(Invalid):
        store.link_slack("bob", "<@U1>")
    assert store.link_slack("alice", "U012ABD").slack_id == "U012ABD"  # relinking replaces
    assert store.user_for_slack("U012ABC") is None


def _raw_execute(db: str, backend: str, statements: list[str]) -> list[tuple[object, ...]]:
    """Run SQL on the database directly (not through a Store); the last statement's rows."""
    rows: list[tuple[object, ...]] = []
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(db, isolation_level=None)
        try:
            for sql in statements:
                cur = conn.execute(sql)
                rows = cur.fetchall() if cur.description else []
        finally:
            conn.close()
        return rows
    import psycopg

    with psycopg.connect(db, autocommit=True) as pg:
        for sql in statements:
            cur = pg.execute(sql)
            rows = cur.fetchall() if cur.description else []
    return rows


def test_an_older_schema_is_upgraded_and_keeps_its_rows(db: str, backend: str) -> None:
    """A database made by the first migration only (an older hitl_widget) gets the later ones at open."""
    first = migrations(backend)[0]
    real = "DOUBLE PRECISION" if backend == "postgresql" else "REAL"
    _raw_execute(db, backend, [
        f"CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {real} NOT NULL)",
        *first.statements(),
        f"INSERT INTO schema_version VALUES (1, '{first.name}', 0)",
        "INSERT INTO users (name, kind, password_hash, roles, slack_id, created_at) "
        "VALUES ('agent-0', 'agent', NULL, '[]', NULL, 0)",
    ])  # fmt: skip
    with open_store(db) as store:
        assert store.schema_version() == len(migrations(backend)) > 1  # type: ignore[attr-defined]
        assert store.get_user("agent-0") == User("agent-0", kind="agent")
        req = make_request(store)
        assert [r.id for r in store.list_requests(RequestQuery(status="pending")).items] == [req.id]
    versions = _raw_execute(db, backend, ["SELECT version FROM schema_version ORDER BY version"])
    assert [v[0] for v in versions] == list(range(1, len(migrations(backend)) + 1))


def test_a_newer_schema_than_this_code_is_refused(db: str, backend: str) -> None:
    open_store(db).close()
    _raw_execute(db, backend, ["INSERT INTO schema_version VALUES (999, 'future', 0)"])
    with pytest.raises(RuntimeError, match="newer than this hitl_widget knows"):
        open_store(db)


def test_names_are_one_name_ignoring_case(store: Store) -> None:
    store.add_user("alice", "pw", ["ops"])
    with pytest.raises(Conflict):
        store.add_user("Alice", "pw", ["manager"])
    with pytest.raises(Conflict):
        store.add_token("ALICE")
    store.add_token("agent-1")
    with pytest.raises(Conflict):
        store.add_token("Agent-1")
    with pytest.raises(Conflict):
        store.add_user("AGENT-1", "pw", [])
    assert [u.name for u in store.list_users()] == ["agent-1", "alice"]


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    import sqlite3

    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100, encoding="utf-8")
    before = notes.read_bytes()
    with pytest.raises(sqlite3.DatabaseError):
        open_store(str(notes))
    assert notes.read_bytes() == before
    with pytest.raises(FileNotFoundError, match="folder of the database does not exist"):
        open_store(str(tmp_path / "missing" / "hitl.db"))
    with pytest.raises(ValueError):
        open_store("  ")


def test_roles_change_and_removal_take_effect_at_once(store: Store) -> None:
    from hitl_widget.dashboard.policy_file import Policy, Rule

    store.policy = Policy(risks={"high": Rule(1, ("ops",))})
    alice = store.add_user("alice", "pw", ["dev"])
    sid = store.create_session(alice)
    req = make_request(store, risk="high")
    with pytest.raises(Forbidden):
        store.decide(req.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="t", now=time.time())
    assert store.set_roles("alice", ["ops"]) == User("alice", roles=("ops",))
    assert store.user_for_session(sid) == User("alice", roles=("ops",))
    done = store.decide(req.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="t", now=time.time())
    assert done.status == "approved"
    token = store.add_token("agent-7")
    store.remove_user("alice")
    store.remove_user("agent-7")
    assert store.user_for_session(sid) is None and store.user_for_token(token) is None
    assert store.verify_password("alice", "pw") is None
    assert store.get_request(req.id).decision["by"] == ["alice"]  # type: ignore[union-attr]  # the record stays
    other = make_request(store)
    with pytest.raises(Forbidden) as exc:
        store.decide(other.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="t", now=time.time())
    assert exc.value.code == "unknown_user"
    with pytest.raises(NotFound):
        store.remove_user("alice")
    with pytest.raises(NotFound):
        store.set_roles("ghost", [])
    again = store.add_token("agent-7")  # the name can be used again; the old token stays dead
    assert store.user_for_token(token) is None and store.user_for_token(again) == User("agent-7", kind="agent")


def test_sqlite_claims_are_synced_to_disk_and_other_commits_are_not(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Traced: a claim's COMMIT is followed by an fsync of the WAL file, outside the write lock,
    before the claim returns and before it is announced; a decision's commit is not synced; a
    sync that started after a commit covers it (no second sync for it)."""
    import os

    from hitl_widget.dashboard.sqlite_store import SqliteStore

    with open_store(sqlite_db) as store:
        assert isinstance(store, SqliteStore)
        alice = store.add_user("alice", "pw", [])
        req = make_request(store)
        conn = store._conn()
        events: list[tuple[str, ...]] = []
        opened: dict[int, str] = {}
        real_open, real_fsync = os.open, os.fsync

        def spy_open(path: str, flags: int, *args: int) -> int:
            fd = real_open(path, flags, *args)
            opened[fd] = str(path)
            return fd

        def spy_fsync(fd: int) -> None:
            events.append(("fsync", opened.get(fd, "?"), "locked" if store._write_lock._is_owned() else "unlocked"))  # type: ignore[attr-defined]
            real_fsync(fd)

        monkeypatch.setattr(os, "open", spy_open)
        monkeypatch.setattr(os, "fsync", spy_fsync)
        conn.set_trace_callback(lambda sql: events.append(("sql", sql)))
        unsubscribe = store.subscribe(lambda rid: events.append(("announce", rid)))
        try:
            store.decide(req.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="t", now=time.time())
            assert not any(e[0] == "fsync" for e in events) and ("sql", "COMMIT") in events
            events.clear()
            store.claim(req.id, agent="agent-1", version=1, now=time.time())
            events.append(("returned",))
        finally:
            unsubscribe()
            conn.set_trace_callback(None)
        commit = events.index(("sql", "COMMIT"))
        syncs = [i for i, e in enumerate(events) if e[0] == "fsync"]
        assert syncs and syncs[0] > commit, events
        assert events[syncs[0]][1] == sqlite_db + "-wal" and events[syncs[0]][2] == "unlocked", events
        assert syncs[0] < events.index(("announce", req.id)) < events.index(("returned",)), events
        assert not any("synchronous" in e[1] for e in events if e[0] == "sql")
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL throughout
        events.clear()
        store._sync_wal(store._commits)  # already covered: nothing to do
        assert not any(e[0] == "fsync" for e in events)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
