"""Errors of the netpol layer."""

from __future__ import annotations

from netsim.errors import InputError, NetsimError


class NetpolError(NetsimError):
    """Root of the netpol layer's errors."""


class PolicySpecError(NetpolError, InputError):
    """A NetworkPolicy field netsim cannot render (the message names the policy and the field)."""

    def __init__(self, policy: str, field: str, problem: str) -> None:
        super().__init__(f"NetworkPolicy {policy}: {field}: {problem}")
        self.policy = policy
        self.field = field
        self.problem = problem
