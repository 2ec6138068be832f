"""StatefulSet minReadySeconds, partitioned rolling updates, the revision status fields and maxUnavailable
(behind the MaxUnavailableStatefulSet feature gate), on the simulated clock."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def statefulset(replicas: int = 3, spec: str = "") -> str:
    return f"""\
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: default}}
spec:
  replicas: {replicas}
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
{spec}  template:
    metadata: {{labels: {{app: db}}, annotations: {{netsim.dev/shutdown-seconds: "2"}}}}
    spec:
      containers: [{{name: db, image: "postgres:16"}}]
"""


def build(text: str, gates: dict | None = None) -> Cluster:
    topology = TOPOLOGY if gates is None else dataclasses.replace(TOPOLOGY, feature_gates=tuple(gates.items()))
    return Cluster.build(topology, load_text(text, "test.yaml"), horizon=0)


def images(cluster: Cluster) -> dict[str, str]:
    return {p.name: p.spec["containers"][0]["image"] for p in cluster.store.list("Pod", "default")
            if p.labels.get("app") == "db" and not p.deletion_timestamp}


def set_image(cluster: Cluster, image: str) -> None:
    cluster.store.patch("StatefulSet", "db", "default",
                        {"spec": {"template": {"spec": {"containers": [{"name": "db", "image": image}]}}}})


def test_min_ready_seconds_spaces_the_ordinals_and_counts_available() -> None:
    cluster = build(statefulset(spec="  minReadySeconds: 10\n"))
    created = {name: cluster.clock.elapsed() for name in images(cluster)}
    while "db-2" not in created:
        cluster.advance(1)
        for name in images(cluster):
            created.setdefault(name, cluster.clock.elapsed())
    cluster.advance(1)
    assert created["db-1"] - created["db-0"] >= 10 and created["db-2"] - created["db-1"] >= 10
    status = cluster.store.get("StatefulSet", "db", "default").status
    assert status["readyReplicas"] == 3 and status["availableReplicas"] == 2      # db-2 is Ready, not yet 10s
    cluster.advance(10)
    assert cluster.store.get("StatefulSet", "db", "default").status["availableReplicas"] == 3


def test_partition_keeps_the_low_ordinals_at_the_current_revision() -> None:
    cluster = build(statefulset(spec="  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}\n"))
    cluster.advance(30)
    before = cluster.store.get("StatefulSet", "db", "default").status
    set_image(cluster, "postgres:17")
    cluster.advance(30)
    assert images(cluster) == {"db-0": "postgres:16", "db-1": "postgres:16", "db-2": "postgres:17"}
    status = cluster.store.get("StatefulSet", "db", "default").status
    assert status["currentRevision"] == before["currentRevision"] != status["updateRevision"]
    assert status["currentReplicas"] == 2 and status["updatedReplicas"] == 1
    cluster.store.delete("Pod", "db-0", "default")     # recreated from the current revision, below the partition
    cluster.advance(30)
    assert images(cluster)["db-0"] == "postgres:16"
    cluster.store.patch("StatefulSet", "db", "default",
                        {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})
    cluster.advance(60)
    assert set(images(cluster).values()) == {"postgres:17"}
    status = cluster.store.get("StatefulSet", "db", "default").status
    assert status["currentRevision"] == status["updateRevision"] and status["currentReplicas"] == 3


def _deleted_together(cluster: Cluster) -> int:
    """The most pods terminating at once during a rollout."""
    most = 0
    for _ in range(120):
        cluster.advance(0.5)
        most = max(most, sum(1 for p in cluster.store.list("Pod", "default") if p.deletion_timestamp))
    return most


def test_max_unavailable_needs_its_feature_gate() -> None:
    spec = "  podManagementPolicy: Parallel\n  updateStrategy: {rollingUpdate: {maxUnavailable: 2}}\n"
    off = build(statefulset(replicas=4, spec=spec))
    off.advance(10)
    set_image(off, "postgres:17")
    assert _deleted_together(off) == 1
    on = build(statefulset(replicas=4, spec=spec), gates={"MaxUnavailableStatefulSet": True})
    on.advance(10)
    set_image(on, "postgres:17")
    assert _deleted_together(on) == 2
    assert set(images(on).values()) == {"postgres:17"}
