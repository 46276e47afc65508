"""Gated calls from a sync cell's thread pool, the busy status while a card waits, and Ctrl-C.

A real kernel with the test as the frontend (no subshells on the frontend's side, like
Notebook 7 or VS Code). The main thread blocks in the cell's own code (``pool.map``,
``future.result()``, ``join()``), never in hitl_widget's wait:

- ipykernel >= 7.4: each card is served by a kernel subshell, so both clicks count;
- ipykernel 6: the card says at once why no click can reach it, and the call fails closed
  with NoApprovalChannel naming what works instead (never a hang).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any

import pytest
from kernel_frontend import Frontend, Message
from test_notebook_card import SETUP, decide, finish, records

pytestmark = pytest.mark.slow

# Different ways a sync cell blocks its main thread on worker threads that call a gated tool.
BLOCKERS = {
    "pool.map": (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(2) as pool:\n"
        "    print('RESULTS', list(pool.map(double, [1, 2])))"
    ),
    "submit+result": (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "pool = ThreadPoolExecutor(2)\n"
        "futures = [pool.submit(double, x) for x in (1, 2)]\n"
        "print('RESULTS', [f.result() for f in futures])\n"
        "pool.shutdown()"
    ),
    "thread.join": (
        "import threading\n"
        "out = {}\n"
        "threads = [threading.Thread(target=lambda x=x: out.__setitem__(x, double(x))) for x in (1, 2)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print('RESULTS', [out.get(1), out.get(2)])"
    ),
}


def kernel_version(fe: Frontend) -> tuple[int, int]:
    out = fe.run("import ipykernel; print(ipykernel.__version__)")
    major, minor = out.strip().split(".")[:2]
    return int(major), int(minor)


def cards_after(fe: Frontend, before: int, count: int, timeout: float = 15) -> dict[int, tuple[str, str]]:
    """x -> (comm_id, request_id) of the ``count`` cards opened after iopub index ``before``."""

    def opened() -> list[Message]:
        return [
            m for m in fe.iopub[before:] if m["msg_type"] == "comm_open" and "request" in m["content"]["data"].get("state", {})
        ]

    fe.wait_iopub(lambda m: len(opened()) >= count, timeout)
    return {
        int(m["content"]["data"]["state"]["request"]["arguments"][0]["text"]): (
            m["content"]["comm_id"],
            m["content"]["data"]["state"]["request"]["id"],
        )
        for m in opened()
    }


def error_of(fe: Frontend, msg_id: str) -> dict[str, Any] | None:
    errors = [m["content"] for m in fe.iopub if m["msg_type"] == "error" and m["parent_header"].get("msg_id") == msg_id]
    return errors[0] if errors else None


def pump(fe: Frontend, seconds: float) -> None:
    """Collect the IOPub messages that arrive within ``seconds``."""
    with contextlib.suppress(TimeoutError):
        fe.wait_iopub(lambda m: False, timeout=seconds)


def statuses(fe: Frontend, start: int, end: int | None = None) -> list[tuple[str, str]]:
    return [
        (m["content"]["execution_state"], m["parent_header"].get("msg_type", ""))
        for m in fe.iopub[start:end]
        if m["msg_type"] == "status"
    ]


@pytest.fixture
def nb(kernel: Frontend) -> Frontend:
    kernel.run(SETUP)
    return kernel


@pytest.mark.parametrize("blocker", sorted(BLOCKERS))
def test_a_sync_cell_blocked_on_worker_threads(nb: Frontend, blocker: str) -> None:
    version = kernel_version(nb)
    before = len(nb.iopub)
    started = time.monotonic()
    msg_id = nb.client.execute(BLOCKERS[blocker])
    cards = cards_after(nb, before, 2)
    if version >= (7, 4):
        decide(nb, *cards[1], {"kind": "approve"})
        decide(nb, *cards[2], {"kind": "edit", "arguments": {"x": {"text": "20"}}})
        out = finish(nb, msg_id)
        assert "RESULTS [2, 40]" in out and "RAN 1" in out and "RAN 20" in out, out
        assert records(nb, cards[1][0])[-1]["status"] == "approved"
        assert records(nb, cards[2][0])[-1]["status"] == "edited"
        return
    # ipykernel 6: nothing reads the shell socket while the main thread blocks in the cell
    out = finish(nb, msg_id)
    elapsed = time.monotonic() - started
    assert "RAN" not in out, out
    assert elapsed < 5, elapsed  # at once, not after a timeout (there is none here)
    for comm_id, _ in cards.values():
        record = records(nb, comm_id)[-1]
        assert record["status"] == "rejected" and record["by"] is None
        assert "main thread is blocked" in record["feedback"] and "asyncio.to_thread" in record["feedback"]
    if blocker == "thread.join":  # the threads' exceptions do not reach the cell; their results are missing
        assert "RESULTS [None, None]" in out
    else:
        error = error_of(nb, msg_id)
        assert error is not None and error["ename"] == "NoApprovalChannel"
        assert "Batch" in error["evalue"] and "async cell" in error["evalue"]
    assert "still usable" in nb.run("print('still usable')")


def test_the_recommended_alternative_works_on_every_kernel(nb: Frontend) -> None:
    """What the ipykernel 6 message recommends: gather worker threads from an async cell."""
    before = len(nb.iopub)
    msg_id = nb.client.execute(
        "print('RESULTS', await asyncio.gather(asyncio.to_thread(double, 1), asyncio.to_thread(double, 2)))"
    )
    cards = cards_after(nb, before, 2)
    decide(nb, *cards[2], {"kind": "approve"})
    decide(nb, *cards[1], {"kind": "approve"})
    assert "RESULTS [2, 4]" in finish(nb, msg_id)


def test_thread_pool_click_to_function_running_latency(nb: Frontend, capsys: pytest.CaptureFixture[str]) -> None:
    if kernel_version(nb) < (7, 4):
        pytest.skip("ipykernel 6 fails a thread pool's calls closed (tested above)")
    samples = []
    for i in range(15):
        before = len(nb.iopub)
        msg_id = nb.client.execute(
            f"with ThreadPoolExecutor(2) as pool:\n    print('RESULTS', list(pool.map(double, [{i}, {i + 100}])))"
            if i
            else "from concurrent.futures import ThreadPoolExecutor\n"
            "with ThreadPoolExecutor(2) as pool:\n    print('RESULTS', list(pool.map(double, [0, 100])))"
        )
        cards = cards_after(nb, before, 2)
        time.sleep(0.02)
        for x in (i, i + 100):
            t0 = time.perf_counter()
            decide(nb, *cards[x], {"kind": "approve"})
            nb.wait_stream(f"RAN {x}\n", msg_id)
            samples.append((time.perf_counter() - t0) * 1000)
        assert f"RESULTS [{2 * i}, {2 * (i + 100)}]" in finish(nb, msg_id)
    samples.sort()
    p50, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
    with capsys.disabled():
        print(
            f"\nthread pool card, decision sent -> function running, {len(samples)} decisions: p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )


# -- busy until decided --------------------------------------------------------------------


def _assert_busy_until_the_cell_ends(fe: Frontend, msg_id: str, start: int) -> None:
    """From the cell's busy to its idle, every other idle is followed by busy again."""
    seen = [m for m in fe.iopub[start:] if m["msg_type"] == "status"]
    ends = [
        i for i, m in enumerate(seen) if m["content"]["execution_state"] == "idle" and m["parent_header"].get("msg_id") == msg_id
    ]
    assert ends, "the cell never went idle"
    during = seen[: ends[0]]
    nested_idles = [m for m in during if m["content"]["execution_state"] == "idle"]
    assert nested_idles, "no nested message was handled during the wait: the test sent none"
    assert during[-1]["content"]["execution_state"] == "busy"
    for i, m in enumerate(during):
        if m["content"]["execution_state"] == "idle":
            after = during[i + 1 :]
            assert any(n["content"]["execution_state"] == "busy" and n["parent_header"].get("msg_id") == msg_id for n in after), (
                f"an idle for {m['parent_header'].get('msg_type')} was not followed by the cell's busy"
            )


