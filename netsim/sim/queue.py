"""One totally ordered event queue: events run in (time, priority, sequence) order.

As SimPy's `Environment.schedule` does, each entry carries its time, a priority
(lower runs first: URGENT before NORMAL at the same instant) and a sequence number
taken from a counter on the queue, so ties never depend on callables or on heap
internals.  Running an event moves the clock to the event's time first.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

from netsim.sim.clock import Clock
from netsim.sim.errors import EmptyQueue, TimeTravel

#: Runs before NORMAL events at the same instant (SimPy's URGENT).
URGENT = 0
#: The default priority (SimPy's NORMAL).
NORMAL = 1


class Scheduled:
    """A handle on one scheduled event: its place in the order, its action, and `cancel()`."""

    __slots__ = ("time", "priority", "sequence", "action", "name", "cancelled", "_queue")

    def __init__(
        self, time: float, priority: int, sequence: int, action: Callable[[], Any], name: str, queue: EventQueue
    ) -> None:
        self.time = time
        self.priority = priority
        self.sequence = sequence
        self.action = action
        self.name = name
        self.cancelled = False
        self._queue = queue

    def key(self) -> tuple[float, int, int]:
        """The total order key: (time, priority, sequence)."""
        return (self.time, self.priority, self.sequence)

    def cancel(self) -> None:
        """Drop the event if it has not run yet; cancelling twice is harmless."""
        if not self.cancelled:
            self.cancelled = True
            self._queue._forget(self)

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<Scheduled {self.name or self.action!r} at {self.time} p{self.priority} #{self.sequence}{state}>"


class EventQueue:
    """The event heap over one clock; `step`/`run_until` pop in order and call each action."""

    __slots__ = ("clock", "_heap", "_sequence", "_live", "_pending")

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock if clock is not None else Clock()
        self._heap: list[tuple[float, int, int, Scheduled]] = []
        self._sequence = 0
        self._live = 0
        self._pending: set[int] = set()

    def schedule(
        self, at: float, action: Callable[[], Any], priority: int = NORMAL, name: str = ""
    ) -> Scheduled:
        """Run `action()` at absolute time `at` (≥ now); returns the handle."""
        if not callable(action):
            raise TypeError(f"an event's action must be callable, got {action!r}")
        if not (math.isfinite(at) and at >= self.clock.now()):
            raise TimeTravel(f"cannot schedule {name or action!r} at {at}, before now ({self.clock.now()})")
        entry = Scheduled(float(at), int(priority), self._sequence, action, name, self)
        self._sequence += 1
        heapq.heappush(self._heap, (entry.time, entry.priority, entry.sequence, entry))
        self._live += 1
        self._pending.add(entry.sequence)
        return entry

    def schedule_in(
        self, delay: float, action: Callable[[], Any], priority: int = NORMAL, name: str = ""
    ) -> Scheduled:
        """Run `action()` `delay` seconds (≥ 0) from now."""
        if not delay >= 0:
            raise TimeTravel(f"cannot schedule {name or action!r} {delay} seconds in the past")
        return self.schedule(self.clock.now() + delay, action, priority, name)

    def peek(self) -> float:
        """The time of the next event, or infinity when none is scheduled."""
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else math.inf

    def peek_event(self) -> Scheduled | None:
        """The next event without running it, or None."""
        self._drop_cancelled()
        return self._heap[0][3] if self._heap else None

    def step(self) -> Scheduled:
        """Run the next event: move the clock to its time, then call its action."""
        self._drop_cancelled()
        if not self._heap:
            raise EmptyQueue("no event is scheduled")
        entry = heapq.heappop(self._heap)[3]
        self._forget(entry)
        self.clock.advance_to(entry.time)
        entry.action()
        return entry

    def run_until(self, until: float) -> int:
        """Run every event due at or before `until` (including ones scheduled meanwhile), then
        set the clock to `until`; returns how many ran.

        Unlike SimPy's `run(until=t)`, events at exactly `until` do run, whatever their
        priority: "run until 5" leaves no event due at 5 behind.
        """
        if not until >= self.clock.now():
            raise TimeTravel(f"cannot run until {until}, before now ({self.clock.now()})")
        count = 0
        while self.peek() <= until:
            self.step()
            count += 1
        self.clock.advance_to(until)
        return count

    def run(self, max_events: int | None = None) -> int:
        """Run events until none is left (or `max_events` ran); returns how many ran."""
        count = 0
        while self.peek() < math.inf and (max_events is None or count < max_events):
            self.step()
            count += 1
        return count

    def __len__(self) -> int:
        return self._live

    def __bool__(self) -> bool:
        return self._live > 0

    def _forget(self, entry: Scheduled) -> None:
        if entry.sequence in self._pending:
            self._pending.discard(entry.sequence)
            self._live -= 1

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][3].cancelled:
            heapq.heappop(self._heap)
