"""Scenarios built from manifests: golden rulesets (what kube-proxy writes, what iptables-save prints
back), the kernel's agreement, and packets traced through the rules.

Each scenario is data/scenarios/<name>/manifests.yaml (+ kube-proxy.yaml) over the shared
topology and Node objects, loaded and settled by netsim itself (kp_manifests). Per node:
- `<node>.restore` golden: kube-proxy's iptables-restore input; `<node>.rules` golden: the
  iptables-save view (netsim.netfilter's normalizer), then kube-proxy's structure check;
- live (root): the real iptables-restore takes the text and iptables-save prints `.rules`;
- packet flows (STYLE.md 13): rows of (node, where the packet comes from, destination, port,
  protocol) and the exact set of outcomes, each an endpoint "ip:port" with whether the packet
  carries kube-proxy's masquerade mark, or DROP / REJECT. The "all branches" mode of
  NetfilterEngine collects every statistic choice, so sets are exact; a seeded Monte Carlo run
  checks the distribution.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

import numpy as np
import pytest

import kp_manifests
from kp_support import iptables_round_trip, live_skip_reason, tables_by_name
from netsim.kubeproxy import check_rule_jumps
from netsim.netfilter import Hook, NetfilterEngine, Verdict, parse_ruleset
from netsim.packet import Packet, Proto
from netsim.packet.record import TcpFlag

CASES = [(name, node) for name in kp_manifests.NAMES for node in kp_manifests.NODES]
IDS = [f"{name}-{node}" for name, node in CASES]
MASQ_BIT = 0x4000


def saved(text: str) -> str:
    return str(parse_ruleset(text).normalized())


@pytest.mark.parametrize("name, node", CASES, ids=IDS)
def test_golden(name, node, golden):
    built = kp_manifests.build(name)
    text = built.restore_text(node)
    golden(name, node, text, ".restore")
    golden(name, node, saved(text), ".rules")
    check_rule_jumps(text)
    check_rule_jumps(saved(text))


_LIVE = live_skip_reason("nft")


@pytest.mark.skipif(_LIVE is not None, reason=_LIVE or "")
@pytest.mark.parametrize("name, node", CASES, ids=IDS)
def test_kernel_saves_what_the_normalizer_prints(name, node):
    text = kp_manifests.build(name).restore_text(node)
    assert tables_by_name(iptables_round_trip(text, "nft")) == tables_by_name(saved(text))


def test_no_rules_for_externalname_and_headless():
    for node in kp_manifests.NODES:
        text = kp_manifests.build("externalname-headless").restore_text(node)
        assert "dns/" not in text
        base = kp_manifests.build("no-endpoints").restore_text(node)
        # only default/kubernetes remains: same chains as a cluster without the scenario's Services
        assert [l for l in text.splitlines() if l.startswith(":KUBE-S")] == \
               [l for l in base.splitlines() if l.startswith(":KUBE-S") and "void/" not in l]


# --- packet flows ------------------------------------------------------------------------------------

NODE_IP = {"node-a": "172.18.0.2", "node-b": "172.18.0.3"}
POD_GATEWAY = {"node-a": "10.244.0.1", "node-b": "10.244.1.1"}
EXTERNAL = "172.18.0.1"  # the node network's gateway: kind's docker host


@dataclass(frozen=True)
class Flow:
    """One row: a new connection arriving at (or leaving from) `node`.

    origin: "pod" (from a pod on this node, in on cni0), "external" (in on eth0), or "host"
    (a process on the node: the OUTPUT hook). expect: {(endpoint "ip:port", masquerade mark)}
    for delivered packets, or {("DROP", None)} / {("REJECT", None)}.
    """

    name: str
    node: str
    origin: str
    src: str
    dst: str
    dport: int
    expect: frozenset
    proto: int = Proto.TCP
    xfail: str = ""  # a known limitation elsewhere, stated precisely


def ok(*endpoints: str, masq: bool) -> frozenset:
    return frozenset((e, masq) for e in endpoints)


DROP = frozenset({("DROP", None)})
REJECT = frozenset({("REJECT", None)})

FLOWS: dict[str, list[Flow]] = {
    "clusterip-multiport": [
        Flow("pod to TCP port", "node-a", "pod", "10.244.0.50", "10.96.10.10", 80,
             ok("10.244.0.5:8080", "10.244.1.5:8080", "10.244.1.6:8080", masq=False)),
        Flow("outside to UDP port", "node-a", "external", EXTERNAL, "10.96.10.10", 53,
             ok("10.244.0.5:5353", "10.244.1.5:5353", "10.244.1.6:5353", masq=True), Proto.UDP),
        Flow("pod to SCTP port", "node-b", "pod", "10.244.1.50", "10.96.10.10", 2905,
             ok("10.244.0.5:2905", "10.244.1.5:2905", "10.244.1.6:2905", masq=False), Proto.SCTP),
        Flow("node itself", "node-a", "host", "172.18.0.2", "10.96.10.10", 80,
             ok("10.244.0.5:8080", "10.244.1.5:8080", "10.244.1.6:8080", masq=True)),
        Flow("hairpin: an endpoint to its own Service", "node-a", "pod", "10.244.0.5", "10.96.10.10", 80,
             ok("10.244.1.5:8080", "10.244.1.6:8080", masq=False) | ok("10.244.0.5:8080", masq=True)),
        Flow("port the Service does not have", "node-a", "pod", "10.244.0.50", "10.96.10.10", 81,
             ok("10.96.10.10:81", masq=False)),
    ],
    "nodeport": [
        Flow("outside to the NodePort", "node-a", "external", EXTERNAL, "172.18.0.2", 30080,
             ok("10.244.0.7:8080", "10.244.1.7:8080", masq=True)),
        Flow("localhost NodePort", "node-b", "host", "127.0.0.1", "127.0.0.1", 30080,
             ok("10.244.0.7:8080", "10.244.1.7:8080", masq=True)),
        Flow("pod to the ClusterIP", "node-b", "pod", "10.244.1.50", "10.96.20.20", 80,
             ok("10.244.0.7:8080", "10.244.1.7:8080", masq=False)),
    ],
    "loadbalancer-source-ranges": [
        Flow("allowed source to the LB IP", "node-a", "external", "203.0.113.5", "172.18.255.200", 443,
             ok("10.244.0.9:8443", "10.244.1.9:8443", masq=True)),
        Flow("other source to the LB IP", "node-a", "external", "198.51.100.7", "172.18.255.200", 443, DROP),
        Flow("other source to the NodePort (not subject to source ranges)", "node-b", "external", "198.51.100.7",
             "172.18.0.3", 30443, ok("10.244.0.9:8443", "10.244.1.9:8443", masq=True)),
    ],
    "external-ips": [
        Flow("outside to the external IP", "node-a", "external", EXTERNAL, "192.0.2.10", 8080,
             ok("10.244.1.11:80", masq=True)),
        Flow("pod to the external IP", "node-b", "pod", "10.244.1.50", "192.0.2.10", 8080,
             ok("10.244.1.11:80", masq=True)),
        Flow("external IP, other port", "node-a", "external", EXTERNAL, "192.0.2.10", 9999,
             ok("192.0.2.10:9999", masq=False)),
    ],
    "externalname-headless": [
        Flow("pod straight to a headless Service's pod", "node-b", "pod", "10.244.1.50", "10.244.0.12", 7946,
             ok("10.244.0.12:7946", masq=False)),
    ],
    "session-affinity": [
        Flow("first connection of a client", "node-a", "pod", "10.244.0.50", "10.96.50.50", 80,
             ok("10.244.0.13:8080", "10.244.1.13:8080", masq=False)),
        Flow("a client already pinned stays on its endpoint (after one connection)", "node-b", "pod",
             "10.244.1.50", "10.96.50.50", 80, frozenset({"pinned"})),
    ],
    "traffic-policy-local": [
        Flow("outside to the NodePort, local endpoints: source kept", "node-a", "external", EXTERNAL,
             "172.18.0.2", 30600, ok("10.244.0.14:8080", "10.244.0.15:8080", masq=False)),
        Flow("outside to the NodePort, no local endpoint", "node-b", "external", EXTERNAL, "172.18.0.3", 30600,
             DROP),
        Flow("pod to the NodePort on a node without endpoints", "node-b", "pod", "10.244.1.50", "172.18.0.3",
             30600, ok("10.244.0.14:8080", "10.244.0.15:8080", masq=False)),
        Flow("node itself to its NodePort", "node-b", "host", "172.18.0.3", "172.18.0.3", 30600,
             ok("10.244.0.14:8080", "10.244.0.15:8080", masq=True)),
        Flow("internalTrafficPolicy Local, local endpoint", "node-a", "pod", "10.244.0.50", "10.96.60.61", 9100,
             ok("10.244.0.16:9100", masq=False)),
        Flow("internalTrafficPolicy Local, no local endpoint", "node-b", "pod", "10.244.1.50", "10.96.60.61",
             9100, DROP),
        Flow("ClusterIP of the eTP Local Service uses every endpoint", "node-b", "pod", "10.244.1.50",
             "10.96.60.60", 80, ok("10.244.0.14:8080", "10.244.0.15:8080", masq=False)),
    ],
    "terminating-slices": [
        Flow("only serving-terminating endpoints: fallback", "node-a", "pod", "10.244.0.50", "10.96.70.70", 80,
             ok("10.244.0.20:8080", "10.244.1.20:8080", masq=False)),
        Flow("ready endpoints over two slices", "node-b", "pod", "10.244.1.50", "10.96.70.71", 80,
             ok("10.244.0.22:8080", "10.244.1.22:8080", masq=False)),
    ],
    "no-endpoints": [
        Flow("pod to the ClusterIP", "node-a", "pod", "10.244.0.50", "10.96.80.80", 80, REJECT),
        Flow("node itself to the ClusterIP", "node-a", "host", "172.18.0.2", "10.96.80.80", 80, REJECT),
        Flow("outside to the NodePort", "node-b", "external", EXTERNAL, "172.18.0.3", 30800, REJECT),
        Flow("outside to the external IP", "node-b", "external", EXTERNAL, "192.0.2.80", 80, REJECT),
    ],
    "nodeport-addresses-masq-all-nodecidr": [
        Flow("masqueradeAll: even pod traffic to the ClusterIP", "node-a", "pod", "10.244.0.50", "10.96.90.90", 80,
             ok("10.244.0.30:8080", "10.244.1.30:8080", masq=True)),
        Flow("NodePort on an address in nodePortAddresses", "node-a", "external", EXTERNAL, "172.18.0.2", 30900,
             ok("10.244.0.30:8080", "10.244.1.30:8080", masq=True)),
        Flow("NodePort on a node address outside nodePortAddresses", "node-a", "external", EXTERNAL,
             "10.244.0.1", 30900, ok("10.244.0.1:30900", masq=False)),
        Flow("no localhost NodePorts outside nodePortAddresses", "node-a", "host", "127.0.0.1", "127.0.0.1", 30900,
             ok("127.0.0.1:30900", masq=False)),
        Flow("NodeCIDR: this node's pod is pod traffic (eTP Local short-circuit)", "node-a", "pod", "10.244.0.50",
             "172.18.0.2", 30901, ok("10.244.1.31:8080", masq=False)),
        Flow("NodeCIDR: another node's pod is not (and there is no local endpoint)", "node-a", "external",
             "10.244.1.50", "172.18.0.2", 30901, DROP),
    ],
}

FLOW_CASES = [pytest.param(name, flow, id=f"{name}: {flow.name}",
                           marks=[pytest.mark.xfail(strict=True, reason=flow.xfail)] if flow.xfail else [])
              for name, flows in FLOWS.items() for flow in flows]


def engine_for(name: str, node: str, seed: int = 0) -> tuple[NetfilterEngine, frozenset]:
    text = kp_manifests.build(name).restore_text(node)
    ifaces = {"eth0": [IPv4Address(NODE_IP[node])], "cni0": [IPv4Address(POD_GATEWAY[node])],
              "lo": [IPv4Address("127.0.0.1")]}
    local = frozenset(ip_address(a) for a in (NODE_IP[node], POD_GATEWAY[node], "127.0.0.1"))
    return NetfilterEngine(text, rng=np.random.default_rng(seed), clock=lambda: 0.0, interface_addresses=ifaces), local


def new_packet(flow: Flow, sport: int = 40000) -> Packet:
    flags = int(TcpFlag.SYN) if flow.proto == Proto.TCP else 0
    return Packet(src=ip_address(flow.src), dst=ip_address(flow.dst), proto=flow.proto, sport=sport,
                  dport=flow.dport, tcp_flags=flags)


def outcomes(flow: Flow) -> tuple[frozenset, float]:
    """Every outcome of the flow's first packet through the node's hooks, and the total probability."""
    engine, local = engine_for(_scenario(flow), flow.node)
    origin = {"pod": "cni0", "external": "eth0", "host": None}[flow.origin]
    first, out_iface = Hook.PREROUTING, None
    if flow.origin == "host":
        first, out_iface = Hook.OUTPUT, "lo" if ip_address(flow.dst) in local else "eth0"
    out, total = set(), 0.0
    for branch in engine.branches(first, new_packet(flow), in_iface=origin, out_iface=out_iface,
                                  local_addresses=local):
        total += branch.probability
        result = branch.result
        packet = result.packet
        if result.verdict is Verdict.ACCEPT and first is Hook.PREROUTING:
            after = Hook.INPUT if packet.dst in local else Hook.FORWARD
            result = engine.run_hook(after, packet.clone(), in_iface=origin,
                                     out_iface=None if after is Hook.INPUT else "eth0", local_addresses=local)
        if result.verdict is Verdict.ACCEPT:
            out.add((f"{packet.dst}:{packet.dport}", bool(packet.mark & MASQ_BIT)))
        else:
            out.add((result.verdict.value, None))
    return frozenset(out), total


def _pinned(flow: Flow) -> None:
    """After one connection, every branch of the client's next connection goes to that endpoint."""
    engine, local = engine_for(_scenario(flow), flow.node, seed=3)
    first = engine.run_hook(Hook.PREROUTING, new_packet(flow, 41000), in_iface="cni0", out_iface=None,
                            local_addresses=local)
    chosen = f"{first.packet.dst}:{first.packet.dport}"
    branches = engine.branches(Hook.PREROUTING, new_packet(flow, 41001), in_iface="cni0", out_iface=None,
                               local_addresses=local)
    assert {f"{b.result.packet.dst}:{b.result.packet.dport}" for b in branches} == {chosen}


