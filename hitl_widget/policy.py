"""Rules that decide a call without asking a person, and the order they are tried in.

For every call, the first rule that applies decides (``Gate.evaluate``):

1. ``when=`` predicate returns ``False``   -> runs, audited as ``not_required``
2. a standing "approve always" grant       -> approved, rule ``always:function|arguments``
3. the call's risk level is auto-approved  -> approved, rule ``risk:low`` (low by default)
4. a ``TimeWindow`` automates this moment  -> approved or rejected, rule ``window:...``
5. a ``Budget`` still covers the call      -> approved, rule ``budget:...`` (and spends it)
6. ``HITL_MODE=approve|reject``             -> approved or rejected, rule ``env:HITL_MODE=...``
7. otherwise the approver routed for the risk level is asked (with the timeout).

``HITL_MODE`` (read at each call) replaces every approver, so CI and staging can run
the same code unattended; the earlier rules still hold so a rejecting CI does not
block calls that never needed a person.

Only ``False`` itself skips approval in rule 1 (``None`` from a forgotten ``return``
asks, and so does a predicate that raises). ``when=`` reads the caller's live objects:
a thread that changes them after it returned ``False`` and before the call runs gets its
change run unasked (nothing is copied for a call that needs no person). No rule's failure
escapes: a rule that raises (a ``when=``, a budget amount or clock, a window clock) does
not decide, noted in ``request.notes``; a failing risk function makes the call ``critical``
and never auto-approved by level. A budget covers only amounts above zero. Grants (rule 2) belong to one stand-in and
to the approver that gave them. After an edit, the edited call is decided by these rules
again, and asked of another approver if the route changed (``Gate._after_decision``).
Option values that could let calls through unasked (no days, an empty window, bad times,
NaN budgets, ...) are refused when they are defined.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as dtime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

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


_Environ = type(os.environ)
try:  # os.environ's own key for HITL_MODE (bytes on POSIX), so reading it raises no KeyError when unset
    _MODE_KEY: Any = os.environ.encodekey("HITL_MODE")  # type: ignore[attr-defined]
except AttributeError:
    _MODE_KEY = None


def _read_mode() -> str | None:
    """``os.environ.get("HITL_MODE")``, read now, without the KeyError ``Mapping.get`` raises for an unset name.

    The same value (``os.environ`` keeps its ``_data`` dict in step with every assignment,
    ``del``, ``monkeypatch.setenv`` and ``patch.dict``), at a 30th of the cost; anything
    else standing in for ``os.environ`` is read with ``.get``.
    """
    env = os.environ
    data = getattr(env, "_data", None) if type(env) is _Environ and _MODE_KEY is not None else None
    if type(data) is not dict:
        return env.get("HITL_MODE")
    raw = data.get(_MODE_KEY)
    return None if raw is None else env.decodevalue(raw)


def env_mode() -> str:
    """``HITL_MODE`` as read now (at every call, never cached); unknown values fail closed to ``reject``."""
    raw = _read_mode()
    if not raw:
        return "ask"
    mode = raw.strip().lower()
    return mode if mode in _MODES else "reject"


def _seconds(per: float | timedelta) -> float:
    if isinstance(per, timedelta):
        seconds = per.total_seconds()
    elif isinstance(per, (int, float)) and not isinstance(per, bool):
        seconds = float(per)
    else:
        raise TypeError(f"per= takes seconds (a number) or a timedelta, not {type(per).__name__}: {per!r:.60}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a budget window (per=) must be a positive, finite number of seconds, not {per!r}")
    return seconds


def _limit(name: str, value: object, *, integer: bool) -> float | int:
    """A budget limit, checked: a finite, non-negative number (an int for calls=)."""
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = "a whole number of calls" if integer else "a number"
        raise TypeError(f"{name}= takes {wanted}, not {type(value).__name__}: {value!r:.60}")
    if type(value) is int:  # exact, of any size
        if value < 0:
            raise ValueError(f"a budget cannot be negative ({name}={value!r:.60})")
        return value
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):  # NaN would compare false and approve everything; inf is no budget at all
        raise ValueError(f"{name}= must be finite, not {value!r} (to approve without asking, use auto_approve= or when=)")
    if number < 0:
        raise ValueError(f"a budget cannot be negative ({name}={value!r})")
    return number


class Budget:
    """Auto-approve while a budget remains in a rolling window; ask once it is spent.

    ``Budget(calls=5, per=timedelta(hours=1))`` lets five calls an hour through;
    ``Budget(total=500, amount=lambda r: r.arguments["amount"], per=86400)`` lets
    refunds through until they add up to 500 in a day. A call that does not fit in
    what remains is asked about (and does not spend anything).

    Amounts are compared exactly (ints of any size, floats by their value, Decimal,
    Fraction). A budget covers only calls whose amount is a finite number above zero:
    an amount of ``0``, ``-0.0``, a negative or NaN one, one that is not a number or
    that raises is asked about, never approved for free. ``calls=0`` or ``total=0`` is a
    budget that covers nothing (every call is asked about). A ``clock`` that raises or
    returns anything but a finite number makes the call ask (``Gate.evaluate``).
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
        if calls is not None and amount is not None:
            raise ValueError("amount= counts towards total=; a calls= budget counts each call as 1")
        if amount is not None and not callable(amount):
            raise TypeError(f"amount= must be a function of the request, not {type(amount).__name__}")
        if not callable(clock):
            raise TypeError(f"clock= must be a function returning seconds, not {type(clock).__name__}")
        if calls is not None:
            _limit("calls", calls, integer=True)
        if total is not None:
            _limit("total", total, integer=False)
        self.calls = calls
        self.total = total
        self.amount = amount
        self.window = _seconds(per)
        self.clock = clock
        self.name = name or (f"{calls} calls" if calls is not None else f"{total} total") + f"/{self.window:g}s"
        self._spent: deque[tuple[float, int | Fraction]] = deque()
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
            return float(limit - used)

    def cost_of(self, request: ApprovalRequest) -> tuple[int | Fraction | None, str]:
        """``(cost, "")`` for this call, or ``(None, why)`` when the budget cannot cover it.

        A ``calls=`` budget costs 1 a call. An ``amount=`` is read exactly (int, float,
        Decimal, Fraction, or another real number type) and must be a finite number
        strictly above zero: an amount that raises, is not a number, is NaN, infinite,
        too large to read, zero (``0``, ``-0.0``) or negative is never covered, so such a
        call is asked about (a zero-cost call is not free to run unasked without limit).
        """
        if self.amount is None:
            return 1, ""
        try:
            raw = self.amount(request)
        except Exception as exc:  # an amount we cannot read is not covered by the budget
            return None, f"amount unavailable ({type(exc).__name__})"
        return _exact_amount(raw)

    def try_spend(self, request: ApprovalRequest) -> tuple[bool, str]:
        """Spend this call's cost if it fits; ``(spent, detail)``. Never raises for the amount
        (see ``cost_of``); a ``clock`` that raises propagates (``Gate.evaluate`` then asks)."""
        cost, why = self.cost_of(request)
        if cost is None:
            return False, why
        with self._lock:
            now = self.clock()
            if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
                raise TypeError(f"budget clock returned {_brief(now)}, not a finite number of seconds")
            self._expire(now)
            used = sum(c for _, c in self._spent)
            limit = self.calls if self.calls is not None else self.total
            assert limit is not None
            if used + cost > limit:
                return False, f"budget {self.name} spent ({_show(used)} of {_show(limit)} used, this call {_show(cost)})"
            self._spent.append((now, cost))
            return True, f"{_show(used + cost)} of {_show(limit)} used"


