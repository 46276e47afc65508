"""The dashboard under load, on loopback: agents waiting through DashboardApprover, approvers deciding by the API.

    python benchmarks/bench_dashboard.py [--agents 50] [--calls 4] [--approvers 5] [--skip-postgresql]

Scenarios (each a real ``hitl dashboard`` subprocess, tests/server/server_process.py):

- ``sqlite`` / ``postgresql``: AGENTS agents, threads in PROCESSES agent processes, each agent
  with its own DashboardApprover and Gate, each making CALLS calls one after another; APPROVERS
  people, each logged in with its own session, polling the queue (``GET /api/requests``) and
  deciding their share of it (``POST /api/requests/{id}/decisions``): every 5th call rejected,
  the others approved.
- ``2 instances, 1 PostgreSQL``: the agents talk to one server, the approvers to another on the
  same database (a decision reaches the waiting agent through LISTEN/NOTIFY).
- ``restart mid-load`` (SIGTERM, then SIGKILL): the same load on SQLite, the server stopped when
  40% of the decisions are in and started again.
- ``baseline``: one agent making 20 calls one after another, the same approvers: the same
  figures without the load, side by side.
- ``10,000 pending``: the queue's first page (``GET /api/requests?status=pending&limit=50``) with
  10,000 pending requests (created through the store, timed through the API).

Figures: decisions/s (decisions accepted / the seconds from the first to the last), decision ->
function running (the approver sending its decision to the approved function's first line;
``time.monotonic``, one clock for every process of the machine) p50/p99, ``decide p50``: the
decision request's own round trip (part of the former), and how every call ended: ran exactly once when approved, never
when rejected; ``lost`` counts calls that did not end as decided, ``twice`` executions beyond one.
Target: p50 < 20 ms, p99 < 100 ms, lost = twice = 0; first page < 50 ms. Bounded: every
scenario stops by itself (a deadline of --deadline seconds), the servers and PostgreSQL are
stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing
import queue
import signal
import statistics
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))

import httpx  # noqa: E402
from server_process import DashboardServer  # noqa: E402

from hitl_widget import ApprovalRejected, DashboardApprover, Gate  # noqa: E402


@dataclass
class Load:
    """One scenario's bookkeeping, shared by the agent and approver threads."""

    intended: dict[str, str] = field(default_factory=dict)  # order -> "approve" | "reject"
    sent_at: dict[str, float] = field(default_factory=dict)  # order -> when its decision was sent
    ran_at: dict[str, float] = field(default_factory=dict)  # order -> when the function started
    runs: Counter[str] = field(default_factory=Counter)
    ended: dict[str, str] = field(default_factory=dict)  # order -> "ran" | "rejected" | "error: ..."
    decided_times: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)  # each accepted decision's own round trip
    conflicts: int = 0
    logged_in: int = 0  # approvers logged in (the agents start once all are: a login is argon2, CPU-heavy on purpose)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)


def order_of(call_text: str) -> str:
    return call_text.split("'")[1]


def agent_thread(url: str, token: str, agent: int, calls: int, load: Load) -> None:
    dashboard = DashboardApprover(url, token=token, backoff=(0.02, 0.5))
    gate = Gate(approver=dashboard)

    @gate.require_approval(risk="high", timeout=120)
    def transfer(order: str) -> str:
        now = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process of this machine
        with load.lock:
            load.runs[order] += 1
            load.ran_at.setdefault(order, now)
        return order

    try:
        for i in range(calls):
            order = f"A{agent:02d}-{i}"
            try:
                transfer(order)
                load.ended[order] = "ran"
            except ApprovalRejected as exc:
                load.ended[order] = "rejected" if "rejected by a human reviewer" in str(exc) else f"error: {exc}"
    finally:
        dashboard.close()


def intended_kind(order: str) -> str:
    """Every 5th call (by agent and call number) is rejected, the others approved."""
    agent, call = order[1:].split("-")
    return "reject" if (int(agent) + int(call)) % 5 == 4 else "approve"


