"""The Job controller and the TTL-after-finished controller, on the simulated clock.

As kube-controller-manager's job controller: the Job keeps min(parallelism, completions - succeeded) pods active
(parallelism alone when completions is unset, until one succeeds); pods are
`<job>-<suffix>` labelled `batch.kubernetes.io/controller-uid`,
`batch.kubernetes.io/job-name` and the legacy `controller-uid`, `job-name`
(the API server writes the selector and the template labels on creation;
here the controller does it on its first pass). Every failed pod (and, with
restartPolicy OnFailure, every container restart) counts against
backoffLimit; a replacement waits the pod failure back-off, 10s doubling
per failure since the last success (ignored ones included), at most 6
minutes, from the last failure. Past the limit, or
activeDeadlineSeconds after startTime (DeadlineExceeded), the Job gets the
FailureTarget condition and its active pods are deleted; once enough pods
succeeded and none is active it gets SuccessCriteriaMet (CompletionsReached).
Complete or Failed, with the same reason and message, follows once no pod is
terminating (delayTerminalCondition, 1.31+). Finished pods are kept (the Job
owns them).

completionMode Indexed: each pod has a completion index 0..completions-1 in
the `batch.kubernetes.io/job-completion-index` annotation and label and the
JOB_COMPLETION_INDEX environment variable, is named `<job>-<index>-<suffix>`
with hostname `<job>-<index>`; the lowest pending indexes start first, a
succeeded index is done (status.completedIndexes, e.g. "0-2,4").
backoffLimitPerIndex / maxFailedIndexes (status.failedIndexes, the FailIndex
action) and successPolicy, both on by default in 1.31, are
job_index_policies.py's.

podFailurePolicy (matchPodFailurePolicy): the first rule whose onExitCodes
(a non-zero exit code In / NotIn the values, optionally of one container) or
onPodConditions (e.g. DisruptionTarget True) matches a failed pod decides:
Ignore leaves the failure out of backoffLimit and status.failed, Count counts
it, FailJob fails the Job (reason PodFailurePolicy, the controller's message). With ttlSecondsAfterFinished, the TTL-after-finished controller
deletes the Job (foreground) that long after it finished.

Missing pods are created in slow-start batches (1, 2, 4, ...); a refused
create is a Warning FailedCreate (`Error creating: <error>`), stops the
batches, and the Job is retried with the job controller's own rate limiter
(1 s doubling to 1 minute: DefaultJobApiBackOff, MaxJobApiBackOff), creating
nothing until then.

`reconcile(store, now, retries)` returns when it next has work (inf: none).
"""

from __future__ import annotations

import copy
import math

from netsim.api.errors import Forbidden
from netsim.api.objects import Resource
from netsim.api.store import Store
from netsim.controllers import job_index_policies as per_index
from netsim.controllers.workloads import (RetryQueue, controller_ref, create_pod, is_owned_by, namespace_terminating,
                                          slow_start_batch)
from netsim.errors import NotImplementedFeature
from netsim.sim.clock import parse_rfc3339

COMPONENT = "job-controller"
TTL_COMPONENT = "ttl-after-finished-controller"
INITIAL_BACKOFF = 10.0          # DefaultJobPodFailureBackOff
MAX_BACKOFF = 360.0             # MaxJobPodFailureBackOff
API_BACKOFF = 1.0               # DefaultJobApiBackOff: the sync's rate-limited requeue, doubling
MAX_API_BACKOFF = 60.0          # MaxJobApiBackOff
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"
MAX_GENERATED_NAME = 58         # names.MaxGeneratedNameLength: 63 less the 5 random characters
INTERIM = ("SuccessCriteriaMet", "FailureTarget")   # written before Complete / Failed since 1.31


def reconcile(store: Store, now: float, retries: RetryQueue) -> float:
    """One pass over every Job; returns when the next change is due."""
    due = math.inf
    for job in store.list("Job"):
        if job.deletion_timestamp:
            continue
        key = (COMPONENT, job.uid)
        waiting = retries.waiting(key, now)
        failure: list[Forbidden] = []
        due = min(due, _sync(store, job, now, waiting is None, failure))
        due = min(due, retries.done(key, now, bool(failure), waiting, API_BACKOFF, MAX_API_BACKOFF))
    return due


def finished(job: Resource) -> str:
    """"Complete", "Failed" or "" (the Job's finished condition)."""
    for cond in job.status.get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond["type"]
    return ""


