"""Packets the kernel's own stack writes: ICMP errors, echo replies, TCP resets; and IP lengths.

Each builder follows the Linux function named in its docstring. Records leave
`ip_id` 0 (Linux uses 0 for DF datagrams without a connected socket) and TTL
64 (net.ipv4.ip_default_ttl). ICMP errors quote the offending datagram as
`inner` (the wire encoder truncates it to what fits in 576 bytes). For
"fragmentation needed" the next-hop MTU sits in `icmp_seq`: it occupies the
same two header bytes (RFC 1191).
"""

from __future__ import annotations

import enum
from ipaddress import IPv4Address

from netsim.packet import Packet, Proto, TcpFlag
from netsim.packet.arp import ArpFrame


class IcmpType(enum.IntEnum):
    """ICMP types the dataplane sends or answers."""

    ECHO_REPLY = 0
    DEST_UNREACH = 3
    ECHO_REQUEST = 8
    TIME_EXCEEDED = 11


class UnreachCode(enum.IntEnum):
    """Destination-unreachable codes (RFC 792, RFC 1812)."""

    NET = 0          # no route (ENETUNREACH)
    HOST = 1         # unreachable route, or the neighbour did not answer ARP
    PORT = 3         # UDP to a local port nobody listens on
    FRAG_NEEDED = 4  # DF set and larger than the next hop's MTU
    ADMIN_PROHIBITED = 13  # a `prohibit` route


ERROR_TYPES = frozenset({3, 4, 5, 11, 12})  # ICMP errors: never answered with another error (RFC 1122)

_HEADER_LEN = {Proto.TCP: 20, Proto.UDP: 8, Proto.ICMP: 8, Proto.SCTP: 12}


def ip_length(packet: Packet | ArpFrame) -> int:
    """The IPv4 total length of `packet` (ARP: 28, the ARP body)."""
    if isinstance(packet, ArpFrame):
        return 28
    length = 20 + _HEADER_LEN.get(packet.proto, 0) + len(packet.payload)
    if packet.proto == Proto.TCP:
        length += len(packet.tcp_options)
    if packet.inner is not None and packet.proto == Proto.ICMP:
        length += min(ip_length(packet.inner), 576 - 28)  # icmp_send quotes up to 576 bytes in all
    return length


def is_icmp_error(packet: Packet) -> bool:
    """True for ICMP error messages (which never trigger another ICMP error)."""
    return packet.proto == Proto.ICMP and packet.icmp_type in ERROR_TYPES


def icmp_error(original: Packet, src: IPv4Address, icmp_type: int, code: int, *, mtu: int = 0) -> Packet:
    """`icmp_send`: the error about `original`, from `src` back to its source."""
    return Packet(src=src, dst=original.src, proto=Proto.ICMP, icmp_type=icmp_type, icmp_code=code,
                  icmp_seq=mtu, inner=original.clone(), ttl=64, df=False,
                  tos=(original.tos & 0x1E) | 0xC0)  # IPTOS_PREC_INTERNETCONTROL


def echo_reply(request: Packet) -> Packet:
    """`icmp_echo`: the stack's answer to an echo request (same id, sequence and data)."""
    return Packet(src=request.dst, dst=request.src, proto=Proto.ICMP, icmp_type=IcmpType.ECHO_REPLY,
                  icmp_id=request.icmp_id, icmp_seq=request.icmp_seq, payload=request.payload,
                  ttl=64, df=False, tos=request.tos)


def tcp_reset(segment: Packet) -> Packet:
    """`tcp_v4_send_reset`: the RST answering a segment no socket wants."""
    if segment.tcp_flags & TcpFlag.ACK:
        seq, ack, flags = segment.ack, 0, TcpFlag.RST
    else:
        consumed = len(segment.payload) + bool(segment.tcp_flags & TcpFlag.SYN) + bool(segment.tcp_flags & TcpFlag.FIN)
        seq, ack, flags = 0, (segment.seq + consumed) & 0xFFFFFFFF, TcpFlag.RST | TcpFlag.ACK
    return Packet(src=segment.dst, dst=segment.src, proto=Proto.TCP, sport=segment.dport, dport=segment.sport,
                  tcp_flags=int(flags), seq=seq, ack=ack, window=0, ttl=64, df=True)
