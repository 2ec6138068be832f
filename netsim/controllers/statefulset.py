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
mounts it in place of the template's volume of that name; a claim still
terminating blocks the pod (FailedCreate). persistentVolumeClaimRetentionPolicy
decides the claims' ownerReferences (stateful_set_utils.go
updateClaimOwnerRefForSetAndPod), so the garbage collector does the deleting:
whenDeleted Delete makes the set the claims' controller, whenScaled Delete
makes a condemned pod (ordinal ≥ replicas) its claims' controller before the
pod is deleted; Retain (the default for both) leaves no reference to the set
or pod, so a recreated pod mounts its old claim. A claim whose reference
names a set or pod of another uid (stale), or that another controller owns,
is left alone (the latter with a ConflictingController warning).

A pod create the API server refuses (or a claim being deleted) is a Warning
FailedCreate `create Pod <pod> in StatefulSet <set> failed error: <error>`
(StatefulPodControl.recordPodEvent); the sync stops there, the status is
still written, and the set is retried with the rate limiter
(workloads.RetryQueue), creating nothing until then.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

from netsim.api.errors import Forbidden
from netsim.api.objects import Pod, StatefulSet
from netsim.api.store import Store
from netsim.controllers.workloads import (RetryQueue, available_at, controller_ref, is_available, is_owned_by,
                                          pod_template_hash)
from netsim.errors import NotImplementedFeature

COMPONENT = "statefulset-controller"
REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
RETAIN, DELETE = "Retain", "Delete"     # PersistentVolumeClaimRetentionPolicyType
# Alpha and off by default up to Kubernetes 1.34 (beta, on, from 1.35); the topology's featureGates turn it on.
MAX_UNAVAILABLE_GATE = "MaxUnavailableStatefulSet"
_MISSING = object()     # an ordinal in range with no pod yet (the controller's placeholder pod)


def reconcile(store: Store, gates: Mapping[str, bool] | None, retries: RetryQueue) -> float:
    """One pass over every StatefulSet; returns when it next has work (a pod becoming available, a retry)."""
    due = math.inf
    now = store.clock()
    for sts in store.list("StatefulSet"):
        if sts.deletion_timestamp:
            continue
        key = (COMPONENT, sts.uid)
        waiting = retries.waiting(key, now)
        failure: list[str] = []
        due = min(due, _sync(store, sts, gates or {}, waiting is None, failure))  # type: ignore[arg-type]
        due = min(due, retries.done(key, now, bool(failure), waiting))
    return due


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


def retention_policy(sts: StatefulSet) -> tuple[str, str]:
    """(whenDeleted, whenScaled), Retain where unset (getPersistentVolumeClaimRetentionPolicy)."""
    policy = sts.spec.get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or RETAIN, policy.get("whenScaled") or RETAIN


def _matches_ref(ref: dict, obj) -> bool:
    """matchesRef: the reference names obj (apiVersion, kind, name), whatever its uid."""
    return (ref.get("apiVersion"), ref.get("kind"), ref.get("name")) == (obj.api_version, obj.kind, obj.name)


def claim_owner_refs(refs: list[dict], sts: StatefulSet, pod: Pod, scaled_down: bool) -> tuple[list[dict], bool]:
    """(the claim's ownerReferences as the retention policy wants them, another controller owns it).

    As isClaimOwnerUpToDate and updateClaimOwnerRefForSetAndPod: a stale
    reference (the set's or pod's name with another uid) leaves the claim as it
    is; otherwise the references to this set and pod are scrubbed and, unless
    another controller owns the claim, re-added as controller references:
    the set's for whenDeleted Delete while the pod is in range, the pod's for
    whenScaled Delete once it is scaled down.
    """
    if any(_matches_ref(r, o) and r.get("uid") != o.uid for r in refs for o in (sts, pod)):
        return refs, False
    when_deleted, when_scaled = retention_policy(sts)
    unexpected = (when_deleted, when_scaled) != (RETAIN, RETAIN) and any(
        r.get("controller") and not (_matches_ref(r, sts) or _matches_ref(r, pod)) for r in refs)
    kept = [r for r in refs if not (_matches_ref(r, sts) or _matches_ref(r, pod))]
    if unexpected:
        return kept, True
    if when_scaled == DELETE and scaled_down:
        kept.append(controller_ref(pod))
    elif when_deleted == DELETE and not (when_scaled == DELETE and scaled_down):
        kept.append(controller_ref(sts))
    return kept, False


