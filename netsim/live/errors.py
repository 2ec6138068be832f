"""Errors of the live layer: the machine cannot run namespaces, or building them failed."""

from __future__ import annotations

from netsim.errors import InputError, NetsimError


class LiveError(NetsimError):
    """Building or running the live world failed (a command the kernel refused, a bad registry)."""


class LiveUnavailable(InputError):
    """This machine or process cannot create network namespaces (not root, no `ip netns`, no iptables-restore)."""
