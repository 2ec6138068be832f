"""The MetalLB-L2-style controller: addresses from the pool in order, and which node's speaker announces them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from netsim.api.load import load_paths, load_text
from netsim.api.topology import load_topology
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


def test_the_speaker_election() -> None:
    cluster = build()
    store = cluster.store
    nodes, slices = store.list("Node"), store.list("EndpointSlice")
    lb = store.get("Service", "lb", "default")
    ip = lb.load_balancer_ips[0]
    # control planes carry exclude-from-external-load-balancers; the lowest SHA-256 of "<node>#<ip>" wins
    expected = min(("kind-worker", "kind-worker2"), key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())
    assert announcing_node(lb, ip, nodes, slices) == expected
    # externalTrafficPolicy Local: only nodes with a ready endpoint (web-a is on kind-worker)
    pinned = store.get("Service", "pinned", "default")
    assert announcing_node(pinned, pinned.load_balancer_ips[0], nodes, slices) == "kind-worker"


def test_no_endpoint_no_announcement() -> None:
    cluster = build(extra=EXTRA.replace("which: a}\n  ports: [{port: 80, targetPort: 8080}]\n---",
                                        "which: nobody}\n  ports: [{port: 80, targetPort: 8080}]\n---"))
    store = cluster.store
    svc = store.get("Service", "a-lb", "default")
    assert announcing_node(svc, svc.load_balancer_ips[0], store.list("Node"), store.list("EndpointSlice")) is None


def test_a_service_that_stops_being_a_load_balancer_loses_its_address() -> None:
    cluster = build()
    store = cluster.store
    svc = store.get("Service", "a-lb", "default")
    store.update(svc.evolve(lambda d: d["spec"].__setitem__("type", "ClusterIP")))
    cluster.settle()
    assert ingress(cluster, "a-lb") == []
