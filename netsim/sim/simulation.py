"""The clock, the event queue and the seeded generator of one run, held together.

The emulator owns one `Simulation`; controllers and data-plane components get the
clock for `now()`, schedule work on the queue, and draw from `rng.child(<their name>)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.sim.clock import DEFAULT_START, Clock, rfc3339
from netsim.sim.queue import NORMAL, EventQueue, Scheduled
from netsim.sim.rng import Random


class Simulation:
    """One run's clock, event queue and random streams; it moves time only by running events."""

    __slots__ = ("clock", "queue", "rng")

    def __init__(self, seed: int = 0, start: float = DEFAULT_START) -> None:
        self.clock = Clock(start)
        self.queue = EventQueue(self.clock)
        self.rng = Random(seed)

    def now(self) -> float:
        """The current simulated time (epoch seconds)."""
        return self.clock.now()

    def timestamp(self) -> str:
        """The current time as a metadata timestamp ("2024-01-01T00:00:00Z")."""
        return rfc3339(self.clock.now())

    def schedule(self, at: float, action: Callable[[], Any], priority: int = NORMAL, name: str = "") -> Scheduled:
        """Run `action()` at absolute time `at`."""
        return self.queue.schedule(at, action, priority, name)

    def schedule_in(
        self, delay: float, action: Callable[[], Any], priority: int = NORMAL, name: str = ""
    ) -> Scheduled:
        """Run `action()` `delay` seconds from now."""
        return self.queue.schedule_in(delay, action, priority, name)

    def run_until(self, until: float) -> int:
        """Run every event due at or before `until`, then set the clock there."""
        return self.queue.run_until(until)

    def advance(self, seconds: float) -> int:
        """Run the next `seconds` of simulated time (events included); returns how many ran."""
        return self.queue.run_until(self.clock.now() + seconds)

    def random(self, component: str) -> Random:
        """The random stream of `component` ("kubeproxy/node-1")."""
        return self.rng.child(component)
