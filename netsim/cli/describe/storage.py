"""`kubectl describe` for PersistentVolumeClaims, PersistentVolumes and StorageClasses.

As describe.go's describePersistentVolumeClaim (printPersistentVolumeClaim,
`Used By`, Conditions, Events), describePersistentVolume (Finalizers, Claim,
Node Affinity, Source) and describeStorageClass. A claim shows Capacity and
Access Modes only once it names a volume, as kubectl does.
"""

from __future__ import annotations

from collections.abc import Mapping

from netsim.api.quantity import Quantity
from netsim.cli.describe import text as t
from netsim.cli.describe.pod import csi_attributes
from netsim.errors import NotImplementedFeature

ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                ("ReadWriteOncePod", "RWOP"))
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def access_modes(modes) -> str:
    """storageutil.GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order, comma-joined."""
    present = set(modes or ())
    return ",".join(short for mode, short in ACCESS_MODES if mode in present)


def format_labels(mapping: Mapping | None) -> str:
    """labels.FormatLabels: `k=v,k2=v2` sorted by key, `<none>` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((mapping or {}).items())) or "<none>"


def _status(obj, now: float) -> str:
    if obj.deletion_timestamp:
        return f"Status:\tTerminating (lasts {t.since(obj.deletion_timestamp, now)})"
    return f"Status:\t{obj.status.get('phase', '')}"


def _claim_class(claim) -> str:
    """GetPersistentVolumeClaimClass: the beta annotation first, then spec.storageClassName."""
    beta = claim.annotations.get("volume.beta.kubernetes.io/storage-class")
    return beta if beta is not None else str(claim.spec.get("storageClassName") or "")


def describe_pvc(store, claim, now: float) -> str:
    """The text `kubectl describe pvc NAME -n NAMESPACE` prints."""
    spec = claim.spec
    lines = [f"Name:\t{claim.name}", f"Namespace:\t{claim.namespace}", f"StorageClass:\t{_claim_class(claim)}",
             _status(claim, now), f"Volume:\t{spec.get('volumeName', '')}"]
    lines += t.labels("Labels", claim.labels)
    lines += t.annotations("Annotations", claim.annotations)
    lines.append(f"Finalizers:\t{t.go_list(claim.finalizers)}")
    bound = bool(spec.get("volumeName"))
    capacity = str(Quantity.parse((claim.status.get("capacity") or {}).get("storage", "0"))) if bound else ""
    lines.append(f"Capacity:\t{capacity}")
    lines.append(f"Access Modes:\t{access_modes(claim.status.get('accessModes')) if bound else ''}")
    if spec.get("volumeMode"):
        lines.append(f"VolumeMode:\t{spec['volumeMode']}")
    source = spec.get("dataSource")
    if source:
        lines.append("DataSource:")
        if source.get("apiGroup") is not None:
            lines.append(f"  APIGroup:\t{source['apiGroup']}")
        lines += [f"  Kind:\t{source.get('kind', '')}", f"  Name:\t{source.get('name', '')}"]
    lines += t.multiline("Used By", sorted(p.name for p in _users(store, claim)))
    conditions = claim.status.get("conditions") or []
    if conditions:
        lines += ["Conditions:", "  Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage",
                  "  ----\t------\t-----------------\t------------------\t------\t-------"]
        lines += [f"  {c.get('type')} \t{c.get('status')} \t{t.rfc1123(c.get('lastProbeTime'))} \t"
                  f"{t.rfc1123(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}"
                  for c in conditions]
    lines += t.events(t.events_about(store, claim), now)
    return t.render(lines)


def _users(store, claim) -> list:
    """getPodsForPVC: pods naming the claim in a volume (once per volume), then owner pods not yet listed."""
    pods = store.list("Pod", claim.namespace)
    users = [p for p in pods for v in p.spec.get("volumes") or ()
             if (v.get("persistentVolumeClaim") or {}).get("claimName") == claim.name]
    for ref in claim.owner_references:
        if ref.kind == "Pod":
            owner = next((p for p in pods if p.uid == ref.uid), None)
            if owner is not None and all(u.uid != owner.uid for u in users):
                users.append(owner)
    return users


def describe_pv(store, volume, now: float) -> str:
    """The text `kubectl describe pv NAME` prints."""
    spec = volume.spec
    lines = [f"Name:\t{volume.name}"]
    lines += t.labels("Labels", volume.labels)
    lines += t.annotations("Annotations", volume.annotations)
    lines.append(f"Finalizers:\t{t.go_list(volume.finalizers)}")
    beta = volume.annotations.get("volume.beta.kubernetes.io/storage-class")
    lines.append(f"StorageClass:\t{beta if beta is not None else spec.get('storageClassName', '')}")
    lines.append(_status(volume, now))
    ref = spec.get("claimRef")
    lines.append(f"Claim:\t{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else "Claim:\t")
    lines.append(f"Reclaim Policy:\t{spec.get('persistentVolumeReclaimPolicy', '')}")
    lines.append(f"Access Modes:\t{access_modes(spec.get('accessModes'))}")
    if spec.get("volumeMode"):
        lines.append(f"VolumeMode:\t{spec['volumeMode']}")
    lines.append(f"Capacity:\t{Quantity.parse((spec.get('capacity') or {}).get('storage', '0'))}")
    lines += _node_affinity(spec.get("nodeAffinity"))
    lines.append(f"Message:\t{volume.status.get('message', '')}")
    lines.append("Source:")
    lines += _pv_source(volume)
    lines += t.events(t.events_about(store, volume), now)
    return t.render(lines)


def _node_affinity(affinity: Mapping | None) -> list[str]:
    """printVolumeNodeAffinity: the required terms, one expression a line (`key in [a, b]`)."""
    required = (affinity or {}).get("required")
    if required is None:
        return ["Node Affinity:\t<none>"]
    terms = required.get("nodeSelectorTerms") or []
    lines = ["Node Affinity:\t", "  Required Terms:\t" + ("" if terms else "<none>")]
    for i, term in enumerate(terms):
        exprs = term.get("matchExpressions") or []
        if not exprs:
            lines.append(f"    Term {i}:\t<none>")
        for j, req in enumerate(exprs):
            text = f"{req.get('key')} {str(req.get('operator', '')).lower()}"
            if req.get("values"):
                text += f" [{', '.join(req['values'])}]"
            lines.append(f"    Term {i}:\t{text}" if j == 0 else f"    \t{text}")
    return lines


def _pv_source(volume) -> list[str]:
    spec = volume.spec
    if spec.get("hostPath") is not None:
        h = spec["hostPath"]
        return ["    Type:\tHostPath (bare host directory volume)", f"    Path:\t{h.get('path', '')}",
                f"    HostPathType:\t{h.get('type') or '<none>'}"]
    if spec.get("local") is not None:
        return ["    Type:\tLocalVolume (a persistent volume backed by local storage on a node)",
                f"    Path:\t{spec['local'].get('path', '')}"]
    if spec.get("nfs") is not None:
        n = spec["nfs"]
        return ["    Type:\tNFS (an NFS mount that lasts the lifetime of a pod)", f"    Server:\t{n.get('server', '')}",
                f"    Path:\t{n.get('path', '')}", f"    ReadOnly:\t{'true' if n.get('readOnly') else 'false'}"]
    if spec.get("csi") is not None:
        c = spec["csi"]
        return ["    Type:\tCSI (a Container Storage Interface (CSI) volume source)",
                f"    Driver:\t{c.get('driver', '')}", f"    FSType:\t{c.get('fsType', '')}",
                f"    VolumeHandle:\t{c.get('volumeHandle', '')}",
                f"    ReadOnly:\t{'true' if c.get('readOnly') else 'false'}",
                *csi_attributes(c.get("volumeAttributes"))]
    known = {"capacity", "accessModes", "persistentVolumeReclaimPolicy", "storageClassName", "volumeMode",
             "claimRef", "nodeAffinity", "mountOptions", "volumeAttributesClassName"}
    sources = sorted(k for k in spec if k not in known)
    if not sources:
        return ["  <unknown>"]
    raise NotImplementedFeature(f"describe: persistentvolume {volume.name}: the {', '.join(sources)} source is "
                                f"not emulated")


def describe_storageclass(store, sc, now: float) -> str:
    """The text `kubectl describe storageclass NAME` prints."""
    default = "Yes" if any(sc.annotations.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS) else "No"
    expansion = sc.get("allowVolumeExpansion")
    lines = [f"Name:\t{sc.name}", f"IsDefaultClass:\t{default}", f"Annotations:\t{format_labels(sc.annotations)}",
             f"Provisioner:\t{sc.get('provisioner', '')}", f"Parameters:\t{format_labels(sc.get('parameters'))}",
             f"AllowVolumeExpansion:\t{'<unset>' if expansion is None else ('True' if expansion else 'False')}"]
    options = sc.get("mountOptions") or []
    lines += ["MountOptions:"] + [f"  {o}" for o in options] if options else ["MountOptions:\t<none>"]
    if sc.get("reclaimPolicy"):
        lines.append(f"ReclaimPolicy:\t{sc.get('reclaimPolicy')}")
    if sc.get("volumeBindingMode"):
        lines.append(f"VolumeBindingMode:\t{sc.get('volumeBindingMode')}")
    topologies = sc.get("allowedTopologies")
    if topologies is not None:
        lines.append("AllowedTopologies:\t" + ("" if topologies else "<none>"))
        for i, term in enumerate(topologies):
            exprs = term.get("matchLabelExpressions") or []
            if not exprs:
                lines.append(f"  Term {i}:\t<none>")
            for j, req in enumerate(exprs):
                text = f"{req.get('key')} in" + (f" [{', '.join(req['values'])}]" if req.get("values") else "")
                lines.append(f"  Term {i}:\t{text}" if j == 0 else f"  \t{text}")
    lines += t.events(t.events_about(store, sc), now)
    return t.render(lines)
