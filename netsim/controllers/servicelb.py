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
  nothing is announced without an endpoint that can serve; the candidates
  are the nodes whose speaker is a member of the speakers' memberlist
  (`UsableSpeakers`), minus those with the NetworkUnavailable condition and
  those labelled `node.kubernetes.io/exclude-from-external-load-balancers`
  (and, with `externalTrafficPolicy: Local`, only those with a ready
  endpoint); they are sorted by SHA-256 of `<node>#<ip>`, where ip is the
  Service's first ingress address (`toAnnounce[0]`: one node announces all
  of a Service's addresses), compared as bytes, and the first announces
  (answers ARP for the addresses on its NIC). Every node runs a speaker (the
  MetalLB DaemonSet tolerates the control-plane taint).
- Failure detection (hashicorp/memberlist, `memberlist.DefaultLANConfig()`
  as internal/speakerlist uses it): a stopped machine's speaker stays a
  member until memberlist declares it dead. A peer's probe finds it silent
  within one ProbeInterval (1 s: the direct ping's 500 ms ProbeTimeout,
  then indirect pings until the interval ends) and makes it suspect; it is
  declared dead when the suspicion timer fires: `suspicionTimeout` =
  SuspicionMult (4) x max(1, log10(n)) x ProbeInterval for n members, its
  minimum; with fewer than SuspicionMult - 2 peers to confirm (n - 2 < 2,
  i.e. up to 3 speakers) memberlist takes that minimum from the start
  (state.go `suspectNode`, suspicion.go `newSuspicion`); with more, the
  timer starts at SuspicionMaxTimeoutMult (6) x the minimum and shrinks to
  the minimum as the expected confirmations arrive, and netsim takes that
  nominal case (the peers' own probes confirm in time). So a failed
  speaker is out of the list `PROBE_INTERVAL + suspicion_timeout(n)` after
  its machine stopped (5 s on a kind cluster of 3). The probe's timing
  inside the interval depends on memberlist's shuffled probe order, which
  netsim does not reproduce: it takes the probe that starts as the machine
  stops. The NodeLeave event makes every speaker re-run ShouldAnnounce
  (`ForceSync`), so the next node in hash order takes over at that instant.
  A recovered machine's speaker rejoins at once (`SetNode` -> `Rejoin`),
  and the hash order decides again: the leadership moves back if it ranks
  first.
- The winner records a Normal `nodeAssigned` event on the Service from
  `metallb-speaker`: `announcing from node "X" with protocol "layer2"`. The
  real speaker records it on every sync of the Service (the recorder
  counts repeats); netsim records it when the announcing node changes,
  including the first announcement.
- The new winner's announcer spams gratuitous ARP (internal/layer2
  `spam`, `Gratuitous`): for each address an ARP request and an ARP reply,
  both broadcast, sender = target = the address, target MAC
  ff:ff:ff:ff:ff:ff, from its NIC's MAC; netsim/emulator/external.py sends
  them on the dataplane.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from ipaddress import ip_address

from netsim.api.objects import EndpointSlice, Node, Service
from netsim.api.store import Store
from netsim.api.topology import LABEL_EXCLUDE_FROM_LB, AddressPool
from netsim.controllers.nodelifecycle import NodeHealth

IP_MODE = "VIP"
COMPONENT = "metallb-speaker"        # speaker/main.go: k8s.Config{ProcessName: "metallb-speaker"}
EVENT_REASON = "nodeAssigned"        # speaker/main.go handleService: c.client.Infof(svc, "nodeAssigned", ...)
PROTOCOL = "layer2"                  # config.Layer2
# memberlist.DefaultLANConfig(), which internal/speakerlist starts from (module docstring)
PROBE_INTERVAL = 1.0                 # ProbeInterval: "Failure check every second"
SUSPICION_MULT = 4                   # SuspicionMult: the suspicion timer is 4 x max(1, log10(n)) x ProbeInterval


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


def suspicion_timeout(members: int) -> float:
    """memberlist's `suspicionTimeout(SuspicionMult, n, ProbeInterval)` in seconds (the minimum), for n = `members`."""
    scale = max(1.0, math.log10(max(1.0, float(members))))
    return SUSPICION_MULT * scale * PROBE_INTERVAL


def detection_seconds(members: int) -> float:
    """How long a stopped speaker stays in the memberlist of `members` speakers (module docstring)."""
    return PROBE_INTERVAL + suspicion_timeout(members)


