"""The persistent volume controller, a dynamic provisioner and the pvc/pv protection controllers.

As kube-controller-manager's persistentvolume controller (pv_controller.go
syncClaim / syncVolume) and the external provisioners it hands claims to:

- A claim binds to the smallest Available volume that matches it: the same
  storageClassName, capacity ≥ the request, every requested access mode, the
  claim's label selector, and (once a node is selected) node affinity that
  admits that node; ties go by name. Both sides are written: the volume's
  claimRef and phase Bound, the claim's volumeName, capacity, access modes
  and phase Bound, with the `pv.kubernetes.io/bind-completed` and
  `bound-by-controller` annotations.
- A class with volumeBindingMode WaitForFirstConsumer leaves its claims
  Pending (event WaitForFirstConsumer) until the scheduler has put a pod on a
  node and written the `volume.kubernetes.io/selected-node` annotation.
- With no match and a class whose provisioner is not
  `kubernetes.io/no-provisioner`, a volume `pvc-<claim uid>` is provisioned
  with the class's reclaimPolicy and node affinity for the selected node's
  topology domain (its zone; its hostname for rancher.io/local-path), or the
  class's first allowedTopologies term when no node is selected.
- A Bound volume whose claim is gone becomes Released; reclaimPolicy Delete
  then deletes it.
- `kubernetes.io/pvc-protection` keeps a claim while a pod bound to a node
  names it (finished pods still count, unscheduled ones do not, as the
  pvc-protection controller's podUsesPVC); `kubernetes.io/pv-protection` keeps a volume
  while it is Bound.

Provisioning is recorded as on a real cluster: the PV controller hands the
claim to the external provisioner (provisionClaimOperationExternal) by
writing `volume.kubernetes.io/storage-provisioner` and its beta twin and
recording ExternalProvisioning; the provisioner (sig-storage-lib-external-
provisioner) records Provisioning and ProvisioningSucceeded under its own
identity, `<provisioner>_<controller pod name>_<uuid>`. The volume carries
`pv.kubernetes.io/provisioned-by`, plus the two provisioner-deletion-secret
annotations csi-provisioner always writes, or local-path's
`local.path.provisioner/selected-node`.

A claim without storageClassName gets the default class (the
`storageclass.kubernetes.io/is-default-class` annotation), as the
DefaultStorageClass admission plugin does, here at its first sync.
Volume expansion is volume_expansion.py's; a StatefulSet's claim retention policy is
statefulset.py's (ownerReferences the garbage collector follows). Not built: Recycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netsim.api.meta import NAME_SUFFIX_ALPHABET
from netsim.api.objects import Node, Pod, Resource
from netsim.api.quantity import Quantity
from netsim.api.selector import LabelSelector
from netsim.api.store import Store
from netsim.controllers import volume_expansion
from netsim.errors import NotImplementedFeature
from netsim.sim.rng import Random

COMPONENT = "persistentvolume-controller"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"   # still written in 1.31
DELETION_SECRET_NAME = "volume.kubernetes.io/provisioner-deletion-secret-name"
DELETION_SECRET_NAMESPACE = "volume.kubernetes.io/provisioner-deletion-secret-namespace"
PROVISIONER_SECRET_NAME = "csi.storage.k8s.io/provisioner-secret-name"           # StorageClass parameters
PROVISIONER_SECRET_NAMESPACE = "csi.storage.k8s.io/provisioner-secret-namespace"
LOCAL_PATH = "rancher.io/local-path"
LOCAL_PATH_SELECTED_NODE = "local.path.provisioner/selected-node"
EXTERNAL_PROVISIONING = ("Waiting for a volume to be created either by the external provisioner '{}' or manually by "
                         "the system administrator. If volume creation is delayed, please verify that the provisioner "
                         "is running and correctly registered.")
NO_PROVISIONER = "kubernetes.io/no-provisioner"
ZONE_KEY = "topology.kubernetes.io/zone"
HOSTNAME_KEY = "kubernetes.io/hostname"
# provisioner -> the node label its volumes are pinned to (the zone unless listed).
PROVISIONER_TOPOLOGY = {
    LOCAL_PATH: HOSTNAME_KEY,   # a directory on one node
}
# provisioner -> the Deployment whose pod runs it: the pod's name is the host name in the provisioner's identity.
PROVISIONER_DEPLOYMENTS = {
    LOCAL_PATH: "local-path-provisioner",        # kind's local-path-storage/local-path-provisioner
    "ebs.csi.aws.com": "ebs-csi-controller",     # aws-ebs-csi-driver, kube-system
    "efs.csi.aws.com": "efs-csi-controller",     # aws-efs-csi-driver, kube-system
    "nfs.csi.k8s.io": "csi-nfs-controller",      # csi-driver-nfs, kube-system
}
POD_TEMPLATE_HASH_LENGTH = 10                    # a pod-template-hash as kind's pods show it (75f7fc7dc5)


@dataclass(frozen=True, slots=True)
class ProvisionerIdentity:
    """One running external provisioner: its name, the host (controller pod) it runs on and its uuid."""

    provisioner: str
    host: str
    uid: str

    @property
    def component(self) -> str:
        """The event source: NewProvisionController's `provisionerName + "_" + hostname + "_" + uuid`."""
        return f"{self.provisioner}_{self.host}_{self.uid}"


