"""The rules of every change to a request, as pure functions shared by both backends.

Each ``apply_*`` takes the request as read under the backend's lock (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL ``SELECT … FOR UPDATE``) and returns a :class:`Step`: the request's state afterwards,
whether it changed, and the refusal (a :class:`~.store.StoreError`) if any. The backend writes
the new state and the log line in the same transaction, commits, then raises the refusal, so
a refused attempt is recorded as surely as an accepted one.

The decision rules, in the order they are checked (the first that fails is the answer):

1. the decider is a person (``Forbidden``/``not_a_person``), as the store knows them: the backend
   reads their kind and roles in the same transaction (unknown: ``Forbidden``/``unknown_user``);
2. the request is pending (``Conflict``/``already_decided``, or ``expired`` when it timed out);
3. it has not expired by ``now`` (else it becomes ``timed_out``: ``Conflict``/``expired``);
4. ``version`` is the current version (``Conflict``/``stale``);
5. the kind, edits and feedback are well formed (``Invalid``);
6. the decider has one of the request's roles, when it names any (``Forbidden``/``role``);
7. approve/edit only: the decider is not ``on_behalf_of``, ignoring case (``Forbidden``/``self_approval``), and
   the request is approvable (``Forbidden``/``not_approvable``);
8. approve only: the decider has not already approved this version (``Conflict``/``repeated``).

Then: ``reject`` rejects; ``approve`` adds the approval and approves once the distinct approvers
of the current version reach ``approvals_needed``; ``edit`` makes ``version + 1`` with the merged
edits, drops the count to the editor's own approval of the new version, and approves when that
is enough.

Eligibility is checked when the quorum is completed, not only when each approval came: an
earlier approval counts only while its approver is still a person of the store with one of the
request's roles (when it names any) and is not ``on_behalf_of``. An approver removed (``hitl
users remove``) or whose role was taken away after approving no longer counts toward the quorum
(the approval stays in ``approvals`` and the log, as history); the request stays pending until
enough eligible people approve. Their approval counts again if they are given the role back
(at the next decision; approving again is still ``repeated``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .store import Conflict, Forbidden, Invalid, StoredRequest, StoreError, User

__all__ = [
    "MAX_FEEDBACK",
    "Step",
    "apply_cancel",
    "apply_claim",
    "apply_decision",
    "apply_expiry",
    "apply_invalid_edit",
    "apply_outcome",
    "check_edits",
]

MAX_FEEDBACK = 10_000
OUTCOME_STATUSES = ("succeeded", "failed")


@dataclass(frozen=True)
class Step:
    """The result of a rule: ``request`` afterwards, ``changed``, ``error`` (None: accepted),
    and the log line's ``message``."""

    request: StoredRequest
    changed: bool
    error: StoreError | None
    message: str


def _refuse(req: StoredRequest, error: StoreError) -> Step:
    error.request = req
    return Step(req, False, error, error.message)


def _not_pending(req: StoredRequest) -> StoreError:
    if req.status == "timed_out":
        return Conflict(f"request {req.id} timed out; it can no longer be decided", code="expired")
    return Conflict(f"request {req.id} is already {req.status}; nothing changed", code="already_decided")


def check_edits(edits: Any, view: dict[str, Any]) -> dict[str, Any]:
    """Protocol-v2 edit arguments ``{name: {"text": str} | {"json": value}}``, non-empty, naming
    arguments of ``view`` (when the view lists them); raises :class:`Invalid`."""
    if not isinstance(edits, dict) or not edits:
        raise Invalid('edits must be a non-empty object {argument: {"text": ...} | {"json": ...}}')
    arguments = view.get("arguments")
    known = {a.get("name") for a in arguments if isinstance(a, dict)} if isinstance(arguments, list) else None
    checked: dict[str, Any] = {}
    for name, value in edits.items():
        if not isinstance(name, str) or not name:
            raise Invalid("edit argument names must be non-empty strings")
        if known is not None and name not in known:
            raise Invalid(f"edit names an argument the request does not have: {name!r}")
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("text", "json"):
            raise Invalid(f'edit of {name!r} must be {{"text": string}} or {{"json": value}}')
        if "text" in value and not isinstance(value["text"], str):
            raise Invalid(f'edit of {name!r}: "text" must be a string')
        checked[name] = dict(value)
    return checked