def _scenario(flow: Flow) -> str:
    return next(name for name, flows in FLOWS.items() if flow in flows)


@pytest.mark.parametrize("name, flow", FLOW_CASES)
def test_packet_flow(name, flow):
    if flow.expect == frozenset({"pinned"}):
        return _pinned(flow)
    got, total = outcomes(flow)
    assert got == flow.expect, f"{flow.name} on {flow.node}: got {sorted(got, key=str)}"
    assert math.isclose(total, 1.0, abs_tol=1e-9)


def test_every_scenario_has_flows():
    assert sorted(FLOWS) == sorted(kp_manifests.NAMES)


def test_all_branches_give_each_endpoint_an_even_share():
    flow = FLOWS["clusterip-multiport"][0]
    engine, local = engine_for("clusterip-multiport", "node-a")
    shares = Counter()
    for branch in engine.branches(Hook.PREROUTING, new_packet(flow), in_iface="cni0", out_iface=None,
                                  local_addresses=local):
        shares[f"{branch.result.packet.dst}"] += branch.probability
    assert len(shares) == 3 and all(abs(p - 1 / 3) < 1e-6 for p in shares.values())


def test_monte_carlo_30000_connections_within_4_sigma():
    flow = FLOWS["clusterip-multiport"][0]
    engine, local = engine_for("clusterip-multiport", "node-a", seed=4)
    n = 30_000
    counts = Counter()
    for i in range(n):
        packet = Packet(src=IPv4Address(int(IPv4Address("10.244.0.50")) + i % 150), dst=ip_address(flow.dst),
                        proto=Proto.TCP, sport=20000 + i, dport=80, tcp_flags=int(TcpFlag.SYN))
        result = engine.run_hook(Hook.PREROUTING, packet, in_iface="cni0", out_iface=None, local_addresses=local)
        assert result.verdict is Verdict.ACCEPT
        counts[str(result.packet.dst)] += 1
    p = 1 / 3
    sigma = math.sqrt(n * p * (1 - p))
    assert set(counts) == {"10.244.0.5", "10.244.1.5", "10.244.1.6"}
    for endpoint, count in counts.items():
        assert abs(count - n * p) <= 4 * sigma, f"{endpoint}: {count} of {n}"


