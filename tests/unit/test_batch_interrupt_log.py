"""Ctrl-C during a batch: the undecided calls stay pending, and the audit log agrees.

Before, each undecided call was recorded as a ``cancelled`` decision and yet stayed pending,
so the next review approved and ran it: one request had "cancelled", then "approved", then
"returned". Now such a call gets an ``interrupted`` record (not a decision), and each request
has at most one decision.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hitl_widget import Approve, AuditLog, Batch, ScriptedApprover


def check_log(path: Path) -> list[dict[str, Any]]:
    """Every request has at most one decision; none is both cancelled and run."""
    records = list(AuditLog.records(path))
    decided = Counter(r["request_id"] for r in records if r["type"] == "decision")
    assert all(n == 1 for n in decided.values()), decided
    cancelled = {r["request_id"] for r in records if r["type"] == "decision" and r["decision"] == "cancelled"}
    ran = {r["request_id"] for r in records if r["type"] == "outcome"}
    assert not cancelled & ran
    assert AuditLog.verify(path)
    return records


class Table:
    """Reviews as a table; raises KeyboardInterrupt at its first review."""

    def __init__(self, interrupt: bool = True) -> None:
        self.interrupt = interrupt

    def __call__(self, request: Any) -> Any:
        return Approve()

    def review(self, requests: Any) -> Any:
        if self.interrupt:
            self.interrupt = False
            raise KeyboardInterrupt
        return [Approve() for _ in requests]


def step(ran: list[int]) -> Any:
    def run(x: int) -> int:
        if x == 1 and not ran:
            ran.append(0)
            raise KeyboardInterrupt  # Ctrl-C while call 1 runs
        ran.append(x)
        return x

    return run


@pytest.mark.parametrize("approver", ["table", "one by one"])
def test_ctrl_c_while_a_call_runs_keeps_the_rest_pending_without_a_decision(tmp_path: Path, approver: str) -> None:
    path = tmp_path / "a.jsonl"
    ran: list[int] = []
    # the interrupt comes from the running call, not from the review
    reviewer: Any = ScriptedApprover(default=Approve()) if approver == "one by one" else Table(interrupt=False)
    batch = Batch(approver=reviewer, audit=AuditLog(path))
    f = batch.wrap(step(ran))
    f(1)
    f(2)
    second = batch.pending[1].request.id
    with pytest.raises(KeyboardInterrupt):
        batch.review_and_execute()
    assert [c.n for c in batch.pending] == [2]
    interrupted = [r for r in AuditLog.records(path) if r["type"] == "interrupted"]
    assert [(r["request_id"], r["still_pending"]) for r in interrupted] == [(second, True)]
    assert batch.review_and_execute() == {2: 2}
    records = check_log(path)
    assert [r["decision"] for r in records if r["type"] == "decision" and r["request_id"] == second] == ["approved"]


@pytest.mark.parametrize(
    "mode",
    [
        "sync",
        pytest.param(
            "async",
            marks=pytest.mark.skipif(
                sys.platform == "emscripten",
                reason="Pyodide's asyncio.run hands a KeyboardInterrupt raised in the loop to JavaScript (the runtime stops)",
            ),
        ),
    ],
)
def test_ctrl_c_in_a_table_review_records_no_decision(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "b.jsonl"
    batch = Batch(approver=Table(), audit=AuditLog(path))
    f = batch.wrap(lambda x: x)
    f(1)
    f(2)
    with pytest.raises(KeyboardInterrupt):
        if mode == "sync":
            batch.review_and_execute()
        else:
            asyncio.run(batch.areview_and_execute())
    assert [c.n for c in batch.pending] == [1, 2]
    assert [r for r in AuditLog.records(path) if r["type"] == "decision"] == []
    assert batch.review_and_execute() == {1: 1, 2: 2}
    check_log(path)


def test_audit_show_lists_an_interrupted_review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hitl_widget.cli import main

    path = tmp_path / "c.jsonl"
    batch = Batch(approver=Table(), audit=AuditLog(path))
    batch.wrap(lambda x: x)(1)
    with pytest.raises(KeyboardInterrupt):
        batch.review_and_execute()
    rid = batch.pending[0].request.id
    assert main(["audit", "show", str(path)]) == 0
    assert f"{rid} review interrupted [interrupted], still pending" in capsys.readouterr().out
