"""MemoryPressure on the simulated clock: the kubelet's condition, the node lifecycle controller's
memory-pressure NoSchedule taint (TaintNodesByCondition), pods kept off the node, and the way back 5m later."""

from __future__ import annotations

from pathlib import Path

from netsim.api.apply import apply_manifests
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
HOG = """\
apiVersion: v1
kind: Pod
metadata: {name: hog, annotations: {netsim.dev/memory: 16300Mi}}
spec:
  nodeName: kind-worker
  containers: [{name: app, image: nginx:1.25}]
"""
PINNED = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeSelector: {{kubernetes.io/hostname: kind-worker}}
  containers: [{{name: app, image: nginx:1.25}}]
{extra}"""
TOLERATION = "  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]\n"


def test_memory_pressure_condition_and_taint_keep_pods_off_until_the_transition_period_ends() -> None:
    cluster = Cluster.build(TOPOLOGY, load_text(HOG, "hog.yaml"), horizon=0.0)
    store = cluster.store
    assert store.get("Pod", "hog", "default").status["reason"] == "Evicted"
    node = store.get("Node", "kind-worker")
    pressure = node.condition("MemoryPressure")
    assert (pressure.status, pressure.reason, pressure.message) == (
        "True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
    assert [(t.key, t.effect) for t in node.taints] == [("node.kubernetes.io/memory-pressure", "NoSchedule")]
    assert any(e.reason == "NodeHasInsufficientMemory" and e.message == "Node kind-worker status is now: "
               "NodeHasInsufficientMemory" for e in store.list("Event", "default"))

    apply_manifests(store, load_text(PINNED.format(name="besteffort", extra="") + "---\n"
                                     + PINNED.format(name="tolerant", extra=TOLERATION), "pods.yaml"))
    cluster.settle()
    assert not store.get("Pod", "besteffort", "default").node_name
    failed = [e for e in store.list("Event", "default") if e.reason == "FailedScheduling"]
    assert "untolerated taint {node.kubernetes.io/memory-pressure: }" in failed[-1].message
    assert store.get("Pod", "tolerant", "default").node_name == "kind-worker"

    cluster.advance(299)                       # evictionPressureTransitionPeriod: 5m after the last pressure
    assert store.get("Node", "kind-worker").condition("MemoryPressure").status == "True"
    cluster.advance(1)
    node = store.get("Node", "kind-worker")
    assert node.condition("MemoryPressure").reason == "KubeletHasSufficientMemory" and not node.taints
    assert store.get("Pod", "besteffort", "default").node_name == "kind-worker"


def test_a_registered_node_posts_the_pressure_conditions_and_they_come_back_after_a_failure() -> None:
    cluster = Cluster.build(TOPOLOGY, [], horizon=0.0)
    conditions = lambda: [(c.type, c.status) for c in cluster.store.get("Node", "kind-worker2").conditions]  # noqa: E731
    assert conditions() == [("MemoryPressure", "False"), ("DiskPressure", "False"), ("PIDPressure", "False"),
                            ("Ready", "True")]
    cluster.fail_node("kind-worker2")
    cluster.advance(40)
    assert {status for _, status in conditions()} == {"Unknown"}
    cluster.recover_node("kind-worker2")
    assert conditions() == [("MemoryPressure", "False"), ("DiskPressure", "False"), ("PIDPressure", "False"),
                            ("Ready", "True")]
    reasons = {e.reason for e in cluster.store.list("Event", "default") if e.involved_object.get("name") == "kind-worker2"}
    assert {"NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"} <= reasons


def test_the_kubelet_marks_the_pod_it_evicts_as_a_disruption_target_first_in_its_conditions() -> None:
    cluster = Cluster.build(TOPOLOGY, load_text(HOG, "hog.yaml"), horizon=0.0)
    pod = cluster.store.get("Pod", "hog", "default")
    assert [c.type for c in pod.conditions] == ["DisruptionTarget", "PodReadyToStartContainers", "Initialized",
                                                "Ready", "ContainersReady", "PodScheduled"]
    target = pod.condition("DisruptionTarget")
    assert (target.status, target.reason) == ("True", "TerminationByKubelet")
    assert target.message == pod.status["message"] and target.message.startswith("The node was low on resource: memory.")


def test_the_taint_manager_marks_the_pods_it_deletes_from_a_failed_node() -> None:
    cluster = Cluster.build(TOPOLOGY, load_text(PINNED.format(name="pinned", extra=""), "pod.yaml"), horizon=0.0)
    cluster.fail_node("kind-worker")
    cluster.advance(340)   # 40s node-monitor grace period, then the default 300s toleration of unreachable
    pod = cluster.store.get("Pod", "pinned", "default")
    target = pod.condition("DisruptionTarget")
    assert pod.deletion_timestamp and target is not None
    assert (target.status, target.reason, target.message) == (
        "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
