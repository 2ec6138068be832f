"""The persistent volume controller, the provisioner, protection finalizers and the scheduler's volume filters."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from netsim.api.errors import FieldError
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.controllers.volumes import PV_PROTECTION, PVC_PROTECTION, SELECTED_NODE
from netsim.emulator.cluster import Cluster
from netsim.errors import NotImplementedFeature

ROOT = Path(__file__).resolve().parents[2]

ZONAL = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: zonal}
provisioner: ebs.csi.aws.com
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: ebs.csi.aws.com
allowedTopologies:
- matchLabelExpressions:
  - {key: topology.kubernetes.io/zone, values: [zone-b]}
"""


def _build(text: str, topology: str = "three-zone") -> Cluster:
    return Cluster.build(load_topology(ROOT / f"topologies/{topology}.yaml"), load_text(text), seed=0)


def _claim(name: str, size: str, klass: str | None, modes: str = "[ReadWriteOnce]", extra: str = "") -> str:
    sc = f"\n  storageClassName: {klass}" if klass is not None else ""
    return (f"---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}}}\n"
            f"spec:\n  accessModes: {modes}\n  resources: {{requests: {{storage: {size}}}}}{sc}{extra}\n")


def _volume(name: str, size: str, klass: str = "manual", labels: str = "{}", zone: str | None = None) -> str:
    affinity = ("\n  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: "
                f"[{{key: topology.kubernetes.io/zone, operator: In, values: [{zone}]}}]}}]}}}}" if zone else "")
    return (f"---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: {name}, labels: {labels}}}\n"
            f"spec:\n  capacity: {{storage: {size}}}\n  accessModes: [ReadWriteOnce]\n"
            f"  storageClassName: {klass}\n  hostPath: {{path: /data/{name}}}{affinity}\n")


def _pod(name: str, claim: str, node_selector: str = "") -> str:
    return (f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n"
            f"  containers: [{{name: c, image: busybox}}]\n{node_selector}"
            f"  volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim}}}}}]\n")


def test_claim_binds_the_smallest_matching_volume() -> None:
    cluster = _build(_volume("big", "10Gi") + _volume("small", "2Gi") + _volume("tiny", "500Mi")
                     + _volume("other", "1Gi", "gold") + _claim("data", "1Gi", "manual"))
    store = cluster.store
    claim = store.get("PersistentVolumeClaim", "data", "default")
    assert claim.spec["volumeName"] == "small"
    assert claim.status["phase"] == "Bound" and claim.status["capacity"] == {"storage": "2Gi"}
    assert PVC_PROTECTION in claim.finalizers
    small = store.get("PersistentVolume", "small")
    assert small.status["phase"] == "Bound" and small.spec["claimRef"]["uid"] == claim.uid
    assert PV_PROTECTION in small.finalizers
    assert store.get("PersistentVolume", "big").status["phase"] == "Available"


def test_selector_and_access_modes_restrict_the_match() -> None:
    cluster = _build(_volume("a", "5Gi", labels="{tier: cold}") + _volume("b", "5Gi", labels="{tier: hot}")
                     + _claim("hot", "1Gi", "manual", extra="\n  selector: {matchLabels: {tier: hot}}")
                     + _claim("many", "1Gi", "manual", modes="[ReadWriteMany]"))
    store = cluster.store
    assert store.get("PersistentVolumeClaim", "hot", "default").spec["volumeName"] == "b"
    many = store.get("PersistentVolumeClaim", "many", "default")
    assert many.status["phase"] == "Pending" and not many.spec.get("volumeName")
    assert any(e.reason == "FailedBinding" for e in store.list("Event", "default")
               if e.involved_object.get("name") == "many")


