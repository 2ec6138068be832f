"""Packet records to scapy packets and back: netsim's one door to scapy in packet/.

Users describe packets with scapy and dissect netsim's output with it; the
hot path never touches it. scapy is imported inside the functions, so
importing this module stays cheap.

- `to_scapy(packet, src_mac=None, dst_mac=None)`: an `Ether/IP/...` packet
  (an `IP`/`IPv6` packet when neither the arguments nor the record give MACs)
  whose `bytes()` equal `wire.encode(packet, ...)` (resp. `wire.encode_ip`).
  Also accepts an `ArpFrame` (`Ether/ARP`).
- `from_scapy(scapy_packet, verify_checksums=True)`: the `Packet` (or
  `ArpFrame`) of an `Ether`, `IP` or `IPv6` scapy packet, via its bytes.

Every field scapy would otherwise fill from the host (source and destination
MACs, source address, IP id, TTL, TCP window) is set explicitly, so building
never reads the host's routing table, ARP cache or clock. Layers are built
from fields where scapy has a plain field per header word (TCP, UDP, ICMP
echo and errors, ICMPv6 echo and errors, SCTP, ARP); other ICMP types are
dissected (as a whole IP packet) from netsim's own bytes.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.packet import wire
from netsim.packet.arp import ArpFrame
from netsim.packet.errors import UnsupportedPacket
from netsim.packet.record import Packet, Proto

# ICMPv4 types whose bytes 4-7 scapy splits into named fields, and how (scapy/layers/inet.py ICMP).
_ICMP_ID_SEQ = frozenset({0, 8, 15, 16})  # echo reply/request, information request/reply: id, seq
_ICMP_UNUSED_INT = frozenset({4})         # source quench: one 32-bit `unused` field


def to_scapy(packet: Packet | ArpFrame, src_mac: str | None = None, dst_mac: str | None = None,
             time: float | None = None):
    """The scapy packet with the same bytes as netsim's encoding, every field explicit.

    `time` (simulated seconds since the epoch) becomes the scapy packet's
    `.time`, which scapy's pcap writers stamp; left None, scapy keeps the wall
    clock it read on construction, so pass it whenever the packet is written.
    """
    from scapy.layers.l2 import Ether

    if isinstance(packet, ArpFrame):
        built = _arp_to_scapy(packet)
    else:
        src_mac = src_mac if src_mac is not None else packet.src_mac
        dst_mac = dst_mac if dst_mac is not None else packet.dst_mac
        built = _ip_to_scapy(packet)
        if src_mac is not None or dst_mac is not None:
            ethertype = wire.ETHERTYPE_IPV4 if packet.src.version == 4 else wire.ETHERTYPE_IPV6
            built = Ether(src=src_mac, dst=dst_mac, type=ethertype) / built
    if time is not None:
        built.time = time
    return built


def from_scapy(scapy_packet, verify_checksums: bool = True) -> Packet | ArpFrame:
    """The record of a scapy `Ether`, `IP` or `IPv6` packet (an `ArpFrame` for Ether/ARP)."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    data = bytes(scapy_packet)
    if isinstance(scapy_packet, Ether):
        return wire.decode_frame(data, verify_checksums)
    if isinstance(scapy_packet, (IP, IPv6)):
        return wire.decode_ip(data, verify_checksums)
    raise UnsupportedPacket("scapy packet", f"outermost layer {type(scapy_packet).__name__} is not Ether, IP or IPv6")


def _arp_to_scapy(arp: ArpFrame):
    """Ether/ARP with every address explicit."""
    from scapy.layers.l2 import ARP, Ether

    return Ether(src=arp.src_mac, dst=arp.dst_mac, type=wire.ETHERTYPE_ARP) / ARP(
        hwtype=1, ptype=wire.ETHERTYPE_IPV4, hwlen=6, plen=4, op=int(arp.op),
        hwsrc=arp.sender_mac, psrc=str(arp.sender_ip), hwdst=arp.target_mac, pdst=str(arp.target_ip))


