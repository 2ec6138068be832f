"""Rule targets compiled to actions: verdicts, jumps, NAT, MARK/CONNMARK, LOG, NOTRACK, REJECT replies.

`compile_target(rule, table, chains)` returns `action(packet, ctx) -> (code, value)`:
CONTINUE (non-terminal target), VERDICT ((Verdict, reply, reason)), RETURN,
JUMP/GOTO (chain name). A target netsim does not emulate raises `Unsupported`
when a packet reaches it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from netsim.netfilter.conntrack import UNTRACKED, ConntrackEntry, is_icmp_error
from netsim.netfilter.hooks import Verdict
from netsim.netfilter.matches import EvalContext, Unsupported
from netsim.netfilter.nat import Manip, NatRange, bind, translate
from netsim.netfilter.ruleset import Rule, Target
from netsim.packet.record import Packet, Proto, TcpFlag

# Action result codes.
CONTINUE = 0  # go on with the next rule (MARK, LOG, CONNMARK, NOTRACK, TRACE)
VERDICT = 1   # stop: value is (Verdict, reply packet or None, reason)
RETURN = 2    # back to the calling chain (or the built-in chain's policy)
JUMP = 3      # value is the chain to call; RETURN comes back here
GOTO = 4      # value is the chain to continue in; RETURN skips this chain's caller

# Targets iptables ships that netsim knows by name (others must be declared chains).
KNOWN_TARGETS = frozenset({
    "ACCEPT", "DROP", "RETURN", "QUEUE", "NFQUEUE", "REJECT", "DNAT", "SNAT", "MASQUERADE",
    "REDIRECT", "MARK", "CONNMARK", "LOG", "NFLOG", "TRACE", "NOTRACK", "CT", "TCPMSS",
    "CHECKSUM", "CLASSIFY", "DSCP", "TOS", "TTL", "SET", "TPROXY", "NETMAP", "TEE", "AUDIT",
    "SECMARK", "CONNSECMARK", "SYNPROXY", "HMARK", "IDLETIMER", "LED",
})

# REJECT --reject-with → (ICMP type, code); tcp-reset is separate.
REJECT_ICMP = {
    "icmp-net-unreachable": (3, 0), "icmp-host-unreachable": (3, 1),
    "icmp-proto-unreachable": (3, 2), "icmp-port-unreachable": (3, 3),
    "icmp-net-prohibited": (3, 9), "icmp-host-prohibited": (3, 10),
    "icmp-admin-prohibited": (3, 13),
    "icmp6-no-route": (1, 0), "icmp6-adm-prohibited": (1, 1),
    "icmp6-addr-unreachable": (1, 3), "icmp6-port-unreachable": (1, 4),
}

Action = Callable[[Packet, EvalContext], tuple]

_ACCEPT = (VERDICT, (Verdict.ACCEPT, None, ""))


def _unsupported(reason: str) -> Action:
    def act(p: Packet, ctx: EvalContext) -> tuple:
        raise Unsupported(reason)

    return act


def _xmark(text: str) -> tuple[int, int]:
    value, _, mask = text.partition("/")
    return int(value, 0), (int(mask, 0) if mask else 0xFFFFFFFF)


def reject_source(packet: Packet, ctx: EvalContext):
    """The source of a locally generated error: the rejected packet's destination when local,
    else the first address of the interface it came in on (icmp_send's choice, roughly)."""
    if packet.dst in ctx.local_addresses or ctx.in_iface is None:
        return packet.dst
    for addr in ctx.engine.interface_addresses(ctx.in_iface):
        if addr.version == packet.version:
            return addr
    return packet.dst


def build_reject(packet: Packet, how: str, ctx: EvalContext) -> Packet | None:
    """The ICMP error or TCP RST that REJECT sends back (nf_reject_ipv4.c / icmp_send rules).

    Like the kernel's nf_ct_attach, the answer carries the refused packet's
    conntrack entry in the other direction, so OUTPUT/POSTROUTING un-NAT it.
    """
    reply = _build_reject(packet, how, ctx)
    if reply is not None and isinstance(packet.ct, ConntrackEntry):
        reply.ct, reply.ct_reply = packet.ct, not packet.ct_reply
    return reply


def _build_reject(packet: Packet, how: str, ctx: EvalContext) -> Packet | None:
    if how == "tcp-reset":
        if packet.proto != Proto.TCP or packet.tcp_flags & TcpFlag.RST:
            return None
        rst = Packet(src=packet.dst, dst=packet.src, proto=Proto.TCP, sport=packet.dport, dport=packet.sport)
        if packet.tcp_flags & TcpFlag.ACK:
            rst.seq = packet.ack
            rst.tcp_flags = TcpFlag.RST
        else:
            syn_fin = (1 if packet.tcp_flags & TcpFlag.SYN else 0) + (1 if packet.tcp_flags & TcpFlag.FIN else 0)
            rst.ack = (packet.seq + syn_fin + len(packet.payload)) & 0xFFFFFFFF
            rst.tcp_flags = TcpFlag.RST | TcpFlag.ACK
        rst.window = 0
        return rst
    itype, code = REJECT_ICMP.get(how, (3, 3))
    # No error about an ICMP error, nor to a multicast/broadcast or unspecified source.
    if is_icmp_error(packet) or packet.src.is_multicast or int(packet.src) == 0:
        return None
    if packet.version == 4 and packet.dst == ipaddress.IPv4Address("255.255.255.255"):
        return None
    proto = Proto.ICMP if packet.version == 4 else Proto.ICMPV6
    if packet.version == 6 and how.startswith("icmp-"):
        itype, code = 1, 4
    elif packet.version == 4 and how.startswith("icmp6-"):
        itype, code = 3, 3
    quoted = packet.clone()
    quoted.ct, quoted.ct_reply = None, False
    return Packet(src=reject_source(packet, ctx), dst=packet.src, proto=proto, icmp_type=itype,
                  icmp_code=code, inner=quoted, df=False)


def _log_line(prefix: str, packet: Packet, ctx: EvalContext) -> str:
    """Roughly the kernel's LOG format (nf_log_ipv4)."""
    proto = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6"}.get(packet.proto, str(packet.proto))
    text = (f"{prefix}IN={ctx.in_iface or ''} OUT={ctx.out_iface or ''} SRC={packet.src} DST={packet.dst} "
            f"TTL={packet.ttl} PROTO={proto}")
    if packet.proto in (Proto.TCP, Proto.UDP, Proto.SCTP):
        text += f" SPT={packet.sport} DPT={packet.dport}"
    if packet.mark:
        text += f" MARK={packet.mark:#x}"
    return text


def _nat_action(target: Target, table: str, rule: Rule, where: str) -> Action:
    name = target.name
    if table != "nat":
        return _unsupported(f"{where}: {name} outside the nat table")
    flags = {o.name for o in target.options}
    random = bool(flags & {"--random", "--random-fully"})
    persistent = "--persistent" in flags
    if name in ("DNAT", "SNAT"):
        opt = target.get("--to-destination" if name == "DNAT" else "--to-source")
        if opt is None:
            return _unsupported(f"{where}: {name} without a --to range")
        spec = NatRange.parse(opt.values[0], random=random, persistent=persistent)
        manip = Manip.DST if name == "DNAT" else Manip.SRC
    else:
        ports = target.get("--to-ports")
        spec = NatRange.ports(ports.values[0] if ports else None, random=random)
        manip = Manip.DST if name == "REDIRECT" else Manip.SRC
    unknown = flags - {"--to-destination", "--to-source", "--to-ports", "--random", "--random-fully",
                       "--persistent"}
    if unknown:
        return _unsupported(f"{where}: {name} option {sorted(unknown)[0]} is not emulated")

    def act(p: Packet, ctx: EvalContext) -> tuple:
        entry = p.ct
        if not isinstance(entry, ConntrackEntry):
            return _ACCEPT
        address = None
        if name == "MASQUERADE":
            address = ctx.engine.masquerade_address(ctx.out_iface, p.version)
            if address is None:
                return (VERDICT, (Verdict.DROP, None, f"{where}: MASQUERADE: no address on {ctx.out_iface!r}"))
        elif name == "REDIRECT":
            if ctx.in_iface is None:  # OUTPUT: to the loopback address
                address = ipaddress.ip_address("127.0.0.1" if p.version == 4 else "::1")
            else:
                address = ctx.engine.masquerade_address(ctx.in_iface, p.version)
                if address is None:
                    return (VERDICT, (Verdict.DROP, None, f"{where}: REDIRECT: no address on {ctx.in_iface!r}"))
        if not bind(entry, ctx.engine.conntrack, manip, spec, ctx.engine.rng, address=address):
            return (VERDICT, (Verdict.DROP, None, f"{where}: {name}: no free tuple in range"))
        translate(p, entry, False, manip)
        return _ACCEPT

    return act


def compile_target(rule: Rule, table: str, chains: dict) -> Action:
    """The action of a rule's target (a rule without one just counts: CONTINUE)."""
    where = f"line {rule.line}" if rule.line else f"rule {rule.text!r}"
    target = rule.target
    if target is None:
        return lambda p, ctx: (CONTINUE, None)
    name = target.name
    if name in chains:
        code = GOTO if target.goto else JUMP
        result = (code, name)
        return lambda p, ctx: result
    if name == "ACCEPT":
        return lambda p, ctx: _ACCEPT
    if name == "DROP":
        result = (VERDICT, (Verdict.DROP, None, f"{where}: DROP"))
        return lambda p, ctx: result
    if name == "RETURN":
        return lambda p, ctx: (RETURN, None)
    if name == "REJECT":
        opt = target.get("--reject-with")
        how = opt.values[0] if opt else "icmp-port-unreachable"
        if how != "tcp-reset" and how not in REJECT_ICMP:
            return _unsupported(f"{where}: REJECT --reject-with {how} is not emulated")

        def reject(p: Packet, ctx: EvalContext) -> tuple:
            reply = build_reject(p, how, ctx)
            return (VERDICT, (Verdict.REJECT, reply, f"{where}: REJECT --reject-with {how}"))

        return reject
    if name in ("DNAT", "SNAT", "MASQUERADE", "REDIRECT"):
        try:
            return _nat_action(target, table, rule, where)
        except (ValueError, IndexError) as exc:
            return _unsupported(f"{where}: cannot read {name} range ({exc})")
    if name == "MARK":
        opt = target.get("--set-xmark")
        if opt is None or len(target.options) != 1:
            return _unsupported(f"{where}: MARK option form {rule.target.render()!r} is not emulated")
        value, mask = _xmark(opt.values[0])

        def mark(p: Packet, ctx: EvalContext) -> tuple:
            p.mark = (p.mark & ~mask & 0xFFFFFFFF) ^ value
            return (CONTINUE, None)

        return mark
    if name == "CONNMARK":
        return _connmark(target, where)
    if name == "CHECKSUM":
        # netsim computes every checksum when it serializes a packet: nothing to fill in
        def checksum(p: Packet, ctx: EvalContext) -> tuple:
            ctx.notes.append(("log", "CHECKSUM: checksums are always computed on output"))
            return (CONTINUE, None)

        return checksum
    if name == "TCPMSS":
        return _tcpmss(target, where)
    if name in ("LOG", "TRACE", "NFLOG"):
        opt = target.get("--log-prefix") or target.get("--nflog-prefix")
        prefix = opt.values[0] if opt else ""

        def log(p: Packet, ctx: EvalContext) -> tuple:
            ctx.notes.append(("log", "TRACE" if name == "TRACE" else _log_line(prefix, p, ctx)))
            return (CONTINUE, None)

        return log
    if name == "NOTRACK" or (name == "CT" and [o.name for o in target.options] == ["--notrack"]):
        if table != "raw":
            return _unsupported(f"{where}: {name} outside the raw table")

        def notrack(p: Packet, ctx: EvalContext) -> tuple:
            p.ct = UNTRACKED
            return (CONTINUE, None)

        return notrack
    return _unsupported(f"{where}: target {target.render()!r} is not emulated")


TCP_MIN_HEADERS = {4: 40, 6: 60}   # IP + TCP headers without options (xt_TCPMSS minlen)
MSS_IF_ABSENT = {4: 536, 6: 1220}  # the MSS a peer assumes without the option (RFC 879 / RFC 8200)


def mss_of(options: bytes) -> tuple[int, int] | None:
    """(offset, value) of the MSS option in raw TCP options, or None."""
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:
            return None
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(options) or options[i + 1] < 2:
            return None
        if kind == 2 and options[i + 1] == 4 and i + 4 <= len(options):
            return i, int.from_bytes(options[i + 2:i + 4], "big")
        i += options[i + 1]
    return None


def _tcpmss(target: Target, where: str) -> Action:
    """xt_TCPMSS: lower a SYN's MSS option (or add one when the SYN has no payload)."""
    set_mss = target.get("--set-mss")
    clamp = target.get("--clamp-mss-to-pmtu") is not None
    if set_mss is None and not clamp:
        return _unsupported(f"{where}: TCPMSS without --set-mss or --clamp-mss-to-pmtu")

    def act(p: Packet, ctx: EvalContext) -> tuple:
        if p.proto != Proto.TCP or not p.tcp_flags & TcpFlag.SYN:
            return (CONTINUE, None)
        if clamp:
            mtus = [ctx.engine.interface_mtu(i) for i in (ctx.out_iface, ctx.in_iface) if i is not None]
            if not mtus or None in mtus:
                raise Unsupported(f"{where}: TCPMSS --clamp-mss-to-pmtu needs interface MTUs "
                                  "(NetfilterEngine(interface_mtu=...))")
            new = min(mtus) - TCP_MIN_HEADERS[p.version]
        else:
            new = int(set_mss.values[0])
        found = mss_of(p.tcp_options)
        if found is not None:
            offset, old = found
            if old > new:
                opts = bytearray(p.tcp_options)
                opts[offset + 2:offset + 4] = new.to_bytes(2, "big")
                p.tcp_options = bytes(opts)
        elif not p.payload:
            new = min(new, MSS_IF_ABSENT[p.version])
            p.tcp_options = b"\x02\x04" + new.to_bytes(2, "big") + p.tcp_options
        return (CONTINUE, None)

    return act


def _connmark(target: Target, where: str) -> Action:
    opts = {o.name: o for o in target.options}
    if "--set-xmark" in opts:
        value, mask = _xmark(opts["--set-xmark"].values[0])

        def set_ct(p: Packet, ctx: EvalContext) -> tuple:
            if isinstance(p.ct, ConntrackEntry):
                p.ct.mark = (p.ct.mark & ~mask & 0xFFFFFFFF) ^ value
            return (CONTINUE, None)

        return set_ct
    nfmask = int(opts["--nfmask"].values[0], 0) if "--nfmask" in opts else 0xFFFFFFFF
    ctmask = int(opts["--ctmask"].values[0], 0) if "--ctmask" in opts else 0xFFFFFFFF
    if "--save-mark" in opts:

        def save(p: Packet, ctx: EvalContext) -> tuple:
            if isinstance(p.ct, ConntrackEntry):
                p.ct.mark = (p.ct.mark & ~ctmask & 0xFFFFFFFF) ^ (p.mark & nfmask)
            return (CONTINUE, None)

        return save
    if "--restore-mark" in opts:

        def restore(p: Packet, ctx: EvalContext) -> tuple:
            if isinstance(p.ct, ConntrackEntry):
                p.mark = (p.mark & ~nfmask & 0xFFFFFFFF) ^ (p.ct.mark & ctmask)
            return (CONTINUE, None)

        return restore
    return _unsupported(f"{where}: CONNMARK option form is not emulated")
