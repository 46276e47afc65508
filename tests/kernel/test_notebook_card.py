"""The notebook card in a real kernel: the test plays the JupyterLab frontend over the widget comm."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from kernel_frontend import Frontend, Message

from hitl_widget.protocol import PROTOCOL_VERSION

pytestmark = pytest.mark.slow

SETUP = '''
import asyncio
from hitl_widget import require_approval, ApprovalRejected

@require_approval
def double(x: int) -> int:
    """Double x."""
    print("RAN", x)
    return 2 * x

@require_approval(timeout=1)
def hurry(x: int) -> int:
    return x

@require_approval
async def adouble(x: int) -> int:
    return 2 * x

def call(fn, *args):
    try:
        print("RESULT", fn(*args))
    except ApprovalRejected as e:
        print("REJECTED", type(e).__name__, e)
'''


def card_opened(fe: Frontend, after: int, function: str = "double", timeout: float = 10) -> tuple[str, str]:
    """(comm_id, request_id) of the next card for ``function`` opened after iopub index ``after``."""

    def match(m: Message) -> bool:
        if m["msg_type"] != "comm_open" or m["content"].get("target_name") != "jupyter.widget":
            return False
        state = m["content"]["data"].get("state", {})
        return state.get("request", {}).get("function") == function and m not in fe.iopub[:after]

    opened = fe.wait_iopub(match, timeout)
    return opened["content"]["comm_id"], opened["content"]["data"]["state"]["request"]["id"]


def decide(fe: Frontend, comm_id: str, request_id: str, decision: dict[str, Any], *, version: int = PROTOCOL_VERSION) -> None:
    content = {"kind": "decision", "version": version, "request_id": request_id, "decision": decision}
    fe.send_comm_msg(comm_id, {"method": "custom", "content": content})


def replies(fe: Frontend, comm_id: str) -> list[dict[str, Any]]:
    return [
        m["content"]["data"]["content"]
        for m in fe.iopub
        if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id and m["content"]["data"].get("method") == "custom"
    ]


def records(fe: Frontend, comm_id: str) -> list[dict[str, Any]]:
    """The card's record updates (waits for the first one)."""
    fe.wait_iopub(lambda m: bool(_records(fe, comm_id)), timeout=5)
    return _records(fe, comm_id)


def _records(fe: Frontend, comm_id: str) -> list[dict[str, Any]]:
    return [
        m["content"]["data"]["state"]["record"]
        for m in fe.iopub
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == comm_id
        and "record" in m["content"]["data"].get("state", {})
    ]


def start(fe: Frontend, code: str, function: str = "double") -> tuple[str, str, str]:
    before = len(fe.iopub)
    msg_id = fe.client.execute(code)
    comm_id, request_id = card_opened(fe, before, function)
    return msg_id, comm_id, request_id


def finish(fe: Frontend, msg_id: str) -> str:
    fe.wait_idle(msg_id, timeout=15)
    return fe.stdout(msg_id)


@pytest.fixture
def nb(kernel: Frontend) -> Frontend:
    kernel.run(SETUP)
    return kernel


def test_approve_runs_the_call_on_the_main_thread(nb: Frontend) -> None:
    msg_id, comm_id, request_id = start(nb, "call(double, 5)")
    decide(nb, comm_id, request_id, {"kind": "approve"})
    out = finish(nb, msg_id)
    assert "RAN 5" in out and "RESULT 10" in out
    assert records(nb, comm_id)[-1]["status"] == "approved"


def test_reject_reaches_the_agent_with_feedback(nb: Frontend) -> None:
    msg_id, comm_id, request_id = start(nb, "call(double, 5)")
    decide(nb, comm_id, request_id, {"kind": "reject", "feedback": "use triple instead"})
    out = finish(nb, msg_id)
    assert "REJECTED ApprovalRejected double(x=5) was rejected by a human reviewer" in out
    assert "use triple instead" in out and "RAN" not in out
    assert records(nb, comm_id)[-1]["feedback"] == "use triple instead"


