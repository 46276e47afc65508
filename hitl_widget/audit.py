"""A tamper-evident, append-only audit trail of approval requests, decisions and outcomes.

Each line of the JSONL file is one record; each record carries the hash of the one
before it (``prev``) and its own hash over its canonical JSON (``hash``), so editing,
dropping or reordering any record breaks the chain that ``AuditLog.verify`` checks.
The first line is a header naming the format and a random log id. Truncating the
tail cannot be seen from the file alone: keep ``AuditLog.head`` somewhere else if
that matters.

Redaction covers every record and every field. Values under secret-looking names
(password, token, secret, api key, ...) are replaced at any depth of every record's
structures (arguments, context, edits, returned values). The secret values of a request
(those under secret-looking names in its arguments and context, and in any record about
it, e.g. an edit) are remembered, and every string of every later record about that
request (errors, feedback, exception texts, results, ``detail``) has them cut out, as
does text like ``password='...'``, ``"token": "..."`` or ``Authorization: Bearer ...``.
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
import math
import os
import re
import secrets
import sys
import threading
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
from .formatting import json_safe

__all__ = ["AuditLog", "VerifyResult", "redact", "redact_text", "secret_values"]

#: JupyterLite's drive stores a file when it is closed: a log kept open looks empty to every other reader there.
CLOSE_AFTER_EACH_RECORD = sys.platform == "emscripten"

FORMAT = "hitl-audit/1"
GENESIS = "0" * 64
REDACTED = "[REDACTED]"
#: decisions after which the call runs (and an outcome record is due)
RUNS = frozenset({"approved", "edited", "auto_approved", "not_required"})
SECRET_NAMES = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|authorization|credential|private[_-]?key|cookie",
    re.IGNORECASE,
)


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
    each, all that the log ever shows); ``value`` itself is returned when nothing in it
    needed redacting, else a copy (mappings as dicts, sequences as lists).
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
#: lowercase words one of which any match of SECRET_NAMES contains: a fast first look at text
_DEFAULT_NEEDLES = ("pass", "secret", "token", "api", "authorization", "credential", "private", "cookie")




def _may_hold_secret_names(text: str, pattern: re.Pattern[str]) -> bool:
    """Whether ``pattern`` may match in ``text``: a quick look at the words first for SECRET_NAMES."""
    if pattern is SECRET_NAMES:
        low = text.lower()
        return (
            "pass" in low or "secret" in low or "token" in low or "api" in low or "authorization" in low
            or "credential" in low or "private" in low or "cookie" in low
        )  # fmt: skip
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
        changed_list: list[Any] | None = None
        for index, item in enumerate(value[:_ITEMS]):
            new = _redact(item, pattern, found, depth + 1, budget)
            if new is not item and changed_list is None:
                changed_list = list(value)
            if changed_list is not None:
                changed_list[index] = new
        return value if changed_list is None else changed_list
    return value


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
            texts = [value, repr(value)[1:-1], json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]]
            texts.append(show_hidden(texts[1], python_escape, keep=""))  # as messages show it (formatting.bounded_repr)
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


_assignments: dict[tuple[str, int], re.Pattern[str]] = {}


def _assignment_pattern(names: re.Pattern[str]) -> re.Pattern[str]:
    """``name = value`` / ``"name": "value"`` / ``Name: Bearer value`` where name looks secret."""
    key = (names.pattern, names.flags)
    compiled = _assignments.get(key)
    if compiled is None:
        compiled = re.compile(
            r"""(?P<key>["']?[\w.-]*(?:""" + names.pattern + r""")[\w.-]*["']?\s*(?:=>|[:=])\s*)"""
            r"""(?P<value>(?:bearer|basic|token|digest)\s+[^\s,;&'"]+"""
            r"""|"(?:[^"\\]|\\.)*(?:"|$)|'(?:[^'\\]|\\.)*(?:'|$)|b'(?:[^'\\]|\\.)*(?:'|$)"""
            r"""|[^\s,;&)}\]"']+)""",
            names.flags | re.IGNORECASE,
        )
        _assignments[key] = compiled
    return compiled


def _redact_assignment(match: re.Match[str]) -> str:
    value = match.group("value")
    if REDACTED in value:
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
    if _may_hold_secret_names(text, pattern) and pattern.search(text):
        text = _assignment_pattern(pattern).sub(_redact_assignment, text)
    return text


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


_secret_caches: dict[re.Pattern[str], dict[str, bool]] = {}


def _secret_cache(pattern: re.Pattern[str]) -> dict[str, bool]:
    """Which keys ``pattern`` calls secret, remembered (record keys repeat)."""
    cache = _secret_caches.get(pattern)
    if cache is None or len(cache) > 4096:
        cache = _secret_caches[pattern] = {}
    return cache


def _plain_safe(fields: dict[str, Any], pattern: re.Pattern[str] | None, found: list[Any] | None = None) -> dict[str, Any] | None:
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
        return cast(dict[str, Any], _plain(fields, pattern, cache, 0, [16000], found))
    except _NotPlain:
        if found is not None:
            del found[mark:]
        return None


_SCALARS = (str, int, float, bool, type(None))


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
    return [_plain(item, pattern, cache, depth, budget, found) for item in value]


# ASCII-only: lone surrogates (undecodable file names) stay representable; one encoder, made once
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _canonical(body: dict[str, Any]) -> str:
    return _ENCODER.encode(body)


def _digest(prev: str, canonical: str) -> str:
    return hashlib.sha256((prev + canonical).encode()).hexdigest()


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
        self.clock = clock or (lambda: datetime.now(UTC))
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
            body = {"seq": state.seq + 1, "ts": self.clock().isoformat(), **fields, "prev": state.head}
            canonical = _canonical(body)
            if type(fields) is _Unchecked and _may_hold_secret_names(canonical, SECRET_NAMES):
                body = _scrub(body, (), SECRET_NAMES)
                canonical = _canonical(body)
            digest = _digest(state.head, canonical)
            line = (canonical[:-1] + f',"hash":"{digest}"}}\n').encode()
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
        if request is not None and hasattr(request, "to_dict") and hasattr(request, "arguments"):
            req: _RequestLike = request
            rid = req.id
            if pattern is not None:
                found += secret_values(req.arguments, pattern) + secret_values(req.context, pattern)
            fields = {**fields, "request": req.to_dict()}
        elif isinstance(request, dict) and rid is None:
            rid = request.get("id")
        if pattern is None:
            plain = _plain_safe(fields, None)
            return {"type": type, **(plain if plain is not None else json_safe(fields, max_chars=20000))}
        collected: list[Any] = []
        safe = _plain_safe(fields, pattern, collected)  # the same result, cheaply, for small plain records
        if safe is None:
            # redact first: json_safe turns deep structures into repr text that key redaction cannot see into
            safe = json_safe(_redact(fields, pattern, collected, 0), max_chars=20000)
        if collected:
            found += _text_forms(collected)
        secrets = self._remember(rid if isinstance(rid, str) else None, found, forget=type == "outcome")
        if not secrets:  # one look over all the text first: most records have nothing to cut
            if pattern is SECRET_NAMES:
                return _Unchecked({"type": type, **safe})  # looked at in _write_locked
            texts: list[str] = []
            _strings(safe, texts)
            if not _may_hold_secret_names("\n".join(texts), pattern):
                return {"type": type, **safe}
        return {"type": type, **_scrub(safe, secrets, pattern)}

    def _remember(self, rid: str | None, found: list[str], *, forget: bool) -> tuple[str, ...]:
        """The secret values known for request ``rid``, with ``found`` added."""
        state = self._state
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
                    record = json.loads(raw)
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
    view = memoryview(data)
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
