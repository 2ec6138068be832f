"""Applications bound to a host's sockets, and the echo server.

An application is anything with a `name` and a `receive(packet, host)`
method returning the packets it sends in answer (locally generated records:
the walk takes them through the host's OUTPUT path, so conntrack can un-NAT
them). `Host.bind(app, proto, port, address=None)` attaches it; a packet
delivered to a bound (proto, address, port) reaches it after the INPUT hook.

`EchoApp` answers as a minimal TCP/UDP echo server: a SYN gets a SYN-ACK,
data gets an ACK carrying the same bytes, a FIN gets a FIN-ACK, a UDP
datagram comes back as is. It keeps no connection state: its initial sequence
number is a CRC-32 of the connection's addresses (deterministic, unlike the
kernel's secret-keyed hash). ICMP echo is the host stack's, not an app's.
"""

from __future__ import annotations

import zlib
from typing import Iterable, Protocol

from netsim.packet import Packet, Proto, TcpFlag


class App(Protocol):
    """What a host needs from an application bound to a port."""

    name: str

    def receive(self, packet: Packet, host: str) -> Iterable[Packet]:
        """Take one delivered packet on `host`; return the packets to send in answer."""
        ...


def initial_sequence(packet: Packet) -> int:
    """A deterministic ISN for the connection `packet` opens (server side)."""
    key = f"{packet.src} {packet.sport} {packet.dst} {packet.dport}".encode()
    return zlib.crc32(key)


class EchoApp:
    """A TCP and UDP echo server (see module docstring); `received` keeps what it got."""

    def __init__(self, name: str = "echo") -> None:
        self.name = name
        self.received: list[Packet] = []

    def __repr__(self) -> str:
        return f"EchoApp({self.name!r})"

    def receive(self, packet: Packet, host: str) -> list[Packet]:
        """Answer `packet` as an echo server would."""
        self.received.append(packet.clone())
        if packet.proto == Proto.UDP:
            return [Packet(src=packet.dst, dst=packet.src, proto=Proto.UDP, sport=packet.dport,
                           dport=packet.sport, payload=packet.payload, tos=packet.tos, df=True)]
        if packet.proto != Proto.TCP:
            return []
        flags = packet.tcp_flags
        if flags & TcpFlag.RST:
            return []
        answer = Packet(src=packet.dst, dst=packet.src, proto=Proto.TCP, sport=packet.dport,
                        dport=packet.sport, tos=packet.tos, df=True)
        if flags & TcpFlag.SYN:
            answer.tcp_flags = int(TcpFlag.SYN | TcpFlag.ACK)
            answer.seq = initial_sequence(packet)
            answer.ack = (packet.seq + 1) & 0xFFFFFFFF
            return [answer]
        answer.seq = packet.ack
        consumed = len(packet.payload) + bool(flags & TcpFlag.FIN)
        answer.ack = (packet.seq + consumed) & 0xFFFFFFFF
        if flags & TcpFlag.FIN:
            answer.tcp_flags = int(TcpFlag.FIN | TcpFlag.ACK)
            return [answer]
        if packet.payload:
            answer.tcp_flags = int(TcpFlag.PSH | TcpFlag.ACK)
            answer.payload = packet.payload
            return [answer]
        return []


class SinkApp:
    """An application that takes packets and never answers (a silent listener)."""

    def __init__(self, name: str = "sink") -> None:
        self.name = name
        self.received: list[Packet] = []

    def receive(self, packet: Packet, host: str) -> list[Packet]:
        """Keep `packet`; answer nothing."""
        self.received.append(packet.clone())
        return []
