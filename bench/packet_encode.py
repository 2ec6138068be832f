"""Packets per second: netsim.packet.wire (struct) against scapy, for encoding and decoding frames.

Run: `.venv/bin/python bench/packet_encode.py [--seconds 1.0]`. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import time
from ipaddress import ip_address

from netsim.capture.pcapng import PcapngWriter
from netsim.packet import Packet, Proto, wire
from netsim.packet.scapy_bridge import to_scapy

MAC_A, MAC_B = "02:42:0a:00:00:01", "02:42:0a:00:00:02"


def sample_packets() -> dict[str, Packet]:
    """One packet per shape the emulator moves most: a TCP data segment, a DNS query, an ICMP error."""
    tcp = Packet(ip_address("10.244.1.5"), ip_address("10.96.0.1"), Proto.TCP, sport=40000, dport=443,
                 tcp_flags=0x18, seq=1, ack=1, payload=b"x" * 100, src_mac=MAC_A, dst_mac=MAC_B)
    udp = Packet(ip_address("10.244.1.5"), ip_address("10.96.0.10"), Proto.UDP, sport=40001, dport=53,
                 payload=b"q" * 40, src_mac=MAC_A, dst_mac=MAC_B)
    icmp = Packet(ip_address("10.96.0.10"), ip_address("10.244.1.5"), Proto.ICMP, icmp_type=3, icmp_code=3,
                  inner=udp.clone(), src_mac=MAC_B, dst_mac=MAC_A)
    return {"tcp/100B": tcp, "udp/40B": udp, "icmp-error": icmp}


def rate(function, seconds: float) -> float:
    """Calls per second of `function` over about `seconds` of wall time."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            function()
        count += 100
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    from scapy.layers.l2 import Ether

    print(f"{'packet':<12} {'operation':<28} {'packets/s':>12} {'us/packet':>10}")
    for name, packet in sample_packets().items():
        frame = wire.encode(packet)
        built = to_scapy(packet)
        measures = {
            "wire.encode": lambda: wire.encode(packet),
            "bytes(scapy packet)": lambda: bytes(built.copy()),  # copy: scapy caches built bytes
            "to_scapy + bytes": lambda: bytes(to_scapy(packet)),
            "wire.decode": lambda: wire.decode(frame),
            "scapy Ether(frame)": lambda: Ether(frame),
        }
        for operation, function in measures.items():
            per_second = rate(function, args.seconds)
            print(f"{name:<12} {operation:<28} {per_second:>12,.0f} {1e6 / per_second:>10.1f}")
    writer = PcapngWriter(io.BytesIO())
    writer.add_interface("node1/eth0")
    frame = wire.encode(sample_packets()["tcp/100B"])
    per_second = rate(lambda: writer.write_packet(0, 1_700_000_000.0, frame, comment="node1: FORWARD"), args.seconds)
    print(f"{'tcp/100B':<12} {'pcapng write_packet':<28} {per_second:>12,.0f} {1e6 / per_second:>10.1f}")


if __name__ == "__main__":
    main()
