"""How iptables-save prints a rule back: option order and value spelling per extension.

Each row of MODULE_OPTIONS / TARGET_OPTIONS is one extension's options in the
order its `save` function prints them (libxt_*.c), each with a normaliser. The
reference outputs are tests/netfilter/data/*.saved, taken from iptables 1.8.9
(nf_tables) after iptables-restore of the matching *.restore file.
"""

from __future__ import annotations

from collections.abc import Callable

from netsim.netfilter.ruleset import (
    PROTOCOL_NAMES,
    Match,
    Option,
    Rule,
    Target,
    parse_network,
)

# Well-known service names iptables resolves through /etc/services.
SERVICE_PORTS: dict[str, int] = {
    "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "www": 80,
    "pop3": 110, "ntp": 123, "imap": 143, "snmp": 161, "ldap": 389, "https": 443,
    "imaps": 993, "pop3s": 995, "mysql": 3306, "postgresql": 5432,
}

# TCP flag names in the order libxt_tcp prints them.
TCP_FLAG_BITS: dict[str, int] = {
    "FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20,
    "ECE": 0x40, "CWR": 0x80,
}

# ICMP type names → (type, code or None for any code) (libxt_icmp's table, abridged).
ICMP_TYPES: dict[str, tuple[int, int | None]] = {
    "any": (255, None),
    "echo-reply": (0, None), "pong": (0, None),
    "destination-unreachable": (3, None),
    "network-unreachable": (3, 0), "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2), "port-unreachable": (3, 3),
    "fragmentation-needed": (3, 4), "source-route-failed": (3, 5),
    "network-unknown": (3, 6), "host-unknown": (3, 7),
    "network-prohibited": (3, 9), "host-prohibited": (3, 10),
    "communication-prohibited": (3, 13),
    "source-quench": (4, None), "redirect": (5, None),
    "echo-request": (8, None), "ping": (8, None),
    "router-advertisement": (9, None), "router-solicitation": (10, None),
    "time-exceeded": (11, None), "ttl-exceeded": (11, None),
    "ttl-zero-during-transit": (11, 0), "ttl-zero-during-reassembly": (11, 1),
    "parameter-problem": (12, None), "timestamp-request": (13, None),
    "timestamp-reply": (14, None),
}

# ICMPv6 type names → the number ip6tables-save prints (libip6t_icmp6's table, abridged).
ICMPV6_TYPE_NAMES = {
    "destination-unreachable": "1", "no-route": "1/0", "communication-prohibited": "1/1",
    "address-unreachable": "1/3", "port-unreachable": "1/4", "packet-too-big": "2",
    "time-exceeded": "3", "ttl-exceeded": "3", "parameter-problem": "4",
    "echo-request": "128", "ping": "128", "echo-reply": "129", "pong": "129",
    "router-solicitation": "133", "router-advertisement": "134",
    "neighbour-solicitation": "135", "neighbor-solicitation": "135",
    "neighbour-advertisement": "136", "neighbor-advertisement": "136", "redirect": "137",
}

# conntrack/state names in the order libxt_conntrack prints them.
CTSTATE_ORDER = ("INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT")

# syslog level names LOG accepts; level 4 (warning) is the default and not printed.
LOG_LEVELS = {"emerg": 0, "alert": 1, "crit": 2, "error": 3, "err": 3, "warning": 4,
              "warn": 4, "notice": 5, "info": 6, "debug": 7, "panic": 0}

# REJECT --reject-with aliases → the name iptables-save prints.
REJECT_WITH = {
    "icmp-net-unreachable": "icmp-net-unreachable", "net-unreach": "icmp-net-unreachable",
    "icmp-host-unreachable": "icmp-host-unreachable", "host-unreach": "icmp-host-unreachable",
    "icmp-proto-unreachable": "icmp-proto-unreachable", "proto-unreach": "icmp-proto-unreachable",
    "icmp-port-unreachable": "icmp-port-unreachable", "port-unreach": "icmp-port-unreachable",
    "icmp-net-prohibited": "icmp-net-prohibited", "net-prohib": "icmp-net-prohibited",
    "icmp-host-prohibited": "icmp-host-prohibited", "host-prohib": "icmp-host-prohibited",
    "icmp-admin-prohibited": "icmp-admin-prohibited", "admin-prohib": "icmp-admin-prohibited",
    "tcp-reset": "tcp-reset", "tcp-rst": "tcp-reset",
    "icmp6-port-unreachable": "icmp6-port-unreachable", "icmp6-adm-prohibited": "icmp6-adm-prohibited",
    "icmp6-no-route": "icmp6-no-route", "icmp6-addr-unreachable": "icmp6-addr-unreachable",
}


