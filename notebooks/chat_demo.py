"""Local stand-ins for notebooks/chat_approvals.ipynb: a dashboard server, Slack, and a Teams webhook, on 127.0.0.1.

Nothing here talks to the real Slack or Teams. ``LocalSlack`` answers the Web API methods
hitl_widget calls (``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
``views.open``) and keeps the messages, so the notebook can show them; it also plays Slack's
part when a person clicks a button: it builds the ``block_actions`` (or ``view_submission``)
payload Slack would send and signs it with the app's signing secret, exactly as Slack signs its
callbacks, then posts it to the dashboard's ``/slack/interactions``. ``LocalTeams`` is a
Workflows webhook that keeps the cards it gets. ``LocalDashboard`` runs ``hitl dashboard`` in a
subprocess (SQLite in a temporary folder) with its Slack settings pointed at ``LocalSlack``.

With a real workspace you need none of this: give ``SlackApprover`` your bot token and channel
(no ``base_url``), set the server's ``HITL_SLACK_SIGNING_SECRET`` and ``HITL_SLACK_BOT_TOKEN``,
and Slack sends the clicks itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["LocalDashboard", "LocalSlack", "LocalTeams", "run_in_background"]

SIGNING_SECRET = "local-demo-signing-secret"


def _readable(mrkdwn: str) -> str:
    """What Slack shows for mrkdwn text written by hitl_widget: date tokens as their fallback, links as label (url)."""
    literal: list[str] = []  # Slack reads <...> tokens first: a * inside one is never bold

    def keep(match: re.Match[str]) -> str:
        literal.append(match.group(1))
        return f"\x00{len(literal) - 1}\x00"

    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", keep, mrkdwn)
    text = re.sub(r"\*([^*\n]+)\*", r"\1", text)  # hitl_widget's own bold
    text = re.sub(r"<(https?://[^|>]+)\|([^>]*)>", r"\2 (\1)", text)
    text = re.sub("\x00(\\d+)\x00", lambda m: literal[int(m.group(1))], text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _needs_local_python() -> None:
    if sys.platform == "emscripten":
        raise RuntimeError(
            "this notebook starts a dashboard server and local stand-ins for Slack and Teams, which a kernel in the "
            "browser (JupyterLite, Pyodide) cannot: run it in JupyterLab with a local Python (make demo)"
        )


class _Loopback:
    def __init__(self) -> None:
        _needs_local_python()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if "json" in self.headers.get("Content-Type", ""):
                    body = json.loads(raw or b"{}")
                else:
                    body = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                status, answer = owner._answer(self.path, body)
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._lock = threading.Condition()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        raise NotImplementedError

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LocalSlack(_Loopback):
    """Slack's Web API (``url`` is the ``base_url`` for slack_sdk's WebClient) and Slack's side of a click."""

    def __init__(self, signing_secret: str = SIGNING_SECRET) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/api/"
        self.signing_secret = signing_secret
        self.messages: dict[str, dict[str, Any]] = {}  # ts -> {"channel", "text", "blocks", "updates"}
        self.ephemerals: list[tuple[str, str]] = []  # (Slack user id, text)
        self.modals: list[dict[str, Any]] = []
        self._ts = int(time.time())
        self.dashboard_url = ""

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        method = path.split("?")[0].removeprefix("/api/")
        with self._lock:
            if method == "chat.postMessage":
                self._ts += 1
                ts = f"{self._ts}.000100"
                self.messages[ts] = {
                    "channel": body.get("channel"),
                    "text": body.get("text"),
                    "blocks": body.get("blocks"),
                    "updates": 0,
                }
                answer: dict[str, Any] = {"ok": True, "channel": body.get("channel"), "ts": ts}
            elif method == "chat.update" and body.get("ts") in self.messages:
                message = self.messages[body["ts"]]
                message.update(text=body.get("text"), blocks=body.get("blocks"), updates=message["updates"] + 1)
                answer = {"ok": True, "channel": body.get("channel"), "ts": body["ts"]}
            elif method == "chat.postEphemeral":
                self.ephemerals.append((str(body.get("user")), str(body.get("text"))))
                answer = {"ok": True, "message_ts": "0"}
            elif method == "views.open":
                self.modals.append(dict(body.get("view") or {}))
                answer = {"ok": True, "view": {"id": f"V{len(self.modals)}"}}
            else:
                answer = {"ok": False, "error": "message_not_found" if method == "chat.update" else "unknown_method"}
            self._lock.notify_all()
        return 200, answer

    def latest(self, timeout: float = 15.0, after: int = 0) -> str:
        """The ts of the newest message, waiting until there are more than ``after`` messages."""
        end = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) <= after:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no Slack message was posted")
                self._lock.wait(left)
            return list(self.messages)[-1]

    def wait_updates(self, ts: str, count: int, timeout: float = 15.0) -> None:
        end = time.monotonic() + timeout
        with self._lock:
            while self.messages[ts]["updates"] < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the message was updated {self.messages[ts]['updates']} times, not {count}")
                self._lock.wait(left)

    def wait_text(self, ts: str, text: str, timeout: float = 15.0) -> None:
        """Wait until the message (as :meth:`show` reads it) contains ``text``."""
        end = time.monotonic() + timeout
        with self._lock:
            while text not in self.show(ts):
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the message does not show {text!r}:\n{self.show(ts)}")
                self._lock.wait(left)

    def wait_ephemeral(self, user: str, timeout: float = 15.0) -> str:
        """The newest private reply to Slack user ``user`` (waiting for one)."""
        end = time.monotonic() + timeout
        with self._lock:
            while not [t for u, t in self.ephemerals if u == user]:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no private reply to {user}")
                self._lock.wait(left)
            return [t for u, t in self.ephemerals if u == user][-1]

    def show(self, ts: str | None = None) -> str:
        """The message as a person reads it in Slack (text, then its buttons)."""
        ts = ts or list(self.messages)[-1]
        lines: list[str] = []
        for block in self.messages[ts]["blocks"] or []:
            if block.get("type") == "section":
                lines.append(_readable(block["text"]["text"]))
            elif block.get("type") == "context":
                lines.append("  " + " ".join(_readable(e.get("text", "")) for e in block.get("elements", [])))
            elif block.get("type") == "actions":
                lines.append("  ".join(f"[{e['text']['text']}]" for e in block.get("elements", [])))
        return "\n".join(lines)

    def _signed_post(self, payload: dict[str, Any]) -> Any:
        import httpx

        raw = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        sent = str(int(time.time()))
        signature = "v0=" + hmac.new(self.signing_secret.encode(), f"v0:{sent}:".encode() + raw, hashlib.sha256).hexdigest()
        return httpx.post(
            f"{self.dashboard_url}/slack/interactions",
            content=raw,
            timeout=10,
            headers={
                "X-Slack-Request-Timestamp": sent,
                "X-Slack-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )

    def click(self, label: str, user: str, ts: str | None = None) -> int:
        """A click on the button ``label`` ("Approve", "Reject") of a message, by Slack user ``user``; the HTTP status."""
        ts = ts or list(self.messages)[-1]
        message = self.messages[ts]
        for block in message["blocks"]:
            if block.get("type") != "actions":
                continue
            for element in block["elements"]:
                if element["text"]["text"] == label and "value" in element:
                    payload = {
                        "type": "block_actions",
                        "user": {"id": user},
                        "trigger_id": f"trigger-{time.time_ns()}",
                        "container": {"type": "message", "message_ts": ts, "channel_id": message["channel"]},
                        "channel": {"id": message["channel"]},
                        "actions": [
                            {"action_id": element["action_id"], "value": element["value"], "action_ts": f"{time.time():.6f}"}
                        ],
                    }
                    return int(self._signed_post(payload).status_code)
        raise LookupError(f"the message has no {label!r} button")

    def submit_modal(self, feedback: str, user: str, timeout: float = 10.0) -> Any:
        """Type ``feedback`` into the last modal Reject opened and submit it; Slack's answer (JSON)."""
        end = time.monotonic() + timeout
        while not self.modals and time.monotonic() < end:
            time.sleep(0.01)
        modal = self.modals[-1]
        payload = {
            "type": "view_submission",
            "user": {"id": user},
            "view": {
                **modal,
                "id": f"V{time.time_ns()}",
                "hash": "1",
                "state": {"values": {"feedback": {"text": {"type": "plain_text_input", "value": feedback}}}},
            },
        }
        return self._signed_post(payload).json()


def _unescape_markdown(text: str) -> str:
    """A fact value as Teams shows it (its markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", text)


class LocalTeams(_Loopback):
    """A Teams Workflows webhook on loopback: ``url``; keeps every card it gets (``cards``)."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/workflows/demo/triggers/manual/paths/invoke?sig=demo"
        self.cards: list[dict[str, Any]] = []

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        with self._lock:
            self.cards.append(body["attachments"][0]["content"])
            self._lock.notify_all()
        return 202, None

    def wait(self, count: int, timeout: float = 15.0) -> None:
        end = time.monotonic() + timeout
        with self._lock:
            while len(self.cards) < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.cards)} Teams card(s), not {count}")
                self._lock.wait(left)

    def show(self, index: int = -1) -> str:
        """A card as text: its blocks, facts and link."""
        card = self.cards[index]
        lines = [f"(Adaptive Card {card['version']})"]
        for block in card["body"]:
            if block["type"] == "TextBlock":
                lines.append(block["text"])
            elif block["type"] == "RichTextBlock":
                lines.append("".join(run["text"] for run in block["inlines"]))
            elif block["type"] == "FactSet":
                lines.extend(f"  {f['title']}: {_unescape_markdown(f['value'])}" for f in block["facts"])
        for action in card.get("actions", []):
            lines.append(f"[{action['title']}] -> {action['url']}")
        return "\n".join(lines)


