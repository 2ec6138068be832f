"""What each world saw of one connection, and the differences between the two views.

A `View` is what is comparable between the emulator's walk and the
kernel's capture of one connection:
- `hops`: per visit of the opening packet (SYN or first datagram) to a
  host, the packet as it left (else as it last arrived), as
  `netsim.verify.summary.hops` picks it, with two more fields: (host, the
  interface it left or arrived on, src, dst, dport, TTL) — so a missing TTL
  decrement, a bridged-versus-routed difference or another egress
  interface shows;
- `answer`: the first answer that reached the sender's socket (SYN-ACK, RST,
  UDP, ICMP type/code) and its source, or `none`;
- `reply_hops`: the same per-host addresses for that answer packet, with the
  sender's own port written -1 (SPORT) so connections with different source
  ports compare, and any other destination port -2 (MASQPORT): a port
  MASQUERADE --random-fully drew, randomly on both sides, so only "kept or
  rewritten" is comparable;
- `endpoint`: the host whose application got the connection, or None;
- `points` and `reply_points`: every capture point the opening packet and
  the answer crossed, in order — (host, interface, in/out, src, dst, dport,
  TTL) — compared when the hops agree, to say where inside a host the two
  part. One kernel artefact is left out: with br_netfilter, a DNAT to an
  address behind the same bridge whose neighbour entry has no cached header
  yet leaves through the bridge device first
  (br_nf_pre_routing_finish_bridge → neigh->output → br_dev_xmit, which
  then forwards it), so the first such frame shows "out" on cni0 just
  before "out" on the port; the emulator bridges it straight to the port.
The kernel completes the TCP handshake after the SYN-ACK while the
emulator's walk stops there: the ACK, data and the close are not compared.
Segment namespaces are the wire and have no hop, as segments have none in
the emulator.

Chi-square: where the statistic match makes the choice random on both
sides, the reached endpoints are compared as a 2 x k contingency table
(homogeneity test, netsim.verify.stats: no SciPy needed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from netsim.dataplane.trace import Outcome, StepKind, WalkResult
from netsim.live.apps import Arrival
from netsim.live.capture import Frame
from netsim.packet import Packet, Proto, TcpFlag
from netsim.verify import stats
from netsim.verify.summary import packet_path, reply_packet

HopTuple = tuple[str, str, str, str, int, int]  # host, interface, src, dst, dport (0 for ICMP), ttl
PointTuple = tuple[str, str, str, str, str, int, int]  # host, interface, in/out, src, dst, dport, ttl
ICMP_ERRORS = (3, 11, 12)


@dataclass(frozen=True, slots=True)
class View:
    """One side's view of one connection (module docstring)."""

    hops: tuple[HopTuple, ...]
    answer: str
    reply_hops: tuple[HopTuple, ...]
    endpoint: str | None
    points: tuple[PointTuple, ...] = ()        # every capture point of the opening packet, in order
    reply_points: tuple[PointTuple, ...] = ()  # and of the answer


def describe_answer(packet: Packet | None) -> str:
    """`SYN-ACK from A:P`, `RST from A:P`, `UDP from A:P`, `ICMP 3/0 from A`, or `none`."""
    if packet is None:
        return "none"
    if packet.proto == Proto.TCP:
        flags = packet.tcp_flags
        kind = "RST" if flags & TcpFlag.RST else "SYN-ACK" if flags & TcpFlag.SYN and flags & TcpFlag.ACK else "TCP"
        return f"{kind} from {packet.src}:{packet.sport}"
    if packet.proto == Proto.UDP:
        return f"UDP from {packet.src}:{packet.sport}"
    if packet.proto == Proto.ICMP:
        return f"ICMP {packet.icmp_type}/{packet.icmp_code} from {packet.src}"
    return f"proto {packet.proto} from {packet.src}"


def _mask(hop_list, sport: int) -> tuple[HopTuple, ...]:
    """Answer hops with the sender's port as -1 and any other port (a masqueraded one) as -2."""
    return tuple((h, i, s, d, p if p == 0 else -1 if p == sport else -2, t) for h, i, s, d, p, t in hop_list)


def walk_hops(result: WalkResult, packet: int) -> tuple[HopTuple, ...]:
    """`netsim.verify.summary.hops` of one packet of a walk, with the interface and TTL of the chosen frame."""
    visits: list[tuple[str, list]] = []
    for step in result.steps_of(packet):
        if not visits or visits[-1][0] != step.host:
            visits.append((step.host, []))
        if step.kind in (StepKind.FRAME_IN, StepKind.FRAME_OUT) and _is_ip_summary(step.summary):
            visits[-1][1].append(step)
    out = []
    for host, frames in visits:
        if frames:
            outs = [f for f in frames if f.kind is StepKind.FRAME_OUT]
            step = (outs or frames)[-1]
            words = step.summary.split()
            src, dst = words[1], words[3]
            if words[0] == "ICMP":
                port = 0
            else:
                src, dst, port = src.rpartition(":")[0], dst.rpartition(":")[0], int(dst.rpartition(":")[2])
            out.append((host, step.out_iface or step.in_iface or "", src, dst, port, int(words[-1])))
    return tuple(out)


