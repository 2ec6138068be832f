"""The Deployment controller's rollout bookkeeping on the simulated clock: minReadySeconds, the Available and
Progressing conditions, progressDeadlineSeconds, pause and resume, proportional scaling, revisionHistoryLimit."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def deployment(replicas: int = 3, spec: str = "", annotations: str = "{}") -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: default}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
{spec}  template:
    metadata: {{labels: {{app: web}}, annotations: {annotations}}}
    spec:
      containers: [{{name: app, image: nginx:1.25, resources: {{requests: {{cpu: 10m}}}}}}]
"""


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0)


def conditions(cluster: Cluster) -> list[tuple[str, str, str, str]]:
    deploy = cluster.store.get("Deployment", "web", "default")
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in deploy.status.get("conditions") or ()]


def replicasets(cluster: Cluster) -> dict[str, int]:
    """ReplicaSet image -> spec.replicas."""
    return {rs.template["spec"]["containers"][0]["image"]: rs.replicas
            for rs in cluster.store.list("ReplicaSet", "default")}


def newest(cluster: Cluster):
    return max(cluster.store.list("ReplicaSet", "default"),
               key=lambda rs: int(rs.annotations["deployment.kubernetes.io/revision"]))


def set_image(cluster: Cluster, image: str, annotations: dict | None = None) -> None:
    template = {"spec": {"containers": [{"name": "app", "image": image, "resources": {"requests": {"cpu": "10m"}}}]}}
    if annotations is not None:
        template["metadata"] = {"annotations": annotations}
    cluster.store.patch("Deployment", "web", "default", {"spec": {"template": template}})


def events(cluster: Cluster, reason: str) -> list[str]:
    return [e.message for e in sorted(cluster.store.list("Event", "default"), key=lambda e: int(e.resource_version))
            if e.reason == reason]


def test_a_finished_rollout_has_the_controllers_conditions_in_its_order() -> None:
    cluster = build(deployment())
    cluster.advance(5)
    rs = newest(cluster).name
    assert conditions(cluster) == [
        ("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        ("Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs}" has successfully progressed.'),
    ]
    assert events(cluster, "ScalingReplicaSet") == [f"Scaled up replica set {rs} from 0 to 3"]


def test_min_ready_seconds_delays_availability_and_paces_the_rollout() -> None:
    cluster = build(deployment(spec="  minReadySeconds: 10\n"))
    store = cluster.store
    rs = newest(cluster)
    assert rs.spec["minReadySeconds"] == 10
    cluster.advance(5)
    deploy = store.get("Deployment", "web", "default")
    assert deploy.status["readyReplicas"] == 3 and "availableReplicas" not in deploy.status
    assert deploy.status["unavailableReplicas"] == 3
    assert conditions(cluster)[0][:3] == ("Available", "False", "MinimumReplicasUnavailable")
    assert conditions(cluster)[1][2] == "ReplicaSetUpdated"
    cluster.advance(6)
    deploy = store.get("Deployment", "web", "default")
    assert deploy.status["availableReplicas"] == 3 and store.get("ReplicaSet", rs.name, "default") \
        .status["availableReplicas"] == 3
    assert conditions(cluster)[1][2] == "NewReplicaSetAvailable"
    # a rollout: 3 replicas, maxSurge 1, maxUnavailable 0 -> one old pod goes per new pod available
    start = cluster.clock.elapsed()
    set_image(cluster, "nginx:1.26")
    done = {}
    for _ in range(60):
        cluster.advance(1)
        old = replicasets(cluster)["nginx:1.25"]
        done.setdefault(old, cluster.clock.elapsed() - start)
        if old == 0:
            break
    assert sorted(done) == [0, 1, 2, 3]
    assert done[2] >= 10 and done[1] >= 20 and done[0] >= 30     # each step waits minReadySeconds


