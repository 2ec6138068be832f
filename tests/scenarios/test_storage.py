"""StatefulSet volumes in three zones: each pod keeps its own claim and zonal volume; the seed's
`volume node affinity conflict` and its repair (delete the claim, recreate the StatefulSet)."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.get import get
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
ZONE = "topology.kubernetes.io/zone"

CLASS = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: gp3-encrypted}
provisioner: ebs.csi.aws.com
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
"""
STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: prometheus, namespace: default}
spec:
  replicas: 3
  serviceName: prometheus
  selector: {matchLabels: {app: prometheus}}
  template:
    metadata: {labels: {app: prometheus}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - {labelSelector: {matchLabels: {app: prometheus}}, topologyKey: topology.kubernetes.io/zone}
      containers:
      - name: prometheus
        image: prom/prometheus
        volumeMounts: [{name: prometheus-db, mountPath: /prometheus}]
  volumeClaimTemplates:
  - metadata: {name: prometheus-db}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: gp3-encrypted
      resources: {requests: {storage: 200Gi}}
"""


def _cluster() -> Cluster:
    return Cluster.build(load_topology(ROOT / "topologies/three-zone.yaml"), load_text(CLASS + "---\n" + STATEFULSET),
                         seed=0)


def _placement(cluster: Cluster) -> dict[str, tuple[str, str, str]]:
    """pod -> (claim, volume, zone of the pod's node), checking the volume's zone is the node's."""
    store = cluster.store
    out = {}
    for pod in store.list("Pod", "default", where=lambda p: p.labels.get("app") == "prometheus"):
        (claim_name,) = [v["persistentVolumeClaim"]["claimName"] for v in pod.spec["volumes"]
                         if v.get("persistentVolumeClaim")]
        claim = store.get("PersistentVolumeClaim", claim_name, "default")
        pv = store.get("PersistentVolume", claim.spec["volumeName"])
        zone = store.get("Node", pod.node_name).labels[ZONE]
        (term,) = pv.spec["nodeAffinity"]["required"]["nodeSelectorTerms"]
        assert term["matchExpressions"][0]["values"] == [zone]
        out[pod.name] = (claim_name, pv.name, zone)
    return out


def test_statefulset_pods_come_back_on_their_own_volumes() -> None:
    cluster = _cluster()
    before = _placement(cluster)
    assert sorted(before) == ["prometheus-0", "prometheus-1", "prometheus-2"]
    assert {p: c for p, (c, _, _) in before.items()} == {f"prometheus-{n}": f"prometheus-db-prometheus-{n}"
                                                          for n in range(3)}
    assert len({z for _, _, z in before.values()}) == 3
    for n in range(3):
        cluster.store.delete("Pod", f"prometheus-{n}", "default")
    cluster.advance(120)
    assert _placement(cluster) == before
    assert all(p.phase == "Running" for p in cluster.store.list("Pod", "default"))
    # deleting the StatefulSet keeps the claims (Retain), and a new one mounts them again
    cluster.store.delete("StatefulSet", "prometheus", "default")
    cluster.advance(120)
    assert not cluster.store.list("Pod", "default", where=lambda p: p.labels.get("app") == "prometheus")
    assert len(cluster.store.list("PersistentVolumeClaim", "default")) == 3
    cluster.store.create(load_text(STATEFULSET)[0].obj)
    cluster.advance(120)
    assert _placement(cluster) == before
    text = get(cluster, "pvc")
    assert text.splitlines()[1].split()[:6] == ["prometheus-db-prometheus-0", "Bound", before["prometheus-0"][1],
                                                "200Gi", "RWO", "gp3-encrypted"]


def test_volume_node_affinity_conflict_and_its_repair() -> None:
    cluster = _cluster()
    store = cluster.store
    claim, old_volume, zone = _placement(cluster)["prometheus-0"]
    (node,) = store.list("Node", where=lambda n: n.labels.get(ZONE) == zone)
    store.patch("Node", node.name, "", {"spec": {"unschedulable": True}})   # the zone's node is gone
    store.delete("Pod", "prometheus-0", "default")
    cluster.advance(120)
    pod = store.get("Pod", "prometheus-0", "default")
    assert not pod.node_name
    assert pod.condition("PodScheduled").message == (
        "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "1 node(s) were unschedulable, 2 node(s) had volume node affinity conflict. preemption: 0/4 nodes are "
        "available: 4 Preemption is not helpful for scheduling.")
    claim_obj = store.get("PersistentVolumeClaim", claim, "default")
    assert store.get("Node", claim_obj.annotations["volume.kubernetes.io/selected-node"]).labels[ZONE] == zone
    # the seed's repair: delete the claim (its volume is kept), recreate the StatefulSet
    store.delete("PersistentVolumeClaim", claim, "default")
    cluster.settle()
    # the pending pod is on no node, so pvc-protection lets the claim go at once (podUsesPVC)
    assert store.try_get("PersistentVolumeClaim", claim, "default") is None
    store.delete("StatefulSet", "prometheus", "default")
    cluster.advance(120)
    assert store.get("PersistentVolume", old_volume).status["phase"] == "Released"
    store.create(load_text(STATEFULSET)[0].obj)
    cluster.advance(120)
    pod = store.get("Pod", "prometheus-0", "default")
    assert pod.phase == "Running"
    new_claim = store.get("PersistentVolumeClaim", claim, "default")
    assert new_claim.spec["volumeName"] != old_volume
    assert store.get("Node", pod.node_name).labels[ZONE] != zone
    # with one zone down, zone anti-affinity leaves the ordinal after prometheus-0 waiting (OrderedReady)
    waiting = [p for p in store.list("Pod", "default") if not p.node_name]
    assert [p.name for p in waiting] == ["prometheus-1"]
    assert "didn't match pod anti-affinity rules" in waiting[0].condition("PodScheduled").message
