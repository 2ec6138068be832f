"""Packet paths through the whole emulator, one row per path, in each CNI mode; the pcaps (read by tshark) agree.

tests/scenarios/data/paths/ pins every pod to a node and gives every path a
Service with exactly one endpoint, so each row states the exact hop list and,
per hop, the addresses the opening packet carried when it left that host (or,
on the last host, when it arrived). Symbols stand for the addresses the
cluster hands out: a pod name is its IP, `svc:NAME` a ClusterIP, `node:NAME`
a node's InternalIP, `gw:NODE` the pods' gateway on that node (cni0, or every
ptp veth), `masq:NODE` the address MASQUERADE picks on the node toward
another node (eth0's, or flannel.1's 10.244.N.0 in vxlan mode), `lb:NAME`
a load-balancer address, `external` the outside client; `:PORT` follows a
destination.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path

import pytest

from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.capture.points import CaptureSet
from netsim.dataplane.trace import Outcome, WalkResult
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Connection, Emulator
from netsim.packet import Proto, TcpFlag
from netsim.verify.scenario import load_scenario
from netsim.verify.summary import hops, packet_path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/scenarios/data/paths"
TOPOLOGIES = {"bridge": "three-node.yaml", "vxlan": "three-node-vxlan.yaml", "ptp": "three-node-ptp.yaml"}
HAVE_TSHARK = shutil.which("tshark") is not None
W1, W2 = "kind-worker", "kind-worker2"


@dataclass(frozen=True)
class Row:
    """One path: the flow's name in scenario.yaml, its hops, how it ends, and what the sender gets back."""

    flow: str
    hops: tuple[tuple[str, str, str], ...]  # (host, source, destination:port) per hop
    outcome: Outcome = Outcome.DELIVERED
    reply: str | None = "target"  # "target": the answer comes from the address sent to; else a symbol:port
    reply_kind: str = "SYN-ACK"


ROWS = (
    Row("pod to ClusterIP on the same node", (
        ("default/client", "client", "svc:near:80"),
        (W1, "client", "web-a:8080"),
        ("default/web-a", "client", "web-a:8080"))),
    Row("pod to ClusterIP on another node", (
        ("default/client", "client", "svc:far:80"),
        (W1, "client", "web-b:8080"),
        (W2, "client", "web-b:8080"),
        ("default/web-b", "client", "web-b:8080"))),
    Row("pod to pod IP", (
        ("default/client", "client", "web-b:8080"),
        (W1, "client", "web-b:8080"),
        (W2, "client", "web-b:8080"),
        ("default/web-b", "client", "web-b:8080"))),
    Row("pod to headless Service's pod", (
        ("default/client", "client", "web-b:8080"),
        (W1, "client", "web-b:8080"),
        (W2, "client", "web-b:8080"),
        ("default/web-b", "client", "web-b:8080"))),
    Row("external to NodePort (Cluster)", (      # SNAT to the node: the backend sees the node, not the client
        ("external", "external", f"node:{W1}:30080"),
        (W1, f"masq:{W1}", "web-b:8080"),
        (W2, f"masq:{W1}", "web-b:8080"),
        ("default/web-b", f"masq:{W1}", "web-b:8080"))),
    Row("external to NodePort (Local) on the endpoint's node", (   # the client's address is kept
        ("external", "external", f"node:{W2}:30081"),
        (W2, "external", "web-b:8080"),
        ("default/web-b", "external", "web-b:8080"))),
    Row("external to NodePort (Local) elsewhere", (   # no local endpoint: dropped, never sent on to web-b
        ("external", "external", f"node:{W1}:30081"),
        (W1, "external", f"node:{W1}:30081")), outcome=Outcome.DROPPED, reply=None),
    Row("external to LoadBalancer", (
        ("external", "external", "lb:lb:80"),
        (W2, f"gw:{W2}", "web-b:8080"),
        ("default/web-b", f"gw:{W2}", "web-b:8080"))),
    Row("external to LoadBalancer (Local)", (     # announced by the endpoint's node; the client's address kept
        ("external", "external", "lb:lb-local:80"),
        (W2, "external", "web-b:8080"),
        ("default/web-b", "external", "web-b:8080"))),
    Row("pod to hostPort", (
        ("default/client", "client", f"node:{W2}:8081"),
        (W1, "client", f"node:{W2}:8081"),
        (W2, "client", "hostport:80"),
        ("default/hostport", "client", "hostport:80"))),
    Row("hairpin", (                                 # back to itself, masqueraded to the gateway
        ("default/web-a", "web-a", "svc:near:80"),
        (W1, f"gw:{W1}", "web-a:8080"),
        ("default/web-a", f"gw:{W1}", "web-a:8080"))),
    Row("hostPort hairpin", (                        # portmap's SETMARK rule: masqueraded to the gateway
        ("default/hostport", "hostport", f"node:{W2}:8081"),
        (W2, f"gw:{W2}", "hostport:80"),
        ("default/hostport", f"gw:{W2}", "hostport:80"))),
    Row("no listener", (
        ("default/client", "client", "web-a:9999"),
        (W1, "client", "web-a:9999"),
        ("default/web-a", "client", "web-a:9999")), outcome=Outcome.NO_LISTENER, reply_kind="RST"),
    Row("no route", (                                # the docker host has no route beyond the node network
        (W1, f"node:{W1}", "192.0.2.10:80"),
        ("external", f"node:{W1}", "192.0.2.10:80")), outcome=Outcome.UNREACHABLE, reply="external:0",
        reply_kind="ICMP 3/0"),
)


