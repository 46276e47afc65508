"""``hitl users …`` and ``hitl tokens …`` on both backends: in-process, and as real programs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hitl_widget.cli import main
from hitl_widget.dashboard.cli import redact
from hitl_widget.dashboard.store import User, open_store

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


class _Stdin(io.StringIO):
    def isatty(self) -> bool:
        return False


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", _Stdin(stdin))
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_users_and_tokens(db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(monkeypatch, capsys, "users", "add", "alice", "--role", "ops", "--role", "manager", "--db", db,
                           stdin="s3cret pass\n")  # fmt: skip
    assert status == 0, err
    assert "alice" in out and "ops, manager" in out

    assert run(monkeypatch, capsys, "users", "add", "alice", "--db", db, stdin="x\n")[:1] == (1,)  # taken
    status, _, err = run(monkeypatch, capsys, "users", "add", "bob", "--db", db, stdin="")
    assert status == 2 and "no password" in err
    status, _, err = run(monkeypatch, capsys, "users", "add", "<b>", "--db", db, stdin="pw\n")
    assert status == 2 and "user name" in err
    status, _, err = run(monkeypatch, capsys, "users", "add", "bob", "--role", "a role", "--db", db, stdin="pw\n")
    assert status == 2 and "roles" in err

    status, out, _ = run(monkeypatch, capsys, "tokens", "add", "agent-1", "--db", db)
    assert status == 0
    token = out.strip().splitlines()[-1]
    status, _, err = run(monkeypatch, capsys, "tokens", "add", "alice", "--db", db)
    assert status == 1 and "person" in err

    assert run(monkeypatch, capsys, "users", "link-slack", "alice", "U0ALICE", "--db", db)[0] == 0
    assert run(monkeypatch, capsys, "users", "link-slack", "nobody", "U0X", "--db", db)[0] == 1

    with open_store(db) as store:
        assert store.verify_password("alice", "s3cret pass") == User("alice", "person", ("ops", "manager"), "U0ALICE")
        assert store.user_for_token(token) == User("agent-1", kind="agent")
        assert store.user_for_slack("U0ALICE") is not None
        assert store.get_user("bob") is None

    status, out, _ = run(monkeypatch, capsys, "users", "list", "--db", db)
    assert status == 0 and "alice\tperson\tops,manager  slack=U0ALICE" in out and "agent-1\tagent" in out

    status, out, _ = run(monkeypatch, capsys, "tokens", "revoke", "agent-1", "--db", db)
    assert status == 0 and "revoked 1" in out
    assert run(monkeypatch, capsys, "tokens", "revoke", "agent-1", "--db", db)[0] == 1
    with open_store(db) as store:
        assert store.user_for_token(token) is None

    status, out, _ = run(monkeypatch, capsys, "users", "roles", "alice", "--role", "ops", "--db", db)
    assert status == 0 and out.strip() == "alice: ops"
    assert run(monkeypatch, capsys, "users", "roles", "nobody", "--db", db)[0] == 1
    assert run(monkeypatch, capsys, "users", "add", "dave", "--db", db, stdin="pw\n")[0] == 0
    assert run(monkeypatch, capsys, "users", "remove", "dave", "--db", db)[0] == 0
    assert run(monkeypatch, capsys, "users", "remove", "dave", "--db", db)[0] == 1

    status, _, _ = run(monkeypatch, capsys, "users", "passwd", "alice", "--db", db, stdin="new one\r\n")
    assert status == 0
    with open_store(db) as store:
        assert store.verify_password("alice", "new one") is not None
        assert store.verify_password("alice", "s3cret pass") is None


def test_usage_errors(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(monkeypatch, capsys, "users")[0] == 2
    assert run(monkeypatch, capsys, "tokens", "add")[0] == 2
    assert run(monkeypatch, capsys, "users", "frobnicate", "x")[0] == 2
    status, _, err = run(monkeypatch, capsys, "tokens", "add", "a", "--db", str(tmp_path / "missing" / "x.db"))
    assert status == 2 and "cannot open the store" in err
    status, _, err = run(monkeypatch, capsys, "tokens", "add", "a", "--db", "postgresql://me:hunter2@127.0.0.1:1/x")
    assert status == 2 and "hunter2" not in err and "me:***@" in err
    assert redact("postgresql://u:p@w@h/db") == "postgresql://u:***@h/db"
    assert redact("hitl.db") == "hitl.db"


def test_programs_read_the_password_from_a_pipe(db: str, tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("HITL_DB", None)
    added = subprocess.run(
        [sys.executable, "-m", "hitl_widget", "users", "add", "carol", "--role", "ops", "--db", db],
        input="pipe pass\n", capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    token = subprocess.run(
        [sys.executable, "-m", "hitl_widget", "tokens", "add", "agent-9"],
        capture_output=True, text=True, env={**env, "HITL_DB": db}, cwd=cwd, timeout=60,
    )  # fmt: skip
    assert token.returncode == 0, token.stderr
    with open_store(db) as store:
        assert store.verify_password("carol", "pipe pass") == User("carol", roles=("ops",))
        assert store.user_for_token(token.stdout.strip().splitlines()[-1]) == User("agent-9", kind="agent")
    assert not (cwd / "hitl.db").exists()  # --db / HITL_DB were used, not the default
