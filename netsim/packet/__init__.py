"""The packet as the hot path carries it, and its conversions at the edges.

`Packet` is a small slotted record; `netsim.packet.wire` turns it into the
exact bytes scapy would build (and back), `netsim.packet.scapy_bridge`
converts to and from scapy objects for users and tests.
"""

from netsim.packet.record import Packet, Proto, TcpFlag

__all__ = ["Packet", "Proto", "TcpFlag"]
