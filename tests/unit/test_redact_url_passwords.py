"""The password of a URL's userinfo (``postgresql://app:PASSWORD@db/prod``) never reaches the audit log.

It sits under no secret-looking name, so it used to be logged in clear: in arguments at any
depth, in exception texts, in edits and in returned values. The user name, host and path stay
readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hitl_widget import Approve, AuditLog, Edit, Gate, ScriptedApprover
from hitl_widget.audit import REDACTED, redact_text

SECRET = "pg-S3cret-R9"


class Conn:
    def __repr__(self) -> str:
        return f"Conn(dsn='amqp://guest:{SECRET}@mq:5672//')"


VALUES: dict[str, Any] = {
    "postgres": f"postgresql://app:{SECRET}@db.internal/prod",
    "https": f"https://user:{SECRET}@git.example/repo.git",
    "at in password": f"postgresql://app:{SECRET}@x@db/prod",
    "no user": f"redis://:{SECRET}@cache:6379/0",
    "in a sentence": f"clone https://deploy:{SECRET}@git.example/r.git then build",
    "nested": {"targets": [{"dsn": f"mysql://root:{SECRET}@h:3306/db"}]},
    "bytes": f"redis://:{SECRET}@cache:6379".encode(),
    "object repr": Conn(),
    "long": f"https://u:{SECRET}@h/ " + "x" * 30000,
}


def logged(tmp_path: Path, run: Any) -> str:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    run(log)
    log.close()
    assert AuditLog.verify(path)
    return path.read_text()


@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
def test_a_url_password_in_an_argument_is_not_logged(tmp_path: Path, value: Any) -> None:
    def tool(target: Any) -> str:  # a name that does not look secret
        return "ok"

    text = logged(tmp_path, lambda log: Gate(approver=ScriptedApprover([Approve()]), audit=log).wrap(tool)(value))
    assert SECRET not in text and SECRET[:8] not in text
    assert REDACTED in text


def test_a_url_password_in_an_exception_text_is_not_logged(tmp_path: Path) -> None:
    def connect(dsn: str) -> None:
        raise RuntimeError(f"could not connect to {dsn}: timeout")

    def run(log: AuditLog) -> None:
        with pytest.raises(RuntimeError):
            Gate(approver=ScriptedApprover([Approve()]), audit=log).wrap(connect)(f"postgresql://app:{SECRET}@db/prod")

    text = logged(tmp_path, run)
    assert SECRET not in text
    assert "could not connect to postgresql://app:[REDACTED]@db/prod" in text


def test_a_url_password_in_an_edit_and_a_result_is_not_logged(tmp_path: Path) -> None:
    def fetch(url: str) -> str:
        return f"fetched {url}"

    url = f"https://u:{SECRET}@h/x"
    results: list[str] = []
    text = logged(
        tmp_path, lambda log: results.append(Gate(approver=ScriptedApprover([Edit({"url": url})]), audit=log).wrap(fetch)("a"))
    )
    assert results == [f"fetched {url}"]  # the function got the real value: only the log is redacted
    assert SECRET not in text


def test_a_preview_cut_inside_the_password_keeps_no_part_of_it(tmp_path: Path) -> None:
    """Long values are logged shortened ("… [N chars]"): wherever the cut falls, no piece of the password is left."""
    secret = "Zq7wPassw0rdTail"

    def tool(target: str) -> str:
        return "ok"

    def run(log: AuditLog) -> None:
        gate = Gate(approver=ScriptedApprover(default=Approve()), audit=log)
        for k in range(3940, 4030):  # the log keeps about the first 4,000 characters
            gate.wrap(tool)("x" * k + f"https://user:{secret}@db/prod " + "y" * 30000)

    text = logged(tmp_path, run)
    assert "\\u2026 [" in text  # the values were shortened ("…", escaped in the JSON)
    assert "Zq7" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"postgresql://app:{SECRET}@db/prod", "postgresql://app:[REDACTED]@db/prod"),
        (f"see https://u:{SECRET}@h/a and ftp://v:w0rd@f/", "see https://u:[REDACTED]@h/a and ftp://v:[REDACTED]@f/"),
        (f"'sqlite+pysqlite://a:{SECRET}@/x'", "'sqlite+pysqlite://a:[REDACTED]@/x'"),
        ("postgresql://app:p@ss@db/prod", "postgresql://app:[REDACTED]@db/prod"),
        ("https://u:pa...ss@h/", "https://u:[REDACTED]@h/"),
        ("https://u:pg-S3cre… [6000 chars]", "https://u:[REDACTED]… [6000 chars]"),
    ],
)
def test_redact_text_cuts_the_password_and_keeps_the_rest(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "http://localhost:8080/path",
        "https://example.com/users/a@b.c",
        "mail bob@example.com",
        "ssh://git@github.com/org/repo",
        "https://example.com/?next=a:b@c",
    ],
)
def test_urls_without_a_password_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_the_rejection_message_the_agent_reads_has_no_url_password() -> None:
    from hitl_widget import ApprovalRejected, Gate, Reject, ScriptedApprover

    def connect(dsn: str) -> str:
        return "connected"

    gate = Gate(approver=ScriptedApprover([Reject("use the read replica")]))
    with pytest.raises(ApprovalRejected) as caught:
        gate.wrap(connect)("postgresql://app:s3cr3t-pw@db/prod")
    assert "s3cr3t-pw" not in str(caught.value)
    assert "postgresql://app:[REDACTED]@db/prod" in str(caught.value) and "use the read replica" in str(caught.value)
