"""A real ``python -m hitl_widget dashboard`` in a subprocess, for tests and benchmarks.

```python
from server_process import DashboardServer

with DashboardServer(db=str(tmp_path / "hitl.db"), policy=policy_path) as server:   # starts, waits for /healthz
    server.add_user("alice", "pw", "ops")              # hitl users add (password on stdin)
    token = server.add_token("agent-1")                # hitl tokens add (last line of stdout)
    agent = server.agent(token)                        # httpx.Client with the Bearer token
    alice = server.person("alice", "pw")               # httpx.Client logged in, X-CSRF-Token set
    ...
    server.stop()                                      # SIGTERM, waits for exit (returncode)
    server.start()                                     # again, same port, same db
    server.kill()                                      # SIGKILL
```

- The first start binds a free port (``--port 0``; the server prints the one it got); restarts
  reuse that port, so agents keep their URL across a restart.
- ``db``: a SQLite file path or a ``postgresql://`` URL (tests/server/conftest.py's
  ``postgres_url``); ``policy``: a TOML file path, or None for the default policy.
- The server's stdout and stderr go to ``log_path`` (``server.log()`` reads it; a failed start
  raises :class:`ServerFailed` with it).
- Passwords: with ``cheap_passwords=True`` (the default while :data:`CHEAP_PASSWORDS` is set, which
  tests/server/conftest.py and the dashboard browser tests do) the server and the CLI run through
  tests/server/cheap_hitl.py: argon2id at its cheapest parameters, about 1 ms a hash instead of
  0.1 to 0.7 s. Benchmarks leave it unset and get the shipped parameters.
- pytest: the ``dashboard_server`` fixture of :func:`dashboard_server_factory` starts any number
  of servers and stops every one still running at the end of the test.

Nothing here needs pytest; everything binds 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "DashboardServer",
    "ServerFailed",
    "cli",
    "dashboard_server_factory",
]

START_TIMEOUT = 30.0
#: whether servers and CLI runs started here hash passwords cheaply by default (see the module docstring)
CHEAP_PASSWORDS = False
_CHEAP_MAIN = str(Path(__file__).with_name("cheap_hitl.py"))
STOP_TIMEOUT = 30.0
_BANNER = re.compile(r"hitl dashboard: serving (http://[^/\s]+)(/\S*)")


class ServerFailed(RuntimeError):
    """The server did not start (or a CLI command failed); the message carries its output."""


def _hitl(cheap_passwords: bool | None) -> list[str]:
    """The command line of ``hitl``: ``python -m hitl_widget``, or its cheap-password wrapper."""
    cheap = CHEAP_PASSWORDS if cheap_passwords is None else cheap_passwords
    return [sys.executable, _CHEAP_MAIN] if cheap else [sys.executable, "-m", "hitl_widget"]


def cli(
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cheap_passwords: bool | None = None,
) -> str:
    """Run ``python -m hitl_widget ARGS``; its stdout, or :class:`ServerFailed` on a non-zero exit.
    ``cheap_passwords``: None follows :data:`CHEAP_PASSWORDS`."""
    done = subprocess.run(
        [*_hitl(cheap_passwords), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise ServerFailed(f"hitl {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class DashboardServer:
    """One ``hitl dashboard`` process on loopback; see the module docstring."""

    def __init__(
        self,
        db: str,
        *,
        policy: str | os.PathLike[str] | None = None,
        port: int = 0,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        cheap_passwords: bool | None = None,
    ) -> None:
        self.db = db
        self.cheap_passwords = CHEAP_PASSWORDS if cheap_passwords is None else cheap_passwords
        self.policy = None if policy is None else str(policy)
        self.port = port
        self.extra_args = list(extra_args)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="hitl-dashboard-", suffix=".log")
            os.close(fd)
            log_path = name
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen[bytes] | None = None
        self.prefix = ""
        self.starts = 0
        self._clients: list[httpx.Client] = []

    # -- process ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if not self.port:
            raise RuntimeError("the server has not started yet")
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [*_hitl(self.cheap_passwords), "dashboard", "--db", self.db, "--host", "127.0.0.1", "--port", str(self.port)]
        if self.policy:
            cmd += ["--policy", self.policy]
        return cmd + self.extra_args

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> DashboardServer:
        """Start the process and wait until it serves ``/healthz``; :class:`ServerFailed` otherwise."""
        if self.running:
            raise RuntimeError("already running")
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.env, stdin=subprocess.DEVNULL
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerFailed(f"hitl dashboard exited {self.proc.returncode} at start:\n{self.log(offset)}")
            match = _BANNER.search(self.log(offset))
            if match:
                self.port = int(match.group(1).rsplit(":", 1)[1])
                self.prefix = match.group(2).rstrip("/")
                break
            if time.monotonic() > deadline:
                self.kill()
                raise ServerFailed(f"hitl dashboard did not start in {timeout:g} s:\n{self.log(offset)}")
            time.sleep(0.02)
        while True:
            try:
                if httpx.get(f"{self.url}{self.prefix}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise ServerFailed(f"/healthz did not answer in {timeout:g} s:\n{self.log(offset)}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Send ``sig`` (SIGTERM: graceful) and wait for the exit; its return code (None if not running)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise ServerFailed(f"hitl dashboard did not stop within {timeout:g} s of signal {sig}:\n{self.log()}") from None

    def kill(self) -> int | None:
        """SIGKILL: no shutdown at all (a crash)."""
        return self.stop(signal.SIGKILL, timeout=10)

    def restart(self, sig: int = signal.SIGTERM) -> DashboardServer:
        """Stop with ``sig`` and start again on the same port and database."""
        self.stop(sig)
        return self.start()

    def log(self, offset: int = 0) -> str:
        """The server's output so far (from byte ``offset``)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and close the clients made here."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        with suppress(ServerFailed):
            self.stop()

    def __enter__(self) -> DashboardServer:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- users, tokens, clients ------------------------------------------------------------------

    def add_user(self, name: str, password: str, *roles: str) -> None:
        """``hitl users add NAME --role R... --db DB`` with the password on standard input."""
        args = ["users", "add", name, "--db", self.db]
        for role in roles:
            args += ["--role", role]
        cli(*args, stdin=password + "\n", env=self.env, cheap_passwords=self.cheap_passwords)

    def add_token(self, name: str) -> str:
        """``hitl tokens add NAME --db DB``: the new token (the last line of its output)."""
        out = cli("tokens", "add", name, "--db", self.db, env=self.env, cheap_passwords=self.cheap_passwords)
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        if not lines:
            raise ServerFailed("hitl tokens add printed no token")
        return lines[-1]

    def client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` on this server (base URL with the prefix; closed by :meth:`close`)."""
        kwargs.setdefault("timeout", 60)
        client = httpx.Client(base_url=f"{self.url}{self.prefix}", **kwargs)
        self._clients.append(client)
        return client

    def agent(self, token: str, **kwargs: Any) -> httpx.Client:
        """A client that sends ``Authorization: Bearer TOKEN``."""
        return self.client(headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def person(self, name: str, password: str, **kwargs: Any) -> httpx.Client:
        """A client logged in as ``name`` (the session cookie) that sends its CSRF token on every request."""
        client = self.client(**kwargs)
        answer = client.post("/login", json={"username": name, "password": password})
        if answer.status_code != 200:
            raise ServerFailed(f"login as {name} failed: {answer.status_code} {answer.text}")
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client


def dashboard_server_factory(tmp_path: Path) -> Iterator[Callable[..., DashboardServer]]:
    """Generator behind the ``dashboard_server`` fixture: ``make(db, policy=None, **kw)`` starts one.

    ``policy`` may be a path or the TOML text itself (written to a file in ``tmp_path``).
    Every server made is stopped (SIGTERM, then SIGKILL) at the end.
    """
    made: list[DashboardServer] = []

    def make(db: str, policy: str | os.PathLike[str] | None = None, *, start: bool = True, **kwargs: Any) -> DashboardServer:
        if isinstance(policy, str) and "[" in policy:
            path = tmp_path / f"policy-{len(made)}.toml"
            path.write_text(policy)
            policy = path
        kwargs.setdefault("log_path", tmp_path / f"dashboard-{len(made)}.log")
        server = DashboardServer(db, policy=policy, **kwargs)
        made.append(server)
        if start:
            server.start()
        return server

    try:
        yield make
    finally:
        for server in reversed(made):
            server.close()


@contextmanager
def running_server(db: str, **kwargs: Any) -> Iterator[DashboardServer]:
    """``with running_server(db) as server:`` without pytest (benchmarks)."""
    server = DashboardServer(db, **kwargs).start()
    try:
        yield server
    finally:
        server.close()