def _ident(values: tuple[str, ...]) -> tuple[str, ...]:
    return values


def port_number(text: str) -> int:
    """A port given as a number or a service name."""
    if text.isdigit():
        return int(text)
    if text in SERVICE_PORTS:
        return SERVICE_PORTS[text]
    raise ValueError(f"unknown port {text!r}")


def _ports(values: tuple[str, ...]) -> tuple[str, ...]:
    """`http` → `80`; `1000:2000` stays; `:2000` → `0:2000`; `1000:` → `1000:65535`."""
    out = []
    for part in values[0].split(","):
        if ":" in part:
            lo, hi = part.split(":", 1)
            lo_n = port_number(lo) if lo else 0
            hi_n = port_number(hi) if hi else 65535
            out.append(f"{lo_n}:{hi_n}" if lo_n != hi_n else str(lo_n))
        else:
            out.append(str(port_number(part)))
    return (",".join(out),)


def _hex_mark(values: tuple[str, ...]) -> tuple[str, ...]:
    """`1` → `0x1`; `0x4000/0x4000` keeps its mask; a full mask is dropped for --mark."""
    value, _, mask = values[0].partition("/")
    text = hex(int(value, 0))
    if mask and int(mask, 0) != 0xFFFFFFFF:
        text += "/" + hex(int(mask, 0))
    return (text,)


def _ctstates(values: tuple[str, ...]) -> tuple[str, ...]:
    states = {s.upper() for s in values[0].split(",")}
    return (",".join(s for s in CTSTATE_ORDER if s in states),)


def _probability(values: tuple[str, ...]) -> tuple[str, ...]:
    """Quantised as the kernel stores it (lround(p * 2^31)) and printed with %.11f."""
    return (f"{quantized_probability(float(values[0])) / 0x80000000:.11f}",)


def quantized_probability(p: float) -> int:
    """The u32 the kernel compares a random draw against (libxt_statistic: lround(0x80000000 * p))."""
    scaled = 0x80000000 * p
    return int(scaled + 0.5) if scaled >= 0 else -int(-scaled + 0.5)


# xt_limit keeps a rate as a period in 1/10000 s; these are the units it prints, largest first.
LIMIT_SCALE = 10000
LIMIT_UNITS = (("day", 86400), ("hour", 3600), ("min", 60), ("sec", 1))
_LIMIT_UNIT_NAMES = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
                     "hour": 3600, "d": 86400, "day": 86400}


def limit_period(text: str) -> int:
    """`5/sec` as xt_limit's average period in 1/10000 s (libxt_limit parse_rate)."""
    number, _, unit = text.partition("/")
    seconds = _LIMIT_UNIT_NAMES[unit.lower()] if unit else 1
    rate = int(number)
    if rate == 0:
        raise ValueError(f"rate {text!r} is zero")
    return LIMIT_SCALE * seconds // rate


def _limit_rate(text: str) -> str:
    """The rate as libxt_limit prints it back: the largest unit that keeps it whole."""
    period = limit_period(text)
    mults = [LIMIT_SCALE * s for _, s in LIMIT_UNITS]
    i = 1
    while i < len(mults):
        if period > mults[i] or mults[i] // period < mults[i] % period:
            break
        i += 1
    return f"{mults[i - 1] // period}/{LIMIT_UNITS[i - 1][0]}"


def _icmp_type(values: tuple[str, ...]) -> tuple[str, ...]:
    text = values[0]
    if text in ICMP_TYPES:
        t, c = ICMP_TYPES[text]
        if text == "any":
            return ("any",)
        return (str(t) if c is None else f"{t}/{c}",)
    return (text,)


