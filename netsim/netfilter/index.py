"""A compiled index for KUBE-SERVICES-shaped runs of rules: (destination, protocol, port) → rule positions.

A run is a stretch of consecutive rules (at least MIN_RUN) whose every test is
`-d HOST -p tcp|udp|sctp [-m comment] -m PROTO --dport PORT`, none negated.
Such rules have no side effects when tested, so skipping the ones whose key
differs from the packet's is exactly plain evaluation, only faster. The
walker asks `next_match(run, packet, index)` for the next rule that can
match at or after `index` inside the run (evaluation may re-enter a run in
the middle after a jump returns).
"""

from __future__ import annotations

from bisect import bisect_left

from netsim.netfilter.ruleset import Rule, parse_network

MIN_RUN = 8  # shorter stretches are cheaper to test rule by rule

_PORT_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132}


def rule_key(rule: Rule) -> tuple | None:
    """(version, destination int, protocol, port) when the rule has the indexable shape, else None."""
    dst = proto = None
    for opt in rule.generic:
        if opt.negated:
            return None
        if opt.name == "-d":
            net = parse_network(opt.values[0])
            if net.num_addresses != 1:
                return None
            dst = (net.version, int(net.network_address))
        elif opt.name == "-p":
            proto = opt.values[0]
        else:
            return None
    if dst is None or proto not in _PORT_PROTOS:
        return None
    port = None
    for match in rule.matches:
        if match.module == "comment":
            continue
        if match.module != proto or len(match.options) != 1:
            return None
        opt = match.options[0]
        if opt.name != "--dport" or opt.negated or not opt.values[0].isdigit():
            return None
        if port is not None:
            return None
        port = int(opt.values[0])
    if port is None:
        return None
    return (dst[0], dst[1], _PORT_PROTOS[proto], port)


class Run:
    """One indexed stretch [start, end) of a chain."""

    __slots__ = ("start", "end", "positions")

    def __init__(self, start: int, end: int, positions: dict[tuple, list[int]]) -> None:
        self.start = start
        self.end = end
        self.positions = positions

    def next_match(self, packet, index: int) -> int:
        """The first position ≥ index whose key is the packet's, or `end` when none is."""
        found = self.positions.get((packet.dst.version, int(packet.dst), packet.proto, packet.dport))
        if not found:
            return self.end
        i = bisect_left(found, index)
        return found[i] if i < len(found) else self.end


def build_runs(rules: list[Rule]) -> list[Run | None]:
    """For each position of a chain, the indexed run covering it (None outside runs)."""
    keys = [rule_key(r) for r in rules]
    out: list[Run | None] = [None] * len(rules)
    i = 0
    while i < len(rules):
        if keys[i] is None:
            i += 1
            continue
        j = i
        while j < len(rules) and keys[j] is not None:
            j += 1
        if j - i >= MIN_RUN:
            positions: dict[tuple, list[int]] = {}
            for k in range(i, j):
                positions.setdefault(keys[k], []).append(k)
            run = Run(i, j, positions)
            for k in range(i, j):
                out[k] = run
        i = j
    return out
