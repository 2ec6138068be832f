"""The StatefulSet controller: ordinal pods, created and removed in order, updated by ordinal.

As kube-controller-manager's statefulset controller (stateful_set_control.go):
pods are named `<set>-<ordinal>` with hostname = the pod's name and
subdomain = spec.serviceName, labelled `statefulset.kubernetes.io/pod-name`,
`apps.kubernetes.io/pod-index` and `controller-revision-hash`; each template
revision is a ControllerRevision `<set>-<hash>`.

- OrderedReady (the default): ordinal i is created only once every ordinal
  below it is Running and Ready; nothing else happens while a pod is
  unhealthy or terminating; scale-down removes the highest ordinal first, one
  at a time.
- Parallel: every missing pod is created and every condemned pod deleted at once.
- RollingUpdate: once all pods are healthy, the highest ordinal ≥ partition
  that is not at the update revision is deleted (then recreated at it), one
  at a time, waiting for each to be Ready. OnDelete: pods change only when
  the user deletes them.
Failed pods are deleted and recreated.

volumeClaimTemplates: before creating ordinal n the controller creates each
missing claim `<template>-<set>-<n>` (labelled with the set's selector) and
mounts it in place of the template's volume of that name. Claims are kept
when pods or the set go away (persistentVolumeClaimRetentionPolicy Retain,
the default; Delete is not built), so a recreated pod mounts its old claim.
"""

from __future__ import annotations

import copy

from netsim.api.objects import Pod, StatefulSet
from netsim.api.store import Store
from netsim.controllers.workloads import controller_ref, is_owned_by, pod_template_hash

COMPONENT = "statefulset-controller"
REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def reconcile(store: Store) -> None:
    """One pass over every StatefulSet."""
    for sts in store.list("StatefulSet"):
        if not sts.deletion_timestamp:
            _sync(store, sts)  # type: ignore[arg-type]


def ordinal(pod: Pod, sts: StatefulSet) -> int | None:
    """The pod's ordinal in the set (from its name), or None."""
    prefix = f"{sts.name}-"
    tail = pod.name[len(prefix):] if pod.name.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else None


def healthy(pod: Pod) -> bool:
    """Running and Ready, not terminating (isRunningAndReady)."""
    return pod.phase == "Running" and pod.ready and not pod.deletion_timestamp


def _revision(store: Store, sts: StatefulSet) -> str:
    """The update revision's name, creating its ControllerRevision when new."""
    template = sts.template
    name = f"{sts.name}-{pod_template_hash(template)}"
    if store.try_get("ControllerRevision", name, sts.namespace) is None:
        numbers = [int(r.get("revision", 0)) for r in store.list("ControllerRevision", sts.namespace)
                   if is_owned_by(r, sts)]
        store.create({"apiVersion": "apps/v1", "kind": "ControllerRevision",
                      "metadata": {"name": name, "namespace": sts.namespace,
                                   "labels": {**dict((template.get("metadata") or {}).get("labels") or {}),
                                              REVISION_LABEL: name.rsplit("-", 1)[1]},
                                   "ownerReferences": [controller_ref(sts)]},
                      "data": {"spec": {"template": copy.deepcopy(template)}},
                      "revision": max(numbers, default=0) + 1})
    return name


def _sync(store: Store, sts: StatefulSet) -> None:
    update_revision = _revision(store, sts)
    pods = {}
    for pod in store.list("Pod", sts.namespace):
        if is_owned_by(pod, sts):
            n = ordinal(pod, sts)  # type: ignore[arg-type]
            if n is not None:
                pods[n] = pod
    replicas = sts.replicas
    ordered = sts.spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    busy = False
    for n in range(replicas):
        pod = pods.get(n)
        if pod is not None and pod.phase == "Failed" and not pod.deletion_timestamp:
            _delete(store, sts, pod)
            busy = True
            if ordered:
                break
            continue
        if pod is None:
            _create(store, sts, n, update_revision)
            busy = True
            if ordered:
                break
            continue
        if not healthy(pod):  # type: ignore[arg-type]
            busy = True
            if ordered:
                break
    condemned = sorted((n for n in pods if n >= replicas), reverse=True)
    if condemned and not (ordered and busy):
        for n in condemned:
            pod = pods[n]
            if pod.deletion_timestamp:
                if ordered:
                    break
                continue
            _delete(store, sts, pod)
            busy = True
            if ordered:
                break
    strategy = sts.spec.get("updateStrategy") or {}
    if not busy and not condemned and strategy.get("type", "RollingUpdate") == "RollingUpdate":
        partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0) or 0)
        for n in range(replicas - 1, partition - 1, -1):
            pod = pods.get(n)
            if pod is not None and pod.labels.get(REVISION_LABEL) != update_revision:
                _delete(store, sts, pod)
                break
    _write_status(store, sts, update_revision)


