"""The cluster's network: one host per Node, per Pod and for the outside client, wired as the topology's CNI mode says.

Names, written once here:
- a Node's host is named after the Node; its NIC `eth0` holds the node's
  InternalIP (prefix from the topology's node network) on the L2 segment
  `nodes` that joins every node and the outside client — or, with
  `netsim.nodeNetworkPerZone`, a zoned node's on `nodes-<zone>`, joined to
  the others by the `external` host as a router; its default route goes to
  the node network's gateway, which is the `external` host (external.py);
- per CNI mode (cni.py has what each device and route is, and whose code it
  follows): `cni0` the bridge of the `bridge` and `vxlan` modes, holding the
  first address of the node's podCIDR (the pods' gateway); `flannel.1` the
  vxlan device of the `vxlan` mode; `ptp` has no node device of its own;
- a Pod's host is named `<namespace>/<pod>`; its `eth0` is one end of a veth
  pair whose node end is `veth` + the first 8 hex digits of SHA-256 of the
  pod's `<namespace>/<pod>` (the plugins draw random ones; these are
  stable): a cni0 port in `bridge`/`vxlan`, a routed link in `ptp`;
- hostNetwork pods share their node's host;
- MACs are the dataplane's (`mac_address(host, iface)`);
- a node whose machine is down (`netsim node fail`, `Cluster.fail_node`)
  keeps its host, pods and routes, but its eth0 is plugged into no
  segment: like a powered-off machine it answers nothing, so a packet to
  it or to one of its pods ends in `no ARP answer` (EHOSTUNREACH), the
  next hop's neighbour entry failing as the kernel's does. The other
  nodes keep their routes to its podCIDR, as kindnetd and flannel do
  until the Node object is deleted;
- a deleted Node (`netsim delete node`) has no host at all: no address on
  the node segment (a packet to it ends in `no ARP answer`), no route to
  its podCIDR anywhere (`no route`), and its pods, still in the API until
  the pod garbage collector removes them (controllers/podgc.py), are not
  wired.

Each node's netfilter runs the ruleset kube-proxy renders for it, plus the
CNI portmap plugin's hostPort chains (portmap.py), plus the NetworkPolicy
chains a kube-router-style policy controller writes (netsim/netpol/rules.py);
pods have no rules.
Applications: every declared container port of a running pod has an echo
server behind it (TCP or UDP as declared), except port 53 of the CoreDNS
pods, where the cluster DNS server answers (emulator/addons.py, netsim/dns/);
TCP echo servers answer a whole HTTP request as echo-basic does
(HttpEchoApp), and the ingress-nginx controller's and Envoy Gateway's proxy
pods run their L7 proxies instead (emulator/ingress.py);
the control-plane nodes answer on 6443 (the API server). Nothing else listens. The nodes whose MetalLB
speaker wins a LoadBalancer address (`cluster.speakers`, which moves when
memberlist declares a speaker dead) answer ARP for it on eth0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from netsim.api.objects import Node, Pod
from netsim.capture.pcapng import Direction
from netsim.capture.points import CaptureSet
from netsim.controllers.apiserver import SECURE_PORT
from netsim.dataplane.apps import EchoApp, HttpEchoApp
from netsim.dataplane.network import Network
from netsim.dns.server import DNS_PORT
from netsim.emulator import cni
from netsim.emulator.addons import dns_server_for, is_coredns_pod
from netsim.emulator.cluster import Cluster, child_rng
from netsim.emulator.external import add_external, announce_load_balancers
from netsim.emulator.ingress import add_cloud_load_balancers, pod_app   # L7 proxies, HTTP echo, ALBs (issue #11)
from netsim.emulator.portmap import add_portmap_rules, merge_table
from netsim.emulator.proxy import node_ruleset_text
from netsim.kubeproxy.config import KubeProxyConfiguration
from netsim.netfilter.engine import NetfilterEngine
from netsim.netpol.rules import node_filter_rules
from netsim.packet import Proto

NODE_SEGMENT = "nodes"
BRIDGE = cni.BRIDGE
POD_IFACE = cni.POD_IFACE
NODE_IFACE = cni.NODE_IFACE
_PROTO = {"TCP": Proto.TCP, "UDP": Proto.UDP, "SCTP": Proto.SCTP}


def pod_host_name(pod: Pod) -> str:
    """The host that stands for a pod's network namespace."""
    return f"{pod.namespace}/{pod.name}"


