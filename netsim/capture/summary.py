"""One line per captured packet, for golden files and for people: stable text, no scapy, no tshark.

    summarize(frame) -> "IP 10.244.1.5.40000 > 10.96.0.10.53: UDP, length 12"
    summarize_capture(data) -> ["1700000000.000123 node1/eth0 out IP ...: TCP [S], seq 0, ...", ...]

The wording follows tcpdump's where tcpdump has one (`IP a.port > b.port`,
TCP flags `[S.]`, `ARP, Request who-has ... tell ...`) so a reader can set
the two side by side; VXLAN (UDP to 4789 or 8472) is shown with the inner
frame's line after `VXLAN vni N:`. Frames `wire` cannot decode are shown as
`undecodable: <reason>` rather than raising, since a capture may hold them.
"""

from __future__ import annotations

from netsim.capture.pcapng import Direction, read_pcapng
from netsim.packet import wire
from netsim.packet.arp import ArpFrame, ArpOp
from netsim.packet.errors import PacketError
from netsim.packet.record import Packet, Proto

VXLAN_PORTS = frozenset({4789, 8472})  # IANA's port and the Linux default; see netsim.packet.vxlan

# tcpdump's letters for TCP flags, in the order it prints them (print-tcp.c tcp_flag_values).
_TCP_FLAG_LETTERS = (
    (0x02, "S"),  # SYN
    (0x01, "F"),  # FIN
    (0x08, "P"),  # PSH
    (0x04, "R"),  # RST
    (0x20, "U"),  # URG
    (0x40, "E"),  # ECE
    (0x80, "W"),  # CWR
    (0x10, "."),  # ACK
)

# Names of the ICMP messages a Kubernetes path produces; others print as "type T code C".
_ICMP_NAMES = {
    (4, 0): "echo reply", (4, 8): "echo request", (4, 3): "unreachable", (4, 11): "time exceeded",
    (4, 12): "parameter problem", (4, 5): "redirect",
    (6, 128): "echo request", (6, 129): "echo reply", (6, 1): "unreachable", (6, 2): "packet too big",
    (6, 3): "time exceeded", (6, 4): "parameter problem",
}


def summarize(frame: bytes) -> str:
    """The one-line description of an Ethernet frame."""
    try:
        decoded = wire.decode_frame(frame)
    except PacketError as error:
        return f"undecodable: {error}"
    if isinstance(decoded, ArpFrame):
        return summarize_arp(decoded)
    return summarize_packet(decoded)


def summarize_arp(arp: ArpFrame) -> str:
    """tcpdump's line for an ARP request or reply."""
    if arp.op == ArpOp.REQUEST:
        return f"ARP, Request who-has {arp.target_ip} tell {arp.sender_ip}"
    return f"ARP, Reply {arp.sender_ip} is-at {arp.sender_mac}"


def summarize_packet(packet: Packet) -> str:
    """The one-line description of an IP packet record."""
    family = "IP" if packet.src.version == 4 else "IP6"
    proto = packet.proto
    if proto in (Proto.TCP, Proto.UDP, Proto.SCTP):
        head = f"{family} {packet.src}.{packet.sport} > {packet.dst}.{packet.dport}:"
    else:
        head = f"{family} {packet.src} > {packet.dst}:"
    return f"{head} {_transport(packet)}"


def _transport(packet: Packet) -> str:
    proto = packet.proto
    if proto == Proto.TCP:
        flags = "".join(letter for bit, letter in _TCP_FLAG_LETTERS if packet.tcp_flags & bit) or "none"
        return (f"TCP [{flags}], seq {packet.seq}, ack {packet.ack}, win {packet.window}, "
                f"length {len(packet.payload)}")
    if proto == Proto.UDP:
        if packet.dport in VXLAN_PORTS:
            from netsim.packet.vxlan import split_vxlan
            try:
                vni, inner = split_vxlan(packet.payload)
            except PacketError:
                pass
            else:
                return f"VXLAN vni {vni}: {summarize(inner)}"
        return f"UDP, length {len(packet.payload)}"
    if proto in (Proto.ICMP, Proto.ICMPV6):
        name = _ICMP_NAMES.get((packet.src.version, packet.icmp_type))
        kind = "ICMP6" if proto == Proto.ICMPV6 else "ICMP"
        text = f"{kind} {name}" if name else f"{kind} type {packet.icmp_type}"
        if name in ("echo request", "echo reply"):
            return f"{text}, id {packet.icmp_id}, seq {packet.icmp_seq}, length {len(packet.payload)}"
        text += f" code {packet.icmp_code}"
        if packet.inner is not None:
            text += f" [quoting {summarize_packet(packet.inner)}]"
        return text
    if proto == Proto.SCTP:
        return f"SCTP, length {len(packet.payload)}"
    return f"ip-proto-{proto}, length {len(packet.payload)}"


def summarize_capture(data: bytes) -> list[str]:
    """One line per packet of a pcapng file: time, interface, direction, summary, then `# comment`."""
    lines = []
    for captured in read_pcapng(data):
        seconds, micros = divmod(captured.time_us, 1_000_000)
        direction = {Direction.IN: "in", Direction.OUT: "out"}.get(captured.direction, "-")
        line = f"{seconds}.{micros:06d} {captured.interface} {direction} {summarize(captured.frame)}"
        if captured.comment:
            line += f"  # {captured.comment}"
        lines.append(line)
    return lines
