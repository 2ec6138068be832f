"""ARP frames (RFC 826, Ethernet/IPv4 only) as a frozen value object.

An `ArpFrame` holds the whole Ethernet frame's meaning: the Ethernet source
and destination plus the ARP operation and its four addresses. Build one with
`ArpFrame.request(...)` / `ArpFrame.reply(...)`, which follow Linux (a
request is broadcast with a zero target MAC; a reply is unicast to the
asker). `netsim.packet.wire.encode_arp` / `decode_arp` turn it into bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address

from netsim.packet.mac import BROADCAST, ZERO, normalize_mac


class ArpOp(enum.IntEnum):
    """ARP operation codes (RFC 826)."""

    REQUEST = 1  # who-has target_ip? tell sender_ip
    REPLY = 2    # sender_ip is-at sender_mac


@dataclass(frozen=True, slots=True)
class ArpFrame:
    """One Ethernet frame carrying an IPv4 ARP request or reply; MACs are canonical strings."""

    op: ArpOp
    sender_mac: str
    sender_ip: IPv4Address
    target_mac: str
    target_ip: IPv4Address
    src_mac: str  # Ethernet source
    dst_mac: str  # Ethernet destination

    def __post_init__(self) -> None:
        object.__setattr__(self, "op", ArpOp(self.op))
        for name in ("sender_mac", "target_mac", "src_mac", "dst_mac"):
            object.__setattr__(self, name, normalize_mac(getattr(self, name), f"ARP {name}"))
        for name in ("sender_ip", "target_ip"):
            object.__setattr__(self, name, IPv4Address(getattr(self, name)))

    @classmethod
    def request(cls, sender_mac: str, sender_ip: IPv4Address | str, target_ip: IPv4Address | str) -> ArpFrame:
        """`who-has target_ip tell sender_ip`, broadcast, as Linux sends it."""
        return cls(ArpOp.REQUEST, sender_mac, sender_ip, ZERO, target_ip, sender_mac, BROADCAST)

    @classmethod
    def reply(cls, sender_mac: str, sender_ip: IPv4Address | str,
              target_mac: str, target_ip: IPv4Address | str) -> ArpFrame:
        """`sender_ip is-at sender_mac`, unicast back to the asker (`target_mac`)."""
        return cls(ArpOp.REPLY, sender_mac, sender_ip, target_mac, target_ip, sender_mac, target_mac)
