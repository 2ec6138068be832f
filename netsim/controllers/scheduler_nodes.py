"""What a pod asks of a node's own fields: node selector terms, required node affinity, tolerations.

These are the node-only predicates the scheduler's NodeAffinity and TaintToleration plugins
evaluate, shared with the DaemonSet controller, the node lifecycle controller (NoExecute
eviction), the volume binder (PV node affinity) and PodTopologySpread's node inclusion
policies. They mirror component-helpers/scheduling/corev1 (`nodeaffinity`, `v1helper`).
"""

from __future__ import annotations

from netsim.api.objects import Node, Pod, Taint


def node_selector_term_matches(term: dict, node: Node) -> bool:
    """One nodeSelectorTerm: every matchExpressions on labels and matchFields on metadata.name holds.

    A term with neither list matches no node (nodeaffinity's nodeSelectorTerm.match on an empty term).
    """
    for req in term.get("matchExpressions") or ():
        if not _requirement(req, node.labels.get(req.get("key", "")), req.get("key", "") in node.labels):
            return False
    for req in term.get("matchFields") or ():
        value = node.name if req.get("key") == "metadata.name" else None
        if not _requirement(req, value, value is not None):
            return False
    return bool(term.get("matchExpressions") or term.get("matchFields"))


def _requirement(req: dict, value: str | None, present: bool) -> bool:
    """One NodeSelectorRequirement against a label (or field) value."""
    op, values = req.get("operator"), [str(v) for v in req.get("values") or ()]
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and values:
        try:
            a, b = int(value), int(values[0])  # type: ignore[arg-type]
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def node_affinity_matches(pod: Pod, node: Node) -> bool:
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution (NodeAffinity's Filter,
    nodeaffinity.GetRequiredNodeAffinity(pod).Match)."""
    selector = pod.spec.get("nodeSelector") or {}
    if any(node.labels.get(k) != v for k, v in selector.items()):
        return False
    required = (((pod.spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(node_selector_term_matches(t, node) for t in required.get("nodeSelectorTerms") or ())


def tolerates(pod: Pod, key: str, value: str, effect: str) -> bool:
    """True when one of the pod's tolerations matches the taint (v1helper.TolerationsTolerateTaint)."""
    for t in pod.spec.get("tolerations") or ():
        if t.get("effect") and t["effect"] != effect:
            continue
        operator = t.get("operator", "Equal")
        if not t.get("key"):
            if operator == "Exists":
                return True
            continue
        if t["key"] != key:
            continue
        if operator == "Exists" or t.get("value", "") == value:
            return True
    return False


def untolerated_taint(pod: Pod, node: Node) -> Taint | None:
    """The first NoSchedule or NoExecute taint the pod does not tolerate
    (v1helper.FindMatchingUntoleratedTaint with DoNotScheduleTaintsFilterFunc)."""
    for taint in node.taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not tolerates(pod, taint.key, taint.value, taint.effect):
            return taint
    return None