def _create(store: Store, sts: StatefulSet, n: int, revision: str) -> None:
    template = sts.template
    name = f"{sts.name}-{n}"
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta.update(name=name, namespace=sts.namespace, ownerReferences=[controller_ref(sts)])
    meta["labels"] = {**dict(meta.get("labels") or {}), REVISION_LABEL: revision, POD_NAME_LABEL: name,
                      POD_INDEX_LABEL: str(n)}
    spec = copy.deepcopy(template.get("spec") or {})
    claims = _claims(store, sts, n)
    if claims:
        kept = [v for v in spec.get("volumes") or () if v.get("name") not in claims]
        spec["volumes"] = kept + [{"name": t, "persistentVolumeClaim": {"claimName": c}}
                                  for t, c in sorted(claims.items())]
    spec["hostname"] = name
    if sts.spec.get("serviceName"):
        spec["subdomain"] = sts.spec["serviceName"]
    store.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    store.record_event(sts, "Normal", "SuccessfulCreate", f"create Pod {name} in StatefulSet {sts.name} successful",
                       COMPONENT)


def claim_name(template: str, sts_name: str, n: int) -> str:
    """The claim of ordinal n for one volumeClaimTemplate (getPersistentVolumeClaimName)."""
    return f"{template}-{sts_name}-{n}"


def _claims(store: Store, sts: StatefulSet, n: int) -> dict[str, str]:
    """Create ordinal n's missing claims (createPersistentVolumeClaims); template name -> claim name."""
    names = {}
    labels = dict((sts.spec.get("selector") or {}).get("matchLabels") or {})
    for template in sts.spec.get("volumeClaimTemplates") or ():
        tmeta = template.get("metadata") or {}
        name = claim_name(tmeta.get("name", ""), sts.name, n)
        names[tmeta.get("name", "")] = name
        if store.try_get("PersistentVolumeClaim", name, sts.namespace) is None:
            meta = {"name": name, "namespace": sts.namespace,
                    "labels": {**dict(tmeta.get("labels") or {}), **labels}}
            if tmeta.get("annotations"):
                meta["annotations"] = dict(tmeta["annotations"])
            store.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                          "spec": copy.deepcopy(template.get("spec") or {})})
            store.record_event(sts, "Normal", "SuccessfulCreate",
                               f"create Claim {name} Pod {sts.name}-{n} in StatefulSet {sts.name} success",
                               COMPONENT)
    return names


def _delete(store: Store, sts: StatefulSet, pod: Pod) -> None:
    store.delete("Pod", pod.name, pod.namespace)
    store.record_event(sts, "Normal", "SuccessfulDelete",
                       f"delete Pod {pod.name} in StatefulSet {sts.name} successful", COMPONENT)


def _write_status(store: Store, sts: StatefulSet, update_revision: str) -> None:
    sts = store.get("StatefulSet", sts.name, sts.namespace)  # type: ignore[assignment]
    pods = [p for p in store.list("Pod", sts.namespace) if is_owned_by(p, sts) and not p.deletion_timestamp]
    updated = sum(1 for p in pods if p.labels.get(REVISION_LABEL) == update_revision)
    current_revision = sts.status.get("currentRevision") or update_revision
    if updated == len(pods) == sts.replicas:
        current_revision = update_revision
    status = {
        "observedGeneration": sts.generation,
        "replicas": len(pods),
        "readyReplicas": sum(1 for p in pods if p.ready),
        "currentReplicas": sum(1 for p in pods if p.labels.get(REVISION_LABEL) == current_revision),
        "updatedReplicas": updated,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": 0,
        "availableReplicas": sum(1 for p in pods if p.ready),
    }
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration", "collisionCount",
                                                            "availableReplicas")}
    if dict(sts.status) != status:
        store.update(sts.evolve(lambda d: d.__setitem__("status", status)))
