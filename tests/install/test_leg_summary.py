"""make test's summary adds every leg's closing counts into one plain line (scripts/leg.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import leg


def test_pytest_and_vitest_closing_lines_are_added_up() -> None:
    lines = [
        "[noise] 12 passed",  # not a closing line
        "===== 3 failed, 12 passed, 1 skipped in 3.10s =====",
        "====== 2 errors in 4.95s ======",
        "      Tests  1 failed | 6 passed (7)",
    ]
    assert leg.totals(lines) == {"failed": 4, "passed": 18, "skipped": 1, "errors": 2}


def test_coloured_vitest_output_is_counted() -> None:
    line = "\x1b[2m      Tests \x1b[22m \x1b[1m\x1b[32m138 passed\x1b[39m\x1b[22m\x1b[90m (138)\x1b[39m"
    assert leg.totals([line]) == {"passed": 138}


def test_a_log_without_closing_lines_counts_nothing() -> None:
    assert leg.totals(["collected 0 items", "FAILED (exit 1) in 0 s"]) == {}
