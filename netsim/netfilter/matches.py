"""Rule matches compiled to predicates: generic -s/-d/-i/-o/-p, then one builder per `-m` module.

`compile_matches(rule)` returns predicates `f(packet, ctx) -> bool`, in the
order the kernel evaluates them (the generic ip part first, then each match
in rule order). A module or option netsim does not emulate compiles to a
predicate that raises `Unsupported` when a packet reaches it, so loading
never fails on it and evaluation never guesses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from netsim.netfilter.conntrack import UNTRACKED, ConntrackEntry, is_icmp_error
from netsim.netfilter.normalize import (
    ICMP_TYPES,
    ICMPV6_TYPE_NAMES,
    LIMIT_SCALE,
    TCP_FLAG_BITS,
    limit_period,
    port_number,
    quantized_probability,
)
from netsim.netfilter.ruleset import PROTOCOL_NUMBERS, Match, Option, Rule, parse_network
from netsim.packet.record import Packet, Proto


class Unsupported(Exception):
    """Raised inside evaluation when a packet reaches a match or target netsim does not emulate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class EvalContext:
    """Everything a match or target may read besides the packet, for one run_hook call."""

    hook: object
    table: str
    in_iface: str | None
    out_iface: str | None
    local_addresses: frozenset
    engine: object
    notes: list = field(default_factory=list)


Predicate = Callable[[Packet, EvalContext], bool]


def _where(rule: Rule) -> str:
    return f"line {rule.line}" if rule.line else f"rule {rule.text!r}"


def unsupported(reason: str) -> Predicate:
    """A predicate that stops evaluation with `reason`."""

    def pred(p: Packet, ctx: EvalContext) -> bool:
        raise Unsupported(reason)

    return pred


# --- generic ip match ----------------------------------------------------------


def _net_pred(opt: Option, attr: str) -> Predicate:
    net = parse_network(opt.values[0])
    version, base, mask = net.version, int(net.network_address), int(net.netmask)
    neg = opt.negated

    def pred(p: Packet, ctx: EvalContext) -> bool:
        addr = getattr(p, attr)
        hit = addr.version == version and (int(addr) & mask) == base
        return hit != neg

    return pred


def iface_matches(pattern: str, name: str | None) -> bool:
    """iptables interface matching: exact, or a prefix when the pattern ends in '+'."""
    name = name or ""
    if pattern.endswith("+"):
        return name.startswith(pattern[:-1])
    return name == pattern


def _iface_pred(opt: Option, attr: str) -> Predicate:
    pattern, neg = opt.values[0], opt.negated

    def pred(p: Packet, ctx: EvalContext) -> bool:
        return iface_matches(pattern, getattr(ctx, attr)) != neg

    return pred


def protocol_number(value: str) -> int:
    """A `-p` value as a number (0 = all)."""
    v = value.lower()
    return int(v) if v.isdigit() else PROTOCOL_NUMBERS[v]


def _proto_pred(opt: Option) -> Predicate:
    number, neg = protocol_number(opt.values[0]), opt.negated
    if number == 0:
        return lambda p, ctx: not neg

    def pred(p: Packet, ctx: EvalContext) -> bool:
        return (p.proto == number) != neg

    return pred


def _generic(rule: Rule) -> list[Predicate]:
    preds: list[Predicate] = []
    for opt in rule.generic:
        if opt.name == "-s":
            preds.append(_net_pred(opt, "src"))
        elif opt.name == "-d":
            preds.append(_net_pred(opt, "dst"))
        elif opt.name == "-i":
            preds.append(_iface_pred(opt, "in_iface"))
        elif opt.name == "-o":
            preds.append(_iface_pred(opt, "out_iface"))
        elif opt.name == "-p":
            preds.append(_proto_pred(opt))
        elif opt.name == "-f":
            # netsim carries whole datagrams: no packet is a non-first fragment.
            neg = opt.negated
            preds.append(lambda p, ctx, neg=neg: neg)
    return preds


# --- modules -------------------------------------------------------------------