def test_invalid_edit_is_answered_and_the_card_asks_again(nb: Frontend) -> None:
    msg_id, comm_id, request_id = start(nb, "call(double, 5)")
    decide(nb, comm_id, request_id, {"kind": "edit", "arguments": {"x": {"text": "abc"}}})
    nb.wait_iopub(lambda m: bool(replies(nb, comm_id)))
    assert replies(nb, comm_id)[0]["problems"] == {"x": "expected int, got 'abc'"}
    decide(nb, comm_id, request_id, {"kind": "edit", "arguments": {"x": {"text": "7"}}})
    out = finish(nb, msg_id)
    assert "RAN 7" in out and "RESULT 14" in out
    assert records(nb, comm_id)[-1]["diff"] == {"x": {"from": "5", "to": "7"}}


def test_stale_forged_and_double_messages_change_nothing(nb: Frontend) -> None:
    msg_id, comm_id, request_id = start(nb, "call(double, 5)")
    decide(nb, comm_id, "forged-id", {"kind": "approve"})
    decide(nb, comm_id, request_id, {"kind": "approve"}, version=99)
    nb.wait_iopub(lambda m: len(replies(nb, comm_id)) >= 2)
    assert all(r["kind"] == "error" for r in replies(nb, comm_id))
    decide(nb, comm_id, request_id, {"kind": "reject", "feedback": "no"})
    decide(nb, comm_id, request_id, {"kind": "approve"})  # a second click after the decision
    out = finish(nb, msg_id)
    assert "REJECTED" in out and "RAN" not in out and out.count("RESULT") == 0


def test_queued_cells_run_afterwards_in_order(nb: Frontend) -> None:
    msg_id, comm_id, request_id = start(nb, "call(double, 1)")
    second = nb.client.execute("print('second')")
    third = nb.client.execute("print('third')")
    time.sleep(0.2)
    assert nb.stdout(second) == ""  # still blocked behind the card
    decide(nb, comm_id, request_id, {"kind": "approve"})
    finish(nb, msg_id)
    finish(nb, second)
    finish(nb, third)
    text = "".join(nb.output_order())
    assert text.index("RESULT 2") < text.index("second") < text.index("third")


def test_worker_thread_call_while_the_cell_awaits(nb: Frontend) -> None:
    msg_id, comm_id, request_id = start(nb, "print('RESULT', await asyncio.to_thread(double, 4))")
    decide(nb, comm_id, request_id, {"kind": "approve"})
    assert "RESULT 8" in finish(nb, msg_id)


def test_background_thread_call_while_no_cell_runs(nb: Frontend) -> None:
    """An agent in a background thread: the cell that started it has finished long before the card is answered."""
    before = len(nb.iopub)
    nb.run(
        "import threading\n"
        "done = threading.Event(); out = []\n"
        "agent = threading.Thread(target=lambda: (out.append(double(5)), done.set()), daemon=True)\n"
        "agent.start()"
    )
    comm_id, request_id = card_opened(nb, before)
    decide(nb, comm_id, request_id, {"kind": "edit", "arguments": {"x": {"text": "6"}}})
    # the agent's thread prints when the function runs; no cell blocks the kernel meanwhile
    nb.wait_stream("RAN 6", timeout=30)
    msg_id = nb.client.execute("print('RESULT', done.wait(10), out)")
    assert "RESULT True [12]" in finish(nb, msg_id)
    assert records(nb, comm_id)[-1]["status"] == "edited"


def test_async_function_awaited_in_a_cell(nb: Frontend) -> None:
    msg_id, comm_id, request_id = start(nb, "print('RESULT', await adouble(21))", function="adouble")
    decide(nb, comm_id, request_id, {"kind": "approve"})
    assert "RESULT 42" in finish(nb, msg_id)


def test_parallel_calls_each_get_their_own_card(nb: Frontend) -> None:
    before = len(nb.iopub)
    msg_id = nb.client.execute(
        "print('RESULTS', await asyncio.gather(asyncio.to_thread(double, 1), asyncio.to_thread(double, 2)))"
    )
    nb.wait_iopub(lambda m: sum(1 for x in nb.iopub[before:] if "request" in x["content"].get("data", {}).get("state", {})) >= 2)
    cards = [
        (m["content"]["comm_id"], m["content"]["data"]["state"]["request"])
        for m in nb.iopub[before:]
        if m["msg_type"] == "comm_open" and "request" in m["content"]["data"].get("state", {})
    ]
    by_x = {int(req["arguments"][0]["text"]): (comm_id, req["id"]) for comm_id, req in cards}
    decide(nb, *by_x[2], {"kind": "edit", "arguments": {"x": {"text": "20"}}})
    decide(nb, *by_x[1], {"kind": "reject", "feedback": "not one"})
    out = finish(nb, msg_id)
    assert "REJECTED" not in out  # gather raises: check the message instead
    error = [m for m in nb.iopub if m["msg_type"] == "error" and m["parent_header"].get("msg_id") == msg_id]
    assert error and "not one" in error[0]["content"]["evalue"]
    assert "RAN 20" in out and "RAN 1" not in out


