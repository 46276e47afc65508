"""Secrets never reach the audit log: not through any record, field or text about the call.

Each test looks at the whole file (every record, every field) for the secret, and at the
field the secret would have reached, which must still say what happened.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import hitl_widget.approvers.default as default_module
from hitl_widget import (
    ApprovalRejected,
    Approve,
    AuditLog,
    Batch,
    Edit,
    Gate,
    NoApprovalChannel,
    Reject,
    ScriptedApprover,
)
from hitl_widget.audit import REDACTED, redact, redact_text, secret_values
from hitl_widget.formatting import bounded_repr


@pytest.fixture(autouse=True)
def _no_env_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITL_MODE", raising=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


def records(path: Path) -> list[dict[str, Any]]:
    return list(AuditLog.records(path))


def file_text(path: Path) -> str:
    """The file as written, and decoded (records are ASCII JSON: a secret may hide in \\u escapes)."""
    raw = path.read_text(encoding="utf-8")
    return raw + "\n" + json.dumps(records(path), ensure_ascii=False)


def assert_absent(path: Path, *secrets: str) -> None:
    text = file_text(path)
    for secret in secrets:
        assert secret not in text, f"{secret!r} reached the audit log"
    assert AuditLog.verify(path)


def of_type(path: Path, kind: str) -> list[dict[str, Any]]:
    return [r for r in records(path) if r["type"] == kind]


# -- the example: no channel (CI), the error names the call --------------------------------------


def test_no_channel_error_does_not_carry_the_password(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(default_module, "detect_channel", lambda: None)
    with AuditLog(path) as log:
        gate = Gate(audit=log)

        @gate.require_approval
        def login(user: str, password: str) -> str:
            return "ok"

        with pytest.raises(NoApprovalChannel) as info:
            login("bob", "pw-S1")
    assert "pw-S1" not in str(info.value)  # exception texts name no secret-named argument (call_text redacts)
    assert "password='[REDACTED]'" in str(info.value)
    assert_absent(path, "pw-S1")
    (decision,) = of_type(path, "decision")
    assert decision["decision"] == "error"
    assert decision["error"].startswith("NoApprovalChannel: ")
    assert "login(user='bob', password=" in decision["error"] and REDACTED in decision["error"]
    (request,) = of_type(path, "request")
    assert request["request"]["arguments"] == {"user": "bob", "password": REDACTED}


@pytest.mark.parametrize(
    "secret",
    [
        "pw-S1",
        "hunter2!",
        "quote'and\"double",  # repr and JSON escape it differently
        "ünïcødé-sécret",  # JSON's \\u escapes
        "back\\slash\nnewline",
        "x" * 70 + "TAIL-of-a-long-secret" + "y" * 200,  # shortened in call text and reprs
    ],
)
def test_every_form_of_the_secret_in_an_approver_error_is_cut(path: Path, secret: str) -> None:
    def approver(request: Any) -> Any:
        raise RuntimeError(f"could not ask about {request.call_text()} (password {request.arguments['password']!r})")

    with AuditLog(path) as log:
        gate = Gate(approver=approver, audit=log)

        @gate.require_approval
        def login(user: str, password: str) -> str:
            return "ok"

        with pytest.raises(RuntimeError):
            login("bob", secret)
    text = file_text(path)
    assert secret not in text
    for form in (repr(secret)[1:-1], json.dumps(secret)[1:-1]):
        assert form not in text
    if len(secret) > 16:  # no 8-character run of a long secret survives a shortened repr
        runs = {secret[i : i + 8] for i in range(len(secret) - 7)} - {"x" * 8, "y" * 8}
        assert not [run for run in runs if run in text]
    (decision,) = of_type(path, "decision")
    assert decision["error"].startswith("RuntimeError: ") and "could not ask about login(user=" in decision["error"]
    assert "bob" in decision["error"]


# -- every field of every record -----------------------------------------------------------------


def test_reviewer_feedback_quoting_the_secret(path: Path) -> None:
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Reject("never send hunter22 in clear; use a vault ref")]), audit=log)

        @gate.require_approval
        def connect(host: str, password: str) -> None: ...

        with pytest.raises(ApprovalRejected, match="hunter22"):  # the agent reads the feedback as written
            connect("db", "hunter22")
    assert_absent(path, "hunter22")
    (decision,) = of_type(path, "decision")
    assert decision["feedback"] == f"never send {REDACTED} in clear; use a vault ref"


def test_edit_diff_of_another_argument_carrying_the_secret(path: Path) -> None:
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Edit({"command": "mysql -u bob -p's3cr3t-pw' --ssl"})]), audit=log)

        @gate.require_approval
        def shell(command: str, password: str = "") -> str:
            return f"ran {command}"

        assert shell("mysql -u bob -ps3cr3t-pw", password="s3cr3t-pw") == "ran mysql -u bob -p's3cr3t-pw' --ssl"
    assert_absent(path, "s3cr3t-pw")
    (decision,) = of_type(path, "decision")
    assert decision["edit"] == {"command": {"from": f"mysql -u bob -p{REDACTED}", "to": f"mysql -u bob -p'{REDACTED}' --ssl"}}
    (request,) = of_type(path, "request")
    assert request["request"]["arguments"]["command"] == f"mysql -u bob -p{REDACTED}"


def test_a_new_secret_given_in_an_edit_is_cut_from_the_outcome(path: Path) -> None:
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Edit({"password": "n3w-Secret"})]), audit=log)

        @gate.require_approval
        def rotate(user: str, password: str) -> str:
            return f"{user} now uses {password}"

        assert rotate("bob", "0ld-Secret") == "bob now uses n3w-Secret"
    assert_absent(path, "0ld-Secret", "n3w-Secret")
    (decision,) = of_type(path, "decision")
    assert decision["edit"] == {"password": REDACTED}
    (outcome,) = of_type(path, "outcome")
    assert outcome["result"] == repr(f"bob now uses {REDACTED}")


@dataclass
class Session:
    user: str
    token: str


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ({"user": "bob", "token": "tok-returned-1"}, bounded_repr({"user": "bob", "token": REDACTED})),
        ([{"session": {"api_key": "tok-returned-1"}}], bounded_repr([{"session": {"api_key": REDACTED}}])),
        (OrderedDict(user="bob", password="tok-returned-1"), bounded_repr({"user": "bob", "password": REDACTED})),
        (Session("bob", "tok-returned-1"), f"Session(user='bob', token='{REDACTED}')"),
        ('{"user": "bob", "access_token": "tok-returned-1"}', repr(f'{{"user": "bob", "access_token": "{REDACTED}"}}')),
        ("Authorization: Bearer tok-returned-1", repr(f"Authorization: Bearer {REDACTED}")),
        ("https://api.example/v1?api_key=tok-returned-1&page=2", repr(f"https://api.example/v1?api_key={REDACTED}&page=2")),
    ],
)
def test_secret_looking_keys_in_returned_values(path: Path, returned: Any, expected: str) -> None:
    """Secrets the call creates are not in its arguments: they are found by their names."""
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

        @gate.require_approval
        def sign_in(user: str) -> Any:
            return returned

        assert sign_in("bob") is returned  # the caller gets the value itself, unredacted
    assert_absent(path, "tok-returned-1")
    (outcome,) = of_type(path, "outcome")
    assert outcome["result"] == expected


def test_the_function_raising_with_the_secret_in_its_message(path: Path) -> None:
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

        @gate.require_approval
        def login(user: str, password: str) -> None:
            raise PermissionError(f"wrong password {password!r} for {user}")

        with pytest.raises(PermissionError, match="pw-S1"):
            login("bob", "pw-S1")
    assert_absent(path, "pw-S1")
    (outcome,) = of_type(path, "outcome")
    assert outcome["status"] == "raised"
    assert outcome["error"] == "PermissionError: " + repr(f"wrong password '{REDACTED}' for bob")


def test_context_secrets_are_redacted_and_cut_from_texts(path: Path) -> None:
    def approver(request: Any) -> Any:
        return Reject(f"key {request.context['service']['api_key']} is revoked")

    with AuditLog(path) as log:
        gate = Gate(approver=approver, audit=log)
        deploy = gate.wrap(lambda env: env, context={"service": {"api_key": "AKIA-CTX-777"}, "ticket": "OPS-1"})
        with pytest.raises(ApprovalRejected):
            deploy("prod")
    assert_absent(path, "AKIA-CTX-777")
    (request,) = of_type(path, "request")
    assert request["request"]["context"] == {"service": {"api_key": REDACTED}, "ticket": "OPS-1"}
    assert of_type(path, "decision")[0]["feedback"] == f"key {REDACTED} is revoked"


def test_detail_and_any_field_of_a_record_about_the_request(path: Path) -> None:
    """Written directly, too: the log remembers the request's secrets until its outcome."""

    class Req:
        id = "r-1"

        def __init__(self) -> None:
            self.arguments = {"user": "bob", "bundle": {"private_key": "-----BEGIN KEY-----abc"}}
            self.context: dict[str, Any] = {}

        def to_dict(self) -> dict[str, Any]:
            return {"id": self.id, "arguments": dict(self.arguments)}

    with AuditLog(path) as log:
        log.append("request", request=Req())
        key = "-----BEGIN KEY-----abc"
        log.append("decision", request_id="r-1", decision="approved", detail=f"key {key} ok", notes=[key])
        log.append("outcome", request_id="r-1", status="returned", result=f"'{key}'")
    assert_absent(path, "-----BEGIN KEY-----abc")
    decision = of_type(path, "decision")[0]
    assert decision["detail"] == f"key {REDACTED} ok" and decision["notes"] == [REDACTED]
    assert of_type(path, "outcome")[0]["result"] == f"'{REDACTED}'"
    assert of_type(path, "request")[0]["request"]["arguments"]["bundle"] == {"private_key": REDACTED}


