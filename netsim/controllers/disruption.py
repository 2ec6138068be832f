"""The disruption controller: every PodDisruptionBudget's status, and the budgets as the scheduler reads them.

As kube-controller-manager's disruption controller (pkg/controller/disruption,
policy/v1): the pods of a budget are those of its namespace its selector
matches (an empty selector: all of them; none: none), whatever their phase.

- minAvailable as a count: desiredHealthy is that count and expectedPods the
  number of pods. maxUnavailable, or minAvailable as a percentage, scale
  against the pods' controllers (getExpectedScale): the sum of spec.replicas
  of each distinct controller (a ReplicaSet's Deployment, else the
  ReplicaSet; a StatefulSet); percentages round up; desiredHealthy is
  expectedPods - maxUnavailable (at least 0), or the minAvailable found.
- currentHealthy counts the Ready pods not being deleted and not listed in
  status.disruptedPods (entries the eviction API writes; they lapse two
  minutes after the eviction, DeletionTimeout, with a NotDeleted event).
- disruptionsAllowed = currentHealthy - desiredHealthy, 0 when negative or
  with no expected pod; the DisruptionAllowed condition is True
  SufficientPods when it is positive, else False InsufficientPods.
- A pod with no controller under a percentage or maxUnavailable is skipped
  with the UnmanagedPods warning; a controller that has no scale subresource
  (a DaemonSet, a Job) or cannot be found fails the sync: a
  CalculateExpectedPodCountFailed warning and failSafe (disruptionsAllowed 0,
  DisruptionAllowed False SyncFailed with the error).

The controller's events come with the status writes they explain (and "No
matching pods found" likewise), since netsim syncs every budget on every pass
where the real controller syncs on changes. unhealthyPodEvictionPolicy only
matters to the eviction API, which netsim does not serve; the stale
DisruptionTarget condition clean-up is not emulated.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from netsim.api.errors import FieldError
from netsim.api.kinds import kind_info
from netsim.api.objects import Pod, Resource
from netsim.api.selector import LabelSelector
from netsim.api.store import Store
from netsim.sim.clock import parse_rfc3339

COMPONENT = "controllermanager"   # the disruption controller's recorder: EventSource{Component: "controllermanager"}
DELETION_TIMEOUT = 120.0          # DeletionTimeout: an evicted pod should be gone within 2 minutes
CONDITION = "DisruptionAllowed"
SUFFICIENT, INSUFFICIENT, SYNC_FAILED = "SufficientPods", "InsufficientPods", "SyncFailed"
SCALE_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet"})   # the kinds with a scale subresource


class ExpectedCountError(Exception):
    """getExpectedScale could not size a pod's controller; the message is the controller's error."""


def scaled_value(value, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent rounding up: a count as is, a percentage of `total`."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def budget_pods(store: Store, pdb: Resource) -> list[Pod]:
    """getPodsForPdb: the namespace's pods the selector matches (policy/v1: an empty selector matches all)."""
    raw = pdb.spec.get("selector")
    if raw is None:
        return []
    selector = LabelSelector.from_dict(dict(raw))
    return [p for p in store.list("Pod", pdb.namespace) if selector.matches(p.labels)]  # type: ignore[misc]


def _controller_scale(store: Store, ref, namespace: str) -> tuple[str, int] | None:
    """The finders in order: (uid, replicas) of the controller sizing a pod with this controller ref, or None."""
    if ref.kind == "ReplicaSet":
        rs = store.try_get("ReplicaSet", ref.name, namespace)
        if rs is None or rs.uid != ref.uid:
            return None
        owner = rs.controller_ref
        if owner is not None and owner.kind == "Deployment":      # getPodDeployment
            deploy = store.try_get("Deployment", owner.name, namespace)
            if deploy is None or deploy.uid != owner.uid:
                return None
            return deploy.uid, deploy.replicas  # type: ignore[attr-defined]
        return rs.uid, rs.replicas  # type: ignore[attr-defined]
    if ref.kind in SCALE_KINDS:                                    # getPodStatefulSet, getScaleController
        owner = store.try_get(ref.kind, ref.name, namespace)
        if owner is None or owner.uid != ref.uid:
            return None
        return owner.uid, owner.replicas  # type: ignore[attr-defined]
    try:
        info = kind_info(ref.kind)
    except FieldError:
        return None     # a kind netsim does not know: no finder claims the pod
    resource = f"{info.plural}.{info.group}" if info.group else info.plural
    raise ExpectedCountError(f"{resource} does not implement the scale subresource")


