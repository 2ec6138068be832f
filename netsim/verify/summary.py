"""Readable answers from a walk: the hosts a packet crossed, its NAT rewrites, its addresses per hop, where it ended.

A connection's summary follows packet 0 (what the sender sent) and the first
reply that reached the sender back, in the words a user of tcpdump and
iptables would use. `hops` gives, per visit to a host, the addresses the
packet carried as it left that host (or as it last arrived, on the host
where it ended) — the packet itself, never a tunnel's outer header.
DNS steps read as `netsim resolve` and dig print them: `resolution_lines`
(the resolv.conf, one line per query with simulated time, the answer) and
`dig_lines` (dig's header, flags and sections); `message_dict` is a DNS
message as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netsim.dataplane.trace import Outcome, StepKind, WalkResult
from netsim.dns.dig import rdata_text, record_line
from netsim.dns.message import Message, Record
from netsim.dns.stub import Resolution
from netsim.dns.stub import Step as QueryStep

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


def query_line(step: QueryStep, start: float) -> str:
    """One query of a lookup as `netsim resolve` prints it: time, ports, id, question, what came back."""
    q = step.query.question[0]
    if step.reply is not None:
        data = ", ".join(str(r.data) for r in step.reply.answer)
        what = step.reply.rcode.name + (" (truncated)" if step.reply.tc else "") + (f" {data}" if data else "")
    else:
        what = "no answer (timed out)" if step.outcome.value == "timeout" else "ICMP error (connection refused)"
    over = " over TCP" if step.proto == "TCP" else ""
    return (f"{step.time - start:9.3f}s  :{step.sport} -> {step.server}:53  id {step.query.id:<5}  "
            f"{q.type.name:<4} {q.name}  {what}{over}")


def resolution_lines(resolution: Resolution, resolv_conf: str, start: float) -> list[str]:
    """A lookup's body, indented under its step: the resolv.conf used, every query, the answer or h_errno."""
    lines = ["  resolv.conf:"] + [f"    {line}" for line in resolv_conf.splitlines()]
    lines += [f"  {query_line(s, start)}" for s in resolution.steps]
    if resolution.answered:
        lines.append(f"  answer: {resolution.answered} -> {', '.join(resolution.addresses)}")
    else:
        lines.append(f"  no answer: {resolution.h_errno}")
    return lines


def dig_lines(reply: Message | None, server: str, proto: str, tries: int) -> list[str]:
    """A dig's body, indented under its step: header, flags and non-empty sections as dig prints them."""
    if reply is None:
        return [f"  ;; communications error to {server}#53: timed out"] * tries + ["  ;; no servers could be reached"]
    additional = len(reply.additional) + (reply.edns_udp_size is not None)
    lines = [f"  ;; ->>HEADER<<- opcode: QUERY, status: {reply.rcode.name}, id: {reply.id}",
             f"  ;; flags: {reply.flags_text}; QUERY: {len(reply.question)}, ANSWER: {len(reply.answer)}, "
             f"AUTHORITY: {len(reply.authority)}, ADDITIONAL: {additional}"]
    for title, records in (("ANSWER", reply.answer), ("AUTHORITY", reply.authority),
                           ("ADDITIONAL", reply.additional)):
        if records:
            lines.append(f"  ;; {title} SECTION:")
            lines += [f"  {record_line(r)}" for r in records]
    lines.append(f"  ;; SERVER: {server}#53({server}) ({proto})")
    return lines


def _record_dict(r: Record) -> dict[str, Any]:
    return {"name": r.name, "ttl": r.ttl, "class": "IN", "type": r.type.name, "data": rdata_text(r)}


def message_dict(m: Message) -> dict[str, Any]:
    """A DNS message as JSON-ready data (the shape of `netsim dig -o json`)."""
    return {"id": m.id, "status": m.rcode.name, "flags": m.flags_text.split(),
            "question": [{"name": q.name, "type": q.type.name} for q in m.question],
            "answer": [_record_dict(r) for r in m.answer], "authority": [_record_dict(r) for r in m.authority],
            "additional": [_record_dict(r) for r in m.additional]}
