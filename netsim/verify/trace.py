"""One connection's packet and its reply, hop by hop across hosts: interfaces, routes, rules that matched, NAT, verdict.

Built from a walk's `Step`s (dataplane/trace.py) and the netfilter
`TraceStep`s inside each HOOK step (netfilter/trace.py). Only packet 0 and
the reply that reached the sender are shown; ARP and other packets the walk
caused are left out. Within a hook, rules that matched, conntrack and NAT
lines are kept, as `iptables -j TRACE` prints them; a chain's end (`return`)
is dropped, and so is the ACCEPT policy of a chain in which no rule matched.
A hook where nothing is left prints as one line. `PathTrace.format()` is the
text of `netsim trace`, `to_dict()` its JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netsim.dataplane.trace import Outcome, Step, StepKind
from netsim.netfilter.trace import TraceStep
from netsim.verify.observe import Observation
from netsim.verify.summary import rewrite_text, reply_packet

INDENT = "    "


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """One kept netfilter trace line: hook, table/chain#number, what happened, the rule text, any rewrite."""

    hook: str
    table: str
    chain: str
    kind: str
    rule_number: int
    rule: str
    verdict: str
    before: str
    after: str
    note: str

    @classmethod
    def of(cls, step: TraceStep) -> RuleEvent:
        """The event of a netfilter trace step."""
        return cls(step.hook, step.table, step.chain, step.kind, step.rule_number, step.rule, step.verdict,
                   step.before, step.after, step.note)

    def format(self) -> str:
        """`nat/KUBE-SVC-X#2: match -A ... => JUMP`, conntrack and NAT lines as netfilter prints them."""
        if not self.chain:
            text = f"{self.kind}: {self.note}" + (f" => {self.verdict}" if self.verdict else "")
        else:
            where = f"{self.table}/{self.chain}" + (f"#{self.rule_number}" if self.rule_number else "")
            if self.kind == "rule":
                text = f"{where}: {self.rule}" + (f" => {self.verdict}" if self.verdict else "")
            elif self.kind == "policy":
                text = f"{where}: policy {self.verdict}"
            else:
                text = f"{where}: {self.kind}" + (f" ({self.note})" if self.note else "")
        if self.before != self.after:
            text += f"\n{INDENT}rewrote {self.before} -> {self.after}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; empty fields left out."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) not in ("", 0)}


@dataclass(frozen=True, slots=True)
class HopEvent:
    """One thing that happened to the packet on a host: a frame in/out, a bridge or routing decision, a hook."""

    kind: str
    text: str
    in_iface: str | None
    out_iface: str | None
    hook: str | None
    verdict: str | None
    route: str | None
    packet: str
    rules: tuple[RuleEvent, ...] = ()

    def lines(self, brief: bool = False) -> list[str]:
        """The event's lines, rules indented under a hook (`brief`: only the tables that decided, see below)."""
        where = " ".join(x for x in (f"in={self.in_iface}" if self.in_iface else "",
                                     f"out={self.out_iface}" if self.out_iface else "") if x)
        if brief and self.kind in ("neigh", "bridge"):
            return []
        if self.kind == "hook":
            head = f"{self.hook} {where} {self.verdict}".replace("  ", " ")
            rules = _decisive(self.rules) if brief else self.rules
            if not rules:
                return [] if brief and self.verdict == "ACCEPT" else [f"{head} (no rule matched)"]
            out = [head]
            for rule in rules:
                out += [f"{INDENT}{line}" for line in rule.format().split("\n")]
            return out
        if self.kind in ("in", "out"):
            return [f"{self.kind:<3} {self.in_iface or self.out_iface}  {self.packet}"]
        if self.kind == "route":
            return [f"route {self.route}: {self.text}" + (f" -> {self.out_iface}" if self.out_iface else "")]
        text = f"{self.kind} {where}".rstrip() + (f": {self.text}" if self.text else "")
        return [text]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out: dict[str, Any] = {"kind": self.kind}
        for key, value in (("in", self.in_iface), ("out", self.out_iface), ("hook", self.hook),
                           ("verdict", self.verdict), ("route", self.route), ("detail", self.text),
                           ("packet", self.packet)):
            if value:
                out[key] = value
        if self.kind == "hook":
            out["rules"] = [r.to_dict() for r in self.rules]
        return out


@dataclass(frozen=True, slots=True)
class HostVisit:
    """A run of events on one host."""

    host: str
    events: tuple[HopEvent, ...]