class ExternalProvisioners:
    """The identities of the cluster's external provisioners, each drawn once from its own seeded stream.

    A child stream per provisioner name keeps every other component's draws where they were.
    """

    __slots__ = ("_random", "_known")

    def __init__(self, seed: int) -> None:
        self._random = Random(seed).child("external-provisioners")
        self._known: dict[str, ProvisionerIdentity] = {}

    def identity(self, sc: Resource) -> ProvisionerIdentity:
        """The identity of the provisioner `sc` names; NotImplementedFeature when its controller is unknown."""
        name = str(sc.get("provisioner"))
        if name not in self._known:
            deployment = PROVISIONER_DEPLOYMENTS.get(name)
            if deployment is None:
                raise NotImplementedFeature(
                    f"StorageClass {sc.name}: provisioner {name!r}: its controller pod (the source of the "
                    f"Provisioning events) is not emulated; known: {', '.join(sorted(PROVISIONER_DEPLOYMENTS))}")
            rng = self._random.child(name)
            pod_hash = "".join(NAME_SUFFIX_ALPHABET[int(i)] for i in
                               rng.generator.integers(0, len(NAME_SUFFIX_ALPHABET), size=POD_TEMPLATE_HASH_LENGTH))
            self._known[name] = ProvisionerIdentity(name, f"{deployment}-{pod_hash}-{rng.random_suffix(5)}",
                                                    rng.uid())
        return self._known[name]


def reconcile(store: Store, provisioners: ExternalProvisioners, gates: Mapping[str, bool] | None = None) -> None:
    """One pass: protection finalizers, claim binding and provisioning, released volumes, resizes."""
    _protect(store)
    for claim in store.list("PersistentVolumeClaim"):
        if not claim.deletion_timestamp:
            _sync_claim(store, claim, provisioners)
    for volume in store.list("PersistentVolume"):
        _sync_volume(store, volume)
    volume_expansion.reconcile(store, gates)


def default_class(store: Store) -> Resource | None:
    """The StorageClass annotated as the default (the newest wins, as the admission plugin picks)."""
    marked = [sc for sc in store.list("StorageClass") if sc.annotations.get(DEFAULT_CLASS) == "true"]
    return max(marked, key=lambda sc: (sc.creation_timestamp, sc.name), default=None)


def claim_class(store: Store, claim: Resource) -> Resource | None:
    """The claim's StorageClass object, if it names one that exists."""
    name = claim.spec.get("storageClassName")
    return store.try_get("StorageClass", name) if name else None


def wait_for_first_consumer(store: Store, claim: Resource) -> bool:
    """Whether binding of this claim waits until a pod using it is scheduled."""
    sc = claim_class(store, claim)
    return sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"


