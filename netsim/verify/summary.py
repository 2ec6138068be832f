"""Readable answers from a walk: the hosts a packet crossed, its NAT rewrites, its addresses per hop, where it ended.

A connection's summary follows packet 0 (what the sender sent) and the first
reply that reached the sender back, in the words a user of tcpdump and
iptables would use. `hops` gives, per visit to a host, the addresses the
packet carried as it left that host (or as it last arrived, on the host
where it ended) — the packet itself, never a tunnel's outer header.
"""

from __future__ import annotations

from dataclasses import dataclass

from netsim.dataplane.trace import Outcome, StepKind, WalkResult

REWROTE = "rewrote to "


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A NAT rewrite seen in the trace: on which host, at which hook, from what to what."""

    host: str
    hook: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class PacketPath:
    """One packet's journey: hosts in order, rewrites, and how it ended."""

    packet: int
    hosts: tuple[str, ...]
    rewrites: tuple[Rewrite, ...]
    outcome: Outcome
    end_host: str
    app: str | None
    reason: str


def packet_path(result: WalkResult, packet: int = 0) -> PacketPath:
    """The path of one packet id of a walk."""
    hosts: list[str] = []
    rewrites: list[Rewrite] = []
    for step in result.steps_of(packet):
        if not hosts or hosts[-1] != step.host:
            hosts.append(step.host)
        if step.kind is StepKind.HOOK and step.detail.startswith(REWROTE):
            rewrites.append(Rewrite(step.host, step.hook.value if step.hook else "", step.summary,
                                    step.detail[len(REWROTE):]))
    end = result.of(packet)
    last = end[-1] if end else None
    return PacketPath(
        packet=packet,
        hosts=tuple(hosts),
        rewrites=tuple(rewrites),
        outcome=last.outcome if last else result.outcome,
        end_host=last.host if last else result.host,
        app=last.app if last else result.app,
        reason=last.reason if last else result.reason,
    )


@dataclass(frozen=True, slots=True)
class Hop:
    """One visit of a packet to a host and the addresses it carried there (dport 0 for ICMP)."""

    host: str
    src: str
    dst: str
    dport: int


def hops(result: WalkResult, packet: int = 0) -> tuple[Hop, ...]:
    """Per run of consecutive steps on one host: the packet's addresses as it left (else as it last arrived)."""
    visits: list[tuple[str, list]] = []
    for step in result.steps_of(packet):
        if not visits or visits[-1][0] != step.host:
            visits.append((step.host, []))
        if step.kind in (StepKind.FRAME_IN, StepKind.FRAME_OUT) and _is_ip(step.summary):
            visits[-1][1].append(step)
    out = []
    for host, frames in visits:
        if frames:
            outs = [s for s in frames if s.kind is StepKind.FRAME_OUT]
            src, dst, dport = _addresses((outs or frames)[-1].summary)
            out.append(Hop(host, src, dst, dport))
    return tuple(out)


def _is_ip(summary: str) -> bool:
    """A summary of an IP packet that is not a VXLAN tunnel datagram."""
    return summary.split(" ", 1)[0] in ("TCP", "UDP", "ICMP", "SCTP") and " vxlan vni " not in summary


def _addresses(summary: str) -> tuple[str, str, int]:
    """(source IP, destination IP, destination port or 0) of a trace summary."""
    words = summary.split()
    src, dst = words[1], words[3]
    if words[0] == "ICMP":
        return src, dst, 0
    return src.rpartition(":")[0], dst.rpartition(":")[0], int(dst.rpartition(":")[2])


def reply_packet(result: WalkResult) -> int | None:
    """The id of the first packet delivered back to the sender's socket, if any."""
    for disposition in result.dispositions:
        if disposition.packet != 0 and disposition.app == "socket" and disposition.outcome is Outcome.DELIVERED:
            return disposition.packet
    return None


def _endpoints(text: str) -> tuple[str, str]:
    """(source, destination) of a summary such as `TCP 1.2.3.4:5 > 6.7.8.9:10 [S] ttl 64`."""
    parts = text.split()
    if len(parts) >= 4 and parts[2] == ">":
        return parts[1], parts[3]
    return text, ""


def rewrite_text(rw: Rewrite) -> str:
    """`DNAT on node (PREROUTING): old -> new`, and/or SNAT, as the addresses changed."""
    (src0, dst0), (src1, dst1) = _endpoints(rw.before), _endpoints(rw.after)
    parts = []
    if dst0 != dst1:
        parts.append(f"DNAT {dst0} -> {dst1}")
    if src0 != src1:
        parts.append(f"SNAT {src0} -> {src1}")
    return f"{', '.join(parts) or 'rewritten'} on {rw.host} ({rw.hook})"


def describe(path: PacketPath, what: str) -> list[str]:
    """Lines saying where one packet went."""
    lines = [what, f"    path: {' -> '.join(path.hosts)}"]
    lines += [f"    {rewrite_text(rw)}" for rw in path.rewrites]
    ending = f"{path.outcome.value} to {path.end_host}" if path.app else f"{path.outcome.value} on {path.end_host}"
    if path.app:
        ending += f" ({path.app})"
    if path.reason and path.outcome is not Outcome.DELIVERED:
        ending += f": {path.reason}"
    lines.append(f"    {ending}")
    return lines