@dataclass
class Run:
    """One mode's run of every flow of the scenario, with its pcaps."""

    mode: str
    cluster: Cluster
    connections: dict[str, Connection]
    pcaps: dict[str, Path]
    tshark: dict[str, list[dict[str, list[str]]]] = field(default_factory=dict)

    def resolve(self, symbol: str) -> tuple[str, int | None]:
        """(address, port or None) of a symbol (module docstring)."""
        store = self.cluster.store
        parts = symbol.split(":")
        port = int(parts[-1]) if parts[-1].isdigit() and len(parts) > 1 else None
        if port is not None:
            parts = parts[:-1]
        kind, name = (parts[0], parts[1]) if len(parts) > 1 else ("pod", parts[0])
        if kind == "pod" and name[0].isdigit():
            return name, port
        if kind == "pod" and name == "external":
            return str(self.cluster.topology.node_gateway), port
        node = store.try_get("Node", name) if kind in ("node", "gw", "masq") else None
        address = {
            "pod": lambda: store.get("Pod", name, "default").pod_ip,
            "svc": lambda: store.get("Service", name, "default").cluster_ip,
            "lb": lambda: store.get("Service", name, "default").load_balancer_ips[0],
            "node": lambda: node.internal_ip,
            "gw": lambda: str(ip_network(node.pod_cidrs[0]).network_address + 1),
            "masq": lambda: (str(ip_network(node.pod_cidrs[0]).network_address) if self.mode == "vxlan"
                             else node.internal_ip),
        }[kind]()
        return address, port


def _run(mode: str, pcap_dir: Path) -> Run:
    scenario = load_scenario(DATA)
    topology = load_topology(ROOT / "topologies" / TOPOLOGIES[mode])
    cluster = Cluster.build(topology, load_paths([DATA]), seed=0)
    emulator = Emulator(cluster, CaptureSet(pcap_dir))
    connections = {}
    try:
        for flow in scenario.traffic:
            if flow.name == "pod to headless Service's pod":  # no DNS yet: by the endpoint's address
                slices = [s for s in cluster.store.list("EndpointSlice") if s.service_name == "headless"]
                address = slices[0].endpoints[0].addresses[0]
                port = slices[0].ports[0].port
                flow = type(flow)(flow.name, flow.source, f"{address}:{port}")
            connections[flow.name] = emulator.send(flow)[0]
    finally:
        emulator.close()
    return Run(mode, cluster, connections, emulator.capture.paths())


@pytest.fixture(scope="module", params=sorted(TOPOLOGIES))
def run(request, tmp_path_factory) -> Run:
    result = _run(request.param, tmp_path_factory.mktemp(f"pcaps-{request.param}"))
    if HAVE_TSHARK:
        for host, path in result.pcaps.items():
            result.tshark[host] = _tshark_rows(path)
    return result


def observed_hops(result: WalkResult) -> list[tuple[str, str, str, int]]:
    """(host, src, dst, dport) per visit of the opening packet (netsim.verify.summary.hops)."""
    return [(h.host, h.src, h.dst, h.dport) for h in hops(result, 0)]


def expected_hops(run: Run, row: Row) -> list[tuple[str, str, str, int]]:
    out = []
    for host, src, dst in row.hops:
        dst_ip, port = run.resolve(dst)
        out.append((host, run.resolve(src)[0], dst_ip, port))
    return out


@pytest.mark.parametrize("row", ROWS, ids=[r.flow for r in ROWS])
def test_hops_and_addresses(run: Run, row: Row) -> None:
    conn = run.connections[row.flow]
    path = packet_path(conn.result, 0)
    assert path.outcome is row.outcome, conn.result.format()
    assert observed_hops(conn.result) == expected_hops(run, row), conn.result.format()
    assert [h for h, *_ in expected_hops(run, row)] == list(path.hosts), path.hosts


@pytest.mark.parametrize("row", ROWS, ids=[r.flow for r in ROWS])
def test_answer_reaches_the_sender(run: Run, row: Row) -> None:
    conn = run.connections[row.flow]
    if row.reply is None:
        assert not conn.result.received
        return
    assert conn.result.received, conn.result.format()
    back = conn.result.received[0]
    if row.reply == "target":
        assert (back.src, back.sport, back.dst, back.dport) == (conn.target.address, conn.target.port,
                                                               conn.sender.address, conn.sport)
    else:
        address, _ = run.resolve(row.reply)
        assert str(back.src) == address and back.dst == conn.sender.address
    kind = {"SYN-ACK": (Proto.TCP, TcpFlag.SYN | TcpFlag.ACK), "RST": (Proto.TCP, TcpFlag.RST | TcpFlag.ACK)}
    if row.reply_kind in kind:
        proto, flags = kind[row.reply_kind]
        assert back.proto == proto and back.tcp_flags == flags
    else:
        assert back.proto == Proto.ICMP and (back.icmp_type, back.icmp_code) == (3, 0)


