"""deployment_pipeline.ipynb: staging unasked, production refused in CI, a freeze the agent turns into a scheduled deploy."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from harness import AnswerScript, Expect, approve, reject, run_notebook

from hitl_widget import AuditLog

pytestmark = pytest.mark.slow


def test_deployment_pipeline(tmp_path: Path) -> None:
    today = date.today()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    script = AnswerScript([
        # the CI run (HITL_MODE=reject) opens no card; the release run asks twice
        Expect("deploy", reject("freeze until Monday"), {"env": '"production"', "version": '"2.4.0"'}),
        Expect("schedule_deploy", approve(), {"env": '"production"', "not_before": f'"{monday.isoformat()}"'}),
    ])  # fmt: skip
    run = run_notebook("deployment_pipeline.ipynb", script, tmp_path)
    script.assert_done()
    assert [c.risk for c in run.cards] == ["high", "medium"]

    line = next(x for x in run.cell_with('print("SUMMARY"').stdout.splitlines() if x.startswith("SUMMARY "))
    summary = json.loads(line.removeprefix("SUMMARY "))
    # CI: built, tested, staging deployed; production refused without a card
    assert summary["ci"]["ran"] == ["build 2.4.0", "tests unit", "tests integration", "deploy staging"]
    assert "Production was not deployed" in summary["ci"]["answer"]
    # the release run: production rejected by the person, the agent scheduled it for Monday instead
    assert summary["release"]["ran"] == [
        "build 2.4.0", "tests unit", "tests integration", "deploy staging",
        f"schedule production {monday.isoformat()}", "notify #releases",
    ]  # fmt: skip
    assert "deploy production" not in summary["release"]["ran"]
    release = run.cell_with("ran.clear()").stdout
    assert 'The reviewer said "freeze until Monday". I will not deploy to production now' in release
    assert release.count("→ deploy(service='shop-api', version='2.4.0', env='production')") == 1  # never retried
    assert summary["audit_intact"] is True
    assert len(summary["refused"]) == 2  # production in CI (HITL_MODE) and by the person

    log = run.workdir / "deployment_pipeline.audit.jsonl"
    assert AuditLog.verify(log)
    decisions = [(r["decision"], r["rule"]) for r in AuditLog.records(log) if r["type"] == "decision"]
    assert decisions == [
        ("auto_approved", "risk:low"), ("auto_rejected", "env:HITL_MODE=reject"),  # CI
        ("auto_approved", "risk:low"), ("rejected", "person"), ("approved", "person"),  # the release run
    ]  # fmt: skip
    assert "audit log intact: True" in run.cell_with("show_table(audit_rows(AUDIT)").stdout
