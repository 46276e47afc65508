"""Hostile text in chat messages: shown as itself, never as a Slack mention, link or formatting, nor Teams markdown.

Needs no server: the message and card builders and the escaping functions, checked on the
exact payloads they produce (the loopback tests check the same payloads as the fakes receive them).
"""

from __future__ import annotations

import json
import re

import pytest

from hitl_widget.chat import escaping
from hitl_widget.chat.messages import APPROVE, OPEN, REJECT, message, parse_action_value, request_facts
from hitl_widget.chat.teams import CARD_VERSION, card, outcome_card

HOSTILE = [
    "<!channel> please approve",
    "<!here>",
    "<!everyone>",
    "<@U024BE7LH> said yes",
    "<#C024BE7LH>",
    "<!subteam^S0123|@admins>",
    "<https://evil.example/steal|Open in dashboard>",
    "<mailto:a@evil.example|mail>",
    "*Approved by admin*",
    "_italics_ ~strike~ `code` ```block```",
    "> quoted\n>>> quote all\n   > indented quote",
    ":white_check_mark: Approved",
    "&lt;!channel&gt;",  # already-escaped text must not unescape into a control sequence
    "<!date^1700000000^{date}|fake date>",
    "a\u202eevil\u200b\u2066",  # bidi override, zero-width space, isolate
    "x\x1b[31mred\x07",
]


def unescaped_slack(text: str) -> str:
    """What Slack shows for mrkdwn text: our date tokens become their fallbacks, entities decode."""
    shown = re.sub(r"<!date\^0\^\{_\}\|([^>]*)>", r"\1", text)
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def control_sequences(text: str) -> list[str]:
    """Slack control sequences (<...>) in mrkdwn text, other than the date tokens the builder writes itself."""
    return [m for m in re.findall(r"<[^>]*>", text) if not re.fullmatch(r"<!date\^\d+\^[^|>]*\|[^>]*>", m)]


@pytest.mark.parametrize("text", HOSTILE)
def test_mrkdwn_never_forms_a_control_sequence_and_shows_the_exact_text(text):
    out = escaping.mrkdwn(text)
    assert control_sequences(out) == []
    assert "<!channel>" not in out and "<!here>" not in out and "<@U" not in out and "<https://" not in out
    # the person reads exactly the text (hidden characters as \\u escapes, as in every channel)
    expected = escaping.show_hidden(text, escaping.json_escape, keep="\n")
    assert unescaped_slack(out) == expected
    # no formatting character is left bare, and no line starts with a quote marker
    bare = re.sub(r"<!date\^0\^\{_\}\|[^>]*>", "", out)
    assert not re.search(r"[*_~`]", bare), bare
    assert not re.search(r"^\s*(&gt;|>)", out, re.M)


def test_mrkdwn_only_control_sequences_are_our_date_tokens():
    for text in HOSTILE:
        out = escaping.mrkdwn(text)
        for seq in re.findall(r"<[^>]*>", out):
            assert re.fullmatch(r"<!date\^0\^\{_\}\|[^<>|]*>", seq), (text, seq)


def test_hidden_characters_are_escaped_as_in_every_channel():
    assert escaping.mrkdwn("a\u202eb") == "a\\u202eb"
    assert escaping.mrkdwn("line1\nline2") == "line1\nline2"
    assert escaping.mrkdwn("line1\nline2", keep="") == "line1\\u000aline2"
    assert escaping.teams_plain("\u200bx") == "\\u200bx"
    assert escaping.slack_plain("a\nb") == "a\\u000ab"


@pytest.mark.parametrize(
    "text",
    [
        "**bold** _it_",
        "[label](https://evil.example)",
        "<https://evil.example>",
        "&lt;b&gt;",
        "1. one\n- two\n# head",
        "![img](https://evil.example/x.png)",
        "`code`",
        "<at>Boss</at>",
    ],
)
def test_teams_markdown_escapes_every_markdown_character(text):
    out = escaping.teams_markdown(text)
    # every ASCII punctuation character is backslash-escaped (CommonMark's escape): nothing is markup
    unescaped = re.sub(r"\\([!-/:-@\[-`{-~])", "", out)
    assert not re.search(r"[!-/:-@\[-`{-~]", unescaped), out
    assert re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", out) == text


def stored(**changes):
    base = {
        "id": "r-1",
        "function": "delete_user",
        "risk": "high",
        "status": "pending",
        "version": 3,
        "agent": "bot",
        "on_behalf_of": "ana",
        "approvals_needed": 2,
        "roles": ["ops"],
        "approvals": [],
        "decision": None,
        "expires_at": "2026-12-01T22:00:00.000Z",
        "outcome": None,
        "problems": None,
        "view": {
            "function": "delete_user",
            "summary": "Delete a user.",
            "arguments": [{"name": "user_id", "text": "42", "complete": True, "length": 2}],
        },
    }
    base.update(changes)
    return base


def mrkdwn_texts(blocks):
    out = []
    for block in blocks:
        for part in [block.get("text"), *block.get("elements", [])]:
            if isinstance(part, dict) and part.get("type") == "mrkdwn":
                out.append(part)
    return out


