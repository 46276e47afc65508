"""A throwaway PostgreSQL cluster for tests: Debian's binaries, run as the ``postgres`` user.

``PgCluster.start()`` runs ``initdb`` in a temporary folder owned by ``postgres`` (through
``runuser -u postgres --`` when this process is root), starts it with ``pg_ctl`` on a free
loopback port with its socket in that folder, and ``stop()`` stops it and removes the folder.
``create_database()`` gives a fresh, empty database URL (``postgresql://postgres@127.0.0.1:PORT/NAME``).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PgCluster", "PgUnavailable", "find_pg_bin"]


class PgUnavailable(RuntimeError):
    """PostgreSQL's binaries or the postgres user are missing (scripts/ensure-postgresql.sh installs them)."""


def find_pg_bin() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` with ``initdb`` (Debian's layout)."""

    def major(path: str) -> int:
        part = Path(path).parts[4]
        return int(part) if part.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major)
    if not found:
        raise PgUnavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/ensure-postgresql.sh")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgCluster:
    def __init__(self) -> None:
        self.bin = find_pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="hitl-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise PgUnavailable("running as root without runuser: cannot start PostgreSQL as the postgres user")
            try:
                shutil.chown(self.dir, user="postgres", group="postgres")
            except (LookupError, OSError) as exc:
                raise PgUnavailable(f"no postgres user to own the cluster: {exc}") from None
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.dir, 0o700)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._as_postgres, *args], capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> PgCluster:
        init = self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        log_file = self.dir / "log"
        for attempt in range(3):  # the free port may be taken between asking for it and binding it
            options = (
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=300"
            )
            started = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(log_file), "-w", "start")
            if started.returncode == 0:
                break
            log = log_file.read_text(errors="replace") if log_file.exists() else ""
            if attempt == 2 or "could not bind" not in log:
                raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}\n{log}")
            self.port = _free_port()
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