def expected_scale(store: Store, pods: list[Pod]) -> tuple[int, list[str]]:
    """getExpectedScale: (the sum of the pods' distinct controllers' replicas, the unmanaged pods' names)."""
    scales: dict[str, int] = {}
    unmanaged = []
    for pod in pods:
        ref = pod.controller_ref
        if ref is None:
            unmanaged.append(pod.name)
            continue
        if ref.uid in scales:
            continue
        found = _controller_scale(store, ref, pod.namespace)
        if found is None:
            raise ExpectedCountError(f'found no controllers for pod "{pod.name}"')
        scales[found[0]] = found[1]
    return sum(scales.values()), unmanaged


def expected_count(store: Store, pdb: Resource, pods: list[Pod]) -> tuple[int, int, list[str]]:
    """getExpectedPodCount: (expectedPods, desiredHealthy, unmanaged pods)."""
    spec = pdb.spec
    if spec.get("maxUnavailable") is not None:
        expected, unmanaged = expected_scale(store, pods)
        return expected, max(expected - scaled_value(spec["maxUnavailable"], expected), 0), unmanaged
    minimum = spec.get("minAvailable")
    if isinstance(minimum, str):
        expected, unmanaged = expected_scale(store, pods)
        return expected, scaled_value(minimum, expected), unmanaged
    if minimum is not None:
        return len(pods), int(minimum), []
    return 0, 0, []


def selector_string(raw) -> str:
    """A *metav1.LabelSelector as Go's %v prints it (the generated String method)."""
    labels = "".join(f"{k}: {v}," for k, v in sorted(dict(raw.get("matchLabels") or {}).items()))
    exprs = "".join(f"LabelSelectorRequirement{{Key:{e.get('key')},Operator:{e.get('operator')},"
                    f"Values:[{' '.join(e.get('values') or [])}],}},"
                    for e in raw.get("matchExpressions") or ())
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")


def _set_condition(conditions: list[dict], status: str, reason: str, message: str, generation: int,
                   stamp: str) -> None:
    """apimeta.SetStatusCondition for DisruptionAllowed: lastTransitionTime moves only when the status does."""
    current = next((c for c in conditions if c.get("type") == CONDITION), None)
    if current is None:
        current = {"type": CONDITION, "status": status, "observedGeneration": generation,
                   "lastTransitionTime": stamp, "reason": reason, "message": message}
        conditions.append(current)
    elif current.get("status") != status:
        current["status"] = status
        current["lastTransitionTime"] = stamp
    current.update(reason=reason, message=message, observedGeneration=generation)
    if not generation:
        current.pop("observedGeneration")     # omitempty


def reconcile(store: Store) -> float:
    """One sync of every PodDisruptionBudget; returns when a disruptedPods entry next lapses (inf: none)."""
    due = math.inf
    for pdb in store.list("PodDisruptionBudget"):
        if not pdb.deletion_timestamp:
            due = min(due, _sync(store, pdb))
    return due


def _sync(store: Store, pdb: Resource) -> float:
    pods = budget_pods(store, pdb)
    stamp = store.now()
    try:
        expected, desired, unmanaged = expected_count(store, pdb, pods)
    except ExpectedCountError as error:
        return _fail_safe(store, pdb, str(error))
    now = store.clock()
    disrupted, recheck, lapsed = _disrupted(pdb, pods, now)
    healthy = sum(1 for p in pods if not p.deletion_timestamp and p.name not in disrupted and p.ready)
    allowed = healthy - desired if expected > 0 and healthy - desired > 0 else 0
    status: dict = {"observedGeneration": pdb.generation}
    if disrupted:
        status["disruptedPods"] = disrupted
    status.update(disruptionsAllowed=allowed, currentHealthy=healthy, desiredHealthy=desired, expectedPods=expected)
    conditions = copy.deepcopy(list(pdb.status.get("conditions") or []))
    if allowed > 0:
        _set_condition(conditions, "True", SUFFICIENT, "", pdb.generation, stamp)
    else:
        _set_condition(conditions, "False", INSUFFICIENT, "", pdb.generation, stamp)
    status["conditions"] = conditions
    if dict(pdb.status) == status:
        return recheck
    if not pods:
        store.record_event(pdb, "Normal", "NoPods", "No matching pods found", COMPONENT)
    if unmanaged:
        store.record_event(pdb, "Warning", "UnmanagedPods",
                           f"Pods selected by this PodDisruptionBudget (selector: "
                           f"{selector_string(pdb.spec.get('selector') or {})}) were found to be unmanaged. As a "
                           "result, the status of the PDB cannot be calculated correctly, which may result in "
                           "undefined behavior. To account for these pods please set \".spec.minAvailable\" field "
                           "of the PDB to an integer value.", COMPONENT)
    for pod in lapsed:
        store.record_event(pod, "Warning", "NotDeleted", f"Pod was expected by PDB {pdb.namespace}/{pdb.namespace} "
                           "to be deleted but it wasn't", COMPONENT)   # sic: the controller prints the namespace twice
    store.update(pdb.evolve(lambda d: d.__setitem__("status", status)))
    return recheck


