"""Run an example notebook top to bottom in a real ipykernel, answering every card as JupyterLab would.

The test is the frontend: each code cell is sent to the kernel as an ``execute_request``; every
approval card (``ApprovalCard``) and review table (``BatchReview``) the kernel opens arrives as a
widget ``comm_open`` on IOPub, and is answered with the same ``comm_msg`` the card's JavaScript
sends (``{"method": "custom", "content": {"kind": "decision", ...}}``, protocol v2). Which card
gets which answer is an :class:`AnswerScript`: the cards the story expects, in order, each with
the function it must be for, optionally the arguments it must show, and the decision. A card the
script does not expect is rejected (so the kernel never hangs) and fails the test, as does a card
it expected that never came.

Nothing here talks to hitl_widget's Python objects: only kernel messages, as a browser would.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from hitl_widget.protocol import PROTOCOL_VERSION

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"

Message = dict[str, Any]
Decision = dict[str, Any]


# -- decisions, as the card sends them ------------------------------------------------------


def approve() -> Decision:
    return {"kind": "approve"}


def edit(**arguments: str) -> Decision:
    """An edit as the card sends it: each changed argument as the text typed into its input."""
    return {"kind": "edit", "arguments": {name: {"text": text} for name, text in arguments.items()}}


def edit_json(**arguments: str) -> Decision:
    """An edit of JSON-typed inputs (lists, dicts): each as its JSON text."""
    return {"kind": "edit", "arguments": {name: {"json": text} for name, text in arguments.items()}}


def reject(feedback: str) -> Decision:
    return {"kind": "reject", "feedback": feedback}


#: leave the card alone (the call's timeout must fail it closed)
NO_ANSWER: Decision = {"kind": "none"}


@dataclass
class Card:
    """One card as the frontend saw it open."""

    comm_id: str
    request_id: str
    function: str
    arguments: dict[str, str]  # name -> the text the card shows
    risk: str
    label: str
    cell: int  # index of the notebook cell that was running (or last ran) when it opened
    view: dict[str, Any]


@dataclass
class Review:
    """One batch review table: its cards, by the placeholder label the agent got."""

    comm_id: str
    cards: list[Card]
    cell: int

    def by_label(self) -> dict[str, Card]:
        return {c.label: c for c in self.cards}


@dataclass
class Expect:
    """The next card must be for ``function`` (and show ``arguments``, a subset); answer it with ``decision``."""

    function: str
    decision: Decision
    arguments: Mapping[str, str] | None = None
    then: Decision | None = None  # a second message after the kernel answered the first (an invalid edit, corrected)

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in (self.arguments or {}).items())
        return f"{self.function}({shown}) -> {self.decision['kind']}"


@dataclass
class ExpectReview:
    """The next thing to decide is a review table with exactly these placeholders; decide each.

    ``decisions`` maps ``"PENDING_APPROVAL_n"`` to a decision; with ``rest`` every other card of the
    table is decided by one ``review_all`` message (Approve all / Reject all), as the table's buttons do.
    """

    labels: list[str]
    decisions: Mapping[str, Decision]
    rest: Decision | None = None
    functions: Mapping[str, str] | None = None  # label -> the function its card must be for

    def describe(self) -> str:
        return f"review of {', '.join(self.labels)}"


Step = Expect | ExpectReview


@dataclass
class AnswerScript:
    steps: list[Step]
    problems: list[str] = field(default_factory=list)
    position: int = 0

    def next(self, what: str) -> Step | None:
        if self.position >= len(self.steps):
            self.problems.append(f"unexpected {what}: the script had no more cards")
            return None
        step = self.steps[self.position]
        self.position += 1
        return step

    def assert_done(self) -> None:
        missing = [s.describe() for s in self.steps[self.position :]]
        assert not self.problems, "\n".join(self.problems)
        assert not missing, f"cards the story expects never opened: {missing}"


# -- what a run produced ------------------------------------------------------------------


@dataclass
class CellRun:
    index: int
    source: str
    stdout: str = ""
    stderr: str = ""
    html: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join([self.stdout, self.stderr, *self.plain])


@dataclass
class NotebookRun:
    name: str
    workdir: Path
    cells: list[CellRun]
    cards: list[Card]
    reviews: list[Review]
    records: dict[str, list[dict[str, Any]]]  # comm id -> the card's record updates (ApprovalCard)
    review_records: dict[str, dict[str, Any]]  # request id -> its record in a review table
    errors_from_kernel: list[dict[str, Any]]  # error replies the kernel sent to a card
    seconds: float

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.cells)

    @property
    def html(self) -> str:
        return "\n".join(h for c in self.cells for h in c.html)

    def cell_with(self, needle: str) -> CellRun:
        """The first cell whose source contains ``needle``."""
        for cell in self.cells:
            if needle in cell.source:
                return cell
        raise AssertionError(f"no cell contains {needle!r}")

    def audit(self, name: str) -> list[dict[str, Any]]:
        path = self.workdir / name
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def final_records(self) -> list[dict[str, Any]]:
        """Each card's last record, in the order the cards opened."""
        return [self.records[c.comm_id][-1] for c in self.cards if self.records.get(c.comm_id)]


