"""Several processes on one database, and a process killed (SIGKILL) in the middle of writing:
claims happen once across processes; everything a killed process had committed is there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_factories import make_person, make_request

from hitl_widget.dashboard.store import RequestQuery, Store, open_store

pytestmark = [pytest.mark.slow, pytest.mark.subprocess, pytest.mark.threads]

REPO = Path(__file__).resolve().parents[2]

CLAIMER = """
import json, sys, time
from hitl_widget.dashboard.store import Conflict, open_store
db, ids = sys.argv[1], json.loads(sys.argv[2])
store = open_store(db)
print("ready", flush=True)
sys.stdin.readline()  # all processes start together
won = []
for rid in ids:
    try:
        store.claim(rid, agent="agent-1", version=1, now=time.time())
    except Conflict:
        continue
    won.append(rid)
store.close()
print(json.dumps(won), flush=True)
"""

DECIDER = """
import json, sys, time
from hitl_widget.dashboard.store import NewRequest, User, open_store
db = sys.argv[1]
store = open_store(db)
alice = User("alice")
n = 0
while True:
    n += 1
    req, _ = store.create_request(NewRequest(f"k{n}", "fp", "refund", view={}), agent="agent-1", now=time.time())
    if n % 2:
        store.decide(req.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="t", now=time.time())
    print(json.dumps([req.id, "approved" if n % 2 else "pending"]), flush=True)  # after the commit
"""


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_claims_once_across_processes(store: Store, db: str) -> None:
    alice = make_person(store, "alice")
    ids = []
    for _ in range(20):
        r = make_request(store)
        store.decide(r.id, version=1, user=alice, kind="approve", edits=None, feedback=None, channel="test", now=time.time())
        ids.append(r.id)
    argv = [sys.executable, "-c", CLAIMER, db, json.dumps(ids)]
    procs = [subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env()) for _ in range(4)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        won: list[str] = []
        for p in procs:
            out, _ = p.communicate(timeout=120)
            assert p.returncode == 0
            won.extend(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert sorted(won) == sorted(ids)  # every approved request claimed exactly once, by one of the processes
    for rid in ids:
        log = store.decision_log(rid)
        assert sum(e.action == "claim" and e.accepted for e in log) == 1
        assert sum(e.action == "claim" for e in log) == 4


def test_sigkill_while_writing_loses_nothing_committed(store: Store, db: str, backend: str) -> None:
    make_person(store, "alice")
    proc = subprocess.Popen([sys.executable, "-c", DECIDER, db], stdout=subprocess.PIPE, text=True, env=child_env())
    acknowledged: list[list[str]] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.append(json.loads(line))
        os.kill(proc.pid, signal.SIGKILL)  # in the middle of its next create or decision
        proc.wait(timeout=30)
        rest = proc.stdout.read()  # what it printed (after committing) before the kill, not read yet
        acknowledged.extend(json.loads(line) for line in rest.split("\n") if line.endswith("]"))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acknowledged) >= 40
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
    with open_store(db) as again:
        for rid, status in acknowledged:
            got = again.get_request(rid)
            assert got is not None and got.status == status, (rid, status, got)
        everything = again.list_requests(RequestQuery(limit=500)).items
        assert len(everything) in (len(acknowledged), len(acknowledged) + 1)  # at most the unacknowledged last one