def _tcp_flags(values: tuple[str, ...]) -> tuple[str, ...]:
    def spell(text: str) -> str:
        names = {n.upper() for n in text.split(",")}
        if "ALL" in names:
            return "FIN,SYN,RST,PSH,ACK,URG"  # libxt_tcp names ALL = 0x3f
        if "NONE" in names or not names:
            return "NONE"
        return ",".join(n for n in TCP_FLAG_BITS if n in names)

    return (spell(values[0]), spell(values[1])) if len(values) == 2 else values


Normaliser = Callable[[tuple[str, ...]], tuple[str, ...]]

# Per match module: option → (canonical name, normaliser), in save order. Aliases share a name.
MODULE_OPTIONS: dict[str, dict[str, tuple[str, Normaliser]]] = {
    "tcp": {
        "--sport": ("--sport", _ports), "--source-port": ("--sport", _ports),
        "--dport": ("--dport", _ports), "--destination-port": ("--dport", _ports),
        "--tcp-flags": ("--tcp-flags", _tcp_flags), "--syn": ("--tcp-flags", _ident),
        "--tcp-option": ("--tcp-option", _ident),
    },
    "udp": {
        "--sport": ("--sport", _ports), "--source-port": ("--sport", _ports),
        "--dport": ("--dport", _ports), "--destination-port": ("--dport", _ports),
    },
    "sctp": {
        "--sport": ("--sport", _ports), "--source-port": ("--sport", _ports),
        "--dport": ("--dport", _ports), "--destination-port": ("--dport", _ports),
    },
    "icmp": {"--icmp-type": ("--icmp-type", _icmp_type)},
    "icmp6": {"--icmpv6-type": ("--icmpv6-type", lambda v: (ICMPV6_TYPE_NAMES.get(v[0], v[0]),))},
    "multiport": {
        "--sports": ("--sports", _ports), "--source-ports": ("--sports", _ports),
        "--dports": ("--dports", _ports), "--destination-ports": ("--dports", _ports),
        "--ports": ("--ports", _ports),
    },
    "comment": {"--comment": ("--comment", _ident)},
    "mark": {"--mark": ("--mark", _hex_mark)},
    "connmark": {"--mark": ("--mark", _hex_mark)},
    "statistic": {
        "--mode": ("--mode", _ident), "--probability": ("--probability", _probability),
        "--every": ("--every", _ident), "--packet": ("--packet", _ident),
    },
    "addrtype": {
        "--src-type": ("--src-type", _ident), "--dst-type": ("--dst-type", _ident),
        "--limit-iface-in": ("--limit-iface-in", _ident), "--limit-iface-out": ("--limit-iface-out", _ident),
    },
    "conntrack": {
        "--ctstate": ("--ctstate", _ctstates), "--ctproto": ("--ctproto", _ident),
        "--ctorigsrc": ("--ctorigsrc", _ident), "--ctorigdst": ("--ctorigdst", _ident),
        "--ctreplsrc": ("--ctreplsrc", _ident), "--ctrepldst": ("--ctrepldst", _ident),
        "--ctorigsrcport": ("--ctorigsrcport", _ident), "--ctorigdstport": ("--ctorigdstport", _ident),
        "--ctreplsrcport": ("--ctreplsrcport", _ident), "--ctrepldstport": ("--ctrepldstport", _ident),
        "--ctstatus": ("--ctstatus", _ident), "--ctexpire": ("--ctexpire", _ident),
        "--ctdir": ("--ctdir", _ident),
    },
    "state": {"--state": ("--state", _ctstates)},
    "limit": {"--limit": ("--limit", lambda v: (_limit_rate(v[0]),)),
              "--limit-burst": ("--limit-burst", _ident)},
    "iprange": {"--src-range": ("--src-range", _ident), "--dst-range": ("--dst-range", _ident)},
    "mac": {"--mac-source": ("--mac-source", lambda v: (v[0].lower(),))},
    "nfacct": {"--nfacct-name": ("--nfacct-name", _ident)},
    "recent": {
        "--set": ("--set", _ident), "--rcheck": ("--rcheck", _ident), "--update": ("--update", _ident),
        "--remove": ("--remove", _ident), "--seconds": ("--seconds", _ident), "--reap": ("--reap", _ident),
        "--hitcount": ("--hitcount", _ident), "--rttl": ("--rttl", _ident), "--name": ("--name", _ident),
        "--mask": ("--mask", _ident), "--rsource": ("--rsource", _ident), "--rdest": ("--rdest", _ident),
    },
    "physdev": {
        "--physdev-in": ("--physdev-in", _ident), "--physdev-out": ("--physdev-out", _ident),
        "--physdev-is-in": ("--physdev-is-in", _ident), "--physdev-is-out": ("--physdev-is-out", _ident),
        "--physdev-is-bridged": ("--physdev-is-bridged", _ident),
    },
}

