"""The terminal channel: show the call, then approve / edit / reject / always at a prompt.

Reads lines straight from the input file descriptor with ``select`` so a prompt
gives up at the request's deadline (a blocking ``input()`` would hang the agent past
its timeout). Prompts from several threads never interleave: one lock serializes them.

What the person approves is what they could see:

- Long arguments are shown shortened, marked as such, with their last characters; the
  ``v`` key shows every argument in full (``v NAME``: one), through a small built-in
  pager that honours the deadline.
- Only keys typed after a prompt appeared answer it. When the input is a terminal, each
  prompt first discards whatever was typed before it (``termios.tcflush`` plus this
  reader's own buffer), so an ``a⏎`` typed ahead, or a double-tapped one, never approves
  a call the person has not seen. Input from a pipe or a file is not a person typing
  ahead: it is read in order, as scripted answers, and nothing is discarded.
- Everything printed is sanitized text: control and invisible formatting characters
  (ANSI escapes, carriage returns, bidi overrides, zero-width characters) are escaped,
  so a hostile value cannot move the cursor, change colours or hide part of itself.

Ctrl-C (``KeyboardInterrupt``) at a prompt propagates out of the approver, so it stops the
agent (the gate records the call as cancelled); end of input cancels the call
(``ApprovalCancelled``).
"""

from __future__ import annotations

import getpass
import math
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import IO, Any

from ..card_view import context_view
from ..decisions import Approve, Decision, Edit, Reject
from ..display import full_text, preview, python_escape, show_hidden
from ..errors import ApprovalCancelled, ApprovalTimeout, InvalidEdit
from ..request import ApprovalRequest, ParameterInfo

__all__ = ["InputApprover", "TerminalApprover"]

# one lock for every TerminalApprover: they share the terminal
_prompt_lock = threading.RLock()

MENU = "[a] approve  [e] edit  [r] reject  [v] view in full  [f] always approve {name}  [s] always approve these arguments"
TAIL_CHARS = 80
_HEREDOC = re.compile(r"<<([A-Za-z_][A-Za-z0-9_]*)")


def sanitize(text: str) -> str:
    """Escape every character that is not plain visible text (``display.is_hidden``: controls,
    bidi and zero-width characters, variation selectors, Hangul fillers, tags, ...).

    ``"\\x1b[2J"`` becomes the six characters ``\\x1b[2J``, U+FE0F the six ``\\ufe0f``;
    newlines and tabs are kept.
    """
    return show_hidden(text, python_escape, keep="\n\t")


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _same(a: Any, b: Any) -> bool:
    """Whether an edited value is exactly the original (same type, same full text)."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b) and full_text(a) == full_text(b)
    except Exception:
        return False


def _cells(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def wrap_exact(line: str, width: int) -> list[str]:
    """``line`` cut into rows of at most ``width`` terminal cells, dropping no character."""
    if width <= 0 or len(line) <= width // 2:
        return [line]
    if line.isascii():  # one cell per character
        return [line[i : i + width] for i in range(0, len(line), width)] or [""]
    rows: list[str] = []
    start = used = 0
    for i, ch in enumerate(line):
        w = _cells(ch)
        if used + w > width and i > start:
            rows.append(line[start:i])
            start, used = i, 0
        used += w
    rows.append(line[start:])
    return rows


class _LineReader:
    """Lines from a stream, honouring a deadline when the stream is a real file descriptor."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._buffer = b""
        try:
            self.fd: int | None = stream.fileno()
            os.fstat(self.fd)
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self.is_tty = self.fd is not None and os.isatty(self.fd)

    def discard_pending(self) -> bool:
        """Drop input typed before now; only on a terminal. Returns whether anything was dropped.

        A pipe or file is left alone: its lines are scripted answers, read in order.
        """
        if not self.is_tty or self.fd is None:
            return False
        import select

        dropped = bool(self._buffer)
        self._buffer = b""
        # complete lines already typed (a canonical-mode terminal reports only those as readable)
        while select.select([self.fd], [], [], 0)[0]:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            dropped = True
            if not chunk:  # Ctrl-D typed ahead: an end of input nobody asked for
                break
        try:
            import termios

            termios.tcflush(self.fd, termios.TCIFLUSH)  # and a partly typed line
        except (ImportError, OSError):
            pass
        return dropped

    def readline(self, deadline: float | None) -> str | None:
        """One line without its newline; None at end of input. Raises ApprovalTimeout."""
        import select  # here, not at import: Pyodide imports this module for InputApprover

        if self.fd is None:
            text: str = self.stream.readline()
            return None if text == "" else text.rstrip("\r\n")
        while b"\n" not in self._buffer:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise ApprovalTimeout("timed out")
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(self.fd, 4096)
            if not chunk:
                if self._buffer:
                    rest, self._buffer = self._buffer, b""
                    return rest.decode(errors="replace")
                return None
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\n")
        return raw.decode(errors="replace").rstrip("\r")


