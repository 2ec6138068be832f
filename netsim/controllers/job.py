"""The Job controller and the TTL-after-finished controller, on the simulated clock.

As kube-controller-manager's job controller (NonIndexed completion mode):
the Job keeps min(parallelism, completions - succeeded) pods active
(parallelism alone when completions is unset, until one succeeds); pods are
`<job>-<suffix>` labelled `batch.kubernetes.io/controller-uid`,
`batch.kubernetes.io/job-name` and the legacy `controller-uid`, `job-name`
(the API server writes the selector and the template labels on creation;
here the controller does it on its first pass). Every failed pod (and, with
restartPolicy OnFailure, every container restart) counts against
backoffLimit; a replacement waits the pod failure back-off, 10s doubling
per failure, at most 6 minutes, from the last failure. Past the limit the
Job fails (BackoffLimitExceeded) and its active pods are deleted; once
enough pods succeeded it is Complete. Finished pods are kept (the Job owns
them). With ttlSecondsAfterFinished, the TTL-after-finished controller
deletes the Job (foreground) that long after it finished.

`reconcile(store, now)` returns when it next has work (inf: none).
"""

from __future__ import annotations

import copy
import math

from netsim.api.objects import Resource
from netsim.api.store import Store
from netsim.controllers.workloads import controller_ref, is_owned_by
from netsim.sim.clock import parse_rfc3339

COMPONENT = "job-controller"
TTL_COMPONENT = "ttl-after-finished-controller"
INITIAL_BACKOFF = 10.0          # DefaultJobPodFailureBackOff
MAX_BACKOFF = 360.0             # MaxJobPodFailureBackOff


def reconcile(store: Store, now: float) -> float:
    """One pass over every Job; returns when the next change is due."""
    due = math.inf
    for job in store.list("Job"):
        if not job.deletion_timestamp:
            due = min(due, _sync(store, job, now))
    return due


def finished(job: Resource) -> str:
    """"Complete", "Failed" or "" (the Job's finished condition)."""
    for cond in job.status.get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"]
    return ""


def _labels(job: Resource) -> dict:
    return {"batch.kubernetes.io/controller-uid": job.uid, "batch.kubernetes.io/job-name": job.name,
            "controller-uid": job.uid, "job-name": job.name}


def _sync(store: Store, job: Resource, now: float) -> float:
    if not (job.spec.get("selector") or {}).get("matchLabels", {}).get("batch.kubernetes.io/controller-uid"):
        def generated(d: dict) -> None:
            d["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": job.uid}}
            meta = d["spec"]["template"].setdefault("metadata", {})
            meta["labels"] = {**(meta.get("labels") or {}), **_labels(job)}
        job = store.update(job.evolve(generated))
    stamp = store.now()
    pods = [p for p in store.list("Pod", job.namespace) if is_owned_by(p, job)]
    state = finished(job)
    if state:
        return _ttl(store, job, now)
    active = [p for p in pods if not p.deletion_timestamp and p.phase not in ("Succeeded", "Failed")]
    succeeded = sum(1 for p in pods if p.phase == "Succeeded")
    failed_pods = [p for p in pods if p.phase == "Failed"]
    restarts = sum(int(s.get("restartCount", 0)) for p in active for s in p.status.get("containerStatuses") or [])
    failures = len(failed_pods) + restarts
    completions = job.spec.get("completions")
    parallelism = int(job.spec.get("parallelism", 1))
    limit = int(job.spec.get("backoffLimit", 6))
    due = math.inf
    conditions = list(job.status.get("conditions") or [])
    if failures > limit:
        for pod in active:
            store.delete("Pod", pod.name, pod.namespace)
        conditions.append({"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                           "message": "Job has reached the specified backoff limit",
                           "lastProbeTime": stamp, "lastTransitionTime": stamp})
        store.record_event(job, "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                           COMPONENT)
        active = []
    elif (completions is not None and succeeded >= int(completions)) or (completions is None and succeeded):
        conditions.append({"type": "Complete", "status": "True", "lastProbeTime": stamp,
                           "lastTransitionTime": stamp})
        store.record_event(job, "Normal", "Completed", "Job completed", COMPONENT)
    elif not job.spec.get("suspend"):
        wanted = parallelism if completions is None else min(parallelism, int(completions) - succeeded)
        missing = wanted - len(active)
        if missing > 0 and failed_pods:
            last = max(parse_rfc3339(_finished_at(p)) for p in failed_pods)
            ready_at = last + min(INITIAL_BACKOFF * 2 ** (len(failed_pods) - 1), MAX_BACKOFF)
            if now < ready_at:
                due, missing = ready_at, 0
        for _ in range(max(missing, 0)):
            created = store.create(_pod(job))
            store.record_event(job, "Normal", "SuccessfulCreate", f"Created pod: {created.name}", COMPONENT)
    job = store.get("Job", job.name, job.namespace)
    pods = [p for p in store.list("Pod", job.namespace) if is_owned_by(p, job)]
    status = {
        "active": sum(1 for p in pods if not p.deletion_timestamp and p.phase not in ("Succeeded", "Failed")),
        "ready": sum(1 for p in pods if p.ready and not p.deletion_timestamp),
        "succeeded": sum(1 for p in pods if p.phase == "Succeeded"),
        "failed": sum(1 for p in pods if p.phase == "Failed"),
        "terminating": sum(1 for p in pods if p.deletion_timestamp),
        "startTime": job.status.get("startTime") or stamp,
        "uncountedTerminatedPods": {},
        "conditions": conditions,
    }
    if any(c["type"] == "Complete" for c in conditions):
        status["completionTime"] = job.status.get("completionTime") or stamp
    status = {k: v for k, v in status.items() if v or k in ("ready", "terminating", "uncountedTerminatedPods")}
    if dict(job.status) != status:
        job = store.update(job.evolve(lambda d: d.__setitem__("status", status)))
    if finished(job):
        due = min(due, _ttl(store, job, now))
    return due


def _finished_at(pod: Resource) -> str:
    stamps = [((s.get("state") or {}).get("terminated") or {}).get("finishedAt")
              for s in pod.status.get("containerStatuses") or []]
    stamps = [s for s in stamps if s]
    return max(stamps) if stamps else pod.creation_timestamp


def _ttl(store: Store, job: Resource, now: float) -> float:
    """The TTL-after-finished controller for one finished Job; returns when it acts (inf: never)."""
    ttl = job.spec.get("ttlSecondsAfterFinished")
    if ttl is None:
        return math.inf
    done = next((c["lastTransitionTime"] for c in job.status.get("conditions") or []
                 if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"), None)
    if done is None:
        return math.inf
    expires = parse_rfc3339(done) + float(ttl)
    if now < expires:
        return expires
    store.delete("Job", job.name, job.namespace, propagation="Foreground")
    return math.inf


def _pod(job: Resource) -> dict:
    template = job.spec.get("template") or {}
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta.update(generateName=f"{job.name}-", namespace=job.namespace, ownerReferences=[controller_ref(job)])
    meta["labels"] = {**(meta.get("labels") or {}), **_labels(job)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}
