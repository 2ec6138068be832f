"""The MetalLB-L2-style controller: addresses from the pool in order, and which node's speaker announces them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from netsim.api.load import load_paths, load_text
from netsim.api.topology import load_topology
from netsim.controllers import servicelb
from netsim.controllers.servicelb import announcing_node
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
PATHS = ROOT / "tests/scenarios/data/paths"

EXTRA = """
apiVersion: v1
kind: Service
metadata: {name: a-lb}
spec:
  type: LoadBalancer
  selector: {which: a}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: pinned}
spec:
  type: LoadBalancer
  loadBalancerIP: 172.18.255.210
  externalTrafficPolicy: Local
  selector: {which: a}
  ports: [{port: 80, targetPort: 8080}]
"""


def build(topology: str = "three-node.yaml", extra: str = EXTRA) -> Cluster:
    manifests = load_paths([PATHS]) + load_text(extra, "extra.yaml")
    return Cluster.build(load_topology(ROOT / "topologies" / topology), manifests, seed=0)


def ingress(cluster: Cluster, name: str) -> list:
    return list(cluster.store.get("Service", name, "default").status.get("loadBalancer", {}).get("ingress", []))


def test_lowest_free_addresses_in_name_order_and_a_requested_one() -> None:
    cluster = build()
    assert ingress(cluster, "a-lb") == [{"ip": "172.18.255.200", "ipMode": "VIP"}]
    assert ingress(cluster, "lb") == [{"ip": "172.18.255.201", "ipMode": "VIP"}]
    assert ingress(cluster, "pinned") == [{"ip": "172.18.255.210", "ipMode": "VIP"}]
    assert ingress(cluster, "np-cluster") == []


def test_without_a_pool_the_service_stays_pending() -> None:
    cluster = build("single-node.yaml", extra="")
    assert ingress(cluster, "lb") == []


def rank(nodes, ip: str) -> list[str]:
    """The nodes in MetalLB's order for `ip`: SHA-256 of "<node>#<ip>", compared as bytes."""
    return sorted(nodes, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())


def test_the_speaker_election() -> None:
    cluster = build()
    store = cluster.store
    nodes, slices = store.list("Node"), store.list("EndpointSlice")
    lb = store.get("Service", "lb", "default")
    ip = lb.load_balancer_ips[0]
    # control planes carry exclude-from-external-load-balancers; the lowest SHA-256 of "<node>#<ip>" wins
    assert announcing_node(lb, nodes, slices) == rank(("kind-worker", "kind-worker2"), ip)[0]
    # externalTrafficPolicy Local: only nodes with a ready endpoint (web-a is on kind-worker)
    pinned = store.get("Service", "pinned", "default")
    assert announcing_node(pinned, nodes, slices) == "kind-worker"


def test_the_candidates_are_the_memberlist_s_speakers_in_hash_order() -> None:
    cluster = build()
    store = cluster.store
    nodes, slices = store.list("Node"), store.list("EndpointSlice")
    lb = store.get("Service", "lb", "default")
    first, second = rank(("kind-worker", "kind-worker2"), lb.load_balancer_ips[0])
    assert announcing_node(lb, nodes, slices, frozenset({"kind-worker", "kind-worker2"})) == first
    assert announcing_node(lb, nodes, slices, frozenset({second, "kind-control-plane"})) == second
    assert announcing_node(lb, nodes, slices, frozenset({"kind-control-plane"})) is None   # excluded by label
    # Local: the node with the endpoint must itself be a member, else nobody announces
    pinned = store.get("Service", "pinned", "default")
    assert announcing_node(pinned, nodes, slices, frozenset({"kind-worker2", "kind-control-plane"})) is None


def test_a_node_with_network_unavailable_does_not_announce() -> None:
    cluster = build()
    store = cluster.store
    lb = store.get("Service", "lb", "default")
    first, second = rank(("kind-worker", "kind-worker2"), lb.load_balancer_ips[0])
    node = store.get("Node", first)
    store.update(node.evolve(lambda d: d["status"]["conditions"].append(
        {"type": "NetworkUnavailable", "status": "True", "reason": "NoRouteCreated"})))
    assert announcing_node(lb, store.list("Node"), store.list("EndpointSlice")) == second


def test_memberlist_detection_follows_default_lan_config() -> None:
    # ProbeInterval 1s + SuspicionMult 4 x max(1, log10(n)) x 1s: 5s up to 10 speakers, then log-scaled
    assert servicelb.detection_seconds(3) == 5.0
    assert servicelb.detection_seconds(10) == 5.0
    assert servicelb.detection_seconds(100) == 9.0


def speaker_events(cluster: Cluster, name: str) -> list[tuple[str, int]]:
    return sorted((e.message, e.get("count")) for e in cluster.store.list("Event", "default")
                  if e.reason == "nodeAssigned" and e.involved_object.get("name") == name
                  and e.get("source.component") == "metallb-speaker")


def test_a_failed_speaker_is_replaced_after_memberlist_detection() -> None:
    cluster = build()
    lb = cluster.store.get("Service", "lb", "default")
    first, second = rank(("kind-worker", "kind-worker2"), lb.load_balancer_ips[0])
    assert cluster.speakers.current["default/lb"][0] == first
    assert speaker_events(cluster, "lb") == [(f'announcing from node "{first}" with protocol "layer2"', 1)]
    start = cluster.clock.now()
    cluster.fail_node(first)
    cluster.advance(4.9)
    assert cluster.speakers.current["default/lb"][0] == first       # still a member: not yet declared dead
    cluster.advance(0.1)
    assert cluster.speakers.current["default/lb"] == (second, start + 5.0)
    assert (f'announcing from node "{second}" with protocol "layer2"', 1) in speaker_events(cluster, "lb")
    cluster.recover_node(first)                                       # rejoins at once; the hash order decides
    assert cluster.speakers.current["default/lb"][0] == first
    assert (f'announcing from node "{first}" with protocol "layer2"', 2) in speaker_events(cluster, "lb")


def test_no_endpoint_no_announcement() -> None:
    cluster = build(extra=EXTRA.replace("which: a}\n  ports: [{port: 80, targetPort: 8080}]\n---",
                                        "which: nobody}\n  ports: [{port: 80, targetPort: 8080}]\n---"))
    store = cluster.store
    svc = store.get("Service", "a-lb", "default")
    assert announcing_node(svc, store.list("Node"), store.list("EndpointSlice")) is None
    assert "default/a-lb" not in cluster.speakers.current


def test_a_service_that_stops_being_a_load_balancer_loses_its_address() -> None:
    cluster = build()
    store = cluster.store
    svc = store.get("Service", "a-lb", "default")
    store.update(svc.evolve(lambda d: d["spec"].__setitem__("type", "ClusterIP")))
    cluster.settle()
    assert ingress(cluster, "a-lb") == []
