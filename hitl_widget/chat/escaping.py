"""Text for chat messages: hostile argument text shown as itself, never as markup.

An agent's arguments (and a tool's name, a requester's name, a person's feedback) are text
written by whoever controls the agent's input. Posted into chat unescaped, such text could
ping a whole channel (Slack ``<!channel>``), mention someone (``<@U123>``), turn into a link
with a harmless-looking label (``<https://evil.example|dashboard>``), or fake the message's
own layout with bold text, quotes and emoji (``:white_check_mark: *Approved*``). Everything
here returns text that a chat client shows character for character:

- :func:`mrkdwn` for Slack's mrkdwn text objects (use them with ``"verbatim": True`` so Slack
  does not auto-link bare URLs and channel names either). ``&``, ``<`` and ``>`` become the
  three entities Slack documents (``&amp;``, ``&lt;``, ``&gt;``), so no ``<...>`` control
  sequence (mention, link, ``<!here>``) can form. The formatting characters ``*``, ``_``,
  ``~`` and the backtick, a ``>`` that starts a line (after any spaces: a quote), the first colon of an
  ``:emoji_code:`` are each written as the fallback of an invalid date token
  (``<!date^0^{_}|*>``): Slack shows a date token's fallback as plain text, so the person
  sees exactly the character (the technique jsx-slack's ``<Escape>`` uses); Slack has no
  backslash escape.
- :func:`slack_plain` for ``plain_text`` objects (buttons, modal titles): only hidden
  characters escaped and the length bounded; Slack renders plain_text without formatting.
- :func:`teams_markdown` for Adaptive Card ``TextBlock`` / ``FactSet`` text, where Teams
  applies its markdown subset (bold, italic, lists, links): every ASCII punctuation character
  gets a backslash (CommonMark's escape, which any punctuation character may take), so no
  emphasis, list, link, autolink (``<https://...>``) or entity (``&lt;``) forms. Where the
  card can, it puts hostile text in a ``RichTextBlock``'s ``TextRun`` instead, where Adaptive
  Cards apply no markdown at all, with :func:`teams_plain`.

Hidden characters (bidi overrides, zero-width characters, control characters, variation
selectors: :func:`hitl_widget.display.is_hidden`) are written as ``\\uXXXX`` escapes first,
as every other channel shows them, so nothing hides in a chat message either. Newlines are
kept where a caller asks (``keep="\\n"``).

Everything here is pure and linear in the text's length; nothing raises for any ``str``.
"""

from __future__ import annotations

import re

from ..display import json_escape, show_hidden

__all__ = [
    "cut",
    "mrkdwn",
    "slack_plain",
    "teams_markdown",
    "teams_plain",
]

#: A Slack date token whose format is invalid, so Slack shows its fallback (after ``|``) as plain text.
_LITERAL = "<!date^0^{{_}}|{}>"
_SLACK_FORMATTING = re.compile(r"[*_~`]|^[ \t]*&gt;|:(?=[A-Za-z0-9_+'-]+:)", re.MULTILINE)
_ASCII_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shown(text: str, keep: str) -> str:
    return show_hidden(text, json_escape, keep=keep)


def cut(text: str, limit: int) -> tuple[str, bool]:
    """``text`` shortened to at most ``limit`` characters (ending in ``…``), and whether it was.

    Never splits an escape written by :func:`hitl_widget.display.show_hidden` in the kept part
    more than a reader can tell (the cut is marked); ``limit`` below 1 gives ``("…", True)``.
    """
    if len(text) <= limit:
        return text, False
    return text[: max(0, limit - 1)] + "…", True


def mrkdwn(text: str, *, keep: str = "\n") -> str:
    """``text`` for a Slack ``mrkdwn`` text object: shown exactly, never as a mention, link or formatting.

    ``keep``: characters left as they are although hidden (newline by default, for multi-line
    values; ``""`` writes it as ``\\u000a`` too, for one-line labels). The result is longer than
    ``text`` (``*`` becomes 15 characters): callers bound the source first (:func:`cut`) and keep
    within Slack's 3,000 characters per section.
    """
    escaped = _entities(_shown(text, keep))
    return _SLACK_FORMATTING.sub(lambda m: _LITERAL.format(m.group(0)), escaped)


def slack_plain(text: str, limit: int = 75) -> str:
    """``text`` for a Slack ``plain_text`` object (a button label, a modal title): hidden characters
    escaped, newlines too, at most ``limit`` characters (Slack refuses longer button texts)."""
    return cut(_shown(text, ""), limit)[0]


def teams_markdown(text: str, *, keep: str = "\n") -> str:
    """``text`` for an Adaptive Card ``TextBlock`` or fact value in Teams: no markdown, link or entity forms.

    A backslash before every ASCII punctuation character (``*``, ``_``, ``[``, ``<``, ``&``, ``-``, ``.``, ...).
    """
    return _ASCII_PUNCTUATION.sub(lambda m: "\\" + m.group(0), _shown(text, keep))


def teams_plain(text: str, *, keep: str = "\n") -> str:
    """``text`` for an Adaptive Card ``TextRun`` (no markdown is applied there): hidden characters escaped."""
    return _shown(text, keep)
