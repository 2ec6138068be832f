"""Rules and tables printed exactly as `iptables-save` prints them back.

kube-proxy feeds iptables-restore its own argument order (`-m tcp -p tcp -d IP
--dport 80`); the kernel keeps the parsed rule and iptables-save prints it in
a canonical form: `[!] -s/-d/-i/-o/-p` first (addresses with their prefix
length), then each `-m` module in the order given with its options in the
module's own print order, then `-j TARGET` with the target's options as
printed (`--or-mark 0x4000` becomes `--set-xmark 0x4000/0x4000`). Builders
here take kube-proxy's meaning and produce that form directly, so that
rendered text equals iptables-save of the loaded rules byte for byte (checked
against iptables v1.8.9, nf_tables and legacy, in tests/kubeproxy).

`Ruleset.to_text` orders chains either canonically (kube-proxy's test sort,
`sortIPTablesRules`) or as iptables-save lists them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_network

from netsim.kubeproxy.constants import (
    BUILTIN_CHAINS,
    BUILTIN_POLICY,
    COMMENT_NODEPORTS_LAST,
    KUBE_NODEPORTS,
    KUBE_SERVICES,
)

# Characters iptables prints without quotes (libxtables `xtables_save_string`).
_NO_QUOTE = frozenset("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ESCAPE = frozenset("\"\\'")


def quote(value: str) -> str:
    """A string option as iptables-save prints it: bare when only [A-Za-z0-9_-], else double-quoted."""
    if value and all(c in _NO_QUOTE for c in value):
        return value
    return '"' + "".join("\\" + c if c in _ESCAPE else c for c in value) + '"'


def probability(n: int) -> str:
    """The `--probability` iptables-save prints for kube-proxy's 1/n.

    kube-proxy writes `%0.10f` of 1/n (proxier.go `computeProbability`); the
    statistic match stores round(p * 2^31) and prints `%.11f` of that over
    2^31, so 1/2 prints 0.50000000000 and 1/3 prints 0.33333333349.
    """
    if n < 1:
        raise ValueError(f"probability of 1/{n}")
    written = float(f"{1.0 / n:0.10f}")
    stored = math.floor(written * 0x80000000 + 0.5)
    return f"{stored / 0x80000000:.11f}"


def addr(value: IPv4Address | IPv4Network | str) -> str:
    """An address or CIDR with its prefix length, as iptables-save prints `-s`/`-d`."""
    return ip_network(str(value), strict=False).with_prefixlen


def hex_mark(value: int) -> str:
    return f"{value:#x}"


# --- Matches: each returns ("module", *options) in iptables-save's option order -------


Match = tuple[str, ...]


def m_comment(text: str) -> Match:
    return ("comment", "--comment", quote(text))


def m_proto(protocol: str, dport: int | None = None) -> Match:
    """`-m tcp [--dport N]` (the protocol itself goes in `Rule.protocol`)."""
    return (protocol,) if dport is None else (protocol, "--dport", str(dport))


def m_statistic(n: int) -> Match:
    return ("statistic", "--mode", "random", "--probability", probability(n))


def m_recent_check(name: str, seconds: int) -> Match:
    """kube-proxy's `--name N --rcheck --seconds S --reap`, as the recent module prints it."""
    return ("recent", "--rcheck", "--seconds", str(seconds), "--reap", "--name", name,
            "--mask", "255.255.255.255", "--rsource")


def m_recent_set(name: str) -> Match:
    return ("recent", "--set", "--name", name, "--mask", "255.255.255.255", "--rsource")


def m_mark(mark: int, negate: bool = False) -> Match:
    neg = ("!",) if negate else ()
    return ("mark", *neg, "--mark", f"{hex_mark(mark)}/{hex_mark(mark)}")


def m_conntrack(states: str, negate: bool = False) -> Match:
    neg = ("!",) if negate else ()
    return ("conntrack", *neg, "--ctstate", states)


def m_addrtype(*, src_type: str | None = None, dst_type: str | None = None) -> Match:
    opts: list[str] = []
    if src_type:
        opts += ["--src-type", src_type]
    if dst_type:
        opts += ["--dst-type", dst_type]
    return ("addrtype", *opts)


def m_nfacct(name: str) -> Match:
    """`-m nfacct --nfacct-name  NAME`: libxt_nfacct prints its own space before the name and
    `xtables_save_string` another, so iptables-save shows two (checked with iptables v1.8.9)."""
    return ("nfacct", "--nfacct-name", " " + quote(name))


# --- Targets: ("TARGET", *options) ---------------------------------------------------------


def t_jump(chain: str) -> tuple[str, ...]:
    return (chain,)


def t_reject() -> tuple[str, ...]:
    return ("REJECT", "--reject-with", "icmp-port-unreachable")


def t_mark_or(mark: int) -> tuple[str, ...]:
    """kube-proxy's `-j MARK --or-mark M`."""
    return ("MARK", "--set-xmark", f"{hex_mark(mark)}/{hex_mark(mark)}")


def t_mark_xor(mark: int) -> tuple[str, ...]:
    """kube-proxy's `-j MARK --xor-mark M`."""
    return ("MARK", "--set-xmark", f"{hex_mark(mark)}/0x0")


def t_masquerade(random_fully: bool) -> tuple[str, ...]:
    return ("MASQUERADE", "--random-fully") if random_fully else ("MASQUERADE",)


