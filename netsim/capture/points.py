"""Capture points: one pcapng file per host, one interface block per NIC, written as the emulator runs.

The emulator calls

    capture = CaptureSet("pcaps/quickstart")                   # or CaptureSet(dir, hosts={"node1"})
    capture.add_interface("node1", "eth0")                      # optional: declare NICs up front, sorted
    capture.record("node1", "eth0", Direction.OUT, now, frame, comment="node1 eth0: FORWARD to 10.244.2.3")
    capture.record_packet("node1", "cni0", Direction.IN, now, packet)   # encodes a Packet record
    capture.close()                                             # or use it as a context manager

Naming, written once here: host `h` goes to `<directory>/<h>.pcapng`, where
characters other than letters, digits, `.`, `_` and `-` in `h` become `_`
(so `node1/web-0` is `node1_web-0.pcapng`); its NIC `i` is the interface
named `h/i` in that file. Interface ids count up per file in the order NICs
are first seen, so declaring them up front in sorted order keeps every file
identical from run to run; an undeclared NIC is added on its first packet.
Files are created (truncated) when their host is first seen and the writes
are buffered: call `close()` before reading them. `hosts`, when given,
limits capture to those hosts; `record` on any other host does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from netsim.capture.errors import InvalidCapture
from netsim.capture.pcapng import DEFAULT_SNAPLEN, Direction, PcapngWriter
from netsim.packet import wire
from netsim.packet.arp import ArpFrame
from netsim.packet.record import Packet

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def capture_file_name(host: str) -> str:
    """The file name of `host`'s capture: `<host>.pcapng` with unsafe characters replaced by `_`."""
    if not host:
        raise InvalidCapture("host name must not be empty")
    return _UNSAFE.sub("_", host) + ".pcapng"


def interface_name(host: str, iface: str) -> str:
    """The pcapng if_name of a host's NIC: `host/iface` (what Wireshark shows as frame.interface_name)."""
    return f"{host}/{iface}"


class CaptureSet:
    """Owns one pcapng writer per captured host and maps (host, iface) to its interface id."""

    def __init__(self, directory: str | Path, hosts: Iterable[str] | None = None,
                 snaplen: int = DEFAULT_SNAPLEN) -> None:
        self.directory = Path(directory)
        self.hosts = None if hosts is None else frozenset(hosts)
        self.snaplen = snaplen
        self._files: dict[str, BinaryIO] = {}
        self._writers: dict[str, PcapngWriter] = {}
        self._paths: dict[str, Path] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._closed = False

    def captures(self, host: str) -> bool:
        """Whether packets seen on `host` are written."""
        return self.hosts is None or host in self.hosts

    def add_interface(self, host: str, iface: str, description: str | None = None) -> int | None:
        """Declare `host`'s NIC `iface` (idempotent); its interface id in the host's file, None if not captured."""
        if not self.captures(host):
            return None
        key = (host, iface)
        if key not in self._ids:
            self._ids[key] = self._writer(host).add_interface(interface_name(host, iface), self.snaplen, description)
        return self._ids[key]

    def record(self, host: str, iface: str, direction: Direction, time: float, frame: bytes,
               comment: str | None = None) -> None:
        """Write `frame` as seen on `host`'s `iface` at simulated `time` (seconds since the epoch)."""
        if not self.captures(host):
            return
        if self._closed:
            raise InvalidCapture(f"capture set {self.directory} is closed; cannot record on {host}/{iface}")
        interface = self._ids.get((host, iface))
        if interface is None:
            interface = self.add_interface(host, iface)
        self._writers[host].write_packet(interface, time, frame, comment, direction)

    def record_packet(self, host: str, iface: str, direction: Direction, time: float, packet: Packet | ArpFrame,
                      comment: str | None = None, src_mac: str | None = None, dst_mac: str | None = None) -> None:
        """Encode a packet record (MACs from the arguments or the record) or an ARP frame, and `record` it."""
        if not self.captures(host):
            return
        self.record(host, iface, direction, time, wire.encode_frame(packet, src_mac, dst_mac), comment)

    def path(self, host: str) -> Path:
        """Where `host`'s capture is written."""
        return self.directory / capture_file_name(host)

    def paths(self) -> dict[str, Path]:
        """The files written so far, by host, in host order."""
        return {host: self._paths[host] for host in sorted(self._paths)}

    def close(self) -> None:
        """Flush and close every file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for host in sorted(self._files):
            self._files[host].close()

    def __enter__(self) -> CaptureSet:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _writer(self, host: str) -> PcapngWriter:
        """The writer of `host`'s file, creating the file on first use."""
        if self._closed:
            raise InvalidCapture(f"capture set {self.directory} is closed; cannot add host {host!r}")
        writer = self._writers.get(host)
        if writer is None:
            path = self.path(host)
            for other, other_path in self._paths.items():
                if other_path == path:
                    raise InvalidCapture(f"hosts {other!r} and {host!r} would share the capture file {path}")
            self.directory.mkdir(parents=True, exist_ok=True)
            stream = open(path, "wb")
            self._files[host] = stream
            self._paths[host] = path
            writer = self._writers[host] = PcapngWriter(stream)
        return writer