def test_message_puts_hostile_arguments_and_names_in_verbatim_escaped_mrkdwn():
    hostile = " ".join(HOSTILE)
    data = stored(
        function="<!channel>",
        on_behalf_of="<@U999>",
        agent="*bot*",
        view={
            "function": "<!channel>",
            "summary": "<https://evil.example|click>",
            "arguments": [{"name": "<@U1>", "text": json.dumps(hostile), "complete": True, "length": 10}],
        },
    )
    text, blocks = message(data, dashboard="http://127.0.0.1:8765", now=1_700_000_000)
    for part in mrkdwn_texts(blocks):
        assert part["verbatim"] is True
        for seq in re.findall(r"<[^>]*>", part["text"]):
            assert seq.startswith(("<!date^", "<http://127.0.0.1:8765/requests/")), seq
    assert "<!channel>" not in text and "<@U" not in text
    for seq in re.findall(r"<[^>]*>", text):
        assert seq.startswith("<!date^"), seq
    shown = " ".join(unescaped_slack(p["text"]) for p in mrkdwn_texts(blocks))
    assert "<!channel>" in shown and "<@U999>" in shown  # shown as text, exactly


def test_message_buttons_carry_request_and_version_and_the_link_changes_nothing():
    _, blocks = message(stored(), dashboard="http://127.0.0.1:8765/")
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    by_id = {a["action_id"]: a for a in actions}
    assert set(by_id) == {APPROVE, REJECT, OPEN}
    assert parse_action_value(by_id[APPROVE]["value"]) == ("r-1", 3)
    assert parse_action_value(by_id[REJECT]["value"]) == ("r-1", 3)
    assert by_id[OPEN]["url"] == "http://127.0.0.1:8765/requests/r-1"
    assert "value" not in by_id[OPEN]


def test_dashboard_only_has_no_buttons_and_decided_has_none_either():
    _, blocks = message(stored(risk="critical"), dashboard="http://d", buttons=False)
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == [OPEN]
    assert "dashboard only" in json.dumps(blocks)
    decided = stored(status="approved", decision={"kind": "approve", "by": ["alice", "bob"], "at": "2026-12-01T21:40:00.000Z"})
    _, blocks = message(decided, dashboard="http://d")
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == [OPEN]
    assert "Approved" in json.dumps(blocks) and "alice" in json.dumps(blocks)


def test_long_values_are_cut_with_a_link_and_sections_stay_within_slacks_limit():
    long = "*" * 10_000
    data = stored(view={"function": "f", "arguments": [{"name": "body", "text": long, "complete": True, "length": 10_000}]})
    _, blocks = message(data, dashboard="http://d")
    section = next(b for b in blocks if "body" in b.get("text", {}).get("text", ""))
    assert len(section["text"]["text"]) <= 3000
    assert "10,000 characters" in section["text"]["text"] and "<http://d/requests/r-1|" in section["text"]["text"]
    assert len(blocks) <= 50


def test_secret_named_arguments_are_redacted_in_chat():
    data = stored(view={"function": "f", "arguments": [{"name": "api_token", "text": '"sk-live-123"', "complete": True}]})
    _, blocks = message(data, dashboard="http://d")
    assert "sk-live-123" not in json.dumps(blocks)
    facts = request_facts(None, data)
    assert "sk-live-123" not in json.dumps(facts)


def test_many_arguments_stay_within_fifty_blocks():
    arguments = [{"name": f"a{i}", "text": str(i), "complete": True} for i in range(200)]
    _, blocks = message(stored(view={"function": "f", "arguments": arguments}), dashboard="http://d")
    assert len(blocks) <= 50
    assert "188 more arguments" in json.dumps(blocks)


def test_teams_card_schema_and_hostile_text_only_in_text_runs():
    data = stored(
        function="[x](https://evil.example)",
        on_behalf_of="**boss**",
        view={
            "function": "[x](https://evil.example)",
            "summary": "<at>all</at>",
            "arguments": [{"name": "q", "text": "**bold** [l](https://evil.example) <https://e>", "complete": True}],
        },
    )
    payload = card(request_facts(None, data), dashboard="http://127.0.0.1:8765", now=0)
    assert payload["type"] == "message"
    content = payload["attachments"][0]["content"]
    assert payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["version"] == CARD_VERSION == "1.4" and content["type"] == "AdaptiveCard"
    assert content["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in dashboard", "url": "http://127.0.0.1:8765/requests/r-1"}
    ]
    for block in content["body"]:
        if block["type"] == "TextBlock":  # markdown applies here: only our own fixed texts
            assert "evil" not in block["text"] and "**" not in block["text"]
        if block["type"] == "FactSet":
            for fact in block["facts"]:
                unescaped = re.sub(r"\\([!-/:-@\[-`{-~])", "", fact["value"])
                assert not re.search(r"[*\[\]()<>]", unescaped), fact
    runs = [r["text"] for b in content["body"] if b["type"] == "RichTextBlock" for r in b["inlines"]]
    assert any("[x](https://evil.example)" in r for r in runs)  # shown as text in a TextRun (no markdown there)
    out = outcome_card(
        request_facts(
            None, {**data, "status": "rejected", "decision": {"kind": "reject", "by": ["<@U1>"], "at": 0, "feedback": "**no**"}}
        ),
        dashboard="http://127.0.0.1:8765",
    )
    body = out["attachments"][0]["content"]["body"]
    assert all(b["type"] != "TextBlock" or "**" not in b["text"] for b in body)
    assert "Rejected" in json.dumps(body)


def test_a_request_that_can_only_be_rejected_has_no_approve_button():
    data = stored(
        view={
            "function": "f",
            "approvable": False,
            "too_large": ["blob"],
            "arguments": [{"name": "blob", "text": "x" * 500, "complete": False, "length": 2_000_000}],
        }
    )
    _, blocks = message(data, dashboard="http://d")
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == [REJECT, OPEN]
    assert "can only be rejected" in json.dumps(blocks) and "2,000,000 characters" in json.dumps(blocks)
