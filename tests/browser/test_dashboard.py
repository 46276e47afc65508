"""The dashboard's pages in Debian's Chromium against a real ``hitl dashboard`` on SQLite.

A real server subprocess (tests/server/server_process.py) with a policy (high: 2 approvals
from ops; critical: 1 from manager), people added with ``hitl users add``, an agent token from
``hitl tokens add``. The agent side is the real one: a function wrapped by a ``Gate`` whose
approver is ``DashboardApprover``, called in a thread; the test then reads what the function
received, or the ``ApprovalRejected`` the agent got. People log in on the login page (the
fields labelled "Username" and "Password") and decide on the queue and request pages.

Screenshots (light and dark) are written to docs/screenshots/dashboard-*.png.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
sys.path.append(str(Path(__file__).resolve().parent.parent / "server"))
import server_process
from server_process import DashboardServer

from hitl_widget import ApprovalRejected, ApprovalTimeout, DashboardApprover, Gate

pytestmark = [pytest.mark.slow, pytest.mark.threads, pytest.mark.subprocess]
server_process.CHEAP_PASSWORDS = True  # test-only cost: the server and `hitl users add` hash passwords cheaply

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 15_000

POLICY = """\
[risk.high]
approvals = 2
roles = ["ops"]

[risk.critical]
approvals = 1
roles = ["manager"]
"""

PEOPLE = {
    "ann": ("pw-ann-1", ["ops"]),
    "bob": ("pw-bob-1", ["ops"]),
    "carol": ("pw-carol-1", ["ops"]),
    "max": ("pw-max-1", ["manager"]),
}


@dataclass
class Dashboard:
    server: DashboardServer
    token: str

    @property
    def url(self) -> str:
        return f"{self.server.url}{self.server.prefix}"


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("dashboard")
    policy = tmp / "policy.toml"
    policy.write_text(POLICY)
    server = DashboardServer(str(tmp / "hitl.db"), policy=policy, log_path=tmp / "server.log")
    server.start()
    try:
        for name, (password, roles) in PEOPLE.items():
            server.add_user(name, password, *roles)
        yield Dashboard(server, server.add_token("billing-agent"))
    finally:
        server.close()


# -- the agent side ----------------------------------------------------------------------------


@dataclass
class AgentCall:
    """One call of a gated function in a thread, as an agent SDK's worker thread makes it."""

    thread: threading.Thread
    received: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: BaseException | None = None

    def wait(self, timeout: float = 20) -> AgentCall:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the agent is still waiting for a decision"
        return self


def call(dash: Dashboard, fn: Callable[..., Any], *, risk: str = "medium", on_behalf_of: str | None = None,
         timeout: float = 600, **arguments: Any) -> AgentCall:
    """Call ``fn(**arguments)`` through a Gate asking the dashboard; returns at once."""
    approver = DashboardApprover(dash.url, token=dash.token, on_behalf_of=on_behalf_of)
    gate = Gate(approver=approver)
    wrapped = gate.wrap(fn, risk=risk, timeout=timeout)
    holder: list[AgentCall] = []

    def run() -> None:
        agent = holder[0]
        try:
            agent.result = wrapped(**arguments)
        except BaseException as e:
            agent.error = e

    agent = AgentCall(threading.Thread(target=run, daemon=True))
    holder.append(agent)
    agent.thread.start()
    return agent


def pending_id(dash: Dashboard, function: str, marker: str, timeout: float = 15) -> str:
    """The server's id of the pending ``function`` call whose call text contains ``marker``."""
    person = dash.server.person("ann", PEOPLE["ann"][0])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = person.get("/api/requests", params={"function": function, "status": "pending", "limit": 500}).json()["items"]
        for item in items:
            if marker in item["call_text"]:
                return str(item["id"])
        time.sleep(0.05)
    raise AssertionError(f"no pending {function}() call with {marker!r} reached the dashboard")


# -- pages --------------------------------------------------------------------------------------


def login(page: Any, dash: Dashboard, name: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{dash.url}/")
    page.wait_for_url(re.compile(r"/login"))
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PEOPLE[name][0])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".dash-user-name")).to_have_text(name, timeout=TIMEOUT_MS)


def open_request(page: Any, dash: Dashboard, request_id: str) -> Any:
    """The request page's card (waits until it is drawn)."""
    page.goto(f"{dash.url}/requests/{request_id}")
    card = page.locator(".dash-card .hitl-card")
    card.wait_for(timeout=TIMEOUT_MS)
    return card


