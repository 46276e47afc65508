"""Audit log append rate (records/s), buffered and durable (fsync), and verify rate.

Target: 20,000 records/s or more appended (buffered); the durable rate is stated.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hitl_widget import AuditLog

RECORD = {
    "request_id": "bench-1",
    "decision": "approved",
    "rule": "person",
    "by": "alice",
    "channel": "terminal",
    "request": {"function": "refund", "arguments": {"order_id": "A-1", "amount": 10.0, "api_key": "s3cret"}},
}


def rate(log: AuditLog, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        log.append("decision", **RECORD)
    return count / (time.perf_counter() - start)


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    buffered = AuditLog(tmp / "buffered.jsonl")
    durable = AuditLog(tmp / "durable.jsonl", durable=True)
    best_buffered = max(rate(buffered, 20000) for _ in range(3))
    best_durable = max(rate(durable, 300) for _ in range(3))
    start = time.perf_counter()
    result = AuditLog.check(tmp / "buffered.jsonl")
    verify_rate = result.records / (time.perf_counter() - start)
    assert result.ok
    print(
        f"append, buffered : {best_buffered:>10,.0f} records/s (target >= 20,000): {'OK' if best_buffered >= 20000 else 'UNDER'}"
    )
    print(f"append, durable  : {best_durable:>10,.0f} records/s (fsync per record)")
    print(f"verify           : {verify_rate:>10,.0f} records/s ({result.records} records)")


if __name__ == "__main__":
    main()
