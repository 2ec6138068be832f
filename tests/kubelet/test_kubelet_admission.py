"""The kubelet's admit handlers for pods bound with spec.nodeName: the eviction manager's under MemoryPressure and
the resource fit, each refusal written as rejectPod does (phase Failed, reason, "Pod was rejected: ...")."""

from __future__ import annotations

from pathlib import Path

from netsim.api.apply import apply_manifests
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.controllers.scheduler_snapshot import pod_requests
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
BOUND = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: kind-worker
{extra}  containers:
  - name: app
    image: nginx:1.25
{resources}"""
REQUESTS = "    resources: {{requests: {{cpu: {cpu}, memory: 64Mi}}}}\n"


def under_pressure() -> Cluster:
    cluster = Cluster.build(TOPOLOGY, load_text(HOG, "hog.yaml"), horizon=0.0)
    assert cluster.store.get("Node", "kind-worker").condition("MemoryPressure").status == "True"
    return cluster


def add(cluster: Cluster, name: str, extra: str = "", resources: str = "") -> None:
    apply_manifests(cluster.store, load_text(BOUND.format(name=name, extra=extra, resources=resources), "pod.yaml"))
    cluster.settle()


def test_a_best_effort_pod_bound_under_memory_pressure_is_rejected_as_evicted() -> None:
    cluster = under_pressure()
    add(cluster, "besteffort")
    pod = cluster.store.get("Pod", "besteffort", "default")
    assert (pod.phase, pod.status["reason"], pod.status["message"]) == (
        "Failed", "Evicted", "Pod was rejected: The node had condition: [MemoryPressure]. ")
    assert not pod.status.get("containerStatuses") and not pod.pod_ip
    assert table("Pod", [pod], cluster.clock.now()).splitlines()[1].split()[2] == "Evicted"
    refusals = [(e.type, e.reason, e.message) for e in cluster.store.list("Event", "default")
                if e.involved_object.get("name") == "besteffort"]
    assert refusals == [("Warning", "Evicted", "The node had condition: [MemoryPressure]. ")]
    cluster.advance(600)   # a rejected pod stays rejected when the pressure is over
    assert cluster.store.get("Pod", "besteffort", "default").phase == "Failed"


def test_burstable_tolerating_and_critical_pods_are_admitted_under_memory_pressure() -> None:
    cluster = under_pressure()
    add(cluster, "burstable", resources=REQUESTS.format(cpu="100m"))
    add(cluster, "tolerant", extra="  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, "
                                   "effect: NoSchedule}]\n")
    add(cluster, "critical", extra="  priorityClassName: system-node-critical\n")
    for name in ("burstable", "tolerant", "critical"):
        assert cluster.store.get("Pod", name, "default").phase == "Running", name


def test_once_the_pressure_is_over_a_best_effort_pod_is_admitted() -> None:
    cluster = under_pressure()
    cluster.advance(300)   # evictionPressureTransitionPeriod
    add(cluster, "later")
    assert cluster.store.get("Pod", "later", "default").phase == "Running"


def test_a_pod_bound_to_a_node_it_does_not_fit_is_rejected_out_of_cpu() -> None:
    cluster = Cluster.build(TOPOLOGY, [], horizon=0.0)
    used = sum(pod_requests(p).get("cpu", 0) for p in cluster.store.list("Pod")  # type: ignore[arg-type]
               if p.node_name == "kind-worker")
    add(cluster, "small", resources=REQUESTS.format(cpu="500m"))
    add(cluster, "big", resources=REQUESTS.format(cpu="4"))
    assert cluster.store.get("Pod", "small", "default").phase == "Running"
    pod = cluster.store.get("Pod", "big", "default")
    message = f"Node didn't have enough resource: cpu, requested: 4000, used: {used + 500}, capacity: 4000"
    assert (pod.phase, pod.status["reason"], pod.status["message"]) == ("Failed", "OutOfcpu",
                                                                        "Pod was rejected: " + message)
    assert any(e.reason == "OutOfcpu" and e.message == message for e in cluster.store.list("Event", "default"))
    cluster.store.delete("Pod", "big", "default")   # a rejected pod is removed at once when deleted
    cluster.settle()
    assert cluster.store.try_get("Pod", "big", "default") is None
