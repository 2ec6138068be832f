"""The slotted packet record carried through netfilter and the dataplane.

One record is one IP datagram (IPv4 or IPv6) with its transport header; link
addresses are filled in by the dataplane at each hop. Addresses are
`ipaddress` objects. The record is mutable on purpose (NAT rewrites it in
place, as the kernel rewrites an skb); take `clone()` before keeping a copy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from ipaddress import IPv4Address, IPv6Address

IPAddress = IPv4Address | IPv6Address


class Proto(enum.IntEnum):
    """IP protocol numbers netsim understands (the `-p` names iptables uses)."""

    ICMP = 1
    TCP = 6
    UDP = 17
    ICMPV6 = 58
    SCTP = 132


class TcpFlag(enum.IntFlag):
    """TCP header flag bits, in header order (low bit first)."""

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20
    ECE = 0x40
    CWR = 0x80


@dataclass(slots=True, eq=False)
class Packet:
    """One IP packet: network and transport headers, payload, and kernel metadata.

    For TCP/UDP/SCTP `sport`/`dport` are the ports. For ICMP echo, `icmp_id`
    plays the part of the port in conntrack tuples. For ICMP errors, `inner`
    holds the quoted original datagram. `mark`, `ct` and `ct_reply` are the
    skb metadata netfilter reads and writes (skb->mark, the conntrack entry
    and whether this packet travels in the entry's reply direction).
    For SCTP, `seq` holds the common header's verification tag and `payload`
    the chunks. Byte layouts: `netsim.packet.wire`.
    """

    src: IPAddress
    dst: IPAddress
    proto: int
    sport: int = 0
    dport: int = 0
    tcp_flags: int = 0
    seq: int = 0
    ack: int = 0
    window: int = 64240
    icmp_type: int = 0
    icmp_code: int = 0
    icmp_id: int = 0
    icmp_seq: int = 0
    inner: Packet | None = None
    ttl: int = 64
    ip_id: int = 0
    df: bool = True
    tos: int = 0
    payload: bytes = b""
    src_mac: str | None = None
    dst_mac: str | None = None
    mark: int = 0
    ct: object | None = field(default=None, repr=False)
    ct_reply: bool = False
    tcp_options: bytes = b""    # raw TCP options (a multiple of 4 bytes), as the kernel's SYNs carry
    flow_label: int = 0         # IPv6 flow label (20 bits); IPv6 uses `tos` as traffic class, `ttl` as hop limit
    udp_no_csum: bool = False   # IPv4 UDP sent with checksum 0, as Linux VXLAN tunnels do by default

    def clone(self) -> Packet:
        """A shallow copy (the payload is immutable; `inner` is cloned too)."""
        copy = Packet.__new__(Packet)
        for name in _FIELD_NAMES:
            object.__setattr__(copy, name, getattr(self, name))
        if self.inner is not None:
            copy.inner = self.inner.clone()
        return copy

    @property
    def version(self) -> int:
        """4 or 6, from the source address."""
        return self.src.version

    def five_tuple(self) -> tuple:
        """(proto, src, sport, dst, dport) with ICMP echo's id standing in for both ports."""
        if self.proto in (Proto.ICMP, Proto.ICMPV6):
            return (self.proto, self.src, self.icmp_id, self.dst, self.icmp_id)
        return (self.proto, self.src, self.sport, self.dst, self.dport)


_FIELD_NAMES = tuple(f.name for f in fields(Packet))
