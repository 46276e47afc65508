"""Calling a chat service that may be rate limited, failing or hanging: retry with back-off, bounded.

A chat message is a convenience beside the dashboard, never the only way to decide: the
request is already in the dashboard when a message is posted, so a chat service that answers
429, 5xx or nothing delays the message, and never the decision. :func:`call_with_retries`
keeps trying while ``keep_going()`` holds (the request is still pending) and the deadline has
not passed:

- HTTP 429: waits ``Retry-After`` seconds (capped at ``max_delay``; 1 s when absent);
- HTTP 5xx, a timeout, a refused or reset connection: exponential back-off from
  ``first_delay`` (×2 each time, with jitter, capped at ``max_delay``);
- anything else (Slack's ``ok: false`` with 200, e.g. ``channel_not_found``; 4xx): no retry,
  the error is raised at once: trying again would fail the same way.

The waits happen on ``wait`` (an injected ``threading.Event.wait``-like callable), so a
caller can cut them short when the request is decided meanwhile.
"""

from __future__ import annotations

import random
import socket
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["GaveUp", "Retryable", "call_with_retries", "classify"]

T = TypeVar("T")


@dataclass(frozen=True)
class Retryable:
    """Why an attempt may succeed later, and how long to wait first (None: back-off)."""

    reason: str
    retry_after: float | None = None


class GaveUp(Exception):
    """Stopped retrying: the deadline passed or ``keep_going()`` turned False. ``attempts``, ``last``."""

    def __init__(self, message: str, *, attempts: int, last: str) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last = last


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    try:
        items = headers.items()
    except AttributeError:
        return None
    for key, value in items:
        if str(key).lower() == name:
            if isinstance(value, list):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


def _status(exc: BaseException) -> tuple[int | None, Any]:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        headers = getattr(exc, "headers", None)
    return (status if isinstance(status, int) else None), headers


def classify(exc: BaseException) -> Retryable | None:
    """A :class:`Retryable` for a rate limit, server error or network failure; None otherwise.

    Understands slack_sdk's ``SlackApiError`` (``.response.status_code``/``.headers``), urllib's
    ``HTTPError``/``URLError``, ``TimeoutError``/``socket.timeout``, ``ConnectionError`` and
    httpx's transport errors and ``HTTPStatusError``.
    """
    status, headers = _status(exc)
    if status == 429:
        raw = _header(headers, "retry-after")
        try:
            after = float(raw) if raw is not None else 1.0
        except ValueError:
            after = 1.0
        return Retryable("rate limited (429)", max(0.0, after))
    if status is not None and 500 <= status <= 599:
        return Retryable(f"server error ({status})")
    if status is not None:
        return None
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return Retryable("timed out")
    if isinstance(exc, urllib.error.URLError):
        return Retryable(f"unreachable ({exc.reason})")
    if isinstance(exc, (ConnectionError, OSError)):
        return Retryable(f"connection failed ({type(exc).__name__})")
    name = type(exc).__name__
    module = type(exc).__module__
    if module.startswith("httpx") and name in (
        "ConnectError",
        "ReadTimeout",
        "ConnectTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "RemoteProtocolError",
        "ReadError",
        "WriteError",
    ):
        return Retryable(f"{name}")
    return None


def call_with_retries(
    attempt: Callable[[], T],
    *,
    deadline: float | None,
    keep_going: Callable[[], bool] = lambda: True,
    wait: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_delay: float = 0.5,
    max_delay: float = 30.0,
    on_retry: Callable[[int, Retryable, float], None] | None = None,
) -> T:
    """``attempt()``, tried again on a :func:`classify`-retryable error until it succeeds.

    ``deadline``: a ``clock()`` value after which no attempt starts (None: no deadline).
    Raises :class:`GaveUp` when the deadline passes or ``keep_going()`` is False before an
    attempt succeeds; a non-retryable error propagates unchanged. ``on_retry(attempt_number,
    why, delay_seconds)`` is told about each retry (for logs and tests).
    """
    delay = first_delay
    attempts = 0
    last = "not tried"
    while True:
        if attempts and not keep_going():
            raise GaveUp(f"stopped after {attempts} attempt(s): no longer needed ({last})", attempts=attempts, last=last)
        attempts += 1
        try:
            return attempt()
        except Exception as exc:
            why = classify(exc)
            if why is None:
                raise
            last = why.reason
            pause = min(max_delay, why.retry_after) if why.retry_after is not None else delay * (0.5 + random.random() / 2)
            if why.retry_after is None:
                delay = min(max_delay, delay * 2)
            if deadline is not None and clock() + pause >= deadline:
                raise GaveUp(f"gave up after {attempts} attempt(s): {last}", attempts=attempts, last=last) from exc
            if on_retry is not None:
                on_retry(attempts, why, pause)
            wait(pause)
