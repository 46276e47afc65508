"""Overhead of an auto-approved call against the bare function, without and with the audit log.

Target: under 5 µs added per auto-approved call without audit.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import per_call_us

from hitl_widget import AuditLog, Gate


def refund(order_id: str, amount: float, note: str = "") -> str:
    return order_id


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    gate = Gate(auto_approve=("low",))
    low = gate.wrap(refund, risk="low")
    not_required = gate.wrap(refund, when=lambda r: False)
    env_gate = Gate()
    env_approved = env_gate.wrap(refund)
    audited = Gate(audit=AuditLog(tmp / "bench.jsonl")).wrap(refund, risk="low")
    os.environ["HITL_MODE"] = "approve"
    timings = per_call_us(
        {
            "bare call": lambda: refund("A-1", 10.0),
            "auto-approved (risk=low)": lambda: low("A-1", 10.0),
            "not required (when= false)": lambda: not_required("A-1", 10.0),
            "auto-approved (HITL_MODE=approve)": lambda: env_approved("A-1", 10.0),
            "auto-approved + audit log": lambda: audited("A-1", 10.0),
        },
        number=5000,
    )
    bare = timings["bare call"]
    print(f"{'case':<36}{'µs/call':>10}{'added µs':>10}{'ratio':>9}")
    for name, us in timings.items():
        print(f"{name:<36}{us:>10.2f}{us - bare:>10.2f}{us / bare:>8.1f}x")
    added = timings["auto-approved (risk=low)"] - bare
    print(f"\nadded per auto-approved call without audit: {added:.2f} µs (target < 5 µs): {'OK' if added < 5 else 'OVER'}")


if __name__ == "__main__":
    main()