def test_progress_deadline_exceeded_when_the_new_pods_never_start() -> None:
    cluster = build(deployment(replicas=10, spec="  progressDeadlineSeconds: 60\n  strategy: {rollingUpdate: "
                                                 "{maxSurge: 3, maxUnavailable: 2}}\n"))
    cluster.advance(5)
    set_image(cluster, "nginx:broken", {"netsim.dev/create-error": "image not found"})
    cluster.advance(30)
    assert replicasets(cluster) == {"nginx:1.25": 8, "nginx:broken": 5}
    rs = newest(cluster).name
    assert conditions(cluster)[-1] == ("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs}" is progressing.')
    cluster.advance(40)
    assert conditions(cluster) == [
        ("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        ("Progressing", "False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs}" has timed out progressing.'),
    ]
    # scaling 10 -> 15 mid-rollout shares the 5 out by size: 3 to the old ReplicaSet, 2 to the new one
    cluster.store.patch("Deployment", "web", "default", {"spec": {"replicas": 15}})
    cluster.settle()
    assert replicasets(cluster) == {"nginx:1.25": 11, "nginx:broken": 7}
    for rs_obj in cluster.store.list("ReplicaSet", "default"):
        assert rs_obj.annotations["deployment.kubernetes.io/desired-replicas"] == "15"
        assert rs_obj.annotations["deployment.kubernetes.io/max-replicas"] == "18"
    assert events(cluster, "ScalingReplicaSet")[-2:] == [
        f"Scaled up replica set {min(cluster.store.list('ReplicaSet', 'default'), key=lambda r: r.creation_timestamp).name} from 8 to 11",
        f"Scaled up replica set {rs} from 5 to 7"]


def test_the_deadline_condition_comes_a_deadline_after_the_last_progress() -> None:
    cluster = build(deployment(replicas=2, spec="  progressDeadlineSeconds: 30\n"))
    cluster.advance(5)
    set_image(cluster, "nginx:broken", {"netsim.dev/create-error": "image not found"})
    cluster.settle()
    changed = cluster.clock.now()
    seen = None
    for _ in range(40):
        cluster.advance(1)
        if conditions(cluster)[-1][2] == "ProgressDeadlineExceeded":
            seen = cluster.clock.now() - changed
            break
    assert seen is not None and 30 < seen <= 32


def test_paused_deployment_does_not_roll_and_resumes() -> None:
    cluster = build(deployment())
    cluster.advance(5)
    cluster.store.patch("Deployment", "web", "default", {"spec": {"paused": True}})
    cluster.settle()
    assert conditions(cluster)[-1] == ("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
    set_image(cluster, "nginx:1.26")
    cluster.advance(30)
    assert replicasets(cluster) == {"nginx:1.25": 3}
    cluster.store.patch("Deployment", "web", "default", {"spec": {"replicas": 5}})   # scaling still works
    cluster.settle()
    assert replicasets(cluster) == {"nginx:1.25": 5}
    cluster.store.patch("Deployment", "web", "default", {"spec": {"paused": False}})
    cluster.settle()
    reasons = [c[2] for c in conditions(cluster)]
    assert "DeploymentPaused" not in reasons
    cluster.advance(30)
    assert replicasets(cluster) == {"nginx:1.25": 0, "nginx:1.26": 5}
    assert conditions(cluster)[-1][2] == "NewReplicaSetAvailable"


def test_revision_history_limit_deletes_the_oldest_idle_replicasets() -> None:
    cluster = build(deployment(replicas=1, spec="  revisionHistoryLimit: 1\n"))
    for image in ("nginx:1.26", "nginx:1.27", "nginx:1.28"):
        cluster.advance(5)
        set_image(cluster, image)
    cluster.advance(30)
    assert replicasets(cluster) == {"nginx:1.27": 0, "nginx:1.28": 1}
    # a rollback reuses the retained ReplicaSet and keeps its old revision number in the history annotation
    from netsim.controllers.deployment import rollback
    rollback(cluster.store, cluster.store.get("Deployment", "web", "default"))
    cluster.advance(30)
    back = newest(cluster)
    assert back.template["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert back.annotations["deployment.kubernetes.io/revision"] == "5"
    assert back.annotations["deployment.kubernetes.io/revision-history"] == "3"


def test_recreate_is_unavailable_while_the_pods_are_replaced() -> None:
    cluster = build(deployment(spec="  strategy: {type: Recreate}\n",
                               annotations='{"netsim.dev/shutdown-seconds": "5"}'))
    cluster.advance(5)
    set_image(cluster, "nginx:1.26")
    cluster.settle()
    assert replicasets(cluster) == {"nginx:1.25": 0}      # the new ReplicaSet waits for the old pods to go
    assert conditions(cluster)[-1][:3] == ("Available", "False", "MinimumReplicasUnavailable")  # appended last
    cluster.advance(30)
    assert replicasets(cluster) == {"nginx:1.25": 0, "nginx:1.26": 3}
    assert conditions(cluster)[-1][2] == "NewReplicaSetAvailable"


def test_replicaset_min_ready_seconds() -> None:
    text = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: plain, namespace: default}
spec:
  replicas: 2
  minReadySeconds: 7
  selector: {matchLabels: {app: plain}}
  template:
    metadata: {labels: {app: plain}}
    spec: {containers: [{name: app, image: nginx}]}
"""
    cluster = build(text)
    cluster.advance(3)
    rs = cluster.store.get("ReplicaSet", "plain", "default")
    assert rs.status["readyReplicas"] == 2 and "availableReplicas" not in rs.status
    cluster.advance(10)
    assert cluster.store.get("ReplicaSet", "plain", "default").status["availableReplicas"] == 2


def test_the_new_replicaset_carries_the_deployments_annotations() -> None:
    text = deployment().replace("metadata: {name: web, namespace: default}",
                                "metadata: {name: web, namespace: default, annotations: "
                                "{kubernetes.io/change-cause: first, kubectl.kubernetes.io/last-applied-configuration: '{}'}}")
    cluster = build(text)
    rs = newest(cluster)
    assert rs.annotations["kubernetes.io/change-cause"] == "first"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in rs.annotations
    cluster.store.patch("Deployment", "web", "default", {"metadata": {"annotations": {
        "kubernetes.io/change-cause": "second"}}})
    cluster.settle()
    assert newest(cluster).annotations["kubernetes.io/change-cause"] == "second"