def _storage(obj: Resource, path: str) -> Quantity:
    return Quantity.parse(str((obj.get(path) or {}).get("storage", "0")))


def volume_fits_node(volume: Resource, node: Node) -> bool:
    """The volume's spec.nodeAffinity admits the node (no affinity: every node)."""
    from netsim.controllers.scheduler import node_selector_term_matches

    required = (volume.get("spec.nodeAffinity") or {}).get("required")
    if not required:
        return True
    return any(node_selector_term_matches(t, node) for t in required.get("nodeSelectorTerms") or ())


def matching_volume(store: Store, claim: Resource, node: Node | None) -> Resource | None:
    """The smallest Available volume the claim can bind (findBestMatchForClaim), None if none."""
    want = _storage(claim, "spec.resources.requests")
    modes = set(claim.spec.get("accessModes") or ())
    klass = claim.spec.get("storageClassName") or ""
    selector = claim.spec.get("selector")
    fits = []
    for pv in store.list("PersistentVolume"):
        ref = pv.spec.get("claimRef") or {}
        if pv.deletion_timestamp or pv.status.get("phase") not in (None, "Pending", "Available"):
            continue
        if ref and (ref.get("name"), ref.get("namespace")) != (claim.name, claim.namespace):
            continue
        if (pv.spec.get("storageClassName") or "") != klass or _storage(pv, "spec.capacity") < want:
            continue
        if not modes <= set(pv.spec.get("accessModes") or ()):
            continue
        if selector is not None and not LabelSelector.from_dict(dict(selector)).matches(pv.labels):
            continue
        if node is not None and not volume_fits_node(pv, node):
            continue
        fits.append(pv)
    return min(fits, key=lambda pv: (_storage(pv, "spec.capacity"), pv.name), default=None)


def can_provision(store: Store, claim: Resource, node: Node) -> bool:
    """Whether the claim's class can provision a volume usable from `node` (allowedTopologies)."""
    sc = claim_class(store, claim)
    if sc is None or sc.get("provisioner") == NO_PROVISIONER:
        return False
    terms = sc.get("allowedTopologies") or []
    return not terms or any(all(node.labels.get(e.get("key")) in (e.get("values") or ())
                                for e in t.get("matchLabelExpressions") or ()) for t in terms)


def _protect(store: Store) -> None:
    """Add the protection finalizers; drop them when nothing needs the object any more."""
    # only scheduled pods count: the kubelet will not start a pod whose claim is being deleted
    users = {(v["persistentVolumeClaim"]["claimName"], p.namespace)
             for p in store.list("Pod") if p.node_name
             for v in p.spec.get("volumes") or () if v.get("persistentVolumeClaim")}
    for kind, finalizer in (("PersistentVolumeClaim", PVC_PROTECTION), ("PersistentVolume", PV_PROTECTION)):
        for obj in store.list(kind):
            present = finalizer in obj.finalizers
            if obj.deletion_timestamp:
                busy = (obj.name, obj.namespace) in users if kind == "PersistentVolumeClaim" \
                    else obj.status.get("phase") == "Bound"
                if present and not busy:
                    store.update(obj.evolve(lambda d, f=finalizer: d["metadata"].__setitem__(
                        "finalizers", [x for x in d["metadata"]["finalizers"] if x != f])))
            elif not present:
                store.update(obj.evolve(lambda d, f=finalizer: d["metadata"].setdefault("finalizers", []).append(f)))