def _port_ranges(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in text.split(","):
        if ":" in part:
            lo, hi = part.split(":", 1)
            out.append((port_number(lo) if lo else 0, port_number(hi) if hi else 65535))
        else:
            n = port_number(part)
            out.append((n, n))
    return tuple(out)


def _in_ranges(port: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    for lo, hi in ranges:
        if lo <= port <= hi:
            return True
    return False


def _flags(text: str) -> int:
    bits = 0
    for name in text.upper().split(","):
        if name == "ALL":
            bits |= 0x3F
        elif name != "NONE":
            bits |= TCP_FLAG_BITS[name]
    return bits


def _ports_module(proto: int, match: Match, rule: Rule) -> list[Predicate]:
    preds: list[Predicate] = [lambda p, ctx: p.proto == proto]
    for opt in match.options:
        neg = opt.negated
        if opt.name in ("--sport", "--source-port", "--dport", "--destination-port"):
            ranges = _port_ranges(opt.values[0])
            attr = "sport" if opt.name in ("--sport", "--source-port") else "dport"
            preds.append(lambda p, ctx, r=ranges, a=attr, n=neg: _in_ranges(getattr(p, a), r) != n)
        elif opt.name in ("--tcp-flags", "--syn") and proto == Proto.TCP:
            if opt.name == "--syn":
                mask, comp = 0x17, 0x02
            else:
                mask, comp = _flags(opt.values[0]), _flags(opt.values[1])
            preds.append(lambda p, ctx, m=mask, c=comp, n=neg: ((p.tcp_flags & m) == c) != n)
        else:
            preds.append(unsupported(f"{_where(rule)}: -m {match.module} option {opt.name} is not emulated"))
    return preds


def _icmp_module(match: Match, rule: Rule) -> list[Predicate]:
    preds: list[Predicate] = [lambda p, ctx: p.proto == Proto.ICMP]
    for opt in match.options:
        if opt.name != "--icmp-type":
            preds.append(unsupported(f"{_where(rule)}: -m icmp option {opt.name} is not emulated"))
            continue
        text, neg = opt.values[0], opt.negated
        if text == "any":
            preds.append(lambda p, ctx, n=neg: not n)
            continue
        if text in ICMP_TYPES:
            itype, code = ICMP_TYPES[text]
        else:
            t, _, c = text.partition("/")
            itype, code = int(t), (int(c) if c else None)
        preds.append(
            lambda p, ctx, t=itype, c=code, n=neg: (p.icmp_type == t and (c is None or p.icmp_code == c)) != n
        )
    return preds


def _icmp6_module(match: Match, rule: Rule) -> list[Predicate]:
    preds: list[Predicate] = [lambda p, ctx: p.proto == Proto.ICMPV6]
    for opt in match.options:
        if opt.name != "--icmpv6-type":
            preds.append(unsupported(f"{_where(rule)}: -m icmp6 option {opt.name} is not emulated"))
            continue
        text = ICMPV6_TYPE_NAMES.get(opt.values[0], opt.values[0])
        t, _, c = text.partition("/")
        itype, code, neg = int(t), (int(c) if c else None), opt.negated
        preds.append(
            lambda p, ctx, t=itype, c=code, n=neg: (p.icmp_type == t and (c is None or p.icmp_code == c)) != n
        )
    return preds


def _multiport(match: Match, rule: Rule) -> list[Predicate]:
    preds: list[Predicate] = []
    for opt in match.options:
        ranges, neg = _port_ranges(opt.values[0]), opt.negated
        if opt.name in ("--dports", "--destination-ports"):
            preds.append(lambda p, ctx, r=ranges, n=neg: _in_ranges(p.dport, r) != n)
        elif opt.name in ("--sports", "--source-ports"):
            preds.append(lambda p, ctx, r=ranges, n=neg: _in_ranges(p.sport, r) != n)
        elif opt.name == "--ports":
            preds.append(lambda p, ctx, r=ranges, n=neg: (_in_ranges(p.sport, r) or _in_ranges(p.dport, r)) != n)
        else:
            preds.append(unsupported(f"{_where(rule)}: -m multiport option {opt.name} is not emulated"))
    # multiport only applies to protocols with ports
    return [lambda p, ctx: p.proto in (Proto.TCP, Proto.UDP, Proto.SCTP), *preds]


def _mark_value(text: str) -> tuple[int, int]:
    value, _, mask = text.partition("/")
    return int(value, 0), (int(mask, 0) if mask else 0xFFFFFFFF)


def _mark(match: Match, rule: Rule, on_ct: bool) -> list[Predicate]:
    preds: list[Predicate] = []
    for opt in match.options:
        if opt.name != "--mark":
            preds.append(unsupported(f"{_where(rule)}: -m {match.module} option {opt.name} is not emulated"))
            continue
        value, mask = _mark_value(opt.values[0])
        neg = opt.negated
        if on_ct:
            preds.append(lambda p, ctx, v=value, m=mask, n=neg: ((_ct_mark(p) & m) == v) != n)
        else:
            preds.append(lambda p, ctx, v=value, m=mask, n=neg: ((p.mark & m) == v) != n)
    return preds


def _limit(match: Match, rule: Rule) -> list[Predicate]:
    """xt_limit as a token bucket on the engine's clock: `burst` tokens, one back per period."""
    rate, burst_opt = match.get("--limit"), match.get("--limit-burst")
    if any(o.name not in ("--limit", "--limit-burst") or o.negated for o in match.options):
        return [unsupported(f"{_where(rule)}: -m limit option form is not emulated")]
    period = limit_period(rate.values[0] if rate else "3/hour") / LIMIT_SCALE
    burst = int(burst_opt.values[0]) if burst_opt else 5
    key = object()  # this match's bucket (tokens, last time) in engine.match_state

    def pred(p: Packet, ctx: EvalContext) -> bool:
        now = ctx.engine.clock()
        tokens, at = ctx.engine.match_state.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) / period)
        matched = tokens >= 1.0
        ctx.engine.match_state[key] = (tokens - 1.0 if matched else tokens, now)
        return matched

    return [pred]


