"""Errors of the simulation core; each one means a bug in the caller, not bad user input."""

from netsim.errors import NetsimError


class SimError(NetsimError):
    """Root of the sim layer's errors."""


class TimeTravel(SimError):
    """Something asked the clock to run backwards, or to schedule an event in the past."""


class EmptyQueue(SimError):
    """`step()` was called with nothing scheduled."""
