"""The cluster's network: one host per Node and per Pod, wired as the CNI bridge plugin wires them.

Names, written once here:
- a Node's host is named after the Node; its NIC `eth0` holds the node's
  InternalIP (prefix from the topology's node network) on the L2 segment
  `nodes` that joins every node;
- the bridge `cni0` on each node holds the first address of the node's
  podCIDR (the pods' gateway); routes to the other nodes' podCIDRs go via
  their InternalIP (host-gw, as the bridge plugin with static routes does);
  the default route goes to the node network's gateway (the docker bridge
  in kind), which netsim does not emulate: traffic leaving the cluster ends
  there, unanswered;
- a Pod's host is named `<namespace>/<pod>`; its `eth0` is one end of a veth
  pair whose node end is `veth` + the first 8 hex digits of SHA-256 of the
  pod's `<namespace>/<pod>` (the plugin draws random ones; these are stable),
  enslaved to cni0; the pod has its address with the podCIDR's prefix and a
  default route via the gateway;
- hostNetwork pods share their node's host.

Each node's netfilter runs the ruleset kube-proxy renders for it; pods have
no rules. Applications: every declared container port of a running pod has
an echo server behind it (TCP or UDP as declared); the control-plane nodes
answer on 6443 (the API server). Nothing else listens.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from ipaddress import ip_network

from netsim.api.objects import Node, Pod
from netsim.api.topology import CNI
from netsim.capture.pcapng import Direction
from netsim.capture.points import CaptureSet
from netsim.controllers.apiserver import SECURE_PORT
from netsim.dataplane.apps import EchoApp
from netsim.dataplane.network import Network
from netsim.emulator.cluster import Cluster, child_rng
from netsim.emulator.proxy import node_ruleset_text
from netsim.errors import NotImplementedFeature
from netsim.netfilter.engine import NetfilterEngine
from netsim.packet import Proto

NODE_SEGMENT = "nodes"
BRIDGE = "cni0"
POD_IFACE = "eth0"
NODE_IFACE = "eth0"
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


def build_network(cluster: Cluster, capture: CaptureSet | None = None) -> Network:
    """The dataplane for the cluster as it stands (nodes, running pods, rules, applications)."""
    if cluster.topology.cni is not CNI.BRIDGE:
        raise NotImplementedFeature(f"{cluster.topology.source}: netsim.cni: {cluster.topology.cni.value!r} wiring "
                                    f"is not emulated yet (only bridge)")
    network = Network(clock=cluster.clock.now, sink=CaptureSink(capture) if capture is not None else None)
    store = cluster.store
    nodes: list[Node] = store.list("Node")  # type: ignore[assignment]
    network.add_segment(NODE_SEGMENT)
    prefix = cluster.topology.node_network.prefixlen
    for node in nodes:
        _wire_node(cluster, network, node, prefix)
    for node in nodes:
        host = network.host(node.name)
        host.add_route("default", via=str(cluster.topology.node_gateway), dev=NODE_IFACE)
        for other in nodes:
            if other.name != node.name and other.pod_cidrs and other.internal_ip:
                host.add_route(other.pod_cidrs[0], via=other.internal_ip, dev=NODE_IFACE)
    for pod in store.list("Pod"):
        if pod.phase == "Running" and pod.node_name in {n.name for n in nodes}:
            _wire_pod(network, pod)  # type: ignore[arg-type]
    for node in nodes:
        host = network.host(node.name)
        engine = NetfilterEngine(
            node_ruleset_text(cluster, node.name),
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
    network.connect(NODE_SEGMENT, node.name, NODE_IFACE)
    if node.pod_cidrs:
        cidr = ip_network(node.pod_cidrs[0])
        host.add_bridge(BRIDGE)
        host.add_address(BRIDGE, f"{cidr.network_address + 1}/{cidr.prefixlen}")
    if "node-role.kubernetes.io/control-plane" in node.labels:
        host.bind(EchoApp("kube-apiserver"), Proto.TCP, SECURE_PORT)


def _wire_pod(network: Network, pod: Pod) -> None:
    node_host = network.host(pod.node_name)
    if pod.host_network:
        target = node_host
    else:
        name = pod_host_name(pod)
        target = network.add_host(name)
        veth = host_veth_name(pod)
        network.add_veth(name, POD_IFACE, pod.node_name, veth)
        node_host.set_master(veth, BRIDGE)
        bridge_net = node_host.interface(BRIDGE).primary_address
        target.add_address(POD_IFACE, f"{pod.pod_ip}/{bridge_net.network.prefixlen}")
        target.add_route("0.0.0.0/0", via=str(bridge_net.ip), dev=POD_IFACE)
    for container in pod.containers:
        for port in container.ports:
            target.bind(EchoApp(f"echo in container {container.name}"), _PROTO[port.protocol],
                        port.container_port)