def _sync_claim(store: Store, claim: Resource, provisioners: ExternalProvisioners) -> None:
    if "storageClassName" not in claim.spec:
        sc = default_class(store)
        if sc is not None:
            claim = store.update(claim.evolve(lambda d: d["spec"].__setitem__("storageClassName", sc.name)))
    if claim.spec.get("volumeName"):
        _sync_named_claim(store, claim)
        return
    node_name = claim.annotations.get(SELECTED_NODE)
    node = store.try_get("Node", node_name) if node_name else None
    if wait_for_first_consumer(store, claim) and node is None:
        _event_once(store, claim, "Normal", "WaitForFirstConsumer",
                    "waiting for first consumer to be created before binding")
        return
    pv = matching_volume(store, claim, node)  # type: ignore[arg-type]
    if pv is not None:
        _bind(store, pv, claim)
        return
    sc = claim_class(store, claim)
    if sc is None or sc.get("provisioner") == NO_PROVISIONER:
        message = ("no persistent volumes available for this claim and no storage class is set"
                   if not claim.spec.get("storageClassName") else
                   f'storageclass.storage.k8s.io "{claim.spec["storageClassName"]}" not found' if sc is None
                   else "no persistent volumes available for this claim")
        _event_once(store, claim, "Normal" if sc is not None else "Warning", "FailedBinding", message)
        return
    _provision(store, claim, sc, node, provisioners.identity(sc))  # type: ignore[arg-type]


def _sync_named_claim(store: Store, claim: Resource) -> None:
    """A claim naming its volume (syncUnboundClaim's user-bound branch; syncBoundClaim's Lost)."""
    pv = store.try_get("PersistentVolume", claim.spec["volumeName"])
    ref = (pv.spec.get("claimRef") or {}) if pv is not None else {}
    if pv is not None and ref.get("uid") == claim.uid:
        _bind(store, pv, claim)
    elif claim.status.get("phase") == "Bound":
        store.update(claim.evolve(lambda d: d["status"].__setitem__("phase", "Lost")))
    elif pv is None:
        return                                   # "volume requested and not found, will try again next time"
    elif not ref or (ref.get("name"), ref.get("namespace"), ref.get("uid", claim.uid)) == (
            claim.name, claim.namespace, claim.uid):
        problem = _unsatisfied(pv, claim)
        if problem:
            _event_once(store, claim, "Warning", "VolumeMismatch",
                        f'Cannot bind to requested volume "{pv.name}": {problem}')
        else:
            _bind(store, pv, claim)
    else:
        _event_once(store, claim, "Warning", "FailedBinding",
                    f'volume "{pv.name}" already bound to a different claim.')


def _unsatisfied(pv: Resource, claim: Resource) -> str:
    """Why a named volume cannot take the claim (checkVolumeSatisfyClaim), "" when it can."""
    if pv.deletion_timestamp:
        return f'the volume is marked for deletion "{pv.name}"'
    if _storage(pv, "spec.capacity") < _storage(claim, "spec.resources.requests"):
        return "requested PV is too small"
    if (pv.spec.get("storageClassName") or "") != (claim.spec.get("storageClassName") or ""):
        return "storageClassName does not match"
    if pv.spec.get("volumeMode", "Filesystem") != claim.spec.get("volumeMode", "Filesystem"):
        return "incompatible volumeMode"
    if not set(claim.spec.get("accessModes") or ()) <= set(pv.spec.get("accessModes") or ()):
        return "incompatible accessMode"
    return ""


def _provision(store: Store, claim: Resource, sc: Resource, node: Node | None, who: ProvisionerIdentity) -> None:
    """Hand the claim to its external provisioner, which creates the volume; then bind it.

    The PV controller's provisionClaimOperationExternal (setClaimProvisioner, then
    ExternalProvisioning), then the provisioner's provisionClaimOperation
    (Provisioning, the volume, ProvisioningSucceeded).
    """
    name = f"pvc-{claim.uid}"
    provisioner = sc.get("provisioner")
    if store.try_get("PersistentVolume", name) is None:
        if claim.annotations.get(STORAGE_PROVISIONER) != provisioner:
            claim = store.update(claim.evolve(lambda d: d["metadata"].setdefault("annotations", {}).update({
                BETA_STORAGE_PROVISIONER: provisioner, STORAGE_PROVISIONER: provisioner})))
        _event_once(store, claim, "Normal", "ExternalProvisioning", EXTERNAL_PROVISIONING.format(provisioner))
        store.record_event(claim, "Normal", "Provisioning",
                           f'External provisioner is provisioning volume for claim "{claim.namespace}/{claim.name}"',
                           who.component)
        store.create(_volume(claim, sc, node, name))
        store.record_event(claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {name}",
                           who.component)
    _bind(store, store.get("PersistentVolume", name), claim)