def _send_invalid_edit(fe: Frontend, comm_id: str, request_id: str) -> None:
    decide(fe, comm_id, request_id, {"kind": "edit", "arguments": {"x": {"text": "not a number"}}})


def _control_request(fe: Frontend) -> None:
    """A request on the control channel while the cell waits (JupyterLab sends some: subshells, debug)."""
    msg = fe.client.session.msg("kernel_info_request", {})
    fe.client.control_channel.send(msg)


@pytest.mark.parametrize("where", ["main thread", "worker thread"])
def test_the_kernel_stays_busy_while_a_card_waits(nb: Frontend, where: str) -> None:
    version = kernel_version(nb)
    start = len(nb.iopub)
    code = "call(double, 1)" if where == "main thread" else "print('RESULT', await asyncio.to_thread(double, 1))"
    msg_id = nb.client.execute(code)
    cards = cards_after(nb, start, 1)
    comm_id, request_id = cards[1]
    for _ in range(3):
        _send_invalid_edit(nb, comm_id, request_id)
        _control_request(nb)
    nb.wait_iopub(
        lambda m: (
            sum(
                1
                for r in nb.iopub[start:]
                if r["msg_type"] == "comm_msg"
                and r["content"]["comm_id"] == comm_id
                and "problems" in r["content"]["data"].get("content", {})
            )
            >= 3
        )
    )
    pump(nb, 0.3)
    before_decision = statuses(nb, start)
    assert before_decision[-1][0] == "busy", before_decision
    decide(nb, comm_id, request_id, {"kind": "approve"})
    assert "RESULT 2" in finish(nb, msg_id)
    _assert_busy_until_the_cell_ends(nb, msg_id, start)
    # the card's own messages are handled without a status of their own (on the main thread by
    # hitl_widget's poll, off it by hitl_widget's subshell on 7.4, or by the kernel's queue drain on 6)
    assert ("idle", "comm_msg") not in statuses(nb, start), statuses(nb, start)
    if version >= (7, 4):
        assert sum(1 for s in before_decision if s == ("idle", "kernel_info_request")) >= 3


