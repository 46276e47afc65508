"""A tamper-evident, append-only audit trail of approval requests, decisions and outcomes.

Each line of the JSONL file is one record; each record carries the hash of the one
before it (``prev``) and its own hash over its canonical JSON (``hash``), so editing,
dropping or reordering any record breaks the chain that ``AuditLog.verify`` checks.
The first line is a header naming the format and a random log id. Truncating the
tail cannot be seen from the file alone: keep ``AuditLog.head`` somewhere else if
that matters.

Redaction covers every record and every field. Values under secret-looking names
(password, pwd, token, secret, api key, ssh key, auth, bearer, jwt, otp, cookie, ...: see
SECRET_NAMES for which parts of a name count) are replaced at any depth of every record's
structures (arguments, context, edits, returned values). The secret values of a request
(those under secret-looking names in its arguments and context, and in any record about
it, e.g. an edit) are remembered, and every string of every later record about that
request (errors, feedback, exception texts, results, ``detail``) has them cut out, as
does text like ``password='...'``, ``"token": "..."`` or ``Authorization: Bearer ...``, and the
password of any URL's userinfo (``postgresql://app:PASSWORD@db/prod``) in any string.
Secret values shorter than 4 characters are not searched for in free text (they would
cut ordinary words); they are still redacted where they sit under a secret-looking name.
Huge or non-JSON values are recorded by a bounded ``repr``.

When a record cannot be written, ``append`` raises (the gate then fails closed: the call
does not run). ``append_or_keep`` is for records about something that already happened (an
outcome): a failed write is kept in memory and written, marked ``late``, before the next
record that can be written.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import itertools
import json
import json.encoder as _json_encoder
import math
import os
import re
import secrets
import sys
import threading
import time
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

try:  # not available on Windows; under Pyodide the module exists without flock
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]
if not hasattr(fcntl, "flock"):  # one process only there: the in-process lock is enough
    fcntl = None  # type: ignore[assignment]

from .display import python_escape, show_hidden
from .formatting import bounded_repr, json_safe

__all__ = ["AuditLog", "VerifyResult", "redact", "redact_text", "redacted_repr", "secret_values"]

#: JupyterLite's drive stores a file when it is closed: a log kept open looks empty to every other reader there.
CLOSE_AFTER_EACH_RECORD = sys.platform == "emscripten"

FORMAT = "hitl-audit/1"
GENESIS = "0" * 64
REDACTED = "[REDACTED]"
#: decisions after which the call runs (and an outcome record is due)
RUNS = frozenset({"approved", "edited", "auto_approved", "not_required"})


def _ci(spec: str) -> str:
    """``spec`` with each ASCII letter outside ``[...]`` as ``[xX]``: case-insensitive, while the
    boundary look-arounds stay case-sensitive (camelCase), and fast (sre skips branches by first letter)."""
    out: list[str] = []
    i = 0
    while i < len(spec):
        c = spec[i]
        if c == "\\":
            out.append(spec[i : i + 2])
            i += 2
            continue
        if c == "[":
            j = spec.index("]", i)
            out.append(spec[i : j + 1])
            i = j + 1
            continue
        out.append(f"[{c.lower()}{c.upper()}]" if c.isascii() and c.isalpha() else c)
        i += 1
    return "".join(out)


# a name is read as segments: split at anything but a letter, and at camelCase humps
# (userPassword, JWTToken). _B, right after a segment's first letter: that letter starts a segment.
_B = r"(?:(?<![A-Za-z].)|(?<=[a-z][A-Z])|(?<=[A-Z][A-Z])(?=[a-z]))"
_E = r"(?:(?![A-Za-z])|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]))"  # a segment ends here
#: words that name a secret wherever they stand in a name (userpassword, webhookSecret)
SECRET_WORDS = (
    "password", "passwd", "passphrase", "passcode", "pwd", "secret(?!ar(?:y|ies|iat))", "credential", "cookie",
    "jwt", "bearer", "apikey", "mnemonic",
)  # fmt: skip
#: short words that name a secret only as a whole segment (auth_header, authToken; not author, oauth_url, footprint)
SECRET_SEGMENTS = ("auth", "authorization", "otp", "totp", "hotp", "pw", "creds", "cvv", "cvc", "pin", "csrf", "xsrf")
#: what a segment ``key``/``keys`` is a secret after (ssh_key, privateKey, session_key; not sort_key, public_key)
SECRET_KEY_KINDS = (
    "api", "ssh", "private", "priv", "secret", "access", "signing", "sign", "encryption", "encrypt", "enc",
    "decryption", "master", "session", "auth", "client", "app", "license", "licence", "hmac", "gpg", "pgp", "rsa",
    "wallet", "account", "service[_-]?account",
)  # fmt: skip
#: plural ``tokens`` is a secret only after these (max_tokens, input_tokens are counts)
SECRET_TOKENS_OF = (
    "access", "refresh", "auth", "api", "id", "bearer", "session", "oauth", "bot", "app", "github", "gitlab", "slack",
    "personal",
)  # fmt: skip
#: a segment ``token`` followed by one of these is about tokens of text, not a credential (token_count, tokenType)
_TOKEN_NOT = "(?![_-]?(?:counts?|limits?|usage|budget|types?|ids?|len(?:gth)?|index|idx|nums?|number|offsets?|logprobs?|probs?))"


def _secret_names_pattern() -> str:
    alternatives: list[tuple[str, str]] = [(w[0], _ci(w[1:])) for w in SECRET_WORDS]
    alternatives += [(w[0], _B + _ci(w[1:]) + _E) for w in SECRET_SEGMENTS]
    alternatives += [("p", _B + _ci("ass") + r"(?![\w-])"), ("t", _B + _ci("oken" + _TOKEN_NOT) + _E)]
    alternatives += [(w[0], _B + _ci(w[1:] + "[_-]?tokens") + _E) for w in SECRET_TOKENS_OF]
    alternatives += [(w[0], _B + _ci(w[1:] + "[_-]?keys?") + _E) for w in SECRET_KEY_KINDS]
    alternatives += [(w[0], _B + _ci(w[1:] + "[_-]?(?:phrase|words|codes?|keys?)") + _E) for w in ("seed", "recovery")]
    alternatives += [
        (w[0], _B + _ci(w[1:] + "[_-]?(?:codes?|passwords?)") + _E)
        for w in ("backup", "recovery", "verification", "mfa", "2fa", "tfa", "one[_-]?time")
    ]
    by_first: dict[str, list[str]] = {}
    for first, rest in alternatives:
        by_first.setdefault(first, []).append(rest)
    return "|".join(f"{_ci(first)}(?:{'|'.join(rests)})" for first, rests in by_first.items())


#: Names whose values are secrets (matched with ``search`` against argument, field and key names).
#: Case-insensitive; SECRET_WORDS anywhere in a name, the short words of SECRET_SEGMENTS and the
#: compounds (``*_key``, ``*_tokens``, ``token``) only as whole segments of it, so ``author``,
#: ``authority``, ``oauth_url``, ``compass``, ``bypass``, ``tokenizer``, ``max_tokens``, ``token_count``,
#: ``sort_key``, ``public_key`` and ``session_id`` stay readable. Extend it with ``AuditLog(redact_names=...)``.
SECRET_NAMES = re.compile(_secret_names_pattern())
#: lowercase parts one of which every match of SECRET_NAMES contains: a fast first look at text
_DEFAULT_NEEDLES = (
    "pass", "pw", "secret", "credential", "cookie", "jwt", "bearer", "mnemonic", "auth", "otp", "creds", "cvv", "cvc",
    "pin", "srf", "token", "key", "seed", "recovery", "code",
)  # fmt: skip


def _has_needle(low: str) -> bool:
    """Whether lowercase ``low`` holds one of _DEFAULT_NEEDLES (spelled out: much faster than any() over them)."""
    return (
        "pass" in low or "pw" in low or "secret" in low or "credential" in low or "cookie" in low or "jwt" in low
        or "bearer" in low or "mnemonic" in low or "auth" in low or "otp" in low or "creds" in low or "cvv" in low
        or "cvc" in low or "pin" in low or "srf" in low or "token" in low or "key" in low or "seed" in low
        or "recovery" in low or "code" in low
    )  # fmt: skip


#: the runs of a text that a match of SECRET_NAMES lies within (its look-arounds see only letters)
_NAME_RUNS = re.compile(r"[\w-]+")


#: secret values shorter than this are not searched for in free text
MIN_SECRET_CHARS = 4
#: only what can reach the file is walked: json_safe keeps 200 items per container, reprs fewer
_ITEMS = 200
_MAX_DEPTH = 32
_MAX_NODES = 20000
_MAX_KEPT_REQUESTS = 4096
_MAX_UNWRITTEN = 10000


def redact(value: Any, pattern: re.Pattern[str] | None = SECRET_NAMES, _depth: int = 0) -> Any:
    """``value`` with the values of secret-looking (string) keys replaced, at any depth up to 32.

    Dicts and other mappings, lists and tuples are looked into (the first 200 items of
    each, all that the log ever shows); a 2-item list or tuple whose first item is a
    secret-looking string is a (name, value) pair, and a namedtuple's field names are keys.
    ``value`` itself is returned when nothing in it needed redacting, else a copy (mappings
    as dicts, lists as lists, tuples as tuples, a namedtuple as its own class).
    """
    if pattern is None:
        return value
    return _redact(value, pattern, None, _depth)


def secret_values(value: Any, pattern: re.Pattern[str] | None = SECRET_NAMES) -> list[str]:
    """The text forms of every value under a secret-looking key in ``value`` (at any depth up to 32)."""
    if pattern is None or not value or type(value) in _LEAVES:
        return []
    found: list[Any] = []
    _redact(value, pattern, found, 0)
    return _text_forms(found) if found else []


_LEAVES = frozenset({str, int, float, bool, type(None), bytes})


#: the password of a URL's userinfo (``postgresql://app:PASSWORD@db/prod``), up to the last ``@`` of the authority
_URL_PASSWORD = re.compile(r"""(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:'"]*:)(?P<password>[^\s/?#'"]+)(?=@)""")
#: the start of one that a preview cut off (``https://u:pass… [6000 chars]``): no ``@`` is left to end it
#: (``\\u2026``: the mark as a record's JSON escapes it, which the fast look at a record's text sees)
_URL_PASSWORD_CUT = re.compile(
    r"""(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:'"]*:)(?P<password>[^\s/?#@'"…]+?)(?=…|\.\.\.|\\u2026)"""
)


