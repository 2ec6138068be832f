"""StatefulSet persistentVolumeClaimRetentionPolicy: the claims' ownerReferences, and what the garbage collector
then deletes when the set is scaled down or deleted."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]


def _set(replicas: int = 3, when_deleted: str | None = None, when_scaled: str | None = None) -> str:
    policy = ""
    if when_deleted or when_scaled:
        fields = ", ".join(f"{k}: {v}" for k, v in (("whenDeleted", when_deleted), ("whenScaled", when_scaled)) if v)
        policy = f"  persistentVolumeClaimRetentionPolicy: {{{fields}}}\n"
    return f"""\
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: default}}
spec:
  replicas: {replicas}
  serviceName: db
  podManagementPolicy: Parallel
{policy}  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}, annotations: {{netsim.dev/shutdown-seconds: "10"}}}}
    spec:
      containers:
      - name: db
        image: postgres
        volumeMounts: [{{name: data, mountPath: /var/lib/postgresql}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
"""


def _cluster(text: str) -> Cluster:
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), load_text(text), seed=0)
    cluster.advance(30)
    return cluster


def _claims(cluster: Cluster) -> dict[str, list[tuple[str, str, bool]]]:
    """claim name -> its ownerReferences as (kind, name, controller)."""
    return {c.name: [(r.kind, r.name, r.controller) for r in c.owner_references]
            for c in cluster.store.list("PersistentVolumeClaim", "default")}


def test_retain_leaves_the_claims_unowned_and_keeps_them() -> None:
    cluster = _cluster(_set())
    assert _claims(cluster) == {f"data-db-{n}": [] for n in range(3)}
    cluster.store.patch("StatefulSet", "db", "default", {"spec": {"replicas": 1}})
    cluster.advance(60)
    cluster.store.delete("StatefulSet", "db", "default")
    cluster.advance(60)
    assert sorted(_claims(cluster)) == ["data-db-0", "data-db-1", "data-db-2"]


def test_when_deleted_delete_makes_the_set_the_controller_and_the_claims_go_with_it() -> None:
    cluster = _cluster(_set(when_deleted="Delete"))
    claims = _claims(cluster)
    assert claims == {f"data-db-{n}": [("StatefulSet", "db", True)] for n in range(3)}
    claim = cluster.store.get("PersistentVolumeClaim", "data-db-0", "default")
    assert claim.owner_references[0].uid == cluster.store.get("StatefulSet", "db", "default").uid
    cluster.store.patch("StatefulSet", "db", "default", {"spec": {"replicas": 1}})
    cluster.advance(60)
    assert sorted(_claims(cluster)) == ["data-db-0", "data-db-1", "data-db-2"]   # whenScaled Retain
    cluster.store.delete("StatefulSet", "db", "default")
    cluster.advance(60)
    assert _claims(cluster) == {}
    assert not cluster.store.list("Pod", "default")


def test_when_scaled_delete_hands_condemned_claims_to_their_pods() -> None:
    cluster = _cluster(_set(when_scaled="Delete"))
    assert _claims(cluster) == {f"data-db-{n}": [] for n in range(3)}
    cluster.store.patch("StatefulSet", "db", "default", {"spec": {"replicas": 1}})
    cluster.settle()
    claims = _claims(cluster)
    assert claims["data-db-0"] == []
    assert claims["data-db-1"] == [("Pod", "db-1", True)] and claims["data-db-2"] == [("Pod", "db-2", True)]
    cluster.advance(60)
    assert sorted(_claims(cluster)) == ["data-db-0"]
    # scaling up again makes fresh claims; deleting the set keeps them (whenDeleted Retain)
    cluster.store.patch("StatefulSet", "db", "default", {"spec": {"replicas": 2}})
    cluster.advance(60)
    assert _claims(cluster) == {"data-db-0": [], "data-db-1": []}
    cluster.store.delete("StatefulSet", "db", "default")
    cluster.advance(60)
    assert sorted(_claims(cluster)) == ["data-db-0", "data-db-1"]


def test_both_delete_moves_a_condemned_claim_from_the_set_to_its_pod() -> None:
    cluster = _cluster(_set(when_deleted="Delete", when_scaled="Delete"))
    assert _claims(cluster)["data-db-2"] == [("StatefulSet", "db", True)]
    cluster.store.patch("StatefulSet", "db", "default", {"spec": {"replicas": 2}})
    cluster.settle()
    assert _claims(cluster)["data-db-2"] == [("Pod", "db-2", True)]
    cluster.advance(60)
    assert sorted(_claims(cluster)) == ["data-db-0", "data-db-1"]
    cluster.store.delete("StatefulSet", "db", "default")
    cluster.advance(60)
    assert _claims(cluster) == {}


def test_a_claim_another_controller_owns_is_left_alone() -> None:
    claim = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data-db-0
  namespace: default
  ownerReferences: [{apiVersion: example.com/v1, kind: Backup, name: nightly, uid: u-1, controller: true}]
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
"""
    cluster = _cluster(claim + _set(replicas=2, when_deleted="Delete"))
    assert _claims(cluster) == {"data-db-0": [("Backup", "nightly", True)],
                                "data-db-1": [("StatefulSet", "db", True)]}


def test_a_pod_waits_while_its_claim_is_being_deleted() -> None:
    cluster = _cluster(_set(replicas=1))
    cluster.store.delete("PersistentVolumeClaim", "data-db-0", "default")   # kept by pvc-protection
    cluster.store.delete("Pod", "db-0", "default")
    cluster.advance(60)
    warnings = {e.message for e in cluster.store.list("Event", "default") if e.reason == "FailedCreate"}
    assert "create Pod db-0 in StatefulSet db failed error: pvc data-db-0 is being deleted" in warnings
    assert cluster.store.get("Pod", "db-0", "default").phase == "Running"   # recreated once the claim was gone
    assert cluster.store.get("PersistentVolumeClaim", "data-db-0", "default").deletion_timestamp is None