def _disrupted(pdb: Resource, pods: list[Pod], now: float) -> tuple[dict[str, str], float, list[Pod]]:
    """buildDisruptedPodMap: (the entries still pending, when the first lapses, the pods whose entry lapsed)."""
    listed = pdb.status.get("disruptedPods") or {}
    kept: dict[str, str] = {}
    recheck, lapsed = math.inf, []
    for pod in pods:
        if pod.deletion_timestamp or pod.name not in listed:
            continue
        expires = parse_rfc3339(listed[pod.name]) + DELETION_TIMEOUT
        if expires < now:
            lapsed.append(pod)
        else:
            kept[pod.name] = listed[pod.name]
            recheck = min(recheck, expires)
    return kept, recheck, lapsed


def _fail_safe(store: Store, pdb: Resource, message: str) -> float:
    """failSafe: disruptionsAllowed 0 and DisruptionAllowed False SyncFailed, with the warning event."""
    status = copy.deepcopy(dict(pdb.status))
    status["disruptionsAllowed"] = 0
    conditions = list(status.get("conditions") or [])
    _set_condition(conditions, "False", SYNC_FAILED, message, int(status.get("observedGeneration", 0) or 0),
                   store.now())
    status["conditions"] = conditions
    if status != dict(pdb.status):
        store.record_event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                           f"Failed to calculate the number of expected pods: {message}", COMPONENT)
        store.update(pdb.evolve(lambda d: d.__setitem__("status", status)))
    return math.inf


@dataclass(frozen=True, slots=True)
class Budget:
    """A PodDisruptionBudget as the scheduler's preemption reads it: whom it covers and what it allows."""

    namespace: str
    selector: LabelSelector | None     # None: matches nothing (the scheduler's reading of nil or empty)
    allowed: int
    disrupted: frozenset[str]

    def covers(self, pod: Pod) -> bool:
        """The pod is in the budget's namespace, has labels, and its non-empty selector matches them."""
        return (self.selector is not None and pod.namespace == self.namespace and bool(pod.labels)
                and self.selector.matches(pod.labels))


def budgets(store: Store) -> list[Budget]:
    """Every PodDisruptionBudget with its status.disruptionsAllowed, in the store's order."""
    out = []
    for pdb in store.list("PodDisruptionBudget"):
        raw = pdb.spec.get("selector")
        empty = not raw or not (raw.get("matchLabels") or raw.get("matchExpressions"))
        out.append(Budget(pdb.namespace, None if empty else LabelSelector.from_dict(dict(raw)),
                          int(pdb.status.get("disruptionsAllowed", 0) or 0),
                          frozenset(pdb.status.get("disruptedPods") or {})))
    return out


def split_by_violation(pods: list[Pod], budgets_: list[Budget]) -> tuple[list[Pod], list[Pod]]:
    """filterPodsWithPDBViolation: (pods whose removal breaks a budget, the others), each in the given order.

    Each covering budget not already counting the pod as disrupted gives up one
    disruption per pod; a pod that takes one below zero violates it.
    """
    left = [b.allowed for b in budgets_]
    violating, other = [], []
    for pod in pods:
        violated = False
        for i, budget in enumerate(budgets_):
            if not budget.covers(pod) or pod.name in budget.disrupted:
                continue
            left[i] -= 1
            violated = violated or left[i] < 0
        (violating if violated else other).append(pod)
    return violating, other
