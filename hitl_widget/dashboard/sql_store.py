"""What SQLite and PostgreSQL stores share: the SQL, the row mapping and every operation.

A backend supplies transactions (:meth:`SqlStore._write` locks for writing: SQLite ``BEGIN
IMMEDIATE``, PostgreSQL a transaction whose request reads are ``SELECT … FOR UPDATE``), the
notification of committed changes, and its migrations folder. SQL here uses ``?`` placeholders;
the PostgreSQL backend turns them into ``%s``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import resources
from typing import Any

from . import auth
from .decisions import (
    Step,
    apply_cancel,
    apply_claim,
    apply_decision,
    apply_expiry,
    apply_invalid_edit,
    apply_outcome,
)
from .policy_file import DEFAULT_POLICY, Policy
from .store import (
    Conflict,
    DecisionRecord,
    Forbidden,
    Invalid,
    NewRequest,
    NotFound,
    RequestPage,
    RequestQuery,
    StoredRequest,
    StoreError,
    User,
    decode_cursor,
    encode_cursor,
)

__all__ = ["Migration", "SqlStore", "Tx", "migrations"]

log = logging.getLogger("hitl_widget.dashboard.store")

REQUEST_COLUMNS = (
    "id, client_request_id, fingerprint, agent, on_behalf_of, function, risk, status, version, view, call_text, "
    "edits, approvals_needed, roles, approvals, decision, created_at, expires_at, decided_at, claimed_at, outcome, "
    "problems, context, updated_at"
)
LOG_COLUMNS = "seq, request_id, at, actor, actor_kind, channel, action, version, accepted, code, message, status, feedback, edits"
USER_COLUMNS = "name, kind, roles, slack_id"
SESSION_TTL_S = 12 * 3600.0
_MIGRATION = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file's statements (split at ``;`` ending a line; comments dropped)."""
        lines = [line for line in self.sql.splitlines() if not line.lstrip().startswith("--")]
        parts = re.split(r";\s*(?:--[^\n]*)?\n", "\n".join(lines) + "\n")
        return [p.strip() for p in parts if p.strip()]


