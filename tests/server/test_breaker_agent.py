"""The agent side against servers that misbehave: DashboardApprover's timeout must hold (fail
closed, the function not run) whatever the other end does, and claims must run a call once.

- a "server" that accepts the connection and never answers, or answers one byte at a time
  (a hung or overloaded proxy: each read gets a byte before httpx's read timeout);
- two agents (processes or threads with one token) claiming one approved request at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_process import DashboardServer

from hitl_widget import ApprovalRejected, ApprovalTimeout, DashboardApprover, Gate
from hitl_widget.dashboard.store import open_store

pytestmark = [pytest.mark.slow, pytest.mark.threads, pytest.mark.timeout(120)]


class BadServer:
    """A TCP server on loopback that reads each request and then ``mode``:
    "silent" (never answers), "drip" (a status line and headers promising a body, then one byte
    every ``every`` s), "drip-headers" (the status line one byte at a time)."""

    def __init__(self, mode: str, every: float = 0.2) -> None:
        self.mode = mode
        self.every = every
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self.threads.append(accept)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            if self.mode == "drip":
                head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n"
                chunks = [head] + [b" "] * 100_000
            elif self.mode == "drip-headers":
                chunks = [bytes([c]) for c in b"HTTP/1.1 200 OK\r\n"] + [b"x-pad: y\r\n"] * 100_000
            else:
                chunks = []
            for chunk in chunks:
                if self.stop.wait(self.every):
                    return
                try:
                    conn.sendall(chunk)
                except OSError:
                    return
            self.stop.wait(60)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for t in self.threads:
            t.join(timeout=2)


@pytest.fixture
def bad_server(request: pytest.FixtureRequest) -> Iterator[BadServer]:
    server = BadServer(request.param)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("bad_server", ["silent", "drip", "drip-headers"], indirect=True)
def test_the_calls_timeout_holds_against_a_server_that_hangs_or_drips(bad_server: BadServer, mode: str) -> None:
    # was: with "drip" and "drip-headers" the call was still waiting long after its timeout (httpx's
    # read timeout is per read, and each read got a byte); then async calls returned ~6.5 s after
    # starting: the cancel clean-up (re-sending the create, CANCEL_SECONDS=5) held the caller; it now
    # runs in the background after CANCEL_GRACE_SECONDS
    ran: list[str] = []
    dashboard = DashboardApprover(bad_server.url, token="hitl_x", backoff=(0.02, 0.3))
    gate = Gate(approver=dashboard)

    @gate.require_approval(risk="critical", timeout=1.5)
    def refund_sync(order: str) -> str:
        ran.append(order)
        return "ran"

    @gate.require_approval(risk="critical", timeout=1.5)
    async def refund_async(order: str) -> str:
        ran.append(order)
        return "ran"

    def refund(order: str) -> str:
        return refund_sync(order) if mode == "sync" else asyncio.run(refund_async(order))

    done: dict[str, Any] = {}

    def call() -> None:
        started = time.monotonic()
        try:
            refund("ORD-1")
        except (ApprovalTimeout, ApprovalRejected) as exc:
            done["error"] = exc
        done["elapsed"] = time.monotonic() - started

    # the call runs on a thread of its own, so a test of a hang cannot itself hang
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(timeout=8)
    assert not worker.is_alive(), "the call was still waiting 8 s after its timeout of 1.5 s"
    assert ran == [] and isinstance(done.get("error"), ApprovalTimeout), done
    assert done["elapsed"] < 4.0, done


# -- claims ---------------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[DashboardServer, str, str]]:
    db = str(tmp_path / "hitl.db")
    with open_store(db) as store:
        store.add_user("alice", "alice-pw", ("ops",))
        token = store.add_token("agent-1")
        other = store.add_token("agent-2")
    with DashboardServer(db, log_path=tmp_path / "server.log") as running:
        yield running, token, other


def test_one_approved_request_claimed_many_times_at_once_runs_once(server: tuple[DashboardServer, str, str]) -> None:
    srv, token, other = server
    agent = srv.agent(token)
    made = agent.post("/api/requests", json={"client_request_id": "c-1", "fingerprint": "f", "function": "refund",
                                             "view": {"arguments": [], "approvable": True}}).json()  # fmt: skip
    alice = srv.person("alice", "alice-pw")
    assert alice.post(f"/api/requests/{made['id']}/decisions", json={"version": 1, "kind": "approve"}).status_code == 200
    thief = srv.agent(other)

    def claim(i: int) -> int:
        client = thief if i % 4 == 0 else agent
        return client.post(f"/api/requests/{made['id']}/claim", json={"version": 1}).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(claim, range(32)))
    assert codes.count(200) == 1 and codes.count(403) == 8 and codes.count(409) == 23, codes
    assert agent.get(f"/api/requests/{made['id']}").json()["status"] == "running"
    # the other agent cannot report its outcome either
    answer = thief.post(f"/api/requests/{made['id']}/outcome", json={"status": "succeeded", "detail": None})
    assert answer.status_code == 403
    assert agent.post(f"/api/requests/{made['id']}/outcome", json={"status": "failed", "detail": "x"}).status_code == 200
    assert agent.post(f"/api/requests/{made['id']}/outcome", json={"status": "succeeded", "detail": "x"}).status_code == 409
