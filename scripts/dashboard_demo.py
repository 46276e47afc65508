"""``make dashboard``: the dashboard on an embedded SQLite file, a demo person, a demo agent token,
and (unless ``--no-agent``) a small demo agent whose calls wait in the queue for you.

    python scripts/dashboard_demo.py [--db build/dashboard.db] [--port 8765] [--no-agent]

The person (``demo``, roles ops and manager) and the agent token are made once per database;
their secrets are kept beside it (``build/dashboard.db.demo.json``, mode 600) and printed at
every start. Stop with Ctrl-C (a graceful stop: waiting calls are answered, nothing is lost;
the demo agent's calls carry on after the next start).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
import time
from pathlib import Path

from hitl_widget.dashboard.server import serve
from hitl_widget.dashboard.store import Conflict, open_store

DEMO_USER = "demo"
DEMO_ROLES = ["ops", "manager"]
DEMO_AGENT = "demo-agent"


def ensure_demo_accounts(db: str) -> dict[str, str]:
    """The demo person's password and the agent's token, made on first use and kept beside ``db``."""
    state = Path(db + ".demo.json")
    with open_store(db) as store:
        if state.exists():
            saved: dict[str, str] = json.loads(state.read_text())
            if store.verify_password(saved["user"], saved["password"]) and store.user_for_token(saved["token"]):
                return saved
        password = secrets.token_urlsafe(9)
        try:
            store.add_user(DEMO_USER, password, DEMO_ROLES)
        except Conflict:  # made before, secrets file lost: give it a new password
            store.set_password(DEMO_USER, password)  # type: ignore[attr-defined]
        token = store.add_token(DEMO_AGENT)
    saved = {"user": DEMO_USER, "password": password, "agent": DEMO_AGENT, "token": token}
    state.write_text(json.dumps(saved))
    os.chmod(state, 0o600)
    return saved


def demo_agent(url: str, token: str) -> None:
    """Three calls that wait for a decision in the dashboard (each in its own thread)."""
    from hitl_widget import ApprovalRejected, ApprovalRequest, DashboardApprover, Gate

    # the same client request id on every start (one per function): a call already decided, or run,
    # is not asked again, and one still pending is the same request
    def key(request: ApprovalRequest) -> str:
        return f"demo-{request.function}"

    gate = Gate(approver=DashboardApprover(url, token=token, on_behalf_of="bob", request_key=key), auto_approve=())

    @gate.require_approval(risk="medium", timeout=3600)
    def refund(order_id: str, amount: float, reason: str = "damaged in transit") -> str:
        """Refund part or all of an order to the customer's card."""
        return f"refunded {amount:.2f} on {order_id}"

    @gate.require_approval(risk="high", timeout=3600)
    def delete_user(user_id: int, keep_invoices: bool = True) -> str:
        """Delete a user account permanently."""
        return f"deleted user {user_id} (invoices kept: {keep_invoices})"

    @gate.require_approval(risk="critical", timeout=3600)
    def deploy(service: str, version: str, environments: list[str]) -> str:
        """Deploy a service version to the given environments."""
        return f"deployed {service} {version} to {', '.join(environments)}"

    calls = [
        lambda: refund("A-1042", 120.0),
        lambda: delete_user(7731),
        lambda: deploy("billing", "2.14.0", ["staging", "production"]),
    ]

    def run(call: object) -> None:
        try:
            print(f"[demo agent] {call()}", flush=True)  # type: ignore[operator]
        except ApprovalRejected as exc:
            print(f"[demo agent] {exc}", flush=True)

    for call in calls:
        threading.Thread(target=run, args=(call,), daemon=True).start()
        time.sleep(0.3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="build/dashboard.db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--policy", default=None)
    parser.add_argument("--no-agent", action="store_true", help="no demo agent calls")
    args = parser.parse_args(argv)
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    saved = ensure_demo_accounts(args.db)
    url = f"http://{args.host}:{args.port}"
    print(f"""
  hitl dashboard (demo) on {args.db}
    open       {url}/
    log in as  {saved['user']} / {saved['password']}     (roles: {', '.join(DEMO_ROLES)})
    agent      {saved['agent']}, token {saved['token']}
               Gate(approver=DashboardApprover("{url}", token="{saved['token']}"))
    more       python -m hitl_widget users add NAME --role ops --db {args.db}
""", flush=True)
    if not args.no_agent:
        demo_agent(url, saved["token"])
    return serve(args.db, host=args.host, port=args.port, policy_path=args.policy, log_level="warning")


if __name__ == "__main__":
    sys.exit(main())
