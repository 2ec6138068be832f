"""Packet records to Ethernet frames and back, byte for byte as scapy builds them.

The hot path carries `Packet` records; pcaps, VXLAN payloads and the live
differential checks need bytes. This module is that conversion, written with
`struct` (scapy costs ~0.4 ms a packet). Contract:

- `encode(packet, src_mac=None, dst_mac=None) -> bytes`: Ethernet II frame
  (IPv4 or IPv6 by the address family). MACs default to `packet.src_mac` /
  `packet.dst_mac`; a missing one raises `InvalidField`.
- `encode_ip(packet) -> bytes`: the IP datagram alone (what ICMP errors quote,
  what a checksum covers).
- `decode(frame, verify_checksums=True) -> Packet` (MACs filled in) and
  `decode_ip(data, verify_checksums=True) -> Packet` (MACs left None).
- `encode_arp(arp) -> bytes`, `decode_arp(frame) -> ArpFrame`, and
  `encode_frame(x)` / `decode_frame(frame) -> Packet | ArpFrame` for either.

The bytes equal scapy's for `Ether(src, dst)/IP(src, dst, ttl, id, flags,
tos)/TCP(sport, dport, seq, ack, flags, window, options)/Raw(payload)` (and
UDP, ICMP, ICMPv6, SCTP alike): IPv4 header without options, DF from `df`,
no fragments; TCP urgent pointer 0; every length and checksum computed; no
Ethernet padding (scapy adds none; the kernel pads short frames on the wire,
and `decode` ignores such trailers). Per protocol:

- TCP: `tcp_flags` holds the 12 bits after the data offset (reserved, NS,
  CWR..FIN); `tcp_options` the raw option bytes.
- UDP: checksum 0 becomes 0xFFFF (RFC 768); `udp_no_csum` sends 0 over IPv4.
- ICMP / ICMPv6: bytes 4-7 are `icmp_id` (high half) and `icmp_seq` (low
  half) whatever the type: the echo id and sequence, the next-hop MTU of
  "fragmentation needed" (in `icmp_seq`), the pointer of "parameter problem".
  An error (ICMP 3, 4, 5, 11, 12; ICMPv6 1-4) quotes `inner` as Linux does:
  the datagram cut to fit 576 bytes of IPv4 or 1280 of IPv6 (icmp_send,
  icmp6_send). Decoding such a cut quote gives an `inner` whose payload is
  cut too; only uncut quotes round-trip exactly.
- SCTP: `seq` is the verification tag, `payload` the chunks, CRC32c checksum.
- Any other protocol: `payload` is everything after the IP header.

`decode` accepts exactly what a record can hold and `encode(decode(b)) == b`
for every frame it accepts with checksums verified (bar Ethernet padding and
cut ICMP quotes). Malformed bytes raise `MalformedPacket`; IP options,
fragments, IPv6 extension headers, VLAN tags and TCP urgent data raise
`UnsupportedPacket`.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from netsim.packet.arp import ArpFrame, ArpOp
from netsim.packet.checksum import crc32c, internet_checksum, pseudo_header_sum
from netsim.packet.errors import InvalidField, MalformedPacket, PacketError, UnsupportedPacket
from netsim.packet.mac import mac_bytes, mac_str
from netsim.packet.record import Packet, Proto

# Header layouts, network byte order (scapy/layers/inet.py fields_desc, RFC numbers on the right).
ETHER = struct.Struct("!6s6sH")         # dst, src, ethertype                                    (IEEE 802.3)
IPV4 = struct.Struct("!BBHHHBBH4s4s")   # version|ihl, tos, total length, id, flags|frag offset,
                                        # ttl, protocol, header checksum, src, dst                (RFC 791)
IPV6 = struct.Struct("!IHBB16s16s")     # version|traffic class|flow label, payload length,
                                        # next header, hop limit, src, dst                        (RFC 8200)
TCP = struct.Struct("!HHIIHHHH")        # sport, dport, seq, ack, data offset|reserved|flags,
                                        # window, checksum, urgent pointer                        (RFC 9293)
UDP = struct.Struct("!HHHH")            # sport, dport, length, checksum                         (RFC 768)
ICMP = struct.Struct("!BBHHH")          # type, code, checksum, rest of header as id, seq        (RFC 792, 4443)
SCTP = struct.Struct("!HHI")            # sport, dport, verification tag; then CRC32c LSB first  (RFC 9260)
ARP = struct.Struct("!HHBBH6s4s6s4s")   # htype, ptype, hlen, plen, op, sha, spa, tha, tpa       (RFC 826)

# Ethertypes netsim reads and writes.
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100  # 802.1Q tag: not emulated

# ICMP types whose body quotes the offending datagram.
ICMPV4_ERRORS = frozenset({
    3,   # destination unreachable (code 4: fragmentation needed, next-hop MTU in bytes 6-7)
    4,   # source quench (deprecated, still parsed)
    5,   # redirect (gateway address in bytes 4-7)
    11,  # time exceeded
    12,  # parameter problem (pointer in byte 4)
})
ICMPV6_ERRORS = frozenset({
    1,  # destination unreachable
    2,  # packet too big (MTU in bytes 4-7)
    3,  # time exceeded
    4,  # parameter problem (pointer in bytes 4-7)
})

# How much of the offending datagram an ICMP error quotes, as Linux does.
ICMPV4_QUOTE_LIMIT = 576 - 20 - 8    # icmp_send: the error fits in 576 bytes
ICMPV6_QUOTE_LIMIT = 1280 - 40 - 8   # icmp6_send: the error fits in the IPv6 minimum MTU

# IPv6 next-header values that are extension headers (RFC 8200 §4, IANA); a record cannot hold them.
IPV6_EXTENSION_HEADERS = frozenset({0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254})

_DF = 0x4000  # IPv4 flags|fragment offset: don't fragment
_MF = 0x2000  # more fragments
_EVIL = 0x8000  # the reserved flag bit


# --------------------------------------------------------------------------- encode


def encode(packet: Packet, src_mac: str | None = None, dst_mac: str | None = None) -> bytes:
    """The Ethernet II frame of `packet`; MACs default to the record's own link addresses."""
    src = mac_bytes(src_mac if src_mac is not None else packet.src_mac, "Ethernet source MAC")
    dst = mac_bytes(dst_mac if dst_mac is not None else packet.dst_mac, "Ethernet destination MAC")
    ethertype = ETHERTYPE_IPV4 if packet.src.version == 4 else ETHERTYPE_IPV6
    return ETHER.pack(dst, src, ethertype) + encode_ip(packet)


