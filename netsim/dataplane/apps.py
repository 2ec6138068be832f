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
`HttpEchoApp` is EchoApp that answers a whole HTTP/1.x request in one
segment with an echo-basic-style JSON response, and echoes anything else.
"""

from __future__ import annotations

import json
import zlib
from email.utils import formatdate
from typing import Callable, Iterable, Protocol

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


HTTP_METHODS = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE", b"CONNECT")
SEGMENT_SIZE = 1400   # payload bytes per segment the HTTP apps send (below the MSS of a 1450-byte vxlan MTU)


def tcp_data_segments(request: Packet, data: bytes, seq: int, ack: int, size: int = SEGMENT_SIZE) -> list[Packet]:
    """`data` as PSH-ACK segments answering `request` (one per `size` bytes), starting at sequence `seq`."""
    out = []
    for offset in range(0, len(data), size):
        chunk = data[offset:offset + size]
        out.append(Packet(src=request.dst, dst=request.src, proto=Proto.TCP, sport=request.dport,
                          dport=request.sport, tos=request.tos, df=True, tcp_flags=int(TcpFlag.PSH | TcpFlag.ACK),
                          seq=(seq + offset) & 0xFFFFFFFF, ack=ack, payload=chunk))
    return out


def _canonical_header(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey: `x-forwarded-for` -> `X-Forwarded-For`."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


class HttpEchoApp(EchoApp):
    """EchoApp that answers a whole HTTP/1.x request in one segment as the Gateway API's echo-basic server does.

    The response is `200 OK` with a JSON body naming what arrived and who
    answered: path, host, method, proto, headers (canonical names, every
    value), namespace, ingress, service, pod — the fields echo-basic
    (gateway-api conformance/echo-basic) writes, so a test reads which pod a
    proxy reached and what headers it added. Anything else (a payload that does
    not start with an HTTP method and hold a full header block) is echoed raw,
    as EchoApp does.
    """

    def __init__(self, name: str = "echo", *, namespace: str = "", pod: str = "",
                 clock: Callable[[], float] | None = None) -> None:
        super().__init__(name)
        self.namespace = namespace
        self.pod = pod
        self.clock = clock

    def __repr__(self) -> str:
        return f"HttpEchoApp({self.name!r})"

    def receive(self, packet: Packet, host: str) -> list[Packet]:
        """Answer an HTTP request with echo-basic's JSON; anything else as EchoApp."""
        data = packet.payload
        if packet.proto != Proto.TCP or not data or packet.tcp_flags & (TcpFlag.SYN | TcpFlag.RST | TcpFlag.FIN) \
                or data.split(b" ", 1)[0] not in HTTP_METHODS or b"\r\n\r\n" not in data:
            return super().receive(packet, host)
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = head[0].split(" ")
        if len(parts) != 3:
            return super().receive(packet, host)
        self.received.append(packet.clone())
        headers: dict[str, list[str]] = {}
        for line in head[1:]:
            key, _, value = line.partition(":")
            headers.setdefault(_canonical_header(key.strip()), []).append(value.strip())
        host_header = headers.pop("Host", [""])[0]
        body = json.dumps({"path": parts[1], "host": host_header, "method": parts[0], "proto": parts[2],
                           "headers": dict(sorted(headers.items())), "namespace": self.namespace, "ingress": "",
                           "service": "", "pod": self.pod}, indent=1).encode() + b"\n"
        lines = [f"{parts[2]} 200 OK", "Content-Type: application/json", "X-Content-Type-Options: nosniff"]
        if self.clock is not None:
            lines.append("Date: " + formatdate(int(self.clock()), usegmt=True))   # IMF-fixdate, simulated clock
        lines.append(f"Content-Length: {len(body)}")
        response = ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if parts[0] == "HEAD" else body)
        ack = (packet.seq + len(data)) & 0xFFFFFFFF
        return tcp_data_segments(packet, response, packet.ack, ack)
