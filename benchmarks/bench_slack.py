"""Slack click -> function running, on loopback: a real ``hitl dashboard`` process, a fake Slack Web API.

Side by side, each over N decisions (default 100), one call at a time, in alternating rounds:

- slack:     Gate(SlackApprover): the message is posted to the loopback fake; the click is Slack's
             signed ``block_actions`` payload sent to ``POST /slack/interactions``; the server
             verifies it, maps the Slack user, decides through the store; the agent's long-poll
             wakes, claims the request, and the function starts.
- dashboard: Gate(DashboardApprover): the same call decided by a logged-in person through
             ``POST /api/requests/{id}/decisions`` (the baseline: the dashboard's own path).

Timed from just before the click (or the API decision) is sent to the first line of the function
body (``time.perf_counter`` in both processes' clock: the same machine). Reported: p50 / p90 /
p99 in ms per path, and the slack / dashboard ratio of the p50s. Also: how long the
interaction endpoint took to answer (Slack's limit is 3 s).

``python benchmarks/bench_slack.py [--decisions 100] [--json]``. Bounded: it stops by itself
(every wait has a timeout) and stops the server it started.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "server"))

import httpx  # noqa: E402
from chat_fakes import FakeSlack  # noqa: E402
from server_process import DashboardServer, cli  # noqa: E402

from hitl_widget import Gate, SlackApprover  # noqa: E402
from hitl_widget.approvers.dashboard import DashboardApprover  # noqa: E402

SECRET = "bench-signing-secret"
PASSWORD = "bench-pass"
SLACK_USER = "UBENCH001"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def signed_click(client: httpx.Client, value: str, ts: str) -> httpx.Response:
    payload = {
        "type": "block_actions",
        "user": {"id": SLACK_USER},
        "trigger_id": "t",
        "container": {"type": "message", "message_ts": ts, "channel_id": "CBENCH"},
        "channel": {"id": "CBENCH"},
        "actions": [{"action_id": "hitl_approve", "value": value, "action_ts": f"{time.time():.6f}"}],
    }
    raw = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    sent = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{sent}:".encode() + raw, hashlib.sha256).hexdigest()
    return client.post(
        "/slack/interactions",
        content=raw,
        timeout=10,
        headers={
            "X-Slack-Request-Timestamp": sent,
            "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def one_call(gate_fn: Any, n: int, started: dict[int, float]) -> threading.Thread:
    thread = threading.Thread(target=gate_fn, args=(n,), daemon=True)
    thread.start()
    return thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n_decisions = max(1, args.decisions)

    slack = FakeSlack()
    tmp = Path(tempfile.mkdtemp(prefix="bench-slack-"))
    server = DashboardServer(
        str(tmp / "hitl.db"),
        log_path=tmp / "server.log",
        env={"HITL_SLACK_SIGNING_SECRET": SECRET, "HITL_SLACK_BOT_TOKEN": "xoxb-bench", "HITL_SLACK_API_URL": slack.url},
    )
    try:
        server.start()
        server.add_user("alice", PASSWORD, "ops")
        cli("users", "link-slack", "alice", SLACK_USER, "--db", server.db, env=server.env)
        token = server.add_token("bench-agent")
        person = server.person("alice", PASSWORD)
        slack_side = server.client()  # Slack's side of the callback: one kept-alive connection, as person's
        started: dict[int, float] = {}

        def refund(n: int) -> int:
            started[n] = time.perf_counter()
            return n

        slack_approver = SlackApprover(
            token="xoxb-agent",
            channel="CBENCH",
            dashboard=server.url,
            dashboard_token=token,
            base_url=slack.url,
            dashboard_only=(),
        )
        dash_approver = DashboardApprover(server.url, token=token)
        via_slack = Gate(approver=slack_approver).wrap(refund)
        via_dashboard = Gate(approver=dash_approver).wrap(refund)
        results: dict[str, list[float]] = {"slack": [], "dashboard": []}
        acks: list[float] = []
        counter = iter(range(10**9))

        def run_slack() -> None:
            n = next(counter)
            before = len(slack.of("chat.postMessage"))
            thread = one_call(via_slack, n, started)
            end = time.monotonic() + 30
            while len(slack.of("chat.postMessage")) <= before:
                if time.monotonic() > end:
                    raise RuntimeError("no message posted in 30 s")
                time.sleep(0.001)
            call = slack.of("chat.postMessage")[before]
            value = next(
                e["value"] for b in call.body["blocks"] for e in b.get("elements", []) if e.get("action_id") == "hitl_approve"
            )
            t0 = time.perf_counter()
            answer = signed_click(slack_side, value, str((call.response or {}).get("ts")))
            acks.append((time.perf_counter() - t0) * 1000)
            assert answer.status_code == 200, answer.text
            thread.join(30)
            results["slack"].append((started[n] - t0) * 1000)

        def run_dashboard() -> None:
            n = next(counter)
            thread = one_call(via_dashboard, n, started)
            end = time.monotonic() + 30
            rid = None
            while rid is None:
                items = person.get("/api/requests", params={"status": "pending", "order": "newest", "limit": 1}).json()["items"]
                rid = items[0]["id"] if items and f"n={n})" in items[0]["call_text"] else None
                if time.monotonic() > end:
                    raise RuntimeError("no request in 30 s")
                if rid is None:
                    time.sleep(0.001)
            t0 = time.perf_counter()
            answer = person.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"})
            assert answer.status_code == 200, answer.text
            thread.join(30)
            results["dashboard"].append((started[n] - t0) * 1000)

        for _ in range(3):  # warm-up: connections, first imports
            run_slack()
            run_dashboard()
        results = {"slack": [], "dashboard": []}
        acks.clear()
        for _ in range(n_decisions):
            run_slack()
            run_dashboard()
        slack_approver.close()
        dash_approver.close()
    finally:
        server.close()
        slack.close()
        shutil.rmtree(tmp, ignore_errors=True)

    summary = {
        name: {"p50_ms": statistics.median(v), "p90_ms": percentile(v, 0.9), "p99_ms": percentile(v, 0.99), "n": len(v)}
        for name, v in results.items()
    }
    summary["ratio_p50_slack_over_dashboard"] = summary["slack"]["p50_ms"] / summary["dashboard"]["p50_ms"]  # type: ignore[assignment]
    summary["interaction_ack_ms"] = {"p50": statistics.median(acks), "max": max(acks)}  # type: ignore[assignment]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"decision -> function running, {n_decisions} decisions each, loopback (fake Slack Web API, real dashboard)")
        for name in ("slack", "dashboard"):
            s = summary[name]
            print(f"  {name:9}  p50 {s['p50_ms']:7.1f} ms   p90 {s['p90_ms']:7.1f} ms   p99 {s['p99_ms']:7.1f} ms")
        print(f"  slack / dashboard (p50): {summary['ratio_p50_slack_over_dashboard']:.2f}x")
        print(
            f"  /slack/interactions answered in p50 {statistics.median(acks):.1f} ms, max {max(acks):.1f} ms (Slack allows 3000)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