def apply_expiry(req: StoredRequest, now: float) -> StoredRequest | None:
    """The request timed out (pending and ``expires_at <= now``), or None when it has not."""
    if req.status != "pending" or req.expires_at is None or now < req.expires_at:
        return None
    return req.with_changes(status="timed_out", decided_at=now, updated_at=now)


def apply_decision(
    req: StoredRequest,
    *,
    version: Any,
    user: User,
    kind: Any,
    edits: Any,
    feedback: Any,
    now: float,
    approvers: Mapping[str, User | None],
) -> Step:
    """One decision (see the module docstring for the rules). ``approvers``: each earlier approver of
    the current version (``req.approved_by``) as the store knows them now, None when removed."""
    if user.kind != "person":
        return _refuse(req, Forbidden(f"{user.name} is an agent; only people decide", code="not_a_person"))
    if req.status != "pending":
        return _refuse(req, _not_pending(req))
    expired = apply_expiry(req, now)
    if expired is not None:
        err = Conflict(f"request {req.id} timed out before this decision; it is not approved", code="expired")
        err.request = expired
        return Step(expired, True, err, err.message)
    if isinstance(version, bool) or not isinstance(version, int):
        return _refuse(req, Invalid("version must be an integer"))
    if version != req.version:
        return _refuse(
            req,
            Conflict(
                f"request {req.id} is at version {req.version}, this decision was for version {version}; nothing changed",
                code="stale",
            ),
        )
    if kind not in ("approve", "edit", "reject"):
        return _refuse(req, Invalid(f"kind must be approve, edit or reject, not {kind!r}"))
    if feedback is not None and (not isinstance(feedback, str) or len(feedback) > MAX_FEEDBACK):
        return _refuse(req, Invalid(f"feedback must be a string of at most {MAX_FEEDBACK} characters"))
    feedback = feedback or None
    checked: dict[str, Any] | None = None
    if kind == "edit":
        try:
            checked = check_edits(edits, req.view)
        except Invalid as exc:
            return _refuse(req, exc)
    elif edits is not None:
        return _refuse(req, Invalid(f"{kind} takes no edits (use kind 'edit')"))
    if req.roles and not set(user.roles) & set(req.roles):
        need = " or ".join(req.roles)
        return _refuse(req, Forbidden(f"{user.name} lacks the role this {req.risk} request needs ({need})", code="role"))

    if kind == "reject":
        decision = {"kind": "reject", "by": [user.name], "at": now, "feedback": feedback, "edits": None}
        done = req.with_changes(status="rejected", decision=decision, decided_at=now, updated_at=now)
        return Step(done, True, None, "rejected")

    if req.on_behalf_of is not None and user.name.casefold() == req.on_behalf_of.casefold():
        return _refuse(
            req, Forbidden(f"{user.name} asked for this call (on behalf of) and cannot approve it", code="self_approval")
        )
    if req.view.get("approvable") is False:
        too_large = f"request {req.id} can only be rejected (an argument is too large to show)"
        return _refuse(req, Forbidden(too_large, code="not_approvable"))

    if kind == "approve":
        if user.name in req.approved_by:
            return _refuse(
                req, Conflict(f"{user.name} already approved version {req.version}; counted once", code="repeated")
            )
        approvals = (*req.approvals, {"user": user.name, "version": req.version, "at": now, "feedback": feedback})
        new = req.with_changes(approvals=approvals, updated_at=now)
    else:
        assert checked is not None
        merged = {**(req.edits or {}), **checked}
        new_version = req.version + 1
        approvals = (*req.approvals, {"user": user.name, "version": new_version, "at": now, "feedback": feedback})
        new = req.with_changes(version=new_version, edits=merged, approvals=approvals, problems=None, updated_at=now)

    counted, dropped = [], []
    for name in new.approved_by:
        if name == user.name or _still_eligible(new, approvers.get(name)):
            counted.append(name)
        else:
            dropped.append(name)
    no_longer = f"; no longer counted: {', '.join(dropped)} (removed or without the role now)" if dropped else ""
    if len(counted) >= new.approvals_needed:
        decision = {
            "kind": "edit" if new.edits else "approve",
            "by": counted,
            "at": now,
            "feedback": feedback,
            "edits": new.edits,
        }
        new = new.with_changes(status="approved", decision=decision, decided_at=now)
        return Step(new, True, None, f"approved ({len(counted)} of {new.approvals_needed}{no_longer})")
    what = f"edited to version {new.version}" if kind == "edit" else "approval counted"
    return Step(new, True, None, f"{what} ({len(counted)} of {new.approvals_needed}{no_longer})")


