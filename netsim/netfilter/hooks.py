"""The five netfilter hook points and what running one returns.

This is the contract between the dataplane (which owns interfaces and
routing, and calls a hook at each point of the kernel's packet path) and the
netfilter engine (which runs the tables registered at that hook, in the
kernel's priority order, and does conntrack and NAT). See netfilter/README.md
for the path picture.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from netsim.packet import Packet


class Hook(enum.Enum):
    """The netfilter hooks of the IPv4/IPv6 path (NF_INET_*)."""

    PREROUTING = "PREROUTING"    # every packet arriving on an interface, before routing
    INPUT = "INPUT"              # after routing, addressed to this host
    FORWARD = "FORWARD"          # after routing, passing through this host
    OUTPUT = "OUTPUT"            # locally generated, before the output route is final
    POSTROUTING = "POSTROUTING"  # every packet leaving on an interface


class Verdict(enum.Enum):
    """What a hook decided about the packet."""

    ACCEPT = "ACCEPT"            # continue along the path (possibly rewritten)
    DROP = "DROP"                # silently discarded
    REJECT = "REJECT"            # discarded; `HookResult.reply` holds the ICMP error or TCP RST
    STOLEN = "STOLEN"            # taken by the hook for good (e.g. queued); nothing follows
    UNSUPPORTED = "UNSUPPORTED"  # reached a rule whose match or target is not emulated


@dataclass(frozen=True, slots=True)
class HookResult:
    """A hook's outcome: the verdict, the packet as it leaves the hook, any reply, and the trace.

    `packet` is the same record that went in, rewritten in place by NAT or
    MARK. `trace` is a tuple of the engine's trace steps (each prints as one
    readable line). `reason` explains DROP/REJECT/UNSUPPORTED in words.
    """

    verdict: Verdict
    packet: Packet
    reply: Packet | None = None
    trace: tuple = ()
    reason: str = ""


class HookRunner(Protocol):
    """What the dataplane needs from a host's netfilter: run one hook on one packet."""

    def run_hook(
        self,
        hook: Hook,
        packet: Packet,
        *,
        in_iface: str | None,
        out_iface: str | None,
        local_addresses: frozenset[IPv4Address | IPv6Address],
    ) -> HookResult:
        """Run every table registered at `hook` on `packet`, in priority order."""
        ...
