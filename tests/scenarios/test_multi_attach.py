"""ReadWriteOnce volumes across nodes: a Deployment's Multi-Attach error, a StatefulSet pod leaving a failed node."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
EBS = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: gp3}
provisioner: ebs.csi.aws.com
volumeBindingMode: WaitForFirstConsumer
"""
DEPLOYMENT = EBS + """\
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared}
spec: {accessModes: [ReadWriteOnce], storageClassName: gp3, resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}
      containers:
      - {name: nginx, image: "nginx:1.25", volumeMounts: [{name: data, mountPath: /usr/share/nginx/html}]}
      volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
"""
STATEFULSET = EBS + """\
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      nodeSelector: {topology.kubernetes.io/zone: zone-a}
      containers:
      - {name: pg, image: "postgres:16", volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], storageClassName: gp3, resources: {requests: {storage: 1Gi}}}
"""
# two workers share zone-a: the zonal volume can follow its pod from one to the other
TWO_IN_A_ZONE = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: kind
nodes:
  - role: control-plane
  - role: worker
    netsim: {zone: zone-a}
  - role: worker
    netsim: {zone: zone-a}
  - role: worker
    netsim: {zone: zone-b}
netsim: {cni: bridge, seed: 0}
"""


def pod_rows(cluster: Cluster, namespace: str = "default") -> dict[str, tuple[str, str]]:
    """name -> (STATUS, NODE) as `kubectl get pods -o wide` prints them."""
    lines = table("Pod", cluster.store.list("Pod", namespace), cluster.clock.now(), wide=True).splitlines()[1:]
    return {cells[0]: (cells[2], cells[6]) for cells in (line.split() for line in lines)}


def attach_events(cluster: Cluster) -> list[tuple[str, str, str]]:
    return sorted((e.get("involvedObject.name"), e.reason, e.message) for e in cluster.store.list("Event", "default")
                  if e.reason in ("SuccessfulAttachVolume", "FailedAttachVolume"))


def test_a_deployment_sharing_a_read_write_once_claim_across_two_nodes_runs_one_pod() -> None:
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), load_text(DEPLOYMENT), horizon=0)
    cluster.advance(60)
    rows = pod_rows(cluster)
    running = [name for name, (status, _) in rows.items() if status == "Running"]
    stuck = [name for name, (status, _) in rows.items() if status == "ContainerCreating"]
    assert len(running) == 1 and len(stuck) == 1
    assert {node for _, node in rows.values()} == {"kind-worker", "kind-worker2"}
    pv = cluster.store.get("PersistentVolumeClaim", "shared", "default").spec["volumeName"]
    assert attach_events(cluster) == sorted([
        (running[0], "SuccessfulAttachVolume", f'AttachVolume.Attach succeeded for volume "{pv}" '),
        (stuck[0], "FailedAttachVolume",
         f'Multi-Attach error for volume "{pv}" Volume is already used by pod(s) {running[0]}')])
    deploy = cluster.store.get("Deployment", "web", "default")
    assert deploy.status.get("readyReplicas") == 1


@pytest.fixture()
def zone_pair(tmp_path: Path):
    path = tmp_path / "two-in-a-zone.yaml"
    path.write_text(TWO_IN_A_ZONE)
    return load_topology(path)


def test_a_statefulset_pod_on_a_failed_node_comes_back_after_the_forced_detach(zone_pair) -> None:
    cluster = Cluster.build(zone_pair, load_text(STATEFULSET), horizon=0)
    cluster.advance(1)
    start = cluster.clock.now()
    ((status, first),) = pod_rows(cluster).values()
    assert status == "Running"
    other = ({"kind-worker", "kind-worker2"} - {first}).pop()
    pv = cluster.store.get("PersistentVolumeClaim", "data-db-0", "default").spec["volumeName"]
    cluster.fail_node(first)
    cluster.advance(339)     # 40s: NotReady and tainted; 340s: the taint manager evicts (tolerationSeconds 300)
    assert cluster.store.get("Pod", "db-0", "default").deletion_timestamp is None
    cluster.advance(1)
    assert cluster.store.get("Pod", "db-0", "default").deletion_timestamp   # Terminating: no kubelet to finish it
    cluster.advance(5)
    assert pod_rows(cluster) == {"db-0": ("Terminating", first)}        # the StatefulSet waits for it to go
    cluster.store.delete("Pod", "db-0", "default", grace_period=0)       # kubectl delete pod db-0 --force
    cluster.settle()
    assert pod_rows(cluster) == {"db-0": ("ContainerCreating", other)}
    assert [e for e in attach_events(cluster) if e[1] == "FailedAttachVolume"] == [(
        "db-0", "FailedAttachVolume", f'Multi-Attach error for volume "{pv}" Volume is already exclusively '
        "attached to one node and can't be attached to another")]
    cluster.advance(start + 345 + 360.0 - cluster.clock.now())
    assert [va.spec["nodeName"] for va in cluster.store.list("VolumeAttachment")] == [first]
    cluster.advance(0.1)     # maxWaitForUnmountDuration after the delete, the node NotReady: forced detach, attach
    assert [va.spec["nodeName"] for va in cluster.store.list("VolumeAttachment")] == [other]
    cluster.advance(0.3)
    assert pod_rows(cluster) == {"db-0": ("Running", other)}


def test_the_out_of_service_taint_lets_the_statefulset_pod_move_at_once(zone_pair) -> None:
    cluster = Cluster.build(zone_pair, load_text(STATEFULSET), horizon=0)
    cluster.advance(1)
    ((_, first),) = pod_rows(cluster).values()
    other = ({"kind-worker", "kind-worker2"} - {first}).pop()
    cluster.fail_node(first)
    cluster.advance(60)
    node = cluster.store.get("Node", first)
    cluster.store.update(node.evolve(lambda d: d["spec"]["taints"].append(   # kubectl taint ... :NoExecute
        {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"})))
    cluster.advance(20)      # the pod GC (its 20s tick) force-deletes the terminating pod; no 6m wait follows
    assert [va.spec["nodeName"] for va in cluster.store.list("VolumeAttachment")] == [other]
    assert pod_rows(cluster) == {"db-0": ("Running", other)}
    moved = [(e.reason, e.get("lastTimestamp")) for e in cluster.store.list("Event", "default")
             if e.get("involvedObject.name") == "db-0" and e.reason in ("Scheduled", "SuccessfulAttachVolume",
                                                                        "FailedAttachVolume")][-2:]
    assert [r for r, _ in moved] == ["Scheduled", "SuccessfulAttachVolume"] and moved[0][1] == moved[1][1]
