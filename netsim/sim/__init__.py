"""The simulation core: one clock, one totally ordered event queue, one seeded generator.

Everything that happens in netsim happens at a simulated time, in an order fixed by
(time, priority, sequence), with every random choice drawn from a generator derived
from one seed.  No wall clock, no global random state: the same inputs and seed give
the same run, byte for byte.
"""

from netsim.sim.clock import DEFAULT_START, Clock, rfc3339, rfc3339_micro
from netsim.sim.errors import SimError
from netsim.sim.queue import NORMAL, URGENT, EventQueue, Scheduled
from netsim.sim.rng import Random
from netsim.sim.simulation import Simulation

__all__ = [
    "DEFAULT_START",
    "Clock",
    "rfc3339",
    "rfc3339_micro",
    "SimError",
    "NORMAL",
    "URGENT",
    "EventQueue",
    "Scheduled",
    "Random",
    "Simulation",
]
