"""DefaultPreemption, the PostFilter that frees a node for a pod no node can take.

As pkg/scheduler/framework/preemption and plugins/defaultpreemption do it (v1.33):

- Eligibility: not with preemptionPolicy Never ("not eligible due to preemptionPolicy=Never."),
  nor while a lower-priority pod on the pod's nominated node is still terminating because the
  scheduler preempted it ("not eligible due to a terminating pod on the nominated node.").
- Candidates: every node whose filter failure preemption could resolve (the others are
  "Preemption is not helpful for scheduling"). On each, a dry run removes every pod of lower
  priority ("No preemption victims found for incoming pod" when there is none) and runs all the
  filters again (resources, spread, anti-affinity, ... — a pod that still does not fit reports
  the filter's reason); then it reprieves the removed pods, those whose eviction would break a
  PodDisruptionBudget first (filterPodsWithPDBViolation, against each budget's
  status.disruptionsAllowed), then the others, each group most important first (higher
  priority, then earlier start), keeping each one the pod still fits beside. The rest are the
  node's victims; the violating ones among them are its PDB violations.
- The node chosen (pickOneNodeForPreemption): fewest PodDisruptionBudget violations, then the
  lowest highest-victim priority, the smallest sum of priorities, the fewest victims, the latest
  start among the highest-priority victims, then the first in node order.
- Each victim gets the DisruptionTarget condition (reason PreemptionByScheduler), is deleted,
  and gets a Preempted event "Preempted by pod <uid> on node <node>"; lower-priority pods
  nominated to that node lose their nomination; the pod is nominated to it
  (status.nominatedNodeName). When no node qualifies, a nomination the pod had is cleared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.controllers.disruption import Budget, budgets, split_by_violation
from netsim.controllers.scheduler_snapshot import NodeInfo, Snapshot, start_time
from netsim.controllers.scheduler_restrictions import READ_WRITE_ONCE_POD_CONFLICT
from netsim.controllers.workloads import add_disruption_target

COMPONENT = "default-scheduler"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
POLICY_NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING_ON_NOMINATED = "not eligible due to a terminating pod on the nominated node."
# Filter reasons with code Unschedulable (every other reason is UnschedulableAndUnresolvable):
# NodeResourcesFit's, NodePorts', VolumeRestrictions', InterPodAffinity's anti-affinity ones, PodTopologySpread's skew
# (not its missing label).
RESOLVABLE = frozenset(("Too many pods", "node(s) didn't have free ports for the requested pod ports",
                        "node(s) didn't match pod anti-affinity rules",
                        "node(s) didn't satisfy existing pods anti-affinity rules",
                        "node(s) didn't match pod topology spread constraints",
                        READ_WRITE_ONCE_POD_CONFLICT))   # VolumeRestrictions' ReadWriteOncePod conflict
INSUFFICIENT = "Insufficient "
_INT32_SHIFT = 2**31            # math.MaxInt32 + 1: makes every priority non-negative in the sum

# Runs every filter for the pod on one node of a snapshot: the reasons, [] when the pod fits.
FilterRun = Callable[[Snapshot, NodeInfo], list[str]]


def priority(pod: Pod) -> int:
    """spec.priority (0 when unset)."""
    return int(pod.spec.get("priority", 0) or 0)


def resolvable(reasons: list[str]) -> bool:
    """Whether a node's failure is Unschedulable (preemption may help), not UnschedulableAndUnresolvable."""
    return bool(reasons) and all(r in RESOLVABLE or r.startswith(INSUFFICIENT) for r in reasons)


def _preempted_by_scheduler(pod: Pod) -> bool:
    """podTerminatingByPreemption: terminating with DisruptionTarget reason PreemptionByScheduler."""
    if not pod.deletion_timestamp:
        return False
    cond = pod.condition("DisruptionTarget")
    return cond is not None and cond.status == "True" and cond.reason == "PreemptionByScheduler"


def not_eligible(pod: Pod, snapshot: Snapshot, statuses: dict[str, list[str]]) -> str:
    """PodEligibleToPreemptOthers: "" when the pod may preempt, else the sentence saying why not."""
    if pod.spec.get("preemptionPolicy") == "Never":
        return POLICY_NEVER
    nominated = pod.status.get("nominatedNodeName")
    if nominated and nominated in snapshot.infos:
        if not resolvable(statuses.get(nominated, [])):
            return ""
        mine = priority(pod)
        if any(priority(p) < mine and _preempted_by_scheduler(p) for p in snapshot.infos[nominated].pods):
            return TERMINATING_ON_NOMINATED
    return ""


