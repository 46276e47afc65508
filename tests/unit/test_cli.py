"""The ``hitl`` command line: ``audit verify`` and ``audit show``, in-process and as programs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hitl_widget import ApprovalRejected, Approve, AuditLog, Edit, Gate, Reject, ScriptedApprover
from hitl_widget.cli import main

REPO = Path(__file__).resolve().parents[2]
HITL = Path(sys.executable).parent / "hitl"
VENV_HITL = REPO / ".venv" / "bin" / "hitl"


@pytest.fixture(autouse=True)
def _no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("HITL_MODE", None)
    return env


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    """A log with an approval, a rejection with feedback, and an edit."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    gate = Gate(
        approver=ScriptedApprover([Approve(by="alice"), Reject("too risky", by="bob"), Edit({"user_id": 8}, by="carol")]),
        audit=log,
    )

    @gate.require_approval
    def delete_user(user_id: int) -> str:
        """Delete a user."""
        return f"deleted {user_id}"

    delete_user(1)
    with pytest.raises(ApprovalRejected):
        delete_user(2)
    delete_user(3)
    log.close()
    assert AuditLog.verify(path)
    return path


@pytest.fixture
def tampered(log_path: Path) -> Path:
    text = log_path.read_text(encoding="utf-8")
    assert '"by":"bob"' in text
    log_path.write_text(text.replace('"by":"bob"', '"by":"eve"'), encoding="utf-8")
    return log_path


# -- verify, in process ------------------------------------------------------------------------