def queue_row(page: Any, request_id: str) -> Any:
    return page.locator(f'tr[data-id="{request_id}"]')


def refund(order_id: str, amount: float, note: str = "") -> str:
    """Refund an order to the customer's card."""
    return f"refunded {amount!r} on {order_id}"


def delete_user(user_id: int) -> str:
    """Delete a user account."""
    return f"deleted {user_id}"


ARCHIVED: dict[str, int] = {}


def archive_logs(path: str, days: int = 30) -> str:
    """Archive old log files."""
    ARCHIVED[path] = days
    return f"archived {path}"


def echo(text: str) -> str:
    """Print text to the log."""
    return text


# -- tests --------------------------------------------------------------------------------------


def test_log_in_see_the_queue_and_approve(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    agent = call(dash, refund, order_id="Q-1", amount=12.5, on_behalf_of="carol")
    rid = pending_id(dash, "refund", "Q-1")

    page.goto(f"{dash.url}/login")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".dash-login-error")).to_have_text("Wrong username or password.", timeout=TIMEOUT_MS)
    login(page, dash, "ann")

    row = queue_row(page, rid)
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row.locator(".dash-age")).to_have_text(re.compile(r"^\d+ (s|min) ago$"))
    expect(row.locator(".dash-risk")).to_have_text("medium")
    expect(row.locator(".dash-quorum")).to_have_text("0 of 1 approval")
    expect(row.locator(".dash-requester")).to_have_text("carol")
    expect(row.locator(".dash-agent")).to_have_text("billing-agent")
    expect(row.locator(".dash-expires")).to_have_text(re.compile(r"^times out in"))
    expect(row.locator(".dash-call")).to_contain_text("order_id='Q-1'")

    row.locator("a.dash-open").click()
    page.wait_for_url(re.compile(rf"/requests/{rid}$"))
    card = page.locator(".dash-card .hitl-card")
    expect(card.locator(".hitl-function")).to_have_text("refund()")
    expect(page.locator(".dash-ctx-requester dd")).to_have_text("carol")
    expect(page.locator(".dash-ctx-agent dd")).to_have_text("billing-agent")
    expect(page.locator(".dash-ctx-policy dd")).to_have_text("1 approval from any approver")
    expect(page.locator(".dash-ctx-expires dd")).to_have_text(re.compile(r"^times out in \d+ min$"))
    expect(card.locator(".hitl-countdown")).to_have_text(re.compile(r"^times out in"))
    expect(card.get_by_role("button")).to_have_text(["Approve", "Edit", "Reject"])  # the notebook's card, no "Always"

    card.get_by_role("button", name="Approve", exact=True).click()
    record = page.locator(".dash-card .hitl-record-text")
    expect(record).to_have_text(re.compile(r"^✓ refund\(\) approved by ann at "), timeout=TIMEOUT_MS)
    assert agent.wait().error is None, agent.error
    assert agent.result == "refunded 12.5 on Q-1"  # the function ran, with the arguments shown
    expect(page.locator(".dash-ctx-status dd")).to_have_text(re.compile("succeeded|running|approved"), timeout=TIMEOUT_MS)


