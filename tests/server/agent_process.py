"""An agent process for the fault tests: one tool call through DashboardApprover, then exit.

    python tests/server/agent_process.py URL TOKEN KEY ORDER RAN_FILE [--timeout S] [--crash-in-function]
        [--async] [--on-behalf-of NAME]

The tool appends one line per run to RAN_FILE (so a test can count executions across processes)
and returns. ``--crash-in-function`` ends the process (``os._exit(3)``) inside the tool, after
the claim and before any outcome is reported: a crash after the claim. The call's request key
is KEY, so a restarted process asking again finds the same server request. The last line of
stdout is JSON: ``{"result": ...}`` or ``{"error": type, "message": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("key")
    parser.add_argument("order")
    parser.add_argument("ran_file")
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--crash-in-function", action="store_true")
    parser.add_argument("--async", dest="use_async", action="store_true")
    parser.add_argument("--on-behalf-of", default=None)
    args = parser.parse_args(argv)

    from hitl_widget import ApprovalRejected, DashboardApprover, Gate

    dashboard = DashboardApprover(
        args.url, token=args.token, request_key=lambda request: args.key, on_behalf_of=args.on_behalf_of, backoff=(0.02, 0.5)
    )
    gate = Gate(routes={"critical": dashboard}, approver=dashboard)

    def effect(order: str) -> str:
        with open(args.ran_file, "a") as f:
            f.write(f"{order} pid {os.getpid()}\n")
            f.flush()
            os.fsync(f.fileno())
        if args.crash_in_function:
            os._exit(3)
        return f"refunded {order}"

    @gate.require_approval(risk="critical", timeout=args.timeout)
    def refund(order: str) -> str:
        return effect(order)

    @gate.require_approval(risk="critical", timeout=args.timeout)
    async def refund_async(order: str) -> str:
        return effect(order)

    print("asking", flush=True)
    out: dict[str, Any]
    try:
        result = asyncio.run(refund_async(args.order)) if args.use_async else refund(args.order)
        out = {"result": result}
    except ApprovalRejected as exc:
        out = {"error": type(exc).__name__, "message": str(exc)}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
