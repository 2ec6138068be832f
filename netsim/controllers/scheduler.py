"""The scheduler (thin for now): filter nodes, score the rest, bind; explain when nothing fits.

Filters, in the default profile's order: NodeUnschedulable, NodeName,
TaintToleration, NodeAffinity (nodeSelector only, so far), NodeResourcesFit
(cpu, memory, pods). Scoring is LeastAllocated on cpu and memory; ties are
broken at random from the seeded generator, as the scheduler's selectHost
samples among the best. A pod that fits nowhere stays Pending with the
scheduler's message (`0/3 nodes are available: ...`) in its PodScheduled
condition and a FailedScheduling event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from netsim.api.objects import Node, Pod
from netsim.api.quantity import Quantity
from netsim.api.store import Store

COMPONENT = "default-scheduler"
_ZERO = Quantity.parse("0")


def requests_of(pod: Pod) -> dict[str, Quantity]:
    """The pod's effective requests: the sum over containers, or the largest init container if larger."""
    total: dict[str, Quantity] = {}
    for c in pod.containers:
        for name, value in c.requests.items():
            total[name] = total.get(name, _ZERO) + Quantity.parse(value)
    for c in pod.init_containers:
        for name, value in c.requests.items():
            q = Quantity.parse(value)
            if q > total.get(name, _ZERO):
                total[name] = q
    return total


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


def _unfit_reasons(pod: Pod, node: Node, used: dict[str, dict[str, Quantity]], counts: Counter) -> list[str]:
    """Why `pod` cannot go to `node` (the scheduler's per-plugin reasons); empty when it fits."""
    if node.unschedulable and not tolerates(pod, "node.kubernetes.io/unschedulable", "", "NoSchedule"):
        return ["node(s) were unschedulable"]
    if pod.node_name and pod.node_name != node.name:
        return ["node(s) didn't match the requested node name"]
    for taint in node.taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not tolerates(pod, taint.key, taint.value, taint.effect):
            return [f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"]
    selector = pod.spec.get("nodeSelector") or {}
    if any(node.labels.get(k) != v for k, v in selector.items()):
        return ["node(s) didn't match Pod's node affinity/selector"]
    reasons = []
    allocatable = node.allocatable
    if counts[node.name] + 1 > int(Quantity.parse(allocatable.get("pods", "110")).value()):
        reasons.append("Too many pods")
    for name, want in sorted(requests_of(pod).items()):
        have = Quantity.parse(allocatable[name]) if name in allocatable else _ZERO
        if used[node.name].get(name, _ZERO) + want > have:
            reasons.append(f"Insufficient {name}")
    return reasons


def _score(pod: Pod, node: Node, used: dict[str, dict[str, Quantity]]) -> float:
    """LeastAllocated: the mean free fraction of cpu and memory after placing the pod (0..100)."""
    want = requests_of(pod)
    scores = []
    for name in ("cpu", "memory"):
        capacity = Quantity.parse(node.allocatable.get(name, "0")).milli_value()
        if capacity == 0:
            continue
        requested = (used[node.name].get(name, _ZERO) + want.get(name, _ZERO)).milli_value()
        scores.append(max(capacity - requested, 0) * 100 / capacity)
    return sum(scores) / len(scores) if scores else 0.0


def failure_message(total: int, reasons: Iterable[str]) -> str:
    """`0/N nodes are available: ...` with reasons counted and sorted as the scheduler prints them."""
    counted = Counter(reasons)
    parts = sorted(f"{n} {reason}" for reason, n in counted.items())
    return f"0/{total} nodes are available: {', '.join(parts)}."


def reconcile(store: Store, rng) -> None:
    """Bind every unscheduled pod (in creation order) to a node, or mark it unschedulable."""
    nodes = [n for n in store.list("Node")]
    used: dict[str, dict[str, Quantity]] = {n.name: {} for n in nodes}
    counts: Counter = Counter()
    for pod in store.list("Pod"):
        if pod.node_name and pod.node_name in used and pod.phase not in ("Succeeded", "Failed"):
            counts[pod.node_name] += 1
            for name, q in requests_of(pod).items():  # type: ignore[arg-type]
                used[pod.node_name][name] = used[pod.node_name].get(name, _ZERO) + q
    pending = [p for p in store.list("Pod") if not p.node_name and not p.deletion_timestamp
               and p.spec.get("schedulerName", COMPONENT) == COMPONENT]
    pending.sort(key=lambda p: (-int(p.spec.get("priority", 0)), p.creation_timestamp, p.namespace, p.name))
    for pod in pending:
        _schedule_one(store, rng, pod, nodes, used, counts)  # type: ignore[arg-type]


def _schedule_one(store: Store, rng, pod: Pod, nodes: list, used: dict, counts: Counter) -> None:
    feasible, reasons = [], []
    for node in nodes:
        why = _unfit_reasons(pod, node, used, counts)
        if why:
            reasons.extend(why)
        else:
            feasible.append(node)
    if not feasible:
        message = failure_message(len(nodes), reasons) if nodes else "no nodes available to schedule pods"
        condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                     "lastProbeTime": None, "lastTransitionTime": store.now()}
        current = pod.condition("PodScheduled")
        if current is None or current.message != message:
            store.update(pod.evolve(lambda d: d.setdefault("status", {}).__setitem__("conditions", [condition])))
            store.record_event(pod, "Warning", "FailedScheduling", message, COMPONENT)
        return
    scores = [_score(pod, n, used) for n in feasible]
    best = max(scores)
    top = [n for n, s in zip(feasible, scores) if s == best]
    chosen = top[int(rng.integers(0, len(top)))] if len(top) > 1 else top[0]
    counts[chosen.name] += 1
    for name, q in requests_of(pod).items():
        used[chosen.name][name] = used[chosen.name].get(name, _ZERO) + q

    def bind(d: dict) -> None:
        d["spec"]["nodeName"] = chosen.name
        d.setdefault("status", {})["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": store.now()}]

    store.update(pod.evolve(bind))
    store.record_event(pod, "Normal", "Scheduled",
                       f"Successfully assigned {pod.namespace}/{pod.name} to {chosen.name}", COMPONENT)