def _redact_url_passwords(text: str) -> str:
    """``text`` with the password of every URL's userinfo replaced by REDACTED (the user name stays).

    A URL shortened inside its userinfo (the ``@`` cut off) has the rest of it replaced too.
    """
    if "://" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    if "…" in text or "..." in text:
        text = _URL_PASSWORD_CUT.sub(lambda m: m.group("head") + REDACTED, text)
    return text


def _may_hold_secret_names(text: str, pattern: re.Pattern[str]) -> bool:
    """Whether ``pattern`` may match in ``text``; for SECRET_NAMES exactly, cheaply (needles, then the names holding one).

    Also True where ``text`` holds a URL with a password (``scheme://user:password@host``).
    """
    if "://" in text and (_URL_PASSWORD.search(text) or _URL_PASSWORD_CUT.search(text)):
        return True
    if pattern is SECRET_NAMES:
        if not _has_needle(text.lower()):
            return False
        verdicts = _secret_cache(SECRET_NAMES)
        for run in _NAME_RUNS.findall(text):
            secret = verdicts.get(run)
            if secret is None:
                lowered = run.lower()
                secret = any(n in lowered for n in _DEFAULT_NEEDLES) and SECRET_NAMES.search(run) is not None
                if len(verdicts) > 4096:
                    verdicts.clear()
                verdicts[run] = secret
            if secret:
                return True
        return False
    return pattern.search(text) is not None


class _Unchecked(dict[str, Any]):
    """A record whose text is looked at for secret-looking assignments when its JSON is made.

    The JSON holds every string of the record, and the words of SECRET_NAMES survive its
    escaping, so one look at it replaces a walk over the record (most records: nothing).
    """