def approver_thread(url: str, name: str, index: int, of: int, load: Load, deadline: float) -> None:
    """One person: told of new requests by the live events (``GET /api/events``, as the queue page is),
    deciding those of its share (by request id) by the API; a full queue read after each (re)connect."""
    client = httpx.Client(base_url=url, timeout=30)
    handled: set[str] = set()

    def mine(request_id: str) -> bool:
        return zlib.crc32(request_id.encode()) % of == index

    def handle(item: dict[str, Any]) -> None:
        if item["id"] in handled or item["status"] != "pending":
            return
        order = order_of(item["call_text"])
        kind = intended_kind(order)
        body: dict[str, Any] = {"version": item["version"], "kind": kind}
        if kind == "reject":
            body["feedback"] = "not this one"
        with load.lock:
            load.intended[order] = kind
        sent = time.monotonic()
        answer = client.post(f"/api/requests/{item['id']}/decisions", json=body, timeout=30)
        if answer.status_code == 200:
            handled.add(item["id"])
            with load.lock:
                load.sent_at.setdefault(order, sent)
                load.decided_times.append(time.monotonic())
                load.post_ms.append((load.decided_times[-1] - sent) * 1000)
        elif answer.status_code == 409:
            handled.add(item["id"])
            load.conflicts += 1
        elif answer.status_code == 401:
            raise PermissionError("logged out")
        else:
            load.errors.append(f"{answer.status_code} {answer.text[:200]}")

    try:
        while not load.done.is_set() and time.monotonic() < deadline:
            try:
                if "X-CSRF-Token" not in client.headers:  # log in once: the session outlives reconnects and restarts
                    answer = client.post("/login", json={"username": name, "password": f"{name}-pw"})
                    answer.raise_for_status()
                    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
                    with load.lock:
                        load.logged_in += 1
                with client.stream("GET", "/api/events", timeout=httpx.Timeout(30, read=1.0)) as events:
                    cursor = None  # catch up on what came while not listening
                    while True:
                        params: dict[str, Any] = {"status": "pending", "limit": 500}
                        if cursor:
                            params["cursor"] = cursor
                        page = client.get("/api/requests", params=params, timeout=30).raise_for_status().json()
                        for item in page["items"]:
                            if mine(item["id"]):
                                handle(item)
                        cursor = page.get("next_cursor")
                        if not cursor:
                            break
                    for line in events.iter_lines():
                        if load.done.is_set():
                            break
                        if not line.startswith("data:"):
                            continue
                        event = json.loads(line[5:])
                        if event.get("status") == "pending" and mine(event["id"]) and event["id"] not in handled:
                            got = client.get(f"/api/requests/{event['id']}", timeout=30)
                            if got.status_code == 200:
                                handle(got.json())
            except (httpx.TransportError, httpx.HTTPStatusError, PermissionError) as exc:
                if isinstance(exc, PermissionError) or (
                    isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 401
                ):
                    client.headers.pop("X-CSRF-Token", None)  # logged out: log in again
                time.sleep(0.05)  # the server is restarting, or the stream was idle for a second: listen again
    finally:
        client.close()


def agent_process(url: str, token: str, agents: list[int], calls: int, deadline_s: float, out: Any, go: Any) -> None:
    """Some of the agents, as threads of one process; what they did goes back through ``out`` (a Queue).
    They start together with the other processes at ``go`` (a Barrier), once every process has imported
    its libraries and the approvers are logged in."""
    with contextlib.suppress(threading.BrokenBarrierError):
        go.wait(deadline_s)
    load = Load()
    threads = [threading.Thread(target=agent_thread, args=(url, token, a, calls, load), daemon=True) for a in agents]
    for t in threads:
        t.start()
    deadline = time.monotonic() + deadline_s
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    out.put({"ran_at": dict(load.ran_at), "runs": dict(load.runs), "ended": dict(load.ended)})