def t_dnat(endpoint: str) -> tuple[str, ...]:
    return ("DNAT", "--to-destination", endpoint)


@dataclass(frozen=True, slots=True)
class Rule:
    """One `-A` line: its chain, the iptables-save text after the chain, and its comment."""

    chain: str
    text: str
    comment: str | None = None
    target: str | None = None

    def line(self) -> str:
        return f"-A {self.chain} {self.text}" if self.text else f"-A {self.chain}"


def rule(
    chain: str,
    *,
    source: str | None = None,
    destination: str | None = None,
    protocol: str | None = None,
    local: Sequence[str] = (),
    matches: Iterable[Match] = (),
    target: Sequence[str] = (),
) -> Rule:
    """Build a rule in iptables-save form.

    `source`/`destination` are an address or CIDR, prefixed with "!" to negate.
    `local` is a LocalDetector's arguments (`("!", "-s", cidr)`, `("-i", "br0")`).
    """
    src, dst, iface = source, destination, None
    args = list(local)
    negate = False
    while args:
        token = args.pop(0)
        if token == "!":
            negate = True
            continue
        value = args.pop(0)
        value = ("!" if negate else "") + value
        negate = False
        if token == "-s":
            src = value
        elif token == "-i":
            iface = value
        else:
            raise ValueError(f"unexpected local-detector argument {token}")
    parts: list[str] = []
    for flag, value, is_addr in (("-s", src, True), ("-d", dst, True), ("-i", iface, False)):
        if value is None:
            continue
        neg = value.startswith("!")
        value = value.lstrip("!")
        if neg:
            parts.append("!")
        parts += [flag, addr(value) if is_addr else value]
    if protocol:
        parts += ["-p", protocol]
    comment = None
    for match in matches:
        parts += ["-m", *match]
        if match[0] == "comment" and comment is None:
            comment = _unquote(match[2])
    if target:
        parts += ["-j", *target]
    return Rule(chain, " ".join(parts), comment, target[0] if target else None)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        out, escaped = [], False
        for c in value[1:-1]:
            if escaped or c != "\\":
                out.append(c)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value


class Order(enum.Enum):
    """How `Ruleset.to_text` orders chains (rules inside a chain are never reordered, except below)."""

    CANONICAL = "canonical"          # proxier_test.go sortIPTablesRules (golden files)
    IPTABLES_SAVE = "iptables-save"  # as iptables-save lists them: built-ins in hook order, then by name


@dataclass
class Table:
    """One table being written: declared chains (with `:` lines) and each chain's rules in order."""

    name: str
    declared: list[str] = field(default_factory=list)
    rules: dict[str, list[Rule]] = field(default_factory=dict)

    @property
    def builtins(self) -> tuple[str, ...]:
        return BUILTIN_CHAINS[self.name]

    def declare(self, chain: str) -> None:
        if chain not in self.declared and chain not in self.builtins:
            self.declared.append(chain)

    def append(self, r: Rule) -> None:
        self.rules.setdefault(r.chain, []).append(r)

    def insert_first(self, r: Rule) -> None:
        self.rules.setdefault(r.chain, []).insert(0, r)

    def chain_rules(self, chain: str) -> list[Rule]:
        return self.rules.get(chain, [])


def _canonical_chain_key(chain: str) -> tuple[int, str]:
    if chain == KUBE_NODEPORTS:
        return (0, "")
    if chain == KUBE_SERVICES:
        return (1, "")
    return (2 if chain.startswith("KUBE-") else 3, chain)


def _service_name_of(r: Rule) -> str:
    """The service name a rule's comment starts with: up to the first space or colon
    (proxier_test.go orderByCommentServiceName)."""
    text = r.comment or ""
    for i, c in enumerate(text):
        if c in " :":
            return text[:i]
    return text


def _sorted_dispatch_rules(rules: list[Rule]) -> list[Rule]:
    """Stable sort by service name, the "must be the last rule" jump(s) last."""
    def key(r: Rule) -> tuple[int, str]:
        if r.comment == COMMENT_NODEPORTS_LAST:
            return (1, "")
        return (0, _service_name_of(r))
    return sorted(rules, key=key)


@dataclass
class Ruleset:
    """The tables of one node's ruleset, printable as iptables-restore input / iptables-save output."""

    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        if name not in self.tables:
            self.tables[name] = Table(name)
        return self.tables[name]

    def to_text(self, order: Order = Order.CANONICAL) -> str:
        lines: list[str] = []
        for name in sorted(self.tables):
            table = self.tables[name]
            user = list(table.declared) + sorted(c for c in table.rules
                                                 if c not in table.declared and c not in table.builtins)
            if order is Order.CANONICAL:
                chains = sorted([*table.builtins, *user], key=_canonical_chain_key)
            else:
                chains = [*table.builtins, *sorted(user)]
            lines.append(f"*{name}")
            for chain in chains:
                if chain in table.builtins:
                    lines.append(f":{chain} {BUILTIN_POLICY} [0:0]")
                elif chain in table.declared:
                    lines.append(f":{chain} - [0:0]")
            for chain in chains:
                rules = table.chain_rules(chain)
                if chain in (KUBE_SERVICES, KUBE_NODEPORTS):
                    rules = _sorted_dispatch_rules(rules)
                lines.extend(r.line() for r in rules)
            lines.append("COMMIT")
        return "\n".join(lines) + "\n"
