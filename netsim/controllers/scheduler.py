"""The scheduler: filter nodes, score the rest, bind; preempt or explain when nothing fits.

kube-scheduler's default profile, one pod at a time against a snapshot of the cluster
(scheduler_snapshot.py), pods taken in priority order (the PrioritySort queue), then by
creation time. A pod with spec.schedulingGates waits (the SchedulingGates plugin's
PreEnqueue), its PodScheduled condition False with reason SchedulingGated, as the API server
writes it. A pod nominated to a node by an earlier preemption is tried on that node first
(evaluateNominatedNode).

Filters, in the default profile's order; a node reports the first plugin that rejects it:
NodeUnschedulable, NodeName, TaintToleration, NodeAffinity (nodeSelector and required node
affinity, matchExpressions and matchFields), NodePorts (a hostPort already taken on the
node, per protocol and host IP), NodeResourcesFit (pods, cpu, memory, any requested
resource), VolumeRestrictions (scheduler_restrictions.py: a ReadWriteOncePod claim another pod
uses), VolumeBinding (controllers/volumes.py: a missing or unbound Immediate
claim fails the pod on every node, a bound volume's node affinity must admit the node, an
unbound WaitForFirstConsumer claim needs a matching volume or a class that can provision
there; the chosen node is written to the claim's selected-node annotation),
PodTopologySpread (scheduler_spread.py) and InterPodAffinity (scheduler_affinity.py). Pods
nominated to a node with a priority at least the pod's count as if already there
(RunFilterPluginsWithNominatedPods).

Scoring (scheduler_score.py) sums the default profile's score plugins with their weights and
breaks ties at random from the seeded generator, as selectHost does.

A pod that fits nowhere goes to DefaultPreemption (scheduler_preempt.py); it stays Pending
with the scheduler's message in its PodScheduled condition and a FailedScheduling event,
e.g. `0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: },
2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for
scheduling, 2 No preemption victims found for incoming pod.` — and, when preemption evicted
victims for it, with status.nominatedNodeName set; it binds once they are gone.

`admit_priority` is the Priority admission plugin: priorityClassName turns
into spec.priority and spec.preemptionPolicy (the two system classes are
built in), or the globalDefault class applies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from netsim.api.errors import Forbidden
from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.controllers import (scheduler_affinity, scheduler_preempt, scheduler_restrictions, scheduler_score,
                                scheduler_spread, volumes)
from netsim.controllers.scheduler_nodes import (node_affinity_matches, node_selector_term_matches, tolerates,
                                                untolerated_taint)
from netsim.controllers.scheduler_preempt import NO_VICTIMS, NOT_HELPFUL, priority
from netsim.controllers.scheduler_snapshot import NodeInfo, Snapshot, pod_requests

__all__ = ["admit_priority", "failure_message", "node_affinity_matches", "node_selector_term_matches",
           "reconcile", "tolerates", "NO_VICTIMS", "NOT_HELPFUL"]

COMPONENT = "default-scheduler"
# The classes every cluster has (scheduling/types.go SystemPriorityClasses): name -> value.
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
DEFAULT_MAX_PODS = "110"
NODE_PORTS_CONFLICT = "node(s) didn't have free ports for the requested pod ports"
BIND_ALL = "0.0.0.0"
GATED = "Scheduling is blocked due to non-empty scheduling gates"


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


def fit_reasons(pod: Pod, info: NodeInfo) -> list[str]:
    """NodeResourcesFit's Filter: pod count, then each requested resource the node lacks room for."""
    reasons = []
    allowed = info.allocatable("pods") if "pods" in info.node.allocatable else int(DEFAULT_MAX_PODS)
    if len(info.pods) + 1 > allowed:
        reasons.append("Too many pods")
    for name, want in sorted(pod_requests(pod).items()):
        if name != "pods" and want > 0 and want > info.allocatable(name) - info.requested.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def host_ports(pod: Pod) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) of every port with a hostPort, in the containers and the sidecars
    (schedutil.GetHostPorts), an empty host IP meaning all addresses."""
    spec = pod.spec
    containers = [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    containers += list(spec.get("containers") or ())
    return [(p.get("hostIP") or BIND_ALL, p.get("protocol") or "TCP", int(p["hostPort"]))
            for c in containers for p in c.get("ports") or () if int(p.get("hostPort") or 0) > 0]


def ports_conflict(pod: Pod, info: NodeInfo) -> bool:
    """NodePorts' Filter: a wanted hostPort is in use on the node (HostPortInfo.CheckConflict)."""
    used = {port for p in info.pods for port in host_ports(p)}
    return any((proto, port) == (used_proto, used_port) and (ip == used_ip or BIND_ALL in (ip, used_ip))
               for ip, proto, port in host_ports(pod) for used_ip, used_proto, used_port in used)


