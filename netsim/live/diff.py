"""`netsim live diff`: one scenario run in the emulator and in the kernel, compared flow by flow.

The scenario runs exactly as `netsim run` runs it: `netsim.verify.runner`
builds the cluster and performs every step on the emulator (changes go
through the store, the controllers settle, the network is rebuilt). After
each send step the same connections (same sender namespace, source address
and port, destination, protocol, payload), in the same order, are opened in
the live world, captured in every host namespace, and both views compared
(compare.py). After a change step the live world is built anew from the
rebuilt network, as the emulator's rebuild starts with empty conntrack and
ARP tables.

Random choices. `PROBE_WORLDS` more emulators of the same cluster, each
with its nodes' netfilter generators reseeded (so the `statistic` match
draws differently; the main emulator, and so `netsim run`'s output, is
untouched), each send `PROBES` connections of the flow:
- every probe reaches one endpoint: the flow is *fixed*, compared exactly;
- some world reaches several: the flow is *random*; each kernel connection
  is compared against an emulator connection that reached the same
  endpoint, and `samples` more connections on each side give the sets of
  endpoints reached and a chi-square homogeneity test (a difference when
  p < ALPHA);
- each world sticks to one endpoint, not the same one in every world: the
  flow is *sticky* (sessionAffinity: the first choice is random, the
  others follow it); connections are compared as for random flows, and the
  kernel's connections must all reach one endpoint, one the emulator's
  worlds reach.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from netsim.api.errors import FieldError
from netsim.api.topology import CNI, load_topology
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Connection, Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.emulator.wiring import build_network, node_ruleset
from netsim.live import client
from netsim.live.compare import View, differences, emulator_view, homogeneity, hop_count, kernel_view, point_count
from netsim.live.session import LiveSession
from netsim.verify.runner import build_emulator, run_steps
from netsim.verify.scenario import load_scenario

PROBE_WORLDS = 12  # two equally likely endpoints look fixed in all 12 worlds with probability 2 / 2**12
PROBES = 3  # per world: two equally likely endpoints look alike in all 12 worlds with probability 4**-12
ALPHA = 1e-4  # false alarms at most once in 10,000 random flows; a wrong probability shows far below
GRACE_NS = 50_000_000  # frames stamped this long after a connection closed still belong to it


@dataclass(frozen=True, slots=True)
class Difference:
    """One disagreement: the flow, the connection, the part, and both sides' view."""

    flow: str
    connection: int  # 1-based; 0 for the flow as a whole (its distribution)
    what: str
    emulator: str
    kernel: str

    def format(self) -> str:
        """Three lines: where, then each side."""
        where = f"{self.flow} #{self.connection}" if self.connection else f"{self.flow} (all connections)"
        return f"{where}: {self.what}\n    emulator: {self.emulator}\n    kernel:   {self.kernel}"


@dataclass
class FlowReport:
    """What was compared for one flow."""

    name: str
    kind: str = "fixed"  # fixed, random or sticky (module docstring)
    connections: int = 0
    hops: int = 0
    points: int = 0
    distribution: str = ""
    kernel_status: Counter = field(default_factory=Counter)

    @property
    def statistical(self) -> bool:
        """True when the flow's endpoint is a random choice."""
        return self.kind != "fixed"


@dataclass
class DiffReport:
    """A scenario's differential run: per flow what was compared, and every difference."""

    scenario: str
    topology: str
    seed: int
    flows: list[FlowReport] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def connections(self) -> int:
        """Connections compared one by one."""
        return sum(f.connections for f in self.flows)

    @property
    def hops(self) -> int:
        """Hops compared (opening packet and answer, both sides' longer list)."""
        return sum(f.hops for f in self.flows)

    @property
    def points(self) -> int:
        """Capture points compared (opening packet and answer, both sides' longer list)."""
        return sum(f.points for f in self.flows)

    def format(self) -> str:
        """The report as `netsim live diff` prints it."""
        lines = [f"scenario {self.scenario}: topology {self.topology}, seed {self.seed}"]
        for flow in self.flows:
            extra = f"; {flow.distribution}" if flow.distribution else ""
            status = ", ".join(f"{k} x{n}" for k, n in sorted(flow.kernel_status.items()))
            lines.append(f"  {flow.name} ({flow.kind}): {flow.connections} connection(s), {flow.hops} hop(s), "
                         f"{flow.points} capture point(s) compared (kernel sockets: {status}){extra}")
        lines.append(f"compared {len(self.flows)} flow(s), {self.connections} connection(s), {self.hops} hop(s), "
                     f"{self.points} capture point(s): "
                     + ("full agreement" if not self.differences else f"{len(self.differences)} difference(s)"))
        lines += [d.format() for d in self.differences]
        return "\n".join(lines) + "\n"