class TerminalApprover:
    """Asks at a terminal prompt.

    ``TerminalApprover()`` uses stdin/stdout; pass other streams to drive it from
    tests or a remote shell. ``user`` is recorded as who decided (default: the OS user).
    ``value_chars`` bounds each argument's preview (characters); ``v`` shows it all.

    Raises ``ApprovalTimeout`` at the request's deadline, ``ApprovalCancelled`` at end of
    input, and lets ``KeyboardInterrupt`` (Ctrl-C) propagate.
    """

    channel = "terminal"
    honors_deadline = True

    def __init__(
        self,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        *,
        user: str | None = None,
        value_chars: int = 600,
    ) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self.user = user or current_user()
        self.value_chars = value_chars
        self._readers: dict[int, _LineReader] = {}

    # -- io --------------------------------------------------------------------

    @property
    def out(self) -> IO[str]:
        return self._stdout or sys.stdout

    def _reader(self) -> _LineReader:
        stream = self._stdin or sys.stdin
        reader = self._readers.get(id(stream))
        if reader is None or reader.stream is not stream:
            reader = self._readers[id(stream)] = _LineReader(stream)
        return reader

    def _print(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _size(self) -> tuple[int, int]:
        """(columns, lines) of the output terminal; 80 x 24 when unknown."""
        try:
            columns, lines = os.get_terminal_size(self.out.fileno())
        except (AttributeError, OSError, ValueError):
            columns = lines = 0
        return (columns if columns > 0 else 80, lines if lines > 0 else 24)

    def _ask(self, prompt: str, request: ApprovalRequest, *, fresh: bool = True) -> str:
        """Show ``prompt`` and read one line typed after it (``fresh``: discard what came before)."""
        if fresh and self._reader().discard_pending():
            self._print("(ignored keys typed before this prompt appeared)")
        remaining = request.remaining()
        if remaining is not None:
            prompt = f"({int(remaining)} s left) {prompt}"
        self.out.write(prompt)
        self.out.flush()
        line = self._reader().readline(request.deadline)
        if line is None:
            self._print()
            raise ApprovalCancelled("end of input")
        return line

    def page(self, text: str, request: ApprovalRequest) -> None:
        """Print ``text`` (already sanitized) a screenful at a time; Enter: more, q: stop."""
        columns, lines = self._size()
        rows = [row for line in text.split("\n") for row in wrap_exact(line, columns)]
        height = max(lines - 1, 1)
        if len(rows) <= height:
            for row in rows:
                self._print(row)
            return
        start = 0
        while start < len(rows):
            end = min(start + height, len(rows))
            for row in rows[start:end]:
                self._print(row)
            if end == len(rows):
                self._print(f"-- end ({len(rows)} lines) --")
                return
            answer = self._ask(f"-- lines {start + 1}-{end} of {len(rows)} · Enter: more · q: stop -- ", request)
            if answer.strip().lower() in ("q", "quit"):
                return
            start = end

    # -- showing a request -------------------------------------------------------

    def _label(self, param: ParameterInfo) -> str:
        context = " context" if getattr(param, "injected", False) else ""
        return sanitize(f"{param.name} ({param.annotation}{context})").replace("\n", "\\n")

    def _show_value(self, label: str, value: Any) -> bool:
        """One argument as a preview; returns whether it was shortened."""
        whole = full_text(value)  # once: a huge value costs one walk, not two
        shortened = len(whole) > self.value_chars
        text = whole[: max(self.value_chars - 1, 1)] + "…" if shortened else whole
        lines = sanitize(text).split("\n")
        head = f"  {label}: "
        self._print(head + lines[0])
        for more in lines[1:]:
            self._print(" " * len(head) + more)
        if shortened:
            pad = " " * len(head)
            tail = sanitize(whole[-TAIL_CHARS:]).replace("\n", "\\n")
            self._print(f"{pad}… shortened: {len(whole):,} characters in full; it ends with: {tail}")
        return shortened

    def show(self, request: ApprovalRequest) -> None:
        width = 72
        self._print("─" * width)
        timeout = f" · times out in {request.timeout:g} s" if request.timeout else ""
        self._print(f"Approval needed · risk: {request.risk.upper()}{timeout} · request {sanitize(request.id)}")
        summary = f" — {sanitize(request.summary)}" if request.summary else ""
        self._print(f"{sanitize(request.function)}(){summary}")
        if request.label:
            self._print(f"  the agent knows this call as {sanitize(request.label)}")
        if not request.arguments:
            self._print("  (no arguments)")
        shortened = []
        for param in request.parameters:
            if param.name in request.arguments and self._show_value(self._label(param), request.arguments[param.name]):
                shortened.append(param.name)
        uncopied: dict[str, str] = getattr(request, "uncopied", None) or {}
        for name, why in uncopied.items():
            self._print(
                f"  ⚠ {sanitize(name)} could not be copied when the call was made ({sanitize(why)}): "
                "the function gets the object itself, which may change before it runs"
            )
        for entry in context_view(request):  # what the program attached (context=), as the card shows it
            self._print(f"  context · {sanitize(entry['name'])}: {sanitize(entry['text']).replace(chr(10), chr(92) + 'n')}")
        if shortened:
            self._print(f"  shortened: {', '.join(shortened)} · press v to see every argument in full")
        self._print("─" * width)

    def view(self, request: ApprovalRequest, names: Sequence[str] | None = None) -> None:
        """Every argument (or those in ``names``) in full, paged."""
        chunks = []
        for param in request.parameters:
            if param.name not in request.arguments or (names and param.name not in names):
                continue
            whole = full_text(request.arguments[param.name])
            chunks.append(f"── {self._label(param)}, {len(whole):,} characters:\n{sanitize(whole)}")
        if not chunks:
            self._print(f"no argument named {sanitize(' '.join(names or []))!r}")
            return
        self.page("\n".join(chunks), request)

    # -- deciding ------------------------------------------------------------------

    def __call__(self, request: ApprovalRequest) -> Decision:
        remaining = request.remaining()
        if not _prompt_lock.acquire(timeout=-1 if remaining is None else remaining):
            raise ApprovalTimeout("timed out waiting for the terminal")
        try:
            return self._decide(request)
        except KeyboardInterrupt:
            self._print("\ninterrupted: the call will not run")
            raise
        except ApprovalTimeout:
            self._print("\ntimed out: the call will not run")
            raise
        except ApprovalCancelled:
            self._print("cancelled: the call will not run")
            raise
        finally:
            _prompt_lock.release()

    def _decide(self, request: ApprovalRequest) -> Decision:
        self.show(request)
        menu = MENU.format(name=sanitize(request.function))
        while True:
            self._print(menu)
            answer = self._ask("> ", request).strip()
            choice, _, rest = answer.partition(" ")
            choice = choice.lower()
            if choice in ("a", "approve", "y", "yes"):
                return Approve(by=self.user)
            if choice in ("f", "always"):
                return Approve(always="function", by=self.user)
            if choice in ("s", "same"):
                return Approve(always="arguments", by=self.user)
            if choice in ("r", "reject", "n", "no"):
                feedback = self._ask("Feedback for the agent (why, and what to do instead): ", request).strip()
                return Reject(feedback=feedback, by=self.user)
            if choice in ("v", "view"):
                self.view(request, rest.split() or None)
                continue
            if choice in ("e", "edit"):
                edit = self._edit(request)
                if edit is not None:
                    return edit
                continue
            self._print(f"unknown choice {sanitize(answer)!r}")

    # -- editing -------------------------------------------------------------------

    def _read_block(self, marker: str, request: ApprovalRequest) -> str:
        lines: list[str] = []
        while True:
            line = self._ask("", request, fresh=False)
            if line == marker:
                return "\n".join(lines)
            lines.append(line)

    def _edit(self, request: ApprovalRequest) -> Edit | None:
        params = [p for p in request.parameters if p.name in request.arguments]
        editable = [p for p in params if p.editable]
        if not editable:
            self._print("none of these arguments can be edited")
            return None
        fixed = [p.name + (f" ({p.not_editable})" if getattr(p, "not_editable", None) else "") for p in params if not p.editable]
        changes: dict[str, Any] = {}  # only what the person changed: name -> typed value
        final = dict(request.arguments)
        while True:
            self._print("Edit: choose an argument to change; its full value is shown first.")
            for n, param in enumerate(editable, start=1):
                text, _ = preview(final[param.name], 70)
                mark = " (changed)" if param.name in changes else ""
                self._print(f"  {n}) {self._label(param)}: {sanitize(text).replace(chr(10), ' ')}{mark}")
            if fixed:
                self._print(sanitize(f"  not editable: {'; '.join(fixed)}"))
            choice = self._ask("Argument number or name (Enter: done): ", request).strip()
            if choice == "":
                break
            chosen = [p for n, p in enumerate(editable, start=1) if choice in (str(n), p.name)]
            if not chosen:
                self._print(f"no editable argument {sanitize(choice)!r}")
                continue
            final = self._edit_one(request, chosen[0], changes, final)
        if not changes:
            self._print("nothing changed")
            return None
        self._print("Changed (every other argument runs exactly as it was):")
        for name in changes:
            before = sanitize(preview(request.arguments[name], 200)[0]).replace("\n", " ")
            after = sanitize(preview(final[name], 200)[0]).replace("\n", " ")
            self._print(f"  {name}: {before} → {after}")
        while True:
            confirm = self._ask("Run with these arguments? [y] yes  [n] no  [v] view them in full ", request).strip().lower()
            if confirm in ("y", "yes"):
                return Edit(arguments=changes, by=self.user)
            if confirm in ("v", "view"):
                whole = "\n".join(
                    f"── {name}, {len(full_text(final[name])):,} characters:\n{sanitize(full_text(final[name]))}"
                    for name in request.arguments
                )
                self.page(whole, request)
                continue
            self._print("edit discarded")
            return None

    def _edit_one(
        self, request: ApprovalRequest, param: ParameterInfo, changes: dict[str, Any], final: dict[str, Any]
    ) -> dict[str, Any]:
        """Ask for one argument's new value; returns the complete arguments after it."""
        name = param.name
        whole = full_text(final[name])
        self._print(f"── {self._label(param)}, current value in full ({len(whole):,} characters):")
        self.page(sanitize(whole), request)
        while True:
            text = self._ask(f"New value for {name} (Enter keeps it; <<END starts several lines, ended by a line END): ", request)
            if text == "":
                return final
            heredoc = _HEREDOC.fullmatch(text)
            if heredoc:
                text = self._read_block(heredoc.group(1), request)
            # the text itself: request.apply_edit reads it for the annotated type (80331 stays
            # text for a str | None; JSON for a list), so no guessing happens here
            candidate = text
            trial = {**changes, name: candidate}
            try:
                result = request.apply_edit(trial)
            except InvalidEdit as exc:
                self._print(f"  ✗ {sanitize(exc.problems.get(name, str(exc)))}")
                continue
            if _same(result[name], request.arguments[name]):
                changes.pop(name, None)
                self._print(f"  {name}: the same as the original value, left unchanged")
                return request.apply_edit(changes)
            changes[name] = candidate
            return result

    # -- batches -------------------------------------------------------------------

    def review(self, requests: Sequence[ApprovalRequest]) -> list[Decision | ApprovalTimeout]:
        """Decide a batch: approve all, reject all, or one by one.

        ``v`` shows every call's arguments in full before approving them all. The prompt
        waits until the earliest deadline of the calls still waiting; a call whose own
        ``timeout`` passes gets ApprovalTimeout in its place (it does not run) and the
        prompt goes on for the others.
        """
        if not requests:
            return []
        expired: dict[int, ApprovalTimeout] = {}

        def first() -> ApprovalRequest:  # the waiting call with the earliest deadline
            live = [r for i, r in enumerate(requests) if i not in expired]
            return min(live, key=lambda r: math.inf if r.deadline is None else r.deadline)

        def each(decide: Callable[[ApprovalRequest], Decision]) -> list[Decision | ApprovalTimeout]:
            out: list[Decision | ApprovalTimeout] = []
            for i, request in enumerate(requests):
                try:
                    out.append(expired[i] if i in expired else decide(request))
                except ApprovalTimeout as exc:
                    out.append(exc)
            return out

        with _prompt_lock:
            try:
                self._print(f"{len(requests)} call(s) waiting for review:")
                for n, request in enumerate(requests, start=1):
                    self._print(f"  {n}. [{request.risk}] {sanitize(request.call_text())}")
                    if "…" in request.call_text() or "..." in request.call_text():
                        self._print("     (shortened here: v shows every argument in full)")
                    for name, why in (getattr(request, "uncopied", None) or {}).items():
                        self._print(f"     ⚠ {sanitize(name)} could not be copied ({sanitize(why)})")
                while True:
                    try:
                        choice = self._ask("[A] approve all  [R] reject all  [o] one by one  [v] view in full > ", first())
                    except ApprovalTimeout:
                        for i, request in enumerate(requests):
                            if i not in expired and request.remaining() == 0:
                                expired[i] = ApprovalTimeout("timed out")
                                self._print(f"\n{i + 1}. timed out: it will not run")
                        if len(expired) == len(requests):
                            return [expired[i] for i in range(len(requests))]
                        continue
                    choice = choice.strip()
                    if choice in ("A", "a"):
                        return each(lambda r: Approve(by=self.user))
                    if choice in ("R", "r"):
                        feedback = self._ask("Feedback for the agent: ", first()).strip()
                        rejection = Reject(feedback, by=self.user)
                        return each(lambda r: rejection)  # noqa: B023 (called before the loop goes on)
                    if choice in ("o", "O"):
                        return each(self._decide)
                    if choice in ("v", "V"):
                        for n, request in enumerate(requests, start=1):
                            self._print(f"{n}. {sanitize(request.function)}()")
                            self.view(request)
                        continue
                    self._print(f"unknown choice {sanitize(choice)!r}")
            except KeyboardInterrupt:
                self._print("\ninterrupted: none of these calls will run")
                raise


class InputApprover(TerminalApprover):
    """The terminal's prompt read with ``input()``: for kernels with a stdin box but no TTY (JupyterLite).

    ``input()`` cannot give up at a deadline; an answer that comes after it still fails
    closed (the gate turns it into ApprovalTimeout). Nothing typed ahead can be discarded
    here: the stdin box takes input only while a prompt is shown.
    """

    channel = "input"

    def _ask(self, prompt: str, request: ApprovalRequest, *, fresh: bool = True) -> str:
        remaining = request.remaining()
        if remaining is not None:
            prompt = f"({int(remaining)} s left) {prompt}"
        try:
            return input(prompt)
        except EOFError:
            raise ApprovalCancelled("end of input") from None