def test_secrets_deeper_than_the_recorded_structure(path: Path) -> None:
    """Past json_safe's depth arguments are recorded as repr text; the secret value is still cut."""
    deep: dict[str, Any] = {"password": "deep-pw-999"}
    for level in range(10):
        deep = {f"level{level}": deep}
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)
        gate.wrap(lambda config, tree: "ok")(deep, OrderedDict(token="odict-tok-1"))
    assert_absent(path, "deep-pw-999", "odict-tok-1")


def test_secret_value_in_another_argument(path: Path) -> None:
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)

        @gate.require_approval
        def run(cmd: str, env: dict[str, str]) -> str:
            return cmd

        run("curl -u bob:tok-Z9Z9Z9 https://x", {"GITHUB_TOKEN": "tok-Z9Z9Z9"})
    assert_absent(path, "tok-Z9Z9Z9")
    (request,) = of_type(path, "request")
    assert request["request"]["arguments"] == {"cmd": f"curl -u bob:{REDACTED} https://x", "env": {"GITHUB_TOKEN": REDACTED}}


def test_batch_records_are_redacted(path: Path) -> None:
    with AuditLog(path) as log:
        batch = Batch(approver=ScriptedApprover([Reject("pw-Batch-1 is too weak")]), audit=log)
        login = batch.wrap(lambda user, password: "ok")
        assert login("bob", "pw-Batch-1") == "PENDING_APPROVAL_1"
        assert batch.review_and_execute() == {1: "REJECTED: pw-Batch-1 is too weak"}
    assert_absent(path, "pw-Batch-1")
    assert of_type(path, "decision")[0]["feedback"] == f"{REDACTED} is too weak"


