"""Secrets in returned structures shown as repr text, and in exception texts however they were quoted."""

import dataclasses
import json
from collections import namedtuple
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from hitl_widget import Approve, AuditLog, Gate, ScriptedApprover
from hitl_widget.audit import REDACTED, SECRET_NAMES, _plain_safe, _redact, redact, redacted_repr, secret_values
from hitl_widget.formatting import json_safe

SECRET = "sk-live-Q7x9Zk2Lm"


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _outcome(path: Path) -> dict[str, Any]:
    return next(r for r in _records(path) if r["type"] == "outcome")


class Creds(NamedTuple):
    user: str
    api_key: str


LegacyCreds = namedtuple("LegacyCreds", ["user", "password"])


@dataclasses.dataclass
class Session:
    user: str
    access_token: str


class Opaque:
    """An object whose repr shows its token without naming it."""

    def __init__(self) -> None:
        self.refresh_token = SECRET

    def __repr__(self) -> str:
        return f"<Opaque {self.refresh_token}>"


class Slotted:
    __slots__ = ("name", "password")

    def __init__(self) -> None:
        self.name = "bob"
        self.password = SECRET

    def __repr__(self) -> str:
        return f"Slotted({self.name}, {self.password})"


RESULTS = {  # a result, and a word of it that is no secret (it stays readable)
    "list of pairs": (lambda: [("user", "bob"), ("api_key", SECRET)], "bob"),
    "tuple of pairs": (lambda: (("user", "bob"), ("api_key", SECRET)), "bob"),
    "list of lists": (lambda: [["user", "bob"], ["Authorization", "Bearer " + SECRET]], "bob"),
    "one pair": (lambda: ("token", SECRET), "token"),
    "namedtuple": (lambda: Creds("bob", SECRET), "bob"),
    "legacy namedtuple": (lambda: LegacyCreds("bob", SECRET), "bob"),
    "namedtuples in a list": (lambda: [Creds("bob", SECRET), Creds("ann", SECRET + "2")], "ann"),
    "dataclass": (lambda: Session("bob", SECRET), "bob"),
    "dict in a dataclass in a list": (lambda: [Session("bob", "x" * 5), {"headers": [("X-Api-Key", SECRET)]}], "bob"),
    "object with its own repr": (Opaque, "Opaque"),
    "slotted object": (Slotted, "bob"),
    "pairs in a dict value": (lambda: {"env": [("HOME", "/root"), ("AWS_SECRET_ACCESS_KEY", SECRET)]}, "/root"),
}


@pytest.mark.parametrize(("make", "visible"), RESULTS.values(), ids=RESULTS.keys())
def test_secrets_in_returned_structures_are_not_logged(tmp_path: Path, make: Any, visible: str) -> None:
    path = tmp_path / "a.jsonl"
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))
    value = gate.wrap(lambda user: make())("bob")
    assert SECRET in repr(value)  # the caller gets the real value
    assert SECRET not in path.read_text()
    assert SECRET[:8] not in path.read_text()
    assert visible in _outcome(path)["result"]


def test_redact_keeps_the_shape_of_pairs_and_namedtuples() -> None:
    assert redact([("user", "bob"), ("api_key", SECRET)]) == [("user", "bob"), ("api_key", REDACTED)]
    assert redact((("password", SECRET),)) == (("password", REDACTED),)
    assert redact(Creds("bob", SECRET)) == Creds("bob", REDACTED)
    assert type(redact(Creds("bob", SECRET))) is Creds
    assert redact([("author", "ann"), ("pass_rate", 0.9)]) == [("author", "ann"), ("pass_rate", 0.9)]
    three = ("password", "a", "b")  # not a pair
    assert redact(three) is three
    assert SECRET in secret_values(Session("bob", SECRET))
    assert SECRET in secret_values(Slotted())


PASSWORDS = [
    "it's-S3cret\\x",
    'say "S3cret" now',
    "back\\slash\\S3cret\\",
    "line\nS3cret\r\nend",
    "tab\tS3cret'\"both",
    "ünïcödé-S3cret-✓-😀",
    "\x00nul-S3cret\x7f",
]

MESSAGES = {
    "repr": lambda pw: f"login failed: {pw!r} rejected by server",
    "str": lambda pw: f"login failed: {pw} rejected by server",
    "ascii": lambda pw: f"login failed: {pw!a}",
    "json": lambda pw: "bad payload " + json.dumps({"user": "bob", "pw": pw}),
    "repr of a dict": lambda pw: f"bad {dict(user='bob', pw=pw)}",
    "repr of a repr": lambda pw: f"wrapped {repr(pw)!r}",
    "long": lambda pw: "x" * 480 + f" bad {pw!r}",
}


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("message", MESSAGES.values(), ids=MESSAGES.keys())
def test_secret_in_exception_text_is_cut_whatever_the_quoting(tmp_path: Path, password: str, message: Any) -> None:
    path = tmp_path / "a.jsonl"
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))

    def login(user: str, password: str) -> None:
        raise ValueError(message(password))

    with pytest.raises(ValueError):
        gate.wrap(login)("bob", password)
    text = path.read_text()
    assert "S3cret" not in text
    assert _outcome(path)["error"].startswith("ValueError: ")


@pytest.mark.parametrize("password", PASSWORDS)
def test_secret_in_a_returned_message_is_cut(tmp_path: Path, password: str) -> None:
    path = tmp_path / "a.jsonl"
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))
    gate.wrap(lambda user, password: [f"logged in with {password!r}", {"echo": repr(password)}])("bob", password)
    assert "S3cret" not in path.read_text()


@pytest.mark.parametrize("password", PASSWORDS)
def test_secret_in_an_approvers_error_is_cut(tmp_path: Path, password: str) -> None:
    path = tmp_path / "a.jsonl"

    def approver(request: Any) -> Any:
        raise RuntimeError(f"cannot show {request.arguments['password']!r}")

    gate = Gate(approver=approver, audit=AuditLog(path))
    with pytest.raises(RuntimeError):
        gate.wrap(lambda user, password: "ok")("bob", password)
    assert "S3cret" not in path.read_text()


def test_redacted_repr_cuts_before_shortening() -> None:
    """No start of a secret is left where the text is cut short."""
    secret = "pw-S1-hunter2"
    text = redacted_repr("x" * 490 + f" bad {secret}", secret_values({"password": secret}), limit=500)
    assert "pw-" not in text and "hunter" not in text and text.startswith("'xxx")


@pytest.mark.parametrize("short", ["ab", "x"])
def test_pairs_in_arguments_are_redacted_on_the_fast_path_too(tmp_path: Path, short: str) -> None:
    """Even a value too short to be cut from text never stands beside its secret-looking name."""
    path = tmp_path / "a.jsonl"
    gate = Gate(approver=ScriptedApprover([Approve()]), audit=AuditLog(path))
    gate.wrap(lambda url, headers: "ok")("https://x", [("Accept", "json"), ("Authorization", short), ["pin", short]])
    request = next(r for r in _records(path) if r["type"] == "request")
    assert request["request"]["arguments"]["headers"] == [["Accept", "json"], ["Authorization", REDACTED], ["pin", REDACTED]]
    record = {"headers": [["Authorization", short], ["user", "bob"]]}
    assert _plain_safe(record, None) is not None
    assert _plain_safe(record, SECRET_NAMES) == json_safe(_redact(record, SECRET_NAMES, None, 0))
