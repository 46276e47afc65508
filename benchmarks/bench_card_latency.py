"""Notebook card, kernel level: decision message sent -> wrapped function running, p50/p95.

A real kernel; this script plays the frontend (as tests/kernel does). Baseline side by
side: a plain comm round trip (a comm_msg whose handler prints at once) on the same kernel.
Target: p50 under 20 ms. A third row: the card of a call made in a thread pool the cell
blocks on (``pool.submit(double, i).result()``), served by hitl_widget's kernel subshell
(ipykernel >= 7.4).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "kernel"))

from jupyter_client.manager import KernelManager  # noqa: E402
from kernel_frontend import Frontend  # noqa: E402

from hitl_widget.protocol import PROTOCOL_VERSION  # noqa: E402

SETUP = """
from hitl_widget import require_approval
from comm import create_comm
@require_approval
def double(x: int) -> int:
    print("RAN", x)
    return 2 * x
from concurrent.futures import ThreadPoolExecutor
pool = ThreadPoolExecutor(1)
echo = create_comm(target_name="bench", data={})
echo.on_msg(lambda msg: print("ECHO", msg["content"]["data"]["n"]))
"""


def wait_text(fe: Frontend, text: str) -> None:
    fe.wait_iopub(lambda m: m["msg_type"] == "stream" and text in m["content"].get("text", ""))


def main(n: int = 50) -> None:
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        fe = Frontend(km, client)
        fe.run(SETUP)
        echo_id = fe.comm_id("bench")
        card, comm, pooled = [], [], []
        for i in range(2 * n):
            before = len(fe.iopub)
            in_pool = i % 2 == 1  # alternated with the main-thread card, side by side
            msg_id = client.execute(f"pool.submit(double, {i}).result()" if in_pool else f"double({i})")
            opened = fe.wait_iopub(
                lambda m, b=before: (
                    m["msg_type"] == "comm_open" and "request" in m["content"]["data"].get("state", {}) and m not in fe.iopub[:b]
                )
            )
            request_id = opened["content"]["data"]["state"]["request"]["id"]
            time.sleep(0.02)
            t0 = time.perf_counter()
            fe.send_comm_msg(
                opened["content"]["comm_id"],
                {
                    "method": "custom",
                    "content": {
                        "kind": "decision",
                        "version": PROTOCOL_VERSION,
                        "request_id": request_id,
                        "decision": {"kind": "approve"},
                    },
                },
            )
            wait_text(fe, f"RAN {i}\n")
            (pooled if in_pool else card).append((time.perf_counter() - t0) * 1000)
            fe.wait_idle(msg_id)
            if in_pool:
                continue
            t0 = time.perf_counter()
            fe.send_comm_msg(echo_id, {"n": i})
            wait_text(fe, f"ECHO {i}\n")
            comm.append((time.perf_counter() - t0) * 1000)
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)

    def p(xs: list[float], q: float) -> float:
        return sorted(xs)[max(0, int(len(xs) * q) - 1)]

    print(f"{'kernel level, ' + str(n) + ' decisions':<44}{'p50 ms':>8}{'p95 ms':>8}")
    print(f"{'plain comm round trip (baseline, idle kernel)':<44}{statistics.median(comm):>8.1f}{p(comm, 0.95):>8.1f}")
    print(f"{'card decision -> function running':<44}{statistics.median(card):>8.1f}{p(card, 0.95):>8.1f}")
    print(f"{'the same, call made in a thread pool':<44}{statistics.median(pooled):>8.1f}{p(pooled, 0.95):>8.1f}")
    ratio = statistics.median(card) / statistics.median(comm)
    print(f"ratio (p50): {ratio:.2f}x; target p50 < 20 ms: {'OK' if statistics.median(card) < 20 else 'OVER'}")
    print(f"thread pool vs main thread (p50): {statistics.median(pooled) / statistics.median(card):.2f}x")


if __name__ == "__main__":
    main()
