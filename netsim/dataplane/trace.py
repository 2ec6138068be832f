"""What a walk returns: each packet's outcome and the hop-by-hop trace.

Every packet a walk handles has an id: 0 is the packet sent or injected;
packets it causes (ARP, ICMP errors, RSTs, applications' replies, REJECT
replies) get the next ids, and `Disposition.parent` says which packet caused
them. A `Step` is one line of the trace; `WalkResult.format()` prints them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from netsim.netfilter.hooks import Hook, Verdict
from netsim.packet import Packet, Proto, TcpFlag
from netsim.packet.arp import ArpFrame, ArpOp

from netsim.dataplane.routing import Route


class Outcome(enum.Enum):
    """How a packet's walk ended."""

    DELIVERED = "delivered"        # to an application, the sending socket, or the host stack (ICMP echo)
    NO_LISTENER = "no-listener"    # reached its host, no socket: the kernel answered with RST / port unreachable
    DROPPED = "dropped"            # a hook's DROP, or the stack discarded it (forwarding off, blackhole, bad MAC)
    REJECTED = "rejected"          # a hook's REJECT; its reply was sent back
    STOLEN = "stolen"              # a hook took it (NF_STOLEN)
    UNSUPPORTED = "unsupported"    # a hook reached a rule netsim does not emulate
    UNREACHABLE = "unreachable"    # no route, an unreachable/prohibit route, or ARP got no answer
    TTL_EXCEEDED = "ttl-exceeded"  # TTL ran out while forwarding; ICMP time exceeded was sent
    FRAG_NEEDED = "frag-needed"    # DF set and too big for the out interface's MTU
    LOST = "lost"                  # left on an interface with no link, or no host took the frame
    LOOP = "loop"                  # the walk hit its step limit (an L2 loop or a routing loop)


class StepKind(enum.Enum):
    """The kinds of trace lines."""

    FRAME_IN = "in"          # a frame arrived on an interface (the capture point)
    FRAME_OUT = "out"        # a frame left on an interface (the capture point)
    BRIDGE = "bridge"        # a bridge's forwarding decision
    HOOK = "hook"            # a netfilter hook ran
    ROUTE = "route"          # a routing decision
    NEIGHBOUR = "neigh"      # neighbour resolution (ARP learned, queued, failed)
    ENCAP = "encap"          # vxlan encapsulation / decapsulation
    DELIVER = "deliver"      # handed to an application, socket or the stack
    ICMP = "icmp"            # the stack generated an ICMP error, RST or echo reply
    DROP = "drop"            # the stack discarded the packet
    INFO = "info"            # anything else worth a line


_VERDICT_OUTCOME = {
    Verdict.DROP: Outcome.DROPPED,
    Verdict.REJECT: Outcome.REJECTED,
    Verdict.STOLEN: Outcome.STOLEN,
    Verdict.UNSUPPORTED: Outcome.UNSUPPORTED,
}


def verdict_outcome(verdict: Verdict) -> Outcome:
    """The outcome a non-ACCEPT verdict ends a packet with."""
    return _VERDICT_OUTCOME[verdict]


def summarize(frame: Packet | ArpFrame | None) -> str:
    """A short tcpdump-like description of a frame or packet."""
    if frame is None:
        return ""
    if isinstance(frame, ArpFrame):
        if frame.op == ArpOp.REQUEST:
            return f"ARP who-has {frame.target_ip} tell {frame.sender_ip}"
        return f"ARP {frame.sender_ip} is-at {frame.sender_mac}"
    if frame.proto == Proto.ICMP:
        text = f"ICMP {frame.src} > {frame.dst} type {frame.icmp_type} code {frame.icmp_code}"
        if frame.icmp_type in (0, 8):
            text += f" id {frame.icmp_id} seq {frame.icmp_seq}"
        if frame.inner is not None:
            text += f" [{summarize(frame.inner)}]"
    elif frame.proto in (Proto.TCP, Proto.UDP, Proto.SCTP):
        name = Proto(frame.proto).name
        text = f"{name} {frame.src}:{frame.sport} > {frame.dst}:{frame.dport}"
        if frame.proto == Proto.TCP:
            text += " [" + "".join(ch for bit, ch in _TCP_LETTERS if frame.tcp_flags & bit) + "]"
        if (frame.proto == Proto.UDP and frame.dport in _VXLAN_PORTS and len(frame.payload) >= 8
                and frame.payload[0] == 0x08):
            text += f" vxlan vni {int.from_bytes(frame.payload[4:7], 'big')} len {len(frame.payload)}"
        elif frame.payload:
            text += f" len {len(frame.payload)}"
    else:
        text = f"proto {frame.proto} {frame.src} > {frame.dst}"
    return text + f" ttl {frame.ttl}"


