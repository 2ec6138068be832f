"""The attach/detach controller and the CSI external attacher: VolumeAttachments and node.status.volumesAttached.

As kube-controller-manager's attachdetach controller (pkg/controller/volume/attachdetach, v1.31) with the
CSI attacher plugin (pkg/volume/csi/csi_attacher.go) and csi-attacher, the sidecar that answers it:

- Desired state: every volume of a pod bound to a node whose claim is Bound to an attachable
  PersistentVolume, for pods not terminated (IsPodTerminated: phase Succeeded or Failed, or deleted
  with no container running — a deleted pod on a dead node still shows its containers running, so its
  volumes stay desired until the pod object is gone). A CSI volume is attachable unless its driver's
  CSIDriver says attachRequired: false (ATTACH_REQUIRED; a driver without a CSIDriver object needs
  attaching, as the CSI plugin decides); hostPath / local volumes (kind's rancher.io/local-path) are not.
  Every node counts as controller-managed (the kubelet's default --enable-controller-attach-detach).
- Detach before attach (reconciler.reconcile): a volume attached to a node where no pod wants it is
  detached at once unless the node's kubelet still lists it in status.volumesInUse; then the controller
  waits maxWaitForUnmountDuration (6m) from its first detach request, and after it force-detaches only
  from a node that is not Ready (nodeIsHealthy). A node with the `node.kubernetes.io/out-of-service`
  taint (NodeOutOfServiceVolumeDetach, GA) is detached from at once. The reconciler loops every 100ms,
  so a forced detach comes at the first loop strictly after the 6 minutes (elapsed > max).
- Attach: the controller creates the VolumeAttachment `csi-<sha256(volumeHandle+driver+node)>`
  (getAttachmentName) with spec.attacher, spec.nodeName and spec.source.persistentVolumeName; the
  external attacher adds its finalizer `external-attacher/<driver, sanitised>` and sets
  status.attached; the controller then records SuccessfulAttachVolume `AttachVolume.Attach succeeded
  for volume "<pv>" ` (generateVolumeMsg's format leaves the trailing space) on each pod scheduled
  there, and reports the volume in node.status.volumesAttached (`kubernetes.io/csi/<driver>^<handle>`,
  devicePath "" for CSI). Detaching removes the volume from that report, then deletes the
  VolumeAttachment, which the external attacher lets go by removing its finalizer.
- Multi-Attach: a volume whose PV has access modes, none of them ReadWriteMany or ReadOnlyMany
  (isMultiAttachForbidden), attached to another node is not attached; each pod scheduled here gets one
  FailedAttachVolume Warning (reportMultiAttachError, once while the volume stays wanted on this node):
  `Multi-Attach error for volume "<pv>" Volume is already used by pod(s) a, b` naming the pods in the
  pod's namespace that want it on the other nodes (`and N pod(s) in different namespaces`, or `Volume is
  already used by N pod(s) in different namespaces`), or `Volume is already exclusively attached to one
  node and can't be attached to another` when no pod wants it there any more.

Not emulated, each for a stated reason: the CSI driver's ControllerPublish / Unpublish latency (attach
and detach complete at the instant the controller starts them); the VolumeAttachment's
`csi.alpha.kubernetes.io/node-id` annotation and status.attachmentMetadata (the driver's node id and
device path are not known); the external attacher's finalizer on the PersistentVolume; in-tree
attachable volume sources (migrated to CSI; NotImplementedFeature).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field

from netsim.api.objects import Node, Pod, Resource
from netsim.api.store import Store
from netsim.errors import NotImplementedFeature

COMPONENT = "attachdetach-controller"
CSI_PLUGIN = "kubernetes.io/csi"
MAX_WAIT_FOR_UNMOUNT = 360.0   # attachdetach_controller.go reconcilerMaxWaitForUnmountDuration (6m)
LOOP_PERIOD = 0.1              # reconcilerLoopPeriod (100ms)
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
MULTI_ATTACH = "Multi-Attach error"
ATTACHED_ELSEWHERE = "Volume is already exclusively attached to one node and can't be attached to another"
# CSIDriver.spec.attachRequired as each driver's chart installs its CSIDriver object.
ATTACH_REQUIRED = {
    "ebs.csi.aws.com": True,     # aws-ebs-csi-driver: block devices attached to one instance
    "efs.csi.aws.com": False,    # aws-efs-csi-driver: NFS mounts, nothing to attach
    "nfs.csi.k8s.io": False,     # csi-driver-nfs
}
# In-tree PersistentVolume sources that are attachable (each migrated to a CSI driver, not emulated).
IN_TREE_ATTACHABLE = ("awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "cinder", "vsphereVolume",
                      "portworxVolume", "rbd", "iscsi", "fc")
TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class AttachableVolume:
    """A PersistentVolume the controller attaches: its name, CSI driver and volume handle."""

    pv: str
    driver: str
    handle: str
    multi_attach_forbidden: bool

    @property
    def unique_name(self) -> str:
        """The volume's unique name as node status lists it: `kubernetes.io/csi/<driver>^<handle>`."""
        return f"{CSI_PLUGIN}/{self.driver}^{self.handle}"

    def attachment_name(self, node: str) -> str:
        """The VolumeAttachment's name on `node` (csi_attacher.go getAttachmentName)."""
        return "csi-" + hashlib.sha256(f"{self.handle}{self.driver}{node}".encode()).hexdigest()


