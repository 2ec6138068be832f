"""The capture sink protocol: where the walk reports every frame seen on an interface.

`sink.frame(time, host, iface, direction, frame)` is called for each frame
leaving (`"out"`) or arriving on (`"in"`) an interface, ARP included, in the
order they happen. `frame` is a snapshot (`Packet` with its MACs set, or
`ArpFrame`; a vxlan tunnel packet carries its inner frame in `inner`), safe
to keep. `time` comes from the network's simulated clock (see network.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from netsim.packet import Packet
from netsim.packet.arp import ArpFrame


class CaptureSink(Protocol):
    """Receives every frame the walk puts on or takes off an interface."""

    def frame(self, time: float, host: str, iface: str, direction: str, frame: Packet | ArpFrame) -> None:
        """Record one frame; `direction` is "in" or "out"."""
        ...


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One frame as a `ListSink` keeps it."""

    time: float
    host: str
    iface: str
    direction: str
    frame: Packet | ArpFrame


class ListSink:
    """A sink that keeps every frame in a list (for tests and quick looks)."""

    def __init__(self) -> None:
        self.frames: list[CapturedFrame] = []

    def frame(self, time: float, host: str, iface: str, direction: str, frame: Packet | ArpFrame) -> None:
        """Append the frame."""
        self.frames.append(CapturedFrame(time, host, iface, direction, frame))

    def on(self, host: str, iface: str) -> list[CapturedFrame]:
        """The frames seen on one interface."""
        return [f for f in self.frames if f.host == host and f.iface == iface]
