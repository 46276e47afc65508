"""AuditLog: the hash-chained JSONL trail, and what Gate(audit=...) writes into it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hitl_widget.audit as audit_module
from hitl_widget import (
    ApprovalCancelled,
    ApprovalRejected,
    ApprovalTimeout,
    Approve,
    AuditLog,
    Edit,
    Gate,
    Reject,
    ScriptedApprover,
)
from hitl_widget.audit import FORMAT, GENESIS, REDACTED

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


def lines(path: Path) -> list[str]:
    """The file's lines, split on "\\n" only (str.splitlines would also split at U+2028)."""
    text = path.read_text(encoding="utf-8")
    return [line + "\n" for line in text.split("\n")[:-1]] if text else []


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines(path)]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("HITL_MODE", None)
    return env


def gated(path: Path, decisions: list[Any], **options: Any):
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover(decisions), audit=log, **options)

    @gate.require_approval
    def transfer(amount: int, to: str = "bob") -> str:
        """Move money."""
        if amount < 0:
            raise ValueError("negative amount")
        return f"sent {amount} to {to}"

    return log, transfer


# -- the file --------------------------------------------------------------------------


def test_new_log_starts_with_a_header_and_appends_records(path):
    log = AuditLog(path)
    first = log.append("note", text="hello", n=1)
    second = log.append("note", text="world")
    log.close()
    records = read(path)
    assert [r["type"] for r in records] == ["header", "note", "note"]
    header = records[0]
    assert header["format"] == FORMAT
    assert header["seq"] == 0 and header["prev"] == GENESIS
    assert isinstance(header["log_id"], str) and len(header["log_id"]) >= 8
    assert [r["seq"] for r in records] == [0, 1, 2]
    assert records[1]["prev"] == header["hash"] and records[2]["prev"] == records[1]["hash"]
    assert records[1]["text"] == "hello" and records[1]["n"] == 1
    assert first["hash"] == records[1]["hash"] and second["hash"] == records[2]["hash"]
    assert log.head == records[2]["hash"]
    for record in records:
        assert "ts" in record
    assert AuditLog.verify(path) is True
    result = AuditLog.check(path)
    assert result.ok and result.records == 3 and result.head == log.head


def test_context_manager_closes_and_a_closed_log_reopens_on_append(path):
    with AuditLog(path) as log:
        log.append("note", n=1)
    log.append("note", n=2)  # reopens
    log.close()
    assert [r.get("n") for r in read(path)] == [None, 1, 2]
    assert AuditLog.verify(path)


# -- what a gate records ----------------------------------------------------------------


def test_gate_records_request_decision_and_outcome_per_call(path):
    log, transfer = gated(path, [Approve(by="alice"), Reject("too much", by="bob"), Edit({"amount": 5}, by="carol")])
    assert transfer(10) == "sent 10 to bob"
    with pytest.raises(ApprovalRejected, match="too much"):
        transfer(1000)
    assert transfer(50, to="eve") == "sent 5 to eve"
    log.close()
    records = read(path)
    assert [r["type"] for r in records] == [
        "header",
        "request", "decision", "outcome",
        "request", "decision",
        "request", "decision", "outcome",
    ]  # fmt: skip
    request, decision, outcome = records[1:4]
    assert request["request"]["function"] == "transfer"
    assert request["request"]["arguments"] == {"amount": 10, "to": "bob"}
    assert request["request"]["risk"] == "medium"
    assert request["request"]["summary"] == "Move money."
    assert request["channel"] == "scripted"
    rid = request["request"]["id"]
    assert decision["request_id"] == rid
    assert decision["decision"] == "approved"
    assert decision["by"] == "alice"
    assert decision["channel"] == "scripted"
    assert decision["rule"] == "person"
    assert outcome["request_id"] == rid
    assert outcome["status"] == "returned"
    assert outcome["result"] == repr("sent 10 to bob")
    assert isinstance(outcome["duration_ms"], (int, float)) and outcome["duration_ms"] >= 0

    rejected = records[5]
    assert rejected["decision"] == "rejected"
    assert rejected["by"] == "bob"
    assert rejected["feedback"] == "too much"
    assert rejected["request_id"] == records[4]["request"]["id"]

    edited = records[7]
    assert edited["decision"] == "edited"
    assert edited["by"] == "carol"
    assert edited["edit"] == {"amount": {"from": 50, "to": 5}}
    assert records[8]["status"] == "returned" and records[8]["result"] == repr("sent 5 to eve")
    assert AuditLog.verify(path)