def finalizer_name(driver: str) -> str:
    """csi-attacher's finalizer, `external-attacher/` + the driver name sanitised (SanitizeDriverName)."""
    name = re.sub(r"[^a-zA-Z0-9-]", "-", driver)
    if name and not name[-1].isalnum():
        name += "X"
    return f"external-attacher/{name}"


def attachable(pv: Resource) -> AttachableVolume | None:
    """The PV as a volume to attach, or None when its plugin attaches nothing (hostPath, local, NFS)."""
    for source in IN_TREE_ATTACHABLE:
        if pv.spec.get(source) is not None:
            raise NotImplementedFeature(f"PersistentVolume {pv.name}: in-tree volume source {source} "
                                        "(attached through CSI migration) is not emulated")
    csi = pv.spec.get("csi")
    if not csi or not ATTACH_REQUIRED.get(csi.get("driver", ""), True):
        return None
    modes = list(pv.spec.get("accessModes") or ())
    forbidden = bool(modes) and not ({"ReadWriteMany", "ReadOnlyMany"} & set(modes))
    return AttachableVolume(pv.name, str(csi.get("driver", "")), str(csi.get("volumeHandle", "")), forbidden)


def pod_attachable_volumes(store: Store, pod: Pod, names: list[str] | None = None) -> dict[str, AttachableVolume]:
    """Pod volume name -> the attachable volume its claim is bound to (claims not bound are left out)."""
    out = {}
    for v in pod.spec.get("volumes") or ():
        claim_name = (v.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim_name or (names is not None and v.get("name") not in names):
            continue
        claim = store.try_get("PersistentVolumeClaim", claim_name, pod.namespace)
        if claim is None or claim.status.get("phase") != "Bound" or not claim.spec.get("volumeName"):
            continue
        pv = store.try_get("PersistentVolume", claim.spec["volumeName"])
        volume = attachable(pv) if pv is not None else None
        if volume is not None:
            out[v.get("name")] = volume
    return out


def attached_volumes(node: Resource | None) -> set[str]:
    """The unique names in the node's status.volumesAttached."""
    return {v.get("name") for v in (node.status.get("volumesAttached") or ())} if node is not None else set()


def pod_terminated(pod: Pod) -> bool:
    """IsPodTerminated: a finished pod, or a deleted one none of whose containers is running."""
    if pod.phase in TERMINAL:
        return True
    if not pod.deletion_timestamp:
        return False
    return not any("running" in (s.get("state") or {}) for s in pod.status.get("containerStatuses") or ())


def _healthy(node: Node | None) -> bool:
    """nodeIsHealthy: the node exists and its Ready condition is True."""
    ready = node.condition("Ready") if node is not None else None
    return ready is not None and ready.status == "True"


def _out_of_service(node: Node | None) -> bool:
    """hasOutOfServiceTaint: the node carries the `node.kubernetes.io/out-of-service` taint (any value, effect)."""
    return node is not None and any(t.key == OUT_OF_SERVICE for t in node.taints)


@dataclass(slots=True)
class AttachDetach:
    """The controller's memory: when each detach was first requested, which Multi-Attach errors were reported."""

    detach_requested: dict = field(default_factory=dict)   # (pv, node) -> first detach request time
    multi_attach_reported: set = field(default_factory=set)  # (pv, node) in the desired state

    def reconcile(self, store: Store, now: float) -> float:
        """One reconciler loop: detaches, then attaches, then node statuses; when to look again (inf: never)."""
        desired, volumes = self._desired(store)
        self.multi_attach_reported &= set(desired)
        attached = self._attached(store)
        due = math.inf
        removed: set = set()
        for key in sorted(attached):
            pv, node_name = key
            if key in desired:
                self.detach_requested.pop(key, None)
                continue
            requested = self.detach_requested.setdefault(key, now)
            node = store.try_get("Node", node_name)
            volume = volumes.get(pv) or _volume_of(store, attached[key])
            in_use = node.status.get("volumesInUse") or () if node is not None else ()
            mounted = volume is not None and volume.unique_name in in_use          # MountedByNode
            deadline = round(requested + MAX_WAIT_FOR_UNMOUNT + LOOP_PERIOD, 6)
            force = not _healthy(node) and now >= deadline  # type: ignore[arg-type]
            if mounted and not force and not _out_of_service(node):  # type: ignore[arg-type]
                due = min(due, deadline)
                continue
            removed.add(key)
            self._detach(store, attached[key])
            self.detach_requested.pop(key, None)
        current = {k: va for k, va in attached.items() if k not in removed}
        for key in sorted(desired, key=lambda k: (k[1], k[0])):
            if key in current:
                continue
            pv, node_name = key
            volume = volumes[pv]
            others = sorted(n for (p, n) in current if p == pv and n != node_name)
            if volume.multi_attach_forbidden and others:
                if key not in self.multi_attach_reported:
                    self._report_multi_attach(store, volume, desired[key], others, desired)
                    self.multi_attach_reported.add(key)
                continue
            current[key] = self._attach(store, volume, node_name, desired[key])
        self._report_attached(store, current, volumes)
        return due

    # desired and actual state ------------------------------------------------------------------
    def _desired(self, store: Store) -> tuple[dict, dict]:
        """(pv, node) -> the pods wanting it there; pv -> its AttachableVolume."""
        desired: dict = {}
        volumes: dict = {}
        nodes = {n.name for n in store.list("Node")}
        for pod in store.list("Pod"):
            if not pod.node_name or pod.node_name not in nodes or pod_terminated(pod):  # type: ignore[arg-type]
                continue
            for volume in pod_attachable_volumes(store, pod).values():  # type: ignore[arg-type]
                volumes[volume.pv] = volume
                pods = desired.setdefault((volume.pv, pod.node_name), [])
                if pod not in pods:
                    pods.append(pod)
        return desired, volumes

    @staticmethod
    def _attached(store: Store) -> dict:
        """(pv, node) -> its VolumeAttachment, for every attachment marked attached and not being deleted."""
        return {(va.get("spec.source.persistentVolumeName"), va.get("spec.nodeName")): va
                for va in store.list("VolumeAttachment")
                if va.status.get("attached") and not va.deletion_timestamp}

    # operations ---------------------------------------------------------------------------------
    @staticmethod
    def _attach(store: Store, volume: AttachableVolume, node: str, pods: list) -> Resource:
        """csiAttacher.Attach creates the VolumeAttachment; csi-attacher adds its finalizer and marks it attached."""
        name = volume.attachment_name(node)
        va = store.try_get("VolumeAttachment", name)
        if va is None:
            va = store.create({"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment",
                               "metadata": {"name": name},
                               "spec": {"attacher": volume.driver, "nodeName": node,
                                        "source": {"persistentVolumeName": volume.pv}}})

        def attach(d: dict) -> None:
            finalizers = d["metadata"].setdefault("finalizers", [])
            if finalizer_name(volume.driver) not in finalizers:
                finalizers.append(finalizer_name(volume.driver))
            d.setdefault("status", {})["attached"] = True

        va = store.update(va.evolve(attach))
        for pod in pods:
            store.record_event(pod, "Normal", "SuccessfulAttachVolume",
                               f'AttachVolume.Attach succeeded for volume "{volume.pv}" ', COMPONENT)
        return va

    @staticmethod
    def _detach(store: Store, va: Resource) -> None:
        """csiAttacher.Detach deletes the VolumeAttachment; csi-attacher removes its finalizer once unpublished."""
        marked = store.delete("VolumeAttachment", va.name)
        if marked is not None:
            gone = finalizer_name(str(va.get("spec.attacher")))
            store.update(marked.evolve(lambda d: d["metadata"].__setitem__(
                "finalizers", [f for f in d["metadata"].get("finalizers") or () if f != gone])))

    @staticmethod
    def _report_multi_attach(store: Store, volume: AttachableVolume, scheduled: list, others: list[str],
                             desired: dict) -> None:
        """reportMultiAttachError: one FailedAttachVolume event on each pod scheduled to this node."""
        blocking = [p for n in others for p in desired.get((volume.pv, n), ())]
        prefix = f'{MULTI_ATTACH} for volume "{volume.pv}" '
        for pod in scheduled:
            if not blocking:
                message = ATTACHED_ELSEWHERE
            else:
                local = sorted(p.name for p in blocking if p.namespace == pod.namespace)
                elsewhere = sum(1 for p in blocking if p.namespace != pod.namespace)
                if local:
                    message = f"Volume is already used by pod(s) {', '.join(local)}"
                    if elsewhere:
                        message += f" and {elsewhere} pod(s) in different namespaces"
                else:
                    message = f"Volume is already used by {elsewhere} pod(s) in different namespaces"
            store.record_event(pod, "Warning", "FailedAttachVolume", prefix + message, COMPONENT)

    @staticmethod
    def _report_attached(store: Store, current: dict, volumes: dict) -> None:
        """nodeStatusUpdater: each node's status.volumesAttached, sorted by name (omitted when empty)."""
        for node in store.list("Node"):
            names = set()
            for (pv, node_name), va in current.items():
                if node_name == node.name:
                    volume = volumes.get(pv) or _volume_of(store, va)
                    if volume is not None:
                        names.add(volume.unique_name)
            want = [{"name": n, "devicePath": ""} for n in sorted(names)]
            if (node.status.get("volumesAttached") or []) == want:
                continue

            def change(d: dict, want: list = want) -> None:
                if want:
                    d.setdefault("status", {})["volumesAttached"] = want
                else:
                    d.get("status", {}).pop("volumesAttached", None)

            store.update(node.evolve(change))


def _volume_of(store: Store, va: Resource) -> AttachableVolume | None:
    """The attachable volume a VolumeAttachment is for (None when its PV is gone)."""
    pv = store.try_get("PersistentVolume", str(va.get("spec.source.persistentVolumeName") or ""))
    return attachable(pv) if pv is not None else None
