"""The dashboard inside a real Jupyter server through jupyter-server-proxy (the jupyter-proxy extra):
the package's entry point registers it at /hitl/ with a launcher tile; the app runs under the
prefix (the cookie's path, relative redirects), people log in through the proxy, the page and its
bundle load, and the event stream streams. ``jupyter-config/jupyter_server_config.py`` adds a
second one (/hitl-staging/) beside it."""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_process import cli

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "jupyter-config" / "jupyter_server_config.py"
TOKEN = "jupyter-test-token"
PASSWORD = "through-the-proxy"

pytest.importorskip("jupyter_server_proxy", reason="the jupyter-proxy extra is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "root"
    root.mkdir()
    db = root / "hitl.db"
    env = {
        **os.environ,
        "HITL_DB": str(db),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cli("users", "add", "alice", "--role", "ops", "--db", str(db), stdin=PASSWORD + "\n")
    port = _free_port()
    log = open(tmp_path / "jupyter.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter-server"), "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", f"--config={CONFIG}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "jupyter.log").read_text()
            try:
                if httpx.get(f"{base}/api/status", params={"token": TOKEN}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "jupyter.log").read_text()
            time.sleep(0.1)
        yield base, tmp_path / "jupyter.log"
    finally:
        proc.terminate()  # the proxy stops the dashboard it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_the_dashboard_opens_at_hitl_in_jupyter(jupyter: tuple[str, Path]) -> None:
    base, log = jupyter
    client = httpx.Client(base_url=base, params={"token": TOKEN}, timeout=60)  # Jupyter's own login: its token

    info = client.get("/server-proxy/servers-info").json()
    by_name = {s["name"]: s for s in info["server_processes"]}
    assert "hitl" in by_name, f"the entry point is not registered (reinstall: pip install -e .): {sorted(by_name)}"
    hitl = by_name["hitl"]
    assert hitl["launcher_entry"]["title"] == "HITL dashboard" and hitl["launcher_entry"]["enabled"]
    icon = client.get(hitl["launcher_entry"]["icon_url"])
    assert icon.status_code == 200 and b"<svg" in icon.content
    assert by_name["hitl-staging"]["launcher_entry"]["title"] == "HITL dashboard (staging)"  # jupyter-config/

    health = client.get("/hitl/healthz")  # the first request starts `hitl dashboard` behind the proxy
    assert health.status_code == 200, log.read_text()
    assert health.json()["status"] == "ok"

    login = client.post("/hitl/login", data={"username": "alice", "password": PASSWORD, "next": "/requests/x"})
    assert login.status_code == 303, login.text
    assert login.headers["location"] == "./requests/x"  # relative to /hitl/login: /hitl/requests/x
    assert "path=/hitl/" in login.headers["set-cookie"].lower()  # the prefix, from X-Forwarded-Prefix
    me = client.get("/hitl/api/me").json()
    assert me["name"] == "alice" and me["roles"] == ["ops"]
    client.headers["X-CSRF-Token"] = me["csrf_token"]

    page = client.get("/hitl/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="./static/dashboard.js' in page.text  # relative: resolves under /hitl/
    bundle = client.get("/hitl/static/dashboard.js")
    assert bundle.status_code == 200 and len(bundle.content) > 1000

    # the event stream streams through the proxy (EventSource's Accept header)
    with client.stream("GET", "/hitl/api/events", headers={"Accept": "text/event-stream"}) as stream:
        assert stream.status_code == 200
        t0 = time.monotonic()
        first = next(stream.iter_lines())
        assert first.startswith("retry:") and time.monotonic() - t0 < 10

    out = client.post("/hitl/logout", headers={"Accept": "application/json"})
    assert out.status_code == 200 and out.json() == {"ok": True}
    assert client.get("/hitl/api/me").status_code == 401

    # the second one, from jupyter-config/: its own process and database
    staging = client.get("/hitl-staging/healthz")
    assert staging.status_code == 200, log.read_text()
    error = client.post("/hitl-staging/login", json={"username": "alice", "password": PASSWORD})
    assert error.status_code == 401  # alice is only in the first dashboard's database


def test_pyproject_registers_the_same_server_process() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = project["project"]["entry-points"]["jupyter_serverproxy_servers"]["hitl"]
    module, _, name = target.partition(":")
    setup = getattr(importlib.import_module(module), name)
    process = setup()
    assert process["command"][1:5] == ["-m", "hitl_widget", "dashboard", "--host"] and "{port}" in process["command"]
    assert Path(process["launcher_entry"]["icon_path"]).read_text().startswith("<svg")
    from jupyter_server_proxy.config import ServerProcess

    assert ServerProcess(name="hitl", **process).launcher_entry.title == "HITL dashboard"  # jupyter-server-proxy accepts it