def run_load(
    agents_url: str,
    people_url: str,
    token: str,
    people: list[str],
    *,
    agents: int,
    calls: int,
    deadline_s: float,
    processes: int,
    disrupt: Callable[[Load], None] | None = None,
) -> Load:
    """The agents in ``processes`` processes (threads in each), the approvers as threads here."""
    load = Load()
    deadline = time.monotonic() + deadline_s
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    shares = [list(range(agents))[i::processes] for i in range(processes)]
    go = spawn.Barrier(1 + sum(1 for share in shares if share))
    workers = [
        spawn.Process(target=agent_process, args=(agents_url, token, share, calls, deadline_s, out, go), daemon=True)
        for share in shares
        if share
    ]
    for w in workers:
        w.start()
    approvers = [
        threading.Thread(target=approver_thread, args=(people_url, name, i, len(people), load, deadline), daemon=True)
        for i, name in enumerate(people)
    ]
    for t in approvers:
        t.start()
    # the load starts once the approvers are logged in and the agent processes have started (their
    # imports and the logins' argon2 hashing are set-up, not part of the figures)
    while load.logged_in < len(people) and time.monotonic() < deadline:
        time.sleep(0.01)
    with contextlib.suppress(threading.BrokenBarrierError):
        go.wait(max(0.1, deadline - time.monotonic()))
    if disrupt is not None:
        disrupt(load)
    for _ in workers:
        try:
            part = out.get(timeout=max(0.1, deadline - time.monotonic() + 5))
        except queue.Empty:
            break
        load.ran_at.update(part["ran_at"])
        load.runs.update(part["runs"])
        load.ended.update(part["ended"])
    load.done.set()
    for w in workers:
        w.join(5)
        if w.is_alive():
            w.kill()
    for t in approvers:
        t.join(10)
    return load


def summary(name: str, load: Load, agents: int, calls: int) -> dict[str, Any]:
    latencies = sorted(
        (load.ran_at[o] - load.sent_at[o]) * 1000 for o in load.ran_at if o in load.sent_at and load.intended.get(o) == "approve"
    )
    span = (max(load.decided_times) - min(load.decided_times)) if len(load.decided_times) > 1 else float("nan")
    lost = 0
    for order in (f"A{a:02d}-{i}" for a in range(agents) for i in range(calls)):
        wanted = load.intended.get(order)
        got = load.ended.get(order)
        if (
            (wanted == "approve" and (got != "ran" or load.runs[order] != 1))
            or (wanted == "reject" and (got != "rejected" or load.runs[order] != 0))
            or wanted is None
        ):
            lost += 1
    twice = sum(max(0, n - 1) for n in load.runs.values())
    return {
        "scenario": name,
        "calls": agents * calls,
        "decisions/s": len(load.decided_times) / span if span == span and span > 0 else float("nan"),
        "p50 ms": statistics.median(latencies) if latencies else float("nan"),
        "p99 ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan"),
        "decide p50 ms": statistics.median(load.post_ms) if load.post_ms else float("nan"),
        "ran once": sum(1 for o, n in load.runs.items() if n == 1),
        "lost": lost,
        "twice": twice,
        "409s": load.conflicts,
    }


def prepare(server: DashboardServer, people: list[str], *, token_name: str = "bench-agent") -> str:
    from hitl_widget.dashboard.store import open_store

    with open_store(server.db) as store:
        for name in people:
            store.add_user(name, f"{name}-pw", ("ops",))
        return store.add_token(token_name)


def scenario(name: str, db: str, args: argparse.Namespace, tmp: Path, *, sig: int | None = None) -> dict[str, Any]:
    people = [f"approver{i}" for i in range(args.approvers)]
    with DashboardServer(db, log_path=tmp / f"{name.replace(' ', '_')}.log") as server:
        token = prepare(server, people)
        url = server.url + server.prefix
        disrupt = None
        if sig is not None:

            def disrupt(load: Load) -> None:
                total = args.agents * args.calls
                while len(load.decided_times) < 0.4 * total and not load.done.is_set():
                    time.sleep(0.01)
                server.stop(sig)
                time.sleep(0.3)
                server.start()

        load = run_load(
            url, url, token, people, agents=args.agents, calls=args.calls, deadline_s=args.deadline,
            processes=args.processes, disrupt=disrupt,
        )  # fmt: skip
    return summary(name, load, args.agents, args.calls)