def test_session_affinity_keeps_a_client_on_its_endpoint():
    flow = FLOWS["session-affinity"][0]
    engine, local = engine_for("session-affinity", "node-a", seed=1)
    seen: dict[str, set[str]] = {}
    for i in range(40):
        client = f"10.244.0.{50 + i % 8}"
        packet = Packet(src=ip_address(client), dst=ip_address(flow.dst), proto=Proto.TCP, sport=30000 + i,
                        dport=80, tcp_flags=int(TcpFlag.SYN))
        result = engine.run_hook(Hook.PREROUTING, packet, in_iface="cni0", out_iface=None, local_addresses=local)
        seen.setdefault(client, set()).add(str(result.packet.dst))
    assert all(len(endpoints) == 1 for endpoints in seen.values())
    assert set().union(*seen.values()) == {"10.244.0.13", "10.244.1.13"}


def test_masqueraded_packet_leaves_with_the_node_address():
    flow = FLOWS["nodeport"][0]
    engine, local = engine_for("nodeport", "node-a")
    packet = new_packet(flow)
    first = engine.run_hook(Hook.PREROUTING, packet, in_iface="eth0", out_iface=None, local_addresses=local)
    assert first.verdict is Verdict.ACCEPT and packet.mark & MASQ_BIT
    assert engine.run_hook(Hook.FORWARD, packet, in_iface="eth0", out_iface="cni0",
                           local_addresses=local).verdict is Verdict.ACCEPT
    out_iface = "cni0" if str(packet.dst).startswith("10.244.0.") else "eth0"
    last = engine.run_hook(Hook.POSTROUTING, packet, in_iface="eth0", out_iface=out_iface, local_addresses=local)
    assert last.verdict is Verdict.ACCEPT
    assert str(packet.src) == (POD_GATEWAY["node-a"] if out_iface == "cni0" else NODE_IP["node-a"])
    assert not packet.mark & MASQ_BIT  # KUBE-POSTROUTING clears the bit before MASQUERADE