def _more_important_first(pods: list[Pod], now: str) -> list[Pod]:
    """util.MoreImportantPod order: higher priority, then earlier start (name keeps it total)."""
    return sorted(pods, key=lambda p: (-priority(p), start_time(p, now), p.namespace, p.name))


def select_victims(pod: Pod, info: NodeInfo, snapshot: Snapshot, run: FilterRun,
                   pdbs: list[Budget] | None = None) -> tuple[list[Pod], list[str]]:
    """SelectVictimsOnNode on a copy of the node: (victims, []) or ([], the reasons it cannot help)."""
    victims, _, reasons = select_victims_counting(pod, info, snapshot, run, pdbs or [])
    return victims, reasons


def select_victims_counting(pod: Pod, info: NodeInfo, snapshot: Snapshot, run: FilterRun,
                            pdbs: list[Budget]) -> tuple[list[Pod], int, list[str]]:
    """SelectVictimsOnNode: (victims, how many of them violate a PDB, []) or ([], 0, the reasons it cannot help)."""
    info = info.clone()
    mine = priority(pod)
    potential = [p for p in info.pods if priority(p) < mine]
    if not potential:
        return [], 0, [NO_VICTIMS]
    for p in potential:
        info.remove(p)
    reasons = run(snapshot.with_node(info), info)
    if reasons:
        return [], 0, reasons
    victims, violations = [], 0
    violating, other = split_by_violation(_more_important_first(potential, snapshot.now), pdbs)
    for group in (violating, other):
        for p in group:
            info.add(p)
            if run(snapshot.with_node(info), info):
                info.remove(p)
                victims.append(p)
                violations += group is violating
    return victims, violations, []


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node preemption would free for the pod, with its victims (most important first)."""

    node: str
    victims: tuple[Pod, ...]
    pdb_violations: int = 0

    def earliest_top_start(self, now: str) -> str:
        """GetEarliestPodStartTime: the earliest start among the victims of the highest priority."""
        top = max(priority(v) for v in self.victims)
        return min(start_time(v, now) for v in self.victims if priority(v) == top)


def pick_one(candidates: list[Candidate], now: str) -> Candidate:
    """pickOneNodeForPreemption: each criterion in turn narrows the ties; then the first in order."""
    criteria = (
        lambda c: -c.pdb_violations,
        lambda c: -max(priority(v) for v in c.victims),
        lambda c: -sum(priority(v) + _INT32_SHIFT for v in c.victims),
        lambda c: -len(c.victims),
    )
    for criterion in criteria:
        best = max(criterion(c) for c in candidates)
        candidates = [c for c in candidates if criterion(c) == best]
        if len(candidates) == 1:
            return candidates[0]
    latest = max(c.earliest_top_start(now) for c in candidates)
    return next(c for c in candidates if c.earliest_top_start(now) == latest)


def preempt(store: Store, pod: Pod, snapshot: Snapshot, statuses: dict[str, list[str]],
            run: FilterRun) -> tuple[str, str | list[str]]:
    """The PostFilter: (node nominated, "") after evicting its victims, or ("", what to print after
    "preemption: " — a sentence, or the per-node reasons of the dry run)."""
    why = not_eligible(pod, snapshot, statuses)
    if why:
        return "", why
    candidates, reasons = [], []
    pdbs = budgets(store)
    for info in snapshot.nodes():
        if not resolvable(statuses.get(info.name, [])):
            reasons.append(NOT_HELPFUL)
            continue
        victims, violations, failed = select_victims_counting(pod, info, snapshot, run, pdbs)
        if victims:
            candidates.append(Candidate(info.name, tuple(victims), violations))
        else:
            reasons.extend(failed)
    if not candidates:
        if pod.status.get("nominatedNodeName"):
            store.update(pod.evolve(lambda d: d["status"].pop("nominatedNodeName", None)))
        return "", reasons
    chosen = pick_one(candidates, snapshot.now)
    for victim in chosen.victims:
        add_disruption_target(store, victim, "PreemptionByScheduler",
                              f"{pod.spec.get('schedulerName', COMPONENT)}: preempting to accommodate a higher "
                              f"priority pod")
        if not victim.deletion_timestamp:
            store.delete("Pod", victim.name, victim.namespace)
        store.record_event(victim, "Normal", "Preempted", f"Preempted by pod {pod.uid} on node {chosen.node}",
                           COMPONENT)
    mine = priority(pod)
    for other in store.list("Pod", where=lambda p: p.status.get("nominatedNodeName") == chosen.node
                            and not p.node_name and priority(p) < mine and p.uid != pod.uid):
        store.update(other.evolve(lambda d: d["status"].pop("nominatedNodeName", None)))
    return chosen.node, ""