def encode_frame(frame: Packet | ArpFrame, src_mac: str | None = None, dst_mac: str | None = None) -> bytes:
    """The bytes of an IP packet record (as `encode`) or of an `ArpFrame` (MAC arguments ignored)."""
    if isinstance(frame, ArpFrame):
        return encode_arp(frame)
    return encode(frame, src_mac, dst_mac)


def encode_ip(packet: Packet) -> bytes:
    """The IPv4 or IPv6 datagram of `packet`, checksums computed."""
    src, dst = packet.src, packet.dst
    if src.version != dst.version:
        raise InvalidField("IP header", f"source {src} and destination {dst} are of different IP versions")
    try:
        segment = _encode_transport(packet)
        if src.version == 4:
            flags = _DF if packet.df else 0
            header = IPV4.pack(0x45, packet.tos, 20 + len(segment), packet.ip_id, flags, packet.ttl,
                               packet.proto, 0, src.packed, dst.packed)
            csum = internet_checksum(header)
            return header[:10] + csum.to_bytes(2, "big") + header[12:] + segment
        first = 0x60000000 | (packet.tos << 20) | packet.flow_label
        if packet.tos > 0xFF or packet.flow_label > 0xFFFFF or packet.flow_label < 0 or packet.tos < 0:
            raise struct.error("traffic class or flow label out of range")
        return IPV6.pack(first, len(segment), packet.proto, packet.ttl, src.packed, dst.packed) + segment
    except struct.error:
        raise _out_of_range(packet) from None


