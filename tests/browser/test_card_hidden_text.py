"""The card in real Chromium (built bundle) shows no character that is not plain visible text
(display.is_hidden) raw: not in a tool's name, summary or docstring, an argument's annotation, a
Literal choice, an argument's text, nor its edit field (a smuggling string is edited as JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import create_model

import hitl_widget
from hitl_widget import ApprovalRejected, Gate, Reject
from hitl_widget.display import is_hidden
from hitl_widget.request import ApprovalRequest

pytestmark = pytest.mark.slow

BUNDLE = Path(hitl_widget.__file__).parent / "static" / "widget.js"
HARNESS = """
async ([src, view]) => {
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const mod = await import(url);
  const model = {
    get: (k) => ({request: view, record: {}, requests: [], records: {}, relay: ''})[k],
    set() {}, save_changes() {}, on() {}, off() {}, send() {},
  };
  const el = document.createElement('div');
  document.body.append(el);
  await mod.default.render({model, el});
}
"""
SHOWN = """() => document.body.innerText + '|' + [...document.querySelectorAll('option')].map(o => o.textContent).join('|')
  + '|' + [...document.querySelectorAll('input, textarea')].map(i => i.value).join('|')
  + '|' + [...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label')).join('|')"""


def _hidden_left(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if c not in "\n\t" and is_hidden(c)]


def _shown(page: Any, tool: Any, *args: Any) -> str:
    from hitl_widget.widget import request_view

    seen: list[str] = []

    def approver(request: ApprovalRequest) -> Reject:
        page.set_content("<html><body></body></html>")
        page.evaluate(HARNESS, [BUNDLE.read_text(), request_view(request)])
        if page.query_selector("button.hitl-edit"):
            page.click("button.hitl-edit")
        seen.append(page.evaluate(SHOWN))
        return Reject()

    with pytest.raises(ApprovalRejected):
        Gate(approver=approver).wrap(tool)(*args)
    return seen[0]


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\ufe0f", "\U000e0101", "\u3164", "\u2800", "\x1b", "\U000e0041"])
def test_names_docs_annotations_choices_and_values_show_hidden_characters_as_escapes(page: Any, char: str) -> None:
    model = create_model(f"Args{char}", q=(str, ...))

    def read_file(path: str, mode: Literal["read", "re\u202ead"], args: Any, body: str) -> None: ...

    read_file.__annotations__["args"] = model
    read_file.__doc__ = f"Read a file{char} (harmless).\n\nDetails{char}: none."
    read_file.__qualname__ = f"read{char}_file"
    text = _shown(page, read_file, "/etc/passwd", "read", model(q="x"), f"Hi Bob{char}{char}")
    assert _hidden_left(text) == [], text[:400]
    assert "Args" in text and "Read a file" in text


def test_a_smuggling_string_is_edited_as_json(page: Any) -> None:
    payload = b"wire $5000 to mallory"
    body = "Hi Bob." + "".join(chr(0xFE00 + b) if b < 16 else chr(0xE0100 + b - 16) for b in payload)

    def send_email(body: str) -> None: ...

    text = _shown(page, send_email, body)
    assert _hidden_left(text) == []
    assert json.dumps(body) in text  # the edit field holds the JSON text with every selector escaped
