"""Pod creates the API server refuses: FailedCreate events, ReplicaFailure conditions, rate-limited retries."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.controllers.workloads import RetryQueue, slow_start_batch
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
SA_REFUSAL = 'is forbidden: error looking up service account default/missing: serviceaccount "missing" not found'


def workload(kind: str, name: str, pod_spec: str, replicas: int | None = 3) -> str:
    api = "batch/v1" if kind == "Job" else "apps/v1"
    lines = [f"apiVersion: {api}", f"kind: {kind}", f"metadata: {{name: {name}}}", "spec:"]
    if replicas is not None:
        lines.append(f"  replicas: {replicas}")
    if kind == "StatefulSet":
        lines.append(f"  serviceName: {name}")
    if kind != "Job":
        lines.append(f"  selector: {{matchLabels: {{app: {name}}}}}")
    lines += ["  template:", f"    metadata: {{labels: {{app: {name}}}}}", "    spec:", pod_spec,
              "      containers: [{name: app, image: nginx:1.25}]"]
    if kind == "Job":
        lines.append("      restartPolicy: Never")
    return "\n".join(lines) + "\n"


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0.0)


def events(cluster: Cluster, kind: str, name: str, reason: str) -> list:
    return [e for e in cluster.store.list("Event", "default")
            if e.involved_object.get("kind") == kind and e.involved_object.get("name") == name and e.reason == reason]


def condition(obj, type_: str) -> dict | None:
    return next((c for c in obj.status.get("conditions") or () if c.get("type") == type_), None)


def test_replicaset_refused_create_is_an_event_and_conditions_on_replicaset_and_deployment() -> None:
    cluster = build(workload("Deployment", "web", "      serviceAccountName: missing"))
    [rs] = cluster.store.list("ReplicaSet", "default")
    [event] = events(cluster, "ReplicaSet", rs.name, "FailedCreate")
    refusal = f'pods "{rs.name}-" {SA_REFUSAL}'       # the generateName prefix: admission runs before naming
    assert (event.type, event.message, event.get("count")) == ("Warning", f"Error creating: {refusal}", 1)
    assert event.get("source.component") == "replicaset-controller"
    cond = condition(rs, "ReplicaFailure")
    assert cond == {"type": "ReplicaFailure", "status": "True", "lastTransitionTime": cond["lastTransitionTime"],
                    "reason": "FailedCreate", "message": refusal}
    deploy = cluster.store.get("Deployment", "web", "default")
    dcond = condition(deploy, "ReplicaFailure")
    assert (dcond["status"], dcond["reason"], dcond["message"]) == ("True", "FailedCreate", refusal)
    assert dcond["lastUpdateTime"] == dcond["lastTransitionTime"] == cond["lastTransitionTime"]
    assert cluster.store.list("Pod", "default", where=lambda p: p.labels.get("app") == "web") == []


def test_retries_back_off_exponentially_into_one_counted_event() -> None:
    cluster = build(workload("Deployment", "web", "      serviceAccountName: missing"))
    [rs] = cluster.store.list("ReplicaSet", "default")
    cluster.advance(60)
    # tries at 5 ms * (2^k - 1): k = 0..13 fall within 60 s
    [event] = events(cluster, "ReplicaSet", rs.name, "FailedCreate")
    assert event.get("count") == 14
    assert cluster.retries.failures(("replicaset-controller", rs.uid)) == 14


def test_pods_come_and_conditions_go_once_the_account_exists() -> None:
    cluster = build(workload("Deployment", "web", "      serviceAccountName: missing"))
    cluster.advance(60)
    cluster.store.create({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "missing", "namespace": "default"}})
    cluster.advance(5)
    assert len(cluster.store.list("Pod", "default", where=lambda p: p.labels.get("app") == "web")) == 0
    cluster.advance(25)      # the 15th try, at 5 ms * (2^14 - 1) = 81.9 s
    [rs] = cluster.store.list("ReplicaSet", "default")
    assert len(cluster.store.list("Pod", "default", where=lambda p: p.labels.get("app") == "web")) == 3
    assert condition(rs, "ReplicaFailure") is None
    assert condition(cluster.store.get("Deployment", "web", "default"), "ReplicaFailure") is None
    assert cluster.retries.failures(("replicaset-controller", rs.uid)) == 0
    assert len(events(cluster, "ReplicaSet", rs.name, "SuccessfulCreate")) == 3


def test_statefulset_refusal_uses_the_pod_name_and_its_own_message() -> None:
    cluster = build(workload("StatefulSet", "db", "      serviceAccountName: missing"))
    [event] = events(cluster, "StatefulSet", "db", "FailedCreate")
    assert event.type == "Warning"
    assert event.message == f'create Pod db-0 in StatefulSet db failed error: pods "db-0" {SA_REFUSAL}'
    sts = cluster.store.get("StatefulSet", "db", "default")
    assert sts.status.get("replicas") == 0 and sts.status.get("observedGeneration") == 1
    cluster.advance(1)        # tries at 0, 5, 15, ... 635 ms, 1.275 s
    assert events(cluster, "StatefulSet", "db", "FailedCreate")[0].get("count") == 8


def test_daemonset_refusal_stops_the_slow_start_at_the_first_pod() -> None:
    cluster = build(workload("DaemonSet", "agent", "      priorityClassName: missing", replicas=None))
    [event] = events(cluster, "DaemonSet", "agent", "FailedCreate")
    assert event.message == 'Error creating: pods "agent-" is forbidden: no PriorityClass with name missing was found'
    assert event.get("count") == 1            # one try per sync: the first batch is one pod
    assert cluster.store.get("DaemonSet", "agent", "default").status.get("desiredNumberScheduled") == 2   # the workers


def test_job_retries_on_its_own_back_off() -> None:
    cluster = build(workload("Job", "pi", "      serviceAccountName: missing", replicas=None))
    [event] = events(cluster, "Job", "pi", "FailedCreate")
    assert event.message == f'Error creating: pods "pi-" {SA_REFUSAL}'
    cluster.advance(4)        # DefaultJobApiBackOff: tries at 0, 1 s, 3 s
    assert events(cluster, "Job", "pi", "FailedCreate")[0].get("count") == 3
    cluster.store.create({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "missing", "namespace": "default"}})
    cluster.advance(4)        # the next try, at 7 s
    assert len(cluster.store.list("Pod", "default", where=lambda p: p.labels.get("app") == "pi")) == 1


def test_slow_start_batches_double_and_stop_after_the_batch_with_an_error() -> None:
    calls: list[int] = []

    def create() -> str | None:
        calls.append(len(calls))
        return "refused" if len(calls) == 5 else None

    assert slow_start_batch(20, create) == (6, "refused")   # batches 1, 2, 4: the third is made in full
    assert len(calls) == 7
    calls.clear()
    assert slow_start_batch(4, lambda: calls.append(0)) == (4, None)
    assert len(calls) == 4


def test_retry_queue_doubles_to_its_cap_and_forgets() -> None:
    retries = RetryQueue()
    key = ("c", "uid")
    assert [retries.failed(key, 0.0, 1.0, 60.0) for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retries.waiting(key, 59.0) == 60 and retries.waiting(key, 60.0) is None
    retries.forget(key)
    assert retries.failed(key, 100.0, 1.0, 60.0) == 101.0
