"""Secrets of the dashboard: password hashes (argon2id), agent tokens and session ids.

- Passwords: argon2-cffi's ``PasswordHasher`` (argon2id, its default parameters); a hash made
  with older parameters is re-hashed on the next successful login. An unknown user name still
  costs one verification, so timing does not tell which names exist.
- Agent tokens: ``hitl_`` + 32 random bytes (URL-safe base64, :func:`secrets.token_urlsafe`),
  shown once; stored as their SHA-256 (a random 256-bit secret needs no slow hash).
- Session ids: 32 random bytes, stored as their SHA-256 with an expiry; ending a session deletes it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache
from typing import Any

from .store import Invalid

__all__ = [
    "TOKEN_PREFIX",
    "check_name",
    "check_roles",
    "hash_password",
    "hash_secret",
    "needs_rehash",
    "new_session_id",
    "new_token",
    "verify_password_hash",
]

TOKEN_PREFIX = "hitl_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_PASSWORD = 1024


@cache
def _hasher() -> Any:
    try:
        from argon2 import PasswordHasher
    except ImportError:  # pragma: no cover - the dashboard extra is missing
        raise RuntimeError("password hashing needs argon2-cffi: pip install 'hitl_widget[dashboard]'") from None
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return str(_hasher().hash(secrets.token_urlsafe(16)))


def check_name(name: Any, what: str = "user name") -> str:
    """A user or agent name: 1..64 of letters, digits and ``. _ @ + -``, starting with a letter or
    digit; raises :class:`Invalid`."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise Invalid(f"{what} must be 1 to 64 letters, digits or . _ @ + - (starting with a letter or digit), not {name!r}")
    return name


def check_roles(roles: Any) -> tuple[str, ...]:
    """Role names (like names, without ``@ +``), de-duplicated in order; raises :class:`Invalid`."""
    if isinstance(roles, str) or not all(isinstance(r, str) and _ROLE.match(r) for r in roles):
        raise Invalid(f"roles must be names of letters, digits or . _ - , not {roles!r}")
    return tuple(dict.fromkeys(roles))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (non-empty, at most 1024 characters; else :class:`Invalid`)."""
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
        raise Invalid(f"the password must be 1 to {MAX_PASSWORD} characters")
    return str(_hasher().hash(password))


def verify_password_hash(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with ``stored`` None it verifies against a dummy
    hash (same cost) and returns False."""
    hasher = _hasher()
    from argon2.exceptions import InvalidHashError, VerificationError

    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return False
    try:
        return bool(hasher.verify(stored or _dummy_hash(), password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return bool(_hasher().check_needs_rehash(stored))


def new_token() -> str:
    """A new agent token: ``hitl_`` + 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    """A new session id: 43 URL-safe characters (256 random bits)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a random token or session id (what the store keeps)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
