"""The clients of a live run: one connection at a time from the sender's namespace, with the emulator's source port.

A TCP connection is a plain non-blocking connect() from a socket bound to
(sender address, source port): the kernel sends the SYN, and on a SYN-ACK
completes the handshake; the socket is then closed with an RST (SO_LINGER
0) so no TIME_WAIT or FIN exchange outlives it. The emulator's walk stops at
the SYN-ACK, so only the SYN and the first answer are compared (compare.py).
A UDP connection is a connected socket sending the flow's payload once and
waiting for an answer (a datagram, or an ICMP error reported on the socket).
A connection that gets nothing within `timeout` seconds is closed silently.

Each connection records its wall-clock window (CLOCK_REALTIME, the clock of
the capture's SO_TIMESTAMPNS stamps): the frames of that connection are the
ones stamped inside it. Real time is the point of live/: nothing here feeds
the emulator.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from dataclasses import dataclass
from ipaddress import IPv4Address

from netsim.live import netns

TIMEOUT = 0.3  # seconds a connection waits for an answer; dropped SYNs are retransmitted only after 1 s


@dataclass(frozen=True, slots=True)
class KernelConnection:
    """One connection the kernel made: its ports, how the socket ended, and its time window."""

    sport: int
    status: str     # "connected", "answered", "timeout", or an errno name (ECONNREFUSED, ENETUNREACH, ...)
    start_ns: int
    end_ns: int


def _now() -> int:
    return time.clock_gettime_ns(time.CLOCK_REALTIME)


def connect(ns: str, src: IPv4Address, sport: int, dst: IPv4Address, dport: int, protocol: str,
            payload: bytes = b"", timeout: float = TIMEOUT) -> KernelConnection:
    """Open one connection from namespace `ns` and wait for its outcome."""
    kind = socket.SOCK_DGRAM if protocol == "UDP" else socket.SOCK_STREAM
    with netns.inside(ns):
        sock = socket.socket(socket.AF_INET, kind)
    start = _now()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((str(src), sport))
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.setblocking(False)
            code = sock.connect_ex((str(dst), dport))
            if code not in (0, errno.EINPROGRESS):
                status = errno.errorcode.get(code, str(code))
            else:
                _, writable, _ = select.select([], [sock], [], timeout)
                if not writable:
                    status = "timeout"
                else:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    status = "connected" if code == 0 else errno.errorcode.get(code, str(code))
        else:
            sock.connect((str(dst), dport))
            sock.send(payload)
            readable, _, _ = select.select([sock], [], [], timeout)
            if not readable:
                status = "timeout"
            else:
                try:
                    sock.recv(65536)
                    status = "answered"
                except OSError as err:
                    status = errno.errorcode.get(err.errno or 0, str(err.errno))
    finally:
        sock.close()
    return KernelConnection(sport, status, start, _now())
