"""Trace steps: what each table, chain and rule did to a packet, one readable line each."""

from __future__ import annotations

from dataclasses import dataclass

from netsim.packet.record import Packet, Proto

_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}
_FLAG_LETTERS = (("S", 0x02), ("A", 0x10), ("F", 0x01), ("R", 0x04), ("P", 0x08), ("U", 0x20))


def describe(packet: Packet) -> str:
    """A one-line summary: `tcp 10.0.0.1:40000 > 10.96.0.1:443 [S] mark=0x4000`."""
    name = _PROTO_NAMES.get(packet.proto, str(packet.proto))
    if packet.proto in (Proto.TCP, Proto.UDP, Proto.SCTP):
        text = f"{name} {_hostport(packet.src, packet.sport)} > {_hostport(packet.dst, packet.dport)}"
        if packet.proto == Proto.TCP:
            text += " [" + "".join(c for c, bit in _FLAG_LETTERS if packet.tcp_flags & bit) + "]"
            mss = _mss(packet.tcp_options) if packet.tcp_options else None
            if mss is not None:
                text += f" mss={mss}"
    elif packet.proto in (Proto.ICMP, Proto.ICMPV6):
        text = f"{name} {packet.src} > {packet.dst} type={packet.icmp_type} code={packet.icmp_code}"
        if packet.inner is not None:
            text += f" ({describe(packet.inner)})"
        else:
            text += f" id={packet.icmp_id}"
    else:
        text = f"proto {packet.proto} {packet.src} > {packet.dst}"
    if packet.mark:
        text += f" mark={packet.mark:#x}"
    return text


def _mss(options: bytes) -> int | None:
    from netsim.netfilter.targets import mss_of

    found = mss_of(options)
    return found[1] if found else None


def _hostport(addr, port: int) -> str:
    return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One thing the engine did: a rule matched, a policy applied, conntrack or NAT acted.

    `kind` is one of: "rule" (a rule matched; `target` says what it did),
    "miss" (a rule was evaluated and did not match; only with trace_misses),
    "policy" (fell off a built-in chain), "return" (fell off a user chain),
    "conntrack" (lookup/new/confirm, `note` says which), "nat" (conntrack
    translated an established flow), "log" (LOG/TRACE target output).
    `before`/`after` describe the packet when the step rewrote it.
    """

    hook: str
    table: str
    chain: str
    kind: str
    rule_number: int = 0
    rule: str = ""
    target: str = ""
    verdict: str = ""
    before: str = ""
    after: str = ""
    note: str = ""

    def __str__(self) -> str:
        if not self.chain:  # conntrack or a stored NAT binding: no table walk
            text = f"{self.hook:<11} {self.kind}: {self.note}"
            if self.verdict:
                text += f" => {self.verdict}"
        else:
            where = f"{self.table}/{self.chain}"
            if self.rule_number:
                where += f"#{self.rule_number}"
            text = f"{self.hook:<11} {where}: "
            if self.kind in ("rule", "miss"):
                text += ("match " if self.kind == "rule" else "no match ") + self.rule
                if self.verdict:
                    text += f" => {self.verdict}"
            elif self.kind == "policy":
                text += f"policy {self.verdict}"
            elif self.kind == "return":
                text += "end of chain, return"
            else:
                text += self.kind
            if self.note:
                text += f" ({self.note})"
        if self.before != self.after:
            text += f": {self.before} -> {self.after}"
        return text
