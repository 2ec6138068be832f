"""The packet as the hot path carries it, and its conversions at the edges.

`Packet` is a small slotted record; `netsim.packet.wire` turns it into the
exact bytes scapy would build (and back), `netsim.packet.scapy_bridge`
converts to and from scapy objects for users and tests, `netsim.packet.vxlan`
wraps records in VXLAN, and `ArpFrame` is the one non-IP frame netsim sends.
"""

from netsim.packet.record import Packet, Proto, TcpFlag
from netsim.packet.arp import ArpFrame, ArpOp
from netsim.packet.errors import PacketError

__all__ = ["ArpFrame", "ArpOp", "Packet", "PacketError", "Proto", "TcpFlag"]
