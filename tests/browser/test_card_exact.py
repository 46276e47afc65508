"""The card's Edit in real Chromium sends only what the person changed, and what runs is exact.

No notebook: the built bundle (hitl_widget/static/widget.js) renders a request_view() into a
blank page with a stand-in anywidget model, a person's clicks and typing are played with
Playwright, and the message the card sends is parsed by hitl_widget.protocol and returned by
the approver, so the wrapped function really runs with the result. Real Chromium matters here:
its textarea turns CR LF into LF, its one-line input drops CR and LF, its date input empties
itself for a value that is not a date — happy-dom (vitest) does none of that.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import hitl_widget
from hitl_widget import Gate
from hitl_widget.decisions import Decision
from hitl_widget.protocol import parse_decision_message
from hitl_widget.request import ApprovalRequest

pytestmark = pytest.mark.slow

BUNDLE = Path(hitl_widget.__file__).parent / "static" / "widget.js"

HARNESS = """
async ([src, view]) => {
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const mod = await import(url);
  window.sent = [];
  const model = {
    get: (k) => ({request: view, record: {}, requests: [], records: {}, relay: ''})[k],
    set() {}, save_changes() {}, on() {}, off() {},
    send: (m) => window.sent.push(m),
  };
  const el = document.createElement('div');
  document.body.append(el);
  await mod.default.render({model, el});
}
"""


def _card_decides(page: Any, request: ApprovalRequest, typed: dict[str, str]) -> tuple[dict[str, Any], Decision]:
    """Open Edit, type ``typed`` (argument -> the field's new text), send; ``(message sent, decision parsed)``."""
    from hitl_widget.widget import request_view

    page.set_content("<html><body></body></html>")
    page.evaluate(HARNESS, [BUNDLE.read_text(), request_view(request)])
    page.click("button.hitl-edit")
    for name, text in typed.items():
        page.fill(f".hitl-edit-row[data-name='{name}'] .hitl-input", text)
    page.click("button.hitl-send-edit")
    sent = page.evaluate("window.sent")
    assert sent, "the card sent nothing"
    return sent[-1], parse_decision_message(sent[-1], request_id=request.id)


def _run(page: Any, fn: Any, args: tuple[Any, ...], typed: dict[str, str]) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """Call ``fn`` through a Gate whose approver is the card in Chromium; ``(message sent, what fn ran with)``."""
    RAN.clear()
    sent: list[dict[str, Any]] = []

    def approver(request: ApprovalRequest) -> Decision:
        message, decision = _card_decides(page, request, typed)
        sent.append(message)
        return decision

    Gate(approver=approver).wrap(fn)(*args)
    return sent[0], list(RAN)


#: What the functions below ran with, one tuple per call.
RAN: list[tuple[Any, ...]] = []


def send(to: str, body: str) -> None:
    RAN.append((to, body))


BODIES = [
    "line one\r\nline two\r\n" * 10,  # CRLF text (mail, HTTP): a textarea makes it LF
    "a\rb",  # a lone CR in a short string: a one-line input drops it
    "\r",
    "ends with CRLF\r\n",
    "x" * 70 + "\u2028" + "y",  # a line separator in a long string
    "rm -rf /safe\u202e/evil",  # a bidi override
    "no\u00a0break and zero\u200bwidth",
    "tab\there and a form feed \x0c",
    "  leading and trailing spaces  ",
    "two\nlines",
    "Grüße 東京 🚀",
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_editing_one_argument_leaves_the_other_byte_for_byte(page: Any, body: str) -> None:
    message, ran = _run(page, send, ("bob", body), {"to": "alice"})
    assert set(message["decision"]["arguments"]) == {"to"}
    assert ran == [("alice", body)]
    assert type(ran[0][1]) is str


@pytest.mark.parametrize("body", ["a\rb", "line one\r\nline two\r\n" * 10, "bidi\u202e"], ids=range(3))
def test_a_string_shown_as_json_is_edited_exactly(page: Any, body: str) -> None:
    """Such a string is edited as its JSON text; what the person types there is what runs, CRs and all."""
    import json

    message, ran = _run(page, send, ("bob", body), {"body": json.dumps(body + "\r\n!")})
    assert set(message["decision"]["arguments"]) == {"body"}
    assert ran == [("bob", body + "\r\n!")]


def remind(to: str, when: dt.date | None) -> None:
    RAN.append((to, when))


def remind_required(to: str, when: dt.date) -> None:
    RAN.append((to, when))


def pay(to: str, amount: int, urgent: bool) -> None:
    RAN.append((to, amount, urgent))


CANNOT_HOLD = [
    (remind, ("bob", dt.datetime(2026, 1, 2, 3, 4, 5))),  # a datetime is a date: a date input cannot hold it
    (remind_required, ("bob", dt.datetime(2026, 1, 2, 3, 4, 5))),
    (remind, ("bob", "2026-02-30")),  # looks like a date, but Chromium's date input empties itself
    (remind_required, ("bob", "next tuesday")),
    (pay, ("bob", "12 apples", 1)),  # a str for an int, an int for a bool
    (pay, ("bob", 1.5, "yes")),
]


@pytest.mark.parametrize(("fn", "args"), CANNOT_HOLD, ids=range(len(CANNOT_HOLD)))
def test_values_an_input_cannot_hold_are_never_sent_untouched(page: Any, fn: Any, args: tuple[Any, ...]) -> None:
    message, ran = _run(page, fn, args, {"to": "alice"})
    assert set(message["decision"]["arguments"]) == {"to"}
    assert ran == [("alice", *args[1:])]
    assert [type(v) for v in ran[0]] == [str, *(type(v) for v in args[1:])]


def test_a_plain_date_still_gets_a_date_input(page: Any) -> None:
    message, ran = _run(page, remind, ("bob", dt.date(2026, 1, 2)), {"when": "2026-03-04"})
    assert message["decision"]["arguments"] == {"when": {"text": "2026-03-04"}}
    assert ran == [("bob", dt.date(2026, 3, 4))]
