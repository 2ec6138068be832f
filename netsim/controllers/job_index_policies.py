"""An Indexed Job's per-index policies: backoffLimitPerIndex with maxFailedIndexes and FailIndex, and successPolicy.

Both are beta and on by default in Kubernetes 1.31 (JobBackoffLimitPerIndex
since 1.29, JobSuccessPolicy since 1.31), so netsim always applies them; job.py
calls these pieces where syncJob does.

- Validation (ValidateJobSpec's rules for these fields): both need
  completionMode Indexed; maxFailedIndexes needs backoffLimitPerIndex and at
  most completions; the FailIndex action needs backoffLimitPerIndex; a
  successPolicy needs rules, each with succeededCount or succeededIndexes.
- backoffLimitPerIndex (indexed_job_utils.go): every pod carries
  `batch.kubernetes.io/job-index-failure-count`, the counted failures of its
  index before it (and `...-ignored-failure-count` once an Ignore rule let
  one pass). An index fails when a pod of it matches a FailIndex rule, or a
  counted failure finds the count already at the limit (isIndexFailed);
  failed indexes go to status.failedIndexes and get no new pod. Each index
  waits its own back-off (10s doubling per failure of that index, at most
  6 minutes; getRemainingTimePerIndex) and the Job-wide back-off does not
  apply. More failed indexes than maxFailedIndexes fails the Job
  (MaxFailedIndexesExceeded); every index finished with some failed fails it
  too (FailedIndexes). The Job-wide backoffLimit still applies (SetDefaults_Job
  makes its default MaxInt32 when backoffLimitPerIndex is set: api/defaults.py's).
- successPolicy (matchSuccessPolicy): the first rule whose succeededIndexes
  all succeeded, or of which (or, without indexes, of all) at least
  succeededCount succeeded, gives SuccessCriteriaMet with reason SuccessPolicy
  and message `Matched rules at index N`; the Job's remaining pods are deleted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from netsim.api.errors import InvalidObject
from netsim.api.objects import Resource
from netsim.sim.clock import parse_rfc3339

FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
MAX_INT32 = 2**31 - 1                        # the annotations' bound (parseInt32)
MAX_FAILED_INDEXES = "Job has exceeded the specified maximal number of failed indexes"
FAILED_INDEXES = "Job has failed indexes"

# match_pod_failure_policy's signature: (FailJob message, counts, action) for one failed pod.
Matcher = Callable[[dict | None, Resource], tuple[str | None, bool, str | None]]


def _invalid(job: Resource, field: str, problem: str) -> InvalidObject:
    return InvalidObject(f"Job {job.namespace}/{job.name}", None, "", field, problem)


def validate(job: Resource) -> None:
    """ValidateJobSpec's rules for these fields; InvalidObject (the API's field error) on the first broken one."""
    spec = job.spec
    per_index, max_failed = spec.get("backoffLimitPerIndex"), spec.get("maxFailedIndexes")
    is_indexed = spec.get("completionMode", "NonIndexed") == "Indexed"
    completions = spec.get("completions")
    if not is_indexed:
        for field, value in (("backoffLimitPerIndex", per_index), ("maxFailedIndexes", max_failed)):
            if value is not None:
                raise _invalid(job, f"spec.{field}", f"Invalid value: {value}: requires indexed completion mode")
        if spec.get("successPolicy") is not None:   # the API prints the Go struct as the value; not reproduced
            raise _invalid(job, "spec.successPolicy", "Invalid value: requires indexed completion mode")
    if max_failed is not None and completions is not None and int(max_failed) > int(completions):
        raise _invalid(job, "spec.maxFailedIndexes", f"Invalid value: {max_failed}: must be less than or equal to "
                                                      "completions")
    if max_failed is not None and per_index is None:
        raise _invalid(job, "spec.backoffLimitPerIndex", "Required value: when maxFailedIndexes is specified")
    for i, rule in enumerate((spec.get("podFailurePolicy") or {}).get("rules") or ()):
        if rule.get("action") == "FailIndex" and per_index is None:
            raise _invalid(job, f"spec.podFailurePolicy.rules[{i}].action",
                           'Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set')
    policy = spec.get("successPolicy")
    if policy is None or not is_indexed:
        return
    rules = policy.get("rules") or []
    if not rules:
        raise _invalid(job, "spec.successPolicy.rules",
                       "Required value: at least one rules must be specified when the successPolicy is specified")
    for i, rule in enumerate(rules):
        count = rule.get("succeededCount")
        if count is None and rule.get("succeededIndexes") is None:
            raise _invalid(job, f"spec.successPolicy.rules[{i}]",
                           "Required value: at least one of succeededCount or succeededIndexes must be specified")
        if count is not None and int(count) > int(completions):
            raise _invalid(job, f"spec.successPolicy.rules[{i}].succeededCount",
                           f"Invalid value: {count}: must be less than or equal to {completions} (the number of "
                           "specified completions)")


def parse_indexes(text: str, completions: int) -> set[int]:
    """parseIndexesFromString: "0,2-4" as a set, stopping at the first index ≥ completions, ends clamped."""
    found: set[int] = set()
    for part in text.split(",") if text else ():
        limits = part.split("-")
        if not limits[0].strip().isdigit():
            continue                     # a corrupted interval is skipped, as the controller logs and goes on
        first = int(limits[0])
        if first >= completions:
            break
        last = first
        if len(limits) > 1:
            if not limits[1].strip().isdigit():
                continue
            last = min(int(limits[1]), completions - 1)
        found.update(range(first, last + 1))
    return found


def match_success_policy(policy: dict | None, completions: int, succeeded: set[int]) -> str | None:
    """matchSuccessPolicy: `Matched rules at index N` for the first rule the succeeded indexes meet, else None."""
    if policy is None or not succeeded:
        return None
    for number, rule in enumerate(policy.get("rules") or ()):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = parse_indexes(str(rule["succeededIndexes"]), completions)
            if not required:
                continue
            contains = len(required & succeeded)
            if contains == len(required) or (count is not None and contains >= int(count)):
                return f"Matched rules at index {number}"
        elif count is not None and len(succeeded) >= int(count):
            return f"Matched rules at index {number}"
    return None


def failure_counts(pod: Resource) -> tuple[int, int]:
    """The pod's (job-index-failure-count, job-index-ignored-failure-count) annotations; 0 when absent or bad."""
    def read(key: str) -> int:
        value = pod.annotations.get(key, "")
        return int(value) if value.isdigit() and int(value) <= MAX_INT32 else 0
    return read(FAILURE_COUNT), read(IGNORED_FAILURE_COUNT)