def _iprange(match: Match, rule: Rule) -> list[Predicate]:
    preds: list[Predicate] = []
    for opt in match.options:
        if opt.name not in ("--src-range", "--dst-range"):
            preds.append(unsupported(f"{_where(rule)}: -m iprange option {opt.name} is not emulated"))
            continue
        lo, _, hi = opt.values[0].partition("-")
        low, high = ipaddress.ip_address(lo), ipaddress.ip_address(hi or lo)
        attr, neg = ("src" if opt.name == "--src-range" else "dst"), opt.negated
        preds.append(lambda p, ctx, a=attr, lo=low, hi=high, n=neg: (
            getattr(p, a).version == lo.version and lo <= getattr(p, a) <= hi) != n)
    return preds


def _mac(match: Match, rule: Rule) -> list[Predicate]:
    opt = match.get("--mac-source")
    if opt is None or len(match.options) != 1:
        return [unsupported(f"{_where(rule)}: -m mac option form is not emulated")]
    mac, neg = opt.values[0].lower(), opt.negated
    return [lambda p, ctx: ((p.src_mac or "").lower() == mac) != neg]


def _ct_mark(p: Packet) -> int:
    return p.ct.mark if isinstance(p.ct, ConntrackEntry) else 0


def _statistic(match: Match, rule: Rule) -> list[Predicate]:
    mode = match.get("--mode")
    mode_name = mode.values[0] if mode else "random"
    if mode_name == "random":
        prob_opt = match.get("--probability")
        if prob_opt is None:
            return [unsupported(f"{_where(rule)}: -m statistic --mode random without --probability")]
        threshold = quantized_probability(float(prob_opt.values[0]))
        neg = prob_opt.negated or (mode is not None and mode.negated)

        probability = threshold / 0x80000000

        def random_pred(p: Packet, ctx: EvalContext) -> bool:
            forced = ctx.engine.branch_choices
            if forced is not None:  # all-branches exploration (engine.branches)
                return forced.decide(probability if not neg else 1 - probability)
            # xt_statistic: (get_random_u32() & 0x7FFFFFFF) < probability
            draw = int(ctx.engine.rng.integers(0, 0x80000000))
            return (draw < threshold) != neg

        return [random_pred]
    if mode_name == "nth":
        every_opt, packet_opt = match.get("--every"), match.get("--packet")
        every = int(every_opt.values[0]) if every_opt else 1
        packet = int(packet_opt.values[0]) if packet_opt else 0
        neg = any(o.negated for o in match.options)
        key = object()  # this match's counter in engine.match_state

        def nth_pred(p: Packet, ctx: EvalContext) -> bool:
            # xt_statistic nth: the k-th packet reaching this match (from 0) matches when k % every == packet
            counters = ctx.engine.match_state
            k = counters.get(key, 0)
            counters[key] = k + 1
            return (k % every == packet) != neg

        return [nth_pred]
    return [unsupported(f"{_where(rule)}: -m statistic --mode {mode_name} is not emulated")]


def _addr_types(addr, ctx: EvalContext, limit_iface: str | None) -> set[str]:
    """The route types of an address, as far as netsim's host knows them."""
    if limit_iface is not None:
        local = addr in ctx.engine.interface_addresses(limit_iface)
    else:
        local = addr in ctx.local_addresses
    if int(addr) == 0:
        return {"UNSPEC"}
    if addr.version == 4 and int(addr) == 0xFFFFFFFF:
        return {"BROADCAST"}  # subnet broadcasts need routes netsim's engine does not see
    if addr.is_multicast:
        return {"MULTICAST"}
    return {"LOCAL"} if local else {"UNICAST"}


