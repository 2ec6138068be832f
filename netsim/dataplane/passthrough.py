"""A netfilter stand-in for hosts without rules: every hook accepts every packet unchanged."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from netsim.netfilter.hooks import Hook, HookResult, Verdict
from netsim.packet import Packet


class AcceptAll:
    """A `HookRunner` with empty tables and ACCEPT policies (no conntrack, no NAT)."""

    def run_hook(self, hook: Hook, packet: Packet, *, in_iface: str | None, out_iface: str | None,
                 local_addresses: frozenset[IPv4Address | IPv6Address]) -> HookResult:
        """Accept `packet` as it is."""
        return HookResult(Verdict.ACCEPT, packet)
