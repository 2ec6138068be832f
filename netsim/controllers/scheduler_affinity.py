"""InterPodAffinity: the Filter for required pod (anti-)affinity and the Score for the preferred terms.

As pkg/scheduler/framework/plugins/interpodaffinity does it (v1.33):

- A term's namespaces are its `namespaces` plus those its `namespaceSelector` picks (`{}`
  picks every namespace); with neither, the owning pod's own namespace. A nil labelSelector
  selects no pod. matchLabelKeys / mismatchLabelKeys add `key in (value)` / `key notin
  (value)` with the owning pod's label values (the API server's merge at pod creation).
- Filter, in this order: every required affinity term needs, on the node's domain, a pod
  matching all the terms (UnschedulableAndUnresolvable, "node(s) didn't match pod affinity
  rules"), except for the first pod of a group that selects itself when no such pod exists
  anywhere; no pod in the node's domain may match a required anti-affinity term
  ("node(s) didn't match pod anti-affinity rules"); and no existing pod's required
  anti-affinity may match the pod in that pod's domain ("node(s) didn't satisfy existing
  pods anti-affinity rules").
- Score: the pod's preferred terms (+weight for affinity, −weight for anti-affinity) against
  every existing pod, the existing pods' preferred terms against the pod, and their required
  affinity terms at hardPodAffinityWeight 1, summed per topology domain; normalized to 0..100
  between the lowest and highest node.
"""

from __future__ import annotations

from dataclasses import dataclass

from netsim.api.objects import Node, Pod
from netsim.api.selector import LabelSelector, Operator, Requirement
from netsim.controllers.scheduler_snapshot import NodeInfo, Snapshot

AFFINITY_NOT_MATCH = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
HARD_POD_AFFINITY_WEIGHT = 1          # InterPodAffinityArgs.hardPodAffinityWeight default
MAX_NODE_SCORE = 100


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """One PodAffinityTerm of a pod, parsed (framework.AffinityTerm), with its weight when preferred."""

    namespaces: frozenset[str]
    namespace_selector: LabelSelector
    selector: LabelSelector
    topology_key: str
    weight: int = 0

    def matches(self, pod: Pod, namespace_labels) -> bool:
        """Whether `pod` (whose namespace carries `namespace_labels`) is a pod this term is about."""
        if pod.namespace in self.namespaces or self.namespace_selector.matches(namespace_labels):
            return self.selector.matches(pod.labels)
        return False


def _parse(owner: Pod, term: dict, weight: int = 0) -> AffinityTerm:
    selector = LabelSelector.from_dict(term.get("labelSelector"))
    if not selector.selects_nothing:
        extra = tuple(Requirement(k, Operator.IN, (owner.labels[k],))
                      for k in term.get("matchLabelKeys") or () if k in owner.labels)
        extra += tuple(Requirement(k, Operator.NOT_IN, (owner.labels[k],))
                       for k in term.get("mismatchLabelKeys") or () if k in owner.labels)
        if extra:
            selector = LabelSelector(selector.requirements + extra)
    names = term.get("namespaces") or []
    ns_selector = term.get("namespaceSelector")
    namespaces = frozenset(names) if names or ns_selector is not None else frozenset([owner.namespace])
    return AffinityTerm(namespaces, LabelSelector.from_dict(ns_selector), selector,
                        term.get("topologyKey", ""), weight)


def terms(pod: Pod, kind: str, required: bool = True) -> list[AffinityTerm]:
    """The pod's podAffinity or podAntiAffinity terms (`kind`), required or preferred (with weights)."""
    section = ((pod.spec.get("affinity") or {}).get(kind) or {})
    if required:
        return [_parse(pod, t) for t in section.get("requiredDuringSchedulingIgnoredDuringExecution") or ()]
    return [_parse(pod, w.get("podAffinityTerm") or {}, int(w.get("weight", 0)))
            for w in section.get("preferredDuringSchedulingIgnoredDuringExecution") or ()]


@dataclass(frozen=True, slots=True)
class FilterState:
    """PreFilter's counts per (topology key, value): pods matching all the pod's affinity terms,
    pods matching one of its anti-affinity terms, existing pods whose anti-affinity matches it."""

    affinity: tuple[AffinityTerm, ...]
    anti_affinity: tuple[AffinityTerm, ...]
    affinity_counts: dict[tuple[str, str], int]
    anti_counts: dict[tuple[str, str], int]
    existing_anti_counts: dict[tuple[str, str], int]
    self_match: bool