def _interim(job: Resource) -> dict | None:
    """The SuccessCriteriaMet or FailureTarget condition, once the Job's outcome is decided."""
    return next((c for c in job.status.get("conditions") or []
                 if c.get("type") in INTERIM and c.get("status") == "True"), None)


def _labels(job: Resource) -> dict:
    return {"batch.kubernetes.io/controller-uid": job.uid, "batch.kubernetes.io/job-name": job.name,
            "controller-uid": job.uid, "job-name": job.name}


def indexed(job: Resource) -> bool:
    """completionMode Indexed (the default is NonIndexed)."""
    return job.spec.get("completionMode", "NonIndexed") == "Indexed"


def completion_index(pod: Resource) -> int | None:
    """The pod's batch.kubernetes.io/job-completion-index annotation, or None."""
    value = pod.annotations.get(INDEX_ANNOTATION, "")
    return int(value) if value.isdigit() else None


def format_indexes(indexes: set[int]) -> str:
    """status.completedIndexes: ascending, runs of three or more as `first-last`, a pair as `a,b` (orderedIntervals.String)."""
    runs: list[list[int]] = []
    for i in sorted(indexes):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(a) if a == b else f"{a},{b}" if b == a + 1 else f"{a}-{b}" for a, b in runs)


def _condition(type_: str, reason: str, message: str, stamp: str) -> dict:
    return {"type": type_, "status": "True", "lastProbeTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def _sync(store: Store, job: Resource, now: float, may_create: bool, failure: list[Forbidden]) -> float:
    """syncJob; pods are created only when `may_create`, and a refused create goes into `failure`."""
    if not (job.spec.get("selector") or {}).get("matchLabels", {}).get("batch.kubernetes.io/controller-uid"):
        def generated(d: dict) -> None:
            d["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": job.uid}}
            meta = d["spec"]["template"].setdefault("metadata", {})
            meta["labels"] = {**(meta.get("labels") or {}), **_labels(job)}
        job = store.update(job.evolve(generated))
    if indexed(job) and job.spec.get("completions") is None:
        raise NotImplementedFeature(f"Job {job.namespace}/{job.name}: completionMode Indexed needs spec.completions")
    per_index.validate(job)
    stamp = store.now()
    pods = [p for p in store.list("Pod", job.namespace) if is_owned_by(p, job)]
    if finished(job):
        return _ttl(store, job, now)
    active = [p for p in pods if not p.deletion_timestamp and p.phase not in ("Succeeded", "Failed")]
    failed_pods = [p for p in pods if p.phase == "Failed"]
    completions = job.spec.get("completions")
    if indexed(job):
        done_indexes = {i for p in pods if p.phase == "Succeeded" and (i := completion_index(p)) is not None
                        and i < int(completions)}
        succeeded = len(done_indexes)
    else:
        done_indexes = set()
        succeeded = sum(1 for p in pods if p.phase == "Succeeded")
    restarts = sum(int(s.get("restartCount", 0)) for p in active for s in p.status.get("containerStatuses") or [])
    verdicts = [(p, *match_pod_failure_policy(job.spec.get("podFailurePolicy"), p))
                for p in sorted(failed_pods, key=lambda p: (_finished_at(p), p.name))]
    counted = [p for p, _, count, _ in verdicts if count]
    fail_job = next((message for _, message, _, action in verdicts if action == "FailJob"), None)
    failures = len(counted) + restarts
    parallelism = int(job.spec.get("parallelism", 1))
    limits_per_index = indexed(job) and job.spec.get("backoffLimitPerIndex") is not None
    limit = int(job.spec.get("backoffLimit", 6))
    failed_indexes = per_index.failed_indexes(job, failed_pods, completion_index, match_pod_failure_policy) \
        if limits_per_index else set()
    due = math.inf
    conditions = list(job.status.get("conditions") or [])
    interim = _interim(job)
    started = job.status.get("startTime") or (None if job.spec.get("suspend") else stamp)
    deadline = job.spec.get("activeDeadlineSeconds")
    if interim is None:
        outcome = None
        if fail_job is not None:
            outcome = ("FailureTarget", "PodFailurePolicy", fail_job)
        elif failures > limit:
            outcome = ("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif deadline is not None and started and not job.spec.get("suspend") \
                and now - parse_rfc3339(started) >= float(deadline):
            outcome = ("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline")
        elif limits_per_index and (failing := per_index.job_failure(job, failed_indexes, done_indexes)):
            outcome = ("FailureTarget", *failing)
        elif indexed(job) and (matched := per_index.match_success_policy(
                job.spec.get("successPolicy"), int(completions), done_indexes)):
            outcome = ("SuccessCriteriaMet", "SuccessPolicy", matched)
        elif not active and ((completions is None and succeeded) or
                             (completions is not None and succeeded >= int(completions))):
            outcome = ("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods")
        if outcome is not None:
            interim = _condition(*outcome, stamp)
            conditions.append(interim)
            for pod in active:               # deleteActivePods, whichever way the Job finished
                store.delete("Pod", pod.name, pod.namespace)
            active = []
        elif not job.spec.get("suspend"):
            if deadline is not None and started:
                due = parse_rfc3339(started) + float(deadline)
            if may_create:
                due = min(due, _create_pods(store, job, now, active, pods, done_indexes | failed_indexes,
                                            succeeded, parallelism, failure))
    job = store.get("Job", job.name, job.namespace)
    pods = [p for p in store.list("Pod", job.namespace) if is_owned_by(p, job)]
    terminating = sum(1 for p in pods if p.deletion_timestamp)
    final = None
    if interim is not None and not terminating:       # enactJobFinished: once no pod is terminating
        final = "Complete" if interim["type"] == "SuccessCriteriaMet" else "Failed"
        conditions.append(_condition(final, interim["reason"], interim["message"], stamp))
    status = {
        "active": sum(1 for p in pods if not p.deletion_timestamp and p.phase not in ("Succeeded", "Failed")),
        "ready": sum(1 for p in pods if p.ready and not p.deletion_timestamp),
        "succeeded": succeeded if indexed(job) else sum(1 for p in pods if p.phase == "Succeeded"),
        "failed": len(counted),
        "terminating": terminating,
        "startTime": started,
        "uncountedTerminatedPods": {},
        "conditions": conditions,
    }
    if indexed(job):
        status["completedIndexes"] = format_indexes(done_indexes)
    if limits_per_index:
        status["failedIndexes"] = format_indexes(failed_indexes)   # a *string: written even when empty
    if final == "Complete" or job.status.get("completionTime"):
        status["completionTime"] = job.status.get("completionTime") or stamp
    status = {k: v for k, v in status.items()
              if v or k in ("ready", "terminating", "uncountedTerminatedPods", "failedIndexes")}
    if dict(job.status) != status:
        job = store.update(job.evolve(lambda d: d.__setitem__("status", status)))
    if final == "Complete":
        store.record_event(job, "Normal", "Completed", "Job completed", COMPONENT)
    elif final == "Failed":
        store.record_event(job, "Warning", interim["reason"], interim["message"], COMPONENT)  # type: ignore[index]
    if finished(job):
        due = min(due, _ttl(store, job, now))
    return due


def _on_exit_codes(pod: Resource, requirement: dict) -> dict | None:
    """matchOnExitCodes: the first terminated container (then init container) with a non-zero matching exit code."""
    for key in ("containerStatuses", "initContainerStatuses"):
        for status in pod.status.get(key) or ():
            terminated = (status.get("state") or {}).get("terminated")
            if terminated is None or requirement.get("containerName") not in (None, status.get("name")):
                continue
            code = int(terminated.get("exitCode", 0))
            if code != 0 and (code in requirement.get("values") or ()) == (requirement.get("operator") == "In"):
                return status
    return None


def _on_pod_conditions(pod: Resource, patterns: list) -> dict | None:
    """matchOnPodConditions: the first pod condition matching one pattern's type and status."""
    for cond in pod.status.get("conditions") or ():
        if any(cond.get("type") == p.get("type") and cond.get("status") == p.get("status", "True")
               for p in patterns):
            return cond
    return None


def match_pod_failure_policy(policy: dict | None, pod: Resource) -> tuple[str | None, bool, str | None]:
    """matchPodFailurePolicy: (FailJob message, counts against backoffLimit, action) for one failed pod.

    The first rule that matches decides: Ignore does not count, Count counts,
    FailJob fails the Job with the controller's message, FailIndex counts and
    fails the pod's index; no match counts.
    """
    for index, rule in enumerate((policy or {}).get("rules") or ()):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            status = _on_exit_codes(pod, rule["onExitCodes"])
            if status is None:
                continue
            message = (f"Container {status.get('name')} for pod {pod.namespace}/{pod.name} failed with exit code "
                       f"{status['state']['terminated'].get('exitCode')} matching {action} rule at index {index}")
        elif rule.get("onPodConditions") is not None:
            cond = _on_pod_conditions(pod, rule["onPodConditions"])
            if cond is None:
                continue
            message = (f"Pod {pod.namespace}/{pod.name} has condition {cond.get('type')} matching {action} rule "
                       f"at index {index}")
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action == "Count":
            return None, True, action
        if action == "FailJob":
            return message, True, action
        if action == "FailIndex":
            return None, True, action
    return None, True, None


def backoff_until(pods: list) -> float:
    """When the pod failure back-off ends (backoffRecord): 10s doubling per failure since the last success, ≤ 6m."""
    last_success = max((parse_rfc3339(_finished_at(p)) for p in pods if p.phase == "Succeeded"), default=-math.inf)
    failures = [parse_rfc3339(_finished_at(p)) for p in pods if p.phase == "Failed"]
    failures = [t for t in failures if t > last_success]
    if not failures:
        return -math.inf
    return max(failures) + min(INITIAL_BACKOFF * 2 ** (len(failures) - 1), MAX_BACKOFF)


def _create_pods(store: Store, job: Resource, now: float, active: list, pods: list, done_indexes: set[int],
                 succeeded: int, parallelism: int, failure: list[Forbidden]) -> float:
    """Start the missing pods (lowest pending indexes first when Indexed); returns when a back-off ends."""
    completions = job.spec.get("completions")
    wanted = parallelism if completions is None else min(parallelism, int(completions) - succeeded)
    missing = wanted - len(active)
    limits_per_index = indexed(job) and job.spec.get("backoffLimitPerIndex") is not None
    if missing > 0 and not limits_per_index:   # with backoffLimitPerIndex each index has its own back-off
        ready_at = backoff_until(pods)
        if now < ready_at:
            return ready_at
    if missing <= 0:
        return math.inf
    notes: dict[int, dict] = {}
    wait = math.inf
    if indexed(job):
        busy = done_indexes | {completion_index(p) for p in active}
        indexes: list[int | None] = [i for i in range(int(completions)) if i not in busy][:missing]
        if limits_per_index:
            ready, notes, wait = per_index.plan_indexes(job, pods, indexes, now, completion_index,  # type: ignore
                                                        _finished_at, match_pod_failure_policy, INITIAL_BACKOFF,
                                                        MAX_BACKOFF)
            indexes = list(ready)
    else:
        indexes = [None] * missing
    queue = iter(indexes)

    def create() -> Forbidden | None:
        index = next(queue)
        outcome = create_pod(store, job, _pod(job, index, notes.get(index)), COMPONENT)  # type: ignore[arg-type]
        if isinstance(outcome, Forbidden) and not namespace_terminating(store, job.namespace):
            return outcome
        return None

    _, error = slow_start_batch(len(indexes), create)
    if error is not None:
        failure.append(error)
    return wait


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


def _pod(job: Resource, index: int | None, failure_counts: dict | None = None) -> dict:
    """A pod from the template; with a completion index, its annotation, label, name prefix, hostname and env
    (and, with backoffLimitPerIndex, the index's failure-count annotations)."""
    template = job.spec.get("template") or {}
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta.update(generateName=f"{job.name}-", namespace=job.namespace, ownerReferences=[controller_ref(job)])
    meta["labels"] = {**(meta.get("labels") or {}), **_labels(job)}
    spec = copy.deepcopy(template.get("spec") or {})
    if index is not None:
        meta["annotations"] = {**(meta.get("annotations") or {}), INDEX_ANNOTATION: str(index),
                               **(failure_counts or {})}
        meta["labels"][INDEX_ANNOTATION] = str(index)          # the PodIndexLabel feature (on since 1.28)
        suffix = f"-{index}-"                                  # podGenerateNameWithIndex
        meta["generateName"] = job.name[:MAX_GENERATED_NAME - len(suffix)] + suffix
        spec["hostname"] = f"{job.name}-{index}"
        for key in ("initContainers", "containers"):           # addCompletionIndexEnvVariables
            for container in spec.get(key) or ():
                env = container.setdefault("env", [])
                if not any(e.get("name") == INDEX_ENV for e in env):
                    env.append({"name": INDEX_ENV, "valueFrom": {"fieldRef": {
                        "fieldPath": f"metadata.labels['{INDEX_ANNOTATION}']"}}})   # PodIndexLabel on
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