def speaker_members(nodes: Sequence[Node], health: NodeHealth, now: float) -> frozenset[str]:
    """The nodes whose speaker is in the memberlist at `now`: up, or stopped too recently to be declared dead."""
    delay = detection_seconds(len(nodes))
    return frozenset(n.name for n in nodes
                     if (failed := health.failed.get(n.name)) is None or now < failed + delay)


def next_membership_change(nodes: Sequence[Node], health: NodeHealth, now: float) -> float:
    """When the next stopped speaker drops out of the memberlist (inf: none pending)."""
    delay = detection_seconds(len(nodes))
    due = [failed + delay for n in nodes if (failed := health.failed.get(n.name)) is not None
           and now < failed + delay]
    return min(due, default=math.inf)


def _can_serve(ep) -> bool:
    """epslices.EndpointCanServe as netsim reads it: ready, or readiness not reported."""
    return ep.conditions.ready is not False


def announcing_node(svc: Service, nodes: Sequence[Node], slices: Sequence[EndpointSlice],
                    members: frozenset[str] | None = None) -> str | None:
    """The node whose speaker answers ARP for `svc`'s addresses (module docstring), or None.

    `members`: the nodes whose speaker is in the memberlist (None: every node's).
    """
    if not svc.load_balancer_ips:
        return None
    endpoints = [ep for s in slices if s.namespace == svc.namespace and s.service_name == svc.name
                 for ep in s.endpoints if _can_serve(ep)]
    if not endpoints:
        return None   # activeEndpointExists
    speakers = [n for n in nodes if (members is None or n.name in members)
                and not _network_unavailable(n) and LABEL_EXCLUDE_FROM_LB not in n.labels]
    candidates = [n.name for n in speakers]
    if svc.spec.get("externalTrafficPolicy") == "Local":   # nodesWithEndpoint
        local = {ep.node_name for ep in endpoints if ep.node_name}
        candidates = [n for n in candidates if n in local]
    if not candidates:
        return None
    ip = svc.load_balancer_ips[0]   # toAnnounce[0]
    return min(candidates, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())


def _network_unavailable(node: Node) -> bool:
    """k8snodes.IsNetworkUnavailable: the NetworkUnavailable condition is True."""
    cond = node.condition("NetworkUnavailable")
    return cond is not None and cond.status == "True"


def announcements(store: Store, members: frozenset[str] | None = None) -> list[tuple[str, str, str]]:
    """(namespace/name, node, address) for every load-balancer address a speaker announces, sorted."""
    nodes: list[Node] = sorted(store.list("Node"), key=lambda n: n.name)  # type: ignore[assignment]
    slices: list[EndpointSlice] = store.list("EndpointSlice")  # type: ignore[assignment]
    out = []
    for svc in store.list("Service"):
        svc: Service
        if svc.type != "LoadBalancer":
            continue
        node = announcing_node(svc, nodes, slices, members)
        if node is not None:
            out += [(f"{svc.namespace}/{svc.name}", node, ip) for ip in svc.load_balancer_ips]
    return sorted(out)


class Speakers:
    """The speakers' announcements as they stand: which node announces each Service, and since when.

    A runtime object (like `NodeHealth`): the speakers' in-memory state,
    which the API does not hold. `reconcile` re-runs the election and
    records the `nodeAssigned` events of the nodes that take over.
    """

    def __init__(self) -> None:
        self.current: dict[str, tuple[str, float]] = {}   # namespace/name -> (node, since)

    def reconcile(self, store: Store, health: NodeHealth, now: float) -> float:
        """Elect the announcing node of every LoadBalancer Service; returns when the memberlist next changes."""
        nodes: list[Node] = sorted(store.list("Node"), key=lambda n: n.name)  # type: ignore[assignment]
        members = speaker_members(nodes, health, now)
        elected = {key: node for key, node, _ in announcements(store, members)}
        for key in sorted(set(self.current) - set(elected)):
            del self.current[key]
        for key, node in sorted(elected.items()):
            if key in self.current and self.current[key][0] == node:
                continue
            self.current[key] = (node, now)
            namespace, name = key.split("/", 1)
            svc = store.get("Service", name, namespace)
            store.record_event(svc, "Normal", EVENT_REASON,
                               f"announcing from node \"{node}\" with protocol \"{PROTOCOL}\"", COMPONENT)
        return next_membership_change(nodes, health, now)

    def since(self, key: str) -> float | None:
        """When the current node started announcing Service `key` (namespace/name), or None."""
        entry = self.current.get(key)
        return entry[1] if entry is not None else None
