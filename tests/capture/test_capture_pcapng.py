"""pcapng files read back by scapy and tshark with the right times, interfaces, comments and bytes."""

from __future__ import annotations

import io
import shutil
import subprocess
from decimal import Decimal
from ipaddress import ip_address

import pytest
from scapy.utils import PcapNgReader

from netsim.capture import CaptureSet, Direction, PcapngWriter
from netsim.capture.errors import CaptureError, InvalidCapture
from netsim.capture.pcapng import enhanced_packet_block, interface_description_block, section_header_block
from netsim.errors import NetsimError
from netsim.packet import Packet, Proto, wire
from netsim.packet.arp import ArpFrame

MAC_A, MAC_B = "02:42:0a:00:00:01", "02:42:0a:00:00:02"
T0 = 1_700_000_000.0  # simulated epoch seconds


def tcp(src: str, dst: str, dport: int, payload: bytes = b"") -> Packet:
    return Packet(ip_address(src), ip_address(dst), Proto.TCP, sport=40000, dport=dport, tcp_flags=0x02,
                  src_mac=MAC_A, dst_mac=MAC_B, payload=payload)


def read(path_or_bytes):
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    with PcapNgReader(source) as reader:
        return list(reader)


def sample_section(stream) -> None:
    writer = PcapngWriter(stream)
    eth0 = writer.add_interface("node1/eth0")
    cni0 = writer.add_interface("node1/cni0", description="bridge")
    writer.write_packet(eth0, T0 + 0.000123, wire.encode(tcp("10.244.1.5", "10.96.0.10", 53)),
                        comment="node1 eth0: POSTROUTING", direction=Direction.OUT)
    writer.write_packet(cni0, T0 + 1.5, wire.encode(tcp("10.244.1.6", "10.244.2.7", 8080, b"x" * 3)),
                        direction=Direction.IN)
    writer.write_packet(eth0, T0 + 2, wire.encode_arp(ArpFrame.request(MAC_A, "10.0.0.1", "10.0.0.2")))


def test_scapy_reads_times_interfaces_comments_and_bytes():
    stream = io.BytesIO()
    sample_section(stream)
    packets = read(stream.getvalue())
    assert [p.time for p in packets] == [Decimal("1700000000.000123"), Decimal("1700000001.5"), Decimal("1700000002")]
    assert [p.sniffed_on for p in packets] == ["node1/eth0", "node1/cni0", "node1/eth0"]
    assert [p.direction for p in packets] == [Direction.OUT, Direction.IN, None]
    assert packets[0].comments == [b"node1 eth0: POSTROUTING"]
    assert bytes(packets[1]) == wire.encode(tcp("10.244.1.6", "10.244.2.7", 8080, b"x" * 3))


def test_same_calls_give_identical_bytes():
    first, second = io.BytesIO(), io.BytesIO()
    sample_section(first)
    sample_section(second)
    assert first.getvalue() == second.getvalue()


def test_block_layout_is_fixed():
    # SHB with shb_userappl "netsim": 28 fixed bytes + option (4 + 8) + end (4).
    assert section_header_block() == bytes.fromhex(
        "0a0d0d0a" "2c000000" "4d3c2b1a" "0100" "0000" "ffffffffffffffff"
        "0400" "0600" "6e657473696d0000" "00000000" "2c000000")
    idb = interface_description_block("n/e", snaplen=65535)
    assert idb == bytes.fromhex("01000000" "28000000" "0100" "0000" "ffff0000"
                                "0200" "0300" "6e2f6500" "0900" "0100" "06000000" "00000000" "28000000")
    epb = enhanced_packet_block(0, 1.000001, b"\xaa" * 5)
    assert epb[8:28] == bytes.fromhex("00000000" "00000000" "41420f00" "05000000" "05000000")


def test_snaplen_cuts_the_frame_and_keeps_the_original_length():
    stream = io.BytesIO()
    writer = PcapngWriter(stream)
    writer.add_interface("h/eth0", snaplen=40)
    frame = wire.encode(tcp("10.0.0.1", "10.0.0.2", 80, b"y" * 100))
    writer.write_packet(0, T0, frame)
    (packet,) = read(stream.getvalue())
    assert bytes(packet) == frame[:40] and packet.wirelen == len(frame)


def test_bad_calls_raise_capture_errors():
    writer = PcapngWriter(io.BytesIO())
    with pytest.raises(InvalidCapture, match="interface id 0 was never added"):
        writer.write_packet(0, T0, b"")
    writer.add_interface("h/eth0")
    with pytest.raises(InvalidCapture, match="at least 0; got -1"):
        writer.write_packet(0, -1, b"")
    assert issubclass(CaptureError, NetsimError)


