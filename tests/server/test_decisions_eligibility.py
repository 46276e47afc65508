"""An approver removed, or whose role was taken away, after approving toward a 2-of-N quorum:
eligibility is checked when the quorum is completed, so their approval no longer counts (on
SQLite and PostgreSQL). The approval stays in the request's history and the log."""

from __future__ import annotations

import time

import pytest
from store_factories import make_person, make_request

from hitl_widget.dashboard.policy_file import Policy, Rule
from hitl_widget.dashboard.store import Store, StoredRequest, User

pytestmark = [pytest.mark.slow]

POLICY = Policy(risks={"high": Rule(2, ("ops",))})


@pytest.fixture
def strict(store: Store) -> Store:
    store.policy = POLICY
    return store


def approve(store: Store, req: StoredRequest, user: User) -> StoredRequest:
    current = store.get_request(req.id)
    assert current is not None
    return store.decide(req.id, version=current.version, user=user, kind="approve", edits=None, feedback=None,
                        channel="test", now=time.time())  # fmt: skip


def test_a_removed_approvers_approval_no_longer_counts(strict: Store) -> None:
    store = strict
    ann, ben, cat = (make_person(store, n, "ops") for n in ("ann", "ben", "cat"))
    req = make_request(store, risk="high")
    assert approve(store, req, ann).approved_by == ["ann"]
    store.remove_user("ann")  # hitl users remove ann
    # was: ben's approval completed the quorum with ann's: approved by ["ann", "ben"]
    after = approve(store, req, ben)
    assert after.status == "pending" and after.decision is None
    assert [a["user"] for a in after.approvals] == ["ann", "ben"]  # the history stays
    assert "no longer counted: ann" in store.decision_log(req.id)[-1].message
    done = approve(store, req, cat)
    assert done.status == "approved" and done.decision is not None and done.decision["by"] == ["ben", "cat"]


def test_an_approver_whose_role_was_taken_away_no_longer_counts_until_it_is_given_back(strict: Store) -> None:
    store = strict
    ann, ben = make_person(store, "ann", "ops"), make_person(store, "ben", "ops")
    dev = make_person(store, "dev", "ops")
    req = make_request(store, risk="high")
    approve(store, req, ann)
    store.set_roles("ann", ["dev"])
    after = approve(store, req, ben)
    assert after.status == "pending", after.decision
    # given the role back, ann's approval counts again at the next decision
    store.set_roles("ann", ["ops"])
    other = make_request(store, risk="high")
    approve(store, other, ann)
    store.set_roles("ann", ["dev"])
    store.set_roles("ann", ["ops"])
    done = approve(store, other, ben)
    assert done.status == "approved" and done.decision is not None and done.decision["by"] == ["ann", "ben"]
    # the first request: dev's approval completes it with ben's (ann is an approver again, so hers counts too)
    final = approve(store, req, dev)
    assert final.status == "approved" and final.decision is not None and final.decision["by"] == ["ann", "ben", "dev"]


def test_a_completed_quorum_stays_approved_when_an_approver_is_removed_later(strict: Store) -> None:
    store = strict
    ann, ben = make_person(store, "ann", "ops"), make_person(store, "ben", "ops")
    req = make_request(store, risk="high")
    approve(store, req, ann)
    done = approve(store, req, ben)
    assert done.status == "approved"
    store.remove_user("ann")
    assert store.get_request(req.id).status == "approved"  # type: ignore[union-attr]
