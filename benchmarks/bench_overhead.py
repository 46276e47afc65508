"""Wrapper overhead against the bare function, run side by side (interleaved rounds, medians).

Cases (each reported as µs per call, µs added over the bare call, and the ratio):

- auto-approved (``risk="low"``), no audit log          target: under 2 µs added
- not required (``when=`` false), HITL_MODE=approve     (no target; for comparison)
- auto-approved with an AuditLog (2 records per call)   target: under 30 µs added ("an ordinary audited call")
- asked (ScriptedApprover approves) with an AuditLog    (3 records per call; for comparison)
- an asked, audited call whose argument is a 1,000,000-item list    target: under 50 ms added

``python benchmarks/bench_overhead.py`` prints the table; ``--json`` prints the figures.
Times are this thread's CPU time (``time.thread_time``: what the wrapper itself costs, steady on a
loaded machine where other processes take the cores); ``--wall`` measures wall time instead.
Run with ``PYTHONPATH`` pointing at another checkout to measure that one the same way.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hitl_widget import Approve, AuditLog, Gate, ScriptedApprover


def refund(order_id: str, amount: float, note: str = "") -> str:
    return order_id


def process(items: list[int]) -> int:
    return len(items)


CLOCK: Callable[[], float] = time.perf_counter if "--wall" in sys.argv else time.thread_time


def per_call_us(candidates: dict[str, Callable[[], object]], *, number: int, rounds: int) -> dict[str, float]:
    """Median over ``rounds`` of the µs per call, the candidates interleaved within each round."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    clock = CLOCK
    for _ in range(rounds):
        for name, fn in candidates.items():  # interleaved, so drift hits every candidate alike
            start = clock()
            for _ in range(number):
                fn()
            samples[name].append((clock() - start) / number * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    os.environ.pop("HITL_MODE", None)
    approve = ScriptedApprover(default=Approve())
    low = Gate(auto_approve=("low",)).wrap(refund, risk="low")
    not_required = Gate().wrap(refund, when=lambda r: False)
    audit = AuditLog(tmp / "bench.jsonl")
    audited_auto = Gate(audit=audit).wrap(refund, risk="low")
    audited_asked = Gate(approver=approve, audit=audit).wrap(refund)
    small = per_call_us(
        {
            "bare call": lambda: refund("A-1", 10.0),
            "auto-approved (risk=low)": lambda: low("A-1", 10.0),
            "not required (when= false)": lambda: not_required("A-1", 10.0),
        },
        number=20000,
        rounds=9,
    )
    audited = per_call_us(
        {
            "bare call": lambda: refund("A-1", 10.0),
            "auto-approved + audit log": lambda: audited_auto("A-1", 10.0),
            "asked (scripted) + audit log": lambda: audited_asked("A-1", 10.0),
        },
        number=2000,
        rounds=9,
    )
    items = list(range(1_000_000))
    big_wrapped = Gate(approver=approve, audit=audit).wrap(process)
    big = per_call_us(
        {"bare, 1M items": lambda: process(items), "asked + audit, 1M items": lambda: big_wrapped(items)}, number=1, rounds=7
    )
    audit.close()

    bare = small["bare call"]
    bare_audited = audited["bare call"]
    rows = [
        ("bare call", small["bare call"], bare),
        ("auto-approved (risk=low)", small["auto-approved (risk=low)"], bare),
        ("not required (when= false)", small["not required (when= false)"], bare),
        ("auto-approved + audit log", audited["auto-approved + audit log"], bare_audited),
        ("asked (scripted) + audit log", audited["asked (scripted) + audit log"], bare_audited),
        ("asked + audit, 1M-item list", big["asked + audit, 1M items"], big["bare, 1M items"]),
    ]
    figures = {name: {"us_per_call": us, "added_us": us - base, "ratio": us / base} for name, us, base in rows}
    if "--json" in sys.argv:
        print(json.dumps({"clock": "wall" if CLOCK is time.perf_counter else "thread_cpu", **figures}, indent=2))
        return
    print(f"{'wall' if CLOCK is time.perf_counter else 'CPU (thread)'} time, medians of interleaved rounds")
    print(f"{'case':<32}{'µs/call':>12}{'added µs':>12}{'ratio':>10}")
    for name, us, base in rows:
        print(f"{name:<32}{us:>12.2f}{us - base:>12.2f}{us / base:>9.1f}x")
    checks = [
        ("auto-approved, no audit", figures["auto-approved (risk=low)"]["added_us"], 2.0, "µs"),
        ("ordinary audited call", figures["auto-approved + audit log"]["added_us"], 30.0, "µs"),
        ("1M-item list, audited", figures["asked + audit, 1M-item list"]["added_us"] / 1000, 50.0, "ms"),
    ]
    print()
    for label, value, target, unit in checks:
        print(f"{label:<26} added {value:8.2f} {unit} (target < {target:g} {unit}): {'OK' if value < target else 'OVER'}")


if __name__ == "__main__":
    main()