# MARK/CONNMARK options that take one value (handled by _mark_target, not a table row).
MARK_OPTIONS = frozenset({"--set-mark", "--set-xmark", "--or-mark", "--and-mark", "--xor-mark",
                          "--nfmask", "--ctmask", "--mask"})

# Per target: option → (canonical name, normaliser), in save order.
TARGET_OPTIONS: dict[str, dict[str, tuple[str, Normaliser]]] = {
    "REJECT": {"--reject-with": ("--reject-with", lambda v: (REJECT_WITH.get(v[0], v[0]),))},
    "DNAT": {"--to-destination": ("--to-destination", _ident), "--to": ("--to-destination", _ident),
             "--random": ("--random", _ident), "--persistent": ("--persistent", _ident)},
    "SNAT": {"--to-source": ("--to-source", _ident), "--to": ("--to-source", _ident),
             "--random": ("--random", _ident), "--random-fully": ("--random-fully", _ident),
             "--persistent": ("--persistent", _ident)},
    "MASQUERADE": {"--to-ports": ("--to-ports", _ident), "--random": ("--random", _ident),
                   "--random-fully": ("--random-fully", _ident)},
    "REDIRECT": {"--to-ports": ("--to-ports", _ident), "--random": ("--random", _ident)},
    "NFLOG": {"--nflog-prefix": ("--nflog-prefix", _ident), "--nflog-group": ("--nflog-group", _ident),
              "--nflog-size": ("--nflog-size", _ident), "--nflog-range": ("--nflog-range", _ident),
              "--nflog-threshold": ("--nflog-threshold", _ident)},
    "TCPMSS": {"--set-mss": ("--set-mss", _ident), "--clamp-mss-to-pmtu": ("--clamp-mss-to-pmtu", _ident)},
    "CHECKSUM": {"--checksum-fill": ("--checksum-fill", _ident)},
    "LOG": {"--log-prefix": ("--log-prefix", _ident), "--log-level": ("--log-level", _ident),
            "--log-tcp-sequence": ("--log-tcp-sequence", _ident),
            "--log-tcp-options": ("--log-tcp-options", _ident),
            "--log-ip-options": ("--log-ip-options", _ident), "--log-uid": ("--log-uid", _ident),
            "--log-macdecode": ("--log-macdecode", _ident)},
}


def _save_order(table: dict[str, tuple[str, Normaliser]]) -> tuple[str, ...]:
    """The canonical option names of one extension's table, in the order its save prints them."""
    return tuple(dict.fromkeys(canon for canon, _ in table.values()))


# Each extension's save order, computed once (the tables are fixed).
_SAVE_ORDER: dict[int, tuple[str, ...]] = {
    id(table): _save_order(table) for group in (MODULE_OPTIONS, TARGET_OPTIONS) for table in group.values()
}


