"""``make dashboard`` (scripts/dashboard_demo.py): the server on a SQLite file with a demo person and
agent token printed, and a demo agent whose calls wait in the queue; a restart makes no duplicates."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(db: Path, port: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the demo; (the process, its output of this start) once it serves."""
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as out:
        command = [sys.executable, str(ROOT / "scripts" / "dashboard_demo.py"), "--db", str(db), "--port", str(port)]
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while "hitl dashboard: serving" not in log.read_text()[offset:]:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return proc, log.read_text()[offset:]


def _pending(client: httpx.Client, n: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 20
    while True:
        items: list[dict[str, object]] = client.get("/api/requests", params={"status": "pending"}).json()["items"]
        if len(items) >= n or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_make_dashboard_demo(tmp_path: Path) -> None:
    db, port, log = tmp_path / "dashboard.db", _free_port(), tmp_path / "demo.log"
    proc, text = _start(db, port, log)
    try:
        login = re.search(r"log in as\s+(\S+) / (\S+)", text)
        token = re.search(r"agent\s+demo-agent, token (\S+)", text)
        assert login and token, text
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        me = client.post("/login", json={"username": login.group(1), "password": login.group(2)})
        assert me.status_code == 200 and set(me.json()["roles"]) == {"ops", "manager"}
        client.headers["X-CSRF-Token"] = me.json()["csrf_token"]
        items = _pending(client, 3)
        assert sorted(str(i["function"]) for i in items) == ["delete_user", "deploy", "refund"]
        assert all(i["agent"] == "demo-agent" for i in items)
        agent = httpx.get(f"http://127.0.0.1:{port}/api/me", headers={"Authorization": f"Bearer {token.group(1)}"})
        assert agent.json()["name"] == "demo-agent"
        refund = next(i for i in items if i["function"] == "refund")
        assert client.post(f"/api/requests/{refund['id']}/decisions", json={"version": 1, "kind": "approve"}).status_code == 200
        deadline = time.monotonic() + 20
        while "[demo agent] refunded 120.00 on A-1042" not in log.read_text():  # the agent ran the approved call
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert client.get(f"/api/requests/{refund['id']}").json()["status"] == "succeeded"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()

    proc, text = _start(db, port, log)  # again: the same accounts, the same requests, no duplicates
    try:
        assert f"/ {login.group(2)}" in text  # the same password printed again
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        assert client.post("/login", json={"username": login.group(1), "password": login.group(2)}).status_code == 200
        time.sleep(1.0)  # the restarted demo agent re-posts its calls
        everything = client.get("/api/requests").json()["items"]
        assert sorted(str(i["function"]) for i in everything) == ["delete_user", "deploy", "refund"]
        assert {str(i["function"]): i["status"] for i in everything}["refund"] == "succeeded"
        assert log.read_text().count("[demo agent] refunded") == 1  # not run again
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