def _fix_claims(store: Store, sts: StatefulSet, pod: Pod, scaled_down: bool) -> None:
    """UpdatePodClaimForRetentionPolicy: rewrite the ownerReferences of the pod's claims where they differ."""
    n = ordinal(pod, sts)
    for template in sts.spec.get("volumeClaimTemplates") or ():
        name = claim_name((template.get("metadata") or {}).get("name", ""), sts.name, n)  # type: ignore[arg-type]
        claim = store.try_get("PersistentVolumeClaim", name, sts.namespace)
        if claim is None:
            continue     # picked up at a later pass, as the controller does
        current = claim.get("metadata.ownerReferences") or []
        wanted, conflicting = claim_owner_refs(current, sts, pod, scaled_down)
        if wanted == current:
            continue
        if conflicting:
            store.record_event(sts, "Warning", "ConflictingController",
                               f"PersistentVolumeClaim {name} has a conflicting OwnerReference that acts as a "
                               "manging controller, the retention policy is ignored for this claim", COMPONENT)

        def change(d: dict, refs: list[dict] = wanted) -> None:
            if refs:
                d["metadata"]["ownerReferences"] = refs
            else:
                d["metadata"].pop("ownerReferences", None)
        store.update(claim.evolve(change))


def _sync(store: Store, sts: StatefulSet, gates: dict, may_create: bool, failure: list[str]) -> float:
    """One sync; pods are created only when `may_create`, and a failed create's error goes into `failure`."""
    if sts.spec.get("ordinals"):
        raise NotImplementedFeature(f"StatefulSet {sts.namespace}/{sts.name}: spec.ordinals (a start ordinal "
                                    "other than 0) is not emulated")
    update_revision = _revision(store, sts)
    current_revision = sts.status.get("currentRevision") or update_revision
    if store.try_get("ControllerRevision", current_revision, sts.namespace) is None:
        current_revision = update_revision
    pods: dict[int, Pod] = {}
    for pod in store.list("Pod", sts.namespace):
        if is_owned_by(pod, sts):
            n = ordinal(pod, sts)  # type: ignore[arg-type]
            if n is not None:
                pods[n] = pod  # type: ignore[assignment]
    replicas = sts.replicas
    min_ready = int(sts.spec.get("minReadySeconds", 0) or 0)
    now = store.clock()
    monotonic = sts.spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    condemned = [pods[n] for n in sorted((n for n in pods if n >= replicas), reverse=True)]
    # firstUnhealthyPod: the lowest unhealthy (or still missing) ordinal in range, else the lowest condemned one
    in_range = [n for n in range(replicas) if n not in pods or not healthy(pods[n])]
    first_unhealthy = (pods.get(in_range[0], _MISSING) if in_range
                       else next((p for p in reversed(condemned) if not healthy(p)), None))
    frozen = False
    for n in range(replicas):                      # processReplica
        if _process_replica(store, sts, n, pods.get(n), monotonic, min_ready, now, current_revision,
                            update_revision, may_create, failure) and (monotonic or failure or not may_create):
            frozen = True
            break
    if not frozen:
        for pod in condemned:                      # claims first (fixPodClaim), then the pods
            _fix_claims(store, sts, pod, scaled_down=True)
        for pod in condemned:                      # processCondemned
            if pod.deletion_timestamp:
                if monotonic:
                    frozen = True
                    break
                continue
            if monotonic and pod is not first_unhealthy and not is_available(pod, min_ready, now):
                frozen = True                      # isRunningAndReady and isRunningAndAvailable
                break
            _delete(store, sts, pod)
            if monotonic:
                frozen = True
                break
    strategy = sts.spec.get("updateStrategy") or {}
    if not frozen and strategy.get("type", "RollingUpdate") == "RollingUpdate":
        live = [store.try_get("Pod", f"{sts.name}-{n}", sts.namespace) for n in range(replicas)]
        _rolling_update(store, sts, live, update_revision, gates)  # type: ignore[arg-type]
    return _write_status(store, sts, current_revision, update_revision, min_ready)


