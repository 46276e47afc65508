"""Real-browser harness: a throwaway JupyterLab (or Notebook 7) server driven by headless Chromium.

The server start, the Chromium launch and the loopback-only page live in ``lab_server.py``
(importable without pytest, e.g. by ``benchmarks/bench_browser_latency.py``); this file
wraps them in fixtures and adds page helpers.

What it provides
----------------
Fixtures (module-scoped unless noted):

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

``notebook7``
    The same, isolated the same way, but ``.venv/bin/jupyter notebook`` (Notebook 7, the
    ``notebook`` package of the dev extra). Notebooks open at ``/notebooks/<name>``.

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

``lite_site`` (session-scoped)
    The offline JupyterLite site (build/lite/): built by ``scripts/build_lite.py`` when missing
    or older than its inputs, served on a free 127.0.0.1 port from a thread. Yields a
    ``LiteSite`` (``base_url``, ``url(path)``, ``notebook_url(name)``); helpers to drive a
    notebook in Lite are in ``lite_site.py``.

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
``write_notebook(root, name, sources)``
    A notebook of code cells with the python3 kernelspec.
``open_in_workspace(page, lab, name)``
    Like ``open_notebook`` in a workspace of its own (JupyterLab otherwise restores the
    previous test's notebook).
``open_notebook7(page, server, name)``
    Notebook 7: opens ``/notebooks/<name>`` and waits until the kernel is connected and idle.
``cell(page, i)`` / ``cell_output_text(page, i)`` / ``wait_cell_text(page, i, text)``
    One cell, the text of its outputs, waiting for a text in them.
``pending_card(page, i)`` / ``record_texts(page, i)``
    The undecided approval card in cell ``i``; the decision records shown there.

Timings measured on a 2-core machine: server start ~2-4 s, notebook open to "Idle"
~2-4 s, click-to-result tens to a few hundred ms.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from lab_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    KERNEL_IDLE_TIMEOUT_MS,
    LOCAL_HOSTS,
    TOKEN,
    VENV_BIN,
    App,
    Lab,
    ServerMissing,
    chromium,
    is_local,
    jupyter_server,
    local_page,
    open_in_workspace,
    write_notebook,
)

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "KERNEL_IDLE_TIMEOUT_MS",
    "LOCAL_HOSTS",
    "OUTPUT_TIMEOUT_MS",
    "TOKEN",
    "VENV_BIN",
    "Lab",
    "assert_all_local",
    "cell",
    "cell_output_text",
    "open_in_workspace",
    "open_notebook",
    "open_notebook7",
    "output_texts",
    "pending_card",
    "record_texts",
    "run_all_cells",
    "run_cell",
    "wait_cell_text",
    "wait_for_outputs",
    "write_notebook",
]

OUTPUT_TIMEOUT_MS = 30_000
CARD_TIMEOUT_MS = 30_000

_is_local = is_local  # the old private name


def _server(app: App) -> Iterator[Lab]:
    try:
        with jupyter_server(app) as lab:
            yield lab
    except ServerMissing as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def jupyterlab() -> Iterator[Lab]:
    yield from _server("lab")


@pytest.fixture(scope="module")
def notebook7() -> Iterator[Lab]:
    """Like ``jupyterlab``, but ``jupyter notebook`` (Notebook 7, the ``notebook`` package)."""
    yield from _server("notebook")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason + " — CI is set, so this fails instead of skipping")
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        pytest.fail(f"the `playwright` package is not installed in this venv ({e}); never run Playwright's own browser download")
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with local_page(browser) as page:
        yield page


@pytest.fixture(scope="session")
def lite_site() -> Iterator[Any]:
    """The offline JupyterLite site: see lite_site.py (``LiteSite``)."""
    from lite_site import serve_lite_site

    try:
        with serve_lite_site() as site:
            yield site
    except RuntimeError as e:  # the build failed
        pytest.fail(str(e))


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


def open_notebook7(page: Any, server: Lab, name: str) -> None:
    """Open ``name`` in Notebook 7 (``/notebooks/<name>``) and wait until its kernel is connected and idle.

    Notebook 7 has no status bar; the toolbar's kernel logo gets its kernelspec image once
    the kernel is connected, and the execution indicator reads idle after that.
    """
    page.goto(server.url(f"notebooks/{name}"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=KERNEL_IDLE_TIMEOUT_MS)
    page.wait_for_function(
        """() => {
            const logo = document.querySelector('.jp-NotebookKernelLogo img[src*="kernelspecs"]');
            const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
            return logo !== null && indicator !== null && indicator.dataset.status === 'idle';
        }""",
        timeout=KERNEL_IDLE_TIMEOUT_MS,
    )


def cell(page: Any, index: int) -> Any:
    """The ``index``-th cell of the visible notebook."""
    return _cells(page).nth(index)


def cell_output_text(page: Any, index: int) -> str:
    """The text of one cell's outputs (not its source)."""
    return "\n".join(str(t) for t in cell(page, index).locator(".jp-OutputArea-output").all_inner_texts())


def wait_cell_text(page: Any, index: int, text: str, timeout_ms: int = CARD_TIMEOUT_MS) -> str:
    """Wait until cell ``index``'s outputs contain ``text``; return all its output text."""
    from playwright.sync_api import expect

    expect(cell(page, index).locator(".jp-OutputArea")).to_contain_text(text, timeout=timeout_ms)
    return cell_output_text(page, index)


def pending_card(page: Any, index: int, nth: int = 0) -> Any:
    """The ``nth`` undecided approval card in cell ``index`` (waits until it is visible)."""
    card = cell(page, index).locator(".hitl-card:not(.hitl-record)").nth(nth)
    card.wait_for(state="visible", timeout=CARD_TIMEOUT_MS)
    return card


def record_texts(page: Any, index: int) -> list[str]:
    """The compact decision records shown in cell ``index``."""
    return [str(t) for t in cell(page, index).locator(".hitl-record-text").all_inner_texts()]