def node_reasons(pod: Pod, info: NodeInfo) -> list[str]:
    """The filters that look at the node alone: NodeUnschedulable, NodeName, TaintToleration, NodeAffinity,
    NodePorts."""
    node = info.node
    if node.unschedulable and not tolerates(pod, "node.kubernetes.io/unschedulable", "", "NoSchedule"):
        return ["node(s) were unschedulable"]
    if pod.node_name and pod.node_name != node.name:
        return ["node(s) didn't match the requested node name"]
    taint = untolerated_taint(pod, node)
    if taint is not None:
        return [f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"]
    if not node_affinity_matches(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    if ports_conflict(pod, info):
        return [NODE_PORTS_CONFLICT]
    return []


class Filters:
    """The Filter plugins for one pod against one snapshot, their PreFilter state computed once.

    `nominated` holds, per node, the pods waiting for it after a preemption that are at least as
    important as this pod: a node must take the pod with them on it, and without them
    (RunFilterPluginsWithNominatedPods).
    """

    def __init__(self, store: Store, pod: Pod, snapshot: Snapshot, nominated: dict[str, list[Pod]]) -> None:
        self.store, self.pod, self.snapshot, self.nominated = store, pod, snapshot, nominated
        self.problem = volumes.pod_volume_problem(store, pod)          # VolumeBinding's PreFilter
        self.rwop = scheduler_restrictions.prefilter(store, pod, snapshot)   # VolumeRestrictions' PreFilter
        self.spread = scheduler_spread.prefilter(pod, snapshot)
        self.affinity = scheduler_affinity.prefilter(pod, snapshot)

    def run(self, info: NodeInfo) -> list[str]:
        """The reasons the pod cannot go to the node ([] when it fits), nominated pods counted first."""
        waiting = self.nominated.get(info.name)
        if waiting:
            crowded = info.clone()
            for p in waiting:
                crowded.add(p)
            why = Filters(self.store, self.pod, self.snapshot.with_node(crowded), {}).plugins(crowded)
            if why:
                return why
        return self.plugins(info)

    def plugins(self, info: NodeInfo) -> list[str]:
        """RunFilterPlugins on one node: the first failing plugin's reasons, [] when the pod fits."""
        pod = self.pod
        if self.problem:
            return [self.problem]
        why = (node_reasons(pod, info) or fit_reasons(pod, info) or scheduler_restrictions.filter_reasons(self.rwop)
               or volumes.volume_reasons(self.store, pod, info.node))
        if why:
            return why
        reason = (scheduler_spread.filter_reason(self.spread, pod, info)
                  or scheduler_affinity.filter_reason(self.affinity, info))
        return [reason] if reason else []


def nominated_pods(store: Store, pod: Pod) -> dict[str, list[Pod]]:
    """Per node, the pods nominated to it that are at least as important as `pod` (addGENominatedPods)."""
    mine = priority(pod)
    out: dict[str, list[Pod]] = {}
    for p in store.list("Pod"):
        node = p.status.get("nominatedNodeName")
        if node and not p.node_name and not p.deletion_timestamp and p.uid != pod.uid and priority(p) >= mine:
            out.setdefault(node, []).append(p)  # type: ignore[arg-type]
    return out


def failure_message(total: int, reasons: Iterable[str], preemption: Iterable[str] | str | None = None) -> str:
    """`0/N nodes are available: ...` with reasons counted and sorted as the scheduler prints them.

    `preemption` adds the PostFilter's part: per-node reasons, or one sentence (not eligible).
    """
    counted = Counter(reasons)
    parts = sorted(f"{n} {reason}" for reason, n in counted.items())
    message = f"0/{total} nodes are available: {', '.join(parts)}."
    if isinstance(preemption, str):
        return f"{message} preemption: {preemption}" if preemption else message
    if preemption is not None:
        tail = sorted(f"{n} {reason}" for reason, n in Counter(preemption).items())
        message += f" preemption: 0/{total} nodes are available: {', '.join(tail)}."
    return message


def reconcile(store: Store, rng) -> None:
    """Bind every unscheduled pod (in priority, then creation order) to a node, or mark it unschedulable."""
    snapshot = Snapshot.of(store)
    pending = [p for p in store.list("Pod") if not p.node_name and not p.deletion_timestamp
               and p.spec.get("schedulerName", COMPONENT) == COMPONENT]
    pending.sort(key=lambda p: (-priority(p), p.creation_timestamp, p.namespace, p.name))
    for pod in pending:
        current = store.try_get("Pod", pod.name, pod.namespace)
        if current is None or current.node_name:
            continue
        if current.spec.get("schedulingGates"):
            _gated(store, current)  # type: ignore[arg-type]
        else:
            _schedule_one(store, rng, current, snapshot)  # type: ignore[arg-type]


def _gated(store: Store, pod: Pod) -> None:
    """A gated pod is not scheduled; it shows PodScheduled False, reason SchedulingGated."""
    current = pod.condition("PodScheduled")
    if current is not None and current.reason == "SchedulingGated":
        return
    condition = {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated", "message": GATED,
                 "lastProbeTime": None, "lastTransitionTime": store.now()}
    store.update(pod.evolve(lambda d: d.setdefault("status", {}).__setitem__("conditions", [condition])))


def _feasible(filters: Filters) -> tuple[list[NodeInfo], dict[str, list[str]]]:
    """findNodesThatFitPod: the nominated node alone when it fits, else every node that passes the filters."""
    snapshot = filters.snapshot
    nominated = filters.pod.status.get("nominatedNodeName")
    if nominated in snapshot.infos and not filters.run(snapshot.infos[nominated]):
        return [snapshot.infos[nominated]], {}
    feasible, statuses = [], {}
    for info in snapshot.nodes():
        why = filters.run(info)
        if why:
            statuses[info.name] = why
        else:
            feasible.append(info)
    return feasible, statuses


def _schedule_one(store: Store, rng, pod: Pod, snapshot: Snapshot) -> None:
    nominated = nominated_pods(store, pod)
    feasible, statuses = _feasible(Filters(store, pod, snapshot, nominated))
    if not feasible:
        _unschedulable(store, pod, snapshot, statuses, nominated)
        return
    if len(feasible) == 1:
        chosen = feasible[0].name
    else:
        chosen = scheduler_score.select_host(scheduler_score.total_scores(pod, feasible, snapshot), rng)

    def bind(d: dict) -> None:
        d["spec"]["nodeName"] = chosen
        d.get("status", {}).pop("nominatedNodeName", None)
        d.setdefault("status", {})["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": store.now()}]

    volumes.select_node(store, pod, chosen)              # VolumeBinding's PreBind
    bound = store.update(pod.evolve(bind))
    snapshot.infos[chosen].add(bound)                    # assumed in the cache for the pods after it
    store.record_event(pod, "Normal", "Scheduled",
                       f"Successfully assigned {pod.namespace}/{pod.name} to {chosen}", COMPONENT)


def _unschedulable(store: Store, pod: Pod, snapshot: Snapshot, statuses: dict[str, list[str]],
                   waiting: dict[str, list[Pod]]) -> None:
    """PostFilter, then handleSchedulingFailure: the PodScheduled condition, the event, the nomination."""
    total = len(snapshot.infos)
    if not total:
        message = "no nodes available to schedule pods"
        nominated = ""
    else:
        nominated, tail = scheduler_preempt.preempt(
            store, pod, snapshot, statuses, lambda snap, info: Filters(store, pod, snap, waiting).run(info))
        if nominated:
            snapshot.reload(store, nominated)          # the cache sees its victims terminating
        problem = volumes.pod_volume_problem(store, pod)
        if problem:
            message = f"0/{total} nodes are available: {problem}. preemption: " \
                      f"0/{total} nodes are available: {total} {NOT_HELPFUL}."
        else:
            reasons = [r for info in snapshot.nodes() for r in statuses.get(info.name, [])]
            message = failure_message(total, reasons, tail if tail else None)
    pod = store.get("Pod", pod.name, pod.namespace)  # type: ignore[assignment]
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                 "lastProbeTime": None, "lastTransitionTime": store.now()}
    current = pod.condition("PodScheduled")

    def change(d: dict) -> None:
        status = d.setdefault("status", {})
        status["conditions"] = [condition]
        if nominated:
            status["nominatedNodeName"] = nominated

    if current is None or current.message != message or nominated:
        store.update(pod.evolve(change))
        store.record_event(pod, "Warning", "FailedScheduling", message, COMPONENT)
