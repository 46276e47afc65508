"""channels_and_best_practices.ipynb: routes by risk, a timeout failing closed, HITL_MODE, the terminal, audit verify."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import NO_ANSWER, AnswerScript, Expect, approve, reject, run_notebook

from hitl_widget import AuditLog

pytestmark = pytest.mark.slow

LEAD = "never drop a production database: snapshot it and open a ticket"


def test_channels_and_best_practices(tmp_path: Path) -> None:
    script = AnswerScript([
        Expect("restart_service", approve(), {"service": '"checkout"', "environment": '"production"'}),
        Expect("drop_database", reject(LEAD), {"name": '"orders_prod"'}),
        Expect("flush_cache", NO_ANSWER),  # nobody answers: the 3 s timeout must fail it closed
    ])  # fmt: skip
    run = run_notebook("channels_and_best_practices.ipynb", script, tmp_path)
    script.assert_done()

    assert [c.risk for c in run.cards] == ["high", "critical", "high"]
    assert [(r["status"], r["by"]) for r in run.final_records()] == [
        ("approved", "on-call engineer"),
        ("rejected", "team lead"),
        ("timed_out", None),
    ]
    assert run.cell_with("read_logs(\"checkout\"))").stdout.splitlines() == [
        "20 lines of checkout logs: all quiet",
        "restarted checkout on staging",
    ]
    assert run.cell_with('restart_service("checkout", "production"))').stdout == "restarted checkout on production\n"
    lead = run.cell_with('drop_database("orders_prod")').stdout
    assert "dropped" not in lead and f"was rejected by a human reviewer (team lead): {LEAD}" in lead
    timed_out = run.cell_with('flush_cache("checkout")').stdout
    assert "flushed" not in timed_out and "the agent reads: flush_cache(service='checkout')" in timed_out
    assert 2.5 < run.cell_with('flush_cache("checkout")').seconds < 30

    env_reject = run.cell_with('os.environ["HITL_MODE"] = "reject"').stdout
    assert env_reject.startswith("5 lines of checkout logs")  # low risk is not affected
    assert "restarted" not in env_reject and "env:HITL_MODE=reject" in env_reject
    env_approve = run.cell_with('os.environ["HITL_MODE"] = "approve"').stdout.splitlines()
    assert env_approve[0] == "restarted search on production"
    assert "restarted" not in "\n".join(env_approve[1:]) and "HITL_MODE" in env_approve[1]  # the typo failed closed

    terminal = run.cell_with("TerminalApprover(").stdout
    assert "Approval needed · risk: HIGH" in terminal and "replicas: 20 → 2" in terminal
    assert "checkout now runs 2 replicas" in terminal
    assert "scale_service(service='checkout', replicas=0) was rejected by a human reviewer (sam): not during the sale" in terminal

    secrets = run.cell_with("rotate_credentials(").stdout
    assert "in the trail: {'new_password': '[REDACTED]', 'service': 'checkout'}" in secrets
    assert "correct-horse" not in (run.workdir / "channels.audit.jsonl").read_text()

    verify = run.cell_with('hitl(["audit", "verify"').stdout
    assert verify.count("exit code:") == 2
    assert "exit code: 0" in verify and "exit code: 1" in verify
    assert "TAMPERED: line" in verify and "hash mismatch (record edited)" in verify
    assert AuditLog.verify(run.workdir / "channels.audit.jsonl")
    assert not AuditLog.verify(run.workdir / "channels.forged.audit.jsonl")

    decisions = [
        (r.get("request", {}).get("function") or r["request_id"], r["decision"], r.get("rule"), r.get("by"))
        for r in run.audit("channels.audit.jsonl")
        if r["type"] == "decision"
    ]
    kinds = [(d[1], d[2], d[3]) for d in decisions]
    assert kinds == [
        ("auto_approved", "risk:low", None),  # read_logs
        ("auto_approved", "risk:low", None),  # restart on staging
        ("approved", "person", "on-call engineer"),
        ("rejected", "person", "team lead"),
        ("timed_out", "timeout", None),
        ("auto_approved", "risk:low", None),  # read_logs under HITL_MODE=reject
        ("auto_rejected", "env:HITL_MODE=reject", None),
        ("auto_approved", "env:HITL_MODE=approve", None),
        ("auto_rejected", "env:HITL_MODE=reject", None),  # the typo
        ("edited", "person", "sam"),
        ("rejected", "person", "sam"),
        ("approved", "person", "team lead"),  # rotate_credentials, scripted
    ]
