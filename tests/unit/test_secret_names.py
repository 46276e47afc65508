"""Which names are secrets (audit.SECRET_NAMES): the common names of credentials are, ordinary words are not."""

import json
from pathlib import Path
from typing import Any

import pytest

from hitl_widget import Approve, AuditLog, Gate, ScriptedApprover
from hitl_widget.audit import _DEFAULT_NEEDLES, REDACTED, SECRET_NAMES, _may_hold_secret_names, redact, redact_text

SECRET = "pw-S1-hunter2"


def _words(text: str) -> list[str]:
    return text.split()


#: names whose values are secrets: each must be redacted
SECRET_LIKE = _words("""
password passwd PASSWORD userPassword user_password DB_PASSWORD adminpassword passphrase passcode one_time_password
pwd db_pwd userPwd pw db_pw pass db_pass userPass
secret secrets client_secret AWS_SECRET_ACCESS_KEY webhookSecret signing_secret
token access_token refresh_token accessToken refreshToken id_token auth_token x-auth-token csrf_token xsrf-token
token2 apiToken access_tokens refreshTokens csrf
api_key apikey x-api-key API_KEY apiKey ssh_key sshKey private_key privateKey privkey priv_key secret_key signing_key
encryption_key session_key sessionKey master_key client_key app_key license_key access_key access_key_id hmac_key
auth authorization Authorization proxy-authorization basic_auth authToken AUTH auth_header http_auth
bearer bearer_token jwt jwt_token id_jwt otp otp_code totp mfa_code backup_codes recovery_code verification_code
cookie cookies set-cookie Cookie session_cookie credential credentials aws_credentials creds
mnemonic seed_phrase recovery_phrase cvv cvc card_cvv pin pin_code PIN
""")

#: ordinary names that contain parts of secret words: none may be redacted
ORDINARY = _words("""
author authors authority authored_by authenticated authentication oauth oauth_url author_id author_name otpauth_url
compass passenger passage bypass bypass_cache passes pass_rate pass_through passthrough
tokenizer tokenize max_tokens num_tokens tokens tokens_used input_tokens token_count tokenCount token_limit token_usage
token_type token_ids secretary secretaries
key keys sort_key cache_key primary_key foreign_key public_key publicKey partition_key idempotency_key s3_key
object_key keyboard hotkey monkey keypad hashkey
footprint notepad spinner mapping shipping pinned opinion typing happiness
session session_id user_id username user email api api_url api_version apis capital description private private_repo
is_private code encode decode zip_code
""")


@pytest.mark.parametrize("name", SECRET_LIKE)
def test_secret_names_match(name: str) -> None:
    assert SECRET_NAMES.search(name), name
    assert redact({name: "v"}) == {name: REDACTED}
    assert redact_text(f"{name}=abcd1234") == f"{name}={REDACTED}"


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_names_do_not_match(name: str) -> None:
    assert not SECRET_NAMES.search(name), SECRET_NAMES.search(name)
    assert redact({name: "v"}) == {name: "v"}
    assert redact_text(f"{name}=abcd1234") == f"{name}=abcd1234"


@pytest.mark.parametrize("name", SECRET_LIKE + ORDINARY)
def test_the_quick_look_at_text_agrees_with_the_pattern(name: str) -> None:
    """The needles (a fast first look) never miss a name the pattern matches, inside text too."""
    text = f'{{"x": 1, "{name}": 2}} and more words'
    assert _may_hold_secret_names(text, SECRET_NAMES) is (SECRET_NAMES.search(text) is not None)
    if SECRET_NAMES.search(name):
        assert any(n in name.lower() for n in _DEFAULT_NEEDLES)


@pytest.mark.parametrize("name", ["pwd", "jwt", "ssh_key", "auth", "bearer", "session_key", "otp", "passphrase", "client_secret"])
def test_secret_parameters_never_reach_the_log(tmp_path: Path, name: str) -> None:
    path = tmp_path / "a.jsonl"
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))
    ns: dict[str, Any] = {}
    exec(f"def login(user, {name}):\n    return 'ok'", ns)
    gate.wrap(ns["login"])("bob", SECRET)
    text = path.read_text()
    assert SECRET not in text
    request = next(json.loads(line) for line in text.splitlines() if '"type":"request"' in line)
    assert request["request"]["arguments"] == {"user": "bob", name: REDACTED}


def test_ordinary_parameters_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))
    gate.wrap(lambda author, max_tokens, sort_key, oauth_url: "ok")("ann", 512, "created", "https://id.example/oauth")
    request = next(json.loads(line) for line in path.read_text().splitlines() if '"type":"request"' in line)
    assert request["request"]["arguments"] == {
        "author": "ann",
        "max_tokens": 512,
        "sort_key": "created",
        "oauth_url": "https://id.example/oauth",
    }


def test_camel_case_humps_are_case_sensitive_in_free_text() -> None:
    assert redact_text("AUTHOR=bob, authToken=abcdef") == f"AUTHOR=bob, authToken={REDACTED}"


def test_the_spelled_out_needle_check_is_the_needle_list() -> None:
    from hitl_widget.audit import _has_needle

    for needle in _DEFAULT_NEEDLES:
        assert _has_needle(f"xx {needle} yy")
    assert not _has_needle("an ordinary record: send_email to bob, subject hello")
