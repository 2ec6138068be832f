"""The world outside the cluster: one client host on the node segment, and the load-balancer addresses announced to it.

The host `external` stands for what sits at the node network's gateway in
kind: the docker host (the docker bridge's address, `.1` of
`netsim.nodeNetwork`, e.g. 172.18.0.1/16). It is where `curl
<node>:<nodePort>` comes from on a kind machine, and it is every node's
default gateway. It has its NIC `eth0` on the `nodes` segment, forwards
(ip_forward=1, as docker sets), and has no route beyond the node network:
netsim does not emulate the internet, so a packet the nodes send further
ends there with ICMP net unreachable.

With `netsim.nodeNetworkPerZone`, the zoned nodes sit on one segment per
zone (`nodes-<zone>`) and `external` doubles as the router joining them: it
has `eth0` on `nodes` and `eth1`, `eth2`, ... on the zone segments in
sorted zone order, each zone NIC numbered with the same gateway address as
a /32 (so its ARP requests have a sender address), proxy ARP on every NIC
and a /32 route per zoned node out of its zone's NIC. The node network
stays one subnet: nodes ARP for each other and the router answers for the
ones behind it (a proxy-ARP router), so node addresses and routes are the
same as on one segment, and the packets crossing zones show the router's
hop (TTL - 1, its MACs). host-gw routes (`bridge`, `ptp`) send pod traffic
to the other node's MAC, which behind a router is the router's: so the
router also routes each node's podCIDR via that node, as a cloud route
table (the cloud route controller) or a BGP peering would; the `vxlan`
overlay needs nothing more, its packets are node-to-node. MetalLB-L2
answers ARP only on its own segment, so the router also gets, per announced
load-balancer address, a /32 route via the announcing node: what it would
learn from MetalLB in BGP mode.

LoadBalancer addresses reach the nodes MetalLB-L2 style (see
`netsim.controllers.servicelb`): the elected node's speaker answers ARP for
the address on its eth0, the client sends the packet to that node's MAC,
and the node's kube-proxy rules take it from there (KUBE-SERVICES matches
the load-balancer IP). No extra load-balancer host sits in the path, as
none does with MetalLB.
"""

from __future__ import annotations

from collections.abc import Sequence

from netsim.api.errors import FieldError
from netsim.api.objects import EndpointSlice, Node, Service
from netsim.api.store import Store
from netsim.api.topology import Topology
from netsim.controllers.servicelb import announcing_node
from netsim.dataplane.host import Host
from netsim.dataplane.network import Network

EXTERNAL_HOST = "external"
EXTERNAL_IFACE = "eth0"


def add_external(network: Network, topology: Topology, segments: Sequence[tuple[str, Sequence[str]]],
                 pod_routes: Sequence[tuple[str, str]] = ()) -> Host:
    """The external client (and router): `segments` is (segment, its node addresses), the main one first.

    `pod_routes` ((podCIDR, node address), ...) are routed when there is more than one segment.
    """
    if EXTERNAL_HOST in network.hosts:
        raise FieldError(f"a node may not be called {EXTERNAL_HOST!r}: netsim names the outside client so",
                         "nodes[].netsim.name")
    host = network.add_host(EXTERNAL_HOST, forwarding=True)
    for index, (segment, addresses) in enumerate(segments):
        iface = f"eth{index}"
        host.add_interface(iface)
        prefix = topology.node_network.prefixlen if index == 0 else 32
        host.add_address(iface, f"{topology.node_gateway}/{prefix}")
        network.connect(segment, EXTERNAL_HOST, iface)
        if len(segments) > 1:
            host.set_proxy_arp(iface)
        if index > 0:
            for address in addresses:
                host.add_route(f"{address}/32", dev=iface, proto="static")
    if len(segments) > 1:
        for cidr, address in pod_routes:
            host.add_route(cidr, via=address, proto="static")
    return host


def announcements(store: Store) -> list[tuple[str, str]]:
    """(node, address) for every load-balancer address a node's speaker announces, sorted."""
    nodes: list[Node] = store.list("Node")  # type: ignore[assignment]
    slices: list[EndpointSlice] = store.list("EndpointSlice")  # type: ignore[assignment]
    out = []
    for svc in store.list("Service"):
        svc: Service
        if svc.type != "LoadBalancer":
            continue
        for ip in svc.load_balancer_ips:
            node = announcing_node(svc, ip, nodes, slices)
            if node is not None:
                out.append((node, ip))
    return sorted(set(out))


def announce_load_balancers(network: Network, store: Store, iface: str, *, routed: bool = False) -> None:
    """Each elected node answers ARP for its addresses on `iface`; `routed`: the router also routes them to it."""
    for node, ip in announcements(store):
        network.host(node).announce_arp(iface, ip)
        if routed:
            network.host(EXTERNAL_HOST).add_route(f"{ip}/32", via=store.get("Node", node).internal_ip,
                                                  proto="bgp")
