"""wire.encode equals scapy's bytes for the same headers; decode inverts encode."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers import inet6
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.layers.sctp import SCTP
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

from netsim.errors import NetsimError
from netsim.packet import Packet, Proto, wire
from netsim.packet.arp import ArpFrame
from netsim.packet.errors import InvalidField, MalformedPacket, PacketError, UnsupportedPacket
from netsim.packet.vxlan import split_vxlan, vxlan_decap, vxlan_encap, vxlan_payload
from packet_strategies import (
    ipv4, macs, packets, payloads, sctp_packets, tcp_options, tcp_packets, u8, u16,
    udp_packets, view, with_macs,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAC_A, MAC_B = "02:42:0a:00:00:01", "02:42:0a:00:00:02"


def quote_is_cut(p: Packet) -> bool:
    """Whether `p` is an ICMP error whose quoted datagram is longer than Linux quotes."""
    limit = wire.ICMPV4_QUOTE_LIMIT if p.version == 4 else wire.ICMPV6_QUOTE_LIMIT
    return p.inner is not None and len(wire.encode_ip(p.inner)) > limit


def scapy_ip(p: Packet):
    """The scapy IP/IPv6 header of a record, written out field by field (independently of scapy_bridge)."""
    if p.src.version == 4:
        return IP(src=str(p.src), dst=str(p.dst), ttl=p.ttl, id=p.ip_id, flags="DF" if p.df else 0, tos=p.tos)
    return IPv6(src=str(p.src), dst=str(p.dst), hlim=p.ttl, tc=p.tos, fl=p.flow_label)


def scapy_transport(p: Packet, options=None):
    """The scapy transport layer for TCP/UDP/SCTP records."""
    if p.proto == Proto.TCP:
        return TCP(sport=p.sport, dport=p.dport, seq=p.seq, ack=p.ack, flags=p.tcp_flags & 0x1FF,
                   reserved=p.tcp_flags >> 9, window=p.window, options=options or [])
    if p.proto == Proto.UDP:
        return UDP(sport=p.sport, dport=p.dport, chksum=0 if p.udp_no_csum else None)
    return SCTP(sport=p.sport, dport=p.dport, tag=p.seq)


# ---------------------------------------------------------------- encode == scapy

@SETTINGS
@given(st.data(), st.sampled_from([4, 6]), macs, macs)
def test_tcp_frame_equals_scapy(data, version, src_mac, dst_mac):
    p = data.draw(tcp_packets(version))
    raw_options, scapy_options = data.draw(tcp_options())
    p.tcp_options = raw_options
    reference = Ether(src=src_mac, dst=dst_mac) / scapy_ip(p) / scapy_transport(p, scapy_options) / Raw(p.payload)
    assert wire.encode(p, src_mac, dst_mac) == bytes(reference)


@SETTINGS
@given(st.sampled_from([4, 6]).flatmap(lambda v: udp_packets(v) | sctp_packets(v)), macs, macs)
def test_udp_and_sctp_frames_equal_scapy(p, src_mac, dst_mac):
    reference = Ether(src=src_mac, dst=dst_mac) / scapy_ip(p) / scapy_transport(p) / Raw(p.payload)
    assert wire.encode(p, src_mac, dst_mac) == bytes(reference)


@SETTINGS
@given(ipv4, ipv4, u8, u16, u16, st.sampled_from([0, 8]), payloads)
def test_icmp_echo_equals_scapy(src, dst, ttl, ident, seq, kind, payload):
    p = Packet(src, dst, Proto.ICMP, icmp_type=kind, icmp_id=ident, icmp_seq=seq, ttl=ttl, payload=payload)
    reference = Ether(src=MAC_A, dst=MAC_B) / scapy_ip(p) / ICMP(type=kind, id=ident, seq=seq) / Raw(payload)
    assert wire.encode(p, MAC_A, MAC_B) == bytes(reference)


@SETTINGS
@given(st.data(), st.sampled_from([(3, 3), (3, 4), (11, 0)]), u16)
def test_icmp_error_quotes_inner_like_scapy(data, kind_code, mtu):
    kind, code = kind_code
    inner = data.draw(tcp_packets(4) | udp_packets(4))
    inner.tcp_options = b""
    p = Packet(inner.dst, inner.src, Proto.ICMP, icmp_type=kind, icmp_code=code, icmp_seq=mtu, inner=inner)
    quoted = bytes(scapy_ip(inner) / scapy_transport(inner) / Raw(inner.payload))
    rest = dict(nexthopmtu=mtu) if kind == 3 else dict(unused=mtu)
    # Linux quotes at most 576 - 20 - 8 bytes of the offending datagram.
    reference = Ether(src=MAC_A, dst=MAC_B) / scapy_ip(p) / ICMP(type=kind, code=code, **rest) / Raw(quoted[:548])
    assert wire.encode(p, MAC_A, MAC_B) == bytes(reference)
    if len(quoted) <= 548:
        layered = Ether(src=MAC_A, dst=MAC_B) / scapy_ip(p) / ICMP(type=kind, code=code, **rest) / IP(quoted)
        assert wire.encode(p, MAC_A, MAC_B) == bytes(layered)


@SETTINGS
@given(st.data(), u16, u16, payloads)
def test_icmpv6_echo_and_errors_equal_scapy(data, ident, seq, payload):
    src, dst = ip_address("fd00::1"), ip_address("fd00::2")
    echo = Packet(src, dst, Proto.ICMPV6, icmp_type=128, icmp_id=ident, icmp_seq=seq, payload=payload, ttl=64)
    reference = Ether(src=MAC_A, dst=MAC_B) / IPv6(src="fd00::1", dst="fd00::2", hlim=64) / \
        inet6.ICMPv6EchoRequest(id=ident, seq=seq, data=payload)
    assert wire.encode(echo, MAC_A, MAC_B) == bytes(reference)

    inner = data.draw(udp_packets(6))
    error = Packet(dst, src, Proto.ICMPV6, icmp_type=1, icmp_code=4, inner=inner, ttl=64)
    quoted = bytes(scapy_ip(inner) / scapy_transport(inner) / Raw(inner.payload))
    reference = Ether(src=MAC_A, dst=MAC_B) / IPv6(src="fd00::2", dst="fd00::1", hlim=64) / \
        inet6.ICMPv6DestUnreach(code=4) / Raw(quoted[:1232])
    assert wire.encode(error, MAC_A, MAC_B) == bytes(reference)


@SETTINGS
@given(macs, ipv4, ipv4, macs)
def test_arp_equals_scapy(sender_mac, sender_ip, target_ip, target_mac):
    request = ArpFrame.request(sender_mac, sender_ip, target_ip)
    assert wire.encode_arp(request) == bytes(
        Ether(src=sender_mac, dst="ff:ff:ff:ff:ff:ff") /
        ARP(op=1, hwsrc=sender_mac, psrc=str(sender_ip), hwdst="00:00:00:00:00:00", pdst=str(target_ip)))
    reply = ArpFrame.reply(sender_mac, sender_ip, target_mac, target_ip)
    assert wire.encode_arp(reply) == bytes(
        Ether(src=sender_mac, dst=target_mac) /
        ARP(op=2, hwsrc=sender_mac, psrc=str(sender_ip), hwdst=target_mac, pdst=str(target_ip)))
    assert wire.decode_arp(wire.encode_arp(reply)) == reply
    assert wire.encode_frame(reply) == wire.encode_arp(reply)
    assert wire.decode_frame(wire.encode_arp(request) + b"\0" * 18) == request  # padded to 60 on the wire


@SETTINGS
@given(with_macs(tcp_packets(4) | udp_packets(4)), st.integers(0, 0xFFFFFF), ipv4, ipv4, u16, st.booleans())
def test_vxlan_equals_scapy(inner, vni, vtep_src, vtep_dst, sport, udp_csum):
    inner.tcp_options = b""
    outer = vxlan_encap(inner, vni, src=vtep_src, dst=vtep_dst, sport=sport, ip_id=7, udp_csum=udp_csum)
    reference = (Ether(src=MAC_A, dst=MAC_B) /
                 IP(src=str(vtep_src), dst=str(vtep_dst), ttl=64, id=7, flags=0, tos=0) /
                 UDP(sport=sport, dport=4789, chksum=None if udp_csum else 0) / VXLAN(flags=0x08, vni=vni) /  # scapy builds VXLAN-GPE flags (0x0c) unless told
                 Ether(src=inner.src_mac, dst=inner.dst_mac) / scapy_ip(inner) / scapy_transport(inner) /
                 Raw(inner.payload))
    frame = wire.encode(outer, MAC_A, MAC_B)
    assert frame == bytes(reference)
    got_vni, got_inner = vxlan_decap(wire.decode(frame))
    assert got_vni == vni and view(got_inner) == view(inner)


def test_vxlan_payload_split():
    assert split_vxlan(vxlan_payload(42, b"frame")) == (42, b"frame")
    with pytest.raises(MalformedPacket, match="VNI-valid"):
        split_vxlan(b"\0" * 8 + b"frame")
    with pytest.raises(InvalidField, match="VNI"):
        vxlan_payload(1 << 24, b"")


# ---------------------------------------------------------------- round trips

@SETTINGS
@given(with_macs(packets()))
def test_decode_inverts_encode(p):
    frame = wire.encode(p)
    back = wire.decode(frame)
    if quote_is_cut(p):
        # A cut quote keeps the headers; the inner payload is cut short.
        assert view(back)["inner"]["src"] == p.inner.src
        return
    assert view(back) == view(p)
    assert wire.encode(back) == frame


@SETTINGS
@given(packets())
def test_decode_ip_inverts_encode_ip(p):
    data = wire.encode_ip(p)
    if not quote_is_cut(p):
        assert wire.encode_ip(wire.decode_ip(data)) == data


@SETTINGS
@given(st.binary(max_size=120))
def test_decode_of_arbitrary_bytes_returns_or_raises_packet_error(data):
    for decoder in (wire.decode_frame, wire.decode_ip):
        try:
            decoder(data)
        except PacketError:
            pass


@SETTINGS
@given(with_macs(packets()), st.data())
def test_corrupted_checksummed_bytes_are_refused(p, data):
    frame = bytearray(wire.encode(p))
    # IPv4: every header byte is under the header checksum; IPv6 has none, so start at the transport.
    first, last = (14 if p.version == 4 else 54), len(frame) - 1
    if p.udp_no_csum:
        last = 33  # a zero UDP checksum leaves only the IPv4 header checked
    index = data.draw(st.integers(first, last))
    frame[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(PacketError):
        wire.decode(bytes(frame))


# ---------------------------------------------------------------- errors

def test_errors_name_the_header():
    p = Packet(ip_address("10.0.0.1"), ip_address("10.0.0.2"), Proto.TCP, sport=1, dport=2,
               src_mac=MAC_A, dst_mac=MAC_B, payload=b"x")
    frame = wire.encode(p)
    with pytest.raises(MalformedPacket, match=r"^Ethernet header: truncated: 10 bytes, need 14$"):
        wire.decode(frame[:10])
    with pytest.raises(MalformedPacket, match=r"^IPv4 header: total length 41 exceeds the 30 bytes present$"):
        wire.decode(frame[:44])
    with pytest.raises(MalformedPacket, match=r"^TCP header: bad checksum"):
        wire.decode(frame[:-1] + bytes([frame[-1] ^ 1]))
    assert wire.decode(frame[:-1] + bytes([frame[-1] ^ 1]), verify_checksums=False).sport == 1
    with pytest.raises(UnsupportedPacket, match="ARP"):
        wire.decode(wire.encode_arp(ArpFrame.request(MAC_A, "10.0.0.1", "10.0.0.2")))
    fragment = bytearray(frame)
    fragment[20] |= 0x20  # MF
    with pytest.raises(UnsupportedPacket, match="fragments"):
        wire.decode(bytes(fragment), verify_checksums=False)
    with_options = bytearray(frame)
    with_options[14] = 0x46
    with pytest.raises(UnsupportedPacket, match="IP options"):
        wire.decode(bytes(with_options))
    assert issubclass(PacketError, NetsimError)


def test_encode_refuses_out_of_range_fields_and_missing_macs():
    p = Packet(ip_address("10.0.0.1"), ip_address("10.0.0.2"), Proto.UDP, sport=70000)
    with pytest.raises(InvalidField, match="sport must be between 0 and 65535, got 70000"):
        wire.encode_ip(p)
    p.sport = 1
    with pytest.raises(InvalidField, match="Ethernet source MAC: missing"):
        wire.encode(p)
    with pytest.raises(InvalidField, match="not a MAC address"):
        wire.encode(p, "zz:00:00:00:00:00", MAC_B)
    with pytest.raises(InvalidField, match="different IP versions"):
        wire.encode_ip(Packet(ip_address("10.0.0.1"), ip_address("::1"), Proto.UDP))


def test_ethernet_padding_is_ignored():
    p = Packet(ip_address("10.0.0.1"), ip_address("10.0.0.2"), Proto.UDP, sport=53, dport=53,
               src_mac=MAC_A, dst_mac=MAC_B)
    frame = wire.encode(p)
    assert len(frame) == 42
    assert view(wire.decode(frame + b"\0" * 18)) == view(p)


def test_kernel_syn_with_options_round_trips():
    # A SYN as Linux 6.x sends it: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
    options = bytes.fromhex("020405b40402080a0001e2400000000001030307")
    reference = (Ether(src=MAC_A, dst=MAC_B) / IP(src="10.244.1.5", dst="10.96.0.10", ttl=64, id=0x1c46, flags="DF") /
                 TCP(sport=40000, dport=53, seq=1, flags="S", window=64240,
                     options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)), ("NOP", None),
                              ("WScale", 7)]))
    p = wire.decode(bytes(reference))
    assert p.tcp_options == options and p.tcp_flags == 0x02
    assert wire.encode(p) == bytes(reference)


def test_host_lookups_are_refused(no_host_lookups):
    from conftest import HostLookup

    with pytest.raises(HostLookup):
        bytes(Ether() / IP(dst="192.0.2.1") / TCP())


def test_vxlan_carries_arp():
    request = ArpFrame.request(MAC_A, "10.244.1.0", "10.244.2.0")
    outer = vxlan_encap(request, 1, src="172.18.0.2", dst="172.18.0.3", sport=40000, dport=8472)
    assert outer.udp_no_csum and not outer.df and outer.ttl == 64
    assert vxlan_decap(wire.decode(wire.encode(outer, MAC_A, MAC_B))) == (1, request)
