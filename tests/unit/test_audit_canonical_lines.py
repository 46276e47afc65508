"""``AuditLog.check`` / ``hitl audit verify`` accept a line only when it is exactly the bytes the writer writes.

A line whose parsed record hashes correctly but whose bytes differ (a duplicate key placed
first: Python keeps the last value, grep and first-key readers see the first; spacing, key
order, escapes, CRLF) used to verify as intact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hitl_widget import Approve, AuditLog, Gate, Reject, ScriptedApprover


def write_log(tmp_path: Path) -> tuple[Path, list[bytes]]:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    gate = Gate(approver=ScriptedApprover([Approve(), Reject("no")]), audit=log)
    f = gate.wrap(lambda to, body: f"sent {to}")
    f("a@example.com", "hé ☃")
    with pytest.raises(Exception, match="rejected"):
        f("b@example.com", "x")
    log.close()
    assert AuditLog.check(path).ok
    return path, path.read_bytes().splitlines(keepends=True)


def replace_line(path: Path, lines: list[bytes], index: int, new: bytes) -> None:
    path.write_bytes(b"".join([*lines[:index], new, *lines[index + 1 :]]))


def last_decision(lines: list[bytes]) -> int:
    return max(i for i, line in enumerate(lines) if json.loads(line)["type"] == "decision")


@pytest.mark.subprocess
def test_a_duplicate_key_placed_first_does_not_verify(tmp_path: Path) -> None:
    path, lines = write_log(tmp_path)
    i = last_decision(lines)
    assert json.loads(lines[i])["decision"] == "rejected"
    forged = b'{"decision":"approved",' + lines[i][1:]  # json.loads keeps "rejected": the hash still matches
    assert json.loads(forged) == json.loads(lines[i])
    replace_line(path, lines, i, forged)
    result = AuditLog.check(path)
    assert not result.ok and result.line == i + 1 and "duplicate key 'decision'" in result.problem
    run = subprocess.run([sys.executable, "-m", "hitl_widget", "audit", "verify", str(path)], capture_output=True, text=True)
    assert run.returncode == 1


def test_a_duplicate_key_inside_the_arguments_does_not_verify(tmp_path: Path) -> None:
    path, lines = write_log(tmp_path)
    i = next(k for k, line in enumerate(lines) if json.loads(line)["type"] == "request")
    text = lines[i].decode()
    assert '"to":"a@example.com"' in text
    forged = text.replace('"to":"a@example.com"', '"to":"mallory@example.com","to":"a@example.com"', 1).encode()
    assert json.loads(forged) == json.loads(lines[i])
    replace_line(path, lines, i, forged)
    assert "duplicate key 'to'" in AuditLog.check(path).problem


def reencoded(line: bytes, **dumps: Any) -> bytes:
    record = json.loads(line)
    return json.dumps(record, **dumps).encode() + b"\n"


@pytest.mark.parametrize(
    "dumps",
    [
        {},  # spaces after , and :
        {"separators": (",", ":"), "ensure_ascii": False},  # raw UTF-8 instead of \\u escapes
        {"separators": (",", ":"), "sort_keys": True},  # hash sorted in, not last
    ],
    ids=["spaces", "utf8", "hash-sorted"],
)
def test_the_same_record_in_other_bytes_does_not_verify(tmp_path: Path, dumps: dict[str, Any]) -> None:
    path, lines = write_log(tmp_path)
    i = next(k for k, line in enumerate(lines) if "\\u" in line.decode())  # the request with "hé ☃"
    forged = reencoded(lines[i], **dumps)
    if forged == lines[i]:
        pytest.fail("this re-encoding happens to be canonical; the case tests nothing")
    replace_line(path, lines, i, forged)
    result = AuditLog.check(path)
    assert not result.ok and result.line == i + 1 and "canonical" in result.problem


def test_an_upper_case_escape_does_not_verify(tmp_path: Path) -> None:
    path, lines = write_log(tmp_path)
    i = next(k for k, line in enumerate(lines) if b"\\u00e9" in line)
    replace_line(path, lines, i, lines[i].replace(b"\\u00e9", b"\\u00E9"))
    assert "canonical" in AuditLog.check(path).problem


def test_a_crlf_line_end_does_not_verify(tmp_path: Path) -> None:
    path, lines = write_log(tmp_path)
    replace_line(path, lines, 1, lines[1].rstrip(b"\n") + b"\r\n")
    assert not AuditLog.check(path).ok


def test_the_log_as_written_verifies_and_a_last_line_without_newline_too(tmp_path: Path) -> None:
    path, lines = write_log(tmp_path)
    assert AuditLog.check(path).records == len(lines)
    path.write_bytes(b"".join(lines).rstrip(b"\n"))
    assert AuditLog.check(path).ok
