"""Pod networking per CNI mode: what each node and each pod gets, as the real plugins and agents set it up.

Names (interfaces, hosts, MACs) are wiring.py's; this module does the
configuration each mode's real components do:

- `bridge` — flannel's host-gw backend with the CNI bridge plugin (flannel's
  `cbr0` conflist delegates to `bridge` with isGateway, hairpinMode): cni0
  holds the podCIDR's first address; every pod veth is a cni0 port with
  hairpin on; each node routes the other nodes' podCIDRs via their InternalIP
  (`ip route replace 10.244.N.0/24 via NODE_IP dev eth0`). Pods get
  `default via GW` (isDefaultGateway) and flannel's `ipam.routes` entry,
  the whole pod network via GW.
- `vxlan` — flannel's vxlan backend (pkg/backend/vxlan): a device `flannel.1`
  (`flannel.<VNI>`, VNI 1, the Linux default UDP port 8472 since flannel's
  Port 0 leaves it to the kernel, `nolearning`, local = the node IP, dev
  eth0) with MTU 1450 (the NIC's 1500 minus 50 bytes of encapsulation) and
  the address `10.244.N.0/32` (the lease's network address); per remote
  lease a permanent neighbour `10.244.M.0 lladdr <its flannel.1 MAC>`, an FDB
  entry `<that MAC> dst <its node IP>`, and the route `10.244.M.0/24 via
  10.244.M.0 dev flannel.1 onlink` (AddARP, AddFDB, then the route, as
  `handleSubnetEvents` orders them). The bridge plugin then runs with
  flannel's MTU: cni0, the pod veths and the pods' eth0 all have MTU 1450.
- `ptp` — kindnetd's conflist: the CNI ptp plugin (plugins/main/ptp) with
  host-local IPAM and a default route. In the pod, eth0 holds the address
  with the podCIDR's prefix, the automatic prefix route is deleted and
  replaced by `GW/32 dev eth0 scope link src POD` and `PODCIDR via GW src
  POD` (so everything is sent to the gateway's MAC), plus `default via GW`.
  On the node, the veth end holds `GW/32` (the same gateway address on every
  veth) and the host route `POD/32 dev VETH scope link`. kindnetd routes the
  other nodes' podCIDRs via their InternalIP, as in `bridge`.

Not emulated: the masquerade rules of flannel (FLANNEL-POSTRTG) and kindnetd
(KIND-MASQ-AGENT) for pod traffic leaving the pod network; the default
route to the node network's gateway is there, the SNAT is not.
"""

from __future__ import annotations

from ipaddress import IPv4Network, ip_network

from netsim.api.objects import Node, Pod
from netsim.api.topology import CNI
from netsim.dataplane.host import Host
from netsim.dataplane.network import Network
from netsim.dataplane.routing import RouteScope
from netsim.errors import NotImplementedFeature

BRIDGE = "cni0"
POD_IFACE = "eth0"
NODE_IFACE = "eth0"
FLANNEL_VNI = 1
FLANNEL_DEVICE = f"flannel.{FLANNEL_VNI}"
FLANNEL_PORT = 8472   # Linux's default vxlan port (IANA's is 4789); flannel leaves Port 0 to the kernel
FLANNEL_MTU = 1450    # the node NIC's 1500 minus the 50 bytes of VXLAN encapsulation (encapOverhead)


def pod_cidr(node: Node) -> IPv4Network | None:
    """The node's first podCIDR, or None when it has none."""
    return ip_network(node.pod_cidrs[0]) if node.pod_cidrs else None  # type: ignore[return-value]


def gateway(cidr: IPv4Network) -> str:
    """The pods' gateway on a node: the podCIDR's first address (host-local's default gateway)."""
    return str(cidr.network_address + 1)


def wire_node(mode: CNI, host: Host, node: Node) -> None:
    """The node-local devices of the mode (cni0, flannel.1) on a node whose eth0 is already up."""
    cidr = pod_cidr(node)
    if cidr is None:
        return
    if mode is CNI.VXLAN:
        host.add_vxlan(FLANNEL_DEVICE, vni=FLANNEL_VNI, local=node.internal_ip, dstport=FLANNEL_PORT,
                       dev=NODE_IFACE, mtu=FLANNEL_MTU, learning=False)
        host.add_address(FLANNEL_DEVICE, f"{cidr.network_address}/32")
    if mode in (CNI.BRIDGE, CNI.VXLAN):
        host.add_bridge(BRIDGE, mtu=FLANNEL_MTU if mode is CNI.VXLAN else None)
        host.add_address(BRIDGE, f"{gateway(cidr)}/{cidr.prefixlen}")


def wire_routes(mode: CNI, network: Network, nodes: list[Node]) -> None:
    """Each node's routes to the other nodes' podCIDRs (host-gw routes, or flannel's vxlan entries)."""
    for node in nodes:
        host = network.host(node.name)
        for other in nodes:
            cidr = pod_cidr(other)
            if other.name == node.name or cidr is None or not other.internal_ip:
                continue
            if mode is CNI.VXLAN:
                remote_mac = network.host(other.name).interface(FLANNEL_DEVICE).mac
                host.add_neighbour(cidr.network_address, remote_mac, FLANNEL_DEVICE)
                host.fdb_append(FLANNEL_DEVICE, remote_mac, other.internal_ip)
                host.add_route(cidr, via=cidr.network_address, dev=FLANNEL_DEVICE, onlink=True)
            else:
                host.add_route(cidr, via=other.internal_ip, dev=NODE_IFACE)


def wire_pod(mode: CNI, network: Network, pod_host: Host, node_host: Host, node: Node, pod: Pod,
             veth: str, pod_subnet: IPv4Network) -> None:
    """The pod's eth0, its veth to the node, addresses and routes, per mode."""
    cidr = pod_cidr(node)
    if cidr is None:
        raise NotImplementedFeature(
            f"node {node.name} has no spec.podCIDR, so pod {pod.namespace}/{pod.name} cannot be wired: netsim's CNI "
            f"modes (bridge, vxlan, ptp) take pod addresses from the node's podCIDR; CNIs that address pods "
            f"another way (Azure CNI's node subnet, AWS VPC CNI) are not emulated")
    gw = gateway(cidr)
    mtu = FLANNEL_MTU if mode is CNI.VXLAN else None
    network.add_veth(pod_host.name, POD_IFACE, node_host.name, veth, mtu=mtu)
    pod_host.add_address(POD_IFACE, f"{pod.pod_ip}/{cidr.prefixlen}")
    if mode is CNI.PTP:
        pod_host.delete_route(cidr)
        pod_host.add_route(f"{gw}/32", dev=POD_IFACE, scope=RouteScope.LINK, src=pod.pod_ip)
        pod_host.add_route(cidr, via=gw, dev=POD_IFACE, src=pod.pod_ip)
        pod_host.add_route("default", via=gw, dev=POD_IFACE)
        node_host.add_address(veth, f"{gw}/32")
        node_host.add_route(f"{pod.pod_ip}/32", dev=veth, scope=RouteScope.LINK)
        return
    node_host.set_master(veth, BRIDGE, hairpin=True)
    pod_host.add_route("default", via=gw, dev=POD_IFACE)     # isDefaultGateway
    pod_host.add_route(pod_subnet, via=gw, dev=POD_IFACE)    # flannel's ipam.routes: the pod network