def _process_replica(store: Store, sts: StatefulSet, n: int, pod: Pod | None, monotonic: bool, min_ready: int,
                     now: float, current_revision: str, update_revision: str, may_create: bool,
                     failure: list[str]) -> bool:
    """processReplica for ordinal n; True where a monotonic (OrderedReady) set must stop here.

    Also True for any set when a create failed (its error appended to `failure`)
    or was held back for a pending retry (`may_create` False).
    """
    if pod is not None and pod.phase in ("Failed", "Succeeded"):
        if not pod.deletion_timestamp:
            _delete(store, sts, pod)    # a new pod comes once this one is gone
        return True
    if pod is None:
        if not may_create:
            return True
        error = _create(store, sts, n, *_revision_for(store, sts, n, current_revision, update_revision))
        if error is not None:
            failure.append(error)
        return True
    if pod.deletion_timestamp:
        return True
    if not (pod.phase == "Running" and pod.ready) or not is_available(pod, min_ready, now):
        return True
    _fix_claims(store, sts, pod, scaled_down=False)
    return False


def _revision_for(store: Store, sts: StatefulSet, n: int, current_revision: str,
                  update_revision: str) -> tuple[str, dict]:
    """newVersionedStatefulSetPod: ordinals below the partition are created at the current revision."""
    strategy = sts.spec.get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    below = (n < int(sts.status.get("currentReplicas", 0) or 0)) if rolling is None else \
        (n < int(rolling.get("partition", 0) or 0))
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and below and current_revision != update_revision:
        revision = store.get("ControllerRevision", current_revision, sts.namespace)
        return current_revision, copy.deepcopy(revision.get("data.spec.template") or sts.template)
    return update_revision, sts.template