def test_no_busy_is_published_after_the_cell_ends(nb: Frontend) -> None:
    """A card answered from a background thread after its cell ended leaves the kernel idle."""
    start = len(nb.iopub)
    nb.run("import threading\nagent = threading.Thread(target=lambda: print('RESULT', double(3)), daemon=True)\nagent.start()")
    comm_id, request_id = cards_after(nb, start, 1)[3]
    _send_invalid_edit(nb, comm_id, request_id)
    decide(nb, comm_id, request_id, {"kind": "approve"})
    nb.wait_stream("RESULT 6")
    pump(nb, 0.5)
    seen = statuses(nb, start)
    assert seen[-1][0] == "idle", seen


# -- Ctrl-C ----------------------------------------------------------------------------------

SPY = """
from hitl_widget.approvers.notebook import NotebookApprover
_notebook = NotebookApprover()
escaped = []

def spy(request):
    try:
        return _notebook(request)
    except BaseException as exc:
        escaped.append(type(exc).__name__)
        raise

@require_approval(approver=spy)
def spied(x: int) -> int:
    print("RAN", x)
    return x
"""


def test_interrupt_of_a_waiting_cell_raises_keyboard_interrupt_from_the_approver(nb: Frontend) -> None:
    nb.run(SPY)
    start = len(nb.iopub)
    msg_id = nb.client.execute("spied(1)", stop_on_error=False)
    comm_id, _ = cards_after(nb, start, 1)[1]
    queued = [nb.client.execute(f"print('queued', {n})") for n in range(3)]
    time.sleep(0.3)
    nb.manager.interrupt_kernel()
    finish(nb, msg_id)
    assert records(nb, comm_id)[-1]["status"] == "cancelled"
    for n, q in enumerate(queued):
        assert finish(nb, q) == f"queued {n}\n"
    assert "['KeyboardInterrupt']" in nb.run("print(escaped)")
    assert "RAN" not in nb.stream_text()