def _redact(value: Any, pattern: re.Pattern[str], found: list[Any] | None, depth: int, budget: list[int] | None = None) -> Any:
    """Copy-on-change key redaction; ``budget`` bounds the nodes visited (cycles, wide nests)."""
    kind = type(value)
    if kind in _LEAVES or depth > _MAX_DEPTH:
        return value
    if budget is None:
        budget = [_MAX_NODES]
    if budget[0] <= 0:
        return value
    budget[0] -= 1
    if kind is dict:  # the common case, without the ABC check
        changed_dict: dict[Any, Any] | None = None
        verdicts = _secret_cache(pattern)
        for index, (key, item) in enumerate(value.items()):
            if index >= _ITEMS:
                break
            secret = verdicts.get(key) if type(key) is str else False
            if secret is None:
                secret = verdicts[key] = pattern.search(key) is not None
            if secret:
                if found is not None:
                    found.append(item)
                new_item: Any = REDACTED
            elif type(item) in _LEAVES:
                continue
            else:
                new_item = _redact(item, pattern, found, depth + 1, budget)
                if new_item is item:
                    continue
            if changed_dict is None:
                changed_dict = dict(value)
            changed_dict[key] = new_item
        return value if changed_dict is None else changed_dict
    if isinstance(value, (str, bytes, int, float)):
        return value
    if isinstance(value, Mapping):
        changed: dict[Any, Any] | None = None
        try:
            items = list(itertools.islice(value.items(), _ITEMS))
        except Exception:
            return value
        for key, item in items:
            if isinstance(key, str) and pattern.search(key):
                if found is not None:
                    found.append(item)
                new: Any = REDACTED
            else:
                new = _redact(item, pattern, found, depth + 1, budget)
            if new is not item and changed is None:
                changed = dict(value) if type(value) is dict else {k: v for k, v in value.items()}
            if changed is not None:
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, (list, tuple)):
        names = getattr(type(value), "_fields", None) if isinstance(value, tuple) else None
        if isinstance(names, tuple) and len(names) == len(value):  # a namedtuple: its field names are keys
            return _redact_namedtuple(value, names, pattern, found, depth, budget)
        if len(value) == 2 and _secret_key(value[0], pattern):  # a (name, value) pair: [("api_key", "sk-...")]
            if found is not None:
                found.append(value[1])
            return (value[0], REDACTED) if type(value) is tuple else [value[0], REDACTED]
        changed_list: list[Any] | None = None
        for index, item in enumerate(value[:_ITEMS]):
            new = _redact(item, pattern, found, depth + 1, budget)
            if new is not item and changed_list is None:
                changed_list = list(value)
            if changed_list is not None:
                changed_list[index] = new
        if changed_list is None:
            return value
        return tuple(changed_list) if type(value) is tuple else changed_list
    if found is not None and depth < _MAX_OBJECT_DEPTH:
        # any other object is shown by its repr: the values under its secret-looking attribute
        # names are found, so that they are cut from whatever text shows them
        for name, item in _attributes(value):
            if _secret_key(name, pattern):
                found.append(item)
            elif type(item) not in _LEAVES:
                _redact(item, pattern, found, depth + 1, budget)
    return value


#: how deep objects (not containers) are looked into for secret-looking attributes
_MAX_OBJECT_DEPTH = 3


def _secret_key(key: Any, pattern: re.Pattern[str]) -> bool:
    if type(key) is not str:
        return False
    verdicts = _secret_cache(pattern)
    secret = verdicts.get(key)
    if secret is None:
        secret = verdicts[key] = pattern.search(key) is not None
    return secret


def _redact_namedtuple(
    value: Any, names: tuple[Any, ...], pattern: re.Pattern[str], found: list[Any] | None, depth: int, budget: list[int]
) -> Any:
    changes: dict[str, Any] = {}
    for name, item in zip(names, value):
        if _secret_key(name, pattern):
            if found is not None:
                found.append(item)
            changes[name] = REDACTED
        else:
            new = _redact(item, pattern, found, depth + 1, budget)
            if new is not item:
                changes[name] = new
    if not changes:
        return value
    try:
        return value._replace(**changes)
    except Exception:  # a namedtuple-like class without a working _replace: its fields as a dict
        return {name: changes.get(name, item) for name, item in zip(names, value)}


def _attributes(value: Any) -> list[tuple[str, Any]]:
    """An object's own attributes (its ``__dict__`` and ``__slots__``, at most 200), read without running its code."""
    if isinstance(value, (type, types.ModuleType)) or callable(value):
        return []
    out: list[tuple[str, Any]] = []
    try:
        own = object.__getattribute__(value, "__dict__")
    except Exception:
        own = None
    if type(own) is dict:
        out.extend(itertools.islice(own.items(), _ITEMS))
    for cls in type(value).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if len(out) >= _ITEMS or not isinstance(name, str) or name in ("__dict__", "__weakref__"):
                continue
            descriptor = cls.__dict__.get(name)
            if descriptor is not None and hasattr(descriptor, "__get__"):
                try:
                    out.append((name, descriptor.__get__(value, cls)))
                except Exception:  # an unset slot
                    continue
    return out


def _text_forms(values: Iterable[Any], depth: int = 0, budget: list[int] | None = None) -> list[str]:
    """Every way a secret value may appear in text: as is, as repr and JSON inside quotes."""
    forms: list[str] = []
    budget = [_MAX_NODES] if budget is None else budget
    for value in values:
        budget[0] -= 1
        if budget[0] <= 0:
            break
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str):
            texts = _escaped_forms(value)
        elif isinstance(value, bytes):
            texts = [value.decode("utf-8", "replace"), repr(value)[2:-1]]
        elif isinstance(value, (int, float)):
            texts = [repr(value)] if isinstance(value, float) else ([str(value)] if abs(value) < 10**100 else [])
        elif depth < 8 and isinstance(value, Mapping):
            forms.extend(_text_forms(list(itertools.islice(value.values(), _ITEMS)), depth + 1, budget))
            continue
        elif depth < 8 and isinstance(value, (list, tuple, set, frozenset)):
            forms.extend(_text_forms(list(itertools.islice(value, _ITEMS)), depth + 1, budget))
            continue
        else:
            continue
        forms.extend(t for t in texts if len(t) >= MIN_SECRET_CHARS)
    return sorted(set(forms), key=len, reverse=True)


