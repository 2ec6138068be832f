"""Volume expansion: the API server's checks on a claim update, and the resize as the controllers and kubelet do it.

The update checks, in the API server's order:

- ValidatePersistentVolumeClaimUpdate (pkg/apis/core/validation): a claim's
  spec is immutable except resources.requests (and
  volumeAttributesClassName) of a Bound claim, setting volumeName once, and
  setting storageClassName on a claim that had none; the storage request may
  not shrink (`field can not be less than previous value`; with the
  RecoverVolumeExpansionFailure gate, `... less than status.capacity`).
  The real message goes on with a Go struct diff of the two specs, which is
  not reproduced.
- The PersistentVolumeClaimResize admission plugin: a bigger request needs a
  Bound claim whose StorageClass has allowVolumeExpansion: true.

The resize (pkg/controller/volume/expand, kubernetes-csi/external-resizer,
the kubelet's NodeExpandVolume), one step per sync:

1. The expand controller finds no in-tree plugin and records ExternalExpanding.
2. A CSI volume's external-resizer marks the claim Resizing (event Resizing),
   grows the volume's spec.capacity, then either finishes at once
   (VolumeResizeSuccessful, for drivers that need no node step) or marks the
   claim FileSystemResizePending (event FileSystemResizeRequired).
3. The kubelet of a node running a pod that uses the claim expands the
   filesystem: status.capacity takes the volume's size, the resize conditions
   go, and FileSystemResizeSuccessful is recorded on the pod and the claim.
   With no such pod the claim waits until one runs.

Volumes without a resizer (hostPath, local) stay at ExternalExpanding, as on a
real cluster. With the RecoverVolumeExpansionFailure feature gate (the
topology's featureGates; off by default in 1.31, RECOVER_VOLUME_EXPANSION_FAILURE)
status.allocatedResources and allocatedResourceStatuses are written too.
"""

from __future__ import annotations

from collections.abc import Mapping

from netsim.api.errors import FieldError, Forbidden
from netsim.api.objects import Resource
from netsim.api.quantity import Quantity
from netsim.api.store import Store

# The RecoverVolumeExpansionFailure feature gate and its default (alpha, off, in Kubernetes 1.31).
RECOVER_GATE = "RecoverVolumeExpansionFailure"
RECOVER_VOLUME_EXPANSION_FAILURE = False

EXPAND_COMPONENT = "volume_expand"
RESIZE_CONDITIONS = ("Resizing", "FileSystemResizePending")
FS_RESIZE_PENDING_MESSAGE = "Waiting for user to (re-)start a pod to finish file system resize of volume on node."
SPEC_IMMUTABLE = ("Forbidden: spec is immutable after creation except resources.requests and "
                  "volumeAttributesClassName for bound claims")
RESIZE_FORBIDDEN = ("only dynamically provisioned pvc can be resized and "
                    "the storageclass that provisions the pvc must support resize")
# CSI drivers whose ControllerExpandVolume answers NodeExpansionRequired: false (the rest need the node step).
NO_NODE_EXPANSION = frozenset({"nfs.csi.k8s.io"})


def _request(spec: dict) -> Quantity | None:
    value = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    return Quantity.parse(str(value)) if value is not None else None


def recovers(gates: Mapping[str, bool] | None) -> bool:
    """Whether RecoverVolumeExpansionFailure is on: the topology's featureGates, else the 1.31 default."""
    return bool((gates or {}).get(RECOVER_GATE, RECOVER_VOLUME_EXPANSION_FAILURE))


def _capacity(obj: Resource | dict, path: str) -> Quantity:
    node = obj.get(path) if isinstance(obj, Resource) else (obj.get("status") or {}).get("capacity")
    return Quantity.parse(str((node or {}).get("storage", "0")))