def test_nodeport_local_reaches_no_endpoint_through_a_node_without_one(run: Run) -> None:
    conn = run.connections["external to NodePort (Local) elsewhere"]
    hosts = {s.host for s in conn.result.steps}
    assert "default/web-b" not in hosts and W2 not in hosts


# --- the same, read back from the pcaps by tshark -------------------------------------------------------

TSHARK_FIELDS = ("frame.interface_name", "ip.src", "ip.dst", "tcp.dstport", "tcp.flags", "udp.dstport",
                 "vxlan.vni")


def _tshark_rows(path: Path) -> list[dict[str, list[str]]]:
    """Every frame of a pcap as {field: values} (values of nested headers, e.g. VXLAN's inner IP, in order)."""
    command = ["tshark", "-r", str(path), "-d", "udp.port==8472,vxlan", "-T", "fields", "-E", "occurrence=a",
               "-E", "aggregator=,"]
    for name in TSHARK_FIELDS:
        command += ["-e", name]
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stdout.splitlines():
        values = line.split("\t")
        rows.append({name: [v for v in value.split(",") if v] for name, value in zip(TSHARK_FIELDS, values)})
    return rows


@pytest.mark.skipif(not HAVE_TSHARK, reason="tshark is not installed (.ci/run installs it)")
@pytest.mark.parametrize("row", ROWS, ids=[r.flow for r in ROWS])
def test_tshark_finds_each_hop_in_the_pcaps(run: Run, row: Row) -> None:
    for host, src, dst, port in expected_hops(run, row):
        frames = run.tshark[host]
        found = [f for f in frames if src in f["ip.src"] and dst in f["ip.dst"] and str(port) in f["tcp.dstport"]
                 and f["tcp.flags"] and f["tcp.flags"][-1] == "0x0002"]
        assert found, f"{host}: no SYN {src} > {dst}:{port} in {run.pcaps[host].name}"


# (flow, whether it rides the overlay in vxlan mode): a node's InternalIP is on the node network, so
# the hostPort SYN goes out plain even in vxlan mode; pod-network destinations go through flannel.1.
CROSS_NODE = (("pod to ClusterIP on another node", True), ("pod to pod IP", True),
              ("external to NodePort (Cluster)", True), ("pod to hostPort", False))


@pytest.mark.skipif(not HAVE_TSHARK, reason="tshark is not installed (.ci/run installs it)")
@pytest.mark.parametrize("flow,overlay", CROSS_NODE, ids=[f for f, _ in CROSS_NODE])
def test_node_to_node_frames_are_vxlan_only_in_vxlan_mode(run: Run, flow: str, overlay: bool) -> None:
    row = next(r for r in ROWS if r.flow == flow)
    hop = next(h for h in expected_hops(run, row) if h[0] == W1)
    _, src, dst, port = hop
    on_wire = [f for f in run.tshark[W1] if f["frame.interface_name"] == [f"{W1}/eth0"]
               and src in f["ip.src"] and str(port) in f["tcp.dstport"] and f["tcp.flags"][-1:] == ["0x0002"]]
    assert on_wire, f"the SYN toward {dst}:{port} does not leave {W1}'s eth0"
    node_ips = [run.resolve(f"node:{W1}")[0], run.resolve(f"node:{W2}")[0]]
    for frame in on_wire:
        if run.mode == "vxlan" and overlay:
            assert frame["udp.dstport"] == ["8472"] and frame["vxlan.vni"] == ["1"]
            assert frame["ip.src"][0] == node_ips[0] and frame["ip.dst"][0] == node_ips[1]
            assert frame["ip.src"][1] == src  # the inner packet, as it left the pod network
        else:
            assert not frame["udp.dstport"] and frame["ip.src"] == [src]


@pytest.mark.parametrize("mode", sorted(TOPOLOGIES))
def test_same_seed_writes_the_same_pcap_bytes(tmp_path: Path, mode: str) -> None:
    outputs = []
    for name in ("a", "b"):
        run = _run(mode, tmp_path / name)
        outputs.append({p.name: p.read_bytes() for p in sorted(run.pcaps.values())})
    assert outputs[0] == outputs[1]
    # one file per host that saw a frame: the scenario's 8, plus, where pods hang off the cni0 bridge, the
    # CoreDNS pod on kind-worker2 (kubeadm's add-on), whose port gets the ARP requests cni0 floods
    assert len(outputs[0]) == (8 if mode == "ptp" else 9)
