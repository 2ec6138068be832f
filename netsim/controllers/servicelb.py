"""LoadBalancer Services get addresses from the topology's pool and a node that announces them: MetalLB in layer-2 mode.

netsim mirrors MetalLB (metallb/metallb) in L2 mode, the usual choice on kind
and bare metal, rather than cloud-provider-kind (which runs an Envoy
container per Service outside the cluster): with MetalLB the path stays
inside what netsim emulates — an ARP answer on the node segment, then the
node's own kube-proxy rules — and every hop is a real hop of a real cluster.

- Allocation (MetalLB's controller, internal/allocator): a `type:
  LoadBalancer` Service without an address gets the lowest free address of
  the pool (`netsim.loadBalancerPool`); Services are visited in (namespace,
  name) order, since the real controller's informer order is not
  reproducible. The address goes to `status.loadBalancer.ingress[0]` with
  `ipMode: VIP`. A requested `spec.loadBalancerIP` is honoured when it is in
  the pool and free. Without a pool, Services stay pending (no ingress), as
  on plain kind. A Service that stops being a LoadBalancer loses its status.
- Announcement (the speaker, speaker/layer2_controller.go `ShouldAnnounce`):
  nothing is announced without a ready endpoint; the candidates are the
  nodes with a speaker, minus those labelled
  `node.kubernetes.io/exclude-from-external-load-balancers` (and, with
  `externalTrafficPolicy: Local`, only nodes with a ready endpoint); the
  candidates are sorted by SHA-256 of `<node>#<ip>` and the first announces
  (answers ARP for the address on its NIC).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from ipaddress import ip_address

from netsim.api.objects import EndpointSlice, Node, Service
from netsim.api.store import Store
from netsim.api.topology import LABEL_EXCLUDE_FROM_LB, AddressPool

IP_MODE = "VIP"


def reconcile(store: Store, pool: AddressPool | None) -> None:
    """Give every LoadBalancer Service an address from `pool`; clear it on Services that are no longer one."""
    services: list[Service] = sorted(store.list("Service"), key=lambda s: (s.namespace, s.name))  # type: ignore
    used = {ip_address(ip) for svc in services if svc.type == "LoadBalancer" for ip in svc.load_balancer_ips}
    for svc in services:
        if svc.type != "LoadBalancer":
            if svc.load_balancer_ips:
                store.update(svc.evolve(lambda d: d["status"].pop("loadBalancer", None)))
            continue
        if svc.load_balancer_ips or pool is None:
            continue
        address = _pick(svc, pool, used)
        if address is None:
            continue
        used.add(address)
        ingress = [{"ip": str(address), "ipMode": IP_MODE}]
        store.update(svc.evolve(lambda d: d.setdefault("status", {}).__setitem__("loadBalancer",
                                                                                  {"ingress": ingress})))


def _pick(svc: Service, pool: AddressPool, used: set):
    """The requested spec.loadBalancerIP if free and in the pool, else the pool's lowest free address."""
    wanted = svc.spec.get("loadBalancerIP")
    if wanted:
        address = ip_address(wanted)
        return address if address in pool and address not in used else None
    return next((a for a in pool if a not in used), None)


def announcing_node(svc: Service, ip: str, nodes: Sequence[Node], slices: Sequence[EndpointSlice]) -> str | None:
    """The node whose speaker answers ARP for `ip` of `svc` (module docstring), or None."""
    ready_nodes = set()
    for slice_ in slices:
        if slice_.namespace != svc.namespace or slice_.service_name != svc.name:
            continue
        for ep in slice_.endpoints:
            if ep.conditions.ready is not False and ep.node_name:
                ready_nodes.add(ep.node_name)
    if not ready_nodes:
        return None
    candidates = [n.name for n in nodes if LABEL_EXCLUDE_FROM_LB not in n.labels]
    if svc.spec.get("externalTrafficPolicy") == "Local":
        candidates = [n for n in candidates if n in ready_nodes]
    if not candidates:
        return None
    return min(candidates, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())
