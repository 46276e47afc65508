"""Real-browser harness: a throwaway JupyterLab server driven by headless Chromium.

What it provides
----------------
Fixtures (session-scoped unless noted):

``jupyterlab``
    Starts ``.venv/bin/jupyter lab`` on a free port on 127.0.0.1 with token ``T``,
    ``--allow-root`` (as root JupyterLab otherwise exits silently) and a temporary
    ``--ServerApp.root_dir``. ``JUPYTER_RUNTIME_DIR``, ``JUPYTER_CONFIG_DIR``,
    ``JUPYTERLAB_SETTINGS_DIR``, ``JUPYTERLAB_WORKSPACES_DIR`` and ``IPYTHONDIR`` point
    at temporary directories, so no user or machine configuration leaks in and no
    workspace layout survives between runs. News and update checks are switched off in
    the settings dir. Waits until ``/api/status?token=T`` answers, yields a ``Lab``
    (``base_url``, ``token``, ``root_dir``, ``log_path``, ``url(path)``) and always
    stops the server (terminate, then kill). Tests put notebooks into
    ``lab.root_dir`` themselves.

``browser``
    (module-scoped: Playwright's sync API keeps an event loop on the main thread while it runs,
    so it must stop before other tests call asyncio.run.) Debian's Chromium
    (``/usr/bin/chromium``, from ``apt-get install -y chromium`` or
    ``scripts/ensure-chromium.sh``) launched through the PyPI ``playwright`` package
    with ``executable_path``. Never run `Playwright's own browser download`: it downloads a browser
    build, which fails on these machines. If Chromium is missing the browser tests are
    skipped, except under CI (``CI`` set), where they fail so a missing install step
    cannot hide behind a green run.

``page`` (function-scoped)
    A fresh browser context and page. Every request URL (and WebSocket URL) the page
    makes is recorded in ``page.requested_urls``; a route filter aborts any request
    that does not go to 127.0.0.1, so nothing leaves the machine. Assert on the
    recorded list with ``assert_all_local(page)``.

Helpers (plain functions; import them with ``from conftest import ...``):

``open_notebook(page, lab, name)``
    Navigates to ``/lab/tree/<name>?token=T`` and waits for the status bar to read
    "Idle" (the kernel is ready; the toolbar's execution indicator reads idle too early).
``run_cell(page, index)`` / ``run_all_cells(page)``
    Click the cell, Escape (command mode), Shift+Enter — as a person would.
``output_texts(page)``
    The inner text of every ``.jp-OutputArea-output``. Assert on these, not on page
    text, which also contains the cell sources.
``wait_for_outputs(page, count)``
    Waits until at least ``count`` outputs are shown.

Timings measured on a 2-core machine: server start ~2-4 s, notebook open to "Idle"
~2-4 s, click-to-result tens to a few hundred ms.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

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
OUTPUT_TIMEOUT_MS = 30_000

VENV_BIN = Path(sys.executable).parent


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_lab_settings(settings_dir: Path) -> None:
    # No "would you like news?" toast, no update check (it would try to reach the internet).
    notification = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def _wait_for_server(base_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    status_url = f"{base_url}/api/status?token={TOKEN}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}; log:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    log = log_path.read_text(errors="replace")
    raise RuntimeError(f"jupyter lab did not answer {status_url} in {SERVER_START_TIMEOUT}s; log:\n{log}")


@pytest.fixture(scope="module")
def jupyterlab() -> Iterator[Lab]:
    jupyter = VENV_BIN / "jupyter"
    if not jupyter.exists():
        pytest.fail(f"{jupyter} is missing: run `make setup` first")
    tmp = Path(tempfile.mkdtemp(prefix="hitl-jlab-"))
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
    _write_lab_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    env = {**os.environ, **{k: str(v) for k, v in dirs.items()}}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp / "jupyterlab.log"
    cmd = [
        str(jupyter), "lab",
        "--no-browser", "--allow-root",
        f"--IdentityProvider.token={TOKEN}",
        "--port", str(port), "--ip", "127.0.0.1",
        f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root)
    try:
        _wait_for_server(base_url, proc, log_path)
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason + " — CI is set, so this fails instead of skipping")
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        pytest.fail(f"the `playwright` package is not installed in this venv ({e}); never run Playwright's own browser download")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True  # never leave the page
    return parts.hostname in LOCAL_HOSTS


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    requested: list[str] = []
    blocked: list[str] = []

    def route_filter(route: Any) -> None:
        url = route.request.url
        if _is_local(url):
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


def assert_all_local(page: Any) -> None:
    """Every request the page made went to 127.0.0.1 (and the route filter blocked nothing)."""
    urls: list[str] = page.requested_urls
    assert urls, "no requests were recorded"
    outside = sorted({u for u in urls if not _is_local(u)} | set(page.blocked_urls))
    assert not outside, f"requests left 127.0.0.1: {outside}"


# -- helpers --------------------------------------------------------------------------


def open_notebook(page: Any, lab: Lab, name: str) -> None:
    """Open ``name`` (relative to ``lab.root_dir``) in JupyterLab and wait for the kernel to be idle."""
    from playwright.sync_api import expect

    page.goto(lab.url(f"lab/tree/{name}"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=KERNEL_IDLE_TIMEOUT_MS)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=KERNEL_IDLE_TIMEOUT_MS)


def _cells(page: Any) -> Any:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")


def run_cell(page: Any, index: int) -> None:
    """Run one cell as a person would: click it, Escape to command mode, Shift+Enter."""
    cell = _cells(page).nth(index)
    cell.click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")


def run_all_cells(page: Any) -> None:
    """Run every cell top to bottom (one click + Escape + Shift+Enter each)."""
    count = _cells(page).count()
    for i in range(count):
        run_cell(page, i)


def output_texts(page: Any) -> list[str]:
    """The text of each output area (not the cell sources)."""
    return [str(t) for t in page.locator(".jp-OutputArea-output").all_inner_texts()]


def wait_for_outputs(page: Any, count: int, timeout_ms: int = OUTPUT_TIMEOUT_MS) -> list[str]:
    """Wait until at least ``count`` outputs are shown; return their texts."""
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-OutputArea-output').length >= n", arg=count, timeout=timeout_ms
    )
    return output_texts(page)
