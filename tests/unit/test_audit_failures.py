"""A result is never lost to an audit failure after the side effect; before it, the call fails closed."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hitl_widget.audit as audit_module
from hitl_widget import (
    ApprovalRejected,
    Approve,
    AuditLog,
    AuditUnavailable,
    AuditWarning,
    Batch,
    Gate,
    Reject,
    ScriptedApprover,
)
from hitl_widget.cli import main as hitl


@pytest.fixture(autouse=True)
def _no_env_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITL_MODE", raising=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


class DiskFull:
    """Makes the audit log's writes fail with ENOSPC while ``when(line)`` is true."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, when: Callable[[bytes], bool], partial: bool = False) -> None:
        self.when = when
        self.partial = partial
        self.failed = 0
        self.real = audit_module._write_all
        monkeypatch.setattr(audit_module, "_write_all", self.write)

    def write(self, fd: int, data: bytes) -> None:
        if self.when(data):
            self.failed += 1
            if self.partial:  # half a line reaches the disk before it fills up
                os.write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.real(fd, data)


def is_type(kind: str) -> Callable[[bytes], bool]:
    return lambda line: f'"type":"{kind}"'.encode() in line


def kinds(path: Path) -> list[str]:
    return [r["type"] for r in AuditLog.records(path)]


@pytest.fixture
def charges() -> list[int]:
    return []


def charging(gate: Gate, charges: list[int]) -> Callable[..., Any]:
    @gate.require_approval
    def charge_card(amount: int) -> str:
        charges.append(amount)
        return f"charged {amount}"

    return charge_card


# -- before running: fail closed ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["request", "decision"])
def test_request_or_decision_not_written_the_call_does_not_run(
    path: Path, monkeypatch: pytest.MonkeyPatch, charges: list[int], kind: str
) -> None:
    log = AuditLog(path)
    approver = ScriptedApprover([Approve()])
    charge_card = charging(Gate(approver=approver, audit=log), charges)
    DiskFull(monkeypatch, is_type(kind))
    with pytest.raises(AuditUnavailable, match=r"charge_card\(\) did not run: its " + kind) as info:
        charge_card(10)
    assert isinstance(info.value.__cause__, OSError) and info.value.__cause__.errno == errno.ENOSPC
    assert isinstance(info.value, ApprovalRejected)  # an agent's handler for "did not run" sees it
    assert charges == []
    assert len(approver.requests) == (0 if kind == "request" else 1)
    log.close()
    assert AuditLog.verify(path)


def test_an_automatic_decision_not_written_does_not_run(
    path: Path, monkeypatch: pytest.MonkeyPatch, charges: list[int]
) -> None:
    monkeypatch.setenv("HITL_MODE", "approve")
    charge_card = charging(Gate(audit=AuditLog(path)), charges)
    DiskFull(monkeypatch, is_type("decision"))
    with pytest.raises(AuditUnavailable):
        charge_card(10)
    assert charges == []


def test_a_batch_call_whose_request_is_not_written_is_not_queued(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = Batch(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))
    send = batch.wrap(lambda to: f"sent to {to}")
    DiskFull(monkeypatch, is_type("request"))
    with pytest.raises(AuditUnavailable):
        send("a@example.com")


