"""PodTopologySpread: the Filter for DoNotSchedule constraints and the Score for ScheduleAnyway ones.

As pkg/scheduler/framework/plugins/podtopologyspread does it (v1.33, every feature gate of
the plugin on: minDomains, nodeAffinityPolicy/nodeTaintsPolicy, matchLabelKeys):

- A pod's constraints are its own `topologySpreadConstraints`; a pod that sets none gets the
  system defaults (`defaultingType: System`): maxSkew 3 on kubernetes.io/hostname and maxSkew 5
  on topology.kubernetes.io/zone, both ScheduleAnyway, selecting with the merged selectors of
  the Services that select the pod and of its controlling ReplicaSet or StatefulSet
  (helper.DefaultSelector); no such owner and no Service means no default constraint.
- matchLabelKeys add `key in (the pod's value)` to the selector; minDomains (default 1) makes
  the global minimum 0 while fewer domains exist; nodeAffinityPolicy (default Honor) and
  nodeTaintsPolicy (default Ignore) decide which nodes' pods are counted.
- Filter: a node without a constraint's topology key fails UnschedulableAndUnresolvable
  ("... (missing required label)"); otherwise matching pods in the node's domain, plus one if
  the pod matches itself, minus the global minimum, must not exceed maxSkew. Terminating pods
  and pods of other namespaces are not counted.
- Score: per constraint, count × log(domains + 2) + (maxSkew − 1), rounded, then normalized so
  the emptiest node gets 100; nodes missing a key of the pod's own constraints score 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netsim.api.objects import Pod
from netsim.api.selector import LabelSelector, Operator, Requirement
from netsim.controllers.scheduler_nodes import node_affinity_matches, untolerated_taint
from netsim.controllers.scheduler_snapshot import NodeInfo, Snapshot

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
SPREAD_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
SPREAD_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
MAX_NODE_SCORE = 100
_NO_DOMAIN = 2**31 - 1        # criticalPaths' MatchNum before any domain is seen (math.MaxInt32)

# The scheduler's system default constraints (podtopologyspread systemDefaultConstraints): key, maxSkew.
SYSTEM_DEFAULT_CONSTRAINTS = ((HOSTNAME, 3), (ZONE, 5))


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    """One constraint as the plugin holds it (topologySpreadConstraint): the selector parsed and merged."""

    max_skew: int
    topology_key: str
    selector: LabelSelector
    min_domains: int = 1
    node_affinity_policy: str = "Honor"
    node_taints_policy: str = "Ignore"

    def includes(self, pod: Pod, info: NodeInfo) -> bool:
        """Whether the node's pods count for this constraint (matchNodeInclusionPolicies)."""
        if self.node_affinity_policy == "Honor" and not node_affinity_matches(pod, info.node):
            return False
        return not (self.node_taints_policy == "Honor" and untolerated_taint(pod, info.node) is not None)


def _with_match_label_keys(selector: LabelSelector, keys: list, labels) -> LabelSelector:
    """mergeLabelSetWithSelector: `key in (value)` for each matchLabelKeys key the pod has."""
    extra = tuple(Requirement(k, Operator.IN, (labels[k],)) for k in keys if k in labels)
    if not extra:
        return selector
    return LabelSelector(extra + (() if selector.selects_nothing else selector.requirements))


def own_constraints(pod: Pod, action: str) -> list[SpreadConstraint]:
    """The pod's own constraints whose whenUnsatisfiable is `action` (filterTopologySpreadConstraints)."""
    out = []
    for c in pod.spec.get("topologySpreadConstraints") or ():
        if c.get("whenUnsatisfiable", "DoNotSchedule") != action:
            continue
        selector = LabelSelector.from_dict(c.get("labelSelector"))
        out.append(SpreadConstraint(
            max_skew=int(c.get("maxSkew", 1)), topology_key=c.get("topologyKey", ""),
            selector=_with_match_label_keys(selector, list(c.get("matchLabelKeys") or ()), pod.labels),
            min_domains=int(c["minDomains"]) if c.get("minDomains") is not None else 1,
            node_affinity_policy=c.get("nodeAffinityPolicy") or "Honor",
            node_taints_policy=c.get("nodeTaintsPolicy") or "Ignore"))
    return out


def default_selector(pod: Pod, snapshot: Snapshot) -> LabelSelector:
    """helper.DefaultSelector: the Services' selectors that pick the pod, and its controlling
    ReplicaSet's or StatefulSet's selector, ANDed."""
    merged: dict[str, str] = {}
    for svc in snapshot.services:
        selector = svc.spec.get("selector")
        if svc.namespace == pod.namespace and selector and all(pod.labels.get(k) == v for k, v in selector.items()):
            merged.update(selector)
    reqs = tuple(Requirement(k, Operator.EQUALS, (v,)) for k, v in merged.items())
    owner = pod.controller_ref
    if owner is not None and owner.api_version == "apps/v1" and owner.kind in ("ReplicaSet", "StatefulSet"):
        pool = snapshot.replicasets if owner.kind == "ReplicaSet" else snapshot.statefulsets
        found = next((o for o in pool if o.namespace == pod.namespace and o.name == owner.name), None)
        if found is not None:
            reqs += LabelSelector.from_dict(found.spec.get("selector") or {}).requirements
    return LabelSelector(reqs)


