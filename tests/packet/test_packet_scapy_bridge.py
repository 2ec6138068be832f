"""to_scapy builds the same bytes as wire.encode without asking the host; from_scapy inverts it."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from hypothesis import HealthCheck, given, settings
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from netsim.packet import Packet, Proto, wire
from netsim.packet.arp import ArpFrame
from netsim.packet.errors import UnsupportedPacket
from netsim.packet.scapy_bridge import from_scapy, to_scapy
from packet_strategies import ipv4, macs, packets, view, with_macs

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def quote_is_cut(p: Packet) -> bool:
    limit = wire.ICMPV4_QUOTE_LIMIT if p.version == 4 else wire.ICMPV6_QUOTE_LIMIT
    return p.inner is not None and len(wire.encode_ip(p.inner)) > limit


@SETTINGS
@given(with_macs(packets()))
def test_to_scapy_bytes_equal_encode(p):
    built = to_scapy(p)
    assert isinstance(built, Ether)
    assert bytes(built) == wire.encode(p)


@SETTINGS
@given(packets())
def test_to_scapy_without_macs_is_the_ip_layer(p):
    built = to_scapy(p)
    assert not isinstance(built, Ether)
    assert bytes(built) == wire.encode_ip(p)


@SETTINGS
@given(with_macs(packets()))
def test_from_scapy_inverts_to_scapy(p):
    back = from_scapy(to_scapy(p))
    if not quote_is_cut(p):
        assert view(back) == view(p)
    assert wire.encode(back) == wire.encode(p) or quote_is_cut(p)


@SETTINGS
@given(macs, ipv4, macs, ipv4)
def test_arp_through_scapy(sender_mac, sender_ip, target_mac, target_ip):
    reply = ArpFrame.reply(sender_mac, sender_ip, target_mac, target_ip)
    built = to_scapy(reply)
    assert ARP in built and bytes(built) == wire.encode_arp(reply)
    assert from_scapy(built) == reply


def test_icmp_error_is_layered_for_dissection():
    inner = Packet(ip_address("10.244.1.5"), ip_address("10.96.0.10"), Proto.UDP, sport=40000, dport=53,
                   payload=b"query")
    error = Packet(ip_address("10.96.0.10"), ip_address("10.244.1.5"), Proto.ICMP, icmp_type=3, icmp_code=3,
                   inner=inner)
    built = to_scapy(error, "02:00:00:00:00:01", "02:00:00:00:00:02")
    assert built[ICMP].type == 3 and built[ICMP].payload[UDP].dport == 53


def test_from_scapy_of_a_user_packet_and_simulated_time():
    user = (Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
            IP(src="10.0.0.1", dst="10.0.0.2", ttl=64, id=1, flags="DF") /
            TCP(sport=1234, dport=80, flags="PA", seq=10, ack=20, window=502) / Raw(b"GET / HTTP/1.1\r\n\r\n"))
    p = from_scapy(user)
    assert (p.sport, p.dport, p.tcp_flags, p.window, p.src_mac) == (1234, 80, 0x18, 502, "02:00:00:00:00:01")
    assert to_scapy(p, time=1_700_000_000.25).time == 1_700_000_000.25
    with pytest.raises(UnsupportedPacket, match="TCP is not Ether, IP or IPv6"):
        from_scapy(TCP(sport=1, dport=2))


@pytest.mark.parametrize("version", [4, 6])
def test_every_icmp_type_through_scapy(version):
    """All 256 types, with and without bytes 4-7 and body: scapy's per-type fields never shift a byte."""
    src, dst = (ip_address("10.0.0.1"), ip_address("10.0.0.2")) if version == 4 else \
        (ip_address("fd00::1"), ip_address("fd00::2"))
    proto = Proto.ICMP if version == 4 else Proto.ICMPV6
    errors = wire.ICMPV4_ERRORS if version == 4 else wire.ICMPV6_ERRORS
    inner = Packet(dst, src, Proto.UDP, sport=5, dport=53, payload=b"abc")
    for kind in range(256):
        for ident, seq, body in ((0, 0, b""), (0x0102, 0x0304, b"\x05" * 9)):
            p = Packet(src, dst, proto, icmp_type=kind, icmp_code=kind % 16, icmp_id=ident, icmp_seq=seq,
                       src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02")
            if kind in errors and body:
                p.inner = inner.clone()
            else:
                p.payload = body
            built = to_scapy(p)
            assert bytes(built) == wire.encode(p), (kind, ident, body)
            assert view(from_scapy(built)) == view(p), (kind, ident, body)