def test_verify_intact_returns_0(log_path, capsys):
    assert main(["audit", "verify", str(log_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 9 records")
    assert AuditLog.check(log_path).head in out


def test_verify_tampered_returns_1(tampered, capsys):
    assert main(["audit", "verify", str(tampered)]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED" in out and "line 6" in out


def test_verify_dropped_line_returns_1(log_path, capsys):
    rows = log_path.read_text(encoding="utf-8").split("\n")
    del rows[3]
    log_path.write_text("\n".join(rows), encoding="utf-8")
    assert main(["audit", "verify", str(log_path)]) == 1


def test_verify_a_file_that_is_not_a_log_returns_1(tmp_path, capsys):
    p = tmp_path / "notes.txt"
    p.write_text("hello\n", encoding="utf-8")
    assert main(["audit", "verify", str(p)]) == 1
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert main(["audit", "verify", str(empty)]) == 1
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage\n")
    assert main(["audit", "verify", str(binary)]) == 1


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["audit"],
        ["audit", "verify"],
        ["audit", "show"],
        ["audit", "nonsense", "x"],
        ["other", "verify", "x"],
        ["audit", "verify", "a", "b"],
        ["audit", "verify", "--bogus", "x"],
    ],
)
def test_usage_errors_return_2(argv, capsys):
    assert main(argv) == 2
    assert "usage" in capsys.readouterr().err.lower()


def test_missing_file_returns_2(tmp_path, capsys):
    assert main(["audit", "verify", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["audit", "show", str(tmp_path / "nope.jsonl")]) == 2


def test_verify_a_directory_returns_2(tmp_path, capsys):
    assert main(["audit", "verify", str(tmp_path)]) == 2


def test_help_returns_0(capsys):
    assert main(["--help"]) == 0
    assert "audit" in capsys.readouterr().out


# -- show ------------------------------------------------------------------------------------------


def test_show_prints_records_human_readably(log_path, capsys):
    assert main(["audit", "show", str(log_path)]) == 0
    out = capsys.readouterr().out
    rows = out.strip().split("\n")
    assert len(rows) == 9 + 1  # one line per record, then the chain status
    assert "header" in rows[0] and "hitl-audit/1" in rows[0]
    assert "request" in rows[1] and "delete_user" in rows[1] and "risk=medium" in rows[1] and "via scripted" in rows[1]
    assert "decision" in rows[2] and "approved by alice" in rows[2] and "[person]" in rows[2]
    assert "outcome" in rows[3] and "returned" in rows[3] and "ms" in rows[3]
    assert "rejected by bob" in rows[5] and "feedback='too risky'" in rows[5]
    assert "edited by carol" in rows[7] and 'edit={"user_id": {"from": 3, "to": 8}}' in rows[7]
    assert rows[-1] == "-- chain intact"
    for n, row in enumerate(rows[:-1]):
        assert row.split()[0] == str(n)  # the seq column


def test_show_json_prints_one_record_per_line(log_path, capsys):
    assert main(["audit", "show", "--json", str(log_path)]) == 0
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.strip().split("\n") if not line.startswith("--")]
    assert records == list(AuditLog.records(log_path))
    assert [r["type"] for r in records][:4] == ["header", "request", "decision", "outcome"]


def test_show_json_output_is_only_json(log_path, capsys):
    assert main(["audit", "show", "--json", str(log_path)]) == 0
    for line in capsys.readouterr().out.strip().split("\n"):
        json.loads(line)


def test_show_tampered_returns_1_and_says_where(tampered, capsys):
    assert main(["audit", "show", str(tampered)]) == 1
    out = capsys.readouterr().out
    assert out.strip().split("\n")[-1].startswith("-- TAMPERED: line 6")


def test_show_a_file_that_is_not_json_returns_1(tmp_path, capsys):
    p = tmp_path / "notes.txt"
    p.write_text("hello\n", encoding="utf-8")
    assert main(["audit", "show", str(p)]) == 1


def test_show_a_directory_returns_2(tmp_path, capsys):
    assert main(["audit", "show", str(tmp_path)]) == 2


def test_show_json_that_is_not_an_object_returns_1(tmp_path, capsys):
    p = tmp_path / "list.jsonl"
    p.write_text("[1, 2]\n", encoding="utf-8")
    assert main(["audit", "show", str(p)]) == 1


# -- as programs ---------------------------------------------------------------------------------------


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=child_env(), timeout=60, cwd=REPO)


@pytest.mark.subprocess
def test_python_m_hitl_widget_exit_codes(log_path, tmp_path):
    ok = run([sys.executable, "-m", "hitl_widget", "audit", "verify", str(log_path)])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK:")
    missing = run([sys.executable, "-m", "hitl_widget", "audit", "verify", str(tmp_path / "nope.jsonl")])
    assert missing.returncode == 2
    usage = run([sys.executable, "-m", "hitl_widget", "audit", "verify"])
    assert usage.returncode == 2 and "usage" in usage.stderr.lower()
    show = run([sys.executable, "-m", "hitl_widget", "audit", "show", str(log_path)])
    assert show.returncode == 0 and "approved by alice" in show.stdout
    text = log_path.read_text(encoding="utf-8")
    log_path.write_text(text.replace('"by":"alice"', '"by":"alicf"', 1), encoding="utf-8")
    bad = run([sys.executable, "-m", "hitl_widget", "audit", "verify", str(log_path)])
    assert bad.returncode == 1 and "TAMPERED" in bad.stdout


def test_console_script_exit_codes(log_path, tmp_path):
    script = HITL if HITL.exists() else VENV_HITL
    if not script.exists():
        pytest.skip("the hitl console script is not installed")
    ok = run([str(script), "audit", "verify", str(log_path)])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK:")
    shown = run([str(script), "audit", "show", "--json", str(log_path)])
    assert shown.returncode == 0
    assert json.loads(shown.stdout.split("\n")[0])["type"] == "header"
    assert run([str(script), "audit", "verify", str(tmp_path / "nope.jsonl")]).returncode == 2
    assert run([str(script)]).returncode == 2
    rows = log_path.read_text(encoding="utf-8").split("\n")
    rows[2], rows[3] = rows[3], rows[2]
    log_path.write_text("\n".join(rows), encoding="utf-8")
    assert run([str(script), "audit", "verify", str(log_path)]).returncode == 1