def test_gate_records_a_function_that_raised(path):
    log, transfer = gated(path, [Approve()])
    with pytest.raises(ValueError, match="negative"):
        transfer(-1)
    log.close()
    outcome = read(path)[-1]
    assert outcome["type"] == "outcome"
    assert outcome["status"] == "raised"
    assert "ValueError" in outcome["error"] and "negative amount" in outcome["error"]
    assert "duration_ms" in outcome


def test_auto_decisions_from_hitl_mode_are_audited(path, monkeypatch):
    monkeypatch.setenv("HITL_MODE", "approve")
    log, transfer = gated(path, [])  # the approver is never asked
    assert transfer(3) == "sent 3 to bob"
    log.close()
    records = read(path)
    assert [r["type"] for r in records] == ["header", "decision", "outcome"]
    decision = records[1]
    assert decision["decision"] == "auto_approved"
    assert decision["rule"] == "env:HITL_MODE=approve"
    assert decision["request"]["function"] == "transfer"
    assert decision["request"]["arguments"] == {"amount": 3, "to": "bob"}
    assert records[2]["status"] == "returned"
    assert AuditLog.verify(path)


def test_auto_rejection_from_hitl_mode_is_audited(path, monkeypatch):
    monkeypatch.setenv("HITL_MODE", "reject")
    log, transfer = gated(path, [])
    with pytest.raises(ApprovalRejected):
        transfer(3)
    log.close()
    records = read(path)
    assert [r["type"] for r in records] == ["header", "decision"]
    assert records[1]["decision"] == "auto_rejected"
    assert records[1]["rule"] == "env:HITL_MODE=reject"


@pytest.mark.threads
def test_timeouts_are_recorded_as_timed_out_not_rejected(path):
    def slow(request):
        time.sleep(1.0)
        return Approve()

    log = AuditLog(path)
    gate = Gate(approver=slow, audit=log, timeout=0.2)

    @gate.require_approval
    def act(x: int) -> int:
        return x

    with pytest.raises(ApprovalTimeout):
        act(1)
    log.close()
    records = read(path)
    assert [r["type"] for r in records] == ["header", "request", "decision"]
    decision = records[2]
    assert decision["decision"] == "timed_out"
    assert decision["decision"] != "rejected"
    assert decision["rule"] == "timeout"
    assert AuditLog.verify(path)


def _gives_up(request):
    raise ApprovalTimeout("the remote reviewer did not answer in time")


def test_an_approver_timing_out_itself_is_recorded_as_timed_out(path):
    log = AuditLog(path)
    gate = Gate(approver=_gives_up, audit=log)  # no timeout= on the gate: the channel gave up on its own

    @gate.require_approval
    def act(x: int) -> int:
        return x

    with pytest.raises(ApprovalTimeout):
        act(1)
    log.close()
    decision = read(path)[-1]
    assert decision["decision"] == "timed_out"
    assert AuditLog.verify(path)


def test_an_approver_timing_out_without_a_gate_timeout_raises_approval_timeout(path):
    gate = Gate(approver=_gives_up)

    @gate.require_approval
    def act(x: int) -> int:
        return x

    with pytest.raises(ApprovalTimeout):
        act(1)


def test_cancellations_are_recorded_as_cancelled(path):
    def cancels(request):
        raise ApprovalCancelled("closed the dialog")

    log = AuditLog(path)
    gate = Gate(approver=cancels, audit=log)

    @gate.require_approval
    def act(x: int) -> int:
        return x

    with pytest.raises(ApprovalCancelled):
        act(1)
    log.close()
    assert read(path)[-1]["decision"] == "cancelled"


# -- tampering ----------------------------------------------------------------------------


@pytest.fixture
def full_log(path: Path) -> Path:
    log, transfer = gated(path, [Approve(by="alice"), Reject("nope", by="bob"), Approve(by="alice")])
    transfer(1)
    with pytest.raises(ApprovalRejected):
        transfer(2)
    transfer(3)
    log.close()
    assert AuditLog.verify(path)
    assert len(lines(path)) == 9
    return path