def _quoted_bodies(text: str) -> list[str]:
    """``text`` as it stands inside quotes: repr with either quote (``\\'`` or ``'``), ascii, JSON (ASCII or not)."""
    plain = "".join(repr(c)[1:-1] for c in text)  # repr escapes character by character
    return [
        plain,
        plain if "'" not in text else "".join("\\'" if c == "'" else repr(c)[1:-1] for c in text),
        ascii(text)[1:-1] if "'" not in text else "".join("\\'" if c == "'" else ascii(c)[1:-1] for c in text),
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        # as messages and the card show it: invisible characters escaped (display.show_hidden)
        show_hidden(plain, python_escape, keep=""),
        show_hidden(json.dumps(text, ensure_ascii=False)[1:-1], keep=""),
    ]


def _escaped_forms(text: str) -> list[str]:
    """Every form of ``text`` inside other text: as is, quoted once (repr, ascii, JSON), and quoted
    twice (a repr of a message that holds its repr, JSON of a repr, ...): escaping applied twice."""
    once = set(_quoted_bodies(text))
    if once == {text}:  # nothing to escape
        return [text]
    twice = {form for body in once for form in _quoted_bodies(body)}
    return [text, *once, *twice]


_assignments: dict[tuple[str, int], re.Pattern[str]] = {}


def _assignment_pattern(names: re.Pattern[str]) -> re.Pattern[str]:
    """``name = value`` / ``"name": "value"`` / ``Name: Bearer value`` where name looks secret."""
    key = (names.pattern, names.flags)
    compiled = _assignments.get(key)
    if compiled is None:
        name = r"""[\w.-]*(?:""" + names.pattern + r""")[\w.-]*"""
        compiled = re.compile(
            # name = value, name: value, "name": "value", and a quoted pair ("name", "value") as a repr shows it
            rf"""(?P<key>(?:["']?{name}["']?\s*(?:=>|[:=])|["']{name}["']\s*,(?=\s*b?["']))\s*)"""
            r"""(?P<value>(?i:bearer|basic|token|digest)\s+[^\s,;&'"]+"""
            r"""|"(?:[^"\\]|\\.)*(?:"|$)|'(?:[^'\\]|\\.)*(?:'|$)|b'(?:[^'\\]|\\.)*(?:'|$)"""
            r"""|[^\s,;&)}\]"']+)""",
            # SECRET_NAMES is case-insensitive by its letters, its camelCase humps case-sensitive
            names.flags if names is SECRET_NAMES else names.flags | re.IGNORECASE,
        )
        _assignments[key] = compiled
    return compiled


def _redact_assignment(match: re.Match[str]) -> str:
    value = match.group("value")
    if REDACTED in value or match.string.startswith(REDACTED, match.start("value")):  # already redacted
        return match.group(0)
    scheme = re.match(r"(?i)(?:bearer|basic|token|digest)\s+", value)
    if scheme:
        return f"{match.group('key')}{scheme.group(0)}{REDACTED}"
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{quote}{REDACTED}{quote}"


def _cut(text: str, secret: str) -> str:
    """``text`` without ``secret``, nor a shortened form of it (its start, or its end, of 8 characters or more)."""
    if secret in text:
        text = text.replace(secret, REDACTED)
    if len(secret) < 16:
        return text
    head, tail = secret[:8], secret[-8:]
    i = text.find(head)
    while i >= 0:
        j = i + 8
        while j < len(text) and j - i < len(secret) and text[j] == secret[j - i]:
            j += 1
        text = text[:i] + REDACTED + text[j:]
        i = text.find(head, i + len(REDACTED))
    i = text.find(tail)
    while i >= 0:
        start, k = i, len(secret) - 8
        while start > 0 and k > 0 and text[start - 1] == secret[k - 1]:
            start -= 1
            k -= 1
        text = text[:start] + REDACTED + text[i + 8 :]
        i = text.find(tail, start + len(REDACTED))
    return text


def redact_text(text: str, secrets: Iterable[str] = (), pattern: re.Pattern[str] | None = SECRET_NAMES) -> str:
    """``text`` with each of ``secrets`` (and shortened forms of it) and secret-looking assignments cut out."""
    if pattern is None:
        return text
    for secret in secrets:
        text = _cut(text, secret)
    text = _redact_url_passwords(text)
    if _may_hold_secret_names(text, pattern) and pattern.search(text):
        text = _assignment_pattern(pattern).sub(_redact_assignment, text)
    return text


def redacted_repr(
    value: Any, secrets: Sequence[str] = (), pattern: re.Pattern[str] | None = SECRET_NAMES, limit: int = 500
) -> str:
    """``bounded_repr(value, limit)`` with secrets redacted before the text is formed.

    Values under secret-looking names (keys, pairs, namedtuple fields) are replaced first;
    a string (an exception's message) has ``secrets`` (text forms, see ``secret_values``) cut
    out before it is quoted and shortened, so no escaped or cut-off piece of one remains; the
    repr then has those and the values found under secret-looking attribute names cut out.
    """
    if pattern is None:
        return bounded_repr(value, limit)
    found: list[Any] = []
    value = redact_text(value, secrets, pattern) if type(value) is str else _redact(value, pattern, found, 0)
    known = [*secrets, *_text_forms(found)] if found else secrets
    return redact_text(bounded_repr(value, limit), sorted(set(known), key=len, reverse=True), pattern)


def _strings(value: Any, out: list[str]) -> None:
    """Every string (keys too) of a JSON-safe structure, into ``out``."""
    if type(value) is str:
        out.append(value)
    elif type(value) is dict:
        for key, item in value.items():
            out.append(key)
            _strings(item, out)
    elif type(value) is list:
        for item in value:
            _strings(item, out)


#: strings of up to 100 characters -> whether they are free of SECRET_NAMES (record strings repeat)
_clean_texts: dict[str, bool] = {}
#: characters no needle can be made of alone (ids, timestamps, numbers): text of only these is clean
_NEEDLELESS = "0123456789abcdefABCDEF-_:.+tT "
if not all(set(needle) - set(_NEEDLELESS) for needle in _DEFAULT_NEEDLES):  # pragma: no cover - needles changed
    _NEEDLELESS = ""


