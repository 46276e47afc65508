"""The terminal channel: show the call, then approve / edit / reject / always at a prompt.

Reads lines straight from the input file descriptor with ``select`` so a prompt
gives up at the request's deadline (a blocking ``input()`` would hang the agent past
its timeout). Ctrl-C or end of input cancels. Prompts from several threads never
interleave: one lock serializes them. Everything printed is sanitized text: control
characters in arguments or docstrings are escaped, so a hostile value cannot move
the cursor, change colours or rewrite what the reviewer sees.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any

from ..decisions import Approve, Decision, Edit, Reject
from ..errors import ApprovalCancelled, ApprovalTimeout, InvalidEdit
from ..formatting import pretty_value
from ..request import ApprovalRequest

__all__ = ["InputApprover", "TerminalApprover"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# one lock for every TerminalApprover: they share the terminal
_prompt_lock = threading.RLock()

MENU = "[a] approve  [e] edit  [r] reject  [f] always approve {name}  [s] always approve these arguments"


def sanitize(text: str) -> str:
    """Escape control characters (ANSI escapes, carriage returns) so text stays text."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


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

    def _ask(self, prompt: str, request: ApprovalRequest) -> str:
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

    # -- showing a request -------------------------------------------------------

    def show(self, request: ApprovalRequest) -> None:
        width = 72
        self._print("─" * width)
        timeout = f" · times out in {request.timeout:g} s" if request.timeout else ""
        self._print(f"Approval needed · risk: {request.risk.upper()}{timeout} · request {sanitize(request.id)}")
        summary = f" — {sanitize(request.summary)}" if request.summary else ""
        self._print(f"{sanitize(request.function)}(){summary}")
        if not request.arguments:
            self._print("  (no arguments)")
        for param in request.parameters:
            if param.name not in request.arguments:
                continue
            value = pretty_value(request.arguments[param.name], self.value_chars)
            lines = sanitize(value).split("\n")
            label = f"  {param.name} ({param.annotation}): "
            self._print(label + lines[0])
            for more in lines[1:]:
                self._print(" " * len(label) + more)
        self._print("─" * width)

    # -- deciding ------------------------------------------------------------------

    def __call__(self, request: ApprovalRequest) -> Decision:
        remaining = request.remaining()
        if not _prompt_lock.acquire(timeout=-1 if remaining is None else remaining):
            raise ApprovalTimeout("timed out waiting for the terminal")
        try:
            return self._decide(request)
        except KeyboardInterrupt:
            self._print("\ncancelled: the call will not run")
            raise ApprovalCancelled("cancelled at the terminal") from None
        except ApprovalTimeout:
            self._print("\ntimed out: the call will not run")
            raise
        finally:
            _prompt_lock.release()

    def _decide(self, request: ApprovalRequest) -> Decision:
        self.show(request)
        menu = MENU.format(name=sanitize(request.function))
        while True:
            self._print(menu)
            choice = self._ask("> ", request).strip().lower()
            if choice in ("a", "approve", "y", "yes"):
                return Approve(by=self.user)
            if choice in ("f", "always"):
                return Approve(always="function", by=self.user)
            if choice in ("s", "same"):
                return Approve(always="arguments", by=self.user)
            if choice in ("r", "reject", "n", "no"):
                feedback = self._ask("Feedback for the agent (why, and what to do instead): ", request).strip()
                return Reject(feedback=feedback, by=self.user)
            if choice in ("e", "edit"):
                edit = self._edit(request)
                if edit is not None:
                    return edit
                continue
            self._print(f"unknown choice {sanitize(choice)!r}")

    def _parse(self, text: str, annotation: str) -> Any:
        """Typed text as the value to validate: raw for str, JSON where it parses, else raw."""
        if annotation == "str":
            return text
        try:
            return json.loads(text)
        except ValueError:
            return text

    def _edit(self, request: ApprovalRequest) -> Edit | None:
        self._print("Edit: Enter keeps a value; type a new one (JSON for lists and dicts).")
        changes: dict[str, Any] = {}
        for param in request.parameters:
            if not param.editable or param.name not in request.arguments:
                continue
            current = sanitize(pretty_value(request.arguments[param.name], 200)).replace("\n", " ")
            while True:
                text = self._ask(f"  {param.name} ({param.annotation}) [{current}]: ", request)
                if text == "":
                    break
                candidate = self._parse(text, param.annotation)
                try:
                    request.apply_edit({**changes, param.name: candidate})
                except InvalidEdit as exc:
                    self._print(f"  ✗ {sanitize(exc.problems.get(param.name, str(exc)))}")
                    continue
                changes[param.name] = candidate
                break
        final = request.apply_edit(changes)
        diff = {k: v for k, v in final.items() if request.arguments.get(k) != v}
        if not diff:
            self._print("nothing changed")
            return None
        for name, value in diff.items():
            before = sanitize(pretty_value(request.arguments.get(name), 200)).replace("\n", " ")
            after = sanitize(pretty_value(value, 200)).replace("\n", " ")
            self._print(f"  {name}: {before} → {after}")
        confirm = self._ask("Run with these arguments? [y/n] ", request).strip().lower()
        if confirm in ("y", "yes"):
            return Edit(arguments=changes, by=self.user)
        self._print("edit discarded")
        return None

    # -- batches -------------------------------------------------------------------

    def review(self, requests: Sequence[ApprovalRequest]) -> list[Decision]:
        """Decide a batch: approve all, reject all, or one by one."""
        if not requests:
            return []
        with _prompt_lock:
            try:
                self._print(f"{len(requests)} call(s) waiting for review:")
                for n, request in enumerate(requests, start=1):
                    self._print(f"  {n}. [{request.risk}] {sanitize(request.call_text())}")
                while True:
                    choice = self._ask("[A] approve all  [R] reject all  [o] one by one > ", requests[0]).strip()
                    if choice in ("A", "a"):
                        return [Approve(by=self.user) for _ in requests]
                    if choice in ("R", "r"):
                        feedback = self._ask("Feedback for the agent: ", requests[0]).strip()
                        return [Reject(feedback, by=self.user) for _ in requests]
                    if choice in ("o", "O"):
                        return [self._decide(request) for request in requests]
                    self._print(f"unknown choice {sanitize(choice)!r}")
            except KeyboardInterrupt:
                self._print("\ncancelled: none of these calls will run")
                raise ApprovalCancelled("cancelled at the terminal") from None


class InputApprover(TerminalApprover):
    """The terminal's prompt read with ``input()``: for kernels with a stdin box but no TTY (JupyterLite).

    ``input()`` cannot give up at a deadline; an answer that comes after it still fails
    closed (the gate turns it into ApprovalTimeout).
    """

    channel = "input"

    def _ask(self, prompt: str, request: ApprovalRequest) -> str:
        remaining = request.remaining()
        if remaining is not None:
            prompt = f"({int(remaining)} s left) {prompt}"
        try:
            return input(prompt)
        except EOFError:
            raise ApprovalCancelled("end of input") from None
