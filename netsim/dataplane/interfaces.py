"""Network interfaces of a host: eth, lo, veth ends, bridges and vxlan devices.

An `Interface` is a runtime object owned by one `Host`; it changes only
through the host's methods (addresses, master, links). Where its frames go
when transmitted depends on its kind:

- `lo`: straight back in on the same host's `lo`.
- `veth`: in on the peer end (`peer` = (host, iface)), possibly another host.
- `eth`: onto its L2 segment (`segment`), in on the member that owns the
  destination MAC (every other member for broadcast).
- `bridge`: the bridge's own L3 device; transmitting on it runs bridge
  forwarding (FDB look-up, else flood) out of its ports.
- `vxlan`: encapsulated in UDP (see `vxlan.py`) and sent by the host's stack.

Any interface but lo and bridge can be a bridge port (`master`).

MAC address scheme (written once, here): `mac_address(host, iface)` takes the
first 6 bytes of SHA-256 over ``"<host>/<iface>"`` (UTF-8) and sets the
locally administered bit and clears the multicast bit of the first byte, so
the same names always get the same MAC, unlike the kernel's random ones.
`lo` has MAC 00:00:00:00:00:00 as on Linux.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from netsim.packet.mac import ZERO

DEFAULT_MTU = 1500
LOOPBACK_MTU = 65536
VXLAN_MTU = 1450  # 1500 minus the 50 bytes of outer Ethernet, IPv4, UDP and VXLAN headers


class InterfaceKind(enum.Enum):
    """The kinds of link netsim emulates (the `ip link add ... type` names)."""

    ETH = "eth"        # a NIC on an L2 segment shared with other hosts
    LO = "lo"          # loopback; every host has exactly one, named "lo"
    VETH = "veth"      # one end of a virtual ethernet pair
    BRIDGE = "bridge"  # a learning L2 switch whose own device is the host's L3 interface on it
    VXLAN = "vxlan"    # an L2 overlay tunnelled in UDP between hosts


def mac_address(host: str, iface: str) -> str:
    """The deterministic, locally administered unicast MAC of `iface` on `host` (see module docstring)."""
    raw = bytearray(hashlib.sha256(f"{host}/{iface}".encode()).digest()[:6])
    raw[0] = (raw[0] & 0xFC) | 0x02
    return bytes(raw).hex(":")


@dataclass(frozen=True, slots=True)
class VxlanConfig:
    """A vxlan device's parameters (`ip link add NAME type vxlan id VNI local IP dstport PORT dev DEV`)."""

    vni: int
    local: IPv4Address
    dstport: int = 4789
    dev: str | None = None  # the underlay device (flannel: the node's eth0); informational
    learning: bool = False  # flannel creates its device with `nolearning`


class Interface:
    """One interface of a host: name, kind, MAC, MTU, addresses, and its place in the topology."""

    __slots__ = ("host", "name", "kind", "mac", "mtu", "addresses", "master", "peer",
                 "segment", "hairpin", "proxy_arp", "vxlan")

    def __init__(self, host: str, name: str, kind: InterfaceKind, *, mac: str | None = None,
                 mtu: int | None = None) -> None:
        self.host = host
        self.name = name
        self.kind = kind
        if mac is None:
            mac = ZERO if kind is InterfaceKind.LO else mac_address(host, name)
        self.mac = mac
        if mtu is None:
            mtu = {InterfaceKind.LO: LOOPBACK_MTU, InterfaceKind.VXLAN: VXLAN_MTU}.get(kind, DEFAULT_MTU)
        self.mtu = mtu
        self.addresses: list[IPv4Interface] = []
        self.master: str | None = None            # the bridge this interface is a port of
        self.peer: tuple[str, str] | None = None  # veth: (host, iface) of the other end
        self.segment: str | None = None           # eth: the L2 segment it is plugged into
        self.hairpin = False                      # bridge port: may send a frame back out where it came in
        self.proxy_arp = False                    # net.ipv4.conf.IFACE.proxy_arp (Calico's cali* veths)
        self.vxlan: VxlanConfig | None = None

    def __repr__(self) -> str:
        return f"Interface({self.host}/{self.name} {self.kind.value} {self.mac})"

    @property
    def primary_address(self) -> IPv4Interface | None:
        """The first address added (the kernel's primary address), or None."""
        return self.addresses[0] if self.addresses else None