def test_a_real_device_that_is_full(path: Path, tmp_path: Path, charges: list[int]) -> None:
    """/dev/full answers every write with ENOSPC: the audit log lives there after a restart."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    link = tmp_path / "full.jsonl"
    link.symlink_to("/dev/full")
    with pytest.raises(OSError) as info:  # a new log cannot even write its header
        AuditLog(link)
    assert info.value.errno == errno.ENOSPC


# -- after running: the caller gets the result --------------------------------------------------


def test_outcome_not_written_the_caller_gets_the_result_and_it_is_loud(
    path: Path, monkeypatch: pytest.MonkeyPatch, charges: list[int], caplog: Any
) -> None:
    log = AuditLog(path)
    charge_card = charging(Gate(approver=ScriptedApprover([Approve(), Approve()]), audit=log), charges)
    full = DiskFull(monkeypatch, is_type("outcome"))
    with pytest.warns(AuditWarning, match=r"charge_card\(amount=10\) RAN and returned"):
        assert charge_card(10) == "charged 10"
    assert charges == [10]
    assert full.failed == 1 and log.unwritten == 1
    errors = [r for r in caplog.records if r.name == "hitl_widget" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and "No space left on device" in errors[0].getMessage()
    assert "do not retry" in errors[0].getMessage()
    # the log says so until the outcome is written
    assert kinds(path) == ["header", "request", "decision"]
    (missing,) = AuditLog.without_outcome(path)
    assert missing["function"] == "charge_card" and missing["decision"] == "approved"
    assert hitl(["audit", "verify", str(path)]) == 0

    full.when = lambda line: False  # space again: the kept record is written before the next one
    assert charge_card(20) == "charged 20"
    log.close()
    records = list(AuditLog.records(path))
    assert [r["type"] for r in records] == ["header", "request", "decision", "outcome", "request", "decision", "outcome"]
    late = records[3]
    assert late["request_id"] == records[1]["request"]["id"] and late["result"] == repr("charged 10")
    assert late["late"]["error"].startswith(f"OSError: [Errno {errno.ENOSPC}]")
    assert "late" not in records[6]
    assert AuditLog.without_outcome(path) == [] and log.unwritten == 0
    assert AuditLog.verify(path)


def test_show_marks_a_record_written_late(path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    log = AuditLog(path)
    charge_card = charging(Gate(approver=ScriptedApprover([Approve()]), audit=log), [])
    full = DiskFull(monkeypatch, is_type("outcome"))
    with pytest.warns(AuditWarning):
        charge_card(1)
    full.when = lambda line: False
    log.close()
    capsys.readouterr()
    assert hitl(["audit", "show", str(path)]) == 0
    out = capsys.readouterr().out
    (line,) = [row for row in out.splitlines() if "outcome" in row]
    assert "returned" in line and "(written late: it failed at " in line and f"Errno {errno.ENOSPC}" in line
    assert "no outcome record" not in out


def test_the_functions_own_exception_reaches_the_caller(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))

    @gate.require_approval
    def charge_card(amount: int) -> str:
        raise ValueError("card declined")

    DiskFull(monkeypatch, is_type("outcome"))
    with pytest.warns(AuditWarning, match="RAN and raised ValueError"), pytest.raises(ValueError, match="card declined"):
        charge_card(10)


async def test_async_function(path: Path, monkeypatch: pytest.MonkeyPatch, charges: list[int]) -> None:
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))

    @gate.require_approval
    async def charge_card(amount: int) -> str:
        charges.append(amount)
        return f"charged {amount}"

    DiskFull(monkeypatch, is_type("outcome"))
    with pytest.warns(AuditWarning):
        assert await charge_card(7) == "charged 7"
    assert charges == [7]


def test_batch_review(path: Path, monkeypatch: pytest.MonkeyPatch, charges: list[int]) -> None:
    """The disk is full for one write only: every result is returned, and the kept outcome is written next."""
    batch = Batch(approver=ScriptedApprover([Approve(), Reject("no"), Approve()]), audit=AuditLog(path))
    charge_card = charging(batch, charges)
    for amount in (1, 2, 3):
        charge_card(amount)
    failures = iter([True])
    DiskFull(monkeypatch, lambda line: is_type("outcome")(line) and next(failures, False))
    with pytest.warns(AuditWarning, match=r"charge_card\(amount=1\) RAN"):
        assert batch.review_and_execute() == {1: "charged 1", 2: "REJECTED: no", 3: "charged 3"}
    assert charges == [1, 3]
    assert AuditLog.without_outcome(path) == [] and AuditLog.verify(path)
    assert sum(1 for r in AuditLog.records(path) if "late" in r) == 1


def test_batch_review_while_the_disk_stays_full(path: Path, monkeypatch: pytest.MonkeyPatch, charges: list[int]) -> None:
    """After the first outcome fails nothing more can be written: later calls fail closed, the first keeps its result."""
    batch = Batch(approver=ScriptedApprover([Approve(), Approve(), Approve()]), audit=AuditLog(path))
    charge_card = charging(batch, charges)
    for amount in (1, 2, 3):
        charge_card(amount)
    full: list[bool] = []
    DiskFull(monkeypatch, lambda line: bool(full) or (is_type("outcome")(line) and not full.append(True)))
    with pytest.warns(AuditWarning):
        results = batch.review_and_execute()
    assert results[1] == "charged 1"
    for n in (2, 3):
        assert results[n].startswith("NOT RUN: charge_card() did not run: its decision")
    assert charges == [1]
    assert batch.pending == []  # failed closed, like a direct call: the agent may call again


async def test_async_batch_review(path: Path, monkeypatch: pytest.MonkeyPatch, charges: list[int]) -> None:
    batch = Batch(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))

    @batch.require_approval
    async def charge_card(amount: int) -> str:
        charges.append(amount)
        return f"charged {amount}"

    await charge_card(4)
    DiskFull(monkeypatch, is_type("outcome"))
    with pytest.warns(AuditWarning):
        assert await batch.areview_and_execute() == {1: "charged 4"}
    assert charges == [4]


def test_a_partial_line_is_taken_back_and_the_chain_holds(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(path)
    charges: list[int] = []
    charge_card = charging(Gate(approver=ScriptedApprover(default=Approve()), audit=log), charges)
    full = DiskFull(monkeypatch, is_type("outcome"), partial=True)
    with pytest.warns(AuditWarning):
        charge_card(1)
    assert AuditLog.verify(path)  # no half record left in the file
    full.when = lambda line: False
    charge_card(2)
    log.close()
    assert AuditLog.verify(path) and kinds(path).count("outcome") == 2


def test_kept_records_are_written_at_close(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(path)
    charge_card = charging(Gate(approver=ScriptedApprover([Approve()]), audit=log), [])
    full = DiskFull(monkeypatch, is_type("outcome"))
    with pytest.warns(AuditWarning):
        charge_card(1)
    full.when = lambda line: False
    log.close()
    assert kinds(path)[-1] == "outcome" and AuditLog.verify(path)


def test_the_real_file_replaced_by_a_full_device_while_the_call_runs(path: Path, tmp_path: Path) -> None:
    """A real ENOSPC from the kernel: while charge_card runs, the log's file becomes /dev/full."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover(default=Approve()), audit=log)
    aside = tmp_path / "aside.jsonl"

    @gate.require_approval
    def charge_card(amount: int) -> str:
        log.close()
        path.rename(aside)
        path.symlink_to("/dev/full")
        return f"charged {amount}"

    with pytest.warns(AuditWarning, match=f"Errno {errno.ENOSPC}"):
        assert charge_card(5) == "charged 5"
    log.close()  # cannot write the kept record yet: still full
    path.unlink()
    aside.rename(path)
    assert [m["function"] for m in AuditLog.without_outcome(path)] == ["charge_card"]
    log.append("note", text="disk has space again")
    log.close()
    assert kinds(path)[-2:] == ["outcome", "note"] and AuditLog.verify(path)
    assert AuditLog.without_outcome(path) == []


