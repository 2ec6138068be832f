"""The controllers on the quickstart and small variations: names, ownership, scheduling, endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.load import load_paths, load_text
from netsim.api.topology import load_topology
from netsim.controllers.allocation import static_band_size
from netsim.controllers.scheduler import failure_message
from netsim.controllers.workloads import fnv32a, safe_encode
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quickstart() -> Cluster:
    return Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"),
                         load_paths([ROOT / "cluster/quickstart"]), seed=0)


def test_fnv32a_and_safe_encoding_match_go() -> None:
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert safe_encode("0123456789") == "h4z5f6g7w8"[:0] + "".join(
        "bcdfghjklmnpqrstvwxz2456789"[ord(c) % 27] for c in "0123456789")


def test_deployment_makes_a_hashed_replicaset_and_pods(quickstart: Cluster) -> None:
    store = quickstart.store
    (rs,) = store.list("ReplicaSet", "default")
    template_hash = rs.labels["pod-template-hash"]
    assert rs.name == f"web-{template_hash}"
    assert rs.controller_ref.name == "web"
    pods = store.list("Pod", where=lambda p: p.labels.get("app") == "web")
    assert len(pods) == 2
    for pod in pods:
        assert pod.name.startswith(f"web-{template_hash}-") and len(pod.name) == len(rs.name) + 6
        assert pod.controller_ref.uid == rs.uid
        assert pod.phase == "Running" and pod.ready


def test_scheduler_keeps_pods_off_the_tainted_control_plane(quickstart: Cluster) -> None:
    nodes = {p.node_name for p in quickstart.store.list("Pod", "default")}
    assert "kind-control-plane" not in nodes
    assert nodes <= {"kind-worker", "kind-worker2"}


def test_pod_addresses_come_from_the_node_pod_cidr(quickstart: Cluster) -> None:
    from ipaddress import ip_address, ip_network

    store = quickstart.store
    for pod in store.list("Pod"):
        node = store.get("Node", pod.node_name)
        assert ip_address(pod.pod_ip) in ip_network(node.pod_cidrs[0])
        assert pod.pod_ip != str(ip_network(node.pod_cidrs[0]).network_address + 1)  # .1 is the gateway


def test_kubernetes_service_and_its_slice(quickstart: Cluster) -> None:
    store = quickstart.store
    svc = store.get("Service", "kubernetes", "default")
    assert svc.cluster_ip == "10.96.0.1"
    assert [(p.name, p.port, p.target_port) for p in svc.ports] == [("https", 443, 6443)]
    slice_ = store.get("EndpointSlice", "kubernetes", "default")
    assert [e.addresses for e in slice_.endpoints] == [("172.18.0.2",)]
    assert [p.port for p in slice_.ports] == [6443]


def test_endpointslice_lists_ready_pods_with_the_resolved_named_port(quickstart: Cluster) -> None:
    store = quickstart.store
    (slice_,) = store.list("EndpointSlice", "default",
                           where=lambda s: s.labels.get("kubernetes.io/service-name") == "web")
    assert slice_.name.startswith("web-")
    assert slice_.labels["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert slice_.controller_ref.name == "web"
    assert [(p.name, p.protocol, p.port) for p in slice_.ports] == [("http", "TCP", 8080)]
    web_ips = sorted(p.pod_ip for p in store.list("Pod") if p.labels.get("app") == "web")
    assert sorted(e.addresses[0] for e in slice_.endpoints) == web_ips
    assert all(e.conditions.ready and e.conditions.serving and not e.conditions.terminating
               for e in slice_.endpoints)


def test_cluster_ip_comes_from_the_dynamic_band(quickstart: Cluster) -> None:
    from ipaddress import ip_address

    svc = quickstart.store.get("Service", "web", "default")
    offset = int(ip_address(svc.cluster_ip)) - int(ip_address("10.96.0.0"))
    assert offset > static_band_size(2 ** 16 - 2)


def test_same_seed_same_cluster_other_seed_other_names() -> None:
    def names(seed: int) -> list[str]:
        c = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"),
                          load_paths([ROOT / "cluster/quickstart"]), seed=seed)
        return [f"{o.ref}@{o.uid}" for k in c.store.kinds() for o in c.store.list(k)]

    assert names(0) == names(0)
    assert names(0) != names(1)


def test_unschedulable_pod_stays_pending_with_the_schedulers_message() -> None:
    manifests = load_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n  - name: c\n    image: x\n"
        "    resources: {requests: {cpu: '64'}}\n", "big.yaml")
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), manifests)
    pod = cluster.store.get("Pod", "big", "default")
    assert pod.phase == "Pending" and not pod.node_name
    assert pod.condition("PodScheduled").message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")
    assert failure_message(1, ["Too many pods"]) == "0/1 nodes are available: 1 Too many pods."


def test_scaling_down_removes_pods_and_their_endpoints() -> None:
    topo = load_topology(ROOT / "topologies/three-node.yaml")
    cluster = Cluster.build(topo, load_paths([ROOT / "cluster/quickstart"]))
    store = cluster.store
    deploy = store.get("Deployment", "web", "default")
    store.update(deploy.evolve(lambda d: d["spec"].__setitem__("replicas", 1)))
    cluster.settle()
    assert len(store.list("Pod", where=lambda p: p.labels.get("app") == "web")) == 1
    (slice_,) = store.list("EndpointSlice", "default", where=lambda s: s.service_name == "web")
    assert len(slice_.endpoints) == 1
    assert store.get("Deployment", "web", "default").status["readyReplicas"] == 1


def test_service_without_selector_keeps_user_slices() -> None:
    manifests = load_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec:\n  ports: [{port: 80}]\n---\n"
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ext-1\n"
        "  labels: {kubernetes.io/service-name: ext}\naddressType: IPv4\n"
        "endpoints: [{addresses: [192.0.2.10]}]\nports: [{port: 8080, name: ''}]\n", "ext.yaml")
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), manifests)
    slices = cluster.store.list("EndpointSlice", "default", where=lambda s: s.service_name == "ext")
    assert [s.name for s in slices] == ["ext-1"]
    assert slices[0].endpoints[0].addresses == ("192.0.2.10",)


def test_a_real_clusters_dump_keeps_its_nodes_identities_and_addresses() -> None:
    manifests = load_paths([ROOT / "tests/data/kind-dump.yaml"])
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), manifests)
    store = cluster.store
    # the dump's Node is the cluster's only node: the topology's workers are not added
    assert [n.name for n in store.list("Node")] == ["kind-control-plane"]
    node = store.get("Node", "kind-control-plane")
    assert node.internal_ip == "172.18.0.2" and node.uid == "8a3cbb9e-11f4-4d2b-95ab-1f8cc7d1a4e2"
    # identities survive, so the Service still owns its dumped slice, which the controller keeps
    svc = store.get("Service", "kube-dns", "kube-system")
    assert svc.uid == "9e8d7c6b-5a49-4837-a261-50f4e3d2c1b0" and svc.cluster_ip == "10.96.0.10"
    slices = store.list("EndpointSlice", "kube-system", where=lambda s: s.service_name == "kube-dns")
    assert "kube-dns-7m6vq" in [s.name for s in slices]
    # the running pod keeps its address and no new pod is given it
    dumped = store.get("Pod", "coredns-7db6d8ff4d-5kx2n", "kube-system")
    assert dumped.pod_ip == "10.244.0.3"
    others = [p.pod_ip for p in store.list("Pod") if p.name != dumped.name]
    assert "10.244.0.3" not in others


def test_deployment_adopts_the_replicaset_whose_template_matches() -> None:
    from netsim.controllers.deployment import find_new_replicaset

    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"),
                            load_paths([ROOT / "cluster/quickstart"]))
    store = cluster.store
    (rs,) = store.list("ReplicaSet", "default")
    deploy = store.get("Deployment", "web", "default")
    assert find_new_replicaset(deploy.template, [rs]) == rs
    # a template change makes a second ReplicaSet and scales the first to zero
    store.update(deploy.evolve(lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2")))
    cluster.settle()
    sets = {r.name: r.replicas for r in store.list("ReplicaSet", "default")}
    assert len(sets) == 2 and sets[rs.name] == 0
    assert sorted(sets.values()) == [0, 2]