def test_verify_detects_an_edited_value(full_log):
    text = full_log.read_text(encoding="utf-8")
    assert text.count('"by":"bob"') == 1
    full_log.write_text(text.replace('"by":"bob"', '"by":"bot"'), encoding="utf-8")
    assert AuditLog.verify(full_log) is False
    result = AuditLog.check(full_log)
    assert not result.ok and result.line == 6 and "edited" in result.problem


def test_verify_detects_an_edited_number(full_log):
    rows = lines(full_log)
    assert '"amount":1,' in rows[1]
    rows[1] = rows[1].replace('"amount":1,', '"amount":7,')
    full_log.write_text("".join(rows), encoding="utf-8")
    assert not AuditLog.verify(full_log)


def test_verify_detects_a_dropped_record(full_log):
    rows = lines(full_log)
    del rows[4]
    full_log.write_text("".join(rows), encoding="utf-8")
    assert AuditLog.verify(full_log) is False
    assert AuditLog.check(full_log).line == 5


def test_verify_detects_reordered_records(full_log):
    rows = lines(full_log)
    rows[3], rows[4] = rows[4], rows[3]
    full_log.write_text("".join(rows), encoding="utf-8")
    assert AuditLog.verify(full_log) is False


def test_verify_detects_a_removed_header(full_log):
    rows = lines(full_log)
    full_log.write_text("".join(rows[1:]), encoding="utf-8")
    assert AuditLog.verify(full_log) is False
    assert AuditLog.check(full_log).line == 1


def test_verify_detects_a_forged_first_record(path):
    # a record that chains from GENESIS correctly but is not a header
    body = {"seq": 0, "ts": "x", "type": "note", "prev": GENESIS}
    canonical = audit_module._canonical(body)
    forged = canonical[:-1] + f',"hash":"{audit_module._digest(GENESIS, canonical)}"}}\n'
    path.write_text(forged, encoding="utf-8")
    assert AuditLog.verify(path) is False


@pytest.mark.parametrize("garbage", ["", "\n", "not json\n", "[1, 2]\n", '{"seq": 0}\n'])
def test_verify_rejects_files_that_are_not_logs(tmp_path, garbage):
    p = tmp_path / "x.jsonl"
    p.write_text(garbage, encoding="utf-8")
    assert AuditLog.verify(p) is False


def test_verify_detects_an_inserted_blank_line(full_log):
    rows = lines(full_log)
    rows.insert(3, "\n")
    full_log.write_text("".join(rows), encoding="utf-8")
    assert AuditLog.verify(full_log) is False


# -- reopening and several writers -------------------------------------------------------------


def test_reopening_appends_and_keeps_the_chain(path):
    with AuditLog(path) as log:
        log.append("note", n=1)
        head = log.head
    with AuditLog(path) as again:
        assert again.head == head
        again.append("note", n=2)
    records = read(path)
    assert [r["type"] for r in records] == ["header", "note", "note"]
    assert records[2]["prev"] == head
    assert AuditLog.verify(path)


