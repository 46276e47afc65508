"""A tamper-evident, append-only audit trail of approval requests, decisions and outcomes.

Each line of the JSONL file is one record; each record carries the hash of the one
before it (``prev``) and its own hash over its canonical JSON (``hash``), so editing,
dropping or reordering any record breaks the chain that ``AuditLog.verify`` checks.
The first line is a header naming the format and a random log id. Truncating the
tail cannot be seen from the file alone: keep ``AuditLog.head`` somewhere else if
that matters.

Secret-looking argument names (password, token, secret, api key, ...) are redacted,
and huge or non-JSON values are recorded by a bounded ``repr``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

try:  # not available on Windows; under Pyodide the module exists without flock
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]
if not hasattr(fcntl, "flock"):  # one process only there: the in-process lock is enough
    fcntl = None  # type: ignore[assignment]

from .formatting import json_safe

__all__ = ["AuditLog", "VerifyResult", "redact"]

#: JupyterLite's drive stores a file when it is closed: a log kept open looks empty to every other reader there.
CLOSE_AFTER_EACH_RECORD = sys.platform == "emscripten"

FORMAT = "hitl-audit/1"
GENESIS = "0" * 64
REDACTED = "[REDACTED]"
SECRET_NAMES = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|authorization|credential|private[_-]?key|cookie",
    re.IGNORECASE,
)


def redact(value: Any, pattern: re.Pattern[str] | None = SECRET_NAMES, _depth: int = 0) -> Any:
    """A copy of ``value`` with the values of secret-looking (string) keys replaced, at any depth up to 32."""
    if pattern is None or _depth > 32:
        return value
    if type(value) is dict:
        return {
            k: (REDACTED if isinstance(k, str) and pattern.search(k) else redact(v, pattern, _depth + 1))
            for k, v in value.items()
        }
    if type(value) in (list, tuple):
        return [redact(v, pattern, _depth + 1) for v in value]
    return value


class _NotPlain(Exception):
    pass


_secret_caches: dict[re.Pattern[str], dict[str, bool]] = {}


def _secret_cache(pattern: re.Pattern[str]) -> dict[str, bool]:
    """Which keys ``pattern`` calls secret, remembered (record keys repeat)."""
    cache = _secret_caches.get(pattern)
    if cache is None or len(cache) > 4096:
        cache = _secret_caches[pattern] = {}
    return cache


def _plain_safe(fields: dict[str, Any], pattern: re.Pattern[str] | None) -> dict[str, Any] | None:
    """``json_safe(redact(fields), max_chars=20000)`` in one cheap pass, for small plain records; else None.

    Plain means str-keyed dicts, lists and tuples (at most 200 items, nesting below 5)
    of str, bool, None, finite floats and ints below 1e30, well inside the size budget:
    exactly the records on which the two-pass result is a copy with secret-named keys
    redacted. Anything else returns None and takes the general path.
    """
    cache = None if pattern is None else _secret_cache(pattern)
    try:
        return cast(dict[str, Any], _plain(fields, pattern, cache, 0, [16000]))
    except _NotPlain:
        return None


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any, pattern: re.Pattern[str] | None, cache: dict[str, bool] | None, depth: int, budget: list[int]) -> Any:
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
                    continue
            kind = type(item)
            if kind is str and len(item) < 1000:
                budget[0] -= len(item) + 2
                out[key] = item
            elif item is None or kind is bool:
                out[key] = item
            else:
                out[key] = _plain(item, pattern, cache, depth, budget)
        if budget[0] <= 0:
            raise _NotPlain
        return out
    return [_plain(item, pattern, cache, depth, budget) for item in value]


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
            digest = _digest(state.head, canonical)
            line = (canonical[:-1] + f',"hash":"{digest}"}}\n').encode()
            self._file.write(line)
            self._file.flush()
            if self.durable:
                os.fsync(fd)
            state.seq += 1
            state.head = digest
            state.size = (state.size if state.size >= 0 else 0) + len(line)
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        body["hash"] = digest
        return body

    def append(self, type: str, **fields: Any) -> dict[str, Any]:
        """Append one record; values are made JSON-safe and secret names redacted."""
        # redact first: json_safe turns deep structures into repr text that redact cannot see into
        safe = _plain_safe(fields, self.redact_names)  # the same result, cheaply, for small plain records
        if safe is None:
            safe = json_safe(redact(fields, self.redact_names), max_chars=20000)
        with self._state.lock:
            if self._file is None or self._file.closed:
                self._open()
            try:
                return self._write_locked({"type": type, **safe})
            finally:
                if CLOSE_AFTER_EACH_RECORD:
                    self._file.close()

    def close(self) -> None:
        with self._state.lock:
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
    def verify(path: str | os.PathLike[str]) -> bool:
        """True when no record was edited, dropped or reordered."""
        return AuditLog.check(path).ok


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
