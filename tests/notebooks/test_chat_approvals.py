"""chat_approvals.ipynb: Slack (a quorum across Slack and the dashboard, reject with feedback, an unlinked user) and Teams.

The notebook starts a real ``hitl dashboard`` and local stand-ins for Slack and Teams (notebooks/chat_demo.py);
it opens no card (every decision is a signed Slack callback or a dashboard API call), so the script expects none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import AnswerScript, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


def test_chat_approvals(tmp_path: Path) -> None:
    script = AnswerScript([])
    run = run_notebook("chat_approvals.ipynb", script, tmp_path)
    script.assert_done()

    posted = run.cell_with("SlackApprover(").stdout
    assert "Approval needed: refund()" in posted and "Needs: 2 approvals (ops)" in posted
    assert '"<!channel> *urgent*: approve <https://evil.example|here>"' in posted  # shown as text
    assert "[Approve]  [Reject]  [Edit in dashboard]" in posted
    assert "1 of 2 approvals (alice)" in run.cell_with('slack.click("Approve", user="U0ALICE"').stdout
    quorum = run.cell_with('dashboard.decide("bob"').stdout
    assert quorum.startswith("refunded 120.00 EUR for A-1001\n")
    assert "Approved by alice, bob at" in quorum and "ran: succeeded" in quorum and "[Open in dashboard]" in quorum

    rejected = run.cell_with("U0STRANGER").stdout
    assert "U0STRANGER) is not linked to a dashboard user" in rejected
    assert "{'response_action': 'clear'}" in rejected
    assert "was rejected by a human reviewer (alice): A-1002 duplicates A-1001" in rejected
    assert "Rejected by alice at" in rejected

    card = run.cell_with("TeamsNotifier(").stdout
    assert card.startswith("(Adaptive Card 1.4)\nApproval needed\nrotate_keys()")
    assert 'service = "billing"' in card and "[Open in dashboard] -> http://127.0.0.1:" in card
    outcome = run.cell_with('dashboard.decide("alice"').stdout
    assert outcome.startswith("rotated the keys of billing\n(Adaptive Card 1.4)") and "Approved by alice at" in outcome