class PersistentVolumeClaimResize:
    """Update-time admission of claims: the spec validation and the resize plugin (module docstring)."""

    __slots__ = ("gates",)

    def __init__(self, gates: Mapping[str, bool] | None = None) -> None:
        self.gates = dict(gates or {})

    def __call__(self, store: Store, data: dict) -> None:
        """Creates pass: both checks only concern updates."""

    def admit_update(self, store: Store, old: dict, new: dict) -> None:
        """Refuse an update of a claim the API server would refuse (FieldError, Forbidden)."""
        if new.get("kind") != "PersistentVolumeClaim":
            return
        validate_claim_update(old, new, recovers(self.gates))
        old_size, new_size = _request(old.get("spec") or {}), _request(new.get("spec") or {})
        if new_size is None or (old_size is not None and new_size <= old_size):
            return
        name = new["metadata"]["name"]
        if (old.get("status") or {}).get("phase") != "Bound":
            raise Forbidden(f'persistentvolumeclaims "{name}" is forbidden: '
                            "Only bound persistent volume claims can be expanded")
        if not _class_allows_resize(store, old, new):
            raise Forbidden(f'persistentvolumeclaims "{name}" is forbidden: {RESIZE_FORBIDDEN}')


def _class_allows_resize(store: Store, old: dict, new: dict) -> bool:
    """allowResize: the same non-empty class before and after, and it sets allowVolumeExpansion: true."""
    klass, old_klass = new["spec"].get("storageClassName") or "", old["spec"].get("storageClassName") or ""
    if not klass or klass != old_klass:
        return False
    sc = store.try_get("StorageClass", klass)
    return sc is not None and sc.get("allowVolumeExpansion") is True


def validate_claim_update(old: dict, new: dict, recover: bool | None = None) -> None:
    """ValidatePersistentVolumeClaimUpdate's spec rules (module docstring); FieldError on the first broken one.

    `recover`: whether RecoverVolumeExpansionFailure is on (None: the 1.31 default).
    """
    old_spec, new_spec = dict(old.get("spec") or {}), dict(new.get("spec") or {})
    if not old_spec.get("volumeName"):
        old_spec["volumeName"] = new_spec.get("volumeName")   # the binder sets it once
    if old_spec.get("storageClassName") is None and new_spec.get("storageClassName"):
        new_spec["storageClassName"] = None                   # the retroactive default class
    bound = (old.get("status") or {}).get("phase") == "Bound"   # status updates keep the stored status
    if bound:
        for spec in (old_spec, new_spec):
            resources = dict(spec.get("resources") or {})
            resources["requests"] = {k: v for k, v in (resources.get("requests") or {}).items() if k != "storage"}
            spec["resources"] = resources
            spec.pop("volumeAttributesClassName", None)
    strip = lambda s: {k: v for k, v in s.items() if v is not None}  # noqa: E731
    if strip(old_spec) != strip(new_spec) and not _same_quantities(old_spec, new_spec):
        raise FieldError(SPEC_IMMUTABLE, "spec")
    old_size, new_size = _request(old.get("spec") or {}), _request(new.get("spec") or {})
    if old_size is not None and new_size is not None and new_size < old_size:
        if not (recover if recover is not None else recovers(None)):
            raise FieldError("Forbidden: field can not be less than previous value", "spec.resources.requests.storage")
        if new_size <= _capacity(old, "status.capacity"):
            raise FieldError("Forbidden: field can not be less than status.capacity", "spec.resources.requests.storage")


def _same_quantities(old_spec: dict, new_spec: dict) -> bool:
    """Semantic equality: the specs differ only in how equal requests are written (1Gi and 1024Mi)."""
    def norm(spec: dict) -> dict:
        resources = dict(spec.get("resources") or {})
        resources["requests"] = {k: Quantity.parse(str(v)) for k, v in (resources.get("requests") or {}).items()}
        return {k: v for k, v in {**spec, "resources": resources}.items() if v is not None}
    return norm(old_spec) == norm(new_spec)


# --- the resize ---------------------------------------------------------------------------------
def reconcile(store: Store, gates: Mapping[str, bool] | None = None) -> None:
    """One step of every bound claim's pending resize (module docstring); `gates`: the topology's featureGates."""
    recover = recovers(gates)
    for claim in store.list("PersistentVolumeClaim"):
        if claim.status.get("phase") != "Bound" or not claim.spec.get("volumeName"):
            continue
        pv = store.try_get("PersistentVolume", claim.spec["volumeName"])
        if pv is None or (pv.spec.get("claimRef") or {}).get("uid") != claim.uid:
            continue
        _sync(store, claim, pv, recover)