# --- re-rendering: nothing is cached -------------------------------------------------------------------


def test_rules_follow_the_store():
    built = kp_manifests.build.__wrapped__("nodeport")  # a private copy: this test changes the store
    before = built.restore_text("node-a")
    store = built.cluster.store
    slice_ = store.get("EndpointSlice", "front-x1", "web")
    store.update(slice_.evolve(lambda d: d.__setitem__("endpoints", d["endpoints"][:1])))
    after = built.restore_text("node-a")
    assert "10.244.1.7:8080" in before and "10.244.1.7:8080" not in after
    store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "extra", "namespace": "web"},
                  "spec": {"clusterIP": "10.96.20.21", "ports": [{"port": 81}]}})
    assert '"web/extra has no endpoints"' in built.restore_text("node-a")


def test_emulator_rebuild_loads_the_new_rules():
    from netsim.emulator.emulator import Emulator

    built = kp_manifests.build.__wrapped__("nodeport")
    emulator = Emulator(built.cluster)

    def nat_text(node: str) -> str:
        return str(emulator.network.host(node).netfilter.ruleset)

    assert "10.244.1.7:8080" in nat_text("node-a")
    store = built.cluster.store
    slice_ = store.get("EndpointSlice", "front-x1", "web")
    store.update(slice_.evolve(lambda d: d.__setitem__("endpoints", d["endpoints"][:1])))
    assert "10.244.1.7:8080" in nat_text("node-a")  # the dataplane keeps its rules until kube-proxy syncs
    emulator.rebuild()
    assert "10.244.1.7:8080" not in nat_text("node-a") and "10.244.0.7:8080" in nat_text("node-a")