def walk_points(result: WalkResult, packet: int) -> tuple[PointTuple, ...]:
    """Every capture point of one packet of a walk (tunnel datagrams left out), in order."""
    out = []
    for step in result.steps_of(packet):
        if step.kind in (StepKind.FRAME_IN, StepKind.FRAME_OUT) and _is_ip_summary(step.summary):
            words = step.summary.split()
            src, dst = words[1], words[3]
            port = 0
            if words[0] != "ICMP":
                src, dst, port = src.rpartition(":")[0], dst.rpartition(":")[0], int(dst.rpartition(":")[2])
            way = "out" if step.kind is StepKind.FRAME_OUT else "in"
            out.append((step.host, step.out_iface or step.in_iface or "", way, src, dst, port, int(words[-1])))
    return tuple(out)


def _is_ip_summary(summary: str) -> bool:
    """A trace summary of an IP packet that is not a VXLAN tunnel datagram."""
    return summary.split(" ", 1)[0] in ("TCP", "UDP", "ICMP", "SCTP") and " vxlan vni " not in summary


def emulator_view(result: WalkResult, sport: int) -> View:
    """The view of one emulator connection."""
    path = packet_path(result, 0)
    opening = walk_hops(result, 0)
    reply = reply_packet(result)
    reply_hops = () if reply is None else walk_hops(result, reply)
    endpoint = path.end_host if path.app and path.outcome is Outcome.DELIVERED else None
    reply_points = () if reply is None else walk_points(result, reply)
    return View(opening, describe_answer(result.received[0] if result.received else None),
                _mask(reply_hops, sport), endpoint, walk_points(result, 0), _mask_points(reply_points, sport))


def _mask_points(points, sport: int) -> tuple[PointTuple, ...]:
    """Capture points with the answer's ports masked as `_mask` does."""
    return tuple((h, i, w, s, d, p if p == 0 else -1 if p == sport else -2, t) for h, i, w, s, d, p, t in points)


def _opening_matcher(frames: list[Frame], sender_host: str, proto: int, sport: int):
    """A predicate for the frames of the connection's opening packet, and one for its answers.

    kube-proxy masquerades with --random-fully, so the source port may
    change on the way. TCP is followed by the SYN's sequence number, which
    NAT never rewrites; its answers acknowledge it. UDP is followed by the
    IP ID and payload of the sender's first datagram (NAT keeps both); its
    answers come from a destination port the datagram had to a source port
    it had. ICMP errors are matched by their quote.
    """
    first = next((f.packet for f in frames if f.host == sender_host and f.outgoing and f.packet is not None
                  and f.packet.proto == proto and f.packet.sport == sport
                  and (proto != Proto.TCP or (f.packet.tcp_flags & TcpFlag.SYN and not f.packet.tcp_flags & TcpFlag.ACK))),
                 None)

    def opening(p: Packet) -> bool:
        if first is None or p.proto != proto:
            return False
        if proto == Proto.TCP:
            return p.seq == first.seq and bool(p.tcp_flags & TcpFlag.SYN) and not p.tcp_flags & TcpFlag.ACK
        return p.ip_id == first.ip_id and p.payload == first.payload

    sources = {sport} | {f.packet.sport for f in frames if f.packet is not None and opening(f.packet)}
    targets = {f.packet.dport for f in frames if f.packet is not None and opening(f.packet)}

    def answer(p: Packet) -> bool:
        if first is None:
            return False
        if p.proto == Proto.ICMP:
            inner = p.inner
            return (p.icmp_type in ICMP_ERRORS and inner is not None and inner.proto == proto
                    and (inner.seq == first.seq if proto == Proto.TCP else inner.sport in sources))
        if p.proto != proto:
            return False
        if proto == Proto.TCP:
            flags = p.tcp_flags
            return p.ack == (first.seq + 1) & 0xFFFFFFFF and bool(
                flags & TcpFlag.RST or (flags & TcpFlag.SYN and flags & TcpFlag.ACK))
        return not opening(p) and p.dport in sources and p.sport in targets

    return opening, answer


def frame_hops(frames: list[Frame]) -> tuple[HopTuple, ...]:
    """Per run of consecutive frames on one host: the addresses as the packet left it, else as it last arrived."""
    visits: list[tuple[str, list[Frame]]] = []
    for frame in frames:
        if not visits or visits[-1][0] != frame.host:
            visits.append((frame.host, []))
        visits[-1][1].append(frame)
    out = []
    for host, seen in visits:
        outs = [f for f in seen if f.outgoing]
        frame = (outs or seen)[-1]
        p = frame.packet
        assert p is not None
        out.append((host, frame.iface, str(p.src), str(p.dst), 0 if p.proto == Proto.ICMP else p.dport, p.ttl))
    return tuple(out)


