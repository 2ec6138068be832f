"""The scheduler: filter nodes, score the rest, bind; preempt or explain when nothing fits.

Filters, in the default profile's order: NodeUnschedulable, NodeName,
TaintToleration, NodeAffinity (nodeSelector and required node affinity,
matchExpressions and matchFields), NodeResourcesFit (cpu, memory, pods, any
requested resource), then PodTopologySpread (DoNotSchedule constraints:
the skew over the eligible nodes' domains stays within maxSkew) and
InterPodAffinity (required pod affinity and anti-affinity, the existing
pods' anti-affinity included); VolumeBinding (controllers/volumes.py: a
missing or unbound Immediate claim fails the pod on every node, a bound
volume's node affinity must admit the node, an unbound WaitForFirstConsumer
claim needs a matching volume or a class that can provision there; the chosen
node is written to the claim's selected-node annotation) runs after
NodeResourcesFit. Scoring adds, with the default profile's
weights, TaintToleration (PreferNoSchedule), preferred NodeAffinity,
preferred InterPodAffinity and ScheduleAnyway PodTopologySpread; the
system default spread constraints and BalancedAllocation are not applied. Scoring is LeastAllocated on cpu and memory (plus the plugins below); ties are
broken at random from the seeded generator, as the scheduler's selectHost
samples among the best. Pods are taken in priority order (the PrioritySort
queue), then by creation time.

A pod that fits nowhere gets DefaultPreemption's PostFilter: on the nodes
where only resources failed (the others are "Preemption is not helpful for
scheduling"), pods of lower priority are victims, lowest priority first,
until the pod fits; the node needing the fewest victims, then with the
lowest highest-victim priority, then by name, is chosen; the victims are
deleted (a Preempted event each) and the pod is nominated to the node
(status.nominatedNodeName) and binds once they are gone. Otherwise the pod
stays Pending with the scheduler's message in its PodScheduled condition
and a FailedScheduling event, e.g. `0/3 nodes are available: 1 node(s) had
untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient
cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for
scheduling, 2 No preemption victims found for incoming pod.`

`admit_priority` is the Priority admission plugin: priorityClassName turns
into spec.priority and spec.preemptionPolicy (the two system classes are
built in), or the globalDefault class applies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from netsim.api.errors import Forbidden
from netsim.api.objects import Node, Pod
from netsim.api.quantity import Quantity
from netsim.api.store import Store
from netsim.controllers import volumes
from netsim.controllers.workloads import add_disruption_target

COMPONENT = "default-scheduler"
_ZERO = Quantity.parse("0")
# The classes every cluster has (scheduling/types.go SystemPriorityClasses): name -> value.
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def admit_priority(store: Store, data: dict) -> None:
    """The Priority admission plugin on a Pod being created (module docstring)."""
    if data.get("kind") != "Pod":
        return
    spec = data.setdefault("spec", {})
    name = spec.get("priorityClassName")
    if name:
        if name in SYSTEM_PRIORITY_CLASSES:
            value, policy = SYSTEM_PRIORITY_CLASSES[name], "PreemptLowerPriority"
        else:
            pc = store.try_get("PriorityClass", name)
            if pc is None:
                raise Forbidden(f'pods "{data["metadata"].get("name") or data["metadata"].get("generateName", "")}" '
                                f"is forbidden: no PriorityClass with name {name} was found")
            value, policy = int(pc.get("value", 0)), pc.get("preemptionPolicy", "PreemptLowerPriority")
    else:
        default = next((pc for pc in sorted(store.list("PriorityClass"), key=lambda p: p.name)
                        if pc.get("globalDefault")), None)
        if default is None:
            return
        spec["priorityClassName"] = default.name
        value, policy = int(default.get("value", 0)), default.get("preemptionPolicy", "PreemptLowerPriority")
    spec["priority"] = value
    spec["preemptionPolicy"] = policy


def node_selector_term_matches(term: dict, node: Node) -> bool:
    """One nodeSelectorTerm: every matchExpressions on labels and matchFields on metadata.name holds."""
    for req in term.get("matchExpressions") or ():
        if not _requirement(req, node.labels.get(req.get("key", "")), req.get("key", "") in node.labels):
            return False
    for req in term.get("matchFields") or ():
        value = node.name if req.get("key") == "metadata.name" else None
        if not _requirement(req, value, value is not None):
            return False
    return bool(term.get("matchExpressions") or term.get("matchFields"))


def _requirement(req: dict, value: str | None, present: bool) -> bool:
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
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution (NodeAffinity's Filter)."""
    selector = pod.spec.get("nodeSelector") or {}
    if any(node.labels.get(k) != v for k, v in selector.items()):
        return False
    required = (((pod.spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(node_selector_term_matches(t, node) for t in required.get("nodeSelectorTerms") or ())


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
    if not node_affinity_matches(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    return _resource_reasons(pod, node, used, counts)


# --- InterPodAffinity and PodTopologySpread (Filter only) ---------------------------------------
AFFINITY_NOT_MATCH = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
SPREAD_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
SPREAD_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"


def _required_terms(pod: Pod, kind: str) -> list[dict]:
    return list(((pod.spec.get("affinity") or {}).get(kind) or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or [])


def _term_matches(term: dict, owner: Pod, other: Pod) -> bool:
    """Whether `other` is a pod the affinity term of `owner` is about (selector and namespaces)."""
    from netsim.api.selector import LabelSelector

    namespaces = term.get("namespaces") or [owner.namespace]
    if other.namespace not in namespaces:
        return False
    return LabelSelector.from_dict(dict(term.get("labelSelector") or {})).matches(other.labels) \
        if term.get("labelSelector") is not None else False


def inter_pod_reasons(pod: Pod, node: Node, nodes: dict[str, Node], placed: list[tuple[Pod, str]]) -> list[str]:
    """PodTopologySpread's then InterPodAffinity's Filter for `pod` on `node` (empty: fits), in the profile's order."""
    for constraint in pod.spec.get("topologySpreadConstraints") or []:
        if constraint.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        reason = _spread_reason(pod, node, nodes, placed, constraint)
        if reason:
            return [reason]
    for term in _required_terms(pod, "podAffinity"):
        key = term.get("topologyKey", "")
        matching = [(o, w) for o, w in placed if _term_matches(term, pod, o)]
        if not matching and _term_matches(term, pod, pod):
            continue                       # the first pod of a group that selects itself
        if key not in node.labels or not any(nodes.get(w) is not None and nodes[w].labels.get(key) == node.labels[key]
                                             for _, w in matching):
            return [AFFINITY_NOT_MATCH]
    for term in _required_terms(pod, "podAntiAffinity"):
        key = term.get("topologyKey", "")
        if key in node.labels and any(_term_matches(term, pod, o) and nodes.get(w) is not None
                                      and nodes[w].labels.get(key) == node.labels[key] for o, w in placed):
            return [ANTI_AFFINITY_NOT_MATCH]
    for other, where in placed:           # existing pods' required anti-affinity against this pod
        for term in _required_terms(other, "podAntiAffinity"):
            key = term.get("topologyKey", "")
            host = nodes.get(where)
            if host is not None and key in node.labels and host.labels.get(key) == node.labels[key] \
                    and _term_matches(term, other, pod):
                return [EXISTING_ANTI_AFFINITY]
    return []


def _spread_reason(pod: Pod, node: Node, nodes: dict[str, Node], placed: list[tuple[Pod, str]],
                   constraint: dict) -> str:
    """One DoNotSchedule constraint: the skew after placing the pod on `node` must stay within maxSkew."""
    from netsim.api.selector import LabelSelector

    key = constraint.get("topologyKey", "")
    if key not in node.labels:
        return SPREAD_MISSING_LABEL
    selector = LabelSelector.from_dict(dict(constraint.get("labelSelector") or {}))
    eligible = [n for n in nodes.values() if key in n.labels and node_affinity_matches(pod, n)
                and all(t.effect not in ("NoSchedule", "NoExecute") or tolerates(pod, t.key, t.value, t.effect)
                        for t in n.taints)]
    counts = {n.labels[key]: 0 for n in eligible}
    for other, where in placed:
        host = nodes.get(where)
        if host is not None and other.namespace == pod.namespace and selector.matches(other.labels) \
                and host.labels.get(key) in counts and not other.deletion_timestamp:
            counts[host.labels[key]] += 1
    minimum = min(counts.values(), default=0)
    mine = counts.get(node.labels[key], 0) + (1 if selector.matches(pod.labels) else 0)
    return SPREAD_NOT_MATCH if mine - minimum > int(constraint.get("maxSkew", 1)) else ""


RESOLVABLE = ("Too many pods", "Insufficient ")
# Unschedulable (not UnschedulableAndUnresolvable) but not resolved by freeing resources: no victims are tried.
PREEMPTION_MAY_HELP = ("node(s) didn't match pod anti-affinity rules",
                       "node(s) didn't satisfy existing pods anti-affinity rules",
                       "node(s) didn't match pod topology spread constraints")


def _resource_reasons(pod: Pod, node: Node, used: dict[str, dict[str, Quantity]], counts: Counter) -> list[str]:
    """NodeResourcesFit's reasons (the ones preemption can resolve)."""
    reasons = []
    allocatable = node.allocatable
    if counts[node.name] + 1 > int(Quantity.parse(allocatable.get("pods", "110")).value()):
        reasons.append("Too many pods")
    for name, want in sorted(requests_of(pod).items()):
        have = Quantity.parse(allocatable[name]) if name in allocatable else _ZERO
        if used[node.name].get(name, _ZERO) + want > have:
            reasons.append(f"Insufficient {name}")
    return reasons


# schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: what scoring counts for a container without requests.
NONZERO_DEFAULTS = {"cpu": Quantity.parse("100m"), "memory": Quantity.parse("200Mi")}


def nonzero_requests_of(pod: Pod) -> dict[str, Quantity]:
    """cpu and memory requests with the scoring defaults for containers that set none (GetNonzeroRequests)."""
    total = {name: _ZERO for name in NONZERO_DEFAULTS}
    for c in pod.containers:
        for name, default in NONZERO_DEFAULTS.items():
            value = c.requests.get(name)
            q = Quantity.parse(value) if value is not None else default
            total[name] = total[name] + (q if q.milli_value() else default)
    return total


def _scored_key(name: str) -> str:
    return f"(scored) {name}"


def _add_usage(used: dict[str, Quantity], pod: Pod, sign: int = 1) -> None:
    for name, q in requests_of(pod).items():
        used[name] = used.get(name, _ZERO) + q if sign > 0 else used.get(name, _ZERO) - q
    for name, q in nonzero_requests_of(pod).items():
        key = _scored_key(name)
        used[key] = used.get(key, _ZERO) + q if sign > 0 else used.get(key, _ZERO) - q


def _score(pod: Pod, node: Node, used: dict[str, dict[str, Quantity]]) -> int:
    """LeastAllocated on cpu and memory, weights 1 and 1, integer arithmetic (0..100), non-zero requests."""
    want = nonzero_requests_of(pod)
    scores = []
    for name in ("cpu", "memory"):
        capacity = Quantity.parse(node.allocatable.get(name, "0")).milli_value()
        requested = (used[node.name].get(_scored_key(name), _ZERO) + want[name]).milli_value()
        scores.append(0 if capacity == 0 or requested > capacity else (capacity - requested) * 100 // capacity)
    return sum(scores) // len(scores)


# Score plugins beyond LeastAllocated, with the default profile's weights. Each is constant over the nodes
# for a pod that uses none of their features, so ordinary placements are LeastAllocated's alone.
SCORE_WEIGHTS = {"TaintToleration": 3, "NodeAffinity": 2, "InterPodAffinity": 2, "PodTopologySpread": 2}
MAX_NODE_SCORE = 100


def preference_scores(pod: Pod, nodes: list, by_name: dict[str, Node], placed: list[tuple[Pod, str]]) -> dict:
    """The weighted, normalized scores of preferred node affinity, preferred pod (anti-)affinity,
    ScheduleAnyway spread constraints and PreferNoSchedule taints, per node name."""
    total = {n.name: 0 for n in nodes}
    if not nodes:
        return total

    def add(plugin: str, raw: dict, normalize) -> None:
        for name, value in normalize(raw).items():
            total[name] += SCORE_WEIGHTS[plugin] * value

    def default_normalize(raw: dict, reverse: bool = False) -> dict:
        top = max(raw.values())
        if top == 0:
            return {k: MAX_NODE_SCORE if reverse else 0 for k in raw}
        return {k: (MAX_NODE_SCORE - v * MAX_NODE_SCORE // top) if reverse else v * MAX_NODE_SCORE // top
                for k, v in raw.items()}

    taints = {n.name: sum(1 for t in n.taints if t.effect == "PreferNoSchedule"
                          and not tolerates(pod, t.key, t.value, t.effect)) for n in nodes}
    add("TaintToleration", taints, lambda raw: default_normalize(raw, reverse=True))
    preferred = (((pod.spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    affinity = {n.name: sum(int(p.get("weight", 0)) for p in preferred
                            if node_selector_term_matches(p.get("preference") or {}, n)) for n in nodes}
    add("NodeAffinity", affinity, default_normalize)
    inter = {n.name: 0 for n in nodes}
    for kind, sign in (("podAffinity", 1), ("podAntiAffinity", -1)):
        for weighted in (((pod.spec.get("affinity") or {}).get(kind) or {})
                         .get("preferredDuringSchedulingIgnoredDuringExecution") or []):
            term = weighted.get("podAffinityTerm") or {}
            key = term.get("topologyKey", "")
            for other, where in placed:
                host = by_name.get(where)
                if host is None or key not in host.labels or not _term_matches(term, pod, other):
                    continue
                for n in nodes:
                    if n.labels.get(key) == host.labels[key]:
                        inter[n.name] += sign * int(weighted.get("weight", 0))
    low, high = min(inter.values()), max(inter.values())
    add("InterPodAffinity", inter, lambda raw: {k: 0 if high == low else (v - low) * MAX_NODE_SCORE // (high - low)
                                                for k, v in raw.items()})
    soft = [c for c in pod.spec.get("topologySpreadConstraints") or []
            if c.get("whenUnsatisfiable") == "ScheduleAnyway"]
    if soft:
        from netsim.api.selector import LabelSelector

        spread = {n.name: 0 for n in nodes}
        for c in soft:
            key, selector = c.get("topologyKey", ""), LabelSelector.from_dict(dict(c.get("labelSelector") or {}))
            for n in nodes:
                spread[n.name] += sum(1 for o, w in placed if o.namespace == pod.namespace and selector.matches(o.labels)
                                      and by_name.get(w) is not None and key in n.labels
                                      and by_name[w].labels.get(key) == n.labels[key])
        top, bottom = max(spread.values()), min(spread.values())
        add("PodTopologySpread", spread,
            lambda raw: {k: MAX_NODE_SCORE if top == 0 else MAX_NODE_SCORE * (top + bottom - v) // top
                         for k, v in raw.items()})
    return total


def failure_message(total: int, reasons: Iterable[str], preemption: Iterable[str] | str | None = None) -> str:
    """`0/N nodes are available: ...` with reasons counted and sorted as the scheduler prints them.

    `preemption` adds the PostFilter's part: per-node reasons, or one sentence (preemptionPolicy=Never).
    """
    counted = Counter(reasons)
    parts = sorted(f"{n} {reason}" for reason, n in counted.items())
    message = f"0/{total} nodes are available: {', '.join(parts)}."
    if isinstance(preemption, str):
        return f"{message} preemption: {preemption}"
    if preemption is not None:
        tail = sorted(f"{n} {reason}" for reason, n in Counter(preemption).items())
        message += f" preemption: 0/{total} nodes are available: {', '.join(tail)}."
    return message


def reconcile(store: Store, rng) -> None:
    """Bind every unscheduled pod (in creation order) to a node, or mark it unschedulable."""
    nodes = [n for n in store.list("Node")]
    used: dict[str, dict[str, Quantity]] = {n.name: {} for n in nodes}
    counts: Counter = Counter()
    for pod in store.list("Pod"):
        if pod.node_name and pod.node_name in used and pod.phase not in ("Succeeded", "Failed"):
            counts[pod.node_name] += 1
            _add_usage(used[pod.node_name], pod)  # type: ignore[arg-type]
    pods = list(store.list("Pod"))
    pending = [p for p in pods if not p.node_name and not p.deletion_timestamp
               and p.spec.get("schedulerName", COMPONENT) == COMPONENT]
    pending.sort(key=lambda p: (-int(p.spec.get("priority", 0)), p.creation_timestamp, p.namespace, p.name))
    for pod in pending:
        _schedule_one(store, rng, pod, nodes, used, counts, pods)  # type: ignore[arg-type]


def _priority(pod: Pod) -> int:
    return int(pod.spec.get("priority", 0) or 0)


def _schedule_one(store: Store, rng, pod: Pod, nodes: list, used: dict, counts: Counter, pods: list) -> None:
    feasible, reasons, per_node = [], [], {}
    by_name = {n.name: n for n in nodes}
    placed = [(p, p.node_name) for p in store.list("Pod")
              if p.node_name and p.phase not in ("Succeeded", "Failed")]
    problem = volumes.pod_volume_problem(store, pod)          # VolumeBinding's PreFilter
    for node in nodes:
        why = ([problem] if problem else _unfit_reasons(pod, node, used, counts)
               or volumes.volume_reasons(store, pod, node) or inter_pod_reasons(pod, node, by_name, placed))
        per_node[node.name] = why
        if why:
            reasons.extend(why)
        else:
            feasible.append(node)
    if not feasible:
        nominated = pod.status.get("nominatedNodeName")
        if nominated and any(p.node_name == nominated and p.deletion_timestamp for p in pods):
            return   # victims still terminating: wait for them
        preemption = _preempt(store, pod, nodes, used, counts, pods, per_node)
        if preemption is None:
            return
        message = failure_message(len(nodes), reasons, preemption) if nodes else "no nodes available to schedule pods"
        if problem and nodes:
            message = f"0/{len(nodes)} nodes are available: {problem}. preemption: " \
                      f"0/{len(nodes)} nodes are available: {len(nodes)} {NOT_HELPFUL}."
        condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                     "lastProbeTime": None, "lastTransitionTime": store.now()}
        current = pod.condition("PodScheduled")
        if current is None or current.message != message:
            store.update(pod.evolve(lambda d: d.setdefault("status", {}).__setitem__("conditions", [condition])))
            store.record_event(pod, "Warning", "FailedScheduling", message, COMPONENT)
        return
    extra = preference_scores(pod, feasible, by_name, placed)
    scores = [_score(pod, n, used) + extra[n.name] for n in feasible]
    best = max(scores)
    top = [n for n, s in zip(feasible, scores) if s == best]
    chosen = top[int(rng.integers(0, len(top)))] if len(top) > 1 else top[0]
    counts[chosen.name] += 1
    _add_usage(used[chosen.name], pod)

    def bind(d: dict) -> None:
        d["spec"]["nodeName"] = chosen.name
        d.get("status", {}).pop("nominatedNodeName", None)
        d.setdefault("status", {})["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": store.now()}]

    volumes.select_node(store, pod, chosen.name)              # VolumeBinding's PreBind
    store.update(pod.evolve(bind))
    store.record_event(pod, "Normal", "Scheduled",
                       f"Successfully assigned {pod.namespace}/{pod.name} to {chosen.name}", COMPONENT)


def _preempt(store: Store, pod: Pod, nodes: list, used: dict, counts: Counter, pods: list, per_node: dict):
    """DefaultPreemption's PostFilter: None when victims were deleted, else the reasons to print."""
    if pod.spec.get("preemptionPolicy") == "Never":
        return "not eligible due to preemptionPolicy=Never."
    mine = _priority(pod)
    candidates, reasons = [], []
    for node in nodes:
        why = per_node[node.name]
        if any(r in PREEMPTION_MAY_HELP for r in why):
            reasons.append(NO_VICTIMS)
            continue
        if not all(r.startswith(RESOLVABLE) for r in why):
            reasons.append(NOT_HELPFUL)
            continue
        lower = sorted((p for p in pods if p.node_name == node.name and not p.deletion_timestamp
                        and p.phase not in ("Succeeded", "Failed") and _priority(p) < mine),
                       key=lambda p: (_priority(p), p.creation_timestamp, p.name))
        node_used = {k: v for k, v in used[node.name].items()}
        node_counts = Counter(counts)
        victims = []
        for victim in lower:
            if not _resource_reasons(pod, node, {node.name: node_used}, node_counts):
                break
            victims.append(victim)
            node_counts[node.name] -= 1
            _add_usage(node_used, victim, -1)
        if not victims or _resource_reasons(pod, node, {node.name: node_used}, node_counts):
            reasons.append(NO_VICTIMS)
            continue
        candidates.append((len(victims), max(_priority(v) for v in victims), node.name, victims))
    if not candidates:
        return reasons
    _, _, node_name, victims = min(candidates, key=lambda c: c[:3])
    for victim in victims:
        store.record_event(victim, "Normal", "Preempted", f"Preempted by pod {pod.uid} on node {node_name}",
                           COMPONENT)
        add_disruption_target(store, victim, "PreemptionByScheduler",
                              f"{pod.spec.get('schedulerName', COMPONENT)}: preempting to accommodate a higher "
                              f"priority pod")
        store.delete("Pod", victim.name, victim.namespace)
    store.update(pod.evolve(lambda d: d.setdefault("status", {}).__setitem__("nominatedNodeName", node_name)))
    return None

