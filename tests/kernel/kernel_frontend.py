"""A real ipykernel with the test acting as the frontend (no browser)."""

from __future__ import annotations

import contextlib
import os
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[2]


Message = dict[str, Any]


class Frontend:
    """A blocking client that records every IOPub message, so tests can look back."""

    def __init__(self, manager: KernelManager, client: BlockingKernelClient) -> None:
        self.manager = manager
        self.client = client
        self.iopub: list[Message] = []

    def _pump(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        with contextlib.suppress(queue.Empty):
            self.iopub.append(self.client.get_iopub_msg(timeout=min(left, 0.5)))
        return True

    def wait_iopub(self, match: Callable[[Message], bool], timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for msg in self.iopub[seen:]:
                if match(msg):
                    return msg
            seen = len(self.iopub)
            if not self._pump(deadline):
                raise TimeoutError("no matching IOPub message")

    def wait_idle(self, msg_id: str, timeout: float = 10.0) -> Message:
        return self.wait_iopub(
            lambda m: (
                m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"
                and m["parent_header"].get("msg_id") == msg_id
            ),
            timeout,
        )

    def wait_started(self, msg_id: str, timeout: float = 10.0) -> None:
        self.wait_iopub(lambda m: m["msg_type"] == "execute_input" and m["parent_header"].get("msg_id") == msg_id, timeout)

    def reply(self, msg_id: str, timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no shell reply to {msg_id}")
            reply = self.client.get_shell_msg(timeout=left)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def run(self, code: str, timeout: float = 10.0) -> str:
        """Execute a cell to completion; return its stdout. Fails on an error reply."""
        msg_id = self.client.execute(code)
        reply = self.reply(msg_id, timeout)
        self.wait_idle(msg_id, timeout)
        assert reply["content"]["status"] == "ok", reply["content"]
        return self.stdout(msg_id)

    def stdout(self, msg_id: str) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.iopub
            if m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == msg_id and m["content"]["name"] == "stdout"
        )

    def stream_text(self, msg_id: str | None = None) -> str:
        """Every stream message's text joined, of one cell (``msg_id``) or of all: the kernel may
        flush one ``print`` as several messages ("RAN" then " 30"), so text is matched joined."""
        return "".join(
            m["content"]["text"]
            for m in self.iopub
            if m["msg_type"] == "stream" and (msg_id is None or m["parent_header"].get("msg_id") == msg_id)
        )

    def wait_stream(self, text: str, msg_id: str | None = None, timeout: float = 10.0) -> Message:
        """Wait until ``text`` is in the joined stream output (of ``msg_id``'s cell, or of any)."""
        return self.wait_iopub(
            lambda m: (
                m["msg_type"] == "stream"
                and (msg_id is None or m["parent_header"].get("msg_id") == msg_id)
                and text in self.stream_text(msg_id)
            ),
            timeout,
        )

    def output_order(self) -> list[str]:
        return [m["content"]["text"] for m in self.iopub if m["msg_type"] == "stream"]

    def comm_id(self, target: str = "hitl-test") -> str:
        opened = self.wait_iopub(lambda m: m["msg_type"] == "comm_open" and m["content"].get("target_name") == target)
        return str(opened["content"]["comm_id"])

    def send_comm_msg(self, comm_id: str, data: dict[str, Any]) -> None:
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)


@pytest.fixture
def kernel() -> Iterator[Frontend]:
    """A fresh kernel (the project on its path) and a frontend to drive it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(ROOT), env=env)
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        yield Frontend(km, client)
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
