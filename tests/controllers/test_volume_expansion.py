"""Volume expansion: the API server's refusals of claim updates, and the resize through resizer and kubelet."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.errors import FieldError, Forbidden
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.controllers import volume_expansion
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]

CLASSES = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: grow}
provisioner: ebs.csi.aws.com
allowVolumeExpansion: true
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fixed}
provisioner: ebs.csi.aws.com
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs}
provisioner: nfs.csi.k8s.io
allowVolumeExpansion: true
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: rancher.io/local-path
allowVolumeExpansion: true
"""


def _claim(name: str, klass: str, size: str = "1Gi") -> str:
    return (f"---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}}}\n"
            f"spec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: {size}}}}}\n"
            f"  storageClassName: {klass}\n")


def _pod(name: str, claim: str) -> str:
    return (f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n"
            f"  containers: [{{name: c, image: busybox}}]\n"
            f"  volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim}}}}}]\n")


def _build(text: str) -> Cluster:
    return Cluster.build(load_topology(ROOT / "topologies/three-zone.yaml"), load_text(text), seed=0)


def _grow(cluster: Cluster, name: str, size: str):
    claim = cluster.store.patch("PersistentVolumeClaim", name, "default",
                                {"spec": {"resources": {"requests": {"storage": size}}}})
    cluster.settle()
    return claim


def _events(cluster: Cluster, name: str) -> list[tuple[str, str, str]]:
    return [(e.reason, e.message, e.get("source.component")) for e in cluster.store.list("Event", "default")
            if e.involved_object.get("name") == name]


def test_class_without_allow_volume_expansion_refuses_the_resize() -> None:
    cluster = _build(CLASSES + _claim("data", "fixed"))
    with pytest.raises(Forbidden) as err:
        _grow(cluster, "data", "2Gi")
    assert str(err.value) == ('persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be '
                              "resized and the storageclass that provisions the pvc must support resize")


def test_shrinking_and_other_spec_changes_are_invalid() -> None:
    cluster = _build(CLASSES + _claim("data", "grow", "2Gi"))
    with pytest.raises(FieldError) as err:
        _grow(cluster, "data", "1Gi")
    assert str(err.value) == "spec.resources.requests.storage: Forbidden: field can not be less than previous value"
    with pytest.raises(FieldError) as err:
        cluster.store.patch("PersistentVolumeClaim", "data", "default", {"spec": {"accessModes": ["ReadWriteMany"]}})
    assert str(err.value) == ("spec: Forbidden: spec is immutable after creation except resources.requests and "
                              "volumeAttributesClassName for bound claims")
    assert _grow(cluster, "data", "2048Mi") is not None   # the same size, written differently


def test_unbound_claim_cannot_change_its_request() -> None:
    text = CLASSES.replace("allowVolumeExpansion: true\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
                           "metadata: {name: fixed}", "allowVolumeExpansion: true\nvolumeBindingMode: "
                           "WaitForFirstConsumer\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
                           "metadata: {name: fixed}", 1)
    cluster = _build(text + _claim("data", "grow"))
    assert cluster.store.get("PersistentVolumeClaim", "data", "default").status["phase"] == "Pending"
    with pytest.raises(FieldError, match="spec is immutable after creation"):
        _grow(cluster, "data", "2Gi")


def test_resize_with_a_running_pod_finishes_on_its_node() -> None:
    cluster = _build(CLASSES + _claim("data", "grow") + _pod("app", "data"))
    store = cluster.store
    _grow(cluster, "data", "5Gi")
    claim = store.get("PersistentVolumeClaim", "data", "default")
    pv = store.get("PersistentVolume", claim.spec["volumeName"])
    node = store.get("Pod", "app", "default").node_name
    assert pv.spec["capacity"]["storage"] == "5Gi"
    assert claim.status["capacity"]["storage"] == "5Gi"
    assert "conditions" not in claim.status and "allocatedResources" not in claim.status
    message = f'MountVolume.NodeExpandVolume succeeded for volume "{pv.name}" {node}'
    assert _events(cluster, "data")[-4:] == [
        ("ExternalExpanding", "waiting for an external controller to expand this PVC", "volume_expand"),
        ("Resizing", f"External resizer is resizing volume {pv.name}", "external-resizer ebs.csi.aws.com"),
        ("FileSystemResizeRequired", "Require file system resize of volume on node",
         "external-resizer ebs.csi.aws.com"),
        ("FileSystemResizeSuccessful", message, "kubelet")]
    assert ("FileSystemResizeSuccessful", message, "kubelet") in _events(cluster, "app")


def test_without_a_pod_the_claim_waits_for_one_to_mount_it() -> None:
    cluster = _build(CLASSES + _claim("data", "grow"))
    store = cluster.store
    _grow(cluster, "data", "3Gi")
    claim = store.get("PersistentVolumeClaim", "data", "default")
    assert store.get("PersistentVolume", claim.spec["volumeName"]).spec["capacity"]["storage"] == "3Gi"
    assert claim.status["capacity"]["storage"] == "1Gi"
    [condition] = claim.status["conditions"]
    assert (condition["type"], condition["status"], condition["message"]) == (
        "FileSystemResizePending", "True",
        "Waiting for user to (re-)start a pod to finish file system resize of volume on node.")
    store.create(load_text(_pod("app", "data"))[0].obj)
    cluster.advance(30)
    claim = store.get("PersistentVolumeClaim", "data", "default")
    assert claim.status["capacity"]["storage"] == "3Gi" and "conditions" not in claim.status


def test_driver_without_node_expansion_finishes_in_the_controller() -> None:
    cluster = _build(CLASSES + _claim("data", "nfs"))
    _grow(cluster, "data", "2Gi")
    claim = cluster.store.get("PersistentVolumeClaim", "data", "default")
    assert claim.status["capacity"]["storage"] == "2Gi"
    assert _events(cluster, "data")[-1] == ("VolumeResizeSuccessful", "Resize volume succeeded",
                                            "external-resizer nfs.csi.k8s.io")


def test_volume_without_a_resizer_stays_at_external_expanding() -> None:
    cluster = _build(CLASSES + _claim("data", "local") + _pod("app", "data"))
    _grow(cluster, "data", "2Gi")
    claim = cluster.store.get("PersistentVolumeClaim", "data", "default")
    assert cluster.store.get("PersistentVolume", claim.spec["volumeName"]).spec["capacity"]["storage"] == "1Gi"
    assert claim.status["capacity"]["storage"] == "1Gi"
    assert _events(cluster, "data")[-1][0] == "ExternalExpanding"


def test_recover_gate_writes_the_allocated_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(volume_expansion, "RECOVER_VOLUME_EXPANSION_FAILURE", True)
    cluster = _build(CLASSES + _claim("data", "grow"))
    _grow(cluster, "data", "4Gi")
    status = cluster.store.get("PersistentVolumeClaim", "data", "default").status
    assert status["allocatedResources"] == {"storage": "4Gi"}
    assert status["allocatedResourceStatuses"] == {"storage": "NodeResizePending"}
    cluster.store.create(load_text(_pod("app", "data"))[0].obj)
    cluster.advance(30)
    status = cluster.store.get("PersistentVolumeClaim", "data", "default").status
    assert status["allocatedResources"] == {"storage": "4Gi"} and "allocatedResourceStatuses" not in status
    assert status["capacity"] == {"storage": "4Gi"}