def _texts_clean(value: Any) -> bool:
    """Whether no string value of a JSON-safe structure may hold a secret-looking name (SECRET_NAMES).

    What ``_scrub(value, (), SECRET_NAMES)`` can change are string values only (not keys), and
    only those in which ``_may_hold_secret_names`` finds a name: True means it would change nothing.
    """
    kind = type(value)
    if kind is str:
        clean = _clean_texts.get(value)
        if clean is None and not value.strip(_NEEDLELESS):
            return True
        if clean is None:
            clean = not _may_hold_secret_names(value, SECRET_NAMES)
            if len(value) <= 100:
                if len(_clean_texts) >= 4096:
                    _clean_texts.clear()
                _clean_texts[value] = clean
        return clean
    if kind is dict:
        return all(map(_texts_clean, value.values()))
    if kind is list:
        return all(map(_texts_clean, value))
    return True


def _scrub(value: Any, secrets: Sequence[str], pattern: re.Pattern[str]) -> Any:
    """Every string of a JSON-safe structure through ``redact_text`` (keys too)."""
    if isinstance(value, str):
        return redact_text(value, secrets, pattern)
    if isinstance(value, list):
        return [_scrub(v, secrets, pattern) for v in value]
    if isinstance(value, dict):
        return {(redact_text(k, secrets, pattern) if secrets else k): _scrub(v, secrets, pattern) for k, v in value.items()}
    return value


class _RequestLike(Protocol):
    id: str
    arguments: dict[str, Any]
    context: dict[str, Any]

    def to_dict(self) -> dict[str, Any]: ...


class _NotPlain(Exception):
    pass


# by id (a compiled pattern hashes its whole code on every lookup), the pattern kept alive with its verdicts
_secret_caches: dict[int, tuple[re.Pattern[str], dict[str, bool]]] = {}


def _secret_cache(pattern: re.Pattern[str]) -> dict[str, bool]:
    """Which keys ``pattern`` calls secret, remembered (record keys repeat)."""
    entry = _secret_caches.get(id(pattern))
    if entry is None or entry[0] is not pattern or len(entry[1]) > 4096:
        if len(_secret_caches) > 64:
            _secret_caches.clear()
        entry = _secret_caches[id(pattern)] = (pattern, {})
    return entry[1]


def _plain_safe(
    fields: dict[str, Any], pattern: re.Pattern[str] | None, found: list[Any] | None = None, budget: int = 16000
) -> dict[str, Any] | None:
    """``json_safe(redact(fields), max_chars=20000)`` in one cheap pass, for small plain records; else None.

    Plain means str-keyed dicts, lists and tuples (at most 200 items, nesting below 5)
    of str, bool, None, finite floats and ints below 1e30, well inside the size budget:
    exactly the records on which the two-pass result is a copy with secret-named keys
    redacted. Anything else returns None and takes the general path. The values found
    under secret names are appended to ``found``.
    """
    cache = None if pattern is None else _secret_cache(pattern)
    mark = len(found) if found is not None else 0
    try:
        return cast(dict[str, Any], _plain(fields, pattern, cache, 0, [budget], found))
    except _NotPlain:
        if found is not None:
            del found[mark:]
        return None


_SCALARS = (str, int, float, bool, type(None))


_type_of = type  # for the methods whose ``type`` parameter hides the builtin
#: per pattern (by the id of its verdict cache, kept alive here): keys -> what _plain counts for them,
#: None when one is not plain or looks secret (a pattern itself hashes slowly: it is not part of the key)
_key_costs: dict[int, tuple[dict[str, bool], dict[tuple[Any, ...], int | None]]] = {}


def _keys_cost(keys: tuple[Any, ...], cache: dict[str, bool], pattern: re.Pattern[str]) -> int | None:
    """What ``_plain`` counts for ``keys``, or None when one is not a str of at most 200 characters or looks secret."""
    cost = 0
    for key in keys:
        if type(key) is not str or len(key) > 200:
            return None
        secret = cache.get(key)
        if secret is None:
            secret = cache[key] = pattern.search(key) is not None
        if secret:
            return None
        cost += len(key) + 4
    return cost


def _flat_cost(value: dict[str, Any], cache: dict[str, bool], pattern: re.Pattern[str], nested: bool = True) -> int | None:
    """What ``_plain`` counts for ``value`` when ``_plain`` would return it unchanged, else None.

    That is a dict of at most 200 items with str keys (200 characters at most) none of which
    looks secret, holding strings (below 1000 characters), bools, None, finite floats, ints
    below 1e30 and (when ``nested``) dicts of the same without further nesting. A request's
    ``to_dict()`` for a call with plain scalar arguments is one: it is then written as it is,
    without the copying walk (``_plain`` makes a copy of a structure that needs no change).
    """
    if len(value) > 200:
        return None
    costs = _key_costs.get(id(cache))
    if costs is None or costs[0] is not cache:
        if len(_key_costs) > 64:
            _key_costs.clear()
        costs = _key_costs[id(cache)] = (cache, {})
    keys = tuple(value)
    cost = costs[1].get(keys, -1)  # the keys of a function's requests and arguments repeat: judged once
    if cost == -1:
        cost = _keys_cost(keys, cache, pattern)
        if len(costs[1]) > 4096:
            costs[1].clear()
        costs[1][keys] = cost
    if cost is None:
        return None
    for item in value.values():
        kind = type(item)
        if kind is str:
            if len(item) >= 1000:
                return None
            cost += len(item) + 2
        elif kind is int:
            if not -(10**30) < item < 10**30:
                return None
            cost += 8
        elif kind is float:
            if not math.isfinite(item):
                return None
            cost += 8
        elif kind is dict and nested:
            inner = _flat_cost(item, cache, pattern, False)
            if inner is None:
                return None
            cost += inner
        elif item is not None and kind is not bool:
            return None
    return cost