def index_failed(job: Resource, pod: Resource, match: Matcher) -> bool:
    """isIndexFailed: the failed pod matched FailIndex, or it counts and its index had used up the limit."""
    _, counts, action = match(job.spec.get("podFailurePolicy"), pod)
    if action == "FailIndex":
        return True
    return counts and failure_counts(pod)[0] >= int(job.spec["backoffLimitPerIndex"])


def failed_indexes(job: Resource, failed_pods: Iterable[Resource], index_of: Callable[[Resource], int | None],
                   match: Matcher) -> set[int]:
    """calculateFailedIndexes: the indexes (< completions) with a failed pod that failed its index."""
    completions = int(job.spec["completions"])
    return {i for p in failed_pods if (i := index_of(p)) is not None and i < completions
            and index_failed(job, p, match)}


def job_failure(job: Resource, failed: set[int], succeeded: set[int]) -> tuple[str, str] | None:
    """(reason, message) of the FailureTarget the failed indexes give the Job, or None."""
    max_failed = job.spec.get("maxFailedIndexes")
    if max_failed is not None and len(failed) > int(max_failed):
        return "MaxFailedIndexesExceeded", MAX_FAILED_INDEXES
    if failed and len(failed) + len(succeeded) >= int(job.spec["completions"]):
        return "FailedIndexes", FAILED_INDEXES
    return None


def _last_failed(pods: Iterable[Resource], index: int, index_of: Callable[[Resource], int | None],
                 finished_at: Callable[[Resource], str]) -> Resource | None:
    """getPodsWithDelayedDeletionPerIndex for one index: its failed pod with the most failures, latest last."""
    best = None
    for pod in pods:
        if pod.phase != "Failed" or index_of(pod) != index:
            continue
        if best is None or (sum(failure_counts(best)) <= sum(failure_counts(pod))
                            and finished_at(pod) >= finished_at(best)):
            best = pod
    return best


def plan_indexes(job: Resource, pods: list, candidates: list[int], now: float,
                 index_of: Callable[[Resource], int | None], finished_at: Callable[[Resource], str],
                 match: Matcher, initial: float, ceiling: float) -> tuple[list[int], dict[int, dict], float]:
    """getPodCreationInfoForIndependentIndexes: the candidate indexes whose back-off is over, each new pod's
    failure-count annotations (getNewIndexFailureCounts), and when the next waiting index is ready (inf: none)."""
    ready: list[int] = []
    notes: dict[int, dict] = {}
    due = math.inf
    for index in candidates:
        last = _last_failed(pods, index, index_of, finished_at)
        counted, ignored = failure_counts(last) if last is not None else (0, 0)
        if last is not None:
            _, counts, _ = match(job.spec.get("podFailurePolicy"), last)
            counted, ignored = (counted + 1, ignored) if counts else (counted, ignored + 1)
            backoff = min(initial * 2 ** (counted + ignored - 1), ceiling)
            at = parse_rfc3339(finished_at(last)) + backoff
            if now < at:
                due = min(due, at)
                continue
        ready.append(index)
        notes[index] = {FAILURE_COUNT: str(counted), **({IGNORED_FAILURE_COUNT: str(ignored)} if ignored else {})}
    return ready, notes, due
