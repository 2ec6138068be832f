"""The iptables-save text model: parse, print, and normalize as iptables-save would.

A `Ruleset` is tables of chains and rules, plus the `#` lines between them.
`str(parse_ruleset(text)) == text` for any text this module accepts (each rule
keeps its line exactly as written). `Ruleset.normalized()` rewrites every rule
the way `iptables-save` (iptables 1.8.9, nf_tables) prints it back after
`iptables-restore`: generic options first (-s -d -i -o -p -f), /32 added,
implicit `-m tcp` made explicit, MARK's --or-mark as --set-xmark, probability
to 11 decimals, user chains sorted, rules grouped by chain. The recorded real
outputs in tests/netfilter/data/*.saved are the reference.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field

from netsim.netfilter.errors import RulesetParseError

# The tables iptables-save writes and their built-in chains, in the order
# iptables-save declares them (kernel hook order).
BUILTIN_CHAINS: dict[str, tuple[str, ...]] = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),  # loaded and printed; never evaluated (SELinux)
}

# Interfaces a hook does not know (iptables refuses the option in that built-in chain):
# no input interface on locally generated packets, no output one before routing.
NO_IFACE_AT = {"-i": ("OUTPUT", "POSTROUTING"), "-o": ("PREROUTING", "INPUT")}

# Generic (non-module) options: long aliases → the short form iptables-save prints,
# in the order iptables-save prints them (nft variant: -s -d -i -o -p -f).
GENERIC_ALIASES: dict[str, str] = {
    "-s": "-s", "--source": "-s", "--src": "-s",
    "-d": "-d", "--destination": "-d", "--dst": "-d",
    "-i": "-i", "--in-interface": "-i",
    "-o": "-o", "--out-interface": "-o",
    "-p": "-p", "--protocol": "-p",
    "-f": "-f", "--fragment": "-f",
}
GENERIC_ORDER = ("-s", "-d", "-i", "-o", "-p", "-f")

# Protocol numbers iptables-save prints by name (/etc/protocols names).
PROTOCOL_NAMES: dict[int, str] = {
    1: "icmp", 2: "igmp", 4: "ipencap", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre",
    50: "esp", 51: "ah", 58: "ipv6-icmp", 132: "sctp", 136: "udplite",
}
PROTOCOL_NUMBERS: dict[str, int] = {name: num for num, name in PROTOCOL_NAMES.items()}
PROTOCOL_NUMBERS.update({"icmpv6": 58, "all": 0})

# Modules loaded implicitly by `-p NAME` when an option of theirs follows.
IMPLICIT_PROTO_MODULES = frozenset({"tcp", "udp", "icmp", "sctp", "udplite", "icmp6"})

# Options whose value iptables-save prints as a string (xtables_save_string): quoted
# unless made only of letters, digits, '_' and '-'. Other values print bare.
STRING_OPTIONS = frozenset({"--comment", "--log-prefix", "--nflog-prefix", "--helper"})

_BARE = re.compile(r"[-_0-9a-zA-Z]+")  # printed without quotes
_NEEDS_QUOTES = re.compile(r"[ \t\"\\']")  # a non-string value printed quoted (it would not split back)
_ESCAPES = str.maketrans({'"': '\\"', "\\": "\\\\", "'": "\\'"})


def quote(value: str) -> str:
    """A string as iptables-save writes it (libxtables xtables_save_string)."""
    if _BARE.fullmatch(value):
        return value
    return '"' + value.translate(_ESCAPES) + '"'


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a rule line; `quoted` words are always values, never options."""

    text: str
    quoted: bool = False


_SIMPLE_LINE = re.compile(r'(?:[ \t]*(?:"[^"]*"(?=[ \t]|$)|[^ \t"]+(?=[ \t]|$)))*[ \t]*')
_SIMPLE_WORD = re.compile(r'"([^"]*)"|([^ \t"]+)')


def tokenize(line: str, source: str, lineno: int) -> list[Token]:
    """Split a rule line as iptables-restore does: double quotes group, backslash escapes."""
    words, quoted = split_words(line, source, lineno)
    return [Token(word, i in quoted) for i, word in enumerate(words)]


