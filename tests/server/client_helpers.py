"""Helpers for the client and fault tests against a real ``hitl dashboard``: a call in a thread, a person's API.

A person here does what the dashboard's pages do, over the same API: log in (session cookie
and CSRF token, server_process.DashboardServer.person), list the queue, decide a request
naming its version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx


class Call(threading.Thread):
    """One tool call in a thread of its own: ``outcome()`` returns its result or raises its error."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(daemon=True)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.result: Any = None
        self.error: BaseException | None = None
        self.ended_at: float | None = None
        self.start()

    def run(self) -> None:
        try:
            self.result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    def outcome(self, timeout: float = 30.0) -> Any:
        self.join(timeout)
        assert not self.is_alive(), f"the call {self.args} did not end within {timeout} s"
        if self.error is not None:
            raise self.error
        return self.result


def pending(person: httpx.Client, marker: str, *, timeout: float = 15.0, status: str = "pending") -> dict[str, Any]:
    """The request whose call text contains ``marker``, once it is in the queue with ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        items = person.get("/api/requests", params={"status": status, "limit": 200}).raise_for_status().json()["items"]
        found = [item for item in items if marker in item["call_text"]]
        if found:
            assert len(found) == 1, f"{len(found)} requests for {marker}: {found}"
            return found[0]
        assert time.monotonic() < deadline, f"no {status} request for {marker!r}"
        time.sleep(0.02)


def decide(
    person: httpx.Client, item: dict[str, Any], kind: str, *, edits: dict[str, Any] | None = None, feedback: str | None = None
) -> httpx.Response:
    """``POST /api/requests/{id}/decisions`` for the version the person saw."""
    body: dict[str, Any] = {"version": item["version"], "kind": kind}
    if edits is not None:
        body["edits"] = edits
    if feedback is not None:
        body["feedback"] = feedback
    return person.post(f"/api/requests/{item['id']}/decisions", json=body)


def status_of(person: httpx.Client, request_id: str) -> dict[str, Any]:
    return person.get(f"/api/requests/{request_id}").raise_for_status().json()  # type: ignore[no-any-return]


def wait_status(person: httpx.Client, request_id: str, statuses: set[str], timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = status_of(person, request_id)
        if current["status"] in statuses:
            return current
        assert time.monotonic() < deadline, f"request {request_id} stayed {current['status']} (wanted {statuses})"
        time.sleep(0.02)
