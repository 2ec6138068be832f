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
none does with MetalLB. When the announcing node changes (its machine
stopped and memberlist noticed, or a better-ranked one came back), the new
one sends MetalLB's gratuitous ARP, which moves the clients' cached MAC for
the address (`follow_announcements`); until then a client keeps sending to
the MAC it has, and what it sends to a stopped node is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address

from netsim.api.errors import FieldError
from netsim.api.store import Store
from netsim.api.topology import Topology
from netsim.controllers.servicelb import Speakers
from netsim.dataplane.host import Host
from netsim.dataplane.network import Network
from netsim.packet.arp import ArpFrame, ArpOp
from netsim.packet.mac import BROADCAST

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


def announced(store: Store, speakers: Speakers) -> list[tuple[str, str]]:
    """(node, address) for every load-balancer address a node's speaker announces now, sorted."""
    return sorted({(node, ip) for key, (node, _) in speakers.current.items() for ip in _ips(store, key)})


def announce_load_balancers(network: Network, store: Store, speakers: Speakers, iface: str, *,
                            routed: bool = False) -> None:
    """Each elected node answers ARP for its addresses on `iface`; `routed`: the router also routes them to it."""
    for node, ip in announced(store, speakers):
        network.host(node).announce_arp(iface, ip)
        if routed:
            network.host(EXTERNAL_HOST).add_route(f"{ip}/32", via=store.get("Node", node).internal_ip,
                                                  proto="bgp")


def gratuitous_arp(mac: str, ip: IPv4Address | str) -> tuple[ArpFrame, ArpFrame]:
    """MetalLB's announcement of `ip` from `mac` (internal/layer2 arp.go `Gratuitous`): a request, then a reply,
    both broadcast, sender and target both `ip`, target MAC the broadcast address."""
    return tuple(ArpFrame(op, mac, ip, BROADCAST, ip, mac, BROADCAST)  # type: ignore[return-value]
                 for op in (ArpOp.REQUEST, ArpOp.REPLY))


def follow_announcements(old: Network, new: Network, store: Store, speakers: Speakers, iface: str,
                         floor: float) -> list[tuple[float, str, str]]:
    """Carry the load-balancer failover across a rebuild; returns (time, node, address) of each announcement sent.

    A rebuild starts every ARP cache empty (emulator.py), but for the
    load-balancer addresses the cached MAC is the failover story: a client
    keeps sending to the MAC it has (a dead node's, until the new speaker
    announces), and MetalLB's gratuitous ARP exists to change it. So the
    entries hosts held for those addresses are kept (netsim does not age
    neighbour entries: the kernel's NUD timers are not emulated), and each
    node that announces an address the old network's hosts did not announce
    from it sends MetalLB's gratuitous ARP out of `iface`, stamped when it
    took over (not before `floor`, the old network's last frame). MetalLB
    repeats the pair every 1.1 s for 5 s (`spam`); netsim sends the first
    pair only: the repeats change no cache the first did not.
    """
    addresses = {IPv4Address(ip) for svc in store.list("Service") if svc.type == "LoadBalancer"  # type: ignore
                 for ip in svc.load_balancer_ips}  # type: ignore[attr-defined]
    for name in sorted(set(old.hosts) & set(new.hosts)):
        host = new.hosts[name]
        for entry in old.hosts[name].neighbours:
            if entry.ip in addresses and entry.dev in host.interfaces:
                host.neighbours.restore(entry)
    before = {(name, ip) for name, h in old.hosts.items() for ip in h.arp_announcements.get(iface, ())}
    sent = []
    for key, (node, since) in sorted(speakers.current.items()):
        for ip in _ips(store, key):
            address = IPv4Address(ip)
            host = new.host(node)
            if (node, address) not in before and address in host.arp_announcements.get(iface, ()) \
                    and host.interface(iface).segment is not None:   # a stopped machine sends nothing
                sent.append((max(since, floor), node, ip))
    saved = new.clock
    try:
        for when, node, ip in sorted(sent):
            new.clock = lambda when=when: when
            for frame in gratuitous_arp(new.host(node).interface(iface).mac, ip):
                new.emit(node, iface, frame)
    finally:
        new.clock = saved
    return sorted(sent)


def _ips(store: Store, key: str) -> tuple[str, ...]:
    """The load-balancer addresses of Service `key` (namespace/name); none when it is gone."""
    namespace, name = key.split("/", 1)
    svc = store.try_get("Service", name, namespace)
    return svc.load_balancer_ips if svc is not None else ()  # type: ignore[attr-defined]
