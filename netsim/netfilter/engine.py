"""One host's netfilter: the loaded tables, conntrack and NAT, run hook by hook (a HookRunner).

Contract: `NetfilterEngine(ruleset, rng=..., clock=..., interface_addresses=...)`.
`run_hook` runs, in the kernel's priority order, every table registered at
the hook plus conntrack and NAT (HOOK_STEPS below) and returns a HookResult
whose `packet` is the same record, rewritten in place. The caller routes on
the rewritten destination after PREROUTING/OUTPUT.

How interface addresses are learned: `interface_addresses` is a callable
`name -> iterable of ipaddress objects` (or a mapping of the same), primary
address first. MASQUERADE uses the first address of the packet's family on
the out interface; REDIRECT the in interface's; `addrtype --limit-iface-*`
checks membership; REJECT picks its error's source from it. It is called at
packet time, so address changes are seen at once.

The packet record's `ct` carries the conntrack entry from PREROUTING/OUTPUT
to POSTROUTING/INPUT of the same host. A record arriving at PREROUTING gets
a fresh lookup (its `ct` from another host is ignored) unless it arrives on
"lo" carrying this host's entry (loopback keeps its conntrack, as skb->_nfct).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping

from netsim.netfilter.conntrack import (
    ICMP_NEW_TYPES,
    ICMPV6_NEW_TYPES,
    UNTRACKED,
    ConntrackEntry,
    ConntrackTable,
    invert,
    is_icmp_error,
    packet_tuple,
    tcp_new_state,
    update_state,
)
from netsim.netfilter.hooks import Hook, HookResult, InterfaceAddresses, Verdict
from netsim.netfilter.index import build_runs
from netsim.netfilter.matches import EvalContext, Unsupported, compile_matches
from netsim.netfilter.nat import Manip, bind, translate
from netsim.netfilter.ruleset import Rule, Ruleset, parse_ruleset
from netsim.netfilter.targets import CONTINUE, GOTO, JUMP, RETURN, VERDICT, compile_target
from netsim.netfilter.trace import TraceStep, describe
from netsim.packet.record import IPAddress, Packet, Proto


class Step(enum.Enum):
    """What runs at one priority slot of a hook."""

    RAW = "raw"
    CONNTRACK = "conntrack"  # lookup or new entry (nf_conntrack_in)
    MANGLE = "mangle"
    NAT = "nat"              # rules for a new connection's first packet, else the stored binding
    FILTER = "filter"
    CONFIRM = "confirm"      # insert a new entry into the table (nf_conntrack_confirm)


# The kernel's hook registrations, in priority order (include/uapi/linux/netfilter_ipv4.h:
# RAW -300, CONNTRACK -200, MANGLE -150, NAT_DST -100, FILTER 0, SECURITY 50,
# NAT_SRC 100, CONNTRACK_CONFIRM INT_MAX). The security table is loaded but not run.
HOOK_STEPS: dict[Hook, tuple[Step, ...]] = {
    # raw first so NOTRACK can skip conntrack; DNAT before routing so routing sees it
    Hook.PREROUTING: (Step.RAW, Step.CONNTRACK, Step.MANGLE, Step.NAT),
    # nat INPUT is NAT_SRC (100): after filter; confirm last for locally delivered packets
    Hook.INPUT: (Step.MANGLE, Step.FILTER, Step.NAT, Step.CONFIRM),
    # no conntrack or NAT work when forwarding: both ends are PREROUTING and POSTROUTING
    Hook.FORWARD: (Step.MANGLE, Step.FILTER),
    # locally generated: same slots as PREROUTING, then filter; the caller reroutes after DNAT
    Hook.OUTPUT: (Step.RAW, Step.CONNTRACK, Step.MANGLE, Step.NAT, Step.FILTER),
    # SNAT/MASQUERADE at NAT_SRC, then the entry is confirmed as the packet leaves
    Hook.POSTROUTING: (Step.MANGLE, Step.NAT, Step.CONFIRM),
}

# Which NAT manip a hook's nat slot performs (NF_NAT_MANIP_DST before routing, SRC after).
NAT_MANIP: dict[Hook, Manip] = {
    Hook.PREROUTING: Manip.DST,
    Hook.OUTPUT: Manip.DST,
    Hook.INPUT: Manip.SRC,
    Hook.POSTROUTING: Manip.SRC,
}

# Targets that can change the packet (their trace steps carry before/after).
REWRITING_TARGETS = frozenset({"DNAT", "SNAT", "MASQUERADE", "REDIRECT", "MARK", "CONNMARK", "TCPMSS"})



class _CompiledRule:
    """A rule ready to evaluate: its predicates, its action and its 1-based number in the chain."""

    __slots__ = ("rule", "number", "preds", "action", "text", "rewrites")

    def __init__(self, rule: Rule, number: int, table: str, chains: dict) -> None:
        self.rule = rule
        self.number = number
        self.text = rule.text
        self.preds = compile_matches(rule)
        self.action = compile_target(rule, table, chains)
        # only targets that may rewrite the packet pay for before/after descriptions in the trace
        self.rewrites = rule.target is not None and rule.target.name in REWRITING_TARGETS


class _CompiledTable:
    """A table's chains as compiled rule lists, plus the built-in chains' policies."""

    __slots__ = ("name", "chains", "policies", "runs")

    def __init__(self, table, use_index: bool = True) -> None:
        self.name = table.name
        declared = table.chains
        self.policies = {n: c.policy for n, c in declared.items() if c.policy is not None}
        self.chains: dict[str, list[_CompiledRule]] = {name: [] for name in declared}
        for rule in table.rules:
            rules = self.chains[rule.chain]
            rules.append(_CompiledRule(rule, len(rules) + 1, table.name, declared))
        # chain → per-position indexed run (index.py); only chains that have one
        self.runs: dict[str, list] = {}
        if use_index:
            for name, rules in self.chains.items():
                runs = build_runs([r.rule for r in rules])
                if any(run is not None for run in runs):
                    self.runs[name] = runs


class _Choices:
    """The statistic decisions of one explored branch: a forced prefix, then "no match" by default."""

    __slots__ = ("forced", "taken")

    def __init__(self, forced: tuple[bool, ...]) -> None:
        self.forced = forced
        self.taken: list[tuple[bool, float]] = []  # (matched, probability of matching)

    def decide(self, probability: float) -> bool:
        i = len(self.taken)
        matched = self.forced[i] if i < len(self.forced) else probability >= 1.0
        self.taken.append((matched, probability))
        return matched


class Branch:
    """One outcome of `NetfilterEngine.branches`: its probability, the decisions and the result."""

    __slots__ = ("probability", "decisions", "result")

    def __init__(self, probability: float, decisions: tuple[bool, ...], result: HookResult) -> None:
        self.probability = probability
        self.decisions = decisions
        self.result = result

    def __repr__(self) -> str:
        return f"<Branch p={self.probability:.6f} {self.result.verdict.value} {describe(self.result.packet)}>"


class NetfilterEngine:
    """A host's netfilter: runs its tables at each hook, tracks connections, applies NAT."""

    def __init__(
        self,
        ruleset: Ruleset | str | None = None,
        *,
        ruleset6: Ruleset | str | None = None,
        rng,
        clock: Callable[[], float],
        interface_addresses: InterfaceAddresses | None = None,
        conntrack: ConntrackTable | None = None,
        trace_misses: bool = False,
        compiled_index: bool = True,
        interface_mtu: Callable[[str], int | None] | Mapping[str, int] | None = None,
    ) -> None:
        self.rng = rng
        self.clock = clock
        self._iface = interface_addresses
        self._mtu = interface_mtu
        self.conntrack = conntrack if conntrack is not None else ConntrackTable(clock)
        self.trace_misses = trace_misses
        # KUBE-SERVICES-shaped runs are looked up by key; off when every miss must be traced
        self.compiled_index = compiled_index and not trace_misses
        # -m recent lists: name → {(version, masked address): [hit times]} (per host, like per netns)
        self.recent_lists: dict[str, dict[tuple, list[float]]] = {}
        self.branch_choices: _Choices | None = None  # set only while branches() explores
        # per-match state that lives in the kernel's match data: nth counters, limit buckets
        self.match_state: dict[object, object] = {}
        self._rulesets = {4: Ruleset((), family=4), 6: Ruleset((), family=6)}
        self._tables_by_family: dict[int, dict[str, _CompiledTable]] = {4: {}, 6: {}}
        if ruleset is not None:
            self.load(ruleset)
        if ruleset6 is not None:
            self.load(ruleset6, family=6)

    # --- configuration ------------------------------------------------------

    @property
    def ruleset(self) -> Ruleset:
        """The loaded IPv4 ruleset, normalized as iptables-save would print it."""
        return self._rulesets[4]

    @property
    def ruleset6(self) -> Ruleset:
        """The loaded IPv6 ruleset, normalized as ip6tables-save would print it."""
        return self._rulesets[6]

    def load(self, ruleset: Ruleset | str, source: str = "<string>", *, family: int | None = None) -> None:
        """Replace the tables named in `ruleset` (like iptables-restore; others stay); all or nothing.

        Text is parsed with `family` (4: iptables, 6: ip6tables, None: guess);
        IPv6 packets only see the IPv6 ruleset and IPv4 packets the IPv4 one.
        """
        if isinstance(ruleset, str):
            ruleset = parse_ruleset(ruleset, source, family)
        elif family is not None and family != ruleset.family:
            ruleset = Ruleset(ruleset.items, ruleset.source, family)
        family = ruleset.family
        normalized = ruleset.normalized()
        compiled = dict(self._tables_by_family[family])
        for name, table in normalized.tables.items():
            if name == "security":
                continue  # SELinux labelling: kept for printing, never evaluated
            compiled[name] = _CompiledTable(table, self.compiled_index)
        merged = {**self._rulesets[family].tables, **normalized.tables}
        self._tables_by_family[family] = compiled
        self._rulesets[family] = Ruleset(tuple(merged.values()), ruleset.source, family)

    def interface_addresses(self, name: str | None) -> tuple[IPAddress, ...]:
        """The addresses of an interface, primary first (empty when unknown)."""
        if name is None or self._iface is None:
            return ()
        if isinstance(self._iface, Mapping):
            found = self._iface.get(name, ())
        else:
            found = self._iface(name)
        if found is None:
            return ()
        if not isinstance(found, (list, tuple, set, frozenset)):
            try:
                return tuple(found)
            except TypeError:
                return (found,)
        return tuple(found)

    def interface_mtu(self, name: str) -> int | None:
        """An interface's MTU (TCPMSS --clamp-mss-to-pmtu), or None when not given."""
        if self._mtu is None:
            return None
        if isinstance(self._mtu, Mapping):
            return self._mtu.get(name)
        return self._mtu(name)

    def masquerade_address(self, iface: str | None, version: int) -> IPAddress | None:
        """The address MASQUERADE uses on `iface`: its first address of the packet's family."""
        for addr in self.interface_addresses(iface):
            if addr.version == version:
                return addr
        return None

    def conntrack_listing(self) -> str:
        """`conntrack -L` output for this host."""
        return self.conntrack.listing()

    def branches(self, hook: Hook, packet: Packet, *, in_iface: str | None, out_iface: str | None,
                 local_addresses: frozenset) -> list[Branch]:
        """Every outcome of `-m statistic --mode random` at this hook, each on a clone, with its probability.

        The "all branches" mode for exact expectations (which endpoints a
        Service can reach): the walk is repeated depth-first over the match /
        no-match choice of each random statistic rule reached. Each branch
        starts from the same state: `-m recent` lists, nth counters and limit
        buckets are put back after every branch, so exploring leaves them as
        they were. Conntrack is not: use it at PREROUTING/OUTPUT, where a new
        connection's entry is not yet confirmed.
        """
        out: list[Branch] = []
        saved_recent = {name: {k: list(v) for k, v in table.items()} for name, table in self.recent_lists.items()}
        saved_state = dict(self.match_state)
        pending: list[tuple[bool, ...]] = [()]
        while pending:
            forced = pending.pop()
            choices = _Choices(forced)
            clone = packet.clone()
            self.branch_choices = choices
            try:
                result = self.run_hook(hook, clone, in_iface=in_iface, out_iface=out_iface,
                                       local_addresses=local_addresses)
            finally:
                self.branch_choices = None
                self.recent_lists = {n: {k: list(v) for k, v in t.items()} for n, t in saved_recent.items()}
                self.match_state = dict(saved_state)
            probability = 1.0
            for matched, p in choices.taken:
                probability *= p if matched else 1 - p
            decisions = tuple(m for m, _ in choices.taken)
            # schedule the other side of every decision made freely on this branch
            for i in range(len(forced), len(choices.taken)):
                matched, p = choices.taken[i]
                other = not matched
                if (p if other else 1 - p) > 0:
                    pending.append(decisions[:i] + (other,))
            if probability > 0:
                out.append(Branch(probability, decisions, result))
        out.sort(key=lambda b: b.decisions)
        return out

    # --- the hook walk ------------------------------------------------------

    def run_hook(
        self,
        hook: Hook,
        packet: Packet,
        *,
        in_iface: str | None,
        out_iface: str | None,
        local_addresses: frozenset,
    ) -> HookResult:
        """Run conntrack, NAT and every table registered at `hook`, in kernel priority order."""
        trace: list[TraceStep] = []
        ctx = EvalContext(hook, "", in_iface, out_iface, local_addresses, self)
        tables = self._tables_by_family[packet.src.version]
        if hook is Hook.PREROUTING and in_iface != "lo":
            packet.ct, packet.ct_reply = None, False  # a new skb: nothing carries over from the sender
        for step in HOOK_STEPS[hook]:
            if step is Step.CONNTRACK:
                self._conntrack_in(hook, packet, in_iface, trace)
                continue
            if step is Step.CONFIRM:
                result = self._confirm(hook, packet, trace)
                if result is not None:
                    return HookResult(result[0], packet, None, tuple(trace), result[1])
                continue
            if step is Step.NAT:
                outcome = self._nat(hook, packet, ctx, trace, tables)
            else:
                table = tables.get(step.value)
                if table is None:
                    continue
                outcome = self._run_table(table, hook, packet, ctx, trace)
            verdict, reply, reason = outcome
            if verdict is not Verdict.ACCEPT:
                return HookResult(verdict, packet, reply, tuple(trace), reason)
        return HookResult(Verdict.ACCEPT, packet, None, tuple(trace), "")

    def _conntrack_in(self, hook: Hook, packet: Packet, in_iface: str | None, trace: list) -> None:
        """Attach the packet to its connection (nf_conntrack_in): lookup, RELATED, or a new entry."""
        if packet.ct is UNTRACKED:
            trace.append(TraceStep(hook.value, "", "", "conntrack", note="untracked (NOTRACK)"))
            return
        ct = packet.ct
        if isinstance(ct, ConntrackEntry) and ct.table is self.conntrack and (
                hook is Hook.OUTPUT or in_iface == "lo"):
            # loopback keeps its entry; REJECT's answers come with the refused packet's (nf_ct_attach)
            return
        packet.ct, packet.ct_reply = None, False
        now = self.clock()
        if is_icmp_error(packet):
            found = self.conntrack.lookup_tuple(invert(packet_tuple(packet.inner)))
            if found is None:
                trace.append(TraceStep(hook.value, "", "", "conntrack", note="INVALID: error for no known connection"))
                return
            packet.ct, packet.ct_reply = found[0], found[1]
            trace.append(TraceStep(hook.value, "", "", "conntrack", note=f"RELATED to entry {found[0].id}"))
            return
        found = self.conntrack.lookup(packet)
        if found is not None:
            entry, is_reply = found
            if not update_state(entry, packet, is_reply, now):
                trace.append(TraceStep(hook.value, "", "", "conntrack", note=f"INVALID for entry {entry.id}"))
                return
            packet.ct, packet.ct_reply = entry, is_reply
            state = "ESTABLISHED" if (is_reply or entry.seen_reply) else "NEW"
            trace.append(TraceStep(hook.value, "", "", "conntrack",
                                   note=f"{state} entry {entry.id} {'reply' if is_reply else 'original'}"))
            return
        if packet.proto == Proto.TCP:
            state = tcp_new_state(packet.tcp_flags)
            if state is None:
                trace.append(TraceStep(hook.value, "", "", "conntrack", note="INVALID: TCP packet cannot start a connection"))
                return
        elif packet.proto == Proto.ICMP and packet.icmp_type not in ICMP_NEW_TYPES:
            trace.append(TraceStep(hook.value, "", "", "conntrack", note="INVALID: ICMP type cannot start a connection"))
            return
        elif packet.proto == Proto.ICMPV6 and packet.icmp_type not in ICMPV6_NEW_TYPES:
            trace.append(TraceStep(hook.value, "", "", "conntrack", note="INVALID: ICMPv6 type cannot start a connection"))
            return
        else:
            state = None
        entry = self.conntrack.new_entry(packet)
        entry.tcp_state = state
        update_state(entry, packet, False, now)
        packet.ct, packet.ct_reply = entry, False
        trace.append(TraceStep(hook.value, "", "", "conntrack", note=f"NEW entry {entry.id}"))

    def _confirm(self, hook: Hook, packet: Packet, trace: list) -> tuple | None:
        """Insert a new entry as its first packet leaves (or is delivered); a clash drops it."""
        entry = packet.ct
        if not isinstance(entry, ConntrackEntry) or entry.confirmed or packet.ct_reply:
            return None  # only an original-direction packet confirms (nf_conntrack_confirm)
        if not self.conntrack.confirm(entry):
            reason = f"conntrack: entry {entry.id} clashes with an existing connection"
            trace.append(TraceStep(hook.value, "", "", "conntrack", verdict="DROP", note=reason))
            return (Verdict.DROP, reason)
        trace.append(TraceStep(hook.value, "", "", "conntrack", note=f"confirmed entry {entry.id}"))
        return None

    def _nat(self, hook: Hook, packet: Packet, ctx: EvalContext, trace: list, tables: dict) -> tuple:
        """The nat slot: rules on a connection's first packet, the stored binding on the rest."""
        entry = packet.ct
        if not isinstance(entry, ConntrackEntry):
            return (Verdict.ACCEPT, None, "")
        manip = NAT_MANIP[hook]
        done = entry.src_nat_done if manip is Manip.SRC else entry.dst_nat_done
        table = tables.get("nat")
        if not entry.confirmed and not done and not packet.ct_reply and not is_icmp_error(packet):
            if table is None:
                return (Verdict.ACCEPT, None, "")
            outcome = self._run_table(table, hook, packet, ctx, trace)
            if outcome[0] is Verdict.ACCEPT:
                done = entry.src_nat_done if manip is Manip.SRC else entry.dst_nat_done
                if not done:
                    # no rule chose a binding: the null binding, which still keeps the reply tuple unique
                    before = describe(packet)
                    if not bind(entry, self.conntrack, manip, None, self.rng):
                        return (Verdict.DROP, None, "nat: no free source port for the null binding")
                    if translate(packet, entry, False, manip):
                        trace.append(TraceStep(hook.value, "nat", "", "nat", before=before, after=describe(packet),
                                               note="source port clash resolved (null binding)"))
            return outcome
        before = describe(packet)
        if translate(packet, entry, packet.ct_reply, manip):
            trace.append(TraceStep(hook.value, "nat", "", "nat", before=before, after=describe(packet),
                                   note=f"conntrack entry {entry.id} {'reply' if packet.ct_reply else 'original'}"))
        return (Verdict.ACCEPT, None, "")

    def _run_table(self, table: _CompiledTable, hook: Hook, packet: Packet, ctx: EvalContext, trace: list) -> tuple:
        """Walk one table's built-in chain for `hook`, following jumps, to a verdict."""
        chains = table.chains
        builtin = hook.value
        if builtin not in chains:
            return (Verdict.ACCEPT, None, "")
        ctx.table = table.name
        hv, tn = hook.value, table.name
        stack: list[tuple[str, int]] = []
        chain, index = builtin, 0
        rules = chains[chain]
        all_runs = table.runs
        runs = all_runs.get(chain)
        while True:
            if index >= len(rules):
                if stack:
                    if self.trace_misses or chain != builtin:
                        trace.append(TraceStep(hv, tn, chain, "return"))
                    chain, index = stack.pop()
                    rules = chains[chain]
                    runs = all_runs.get(chain)
                    continue
                policy = table.policies[builtin]
                trace.append(TraceStep(hv, tn, builtin, "policy", verdict=policy))
                if policy == "DROP":
                    return (Verdict.DROP, None, f"{tn}/{builtin} policy DROP")
                return (Verdict.ACCEPT, None, "")
            if runs is not None:
                run = runs[index]
                if run is not None:
                    index = run.next_match(packet, index)
                    if index == run.end:
                        continue  # nothing in this run can match: resume after it
            crule = rules[index]
            index += 1
            try:
                matched = True
                for pred in crule.preds:
                    if not pred(packet, ctx):
                        matched = False
                        break
                if not matched:
                    if self.trace_misses:
                        trace.append(TraceStep(hv, tn, chain, "miss", crule.number, crule.text))
                    continue
                before = describe(packet) if crule.rewrites else ""
                if ctx.notes:
                    ctx.notes.clear()
                code, value = crule.action(packet, ctx)
            except Unsupported as exc:
                trace.append(TraceStep(hv, tn, chain, "rule", crule.number, crule.text,
                                       verdict="UNSUPPORTED", note=exc.reason))
                return (Verdict.UNSUPPORTED, None, exc.reason)
            after = describe(packet) if crule.rewrites else ""
            target = crule.rule.target.name if crule.rule.target else ""
            if code == CONTINUE:
                note = "; ".join(n[1] for n in ctx.notes if n[0] == "log")
                trace.append(TraceStep(hv, tn, chain, "rule", crule.number, crule.text, target,
                                       "CONTINUE", before, after, note))
            elif code == VERDICT:
                verdict, reply, reason = value
                note = f"reply {describe(reply)}" if reply is not None else ""
                trace.append(TraceStep(hv, tn, chain, "rule", crule.number, crule.text, target,
                                       verdict.value, before, after, note))
                return value
            elif code == RETURN:
                trace.append(TraceStep(hv, tn, chain, "rule", crule.number, crule.text, target, "RETURN"))
                if not stack:
                    policy = table.policies[builtin]
                    trace.append(TraceStep(hv, tn, builtin, "policy", verdict=policy))
                    if policy == "DROP":
                        return (Verdict.DROP, None, f"{tn}/{builtin} policy DROP")
                    return (Verdict.ACCEPT, None, "")
                chain, index = stack.pop()
                rules = chains[chain]
                runs = all_runs.get(chain)
            else:
                trace.append(TraceStep(hv, tn, chain, "rule", crule.number, crule.text, target,
                                       "JUMP" if code == JUMP else "GOTO"))
                if code == JUMP:
                    stack.append((chain, index))
                chain, index = value, 0
                rules = chains[chain]
                runs = all_runs.get(chain)