def _volume(claim: Resource, sc: Resource, node: Node | None, name: str) -> dict:
    """The PersistentVolume the provisioner creates for the claim (its spec and the annotations it writes)."""
    provisioner = sc.get("provisioner")
    key = PROVISIONER_TOPOLOGY.get(provisioner, ZONE_KEY)
    terms = []
    if node is not None and node.labels.get(key):
        terms = [{"matchExpressions": [{"key": key, "operator": "In", "values": [node.labels[key]]}]}]
    elif sc.get("allowedTopologies"):
        terms = [{"matchExpressions": [{"key": e["key"], "operator": "In", "values": list(e.get("values") or ())}
                                       for e in t.get("matchLabelExpressions") or ()]}
                 for t in sc.get("allowedTopologies")[:1]]
    request = ((claim.spec.get("resources") or {}).get("requests") or {}).get("storage", "0")
    spec = {"capacity": {"storage": str(request)},
            "accessModes": list(claim.spec.get("accessModes") or ()),
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
            "storageClassName": sc.name, "volumeMode": claim.spec.get("volumeMode", "Filesystem"),
            "claimRef": _claim_ref(claim)}
    annotations = {PROVISIONED_BY: provisioner}
    if provisioner == LOCAL_PATH:   # a directory under the node's local-path root
        spec["hostPath"] = {"path": f"/var/local-path-provisioner/{name}_{claim.namespace}_{claim.name}",
                            "type": "DirectoryOrCreate"}
        if node is not None:
            annotations[LOCAL_PATH_SELECTED_NODE] = node.name
    else:
        spec["csi"] = {"driver": provisioner, "volumeHandle": name}
        annotations.update(_deletion_secret(sc))
    if terms:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": terms}}
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": annotations}, "spec": spec}


def _deletion_secret(sc: Resource) -> dict[str, str]:
    """csi-provisioner's provisioner-deletion-secret annotations: the class's provisioner secret, or empty values."""
    params = sc.get("parameters") or {}
    name, namespace = str(params.get(PROVISIONER_SECRET_NAME, "")), str(params.get(PROVISIONER_SECRET_NAMESPACE, ""))
    if "${" in name + namespace:
        raise NotImplementedFeature(f"StorageClass {sc.name}: parameters {PROVISIONER_SECRET_NAME}: "
                                    "templated secret references (${...}) are not emulated")
    return {DELETION_SECRET_NAME: name, DELETION_SECRET_NAMESPACE: namespace}


def _claim_ref(claim: Resource) -> dict:
    return {"kind": "PersistentVolumeClaim", "namespace": claim.namespace, "name": claim.name, "uid": claim.uid,
            "apiVersion": "v1", "resourceVersion": claim.resource_version}


