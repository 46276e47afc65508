"""What the notebooks' demo agent (pydantic-ai-slim and its dependencies) costs the offline JupyterLite site.

Two sites side by side: this one (build/lite/, built when stale) and a baseline built the same
way without it (``scripts/build_lite.py --leave-out pydantic-ai-slim``, into the directory given,
built here when missing). Printed:

1. size: the whole site, the wheels, and the wheels only this site has;
2. cold start: a fresh browser context per round (no cache, no service worker) opens
   quickstart.ipynb and runs ``1+1`` while the kernel starts (navigation -> ``2`` shown, in-page
   clock, bench_lite.cold_round); rounds alternate the sites, their order swapped every round;
   medians, min/max, and the paired differences;
3. the demo agent's own first cost, in this site (Python's clock, one more fresh page):
   ``import demo_agent`` (pydantic-ai's import), then a first agent run of three tool calls
   with no card.

Prints figures; asserts nothing timed.

    .venv/bin/python benchmarks/bench_lite_demo_agent.py [rounds] [baseline_dir]

``rounds``: cold starts per site (default 4); ``baseline_dir``: default build/lite-without-demo-agent.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_lite import Blocked, _new_cell, cold_round  # noqa: E402
from lab_server import CHROMIUM, chromium, local_page  # noqa: E402
from lite_site import SITE_DIR, LiteSite, first_cell_output, open_lite_notebook, serve_lite_site  # noqa: E402

BASELINE = ROOT / "build" / "lite-without-demo-agent"
LEFT_OUT = "pydantic-ai-slim"

FIRST_RUN = """\
import time
t0 = time.perf_counter()
from demo_agent import Plan, ToolCall, make_agent, run
t1 = time.perf_counter()

async def step(n: int) -> int:
    \"\"\"Add one.\"\"\"
    return n + 1

def planner(history):
    done = sum(1 for s in history if s.kind == "result")
    return Plan("counting", [ToolCall("step", {"n": done})]) if done < 3 else "counted"

answer = await run(make_agent([step], planner), "count to three", echo=lambda line: None)
t2 = time.perf_counter()
print("DEMO", round((t1 - t0) * 1000), round((t2 - t1) * 1000), answer)
"""


def _size(path: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in path.rglob(pattern) if p.is_file())


def _wheels(site: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in (site / "static" / "pyodide").glob("*.whl")}


def ensure_baseline(path: Path) -> None:
    if (path / "jupyter-lite.json").exists():
        return
    print(f"building the baseline site into {path} (--leave-out {LEFT_OUT}) ...", flush=True)
    cmd = [sys.executable, str(ROOT / "scripts" / "build_lite.py"), "--leave-out", LEFT_OUT, "--output-dir", str(path)]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)


def first_run(browser: object, site: LiteSite, blocked: Blocked) -> tuple[float, float, str]:
    with local_page(browser) as page:
        open_lite_notebook(page, site, "deployment_pipeline.ipynb")
        _new_cell(page, FIRST_RUN)
        out = first_cell_output(page)
        blocked.add(page)
    match = re.search(r"DEMO (\d+) (\d+) (\S+)", out)
    if match is None:
        raise RuntimeError(f"no DEMO line in {out!r}")
    return float(match.group(1)), float(match.group(2)), match.group(3)


def main(rounds: int = 4, baseline_dir: Path = BASELINE) -> None:
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh")
    ensure_baseline(baseline_dir)
    blocked = Blocked()
    cold: dict[str, list[float]] = {"without": [], "with": []}
    t0 = time.monotonic()
    with serve_lite_site() as site, serve_lite_site(baseline_dir) as baseline, chromium() as browser:
        cold_round(browser, site, "bare", blocked)  # warm-up (Chromium, OS caches), not counted
        for r in range(rounds):
            for kind in ("without", "with") if r % 2 == 0 else ("with", "without"):
                _, shown = cold_round(browser, site if kind == "with" else baseline, "bare", blocked)
                cold[kind].append(shown)
                print(f"  round {r + 1} {kind:<7} the demo agent: `1+1` shown {shown / 1000:5.1f} s", flush=True)
        import_ms, run_ms, answer = first_run(browser, site, blocked)
    wall = time.monotonic() - t0

    with_wheels, base_wheels = _wheels(SITE_DIR), _wheels(baseline_dir)
    added = {n: s for n, s in with_wheels.items() if n not in base_wheels}
    print(f"\nJupyterLite + Chromium, 2 cores shared; wall time {wall:.0f} s; requests leaving 127.0.0.1: {len(blocked.urls)}")
    print("\n1. size (MB)                                   site   wheels")
    print(f"   without the demo agent (baseline)        {_size(baseline_dir) / 1e6:7.1f}  {sum(base_wheels.values()) / 1e6:7.1f}")
    print(f"   with it (this site)                      {_size(SITE_DIR) / 1e6:7.1f}  {sum(with_wheels.values()) / 1e6:7.1f}")
    print(f"   {len(added)} wheels only this site has, {sum(added.values()) / 1e6:.1f} MB: " + ", ".join(sorted(added)))
    print(f"\n2. cold start, `1+1` in a fresh context, {rounds} rounds per site, alternated (s since navigation)")
    print(f"{'':<44}{'median':>8}{'min':>8}{'max':>8}")
    for name, xs in [("without the demo agent (baseline)", cold["without"]), ("with it (this site)", cold["with"])]:
        print(f"   {name:<41}{statistics.median(xs) / 1000:>8.2f}{min(xs) / 1000:>8.2f}{max(xs) / 1000:>8.2f}")
    w, wo = statistics.median(cold["with"]), statistics.median(cold["without"])
    pairs = [a - b for a, b in zip(cold["with"], cold["without"], strict=True)]
    print(
        f"   ratio with/without (medians) {w / wo:.2f}x ({(w - wo) / 1000:+.2f} s); paired differences: median "
        f"{statistics.median(pairs) / 1000:+.2f} s (each round: {', '.join(f'{d / 1000:+.2f}' for d in pairs)})"
    )
    print(f"\n3. in this site: `import demo_agent` {import_ms:.0f} ms (pydantic-ai's import, once per kernel); "
          f"then a first run of three tool calls, no card: {run_ms:.0f} ms (answer {answer!r})")  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 4, Path(args[1]) if len(args) > 1 else BASELINE)
