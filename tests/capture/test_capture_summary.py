"""read_pcapng reads back what the writer wrote; summaries are stable one-liners."""

from __future__ import annotations

import io
from ipaddress import ip_address

from netsim.capture import Direction, PcapngWriter
from netsim.capture.pcapng import read_pcapng
from netsim.capture.summary import summarize, summarize_capture
from netsim.packet import Packet, Proto, wire
from netsim.packet.arp import ArpFrame
from netsim.packet.vxlan import LINUX_VXLAN_PORT, vxlan_encap

MAC_A, MAC_B = "02:42:0a:00:00:01", "02:42:0a:00:00:02"


def test_summaries_of_each_kind():
    syn = Packet(ip_address("10.244.1.5"), ip_address("10.96.0.1"), Proto.TCP, sport=40000, dport=443,
                 tcp_flags=0x12, seq=7, ack=9, src_mac=MAC_A, dst_mac=MAC_B)
    query = Packet(ip_address("fd00::5"), ip_address("fd00::a"), Proto.UDP, sport=5353, dport=53, payload=b"q" * 12,
                   src_mac=MAC_A, dst_mac=MAC_B)
    unreachable = Packet(ip_address("10.96.0.1"), ip_address("10.244.1.5"), Proto.ICMP, icmp_type=3, icmp_code=3,
                         inner=syn.clone(), src_mac=MAC_B, dst_mac=MAC_A)
    tunnel = vxlan_encap(syn, 1, src="172.18.0.2", dst="172.18.0.3", sport=51000, dport=LINUX_VXLAN_PORT)
    assert summarize(wire.encode(syn)) == "IP 10.244.1.5.40000 > 10.96.0.1.443: TCP [S.], seq 7, ack 9, win 64240, length 0"
    assert summarize(wire.encode(query)) == "IP6 fd00::5.5353 > fd00::a.53: UDP, length 12"
    assert summarize(wire.encode(unreachable)) == (
        "IP 10.96.0.1 > 10.244.1.5: ICMP unreachable code 3 "
        "[quoting IP 10.244.1.5.40000 > 10.96.0.1.443: TCP [S.], seq 7, ack 9, win 64240, length 0]")
    assert summarize(wire.encode(tunnel, MAC_A, MAC_B)) == (
        "IP 172.18.0.2.51000 > 172.18.0.3.8472: VXLAN vni 1: "
        "IP 10.244.1.5.40000 > 10.96.0.1.443: TCP [S.], seq 7, ack 9, win 64240, length 0")
    assert summarize(wire.encode_arp(ArpFrame.request(MAC_A, "10.0.0.1", "10.0.0.2"))) == \
        "ARP, Request who-has 10.0.0.2 tell 10.0.0.1"
    assert summarize(b"\x00" * 10) == "undecodable: Ethernet header: truncated: 10 bytes, need 14"


def test_read_back_and_summarize_a_capture():
    stream = io.BytesIO()
    writer = PcapngWriter(stream)
    writer.add_interface("node1/eth0")
    frame = wire.encode_arp(ArpFrame.reply(MAC_A, "10.0.0.1", MAC_B, "10.0.0.2"))
    writer.write_packet(0, 1_700_000_000.000123, frame, comment="answer", direction=Direction.OUT)
    writer.write_packet(0, 1_700_000_001, frame + b"\0" * 18)
    (first, second) = read_pcapng(stream.getvalue())
    assert (first.interface, first.time_us, first.frame, first.comment, first.direction) == \
        ("node1/eth0", 1_700_000_000_000_123, frame, "answer", Direction.OUT)
    assert second.direction is None and second.original_length == 60
    assert summarize_capture(stream.getvalue()) == [
        "1700000000.000123 node1/eth0 out ARP, Reply 10.0.0.1 is-at 02:42:0a:00:00:01  # answer",
        "1700000001.000000 node1/eth0 - ARP, Reply 10.0.0.1 is-at 02:42:0a:00:00:01",
    ]