def _encode_transport(packet: Packet) -> bytes:
    """The transport header and payload, checksummed over the IP pseudo-header where the protocol says so."""
    proto = packet.proto
    payload = packet.payload
    if proto == Proto.TCP:
        options = packet.tcp_options
        header_len = 20 + len(options)
        if len(options) & 3 or header_len > 60:
            raise InvalidField("TCP header", f"options must be a multiple of 4 bytes, at most 40; got {len(options)}")
        if packet.tcp_flags >> 12:
            raise InvalidField("TCP header", f"flags 0x{packet.tcp_flags:x} do not fit in 12 bits")
        header = TCP.pack(packet.sport, packet.dport, packet.seq, packet.ack,
                          (header_len << 10) | packet.tcp_flags, packet.window, 0, 0) + options
        length = header_len + len(payload)
        csum = internet_checksum(payload, pseudo_header_sum(packet.src, packet.dst, proto, length)
                                 + int.from_bytes(header, "big"))
        return header[:16] + csum.to_bytes(2, "big") + header[18:] + payload
    if proto == Proto.UDP:
        length = 8 + len(payload)
        if packet.udp_no_csum and packet.src.version == 4:
            return UDP.pack(packet.sport, packet.dport, length, 0) + payload
        csum = internet_checksum(payload, pseudo_header_sum(packet.src, packet.dst, proto, length)
                                 + (packet.sport << 32) + (packet.dport << 16) + length)
        return UDP.pack(packet.sport, packet.dport, length, csum or 0xFFFF) + payload
    if proto == Proto.ICMP or proto == Proto.ICMPV6:
        body = _icmp_body(packet)
        header = ICMP.pack(packet.icmp_type, packet.icmp_code, 0, packet.icmp_id, packet.icmp_seq)
        initial = int.from_bytes(header, "big")
        if proto == Proto.ICMPV6:
            initial += pseudo_header_sum(packet.src, packet.dst, proto, 8 + len(body))
        csum = internet_checksum(body, initial)
        return header[:2] + csum.to_bytes(2, "big") + header[4:] + body
    if proto == Proto.SCTP:
        header = SCTP.pack(packet.sport, packet.dport, packet.seq)
        return header + crc32c(header + b"\0\0\0\0" + payload).to_bytes(4, "little") + payload
    return payload


def _icmp_body(packet: Packet) -> bytes:
    """What follows an ICMP header: the quoted datagram of an error, else the payload."""
    inner = packet.inner
    if inner is None:
        return packet.payload
    if packet.payload:
        raise InvalidField("ICMP header", "a record with an inner (quoted) datagram must have an empty payload")
    limit = ICMPV4_QUOTE_LIMIT if packet.src.version == 4 else ICMPV6_QUOTE_LIMIT
    return encode_ip(inner)[:limit]


# Field ranges checked only after struct refused a value, to name the culprit.
_RANGES = (
    ("sport", 0xFFFF), ("dport", 0xFFFF), ("seq", 0xFFFFFFFF), ("ack", 0xFFFFFFFF),
    ("window", 0xFFFF), ("icmp_type", 0xFF), ("icmp_code", 0xFF), ("icmp_id", 0xFFFF),
    ("icmp_seq", 0xFFFF), ("ttl", 0xFF), ("ip_id", 0xFFFF), ("tos", 0xFF), ("proto", 0xFF),
    ("flow_label", 0xFFFFF), ("tcp_flags", 0xFFF),
)


def _out_of_range(packet: Packet) -> PacketError:
    """The error naming the first field of `packet` that does not fit its header."""
    for name, top in _RANGES:
        value = getattr(packet, name)
        if not 0 <= value <= top:
            return InvalidField("packet record", f"{name} must be between 0 and {top}, got {value}")
    return InvalidField("packet record", "a field does not fit its header")


# --------------------------------------------------------------------------- decode


def decode(frame: bytes, verify_checksums: bool = True) -> Packet:
    """The record of an Ethernet II frame carrying IPv4 or IPv6, with its MACs."""
    ethertype = _ethertype(frame)
    if ethertype not in (ETHERTYPE_IPV4, ETHERTYPE_IPV6):
        if ethertype == ETHERTYPE_ARP:
            raise UnsupportedPacket("Ethernet header", "ethertype 0x0806 is ARP; use decode_frame or decode_arp")
        raise UnsupportedPacket("Ethernet header", f"ethertype 0x{ethertype:04x} is not IPv4 or IPv6")
    packet = _decode_ip(frame[14:], verify_checksums, quoted=False)
    if (packet.src.version == 4) != (ethertype == ETHERTYPE_IPV4):
        raise MalformedPacket("Ethernet header", f"ethertype 0x{ethertype:04x} carries an IPv{packet.src.version} datagram")
    packet.dst_mac = mac_str(frame[0:6])
    packet.src_mac = mac_str(frame[6:12])
    return packet


