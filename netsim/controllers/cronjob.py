"""The CronJob controller: Jobs on a cron schedule, on the simulated clock (cronjob_controllerv2.go).

Schedules are read with croniter (spec.timeZone through zoneinfo, UTC
otherwise). At each pass the most recent scheduled time not yet run (since
status.lastScheduleTime, else the CronJob's creation) gets a Job named
`<cronjob>-<scheduled time in Unix minutes>` (getJobName), owned by the
CronJob, annotated `batch.kubernetes.io/cronjob-scheduled-timestamp`; a time
older than startingDeadlineSeconds is skipped. concurrencyPolicy: Allow
runs Jobs side by side, Forbid skips a time while a Job is active, Replace
deletes the active ones first. suspend stops new Jobs. Finished Jobs beyond
successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted, oldest
first. status.active, lastScheduleTime and lastSuccessfulTime follow.

`job_from_cronjob` is `kubectl create job NAME --from=cronjob/NAME`.
`reconcile(store, now)` returns the next scheduled time (inf: none).
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from netsim.api.errors import FieldError
from netsim.api.objects import Resource
from netsim.api.store import Store
from netsim.controllers.job import finished
from netsim.controllers.workloads import controller_ref, is_owned_by
from netsim.errors import NotImplementedFeature
from netsim.sim.clock import parse_rfc3339, rfc3339

COMPONENT = "cronjob-controller"
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _croniter():
    """croniter, imported when a CronJob is first seen (a dependency of CronJobs only)."""
    try:
        from croniter import croniter
    except ImportError:
        raise NotImplementedFeature("CronJob schedules need the croniter package (pip install croniter)") from None
    return croniter


def _zone(cj: Resource):
    name = cj.spec.get("timeZone")
    return ZoneInfo(name) if name else timezone.utc


def _times(cj: Resource, after: float, until: float) -> list[float]:
    """The scheduled times in (after, until]."""
    croniter = _croniter()
    schedule = cj.spec.get("schedule", "")
    if not croniter.is_valid(schedule):
        raise FieldError(f'unparseable schedule "{schedule}"', "spec.schedule")
    it = croniter(schedule, datetime.fromtimestamp(after, tz=_zone(cj)))
    out = []
    while True:
        t = it.get_next(float)
        if t > until or len(out) > 100:
            return out
        out.append(t)


def next_time(cj: Resource, now: float) -> float:
    """The first scheduled time after `now`."""
    it = _croniter()(cj.spec.get("schedule", ""), datetime.fromtimestamp(now, tz=_zone(cj)))
    return it.get_next(float)


def reconcile(store: Store, now: float) -> float:
    """One pass over every CronJob; returns the next scheduled time."""
    due = math.inf
    for cj in store.list("CronJob"):
        if not cj.deletion_timestamp:
            due = min(due, _sync(store, cj, now))
    return due


def _sync(store: Store, cj: Resource, now: float) -> float:
    jobs = sorted((j for j in store.list("Job", cj.namespace) if is_owned_by(j, cj)),
                  key=lambda j: (j.creation_timestamp, j.name))
    active = [j for j in jobs if not finished(j) and not j.deletion_timestamp]
    last = cj.status.get("lastScheduleTime")
    since = parse_rfc3339(last) if last else parse_rfc3339(cj.creation_timestamp)
    scheduled = None
    if not cj.spec.get("suspend"):
        missed = _times(cj, since, now)
        if missed:
            scheduled = missed[-1]
            deadline = cj.spec.get("startingDeadlineSeconds")
            if deadline is not None and now - scheduled > float(deadline):
                scheduled = None
    last_schedule = last
    if scheduled is not None:
        policy = cj.spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            scheduled = None   # skipped, retried at the next pass while the time is still the latest
        else:
            if policy == "Replace":
                for old in active:
                    store.delete("Job", old.name, old.namespace, propagation="Background")
                    store.record_event(cj, "Normal", "SuccessfulDelete", f"Deleted job {old.name}", COMPONENT)
                active = []
            name = f"{cj.name}-{int(scheduled // 60)}"
            if store.try_get("Job", name, cj.namespace) is None:
                job = store.create(_job(cj, name, {SCHEDULED_ANNOTATION: rfc3339(scheduled)}))
                store.record_event(cj, "Normal", "SuccessfulCreate", f"Created job {job.name}", COMPONENT)
                active.append(job)
            last_schedule = rfc3339(scheduled)
    for kind, limit in (("Complete", cj.spec.get("successfulJobsHistoryLimit", 3)),
                        ("Failed", cj.spec.get("failedJobsHistoryLimit", 1))):
        done = [j for j in jobs if finished(j) == kind and not j.deletion_timestamp]
        for old in done[:max(0, len(done) - int(limit))]:
            store.delete("Job", old.name, old.namespace, propagation="Background")
            store.record_event(cj, "Normal", "SuccessfulDelete", f"Deleted job {old.name}", COMPONENT)
    _write_status(store, cj, active, jobs, last_schedule)
    return next_time(cj, now) if not cj.spec.get("suspend") else math.inf


def _write_status(store: Store, cj: Resource, active: list, jobs: list, last_schedule: str | None) -> None:
    cj = store.get("CronJob", cj.name, cj.namespace)
    status: dict = {}
    alive = [j for j in active if store.try_get("Job", j.name, j.namespace) is not None]
    if alive:
        status["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": j.name, "namespace": j.namespace,
                             "uid": j.uid, "resourceVersion": j.resource_version} for j in alive]
    if last_schedule:
        status["lastScheduleTime"] = last_schedule
    succeeded = [j.status.get("completionTime") for j in jobs if finished(j) == "Complete"]
    if succeeded or cj.status.get("lastSuccessfulTime"):
        status["lastSuccessfulTime"] = max([s for s in succeeded if s] + [cj.status.get("lastSuccessfulTime") or ""])
    if {k: v for k, v in cj.status.items()} != status:
        store.update(cj.evolve(lambda d: d.__setitem__("status", status)))


def _job(cj: Resource, name: str, annotations: dict) -> dict:
    template = copy.deepcopy(cj.spec.get("jobTemplate") or {})
    meta = template.get("metadata") or {}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": cj.namespace, "labels": dict(meta.get("labels") or {}),
                         "annotations": {**(meta.get("annotations") or {}), **annotations},
                         "ownerReferences": [controller_ref(cj)]},
            "spec": template.get("spec") or {}}


def job_from_cronjob(store: Store, cronjob: str, namespace: str, name: str) -> Resource:
    """`kubectl create job NAME --from=cronjob/CRONJOB`: the Job, annotated as instantiated by hand."""
    cj = store.get("CronJob", cronjob, namespace)
    return store.create(_job(cj, name, {"cronjob.kubernetes.io/instantiate": "manual"}))
