"""Hypothesis strategies for packet records, and a field view for comparing them."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from hypothesis import strategies as st

from netsim.packet import Packet, Proto
from netsim.packet.wire import ICMPV4_ERRORS, ICMPV6_ERRORS

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
macs = st.binary(min_size=6, max_size=6).map(lambda raw: raw.hex(":"))
ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(IPv6Address)
payloads = st.binary(max_size=96) | st.binary(min_size=600, max_size=1400)

# Well-formed TCP options as the kernel sends them: (raw bytes, scapy's (name, value)).
_TCP_OPTIONS = st.one_of(
    u16.map(lambda v: (b"\x02\x04" + struct.pack("!H", v), ("MSS", v))),
    st.just((b"\x01", ("NOP", None))),
    st.integers(0, 14).map(lambda v: (b"\x03\x03" + bytes([v]), ("WScale", v))),
    st.just((b"\x04\x02", ("SAckOK", b""))),
    st.tuples(u32, u32).map(lambda t: (b"\x08\x0a" + struct.pack("!II", *t), ("Timestamp", t))),
)


@st.composite
def tcp_options(draw):
    """(raw option bytes padded with EOL to a multiple of 4, scapy option list)."""
    chosen = draw(st.lists(_TCP_OPTIONS, max_size=4))
    raw = b"".join(r for r, _ in chosen)
    raw += b"\0" * (-len(raw) % 4)
    return raw, [s for _, s in chosen]


def addresses(version):
    return ipv4 if version == 4 else ipv6


@st.composite
def ip_common(draw, version, proto):
    """A record with random IP-level fields and no transport fields yet."""
    addr = addresses(version)
    return Packet(draw(addr), draw(addr), proto, ttl=draw(u8), ip_id=draw(u16) if version == 4 else 0,
                  df=draw(st.booleans()) if version == 4 else True, tos=draw(u8),
                  flow_label=draw(st.integers(0, 0xFFFFF)) if version == 6 else 0)


@st.composite
def tcp_packets(draw, version):
    p = draw(ip_common(version, Proto.TCP))
    p.sport, p.dport, p.seq, p.ack, p.window = draw(u16), draw(u16), draw(u32), draw(u32), draw(u16)
    p.tcp_flags = draw(st.integers(0, 0xFFF))
    p.tcp_options = draw(tcp_options())[0]
    p.payload = draw(payloads)
    return p


@st.composite
def udp_packets(draw, version):
    p = draw(ip_common(version, Proto.UDP))
    p.sport, p.dport = draw(u16), draw(u16)
    p.udp_no_csum = version == 4 and draw(st.booleans())
    p.payload = draw(payloads)
    return p


@st.composite
def sctp_packets(draw, version):
    p = draw(ip_common(version, Proto.SCTP))
    p.sport, p.dport, p.seq = draw(u16), draw(u16), draw(u32)
    p.payload = draw(st.binary(max_size=64))
    return p


@st.composite
def icmp_packets(draw, version):
    """Echo, errors quoting a TCP/UDP datagram, and any other type with a raw body."""
    proto = Proto.ICMP if version == 4 else Proto.ICMPV6
    errors = ICMPV4_ERRORS if version == 4 else ICMPV6_ERRORS
    p = draw(ip_common(version, proto))
    echo = (8, 0) if version == 4 else (128, 129)
    p.icmp_type = draw(st.sampled_from(echo) | st.sampled_from(sorted(errors)) | u8)
    p.icmp_code, p.icmp_id, p.icmp_seq = draw(u8), draw(u16), draw(u16)
    if p.icmp_type in errors:
        if draw(st.booleans()):
            p.inner = draw(st.one_of(tcp_packets(version), udp_packets(version)))
    else:
        p.payload = draw(payloads)
    return p


def packets(version=None):
    """Any record netsim encodes, IPv4 or IPv6."""
    versions = [version] if version else [4, 6]
    return st.one_of(*[kind(v) for v in versions
                       for kind in (tcp_packets, udp_packets, icmp_packets, sctp_packets)])


def with_macs(packet_strategy):
    """Records that carry link addresses."""
    @st.composite
    def build(draw):
        p = draw(packet_strategy)
        p.src_mac, p.dst_mac = draw(macs), draw(macs)
        return p
    return build()


_SKIP = {"ct", "mark", "ct_reply", "inner"}


def view(packet: Packet | None):
    """Every wire-visible field of a record (inner included), for equality checks."""
    if packet is None:
        return None
    names = [n for n in Packet.__dataclass_fields__ if n not in _SKIP]
    fields = {n: getattr(packet, n) for n in names}
    if packet.src.version == 6:
        fields["df"] = None
        fields["ip_id"] = None
    fields["inner"] = view(packet.inner)
    return fields