class CellFailed(AssertionError):
    pass


# -- the runner -------------------------------------------------------------------------------


@contextlib.contextmanager
def kernel_in(workdir: Path, env: Mapping[str, str] | None = None) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HITL_")}  # the story sets its own switches
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    environ.update(env or {})
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(workdir), env=environ)
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield km, client
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


class _Frontend:
    def __init__(self, client: BlockingKernelClient, script: AnswerScript) -> None:
        self.client = client
        self.script = script
        self.cards: list[Card] = []
        self.reviews: list[Review] = []
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.review_records: dict[str, dict[str, Any]] = {}
        self.kernel_errors: list[dict[str, Any]] = []
        self.waiting_second: dict[str, tuple[Card, Decision]] = {}  # comm id -> the correction to send after an error
        self.cell = -1

    # messages to the kernel, as the card's JS sends them
    def _send(self, comm_id: str, content: dict[str, Any]) -> None:
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}})
        self.client.shell_channel.send(msg)

    def _decide(self, comm_id: str, request_id: str, decision: Decision) -> None:
        if decision is NO_ANSWER:
            return
        content = {"kind": "decision", "version": PROTOCOL_VERSION, "request_id": request_id, "decision": decision}
        self._send(comm_id, content)

    @staticmethod
    def _card(comm_id: str, view: dict[str, Any], cell: int) -> Card:
        arguments = {a["name"]: a["text"] for a in view.get("arguments", [])}
        return Card(comm_id, view["id"], view["function"], arguments, view.get("risk", ""), view.get("label", ""), cell, view)

    def handle(self, msg: Message) -> None:
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            state = content.get("data", {}).get("state", {})
            if isinstance(state.get("request"), dict) and state["request"].get("id"):
                self._open_card(content["comm_id"], state["request"])
            elif isinstance(state.get("requests"), list) and state["requests"]:
                self._open_review(content["comm_id"], state["requests"])
        elif kind == "comm_msg":
            data = content.get("data", {})
            comm_id = content["comm_id"]
            if data.get("method") == "update":
                state = data.get("state", {})
                if state.get("record"):
                    self.records.setdefault(comm_id, []).append(state["record"])
                if isinstance(state.get("records"), dict):
                    self.review_records.update(state["records"])
            elif data.get("method") == "custom" and data.get("content", {}).get("kind") == "error":
                self.kernel_errors.append(data["content"])
                follow = self.waiting_second.pop(comm_id, None)
                if follow is not None:
                    card, decision = follow
                    self._decide(comm_id, card.request_id, decision)

    def _open_card(self, comm_id: str, view: dict[str, Any]) -> None:
        card = self._card(comm_id, view, self.cell)
        self.cards.append(card)
        step = self.script.next(f"card for {card.function}({card.arguments})")
        if not isinstance(step, Expect):
            if step is not None:
                self.script.problems.append(f"expected {step.describe()}, got a card for {card.function}({card.arguments})")
            self._decide(comm_id, card.request_id, reject("the test did not expect this card"))
            return
        problems = []
        if step.function != card.function:
            problems.append(f"expected a card for {step.function}, got {card.function}({card.arguments})")
        for name, text in (step.arguments or {}).items():
            if card.arguments.get(name) != text:
                problems.append(f"{card.function}: expected {name}={text!r} on the card, it shows {card.arguments}")
        if problems:
            self.script.problems.extend(problems)
            self._decide(comm_id, card.request_id, reject("the test did not expect this card"))
            return
        if step.then is not None:
            self.waiting_second[comm_id] = (card, step.then)
        self._decide(comm_id, card.request_id, step.decision)

    def _open_review(self, comm_id: str, views: list[dict[str, Any]]) -> None:
        review = Review(comm_id, [self._card(comm_id, v, self.cell) for v in views], self.cell)
        self.reviews.append(review)
        labels = [c.label for c in review.cards]
        step = self.script.next(f"review table of {labels}")
        if not isinstance(step, ExpectReview) or step.labels != labels:
            if step is not None:
                self.script.problems.append(f"expected {step.describe()}, got a review table of {labels}")
            everything = [c.request_id for c in review.cards]
            self._send(comm_id, {"kind": "review_all", "version": PROTOCOL_VERSION, "request_ids": everything,
                                 "decision": reject("the test did not expect this review")})  # fmt: skip
            return
        by_label = review.by_label()
        for label, function in (step.functions or {}).items():
            if by_label[label].function != function:
                self.script.problems.append(f"{label}: expected {function}, the table shows {by_label[label].function}")
        for label, decision in step.decisions.items():
            self._decide(comm_id, by_label[label].request_id, decision)
        if step.rest is not None:
            rest = [c.request_id for c in review.cards if c.label not in step.decisions]
            self._send(comm_id, {"kind": "review_all", "version": PROTOCOL_VERSION, "request_ids": rest, "decision": step.rest})

    def pump(self, timeout: float) -> Message | None:
        try:
            msg = self.client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return None
        self.handle(msg)
        return msg