def frame_points(frames: list[Frame], ports: dict[tuple[str, str], str] | None = None) -> tuple[PointTuple, ...]:
    """The capture points of time-ordered frames, without the bridged-DNAT artefact (module docstring).

    `ports`: (host, port) -> its bridge, for every bridge port of the network. The artefact is an
    "out" on a bridge right after an "in" on one of its ports (the frame never went up to be
    routed) and right before an "out" on one of its ports with the same addresses.
    """
    ports = ports or {}
    points = []
    for index, f in enumerate(frames):
        p = f.packet
        assert p is not None
        before = frames[index - 1] if index else None
        after = frames[index + 1] if index + 1 < len(frames) else None
        if (f.outgoing and before is not None and after is not None and before.host == f.host == after.host
                and not before.outgoing and ports.get((f.host, before.iface)) == f.iface
                and after.outgoing and ports.get((f.host, after.iface)) == f.iface
                and after.packet is not None and (after.packet.src, after.packet.dst) == (p.src, p.dst)):
            continue
        points.append((f.host, f.iface, "out" if f.outgoing else "in", str(p.src), str(p.dst),
                       0 if p.proto == Proto.ICMP else p.dport, p.ttl))
    return tuple(points)


def kernel_view(frames: list[Frame], arrivals: list[Arrival], sender_host: str, sender_address: str,
                protocol: str, sport: int, ports: dict[tuple[str, str], str] | None = None) -> View:
    """The view of one kernel connection from its frames (time-ordered) and the applications' arrivals."""
    proto = Proto.UDP if protocol == "UDP" else Proto.TCP
    ip = [f for f in frames if f.packet is not None]
    is_opening, is_answer = _opening_matcher(ip, sender_host, proto, sport)
    opening = [f for f in ip if is_opening(f.packet)]  # type: ignore[arg-type]
    answers = [f for f in ip if is_answer(f.packet)]  # type: ignore[arg-type]
    # what the sender's socket got: an answer arriving on its host *for its address* (a router host may
    # also see answers in transit to a masqueraded address)
    back = next((f for f in answers if f.host == sender_host and not f.outgoing
                 and str(f.packet.dst) == sender_address), None)  # type: ignore[union-attr]
    seen = {(str(f.packet.src), f.packet.sport) for f in opening}  # type: ignore[union-attr]
    endpoint = next((a.host for a in arrivals if a.proto == proto and (a.peer, a.peer_port) in seen), None)
    return View(frame_hops(opening), describe_answer(back.packet if back else None),
                _mask(frame_hops(answers), sport), endpoint, frame_points(opening, ports),
                _mask_points(frame_points(answers, ports), sport))


def differences(emulator: View, kernel: View) -> list[tuple[str, str, str]]:
    """(what, emulator's view, kernel's view) for every part that differs; hop lists per position."""
    out = []
    if emulator.endpoint != kernel.endpoint:
        out.append(("endpoint reached", str(emulator.endpoint), str(kernel.endpoint)))
    if emulator.answer != kernel.answer:
        out.append(("answer to the sender", emulator.answer, kernel.answer))
    for label, a, b in (("opening packet", emulator.hops, kernel.hops), ("answer", emulator.reply_hops,
                                                                          kernel.reply_hops)):
        for index in range(max(len(a), len(b))):
            x = a[index] if index < len(a) else None
            y = b[index] if index < len(b) else None
            if x != y:
                out.append((f"{label}, hop {index + 1}", _hop_text(x), _hop_text(y)))
    if out:
        return out
    for label, a, b in (("opening packet", emulator.points, kernel.points),
                        ("answer", emulator.reply_points, kernel.reply_points)):
        for index in range(max(len(a), len(b))):
            x = a[index] if index < len(a) else None
            y = b[index] if index < len(b) else None
            if x != y:
                out.append((f"{label}, capture point {index + 1}", _point_text(x), _point_text(y)))
                break  # the rest shifts; the first point where they part says it
    return out


def _point_text(point: PointTuple | None) -> str:
    if point is None:
        return "(no such capture point)"
    host, iface, way, src, dst, port, ttl = point
    return _hop_text((host, iface, src, dst, port, ttl)).replace(f"{host} {iface}:", f"{host} {iface} {way}:", 1)


def _hop_text(hop: HopTuple | None) -> str:
    if hop is None:
        return "(no such hop)"
    host, iface, src, dst, port, ttl = hop
    port_text = {0: "", -1: ":SPORT", -2: ":MASQPORT"}.get(port, f":{port}")
    return f"{host} {iface}: {src} > {dst}{port_text} ttl {ttl}"


def hop_count(view: View) -> int:
    """How many hops a view holds (opening and answer)."""
    return len(view.hops) + len(view.reply_hops)


def point_count(view: View) -> int:
    """How many capture points a view holds (opening and answer)."""
    return len(view.points) + len(view.reply_points)


# --- distributions ------------------------------------------------------------------------

def homogeneity(a: Counter, b: Counter) -> tuple[float, int, float]:
    """(chi-square statistic, degrees of freedom, p-value) that `a` and `b` come from one distribution."""
    keys = sorted(set(a) | set(b), key=str)
    result = stats.homogeneity([a[k] for k in keys], [b[k] for k in keys])
    return result.statistic, result.df, result.p_value