@dataclass(frozen=True, slots=True)
class PacketTrace:
    """One packet's trace: what it was, the hosts it crossed, how it ended."""

    role: str            # "packet" or "reply"
    packet_id: int
    first: str           # the packet as sent
    last: str            # the packet as it last arrived or left (after every rewrite)
    visits: tuple[HostVisit, ...]
    outcome: Outcome
    end_host: str
    app: str | None
    reason: str

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts crossed, in order."""
        return tuple(v.host for v in self.visits)

    def verdict(self) -> str:
        """`delivered to HOST (APP)` or `dropped on HOST: reason`."""
        if self.app:
            return f"{self.outcome.value} to {self.end_host} ({self.app})"
        return f"{self.outcome.value} on {self.end_host}" + (f": {self.reason}" if self.reason else "")

    def lines(self, brief: bool = False) -> list[str]:
        """The packet's text block."""
        out = [f"{self.role}: {self.first}", f"  path: {' -> '.join(self.hosts)}"]
        for visit in self.visits:
            out.append(f"  {visit.host}")
            for event in visit.events:
                out += [f"{INDENT}{line}" for line in event.lines(brief)]
        out.append(f"  verdict: {self.verdict()}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"role": self.role, "id": self.packet_id, "packet": self.first, "arrived": self.last,
                "path": list(self.hosts),
                "hops": [{"host": v.host, "events": [e.to_dict() for e in v.events]} for v in self.visits],
                "outcome": self.outcome.value, "host": self.end_host, "app": self.app, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PathTrace:
    """`netsim trace`'s answer: the connection, its packet, its reply (if one came back), and the summary."""

    protocol: str
    source: str
    target: str
    packet: PacketTrace
    reply: PacketTrace | None
    nat: tuple[str, ...]
    delivered_to: str | None    # the pod (namespace/name) packet 0 reached, if any
    seen_source: str | None

    def format(self, brief: bool = False) -> str:
        """The whole trace as text (`brief`: only the netfilter tables that decided something; no ARP, no bridge)."""
        lines = [f"trace {self.protocol} {self.source} -> {self.target}", ""]
        lines += self.packet.lines(brief)
        lines.append("")
        if self.reply is not None:
            lines += self.reply.lines(brief)
        else:
            lines.append("reply: none reached the sender")
        lines.append("")
        lines.append("summary:")
        lines += [f"  {n}" for n in self.nat] or ["  no NAT"]
        if self.delivered_to:
            lines.append(f"  delivered to pod {self.delivered_to}; it saw the source {self.seen_source}")
        else:
            lines.append(f"  {self.packet.verdict()}")
        if self.reply is not None:
            lines.append(f"  reply: {self.reply.last.split(' ttl ')[0]}, {self.reply.verdict()}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"protocol": self.protocol, "from": self.source, "to": self.target, "packet": self.packet.to_dict(),
                "reply": self.reply.to_dict() if self.reply else None, "nat": list(self.nat),
                "deliveredTo": self.delivered_to, "sourceSeenByBackend": self.seen_source}


def path_trace(observation: Observation, protocol: str) -> PathTrace:
    """The trace of one observed connection."""
    conn = observation.connection
    result = conn.result
    packet = packet_trace(result.steps_of(0), result.of(0), "packet", 0)
    reply_id = reply_packet(result)
    reply = packet_trace(result.steps_of(reply_id), result.of(reply_id), "reply", reply_id) \
        if reply_id is not None else None
    return PathTrace(
        protocol=protocol,
        source=f"{conn.sender.label} ({conn.sender.address}:{conn.sport})",
        target=f"{conn.target.label} ({conn.target.address}:{conn.target.port})",
        packet=packet,
        reply=reply,
        nat=tuple(rewrite_text(rw) for rw in observation.path.rewrites),
        delivered_to=observation.pod.label if observation.pod else None,
        seen_source=observation.seen_source,
    )


def packet_trace(steps: list[Step], dispositions: list, role: str, packet_id: int) -> PacketTrace:
    """A packet's steps grouped per host visit."""
    visits: list[tuple[str, list[HopEvent]]] = []
    first = latest = ""
    for step in steps:
        if not first and step.summary:
            first = step.summary
        if step.kind in (StepKind.FRAME_IN, StepKind.FRAME_OUT) and step.summary:
            latest = step.summary
        if not visits or visits[-1][0] != step.host:
            visits.append((step.host, []))
        visits[-1][1].append(_event(step))
    last = dispositions[-1] if dispositions else None
    return PacketTrace(
        role=role, packet_id=packet_id, first=first, last=latest or first,
        visits=tuple(HostVisit(h, tuple(e)) for h, e in visits),
        outcome=last.outcome if last else Outcome.LOST,
        end_host=last.host if last else "",
        app=last.app if last else None,
        reason=last.reason if last else "",
    )


def _event(step: Step) -> HopEvent:
    """A trace step as a hop event (netfilter lines filtered as the module docstring says)."""
    rules: tuple[RuleEvent, ...] = ()
    if step.kind is StepKind.HOOK:
        rules = tuple(RuleEvent.of(t) for t in _kept(step.nf_trace))
    detail = step.detail
    if step.kind is StepKind.HOOK and detail.startswith("rewrote to "):
        detail = ""
    return HopEvent(
        kind=step.kind.value,
        text=detail,
        in_iface=step.in_iface,
        out_iface=step.out_iface,
        hook=step.hook.value if step.hook else None,
        verdict=step.verdict.value if step.verdict else None,
        route=step.route.format() if step.route else None,
        packet=step.summary,
        rules=rules,
    )


NON_DECISIONS = ("JUMP", "RETURN", "")


def _decisive(rules: tuple[RuleEvent, ...]) -> list[RuleEvent]:
    """The rules of the tables that decided: a terminal verdict, a rewrite, or a policy other than ACCEPT.

    Within such a table every matched rule is kept (the jumps show how the
    decision was reached), except RETURNs; other tables, and conntrack lines
    that rewrote nothing, are left out.
    """
    deciding = {r.table for r in rules if r.chain and (
        (r.kind == "rule" and r.verdict not in NON_DECISIONS) or (r.kind == "policy" and r.verdict != "ACCEPT")
        or r.before != r.after)}
    return [r for r in rules if (r.before != r.after) or (r.chain and r.table in deciding and r.verdict != "RETURN"
                                                          and not (r.kind == "policy" and r.verdict == "ACCEPT"))]


def _kept(trace: tuple) -> list[TraceStep]:
    """The netfilter lines worth reading: drop chain ends, and ACCEPT policies of chains where nothing matched."""
    matched_chains = {(t.table, t.chain) for t in trace if t.kind == "rule"}
    out = []
    for t in trace:
        if t.kind in ("return", "miss"):
            continue
        if t.kind == "policy" and t.verdict == "ACCEPT" and (t.table, t.chain) not in matched_chains:
            continue
        out.append(t)
    return out