def test_interrupt_while_a_thread_pool_waits_cancels_every_card(nb: Frontend) -> None:
    if kernel_version(nb) < (7, 4):
        pytest.skip("ipykernel 6 fails a thread pool's calls closed before anyone could interrupt")
    nb.run(SPY)
    start = len(nb.iopub)
    msg_id = nb.client.execute(
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(2) as pool:\n    print('RESULTS', list(pool.map(spied, [1, 2])))",
        stop_on_error=False,
    )
    cards = cards_after(nb, start, 2)
    queued = nb.client.execute("print('queued')")
    time.sleep(0.3)
    t0 = time.monotonic()
    nb.manager.interrupt_kernel()
    finish(nb, msg_id)
    assert time.monotonic() - t0 < 5
    error = error_of(nb, msg_id)
    assert error is not None and error["ename"] == "KeyboardInterrupt", error
    for comm_id, _ in cards.values():
        assert records(nb, comm_id)[-1]["status"] == "cancelled"
    assert finish(nb, queued) == "queued\n"
    assert nb.run("print(sorted(escaped))") == "['KeyboardInterrupt', 'KeyboardInterrupt']\n"
    assert "RAN" not in nb.stream_text()
    # the kernel still answers cards afterwards, from a thread pool too
    before = len(nb.iopub)
    again = nb.client.execute("with ThreadPoolExecutor(1) as pool:\n    print('RESULTS', list(pool.map(double, [5])))")
    decide(nb, *cards_after(nb, before, 1)[5], {"kind": "approve"})
    assert "RESULTS [10]" in finish(nb, again)


def test_interrupt_of_an_awaiting_cell_cancels_the_card_promptly(nb: Frontend) -> None:
    """``await tool(...)`` in a cell: the kernel turns SIGINT into cancelling the cell's task; the
    card's await wakes the idle loop so that happens at once, not at the next message."""
    start = len(nb.iopub)
    msg_id = nb.client.execute("print('RESULT', await adouble(21))", stop_on_error=False)
    comm_id, _ = cards_after(nb, start, 1)[21]
    queued = nb.client.execute("print('queued')")
    time.sleep(0.3)
    t0 = time.monotonic()
    nb.manager.interrupt_kernel()
    finish(nb, msg_id)
    assert time.monotonic() - t0 < 3
    error = error_of(nb, msg_id)
    assert error is not None and error["ename"] in ("CancelledError", "KeyboardInterrupt"), error
    assert records(nb, comm_id)[-1]["status"] == "cancelled"
    assert finish(nb, queued) == "queued\n"


def test_without_its_subshell_a_thread_pool_card_fails_closed_at_once(nb: Frontend) -> None:
    """ipykernel 7.4 where hitl_widget's subshell cannot be created: the card's messages go to the
    blocked main thread, so the card says so at once instead of hanging."""
    if kernel_version(nb) < (7, 4):
        pytest.skip("ipykernel 6 has no subshells (its thread-pool case is tested above)")
    nb.run("import hitl_widget.kernel_wait as kw\nkw._subshell_id = lambda kernel: None")
    before = len(nb.iopub)
    started = time.monotonic()
    msg_id = nb.client.execute(BLOCKERS["pool.map"])
    cards = cards_after(nb, before, 2)
    out = finish(nb, msg_id)
    assert time.monotonic() - started < 5 and "RAN" not in out, out
    error = error_of(nb, msg_id)
    assert error is not None and error["ename"] == "NoApprovalChannel" and "subshell" in error["evalue"], error
    for comm_id, _ in cards.values():
        assert records(nb, comm_id)[-1]["status"] == "rejected"


def test_interrupt_of_a_cell_awaiting_a_worker_thread_cancels_the_workers_card(nb: Frontend) -> None:
    """``await asyncio.to_thread(tool)``: the cell is cancelled, and the worker's card with it (no
    card left answerable that would run the tool in the background later)."""
    nb.run(SPY)
    start = len(nb.iopub)
    msg_id = nb.client.execute("print('RESULT', await asyncio.to_thread(spied, 7))", stop_on_error=False)
    comm_id, _ = cards_after(nb, start, 1)[7]
    time.sleep(0.3)
    nb.manager.interrupt_kernel()
    finish(nb, msg_id)
    nb.wait_iopub(lambda m: bool(records(nb, comm_id)), timeout=5)
    assert records(nb, comm_id)[-1]["status"] == "cancelled"
    assert nb.run("import time; time.sleep(0.1); print(escaped)") == "['KeyboardInterrupt']\n"
    assert "RAN" not in nb.stream_text()