def _plain(
    value: Any,
    pattern: re.Pattern[str] | None,
    cache: dict[str, bool] | None,
    depth: int,
    budget: list[int],
    found: list[Any] | None = None,
) -> Any:
    t = type(value)
    if t in _SCALARS:
        if t is str:
            budget[0] -= len(value) + 2
        elif t is int:
            if not -(10**30) < value < 10**30:
                raise _NotPlain
            budget[0] -= 8
        elif t is float:
            if not math.isfinite(value):
                raise _NotPlain
            budget[0] -= 8
        if budget[0] <= 0:
            raise _NotPlain
        return value
    if (t is not dict and t is not list and t is not tuple) or depth >= 5 or len(value) > 200:
        raise _NotPlain
    depth += 1
    if t is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str or len(key) > 200:
                raise _NotPlain
            budget[0] -= len(key) + 4
            if cache is not None:
                secret = cache.get(key)
                if secret is None:
                    secret = cache[key] = pattern is not None and pattern.search(key) is not None
                if secret:
                    budget[0] -= len(REDACTED) + 2
                    out[key] = REDACTED
                    if found is not None:
                        found.append(item)
                    continue
            kind = type(item)
            if kind is str and len(item) < 1000:
                budget[0] -= len(item) + 2
                out[key] = item
            elif item is None or kind is bool:
                out[key] = item
            else:
                out[key] = _plain(item, pattern, cache, depth, budget, found)
        if budget[0] <= 0:
            raise _NotPlain
        return out
    if cache is not None and len(value) == 2 and type(value[0]) is str:  # a (name, value) pair, as _redact sees it
        name = value[0]
        secret = cache.get(name)
        if secret is None:
            secret = cache[name] = pattern is not None and pattern.search(name) is not None
        if secret:
            budget[0] -= len(name) + len(REDACTED) + 6
            if budget[0] <= 0:
                raise _NotPlain
            if found is not None:
                found.append(value[1])
            return [name, REDACTED]
    return [_plain(item, pattern, cache, depth, budget, found) for item in value]


# ASCII-only: lone surrogates (undecodable file names) stay representable; one encoder, made once
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
# the same encoder's C core, made once (JSONEncoder.encode makes it again on every call); records are
# trees (made by _plain or json_safe, or read from JSON), so no circular check: a cycle would still raise
_C_ENCODE: Callable[[Any, int], list[str]] | None = None
_c_make_encoder: Any = getattr(_json_encoder, "c_make_encoder", None)  # None without the _json C module
if _c_make_encoder is not None:
    _C_ENCODE = _c_make_encoder(None, _ENCODER.default, _json_encoder.encode_basestring_ascii, None, ":", ",", True, False, False)


def _canonical(body: dict[str, Any]) -> str:
    """The record's canonical JSON: sorted keys, no spaces, ASCII, no NaN (raises ValueError/TypeError otherwise)."""
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE(body, 0))
    return _ENCODER.encode(body)


class _DuplicateKey(ValueError):
    """A JSON object in a log line names one key twice."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` object hook: the object, or _DuplicateKey naming the repeated key."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(repr(key))
        out[key] = value
    return out


def _line_bytes(body: dict[str, Any], digest: str) -> bytes:
    """The line (without its newline) the writer writes for ``body`` (no ``hash``) hashed to ``digest``."""
    return b"".join((_canonical(body).encode()[:-1], b',"hash":"', digest.encode(), b'"}'))


def _digest(prev: str, canonical: str) -> str:
    return hashlib.sha256((prev + canonical).encode()).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


_second_text: tuple[int, str] = (-1, "")


def _utc_now_text() -> str:
    """``datetime.now(UTC).isoformat()``, with the text up to the second made once a second."""
    global _second_text
    micros = time.time_ns() // 1000
    second, micro = divmod(micros, 1_000_000)
    cached, text = _second_text
    if cached != second:
        text = datetime.fromtimestamp(second, UTC).isoformat()[:-6]  # without "+00:00"
        _second_text = (second, text)
    return f"{text}.{micro:06d}+00:00" if micro else f"{text}+00:00"


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking a log: ``ok``, how many records, and the first problem."""

    ok: bool
    records: int
    head: str
    problem: str = ""
    line: int = 0

    def __bool__(self) -> bool:
        return self.ok


