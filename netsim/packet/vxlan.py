"""VXLAN encapsulation (RFC 7348) of a packet record in an outer UDP record, and back.

The dataplane keeps the outer datagram as an ordinary `Packet` (it is routed
and filtered like any other local UDP packet); its payload is the 8-byte
VXLAN header and the inner Ethernet frame, so `wire.encode(outer, ...)`
yields the full Ether/IP/UDP 4789/VXLAN/Ether/... frame scapy would build.

- `vxlan_encap(inner, vni, src=, dst=, sport=, ...) -> Packet` (outer UDP record);
  `inner` is a `Packet` (with MACs) or an `ArpFrame`
- `vxlan_decap(outer, verify_checksums=True) -> (vni, inner Packet with MACs or ArpFrame)`
- `vxlan_payload(vni, inner_frame) -> bytes` / `split_vxlan(payload) -> (vni, inner_frame)`
  for callers that hold frames rather than records.

Defaults follow a Linux vxlan device with no extra options (iproute2
`ip link add type vxlan id N dstport 4789`): outer TTL 64, DF clear, TOS 0,
and over IPv4 a zero UDP checksum (`noudpcsum` is the default); over IPv6 the
checksum is always computed. The outer source port is the caller's choice
(Linux hashes the inner flow into it, udp_flow_src_port).
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address, ip_address

from netsim.packet import wire
from netsim.packet.arp import ArpFrame
from netsim.packet.errors import InvalidField, MalformedPacket, UnsupportedPacket
from netsim.packet.record import Packet, Proto

VXLAN_PORT = 4789        # IANA-assigned VXLAN UDP port (RFC 7348); Calico uses it
LINUX_VXLAN_PORT = 8472  # the kernel's default when `dstport` is not given; flannel and Cilium use it
VXLAN = struct.Struct("!B3xI")  # flags (0x08: VNI valid), 24 reserved bits, VNI (24 bits) << 8 | 8 reserved bits
_VNI_VALID = 0x08


def vxlan_payload(vni: int, inner_frame: bytes) -> bytes:
    """The UDP payload carrying `inner_frame` in VXLAN network `vni`."""
    if not 0 <= vni <= 0xFFFFFF:
        raise InvalidField("VXLAN header", f"VNI must be between 0 and 16777215, got {vni}")
    return VXLAN.pack(_VNI_VALID, vni << 8) + inner_frame


def split_vxlan(payload: bytes) -> tuple[int, bytes]:
    """(VNI, inner Ethernet frame) of a VXLAN UDP payload."""
    if len(payload) < VXLAN.size:
        raise MalformedPacket("VXLAN header", f"truncated: {len(payload)} bytes, need {VXLAN.size}")
    flags, vni_field = VXLAN.unpack_from(payload)
    if not flags & _VNI_VALID:
        raise MalformedPacket("VXLAN header", f"flags 0x{flags:02x} lack the VNI-valid bit 0x08")
    return vni_field >> 8, bytes(payload[VXLAN.size:])


def vxlan_encap(inner: Packet | ArpFrame, vni: int, *, src: IPv4Address | IPv6Address | str,
                dst: IPv4Address | IPv6Address | str, sport: int, dport: int = VXLAN_PORT,
                ttl: int = 64, ip_id: int = 0, df: bool = False, tos: int = 0, udp_csum: bool = False,
                inner_src_mac: str | None = None, inner_dst_mac: str | None = None) -> Packet:
    """The outer UDP record carrying `inner` (its MACs, or the ones given) from VTEP `src` to VTEP `dst`."""
    if isinstance(inner, ArpFrame):
        inner_frame = wire.encode_arp(inner)
    else:
        inner_frame = wire.encode(inner, inner_src_mac, inner_dst_mac)
    return Packet(ip_address(src), ip_address(dst), Proto.UDP, sport=sport, dport=dport, ttl=ttl,
                  ip_id=ip_id, df=df, tos=tos, payload=vxlan_payload(vni, inner_frame), udp_no_csum=not udp_csum)


def vxlan_decap(outer: Packet, verify_checksums: bool = True) -> tuple[int, Packet | ArpFrame]:
    """(VNI, inner record with its MACs, or the inner ARP frame) of an outer VXLAN UDP record."""
    if outer.proto != Proto.UDP:
        raise UnsupportedPacket("VXLAN header", f"outer protocol {outer.proto} is not UDP")
    vni, inner_frame = split_vxlan(outer.payload)
    return vni, wire.decode_frame(inner_frame, verify_checksums)