_ADDRTYPES_KNOWN = frozenset({"UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "MULTICAST"})
_ADDRTYPES_ROUTING = frozenset({"ANYCAST", "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"})


def _addrtype(match: Match, rule: Rule) -> list[Predicate]:
    limit_in = match.get("--limit-iface-in") is not None
    limit_out = match.get("--limit-iface-out") is not None
    preds: list[Predicate] = []
    for opt in match.options:
        if opt.name in ("--limit-iface-in", "--limit-iface-out"):
            continue
        if opt.name not in ("--src-type", "--dst-type"):
            preds.append(unsupported(f"{_where(rule)}: -m addrtype option {opt.name} is not emulated"))
            continue
        wanted = frozenset(opt.values[0].upper().split(","))
        unknown = wanted - _ADDRTYPES_KNOWN - _ADDRTYPES_ROUTING
        if unknown:
            preds.append(unsupported(f"{_where(rule)}: -m addrtype: unknown address type {sorted(unknown)[0]}"))
            continue
        routing = wanted & _ADDRTYPES_ROUTING
        if routing:
            preds.append(unsupported(
                f"{_where(rule)}: -m addrtype {opt.name} {','.join(sorted(routing))} needs route types netsim does not model"))
            continue
        attr, neg = ("src" if opt.name == "--src-type" else "dst"), opt.negated

        def pred(p: Packet, ctx: EvalContext, w=wanted, a=attr, n=neg) -> bool:
            iface = ctx.in_iface if limit_in else ctx.out_iface if limit_out else None
            types = _addr_types(getattr(p, a), ctx, iface)
            return bool(types & w) != n

        preds.append(pred)
    return preds


def packet_ctstates(p: Packet) -> frozenset[str]:
    """The conntrack states of a packet as -m conntrack --ctstate sees them."""
    ct = p.ct
    if ct is None:
        return frozenset({"INVALID"})
    if ct is UNTRACKED:
        return frozenset({"UNTRACKED"})
    states = set()
    if is_icmp_error(p):
        states.add("RELATED")
    elif p.ct_reply or ct.seen_reply:
        states.add("ESTABLISHED")
    else:
        states.add("NEW")
    if ct.src_nat:
        states.add("SNAT")
    if ct.dst_nat:
        states.add("DNAT")
    return frozenset(states)


def _conntrack(match: Match, rule: Rule) -> list[Predicate]:
    preds: list[Predicate] = []
    for opt in match.options:
        neg = opt.negated
        if opt.name in ("--ctstate", "--state"):
            wanted = frozenset(s.upper() for s in opt.values[0].split(","))
            if match.module == "state":
                wanted = wanted - {"SNAT", "DNAT"}
            preds.append(lambda p, ctx, w=wanted, n=neg: bool(packet_ctstates(p) & w) != n)
        elif opt.name == "--ctproto":
            number = protocol_number(opt.values[0])
            preds.append(lambda p, ctx, v=number, n=neg: (
                isinstance(p.ct, ConntrackEntry) and p.ct.orig[0] == v) != n)
        elif opt.name in ("--ctorigsrc", "--ctorigdst", "--ctreplsrc", "--ctrepldst"):
            net = parse_network(opt.values[0])
            which = 0 if "orig" in opt.name else 1
            index = 1 if opt.name.endswith("src") else 3
            preds.append(lambda p, ctx, net=net, w=which, i=index, n=neg: (
                isinstance(p.ct, ConntrackEntry) and (p.ct.orig, p.ct.reply)[w][i] in net) != n)
        elif opt.name in ("--ctorigsrcport", "--ctorigdstport", "--ctreplsrcport", "--ctrepldstport"):
            ranges = _port_ranges(opt.values[0])
            which = 0 if "orig" in opt.name else 1
            index = 2 if "srcport" in opt.name else 4
            preds.append(lambda p, ctx, r=ranges, w=which, i=index, n=neg: (
                isinstance(p.ct, ConntrackEntry) and _in_ranges((p.ct.orig, p.ct.reply)[w][i], r)) != n)
        elif opt.name == "--ctstatus":
            wanted = frozenset(s.upper() for s in opt.values[0].split(","))
            preds.append(lambda p, ctx, w=wanted, n=neg: bool(_ctstatus(p) & w) != n)
        elif opt.name == "--ctdir":
            reply = opt.values[0].upper() == "REPLY"
            preds.append(lambda p, ctx, r=reply: isinstance(p.ct, ConntrackEntry) and p.ct_reply == r)
        else:
            preds.append(unsupported(f"{_where(rule)}: -m {match.module} option {opt.name} is not emulated"))
    return preds


RECENT_MAX_STAMPS = 20  # xt_recent ip_pkt_list_tot default: timestamps kept per address


def _recent(match: Match, rule: Rule) -> list[Predicate]:
    """xt_recent: per-name lists of addresses with hit timestamps on the engine's clock."""
    names = {o.name for o in match.options}
    known = {"--set", "--rcheck", "--update", "--remove", "--seconds", "--reap", "--hitcount",
             "--name", "--mask", "--rsource", "--rdest"}
    if names - known:
        return [unsupported(f"{_where(rule)}: -m recent option {sorted(names - known)[0]} is not emulated")]
    name_opt, mask_opt = match.get("--name"), match.get("--mask")
    list_name = name_opt.values[0] if name_opt else "DEFAULT"
    mask = int(ipaddress.ip_address(mask_opt.values[0])) if mask_opt else None
    attr = "dst" if "--rdest" in names else "src"
    seconds = int(match.get("--seconds").values[0]) if "--seconds" in names else 0
    hitcount = int(match.get("--hitcount").values[0]) if "--hitcount" in names else 0
    invert = any(o.negated for o in match.options)
    action = next((n for n in ("--set", "--rcheck", "--update", "--remove") if n in names), "--rcheck")
    reap = "--reap" in names

    def pred(p: Packet, ctx: EvalContext) -> bool:
        addr = getattr(p, attr)
        full = (1 << (32 if addr.version == 4 else 128)) - 1
        key = (addr.version, int(addr) & (full if mask is None else mask))
        table = ctx.engine.recent_lists.setdefault(list_name, {})
        now = ctx.engine.clock()
        stamps = table.get(key)
        hit = invert
        if action == "--set":
            hit = not invert
        elif stamps is None:
            return invert
        elif action == "--remove":
            del table[key]
            return not invert
        else:
            oldest = now - seconds
            count = 0
            for ts in stamps:
                if seconds and ts < oldest:
                    continue
                count += 1
                if not hitcount or count >= hitcount:
                    hit = not invert
                    break
            if reap and seconds:
                stamps[:] = [ts for ts in stamps if ts >= oldest]
        if action == "--set" or (action == "--update" and hit != invert):
            stamps = table.setdefault(key, [])
            stamps.append(now)
            del stamps[:-RECENT_MAX_STAMPS]
        return hit

    return [pred]


def _ctstatus(p: Packet) -> set[str]:
    ct = p.ct
    if not isinstance(ct, ConntrackEntry):
        return set()
    status = set()
    if ct.seen_reply:
        status.add("SEEN_REPLY")
    if ct.assured:
        status.add("ASSURED")
    if ct.confirmed:
        status.add("CONFIRMED")
    if not status:
        status.add("NONE")
    return status


def _module(match: Match, rule: Rule) -> list[Predicate]:
    name = match.module
    if name == "tcp":
        return _ports_module(Proto.TCP, match, rule)
    if name == "udp":
        return _ports_module(Proto.UDP, match, rule)
    if name == "sctp":
        return _ports_module(Proto.SCTP, match, rule)
    if name == "icmp":
        return _icmp_module(match, rule)
    if name == "icmp6":
        return _icmp6_module(match, rule)
    if name == "multiport":
        return _multiport(match, rule)
    if name == "comment":
        return []
    if name == "nfacct":
        return []  # xt_nfacct only counts into a named accounting object: it always matches
    if name == "mark":
        return _mark(match, rule, on_ct=False)
    if name == "connmark":
        return _mark(match, rule, on_ct=True)
    if name == "statistic":
        return _statistic(match, rule)
    if name == "addrtype":
        return _addrtype(match, rule)
    if name in ("conntrack", "state"):
        return _conntrack(match, rule)
    if name == "recent":
        return _recent(match, rule)
    if name == "limit":
        return _limit(match, rule)
    if name == "iprange":
        return _iprange(match, rule)
    if name == "mac":
        return _mac(match, rule)
    return [unsupported(f"{_where(rule)}: match module -m {name} is not emulated")]


def compile_matches(rule: Rule) -> tuple[Predicate, ...]:
    """All predicates of a rule, in kernel evaluation order."""
    preds = _generic(rule)
    for match in rule.matches:
        try:
            preds.extend(_module(match, rule))
        except (ValueError, KeyError, IndexError) as exc:
            preds.append(unsupported(f"{_where(rule)}: cannot read -m {match.module} options ({exc})"))
    return tuple(preds)