def split_words(line: str, source: str, lineno: int) -> tuple[list[str], frozenset[int]]:
    """`tokenize` as plain strings plus the indexes of the quoted words.

    parse_rule works on this form: a rule line is parsed once per load, and tens of
    thousands of small Token objects per kube-proxy ruleset cost more (allocation and
    garbage-collector passes) than the parsing itself.
    """
    if "\\" not in line:
        if '"' not in line:
            return line.split(), _NOTHING_QUOTED
        if _SIMPLE_LINE.fullmatch(line):  # quotes only around whole words: the common case
            pairs = _SIMPLE_WORD.findall(line)
            return ([w or q for q, w in pairs],
                    frozenset(i for i, (_, w) in enumerate(pairs) if w == ""))
    tokens = tokenize_chars(line, source, lineno)
    return [t.text for t in tokens], frozenset(i for i, t in enumerate(tokens) if t.quoted)


_NOTHING_QUOTED: frozenset[int] = frozenset()


def tokenize_chars(line: str, source: str, lineno: int) -> list[Token]:
    """The character-by-character tokenizer (quotes inside words, backslash escapes)."""
    tokens: list[Token] = []
    buf: list[str] = []
    in_quote = quoted = have = escaped = False
    for ch in line:
        if escaped:
            buf.append(ch)
            escaped = False
            have = True
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            in_quote = not in_quote
            quoted = have = True
        elif ch in " \t" and not in_quote:
            if have:
                tokens.append(Token("".join(buf), quoted))
            buf, quoted, have = [], False, False
        else:
            buf.append(ch)
            have = True
    if in_quote:
        raise RulesetParseError(source, lineno, "unterminated double quote")
    if have:
        tokens.append(Token("".join(buf), quoted))
    return tokens


@dataclass(frozen=True, slots=True)
class Option:
    """One option with its values, e.g. `! --dport 53` or `--tcp-flags FIN,SYN,RST,ACK SYN`."""

    name: str
    values: tuple[str, ...] = ()
    negated: bool = False

    def render(self) -> str:
        """The option as iptables-save prints it."""
        parts = ["!"] if self.negated else []
        parts.append(self.name)
        if self.name == "--nfacct-name":  # libxt_nfacct prints its own space before xtables_save_string's
            return " ".join(parts) + "  " + quote(self.values[0] if self.values else "")
        if self.name in STRING_OPTIONS:
            parts.extend(quote(v) for v in self.values)
        else:
            parts.extend(v if v and not _NEEDS_QUOTES.search(v) else quote(v) for v in self.values)
        return " ".join(parts)

    @property
    def value(self) -> str:
        """The single value (or the values joined by a space)."""
        return " ".join(self.values)


def last_option(options: tuple[Option, ...], name: str) -> Option | None:
    """The last of `options` called `name` (iptables keeps the last one given), or None."""
    return next((opt for opt in reversed(options) if opt.name == name), None)


@dataclass(frozen=True, slots=True)
class Match:
    """A `-m MODULE` block and its options in order."""

    module: str
    options: tuple[Option, ...] = ()

    def get(self, name: str) -> Option | None:
        """The last option called `name`, or None."""
        return last_option(self.options, name)

    def render(self) -> str:
        """`-m MODULE options...`."""
        return " ".join(["-m", self.module, *(o.render() for o in self.options)])


@dataclass(frozen=True, slots=True)
class Target:
    """The `-j TARGET options...` (or `-g CHAIN`) of a rule."""

    name: str
    options: tuple[Option, ...] = ()
    goto: bool = False

    def get(self, name: str) -> Option | None:
        """The last option called `name`, or None."""
        return last_option(self.options, name)

    def render(self) -> str:
        """`-j NAME options...` or `-g NAME`."""
        return " ".join(["-g" if self.goto else "-j", self.name, *(o.render() for o in self.options)])


@dataclass(frozen=True, slots=True)
class Rule:
    """One `-A CHAIN ...` line: generic options, matches in order, the target, and its text."""

    chain: str
    generic: tuple[Option, ...]
    matches: tuple[Match, ...]
    target: Target | None
    text: str
    counters: str | None = None
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return self.text

    def generic_option(self, name: str) -> Option | None:
        """The generic option `-s`/`-d`/`-i`/`-o`/`-p`/`-f`, or None."""
        for opt in self.generic:
            if opt.name == name:
                return opt
        return None

    def render(self) -> str:
        """The rule as iptables-save prints it, from its parsed parts."""
        parts = [self.counters] if self.counters else []
        parts += ["-A", self.chain]
        parts += [o.render() for o in self.generic]
        parts += [m.render() for m in self.matches]
        if self.target is not None:
            parts.append(self.target.render())
        return " ".join(parts)

    def normalized(self, family: int = 4, memo: dict | None = None) -> Rule:
        """This rule as iptables-save (family 4) or ip6tables-save (6) would print it back.

        `memo` (normalize.PartMemo) carries the parts already normalised by earlier rules.
        """
        from netsim.netfilter.normalize import normalize_rule

        return normalize_rule(self, family, memo)


