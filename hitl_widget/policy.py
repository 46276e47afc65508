"""Rules that decide a call without asking a person, and the order they are tried in.

For every call, the first rule that applies decides (``Gate.evaluate``):

1. ``when=`` predicate returns false       -> runs, audited as ``not_required``
2. a standing "approve always" grant       -> approved, rule ``always:function|arguments``
3. the call's risk level is auto-approved  -> approved, rule ``risk:low`` (low by default)
4. a ``TimeWindow`` automates this moment  -> approved or rejected, rule ``window:...``
5. a ``Budget`` still covers the call      -> approved, rule ``budget:...`` (and spends it)
6. ``HITL_MODE=approve|reject``             -> approved or rejected, rule ``env:HITL_MODE=...``
7. otherwise the approver routed for the risk level is asked (with the timeout).

``HITL_MODE`` (read at each call) replaces every approver, so CI and staging can run
the same code unattended; the earlier rules still hold so a rejecting CI does not
block calls that never needed a person.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as dtime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .request import ApprovalRequest

__all__ = ["Budget", "TimeWindow", "Verdict", "env_mode"]

Action = Literal["run", "approve", "reject", "ask"]


@dataclass(frozen=True)
class Verdict:
    """What the policy decided: ``ask`` a person, or decide automatically by ``rule``."""

    action: Action
    rule: str
    detail: str = ""


ASK = Verdict("ask", "ask")

_MODES = ("ask", "approve", "reject")


def env_mode() -> str:
    """``HITL_MODE`` as read now; unknown values fail closed to ``reject``."""
    raw = os.environ.get("HITL_MODE")
    if not raw:
        return "ask"
    mode = raw.strip().lower()
    return mode if mode in _MODES else "reject"


def _seconds(per: float | timedelta) -> float:
    seconds = per.total_seconds() if isinstance(per, timedelta) else float(per)
    if seconds <= 0:
        raise ValueError("a budget window must be positive")
    return seconds


class Budget:
    """Auto-approve while a budget remains in a rolling window; ask once it is spent.

    ``Budget(calls=5, per=timedelta(hours=1))`` lets five calls an hour through;
    ``Budget(total=500, amount=lambda r: r.arguments["amount"], per=86400)`` lets
    refunds through until they add up to 500 in a day. A call that does not fit in
    what remains is asked about (and does not spend anything).
    """

    def __init__(
        self,
        *,
        calls: int | None = None,
        total: float | None = None,
        amount: Callable[[ApprovalRequest], float] | None = None,
        per: float | timedelta = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        name: str | None = None,
    ) -> None:
        if (calls is None) == (total is None):
            raise ValueError("give exactly one of calls= or total=")
        if total is not None and amount is None:
            raise ValueError("total= needs amount=, a function from the request to its amount")
        if (calls is not None and calls < 0) or (total is not None and total < 0):
            raise ValueError("a budget cannot be negative")
        self.calls = calls
        self.total = total
        self.amount = amount
        self.window = _seconds(per)
        self.clock = clock
        self.name = name or (f"{calls} calls" if calls is not None else f"{total} total") + f"/{self.window:g}s"
        self._spent: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - self.window:
            self._spent.popleft()

    def remaining(self) -> float:
        with self._lock:
            self._expire(self.clock())
            used = sum(cost for _, cost in self._spent)
            limit = self.calls if self.calls is not None else self.total
            assert limit is not None
            return limit - used

    def try_spend(self, request: ApprovalRequest) -> tuple[bool, str]:
        """Spend this call's cost if it fits; ``(spent, detail)``."""
        if self.amount is not None:
            try:
                cost = float(self.amount(request))
            except Exception as exc:  # an amount we cannot read is not covered by the budget
                return False, f"amount unavailable ({type(exc).__name__}: {exc})"
            if cost != cost or cost < 0:
                return False, f"amount {cost!r} is not a non-negative number"
        else:
            cost = 1.0
        with self._lock:
            now = self.clock()
            self._expire(now)
            used = sum(c for _, c in self._spent)
            limit = float(self.calls if self.calls is not None else self.total)  # type: ignore[arg-type]
            if used + cost > limit:
                return False, f"budget {self.name} spent ({used:g} of {limit:g} used, this call {cost:g})"
            self._spent.append((now, cost))
            return True, f"{used + cost:g} of {limit:g} used"


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_days(days: str | Iterable[int | str]) -> frozenset[int]:
    if isinstance(days, str):
        out: set[int] = set()
        for part in days.lower().replace(" ", "").split(","):
            if "-" in part:
                a, b = part.split("-", 1)
                ia, ib = _DAY_NAMES.index(a[:3]), _DAY_NAMES.index(b[:3])
                out.update(range(ia, ib + 1) if ia <= ib else [*range(ia, 7), *range(0, ib + 1)])
            elif part:
                out.add(_DAY_NAMES.index(part[:3]))
        return frozenset(out)
    return frozenset(d if isinstance(d, int) else _DAY_NAMES.index(d.lower()[:3]) for d in days)


def _parse_time(value: str | dtime) -> dtime:
    if isinstance(value, dtime):
        return value
    hours, _, minutes = value.partition(":")
    return dtime(int(hours), int(minutes or 0))


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


class TimeWindow:
    """Ask during a window of the week, decide automatically outside it (or the reverse).

    ``TimeWindow("09:00", "17:00", tz="Europe/Berlin", days="mon-fri")`` asks during
    Berlin business hours and auto-approves outside them; ``inside="approve",
    outside="ask"`` automates office hours and asks at night. A window whose end is
    before its start wraps past midnight.
    """

    def __init__(
        self,
        start: str | dtime,
        end: str | dtime,
        *,
        tz: str | tzinfo | None = None,
        days: str | Iterable[int | str] = "mon-sun",
        inside: Literal["ask", "approve", "reject"] = "ask",
        outside: Literal["ask", "approve", "reject"] = "approve",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        for value in (inside, outside):
            if value not in _MODES:
                raise ValueError(f"inside=/outside= must be one of {_MODES}, not {value!r}")
        self.start = _parse_time(start)
        self.end = _parse_time(end)
        self.tz = _zone(tz)
        self.days = _parse_days(days)
        self.inside = inside
        self.outside = outside
        self.clock = clock or (lambda: datetime.now(UTC))

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        t = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= t < self.end
        # wraps midnight: the part after midnight belongs to the previous day's window
        if t >= self.start:
            return local.weekday() in self.days
        if t < self.end:
            return (local - timedelta(days=1)).weekday() in self.days
        return False

    def action(self) -> tuple[str, str]:
        """``(ask|approve|reject, description)`` for the current moment."""
        now = self.clock()
        inside = self.contains(now)
        where = "inside" if inside else "outside"
        label = f"{self.start:%H:%M}-{self.end:%H:%M} {getattr(self.tz, 'key', self.tz)}"
        return (self.inside if inside else self.outside), f"{where} {label}"
