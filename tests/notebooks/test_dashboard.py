"""dashboard.ipynb: a real `hitl dashboard` on loopback, critical calls decided there (a rejection the agent
adapts to, a self-approval refused, an approval that runs once), the server's record and the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import AnswerScript, run_notebook

from hitl_widget import AuditLog

pytestmark = pytest.mark.slow


def test_dashboard(tmp_path: Path) -> None:
    script = AnswerScript([])  # no card opens: low-risk calls run, critical ones go to the dashboard
    run = run_notebook("dashboard.ipynb", script, tmp_path, after="print('AUDIT', AUDIT); print('LEFT', sorted(TABLES))")
    script.assert_done()
    assert "The dashboard: http://127.0.0.1:" in run.cell_with("agent_token = hitl(").stdout

    first = run.cell_with("run(agent,").stdout
    assert "[maria on the dashboard] drop_table(name='events_2019') (risk critical, for sam): reject" in first
    assert "keep 2019 for the audit; archive it instead" in first
    assert "I'll archive events_2019 instead of dropping it" in first
    assert "RAN ['archive events_2019']" in first  # the rejected drop never ran

    second = run.cell_with('drop_table, "tmp_import_0412"').stdout
    assert "sam: 403" in second and "cannot approve" in second
    assert "maria: 200 approved" in second
    assert "RESULT dropped tmp_import_0412: 2730 MB freed" in second
    assert "RAN ['archive events_2019', 'drop tmp_import_0412']" in second  # once

    record = run.cell_with("history = maria.get(").html[0]
    assert "succeeded" in record and "rejected" in record and "maria" in record

    audit_path = next(line for line in run.cells[-1].stdout.splitlines() if line.startswith("AUDIT ")).split(" ", 1)[1]
    decisions = [(r["decision"], r.get("by"), r.get("channel")) for r in AuditLog.records(audit_path) if r["type"] == "decision"]
    assert ("rejected", "maria", "dashboard") in decisions and ("approved", "maria", "dashboard") in decisions
    assert "LEFT ['events_2025']" in run.cells[-1].stdout
    assert "server exited 0" in run.cell_with("server.terminate()").stdout
