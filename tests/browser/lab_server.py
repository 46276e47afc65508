"""A throwaway Jupyter server (JupyterLab or Notebook 7) and Debian's Chromium, without pytest.

``conftest.py`` wraps these in fixtures; ``benchmarks/bench_browser_latency.py`` imports
them directly. Everything binds 127.0.0.1; every Jupyter directory is a temporary one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TOKEN = "T"
LOCAL_HOSTS = {"127.0.0.1"}
SERVER_START_TIMEOUT = 60.0
KERNEL_IDLE_TIMEOUT_MS = 60_000

VENV_BIN = Path(sys.executable).parent

App = Literal["lab", "notebook"]


@dataclass(frozen=True)
class Lab:
    base_url: str  # e.g. "http://127.0.0.1:40123" (no trailing slash)
    token: str
    root_dir: Path
    log_path: Path

    def url(self, path: str) -> str:
        path = path.lstrip("/")
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path}{sep}token={self.token}"


class ServerMissing(RuntimeError):
    """``.venv/bin/jupyter`` (or the app's package) is not installed."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_lab_settings(settings_dir: Path) -> None:
    # No "would you like news?" toast, no update check (it would try to reach the internet).
    notification = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def wait_for_server(base_url: str, proc: subprocess.Popen[bytes], log_path: Path, name: str) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    status_url = f"{base_url}/api/status?token={TOKEN}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter {name} exited with {proc.returncode}; log:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    log = log_path.read_text(errors="replace")
    raise RuntimeError(f"jupyter {name} did not answer {status_url} in {SERVER_START_TIMEOUT}s; log:\n{log}")


@contextmanager
def jupyter_server(app: App = "lab") -> Iterator[Lab]:
    """Start ``.venv/bin/jupyter <app>`` isolated in temporary directories; always stop it.

    ``app`` is ``"lab"`` (JupyterLab) or ``"notebook"`` (Notebook 7). Token ``T``,
    127.0.0.1 on a free port, ``--allow-root``, news and update checks off.
    """
    jupyter = VENV_BIN / "jupyter"
    if not jupyter.exists():
        raise ServerMissing(f"{jupyter} is missing: run `make setup` first")
    if not (VENV_BIN / f"jupyter-{app}").exists():
        raise ServerMissing(f"{VENV_BIN / f'jupyter-{app}'} is missing: install the dev extra (`make setup`)")
    tmp = Path(tempfile.mkdtemp(prefix=f"hitl-j{app}-"))
    root = tmp / "root"
    dirs = {
        "JUPYTER_RUNTIME_DIR": tmp / "runtime",
        "JUPYTER_CONFIG_DIR": tmp / "config",
        "JUPYTERLAB_SETTINGS_DIR": tmp / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": tmp / "workspaces",
        "IPYTHONDIR": tmp / "ipython",
    }
    for d in [root, *dirs.values()]:
        d.mkdir(parents=True)
    write_lab_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    env = {**os.environ, **{k: str(v) for k, v in dirs.items()}}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp / f"jupyter-{app}.log"
    cmd = [
        str(jupyter), app,
        "--no-browser", "--allow-root",
        f"--IdentityProvider.token={TOKEN}",
        "--port", str(port), "--ip", "127.0.0.1",
        f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root)
    try:
        wait_for_server(base_url, proc, log_path, app)
        yield Lab(base_url=base_url, token=TOKEN, root_dir=root, log_path=log_path)
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: jupyter_server shuts its kernels down
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium through the PyPI ``playwright`` package (``executable_path``); never a downloaded browser."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True  # never leave the page
    return parts.hostname in LOCAL_HOSTS


@contextmanager
def local_page(browser: Any, viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A fresh context and page; requests leaving 127.0.0.1 are aborted, every URL is recorded.

    ``page.requested_urls`` holds every request and WebSocket URL, ``page.blocked_urls``
    the aborted ones.
    """
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    requested: list[str] = []
    blocked: list[str] = []

    def route_filter(route: Any) -> None:
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", route_filter)
    page = context.new_page()
    page.on("request", lambda req: requested.append(req.url))
    page.on("websocket", lambda ws: requested.append(ws.url))
    page.requested_urls = requested
    page.blocked_urls = blocked
    try:
        yield page
    finally:
        context.close()


def write_notebook(root: Path, name: str, sources: list[str]) -> None:
    """A notebook of code cells ``sources`` with the python3 kernelspec, at ``root / name``."""
    import nbformat

    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]  # type: ignore[no-untyped-call]
    nbformat.write(nb, root / name)  # type: ignore[no-untyped-call]


def open_in_workspace(page: Any, lab: Lab, name: str) -> None:
    """Like ``open_notebook``, but in a JupyterLab workspace of its own, so an earlier test's notebook is not restored."""
    from playwright.sync_api import expect

    page.goto(lab.url(f"lab/workspaces/{name.replace('.', '-')}/tree/{name}"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=KERNEL_IDLE_TIMEOUT_MS)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=KERNEL_IDLE_TIMEOUT_MS)