def migrations(backend: str) -> list[Migration]:
    """The numbered migrations of ``backend`` ("sqlite" | "postgresql"), in order."""
    folder = resources.files("hitl_widget.dashboard").joinpath("migrations", backend)
    found: list[Migration] = []
    for entry in folder.iterdir():
        m = _MIGRATION.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.number)
    numbers = [mig.number for mig in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{backend} migrations are not numbered 1..N without gaps: {numbers}")
    return found


class Tx(ABC):
    """One transaction's cursor: ``q(sql, params)`` runs a statement and returns its rows."""

    def __init__(self) -> None:
        self.changed: list[str] = []  # request ids changed in this transaction

    @abstractmethod
    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.q(sql, params)
        return rows[0] if rows else None


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(text: Any) -> Any:
    return None if text is None else json.loads(text)


def _request(row: Sequence[Any]) -> StoredRequest:
    (rid, crid, fp, agent, obo, function, risk, status, version, view, call_text, edits, needed, roles, approvals,
     decision, created, expires, decided, claimed, outcome, problems, context, updated) = row  # fmt: skip
    return StoredRequest(
        id=rid,
        client_request_id=crid,
        fingerprint=fp,
        agent=agent,
        on_behalf_of=obo,
        function=function,
        risk=risk,
        status=status,
        version=int(version),
        view=_loads(view),
        call_text=call_text,
        edits=_loads(edits),
        approvals_needed=int(needed),
        roles=tuple(_loads(roles)),
        approvals=tuple(_loads(approvals)),
        decision=_loads(decision),
        created_at=float(created),
        expires_at=None if expires is None else float(expires),
        decided_at=None if decided is None else float(decided),
        claimed_at=None if claimed is None else float(claimed),
        outcome=_loads(outcome),
        problems=_loads(problems),
        context=_loads(context) or {},
        updated_at=float(updated),
    )


def _user(row: Sequence[Any]) -> User:
    name, kind, roles, slack_id = row
    return User(name=name, kind=kind, roles=tuple(_loads(roles)), slack_id=slack_id)


def _record(row: Sequence[Any]) -> DecisionRecord:
    seq, rid, at, actor, kind, channel, action, version, accepted, code, message, status, feedback, edits = row
    return DecisionRecord(
        seq=int(seq),
        request_id=rid,
        at=float(at),
        actor=actor,
        actor_kind=kind,
        channel=channel,
        action=action,
        version=version,
        accepted=bool(accepted),
        code=code,
        message=message,
        status=status,
        feedback=feedback,
        edits=_loads(edits),
    )


def _check_now(now: Any) -> float:
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise Invalid("now must be epoch seconds (a number)")
    return float(now)


class SqlStore(ABC):
    """The store over a SQL database; see :mod:`hitl_widget.dashboard.store` for the contract."""

    backend: str = ""
    for_update: str = ""  # appended to the request read inside a decision's transaction

    def __init__(self, *, policy: Policy | None) -> None:
        self.policy: Policy = policy or DEFAULT_POLICY
        self._callbacks: dict[int, Callable[[str], None]] = {}
        self._callbacks_lock = threading.Lock()
        self._next_callback = 0
        self._closed = False

    # --- what a backend provides ---------------------------------------------------------------

    @abstractmethod
    def _write(self, *, durable: bool = False) -> AbstractContextManager[Tx]:
        """A write transaction: committed at the end of the ``with`` (rolled back on an exception);
        its ``changed`` request ids are announced after the commit. ``durable``: the commit must
        survive a power cut, not only a crash (claims: SQLite syncs the file for it)."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[Tx]:
        """A read-only snapshot."""

    @abstractmethod
    def _start_listening(self) -> None:
        """Begin delivering changes from other Store objects (called at the first subscribe)."""

    @abstractmethod
    def _integrity_errors(self) -> tuple[type[BaseException], ...]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- migrations ----------------------------------------------------------------------------

    def _apply_migrations(self, tx: Tx) -> list[int]:
        """Apply what ``schema_version`` lacks (inside the caller's locked transaction)."""
        tx.q("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at "
             + ("DOUBLE PRECISION" if self.backend == "postgresql" else "REAL") + " NOT NULL)")  # fmt: skip
        row = tx.one("SELECT MAX(version) FROM schema_version")
        current = int(row[0]) if row and row[0] is not None else 0
        applied = []
        available = migrations(self.backend)
        if current > len(available):
            raise RuntimeError(
                f"the database's schema is version {current}, newer than this hitl_widget knows ({len(available)}); upgrade it"
            )
        for mig in available:
            if mig.number <= current:
                continue
            for statement in mig.statements():
                tx.q(statement)
            tx.q("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)", (mig.number, mig.name, time.time()))
            applied.append(mig.number)
        return applied

    def schema_version(self) -> int:
        """The highest migration applied."""
        with self._read() as tx:
            row = tx.one("SELECT MAX(version) FROM schema_version")
        return int(row[0]) if row and row[0] is not None else 0

    # --- change notification -------------------------------------------------------------------

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(request_id)`` after every committed change to a request (from this
        Store, and from others on the same database); returns the unsubscribe function."""
        with self._callbacks_lock:
            key = self._next_callback
            self._next_callback += 1
            self._callbacks[key] = callback
        self._start_listening()

        def unsubscribe() -> None:
            with self._callbacks_lock:
                self._callbacks.pop(key, None)

        return unsubscribe

    def _announce(self, request_ids: Sequence[str]) -> None:
        with self._callbacks_lock:
            callbacks = list(self._callbacks.values())
        for rid in request_ids:
            for cb in callbacks:
                try:
                    cb(rid)
                except Exception:
                    log.exception("a subscriber's callback failed for request %s", rid)

    # --- requests ------------------------------------------------------------------------------

    def _get(self, tx: Tx, request_id: str, *, lock: bool = False) -> StoredRequest | None:
        if not isinstance(request_id, str):
            return None
        suffix = self.for_update if lock else ""
        row = tx.one(f"SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?{suffix}", (request_id,))
        return _request(row) if row else None

    def _save(self, tx: Tx, r: StoredRequest) -> None:
        tx.q(
            "UPDATE requests SET status = ?, queue_rank = ?, version = ?, edits = ?, approvals = ?, decision = ?, "
            "decided_at = ?, claimed_at = ?, outcome = ?, problems = ?, updated_at = ? WHERE id = ?",
            (
                r.status,
                0 if r.status == "pending" else 1,
                r.version,
                _dumps(r.edits),
                _dumps(list(r.approvals)),
                _dumps(r.decision),
                r.decided_at,
                r.claimed_at,
                _dumps(r.outcome),
                _dumps(r.problems),
                r.updated_at,
                r.id,
            ),
        )
        tx.changed.append(r.id)

    def _log(
        self,
        tx: Tx,
        request_id: str,
        *,
        at: float,
        actor: User | str,
        channel: str,
        action: str,
        version: Any,
        accepted: bool,
        code: str | None,
        message: str,
        status: str | None,
        feedback: Any = None,
        edits: Any = None,
    ) -> None:
        name, kind = (actor.name, actor.kind) if isinstance(actor, User) else (actor, "agent")
        try:
            edits_text = _dumps(edits)
        except (TypeError, ValueError):
            edits_text = json.dumps(repr(edits)[:2000])
        tx.q(
            f"INSERT INTO decision_log ({LOG_COLUMNS.split(', ', 1)[1]}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(request_id)[:200],
                at,
                str(name)[:200],
                kind,
                str(channel)[:100],
                str(action)[:50],
                version if isinstance(version, int) and not isinstance(version, bool) and abs(version) < 2**63 else None,
                accepted,
                code,
                message[:2000],
                status,
                feedback[:10_000] if isinstance(feedback, str) else None,
                edits_text,
            ),
        )

    def create_request(self, new: NewRequest, *, agent: str, now: float) -> tuple[StoredRequest, bool]:
        """Create the request, or return the one this agent already created with this
        ``client_request_id`` (``(request, False)``) when the fingerprint matches; another
        fingerprint → :class:`Conflict` (code ``fingerprint``). Raises :class:`Invalid` for a bad field."""
        new.validate()
        now = _check_now(now)
        auth.check_name(agent, "agent name")
        rule = self.policy.rule_for(new.risk)
        rid = uuid.uuid4().hex
        expires = None if new.timeout_s is None else now + float(new.timeout_s)
        with self._write() as tx:
            rows = tx.q(
                f"INSERT INTO requests ({REQUEST_COLUMNS}, queue_rank) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, NULL, ?, ?, '[]', NULL, ?, ?, NULL, NULL, NULL, NULL, ?, ?, 0) "
                "ON CONFLICT (agent, client_request_id) DO NOTHING RETURNING id",
                (
                    rid,
                    new.client_request_id,
                    new.fingerprint,
                    agent,
                    new.on_behalf_of,
                    new.function,
                    new.risk,
                    _dumps(dict(new.view)),
                    new.call_text,
                    rule.approvals,
                    _dumps(list(rule.roles)),
                    now,
                    expires,
                    _dumps(dict(new.context)),
                    now,
                ),
            )
            if rows:
                tx.changed.append(rid)
                created = self._get(tx, rid)
                assert created is not None
                return created, True
            row = tx.one(
                f"SELECT {REQUEST_COLUMNS} FROM requests WHERE agent = ? AND client_request_id = ?",
                (agent, new.client_request_id),
            )
        assert row is not None
        existing = _request(row)
        if existing.fingerprint != new.fingerprint:
            raise Conflict(
                f"client_request_id {new.client_request_id!r} was used for another call (different fingerprint)",
                code="fingerprint",
                request=existing,
            )
        return existing, False

    def get_request(self, request_id: str) -> StoredRequest | None:
        """The request, or None."""
        with self._read() as tx:
            return self._get(tx, request_id)

    def list_requests(self, query: RequestQuery) -> RequestPage:
        """A page of requests matching ``query`` (pending first, oldest first; or newest first)."""
        statuses = query.statuses()
        limit = query.checked_limit()
        order = query.checked_order()
        where: list[str] = []
        params: list[Any] = []
        if statuses:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        for column, value in (("function", query.function), ("risk", query.risk)):
            if value is not None:
                if not isinstance(value, str):
                    raise Invalid(f"{column} must be a string")
                where.append(f"{column} = ?")
                params.append(value)
        if query.requester is not None:
            if not isinstance(query.requester, str):
                raise Invalid("requester must be a string")
            where.append("(on_behalf_of = ? OR agent = ?)")
            params.extend([query.requester, query.requester])
        if query.cursor is not None:
            rank, created, rid = decode_cursor(query.cursor)
            if (
                not isinstance(rank, int)
                or rank not in (0, 1)
                or not isinstance(created, int | float)
                or not math.isfinite(created)
                or abs(created) > 1e15
                or not isinstance(rid, str)
                or len(rid) > 200
                or "\x00" in rid
            ):
                raise Invalid("cursor is not one this server gave")
            if order == "queue":
                where.append("(queue_rank, created_at, id) > (?, ?, ?)")
                params.extend([rank, float(created), rid])
            else:
                where.append("(created_at, id) < (?, ?)")
                params.extend([float(created), rid])
        order_by = "queue_rank, created_at, id" if order == "queue" else "created_at DESC, id DESC"
        sql = (
            f"SELECT {REQUEST_COLUMNS}, queue_rank FROM requests"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY {order_by} LIMIT ?"
        )
        params.append(limit + 1)
        with self._read() as tx:
            rows = tx.q(sql, params)
        items = [_request(row[:-1]) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor([int(last[-1]), items[-1].created_at, items[-1].id])
        return RequestPage(items=items, next_cursor=next_cursor)

    def _step(
        self,
        request_id: str,
        rule: Callable[[StoredRequest, Tx], Step],
        *,
        actor: User | str,
        channel: str,
        action: str,
        version: Any,
        now: float,
        feedback: Any = None,
        edits: Any = None,
        durable: bool = False,
    ) -> StoredRequest:
        """Lock the request, apply ``rule``, save, log (accepted or not), commit; then raise the refusal."""
        error: StoreError | None
        result: StoredRequest | None = None
        with self._write(durable=durable) as tx:
            req = self._get(tx, request_id, lock=True)
            if req is None:
                error = NotFound(f"no request {request_id!r}")
                self._log(tx, request_id, at=now, actor=actor, channel=channel, action=action, version=version,
                          accepted=False, code=error.code, message=error.message, status=None,
                          feedback=feedback, edits=edits)  # fmt: skip
            else:
                step = rule(req, tx)
                if step.changed:
                    self._save(tx, step.request)
                error = step.error
                result = step.request
                self._log(tx, request_id, at=now, actor=actor, channel=channel, action=action, version=version,
                          accepted=error is None, code=error.code if error else None, message=step.message,
                          status=step.request.status, feedback=feedback, edits=edits)  # fmt: skip
                if step.changed and error is not None and step.request.status == "timed_out":
                    self._log(tx, request_id, at=now, actor="server", channel="server", action="timeout",
                              version=req.version, accepted=True, code=None, message="timed out (fail closed)",
                              status="timed_out")  # fmt: skip
        if error is not None:
            raise error
        assert result is not None
        return result

    def decide(
        self,
        request_id: str,
        *,
        version: int,
        user: User,
        kind: str,
        edits: dict[str, Any] | None,
        feedback: str | None,
        channel: str,
        now: float,
    ) -> StoredRequest:
        """THE decision function (rules: :mod:`hitl_widget.dashboard.decisions`). Returns the
        request afterwards; raises :class:`Conflict`, :class:`Forbidden`, :class:`NotFound` or
        :class:`Invalid` after recording the refused attempt."""
        if not isinstance(user, User):
            raise Invalid("user must be a User")
        now = _check_now(now)
        action = kind if kind in ("approve", "edit", "reject") else "invalid"

        def rule(r: StoredRequest, tx: Tx) -> Step:
            # the decider as stored now (roles, person or agent), not as the caller's User says
            row = tx.one(f"SELECT {USER_COLUMNS} FROM users WHERE name = ?", (user.name,))
            if row is None:
                err = Forbidden(f"{user.name!r} is not a user of this dashboard", code="unknown_user", request=r)
                return Step(r, False, err, err.message)
            current = _user(row)
            # the earlier approvers as stored now: eligibility is checked when the quorum completes
            earlier = [name for name in r.approved_by if name != current.name]
            approvers: dict[str, User | None] = dict.fromkeys(earlier)
            if earlier:
                marks = ", ".join("?" * len(earlier))
                for found in tx.q(f"SELECT {USER_COLUMNS} FROM users WHERE name IN ({marks})", earlier):
                    approvers[_user(found).name] = _user(found)
            return apply_decision(
                r, version=version, user=current, kind=kind, edits=edits, feedback=feedback, now=now, approvers=approvers
            )

        return self._step(
            request_id, rule,
            actor=user, channel=str(channel), action=action, version=version, now=now, feedback=feedback, edits=edits,
        )  # fmt: skip

    def claim(self, request_id: str, *, agent: str, version: int, now: float) -> StoredRequest:
        """approved → running, exactly once (a second claim, from any process: :class:`Conflict`)."""
        now = _check_now(now)
        return self._step(request_id, lambda r, _tx: apply_claim(r, agent=agent, version=version, now=now),
                          actor=agent, channel="agent", action="claim", version=version, now=now,
                          durable=True)  # fmt: skip

    def report_outcome(self, request_id: str, *, agent: str, status: str, detail: Any, now: float) -> StoredRequest:
        """running → ``status`` ("succeeded" | "failed") with ``detail`` (any JSON value), once."""
        now = _check_now(now)
        try:
            _dumps(detail)
        except (TypeError, ValueError):
            raise Invalid("detail must be JSON") from None
        return self._step(request_id, lambda r, _tx: apply_outcome(r, agent=agent, status=status, detail=detail, now=now),
                          actor=agent, channel="agent", action="outcome", version=None, now=now,
                          feedback=detail if isinstance(detail, str) else None)  # fmt: skip

    def reopen_invalid_edit(
        self, request_id: str, *, agent: str, version: int, error: str, problems: Any, now: float
    ) -> StoredRequest:
        """The agent refused the approved edit: pending again at ``version + 1`` with the problems."""
        now = _check_now(now)
        try:
            _dumps(problems)
        except (TypeError, ValueError):
            raise Invalid("problems must be JSON") from None
        return self._step(
            request_id,
            lambda r, _tx: apply_invalid_edit(r, agent=agent, version=version, error=error, problems=problems, now=now),
            actor=agent, channel="agent", action="invalid_edit", version=version, now=now,
            feedback=error if isinstance(error, str) else None,
        )  # fmt: skip

    def cancel(self, request_id: str, *, agent: str, reason: str | None, now: float) -> StoredRequest:
        """pending | approved (unclaimed) → cancelled."""
        now = _check_now(now)
        return self._step(request_id, lambda r, _tx: apply_cancel(r, agent=agent, reason=reason, now=now),
                          actor=agent, channel="agent", action="cancel", version=None, now=now,
                          feedback=reason)  # fmt: skip

    def expire_due(self, now: float) -> list[StoredRequest]:
        """Every pending request whose ``expires_at`` is past becomes ``timed_out`` (fail closed);
        returns them."""
        now = _check_now(now)
        with self._read() as tx:
            due = [r[0] for r in tx.q("SELECT id FROM requests WHERE status = 'pending' AND expires_at <= ?", (now,))]
        done: list[StoredRequest] = []
        for rid in due:
            with self._write() as tx:
                req = self._get(tx, rid, lock=True)
                expired = apply_expiry(req, now) if req else None
                if expired is None:
                    continue
                self._save(tx, expired)
                self._log(tx, rid, at=now, actor="server", channel="server", action="timeout", version=expired.version,
                          accepted=True, code=None, message="timed out (fail closed)", status="timed_out")  # fmt: skip
            done.append(expired)
        self._prune()
        return done

    def _prune(self) -> None:
        """Housekeeping run with ``expire_due``: drop ended sessions (the backend may add more)."""
        with self._write() as tx:
            tx.q("DELETE FROM sessions WHERE expires_at <= ?", (time.time(),))

    def decision_log(self, request_id: str) -> list[DecisionRecord]:
        """Every attempt and step for the request, oldest first."""
        with self._read() as tx:
            rows = tx.q(f"SELECT {LOG_COLUMNS} FROM decision_log WHERE request_id = ? ORDER BY seq", (request_id,))
        return [_record(r) for r in rows]

    # --- users, tokens, sessions ---------------------------------------------------------------

    def add_user(self, name: str, password: str, roles: Sequence[str] = ()) -> User:
        """A new person with an argon2 password hash; :class:`Conflict` when ``name`` is taken
        (ignoring case), :class:`Invalid` for a bad name, role or password."""
        auth.check_name(name)
        checked_roles = auth.check_roles(roles)
        hashed = auth.hash_password(password)
        with self._write() as tx:
            rows = tx.q(
                "INSERT INTO users (name, kind, password_hash, roles, slack_id, created_at) VALUES (?, 'person', ?, ?, NULL, ?) "
                "ON CONFLICT DO NOTHING RETURNING name",
                (name, hashed, _dumps(list(checked_roles)), time.time()),
            )
        if not rows:
            raise Conflict(f"user {name!r} already exists (names are compared ignoring case)", code="exists")
        return User(name=name, kind="person", roles=checked_roles)

    def set_password(self, name: str, password: str) -> None:
        """Replace a person's password (:class:`NotFound` for an unknown person); ends their sessions."""
        hashed = auth.hash_password(password)
        with self._write() as tx:
            rows = tx.q("UPDATE users SET password_hash = ? WHERE name = ? AND kind = 'person' RETURNING name", (hashed, name))
            tx.q("DELETE FROM sessions WHERE name = ?", (name,))
        if not rows:
            raise NotFound(f"no person {name!r}")

    def set_roles(self, name: str, roles: Sequence[str]) -> User:
        """Replace a person's roles (:class:`NotFound` for an unknown person). Takes effect at their
        next decision: ``decide`` reads roles from the store."""
        checked = auth.check_roles(roles)
        with self._write() as tx:
            row = tx.one(
                f"UPDATE users SET roles = ? WHERE name = ? AND kind = 'person' RETURNING {USER_COLUMNS}",
                (_dumps(list(checked)), name),
            )
        if row is None:
            raise NotFound(f"no person {name!r}")
        return _user(row)

    def remove_user(self, name: str) -> None:
        """Remove a person or an agent: their sessions end and their tokens stop working at once;
        what they decided or asked stays in the requests and the log (:class:`NotFound` when unknown)."""
        with self._write() as tx:
            rows = tx.q("DELETE FROM users WHERE name = ? RETURNING name", (name,))
            tx.q("DELETE FROM sessions WHERE name = ?", (name,))
            tx.q("UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name))
        if not rows:
            raise NotFound(f"no user {name!r}")

    def get_user(self, name: str) -> User | None:
        with self._read() as tx:
            row = tx.one(f"SELECT {USER_COLUMNS} FROM users WHERE name = ?", (name,))
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        with self._read() as tx:
            return [_user(r) for r in tx.q(f"SELECT {USER_COLUMNS} FROM users ORDER BY name")]

    def verify_password(self, name: str, password: str) -> User | None:
        """The person when ``password`` is theirs, else None (same cost for unknown names)."""
        row = None
        if isinstance(name, str):
            with self._read() as tx:
                row = tx.one(f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = ? AND kind = 'person'", (name,))
        stored = row[4] if row else None
        if not auth.verify_password_hash(stored, password):
            return None
        assert row is not None and stored is not None
        if auth.needs_rehash(stored):
            with self._write() as tx:
                tx.q("UPDATE users SET password_hash = ? WHERE name = ?", (auth.hash_password(password), name))
        return _user(row[:4])

    def add_token(self, name: str) -> str:
        """A new token for the agent ``name`` (created when missing); returned once, stored hashed.
        :class:`Conflict` when ``name`` is a person."""
        auth.check_name(name, "agent name")
        token = auth.new_token()
        now = time.time()
        with self._write() as tx:
            row = tx.one("SELECT kind, name FROM users WHERE lower(name) = lower(?)", (name,))
            if row is not None and row[1] != name:
                raise Conflict(f"{name!r} differs only in case from the existing {row[1]!r}", code="exists")
            if row is None:
                tx.q(
                    "INSERT INTO users (name, kind, password_hash, roles, slack_id, created_at) "
                    "VALUES (?, 'agent', NULL, '[]', NULL, ?)",
                    (name, now),
                )
            elif row[0] != "agent":
                raise Conflict(f"{name!r} is a person; tokens are for agents (pick another name)", code="exists")
            tx.q("INSERT INTO tokens (token_hash, name, created_at, revoked_at) VALUES (?, ?, ?, NULL)",
                 (auth.hash_secret(token), name, now))  # fmt: skip
        return token

    def user_for_token(self, token: str) -> User | None:
        """The agent whose unrevoked token this is, else None."""
        if not isinstance(token, str) or not token.startswith(auth.TOKEN_PREFIX) or len(token) > 200:
            return None
        with self._read() as tx:
            row = tx.one(
                "SELECT u.name, u.kind, u.roles, u.slack_id FROM tokens t JOIN users u ON u.name = t.name "
                "WHERE t.token_hash = ? AND t.revoked_at IS NULL",
                (auth.hash_secret(token),),
            )
        return _user(row) if row else None

    def revoke_token(self, name: str) -> int:
        """Revoke every active token of agent ``name``; returns how many (:class:`NotFound` for none)."""
        with self._write() as tx:
            rows = tx.q(
                "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING token_hash", (time.time(), name)
            )
        if not rows:
            raise NotFound(f"agent {name!r} has no active token")
        return len(rows)

    def link_slack(self, name: str, slack_id: str) -> User:
        """Map Slack user ``slack_id`` to the person ``name``."""
        if not isinstance(slack_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", slack_id):
            raise Invalid(f"not a Slack user id: {slack_id!r}")
        try:
            with self._write() as tx:
                other = tx.one("SELECT name FROM users WHERE slack_id = ? AND name <> ?", (slack_id, name))
                if other:
                    raise Conflict(f"Slack user {slack_id} is already linked to {other[0]!r}", code="exists")
                row = tx.one(
                    f"UPDATE users SET slack_id = ? WHERE name = ? AND kind = 'person' RETURNING {USER_COLUMNS}", (slack_id, name)
                )
        except self._integrity_errors():
            raise Conflict(f"Slack user {slack_id} is already linked to another user", code="exists") from None
        if row is None:
            raise NotFound(f"no person {name!r}")
        return _user(row)

    def user_for_slack(self, slack_id: str) -> User | None:
        if not isinstance(slack_id, str):
            return None
        with self._read() as tx:
            row = tx.one(f"SELECT {USER_COLUMNS} FROM users WHERE slack_id = ? AND kind = 'person'", (slack_id,))
        return _user(row) if row else None

    def create_session(self, user: User, *, ttl_s: float = SESSION_TTL_S, now: float | None = None) -> str:
        """A new session id for the person ``user`` (valid ``ttl_s`` seconds); stored hashed."""
        if not isinstance(user, User) or user.kind != "person":
            raise Forbidden("sessions are for people", code="not_a_person")
        if not isinstance(ttl_s, int | float) or not 0 < ttl_s <= 30 * 86400:
            raise Invalid("ttl_s must be between 0 and 30 days")
        t = time.time() if now is None else _check_now(now)
        sid = auth.new_session_id()
        with self._write() as tx:
            if tx.one("SELECT name FROM users WHERE name = ? AND kind = 'person'", (user.name,)) is None:
                raise NotFound(f"no person {user.name!r}")
            tx.q("INSERT INTO sessions (sid_hash, name, created_at, expires_at) VALUES (?, ?, ?, ?)",
                 (auth.hash_secret(sid), user.name, t, t + float(ttl_s)))  # fmt: skip
        return sid

    def user_for_session(self, sid: str, *, now: float | None = None) -> User | None:
        """The person of an unexpired session, else None."""
        if not isinstance(sid, str) or not sid or len(sid) > 200:
            return None
        t = time.time() if now is None else _check_now(now)
        with self._read() as tx:
            row = tx.one(
                "SELECT u.name, u.kind, u.roles, u.slack_id FROM sessions s JOIN users u ON u.name = s.name "
                "WHERE s.sid_hash = ? AND s.expires_at > ?",
                (auth.hash_secret(sid), t),
            )
        return _user(row) if row else None

    def end_session(self, sid: str) -> None:
        """Forget the session (logging out); unknown ids are ignored."""
        if not isinstance(sid, str):
            return
        with self._write() as tx:
            tx.q("DELETE FROM sessions WHERE sid_hash = ?", (auth.hash_secret(sid),))

    def end_sessions(self, name: str) -> int:
        """End every session of ``name``; returns how many."""
        with self._write() as tx:
            return len(tx.q("DELETE FROM sessions WHERE name = ? RETURNING sid_hash", (name,)))

