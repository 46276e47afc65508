"""batch_approvals.ipynb: placeholders, wait_for_approvals as the agent's tool, the agent adapting to REJECTED: results."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import AnswerScript, ExpectReview, approve, edit, reject, run_notebook

from hitl_widget import AuditLog

pytestmark = pytest.mark.slow

NO_MASS_MAIL = "don't email every customer about a 10-minute window; show an in-app banner instead"


def test_batch_approvals(tmp_path: Path) -> None:
    p = [f"PENDING_APPROVAL_{n}" for n in (1, 2, 3, 4)]
    script = AnswerScript([
        ExpectReview(p[:3], {p[0]: reject(NO_MASS_MAIL), p[1]: edit(subject="Maintenance tonight"), p[2]: approve()},
                     functions={p[0]: "send_email", p[1]: "send_email", p[2]: "post_to_chat"}),
        ExpectReview(p[3:], {}, rest=approve(), functions={p[3]: "show_in_app_banner"}),  # "Approve all"
    ])  # fmt: skip
    run = run_notebook("batch_approvals.ipynb", script, tmp_path, after="print(sent); print(repr(answer))")
    script.assert_done()
    first = run.reviews[0].by_label()
    assert first[p[0]].arguments["to"] == '"all-customers@example.com"'
    assert first[p[1]].arguments["subject"] == '"Maintenance tonigth"'  # the typo the reviewer fixes

    transcript = run.cell_with("await run(agent").stdout
    # the status page is low risk: it ran at once; the others got placeholders
    assert "← update_status_page: status page updated" in transcript
    for n, tool in ((1, "send_email"), (2, "send_email"), (3, "post_to_chat")):
        assert f"← {tool}: PENDING_APPROVAL_{n}" in transcript
    assert transcript.count("→ wait_for_approvals()") == 2
    # the rejection's words reached the planner, which drafted what the reviewer asked for
    assert f"wrote: {NO_MASS_MAIL!r}. I will not send that again; I draft an in-app banner instead" in transcript
    assert "→ show_in_app_banner(text=" in transcript and "← show_in_app_banner: PENDING_APPROVAL_4" in transcript
    assert f'"1":"REJECTED: {NO_MASS_MAIL}"' in transcript

    state = run.cells[-1].stdout.splitlines()
    sent = eval(state[0])
    assert [(kind, where) for kind, where, _ in sent] == [
        ("status page", "status.example.com"),
        ("email", "enterprise@example.com"),
        ("chat", "#customers"),
        ("banner", "24 h"),
    ]
    assert sent[1][2] == "Maintenance tonight"  # the edited subject went out, not the typo
    answer = eval(state[1])
    assert answer.startswith("Announced: ") and f"PENDING_APPROVAL_1 not sent ({NO_MASS_MAIL})" in answer
    assert "email sent to enterprise@example.com" in answer and "banner shown for 24 h" in answer

    assert run.cell_with("show_table(sent").html[0].count("<tr>") == 5
    log = run.workdir / "batch.audit.jsonl"
    assert AuditLog.verify(log) and "chain intact" in run.cell_with("show_table(sent").stdout
    assert "exit code: 0" in run.cell_with("show_table(sent").stdout
    decisions = [r["decision"] for r in AuditLog.records(log) if r["type"] == "decision"]
    assert decisions == ["auto_approved", "rejected", "edited", "approved", "approved"]
