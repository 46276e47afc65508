"""A sync tool with an async approver: one reused event loop per thread against asyncio.run per request.

Candidates run side by side (interleaved rounds, best of each; per-call µs):

- bare:                 the function itself
- sync approver:        Gate(ScriptedApprover) -- no event loop at all
- async, reused loop:   Gate(async approver): the thread's loop, reused (hitl_widget now)
- async, asyncio.run:   the same gate asking through asyncio.run per request (hitl_widget before)

Reported: µs per call, µs added over the bare call, and the asyncio.run / reused-loop ratio
of the added cost. ``python benchmarks/bench_async_approver.py [--json]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import per_call_us

from hitl_widget import ApprovalRequest, Approve, Gate, ScriptedApprover
from hitl_widget.gate import _is_async_approver


def refund(order_id: str, amount: float = 10.0) -> str:
    return order_id


class AsyncApprove:
    channel = "async-approve"

    async def __call__(self, request: ApprovalRequest) -> Any:
        return Approve()


class RunPerRequest(Gate):
    """The previous way: every async approver asked from sync code got its own asyncio.run."""

    def _ask_sync(self, approver: Any, request: ApprovalRequest) -> Any:
        if _is_async_approver(approver):
            try:
                return asyncio.run(self._ask_async(approver, request))
            except Exception as exc:
                return exc
        return super()._ask_sync(approver, request)


def main() -> None:
    reused = Gate(approver=AsyncApprove()).wrap(refund)
    per_request = RunPerRequest(approver=AsyncApprove()).wrap(refund)
    sync = Gate(approver=ScriptedApprover(default=Approve())).wrap(refund)
    candidates = {
        "bare": lambda: refund("o-1"),
        "sync approver": lambda: sync("o-1"),
        "async, reused loop": lambda: reused("o-1"),
        "async, asyncio.run": lambda: per_request("o-1"),
    }
    us = per_call_us(candidates, number=2000, rounds=7)
    added = {name: us[name] - us["bare"] for name in us}
    ratio = added["async, asyncio.run"] / added["async, reused loop"]
    if "--json" in sys.argv:
        print(json.dumps({"us_per_call": us, "us_added": added, "asyncio_run_over_reused": ratio}))
        return
    print(f"{'candidate':24} {'µs/call':>10} {'added µs':>10}")
    for name in us:
        print(f"{name:24} {us[name]:10.2f} {added[name]:10.2f}")
    print(f"\nasync approver from sync code: asyncio.run per request costs {ratio:.1f}x the reused loop's added time")


if __name__ == "__main__":
    main()