def _bind(store: Store, pv: Resource, claim: Resource) -> None:
    """Write both halves of the binding (bindVolumeToClaim, then bindClaimToVolume)."""
    def volume(d: dict) -> None:
        ref = d["spec"].get("claimRef") or {}
        if ref.get("uid") != claim.uid:
            d["spec"]["claimRef"] = _claim_ref(claim)
            d["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
        d.setdefault("status", {})["phase"] = "Bound"

    pv = store.update(pv.evolve(volume))

    def bound(d: dict) -> None:
        d["spec"]["volumeName"] = pv.name
        notes = d["metadata"].setdefault("annotations", {})
        notes[BIND_COMPLETED] = "yes"
        if not claim.spec.get("volumeName"):
            notes[BOUND_BY_CONTROLLER] = "yes"
        if claim.status.get("phase") == "Bound":
            return   # already bound: a resize owns status.capacity and the conditions
        d["status"] = {"phase": "Bound", "accessModes": list(pv.spec.get("accessModes") or ()),
                       "capacity": dict(pv.spec.get("capacity") or {})}

    store.update(claim.evolve(bound))


def _sync_volume(store: Store, pv: Resource) -> None:
    ref = pv.spec.get("claimRef")
    phase = pv.status.get("phase")
    if not ref:
        if phase != "Available" and not pv.deletion_timestamp:
            store.update(pv.evolve(lambda d: d.setdefault("status", {}).__setitem__("phase", "Available")))
        return
    claim = store.try_get("PersistentVolumeClaim", ref.get("name", ""), ref.get("namespace", ""))
    if claim is not None and (not ref.get("uid") or claim.uid == ref.get("uid")):
        return
    if not ref.get("uid") and phase != "Available":   # pre-bound to a claim not created yet
        store.update(pv.evolve(lambda d: d.setdefault("status", {}).__setitem__("phase", "Available")))
        return
    if phase not in ("Released", "Failed") and ref.get("uid"):
        pv = store.update(pv.evolve(lambda d: d.setdefault("status", {}).__setitem__("phase", "Released")))
    if pv.status.get("phase") == "Released" and pv.spec.get("persistentVolumeReclaimPolicy") == "Delete" \
            and not pv.deletion_timestamp:
        store.delete("PersistentVolume", pv.name)


def _event_once(store: Store, obj: Resource, type_: str, reason: str, message: str,
                component: str = COMPONENT) -> None:
    """Record the event unless the same one is already the latest about the object (no count churn)."""
    if any(e.involved_object.get("uid") == obj.uid and e.reason == reason and e.message == message
           for e in store.list("Event", obj.namespace or "default")):
        return
    store.record_event(obj, type_, reason, message, component)


def pod_claims(pod: Pod) -> list[str]:
    """The claim names the pod's volumes use, in spec order."""
    return [v["persistentVolumeClaim"]["claimName"] for v in pod.spec.get("volumes") or ()
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


# --- the scheduler's VolumeBinding and VolumeZone filters --------------------------------------
VOLUME_NODE_AFFINITY_CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUMES_TO_BIND = "node(s) didn't find available persistent volumes to bind"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"


def pod_volume_problem(store: Store, pod: Pod) -> str:
    """VolumeBinding's PreFilter: why no node can take the pod (a missing or unbound Immediate claim); '' if none."""
    for name in pod_claims(pod):
        claim = store.try_get("PersistentVolumeClaim", name, pod.namespace)
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if claim.deletion_timestamp:
            return f'persistentvolumeclaim "{name}" is being deleted'
        if not claim.spec.get("volumeName") and not wait_for_first_consumer(store, claim):
            return UNBOUND_IMMEDIATE
    return ""


def volume_reasons(store: Store, pod: Pod, node: Node) -> list[str]:
    """VolumeBinding's Filter on one node: bound volumes' node affinity, and a way to bind the unbound ones."""
    for name in pod_claims(pod):
        claim = store.try_get("PersistentVolumeClaim", name, pod.namespace)
        if claim is None:
            continue
        if claim.spec.get("volumeName"):
            pv = store.try_get("PersistentVolume", claim.spec["volumeName"])
            if pv is not None and not volume_fits_node(pv, node):
                return [VOLUME_NODE_AFFINITY_CONFLICT]
        elif matching_volume(store, claim, node) is None and not can_provision(store, claim, node):
            return [NO_VOLUMES_TO_BIND]
    return []


def select_node(store: Store, pod: Pod, node_name: str) -> None:
    """VolumeBinding's PreBind: mark the pod's unbound WaitForFirstConsumer claims with the chosen node."""
    for name in pod_claims(pod):
        claim = store.try_get("PersistentVolumeClaim", name, pod.namespace)
        if claim is not None and not claim.spec.get("volumeName") and SELECTED_NODE not in claim.annotations:
            store.update(claim.evolve(lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(
                SELECTED_NODE, node_name)))
