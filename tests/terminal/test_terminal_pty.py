"""The terminal channel driven through a real pseudo-terminal.

Each test runs a small script in a child Python whose stdin/stdout/stderr are the
slave side of a pty that is also its controlling terminal (so writing Ctrl-C to the
master delivers SIGINT). The test reads the master with a deadline, types keys and
checks what the child prints. A child is always killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a POSIX pty"),
    pytest.mark.timeout(60),
]

REPO = Path(__file__).resolve().parents[2]

PROMPT = b"> "
HEADER = b"Approval needed"


def read_until(master_fd: int, pattern: bytes, timeout: float = 10, *, buffer: bytearray | None = None) -> bytes:
    """Read ``master_fd`` until ``pattern`` has been seen, or fail after ``timeout`` seconds.

    Returns everything read (including what came after the pattern in the last chunk).
    With ``buffer``, the search covers ``buffer`` too and reads are appended to it.
    """
    data = buffer if buffer is not None else bytearray()
    deadline = time.monotonic() + timeout
    while pattern not in data:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise AssertionError(f"timed out after {timeout} s waiting for {pattern!r}; got:\n{bytes(data)!r}")
        ready, _, _ = select.select([master_fd], [], [], wait)
        if not ready:
            continue
        try:
            chunk = os.read(master_fd, 65536)
        except OSError:  # EIO: the child closed the slave side
            chunk = b""
        if not chunk:
            raise AssertionError(f"end of output while waiting for {pattern!r}; got:\n{bytes(data)!r}")
        data += chunk
    return bytes(data)


class PtyChild:
    """A child Python on a pty; ``out`` is everything it printed so far."""

    def __init__(self, script: Path, *args: str) -> None:
        self.master, slave = os.openpty()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        env.pop("HITL_MODE", None)
        env["PYTHONUNBUFFERED"] = "1"
        env["TERM"] = "dumb"

        def make_controlling_tty() -> None:  # runs after setsid() in the child
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(script), *args],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                preexec_fn=make_controlling_tty,
                env=env,
                cwd=str(script.parent),
                close_fds=True,
            )
        finally:
            os.close(slave)
        self.out = bytearray()
        self._pos = 0  # where the next expect() starts searching

    def expect(self, pattern: bytes, timeout: float = 10) -> bytes:
        """Wait for ``pattern`` after the previous match; return the text up to and including it."""
        start = self._pos
        view = bytearray(self.out[start:])
        read_until(self.master, pattern, timeout, buffer=view)
        self.out[start:] = view
        end = start + view.index(pattern) + len(pattern)
        self._pos = end
        return bytes(self.out[start:end])

    def drain(self, seconds: float) -> bytes:
        """Collect whatever arrives within ``seconds`` (no pattern)."""
        deadline = time.monotonic() + seconds
        got = bytearray()
        while (wait := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], wait)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        self.out += got
        return bytes(got)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def finish(self, timeout: float = 15) -> str:
        """Read to the end of output, wait for exit, and return all output as text."""
        deadline = time.monotonic() + timeout
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise AssertionError(f"child did not finish within {timeout} s; got:\n{bytes(self.out)!r}")
            ready, _, _ = select.select([self.master], [], [], wait)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            self.out += chunk
        self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        return self.text

    @property
    def text(self) -> str:
        return bytes(self.out).decode("utf-8", errors="replace").replace("\r\n", "\n")

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.proc.kill()
        with contextlib.suppress(OSError):
            os.close(self.master)


CHILD = textwrap.dedent(
    '''
    import json
    import sys
    import threading
    import time

    from hitl_widget import ApprovalRejected, Batch, TerminalApprover, require_approval

    scenario = sys.argv[1]


    def report(fn, *args, **kwargs):
        try:
            print("RESULT:" + json.dumps(fn(*args, **kwargs)), flush=True)
        except ApprovalRejected as exc:
            print(f"REJECTED:{type(exc).__name__}:{exc}", flush=True)


    def delete_user(user_id: int, reason: str = "spam") -> str:
        """Delete a user account forever.

        More words that are not the summary.
        """
        print(f"RAN:delete_user:{user_id}:{reason}", flush=True)
        return f"deleted {user_id}"


    if scenario == "terminal":
        f = require_approval(approver=TerminalApprover(), risk="high")(delete_user)
        report(f, 42, reason="spam")
    elif scenario == "default":
        f = require_approval(risk="high")(delete_user)
        report(f, 42)
    elif scenario == "timeout":
        f = require_approval(approver=TerminalApprover(), timeout=2)(delete_user)
        started = time.monotonic()
        report(f, 7)
        print(f"ELAPSED:{time.monotonic() - started:.3f}", flush=True)
    elif scenario == "twice":
        f = require_approval(approver=TerminalApprover())(delete_user)
        report(f, 1)
        report(f, 2)
        print("DONE", flush=True)
    elif scenario == "hostile":
        class Sneaky:
            def __repr__(self):
                return "Sneaky\\x1b[31m<script>red</script>"

        def post(text: str, extra: object = None) -> str:
            """Post \\x1b[2J a message."""
            print("RAN:post", flush=True)
            return "posted"

        f = require_approval(approver=TerminalApprover())(post)
        report(f, "\\x1b[2J<b>bold</b>\\rover", Sneaky())
    elif scenario == "threads":
        f = require_approval(approver=TerminalApprover())(delete_user)
        barrier = threading.Barrier(2)

        def worker(n):
            barrier.wait()
            report(f, n)

        threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("DONE", flush=True)
    elif scenario == "batch":
        def send_email(to: str, body: str) -> str:
            print(f"RAN:send_email:{to}", flush=True)
            return f"sent to {to}"

        batch = Batch(approver=TerminalApprover())
        send = batch.wrap(send_email)
        print("QUEUED:" + json.dumps([send("a@example.com", "hi"), send("b@example.com", "hello")]), flush=True)
        try:
            results = batch.review_and_execute()
        except ApprovalRejected as exc:
            print(f"REJECTED:{type(exc).__name__}:{exc}", flush=True)
        else:
            print("RESULTS:" + json.dumps(results, sort_keys=True), flush=True)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    '''
)


@pytest.fixture
def spawn(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    children: list[PtyChild] = []

    def start(scenario: str) -> PtyChild:
        child = PtyChild(script, scenario)
        children.append(child)
        return child

    yield start
    for child in children:
        child.close()


def result_lines(text: str, prefix: str) -> list[str]:
    return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]


# -- showing and approving ---------------------------------------------------------


def test_display_shows_function_summary_arguments_and_risk(spawn):
    child = spawn("terminal")
    shown = child.expect(PROMPT).decode()
    assert "Approval needed" in shown
    assert "risk: HIGH" in shown
    assert "delete_user()" in shown
    assert "Delete a user account forever." in shown
    assert "More words" not in shown  # only the first docstring line
    assert re.search(r"user_id \(int\): 42", shown)
    assert re.search(r'reason \(str\): "spam"', shown)
    assert "[a] approve" in shown and "[r] reject" in shown and "[e] edit" in shown
    assert "RAN:" not in shown  # nothing runs before a decision
    child.send(b"a\n")
    text = child.finish()
    assert result_lines(text, "RAN:") == ["delete_user:42:spam"]
    assert result_lines(text, "RESULT:") == ['"deleted 42"']
    assert child.proc.returncode == 0


def test_default_approver_is_the_terminal_when_stdin_and_stdout_are_ttys(spawn):
    child = spawn("default")
    shown = child.expect(PROMPT).decode()
    assert "Approval needed" in shown and "delete_user()" in shown
    child.send(b"a\n")
    text = child.finish()
    assert result_lines(text, "RESULT:") == ['"deleted 42"']


def test_reject_with_feedback_raises_approval_rejected_carrying_it(spawn):
    child = spawn("terminal")
    child.expect(PROMPT)
    child.send(b"r\n")
    child.expect(b"Feedback for the agent")
    child.send(b"use deactivate_user instead\n")
    text = child.finish()
    assert "RAN:" not in text
    [rejected] = result_lines(text, "REJECTED:")
    assert rejected.startswith("ApprovalRejected:")
    assert "rejected by a human reviewer" in rejected
    assert "use deactivate_user instead" in rejected


def test_unknown_choice_asks_again(spawn):
    child = spawn("terminal")
    child.expect(PROMPT)
    child.send(b"zzz\n")
    again = child.expect(PROMPT).decode()
    assert "unknown choice 'zzz'" in again
    child.send(b"a\n")
    assert result_lines(child.finish(), "RESULT:") == ['"deleted 42"']


# -- editing -------------------------------------------------------------------------


def test_edit_reasks_on_a_bad_int_then_shows_the_diff_and_runs_edited(spawn):
    child = spawn("terminal")
    child.expect(PROMPT)
    child.send(b"e\n")
    child.expect(b"user_id (int) [42]: ")
    child.send(b"abc\n")
    again = child.expect(b"user_id (int) [42]: ").decode()
    assert "✗" in again  # the error, then the same question again
    assert "int" in again.split("✗", 1)[1]
    child.send(b"43\n")
    child.expect(b'reason (str) ["spam"]: ')
    child.send(b"\n")  # Enter keeps the value
    diff = child.expect(b"[y/n] ").decode()
    assert "user_id: 42 → 43" in diff
    assert "reason" not in diff  # unchanged arguments are not in the diff
    child.send(b"y\n")
    text = child.finish()
    assert result_lines(text, "RAN:") == ["delete_user:43:spam"]
    assert result_lines(text, "RESULT:") == ['"deleted 43"']


def test_edit_discarded_with_n_returns_to_the_menu(spawn):
    child = spawn("terminal")
    child.expect(PROMPT)
    child.send(b"e\n")
    child.expect(b"user_id (int) [42]: ")
    child.send(b"5\n")
    child.expect(b'reason (str) ["spam"]: ')
    child.send(b"\n")
    child.expect(b"[y/n] ")
    child.send(b"n\n")
    back = child.expect(PROMPT).decode()
    assert "edit discarded" in back
    child.send(b"a\n")
    text = child.finish()
    assert result_lines(text, "RAN:") == ["delete_user:42:spam"]


# -- always --------------------------------------------------------------------------


def test_always_approve_function_skips_the_second_prompt(spawn):
    child = spawn("twice")
    child.expect(PROMPT)
    child.send(b"f\n")
    text = child.finish()
    assert result_lines(text, "RESULT:") == ['"deleted 1"', '"deleted 2"']
    assert text.count("Approval needed") == 1
    assert "DONE" in text


def test_plain_approve_asks_again_for_the_second_call(spawn):
    child = spawn("twice")
    child.expect(PROMPT)
    child.send(b"a\n")
    child.expect(b"RESULT:")
    second = child.expect(PROMPT).decode()
    assert "Approval needed" in second
    child.send(b"a\n")
    text = child.finish()
    assert result_lines(text, "RESULT:") == ['"deleted 1"', '"deleted 2"']


# -- no decision: Ctrl-C, end of input, timeout -----------------------------------------


def test_ctrl_c_cancels_and_the_function_does_not_run(spawn):
    child = spawn("terminal")
    child.expect(PROMPT)
    child.send(b"\x03")
    text = child.finish()
    assert "RAN:" not in text
    [rejected] = result_lines(text, "REJECTED:")
    assert rejected.startswith("ApprovalCancelled:")
    assert "cancelled" in text
    assert "Traceback" not in text
    assert child.proc.returncode == 0


def test_ctrl_c_while_editing_cancels(spawn):
    child = spawn("terminal")
    child.expect(PROMPT)
    child.send(b"e\n")
    child.expect(b"user_id (int) [42]: ")
    child.send(b"\x03")
    text = child.finish()
    assert "RAN:" not in text
    assert result_lines(text, "REJECTED:")[0].startswith("ApprovalCancelled:")


def test_end_of_input_cancels(spawn):
    child = spawn("terminal")
    child.expect(PROMPT)
    child.send(b"\x04")  # Ctrl-D at an empty line: end of input
    text = child.finish()
    assert "RAN:" not in text
    [rejected] = result_lines(text, "REJECTED:")
    assert rejected.startswith("ApprovalCancelled:")


@pytest.mark.slow
def test_timeout_without_an_answer_fails_closed(spawn):
    child = spawn("timeout")
    started = time.monotonic()
    shown = child.expect(PROMPT).decode()
    assert "times out in 2 s" in shown
    assert re.search(r"\(\d s left\) > $", shown)
    text = child.finish(timeout=15)
    waited = time.monotonic() - started
    assert "RAN:" not in text
    [rejected] = result_lines(text, "REJECTED:")
    assert rejected.startswith("ApprovalTimeout:")
    assert "timed out" in text
    [elapsed] = result_lines(text, "ELAPSED:")
    assert 1.8 <= float(elapsed) <= 4.0
    assert waited <= 6.0


# -- hostile text ----------------------------------------------------------------------


def test_control_characters_in_arguments_and_docs_are_shown_escaped(spawn):
    child = spawn("hostile")
    shown = child.expect(PROMPT)
    assert b"\x1b" not in shown  # no raw ESC reaches the terminal
    text = shown.decode()
    assert "<b>bold</b>" in text  # markup stays literal text
    assert "[2J" in text and ("\\u001b[2J" in text or "\\x1b[2J" in text)
    assert "\\r" in text or "\\u000d" in text
    assert "<script>red</script>" in text and "\\x1b[31m" in text
    assert "Post \\x1b[2J a message." in text
    child.send(b"a\n")
    final = child.finish()
    assert result_lines(final, "RESULT:") == ['"posted"']


# -- several prompts at once -------------------------------------------------------------


def test_two_threads_prompts_never_interleave(spawn):
    child = spawn("threads")
    first = child.expect(PROMPT)
    first += child.drain(0.7)  # give the second thread time to (wrongly) print
    assert first.count(HEADER) == 1, first
    assert b"RAN:" not in first
    child.send(b"a\n")
    second = child.expect(PROMPT)
    # the second header comes only after the first decision (and its echo)
    assert second.count(HEADER) == 1, second
    assert second.index(b"a\r\n") < second.index(HEADER)
    child.send(b"a\n")
    text = child.finish()
    assert sorted(result_lines(text, "RESULT:")) == ['"deleted 1"', '"deleted 2"']
    assert text.count("Approval needed") == 2
    assert "DONE" in text


# -- batches -------------------------------------------------------------------------------


BATCH_PROMPT = b"[A] approve all  [R] reject all  [o] one by one > "


def test_batch_lists_the_calls_and_approve_all_runs_them(spawn):
    child = spawn("batch")
    listing = child.expect(BATCH_PROMPT).decode()
    assert 'QUEUED:["PENDING_APPROVAL_1", "PENDING_APPROVAL_2"]' in listing
    assert "2 call(s) waiting for review" in listing
    assert "send_email(to='a@example.com'" in listing and "send_email(to='b@example.com'" in listing
    assert "RAN:" not in listing
    child.send(b"A\n")
    text = child.finish()
    assert result_lines(text, "RAN:") == ["send_email:a@example.com", "send_email:b@example.com"]
    assert result_lines(text, "RESULTS:") == ['{"1": "sent to a@example.com", "2": "sent to b@example.com"}']


def test_batch_reject_all_with_feedback(spawn):
    child = spawn("batch")
    child.expect(BATCH_PROMPT)
    child.send(b"R\n")
    child.expect(b"Feedback for the agent: ")
    child.send(b"not today\n")
    text = child.finish()
    assert "RAN:" not in text
    assert result_lines(text, "RESULTS:") == ['{"1": "REJECTED: not today", "2": "REJECTED: not today"}']


def test_batch_one_by_one(spawn):
    child = spawn("batch")
    child.expect(BATCH_PROMPT)
    child.send(b"o\n")
    first = child.expect(PROMPT).decode()
    assert "send_email()" in first and "a@example.com" in first
    child.send(b"a\n")
    second = child.expect(PROMPT).decode()
    assert "Approval needed" in second and "b@example.com" in second
    child.send(b"r\n")
    child.expect(b"Feedback for the agent")
    child.send(b"wrong address\n")
    text = child.finish()
    assert result_lines(text, "RAN:") == ["send_email:a@example.com"]
    assert result_lines(text, "RESULTS:") == ['{"1": "sent to a@example.com", "2": "REJECTED: wrong address"}']


def test_batch_ctrl_c_cancels_every_call(spawn):
    child = spawn("batch")
    child.expect(BATCH_PROMPT)
    child.send(b"\x03")
    text = child.finish()
    assert "RAN:" not in text
    assert "Traceback" not in text
    results = result_lines(text, "RESULTS:")
    rejected = result_lines(text, "REJECTED:")
    assert results or rejected, text
    if results:
        assert "sent to" not in results[0]
