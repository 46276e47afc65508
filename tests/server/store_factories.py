"""Plain helpers to make users, tokens and requests in a dashboard store (tests import them;
the fixtures in conftest.py wrap them)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from hitl_widget.dashboard.store import NewRequest, Store, StoredRequest, User

__all__ = ["PASSWORD", "make_person", "make_request", "new_request"]

PASSWORD = "correct horse battery staple"
_ids = itertools.count(1)


def new_request(**fields: Any) -> NewRequest:
    """A ``NewRequest`` for ``refund(order_id, amount)`` with a fresh client id; ``fields`` override."""
    n = next(_ids)
    base: dict[str, Any] = {
        "client_request_id": f"call-{n}",
        "fingerprint": f"fp-{n}",
        "function": "refund",
        "risk": "medium",
        "timeout_s": None,
        "on_behalf_of": None,
        "view": {
            "id": f"call-{n}",
            "function": "refund",
            "risk": fields.get("risk", "medium"),
            "arguments": [{"name": "order_id", "text": '"A-1"'}, {"name": "amount", "text": "120.0"}],
            "approvable": True,
        },
        "call_text": "refund(order_id='A-1', amount=120.0)",
        "context": {},
    }
    base.update(fields)
    return NewRequest(**base)


def make_person(store: Store, name: str, *roles: str, password: str = PASSWORD) -> User:
    """A person with ``roles`` (password :data:`PASSWORD` unless given)."""
    return store.add_user(name, password, list(roles))


def make_request(store: Store, *, agent: str = "agent-1", now: float | None = None, **fields: Any) -> StoredRequest:
    """A new pending request by ``agent`` (``fields``: any ``NewRequest`` field)."""
    req, created = store.create_request(new_request(**fields), agent=agent, now=time.time() if now is None else now)
    assert created
    return req
