"""The simulated clock: seconds since the Unix epoch, moved only by the simulation.

Time is a float of seconds (UTC epoch).  The default start, 2024-01-01T00:00:00Z,
makes timestamps in rulesets, events and pcaps independent of when a run happens.
Nothing here reads the wall clock.
"""

from __future__ import annotations

import datetime as _dt
import math

from netsim.api.meta import format_time
from netsim.sim.errors import TimeTravel

#: 2024-01-01T00:00:00Z as epoch seconds: where every simulation starts unless told otherwise.
DEFAULT_START = 1704067200.0

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class Clock:
    """The one simulated clock; it only moves forward, through `advance` or `advance_to`."""

    __slots__ = ("_now", "start")

    def __init__(self, start: float = DEFAULT_START) -> None:
        if not math.isfinite(start):
            raise ValueError(f"the clock must start at a finite time, got {start}")
        self.start = float(start)
        self._now = float(start)

    def now(self) -> float:
        """The current simulated time, in epoch seconds."""
        return self._now

    def elapsed(self) -> float:
        """Seconds since the simulation started."""
        return self._now - self.start

    def advance(self, seconds: float) -> float:
        """Move forward by `seconds` (≥ 0) and return the new time."""
        if not seconds >= 0:
            raise TimeTravel(f"the clock only moves forward, asked to advance by {seconds}")
        self._now += seconds
        return self._now

    def advance_to(self, when: float) -> float:
        """Move forward to the absolute time `when` (≥ now) and return it."""
        if not when >= self._now:
            raise TimeTravel(f"the clock only moves forward, asked to go from {self._now} to {when}")
        self._now = float(when)
        return self._now

    def rfc3339(self) -> str:
        """The current time as a metadata timestamp ("2024-01-01T00:00:00Z")."""
        return rfc3339(self._now)

    def __repr__(self) -> str:
        return f"Clock({rfc3339_micro(self._now)})"


def _utc(seconds: float, micros: int = 0) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(seconds=seconds, microseconds=micros)


def rfc3339(seconds: float) -> str:
    """`seconds` as metav1.Time marshals it: RFC 3339 in UTC, whole seconds, fraction dropped."""
    return format_time(seconds)


def rfc3339_micro(seconds: float) -> str:
    """`seconds` as metav1.MicroTime marshals it ("2024-01-01T00:00:00.000000Z"), truncated to µs."""
    whole = math.floor(seconds)
    micros = math.floor(round((seconds - whole) * 1e6, 3))
    return _utc(whole, micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> float:
    """Epoch seconds of an RFC 3339 UTC timestamp ("2024-01-01T00:00:00Z", fraction optional)."""
    if not text.endswith("Z"):
        raise ValueError(f"expected an RFC 3339 UTC timestamp ending in Z, got {text!r}")
    body = text[:-1]
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in body else "%Y-%m-%dT%H:%M:%S"
    moment = _dt.datetime.strptime(body, fmt).replace(tzinfo=_dt.timezone.utc)
    return (moment - _EPOCH).total_seconds()