def decode_ip(data: bytes, verify_checksums: bool = True) -> Packet:
    """The record of a bare IPv4 or IPv6 datagram (link addresses left None)."""
    return _decode_ip(data, verify_checksums, quoted=False)


def decode_frame(frame: bytes, verify_checksums: bool = True) -> Packet | ArpFrame:
    """A `Packet` for an IP frame, an `ArpFrame` for an ARP frame."""
    if _ethertype(frame) == ETHERTYPE_ARP:
        return decode_arp(frame)
    return decode(frame, verify_checksums)


def _ethertype(frame: bytes) -> int:
    """The ethertype of `frame`; 802.1Q tags and 802.3 length fields are refused."""
    if len(frame) < 14:
        raise MalformedPacket("Ethernet header", f"truncated: {len(frame)} bytes, need 14")
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == ETHERTYPE_VLAN:
        raise UnsupportedPacket("Ethernet header", "802.1Q VLAN tags are not supported")
    if ethertype < 0x0600:
        raise UnsupportedPacket("Ethernet header", f"802.3 length field {ethertype} (not Ethernet II)")
    return ethertype


def _decode_ip(data: bytes, verify: bool, quoted: bool) -> Packet:
    """Parse an IP datagram; `quoted` (inside an ICMP error) tolerates a cut tail."""
    if not data:
        raise MalformedPacket("quoted IP header" if quoted else "IP header", "empty")
    version = data[0] >> 4
    if version == 4:
        return _decode_ipv4(data, verify, quoted)
    if version == 6:
        return _decode_ipv6(data, verify, quoted)
    raise MalformedPacket("quoted IP header" if quoted else "IP header", f"version {version}, expected 4 or 6")


def _decode_ipv4(data: bytes, verify: bool, quoted: bool) -> Packet:
    """Parse an IPv4 header (no options, no fragments) and its transport."""
    where = "quoted IPv4 header" if quoted else "IPv4 header"
    if len(data) < 20:
        raise MalformedPacket(where, f"truncated: {len(data)} bytes, need 20")
    vihl, tos, total, ident, frag, ttl, proto, csum, src, dst = IPV4.unpack_from(data)
    ihl = (vihl & 0x0F) * 4
    if ihl < 20:
        raise MalformedPacket(where, f"header length {ihl} is below 20")
    if ihl > 20:
        raise UnsupportedPacket(where, f"IP options are not supported ({ihl - 20} bytes)")
    if total < 20:
        raise MalformedPacket(where, f"total length {total} is shorter than the header")
    cut = total > len(data)
    if cut and not quoted:
        raise MalformedPacket(where, f"total length {total} exceeds the {len(data)} bytes present")
    if frag & _EVIL:
        raise UnsupportedPacket(where, "the reserved flag bit is set")
    if frag & (_MF | 0x1FFF):
        raise UnsupportedPacket(where, f"fragments are not supported (MF={int(bool(frag & _MF))}, "
                                       f"offset {(frag & 0x1FFF) * 8})")
    if verify:
        expected = internet_checksum(bytes(data[:10]) + b"\0\0" + bytes(data[12:20]))
        if expected != csum:
            raise MalformedPacket(where, f"bad header checksum 0x{csum:04x}, expected 0x{expected:04x}")
    packet = Packet(IPv4Address(src), IPv4Address(dst), proto, ttl=ttl, ip_id=ident, df=bool(frag & _DF), tos=tos)
    _decode_transport(packet, bytes(data[20:min(total, len(data))]), verify and not cut, quoted, cut)
    return packet


def _decode_ipv6(data: bytes, verify: bool, quoted: bool) -> Packet:
    """Parse an IPv6 header (no extension headers) and its transport."""
    where = "quoted IPv6 header" if quoted else "IPv6 header"
    if len(data) < 40:
        raise MalformedPacket(where, f"truncated: {len(data)} bytes, need 40")
    first, length, next_header, hop_limit, src, dst = IPV6.unpack_from(data)
    if next_header in IPV6_EXTENSION_HEADERS:
        raise UnsupportedPacket(where, f"extension header {next_header} is not supported")
    end = 40 + length
    cut = end > len(data)
    if cut and not quoted:
        raise MalformedPacket(where, f"payload length {length} exceeds the {len(data) - 40} bytes present")
    packet = Packet(IPv6Address(src), IPv6Address(dst), next_header, ttl=hop_limit,
                    tos=(first >> 20) & 0xFF, flow_label=first & 0xFFFFF)
    _decode_transport(packet, bytes(data[40:min(end, len(data))]), verify and not cut, quoted, cut)
    return packet


