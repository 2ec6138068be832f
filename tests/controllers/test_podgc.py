"""The pod garbage collector on the simulated clock: each of gc_controller.go's four paths, its 20s period,
the 40s quarantine of a missing node, and the Failed phase (with DisruptionTarget for orphans) before the
forced deletion."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.objects import make_object
from netsim.api.topology import load_topology
from netsim.controllers.podgc import GC_CHECK_PERIOD, eviction_and_creation_order
from netsim.emulator.cluster import Cluster
from netsim.emulator.journal import taint

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx:1.25}]
"""


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0.0)


def pods_on(cluster: Cluster, node: str) -> list:
    return cluster.store.list("Pod", "default", where=lambda p: p.node_name == node)


def pod_writes(cluster: Cluster) -> list:
    """Every watch event on a pod from now on: (type, name, phase, DisruptionTarget condition or None)."""
    seen: list = []

    def record(event) -> None:
        if event.obj.kind == "Pod":
            cond = next((c for c in event.obj.status.get("conditions") or () if c.get("type") == "DisruptionTarget"),
                        None)
            seen.append((event.type, event.obj.name, event.obj.phase, cond))

    cluster.store.watch(record)
    return seen


def test_orphaned_pods_go_after_the_quarantine_failed_with_disruption_target_then_are_replaced() -> None:
    cluster = build(WEB)
    doomed = {p.name for p in pods_on(cluster, "kind-worker")}
    assert doomed
    cluster.advance(5)
    writes = pod_writes(cluster)
    cluster.store.delete("Node", "kind-worker")
    cluster.settle()
    # the pass at 20s finds the orphans and quarantines the node name until 60s; the pass at 40s waits
    cluster.advance(54.9)
    assert {p.name for p in pods_on(cluster, "kind-worker")} == doomed
    cluster.advance(0.1)   # 60s: the pass after the quarantine
    assert cluster.clock.elapsed() == 60
    assert pods_on(cluster, "kind-worker") == []
    for name in doomed:
        mine = [w for w in writes if w[1] == name]
        assert [w[0] for w in mine] == ["MODIFIED", "DELETED"]   # one status write, then gone (grace 0)
        assert mine[0][2] == "Failed"
        assert mine[0][3]["reason"] == "DeletionByPodGC" and mine[0][3]["message"] == "PodGC: node no longer exists"
        assert mine[0][3]["status"] == "True" and mine[0][3]["lastTransitionTime"] == cluster.clock.rfc3339()
    web = cluster.store.list("Pod", "default", where=lambda p: p.labels.get("app") == "web")
    assert len(web) == 4 and all(p.node_name == "kind-worker2" for p in web)   # the ReplicaSet made new ones


def test_a_node_back_within_the_quarantine_keeps_its_pods() -> None:
    cluster = build(WEB)
    node = cluster.store.get("Node", "kind-worker").to_dict()
    kept = {p.name for p in pods_on(cluster, "kind-worker")}
    cluster.advance(5)
    cluster.store.delete("Node", "kind-worker")
    cluster.settle()
    cluster.advance(25)   # 30s: quarantined at 20s
    node["metadata"].pop("resourceVersion", None)
    cluster.store.create(make_object(node))
    cluster.settle()
    cluster.advance(60)
    assert {p.name for p in pods_on(cluster, "kind-worker")} == kept


def test_terminating_pods_on_an_out_of_service_node_go_once_it_is_not_ready() -> None:
    cluster = build(WEB)
    on_worker = {p.name for p in pods_on(cluster, "kind-worker")}
    cluster.fail_node("kind-worker")
    cluster.advance(5)
    lines, _ = taint(cluster, "kind-worker", OUT_OF_SERVICE, "nodeshutdown", "NoExecute", False)
    cluster.settle()
    assert lines == ["node/kind-worker tainted"]
    # the taint eviction controller marks them at once (no toleration); no kubelet finishes them
    assert all(p.deletion_timestamp for p in pods_on(cluster, "kind-worker"))
    writes = pod_writes(cluster)
    cluster.advance(34.9)   # the passes at 20s find the node still Ready: its monitor grace runs to 40s
    assert {p.name for p in pods_on(cluster, "kind-worker")} == on_worker
    cluster.advance(0.1)    # 40s: NotReady, and the pass force-deletes
    assert pods_on(cluster, "kind-worker") == []
    for name in on_worker:
        mine = [w for w in writes if w[1] == name][-2:]   # before them: the node controller's MarkPodsNotReady
        assert [(w[0], w[2]) for w in mine] == [("MODIFIED", "Failed"), ("DELETED", "Failed")]
        assert mine[0][3]["reason"] == "DeletionByTaintManager"   # no condition of PodGC's own on this path


