"""data_analysis.ipynb: reads run freely, a write refused until the agent reads only, a DELETE with its dry run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from harness import NOTEBOOKS, AnswerScript, Expect, approve, reject, run_notebook

from hitl_widget import AuditLog

pytestmark = pytest.mark.slow


def _test_orders(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        query = "SELECT COUNT(*) FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE email LIKE '%@example.test')"
        return int(con.execute(query).fetchone()[0])
    finally:
        con.close()


def test_data_analysis(tmp_path: Path) -> None:
    shipped = NOTEBOOKS / "data" / "shop.sqlite"
    before = shipped.read_bytes()
    expected_deleted = _test_orders(shipped)
    script = AnswerScript([
        Expect("run_sql", reject("must use a READ ONLY transaction")),
        Expect("run_sql", approve()),
    ])  # fmt: skip
    run = run_notebook("data_analysis.ipynb", script, tmp_path)
    script.assert_done()
    create, delete = run.cards
    assert create.arguments["sql"].startswith('"CREATE TABLE revenue_2025 AS SELECT')
    assert (create.risk, delete.risk) == ("medium", "high")
    assert delete.arguments["sql"].startswith('"DELETE FROM orders WHERE customer_id IN')
    # the dry run reached the card as context, before the person decided
    context = {entry["name"]: entry["text"] for entry in delete.view["context"]}
    assert context["dry run"] == f"{expected_deleted} rows would change (run in a transaction, then rolled back)"
    assert context["statement does"] == "delete orders"
    assert create.view["context"][0]["text"].endswith("(run in a transaction, then rolled back)")

    line = next(x for x in run.cell_with('print("SUMMARY"').stdout.splitlines() if x.startswith("SUMMARY "))
    summary = json.loads(line.removeprefix("SUMMARY "))
    assert summary["tables"] == ["customers", "import_2023", "orders", "products"]  # revenue_2025 was never created
    assert summary["test_orders_left"] == 0 and summary["orders_left"] == 3000 - expected_deleted
    assert [d for _, d in summary["decisions"]] == ["✓ not asked", "✗ rejected", "✓ not asked", "✓ not asked", "✓ approved"]
    assert summary["audit_intact"] is True
    transcript = run.cell_with("answer = await run(").stdout
    assert 'The reviewer said "must use a READ ONLY transaction". So I create no table' in transcript
    assert transcript.count(", read_only=True)") == 2 and f"ok: {expected_deleted} rows changed" in transcript
    assert transcript.count("→ run_sql(sql=\"CREATE TABLE") == 1  # never tried again
    assert "Paid revenue per month, 2025" in run.html and "<svg" in run.html

    log = run.workdir / "data_analysis.audit.jsonl"
    assert AuditLog.verify(log)
    records = [r for r in AuditLog.records(log) if r["type"] == "decision"]
    assert [(r["decision"], r["rule"]) for r in records] == [
        ("not_required", "when"), ("rejected", "person"),
        ("not_required", "when"), ("not_required", "when"), ("approved", "person"),
    ]  # fmt: skip
    assert shipped.read_bytes() == before  # the notebook works on a copy