def _decode_transport(packet: Packet, segment: bytes, verify: bool, quoted: bool, cut: bool) -> None:
    """Fill `packet`'s transport fields from `segment`; `cut` means the quote ended early."""
    proto = packet.proto
    if proto == Proto.TCP:
        _decode_tcp(packet, segment, verify, quoted, cut)
    elif proto == Proto.UDP:
        _decode_udp(packet, segment, verify, quoted, cut)
    elif proto == Proto.ICMP or proto == Proto.ICMPV6:
        _decode_icmp(packet, segment, verify, quoted, cut)
    elif proto == Proto.SCTP:
        _decode_sctp(packet, segment, verify, quoted, cut)
    else:
        packet.payload = segment


def _where(name: str, quoted: bool) -> str:
    """The header's name in errors: `TCP header`, or `quoted TCP header` inside an ICMP error."""
    return f"quoted {name} header" if quoted else f"{name} header"


def _cut_ports(packet: Packet, segment: bytes) -> None:
    """Keep what a cut quote still shows of a port-based header (ports, then the TCP sequence)."""
    if len(segment) >= 4:
        packet.sport, packet.dport = struct.unpack_from("!HH", segment)
    if packet.proto == Proto.TCP and len(segment) >= 8:
        packet.seq = struct.unpack_from("!I", segment, 4)[0]


def _decode_tcp(packet: Packet, segment: bytes, verify: bool, quoted: bool, cut: bool) -> None:
    """TCP header, options and payload; the urgent pointer must be 0 (the record has no field for it)."""
    where = _where("TCP", quoted)
    if len(segment) < 20:
        if cut:
            return _cut_ports(packet, segment)
        raise MalformedPacket(where, f"truncated: {len(segment)} bytes, need 20")
    sport, dport, seq, ack, offset_flags, window, csum, urgent = TCP.unpack_from(segment)
    header_len = (offset_flags >> 12) * 4
    if header_len < 20:
        raise MalformedPacket(where, f"data offset {header_len} bytes is below 20")
    if header_len > len(segment):
        if cut:
            return _cut_ports(packet, segment)
        raise MalformedPacket(where, f"data offset {header_len} bytes exceeds the {len(segment)} bytes present")
    if verify:
        zeroed = segment[:16] + b"\0\0" + segment[18:]
        expected = internet_checksum(zeroed, pseudo_header_sum(packet.src, packet.dst, Proto.TCP, len(segment)))
        if expected != csum:
            raise MalformedPacket(where, f"bad checksum 0x{csum:04x}, expected 0x{expected:04x}")
    if urgent:
        raise UnsupportedPacket(where, f"urgent pointer {urgent} is not supported")
    packet.sport, packet.dport, packet.seq, packet.ack = sport, dport, seq, ack
    packet.tcp_flags = offset_flags & 0x0FFF
    packet.window = window
    packet.tcp_options = segment[20:header_len]
    packet.payload = segment[header_len:]


def _decode_udp(packet: Packet, segment: bytes, verify: bool, quoted: bool, cut: bool) -> None:
    """UDP header and payload; checksum 0 over IPv4 sets `udp_no_csum`."""
    where = _where("UDP", quoted)
    if len(segment) < 8:
        if cut:
            return _cut_ports(packet, segment)
        raise MalformedPacket(where, f"truncated: {len(segment)} bytes, need 8")
    sport, dport, length, csum = UDP.unpack_from(segment)
    if not cut and length != len(segment):
        raise MalformedPacket(where, f"length {length} disagrees with the {len(segment)} bytes of IP payload")
    packet.sport, packet.dport = sport, dport
    packet.payload = segment[8:length] if not cut else segment[8:]
    if csum == 0:
        if packet.src.version == 6 and not cut:
            raise MalformedPacket(where, "checksum 0 is not allowed over IPv6")
        packet.udp_no_csum = True
    elif verify:
        zeroed = segment[:6] + b"\0\0" + segment[8:]
        expected = internet_checksum(zeroed, pseudo_header_sum(packet.src, packet.dst, Proto.UDP, length)) or 0xFFFF
        if expected != csum:
            raise MalformedPacket(where, f"bad checksum 0x{csum:04x}, expected 0x{expected:04x}")


