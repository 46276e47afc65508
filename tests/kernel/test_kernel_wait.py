"""``kernel_wait.wait_for`` in a real ipykernel, with this test acting as the frontend.

The test starts a kernel, opens a comm from a cell, blocks a cell in ``wait_for`` and
sends the ``comm_msg`` a browser would send on the shell channel.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from kernel_frontend import Frontend

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
import threading
from comm import create_comm
from hitl_widget.kernel_wait import wait_for

event = threading.Event()
received = []
test_comm = create_comm(target_name="hitl-test", data={})

def on_msg(msg):
    received.append(msg["content"]["data"])
    event.set()

test_comm.on_msg(on_msg)
"""

BLOCK = 'event.clear(); received.clear(); print("got", wait_for(event, 10), received)'


@pytest.fixture
def frontend(kernel: Frontend) -> Frontend:
    kernel.run(SETUP)
    return kernel


def _decide(fe: Frontend, code: str, data: dict[str, Any]) -> tuple[str, float]:
    """Run a cell that blocks, click once it is blocked; return (msg_id, click-to-idle seconds)."""
    comm_id = fe.comm_id()
    msg_id = fe.client.execute(code)
    fe.wait_started(msg_id)
    time.sleep(0.05)  # let the cell reach wait_for
    start = time.perf_counter()
    fe.send_comm_msg(comm_id, data)
    fe.wait_idle(msg_id, timeout=10)
    return msg_id, time.perf_counter() - start


@pytest.mark.slow
def test_comm_msg_unblocks_the_waiting_cell(frontend: Frontend) -> None:
    msg_id, elapsed = _decide(frontend, BLOCK, {"answer": 42})
    assert frontend.reply(msg_id)["content"]["status"] == "ok"
    assert frontend.stdout(msg_id) == "got True [{'answer': 42}]\n"
    assert elapsed < 5  # far below the 10 s timeout: the message was handled while blocked


@pytest.mark.slow
def test_a_cell_queued_while_blocked_runs_afterwards_in_order(frontend: Frontend) -> None:
    comm_id = frontend.comm_id()
    first = frontend.client.execute(BLOCK)
    frontend.wait_started(first)
    second = frontend.client.execute('print("second")')
    third = frontend.client.execute('print("third")')
    time.sleep(0.2)  # the queued cells reach the kernel and are kept back
    frontend.send_comm_msg(comm_id, {"n": 1})
    for msg_id in (first, second, third):
        assert frontend.reply(msg_id)["content"]["status"] == "ok"
        frontend.wait_idle(msg_id)
    assert frontend.stdout(first) == "got True [{'n': 1}]\n"
    assert frontend.output_order()[-3:] == ["got True [{'n': 1}]\n", "second\n", "third\n"]


@pytest.mark.slow
def test_worker_thread_waits_while_the_main_thread_waits_too(frontend: Frontend) -> None:
    code = """
import contextvars
done = threading.Event()
result = []

def work():
    result.append((threading.current_thread() is threading.main_thread(), wait_for(event, 10)))
    done.set()

event.clear(); received.clear()
threading.Thread(target=contextvars.copy_context().run, args=(work,)).start()
wait_for(done, 10)
print("thread", result, received)
"""
    msg_id, _ = _decide(frontend, code, {"from": "thread"})
    assert frontend.reply(msg_id)["content"]["status"] == "ok"
    assert frontend.stdout(msg_id) == "thread [(False, True)] [{'from': 'thread'}]\n"


@pytest.mark.slow
def test_worker_thread_while_the_cell_awaits(frontend: Frontend) -> None:
    code = """
import asyncio
event.clear(); received.clear()
print("awaited", await asyncio.to_thread(wait_for, event, 10), received)
"""
    msg_id, _ = _decide(frontend, code, {"from": "await"})
    assert frontend.reply(msg_id)["content"]["status"] == "ok"
    assert frontend.stdout(msg_id) == "awaited True [{'from': 'await'}]\n"


@pytest.mark.slow
def test_timeout_returns_false(frontend: Frontend) -> None:
    out = frontend.run(
        "import time\nt0 = time.monotonic()\nok = wait_for(threading.Event(), 0.3)\nprint(ok, 0.3 <= time.monotonic() - t0 < 3)"
    )
    assert out == "False True\n"


@pytest.mark.slow
def test_interrupt_propagates_and_keeps_queued_cells(frontend: Frontend) -> None:
    first = frontend.client.execute(BLOCK, stop_on_error=False)
    frontend.wait_started(first)
    second = frontend.client.execute('print("after interrupt")')
    time.sleep(0.2)
    frontend.manager.interrupt_kernel()
    reply = frontend.reply(first)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert frontend.reply(second)["content"]["status"] == "ok"
    frontend.wait_idle(second)
    assert frontend.stdout(second) == "after interrupt\n"


@pytest.mark.slow
def test_decision_to_idle_latency(frontend: Frontend, capsys: pytest.CaptureFixture[str]) -> None:
    latencies = []
    for n in range(20):
        msg_id, elapsed = _decide(frontend, BLOCK, {"n": n})
        assert frontend.reply(msg_id)["content"]["status"] == "ok"
        assert frontend.stdout(msg_id) == f"got True [{{'n': {n}}}]\n"
        latencies.append(elapsed * 1000)
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    with capsys.disabled():
        print(f"\ndecision-to-idle, {len(latencies)} decisions: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms")