def test_edit_with_a_typed_input_runs_the_edited_value(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    agent = call(dash, refund, order_id="E-7", amount=120.5)
    rid = pending_id(dash, "refund", "E-7")
    login(page, dash, "bob")
    card = open_request(page, dash, rid)
    card.get_by_role("button", name="Edit", exact=True).click()
    amount = card.locator('.hitl-edit-row[data-name="amount"] .hitl-input')
    assert amount.get_attribute("inputmode") == "decimal"  # a number input, typed from the signature
    amount.fill("sixty")
    expect(card.locator('.hitl-edit-row[data-name="amount"] .hitl-edit-error')).to_contain_text("expected a number")
    expect(card.locator(".hitl-send-edit")).to_be_disabled()
    amount.fill("60")
    expect(card.locator(".hitl-diff")).to_have_text("amount: 120.5 → 60")
    card.locator(".hitl-send-edit").click()
    expect(page.locator(".dash-card .hitl-record-text")).to_have_text(
        re.compile(r"^✎ refund\(\) edited by bob at .*: amount: 120\.5 → 60$"), timeout=TIMEOUT_MS
    )
    assert agent.wait().error is None, agent.error
    assert agent.result == "refunded 60.0 on E-7"  # a float, parsed and validated on the agent's side

    # the history: who decided, when, the edit diff
    page.goto(f"{dash.url}/?status=history&function=refund")
    row = queue_row(page, rid)
    decided = re.compile(r"^edited and approved by bob at \d{4}-\d\d-\d\d ")
    expect(row.locator(".dash-decided")).to_have_text(decided, timeout=TIMEOUT_MS)
    expect(row.locator(".dash-diff")).to_have_text("amount: 120.5 → 60")


TAGGED: dict[str, list[int]] = {}


def tag_users(label: str, ids: list[int]) -> str:
    """Tag users."""
    TAGGED[label] = ids
    return f"tagged {len(ids)}"


def test_an_edit_the_agent_refuses_comes_back_with_its_reasons(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    agent = call(dash, tag_users, label="refused-edit", ids=[1])
    rid = pending_id(dash, "tag_users", "refused-edit")
    login(page, dash, "ann")
    card = open_request(page, dash, rid)
    card.get_by_role("button", name="Edit", exact=True).click()
    card.locator('.hitl-edit-row[data-name="ids"] .hitl-input').fill('["x"]')  # valid JSON, not a list[int]
    card.locator(".hitl-send-edit").click()
    # the agent's gate refuses it: back to pending at a new version, its reasons on the page, nothing ran
    expect(page.locator(".dash-ctx-problems dd")).to_contain_text("The agent refused the edit of version 2", timeout=TIMEOUT_MS)
    expect(page.locator(".dash-ctx-status dd")).to_have_text("pending")
    expect(page.locator(".dash-ctx-version dd")).to_have_text("3")
    card = page.locator(".dash-card .hitl-card")
    expect(card.locator(".hitl-problems")).to_contain_text("The agent refused this edit, so nothing ran")
    assert "refused-edit" not in TAGGED and agent.thread.is_alive()
    card.get_by_role("button", name="Edit", exact=True).click()
    expect(card.locator('.hitl-edit-row[data-name="ids"] .hitl-edit-error')).not_to_be_empty()
    card.locator('.hitl-edit-row[data-name="ids"] .hitl-input').fill("[1, 2]")
    card.locator(".hitl-send-edit").click()
    assert agent.wait().error is None, agent.error
    assert TAGGED["refused-edit"] == [1, 2]


def test_reject_with_feedback_reaches_the_agent(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    agent = call(dash, delete_user, risk="critical", user_id=4242)
    rid = pending_id(dash, "delete_user", "4242")
    # a link to the request (from chat, say) asks for the login first, then opens the request
    page.goto(f"{dash.url}/requests/{rid}")
    page.wait_for_url(re.compile(r"/login\?next=requests%2F"))
    page.get_by_label("Username").fill("max")
    page.get_by_label("Password").fill(PEOPLE["max"][0])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{dash.url}/requests/{rid}")
    card = page.locator(".dash-card .hitl-card")
    card.wait_for(timeout=TIMEOUT_MS)
    expect(page.locator(".dash-ctx-policy dd")).to_have_text("1 approval from manager")
    card.get_by_role("button", name="Reject", exact=True).click()
    card.get_by_label("Feedback for the agent (why, and what to do instead)").fill("use archive_user instead")
    card.get_by_role("button", name="Send rejection").click()
    expect(page.locator(".dash-card .hitl-record-text")).to_have_text(
        re.compile(r"^✗ delete_user\(\) rejected by max at .*: use archive_user instead$"), timeout=TIMEOUT_MS
    )
    assert isinstance(agent.wait().error, ApprovalRejected), agent.error
    assert "use archive_user instead" in str(agent.error)
    expect(page.locator(".dash-history")).to_contain_text("rejected by max")
    expect(page.locator(".dash-history")).to_contain_text("Feedback: use archive_user instead")

    # log out: the session is over, every page asks for the login again
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    assert page.evaluate("() => fetch('api/me').then(r => r.status)") == 401
    page.goto(f"{dash.url}/")
    page.wait_for_url(re.compile(r"/login"))


def test_quorum_shows_one_of_two_and_the_requester_cannot_approve(browser: Any, page: Any, dash: Dashboard) -> None:
    from lab_server import local_page
    from playwright.sync_api import expect

    agent = call(dash, archive_logs, risk="high", on_behalf_of="carol", path="/var/log/quorum")
    rid = pending_id(dash, "archive_logs", "quorum")

    login(page, dash, "ann")
    card = open_request(page, dash, rid)
    expect(page.locator(".dash-ctx-policy dd")).to_have_text("2 approvals from ops")
    expect(page.locator(".dash-ctx-quorum dd")).to_have_text("0 of 2 approvals")
    card.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator(".dash-ctx-quorum dd")).to_have_text("1 of 2 approvals: ann", timeout=TIMEOUT_MS)
    expect(page.locator(".dash-notice")).to_contain_text("1 of 2 approvals")
    expect(page.locator(".dash-ctx-status dd")).to_have_text("pending")
    assert agent.thread.is_alive()  # one approval of two: nothing runs yet

    # the requester (the agent acts for carol) is told, and refused by the server
    with local_page(browser) as carol:
        login(carol, dash, "carol")
        expect(queue_row(carol, rid).locator(".dash-quorum")).to_have_text("1 of 2 approvals", timeout=TIMEOUT_MS)
        card_c = open_request(carol, dash, rid)
        expect(carol.locator(".dash-notice")).to_contain_text("you are the requester")
        card_c.get_by_role("button", name="Approve", exact=True).click()
        expect(card_c.locator(".hitl-problems")).not_to_be_empty(timeout=TIMEOUT_MS)
        expect(carol.locator(".dash-ctx-quorum dd")).to_have_text("1 of 2 approvals: ann")
        # the refused attempt is on the record, beside ann's accepted one
        log = carol.locator(".dash-log-entries li")
        expect(log.filter(has_text="carol via dashboard · approve v1 · refused (")).to_have_count(1, timeout=TIMEOUT_MS)
        expect(log.filter(has_text="ann via dashboard · approve v1 · accepted")).to_have_count(1)

    # the second approver completes the quorum; ann's open page follows live
    with local_page(browser) as bob:
        login(bob, dash, "bob")
        open_request(bob, dash, rid).get_by_role("button", name="Approve", exact=True).click()
        expect(bob.locator(".dash-card .hitl-record-text")).to_have_text(
            re.compile(r"^✓ archive_logs\(\) approved by (ann, bob|bob, ann) at "), timeout=TIMEOUT_MS
        )
    expect(page.locator(".dash-card .hitl-record-text")).to_have_text(re.compile(r"approved by"), timeout=TIMEOUT_MS)
    assert agent.wait().error is None, agent.error
    assert agent.result == "archived /var/log/quorum"


def test_an_edit_restarts_the_quorum_and_the_next_approver_reviews_it(browser: Any, page: Any, dash: Dashboard) -> None:
    from lab_server import local_page
    from playwright.sync_api import expect

    agent = call(dash, archive_logs, risk="high", path="/var/log/edit-quorum", days=30)
    rid = pending_id(dash, "archive_logs", "edit-quorum")
    login(page, dash, "ann")
    card = open_request(page, dash, rid)
    card.get_by_role("button", name="Edit", exact=True).click()
    card.locator('.hitl-edit-row[data-name="days"] .hitl-input').fill("90")
    card.locator(".hitl-send-edit").click()
    # the edit is ann's approval of version 2; one more is needed
    expect(page.locator(".dash-ctx-version dd")).to_have_text("2", timeout=TIMEOUT_MS)
    expect(page.locator(".dash-ctx-quorum dd")).to_have_text("1 of 2 approvals: ann")
    expect(page.locator(".dash-history .dash-diff")).to_have_text("days: 30 → 90")
    assert agent.thread.is_alive()

    with local_page(browser) as bob:
        login(bob, dash, "bob")
        card_b = open_request(bob, dash, rid)
        expect(card_b.locator('.hitl-arg[data-name="days"] .hitl-pre')).to_have_text("90")  # what would run
        card_b.get_by_role("button", name="Approve", exact=True).click()
        record = bob.locator(".dash-card .hitl-record-text")
        expect(record).to_have_text(re.compile(r"edited by .*days: 30 → 90$"), timeout=TIMEOUT_MS)
    assert agent.wait().error is None, agent.error
    assert agent.result == "archived /var/log/edit-quorum"
    assert ARCHIVED["/var/log/edit-quorum"] == 90  # an int, as edited


def test_a_request_that_times_out_shows_as_timed_out_not_rejected(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    agent = call(dash, echo, text="too-slow", timeout=4)
    rid = pending_id(dash, "echo", "too-slow")
    login(page, dash, "ann")
    card = open_request(page, dash, rid)
    expect(page.locator(".dash-ctx-expires dd")).to_have_text(re.compile(r"^times out in \d s$"))
    expect(card.locator(".hitl-countdown")).to_have_text(re.compile(r"^times out in \d s$"))
    record = page.locator(".dash-card .hitl-record-text")
    expect(record).to_have_text(re.compile(r"^⏱ echo\(\) timed out .*: not run$"), timeout=TIMEOUT_MS)
    expect(page.locator(".dash-ctx-status dd")).to_have_text("timed out")
    assert isinstance(agent.wait().error, ApprovalTimeout), agent.error


def test_bulk_reject_with_one_comment(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    agents = [call(dash, echo, text=f"bulk-{i}") for i in range(3)]
    ids = [pending_id(dash, "echo", f"bulk-{i}") for i in range(3)]
    login(page, dash, "ann")
    page.goto(f"{dash.url}/?function=echo")
    for rid in ids:
        queue_row(page, rid).locator(".dash-select").check()
    expect(page.locator(".dash-selected")).to_have_text("3 selected")
    page.get_by_label("Comment for the selected requests").fill("logging is frozen during the audit")
    page.get_by_role("button", name="Reject selected").click()
    expect(page.locator(".dash-bulk-result")).to_have_text("3 rejected", timeout=TIMEOUT_MS)
    for rid in ids:  # gone from the pending queue, live
        expect(queue_row(page, rid)).to_have_count(0, timeout=TIMEOUT_MS)
    for agent in agents:
        assert isinstance(agent.wait().error, ApprovalRejected), agent.error
        assert "logging is frozen during the audit" in str(agent.error)
    page.goto(f"{dash.url}/?status=rejected&function=echo")
    for rid in ids:
        feedback = queue_row(page, rid).locator(".dash-feedback")
        expect(feedback).to_have_text("“logging is frozen during the audit”", timeout=TIMEOUT_MS)


def test_bulk_approve_counts_toward_each_quorum(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    one = call(dash, echo, text="bulk-approve-one")
    two = call(dash, archive_logs, risk="high", path="/var/log/bulk-two")  # needs 2 approvals from ops
    ids = [pending_id(dash, "echo", "bulk-approve-one"), pending_id(dash, "archive_logs", "bulk-two")]
    login(page, dash, "ann")
    page.goto(f"{dash.url}/?status=pending")
    for rid in ids:
        queue_row(page, rid).locator(".dash-select").check()
    page.get_by_label("Comment for the selected requests").fill("checked both")
    page.get_by_role("button", name="Approve selected").click()
    expect(page.locator(".dash-bulk-result")).to_have_text("1 approved; 1 approval counted, more needed", timeout=TIMEOUT_MS)
    assert one.wait().error is None and one.result == "bulk-approve-one"
    expect(queue_row(page, ids[1]).locator(".dash-quorum")).to_have_text("1 of 2 approvals", timeout=TIMEOUT_MS)
    assert two.thread.is_alive()
    done = dash.server.person("bob", PEOPLE["bob"][0]).post("/api/decisions", json={
        "items": [{"id": ids[1], "version": 1}], "kind": "approve", "feedback": "second"})
    assert done.json()["results"][0]["ok"] is True
    assert two.wait().error is None and two.result == "archived /var/log/bulk-two"


def test_new_requests_arrive_live(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    login(page, dash, "ann")
    expect(page.locator(".dash-live")).to_have_text("live", timeout=TIMEOUT_MS)
    agent = call(dash, echo, text="live-arrival")
    rid = pending_id(dash, "echo", "live-arrival")
    expect(queue_row(page, rid)).to_be_visible(timeout=TIMEOUT_MS)  # no reload: the SSE event brought it
    dash.server.person("bob", PEOPLE["bob"][0]).post(
        f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "reject", "feedback": "not now"}
    ).raise_for_status()
    expect(queue_row(page, rid)).to_have_count(0, timeout=TIMEOUT_MS)
    assert isinstance(agent.wait().error, ApprovalRejected)


HOSTILE_MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
HIDDEN = "safe\u202e\u0007\x1b[31m\u200bexe.txt"
HUGE = "A" * 999_000 + "THE-END"  # about 1 MB: shown whole (scrollable)


def test_hostile_argument_text_is_shown_as_text(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    agent = call(dash, echo, text=HOSTILE_MARKUP)
    rid_markup = pending_id(dash, "echo", "onerror")
    hidden_agent = call(dash, echo, text=HIDDEN)
    rid_hidden = pending_id(dash, "echo", "exe.txt")
    huge_agent = call(dash, echo, text=HUGE)
    rid_huge = pending_id(dash, "echo", "AAAA")

    login(page, dash, "ann")
    page.goto(f"{dash.url}/?function=echo")
    expect(queue_row(page, rid_markup)).to_be_visible(timeout=TIMEOUT_MS)
    expect(queue_row(page, rid_markup).locator(".dash-call")).to_contain_text("<img src=x")
    expect(queue_row(page, rid_hidden).locator(".dash-call")).to_contain_text("\\u202e")
    assert "\u202e" not in queue_row(page, rid_hidden).locator(".dash-call").inner_text()

    card = open_request(page, dash, rid_markup)
    expect(card.locator('.hitl-arg[data-name="text"] .hitl-pre')).to_have_text(json.dumps(HOSTILE_MARKUP))
    assert page.locator("img").count() == 0 and page.locator(".dash-card script").count() == 0
    assert page.evaluate("() => window.__pwned") is None

    card = open_request(page, dash, rid_hidden)
    shown = card.locator('.hitl-arg[data-name="text"] .hitl-pre').inner_text()
    assert "\u202e" not in shown and "\x1b" not in shown and "\u200b" not in shown
    assert "\\u202e" in shown and "\\u200b" in shown

    card = open_request(page, dash, rid_huge)
    pre = card.locator('.hitl-arg[data-name="text"] .hitl-pre')
    assert pre.evaluate("el => el.textContent.length") == len(HUGE) + 2  # every character, quoted
    expect(card.locator(".hitl-tail-text")).to_contain_text("THE-END")
    expect(card.locator(".hitl-meta").first).to_contain_text("characters, all shown")

    # over the card's limit (a million characters): only its start is shown, so only Reject is offered
    too_big = call(dash, echo, text="B" * 1_200_000)
    card = open_request(page, dash, pending_id(dash, "echo", "BBBB"))
    expect(card.locator(".hitl-not-approvable")).to_contain_text("cannot be shown whole here")
    expect(card.get_by_role("button", name="Approve", exact=True)).to_be_disabled()
    expect(card.get_by_role("button", name="Edit", exact=True)).to_be_disabled()
    card.get_by_role("button", name="Reject", exact=True).click()
    card.get_by_role("button", name="Send rejection").click()
    assert isinstance(too_big.wait().error, ApprovalRejected)

    # reject the markup one: its agent hears of it, nothing ran
    card = open_request(page, dash, rid_markup)
    card.get_by_role("button", name="Reject", exact=True).click()
    card.locator(".hitl-feedback").fill("no markup, please")
    card.get_by_role("button", name="Send rejection").click()
    assert isinstance(agent.wait().error, ApprovalRejected)
    assert page.evaluate("() => window.__pwned") is None
    bob = dash.server.person("bob", PEOPLE["bob"][0])
    for rid, other in ((rid_hidden, hidden_agent), (rid_huge, huge_agent)):
        done = bob.post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "reject", "feedback": "test over"})
        done.raise_for_status()
        assert isinstance(other.wait().error, ApprovalRejected)


def test_a_post_without_the_csrf_token_is_refused(page: Any, dash: Dashboard) -> None:
    agent = call(dash, echo, text="csrf-check")
    rid = pending_id(dash, "echo", "csrf-check")
    login(page, dash, "ann")
    # the page's own session cookie, but no X-CSRF-Token (or a wrong one): refused, nothing changes
    script = """async ([id, token]) => {
        const headers = {"Content-Type": "application/json"};
        if (token) headers["X-CSRF-Token"] = token;
        const r = await fetch(`api/requests/${id}/decisions`, {method: "POST", headers,
            body: JSON.stringify({version: 1, kind: "approve"})});
        return [r.status, await r.json()];
    }"""
    status, body = page.evaluate(script, [rid, None])
    assert status == 403 and body["code"] == "csrf_missing", body
    status, body = page.evaluate(script, [rid, "0" * 64])
    assert status == 403 and body["code"] == "csrf_invalid", body
    now = dash.server.person("bob", PEOPLE["bob"][0]).get(f"/api/requests/{rid}").json()
    assert now["status"] == "pending" and now["approvals"] == []
    assert agent.thread.is_alive()
    # the page itself sends it: the same decision from the card is accepted
    open_request(page, dash, rid).get_by_role("button", name="Approve", exact=True).click()
    assert agent.wait().error is None and agent.result == "csrf-check"


def test_light_and_dark_with_screenshots(page: Any, dash: Dashboard) -> None:
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    call(dash, refund, risk="high", on_behalf_of="carol", order_id="SHOT-1", amount=89.9, note="duplicate charge")
    rid = pending_id(dash, "refund", "SHOT-1")
    call(dash, delete_user, risk="critical", user_id=777)
    pending_id(dash, "delete_user", "777")
    call(dash, archive_logs, path="/var/log/app")
    pending_id(dash, "archive_logs", "/var/log/app")
    dash.server.person("bob", PEOPLE["bob"][0]).post(f"/api/requests/{rid}/decisions", json={"version": 1, "kind": "approve"})

    page.set_viewport_size({"width": 1280, "height": 720})
    page.emulate_media(color_scheme="light")
    page.goto(f"{dash.url}/login")
    page.locator("form#login").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-login-light.png"))
    login(page, dash, "ann")
    expect(queue_row(page, rid).locator(".dash-quorum")).to_have_text("1 of 2 approvals", timeout=TIMEOUT_MS)
    light_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    page.mouse.move(0, 0)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-queue-light.png"))
    page.emulate_media(color_scheme="dark")  # the system's preference
    dark_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert light_bg != dark_bg, (light_bg, dark_bg)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-queue-dark.png"))

    open_request(page, dash, rid)
    expect(page.locator(".dash-ctx-quorum dd")).to_have_text("1 of 2 approvals: bob")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-request-dark.png"))
    # the toggle overrides the system: auto -> light, kept across pages
    toggle = page.locator(".dash-theme")
    expect(toggle).to_have_text("Theme: auto")
    toggle.click()
    expect(toggle).to_have_text("Theme: light")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == light_bg
    page.reload()
    page.locator(".dash-card .hitl-card").wait_for()
    assert page.evaluate("() => document.documentElement.dataset.theme") == "light"
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == light_bg
    page.mouse.move(0, 0)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-request-light.png"))
    toggle = page.locator(".dash-theme")
    toggle.click()
    expect(toggle).to_have_text("Theme: dark")
    page.emulate_media(color_scheme="light")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == dark_bg  # the choice wins


def test_behind_a_path_prefix_every_url_keeps_it(page: Any, tmp_path: Path) -> None:
    """As under jupyter-server-proxy (/hitl/): the pages' links, API calls and redirects stay under the prefix."""
    from playwright.sync_api import expect

    server = DashboardServer(str(tmp_path / "prefix.db"), extra_args=["--root-path", "/hitl"], log_path=tmp_path / "prefix.log")
    server.start()
    try:
        server.add_user("ann", PEOPLE["ann"][0], "ops")
        base = f"{server.url}/hitl"
        dash = Dashboard(server, server.add_token("prefixed-agent"))
        agent = call(dash, echo, text="under-a-prefix")
        page.goto(f"{base}/")
        page.wait_for_url(f"{base}/login")
        page.get_by_label("Username").fill("ann")
        page.get_by_label("Password").fill(PEOPLE["ann"][0])
        page.get_by_role("button", name="Log in").click()
        link = page.locator("a.dash-open", has_text="echo()")
        expect(link).to_be_visible(timeout=TIMEOUT_MS)
        link.click()
        page.wait_for_url(re.compile(rf"^{re.escape(base)}/requests/\w+$"))
        page.locator(".dash-card .hitl-card").get_by_role("button", name="Approve", exact=True).click()
        expect(page.locator(".dash-card .hitl-record-text")).to_have_text(re.compile(r"approved by ann"), timeout=TIMEOUT_MS)
        assert agent.wait().error is None and agent.result == "under-a-prefix"
        page.locator("a.dash-back").click()
        page.wait_for_url(f"{base}/")
        outside = [u for u in page.requested_urls if not u.startswith(f"{base}/")]
        assert not outside, outside
    finally:
        server.close()