def _ordered(options: tuple[Option, ...], table: dict[str, tuple[str, Normaliser]] | None) -> tuple[Option, ...]:
    """Options renamed, normalised and sorted in the extension's save order."""
    if table is None:
        return options
    known: dict[str, Option] = {}
    unknown: list[Option] = []
    for opt in options:
        entry = table.get(opt.name)
        if entry is None:
            unknown.append(opt)
            continue
        canon, norm = entry
        if opt.name == "--syn":
            known[canon] = Option("--tcp-flags", ("FIN,SYN,RST,ACK", "SYN"), opt.negated)
            continue
        try:
            values = norm(opt.values) if opt.values else opt.values
        except (ValueError, IndexError):
            values = opt.values
        # an option already in its saved form is kept as is (no new object)
        known[canon] = opt if canon == opt.name and values == opt.values else Option(canon, values, opt.negated)
    order = _SAVE_ORDER.get(id(table)) or _save_order(table)
    return tuple([known[name] for name in order if name in known] + unknown)


def _normalize_generic(opt: Option) -> Option | None:
    """The generic option as saved; None for one iptables-save leaves out because it matches
    everything (`-p all`, a zero mask as in `-s 0.0.0.0/0` or `-d ::/0`)."""
    if opt.name in ("-s", "-d"):
        net = parse_network(opt.values[0])
        if int(net.netmask) == 0 and not opt.negated:
            return None
        return Option(opt.name, (str(net),), opt.negated)
    if opt.name == "-p":
        value = opt.values[0].lower()
        if value == "all" and not opt.negated:
            return None
        if value.isdigit():
            value = PROTOCOL_NAMES.get(int(value), value)
        if value == "icmpv6":
            value = "ipv6-icmp"
        return opt if (value,) == opt.values else Option("-p", (value,), opt.negated)
    return opt


def _normalize_match(match: Match, family: int = 4) -> Match:
    opts = _ordered(match.options, MODULE_OPTIONS.get(match.module))
    if match.module == "recent":
        # libxt_recent always prints the list name, the mask and the address side
        names = {o.name for o in opts}
        full = "255.255.255.255" if family == 4 else "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        extra = [] if "--name" in names else [Option("--name", ("DEFAULT",))]
        extra += [] if "--mask" in names else [Option("--mask", (full,))]
        extra += [] if names & {"--rsource", "--rdest"} else [Option("--rsource")]
        opts = _ordered(opts + tuple(extra), MODULE_OPTIONS["recent"])
    if match.module == "limit":  # defaults: 3/hour printed, burst 5 not
        opts = tuple(o for o in opts if not (o.name == "--limit-burst" and o.values == ("5",)))
        if not any(o.name == "--limit" for o in opts):
            opts = (Option("--limit", ("3/hour",)),) + opts
    if match.module == "statistic":
        mode = next((o.values[0] for o in opts if o.name == "--mode"), "random")
        if mode == "nth" and not any(o.name == "--packet" for o in opts):
            opts = opts + (Option("--packet", ("0",)),)
    return match if opts == match.options else Match(match.module, opts)


def _mark_target(target: Target) -> Target:
    """MARK/CONNMARK's --set-mark/--or-mark/--and-mark/--xor-mark as --set-xmark VALUE/MASK."""
    out: list[Option] = []
    for opt in target.options:
        if opt.name in ("--set-mark", "--set-xmark", "--or-mark", "--and-mark", "--xor-mark") and opt.values:
            value, _, mask = opt.values[0].partition("/")
            v = int(value, 0)
            if opt.name == "--set-mark":
                m = int(mask, 0) if mask else 0xFFFFFFFF
            elif opt.name == "--set-xmark":
                m = int(mask, 0) if mask else 0xFFFFFFFF
            elif opt.name == "--or-mark":
                m = v
            elif opt.name == "--and-mark":
                v, m = 0, (~v) & 0xFFFFFFFF
            else:  # --xor-mark
                m = 0
            out.append(Option("--set-xmark", (f"{hex(v)}/{hex(m)}",)))
        elif opt.name in ("--save-mark", "--restore-mark"):
            out.append(Option(opt.name))
        elif opt.name in ("--nfmask", "--ctmask", "--mask"):
            continue
        else:
            out.append(opt)
    if target.name == "CONNMARK":
        masks = {o.name: o.values[0] for o in target.options if o.name in ("--nfmask", "--ctmask", "--mask")}
        fixed: list[Option] = []
        for opt in out:
            fixed.append(opt)
            if opt.name in ("--save-mark", "--restore-mark"):
                nf = masks.get("--nfmask", masks.get("--mask", "0xffffffff"))
                ct = masks.get("--ctmask", masks.get("--mask", "0xffffffff"))
                fixed += [Option("--nfmask", (hex(int(nf, 0)),)), Option("--ctmask", (hex(int(ct, 0)),))]
        out = fixed
    return Target(target.name, tuple(out), target.goto)