def test_warnings_as_errors_do_not_take_the_result_away(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    charges: list[int] = []
    charge_card = charging(Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path)), charges)
    DiskFull(monkeypatch, is_type("outcome"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert charge_card(3) == "charged 3"
    assert charges == [3]


@pytest.fixture
def capsys_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    yield lambda: capsys.readouterr().out


def test_verify_and_show_name_calls_without_outcome(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys_lines: Callable[[], str]
) -> None:
    charge_card = charging(Gate(approver=ScriptedApprover([Approve(), Approve()]), audit=AuditLog(path)), [])
    charge_card(1)
    DiskFull(monkeypatch, is_type("outcome"))
    with pytest.warns(AuditWarning):
        charge_card(2)
    capsys_lines()
    assert hitl(["audit", "verify", str(path)]) == 0
    out = capsys_lines()
    assert "NOTE: 1 call(s) were decided to run but have no outcome record" in out
    assert out.count("charge_card approved") == 1
    assert hitl(["audit", "show", str(path)]) == 0
    assert "no outcome record" in capsys_lines()


@pytest.mark.subprocess
def test_kept_records_are_written_at_exit(path: Path) -> None:
    """A process that ends without closing its log still writes the kept outcome, if it can by then."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import errno, os, warnings
        import hitl_widget.audit as audit_module
        from hitl_widget import Approve, AuditLog, Gate, ScriptedApprover
        warnings.simplefilter("ignore")
        real = audit_module._write_all
        full = [True]
        def write(fd, data):
            if full[0] and b'"type":"outcome"' in data:
                raise OSError(errno.ENOSPC, "No space left on device")
            real(fd, data)
        audit_module._write_all = write
        log = AuditLog({str(path)!r})
        gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)
        print(gate.wrap(lambda amount: f"charged {{amount}}")(9))
        full[0] = False  # space again; the process ends without log.close()
        """
    )
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    env.pop("HITL_MODE", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "charged 9" and "RAN and returned" in done.stderr
    assert kinds(path)[-1] == "outcome" and AuditLog.without_outcome(path) == [] and AuditLog.verify(path)


def test_a_kept_record_is_redacted_like_any_other(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover([Approve(), Approve()]), audit=log)
    issue = gate.wrap(lambda user: f"issued api_key=AK-{user}-0001 for {user}")
    full = DiskFull(monkeypatch, is_type("outcome"))
    with pytest.warns(AuditWarning):
        assert issue("bob") == "issued api_key=AK-bob-0001 for bob"
    full.when = lambda line: False
    issue("eve")
    log.close()
    text = path.read_text(encoding="utf-8")
    assert "AK-bob-0001" not in text and "AK-eve-0001" not in text
    late = next(r for r in AuditLog.records(path) if "late" in r)
    assert late["result"] == repr("issued api_key=[REDACTED] for bob")
