"""Pod addresses on one node, as the CNI host-local IPAM plugin hands them out.

The node's podCIDR is the range; the first address is the gateway (the
bridge's), and addresses are handed out in order after the last one given,
wrapping around past the end, skipping those in use (host-local's
"last reserved IP" walk). State is per node and lives with the emulator.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_network

from netsim.errors import NetsimError


class AddressesExhausted(NetsimError):
    """No free address is left in a node's podCIDR."""


class HostLocalIpam:
    """The address allocator of one node's podCIDR."""

    def __init__(self, pod_cidr: str) -> None:
        self.network: IPv4Network = ip_network(pod_cidr)  # type: ignore[assignment]
        self.gateway = self.network.network_address + 1
        self._last: IPv4Address | IPv6Address = self.gateway
        self._in_use: dict[IPv4Address | IPv6Address, str] = {}

    def allocate(self, owner: str) -> IPv4Address | IPv6Address:
        """The next free address after the last one handed out, for `owner` (a pod's namespace/name)."""
        for existing, who in self._in_use.items():
            if who == owner:
                return existing
        first = int(self.gateway) + 1
        last = int(self.network.broadcast_address) - 1
        span = last - first + 1
        start = int(self._last) + 1
        for offset in range(span):
            value = first + (start - first + offset) % span
            candidate = type(self.gateway)(value)
            if candidate not in self._in_use:
                self._in_use[candidate] = owner
                self._last = candidate
                return candidate
        raise AddressesExhausted(f"no free address left in {self.network} for {owner}")

    def reserve(self, address: str, owner: str) -> None:
        """Mark an address (already given to a pod, e.g. from a dump) as in use."""
        self._in_use[type(self.gateway)(int(ip_network(address).network_address))] = owner

    def release(self, owner: str) -> None:
        """Give back the address of `owner`."""
        for address, who in list(self._in_use.items()):
            if who == owner:
                del self._in_use[address]