def _ip_to_scapy(packet: Packet):
    """The IP or IPv6 layer with its transport."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    transport = _transport_to_scapy(packet)
    if transport is None:
        return _dissected(packet)
    if packet.src.version == 4:
        ip = IP(version=4, ihl=5, tos=packet.tos, id=packet.ip_id, flags=2 if packet.df else 0, frag=0,
                ttl=packet.ttl, proto=packet.proto, src=str(packet.src), dst=str(packet.dst))
    else:
        ip = IPv6(version=6, tc=packet.tos, fl=packet.flow_label, nh=packet.proto, hlim=packet.ttl,
                  src=str(packet.src), dst=str(packet.dst))
    return ip / transport


def _transport_to_scapy(packet: Packet):
    """The transport layer (with payload or quoted datagram) of `packet`; None when only dissection is exact."""
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.sctp import SCTP
    from scapy.packet import Raw

    proto = packet.proto
    if proto == Proto.TCP:
        options = _tcp_options(packet.tcp_options)
        if options is None:
            return None
        layer = TCP(sport=packet.sport, dport=packet.dport, seq=packet.seq, ack=packet.ack,
                    dataofs=5 + len(packet.tcp_options) // 4, reserved=packet.tcp_flags >> 9,
                    flags=packet.tcp_flags & 0x1FF, window=packet.window, urgptr=0, options=options)
    elif proto == Proto.UDP:
        no_csum = packet.udp_no_csum and packet.src.version == 4
        layer = UDP(sport=packet.sport, dport=packet.dport, chksum=0 if no_csum else None)
    elif proto == Proto.ICMP:
        layer = _icmp_to_scapy(packet)
    elif proto == Proto.ICMPV6:
        layer = _icmpv6_to_scapy(packet)
    elif proto == Proto.SCTP:
        layer = SCTP(sport=packet.sport, dport=packet.dport, tag=packet.seq)
    else:
        return Raw(packet.payload)
    if layer is None:
        return None
    if packet.inner is not None:
        return layer / _quote_to_scapy(packet)
    if packet.payload and not _carries_payload(layer):
        return layer / Raw(packet.payload)
    return layer


def _carries_payload(layer) -> bool:
    """Whether the layer already holds the payload in a field (ICMPv6 echo's `data`)."""
    from scapy.layers.inet6 import ICMPv6EchoRequest

    return isinstance(layer, ICMPv6EchoRequest)  # ICMPv6EchoReply subclasses it


def _icmp_to_scapy(packet: Packet):
    """ICMP with scapy's per-type split of bytes 4-7, or None where dissection is safer."""
    from scapy.layers.inet import ICMP

    kind, code, ident, seq = packet.icmp_type, packet.icmp_code, packet.icmp_id, packet.icmp_seq
    if kind in _ICMP_ID_SEQ:
        return ICMP(type=kind, code=code, id=ident, seq=seq)
    if kind in _ICMP_UNUSED_INT:
        return ICMP(type=kind, code=code, unused=(ident << 16) | seq)
    if kind == 5:
        return ICMP(type=kind, code=code, gw=str(IPv4Address((ident << 16) | seq)))
    if ident & 0xFF:
        return None  # an RFC 4884 length: scapy would add extension padding
    if kind == 3:
        return ICMP(type=kind, code=code, reserved=ident >> 8, length=0, nexthopmtu=seq)
    if kind == 11:
        return ICMP(type=kind, code=code, reserved=ident >> 8, length=0, unused=seq)
    if kind == 12:
        return ICMP(type=kind, code=code, ptr=ident >> 8, length=0, unused=seq)
    return None


def _icmpv6_to_scapy(packet: Packet):
    """ICMPv6 echo and error classes with their fields, or None where dissection is safer."""
    from scapy.layers import inet6

    kind, code, ident, seq = packet.icmp_type, packet.icmp_code, packet.icmp_id, packet.icmp_seq
    rest = (ident << 16) | seq
    if kind in (128, 129) and packet.inner is None:
        cls = inet6.ICMPv6EchoRequest if kind == 128 else inet6.ICMPv6EchoReply
        return cls(code=code, id=ident, seq=seq, data=packet.payload)
    if rest >> 24:
        return None  # an RFC 4884 length: scapy would add extension padding
    if kind == 1:
        return inet6.ICMPv6DestUnreach(code=code, length=0, unused=rest)
    if kind == 2:
        return inet6.ICMPv6PacketTooBig(code=code, mtu=rest)
    if kind == 3:
        return inet6.ICMPv6TimeExceeded(code=code, length=0, unused=rest)
    if kind == 4:
        return inet6.ICMPv6ParamProblem(code=code, ptr=rest)
    return None


def _tcp_options(raw: bytes) -> list[tuple[int, bytes]] | None:
    """scapy's option list for raw TCP options, or None when they do not parse cleanly."""
    options = []
    index = 0
    while index < len(raw):
        kind = raw[index]
        if kind in (0, 1):  # EOL, NOP: one byte each
            options.append((kind, b""))
            index += 1
            continue
        if index + 1 >= len(raw) or raw[index + 1] < 2 or index + raw[index + 1] > len(raw):
            return None
        length = raw[index + 1]
        options.append((kind, raw[index + 2:index + length]))
        index += length
    return options


def _quote_to_scapy(packet: Packet):
    """The quoted datagram of an ICMP error: built layers when whole, raw bytes when cut."""
    from scapy.packet import Raw

    limit = wire.ICMPV4_QUOTE_LIMIT if packet.src.version == 4 else wire.ICMPV6_QUOTE_LIMIT
    quoted = wire.encode_ip(packet.inner)
    if len(quoted) > limit:
        return Raw(quoted[:limit])
    return _ip_to_scapy(packet.inner)


def _dissected(packet: Packet):
    """The IP packet dissected from netsim's own bytes: scapy keeps them, checksums included."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    return (IP if packet.src.version == 4 else IPv6)(wire.encode_ip(packet))
