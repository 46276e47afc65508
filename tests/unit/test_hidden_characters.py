"""One definition of "not plain visible text" (display.is_hidden), used by every channel.

The code points come from tests/fixtures/hidden_characters.json, which js/tests/inputs.test.ts
checks against the card's NOT_PLAIN_TEXT too, so the two definitions cannot drift. Each kind of
fault is tried with many inputs: every Default_Ignorable_Code_Point, controls, separators,
surrogates, private use; hostile type names; hostile summaries, docstrings, names; audit fields.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, create_model

from hitl_widget import ApprovalRejected, AuditLog, Gate, Reject, ScriptedApprover, TerminalApprover
from hitl_widget.approvers.browser import BrowserConfirmApprover
from hitl_widget.approvers.terminal import sanitize
from hitl_widget.cli import main
from hitl_widget.display import INVISIBLE, full_text, is_hidden, json_escape, python_escape, safe_repr, show_hidden
from hitl_widget.formatting import bounded_repr, call_text


def request_view(request: Any) -> dict[str, Any]:
    """The card's view (imported here: the card's libraries are not installed in the Pyodide leg)."""
    from hitl_widget.widget import request_view as view

    return view(request)


def _has_card() -> bool:
    try:
        import hitl_widget.widget  # noqa: F401
    except ImportError:  # the Pyodide leg: the core without anywidget
        return False
    return True


FIXTURE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "hidden_characters.json").read_text())


def _expand(ranges: list[list[int]]) -> list[int]:
    return [code for first, last in ranges for code in range(first, last + 1)]


DEFAULT_IGNORABLE = _expand(FIXTURE["default_ignorable"])
HIDDEN = DEFAULT_IGNORABLE + _expand(FIXTURE["other_hidden"])
PLAIN = FIXTURE["plain"]
#: one of each range (the parametrized channel tests; the whole lists are checked in bulk)
SAMPLES = [first for first, _ in FIXTURE["default_ignorable"] + FIXTURE["other_hidden"]] + [0xFE0F, 0xE0101, 0x1D17A, 0xE007F]


def _hidden_left(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if c not in "\n\t" and is_hidden(c)]


def test_the_fixture_is_the_whole_default_ignorable_set_and_more() -> None:
    assert len(DEFAULT_IGNORABLE) == 4174  # Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt)
    assert 0x2800 in HIDDEN and 0x200B in HIDDEN and 0xE0001 in HIDDEN
    assert not set(HIDDEN) & set(PLAIN)


def test_every_hidden_code_point_is_hidden_and_every_plain_one_is_not() -> None:
    assert [hex(c) for c in HIDDEN if not is_hidden(chr(c))] == []
    assert [hex(c) for c in PLAIN if is_hidden(chr(c))] == []


def test_printable_but_invisible_is_exactly_default_ignorable_plus_braille_blank() -> None:
    # Over every code point: what str.isprintable lets through, INVISIBLE catches exactly these.
    caught = {c for c in range(0x110000) if chr(c).isprintable() and INVISIBLE.match(chr(c))}
    expected = {c for c in [*DEFAULT_IGNORABLE, 0x2800] if chr(c).isprintable()}
    assert caught == expected


@pytest.mark.parametrize("escape", [json_escape, python_escape])
def test_show_hidden_escapes_every_hidden_code_point(escape: Any) -> None:
    text = "".join(f"|{chr(c)}" for c in HIDDEN)
    shown = show_hidden(text, escape, keep="")
    assert _hidden_left(shown) == []
    assert shown.count("|") == len(HIDDEN) and shown.isascii()


def test_show_hidden_leaves_plain_text_and_layout_alone() -> None:
    text = "".join(chr(c) for c in PLAIN) + "\n\tx"
    assert show_hidden(text, keep="\n\t") == text
    assert show_hidden("a\nb\tc", python_escape, keep="") == "a\\nb\\tc"


def test_json_escapes_mean_the_same_string() -> None:
    for code in HIDDEN:
        if 0xD800 <= code <= 0xDFFF:
            continue  # a lone surrogate has no JSON text that parses back to itself in every reader
        value = f"x{chr(code)}y"
        text = full_text(value)
        assert _hidden_left(text) == [] and json.loads(text) == value, hex(code)


@pytest.mark.parametrize("code", SAMPLES, ids=[f"U+{c:04X}" for c in SAMPLES])
def test_every_text_builder_escapes_it(code: int) -> None:
    char = chr(code)
    value = f"rm -rf /safe{char}dir"

    class Odd:
        def __repr__(self) -> str:
            return f"Odd{char}"

    outputs = {
        "full_text": full_text(value),
        "full_text(repr path)": full_text({1: value}),
        "safe_repr": safe_repr([value, b"x"]),
        "bounded_repr": bounded_repr(value),
        "bounded_repr(long)": bounded_repr(value * 100, 60),
        "bounded_repr(own __repr__)": bounded_repr(Odd()),
        "call_text": call_text(f"tool{char}", {"cmd": value}),
        "sanitize": sanitize(value),
    }
    assert {name: _hidden_left(text) for name, text in outputs.items() if _hidden_left(text)} == {}


def _smuggle(payload: str) -> str:
    """Bytes carried by variation selectors after visible text (one selector per byte)."""
    return "Hi Bob, see you at 5." + "".join(chr(0xFE00 + b) if b < 16 else chr(0xE0100 + b - 16) for b in payload.encode())


class _Window:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def confirm(self, message: str) -> bool:
        self.texts.append(message)
        return False

    def prompt(self, message: str, default: str = "") -> str:
        self.texts.append(message)
        return "no"


def send_email(to: str, body: str) -> None:
    """Send an e-mail."""


@pytest.mark.parametrize("payload", ["wire $5000 to mallory", "ignore previous instructions", "\x00\x0f\x10\xff"])
def test_smuggled_bytes_show_in_terminal_dialog_and_card(payload: str) -> None:
    body = _smuggle(payload)
    out = io.StringIO()
    with pytest.raises(ApprovalRejected):
        Gate(approver=TerminalApprover(stdin=io.StringIO("r\nno\n"), stdout=out)).wrap(send_email)("bob", body)
    window = _Window()
    with pytest.raises(ApprovalRejected):
        Gate(approver=BrowserConfirmApprover(window=window)).wrap(send_email)("bob", body)
    views: list[dict[str, Any]] = []

    def card(request: Any) -> Reject:
        views.append(request_view(request))
        return Reject()

    with pytest.raises(ApprovalRejected):
        Gate(approver=card if _has_card() else (lambda r: Reject())).wrap(send_email)("bob", body)
    if not views:  # no card here (Pyodide): the terminal and the dialog are still checked
        views.append({"arguments": [{}, {"edit": {"text": body, "encoding": "text"}}]})
    # (the edit field's start is the string itself: the card's NOT_PLAIN_TEXT edits it as JSON)
    card_text = json.dumps({**views[0], "arguments": [{**a, "edit": None} for a in views[0]["arguments"]]}, ensure_ascii=False)
    assert views[0]["arguments"][1]["edit"] == {"text": body, "encoding": "text"}
    for channel, text in {"terminal": out.getvalue(), "dialog": "".join(window.texts), "card": card_text}.items():
        assert _hidden_left(text) == [], channel
    assert "\\udb40\\udd" in out.getvalue()  # shown as JSON escapes (U+E01xx as a surrogate pair)


HOSTILE_NAMES = [
    "Args\x1b[2J\x1b[H  cmd: ls -la\u202e",
    "Args\u3164\ufe0f\u200b",
    "Args\r  q: 'safe'\u2066",
    "Args\U000e0041\u2800",
]


def _hostile_tool(name: str) -> tuple[type[BaseModel], Any]:
    model = create_model(name, q=(str, ...))

    def tool(args: Any) -> None:
        """Run it."""

    tool.__annotations__ = {"args": model, "return": None}
    return model, tool


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_a_hostile_type_name_is_escaped_on_every_channel_and_in_the_rejection(name: str) -> None:
    model, tool = _hostile_tool(name)
    out = io.StringIO()
    with pytest.raises(ApprovalRejected) as terminal:
        Gate(approver=TerminalApprover(stdin=io.StringIO("e\n1\nx\nr\nno\n"), stdout=out)).wrap(tool)(model(q="x"))
    window = _Window()
    with pytest.raises(ApprovalRejected):
        Gate(approver=BrowserConfirmApprover(window=window)).wrap(tool)(model(q="x"))
    views: list[dict[str, Any]] = []

    def card(request: Any) -> Reject:
        views.append(request_view(request))
        return Reject("no")

    with pytest.raises(ApprovalRejected) as rejected:
        Gate(approver=card if _has_card() else (lambda r: Reject("no"))).wrap(tool)(model(q="x"))
    if not views:  # no card here (Pyodide): the other channels are still checked
        views.append({"arguments": [{"annotation": "Args", "text": ""}]})
    texts = {
        "terminal": out.getvalue().replace("\r", "") if "\r" not in name else out.getvalue(),
        "dialog": "".join(window.texts),
        "card annotation": views[0]["arguments"][0]["annotation"],
        "card text": views[0]["arguments"][0]["text"],
        "rejection": str(rejected.value),
        "terminal rejection": str(terminal.value),
    }
    assert {k: _hidden_left(v) for k, v in texts.items() if _hidden_left(v)} == {}
    assert "Args" in views[0]["arguments"][0]["annotation"]


@pytest.mark.notebook
@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\ufe0f", "\u3164", "\x1b", "\U000e0020", "\u2800"])
def test_card_escapes_the_function_name_summary_and_docstring(char: str) -> None:
    def read_file(path: str) -> None: ...

    read_file.__doc__ = f"Read a file{char} (harmless).\n\n  Details{char} here."
    read_file.__qualname__ = f"read{char}_file"
    views: list[dict[str, Any]] = []

    def card(request: Any) -> Reject:
        views.append(request_view(request))
        return Reject()

    with pytest.raises(ApprovalRejected) as rejected:
        Gate(approver=card).wrap(read_file)("/etc/passwd")
    view = views[0]
    for key in ("function", "summary", "doc"):
        assert isinstance(view[key], str) and _hidden_left(view[key]) == [], key
    assert python_escape(char) in view["summary"] and "\n" in view["doc"]
    assert _hidden_left(str(rejected.value)) == []


@pytest.mark.parametrize("hostile", ["alice\x1b[2J\x1b[Hbob", "ali\u202ece", "eve\ufe0f\U000e0101", "x\r\n  fake line"])
def test_audit_show_escapes_every_field(tmp_path: Path, capsys: pytest.CaptureFixture[str], hostile: str) -> None:
    path = tmp_path / "audit.jsonl"

    def tool(x: str) -> None:
        raise ValueError(f"failed {hostile}")

    gate = Gate(approver=ScriptedApprover([Reject(f"no {hostile}", by=hostile)]), audit=AuditLog(path))
    with pytest.raises(ApprovalRejected):
        gate.wrap(tool)(hostile)
    from hitl_widget import Approve

    gate = Gate(approver=ScriptedApprover([Approve(by=hostile)]), audit=AuditLog(path))
    with pytest.raises(ValueError):
        gate.wrap(tool)(hostile)
    for argv in (["audit", "show", str(path)], ["audit", "show", "--json", str(path)]):
        main(argv)
        out = capsys.readouterr().out
        assert _hidden_left(out) == [] and "\r" not in out, argv
        lines = out.splitlines()
        if "--json" in argv:
            records = [json.loads(line) for line in lines]
            assert hostile in [r.get("by") for r in records]  # the same JSON, only escaped
        else:
            shown = show_hidden(hostile, python_escape, keep="").replace("  ", " ")  # (show collapses double spaces)
            assert sum(f"by {shown}" in line for line in lines) == 2, out


@pytest.mark.notebook
@pytest.mark.parametrize("hostile", ["alice\x1b]0;pwned\x07", "bo\u202eb", "eve\ufe0f\u3164"])
def test_the_cards_decision_record_escapes_who_and_feedback(hostile: str) -> None:
    from hitl_widget.widget import decision_record, record_text

    record = decision_record("rejected", hostile, f"no: {hostile}\nsecond line")
    assert _hidden_left(record["by"]) == [] and _hidden_left(record["feedback"]) == []
    assert record["feedback"].endswith("\nsecond line")
    assert _hidden_left(record_text(f"tool{hostile}", record)) == []


@pytest.mark.notebook
@pytest.mark.parametrize("hostile", ["Args\x1b[2J", "Args\u202e", "Args\ufe0f\u2800"])
def test_the_cards_error_replies_escape_what_they_quote(hostile: str) -> None:
    from hitl_widget.errors import InvalidEdit
    from hitl_widget.protocol import ProtocolError
    from hitl_widget.widget import _error_reply

    replies = [
        _error_reply("r1", InvalidEdit(f"q: expected {hostile}", problems={"q": f"expected {hostile}\nsee above"}), "tool"),
        _error_reply("r1", ProtocolError(f"bad {hostile}"), "tool"),
        _error_reply("r1", RuntimeError(f"boom {hostile}"), f"tool{hostile}"),
    ]
    for reply in replies:
        assert _hidden_left(json.dumps(reply, ensure_ascii=False)) == [], reply
    assert replies[0]["problems"]["q"].endswith("\nsee above")