def _still_eligible(req: StoredRequest, approver: User | None) -> bool:
    """Whether an earlier approval still counts: its approver is still a person here, with one of
    the request's roles (when it names any), and is not the requester."""
    if approver is None or approver.kind != "person":
        return False
    if req.roles and not set(approver.roles) & set(req.roles):
        return False
    return req.on_behalf_of is None or approver.name.casefold() != req.on_behalf_of.casefold()


def _own(req: StoredRequest, agent: str) -> StoreError | None:
    if req.agent != agent:
        return Forbidden(f"request {req.id} belongs to another agent", code="not_your_request")
    return None


def _not_a_version(version: Any) -> StoreError | None:
    if isinstance(version, bool) or not isinstance(version, int):
        return Invalid("version must be an integer")
    return None


def apply_claim(req: StoredRequest, *, agent: str, version: Any, now: float) -> Step:
    """approved → running, once, for the version that was approved; else ``Conflict``."""
    err = _own(req, agent) or _not_a_version(version)
    if err:
        return _refuse(req, err)
    if req.status == "running" or req.claimed_at is not None:
        return _refuse(req, Conflict(f"request {req.id} was already claimed (status {req.status}); it runs once", code="claimed"))
    if req.status != "approved":
        return _refuse(req, Conflict(f"request {req.id} is {req.status}, not approved; it must not run", code="not_approved"))
    if version != req.version:
        return _refuse(
            req, Conflict(f"request {req.id} was approved at version {req.version}, not {version}", code="stale")
        )
    done = req.with_changes(status="running", claimed_at=now, updated_at=now)
    return Step(done, True, None, "claimed: running")


def apply_outcome(req: StoredRequest, *, agent: str, status: Any, detail: Any, now: float) -> Step:
    """running → succeeded | failed, once."""
    err = _own(req, agent)
    if err:
        return _refuse(req, err)
    if status not in OUTCOME_STATUSES:
        return _refuse(req, Invalid(f"status must be succeeded or failed, not {status!r}"))
    if req.status != "running":
        return _refuse(req, Conflict(f"request {req.id} is {req.status}, not running; outcome not recorded", code="not_running"))
    outcome = {"status": status, "detail": detail, "at": now}
    done = req.with_changes(status=status, outcome=outcome, updated_at=now)
    return Step(done, True, None, f"outcome: {status}")


def apply_invalid_edit(req: StoredRequest, *, agent: str, version: Any, error: Any, problems: Any, now: float) -> Step:
    """An approved edit the agent's gate refused: back to pending at ``version + 1``, the problem shown."""
    err = _own(req, agent) or _not_a_version(version)
    if err:
        return _refuse(req, err)
    if req.status != "approved" or not req.edits:
        return _refuse(req, Conflict(f"request {req.id} is not an approved edit (status {req.status})", code="not_approved"))
    if version != req.version:
        return _refuse(req, Conflict(f"request {req.id} is at version {req.version}, not {version}", code="stale"))
    if not isinstance(error, str):
        return _refuse(req, Invalid("error must be a string"))
    shown = {"error": error, "problems": problems, "version": req.version}
    done = req.with_changes(
        status="pending",
        version=req.version + 1,
        decision=None,
        decided_at=None,
        problems=shown,
        updated_at=now,
    )
    return Step(done, True, None, f"edit refused by the agent: {error}")


def apply_cancel(req: StoredRequest, *, agent: str, reason: Any, now: float) -> Step:
    """pending | approved (not claimed) → cancelled."""
    err = _own(req, agent)
    if err:
        return _refuse(req, err)
    if reason is not None and not isinstance(reason, str):
        return _refuse(req, Invalid("reason must be a string or null"))
    if req.status not in ("pending", "approved"):
        return _refuse(req, Conflict(f"request {req.id} is {req.status}; it cannot be cancelled", code="not_cancellable"))
    outcome = {"status": "cancelled", "detail": reason, "at": now}
    done = req.with_changes(status="cancelled", outcome=outcome, decided_at=req.decided_at or now, updated_at=now)
    return Step(done, True, None, f"cancelled: {reason or ''}".rstrip(": "))
