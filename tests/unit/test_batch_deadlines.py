"""Each call's own timeout holds in every Batch review path.

A table review (an approver with ``review``/``areview``) answers all calls at once; an answer
that arrives after a call's deadline must fail that call closed (recorded ``timed_out``), as
the gate and the one-by-one path do. The terminal's table prompt waits at most until the
earliest deadline of the calls still waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hitl_widget import Approve, AuditLog, Batch, Reject, TerminalApprover

pytestmark = pytest.mark.timeout(30)


class SlowTable:
    """Answers every call ``answer`` after ``delay`` seconds."""

    def __init__(self, delay: float, answer: Any = None) -> None:
        self.delay = delay
        self.answer = answer if answer is not None else Approve()

    def __call__(self, request: Any) -> Any:
        time.sleep(self.delay)
        return self.answer

    def review(self, requests: Any) -> Any:
        time.sleep(self.delay)
        return [self.answer for _ in requests]


class SlowAsyncTable(SlowTable):
    async def areview(self, requests: Any) -> Any:
        await asyncio.sleep(self.delay)
        return [self.answer for _ in requests]


class SlowOneByOne:
    def __init__(self, delay: float) -> None:
        self.delay = delay

    def __call__(self, request: Any) -> Any:
        time.sleep(self.delay)
        return Approve()


def decisions(path: Path) -> dict[str, str]:
    """request id -> its (last) decision in the audit log."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if "decision" in record and "request_id" in record:
            out[record["request_id"]] = record["decision"]
    return out


def make(tmp_path: Path, approver: Any) -> tuple[Batch, list[str], AuditLog, Path]:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    ran: list[str] = []
    return Batch(approver=approver, audit=log), ran, log, path


@pytest.mark.parametrize("approver", [SlowTable(1.0), SlowAsyncTable(1.0), SlowOneByOne(1.0)], ids=["table", "atable", "one"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_late_answer_fails_the_timed_call_closed_and_runs_the_untimed_one(tmp_path: Path, approver: Any, mode: str) -> None:
    batch, ran, log, path = make(tmp_path, approver)
    batch.wrap(lambda x: ran.append(x) or x)("untimed")
    batch.wrap(lambda x: ran.append(x) or x, timeout=0.3)("timed")
    pending = [c.request.id for c in batch.pending]
    results = batch.review_and_execute() if mode == "sync" else asyncio.run(batch.areview_and_execute())
    log.close()
    assert ran == ["untimed"]
    assert results[1] == "untimed"
    assert str(results[2]).startswith("REJECTED")
    assert batch.pending == []
    recorded = decisions(path)
    assert recorded[pending[0]] == "approved"
    assert recorded[pending[1]] == "timed_out"


def test_a_late_rejection_is_recorded_as_timed_out(tmp_path: Path) -> None:
    batch, ran, log, path = make(tmp_path, SlowTable(0.6, Reject("no")))
    batch.wrap(lambda x: ran.append(x), timeout=0.2)("timed")
    rid = batch.pending[0].request.id
    batch.review_and_execute()
    log.close()
    assert ran == [] and decisions(path)[rid] == "timed_out"


def test_on_timeout_approve_still_runs_after_a_late_table_answer() -> None:
    ran: list[str] = []
    batch = Batch(approver=SlowTable(0.6, Reject("no")))
    batch.wrap(lambda x: ran.append(x), timeout=0.2, on_timeout="approve")("timed")
    batch.review_and_execute()
    assert ran == ["timed"]


def test_an_answer_in_time_is_kept(tmp_path: Path) -> None:
    batch, ran, log, _path = make(tmp_path, SlowTable(0.05))
    batch.wrap(lambda x: ran.append(x), timeout=5)("in time")
    batch.review_and_execute()
    log.close()
    assert ran == ["in time"]


def _typing(delay: float, keys: bytes) -> io.TextIOWrapper:
    r, w = os.pipe()

    def type_later() -> None:
        time.sleep(delay)
        with contextlib.suppress(OSError):  # the reader may be gone already: the prompt gave up at its deadline
            os.write(w, keys)
        os.close(w)

    threading.Thread(target=type_later, daemon=True).start()
    return os.fdopen(r, "r")


@pytest.mark.threads
def test_terminal_table_prompt_stops_waiting_for_a_call_at_its_deadline() -> None:
    out = io.StringIO()
    ran: list[str] = []
    batch = Batch(approver=TerminalApprover(stdin=_typing(1.2, b"A\n"), stdout=out))
    batch.wrap(lambda x: ran.append(x))("untimed")  # first: its (absent) deadline used to be the only one read
    batch.wrap(lambda x: ran.append(x), timeout=0.3)("timed")
    batch.review_and_execute()
    assert ran == ["untimed"]
    assert "2. timed out: it will not run" in out.getvalue()


@pytest.mark.threads
def test_terminal_table_prompt_returns_when_every_call_timed_out() -> None:
    ran: list[str] = []
    batch = Batch(approver=TerminalApprover(stdin=_typing(20, b"A\n"), stdout=io.StringIO()))
    batch.wrap(lambda x: ran.append(x), timeout=0.3)("a")
    batch.wrap(lambda x: ran.append(x), timeout=0.6)("b")
    started = time.monotonic()
    results = batch.review_and_execute()
    assert time.monotonic() - started < 10  # did not wait for the keys typed at 20 s
    assert ran == [] and all(str(r).startswith("REJECTED") for r in results.values())