def test_unscheduled_terminating_pods_are_marked_failed_and_deleted() -> None:
    cluster = build("""\
apiVersion: v1
kind: Pod
metadata: {name: nowhere, finalizers: [example.com/hold]}
spec:
  nodeSelector: {disk: none}
  containers: [{name: app, image: nginx:1.25}]
""")
    cluster.advance(3)
    cluster.store.delete("Pod", "nowhere", "default")
    cluster.settle()
    pod = cluster.store.get("Pod", "nowhere", "default")
    assert pod.deletion_timestamp and pod.phase == "Pending"
    cluster.advance(16.9)
    assert cluster.store.get("Pod", "nowhere", "default").phase == "Pending"
    cluster.advance(0.1)   # the pass at 20s
    pod = cluster.store.get("Pod", "nowhere", "default")   # the finalizer still holds it
    assert pod.phase == "Failed" and pod.condition("DisruptionTarget") is None
    cluster.store.update(pod.evolve(lambda d: d["metadata"].pop("finalizers")))
    assert cluster.store.try_get("Pod", "nowhere", "default") is None


def job_pod(name: str) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, annotations: {{netsim.dev/run-seconds: "1"}}}}
spec:
  restartPolicy: Never
  containers: [{{name: app, image: busybox:1.36}}]
"""


def test_terminated_pods_beyond_the_threshold_go_oldest_first() -> None:
    cluster = build(job_pod("first"))
    cluster.podgc.threshold = 1   # --terminated-pod-gc-threshold
    for name in ("second", "third"):
        cluster.advance(2)
        cluster.store.create(load_text(job_pod(name), "t.yaml")[0].obj)
        cluster.settle()
    cluster.advance(3)   # 7s: all three Succeeded, the next pass is at 20s
    assert [p.phase for p in cluster.store.list("Pod", "default")] == ["Succeeded"] * 3
    cluster.advance(13)
    assert [p.name for p in cluster.store.list("Pod", "default")] == ["third"]
    assert cluster.store.get("Pod", "third", "default").phase == "Succeeded"   # a finished pod keeps its phase


def test_evicted_pods_sort_before_older_ones() -> None:
    def pod(name: str, created: str, phase: str, reason: str = "") -> object:
        return make_object({"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
                            "spec": {"containers": [{"name": "c", "image": "x"}]},
                            "status": {"phase": phase, **({"reason": reason} if reason else {})}})

    pods = [pod("b-old", "2024-01-01T00:00:00Z", "Succeeded"), pod("a-old", "2024-01-01T00:00:00Z", "Failed"),
            pod("evicted", "2024-01-01T00:05:00Z", "Failed", "Evicted")]
    assert [p.name for p in sorted(pods, key=eviction_and_creation_order)] == ["evicted", "a-old", "b-old"]


def test_a_quiet_cluster_gets_no_podgc_wakeups() -> None:
    cluster = build(WEB)
    assert cluster.queue.peek() == float("inf")
    cluster.store.delete("Node", "kind-worker")
    cluster.settle()
    assert cluster.queue.peek() == cluster.clock.now() + GC_CHECK_PERIOD   # orphans: the next tick


def test_an_evicted_pod_of_a_deleted_node_keeps_its_disruption_time_under_podgcs_reason() -> None:
    cluster = build(WEB)
    cluster.fail_node("kind-worker")
    cluster.advance(345)   # NotReady at 40s, evicted by the taint manager at 340s: Terminating for good
    marked = {p.name: p.condition("DisruptionTarget") for p in pods_on(cluster, "kind-worker")}
    assert marked and all(c.reason == "DeletionByTaintManager" for c in marked.values())
    writes = pod_writes(cluster)
    cluster.store.delete("Node", "kind-worker")
    cluster.settle()
    cluster.advance(55)    # quarantined at the 360s pass, deleted at the 400s one
    assert pods_on(cluster, "kind-worker") == []
    for name, before in marked.items():
        failed = next(w for w in writes if w[1] == name and w[0] == "MODIFIED")
        assert failed[2] == "Failed" and failed[3]["reason"] == "DeletionByPodGC"
        assert failed[3]["lastTransitionTime"] == before.last_transition_time   # still True: the time stays


def test_a_deleted_nodes_pods_leave_the_endpoint_slices_at_once() -> None:
    service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
    cluster = build(WEB + service)
    doomed = {p.status["podIP"] for p in pods_on(cluster, "kind-worker")}

    def addresses() -> set:
        return {a for s in cluster.store.list("EndpointSlice", "default") for e in s.get("endpoints") or ()
                for a in e["addresses"]}

    assert doomed and doomed <= addresses()
    cluster.store.delete("Node", "kind-worker")
    cluster.settle()
    assert pods_on(cluster, "kind-worker")            # PodGC has not removed them yet
    assert not doomed & addresses()                   # but the reconciler skips pods whose Node is gone
