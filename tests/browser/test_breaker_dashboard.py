"""Hostile text in every field an agent or a person controls, on the dashboard's queue and request
pages in Debian's Chromium (real ``hitl dashboard`` on SQLite): the function name, the summary and
doc, argument names, the context, the call text, the agent's problems after a refused edit, a
rejection's feedback in the history. Nothing may be interpreted as markup or run as script, and
bidi / zero-width characters must not reach the page raw.

The requests are posted straight to the API (an agent need not be hitl_widget's own), so the
page cannot rely on the agent side having escaped anything.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
sys.path.append(str(Path(__file__).resolve().parent.parent / "server"))
import server_process
from server_process import DashboardServer

pytestmark = [pytest.mark.slow, pytest.mark.threads, pytest.mark.subprocess]
server_process.CHEAP_PASSWORDS = True  # test-only cost: the server and `hitl users add` hash passwords cheaply

TIMEOUT_MS = 15_000
PASSWORD = "pw-breaker-1"
MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><a href="javascript:window.__pwned=3">x</a>'
BIDI = "\u202e\u200b\u2066"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DashboardServer, str]]:
    tmp = tmp_path_factory.mktemp("breaker-dashboard")
    server = DashboardServer(str(tmp / "hitl.db"), log_path=tmp / "server.log")
    server.start()
    try:
        server.add_user("ann", PASSWORD, "ops")
        yield server, server.add_token("agent-1")
    finally:
        server.close()


def hostile_request(server: DashboardServer, token: str, n: int) -> str:
    text = f"{MARKUP}{BIDI}"
    body = {
        "client_request_id": f"hostile-{n}-{time.time_ns()}",
        "fingerprint": "f",
        "function": f"hostile_{n}",
        "risk": "medium",
        "view": {
            "function": f"hostile_{n}{text}",
            "summary": f"summary {text}",
            "doc": f"doc {text}",
            "arguments": [{"name": f"arg{text}", "text": f'"{text}"', "complete": True, "length": 5}],
            "approvable": True,
        },
        "call_text": f"hostile_{n}({text})",
        "context": {f"key{text}": f"value {text}", "nested": {"k": text}},
    }
    answer = server.agent(token).post("/api/requests", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def injected(page: Any) -> list[str]:
    """What the page ran or inserted that only the hostile text could have."""
    found = []
    if page.evaluate("() => window.__pwned") is not None:
        found.append(f"script ran: window.__pwned = {page.evaluate('() => window.__pwned')}")
    for selector in ("img", "a[href^='javascript']", "#app script", "main script"):
        if page.locator(selector).count():
            found.append(f"{selector} inserted")
    where = page.evaluate("""(chars) => {
        const out = [];
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            for (const ch of chars) {
                if (n.nodeValue.includes(ch)) {
                    const el = n.parentElement;
                    const code = ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
                    out.push(`raw U+${code} in <${el.tagName.toLowerCase()} class="${el.className}">`);
                }
            }
        }
        return out;
    }""", list(BIDI))
    return found + sorted(set(where))


def test_hostile_text_in_every_field_is_shown_as_text(page: Any, server: tuple[DashboardServer, str]) -> None:
    from playwright.sync_api import expect

    srv, token = server
    pending_id = hostile_request(srv, token, 1)
    rejected_id = hostile_request(srv, token, 2)
    ann = srv.person("ann", PASSWORD)
    reject = {"version": 1, "kind": "reject", "feedback": f"no {MARKUP}{BIDI}"}
    assert ann.post(f"/api/requests/{rejected_id}/decisions", json=reject).status_code == 200

    page.goto(f"{srv.url}/login")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".dash-user-name")).to_have_text("ann", timeout=TIMEOUT_MS)

    page.goto(f"{srv.url}/")
    expect(page.locator(f'tr[data-id="{pending_id}"]')).to_be_visible(timeout=TIMEOUT_MS)
    assert injected(page) == []

    page.goto(f"{srv.url}/?status=rejected")
    expect(page.locator(f'tr[data-id="{rejected_id}"]')).to_be_visible(timeout=TIMEOUT_MS)
    assert injected(page) == []

    for rid in (pending_id, rejected_id):
        page.goto(f"{srv.url}/requests/{rid}")
        page.locator(".dash-card .hitl-card").wait_for(timeout=TIMEOUT_MS)
        expect(page.locator("body")).to_contain_text(re.compile("onerror"), timeout=TIMEOUT_MS)  # shown, as text
        found = injected(page)
        assert found == [], "\n".join([rid, *found])
