"""Rules written as kube-proxy writes them: its iptables-restore input, word for word.

kube-proxy builds each line with `LineBuffer.Write(args...)`
(pkg/proxy/util/linebuffer.go): the words joined by single spaces, in the
order proxier.go lists them (`-m comment --comment "..." -m tcp -p tcp -d IP
--dport 80 -j CHAIN`). Values are written as kube-proxy formats them:
addresses bare (`-d 10.0.0.10`, no `/32`), the masquerade mark with Go's
`%#08x` (`0x00004000`), probabilities with `%0.10f` (`0.5000000000`), and a
comment quoted only where kube-proxy's format string carries the quotes
(those with spaces; a bare `ns/name:port` stays bare).

What iptables-save prints back once the kernel holds these rules (`-d
10.0.0.10/32 -p udp -m comment ...`) is not built here: netsim/netfilter's
normalizer derives it from this text, as the kernel and iptables-save do.

`Ruleset.to_text` prints the canonical order of kube-proxy's own tests
(`sortIPTablesRules` in proxier_test.go).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from netsim.kubeproxy.constants import (
    BUILTIN_CHAINS,
    COMMENT_NODEPORTS_LAST,
    KUBE_NODEPORTS,
    KUBE_SERVICES,
)

Args = tuple[str, ...]


def go_hex08(value: int) -> str:
    """Go's `fmt.Sprintf("%#08x", value)`: eight zero-padded digits after `0x` (Go does not count
    the prefix in the width, unlike C), as kube-proxy formats its masquerade mark."""
    return f"0x{value:08x}"


def go_probability(n: int) -> str:
    """kube-proxy's `computeProbability(n)`: `fmt.Sprintf("%0.10f", 1.0/float64(n))`."""
    if n < 1:
        raise ValueError(f"probability of 1/{n}")
    return f"{1.0 / n:0.10f}"


def comment_word(text: str) -> str:
    """The `--comment` value as kube-proxy writes it: its format strings wrap the comments that
    hold spaces in double quotes (`"%s cluster IP"`); the bare service port name has none."""
    if '"' in text or "\\" in text:
        raise ValueError(f"kube-proxy never writes a comment with quotes or backslashes: {text!r}")
    return f'"{text}"' if " " in text else text


def comment(text: str) -> Args:
    """`-m comment --comment TEXT`."""
    return ("-m", "comment", "--comment", comment_word(text))


def proto_match(protocol: str) -> Args:
    """`-m PROTO -p PROTO`, the pair kube-proxy always writes together."""
    return ("-m", protocol, "-p", protocol)


@dataclass(frozen=True, slots=True)
class Rule:
    """One `-A CHAIN ...` line: the words after the chain name, and its comment as plain text
    (the canonical sort orders KUBE-SERVICES / KUBE-NODEPORTS by it)."""

    chain: str
    args: Args
    comment: str | None = None

    def line(self) -> str:
        return " ".join(("-A", self.chain, *self.args))


def rule(chain: str, *parts: Iterable[str], comment_text: str | None = None) -> Rule:
    """A rule of `chain` from argument groups, concatenated in order (as `LineBuffer.Write`)."""
    args: list[str] = []
    for part in parts:
        args.extend(part)
    if comment_text is None:
        for i, word in enumerate(args[:-1]):
            if word == "--comment":
                value = args[i + 1]
                comment_text = value[1:-1] if value.startswith('"') else value
                break
    return Rule(chain, tuple(args), comment_text)


@dataclass
class Table:
    """One table being written: declared chains (with `:` lines) and each chain's rules in order."""

    name: str
    declared: dict[str, None] = field(default_factory=dict)  # an ordered set
    rules: dict[str, list[Rule]] = field(default_factory=dict)

    @property
    def builtins(self) -> tuple[str, ...]:
        return BUILTIN_CHAINS[self.name]

    def declare(self, chain: str) -> None:
        if chain not in self.builtins:
            self.declared.setdefault(chain)

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
    """The tables of one node's ruleset, printable as iptables-restore input."""

    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        if name not in self.tables:
            self.tables[name] = Table(name)
        return self.tables[name]

    def to_text(self) -> str:
        """iptables-restore input in the canonical order of kube-proxy's tests: tables by name;
        in each, chain lines then rules, KUBE-NODEPORTS, KUBE-SERVICES, the other KUBE-*
        chains alphabetically, then built-in chains (whose policy lines kube-proxy never writes:
        with --noflush a policy line would flush the chain)."""
        lines: list[str] = []
        for name in sorted(self.tables):
            table = self.tables[name]
            user = list(table.declared) + [c for c in table.rules
                                           if c not in table.declared and c not in table.builtins]  # dict lookups
            chains = sorted([*table.builtins, *user], key=_canonical_chain_key)
            lines.append(f"*{name}")
            lines.extend(f":{chain} - [0:0]" for chain in chains if chain in table.declared)
            for chain in chains:
                rules = table.chain_rules(chain)
                if chain in (KUBE_SERVICES, KUBE_NODEPORTS):
                    rules = _sorted_dispatch_rules(rules)
                lines.extend(r.line() for r in rules)
            lines.append("COMMIT")
        return "\n".join(lines) + "\n"
