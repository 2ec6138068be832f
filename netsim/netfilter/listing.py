"""`iptables -t TABLE -n -L [CHAIN] [--line-numbers]`: a table listed as iptables 1.8.9 (nf_tables) lists it.

Generic: any ruleset netsim parses lists here. The listing is built from the
rules as the kernel holds them (the normalized form, `Table.normalized()`), the
way iptables rebuilds each rule before printing it. Layout follows
iptables/xshared.c and nft-ipv4.c (`print_header`, `print_rule_details`,
`print_fragment`, `print_ipv4_addresses`, then each match's and the target's
`print` function from extensions/libxt_*.c):

    Chain KUBE-SVC-X (1 references)            user chain: rules jumping (or going) to it
    Chain INPUT (policy ACCEPT)                 built-in chain
    num  target     prot opt source               destination
    1    KUBE-SEP-Y  0    --  0.0.0.0/0            0.0.0.0/0            /* ns/svc:p -> ... */ statistic ...

Columns: `num` "%-4u " (with --line-numbers), target "%-9s ", '!' or ' ' then
the protocol number "%-4hu " (iptables 1.8.9 prints numbers under -n, `0` for
all), the fragment flags "-- "/"-f "/"!f ", then source and destination each
as '!' or ' ' and "%-19s " (host addresses bare, networks a.b.c.d/len), then
"[goto] " for -g rules, then the options. Chains are separated by a blank line.

Only the numeric listing (-n) exists: without it iptables resolves names
through /etc/services, /etc/protocols and DNS, which netsim does not emulate.
A match or target without a printer here raises `ListingUnsupported` naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network

from netsim.errors import NotImplementedFeature
from netsim.netfilter.errors import NetfilterError
from netsim.netfilter.normalize import ICMP_TYPES, TCP_FLAG_BITS
from netsim.netfilter.ruleset import (
    BUILTIN_CHAINS,
    PROTOCOL_NUMBERS,
    MaskedNetwork,
    Match,
    Option,
    Rule,
    Ruleset,
    Table,
    Target,
    parse_network,
)


class ListingError(NetfilterError):
    """The listing cannot be made: no such table or chain (iptables exits 1 with the same words)."""


class ListingUnsupported(NetfilterError, NotImplementedFeature):
    """A match, target or option has no `iptables -L` printer in netsim yet; the message names it."""


def list_table(ruleset: Ruleset, table: str, chain: str | None = None, *, line_numbers: bool = False,
               numeric: bool = True) -> str:
    """The text `iptables -t TABLE -L [CHAIN] [-n] [--line-numbers]` prints for `ruleset`."""
    if not numeric:
        raise ListingUnsupported("iptables -L without -n resolves names (/etc/services, /etc/protocols, DNS); "
                                 "netsim lists numerically only: add -n")
    if table not in BUILTIN_CHAINS:
        raise ListingError(f"can't initialize iptables table `{table}': Table does not exist")
    found = ruleset.tables.get(table)
    normalized = found.normalized(ruleset.family) if found is not None else Table(table, ()).normalized()
    chains = normalized.chains
    if chain is not None and chain not in chains:
        raise ListingError("No chain/target/match by that name.")
    refs = _references(normalized)
    blocks = []
    for name, decl in chains.items():
        if chain is not None and name != chain:
            continue
        lines = [_chain_header(name, decl.policy, refs.get(name, 0)), _column_header(line_numbers)]
        for num, rule in enumerate(normalized.chain_rules(name), start=1):
            lines.append(list_rule(rule, num if line_numbers else None))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _references(table: Table) -> dict[str, int]:
    """How many rules jump or go to each chain (the kernel's reference count)."""
    refs: dict[str, int] = {}
    for rule in table.rules:
        if rule.target is not None:
            refs[rule.target.name] = refs.get(rule.target.name, 0) + 1
    return refs


def _chain_header(name: str, policy: str | None, refs: int) -> str:
    if policy is not None:
        return f"Chain {name} (policy {policy})"
    return f"Chain {name} ({refs} references)"


def _column_header(line_numbers: bool) -> str:
    """print_header: "num  target     prot opt source               destination         "."""
    num = f"{'num':<4} " if line_numbers else ""
    return f"{num}{'target':<9}  prot opt {'source':<19}  {'destination':<19} "


def list_rule(rule: Rule, num: int | None = None) -> str:
    """One rule's line (without newline), from a rule in normalized form."""
    generic = {o.name: o for o in rule.generic}
    out = [f"{num:<4} " if num is not None else ""]
    out.append(f"{rule.target.name if rule.target is not None else '':<9} ")
    proto = generic.get("-p")
    out.append("!" if proto is not None and proto.negated else " ")
    out.append(f"{_proto_number(proto):<4} ")
    frag = generic.get("-f")
    out.append(("!" if frag is not None and frag.negated else "-") + ("f" if frag is not None else "-") + " ")
    for flag in ("-s", "-d"):
        opt = generic.get(flag)
        out.append("!" if opt is not None and opt.negated else " ")
        out.append(f"{_address(opt, rule):<19} ")
    if rule.target is not None and rule.target.goto:
        out.append("[goto] ")
    for match in rule.matches:
        out.append(_print_match(match, proto, rule))
    if rule.target is not None and not rule.target.goto:
        out.append(_print_target(rule.target, rule))
    return "".join(out)


def _proto_number(opt: Option | None) -> int:
    if opt is None:
        return 0
    value = opt.values[0].lower()
    if value.isdigit():
        return int(value)
    return PROTOCOL_NUMBERS[value]


def _address(opt: Option | None, rule: Rule) -> str:
    """ipv4_addr_to_string with FMT_NUMERIC: `0.0.0.0/0`, a bare host, `net/len` or `net/mask`."""
    if opt is None:
        return "0.0.0.0/0"
    net = parse_network(opt.values[0])
    if net.version == 6:
        raise ListingUnsupported(f"line {rule.line}: listing ip6tables rules is not emulated yet")
    if isinstance(net, MaskedNetwork):  # xtables_ipmask_to_numeric: a mask that is no prefix, dotted
        return str(net)
    assert isinstance(net, IPv4Network)
    if net.prefixlen == 0:
        return "0.0.0.0/0"
    if net.prefixlen == 32:
        return str(net.network_address)
    return str(net)


# --- match printers (extensions/libxt_*.c `print`): each returns its text with its leading space ----


def _opts(match: Match | Target) -> dict[str, Option]:
    return {o.name: o for o in match.options}


def _unsupported_options(what: str, opts: dict[str, Option], known: set[str], rule: Rule) -> None:
    extra = sorted(set(opts) - known)
    if extra:
        raise ListingUnsupported(f"line {rule.line}: iptables -L of {what} option {extra[0]} is not emulated yet")


def _ports(name: str, opt: Option | None) -> str:
    """libxt_tcp/udp/sctp print_ports: " dpt:53", " dpts:1:2", " dpt:!53"."""
    if opt is None:
        return ""
    inv = "!" if opt.negated else ""
    low, _, high = opt.values[0].partition(":")
    if not high or low == high:
        return f" {name}:{inv}{low}"
    return f" {name}s:{inv}{low}:{high}"


def _tcp_flag_mask(text: str) -> int:
    if text == "NONE":
        return 0
    return sum(TCP_FLAG_BITS[n] for n in text.split(","))


def _print_l4(match: Match, rule: Rule) -> str:
    opts = _opts(match)
    known = {"--sport", "--dport"} | ({"--tcp-flags", "--tcp-option"} if match.module == "tcp" else set())
    _unsupported_options(f"-m {match.module}", opts, known, rule)
    text = f" {match.module}" + _ports("spt", opts.get("--sport")) + _ports("dpt", opts.get("--dport"))
    if "--tcp-option" in opts:
        opt = opts["--tcp-option"]
        text += f" option={'!' if opt.negated else ''}{opt.values[0]}"
    if "--tcp-flags" in opts:
        opt = opts["--tcp-flags"]
        mask, cmp = (_tcp_flag_mask(v) for v in opt.values)
        text += f" flags:{'!' if opt.negated else ''}0x{mask:02X}/0x{cmp:02X}"
    return text


def _print_icmp(match: Match, rule: Rule) -> str:
    opts = _opts(match)
    _unsupported_options("-m icmp", opts, {"--icmp-type"}, rule)
    opt = opts.get("--icmp-type")
    if opt is None:
        return " icmp"
    value = opt.values[0]
    if value in ICMP_TYPES:
        kind, code = ICMP_TYPES[value]
        low, high = (0, 0xFF) if code is None else (code, code)
    else:
        kind_text, _, code_text = value.partition("/")
        kind = int(kind_text)
        low, high = (int(code_text), int(code_text)) if code_text else (0, 0xFF)
    text = " icmp" + (" !" if opt.negated else "") + f"type {kind}"
    if low == high:
        text += f" code {low}"
    elif low != 0 or high != 0xFF:
        text += f" codes {low}-{high}"
    return text


def _print_multiport(match: Match, rule: Rule) -> str:
    opts = _opts(match)
    _unsupported_options("-m multiport", opts, {"--sports", "--dports", "--ports"}, rule)
    (name, opt), = opts.items()
    return f" multiport {name[2:]} " + (" !" if opt.negated else "") + opt.values[0]


def _print_comment(match: Match, rule: Rule) -> str:
    return f" /* {_opts(match)['--comment'].values[0]} */"


def _print_state_like(prefix: str) -> Callable[[Match, Rule], str]:
    def printer(match: Match, rule: Rule) -> str:
        opts = _opts(match)
        key = "--ctstate" if prefix == "ct" else "--state"
        _unsupported_options(f"-m {match.module}", opts, {key}, rule)
        opt = opts[key]
        return (" !" if opt.negated else "") + f" {prefix}state {opt.values[0]}"
    return printer


def _mark_value(text: str) -> str:
    """print_mark: " 0x1" or " 0x4000/0x4000" (a full mask is not shown)."""
    value, _, mask = text.partition("/")
    if not mask or int(mask, 0) == 0xFFFFFFFF:
        return f" {hex(int(value, 0))}"
    return f" {hex(int(value, 0))}/{hex(int(mask, 0))}"


def _print_mark(match: Match, rule: Rule) -> str:
    opt = _opts(match)["--mark"]
    return " mark match" + (" !" if opt.negated else "") + _mark_value(opt.values[0])


def _print_connmark(match: Match, rule: Rule) -> str:
    opt = _opts(match)["--mark"]
    return " connmark match " + ("!" if opt.negated else "") + _mark_value(opt.values[0])


def _print_addrtype(match: Match, rule: Rule) -> str:
    opts = _opts(match)
    text = " ADDRTYPE match"
    for name, label in (("--src-type", "src-type"), ("--dst-type", "dst-type")):
        if name in opts:
            text += f" {label} " + ("!" if opts[name].negated else "") + opts[name].values[0]
    if "--limit-iface-in" in opts:
        text += " limit-in"
    if "--limit-iface-out" in opts:
        text += " limit-out"
    return text


def _print_statistic(match: Match, rule: Rule) -> str:
    opts = _opts(match)
    mode = opts["--mode"].values[0]
    if mode == "random":
        opt = opts["--probability"]
        return " statistic mode random" + (" !" if opt.negated else "") + f" probability {opt.values[0]}"
    every = opts["--every"]
    return (" statistic mode nth" + (" !" if every.negated else "") + f" every {every.values[0]}"
            + f" packet {opts['--packet'].values[0] if '--packet' in opts else '0'}")


_RECENT_COMMANDS = (("--set", "SET"), ("--rcheck", "CHECK"), ("--update", "UPDATE"), ("--remove", "REMOVE"))


def _print_recent(match: Match, rule: Rule) -> str:
    opts = _opts(match)
    text = " recent:"
    for name, label in _RECENT_COMMANDS:
        if name in opts:
            text += (" !" if opts[name].negated else "") + f" {label}"
    if "--seconds" in opts:
        text += f" seconds: {opts['--seconds'].values[0]}"
    if "--reap" in opts:
        text += " reap"
    if "--hitcount" in opts:
        text += f" hit_count: {opts['--hitcount'].values[0]}"
    if "--rttl" in opts:
        text += " TTL-Match"
    text += f" name: {opts['--name'].values[0]}"
    text += " side: dest" if "--rdest" in opts else " side: source"
    text += f" mask: {opts['--mask'].values[0]}"
    return text


def _print_limit(match: Match, rule: Rule) -> str:
    opts = _opts(match)
    burst = opts["--limit-burst"].values[0] if "--limit-burst" in opts else "5"
    return f" limit: avg {opts['--limit'].values[0] if '--limit' in opts else '3/hour'} burst {burst}"


def _print_physdev(match: Match, rule: Rule) -> str:
    text = " PHYSDEV match"
    for opt in match.options:
        text += (" !" if opt.negated else "") + f" {opt.name}" + "".join(f" {v}" for v in opt.values)
    return text


def _print_nfacct(match: Match, rule: Rule) -> str:
    return f" nfacct-name  {_opts(match)['--nfacct-name'].values[0]}"


MATCH_PRINTERS: dict[str, Callable[[Match, Rule], str]] = {
    "tcp": _print_l4,
    "udp": _print_l4,
    "sctp": _print_l4,
    "icmp": _print_icmp,
    "multiport": _print_multiport,
    "comment": _print_comment,
    "conntrack": _print_state_like("ct"),
    "state": _print_state_like(""),
    "mark": _print_mark,
    "connmark": _print_connmark,
    "addrtype": _print_addrtype,
    "statistic": _print_statistic,
    "recent": _print_recent,
    "limit": _print_limit,
    "physdev": _print_physdev,
    "nfacct": _print_nfacct,
}


def _print_match(match: Match, proto: Option | None, rule: Rule) -> str:
    printer = MATCH_PRINTERS.get(match.module)
    if printer is None:
        raise ListingUnsupported(f"line {rule.line}: iptables -L of match -m {match.module} is not emulated yet")
    return printer(match, rule)


# --- target printers ------------------------------------------------------------------------------


def _xmark(target: Target) -> tuple[int, int]:
    value, _, mask = _opts(target)["--set-xmark"].values[0].partition("/")
    return int(value, 0), int(mask, 0)


def _mark_op(mark: int, mask: int) -> str:
    """libxt_MARK / libxt_CONNMARK: how a --set-xmark value/mask pair is named."""
    if mark == 0:
        return f"and 0x{~mask & 0xFFFFFFFF:x}"
    if mark == mask:
        return f"or 0x{mark:x}"
    if mask == 0:
        return f"xor 0x{mark:x}"
    if mask == 0xFFFFFFFF:
        return f"set 0x{mark:x}"
    return f"xset 0x{mark:x}/0x{mask:x}"


def _print_MARK(target: Target, rule: Rule) -> str:
    return " MARK " + _mark_op(*_xmark(target))


def _print_CONNMARK(target: Target, rule: Rule) -> str:
    opts = _opts(target)
    if "--set-xmark" in opts:
        return " CONNMARK " + _mark_op(*_xmark(target))
    verb = "save" if "--save-mark" in opts else "restore"
    nf = int(opts["--nfmask"].values[0], 0) if "--nfmask" in opts else 0xFFFFFFFF
    ct = int(opts["--ctmask"].values[0], 0) if "--ctmask" in opts else 0xFFFFFFFF
    if nf == ct == 0xFFFFFFFF:
        return f" CONNMARK {verb}"
    if nf == ct:
        return f" CONNMARK {verb} mask 0x{nf:x}"
    return f" CONNMARK {verb} nfmask 0x{nf:x} ctmask ~0x{ct:x}"


def _flags(opts: dict[str, Option], names: tuple[str, ...]) -> str:
    return "".join(f" {n[2:]}" for n in names if n in opts)


def _print_nat(key: str) -> Callable[[Target, Rule], str]:
    def printer(target: Target, rule: Rule) -> str:
        opts = _opts(target)
        text = f" to:{opts[key].values[0]}" if key in opts else ""
        return text + _flags(opts, ("--random", "--random-fully", "--persistent"))
    return printer


def _print_MASQUERADE(target: Target, rule: Rule) -> str:
    opts = _opts(target)
    text = f" masq ports: {opts['--to-ports'].values[0]}" if "--to-ports" in opts else ""
    return text + _flags(opts, ("--random", "--random-fully"))


def _print_REDIRECT(target: Target, rule: Rule) -> str:
    opts = _opts(target)
    text = f" redir ports {opts['--to-ports'].values[0]}" if "--to-ports" in opts else ""
    return text + _flags(opts, ("--random",))


def _print_REJECT(target: Target, rule: Rule) -> str:
    opt = _opts(target).get("--reject-with")
    return f" reject-with {opt.values[0] if opt else 'icmp-port-unreachable'}"


_LOG_FLAGS = (("--log-tcp-sequence", 0x01), ("--log-tcp-options", 0x02), ("--log-ip-options", 0x04),
              ("--log-uid", 0x08), ("--log-macdecode", 0x20))


def _print_LOG(target: Target, rule: Rule) -> str:
    opts = _opts(target)
    flags = sum(bit for name, bit in _LOG_FLAGS if name in opts)
    level = opts["--log-level"].values[0] if "--log-level" in opts else "4"
    text = f" LOG flags {flags} level {level}"
    if "--log-prefix" in opts:
        text += f' prefix "{opts["--log-prefix"].values[0]}"'
    return text


#: Targets that print nothing in a listing (verdicts; jumps to chains have no options).
SILENT_TARGETS = frozenset({"ACCEPT", "DROP", "RETURN", "QUEUE"})

TARGET_PRINTERS: dict[str, Callable[[Target, Rule], str]] = {
    "MARK": _print_MARK,
    "CONNMARK": _print_CONNMARK,
    "DNAT": _print_nat("--to-destination"),
    "SNAT": _print_nat("--to-source"),
    "MASQUERADE": _print_MASQUERADE,
    "REDIRECT": _print_REDIRECT,
    "REJECT": _print_REJECT,
    "LOG": _print_LOG,
}


def _print_target(target: Target, rule: Rule) -> str:
    printer = TARGET_PRINTERS.get(target.name)
    if printer is not None:
        return printer(target, rule)
    if target.name in SILENT_TARGETS or not target.options:
        return ""
    raise ListingUnsupported(f"line {rule.line}: iptables -L of target -j {target.name} is not emulated yet")


__all__ = ["ListingError", "ListingUnsupported", "list_rule", "list_table"]