@dataclass(frozen=True, slots=True)
class Chain:
    """A `:NAME POLICY [packets:bytes]` declaration; policy is None for user chains (`-`)."""

    name: str
    policy: str | None
    counters: str = "[0:0]"
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f":{self.name} {self.policy or '-'} {self.counters}"


@dataclass(frozen=True, slots=True)
class Comment:
    """A `#` line or a blank line, kept so printing gives the text back."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Table:
    """A `*table` ... `COMMIT` block: its lines in order (chains, rules, comments)."""

    name: str
    items: tuple[Chain | Rule | Comment, ...]

    @property
    def chains(self) -> dict[str, Chain]:
        """Declared chains by name, in declaration order."""
        return {i.name: i for i in self.items if isinstance(i, Chain)}

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, in file order."""
        return tuple(i for i in self.items if isinstance(i, Rule))

    def chain_rules(self, chain: str) -> tuple[Rule, ...]:
        """The rules of one chain, in order."""
        return tuple(i for i in self.items if isinstance(i, Rule) and i.chain == chain)

    def __str__(self) -> str:
        return "\n".join([f"*{self.name}", *(str(i) for i in self.items), "COMMIT"])

    def normalized(self, family: int = 4, memo: dict | None = None) -> Table:
        """As iptables-save prints it: built-ins first, user chains sorted, rules by chain.

        `memo` (normalize.PartMemo) is shared by every rule, so a part repeated across
        rules is normalised once; a new one is made when none is given.
        """
        from netsim.netfilter.normalize import normalize_rule

        if memo is None:
            memo = {}
        chains = self.chains
        # iptables-save lists every built-in chain, declared or not (they always exist)
        builtin = [chains.get(n) or Chain(n, "ACCEPT") for n in BUILTIN_CHAINS.get(self.name, ())]
        user = sorted((c for c in chains.values() if c.policy is None), key=lambda c: c.name)
        order = builtin + user
        by_chain: dict[str, list[Rule]] = {c.name: [] for c in order}
        for item in self.items:
            if isinstance(item, Rule):
                by_chain[item.chain].append(item)
        items: list[Chain | Rule | Comment] = list(order)
        for chain in order:
            items.extend([normalize_rule(r, family, memo) for r in by_chain[chain.name]])
        return Table(self.name, tuple(items))


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A whole iptables-save text: tables and the comment lines around them."""

    items: tuple[Table | Comment, ...]
    source: str = "<string>"
    family: int = 4  # 4 for iptables-save text, 6 for ip6tables-save text

    @property
    def tables(self) -> dict[str, Table]:
        """Tables by name, in file order."""
        return {i.name: i for i in self.items if isinstance(i, Table)}

    def __str__(self) -> str:
        return "".join(str(i) + "\n" for i in self.items)

    def normalized(self) -> Ruleset:
        """As iptables-save would print it after iptables-restore (comment lines dropped)."""
        memo: dict = {}  # normalize.PartMemo, shared by the tables (one family)
        return Ruleset(tuple(t.normalized(self.family, memo) for t in self.items if isinstance(t, Table)),
                       self.source, self.family)


# --- parsing -----------------------------------------------------------------

_CHAIN_COMMANDS = {"-A", "--append"}
_TARGET_FLAGS = {"-j": False, "--jump": False, "-g": True, "--goto": True}


def parse_ruleset(text: str, source: str = "<string>", family: int | None = None) -> Ruleset:
    """Parse iptables-save (or iptables-restore input) text; all or nothing.

    `family` 4 or 6 says whether this is iptables or ip6tables text; None
    guesses: 6 after a `# Generated by ip6tables-save` line or when the first -s/-d is IPv6.
    """
    items: list[Table | Comment] = []
    table: str | None = None
    table_line = 0
    table_items: list[Chain | Rule | Comment] = []
    chains: dict[str, Chain] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            (table_items if table is not None else items).append(Comment(line))
            continue
        if stripped.startswith("*"):
            if table is not None:
                raise RulesetParseError(source, lineno, f"table {stripped[1:]!r} starts before COMMIT of table {table!r}")
            table = stripped[1:]
            if table not in BUILTIN_CHAINS:
                raise RulesetParseError(source, lineno, f"unknown table {table!r} (known: {', '.join(BUILTIN_CHAINS)})")
            if any(isinstance(i, Table) and i.name == table for i in items):
                raise RulesetParseError(source, lineno, f"table {table!r} appears twice")
            table_line, table_items, chains = lineno, [], {}
            continue
        if table is None:
            raise RulesetParseError(source, lineno, f"{stripped.split()[0]!r} outside a table (expected *TABLE)")
        if stripped == "COMMIT":
            _check_jumps(source, table, table_items, chains)
            items.append(Table(table, tuple(table_items)))
            table = None
            continue
        if stripped.startswith(":"):
            chain = _parse_chain(source, lineno, table, stripped)
            if chain.name in chains:
                raise RulesetParseError(source, lineno, f"chain {chain.name!r} declared twice in table {table!r}")
            chains[chain.name] = chain
            table_items.append(chain)
            continue
        rule = parse_rule(line, source, lineno)
        if rule.chain not in chains:
            if rule.chain not in BUILTIN_CHAINS[table]:  # built-ins always exist
                raise RulesetParseError(source, lineno, f"rule appended to undeclared chain {rule.chain!r} in table {table!r}")
        if rule.chain in BUILTIN_CHAINS[table]:
            for opt, hooks in NO_IFACE_AT.items():
                if rule.chain in hooks and rule.generic_option(opt):
                    raise RulesetParseError(source, lineno, f"Can't use {opt} with {rule.chain}")
        table_items.append(rule)
    if table is not None:
        raise RulesetParseError(source, table_line, f"table {table!r} has no COMMIT")
    if family is None:
        family = _guess_family(items)
    elif family not in (4, 6):
        raise ValueError(f"family must be 4 or 6, got {family!r}")
    _check_family(source, items, family)
    return Ruleset(tuple(items), source, family)


def _check_family(source: str, items: list, family: int) -> None:
    """iptables-restore refuses IPv6 addresses and ip6tables-restore IPv4 ones."""
    for item in items:
        if not isinstance(item, Table):
            continue
        for rule in item.rules:
            for opt in rule.generic:
                if opt.name in ("-s", "-d") and parse_network(opt.values[0]).version != family:
                    tool = "iptables" if family == 4 else "ip6tables"
                    raise RulesetParseError(source, rule.line, f"{opt.values[0]!r} is not an IPv{family} address ({tool} text)")


def _guess_family(items: list) -> int:
    """6 for ip6tables text (its header comment, or a first -s/-d that is IPv6), else 4."""
    for item in items:
        lines = [item] if isinstance(item, Comment) else list(item.items)
        for line in lines:
            if isinstance(line, Comment) and "ip6tables" in line.text:
                return 6
            if isinstance(line, Rule):
                for opt in line.generic:
                    if opt.name in ("-s", "-d"):
                        return 6 if ":" in opt.values[0] else 4
    return 4


def _parse_chain(source: str, lineno: int, table: str, text: str) -> Chain:
    """`:NAME POLICY [p:b]`."""
    parts = text[1:].split()
    if len(parts) not in (2, 3):
        raise RulesetParseError(source, lineno, f"bad chain declaration {text!r} (expected :NAME POLICY [packets:bytes])")
    name, policy = parts[0], parts[1]
    counters = parts[2] if len(parts) == 3 else "[0:0]"
    builtin = name in BUILTIN_CHAINS[table]
    if builtin and policy not in ("ACCEPT", "DROP"):
        raise RulesetParseError(source, lineno, f"built-in chain {name!r} needs policy ACCEPT or DROP, got {policy!r}")
    if not builtin and policy != "-":
        raise RulesetParseError(source, lineno, f"{name!r} is not a built-in chain of table {table!r}; user chains take policy '-'")
    if len(name) > 28:
        raise RulesetParseError(source, lineno, f"chain name {name!r} longer than 28 characters")
    return Chain(name, policy if builtin else None, counters, lineno)


def _check_jumps(source: str, table: str, items: list, chains: dict[str, Chain]) -> None:
    """A jump to an undeclared chain that is not a target extension fails the whole table."""
    from netsim.netfilter.targets import KNOWN_TARGETS

    for item in items:
        if isinstance(item, Rule) and item.target is not None:
            name = item.target.name
            if name in BUILTIN_CHAINS[table]:
                raise RulesetParseError(source, item.line, f"cannot jump to built-in chain {name!r}")
            if name in chains:
                continue
            if item.target.goto or not (name in KNOWN_TARGETS or name.isupper() and "-" not in name):
                raise RulesetParseError(source, item.line, f"jump to undeclared chain {name!r} in table {table!r}")
    _check_loops(source, table, items, chains)


def _check_loops(source: str, table: str, items: list, chains: dict[str, Chain]) -> None:
    """A loop of jumps/gotos reachable from a built-in chain is refused (the kernel's ELOOP)."""
    edges: dict[str, list[Rule]] = {name: [] for name in (*BUILTIN_CHAINS[table], *chains)}
    for item in items:
        if isinstance(item, Rule) and item.target is not None and item.target.name in chains:
            edges[item.chain].append(item)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(chain: str, path: list[str]) -> None:
        state[chain] = 1
        for rule in edges[chain]:
            nxt = rule.target.name
            if state.get(nxt) == 1:
                loop = " -> ".join(path[path.index(nxt):] + [nxt])
                raise RulesetParseError(source, rule.line, f"chain loop in table {table!r}: {loop}")
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[chain] = 2

    for name in BUILTIN_CHAINS[table]:  # like nft's validation: only loops a packet can reach
        if name not in state:
            visit(name, [name])


def parse_rule(line: str, source: str = "<string>", lineno: int = 0) -> Rule:
    """Parse one `-A CHAIN ...` line (optionally prefixed by `[packets:bytes]`)."""
    text = line.strip()
    words, quoted = split_words(text, source, lineno)
    n = len(words)
    counters = None
    i = 0
    if n and words[0].startswith("[") and 0 not in quoted:
        counters = words[0]
        i = 1
    if n - i < 2 or words[i] not in _CHAIN_COMMANDS:
        what = words[i] if n > i else line
        raise RulesetParseError(source, lineno, f"unsupported command {what!r} (only -A rules, :chain lines and COMMIT)")
    chain = words[i + 1]
    generic: dict[str, Option] = {}
    matches: list[list] = []  # [module, [options]]
    target_name: str | None = None
    goto = False
    current: list | None = None  # the match or target receiving options
    target_opts: list[Option] | None = None
    to_target = False  # options go to the target until the next -m
    i += 2

    while i < n:
        word = words[i]
        is_quoted = i in quoted
        negated = False
        if word == "!" and not is_quoted:
            negated = True
            i += 1
            if i >= n:
                raise RulesetParseError(source, lineno, "'!' at the end of the rule")
            word = words[i]
            is_quoted = i in quoted
        if is_quoted or not word.startswith("-"):
            raise RulesetParseError(source, lineno, f"unexpected {word!r}")
        short = GENERIC_ALIASES.get(word)
        if short is not None:
            if short in generic:
                raise RulesetParseError(source, lineno, f"option {short} given twice")
            if short == "-f":
                generic[short] = Option("-f", (), negated)
                i += 1
                continue
            if i + 1 >= n:
                raise RulesetParseError(source, lineno, f"option {word} needs a value")
            value = words[i + 1]
            if value == "!":  # old style `-s ! ADDR`
                negated = True
                i += 1
                value = words[i + 1]
            generic[short] = Option(short, (value,), negated)
            if short == "-p":
                _check_protocol(value, source, lineno)
            elif short in ("-s", "-d"):
                _check_address(value, source, lineno)
            i += 2
            continue
        if word in ("-m", "--match"):
            if negated:
                raise RulesetParseError(source, lineno, "'!' before -m")
            if i + 1 >= n:
                raise RulesetParseError(source, lineno, "-m needs a module name")
            current = [words[i + 1], []]
            if current[0] == "multiport":  # libxt_multiport checks the protocol when it parses
                proto = generic.get("-p")
                if proto is None or proto.negated or _proto_module(proto.values[0]) not in ("tcp", "udp", "sctp", "udplite"):
                    raise RulesetParseError(source, lineno, "-m multiport needs -p tcp, udp, udplite or sctp before it")
            matches.append(current)
            to_target = False
            i += 2
            continue
        if word in _TARGET_FLAGS:
            if target_opts is not None:
                raise RulesetParseError(source, lineno, "more than one target")
            if i + 1 >= n:
                raise RulesetParseError(source, lineno, f"{word} needs a target name")
            target_opts = []
            to_target = True
            target_name, goto = words[i + 1], _TARGET_FLAGS[word]
            i += 2
            continue
        if word.startswith("--"):
            holder = None
            if to_target:
                name = _target_option_name(target_name, word)
            else:
                holder, name = _match_for_option(word, current, matches, generic)
                if holder is None:
                    raise RulesetParseError(source, lineno, f"option {word} does not belong to any match "
                                                            "(no -m before it and no -p tcp/udp/icmp)")
            arity = option_arity(name)
            if arity is None:
                j = _values_end(words, quoted, i + 1)
                vals = tuple(words[i + 1:j])
            else:  # getopt semantics: a required argument is the next word, whatever it looks like
                if i + 1 + arity > n:
                    raise RulesetParseError(source, lineno, f"option {word} needs {arity} value{'s' if arity > 1 else ''}")
                j = i + 1 + arity
                vals = tuple(words[i + 1:j])
            opt = Option(name, vals, negated)
            if holder is None:
                target_opts.append(opt)
            else:
                group = _ONCE_OPTIONS.get(holder[0], _NO_GROUPS).get(name)
                if group and any(o.name in group for o in holder[1]):
                    raise RulesetParseError(source, lineno, f"-m {holder[0]}: {name} cannot follow {'/'.join(sorted(group))}")
                holder[1].append(opt)
                current = holder
            i = j
            continue
        raise RulesetParseError(source, lineno, f"unexpected {word!r}")
    for module, opts in matches:
        if module in _CHECKED_MODULES:
            problem = _match_problem(module, {o.name for o in opts})
            if problem:
                raise RulesetParseError(source, lineno, f"-m {module}: {problem}")
    generic_t = tuple(generic[k] for k in GENERIC_ORDER if k in generic)
    target = Target(target_name, tuple(target_opts), goto) if target_name is not None else None
    return Rule(
        chain=chain,
        generic=generic_t,
        matches=tuple([Match(m, tuple(opts)) for m, opts in matches]),
        target=target,
        text=text,
        counters=counters,
        line=lineno,
    )


def _values_end(words: list[str], quoted: frozenset[int], j: int) -> int:
    """Where the values of an option netsim does not know end: at the next option or `!`."""
    n = len(words)
    while j < n:
        word = words[j]
        if j not in quoted and (word == "!" or word.startswith("-") and len(word) > 1 and not _is_number(word)):
            break
        j += 1
    return j


# Options that take no value or two values; every other option an extension
# declares (normalize.MODULE_OPTIONS / TARGET_OPTIONS) takes exactly one.
NO_VALUE_OPTIONS = frozenset({
    "--syn", "--limit-iface-in", "--limit-iface-out", "--random", "--random-fully", "--persistent",
    "--save-mark", "--restore-mark", "--notrack", "--log-tcp-sequence", "--log-tcp-options",
    "--log-ip-options", "--log-uid", "--log-macdecode", "--physdev-is-in", "--physdev-is-out",
    "--physdev-is-bridged", "--clamp-mss-to-pmtu",
    "--set", "--rcheck", "--update", "--remove", "--reap", "--rttl", "--rsource", "--rdest",
    "--checksum-fill",
})
TWO_VALUE_OPTIONS = frozenset({"--tcp-flags"})


def option_arity(name: str) -> int | None:
    """How many words follow an option, or None for options netsim does not know."""
    return _arities().get(name)


@functools.cache
def _option_tables() -> tuple[dict, dict]:
    """normalize.py's (MODULE_OPTIONS, TARGET_OPTIONS), looked up once: that module imports
    this one, and an import statement in a function run per option costs more than the parse."""
    from netsim.netfilter.normalize import MODULE_OPTIONS, TARGET_OPTIONS

    return MODULE_OPTIONS, TARGET_OPTIONS


@functools.cache
def _arities() -> dict[str, int]:
    """option_arity as one table, built on first use (normalize.py's tables import this module)."""
    from netsim.netfilter.normalize import MARK_OPTIONS, MODULE_OPTIONS, TARGET_OPTIONS

    arity: dict[str, int] = {}
    for table in (MODULE_OPTIONS, TARGET_OPTIONS):
        for options in table.values():
            arity.update(dict.fromkeys(options, 1))
    arity.update(dict.fromkeys(MARK_OPTIONS, 1))
    arity.update(dict.fromkeys(TWO_VALUE_OPTIONS, 2))
    arity.update(dict.fromkeys(NO_VALUE_OPTIONS, 0))
    return arity


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# Per extension: option → the options it cannot be combined with in one match (each is
# "only once"; multiport takes only one of its three port lists).
_MULTIPORT_LISTS = frozenset({"--dports", "--sports", "--ports"})
_ONCE_OPTIONS: dict[str, dict[str, frozenset[str]]] = {
    "tcp": {o: frozenset({o}) for o in ("--sport", "--dport", "--tcp-flags")},
    "udp": {o: frozenset({o}) for o in ("--sport", "--dport")},
    "multiport": {o: _MULTIPORT_LISTS for o in _MULTIPORT_LISTS},
    "mark": {"--mark": frozenset({"--mark"})},
    "conntrack": {"--ctstate": frozenset({"--ctstate"})},
    "state": {"--state": frozenset({"--state"})},
    "comment": {"--comment": frozenset({"--comment"})},
    "icmp": {"--icmp-type": frozenset({"--icmp-type"})},
}


_NO_GROUPS: dict[str, frozenset[str]] = {}  # an extension with no exclusive options

# The extensions _match_problem has a final check for.
_CHECKED_MODULES = frozenset({"recent", "multiport"})


def _match_problem(module: str, names: set[str]) -> str | None:
    """Option combinations an extension's final check refuses (libxt_recent, libxt_multiport)."""
    if module == "recent":
        actions = names & {"--set", "--rcheck", "--update", "--remove"}
        if len(actions) > 1:
            return "only one of --set, --rcheck, --update and --remove"
        if names & {"--seconds", "--hitcount", "--reap"} and not actions & {"--rcheck", "--update"}:
            return "--seconds, --hitcount and --reap need --rcheck or --update"
        if "--reap" in names and "--seconds" not in names:
            return "--reap needs --seconds"
    if module == "multiport" and not names & _MULTIPORT_LISTS:
        return "needs --dports, --sports or --ports"
    return None


def _resolve(option: str, module: str) -> str | None:
    """The module's option that `option` names: exactly, or as getopt's unique abbreviation."""
    known = _option_tables()[0].get(module)
    if known is None:
        return None
    if option in known:
        return option
    candidates = {known[k][0] for k in known if k.startswith(option)}
    return candidates.pop() if len(candidates) == 1 else None


def _target_option_name(target: str, option: str) -> str:
    """A target option's full name (getopt abbreviations such as DNAT's `--to`)."""
    known = _option_tables()[1].get(target)
    if not known or option in known:
        return option
    candidates = {k for k in known if k.startswith(option)}
    return candidates.pop() if len(candidates) == 1 else option


def _match_for_option(option: str, current: list | None, matches: list[list],
                      generic: dict[str, Option]) -> tuple[list | None, str]:
    """(match, full option name): like getopt over the options of the matches loaded so far
    (exact names first, then unique abbreviations: `-m multiport --dport` is --dports), else
    the -p protocol's match, loaded implicitly as iptables does for an unknown option."""
    module_options = _option_tables()[0]  # normalize.MODULE_OPTIONS
    if current is not None and current[0] not in module_options:
        return current, option  # an extension netsim does not know: its options stay with it
    loaded = [m for m in matches if m[0] in module_options]
    for m in reversed(loaded):
        if option in module_options[m[0]]:
            return m, option
    for m in reversed(loaded):
        full = _resolve(option, m[0])
        if full is not None:
            return m, full
    proto = generic.get("-p")
    module = _proto_module(proto.values[0]) if proto is not None else None
    if module is not None and option in module_options.get(module, ()):
        m = [module, []]  # getopt did not know it: iptables loads the protocol's match
        matches.append(m)
        return m, option
    return current, option


def _proto_module(value: str) -> str | None:
    """The implicit match module of a `-p` value (tcp, udp, icmp, ...)."""
    name = value.lower()
    if name.isdigit():
        name = PROTOCOL_NAMES.get(int(name), name)
    if name in ("ipv6-icmp", "icmpv6"):
        name = "icmp6"
    return name if name in IMPLICIT_PROTO_MODULES else None


def _check_protocol(value: str, source: str, lineno: int) -> None:
    name = value.lower()
    if name.isdigit():
        if not 0 <= int(name) <= 255:
            raise RulesetParseError(source, lineno, f"protocol number {value!r} out of range 0-255")
    elif name not in PROTOCOL_NUMBERS:
        raise RulesetParseError(source, lineno, f"unknown protocol {value!r}")


def _check_address(value: str, source: str, lineno: int) -> None:
    try:
        parse_network(value)
    except ValueError:
        raise RulesetParseError(source, lineno, f"bad address {value!r} (expected ADDR, ADDR/PREFIX or ADDR/MASK)") from None


@dataclass(frozen=True, slots=True)
class MaskedNetwork:
    """An -s/-d network whose mask is not a prefix, e.g. `10.0.2.0/255.0.255.0`.

    iptables takes any mask written as an address and matches `address & mask == net`;
    ipaddress networks only know prefix masks, so parse_network returns this for the
    others. It offers what netsim reads from a network (version, network_address,
    netmask, num_addresses, `in`), and str() is iptables-save's spelling
    (xtables_ipmask_to_numeric / xtables_ip6mask_to_numeric): the masked address, '/', the
    mask as an address.
    """

    network_address: ipaddress.IPv4Address | ipaddress.IPv6Address  # already masked
    netmask: ipaddress.IPv4Address | ipaddress.IPv6Address

    def __post_init__(self) -> None:
        if self.network_address.version != self.netmask.version:
            raise ValueError(f"address {self.network_address} and mask {self.netmask} are of different families")
        if int(self.network_address) & ~int(self.netmask):
            raise ValueError(f"address {self.network_address} has bits outside mask {self.netmask}")
        if _prefix_of_mask(int(self.netmask), self.netmask.max_prefixlen) is not None:
            raise ValueError(f"mask {self.netmask} is a prefix; use an ipaddress network")

    @property
    def version(self) -> int:
        """4 or 6."""
        return self.network_address.version

    @property
    def num_addresses(self) -> int:
        """How many addresses match: two to the number of zero bits in the mask."""
        return 1 << (self.netmask.max_prefixlen - int(self.netmask).bit_count())

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)) or address.version != self.version:
            return False
        return int(address) & int(self.netmask) == int(self.network_address)

    def __str__(self) -> str:
        return f"{self.network_address}/{self.netmask}"


