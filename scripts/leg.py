"""Run one leg of ``make test`` with its output prefixed and kept; summarize all legs at the end.

    python scripts/leg.py NAME -- COMMAND [ARGS ...]    # one leg
    python scripts/leg.py --summary                     # after all legs: a table, "tests: N passed, N failed"; 1 on failure

A leg's output streams live, each line prefixed ``[NAME]`` (legs run in parallel under
``make -j``), and goes to build/test-logs/NAME.log; its exit status and duration go to
build/test-logs/NAME.json. The leg exits with its command's status, so make sees a failure.
The summary lists every leg that started, with the end of the log of each that failed; a leg
that started but left no result (killed) counts as failed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "build" / "test-logs"
TAIL_LINES = 60


def run_leg(name: str, command: list[str]) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    result = LOGS / f"{name}.json"
    result.unlink(missing_ok=True)
    (LOGS / f"{name}.started").write_text(str(time.time()))
    prefix = f"[{name}] "
    started = time.monotonic()
    print(f"{prefix}$ {shlex.join(command)}", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with (LOGS / f"{name}.log").open("w") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            log.flush()
            sys.stdout.write(prefix + line)
            sys.stdout.flush()
        status = proc.wait()
    seconds = time.monotonic() - started
    result.write_text(json.dumps({"name": name, "status": status, "seconds": round(seconds, 1)}))
    print(f"{prefix}{'passed' if status == 0 else f'FAILED (exit {status})'} in {seconds:.0f} s", flush=True)
    return status


#: the closing counts of pytest ("=== 12 passed, 1 skipped in 3.1s ===") and vitest ("Tests  7 passed (7)")
_PYTEST_TOTALS = re.compile(r"^=+ (?P<counts>(?:\d+ \w+(?:, )?)+) in [\d.]+s")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_VITEST_TOTALS = re.compile(r"^\s*Tests\s+(?P<counts>(?:\d+ \w+ ?(?:\| )?)+)\(\d+\)")


def totals(lines: list[str]) -> dict[str, int]:
    """The test counts a leg's log closes with: {"passed": n, "failed": n, ...} (pytest and vitest)."""
    found: dict[str, int] = {}
    for raw in lines:
        line = _ANSI.sub("", raw)  # vitest colours its summary when it thinks it runs in CI
        match = _PYTEST_TOTALS.match(line) or _VITEST_TOTALS.match(line)
        if match:
            for count, word in re.findall(r"(\d+) (\w+)", match.group("counts")):
                key = {"error": "errors"}.get(word, word)
                found[key] = found.get(key, 0) + int(count)
    return found


def summary() -> int:
    started = sorted(p.stem for p in LOGS.glob("*.started"))
    if not started:
        print("no test legs ran")
        return 1
    failed = []
    print("\n== make test: legs ==")
    for name in started:
        path = LOGS / f"{name}.json"
        if path.exists():
            result = json.loads(path.read_text())
            ok = result["status"] == 0
            print(f"  {'ok  ' if ok else 'FAIL'}  {name:<20} {result['seconds']:>7.1f} s")
        else:
            ok = False
            print(f"  FAIL  {name:<20}       - (no result: interrupted?)")
        if not ok:
            failed.append(name)
    for name in failed:
        lines = (LOGS / f"{name}.log").read_text(errors="replace").splitlines() if (LOGS / f"{name}.log").exists() else []
        print(f"\n== {name}: last {min(TAIL_LINES, len(lines))} lines of build/test-logs/{name}.log ==")
        print("\n".join(lines[-TAIL_LINES:]))
    print(f"\n{len(started) - len(failed)} of {len(started)} legs passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    counts: dict[str, int] = {}
    for name in started:
        log = LOGS / f"{name}.log"
        for word, n in totals(log.read_text(errors="replace").splitlines() if log.exists() else []).items():
            counts[word] = counts.get(word, 0) + n
    failures = counts.get("failed", 0) + counts.get("errors", 0)
    extra = "".join(f", {counts[w]} {w}" for w in ("skipped", "xfailed", "xpassed") if counts.get(w))
    print(f"tests: {counts.get('passed', 0)} passed, {failures} failed{extra}")  # every leg's tests, added up
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if argv == ["--summary"]:
        return summary()
    if argv == ["--reset"]:
        for path in LOGS.glob("*"):
            path.unlink()
        return 0
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    return run_leg(argv[0], argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