def host_veth_name(pod: Pod) -> str:
    """The node end of a pod's veth pair."""
    return "veth" + hashlib.sha256(pod_host_name(pod).encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class CaptureSink:
    """Hands every frame the walk sees to the pcapng writers."""

    capture: CaptureSet

    def frame(self, time, host, iface, direction, frame) -> None:
        self.capture.record_packet(host, iface, Direction.IN if direction == "in" else Direction.OUT, time, frame)


def node_segment(cluster: Cluster, node: Node) -> str:
    """The L2 segment of a node's eth0: `nodes`, or `nodes-<zone>` with netsim.nodeNetworkPerZone."""
    if cluster.topology.node_network_per_zone and node.zone:
        return f"{NODE_SEGMENT}-{node.zone}"
    return NODE_SEGMENT


def node_ruleset(cluster: Cluster, node: Node, kube_proxy: KubeProxyConfiguration | None = None) -> str:
    """The node's iptables-restore text: kube-proxy's rules (its configuration `kube_proxy`, default
    the cluster's), then portmap's hostPort chains, then the NetworkPolicy chains (netsim/netpol/)."""
    pods = [p for p in cluster.store.list("Pod") if p.node_name == node.name]
    cidr = cni.pod_cidr(node)
    text = add_portmap_rules(node_ruleset_text(cluster, node.name, kube_proxy), pods, cluster.topology.cni,  # type: ignore
                             cidr.prefixlen if cidr is not None else 24)
    netpol = node_filter_rules(cluster.store, node.name)   # NetworkPolicy: kube-router's chains, jumps prepended
    if netpol.empty:
        return text
    return merge_table(text, "filter", list(netpol.chains), list(netpol.rules),
                       {k: list(v) for k, v in netpol.prepend.items()}, {})


def build_network(cluster: Cluster, capture: CaptureSet | None = None) -> Network:
    """The dataplane for the cluster as it stands (nodes, running pods, the outside, rules, applications)."""
    mode = cluster.topology.cni
    network = Network(clock=cluster.clock.now, sink=CaptureSink(capture) if capture is not None else None)
    store = cluster.store
    nodes: list[Node] = sorted(store.list("Node"), key=lambda n: n.name)  # type: ignore[assignment]
    segments: dict[str, list[str]] = {NODE_SEGMENT: []}
    for node in nodes:
        segments.setdefault(node_segment(cluster, node), []).append(node.internal_ip)  # type: ignore[arg-type]
    ordered = [(NODE_SEGMENT, segments.pop(NODE_SEGMENT))] + sorted(segments.items())
    for name, _ in ordered:
        network.add_segment(name)
    prefix = cluster.topology.node_network.prefixlen
    for node in nodes:
        _wire_node(cluster, network, node, prefix)
    add_external(network, cluster.topology, ordered,
                 [(n.pod_cidrs[0], n.internal_ip) for n in nodes if n.pod_cidrs and n.internal_ip])
    add_cloud_load_balancers(cluster, network, NODE_SEGMENT,   # L7 (issue #11): ALBs of netsim.ingressController alb
                             [(n.pod_cidrs[0], n.internal_ip) for n in nodes if n.pod_cidrs and n.internal_ip])
    cni.wire_routes(mode, network, nodes)
    for node in nodes:
        network.host(node.name).add_route("default", via=str(cluster.topology.node_gateway), dev=NODE_IFACE)
    by_name = {n.name: n for n in nodes}
    for pod in sorted(store.list("Pod"), key=lambda p: (p.namespace, p.name)):
        if pod.phase == "Running" and pod.node_name in by_name:
            _wire_pod(cluster, network, pod, by_name[pod.node_name])  # type: ignore[arg-type]
    announce_load_balancers(network, store, cluster.speakers, NODE_IFACE, routed=len(ordered) > 1)
    for node in nodes:
        host = network.host(node.name)
        engine = NetfilterEngine(
            node_ruleset(cluster, node),
            rng=child_rng(cluster.seed, f"netfilter/{node.name}"),
            clock=cluster.clock.now,
            interface_addresses=host.interface_addresses,
        )
        host.set_netfilter(engine)
    return network


def _wire_node(cluster: Cluster, network: Network, node: Node, prefix: int) -> None:
    host = network.add_host(node.name, forwarding=True)
    host.add_interface(NODE_IFACE)
    host.add_address(NODE_IFACE, f"{node.internal_ip}/{prefix}")
    if cluster.nodes.up(node.name):   # a failed node's machine is off: its NIC is on no wire (module docstring)
        network.connect(node_segment(cluster, node), node.name, NODE_IFACE)
    cni.wire_node(cluster.topology.cni, host, node)
    if "node-role.kubernetes.io/control-plane" in node.labels:
        host.bind(EchoApp("kube-apiserver"), Proto.TCP, SECURE_PORT)


def _wire_pod(cluster: Cluster, network: Network, pod: Pod, node: Node) -> None:
    node_host = network.host(node.name)
    if pod.host_network:
        target = node_host
    else:
        target = network.add_host(pod_host_name(pod))
        cni.wire_pod(cluster.topology.cni, network, target, node_host, node, pod, host_veth_name(pod),
                     cluster.topology.pod_subnet)  # type: ignore[arg-type]
    dns = dns_server_for(cluster, pod) if is_coredns_pod(pod) else None   # cluster DNS: addons.py
    for container in pod.containers:
        for port in container.ports:
            if dns is not None and port.container_port == DNS_PORT and port.protocol in ("UDP", "TCP"):
                target.bind(dns, _PROTO[port.protocol], port.container_port)
                continue
            # L7 (emulator/ingress.py): ingress-nginx / Envoy Gateway proxies, HTTP-aware echo on TCP ports.
            app = pod_app(cluster, network, pod, target.name, port.container_port, port.protocol)
            if app is not None:
                app.name = f"{app.name} in container {container.name}" if not isinstance(app, HttpEchoApp) \
                    else f"echo in container {container.name}"
                target.bind(app, _PROTO[port.protocol], port.container_port)
                continue
            target.bind(EchoApp(f"echo in container {container.name}"), _PROTO[port.protocol],
                        port.container_port)