def test_wait_for_first_consumer_provisions_in_the_pods_zone() -> None:
    cluster = _build(ZONAL + _claim("data", "1Gi", "zonal")
                     + _pod("app", "data", "  nodeSelector: {topology.kubernetes.io/zone: zone-c}\n"))
    store = cluster.store
    claim = store.get("PersistentVolumeClaim", "data", "default")
    pod = store.get("Pod", "app", "default")
    assert claim.annotations[SELECTED_NODE] == pod.node_name
    pv = store.get("PersistentVolume", claim.spec["volumeName"])
    assert pv.name == f"pvc-{claim.uid}"
    assert pv.spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv.spec["nodeAffinity"]["required"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-c"]}]}]
    assert pv.annotations["pv.kubernetes.io/provisioned-by"] == "ebs.csi.aws.com"


def test_wait_for_first_consumer_waits_without_a_pod() -> None:
    store = _build(ZONAL + _claim("data", "1Gi", "zonal")).store
    claim = store.get("PersistentVolumeClaim", "data", "default")
    assert claim.status["phase"] == "Pending" and not store.list("PersistentVolume")
    assert [e.reason for e in store.list("Event", "default")
            if e.involved_object.get("name") == "data"] == ["WaitForFirstConsumer"]


def test_immediate_class_uses_allowed_topologies_and_pins_the_pod() -> None:
    store = _build(ZONAL + _claim("data", "1Gi", "fast") + _pod("app", "data")).store
    claim = store.get("PersistentVolumeClaim", "data", "default")
    pv = store.get("PersistentVolume", claim.spec["volumeName"])
    assert pv.spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["zone-b"]
    node = store.get("Node", store.get("Pod", "app", "default").node_name)
    assert node.labels["topology.kubernetes.io/zone"] == "zone-b"


def test_volume_node_affinity_conflict_keeps_the_pod_pending() -> None:
    store = _build(_volume("a-disk", "1Gi", zone="zone-a") + _claim("data", "1Gi", "manual")
                   + _pod("app", "data", "  nodeSelector: {topology.kubernetes.io/zone: zone-b}\n")).store
    pod = store.get("Pod", "app", "default")
    assert not pod.node_name
    assert pod.condition("PodScheduled").message == (
        "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "1 node(s) had volume node affinity conflict, 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")


def test_missing_claim_is_a_pod_level_failure() -> None:
    store = _build(_pod("app", "nope")).store
    pod = store.get("Pod", "app", "default")
    assert pod.condition("PodScheduled").message == (
        '0/4 nodes are available: persistentvolumeclaim "nope" not found. preemption: 0/4 nodes are available: '
        "4 Preemption is not helpful for scheduling.")


def test_deleting_the_claim_waits_for_its_pod_then_deletes_the_provisioned_volume() -> None:
    cluster = _build(ZONAL + _claim("data", "1Gi", "zonal") + _pod("app", "data"))
    store = cluster.store
    volume = store.get("PersistentVolumeClaim", "data", "default").spec["volumeName"]
    store.delete("PersistentVolumeClaim", "data", "default")
    cluster.settle()
    claim = store.get("PersistentVolumeClaim", "data", "default")
    assert claim.deletion_timestamp and PVC_PROTECTION in claim.finalizers
    assert "Terminating" in table("PersistentVolumeClaim", [claim], cluster.clock.now())
    store.delete("Pod", "app", "default")
    cluster.advance(60)
    assert store.try_get("PersistentVolumeClaim", "data", "default") is None
    assert store.try_get("PersistentVolume", volume) is None


def test_only_pods_on_a_node_hold_a_claim_finished_ones_included() -> None:
    finished = _pod("done", "data").replace("spec:\n", "metadata: {name: done, annotations: {netsim.dev/run-seconds: '1'}}\n"
                                            "spec:\n  restartPolicy: Never\n", 1).replace("metadata: {name: done}\n", "", 1)
    pending = _pod("waiting", "spare", "  nodeSelector: {no-such-label: x}\n")
    cluster = _build(ZONAL + _claim("data", "1Gi", "zonal") + _claim("spare", "1Gi", "manual") + finished + pending)
    store = cluster.store
    cluster.advance(10)
    assert store.get("Pod", "done", "default").phase == "Succeeded"
    assert not store.get("Pod", "waiting", "default").node_name
    store.delete("PersistentVolumeClaim", "data", "default")
    store.delete("PersistentVolumeClaim", "spare", "default")
    cluster.settle()
    assert store.get("PersistentVolumeClaim", "data", "default").deletion_timestamp   # a finished pod still holds it
    assert store.try_get("PersistentVolumeClaim", "spare", "default") is None         # an unscheduled one does not


def test_retained_volume_is_released() -> None:
    cluster = _build(_volume("disk", "1Gi") + _claim("data", "1Gi", "manual"))
    store = cluster.store
    store.delete("PersistentVolumeClaim", "data", "default")
    cluster.settle()
    pv = store.get("PersistentVolume", "disk")
    assert pv.status["phase"] == "Released"
    assert store.try_get("PersistentVolumeClaim", "data", "default") is None


def test_default_class_is_filled_in() -> None:
    text = ZONAL.replace("metadata: {name: zonal}",
                         "metadata: {name: zonal, annotations: {storageclass.kubernetes.io/is-default-class: 'true'}}")
    store = _build(text + _claim("data", "1Gi", None)).store
    assert store.get("PersistentVolumeClaim", "data", "default").spec["storageClassName"] == "zonal"


def test_kubectl_tables_for_pv_pvc_sc() -> None:
    cluster = _build(ZONAL + _volume("disk", "2Gi") + _claim("data", "1Gi", "manual") + _claim("wait", "1Gi", "zonal"))
    store, now = cluster.store, cluster.clock.now()
    pvc = table("PersistentVolumeClaim", store.list("PersistentVolumeClaim", "default"), now).splitlines()
    assert pvc[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
                              "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert pvc[1].split()[:7] == ["data", "Bound", "disk", "2Gi", "RWO", "manual", "<unset>"]
    assert pvc[2].split()[:4] == ["wait", "Pending", "zonal", "<unset>"]
    pv = table("PersistentVolume", store.list("PersistentVolume"), now).splitlines()
    assert pv[0].split() == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
                             "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    assert pv[1].split()[:8] == ["disk", "2Gi", "RWO", "Retain", "Bound", "default/data", "manual", "<unset>"]
    sc = table("StorageClass", store.list("StorageClass"), now).splitlines()
    assert sc[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION",
                             "AGE"]
    assert sc[2].split()[:6] == ["standard", "(default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer",
                                 "false"]
    assert sc[3].split()[:5] == ["zonal", "ebs.csi.aws.com", "Delete", "WaitForFirstConsumer", "false"]


def test_kinds_standard_class_provisions_on_the_pods_node() -> None:
    store = _build(_claim("data", "1Gi", None) + _pod("app", "data")).store
    claim = store.get("PersistentVolumeClaim", "data", "default")
    assert claim.spec["storageClassName"] == "standard"
    assert claim.annotations["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
    pv = store.get("PersistentVolume", claim.spec["volumeName"])
    node = store.get("Pod", "app", "default").node_name
    assert pv.spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]
    assert pv.spec["hostPath"]["path"] == f"/var/local-path-provisioner/{pv.name}_default_data"


def test_unbound_immediate_claim_keeps_the_pod_pending_until_it_binds() -> None:
    cluster = _build(_claim("data", "1Gi", "manual") + _pod("app", "data"))
    store = cluster.store
    pod = store.get("Pod", "app", "default")
    assert not pod.node_name
    assert pod.condition("PodScheduled").message == (
        "0/4 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/4 nodes are "
        "available: 4 Preemption is not helpful for scheduling.")
    store.create(load_text(_volume("disk", "1Gi"))[0].obj)
    cluster.advance(30)
    assert store.get("PersistentVolumeClaim", "data", "default").spec["volumeName"] == "disk"
    assert store.get("Pod", "app", "default").node_name


def test_claim_being_deleted_refuses_new_pods() -> None:
    cluster = _build(_volume("disk", "1Gi") + _claim("data", "1Gi", "manual") + _pod("app", "data"))
    store = cluster.store
    store.delete("PersistentVolumeClaim", "data", "default")
    store.create(load_text(_pod("late", "data"))[0].obj)
    cluster.settle()
    assert store.get("PersistentVolumeClaim", "data", "default").deletion_timestamp
    late = store.get("Pod", "late", "default")
    assert not late.node_name
    assert late.condition("PodScheduled").message == (
        '0/4 nodes are available: persistentvolumeclaim "data" is being deleted. preemption: 0/4 nodes are '
        "available: 4 Preemption is not helpful for scheduling.")


# --- provisioning as a real cluster records it: annotations, events, the provisioner's identity -------------
def _claim_events(store, name: str) -> list[tuple[str, str, str, str]]:
    return [(e.type, e.reason, e.get("source.component"), e.message) for e in store.list("Event", "default")
            if e.involved_object.get("name") == name and e.involved_object.get("kind") == "PersistentVolumeClaim"]


def test_csi_provisioning_events_come_from_the_pv_controller_then_the_external_provisioner() -> None:
    cluster = _build(ZONAL + _claim("data", "1Gi", "fast"))
    store = cluster.store
    claim = store.get("PersistentVolumeClaim", "data", "default")
    assert claim.annotations["volume.kubernetes.io/storage-provisioner"] == "ebs.csi.aws.com"
    assert claim.annotations["volume.beta.kubernetes.io/storage-provisioner"] == "ebs.csi.aws.com"
    events = _claim_events(store, "data")
    identity = events[1][2]
    provisioner, host, uid = identity.split("_")
    assert provisioner == "ebs.csi.aws.com" and len(uid) == 36
    assert re.fullmatch(r"ebs-csi-controller-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}",
                        host)
    assert events == [
        ("Normal", "ExternalProvisioning", "persistentvolume-controller",
         "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by "
         "the system administrator. If volume creation is delayed, please verify that the provisioner is running "
         "and correctly registered."),
        ("Normal", "Provisioning", identity, 'External provisioner is provisioning volume for claim "default/data"'),
        ("Normal", "ProvisioningSucceeded", identity, f"Successfully provisioned volume pvc-{claim.uid}"),
    ]
    pv = store.get("PersistentVolume", claim.spec["volumeName"])
    assert dict(pv.annotations) == {"pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com",
                                    "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                                    "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""}


def test_one_provisioner_identity_per_seed_and_the_class_secret_on_the_volume() -> None:
    text = ("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\n"
            "provisioner: ebs.csi.aws.com\nparameters: {csi.storage.k8s.io/provisioner-secret-name: ebs-creds, "
            "csi.storage.k8s.io/provisioner-secret-namespace: kube-system}\n")
    text += _claim("a", "1Gi", "fast") + _claim("b", "1Gi", "fast")
    store = _build(text).store
    sources = {e.get("source.component") for e in store.list("Event", "default") if e.reason == "Provisioning"}
    assert len(sources) == 1
    again = {e.get("source.component") for e in _build(text).store.list("Event", "default")
             if e.reason == "Provisioning"}
    assert again == sources
    other = Cluster.build(load_topology(ROOT / "topologies/three-zone.yaml"), load_text(text), seed=1).store
    assert {e.get("source.component") for e in other.list("Event", "default")
            if e.reason == "Provisioning"}.isdisjoint(sources)
    pv = store.get("PersistentVolume", store.get("PersistentVolumeClaim", "a", "default").spec["volumeName"])
    assert pv.annotations["volume.kubernetes.io/provisioner-deletion-secret-name"] == "ebs-creds"
    assert pv.annotations["volume.kubernetes.io/provisioner-deletion-secret-namespace"] == "kube-system"


def test_kinds_local_path_provisioner_identity_and_selected_node_annotation() -> None:
    store = _build(_claim("data", "1Gi", None) + _pod("app", "data")).store
    claim = store.get("PersistentVolumeClaim", "data", "default")
    node = store.get("Pod", "app", "default").node_name
    pv = store.get("PersistentVolume", claim.spec["volumeName"])
    assert dict(pv.annotations) == {"local.path.provisioner/selected-node": node,
                                    "pv.kubernetes.io/provisioned-by": "rancher.io/local-path"}
    reasons = [(r, c.split("_")[0] if "_" in c else c) for _, r, c, _ in _claim_events(store, "data")]
    assert reasons == [("WaitForFirstConsumer", "persistentvolume-controller"),
                       ("ExternalProvisioning", "persistentvolume-controller"),
                       ("Provisioning", "rancher.io/local-path"), ("ProvisioningSucceeded", "rancher.io/local-path")]
    source = _claim_events(store, "data")[2][2]
    assert source.split("_")[1].startswith("local-path-provisioner-")


def test_a_provisioner_whose_controller_is_unknown_is_refused_by_name() -> None:
    text = ("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: odd}\n"
            "provisioner: example.com/odd\n" + _claim("data", "1Gi", "odd"))
    with pytest.raises(NotImplementedFeature, match="StorageClass odd: provisioner 'example.com/odd'"):
        _build(text)


# --- the RecoverVolumeExpansionFailure feature gate, from the topology ---------------------------------------
GROW = ("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: grow}\n"
        "provisioner: ebs.csi.aws.com\nallowVolumeExpansion: true\n")


def _shrink_after_grow(gates: dict | None) -> tuple[Cluster, str]:
    topology = load_topology(ROOT / "topologies/three-zone.yaml")
    if gates is not None:
        topology = dataclasses.replace(topology, feature_gates=tuple(sorted(gates.items())))
    cluster = Cluster.build(topology, load_text(GROW + _claim("data", "1Gi", "grow")), seed=0)
    store = cluster.store
    store.patch("PersistentVolumeClaim", "data", "default", {"spec": {"resources": {"requests": {"storage": "4Gi"}}}})
    cluster.settle()
    status = store.get("PersistentVolumeClaim", "data", "default").status
    with pytest.raises(FieldError) as refused:
        store.patch("PersistentVolumeClaim", "data", "default",
                    {"spec": {"resources": {"requests": {"storage": "1Gi"}}}})
    return cluster, f"{sorted(status)} {refused.value}"


def test_recover_volume_expansion_failure_is_off_by_default_as_in_1_31() -> None:
    _, seen = _shrink_after_grow(None)
    assert "allocatedResources" not in seen and "field can not be less than previous value" in seen


def test_recover_volume_expansion_failure_gate_comes_from_the_topology() -> None:
    _, seen = _shrink_after_grow({"RecoverVolumeExpansionFailure": True})
    assert "allocatedResourceStatuses" in seen and "allocatedResources" in seen
    assert "field can not be less than status.capacity" in seen


def test_a_claim_naming_its_volume_binds_it_or_says_why_not() -> None:
    named = "\n  volumeName: {}"
    cluster = _build(_volume("disk", "1Gi") + _volume("small", "1Gi")
                     + _claim("mine", "1Gi", "manual", extra=named.format("disk"))
                     + _claim("big", "2Gi", "manual", extra=named.format("small")))
    store = cluster.store
    mine = store.get("PersistentVolumeClaim", "mine", "default")
    assert mine.status["phase"] == "Bound" and store.get("PersistentVolume", "disk").spec["claimRef"]["uid"] == mine.uid
    big = store.get("PersistentVolumeClaim", "big", "default")
    assert big.status.get("phase", "Pending") == "Pending"
    reasons = {(e.get("reason"), e.get("message")) for e in store.list("Event", "default")
               if e.get("involvedObject", {}).get("name") == "big"}
    assert ("VolumeMismatch", 'Cannot bind to requested volume "small": requested PV is too small') in reasons
    assert store.get("PersistentVolume", "small").status.get("phase") != "Bound"