def test_automatic_decisions_and_python_logging(path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.setenv("HITL_MODE", "approve")
    caplog.set_level(logging.INFO, logger="hitl_widget")
    with AuditLog(path) as log:
        gate = Gate(audit=log)
        assert gate.wrap(lambda user, password: f"{user}:{password}")("bob", "pw-auto-1") == "bob:pw-auto-1"
    assert_absent(path, "pw-auto-1")
    assert "pw-auto-1" not in caplog.text and "user='bob'" in caplog.text
    assert of_type(path, "outcome")[0]["result"] == repr(f"bob:{REDACTED}")


def test_short_secrets_are_redacted_by_name_only(path: Path) -> None:
    """A 3-character secret is not cut from free text (it would cut words), but never sits under its name."""
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)
        gate.wrap(lambda user, nick: "bob logged in")("bob", "abc")
    (request,) = of_type(path, "request")
    assert request["request"]["arguments"] == {"user": "bob", "nick": "abc"}  # "nick" is not a secret name
    with AuditLog(path) as log:
        gate = Gate(approver=ScriptedApprover([Approve()]), audit=log)
        gate.wrap(lambda user, password: "abc is fine")("bob", "abc")
    last = of_type(path, "request")[-1]
    assert last["request"]["arguments"]["password"] == REDACTED
    assert of_type(path, "outcome")[-1]["result"] == repr("abc is fine")


def test_redaction_off_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    with AuditLog(path, redact_names=None) as log:
        gate = Gate(approver=ScriptedApprover([Reject("pw-S1 is wrong")]), audit=log)
        with pytest.raises(ApprovalRejected):
            gate.wrap(lambda user, password: "ok")("bob", "pw-S1")
    assert of_type(path, "decision")[0]["feedback"] == "pw-S1 is wrong"
    assert of_type(path, "request")[0]["request"]["arguments"]["password"] == "pw-S1"


# -- the helpers ---------------------------------------------------------------------------------


def test_redact_copies_only_what_it_changes() -> None:
    clean = {"a": [1, 2, {"b": "c"}], "d": (1, 2)}
    assert redact(clean) is clean
    dirty = {"a": [1, {"token": "t"}], "keep": clean}
    out = redact(dirty)
    assert out == {"a": [1, {"token": REDACTED}], "keep": clean}
    assert out["keep"] is clean and dirty["a"][1]["token"] == "t"


def test_redact_is_bounded_on_cycles_and_huge_values() -> None:
    a: list[Any] = []
    a.extend([a] * 50)
    assert redact(a) is a
    huge = list(range(1_000_000))
    assert redact(huge) is huge


def test_secret_values_and_redact_text() -> None:
    values = secret_values({"user": "bob", "auth": {"password": "hunter22", "pin": 1234}, "token": 98765})
    assert "hunter22" in values and "98765" in values and "bob" not in values
    assert redact_text("pw hunter22 used", values) == f"pw {REDACTED} used"
    assert redact_text("password=abc&x=1") == f"password={REDACTED}&x=1"
    assert redact_text("{'api_key': 'k'}") == f"{{'api_key': '{REDACTED}'}}"
    assert redact_text("plain text with no secrets") == "plain text with no secrets"
    assert redact_text("password=abc", pattern=None) == "password=abc"