def _prefix_of_mask(mask: int, bits: int) -> int | None:
    """The prefix length of a mask made of ones then zeros, else None."""
    host = ~mask & ((1 << bits) - 1)
    return bits - host.bit_length() if host & (host + 1) == 0 else None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network | MaskedNetwork

# A dotted quad as ipaddress accepts it (no leading zeros, octets up to 255): the fast path
# of parse_network for the host addresses and prefixes that make up nearly every ruleset.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


# Room for every address of a large ruleset (10,000 services x 10 endpoints hold ~110,000): each
# is read when parsed, when the family is checked and when normalized.
@functools.lru_cache(maxsize=1 << 17)
def parse_network(value: str) -> Network:
    """`10.0.0.1`, `10.0.0.0/8` or `10.1.2.3/255.255.0.0` as a masked network (cached: immutable).

    As iptables (xtables_ipparse_multiple): the address is ANDed with the mask; a mask
    written as an address may be any bits, and one that is not ones-then-zeros
    (`255.0.255.0`, `0.0.0.255`, `ffff::ffff`) gives a MaskedNetwork.
    """
    address, slash, mask = value.partition("/")
    if slash and ("." in mask or ":" in mask):  # the mask written as an address
        addr, netmask = ipaddress.ip_address(address), ipaddress.ip_address(mask)
        if addr.version != netmask.version:
            raise ValueError(f"mask {mask!r} is not an IPv{addr.version} mask")
        bits, m = addr.max_prefixlen, int(netmask)
        prefix = _prefix_of_mask(m, bits)
        if prefix is None:
            return MaskedNetwork(type(addr)(int(addr) & m), netmask)
        network = ipaddress.IPv4Network if addr.version == 4 else ipaddress.IPv6Network
        return network((int(addr) & m, prefix))
    quad = _DOTTED_QUAD.fullmatch(address)
    if quad is not None and (not slash or mask.isascii() and mask.isdigit() and int(mask) <= 32):
        a, b, c, d = quad.groups()
        return ipaddress.IPv4Network(((int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d),
                                      int(mask) if slash else 32), strict=False)
    return ipaddress.ip_network(value, strict=False)