def _normalize_target(target: Target, family: int = 4) -> Target:
    if target.name in ("MARK", "CONNMARK"):
        return _mark_target(target)
    opts = _ordered(target.options, TARGET_OPTIONS.get(target.name))
    if target.name == "REJECT" and not any(o.name == "--reject-with" for o in opts):
        default = "icmp6-port-unreachable" if family == 6 else "icmp-port-unreachable"
        opts = (Option("--reject-with", (default,)),) + opts
    if target.name == "LOG":
        fixed = []
        for o in opts:
            if o.name == "--log-level":
                level = LOG_LEVELS.get(o.values[0].lower(), None)
                level = int(o.values[0]) if level is None and o.values[0].isdigit() else level
                if level == 4:
                    continue
                o = Option(o.name, (str(level),), o.negated) if level is not None else o
            fixed.append(o)
        opts = tuple(fixed)
    return target if opts == target.options else Target(target.name, opts, target.goto)


# Matches iptables-nft turns into native payload expressions and rebuilds as one match
# when printing: an implicit `--syn` and an explicit `-m tcp --dport` come back as one `-m tcp`.
MERGED_MODULES = frozenset({"tcp", "udp"})


def _merge_proto_matches(matches: tuple[Match, ...]) -> list[Match]:
    """Fold every tcp (udp) match into the first one, keeping its position."""
    out: list[Match] = []
    first: dict[str, int] = {}
    for match in matches:
        if match.module in MERGED_MODULES and match.module in first:
            i = first[match.module]
            out[i] = Match(match.module, out[i].options + match.options)
            continue
        if match.module in MERGED_MODULES:
            first[match.module] = len(out)
        out.append(match)
    return out


# Normalised parts already printed while normalising one ruleset (one family): part → (saved
# form or None when left out, its text). Options, matches and targets are frozen values whose
# saved form depends only on the value and the family, so the ruleset's repeats are worked out once.
PartMemo = dict[Option | Match | Target, tuple[Option | Match | Target | None, str]]


def normalize_rule(rule: Rule, family: int = 4, memo: PartMemo | None = None) -> Rule:
    """The rule as iptables-save (or ip6tables-save) prints it back after a restore.

    `memo` is shared by the rules of one ruleset (Table.normalized passes one): kube-proxy
    repeats the same `-p tcp`, `-m tcp --dport 80` and `-j KUBE-MARK-MASQ` thousands of
    times, and each distinct part is normalised and printed only once. The line is joined
    from the parts' texts exactly as `Rule.render` joins them.
    """
    if memo is None:
        memo = {}
    parts = [rule.counters, "-A", rule.chain] if rule.counters else ["-A", rule.chain]
    generic = []
    for opt in rule.generic:
        saved, text = memo.get(opt) or _remember(memo, opt, _normalize_generic(opt))
        if saved is not None:
            generic.append(saved)
            parts.append(text)
    matches = []
    for match in _merge_proto_matches(rule.matches):
        saved, text = memo.get(match) or _remember(memo, match, _normalize_match(match, family))
        matches.append(saved)
        parts.append(text)
    target = None
    if rule.target is not None:
        target, text = memo.get(rule.target) or _remember(memo, rule.target, _normalize_target(rule.target, family))
        parts.append(text)
    return Rule(rule.chain, tuple(generic), tuple(matches), target, " ".join(parts), rule.counters, rule.line)


def _remember(memo: PartMemo, part, saved):
    """Store (saved, its printed text) for `part` and return it; None (left out) prints nothing."""
    done = memo[part] = (saved, saved.render() if saved is not None else "")
    return done


__all__ = ["MODULE_OPTIONS", "TARGET_OPTIONS", "normalize_rule", "port_number", "quantized_probability"]