def max_unavailable(sts: StatefulSet) -> int:
    """getStatefulSetMaxUnavailable: rollingUpdate.maxUnavailable (default 1) as a count, rounded down, at least 1."""
    raw = ((sts.spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", 1)
    text = str(raw if raw is not None else 1)
    value = int(text[:-1]) * sts.replicas // 100 if text.endswith("%") else int(text)
    return max(value, 1)


def _rolling_update(store: Store, sts: StatefulSet, replicas: list, update_revision: str, gates: dict) -> None:
    """The RollingUpdate step: the highest ordinal ≥ partition not at the update revision goes.

    Without the MaxUnavailableStatefulSet gate one pod at a time, waiting for
    each unhealthy pod on the way down; with it (updateStatefulSetAfterInvariantEstablished)
    up to maxUnavailable pods at once, counting every unhealthy ordinal.
    """
    rolling = (sts.spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
    partition = int(rolling.get("partition", 0) or 0)
    if gates.get(MAX_UNAVAILABLE_GATE, False):
        budget = max_unavailable(sts) - sum(1 for p in replicas if p is None or not healthy(p))
        for n in range(len(replicas) - 1, partition - 1, -1):
            if budget <= 0:
                return
            pod = replicas[n]
            if pod is not None and pod.labels.get(REVISION_LABEL) != update_revision and not pod.deletion_timestamp:
                _delete(store, sts, pod)
                budget -= 1
        return
    for n in range(len(replicas) - 1, partition - 1, -1):
        pod = replicas[n]
        if pod is None:
            return
        if pod.labels.get(REVISION_LABEL) != update_revision and not pod.deletion_timestamp:
            _delete(store, sts, pod)
            return
        if not healthy(pod):
            return


def _create(store: Store, sts: StatefulSet, n: int, revision: str, template: dict) -> str | None:
    """CreateStatefulPod for ordinal n (claims first); the error when it fails, else None."""
    name = f"{sts.name}-{n}"
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta.update(name=name, namespace=sts.namespace, ownerReferences=[controller_ref(sts)])
    meta["labels"] = {**dict(meta.get("labels") or {}), REVISION_LABEL: revision, POD_NAME_LABEL: name,
                      POD_INDEX_LABEL: str(n)}
    spec = copy.deepcopy(template.get("spec") or {})
    claims = _claims(store, sts, n)
    terminating = next((c for c in sorted(claims.values()) if store.get(
        "PersistentVolumeClaim", c, sts.namespace).deletion_timestamp), None)
    if terminating is not None:     # createPersistentVolumeClaims refuses a claim being deleted
        return _failed_create(store, sts, name, f"pvc {terminating} is being deleted")
    if claims:
        kept = [v for v in spec.get("volumes") or () if v.get("name") not in claims]
        spec["volumes"] = kept + [{"name": t, "persistentVolumeClaim": {"claimName": c}}
                                  for t, c in sorted(claims.items())]
    spec["hostname"] = name
    if sts.spec.get("serviceName"):
        spec["subdomain"] = sts.spec["serviceName"]
    try:
        created = store.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    except Forbidden as refusal:     # recordPodEvent records it whatever the cause
        return _failed_create(store, sts, name, str(refusal))
    _fix_claims(store, sts, created, scaled_down=False)  # type: ignore[arg-type]
    store.record_event(sts, "Normal", "SuccessfulCreate", f"create Pod {name} in StatefulSet {sts.name} successful",
                       COMPONENT)
    return None


def _failed_create(store: Store, sts: StatefulSet, name: str, error: str) -> str:
    """recordPodEvent's FailedCreate for pod `name`; returns the error."""
    store.record_event(sts, "Warning", "FailedCreate", f"create Pod {name} in StatefulSet {sts.name} failed "
                       f"error: {error}", COMPONENT)
    return error


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


def _write_status(store: Store, sts: StatefulSet, current_revision: str, update_revision: str,
                  min_ready: int) -> float:
    """updateStatus and completeRollingUpdate; returns when a Ready pod next becomes available."""
    sts = store.get("StatefulSet", sts.name, sts.namespace)  # type: ignore[assignment]
    pods = [p for p in store.list("Pod", sts.namespace) if is_owned_by(p, sts) and ordinal(p, sts) is not None]
    now = store.clock()
    running_ready = [p for p in pods if p.phase == "Running" and p.ready]
    live = [p for p in pods if not p.deletion_timestamp]
    status = {
        "observedGeneration": sts.generation,
        "replicas": len(pods),
        "readyReplicas": len(running_ready),
        "currentReplicas": sum(1 for p in live if p.labels.get(REVISION_LABEL) == current_revision),
        "updatedReplicas": sum(1 for p in live if p.labels.get(REVISION_LABEL) == update_revision),
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": 0,
        "availableReplicas": sum(1 for p in running_ready if is_available(p, min_ready, now)),
    }
    rolling = (sts.spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and status["updatedReplicas"] == status["replicas"] == status["readyReplicas"]:
        status["currentReplicas"] = status["updatedReplicas"]      # completeRollingUpdate
        status["currentRevision"] = update_revision
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration", "collisionCount",
                                                            "availableReplicas")}
    if dict(sts.status) != status:
        store.update(sts.evolve(lambda d: d.__setitem__("status", status)))
    return min((t for t in (available_at(p, min_ready) for p in running_ready) if now < t < math.inf),
               default=math.inf)
