"""customer_support_refunds.ipynb: the agent's queue, when=/budget/business hours, a batch review, the audit table and chart."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

import pytest
from harness import AnswerScript, Expect, ExpectReview, approve, edit, reject, run_notebook

from hitl_widget import AuditLog

pytestmark = pytest.mark.slow

INSPECT = "inspect the returned laptop before refunding anything over 500 EUR"
REPLACEMENT = "we already sent a replacement lens; no refund"


def test_customer_support_refunds(tmp_path: Path) -> None:
    p = [f"PENDING_APPROVAL_{n}" for n in (1, 2, 3)]
    script = AnswerScript([
        Expect("refund", approve(), {"ticket_id": '"T-104"', "amount": "80.0"}),
        Expect("refund", reject(INSPECT), {"ticket_id": '"T-105"', "amount": "640.0"}),
        ExpectReview(p, {p[0]: approve(), p[1]: edit(amount="50"), p[2]: reject(REPLACEMENT)},
                     functions={label: "refund" for label in p}),
    ])  # fmt: skip
    run = run_notebook("customer_support_refunds.ipynb", script, tmp_path, after="print(replies)")
    script.assert_done()
    review = run.reviews[0]
    assert [c.arguments["ticket_id"] for c in review.cards] == ['"T-108"', '"T-110"', '"T-111"']

    monday = run.cell_with("Monday's support queue").stdout
    # the rejection reached the agent, which changed its plan instead of retrying
    assert "✗ REJECTED refund: refund(ticket_id='T-105', order_id='O-5005', amount=640.0) was rejected" in monday
    assert f"The reviewer said: {INSPECT!r}. I will not refund; I open a return inspection instead." in monday
    assert "→ open_return_inspection(ticket_id='T-105', order_id='O-5005')" in monday
    # business hours: refused by the window, no card; the agent reschedules
    assert "window: outside 09:00-17:00" in monday and "→ schedule_followup(ticket_id='T-106')" in monday
    assert monday.count("→ refund(ticket_id='T-105'") == 1
    assert monday.endswith("answer: Done: 6 tickets handled.\nDone: 6 tickets handled.\n")

    tuesday = run.cell_with("Tuesday's support queue").stdout
    assert "← refund: PENDING_APPROVAL_1" in tuesday and "← refund: PENDING_APPROVAL_3" in tuesday
    assert "refunded 45.00 EUR on O-5006 (T-106)" in tuesday  # the rescheduled ticket ran on Tuesday morning
    assert "answer: Done: 6 tickets handled." in tuesday
    assert "answer: Done: 3 tickets handled." in run.cell_with("Wednesday's support queue").stdout
    reviewed = run.cell_with("batch.areview_and_execute()").text
    assert "'T-108': 'refunded 150.00 EUR on O-5008 (T-108)'" in reviewed
    assert "'T-110': 'refunded 50.00 EUR on O-5010 (T-110)'" in reviewed  # the lead's edit ran
    assert f"'T-111': 'REJECTED: {REPLACEMENT}'" in reviewed

    replies = dict(eval(run.cells[-1].stdout))  # the story's replies to customers: [(ticket, text), ...]
    assert replies["T-111"] == f"We did not refund this: {REPLACEMENT}."
    assert replies["T-110"] == "Done: refunded 50.00 EUR on O-5010."
    assert replies["T-105"].startswith("Inspection opened for O-5005")
    assert replies["T-106"] == "Done: refunded 45.00 EUR on O-5006."
    assert len(replies) == 14 and set(replies) == {f"T-{n}" for n in range(101, 115)}

    # the audit trail: each refund decided by the rule the story promises, at the story's times
    log = run.workdir / "refunds.audit.jsonl"
    assert AuditLog.verify(log)
    decided: dict[str, tuple[str, str]] = {}
    ticket_of: dict[str, str] = {}
    for record in AuditLog.records(log):
        if "request" in record:
            ticket_of[record["request"]["id"]] = record["request"]["arguments"]["ticket_id"]
            assert datetime.fromisoformat(record["request"]["created_at"]).year == 2026  # the story clock
        if record["type"] == "decision":
            rid = record.get("request_id") or record["request"]["id"]
            decided[ticket_of[rid]] = (record["decision"], record["rule"])
    budget = ("auto_approved", "budget:100 EUR a day")
    assert decided == {
        "T-101": ("not_required", "when"), "T-102": budget, "T-103": budget,
        "T-104": ("approved", "person"), "T-105": ("rejected", "person"), "T-106": budget,
        "T-107": budget, "T-108": ("approved", "person"), "T-109": ("not_required", "when"),
        "T-110": ("edited", "person"), "T-111": ("rejected", "person"),
        "T-112": budget, "T-113": ("not_required", "when"), "T-114": budget,
    }  # fmt: skip
    monday_window = [r for r in AuditLog.records(log) if r.get("decision") == "auto_rejected"]
    assert len(monday_window) == 1 and monday_window[0]["rule"] == "window"  # T-106 at 18:45, before its reschedule

    table = run.cell_with("requests_in(").html[0]
    assert table.count("<tr>") == 1 + 15  # header + 15 requests (T-106 twice)
    assert "80.00" in table and "95.00 → 50.00" in table and "edited by" in table and html.escape(INSPECT) in table
    assert table.count("refused: outside business hours") == 1 and table.count("ran unasked: up to 25 EUR") == 3
    assert "chain intact: True" in run.cell_with("requests_in(").stdout

    chart = run.cell_with("bar_chart(totals)")
    assert chart.html[0].startswith("<svg") and "currentColor" in chart.html[0]
    # Monday 12 + 60 + 35 + 80; Tuesday 45 + 30 + 150 + 20 + 50; Wednesday 40 + 22 + 55
    assert chart.plain[-1] == "{'Mon 30 Nov': 187.0, 'Tue 01 Dec': 295.0, 'Wed 02 Dec': 117.0}"
