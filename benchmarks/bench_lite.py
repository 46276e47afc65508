"""The card in JupyterLite, browser level: what it adds to the cold start, and click -> function running.

The offline site (build/lite/, built when stale by tests/browser/lite_site.py) served on
127.0.0.1, driven by Debian's Chromium; every page's route filter aborts any request that
leaves 127.0.0.1 and the count of those is printed (it must be 0).

1. Cold start. Each round is a fresh browser context (no HTTP cache, no IndexedDB, no
   service worker), which opens quickstart.ipynb, inserts a first cell and runs it while
   the Pyodide kernel is still starting. After one uncounted warm-up round, two kinds,
   alternated (their order swapped every round, so drift hits both alike): a bare ``1+1``
   (navigation -> its ``2`` shown) and a ``@require_approval`` function called at once
   (navigation -> its card visible). Both are timed inside the page, from the navigation's
   time origin, by a MutationObserver installed before the page's own scripts. Target: the
   card adds under 30% to the median cold start. One more fresh page then splits the
   card's extra cost: the first cell imports ipywidgets, anywidget and hitl_widget one by
   one and prints each import's time (Python's clock); the second calls a wrapped function,
   everything now imported, and is timed from its Shift+Enter keydown to the card visible.

2. Decision latency, one page, interleaved round by round. Card: a new cell calls the
   wrapped function, which blocks (pyodide's run_sync) until the card answers over a
   BroadcastChannel; the function prints ``int(time.time() * 1000)``. Baseline: an
   ipywidgets Button whose ``on_click`` takes the same timestamp (and shows it in a
   Label) -- Python running after a click without approval; in Lite the button's comm
   message is only handled while no cell runs, so it is clicked with the kernel idle.
   Both start at ``Date.now()`` in a capture-phase click listener; the Web Worker's clock
   and the page's are the same wall clock (1 ms resolution). Also shown: click -> the
   line visible in the page (MutationObserver, same clock).

Prints figures; asserts nothing timed.

    .venv/bin/python benchmarks/bench_lite.py [rounds] [cold_rounds]

``rounds``: decisions of each kind (default 30, at least 20); ``cold_rounds``: cold starts
of each kind (default 4); ``baseline_site``: a built site directory for part 3 (default: none,
part 3 skipped).

    .venv/bin/python benchmarks/bench_lite.py 30 4 /tmp/lite-without-pydantic
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from lab_server import CHROMIUM, chromium, is_local, local_page  # noqa: E402
from lite_site import (  # noqa: E402
    LITE_OUTPUT_TIMEOUT_MS,
    LiteSite,
    first_cell_output,
    open_lite_notebook,
    serve_lite_site,
)

NOTEBOOK = "quickstart.ipynb"
TARGET_COLD_OVERHEAD = 0.30
TIMEOUT_MS = 60_000
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"

BARE = "1+1"
CARD = "from hitl_widget import require_approval\n@require_approval\ndef f(x: int) -> int: return x\nf(1)"

# Installed before the page's scripts (add_init_script): performance.now() is ms since navigation.
COLD_PROBE = """(() => {
    const c = (window.__cold = { cells: null, bare: null, card: null });
    const visible = e => e.getClientRects().length > 0;
    const check = () => {
        const now = performance.now();
        if (c.cells === null && document.querySelector('.jp-Notebook .jp-Cell')) c.cells = now;
        if (c.bare === null && [...document.querySelectorAll('.jp-OutputArea-output')]
                .some(e => e.textContent.trim() === '2')) c.bare = now;
        if (c.card === null && [...document.querySelectorAll('.hitl-card:not(.hitl-record) .hitl-approve')]
                .some(visible)) c.card = now;
    };
    const start = () => new MutationObserver(check)
        .observe(document.documentElement, { childList: true, subtree: true, characterData: true });
    if (document.documentElement) start(); else document.addEventListener('readystatechange', start, { once: true });
})()"""

# Warm card, for the breakdown: Shift+Enter keydown (capture phase) -> the card visible.
WARM_PROBE = """() => {
    const w = (window.__warm = { armed: false, start: null, end: null });
    document.addEventListener('keydown', ev => {
        if (w.armed && w.start === null && ev.key === 'Enter' && ev.shiftKey) w.start = performance.now();
    }, true);
    new MutationObserver(() => {
        if (w.start !== null && w.end === null && [...document.querySelectorAll(
            '.hitl-card:not(.hitl-record) .hitl-approve')].some(e => e.getClientRects().length > 0)) w.end = performance.now();
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""

IMPORTS = """\
import time
_t0 = time.perf_counter()
import ipywidgets
_t1 = time.perf_counter()
import anywidget
_t2 = time.perf_counter()
import hitl_widget
_t3 = time.perf_counter()
import hitl_widget.widget
_t4 = time.perf_counter()
import sys
_pydantic_before = "pydantic" in sys.modules
_t5 = time.perf_counter()
import pydantic
_t6 = time.perf_counter()
from pydantic import TypeAdapter  # the schema machinery
_t7 = time.perf_counter()
import datetime
from hitl_widget.validation import coerce
coerce("2025-01-02T03:04", datetime.datetime)
_t8 = time.perf_counter()
spans = [(_t0, _t1), (_t1, _t2), (_t2, _t3), (_t3, _t4), (_t5, _t6), (_t6, _t7), (_t7, _t8)]
print("IMPORTS", *(f"{1000 * (b - a):.0f}" for a, b in spans), "pydantic-before" if _pydantic_before else "")
from hitl_widget import require_approval
"""
WARM_CARD = "@require_approval\ndef g(x: int) -> int: return x\ng(2)"

SETUP = """\
import itertools
import time
import ipywidgets as widgets
from hitl_widget import require_approval

@require_approval
def act(k: int) -> int:
    print("RAN", k, int(time.time() * 1000))
    return k

base_round = itertools.count()
base_label = widgets.Label("BASE -")
base_button = widgets.Button(description="Baseline")

def on_click(_button):
    base_label.value = f"BASE {next(base_round)} {int(time.time() * 1000)}"

base_button.on_click(on_click)
display(widgets.VBox([base_button, base_label]))
print("READY")
"""

# One page, many decisions: a capture-phase click listener stamps Date.now() once armed; a
# MutationObserver stamps Date.now() when the awaited line (a regexp) first shows anywhere.
DECISION_PROBE = """() => {
    const b = (window.__bench = { want: null, click: null, shown: null, text: null });
    document.addEventListener('click', () => {
        if (b.want !== null && b.click === null) b.click = Date.now();
    }, true);
    new MutationObserver(() => {
        if (b.click === null || b.shown !== null) return;
        const now = Date.now();
        const re = new RegExp(b.want);
        for (const e of document.querySelectorAll('.jp-OutputArea-output, .widget-label')) {
            const m = e.textContent.match(re);
            if (m) { b.shown = now; b.text = m[0]; return; }
        }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""
ARM = "want => { Object.assign(window.__bench, { want, click: null, shown: null, text: null }); }"
DONE = "() => window.__bench.shown !== null"


class Blocked:
    """Every request that left (or tried to leave) 127.0.0.1, over every page of the run."""

    def __init__(self) -> None:
        self.urls: set[str] = set()
        self.pages = 0

    def add(self, page: Any) -> None:
        self.pages += 1
        self.urls |= {u for u in page.requested_urls if not is_local(u)} | set(page.blocked_urls)


def _cells(page: Any) -> Any:
    return page.locator(CELLS)


def _new_cell(page: Any, code: str) -> None:
    """Like lite_site.run_code_in_new_cell, but clicks the first cell's prompt, never a button in its output."""
    _cells(page).first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("a")  # a new cell above, now the first one
    _cells(page).first.locator(".cm-content").click()
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")


def _idle(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=TIMEOUT_MS)


def _approve_button(page: Any) -> Any:
    card = _cells(page).first.locator(".hitl-card:not(.hitl-record)")
    return card.get_by_role("button", name="Approve", exact=True)


def _p(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# -- 1. cold start -----------------------------------------------------------------------


def cold_round(browser: Any, site: LiteSite, kind: str, blocked: Blocked) -> tuple[float, float]:
    """(navigation -> notebook cells shown, navigation -> target shown), in-page ms."""
    with local_page(browser) as page:
        page.add_init_script(COLD_PROBE)
        open_lite_notebook(page, site, NOTEBOOK)
        _new_cell(page, BARE if kind == "bare" else CARD)
        page.wait_for_function(f"() => window.__cold.{kind} !== null", timeout=LITE_OUTPUT_TIMEOUT_MS)
        cold = page.evaluate("() => window.__cold")
        if kind == "card":  # answer it, so the kernel is not left blocked while the context closes
            _approve_button(page).click()
            _cells(page).first.locator(".hitl-record").wait_for(timeout=TIMEOUT_MS)
        blocked.add(page)
    return float(cold["cells"]), float(cold[kind])


def breakdown(browser: Any, site: LiteSite, blocked: Blocked) -> tuple[list[float], float]:
    """([import ms of ipywidgets, anywidget, hitl_widget, hitl_widget.widget, then pydantic, its TypeAdapter
    machinery and a first datetime edit], warm Shift+Enter -> card visible ms)."""
    with local_page(browser) as page:
        open_lite_notebook(page, site, NOTEBOOK)
        _new_cell(page, IMPORTS)
        out = first_cell_output(page)
        match = re.search(r"IMPORTS (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
        if match is None:
            raise RuntimeError(f"no IMPORTS line in {out!r}")
        if "pydantic-before" in out:
            raise RuntimeError("importing hitl_widget imported pydantic: its cost would be counted twice")
        imports = [float(x) for x in match.groups()]
        page.evaluate(WARM_PROBE)
        page.evaluate("() => { window.__warm.armed = true; }")
        _new_cell(page, WARM_CARD)
        page.wait_for_function("() => window.__warm.end !== null", timeout=TIMEOUT_MS)
        warm = float(page.evaluate("() => window.__warm.end - window.__warm.start"))
        _approve_button(page).click()
        _cells(page).first.locator(".hitl-record").wait_for(timeout=TIMEOUT_MS)
        blocked.add(page)
    return imports, warm


# -- 2. decision latency -----------------------------------------------------------------


def _timed_click(page: Any, target: Any, want: str) -> tuple[int, int, str]:
    """(click Date.now(), shown Date.now(), the matched text)."""
    page.evaluate(ARM, want)
    target.click()
    page.wait_for_function(DONE, timeout=TIMEOUT_MS)
    b = page.evaluate("() => window.__bench")
    return int(b["click"]), int(b["shown"]), str(b["text"])


def decisions(browser: Any, site: LiteSite, rounds: int, blocked: Blocked) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {"card_run": [], "card_shown": [], "base_run": [], "base_shown": []}
    with local_page(browser) as page:
        open_lite_notebook(page, site, NOTEBOOK)
        _new_cell(page, SETUP)
        out = first_cell_output(page)
        if "READY" not in out:
            raise RuntimeError(f"the setup cell failed: {out!r}")
        button = page.get_by_role("button", name="Baseline", exact=True)
        button.wait_for(timeout=TIMEOUT_MS)
        page.evaluate(DECISION_PROBE)
        for i in range(rounds):
            _idle(page)
            _new_cell(page, f"act({i})")
            approve = _approve_button(page)
            approve.wait_for(state="visible", timeout=TIMEOUT_MS)
            page.wait_for_timeout(50)  # let the card finish rendering, like a person's reaction time
            click, shown, text = _timed_click(page, approve, rf"\bRAN {i} (\d+)")
            ran = int(text.split()[2])
            runs["card_run"].append(ran - click)
            runs["card_shown"].append(shown - click)
            _idle(page)
            page.wait_for_timeout(50)
            click, shown, text = _timed_click(page, button, rf"\bBASE {i} (\d+)")
            ran = int(text.split()[2])
            runs["base_run"].append(ran - click)
            runs["base_shown"].append(shown - click)
        blocked.add(page)
    return runs


def baseline_cold(browser: Any, site: LiteSite, baseline: LiteSite, cold_rounds: int, blocked: Blocked) -> dict[str, list[float]]:
    """Cold ``1+1`` rounds alternated between a site without pydantic and this one (in-page ms)."""
    out: dict[str, list[float]] = {"without": [], "with": []}
    for r in range(cold_rounds):
        for kind in ("without", "with") if r % 2 == 0 else ("with", "without"):
            _, target = cold_round(browser, baseline if kind == "without" else site, "bare", blocked)
            out[kind].append(target)
            print(f"  pydantic round {r + 1} {kind:<7} pydantic: `1+1` shown {target / 1000:5.1f} s", flush=True)
    return out


def main(rounds: int = 30, cold_rounds: int = 4, baseline_dir: Path | None = None) -> None:
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh")
    t0 = time.monotonic()
    blocked = Blocked()
    cold: dict[str, list[float]] = {"bare": [], "card": []}
    ui: dict[str, list[float]] = {"bare": [], "card": []}
    with serve_lite_site() as site, chromium() as browser:
        t_site = time.monotonic() - t0
        _, warmup = cold_round(browser, site, "bare", blocked)  # the run's first Chromium/OS-cache warm-up, not counted
        print(f"  warm-up round (not counted) bare: target {warmup / 1000:5.1f} s", flush=True)
        for r in range(cold_rounds):
            for kind in ("bare", "card") if r % 2 == 0 else ("card", "bare"):
                cells, target = cold_round(browser, site, kind, blocked)
                ui[kind].append(cells)
                cold[kind].append(target)
                print(
                    f"  cold round {r + 1} {kind:<4}: notebook shown {cells / 1000:5.1f} s, target {target / 1000:5.1f} s",
                    flush=True,
                )
        t_cold = time.monotonic() - t0
        imports, warm = breakdown(browser, site, blocked)
        t_breakdown = time.monotonic() - t0
        runs = decisions(browser, site, rounds, blocked)
        with_pydantic: dict[str, list[float]] = {}
        if baseline_dir is not None:
            with serve_lite_site(baseline_dir) as baseline:
                with_pydantic = baseline_cold(browser, site, baseline, cold_rounds, blocked)
    wall = time.monotonic() - t0

    print(
        f"\nJupyterLite (Pyodide kernel) + Chromium, 2 cores; site ready in {t_site:.0f} s; wall time {wall:.0f} s "
        f"(cold {t_cold - t_site:.0f} s, breakdown {t_breakdown - t_cold:.0f} s, decisions {wall - t_breakdown:.0f} s)"
    )
    print(f"\n1. cold start, {cold_rounds} fresh contexts per kind, alternated (in-page clock, s since navigation)")
    print(f"{'':<44}{'median':>8}{'min':>8}{'max':>8}")
    for name, xs in [
        ("notebook shown (bare rounds)", ui["bare"]),
        ("notebook shown (card rounds)", ui["card"]),
        ("first cell `1+1` -> `2` shown (baseline)", cold["bare"]),
        ("first cell calls f -> card visible", cold["card"]),
    ]:
        print(f"{name:<44}{statistics.median(xs) / 1000:>8.2f}{min(xs) / 1000:>8.2f}{max(xs) / 1000:>8.2f}")
    ratio = statistics.median(cold["card"]) / statistics.median(cold["bare"])
    verdict = "met" if ratio - 1 < TARGET_COLD_OVERHEAD else "NOT met"
    extra = statistics.median(cold["card"]) - statistics.median(cold["bare"])
    print(
        f"ratio card/bare (medians) {ratio:.2f}x: the card adds {100 * (ratio - 1):.0f}% ({extra / 1000:.2f} s); "
        f"target < {100 * TARGET_COLD_OVERHEAD:.0f}%: {verdict}"
    )
    paired = [c - b for c, b in zip(cold["card"], cold["bare"], strict=True)]
    print(
        f"paired within a round, card - bare: median {statistics.median(paired) / 1000:+.2f} s "
        f"(each round: {', '.join(f'{d / 1000:+.2f}' for d in paired)}); "
        f"spread of the bare rounds {(max(cold['bare']) - min(cold['bare'])) / 1000:.2f} s"
    )
    names = ["ipywidgets", "anywidget", "hitl_widget", "hitl_widget.widget"]
    card_imports, edit_imports = imports[:4], imports[4:]
    print(
        "   where the card's time goes (one more fresh page): first imports in the kernel (Python clock) "
        + ", ".join(f"{n} {ms:.0f} ms" for n, ms in zip(names, card_imports, strict=True))
        + f"; then, all imported, Shift+Enter -> card visible {warm:.0f} ms"
    )
    print(
        "   the first edit (not in the card's cold start; pydantic is imported lazily): "
        f"import pydantic {edit_imports[0]:.0f} ms, "
        f"its TypeAdapter machinery {edit_imports[1]:.0f} ms, first datetime edit validated {edit_imports[2]:.0f} ms "
        f"(total {sum(edit_imports):.0f} ms)"
    )
    expected = sum(card_imports) + warm
    print(f"   expected extra: {expected:.0f} ms = {100 * expected / statistics.median(cold['bare']):.1f}% of the bare median")

    print(f"\n2. decision latency, {rounds} decisions per kind in one page, interleaved (wall clock, ms)")
    print(f"{'':<52}{'p50':>7}{'p95':>7}{'min':>7}{'max':>7}")
    for name, xs in [
        ("ipywidgets Button click -> on_click runs (baseline)", runs["base_run"]),
        ("card Approve click -> function runs", runs["card_run"]),
        ("  click -> Label shows the timestamp (baseline)", runs["base_shown"]),
        ("  click -> the function's print shown (card)", runs["card_shown"]),
    ]:
        print(f"{name:<52}{statistics.median(xs):>7.0f}{_p(xs, 0.95):>7.0f}{min(xs):>7.0f}{max(xs):>7.0f}")
    r50 = statistics.median(runs["card_run"]) / max(statistics.median(runs["base_run"]), 1.0)
    r95 = _p(runs["card_run"], 0.95) / max(_p(runs["base_run"], 0.95), 1.0)
    print(f"ratio card/baseline (click -> Python runs): p50 {r50:.2f}x, p95 {r95:.2f}x")

    if with_pydantic:
        w, wo = statistics.median(with_pydantic["with"]), statistics.median(with_pydantic["without"])
        print(f"\n3. pydantic in the site: cold `1+1`, {cold_rounds} fresh contexts per site, alternated (s since navigation)")
        print(f"{'':<44}{'median':>8}{'min':>8}{'max':>8}")
        for name, xs in [("site without pydantic (baseline)", with_pydantic["without"]), ("this site", with_pydantic["with"])]:
            print(f"{name:<44}{statistics.median(xs) / 1000:>8.2f}{min(xs) / 1000:>8.2f}{max(xs) / 1000:>8.2f}")
        print(f"ratio with/without (medians) {w / wo:.2f}x: shipping pydantic adds {(w - wo) / 1000:+.2f} s to a cold start")
        pairs = [a - b for a, b in zip(with_pydantic["with"], with_pydantic["without"], strict=True)]
        print(
            f"paired within a round, with - without: median {statistics.median(pairs) / 1000:+.2f} s "
            f"(each round: {', '.join(f'{d / 1000:+.2f}' for d in pairs)})"
        )

    print(f"\nnon-local requests blocked or made, over {blocked.pages} pages: {len(blocked.urls)}")
    if blocked.urls:
        sys.exit(f"requests left 127.0.0.1: {sorted(blocked.urls)}")


if __name__ == "__main__":
    main(
        max(20, int(sys.argv[1])) if len(sys.argv) > 1 else 30,
        int(sys.argv[2]) if len(sys.argv) > 2 else 4,
        Path(sys.argv[3]).resolve() if len(sys.argv) > 3 else None,
    )
