"""The ReplicaSet controller: keep as many pods as spec.replicas, named `<replicaset>-<suffix>`.

status.availableReplicas counts the pods Ready for at least spec.minReadySeconds
(podutil.IsPodAvailable); `reconcile` returns when the next pod becomes
available, so the controller looks again then (inf: no pod is waiting).

Missing pods are created in slow-start batches (1, 2, 4, ..., at most
burstReplicas per sync); a refused create stops the sync with a FailedCreate
event, gives the ReplicaSet the ReplicaFailure condition (reason FailedCreate,
the API's error as message; set once, kept while failing) and a rate-limited
retry (workloads.RetryQueue); the first sync that creates them all removes it.
"""

from __future__ import annotations

import copy
import math

from netsim.api.errors import Forbidden
from netsim.api.objects import Pod, ReplicaSet
from netsim.api.selector import LabelSelector
from netsim.api.store import Store
from netsim.controllers.workloads import (RetryQueue, available_at, controller_ref, create_pod, is_owned_by,
                                          namespace_terminating, slow_start_batch)

COMPONENT = "replicaset-controller"
BURST_REPLICAS = 500     # the controller manager's burstReplicas: creates or deletes per sync at most


def active(pod: Pod) -> bool:
    """Counted towards replicas: not terminating, not finished (controller.IsPodActive)."""
    return pod.deletion_timestamp is None and pod.phase not in ("Succeeded", "Failed")


def owned_pods(store: Store, rs: ReplicaSet) -> list[Pod]:
    """The pods this ReplicaSet controls, sorted by name."""
    return [p for p in store.list("Pod", rs.namespace) if is_owned_by(p, rs)]  # type: ignore[misc]


def deletion_rank(pod: Pod) -> tuple:
    """Which pods go first when scaling down (controller.ActivePods ordering, simplified).

    Unscheduled before scheduled, pending before running, not ready before ready,
    newer before older; name breaks ties so the order is total.
    """
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(pod.phase, 0)
    return (bool(pod.node_name), phase_rank, pod.ready, _negated(pod.creation_timestamp), pod.name)


def _negated(stamp: str) -> tuple:
    return tuple(-ord(ch) for ch in stamp)


def reconcile(store: Store, retries: RetryQueue) -> float:
    """One pass over every ReplicaSet: create or delete pods, write status; returns when it next has work
    (a pod becoming available, a failed create's retry)."""
    due = math.inf
    now = store.clock()
    for rs in store.list("ReplicaSet"):
        if rs.deletion_timestamp:
            continue
        key = (COMPONENT, rs.uid)
        selector = LabelSelector.from_dict(dict(rs.selector))
        pods = [p for p in owned_pods(store, rs) if active(p) and selector.matches(p.labels)]
        diff = rs.replicas - len(pods)
        error: Forbidden | None = None
        waiting = retries.waiting(key, now) if diff > 0 else None
        if diff > 0 and waiting is None:
            _, error = slow_start_batch(min(diff, BURST_REPLICAS), lambda: _create(store, rs))
        if diff < 0:
            for pod in sorted(pods, key=deletion_rank)[:min(-diff, BURST_REPLICAS)]:
                store.delete("Pod", pod.name, pod.namespace)
                store.record_event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod.name}", COMPONENT)
        current = store.get("ReplicaSet", rs.name, rs.namespace)
        due = min(due, _write_status(store, current, error, waiting is not None))  # type: ignore[arg-type]
        due = min(due, retries.done(key, now, error is not None, waiting))
    return due


def _create(store: Store, rs: ReplicaSet) -> Forbidden | None:
    """One create for slowStartBatch; a refusal because the namespace is terminating counts as done."""
    outcome = create_pod(store, rs, _pod_from_template(rs), COMPONENT)
    if isinstance(outcome, Forbidden) and not namespace_terminating(store, rs.namespace):
        return outcome
    return None


def _pod_from_template(rs: ReplicaSet) -> dict:
    template = rs.template
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta["generateName"] = f"{rs.name}-"
    meta["namespace"] = rs.namespace
    meta["ownerReferences"] = [controller_ref(rs)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}


def _write_status(store: Store, rs: ReplicaSet, error: Forbidden | None, waiting: bool) -> float:
    """calculateStatus and its update: counts, and the ReplicaFailure condition a failed create sets.

    While a retry is pending (`waiting`) the condition stays as it is.
    """
    pods = [p for p in owned_pods(store, rs) if active(p)]
    now = store.clock()
    min_ready = int(rs.spec.get("minReadySeconds", 0) or 0)
    becomes = [available_at(p, min_ready) for p in pods]
    status = {
        "replicas": len(pods),
        "fullyLabeledReplicas": len(pods),
        "readyReplicas": sum(1 for p in pods if p.ready),
        "availableReplicas": sum(1 for t in becomes if t <= now),
        "observedGeneration": rs.generation,
    }
    conditions = [dict(c) for c in rs.status.get("conditions") or ()]
    failure = next((c for c in conditions if c.get("type") == "ReplicaFailure"), None)
    if error is not None and failure is None:
        conditions.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": store.now(),
                           "reason": "FailedCreate", "message": str(error)})
    elif error is None and not waiting and failure is not None:
        conditions.remove(failure)
    status["conditions"] = conditions
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
    if dict(rs.status) != status:
        store.update(rs.evolve(lambda d: d.__setitem__("status", status)))
    return min((t for t in becomes if now < t < math.inf), default=math.inf)