def _exact_amount(raw: object) -> tuple[int | Fraction | None, str]:
    """An amount as an exact number (int or Fraction), or ``(None, why)``; see ``Budget.cost_of``."""
    if isinstance(raw, bool):
        return None, "amount is a bool, not a number"
    if type(raw) is int:
        value: int | Fraction = raw
    elif isinstance(raw, (int, float, Fraction, Decimal, numbers.Real)):
        try:  # exact: a float's own binary value, a Decimal's digits; NaN, infinities and odd types raise
            value = Fraction(raw) if isinstance(raw, (int, float, Fraction, Decimal)) else Fraction(float(raw))  # type: ignore[arg-type]
        except (ValueError, OverflowError, TypeError, ArithmeticError) as exc:
            return None, f"amount {_brief(raw)} cannot be read as a finite number ({type(exc).__name__})"
        except Exception as exc:  # a number type of someone else's whose conversion fails
            return None, f"amount of type {type(raw).__name__} cannot be read ({type(exc).__name__})"
        if value.denominator == 1:
            value = value.numerator
    else:
        return None, f"amount is not a number ({type(raw).__name__})"
    if value <= 0:
        return None, f"amount {_show(value)} is not above zero: a budget covers only calls with a positive amount"
    return value, ""


def _brief(value: object) -> str:
    try:
        return f"{value!r:.40}"
    except Exception:
        return f"<{type(value).__name__}>"