def constraints(pod: Pod, snapshot: Snapshot, action: str) -> list[SpreadConstraint]:
    """The constraints the plugin applies for `action`: the pod's own, else the system defaults."""
    if pod.spec.get("topologySpreadConstraints"):
        return own_constraints(pod, action)
    if action != "ScheduleAnyway":
        return []
    selector = default_selector(pod, snapshot)
    if selector.is_empty():
        return []
    return [SpreadConstraint(max_skew=skew, topology_key=key, selector=selector)
            for key, skew in SYSTEM_DEFAULT_CONSTRAINTS]


def _count_matching(info: NodeInfo, selector: LabelSelector, namespace: str) -> int:
    """countPodsMatchSelector: the node's pods in `namespace` the selector picks, terminating ones left out."""
    return sum(1 for p in info.pods if not p.deletion_timestamp and p.namespace == namespace
               and selector.matches(p.labels))


def _has_keys(info: NodeInfo, cons: list[SpreadConstraint]) -> bool:
    return all(c.topology_key in info.node.labels for c in cons)


@dataclass(frozen=True, slots=True)
class FilterState:
    """PreFilter's result: the DoNotSchedule constraints and, per constraint, matching pods per domain."""

    constraints: tuple[SpreadConstraint, ...]
    counts: tuple[dict[str, int], ...]

    def min_match(self, i: int) -> int:
        """The global minimum of constraint i, 0 while fewer than minDomains domains exist."""
        counts = self.counts[i]
        if len(counts) < self.constraints[i].min_domains:
            return 0
        return min(counts.values(), default=_NO_DOMAIN)


def prefilter(pod: Pod, snapshot: Snapshot) -> FilterState:
    """calPreFilterState over every node of the snapshot."""
    cons = constraints(pod, snapshot, "DoNotSchedule")
    counts: tuple[dict[str, int], ...] = tuple({} for _ in cons)
    for info in snapshot.nodes():
        if not cons or not _has_keys(info, cons):
            continue
        for i, c in enumerate(cons):
            if c.includes(pod, info):
                value = info.node.labels[c.topology_key]
                counts[i][value] = counts[i].get(value, 0) + _count_matching(info, c.selector, pod.namespace)
    return FilterState(tuple(cons), counts)


def filter_reason(state: FilterState, pod: Pod, info: NodeInfo) -> str:
    """PodTopologySpread's Filter on one node: "" when it passes, else the reason."""
    for i, c in enumerate(state.constraints):
        value = info.node.labels.get(c.topology_key)
        if value is None:
            return SPREAD_MISSING_LABEL
        self_match = 1 if c.selector.matches(pod.labels) else 0
        if state.counts[i].get(value, 0) + self_match - state.min_match(i) > c.max_skew:
            return SPREAD_NOT_MATCH
    return ""


def _round(x: float) -> int:
    """Go's math.Round for the non-negative scores here (half away from zero)."""
    return math.floor(x + 0.5)


def score(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> dict[str, int] | None:
    """PreScore, Score and NormalizeScore for the ScheduleAnyway constraints; None when skipped."""
    cons = constraints(pod, snapshot, "ScheduleAnyway")
    if not cons or not snapshot.infos:
        return None
    require_all = bool(pod.spec.get("topologySpreadConstraints"))     # the system defaults don't
    ignored = {info.name for info in feasible if require_all and not _has_keys(info, cons)}
    counts: list[dict[str, int]] = [{} for _ in cons]
    for info in feasible:
        if info.name in ignored:
            continue
        for i, c in enumerate(cons):
            if c.topology_key != HOSTNAME:
                counts[i].setdefault(info.node.labels.get(c.topology_key, ""), 0)
    weights = [math.log((len(feasible) - len(ignored) if c.topology_key == HOSTNAME else len(counts[i])) + 2)
               for i, c in enumerate(cons)]
    for info in snapshot.nodes():
        if require_all and not _has_keys(info, cons):
            continue
        for i, c in enumerate(cons):
            value = info.node.labels.get(c.topology_key, "")
            if c.includes(pod, info) and value in counts[i]:
                counts[i][value] += _count_matching(info, c.selector, pod.namespace)
    raw: dict[str, int] = {}
    for info in feasible:
        if info.name in ignored:
            continue
        total = 0.0
        for i, c in enumerate(cons):
            value = info.node.labels.get(c.topology_key)
            if value is None:
                continue
            count = _count_matching(info, c.selector, pod.namespace) if c.topology_key == HOSTNAME \
                else counts[i][value]
            total += count * weights[i] + (c.max_skew - 1)
        raw[info.name] = _round(total)
    low, high = min(raw.values(), default=0), max(raw.values(), default=0)
    return {info.name: 0 if info.name in ignored else MAX_NODE_SCORE if high == 0
            else MAX_NODE_SCORE * (high + low - raw[info.name]) // high for info in feasible}