class LocalDashboard:
    """``hitl dashboard`` in a subprocess on a free loopback port, with people, their Slack ids and an agent token."""

    def __init__(
        self,
        slack: LocalSlack,
        *,
        policy: str = "",
        people: dict[str, tuple[str, ...]] | None = None,
        slack_ids: dict[str, str] | None = None,
    ) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="hitl-chat-demo-"))
        self.db = str(self.folder / "hitl.db")
        self.password = "demo-password"
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "HITL_SLACK_SIGNING_SECRET": slack.signing_secret,
            "HITL_SLACK_BOT_TOKEN": "xoxb-local-demo",
            "HITL_SLACK_API_URL": slack.url,
        }
        for name, roles in (people or {}).items():
            self._hitl("users", "add", name, *[a for r in roles for a in ("--role", r)], stdin=self.password + "\n")
        for name, slack_id in (slack_ids or {}).items():
            self._hitl("users", "link-slack", name, slack_id)
        self.token = self._hitl("tokens", "add", "support-agent").strip().splitlines()[-1]
        args = ["dashboard", "--db", self.db, "--host", "127.0.0.1", "--port", "0"]
        if policy:
            (self.folder / "policy.toml").write_text(policy)
            args += ["--policy", str(self.folder / "policy.toml")]
        self.log = open(self.folder / "server.log", "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hitl_widget", *args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
            stdin=subprocess.DEVNULL,
        )
        self.url = self._wait_for_banner()
        slack.dashboard_url = self.url
        self._people: dict[str, Any] = {}

    def _hitl(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hitl_widget", *args, "--db", self.db],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hitl {' '.join(args)}: {done.stderr or done.stdout}")
        return done.stdout

    def _wait_for_banner(self, timeout: float = 30.0) -> str:
        import httpx

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("hitl dashboard exited: " + (self.folder / "server.log").read_text())
            found = re.search(r"serving (http://127\.0\.0\.1:\d+)", (self.folder / "server.log").read_text())
            if found:
                try:
                    if httpx.get(found.group(1) + "/healthz", timeout=2).status_code == 200:
                        return found.group(1)
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("hitl dashboard did not start in time")

    def person(self, name: str) -> Any:
        """An HTTP client logged in as ``name`` (what the dashboard's page does when that person clicks)."""
        import httpx

        if name not in self._people:
            client = httpx.Client(base_url=self.url, timeout=30)
            answer = client.post("/login", json={"username": name, "password": self.password})
            answer.raise_for_status()
            client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
            self._people[name] = client
        return self._people[name]

    def pending(self, as_user: str) -> list[dict[str, Any]]:
        """The pending requests, as ``as_user`` sees the queue."""
        return list(self.person(as_user).get("/api/requests", params={"status": "pending"}).json()["items"])

    def decide(self, name: str, request_id: str, kind: str, feedback: str | None = None) -> dict[str, Any]:
        """``name`` decides in the dashboard (the same API the page's buttons call)."""
        current = self.person(name).get(f"/api/requests/{request_id}").json()
        body = {"version": current["version"], "kind": kind, **({"feedback": feedback} if feedback else {})}
        answer = self.person(name).post(f"/api/requests/{request_id}/decisions", json=body)
        return dict(answer.json())

    def stop(self) -> None:
        for client in self._people.values():
            client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class _Background:
    def __init__(self, fn: Any) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Any) -> None:
        try:
            self.result = fn()
        except BaseException as exc:
            self.error = exc

    def wait(self, timeout: float = 30.0) -> Any:
        """The call's result, or its exception raised here."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError("the call is still waiting for a decision")
        if self.error is not None:
            raise self.error
        return self.result


def run_in_background(fn: Any) -> _Background:
    """Run ``fn()`` on a thread, as an agent in a service would, so the next cells can decide it."""
    return _Background(fn)