def _show(value: int | float | Fraction) -> str:
    """A number for a detail text: exact ints while short, else a float-like figure (never raises)."""
    if isinstance(value, int):
        text = str(value) if -(10**15) < value < 10**15 else None
        if text is not None:
            return text
        digits = str(abs(value)) if value.bit_length() < 4000 else ""
        if not digits:
            return "a number with over 1200 digits"
        return f"{'-' if value < 0 else ''}{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"
    try:
        return f"{float(value):g}"
    except OverflowError:
        return "a number too large to show"


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(name: object) -> int:
    """0 (Monday) .. 6 (Sunday) from an int, ``"mon"`` or ``"monday"``; anything else is an error."""
    if isinstance(name, int) and not isinstance(name, bool):
        if 0 <= name <= 6:
            return name
        raise ValueError(f"day numbers are 0 (Monday) to 6 (Sunday), not {name}")
    if isinstance(name, str):
        key = name.strip().lower()
        for names in (_DAY_NAMES, _FULL_DAY_NAMES):
            if key in names:
                return names.index(key)
    raise ValueError(f"unknown day {name!r}; use mon..sun, monday..sunday or 0..6")


def _parse_days(days: str | Iterable[int | str]) -> frozenset[int]:
    """The weekdays named by ``"mon-fri"``, ``"mon,wed,fri"``, ``"fri-mon"`` or an iterable of names/numbers.

    Naming no day at all is refused: a window on no day would never ask.
    """
    out: set[int] = set()
    if isinstance(days, str) and not days.strip():
        raise ValueError("days='' names no day: the window would never apply (use the default 'mon-sun' for every day)")
    if isinstance(days, str):
        for part in days.split(","):
            part = part.strip()
            if not part:
                raise ValueError(f"days={days!r} has an empty part; write e.g. 'mon-fri' or 'mon,wed'")
            if "-" in part:
                a, b = part.split("-", 1)
                ia, ib = _day(a), _day(b)
                out.update(range(ia, ib + 1) if ia <= ib else [*range(ia, 7), *range(0, ib + 1)])
            else:
                out.add(_day(part))
    else:
        try:
            items = list(days)
        except TypeError:
            raise TypeError(f"days= takes a string like 'mon-fri' or an iterable of days, not {type(days).__name__}") from None
        out.update(_day(d) for d in items)
    if not out:
        raise ValueError("days= names no day: the window would never apply (use the default 'mon-sun' for every day)")
    return frozenset(out)


_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