def test_timeout_fails_closed(nb: Frontend) -> None:
    msg_id, comm_id, _ = start(nb, "call(hurry, 3)", function="hurry")
    out = finish(nb, msg_id)
    assert "REJECTED ApprovalTimeout" in out
    assert records(nb, comm_id)[-1]["status"] == "timed_out"


def test_interrupt_cancels_the_request(nb: Frontend) -> None:
    msg_id, comm_id, _ = start(nb, "call(double, 9)")
    time.sleep(0.3)  # the cell is waiting for the card
    nb.manager.interrupt_kernel()
    out = finish(nb, msg_id)
    assert "RAN" not in out, out
    error = [m["content"] for m in nb.iopub if m["msg_type"] == "error" and m["parent_header"].get("msg_id") == msg_id]
    assert error and error[0]["ename"] == "KeyboardInterrupt", error  # Ctrl-C stops the agent: not an ordinary Exception
    assert records(nb, comm_id)[-1]["status"] == "cancelled"
    assert "after" in nb.run("print('after')")


def test_interrupt_ends_the_cell_with_keyboard_interrupt(nb: Frontend) -> None:
    """End to end: Ctrl-C stops the agent (the cell ends with KeyboardInterrupt, not an ordinary Exception)."""
    msg_id, comm_id, _ = start(nb, "call(double, 9)")
    time.sleep(0.3)
    nb.manager.interrupt_kernel()
    finish(nb, msg_id)
    reply = nb.reply(msg_id)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt", reply["content"]
    assert records(nb, comm_id)[-1]["status"] == "cancelled"


def test_decision_to_result_latency(nb: Frontend, capsys: pytest.CaptureFixture[str]) -> None:
    samples = []
    for i in range(50):
        msg_id, comm_id, request_id = start(nb, f"call(double, {i})")
        time.sleep(0.02)
        t0 = time.perf_counter()
        decide(nb, comm_id, request_id, {"kind": "approve"})
        nb.wait_stream(f"RAN {i}\n", msg_id)
        samples.append((time.perf_counter() - t0) * 1000)
        finish(nb, msg_id)
    samples.sort()
    p50, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
    with capsys.disabled():
        print(f"\nnotebook card, decision sent -> function running, {len(samples)} decisions: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


def test_batch_review_table(nb: Frontend) -> None:
    nb.run(
        "from hitl_widget import Batch\n"
        "def triple(x: int) -> int:\n    return 3 * x\n"
        "batch = Batch()\nt = batch.wrap(triple)\nprint(t(1), t(2), t(3))"
    )
    before = len(nb.iopub)
    msg_id = nb.client.execute("print('RESULTS', batch.review_and_execute())")
    opened = nb.wait_iopub(
        lambda m: (
            m["msg_type"] == "comm_open" and "requests" in m["content"]["data"].get("state", {}) and m not in nb.iopub[:before]
        )
    )
    comm_id = opened["content"]["comm_id"]
    ids = [r["id"] for r in opened["content"]["data"]["state"]["requests"]]
    assert len(ids) == 3
    decide(nb, comm_id, ids[0], {"kind": "approve"})
    decide(nb, comm_id, ids[1], {"kind": "edit", "arguments": {"x": {"text": "20"}}})
    decide(nb, comm_id, "forged", {"kind": "approve"})
    all_reject = {
        "kind": "review_all",
        "version": PROTOCOL_VERSION,
        "request_ids": [*ids, "forged"],
        "decision": {"kind": "reject", "feedback": "nope"},
    }
    nb.send_comm_msg(comm_id, {"method": "custom", "content": all_reject})
    out = finish(nb, msg_id)
    assert "RESULTS {1: 3, 2: 60, 3: 'REJECTED: nope'}" in out
    assert any(r["kind"] == "error" for r in replies(nb, comm_id))  # the forged id was refused
