"""Notebook card, browser level: click on Approve -> the function's result shown, p50/p95.

A real JupyterLab (tests/browser/lab_server.py: temporary dirs, 127.0.0.1, token) and
Debian's Chromium. Each round runs a cell that calls a ``@require_approval`` function,
clicks Approve on its card and times until the printed result is in the page. Baseline,
side by side in the same page and interleaved round by round: an ipywidgets Button whose
``on_click`` prints into an ``Output`` widget (click -> comm message -> Python prints ->
text shown: the same shape, without the approval machinery and with the kernel idle).

Both are timed inside the page: from the click event (capture phase) to the moment a
MutationObserver sees the expected line in an output, so Playwright's own round trips
are not counted. Target: card p95 under 150 ms. Prints figures; asserts nothing timed.

    .venv/bin/python benchmarks/bench_browser_latency.py [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from lab_server import (  # noqa: E402
    CHROMIUM,
    chromium,
    is_local,
    jupyter_server,
    local_page,
    open_in_workspace,
    write_notebook,
)

TARGET_P95_MS = 150.0
TIMEOUT_MS = 30_000

SETUP = """\
import itertools
import ipywidgets as widgets
from hitl_widget import require_approval

@require_approval
def double(x: int) -> int:
    return 2 * x

card_round = itertools.count()
base_round = itertools.count()
base_out = widgets.Output()
base_button = widgets.Button(description="Baseline")

def on_click(_button):
    with base_out:
        print("BASE", next(base_round))

base_button.on_click(on_click)
display(widgets.VBox([base_button, base_out]))
print("READY")
"""
CARD = 'k = next(card_round)\nprint("RESULT", k, double(k))'

# Installed once per page: a click (capture phase) starts the clock; the first mutation after
# it that makes an output contain the awaited line stops it.
PROBE = """() => {
    const b = (window.__bench = { want: null, start: null, end: null });
    const seen = () => [...document.querySelectorAll('.jp-OutputArea-output')]
        .some(e => e.textContent.split('\\n').some(l => l.trim() === b.want));
    document.addEventListener('click', () => {
        if (b.want !== null && b.start === null) b.start = performance.now();
    }, true);
    new MutationObserver(() => {
        if (b.start !== null && b.end === null && seen()) b.end = performance.now();
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""
ARM = "want => { Object.assign(window.__bench, { want, start: null, end: null }); }"
DONE = "() => window.__bench.end !== null"
ELAPSED = "() => window.__bench.end - window.__bench.start"


def _cell(page: Any, index: int) -> Any:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def _run(page: Any, index: int) -> None:
    # click the prompt, not the cell's middle: that could land on a button in its output
    _cell(page, index).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")


def _idle(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=TIMEOUT_MS)


def _timed_click(page: Any, target: Any, want: str) -> tuple[float, float]:
    """(in-page ms, driver ms): the driver figure adds Playwright's click and polling round trips."""
    page.evaluate(ARM, want)
    t0 = time.perf_counter()
    target.click()
    page.wait_for_function(DONE, timeout=TIMEOUT_MS)
    driver = (time.perf_counter() - t0) * 1000
    return float(page.evaluate(ELAPSED)), driver


def _p(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main(rounds: int = 60) -> None:
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh")
    card: list[float] = []
    base: list[float] = []
    card_driver: list[float] = []
    base_driver: list[float] = []
    t0 = time.monotonic()
    with jupyter_server("lab") as lab, chromium() as browser, local_page(browser) as page:
        write_notebook(lab.root_dir, "bench.ipynb", [SETUP, CARD])
        open_in_workspace(page, lab, "bench.ipynb")
        _run(page, 0)
        button = _cell(page, 0).get_by_role("button", name="Baseline")
        button.wait_for(timeout=TIMEOUT_MS)
        page.evaluate(PROBE)
        for i in range(rounds):
            _idle(page)
            _run(page, 1)
            approve = _cell(page, 1).locator(".hitl-card:not(.hitl-record)").get_by_role("button", name="Approve", exact=True)
            approve.wait_for(state="visible", timeout=TIMEOUT_MS)
            page.wait_for_timeout(50)  # let the card finish rendering, like a person's reaction time
            in_page, driver = _timed_click(page, approve, f"RESULT {i} {2 * i}")
            card.append(in_page)
            card_driver.append(driver)
            _idle(page)
            page.wait_for_timeout(50)
            in_page, driver = _timed_click(page, button, f"BASE {i}")
            base.append(in_page)
            base_driver.append(driver)
        outside = sorted({u for u in page.requested_urls if not is_local(u)} | set(page.blocked_urls))
    if outside:
        sys.exit(f"requests left 127.0.0.1: {outside}")

    print(f"browser level (JupyterLab + Chromium, 2 cores), {rounds} rounds interleaved, {time.monotonic() - t0:.0f} s")
    print(f"{'click -> text shown (in-page clock)':<50}{'p50 ms':>8}{'p95 ms':>8}{'min':>7}{'max':>7}")
    for name, xs in [
        ("ipywidgets Button -> Output print (baseline)", base),
        ("card Approve -> function result printed", card),
        ("  as the driver sees it: baseline", base_driver),
        ("  as the driver sees it: card", card_driver),
    ]:
        print(f"{name:<50}{statistics.median(xs):>8.1f}{_p(xs, 0.95):>8.1f}{min(xs):>7.1f}{max(xs):>7.1f}")
    ratio50 = statistics.median(card) / statistics.median(base)
    ratio95 = _p(card, 0.95) / _p(base, 0.95)
    verdict = "OK" if _p(card, 0.95) < TARGET_P95_MS else "OVER"
    print(f"ratio card/baseline: p50 {ratio50:.2f}x, p95 {ratio95:.2f}x; target card p95 < {TARGET_P95_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
