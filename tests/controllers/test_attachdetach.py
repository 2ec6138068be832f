"""The attach/detach controller and CSI attacher: VolumeAttachments, node volume status, Multi-Attach, detach waits."""

from __future__ import annotations

import hashlib
from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
CLASSES = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ebs}
provisioner: ebs.csi.aws.com
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
"""


def claim(name: str, klass: str = "ebs", modes: str = "[ReadWriteOnce]") -> str:
    return (f"---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}}}\n"
            f"spec: {{accessModes: {modes}, storageClassName: {klass}, resources: {{requests: {{storage: 1Gi}}}}}}\n")


def pod(name: str, node: str, claim_name: str = "data") -> str:
    return (f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n"
            f"  nodeSelector: {{kubernetes.io/hostname: {node}}}\n"
            "  containers: [{name: c, image: busybox, volumeMounts: [{name: d, mountPath: /d}]}]\n"
            f"  volumes: [{{name: d, persistentVolumeClaim: {{claimName: {claim_name}}}}}]\n")


def build(text: str) -> Cluster:
    cluster = Cluster.build(TOPOLOGY, load_text(CLASSES + text), horizon=0)
    cluster.advance(1)   # the kubelet's mount wait sees claims 300ms after the pod came
    return cluster


def events(cluster: Cluster, reason: str) -> list[tuple[str, str, str, str]]:
    return sorted((e.get("involvedObject.name"), e.type, e.get("source.component"), e.message)
                  for e in cluster.store.list("Event", "default") if e.reason == reason)


def status(cluster: Cluster, name: str) -> str:
    return table("Pod", [cluster.store.get("Pod", name, "default")], cluster.clock.now()).splitlines()[1].split()[2]


def volume_of(cluster: Cluster, claim_name: str = "data") -> str:
    return cluster.store.get("PersistentVolumeClaim", claim_name, "default").spec["volumeName"]


def test_a_csi_volume_is_attached_through_a_volume_attachment_before_the_pod_starts() -> None:
    cluster = build(claim("data") + pod("a", "kind-worker"))
    pv = volume_of(cluster)
    name = "csi-" + hashlib.sha256(f"{pv}ebs.csi.aws.comkind-worker".encode()).hexdigest()
    va = cluster.store.get("VolumeAttachment", name)
    assert va.spec == {"attacher": "ebs.csi.aws.com", "nodeName": "kind-worker",
                       "source": {"persistentVolumeName": pv}}
    assert va.status == {"attached": True} and list(va.finalizers) == ["external-attacher/ebs-csi-aws-com"]
    unique = f"kubernetes.io/csi/ebs.csi.aws.com^{pv}"
    node = cluster.store.get("Node", "kind-worker")
    assert node.status["volumesAttached"] == [{"name": unique, "devicePath": ""}]
    assert node.status["volumesInUse"] == [unique]
    assert "volumesAttached" not in cluster.store.get("Node", "kind-worker2").status
    assert events(cluster, "SuccessfulAttachVolume") == [
        ("a", "Normal", "attachdetach-controller", f'AttachVolume.Attach succeeded for volume "{pv}" ')]
    assert status(cluster, "a") == "Running"
    assert table("VolumeAttachment", [va], cluster.clock.now()).splitlines() == [
        f"{'NAME':<{len(name) + 3}}ATTACHER          {'PV':<{len(pv) + 3}}NODE          ATTACHED   AGE",
        f"{name}   ebs.csi.aws.com   {pv}   kind-worker   true       1s"]


def test_a_local_path_volume_needs_no_attachment() -> None:
    cluster = build(claim("data", "local") + pod("a", "kind-worker"))
    assert status(cluster, "a") == "Running"
    assert cluster.store.list("VolumeAttachment") == []
    assert "volumesInUse" not in cluster.store.get("Node", "kind-worker").status


def test_a_read_write_once_volume_attached_elsewhere_is_a_multi_attach_error_until_the_user_goes() -> None:
    cluster = build(claim("data") + pod("a", "kind-worker") + pod("b", "kind-worker2"))
    pv = volume_of(cluster)
    cluster.advance(300)
    assert status(cluster, "a") == "Running" and status(cluster, "b") == "ContainerCreating"
    assert events(cluster, "FailedAttachVolume") == [   # reported once, not at every loop
        ("b", "Warning", "attachdetach-controller",
         f'Multi-Attach error for volume "{pv}" Volume is already used by pod(s) a')]
    assert [e.get("count") for e in cluster.store.list("Event", "default") if e.reason == "FailedAttachVolume"] == [1]
    assert [va.spec["nodeName"] for va in cluster.store.list("VolumeAttachment")] == ["kind-worker"]
    cluster.store.delete("Pod", "a", "default")
    cluster.advance(31)   # the kubelet stops a (30s grace), unmounts and stops reporting the volume in use
    assert [va.spec["nodeName"] for va in cluster.store.list("VolumeAttachment")] == ["kind-worker2"]
    assert "volumesAttached" not in cluster.store.get("Node", "kind-worker").status
    assert status(cluster, "b") == "Running"
    assert [e[0] for e in events(cluster, "SuccessfulAttachVolume")] == ["a", "b"]


def test_read_write_many_volumes_attach_to_every_node() -> None:
    cluster = build(claim("data", modes="[ReadWriteMany]") + pod("a", "kind-worker") + pod("b", "kind-worker2"))
    assert sorted(va.spec["nodeName"] for va in cluster.store.list("VolumeAttachment")) == [
        "kind-worker", "kind-worker2"]
    assert status(cluster, "b") == "Running" and events(cluster, "FailedAttachVolume") == []


def test_read_write_once_pod_claims_are_filtered_by_the_scheduler() -> None:
    cluster = build(claim("data", modes="[ReadWriteOncePod]") + pod("a", "kind-worker")
                    + pod("b", "kind-worker2").replace("  nodeSelector: {kubernetes.io/hostname: kind-worker2}\n", ""))
    b = cluster.store.get("Pod", "b", "default")
    assert not b.node_name
    assert b.condition("PodScheduled").message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node "
        "has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode. preemption: 0/3 "
        "nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for "
        "incoming pod.")
    assert cluster.store.list("VolumeAttachment")[0].spec["nodeName"] == "kind-worker"


def add_pod(cluster: Cluster, text: str) -> None:
    cluster.store.create(load_text(text)[0].obj)


def attached_to(cluster: Cluster) -> list[str]:
    return [va.spec["nodeName"] for va in cluster.store.list("VolumeAttachment")]


def test_a_volume_still_in_use_on_a_failed_node_is_force_detached_six_minutes_after_its_pod_went() -> None:
    cluster = build(claim("data") + pod("a", "kind-worker"))
    start = cluster.clock.now()
    pv = volume_of(cluster)
    cluster.fail_node("kind-worker")
    cluster.advance(345)      # NotReady at 40s, evicted at 340s: Terminating, its containers still shown running
    assert cluster.store.get("Pod", "a", "default").deletion_timestamp
    assert attached_to(cluster) == ["kind-worker"]
    cluster.store.delete("Pod", "a", "default", grace_period=0)   # kubectl delete --force --grace-period=0
    add_pod(cluster, pod("b", "kind-worker2"))
    cluster.advance(1)
    assert events(cluster, "FailedAttachVolume") == [   # no pod wants it on kind-worker any more
        ("b", "Warning", "attachdetach-controller", f'Multi-Attach error for volume "{pv}" Volume is already '
         "exclusively attached to one node and can't be attached to another")]
    unique = f"kubernetes.io/csi/ebs.csi.aws.com^{pv}"
    assert cluster.store.get("Node", "kind-worker").status["volumesInUse"] == [unique]   # the dead kubelet's last word
    cluster.advance(start + 705.0 - cluster.clock.now())
    assert attached_to(cluster) == ["kind-worker"]
    cluster.advance(0.1)      # 6m after the detach request, at the reconciler's next 100ms loop
    assert attached_to(cluster) == ["kind-worker2"]
    assert "volumesAttached" not in cluster.store.get("Node", "kind-worker").status
    assert status(cluster, "b") == "ContainerCreating"
    cluster.advance(0.2)      # the kubelet's mount wait polls every 300ms
    assert status(cluster, "b") == "Running"


def test_a_volume_in_use_waits_for_the_kubelet_to_stop_reporting_it() -> None:
    cluster = build(claim("data") + pod("a", "kind-worker"))
    cluster.fail_node("kind-worker")
    cluster.store.delete("Pod", "a", "default", grace_period=0)
    cluster.advance(30)       # the node is still Ready (40s grace) and its last status lists the volume in use
    assert attached_to(cluster) == ["kind-worker"]
    cluster.recover_node("kind-worker")   # its kubelet runs again: nothing of the pod left to mount
    assert "volumesInUse" not in cluster.store.get("Node", "kind-worker").status
    assert attached_to(cluster) == []


def test_the_out_of_service_taint_detaches_at_once() -> None:
    cluster = build(claim("data") + pod("a", "kind-worker"))
    cluster.fail_node("kind-worker")
    cluster.advance(60)
    node = cluster.store.get("Node", "kind-worker")
    cluster.store.update(node.evolve(lambda d: d["spec"]["taints"].append(
        {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"})))
    cluster.settle()
    if cluster.store.try_get("Pod", "a", "default") is not None:   # the pod GC force-deletes it on such a node
        cluster.store.delete("Pod", "a", "default", grace_period=0)
        cluster.settle()
    assert attached_to(cluster) == []
    assert cluster.store.get("Node", "kind-worker").status.get("volumesInUse")   # still reported, not waited for
