"""``Store.decide``, the one decision function, on SQLite and PostgreSQL: quorum, roles,
self-approval, double counting, versions, expiry, and many deciders at once."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from store_factories import make_person, make_request

from hitl_widget.dashboard.policy_file import Policy, Rule
from hitl_widget.dashboard.store import Conflict, Forbidden, Invalid, NotFound, Store, StoredRequest, User

pytestmark = [pytest.mark.slow, pytest.mark.threads]

POLICY = Policy(risks={"high": Rule(2, ("ops",)), "critical": Rule(1, ("manager",))})


@pytest.fixture
def strict(store: Store) -> Store:
    store.policy = POLICY
    return store


def decide(
    store: Store,
    req: StoredRequest | str,
    user: User,
    kind: str = "approve",
    *,
    version: int | None = None,
    edits: dict[str, Any] | None = None,
    feedback: str | None = None,
    now: float | None = None,
) -> StoredRequest:
    rid = req if isinstance(req, str) else req.id
    if version is None:
        current = store.get_request(rid)
        version = current.version if current else 1
    return store.decide(rid, version=version, user=user, kind=kind, edits=edits, feedback=feedback, channel="test",
                        now=time.time() if now is None else now)  # fmt: skip


def test_one_approval_by_anyone_by_default(store: Store, person: Callable[..., User]) -> None:
    alice = person("alice")
    req = make_request(store)
    assert req.approvals_needed == 1 and req.roles == ()
    done = decide(store, req, alice, feedback="fine", now=10.0)
    assert done.status == "approved" and done.decided_at == 10.0
    assert done.decision == {"kind": "approve", "by": ["alice"], "at": 10.0, "feedback": "fine", "edits": None}
    assert done.approvals == ({"user": "alice", "version": 1, "at": 10.0, "feedback": "fine"},)
    assert done.to_json()["decision"]["at"] == "1970-01-01T00:00:10.000Z"


def test_quorum_of_two_ops_counted_once_per_person(strict: Store) -> None:
    store = strict
    ann, ben, dev = make_person(store, "ann", "ops"), make_person(store, "ben", "ops"), make_person(store, "dev", "dev")
    req = make_request(store, risk="high")
    assert req.approvals_needed == 2 and req.roles == ("ops",)
    with pytest.raises(Forbidden) as exc:
        decide(store, req, dev)
    assert exc.value.code == "role" and exc.value.http_status == 403
    one = decide(store, req, ann)
    assert one.status == "pending" and one.approved_by == ["ann"]
    with pytest.raises(Conflict) as exc:
        decide(store, req, ann)  # ann again: counted once
    assert exc.value.code == "repeated"
    assert store.get_request(req.id).approved_by == ["ann"]  # type: ignore[union-attr]
    two = decide(store, req, ben)
    assert two.status == "approved" and two.decision is not None and two.decision["by"] == ["ann", "ben"]
    log = store.decision_log(req.id)
    assert [(e.actor, e.accepted, e.code) for e in log] == [
        ("dev", False, "role"),
        ("ann", True, None),
        ("ann", False, "repeated"),
        ("ben", True, None),
    ]


def test_critical_needs_a_manager(strict: Store) -> None:
    store = strict
    ops, boss = make_person(store, "ops1", "ops"), make_person(store, "boss", "manager")
    req = make_request(store, risk="critical")
    with pytest.raises(Forbidden):
        decide(store, req, ops)
    with pytest.raises(Forbidden):
        decide(store, req, ops, "reject", feedback="no")  # a role is needed to decide at all
    assert decide(store, req, boss).status == "approved"


def test_requester_cannot_approve_or_edit_own_request_but_may_reject(store: Store, person: Callable[..., User]) -> None:
    bob = person("bob", "ops")
    req = make_request(store, on_behalf_of="bob")
    with pytest.raises(Forbidden) as exc:
        decide(store, req, bob)
    assert exc.value.code == "self_approval"
    with pytest.raises(Forbidden):
        decide(store, req, bob, "edit", edits={"amount": {"json": 1}})
    assert store.get_request(req.id).status == "pending"  # type: ignore[union-attr]
    assert decide(store, req, bob, "reject", feedback="I did not ask for this").status == "rejected"
    assert [(e.action, e.code) for e in store.decision_log(req.id)] == [
        ("approve", "self_approval"),
        ("edit", "self_approval"),
        ("reject", None),
    ]


def test_agents_cannot_decide(store: Store) -> None:
    store.add_token("agent-1")
    agent = User("agent-1", kind="agent")
    req = make_request(store)
    with pytest.raises(Forbidden) as exc:
        decide(store, req, agent)
    assert exc.value.code == "not_a_person"


def test_stale_and_repeated_decisions_change_nothing_and_are_logged(store: Store, person: Callable[..., User]) -> None:
    alice, bob = person("alice"), person("bob")
    req = make_request(store)
    with pytest.raises(Conflict) as exc:
        decide(store, req, alice, version=2)
    assert exc.value.code == "stale"
    done = decide(store, req, alice, "reject", feedback="no")
    with pytest.raises(Conflict) as exc:
        decide(store, req, bob, version=1)  # late: already decided
    assert exc.value.code == "already_decided" and exc.value.request == done
    with pytest.raises(Conflict):
        decide(store, req, alice, "reject", version=1)  # repeated
    assert store.get_request(req.id) == done
    assert [(e.actor, e.action, e.accepted, e.code, e.version) for e in store.decision_log(req.id)] == [
        ("alice", "approve", False, "stale", 2),
        ("alice", "reject", True, None, 1),
        ("bob", "approve", False, "already_decided", 1),
        ("alice", "reject", False, "already_decided", 1),
    ]
    with pytest.raises(NotFound):
        decide(store, "no-such-request", alice, version=1)
    assert [e.code for e in store.decision_log("no-such-request")] == ["not_found"]


def test_edit_makes_a_new_version_and_older_approvals_stop_counting(strict: Store) -> None:
    store = strict
    ann, ben, cat = (make_person(store, n, "ops") for n in ("ann", "ben", "cat"))
    req = make_request(store, risk="high")
    decide(store, req, ann)  # ann approves version 1
    edited = decide(store, req, ben, "edit", version=1, edits={"amount": {"json": 50}}, feedback="halved")
    assert edited.version == 2 and edited.status == "pending"
    assert edited.approved_by == ["ben"]  # the editor's approval of version 2; ann's of version 1 no longer counts
    with pytest.raises(Conflict):
        decide(store, req, cat, version=1)  # cat looked at version 1
    with pytest.raises(Conflict) as exc:
        decide(store, req, ben, version=2)  # the editor cannot count twice
    assert exc.value.code == "repeated"
    again = decide(store, req, ann, version=2)  # ann approves the edited call
    assert again.status == "approved" and again.decision is not None
    assert again.decision["kind"] == "edit" and again.decision["by"] == ["ben", "ann"]
    assert again.decision["edits"] == {"amount": {"json": 50}}


def test_edits_merge_and_are_checked(store: Store, person: Callable[..., User]) -> None:
    store.policy = Policy(default=Rule(2))
    alice, bob = person("alice"), person("bob")
    req = make_request(store)
    for bad in ({}, {"nope": {"json": 1}}, {"amount": 5}, {"amount": {"text": 5}}, {"amount": {"json": 1, "text": "1"}}, "x"):
        with pytest.raises(Invalid):
            decide(store, req, alice, "edit", edits=bad)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        decide(store, req, alice, "approve", edits={"amount": {"json": 1}})
    with pytest.raises(Invalid):
        decide(store, req, alice, "maybe")
    with pytest.raises(Invalid):
        decide(store, req, alice, feedback="x" * 10_001)
    v2 = decide(store, req, alice, "edit", edits={"amount": {"json": 1}})
    v3 = decide(store, req, bob, "edit", version=2, edits={"order_id": {"text": "B-2"}})
    assert v3.version == 3 and v3.edits == {"amount": {"json": 1}, "order_id": {"text": "B-2"}}
    assert v2.status == "pending" and v3.status == "pending" and v3.approved_by == ["bob"]
    assert store.get_request(req.id).version == 3  # type: ignore[union-attr]
    assert sum(not e.accepted for e in store.decision_log(req.id)) == 9


def test_a_request_too_large_to_show_can_only_be_rejected(store: Store, person: Callable[..., User]) -> None:
    alice = person("alice")
    view = {"arguments": [{"name": "blob", "text": "…"}], "approvable": False, "too_large": ["blob"]}
    req = make_request(store, view=view)
    with pytest.raises(Forbidden) as exc:
        decide(store, req, alice)
    assert exc.value.code == "not_approvable"
    assert decide(store, req, alice, "reject").status == "rejected"


def test_expiry_fails_closed_as_timed_out(store: Store, person: Callable[..., User]) -> None:
    alice = person("alice")
    late = make_request(store, now=100.0, timeout_s=10)
    swept = make_request(store, now=100.0, timeout_s=5)
    forever = make_request(store, now=100.0)
    assert decide(store, forever, alice, now=10_000.0).status == "approved"  # no timeout: never expires
    with pytest.raises(Conflict) as exc:
        decide(store, late, alice, now=110.0)  # at the deadline: too late
    assert exc.value.code == "expired"
    got = store.get_request(late.id)
    assert got is not None and got.status == "timed_out" and got.decision is None and got.decided_at == 110.0
    assert [(e.action, e.accepted, e.code) for e in store.decision_log(late.id)] == [
        ("approve", False, "expired"),
        ("timeout", True, None),
    ]
    with pytest.raises(Conflict) as exc:
        decide(store, late, alice, now=111.0)
    assert exc.value.code == "expired"
    assert store.expire_due(104.9) == []
    expired = store.expire_due(105.0)
    assert [r.id for r in expired] == [swept.id] and expired[0].status == "timed_out"
    assert store.expire_due(200.0) == []  # once
    with pytest.raises(Conflict):
        store.claim(swept.id, agent="agent-1", version=1, now=200.0)


@pytest.mark.parametrize("n_threads", [24])
def test_concurrent_deciders_exactly_one_wins_per_version(store: Store, open_db: Callable[[], Store], n_threads: int) -> None:
    """Many threads on two Store objects decide the same requests at once: per request exactly one
    decision is accepted; every other attempt is a Conflict, and every attempt is in the log."""
    other = open_db()
    people = [make_person(store, f"p{i}") for i in range(n_threads)]
    reqs = [make_request(store) for _ in range(6)]
    accepted: dict[str, list[str]] = {r.id: [] for r in reqs}
    lock = threading.Lock()
    barrier = threading.Barrier(n_threads)
    unexpected: list[BaseException] = []

    def run(i: int) -> None:
        s = store if i % 2 else other
        barrier.wait()
        for r in reqs:
            kind = "reject" if i % 3 == 0 else "approve"
            try:
                s.decide(r.id, version=1, user=people[i], kind=kind, edits=None, feedback=None, channel="test", now=time.time())
            except Conflict:
                continue
            except BaseException as exc:
                with lock:
                    unexpected.append(exc)
                continue
            with lock:
                accepted[r.id].append(people[i].name)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not unexpected
    for r in reqs:
        assert len(accepted[r.id]) == 1, accepted[r.id]
        final = store.get_request(r.id)
        assert final is not None and final.status in ("approved", "rejected")
        assert final.decision is not None and final.decision["by"] == accepted[r.id]
        log = other.decision_log(r.id)
        assert len(log) == n_threads and sum(e.accepted for e in log) == 1


def test_concurrent_quorum_counts_each_person_once(strict: Store, open_db: Callable[[], Store]) -> None:
    """Three ops people each approve a high-risk request from four threads at once: it is approved
    by exactly two distinct people, and nobody is counted twice."""
    store = strict
    other = open_db()
    other.policy = POLICY
    ops = [make_person(store, n, "ops") for n in ("ann", "ben", "cat")]
    reqs = [make_request(store, risk="high") for _ in range(5)]
    barrier = threading.Barrier(12)

    def run(i: int) -> None:
        s = store if i % 2 else other
        barrier.wait()
        for r in reqs:
            with contextlib.suppress(Conflict):
                decide(s, r.id, ops[i % 3], version=1)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in reqs:
        final = store.get_request(r.id)
        assert final is not None and final.status == "approved"
        assert final.decision is not None and len(set(final.decision["by"])) == 2 == len(final.decision["by"])
        assert [a["user"] for a in final.approvals] == final.decision["by"]
        log = store.decision_log(r.id)
        assert len(log) == 12 and sum(e.accepted for e in log) == 2


def test_the_deciders_roles_and_kind_come_from_the_store_not_the_caller(strict: Store) -> None:
    store = strict
    make_person(store, "dev", "dev")
    store.add_token("bot")
    req = make_request(store, risk="critical")
    with pytest.raises(Forbidden) as exc:
        decide(store, req, User("dev", roles=("manager",)))  # a User claiming a role the store does not give
    assert exc.value.code == "role"
    with pytest.raises(Forbidden) as exc:
        decide(store, req, User("bot", kind="person", roles=("manager",)))  # an agent dressed as a person
    assert exc.value.code == "not_a_person"
    with pytest.raises(Forbidden) as exc:
        decide(store, req, User("mallory", roles=("manager",)))  # nobody the store knows
    assert exc.value.code == "unknown_user"
    assert store.get_request(req.id).status == "pending"  # type: ignore[union-attr]
    assert [(e.actor, e.code) for e in store.decision_log(req.id)] == [
        ("dev", "role"),
        ("bot", "not_a_person"),
        ("mallory", "unknown_user"),
    ]


def test_the_requester_rule_ignores_case(store: Store, person: Callable[..., User]) -> None:
    bob = person("bob")
    req = make_request(store, on_behalf_of="Bob")
    with pytest.raises(Forbidden) as exc:
        decide(store, req, bob)
    assert exc.value.code == "self_approval"