def rulesets(cluster: Cluster) -> dict[str, str]:
    """Each node's iptables-save text, as the emulator loads it (kube-proxy's rules and portmap's)."""
    nodes = sorted(cluster.store.list("Node"), key=lambda n: n.name)
    return {n.name: node_ruleset(cluster, n) for n in nodes}  # type: ignore[arg-type]


def scenario_emulator(folder: str | Path, *, topology: str | Path | None = None, seed: int | None = None,
                      cni: str | None = None):
    """(scenario, topology, seed, emulator) of a scenario, built as `netsim run` builds it; `cni` overrides."""
    scenario = load_scenario(folder)
    topology_path = topology or scenario.topology
    if topology_path is None:
        raise FieldError(f"{folder}: the scenario names no topology; give one (--topology FILE)", "spec.topology")
    topo = load_topology(topology_path)
    if cni is not None:
        topo = replace(topo, cni=CNI(cni))
    seed = seed if seed is not None else (scenario.seed or 0)
    return scenario, topo, seed, build_emulator(scenario, topo, seed)


def _probe_worlds(cluster: Cluster, seed: int) -> list[Emulator]:
    """PROBE_WORLDS emulators of `cluster` whose netfilter draws differ from the main one's and each other's."""
    worlds = []
    for index in range(PROBE_WORLDS):
        world = Emulator(cluster)
        for name in sorted(world.network.hosts):
            engine = world.network.hosts[name].netfilter
            if engine is not None and hasattr(engine, "rng"):
                engine.rng = np.random.default_rng([seed, index, 0x11FE])
        worlds.append(world)
    return worlds


def diff_scenario(folder: str | Path, *, topology: str | Path | None = None, seed: int | None = None,
                  samples: int = 200, cni: str | None = None) -> DiffReport:
    """Run the scenario in both worlds and compare (module docstring)."""
    scenario, topo, seed, emulator = scenario_emulator(folder, topology=topology, seed=seed, cni=cni)
    report = DiffReport(scenario.name, f"{topo.name} ({topo.cni.value})", seed)
    probes: list[Emulator] | None = None
    live: LiveSession | None = None
    try:
        for step in run_steps(scenario, emulator, show=0):
            if step.action != "send":
                if live is not None:
                    live.close()
                live, probes = None, None
                continue
            if live is None:
                live = LiveSession(build_network(emulator.cluster), rulesets(emulator.cluster), scenario.name)
                live.__enter__()
                probes = _probe_worlds(emulator.cluster, seed)
            assert step.flow is not None and probes is not None
            connections = [o.connection for o in step.observations]
            _compare_flow(live, probes, step.flow, step.field or step.name, connections, samples, report)
    finally:
        if live is not None:
            live.close()
    return report


def _kernel_connect(live: LiveSession, conn: Connection, flow: FlowSpec, sport: int | None = None):
    """Open one connection in the kernel like `conn`; returns (View, socket status)."""
    sport = conn.sport if sport is None else sport
    live.used_ports.add((conn.sender.host, sport))
    world = live.world
    assert world is not None
    before = len(live.apps.arrivals)
    kc = client.connect(world.ns(conn.sender.host), conn.sender.address, sport, conn.target.address,
                        conn.target.port, flow.protocol, flow.payload)
    live.settle(before if kc.status == "connected" else None)
    frames = live.capture.between(kc.start_ns, kc.end_ns + GRACE_NS)
    arrivals = live.apps.arrivals[before:]
    ports = {(h.name, i.name): i.master for h in world.network.hosts.values() for i in h.interfaces.values()
             if i.master is not None}
    return kernel_view(frames, arrivals, conn.sender.host, str(conn.sender.address), flow.protocol,
                       sport, ports), kc.status