def _parse_time(value: str | dtime, *, end: bool = False) -> dtime | None:
    """``"09:00"``/``"9:30"``/``"17:00:30"`` or a naive ``datetime.time``; ``"24:00"`` (end only) is None."""
    if isinstance(value, dtime):
        if value.tzinfo is not None:
            raise ValueError(f"give the time zone as tz=, not inside the time ({value!r})")
        return value
    if not isinstance(value, str):
        raise TypeError(f"a window time is 'HH:MM' text or a datetime.time, not {type(value).__name__}: {value!r:.60}")
    text = value.strip()
    if end and text in ("24:00", "24:00:00"):
        return None
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"bad time {value!r}: write 24-hour 'HH:MM' (00:00 to 23:59{'; or 24:00' if end else ''})")
    return dtime(int(match[1]), int(match[2]), int(match[3] or 0))


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    if not isinstance(tz, str):
        raise TypeError(f"tz= takes a zone name like 'Europe/Berlin' or a tzinfo, not {type(tz).__name__}")
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {tz!r} (an IANA name such as 'Europe/Berlin', or a tzinfo)") from None


class TimeWindow:
    """Ask during a window of the week, decide automatically outside it (or the reverse).

    ``TimeWindow("09:00", "17:00", tz="Europe/Berlin", days="mon-fri")`` asks during
    Berlin business hours and rejects outside them (nobody is there to ask: the call fails
    closed, and the agent reads "rejected automatically by policy (window: outside …)");
    ``outside="approve"`` automates the night instead — say so explicitly, it is the
    setting under which calls run unasked; ``inside="approve", outside="ask"`` automates
    office hours and asks at night. A window whose end is
    before its start wraps past midnight (its part after midnight belongs to the day
    it started); ``"24:00"`` as ``end`` means the end of the day.

    Times are 24-hour ``"HH:MM"`` (or ``"HH:MM:SS"``) text or naive ``datetime.time``;
    ``days`` is ``"mon-fri"``, ``"sat,sun"``, ``"fri-mon"`` or an iterable of names
    (``"mon"``/``"monday"``) or numbers (0 = Monday). Anything else, an empty
    ``days``, or ``start == end`` (an empty window) raises ValueError/TypeError here,
    so a typo never turns into "every call is outside the window".
    """

    def __init__(
        self,
        start: str | dtime,
        end: str | dtime,
        *,
        tz: str | tzinfo | None = None,
        days: str | Iterable[int | str] = "mon-sun",
        inside: Literal["ask", "approve", "reject"] = "ask",
        outside: Literal["ask", "approve", "reject"] = "reject",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        for value in (inside, outside):
            if value not in _MODES:
                raise ValueError(f"inside=/outside= must be one of {_MODES}, not {value!r}")
        parsed_start = _parse_time(start)
        assert parsed_start is not None
        self.start: dtime = parsed_start
        self.end: dtime | None = _parse_time(end, end=True)  # None: the end of the day ("24:00")
        if self.end == self.start:
            raise ValueError(
                f"start and end are both {self.start:%H:%M}: the window would be empty; "
                "for a whole day write TimeWindow('00:00', '24:00')"
            )
        self.tz = _zone(tz)
        self.days = _parse_days(days)
        self.inside = inside
        self.outside = outside
        if clock is not None and not callable(clock):
            raise TypeError(f"clock= must be a function returning an aware datetime, not {type(clock).__name__}")
        self.clock = clock or (lambda: datetime.now(UTC))

    def contains(self, moment: datetime) -> bool:
        """Is ``moment`` (an aware datetime; a naive one is taken as UTC) inside the window?"""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(self.tz)
        t = local.time().replace(tzinfo=None)
        end = self.end
        if end is None:
            return local.weekday() in self.days and self.start <= t
        if self.start < end:
            return local.weekday() in self.days and self.start <= t < end
        # wraps midnight: the part after midnight belongs to the previous day's window
        if t >= self.start:
            return local.weekday() in self.days
        if t < end:
            return (local - timedelta(days=1)).weekday() in self.days
        return False

    def action(self) -> tuple[str, str]:
        """``(ask|approve|reject, description)`` for the current moment."""
        now = self.clock()
        inside = self.contains(now)
        where = "inside" if inside else "outside"
        end = "24:00" if self.end is None else f"{self.end:%H:%M}"
        label = f"{self.start:%H:%M}-{end} {getattr(self.tz, 'key', self.tz)}"
        return (self.inside if inside else self.outside), f"{where} {label}"
