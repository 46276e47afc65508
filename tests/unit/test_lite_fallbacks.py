"""JupyterLite's fallback order when the kernel cannot block, and channel detection under Pyodide.

The blocking card itself (BroadcastChannel + run_sync) runs in a real JupyterLite page:
tests/browser/test_lite_card.py.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from hitl_widget import ApprovalCancelled, ApprovalRejected, Gate, NoApprovalChannel, environment
from hitl_widget.approvers import lite
from hitl_widget.approvers.browser import BrowserConfirmApprover
from hitl_widget.approvers.lite import LiteApprover


def refund_gate(approver: Any) -> Any:
    gate = Gate(approver=approver)

    @gate.require_approval
    def refund(order: int) -> str:
        return f"refunded {order}"

    return refund


@pytest.fixture
def cannot_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lite, "can_block", lambda: False)


def test_without_run_sync_it_asks_in_the_stdin_box(cannot_block: None, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["e", "1", "8", "", "y"])  # edit, argument 1, new value, done, confirm
    prompts: list[str] = []

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", fake_input)
    assert refund_gate(LiteApprover(user="ana"))(7) == "refunded 8"
    assert prompts[0] == "> " and prompts[2].startswith("New value for order")


def test_without_run_sync_and_without_stdin_it_fails_closed_pointing_to_batch(
    cannot_block: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_stdin(prompt: str = "") -> str:
        raise OSError("stdin is not available in this kernel")

    monkeypatch.setattr("builtins.input", no_stdin)
    with pytest.raises(NoApprovalChannel, match="Batch") as info:
        refund_gate(LiteApprover(user="ana"))(7)
    assert isinstance(info.value, ApprovalRejected) and "refund(order=7)" in str(info.value)


def test_end_of_input_cancels(cannot_block: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    with pytest.raises(ApprovalCancelled, match="cancelled"):
        refund_gate(LiteApprover(user="ana"))(7)


def test_a_batch_without_run_sync_is_asked_call_by_call(cannot_block: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from hitl_widget import Batch

    answers = iter(["a", "r", "no"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    batch = Batch(approver=LiteApprover(user="ana"))
    refund = batch.wrap(lambda order: f"refunded {order}")
    refund(1)
    refund(2)
    results = batch.review_and_execute()
    first, second = results.values()
    assert first == "refunded 1"
    assert "no" in str(second)


@pytest.fixture
def pyodide_page(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Pretend to be Pyodide on a page's main thread: sys.platform and a ``js`` module with a window."""
    window = types.SimpleNamespace(confirm=lambda message: True, prompt=lambda message, default="": None)
    js = types.ModuleType("js")
    js.window = window  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "js", js)
    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(environment, "_browser", None)
    monkeypatch.setattr(environment, "in_ipython_kernel", lambda: False)
    return window


def test_pyodide_on_a_page_defaults_to_browser_dialogs(pyodide_page: types.SimpleNamespace) -> None:
    channel = environment.detect_channel()
    assert isinstance(channel, BrowserConfirmApprover)
    assert channel.window is pyodide_page


def test_pyodide_in_a_worker_without_a_kernel_has_no_channel(pyodide_page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    del sys.modules["js"].window
    monkeypatch.setattr(environment, "has_tty", lambda: False)
    assert environment.detect_channel() is None


def test_a_pyodide_kernel_defaults_to_the_lite_card(pyodide_page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "in_ipython_kernel", lambda: True)
    monkeypatch.setattr(environment, "_notebook", None)
    assert isinstance(environment.detect_channel(), LiteApprover)


def test_in_a_widget_callback_it_fails_closed_without_waiting_on_stdin(
    cannot_block: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JupyterLite shows no stdin box for a comm message: input() there would never return."""
    import IPython

    kernel = types.SimpleNamespace(_parent_header={"header": {"msg_type": "comm_msg"}})
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=kernel))

    def never(prompt: str = "") -> str:
        raise AssertionError("input() must not be called from a widget callback")

    monkeypatch.setattr("builtins.input", never)
    with pytest.raises(NoApprovalChannel, match="Batch"):
        refund_gate(LiteApprover(user="ana"))(7)

    kernel._parent_header = {"header": {"msg_type": "execute_request"}}  # in a cell: the stdin box is used
    answers = iter(["a"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert refund_gate(LiteApprover(user="ana"))(7) == "refunded 7"


def test_after_the_cell_ended_a_js_callback_fails_closed(cannot_block: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """JupyterLite keeps the ended cell as parent: IPython's cell events tell that no cell runs any more."""
    import IPython

    handlers: dict[str, Any] = {}
    events = types.SimpleNamespace(register=lambda name, fn: handlers.__setitem__(name, fn))
    kernel = types.SimpleNamespace(_parent_header={"header": {"msg_type": "execute_request"}})
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=kernel, events=events))
    watch = environment.CellWatch()
    monkeypatch.setattr(environment, "cells", watch)
    watch.install()
    assert watch.running is True and set(handlers) == {"pre_run_cell", "post_run_cell"}

    handlers["post_run_cell"](None)  # the cell ended; a timer calls the tool later
    monkeypatch.setattr("builtins.input", lambda prompt="": pytest.fail("no stdin box outside a cell"))
    with pytest.raises(NoApprovalChannel, match="Batch"):
        refund_gate(LiteApprover(user="ana"))(7)

    handlers["pre_run_cell"](None)  # the next cell runs: the stdin box is used again
    monkeypatch.setattr("builtins.input", lambda prompt="": "a")
    assert refund_gate(LiteApprover(user="ana"))(7) == "refunded 7"