_VXLAN_PORTS = (4789, 8472)  # IANA's and the Linux default (flannel)
_TCP_LETTERS = ((TcpFlag.SYN, "S"), (TcpFlag.FIN, "F"), (TcpFlag.RST, "R"), (TcpFlag.PSH, "P"),
                (TcpFlag.ACK, "."), (TcpFlag.URG, "U"))


@dataclass(frozen=True, slots=True)
class Step:
    """One trace line: which packet, on which host, what happened."""

    packet: int
    host: str
    kind: StepKind
    detail: str = ""
    in_iface: str | None = None
    out_iface: str | None = None
    hook: Hook | None = None
    verdict: Verdict | None = None
    route: Route | None = None
    summary: str = ""
    nf_trace: tuple = ()

    def format(self) -> str:
        """The step as one line (netfilter trace steps follow, indented)."""
        where = []
        if self.in_iface is not None:
            where.append(f"in={self.in_iface}")
        if self.out_iface is not None:
            where.append(f"out={self.out_iface}")
        head = f"#{self.packet} {self.host} {self.kind.value}"
        if self.hook is not None:
            head += f" {self.hook.value}"
        if where:
            head += " " + " ".join(where)
        if self.verdict is not None:
            head += f" {self.verdict.value}"
        if self.route is not None:
            head += f" [{self.route.format()}]"
        if self.detail:
            head += f": {self.detail}"
        if self.summary:
            head += f" | {self.summary}"
        lines = [head] + [f"    {step}" for step in self.nf_trace]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True, slots=True)
class Disposition:
    """How one packet of the walk ended: where, and for what reason."""

    packet: int
    parent: int | None
    outcome: Outcome
    host: str
    app: str | None = None
    reason: str = ""
    record: Packet | ArpFrame | None = field(default=None, repr=False, compare=False)

    def format(self) -> str:
        """One line: `#0 delivered on pod-b to echo`."""
        text = f"#{self.packet} {self.outcome.value} on {self.host}"
        if self.app:
            text += f" to {self.app}"
        if self.reason:
            text += f": {self.reason}"
        return text


@dataclass(frozen=True, slots=True)
class WalkResult:
    """The outcome of packet 0, every packet's disposition, the trace, and what the sender got back."""

    outcome: Outcome
    host: str
    app: str | None
    reason: str
    dispositions: tuple[Disposition, ...]
    steps: tuple[Step, ...]
    received: tuple[Packet, ...] = ()  # packets delivered back to the sending socket (replies, ICMP errors)

    @property
    def delivered(self) -> bool:
        """True when packet 0 reached an application, socket or the host stack."""
        return self.outcome is Outcome.DELIVERED

    def of(self, packet: int) -> list[Disposition]:
        """The dispositions of one packet id."""
        return [d for d in self.dispositions if d.packet == packet]

    def steps_of(self, packet: int) -> list[Step]:
        """The trace lines of one packet id."""
        return [s for s in self.steps if s.packet == packet]

    def hooks(self, packet: int = 0) -> list[tuple[str, Hook, str | None, str | None]]:
        """(host, hook, in, out) for each hook packet `packet` went through, in order."""
        return [(s.host, s.hook, s.in_iface, s.out_iface) for s in self.steps
                if s.packet == packet and s.kind is StepKind.HOOK]

    def format(self) -> str:
        """The whole trace, then the dispositions."""
        lines = [s.format() for s in self.steps]
        lines += [d.format() for d in self.dispositions]
        return "\n".join(lines) + "\n"