@pytest.mark.subprocess
def test_reopening_in_a_fresh_process_appends_and_keeps_the_chain(path):
    with AuditLog(path) as log:
        log.append("note", n=1)
    code = textwrap.dedent(
        f"""
        from hitl_widget import AuditLog
        with AuditLog({str(path)!r}) as log:
            log.append("note", n=2)
            log.append("note", n=3)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env(), timeout=60)
    with AuditLog(path) as log:
        log.append("note", n=4)
    records = read(path)
    assert [r.get("n") for r in records] == [None, 1, 2, 3, 4]
    assert sum(r["type"] == "header" for r in records) == 1
    assert AuditLog.verify(path)


def test_refuses_to_append_after_a_garbage_last_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text("this is not an audit record\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not an audit record"):
        AuditLog(p)


@pytest.mark.threads
def test_two_logs_on_one_path_in_one_process_keep_the_chain(path):
    a = AuditLog(path)
    b = AuditLog(path)
    a.append("note", who="a", n=1)
    b.append("note", who="b", n=1)
    a.append("note", who="a", n=2)

    def writer(log: AuditLog, who: str) -> None:
        for n in range(50):
            log.append("note", who=who, n=n)

    threads = [threading.Thread(target=writer, args=(log, who)) for log, who in ((a, "ta"), (b, "tb"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    a.close()
    b.close()
    records = read(path)
    assert len(records) == 1 + 3 + 100
    assert sum(r["type"] == "header" for r in records) == 1
    assert AuditLog.verify(path)


WRITER = textwrap.dedent(
    """
    import sys
    from hitl_widget import AuditLog
    path, who, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    log = AuditLog(path)
    for n in range(count):
        log.append("note", who=who, n=n)
    log.close()
    """
)


@pytest.mark.subprocess
def test_other_processes_appending_keep_the_chain(path, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    local = AuditLog(path)
    local.append("note", who="parent", n=-1)
    procs = [
        subprocess.Popen([sys.executable, str(script), str(path), f"p{i}", "150"], env=child_env()) for i in range(3)
    ]
    try:
        for n in range(150):
            local.append("note", who="parent", n=n)
        for proc in procs:
            assert proc.wait(timeout=60) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    local.append("note", who="parent", n=999)  # after the others: must follow their last record
    local.close()
    records = read(path)
    assert len(records) == 1 + 1 + 150 * 4 + 1
    assert sum(r["type"] == "header" for r in records) == 1
    for who in ("p0", "p1", "p2"):
        assert [r["n"] for r in records if r.get("who") == who] == list(range(150))
    result = AuditLog.check(path)
    assert result.ok, result


# -- what is written about arguments ------------------------------------------------------------


def test_secret_looking_argument_names_are_redacted(path):
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

    @gate.require_approval
    def connect(host: str, password: str, api_key: str, token: str, options: dict) -> str:
        return "ok"

    connect("db.example", "hunter2", "AKIA-123", "tok-456", {"retries": 3, "login": {"secret": "s3cr3t", "user": "me"}})
    log.close()
    text = path.read_text(encoding="utf-8")
    for secret in ("hunter2", "AKIA-123", "tok-456", "s3cr3t"):
        assert secret not in text
    arguments = read(path)[1]["request"]["arguments"]
    assert arguments["host"] == "db.example"
    assert arguments["password"] == REDACTED
    assert arguments["api_key"] == REDACTED
    assert arguments["token"] == REDACTED
    assert arguments["options"]["retries"] == 3
    assert arguments["options"]["login"] == {"secret": REDACTED, "user": "me"}
    assert AuditLog.verify(path)


def test_secrets_in_an_edit_are_redacted(path):
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover([Edit({"password": "n3wpass"})]), audit=log)

    @gate.require_approval
    def login(user: str, password: str) -> str:
        return "ok"

    login("me", "0ldpass")
    log.close()
    text = path.read_text(encoding="utf-8")
    assert "0ldpass" not in text and "n3wpass" not in text
    decision = read(path)[2]
    assert decision["decision"] == "edited"
    assert decision["edit"] == {"password": REDACTED}


def test_deeply_nested_secret_keys_are_redacted(path):
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

    @gate.require_approval
    def deploy(config: dict) -> str:
        return "ok"

    deploy({"env": {"prod": {"db": {"password": "hunter2"}}}})
    log.close()
    assert "hunter2" not in path.read_text(encoding="utf-8")


def test_redaction_can_be_turned_off_or_customised(tmp_path):
    plain = AuditLog(tmp_path / "plain.jsonl", redact_names=None)
    plain.append("note", password="visible")
    plain.close()
    assert read(tmp_path / "plain.jsonl")[1]["password"] == "visible"
    custom = AuditLog(tmp_path / "custom.jsonl", redact_names="ssn")
    custom.append("note", ssn="123-45-6789", password="visible")
    custom.close()
    record = read(tmp_path / "custom.jsonl")[1]
    assert record["ssn"] == REDACTED and record["password"] == "visible"


class Unserializable:
    def __repr__(self) -> str:
        return "<Unserializable thing>"


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_non_json_arguments_are_recorded_by_a_bounded_repr(path):
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

    @gate.require_approval
    def handle(a: object, b: object, c: object, d: object, e: object, f: object) -> str:
        return "ok"

    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    handle(Unserializable(), BadRepr(), {1, 2}, cyclic, b"\x00\xff", {1: "int key"})
    log.close()
    arguments = read(path)[1]["request"]["arguments"]
    assert arguments["a"] == "<Unserializable thing>"
    assert isinstance(arguments["b"], str) and "BadRepr" in arguments["b"]
    assert isinstance(arguments["c"], str) and "1" in arguments["c"]
    assert isinstance(arguments["d"], list)
    assert isinstance(arguments["e"], str) and "\\x00" in arguments["e"]
    assert isinstance(arguments["f"], str) and "int key" in arguments["f"]
    assert AuditLog.verify(path)


def test_huge_arguments_are_bounded(path):
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

    @gate.require_approval
    def upload(data: str, items: list, mapping: dict, number: int) -> int:
        return len(data)

    big = "x" * (10 * 1024 * 1024)
    assert upload(big, list(range(100_000)), {f"k{i}": "v" * 1000 for i in range(10_000)}, 10**200) == len(big)
    log.close()
    raw = path.read_bytes()
    for line in raw.splitlines():
        assert len(line) < 64 * 1024
    assert len(raw) < 256 * 1024
    arguments = read(path)[1]["request"]["arguments"]
    assert arguments["data"].startswith("xxxx") and str(len(big)) in arguments["data"]
    assert AuditLog.verify(path)


def test_appending_huge_fields_directly_is_bounded(path):
    log = AuditLog(path)
    log.append("note", blob="y" * 5_000_000, nested={"deep": ["z" * 1_000_000] * 50})
    log.close()
    for line in path.read_bytes().splitlines():
        assert len(line) < 64 * 1024
    assert AuditLog.verify(path)


def test_unicode_and_control_characters_round_trip(path):
    with AuditLog(path) as log:
        log.append("note", text="héllo ✓ \x1b[2J\n\t\"quoted\" \u2028 end", emoji="😀")
    record = read(path)[1]
    assert record["text"] == "héllo ✓ \x1b[2J\n\t\"quoted\" \u2028 end"
    assert record["emoji"] == "😀"
    assert len(lines(path)) == 2  # one record per line: newlines inside values are escaped
    assert AuditLog.verify(path)


def test_non_finite_floats_do_not_break_the_chain(path):
    with AuditLog(path) as log:
        log.append("note", a=float("nan"), b=float("inf"), c=0.1)
    record = read(path)[1]
    assert record["c"] == 0.1
    assert isinstance(record["a"], str) and isinstance(record["b"], str)
    assert AuditLog.verify(path)


def test_strings_that_are_not_valid_utf8_are_recorded(path):
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

    @gate.require_approval
    def remove(filename: str) -> str:
        return "removed"

    name = os.fsdecode(b"report-\xff.txt")  # 'report-\udcff.txt'
    assert remove(name) == "removed"
    log.close()
    assert AuditLog.verify(path)


def test_durable_log_fsyncs_every_record(path, monkeypatch):
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    log = AuditLog(path, durable=True)
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

    @gate.require_approval
    def act(x: int) -> int:
        return x

    assert act(1) == 1
    log.close()
    assert [r["type"] for r in read(path)] == ["header", "request", "decision", "outcome"]
    assert len(calls) >= 4
    assert AuditLog.verify(path)


def test_head_anchors_the_last_record(path):
    log = AuditLog(path)
    log.append("note", n=1)
    anchored = log.head
    log.close()
    assert AuditLog.check(path).head == anchored
    # truncating the tail cannot be seen from the file alone, but the anchored head changes
    rows = lines(path)
    path.write_text("".join(rows[:-1]), encoding="utf-8")
    assert AuditLog.verify(path)
    assert AuditLog.check(path).head != anchored


def test_where_files_are_stored_on_close_each_record_is_closed_and_the_chain_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JupyterLite's drive stores a file on close: there every record is written with its own open/close."""
    monkeypatch.setattr(audit_module, "CLOSE_AFTER_EACH_RECORD", True)
    path = tmp_path / "lite.audit.jsonl"
    log = AuditLog(path)
    assert log._file.closed and AuditLog.check(path).records == 1  # the header is stored already
    for n in range(5):
        log.append("note", n=n)
        assert log._file.closed
        assert AuditLog.verify(path)  # another reader sees every record so far
    assert AuditLog.check(path).records == 6  # the header and five notes