class _FileState:
    """Shared by every AuditLog on the same file in this process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.seq = -1
        self.head = GENESIS
        self.size = -1  # file size after our last write; another writer changes it
        # request id -> its secret values (text forms), forgotten at its outcome
        self.secrets: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        # records that could not be written: written (marked late) before the next one that can be
        self.unwritten: list[dict[str, Any]] = []
        self.dropped = 0


_states: dict[str, _FileState] = {}
_states_lock = threading.Lock()


class AuditLog:
    """Append-only JSONL audit trail, hash-chained.

    ``AuditLog("audit.jsonl")`` appends to the file (creating it with a header);
    ``durable=True`` fsyncs every record (slower, survives power loss);
    ``redact_names=None`` turns off redaction of secret-looking argument names.
    ``AuditLog.verify(path)`` is True while the file is intact.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durable: bool = False,
        redact_names: re.Pattern[str] | str | None = SECRET_NAMES,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = Path(path)
        self.durable = durable
        self.redact_names = re.compile(redact_names, re.IGNORECASE) if isinstance(redact_names, str) else redact_names
        self.clock = clock or _utc_now
        key = os.path.realpath(self.path)
        with _states_lock:
            self._state = _states.setdefault(key, _FileState(self.path))
        self._file: Any = None
        with self._state.lock:
            self._open()
        if CLOSE_AFTER_EACH_RECORD:
            self.close()

    # -- writing -----------------------------------------------------------------

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+b")  # noqa: SIM115 - kept open for the log's life
        self._sync_tail()
        if self._state.seq < 0:
            self._write_locked({"type": "header", "format": FORMAT, "log_id": secrets.token_hex(8)})

    def _sync_tail(self) -> None:
        """Learn the last seq and hash from the file (after another writer, or on open)."""
        # the end, not fstat: JupyterLite's drive reports the stored size to fstat until the file is closed
        size = self._file.seek(0, os.SEEK_END)
        if size == self._state.size:
            return
        last = _last_line(self._file, size)
        if last is None:
            self._state.seq, self._state.head = -1, GENESIS
        else:
            try:
                record = json.loads(last)
                self._state.seq, self._state.head = int(record["seq"]), str(record["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{self.path}: the last line is not an audit record ({exc}); not appending") from None
        self._state.size = size

    def _write_locked(self, fields: dict[str, Any]) -> dict[str, Any]:
        state = self._state
        fd = self._file.fileno()
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            self._sync_tail()
            ts = _utc_now_text() if self.clock is _utc_now else self.clock().isoformat()
            body = {"seq": state.seq + 1, "ts": ts, **fields, "prev": state.head}
            canonical = _canonical(body)
            if type(fields) is _Unchecked and _may_hold_secret_names(canonical, SECRET_NAMES):
                body = _scrub(body, (), SECRET_NAMES)
                canonical = _canonical(body)
            encoded = canonical.encode()  # once: hashed and written
            hasher = hashlib.sha256(state.head.encode())
            hasher.update(encoded)
            digest = hasher.hexdigest()  # = _digest(state.head, canonical)
            line = b"".join((encoded[:-1], b',"hash":"', digest.encode(), b'"}\n'))
            before = state.size if state.size >= 0 else 0
            try:
                _write_all(fd, line)
                if self.durable:
                    os.fsync(fd)
            except BaseException:
                # a partial line would break the chain for every later record: take it back
                try:
                    os.ftruncate(fd, before)
                except OSError:
                    state.size = -1  # learn the tail again next time
                raise
            state.seq += 1
            state.head = digest
            state.size = before + len(line)
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        body["hash"] = digest
        return body

    def _prepare(self, type: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The record as written: JSON-safe, secret names and the request's secret values redacted."""
        pattern = self.redact_names
        request = fields.get("request")
        found: list[str] = []
        rid: Any = fields.get("request_id")
        flat: int | None = None  # what the request's dict counts against the size budget, when written as it is
        if request is not None and hasattr(request, "to_dict") and hasattr(request, "arguments"):
            req: _RequestLike = request
            rid = req.id
            shown = req.to_dict()
            if pattern is not None:
                if not req.context and _LEAVES.issuperset(map(_type_of, req.arguments.values())) and shown.__class__ is dict:
                    # scalar arguments hold no secret values but the ones under secret names, which _flat_cost refuses
                    flat = _flat_cost(shown, _secret_cache(pattern), pattern)
                if flat is None:
                    found += secret_values(req.arguments, pattern) + secret_values(req.context, pattern)
            fields = {**fields, "request": shown}
        elif isinstance(request, dict) and rid is None:
            rid = request.get("id")
        if pattern is None:
            plain = _plain_safe(fields, None)
            return {"type": type, **(plain if plain is not None else json_safe(fields, max_chars=20000))}
        collected: list[Any] = []
        safe = None
        if flat is not None or not hasattr(request, "to_dict"):  # the request (if any) as it is; a flat rest too
            rest = {k: v for k, v in fields.items() if k != "request"} if flat is not None else fields
            cost = _flat_cost(rest, _secret_cache(pattern), pattern, False)
            if cost is not None and (flat or 0) + cost < 16000:
                safe = dict(rest)
            elif flat is not None and flat < 16000:
                safe = _plain_safe(rest, pattern, collected, 16000 - flat)
            if safe is not None and flat is not None:
                safe["request"] = fields["request"]
        if safe is None:
            safe = _plain_safe(fields, pattern, collected)  # the same result, cheaply, for small plain records
        if safe is None:
            # redact first: json_safe turns deep structures into repr text that key redaction cannot see into
            safe = json_safe(_redact(fields, pattern, collected, 0), max_chars=20000)
        if collected:
            found += _text_forms(collected)
        secrets = self._remember(rid if isinstance(rid, str) else None, found, forget=type == "outcome")
        if not secrets:  # one look over all the text first: most records have nothing to cut
            if pattern is SECRET_NAMES:
                if self.clock is _utc_now and _texts_clean(type) and _texts_clean(safe):
                    return {"type": type, **safe}  # every string known free of secret-looking names
                return _Unchecked({"type": type, **safe})  # looked at in _write_locked
            texts: list[str] = []
            _strings(safe, texts)
            if not _may_hold_secret_names("\n".join(texts), pattern):
                return {"type": type, **safe}
        return {"type": type, **_scrub(safe, secrets, pattern)}

    def known_secrets(self, request_id: str) -> tuple[str, ...]:
        """The text forms of the secret values recorded so far about request ``request_id`` (longest first)."""
        with self._state.lock:
            return self._state.secrets.get(request_id, ())

    def _remember(self, rid: str | None, found: list[str], *, forget: bool) -> tuple[str, ...]:
        """The secret values known for request ``rid``, with ``found`` added."""
        state = self._state
        if not found and (rid is None or rid not in state.secrets):
            return ()  # nothing known, nothing to add or forget (most records): no lock
        with state.lock:
            known = state.secrets.get(rid, ()) if rid is not None else ()
            if found:
                known = tuple(sorted(set(known) | set(found), key=len, reverse=True))
            if rid is not None:
                if forget:
                    state.secrets.pop(rid, None)
                elif known:
                    state.secrets[rid] = known
                    state.secrets.move_to_end(rid)
                    while len(state.secrets) > _MAX_KEPT_REQUESTS:
                        state.secrets.popitem(last=False)
        return known

    def append(self, type: str, **fields: Any) -> dict[str, Any]:
        """Append one record and return it as written; raises when it cannot be written.

        Values are made JSON-safe and secrets redacted (see the module's docstring).
        ``request=`` may be the ``ApprovalRequest`` itself: its secret values are then
        also found in the arguments as they were passed (at any depth).
        Raises ``OSError`` (disk full, permissions) or ``ValueError`` (the file's last line
        is not a record); records kept by ``append_or_keep`` are written first.
        """
        record = self._prepare(type, fields)
        with self._state.lock:
            return self._append_locked(record)

    def append_or_keep(self, type: str, **fields: Any) -> tuple[dict[str, Any] | None, Exception | None]:
        """Append a record about something that already happened, never raising for a failed write.

        Returns ``(record, None)`` when written, or ``(None, error)`` when not: the record
        is then kept in memory and written (with ``"late": {"ts", "error"}``) before the
        next record this process writes to the file, at ``close()``, or at exit. At most 10,000
        records are kept; beyond that the oldest are dropped and counted in a
        ``records_dropped`` record.
        """
        record = self._prepare(type, fields)
        with self._state.lock:
            try:
                return self._append_locked(record), None
            except Exception as exc:
                self._keep(record, exc)
                return None, exc

    def _keep(self, record: dict[str, Any], exc: Exception) -> None:
        state = self._state
        _keeping.add(self)
        if type(record) is _Unchecked:
            record = _scrub(dict(record), (), SECRET_NAMES)
        record = {**record, "late": {"ts": self.clock().isoformat(), "error": f"{type(exc).__name__}: {exc}"}}
        state.unwritten.append(record)
        if len(state.unwritten) > _MAX_UNWRITTEN:
            del state.unwritten[0]
            state.dropped += 1

    @property
    def unwritten(self) -> int:
        """How many records could not be written yet (kept in memory by ``append_or_keep``)."""
        return len(self._state.unwritten) + self._state.dropped

    def _append_locked(self, record: dict[str, Any]) -> dict[str, Any]:
        if self._file is None or self._file.closed:
            self._open()
        try:
            self._flush_unwritten_locked()
            return self._write_locked(record)
        finally:
            if CLOSE_AFTER_EACH_RECORD:
                self._file.close()

    def _flush_unwritten_locked(self) -> None:
        state = self._state
        while state.unwritten:
            self._write_locked(state.unwritten[0])
            del state.unwritten[0]
        if state.dropped:
            self._write_locked({"type": "records_dropped", "count": state.dropped})
            state.dropped = 0

    def close(self) -> None:
        """Write the records kept by ``append_or_keep`` (if it can), then close the file."""
        with self._state.lock:
            if self._state.unwritten or self._state.dropped:
                try:
                    if self._file is None or self._file.closed:
                        self._open()
                    self._flush_unwritten_locked()
                except Exception:  # still kept: the next append tries again
                    pass
            if self._file is not None and not self._file.closed:
                self._file.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def head(self) -> str:
        """The hash of the last record: anchor it elsewhere to detect truncation."""
        return self._state.head

    # -- reading -----------------------------------------------------------------

    @staticmethod
    def records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
        """Every record of the file, in order (not verified)."""
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)

    @staticmethod
    def check(path: str | os.PathLike[str]) -> VerifyResult:
        """Verify the chain and say where it first breaks."""
        prev = GENESIS
        count = 0
        expected_seq = 0
        with open(path, "rb") as f:
            for lineno, raw in enumerate(f, start=1):
                if not raw.strip():
                    return VerifyResult(False, count, prev, "blank line inside the log", lineno)
                try:
                    record = json.loads(raw, object_pairs_hook=_unique_keys)
                except _DuplicateKey as exc:
                    return VerifyResult(False, count, prev, f"duplicate key {exc} (readers would disagree on its value)", lineno)
                except ValueError as exc:
                    return VerifyResult(False, count, prev, f"not JSON ({exc})", lineno)
                if not isinstance(record, dict) or not isinstance(record.get("hash"), str):
                    return VerifyResult(False, count, prev, "not an audit record", lineno)
                claimed = record.pop("hash")
                if record.get("seq") != expected_seq:
                    return VerifyResult(
                        False,
                        count,
                        prev,
                        f"sequence {record.get('seq')!r}, expected {expected_seq} (dropped or reordered)",
                        lineno,
                    )
                if record.get("prev") != prev:
                    return VerifyResult(False, count, prev, "does not follow the previous record (dropped or reordered)", lineno)
                if expected_seq == 0 and (record.get("type") != "header" or record.get("format") != FORMAT):
                    return VerifyResult(False, count, prev, f"first record is not a {FORMAT} header", lineno)
                try:
                    actual = _digest(prev, _canonical(record))
                except ValueError as exc:
                    return VerifyResult(False, count, prev, f"unhashable record ({exc})", lineno)
                if actual != claimed:
                    return VerifyResult(False, count, prev, "hash mismatch (record edited)", lineno)
                if raw.removesuffix(b"\n") != _line_bytes(record, claimed):
                    # same parsed record, other bytes (spacing, key order, escapes): what a text tool
                    # reads must be what was hashed, so only the bytes the writer writes verify
                    return VerifyResult(False, count, prev, "not the record's canonical bytes (line rewritten)", lineno)
                prev = claimed
                count += 1
                expected_seq += 1
        if count == 0:
            return VerifyResult(False, 0, prev, "empty log (no header)", 0)
        return VerifyResult(True, count, prev)

    @staticmethod
    def without_outcome(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """The decisions to run a call (approved, edited, automatic) that no outcome record follows.

        Such a call may have run without its outcome being recorded (the write failed
        and the process ended before writing it late), may have been stopped, or may
        still be running. Each item: ``{"request_id", "function", "decision", "seq", "ts"}``.
        """
        functions: dict[str, str] = {}
        decided: dict[str, dict[str, Any]] = {}
        for record in AuditLog.records(path):
            if not isinstance(record, dict):
                continue
            request = record.get("request")
            rid = record.get("request_id") or (request.get("id") if isinstance(request, dict) else None)
            if not isinstance(rid, str):
                continue
            if isinstance(request, dict) and isinstance(request.get("function"), str):
                functions[rid] = request["function"]
            kind = record.get("type")
            if kind == "decision" and record.get("decision") in RUNS:
                decided[rid] = {
                    "request_id": rid,
                    "function": functions.get(rid, ""),
                    "decision": record.get("decision"),
                    "seq": record.get("seq"),
                    "ts": record.get("ts"),
                }
            elif kind == "outcome":
                decided.pop(rid, None)
        return list(decided.values())

    @staticmethod
    def verify(path: str | os.PathLike[str]) -> bool:
        """True when no record was edited, dropped or reordered."""
        return AuditLog.check(path).ok


#: logs holding records they could not write: one more try at exit
_keeping: weakref.WeakSet[AuditLog] = weakref.WeakSet()


@atexit.register
def _write_kept_records_at_exit() -> None:
    for log in list(_keeping):
        with contextlib.suppress(Exception):
            log.close()


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (raises OSError, e.g. ENOSPC when the disk is full)."""
    written = os.write(fd, data)  # almost always all of it: no view made
    if written == len(data):
        return
    view = memoryview(data)[written:]
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _last_line(f: Any, size: int) -> bytes | None:
    if size == 0:
        return None
    chunk = 4096
    end = size
    data = b""
    while end > 0:
        start = max(0, end - chunk)
        f.seek(start)
        data = bytes(f.read(end - start)) + data
        stripped = data.rstrip(b"\n")
        idx = stripped.rfind(b"\n")
        if idx >= 0:
            return stripped[idx + 1 :]
        if start == 0:
            return stripped or None
        end = start
        chunk *= 2
    return None