def _sync(store: Store, claim: Resource, pv: Resource, recover: bool) -> None:
    from netsim.controllers.volumes import _event_once

    want = _request(claim.spec) or Quantity.parse("0")
    status_size = _capacity(claim, "status.capacity")
    pv_size = _capacity(pv, "spec.capacity")
    if want <= status_size and pv_size <= status_size:
        return
    driver = (pv.spec.get("csi") or {}).get("driver")
    if want > status_size:
        _event_once(store, claim, "Normal", "ExternalExpanding",
                    "waiting for an external controller to expand this PVC", EXPAND_COMPONENT)
    if not driver:
        return   # no external-resizer serves this volume
    resizer = f"external-resizer {driver}"
    size_text = str(((claim.spec.get("resources") or {}).get("requests") or {})["storage"])
    if pv_size < want:
        if claim.condition("Resizing") is None:
            claim = _set_claim_status(store, claim, "Resizing", "", recover, allocated=size_text,
                                      resource_status="ControllerResizeInProgress")
            store.record_event(claim, "Normal", "Resizing", f"External resizer is resizing volume {pv.name}", resizer)
            return
        pv = store.update(pv.evolve(lambda d: d["spec"].setdefault("capacity", {}).__setitem__("storage", size_text)))
        if driver in NO_NODE_EXPANSION:
            _finish(store, claim, pv)
            store.record_event(claim, "Normal", "VolumeResizeSuccessful", "Resize volume succeeded", resizer)
            return
        _set_claim_status(store, claim, "FileSystemResizePending", FS_RESIZE_PENDING_MESSAGE, recover,
                          resource_status="NodeResizePending")
        store.record_event(claim, "Normal", "FileSystemResizeRequired",
                           "Require file system resize of volume on node", resizer)
        return
    if claim.condition("FileSystemResizePending") is not None:
        _expand_on_node(store, claim, pv)


def _expand_on_node(store: Store, claim: Resource, pv: Resource) -> None:
    """The kubelet's NodeExpandVolume, by the first running pod (by name) that mounts the claim."""
    from netsim.controllers.volumes import pod_claims

    users = [p for p in store.list("Pod", claim.namespace)
             if p.node_name and p.phase == "Running" and not p.deletion_timestamp and claim.name in pod_claims(p)]
    if not users:
        return
    pod = users[0]
    message = f'MountVolume.NodeExpandVolume succeeded for volume "{pv.name}" {pod.node_name}'
    claim = _finish(store, claim, pv)
    store.record_event(pod, "Normal", "FileSystemResizeSuccessful", message, "kubelet", pod.node_name)
    store.record_event(claim, "Normal", "FileSystemResizeSuccessful", message, "kubelet", pod.node_name)


def _set_claim_status(store: Store, claim: Resource, condition: str, message: str, recover: bool, *,
                      allocated: str = "", resource_status: str) -> Resource:
    """Replace the claim's resize conditions with `condition`; with the gate, record the allocation too."""
    stamp = store.now()

    def change(d: dict) -> None:
        status = d.setdefault("status", {})
        kept = [c for c in status.get("conditions") or [] if c.get("type") not in RESIZE_CONDITIONS]
        entry = {"type": condition, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
        if message:
            entry["message"] = message
        status["conditions"] = [*kept, entry]
        if recover:
            if allocated:
                status.setdefault("allocatedResources", {})["storage"] = allocated
            status.setdefault("allocatedResourceStatuses", {})["storage"] = resource_status

    return store.update(claim.evolve(change))


def _finish(store: Store, claim: Resource, pv: Resource) -> Resource:
    """MarkFSResizeFinished / markOverallExpansionAsFinished: capacity from the volume, resize conditions gone."""
    def change(d: dict) -> None:
        status = d.setdefault("status", {})
        status.setdefault("capacity", {})["storage"] = (pv.spec.get("capacity") or {})["storage"]
        kept = [c for c in status.get("conditions") or [] if c.get("type") not in RESIZE_CONDITIONS]
        if kept:
            status["conditions"] = kept
        else:
            status.pop("conditions", None)
        statuses = {k: v for k, v in (status.get("allocatedResourceStatuses") or {}).items() if k != "storage"}
        if statuses:
            status["allocatedResourceStatuses"] = statuses
        else:
            status.pop("allocatedResourceStatuses", None)

    return store.update(claim.evolve(change))
