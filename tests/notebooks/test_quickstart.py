"""quickstart.ipynb top to bottom in a real kernel: the three decisions answered on its real cards."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import AnswerScript, Expect, approve, edit, reject, run_notebook

from hitl_widget import AuditLog

pytestmark = pytest.mark.slow

FEEDBACK = "refunds over 100 EUR need a manager; offer store credit instead"


def test_quickstart(tmp_path: Path) -> None:
    script = AnswerScript([
        Expect("refund", approve(), {"order_id": '"A-1001"', "amount": "25.0"}),
        # first a value the type hint refuses, sent past the card's own check: Python refuses it too; then 40
        Expect("refund", edit(amount="forty"), {"order_id": '"A-1002"', "amount": "80.0"}, then=edit(amount="40")),
        Expect("refund", reject(FEEDBACK), {"order_id": '"A-1003"', "amount": "250.0"}),
    ])  # fmt: skip
    run = run_notebook("quickstart.ipynb", script, tmp_path, after="print('STATUS', status)")
    script.assert_done()

    assert "refund(order_id: str, amount: float) -> str: Refund an order to the customer's card." in run.text
    assert run.cell_with('refund("A-1001"').stdout == "refunded 25.00 EUR on order A-1001\n"
    assert run.cell_with('refund("A-1002"').stdout == "refunded 40.00 EUR on order A-1002\n"
    # the invalid edit was answered on the card, and nothing ran with it
    assert [e["problems"] for e in run.errors_from_kernel] == [{"amount": "expected float, got 'forty'"}]
    rejected = run.cell_with('refund("A-1003"').stdout
    assert "refunded" not in rejected
    assert "the agent reads: refund(order_id='A-1003', amount=250.0) was rejected by a human reviewer" in rejected
    assert f"your words: {FEEDBACK}" in rejected
    assert [r["status"] for r in run.final_records()] == ["approved", "edited", "rejected"]

    assert run.cell_with("goodwill_refund(").stdout.startswith("refunded 10.00 EUR on order A-1004")
    assert len(run.cards) == 3  # goodwill_refund asked nobody

    log = run.workdir / "quickstart.audit.jsonl"
    assert AuditLog.verify(log)
    assert "STATUS 0" in run.text and "chain intact" in run.text
    decisions = [(r.get("decision"), r.get("rule")) for r in run.audit("quickstart.audit.jsonl") if r["type"] == "decision"]
    assert decisions == [("approved", "person"), ("edited", "person"), ("rejected", "person"), ("not_required", "when")]

    scripted = run.cell_with("ScriptedApprover(").stdout.splitlines()
    assert scripted == [
        "refunded 25.00 EUR on order B-1",
        "refunded 40.00 EUR on order B-2",
        "rejected: offer store credit",
        "asked about: ['B-1', 'B-2', 'B-3']",
    ]