def _classify(worlds: list[list[Connection]]) -> str:
    """fixed, random or sticky, from each probe world's connections (module docstring)."""
    per_world = [{emulator_view(c.result, c.sport).endpoint for c in conns} for conns in worlds]
    if any(len(seen) > 1 for seen in per_world):
        return "random"
    return "sticky" if len(set().union(*per_world)) > 1 else "fixed"


def _compare_flow(live: LiveSession, probes: list[Emulator], flow: FlowSpec, field_name: str,
                  connections: list[Connection], samples: int, report: DiffReport) -> None:
    worlds = [p.send(replace(flow, count=PROBES), field_name) for p in probes]
    result = FlowReport(flow.name, kind=_classify(worlds))
    references: dict[str | None, View] = {}
    for conn in [*connections, *(c for w in worlds for c in w)]:
        view = emulator_view(conn.result, conn.sport)
        references.setdefault(view.endpoint, view)
    reached: Counter = Counter()
    for number, conn in enumerate(connections, start=1):
        mine = emulator_view(conn.result, conn.sport)
        theirs, status = _kernel_connect(live, conn, flow)
        result.kernel_status[status] += 1
        reached[theirs.endpoint] += 1
        if result.statistical and theirs.endpoint != mine.endpoint and theirs.endpoint in references:
            mine = references[theirs.endpoint]  # the same choice, made on the emulator's side
        result.connections += 1
        result.hops += max(hop_count(mine), hop_count(theirs))
        result.points += max(point_count(mine), point_count(theirs))
        for what, a, b in differences(mine, theirs):
            report.differences.append(Difference(flow.name, number, what, a, b))
    if result.kind == "random":
        _compare_distribution(live, probes[0], flow, field_name, samples, result, report)
    elif result.kind == "sticky" and len(reached) > 1:
        report.differences.append(Difference(flow.name, 0, "affinity: every connection of the client reaches one "
                                             "endpoint", "one endpoint per client, as in every probe world",
                                             _shown(reached)))
    report.flows.append(result)


def _shown(counts: Counter) -> str:
    return ", ".join(f"{k} x{n}" for k, n in sorted(counts.items(), key=lambda kv: str(kv[0])))


def _compare_distribution(live: LiveSession, probe: Emulator, flow: FlowSpec, field_name: str, samples: int,
                          result: FlowReport, report: DiffReport) -> None:
    ours = probe.send(replace(flow, count=samples), field_name)
    emulated = Counter(emulator_view(c.result, c.sport).endpoint for c in ours)
    kernel: Counter = Counter()
    used = live.used_ports
    for conn in ours:
        sport = conn.sport
        while (conn.sender.host, sport) in used:  # a probe's draws may repeat ports the kernel used already
            sport = 32768 + (sport - 32768 + 1) % (60999 - 32768 + 1)
        view, _ = _kernel_connect(live, conn, flow, sport)
        kernel[view.endpoint] += 1
    stat, df, p = homogeneity(emulated, kernel)
    result.distribution = (f"{samples} more each: emulator {_shown(emulated)}; kernel {_shown(kernel)}; "
                           f"chi-square {stat:.2f} (df {df}), p = {p:.3f}")
    if set(emulated) != set(kernel):
        report.differences.append(Difference(flow.name, 0, "set of endpoints reached", _shown(emulated),
                                             _shown(kernel)))
    elif p < ALPHA:
        report.differences.append(Difference(flow.name, 0, f"distribution over endpoints (chi-square {stat:.2f}, "
                                                           f"df {df}, p = {p:.2g} < {ALPHA})",
                                             _shown(emulated), _shown(kernel)))
