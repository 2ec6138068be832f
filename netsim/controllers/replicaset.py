"""The ReplicaSet controller: keep as many pods as spec.replicas, named `<replicaset>-<suffix>`.

status.availableReplicas counts the pods Ready for at least spec.minReadySeconds
(podutil.IsPodAvailable); `reconcile` returns when the next pod becomes
available, so the controller looks again then (inf: no pod is waiting).
"""

from __future__ import annotations

import copy
import math

from netsim.api.objects import Pod, ReplicaSet
from netsim.api.selector import LabelSelector
from netsim.api.store import Store
from netsim.controllers.workloads import available_at, controller_ref, is_owned_by

COMPONENT = "replicaset-controller"


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


def reconcile(store: Store) -> float:
    """One pass over every ReplicaSet: create or delete pods, write status; returns when a pod next becomes available."""
    due = math.inf
    for rs in store.list("ReplicaSet"):
        if rs.deletion_timestamp:
            continue
        selector = LabelSelector.from_dict(dict(rs.selector))
        pods = [p for p in owned_pods(store, rs) if active(p) and selector.matches(p.labels)]
        diff = rs.replicas - len(pods)
        for _ in range(max(diff, 0)):
            created = store.create(_pod_from_template(rs))
            store.record_event(rs, "Normal", "SuccessfulCreate", f"Created pod: {created.name}", COMPONENT)
        if diff < 0:
            for pod in sorted(pods, key=deletion_rank)[:-diff]:
                store.delete("Pod", pod.name, pod.namespace)
                store.record_event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod.name}", COMPONENT)
        due = min(due, _write_status(store, store.get("ReplicaSet", rs.name, rs.namespace)))  # type: ignore[arg-type]
    return due


def _pod_from_template(rs: ReplicaSet) -> dict:
    template = rs.template
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta["generateName"] = f"{rs.name}-"
    meta["namespace"] = rs.namespace
    meta["ownerReferences"] = [controller_ref(rs)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}


def _write_status(store: Store, rs: ReplicaSet) -> float:
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
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
    if dict(rs.status) != status:
        store.update(rs.evolve(lambda d: d.__setitem__("status", status)))
    return min((t for t in becomes if now < t < math.inf), default=math.inf)
