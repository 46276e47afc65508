"""Loopback stand-ins for Slack's Web API and a Teams Workflows webhook: they record every call.

Never the real services. ``FakeSlack`` answers the Web API methods hitl_widget uses
(``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``views.open``) the way Slack
does (JSON with ``ok``; ``ts`` for a message); ``FakeTeams`` answers a Workflows webhook's
``202 Accepted``. Both can be told to fail the next calls: ``429`` with ``Retry-After``, ``500``,
a hang (no answer for N seconds, so the client times out), or Slack's ``ok: false`` error.
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    response: dict[str, Any] | None = None  # what the fake answered (a posted message's ts)


@dataclass(frozen=True)
class Fault:
    kind: (
        str  # "429" (value: Retry-After) | "500" | "hang" (value: seconds) | "error" (Slack's ok:false) | "status" (value: code)
    )
    value: Any = None


class _Server:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.attempts: list[Call] = []  # every request, faulted ones too
        self._faults: dict[str, collections.deque[Fault]] = collections.defaultdict(collections.deque)
        self._lock = threading.Condition()
        self._closing = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                owner._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def fail(self, method: str, *faults: Fault) -> None:
        """The next calls of ``method`` (``"*"``: any) meet these faults, in order."""
        with self._lock:
            self._faults[method].extend(faults)

    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            for key in (method, "*"):
                if self._faults[key]:
                    return self._faults[key].popleft()
        return None

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """The first ``count`` successful calls of ``method``; AssertionError after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self.calls if c.method == method]
                if len(found) >= count:
                    return found
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method}: {len(found)} call(s) after {timeout} s, wanted {count}: {self.methods()}")
                self._lock.wait(left)

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def _body(self, handler: BaseHTTPRequestHandler) -> dict[str, Any]:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        kind = handler.headers.get("Content-Type", "")
        if "json" in kind:
            data = json.loads(raw.decode() or "{}")
            return data if isinstance(data, dict) else {"_": data}
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        handler.send_response(status)
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _method(self, handler: BaseHTTPRequestHandler) -> str:
        raise NotImplementedError

    def _answer(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        raise NotImplementedError

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method = self._method(handler)
        body = self._body(handler)
        call = Call(method, body, {k.lower(): v for k, v in handler.headers.items()})
        with self._lock:
            self.attempts.append(call)
        fault = self._next_fault(method)
        if fault is not None:
            if fault.kind == "429":
                self._send(
                    handler,
                    429,
                    b'{"ok":false,"error":"ratelimited"}',
                    {"Retry-After": str(fault.value), "Content-Type": "application/json"},
                )
                return
            if fault.kind == "500":
                self._send(handler, 500, b"Internal Server Error", {"Content-Type": "text/plain"})
                return
            if fault.kind == "hang":
                self._closing.wait(float(fault.value))
                with contextlib.suppress(OSError):
                    self._send(handler, 503, b"", {})
                return
            if fault.kind == "status":
                self._send(handler, int(fault.value), b'{"error":"refused"}', {"Content-Type": "application/json"})
                return
            if fault.kind == "error":
                self._send(
                    handler, 200, json.dumps({"ok": False, "error": fault.value}).encode(), {"Content-Type": "application/json"}
                )
                return
        status, answer = self._answer(method, body)
        call.response = answer
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
        data = b"" if answer is None else json.dumps(answer).encode()
        self._send(handler, status, data, {"Content-Type": "application/json"} if answer is not None else {})

    def close(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeSlack(_Server):
    """Slack's Web API on loopback: ``WebClient(base_url=fake.url)``."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/api/"
        self._ts = 1_700_000_000

    def _method(self, handler: BaseHTTPRequestHandler) -> str:
        return handler.path.split("?")[0].removeprefix("/api/")

    def _answer(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        with self._lock:
            self._ts += 1
            ts = f"{self._ts}.000100"
        channel = body.get("channel", "C0")
        if method == "chat.postMessage":
            return 200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text"), "ts": ts}}
        if method == "chat.update":
            return 200, {"ok": True, "channel": channel, "ts": body.get("ts"), "text": body.get("text")}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": ts}
        if method == "views.open":
            return 200, {"ok": True, "view": {"id": "V" + ts.replace(".", ""), **(body.get("view") or {})}}
        return 200, {"ok": False, "error": "unknown_method"}


class FakeTeams(_Server):
    """A Workflows webhook on loopback: ``fake.url`` takes a card and answers 202."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/workflows/webhook/abc?sig=secret"

    def _method(self, handler: BaseHTTPRequestHandler) -> str:
        return "webhook"

    def _answer(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        return 202, None


def texts(value: Any) -> list[str]:
    """Every string inside a JSON value (for checking what a message or card could show)."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out
