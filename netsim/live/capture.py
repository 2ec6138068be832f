"""Capture in the namespaces of a live run: one AF_PACKET socket per host, every interface, both directions.

What `tcpdump -i any` sees, read in-process: the frame, the interface
(named by the socket's own namespace), whether it was outgoing
(PACKET_OUTGOING) and the kernel's receive timestamp in nanoseconds
(SO_TIMESTAMPNS), so frames of different namespaces order on one clock.
IPv4 frames are decoded with netsim's own decoder (checksums not verified:
veth leaves them partial for offload); ARP and other frames are kept as
`None` records. Segment namespaces are not captured: they are the wire.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

from netsim.live import netns
from netsim.live.loop import SocketLoop
from netsim.live.realize import World
from netsim.packet import Packet
from netsim.packet.errors import PacketError
from netsim.packet.wire import decode_ip

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("qq")


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame: when, on which host and interface, which way, and its IPv4 packet (or None)."""

    time_ns: int
    seq: int
    host: str
    iface: str
    outgoing: bool
    packet: Packet | None


@dataclass
class Capture:
    """Every frame captured so far, in arrival order per socket."""

    frames: list[Frame] = field(default_factory=list)

    def between(self, start_ns: int, end_ns: int) -> list[Frame]:
        """The frames stamped in [start_ns, end_ns], by time (capture order breaks ties)."""
        return sorted((f for f in self.frames if start_ns <= f.time_ns <= end_ns),
                      key=lambda f: (f.time_ns, f.seq))


def start_capture(world: World, loop: SocketLoop) -> Capture:
    """Open a capture socket in every host namespace of `world`, served on `loop`."""
    capture = Capture()
    for name in sorted(world.network.hosts):
        with netns.inside(world.ns(name)):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        loop.add(sock, _reader(name, capture))
    return capture


def _reader(host: str, capture: Capture):
    def read(sock: socket.socket) -> None:
        data, ancdata, _, address = sock.recvmsg(65536, socket.CMSG_SPACE(_TIMESPEC.size))
        stamp = 0
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = _TIMESPEC.unpack(value[:_TIMESPEC.size])
                stamp = sec * 1_000_000_000 + nsec
        iface, ethertype, pkttype = address[0], address[1], address[2]
        packet = None
        if ethertype == 0x0800 and len(data) > 14:
            try:
                packet = decode_ip(data[14:], verify_checksums=False)
            except PacketError:
                packet = None
        capture.frames.append(Frame(stamp, len(capture.frames), host, iface, pkttype == PACKET_OUTGOING, packet))
    return read
