"""VXLAN on the record level: the outer UDP packet a vxlan device sends, and what it carries.

The outer datagram is an ordinary UDP `Packet` (routed and filtered like any
local UDP packet, as the kernel's OUTPUT and POSTROUTING see a vxlan
device's tunnel packets) built by `netsim.packet.vxlan`: its payload is the
8-byte VXLAN header followed by the inner Ethernet frame's bytes, so it is
already what a pcap holds. TTL 64, DF clear, UDP checksum 0, as Linux sends.
The source port follows `udp_flow_src_port`: a hash of the inner flow mapped
into the local port range 32768-60999; netsim's hash is CRC-32 of the inner
addresses and ports (the kernel's is keyed, hence not reproducible).
"""

from __future__ import annotations

import zlib
from ipaddress import IPv4Address

from netsim.packet import Packet, Proto, wire
from netsim.packet.arp import ArpFrame
from netsim.packet.errors import PacketError
from netsim.packet.vxlan import VXLAN_PORT, split_vxlan, vxlan_encap, vxlan_payload

__all__ = ["VXLAN_PORT", "VXLAN_OVERHEAD", "flow_source_port", "encapsulate", "decapsulate", "copy_frame"]

VXLAN_OVERHEAD = 50                  # outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
_PORT_MIN, _PORT_MAX = 32768, 60999  # net.ipv4.ip_local_port_range default


def flow_source_port(inner: Packet | ArpFrame) -> int:
    """The outer UDP source port for `inner`, deterministic per inner flow."""
    if isinstance(inner, ArpFrame):
        key = f"arp {inner.sender_ip} {inner.target_ip}"
    else:
        key = f"{int(inner.proto)} {inner.src} {inner.sport} {inner.dst} {inner.dport} {inner.icmp_id}"
    digest = zlib.crc32(key.encode())
    return ((digest * (_PORT_MAX - _PORT_MIN)) >> 32) + _PORT_MIN


def encapsulate(inner: Packet | ArpFrame, *, vni: int, local: IPv4Address, remote: IPv4Address,
                dstport: int = VXLAN_PORT) -> Packet:
    """The outer UDP packet carrying the frame `inner` (MACs set) from VTEP `local` to VTEP `remote`."""
    sport = flow_source_port(inner)
    if isinstance(inner, ArpFrame):
        return Packet(src=local, dst=remote, proto=Proto.UDP, sport=sport, dport=dstport, ttl=64, df=False,
                      payload=vxlan_payload(vni, wire.encode_arp(inner)), udp_no_csum=True)
    return vxlan_encap(inner, vni, src=local, dst=remote, sport=sport, dport=dstport)


def decapsulate(outer: Packet) -> tuple[int, Packet | ArpFrame] | None:
    """(VNI, inner frame) of a VXLAN datagram, or None when the payload is not a valid VXLAN frame."""
    try:
        vni, frame = split_vxlan(outer.payload)
        return vni, wire.decode_frame(frame)
    except PacketError:
        return None


def copy_frame(frame: Packet | ArpFrame) -> Packet | ArpFrame:
    """A snapshot of a frame, safe to keep while the original is rewritten."""
    return frame if isinstance(frame, ArpFrame) else frame.clone()
