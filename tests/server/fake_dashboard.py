"""A small in-memory double of the dashboard's agent API, for the client's contract tests.

Plugged into ``DashboardApprover(transport=fake.transport(), async_transport=fake.async_transport())``
(httpx ``MockTransport``): the same seam as the real server, no sockets. It keeps to the
HTTP API of docs/dashboard-api.md as far as the agent side sees it (create idempotent on the
client request id + fingerprint, bounded long-poll wait, claim once, outcome, invalid-edit,
cancel, server-side expiry), records every request it got, and can refuse connections for a
while (``down(seconds)``) as a restarting server does. The tests that matter run against the
real ``hitl dashboard`` (test_client.py, test_faults.py); this one pins the client's own logic.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any

import httpx


class FakeDashboard:
    def __init__(self, *, token: str = "agent-token", agent: str = "agent") -> None:
        self.token = token
        self.agent = agent
        self.requests: dict[str, dict[str, Any]] = {}
        self.by_key: dict[tuple[str, str], str] = {}
        self.log: list[tuple[str, str]] = []  # (method, path) of every request that reached it
        self.claims: list[str] = []
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._down_until = 0.0
        self.fail_next: list[int] = []  # HTTP statuses to answer the next requests with (503: a proxy before a restart)
        self.lose_answer_of: set[str] = set()  # verbs ("claim", "outcome", ...) done once, then their answer lost

    # -- what a person (or the test) does ------------------------------------------------

    def decide(
        self, request_id: str, kind: str, *, by: str = "alice", edits: dict[str, Any] | None = None, feedback: str = ""
    ) -> None:
        with self._cond:
            r = self.requests[request_id]
            assert r["status"] == "pending", r
            if kind == "edit":
                r["version"] += 1
                r["edits"] = edits
                kind = "approve"
            r["status"] = "approved" if kind == "approve" else "rejected"
            r["decision"] = {"kind": kind, "by": [by], "at": "2026-12-01T21:00:00Z", "feedback": feedback or None, "edits": edits}
            self._cond.notify_all()

    def down(self, seconds: float) -> None:
        """Refuse every connection for ``seconds`` (a server restarting)."""
        self._down_until = time.monotonic() + seconds

    def wait_for_request(self, count: int = 1, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                assert left > 0, "no request arrived"
                self._cond.wait(left)
            return list(self.requests.values())[count - 1]

    # -- transports ----------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def async_transport(self) -> httpx.MockTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/wait"):  # poll, so the event loop stays free
                deadline = time.monotonic() + float(request.url.params.get("timeout", "1"))
                version = int(request.url.params["version"])
                rid = request.url.path.split("/")[3]
                while time.monotonic() < deadline:
                    with self._cond:
                        self._expire()
                    r = self.requests.get(rid)
                    if r is None or r["status"] != "pending" or r["version"] != version:
                        break
                    await asyncio.sleep(0.005)
            return self.handle(request, wait=False)

        return httpx.MockTransport(handler)

    # -- the API ---------------------------------------------------------------------------

    def handle(self, request: httpx.Request, wait: bool = True) -> httpx.Response:
        path = request.url.path
        self.log.append((request.method, path))
        if time.monotonic() < self._down_until:
            raise httpx.ConnectError("connection refused (fake server down)", request=request)
        if self.fail_next:
            return httpx.Response(self.fail_next.pop(0), json={"error": "unavailable", "code": "unavailable"})
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "not a valid agent token", "unauthorized")
        body = json.loads(request.content) if request.content else {}
        parts = path.strip("/").split("/")
        verb = parts[3] if len(parts) == 4 else ""
        if verb in self.lose_answer_of:
            self.lose_answer_of.discard(verb)
            self.handle(request, wait=wait)  # done on the server...
            self.log.pop()  # (logged once, above)
            raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)
        with self._cond:
            self._expire()
            if request.method == "POST" and parts == ["api", "requests"]:
                return self._create(body)
            rid = parts[2] if len(parts) >= 3 else ""
            r = self.requests.get(rid)
            if r is None:
                return _error(404, "no such request", "not_found")
            if request.method == "GET" and verb == "":
                return httpx.Response(200, json=r)
            if request.method == "GET" and verb == "wait":
                version = int(request.url.params["version"])
                deadline = time.monotonic() + min(30.0, float(request.url.params.get("timeout", "25")))
                while wait and r["status"] == "pending" and r["version"] == version:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(min(left, 0.05))
                    self._expire()
                return httpx.Response(200, json=r)
            if request.method == "POST" and verb == "claim":
                if r["status"] != "approved" or body.get("version") != r["version"]:
                    return _error(409, f"cannot claim a request that is {r['status']}", "conflict")
                r["status"] = "running"
                r["claimed_at"] = "2026-12-01T21:00:01Z"
                self.claims.append(rid)
                return httpx.Response(200, json=r)
            if request.method == "POST" and verb == "outcome":
                if r["status"] != "running":
                    return _error(409, "not running", "conflict")
                r["status"] = body["status"]
                r["outcome"] = {"status": body["status"], "detail": body.get("detail")}
                return httpx.Response(200, json=r)
            if request.method == "POST" and verb == "invalid-edit":
                if r["status"] != "approved" or body.get("version") != r["version"]:
                    return _error(409, "stale", "conflict")
                r.update(status="pending", version=r["version"] + 1, edits=None, decision=None, problems=body.get("problems"))
                self._cond.notify_all()
                return httpx.Response(200, json=r)
            if request.method == "POST" and verb == "cancel":
                if r["status"] not in ("pending", "approved"):
                    return _error(409, f"cannot cancel a request that is {r['status']}", "conflict")
                r["status"] = "cancelled"
                r["outcome"] = {"status": "cancelled", "detail": body.get("reason")}
                self._cond.notify_all()
                return httpx.Response(200, json=r)
        return _error(404, "no such route", "not_found")

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        key = (self.agent, body["client_request_id"])
        existing = self.by_key.get(key)
        if existing is not None:
            r = self.requests[existing]
            if r["fingerprint"] != body["fingerprint"]:
                return _error(409, "another request has this client_request_id", "conflict")
            return httpx.Response(200, json=r)
        rid = f"q{next(self._ids)}"
        timeout = body.get("timeout_s")
        r = {
            "id": rid,
            "client_request_id": body["client_request_id"],
            "fingerprint": body["fingerprint"],
            "agent": self.agent,
            "on_behalf_of": body.get("on_behalf_of"),
            "function": body["function"],
            "risk": body["risk"],
            "status": "pending",
            "version": 1,
            "view": body["view"],
            "call_text": body["call_text"],
            "context": body.get("context"),
            "edits": None,
            "decision": None,
            "expires_at": None if timeout is None else time.monotonic() + timeout,
            "claimed_at": None,
            "outcome": None,
            "problems": None,
        }
        self.requests[rid] = r
        self.by_key[key] = rid
        self._cond.notify_all()
        return httpx.Response(201, json=r)

    def _expire(self) -> None:
        now = time.monotonic()
        for r in self.requests.values():
            if r["status"] == "pending" and r["expires_at"] is not None and now >= r["expires_at"]:
                r["status"] = "timed_out"
                self._cond.notify_all()


def _error(status: int, error: str, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": error, "code": code})