def _bump(counts: dict, key: str, node: Node) -> None:
    if key in node.labels:
        pair = (key, node.labels[key])
        counts[pair] = counts.get(pair, 0) + 1


def prefilter(pod: Pod, snapshot: Snapshot) -> FilterState:
    """The counts over every pod of the snapshot."""
    affinity, anti = terms(pod, "podAffinity"), terms(pod, "podAntiAffinity")
    labels_of = snapshot.namespace_labels
    mine = labels_of.get(pod.namespace, {})
    affinity_counts: dict = {}
    anti_counts: dict = {}
    existing: dict = {}
    for other, node in snapshot.placed():
        theirs = labels_of.get(other.namespace, {})
        if affinity and all(t.matches(other, theirs) for t in affinity):
            for t in affinity:
                _bump(affinity_counts, t.topology_key, node)
        for t in anti:
            if t.matches(other, theirs):
                _bump(anti_counts, t.topology_key, node)
        for t in terms(other, "podAntiAffinity"):
            if t.matches(pod, mine):
                _bump(existing, t.topology_key, node)
    self_match = bool(affinity) and all(t.matches(pod, mine) for t in affinity)
    return FilterState(tuple(affinity), tuple(anti), affinity_counts, anti_counts, existing, self_match)


def filter_reason(state: FilterState, info: NodeInfo) -> str:
    """InterPodAffinity's Filter on one node: "" when it passes, else the reason."""
    labels = info.node.labels
    pods_exist = True
    for t in state.affinity:
        if t.topology_key not in labels:
            return AFFINITY_NOT_MATCH
        if state.affinity_counts.get((t.topology_key, labels[t.topology_key]), 0) <= 0:
            pods_exist = False
    if not pods_exist and not (not state.affinity_counts and state.self_match):
        return AFFINITY_NOT_MATCH
    for t in state.anti_affinity:
        if t.topology_key in labels and state.anti_counts.get((t.topology_key, labels[t.topology_key]), 0) > 0:
            return ANTI_AFFINITY_NOT_MATCH
    if any(state.existing_anti_counts.get(pair, 0) > 0 for pair in labels.items()):
        return EXISTING_ANTI_AFFINITY
    return ""


def score(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> dict[str, int] | None:
    """PreScore, Score and NormalizeScore; None when no term of any pod applies (the plugin skips)."""
    preferred = terms(pod, "podAffinity", required=False)
    preferred_anti = terms(pod, "podAntiAffinity", required=False)
    labels_of = snapshot.namespace_labels
    mine = labels_of.get(pod.namespace, {})
    topology: dict[str, dict[str, int]] = {}

    def process(term: AffinityTerm, weight: int, target: Pod, ns_labels, node: Node, sign: int) -> None:
        if term.matches(target, ns_labels) and term.topology_key in node.labels:
            values = topology.setdefault(term.topology_key, {})
            value = node.labels[term.topology_key]
            values[value] = values.get(value, 0) + weight * sign

    for other, node in snapshot.placed():
        if not node.labels:
            continue
        theirs = labels_of.get(other.namespace, {})
        for t in preferred:
            process(t, t.weight, other, theirs, node, 1)
        for t in preferred_anti:
            process(t, t.weight, other, theirs, node, -1)
        for t in terms(other, "podAffinity"):
            process(t, HARD_POD_AFFINITY_WEIGHT, pod, mine, node, 1)
        for t in terms(other, "podAffinity", required=False):
            process(t, t.weight, pod, mine, node, 1)
        for t in terms(other, "podAntiAffinity", required=False):
            process(t, t.weight, pod, mine, node, -1)
    if not topology:
        return None
    raw = {info.name: sum(values.get(info.node.labels[key], 0) for key, values in topology.items()
                          if key in info.node.labels) for info in feasible}
    low, high = min(raw.values(), default=0), max(raw.values(), default=0)
    spread = high - low
    return {name: int(MAX_NODE_SCORE * ((v - low) / spread)) if spread > 0 else 0 for name, v in raw.items()}