def _decode_icmp(packet: Packet, segment: bytes, verify: bool, quoted: bool, cut: bool) -> None:
    """ICMP or ICMPv6 header; an error's body becomes `inner`, any other body the payload."""
    proto = packet.proto
    where = _where("ICMPv6" if proto == Proto.ICMPV6 else "ICMP", quoted)
    if len(segment) < 8:
        if cut:
            if len(segment) >= 2:
                packet.icmp_type, packet.icmp_code = segment[0], segment[1]
            return None
        raise MalformedPacket(where, f"truncated: {len(segment)} bytes, need 8")
    icmp_type, code, csum, ident, seq = ICMP.unpack_from(segment)
    if verify:
        zeroed = segment[:2] + b"\0\0" + segment[4:]
        initial = pseudo_header_sum(packet.src, packet.dst, proto, len(segment)) if proto == Proto.ICMPV6 else 0
        expected = internet_checksum(zeroed, initial)
        if expected != csum:
            raise MalformedPacket(where, f"bad checksum 0x{csum:04x}, expected 0x{expected:04x}")
    packet.icmp_type, packet.icmp_code, packet.icmp_id, packet.icmp_seq = icmp_type, code, ident, seq
    body = segment[8:]
    errors = ICMPV6_ERRORS if proto == Proto.ICMPV6 else ICMPV4_ERRORS
    if body and icmp_type in errors and not cut:
        packet.inner = _decode_ip(body, verify, quoted=True)
    else:
        packet.payload = body


def _decode_sctp(packet: Packet, segment: bytes, verify: bool, quoted: bool, cut: bool) -> None:
    """SCTP common header (verification tag into `seq`) and the chunks as payload."""
    where = _where("SCTP", quoted)
    if len(segment) < 12:
        if cut:
            return _cut_ports(packet, segment)
        raise MalformedPacket(where, f"truncated: {len(segment)} bytes, need 12")
    packet.sport, packet.dport, packet.seq = SCTP.unpack_from(segment)
    if verify:
        stored = int.from_bytes(segment[8:12], "little")
        expected = crc32c(segment[:8] + b"\0\0\0\0" + segment[12:])
        if expected != stored:
            raise MalformedPacket(where, f"bad CRC32c 0x{stored:08x}, expected 0x{expected:08x}")
    packet.payload = segment[12:]


# --------------------------------------------------------------------------- ARP


def encode_arp(arp: ArpFrame) -> bytes:
    """The 42-byte Ethernet frame of an IPv4 ARP request or reply (no padding, as scapy builds it)."""
    return ETHER.pack(mac_bytes(arp.dst_mac), mac_bytes(arp.src_mac), ETHERTYPE_ARP) + ARP.pack(
        1, ETHERTYPE_IPV4, 6, 4, arp.op, mac_bytes(arp.sender_mac), arp.sender_ip.packed,
        mac_bytes(arp.target_mac), arp.target_ip.packed)


def decode_arp(frame: bytes) -> ArpFrame:
    """The `ArpFrame` of an Ethernet/IPv4 ARP frame; trailing Ethernet padding is ignored."""
    ethertype = _ethertype(frame)
    if ethertype != ETHERTYPE_ARP:
        raise UnsupportedPacket("Ethernet header", f"ethertype 0x{ethertype:04x} is not ARP")
    if len(frame) < 14 + ARP.size:
        raise MalformedPacket("ARP header", f"truncated: {len(frame) - 14} bytes, need {ARP.size}")
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = ARP.unpack_from(frame, 14)
    if (htype, ptype, hlen, plen) != (1, ETHERTYPE_IPV4, 6, 4):
        raise UnsupportedPacket("ARP header", f"hardware type {htype}, protocol 0x{ptype:04x} "
                                              f"(lengths {hlen}/{plen}): only Ethernet/IPv4 is supported")
    if op not in (ArpOp.REQUEST, ArpOp.REPLY):
        raise UnsupportedPacket("ARP header", f"operation {op} is not a request (1) or reply (2)")
    return ArpFrame(ArpOp(op), mac_str(sha), IPv4Address(spa), mac_str(tha), IPv4Address(tpa),
                    mac_str(frame[6:12]), mac_str(frame[0:6]))