def two_instances(db: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    people = [f"approver{i}" for i in range(args.approvers)]
    with (
        DashboardServer(db, log_path=tmp / "instance-a.log") as agents_side,
        DashboardServer(db, log_path=tmp / "instance-b.log") as people_side,
    ):
        token = prepare(agents_side, people)
        load = run_load(
            agents_side.url + agents_side.prefix,
            people_side.url + people_side.prefix,
            token,
            people,
            agents=args.agents,
            calls=args.calls,
            deadline_s=args.deadline,
            processes=args.processes,
        )
    return summary("2 instances, 1 PostgreSQL", load, args.agents, args.calls)


def first_page(db: str, count: int, tmp: Path, label: str) -> dict[str, Any]:
    from hitl_widget.dashboard.store import NewRequest, open_store

    with DashboardServer(db, log_path=tmp / f"pending-{label}.log") as server:
        server.add_user("viewer", "viewer-pw", "ops")
        store = open_store(db)
        try:
            filled = time.perf_counter()
            now = time.time()
            for i in range(count):
                new = NewRequest(
                    client_request_id=f"fill-{i}",
                    fingerprint=f"fp-{i}",
                    function="transfer",
                    risk="high",
                    call_text=f"transfer(order='F{i:05d}')",
                    view={"id": f"fill-{i}", "function": "transfer", "arguments": []},
                )
                store.create_request(new, agent="filler", now=now + i * 1e-4)
            filled = time.perf_counter() - filled
        finally:
            store.close()
        person = server.person("viewer", "viewer-pw")
        times = []
        for _ in range(30):
            started = time.perf_counter()
            page = person.get("/api/requests", params={"status": "pending", "limit": 50})
            times.append((time.perf_counter() - started) * 1000)
            page.raise_for_status()
        items = page.json()["items"]
        assert len(items) == 50 and items[0]["call_text"] == "transfer(order='F00000')", items[:1]
        times.sort()
    return {
        "scenario": f"{count:,} pending, first page ({label})",
        "p50 ms": statistics.median(times),
        "p99 ms": times[-1],
        "fill s": filled,
    }


def table(rows: list[dict[str, Any]]) -> str:
    columns = ["scenario", "calls", "decisions/s", "p50 ms", "p99 ms", "decide p50 ms", "ran once", "lost", "twice", "409s"]
    shown = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in shown)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |" for r in shown]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:,.1f}"
    return str(value)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--calls", type=int, default=4, help="calls per agent, one after another")
    parser.add_argument("--approvers", type=int, default=5)
    parser.add_argument("--processes", type=int, default=5, help="agent processes (the agents are threads in them)")
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds a scenario may take at most")
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args(argv)
    if args.agents > 100:
        parser.error("--agents: at most 100 (agents are named A00..A99)")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hitl-bench-") as tmp_name:
        tmp = Path(tmp_name)
        counter = itertools.count(1)

        def sqlite() -> str:
            return str(tmp / f"bench-{next(counter)}.db")

        one = argparse.Namespace(**{**vars(args), "agents": 1, "calls": 20, "processes": 1})
        rows.append(scenario("baseline: 1 agent, sqlite", sqlite(), one, tmp))
        rows.append(scenario("sqlite", sqlite(), args, tmp))
        print(table(rows), flush=True)
        rows.append(scenario("restart mid-load (SIGTERM)", sqlite(), args, tmp, sig=signal.SIGTERM))
        rows.append(scenario("restart mid-load (SIGKILL)", sqlite(), args, tmp, sig=signal.SIGKILL))
        print(table(rows), flush=True)
        pages = [first_page(sqlite(), args.pending, tmp, "sqlite")]
        if not args.skip_postgresql:
            from pg_cluster import PgCluster

            cluster = PgCluster().start()
            try:
                rows.append(scenario("baseline: 1 agent, postgresql", cluster.create_database("bench"), one, tmp))
                rows.append(scenario("postgresql", cluster.create_database("bench"), args, tmp))
                rows.append(two_instances(cluster.create_database("bench"), args, tmp))
                pages.append(first_page(cluster.create_database("bench"), args.pending, tmp, "postgresql"))
            finally:
                cluster.stop()
    print()
    print(f"{args.agents} agents x {args.calls} calls, {args.approvers} approvers; every 5th call rejected")
    print(table(rows))
    print()
    for page in pages:
        figures = f"p50 {page['p50 ms']:.1f} ms, p99 {page['p99 ms']:.1f} ms"
        print(f"{page['scenario']}: {figures} (30 requests; filled in {page['fill s']:.1f} s)")
    bad = [r["scenario"] for r in rows if r["lost"] or r["twice"]]
    if bad:
        print(f"NOT as decided: {bad}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
