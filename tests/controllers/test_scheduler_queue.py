"""The scheduling queue's side of kube-scheduler: scheduling gates, priority order, nominated pods."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def test_a_pod_with_scheduling_gates_waits_until_they_are_removed() -> None:
    gated = ("apiVersion: v1\nkind: Pod\nmetadata: {name: gated}\nspec:\n"
             "  schedulingGates: [{name: example.com/quota}]\n"
             "  containers: [{name: app, image: nginx}]\n")
    cluster = Cluster.build(TOPOLOGY, load_text(gated, "gated.yaml"))
    pod = cluster.store.get("Pod", "gated", "default")
    cond = pod.condition("PodScheduled")
    assert not pod.node_name and (cond.status, cond.reason, cond.message) == (
        "False", "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates")
    cluster.store.update(pod.evolve(lambda d: d["spec"].pop("schedulingGates")))
    cluster.settle()
    assert cluster.store.get("Pod", "gated", "default").node_name


CLASSES = "".join(
    f"apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {{name: {name}}}\nvalue: {value}\n---\n"
    for name, value in (("low", 10), ("high", 1000)))


def pod_yaml(name: str, priority_class: str, cpu: str, node_name: str = "") -> str:
    return (f"apiVersion: v1\nkind: Pod\n"
            f"metadata: {{name: {name}, annotations: {{netsim.dev/shutdown-seconds: '10'}}}}\n"
            f"spec:\n  priorityClassName: {priority_class}\n" + (f"  nodeName: {node_name}\n" if node_name else "")
            + f"  containers:\n  - name: app\n    image: registry.k8s.io/pause\n"
            f"    resources: {{requests: {{cpu: '{cpu}'}}}}\n---\n")


def test_a_nominated_pod_keeps_its_room_from_less_important_pods() -> None:
    from netsim.api.apply import apply_manifests

    cluster = Cluster.build(TOPOLOGY, load_text(CLASSES + pod_yaml("victim", "low", "3", "kind-worker")
                                                + pod_yaml("other", "low", "3", "kind-worker2"), "q.yaml"))
    apply_manifests(cluster.store, load_text(pod_yaml("urgent", "high", "2"), "urgent.yaml"))
    cluster.settle()
    assert cluster.store.get("Pod", "urgent", "default").status["nominatedNodeName"] == "kind-worker"
    worker = cluster.store.get("Node", "kind-worker2")
    cluster.store.update(worker.evolve(lambda d: d["spec"].__setitem__("unschedulable", True)))
    # beside the terminating victim there would be room for 500m, but not beside the nominated pod too
    apply_manifests(cluster.store, load_text(pod_yaml("small", "low", "500m"), "small.yaml"))
    cluster.settle()
    small = cluster.store.get("Pod", "small", "default")
    assert not small.node_name
    assert small.condition("PodScheduled").message.startswith(
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable.")
    cluster.advance(15)
    assert cluster.store.get("Pod", "urgent", "default").node_name == "kind-worker"
    assert cluster.store.get("Pod", "small", "default").node_name == "kind-worker"