def code_cells(path: Path) -> list[tuple[int, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def run_notebook(
    name: str,
    script: AnswerScript,
    tmp_path: Path,
    *,
    after: str | None = None,
    env: Mapping[str, str] | None = None,
    cell_timeout: float = 90.0,
    allow_errors: Callable[[CellRun], bool] = lambda cell: False,
) -> NotebookRun:
    """Copy notebooks/ into ``tmp_path``, run ``name`` cell by cell in one fresh kernel, answer its cards.

    ``after``: code run in the same kernel after the last cell (to read the story's state);
    its stdout is the last CellRun (index -1). Raises CellFailed on the first cell that errors.
    """
    workdir = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, workdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.audit.jsonl"))
    cells = code_cells(workdir / name)
    if after is not None:
        cells.append((-1, after))
    started = time.monotonic()
    runs: list[CellRun] = []
    with kernel_in(workdir, env) as (_km, client):
        fe = _Frontend(client, script)
        for index, source in cells:
            fe.cell = index
            run = _execute(fe, index, source, cell_timeout)
            runs.append(run)
            if run.error is not None and not allow_errors(run):
                trace = "\n".join(run.error.get("traceback", []))
                raise CellFailed(f"{name} cell {index} failed:\n{source}\n---\n{trace}\n--- stdout:\n{run.stdout}")
        # updates sent after the last cell's idle (a record settling): collect what is already there
        while fe.pump(0.2) is not None:
            pass
    return NotebookRun(
        name, workdir, runs, fe.cards, fe.reviews, fe.records, fe.review_records, fe.kernel_errors, time.monotonic() - started
    )


def _execute(fe: _Frontend, index: int, source: str, timeout: float) -> CellRun:
    run = CellRun(index, source)
    t0 = time.monotonic()
    msg_id = fe.client.execute(source, allow_stdin=False, store_history=True)
    deadline = t0 + timeout
    idle = False
    while not idle:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CellFailed(f"cell {index} did not finish within {timeout:.0f} s:\n{source}\n--- stdout so far:\n{run.stdout}")
        msg = fe.pump(min(left, 1.0))
        if msg is None or msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            if content["name"] == "stdout":
                run.stdout += content["text"]
            else:
                run.stderr += content["text"]
        elif kind in ("display_data", "execute_result", "update_display_data"):
            data = content.get("data", {})
            if "text/html" in data:
                run.html.append(data["text/html"])
            if "text/plain" in data:
                run.plain.append(data["text/plain"])
        elif kind == "error":
            run.error = content
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    reply = fe.client.get_shell_msg(timeout=10)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = fe.client.get_shell_msg(timeout=10)
    if reply["content"]["status"] == "error" and run.error is None:
        run.error = reply["content"]
    run.seconds = time.monotonic() - t0
    return run
