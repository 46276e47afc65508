"""Side-by-side timing: candidates run interleaved, best of several rounds, per-call µs."""

from __future__ import annotations

import timeit
from collections.abc import Callable


def per_call_us(candidates: dict[str, Callable[[], object]], number: int = 20000, rounds: int = 7) -> dict[str, float]:
    best = {name: float("inf") for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():  # interleaved, so drift hits every candidate alike
            seconds = timeit.timeit(fn, number=number)
            best[name] = min(best[name], seconds / number * 1e6)
    return best
