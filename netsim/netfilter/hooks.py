"""The five netfilter hook points and what running one returns.

This is the contract between the dataplane (which owns interfaces and
routing, and calls a hook at each point of the kernel's packet path) and the
netfilter engine (which runs the tables registered at that hook, in the
kernel's priority order, and does conntrack and NAT). See netfilter/README.md
for the path picture.

Interface addresses: run_hook receives only the host's local address set.
What MASQUERADE, REDIRECT, `addrtype --limit-iface-*` and REJECT need per
interface, the engine asks an `InterfaceAddresses` given to its constructor
(`NetfilterEngine(..., interface_addresses=...)`): a callable or a mapping from
interface name to its addresses, primary first. It is consulted at packet
time, so the dataplane can hand over a bound method of its host.

The packet's `ct` field carries the conntrack entry between hooks of one
host; a packet entering PREROUTING gets a fresh lookup (except on "lo").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from netsim.packet import Packet


InterfaceAddresses = (
    Callable[[str], Iterable[IPv4Address | IPv6Address]] | Mapping[str, Iterable[IPv4Address | IPv6Address]]
)
"""Interface name → its addresses, primary first (how the engine learns MASQUERADE's source)."""


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