def test_capture_set_writes_one_file_per_host(tmp_path):
    with CaptureSet(tmp_path / "pcaps", hosts={"node1", "node2/web-0"}) as capture:
        for host, iface in sorted([("node1", "eth0"), ("node1", "cni0"), ("node2/web-0", "eth0")]):
            capture.add_interface(host, iface)
        capture.record("node1", "eth0", Direction.OUT, T0 + 1, wire.encode(tcp("10.0.0.1", "10.0.0.2", 80)), "out")
        capture.record_packet("node2/web-0", "eth0", Direction.IN, T0 + 2, tcp("10.0.0.1", "10.244.2.3", 8080))
        capture.record_packet("node1", "veth9", Direction.IN, T0 + 3, ArpFrame.request(MAC_A, "10.0.0.1", "10.0.0.9"))
        capture.record("node3", "eth0", Direction.IN, T0 + 4, b"ignored: node3 is not captured")
    paths = capture.paths()
    assert sorted(paths) == ["node1", "node2/web-0"]
    assert paths["node2/web-0"].name == "node2_web-0.pcapng"
    node1 = read(paths["node1"])
    assert [p.sniffed_on for p in node1] == ["node1/eth0", "node1/veth9"]
    assert node1[0].comments == [b"out"]
    web = read(paths["node2/web-0"])
    assert web[0].sniffed_on == "node2/web-0/eth0" and web[0].time == Decimal(1_700_000_002)
    with pytest.raises(InvalidCapture, match="closed"):
        capture.record("node1", "eth0", Direction.OUT, T0, b"")


def test_capture_set_refuses_hosts_sharing_a_file(tmp_path):
    with CaptureSet(tmp_path) as capture:
        capture.add_interface("a/b", "eth0")
        with pytest.raises(InvalidCapture, match="share the capture file"):
            capture.add_interface("a_b", "eth0")


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_fields(tmp_path):
    path = tmp_path / "node1.pcapng"
    with open(path, "wb") as stream:
        sample_section(stream)
    fields = ["ip.src", "ip.dst", "tcp.dstport", "frame.interface_name", "frame.comment", "frame.time_epoch",
              "frame.packet_flags_direction"]
    command = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|"]
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in result.stdout.splitlines()]
    assert [row[:5] for row in rows] == [
        ["10.244.1.5", "10.96.0.10", "53", "node1/eth0", "node1 eth0: POSTROUTING"],
        ["10.244.1.6", "10.244.2.7", "8080", "node1/cni0", ""],
        ["", "", "", "node1/eth0", ""],
    ]
    assert [Decimal(row[5]) for row in rows] == [Decimal("1700000000.000123"), Decimal("1700000001.5"),
                                                 Decimal("1700000002")]
    assert [int(row[6], 16) if row[6] else None for row in rows] == [2, 1, None]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_finds_no_checksum_or_malformed_errors(tmp_path):
    """tshark's own dissectors agree with our checksums (TCP, UDP, ICMP errors, VXLAN)."""
    from netsim.packet.vxlan import vxlan_encap

    udp = Packet(ip_address("10.244.1.5"), ip_address("10.96.0.10"), Proto.UDP, sport=40000, dport=53,
                 payload=b"\x12\x34" + b"\0" * 10, src_mac=MAC_A, dst_mac=MAC_B)
    error = Packet(ip_address("10.96.0.10"), ip_address("10.244.1.5"), Proto.ICMP, icmp_type=3, icmp_code=3,
                   inner=udp)
    outer = vxlan_encap(tcp("10.244.1.5", "10.244.2.7", 80, b"hi"), 1, src="172.18.0.2", dst="172.18.0.3",
                        sport=51000, dport=4789, udp_csum=True)
    frames = [wire.encode(tcp("10.0.0.1", "10.0.0.2", 80, b"z" * 33)), wire.encode(udp),
              wire.encode(error, MAC_B, MAC_A), wire.encode(outer, MAC_A, MAC_B)]
    path = tmp_path / "checks.pcapng"
    with open(path, "wb") as stream:
        writer = PcapngWriter(stream)
        writer.add_interface("h/eth0")
        for index, frame in enumerate(frames):
            writer.write_packet(0, T0 + index, frame)
    command = ["tshark", "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
               "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=|", "-e", "ip.checksum.status",
               "-e", "tcp.checksum.status", "-e", "udp.checksum.status", "-e", "icmp.checksum.status",
               "-e", "_ws.expert.severity", "-e", "frame.protocols"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in result.stdout.splitlines()]
    assert len(rows) == 4
    statuses = [status for row in rows for field in row[:4] for status in field.split(",") if status]
    assert statuses and set(statuses) == {"1"}, result.stdout  # 1: checksum good (0 would be bad)
    # Expert info below "note" only (0x00400000); "chat" (0x00200000) is tshark remarking on a SYN.
    assert all(int(level) < 0x00400000 for row in rows for level in row[4].split(",") if level), result.stdout
    assert [row[5] for row in rows] == ["eth:ethertype:ip:tcp", "eth:ethertype:ip:udp:dns",
                                        "eth:ethertype:ip:icmp:ip:udp:dns",
                                        "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp"]


def test_capture_sets_with_the_same_calls_write_identical_files(tmp_path):
    def run(directory):
        with CaptureSet(directory) as capture:
            capture.add_interface("node1", "eth0")
            for index in range(5):
                capture.record_packet("node1", "eth0", Direction.OUT, T0 + index / 7,
                                      tcp("10.0.0.1", "10.0.0.2", 80 + index), comment=f"hop {index}")
        return capture.paths()["node1"].read_bytes()

    assert run(tmp_path / "a") == run(tmp_path / "b")
