"""The scheduler cache's snapshot: every node with the pods on it and what they request.

kube-scheduler filters and scores against a snapshot of its cache taken at the start of
each scheduling cycle (`framework.NodeInfo` per node). A pod is on a node once it is
bound (or assumed, in the same pass); pods in phase Succeeded or Failed are not (the
scheduler's pod informer excludes them), terminating pods are. Requests are summed as
`resourcehelper.PodRequests` does (containers, then the largest init container with the
sidecars started before it, plus overhead), once as requested and once with the scoring
defaults for containers that request no cpu or memory (`NonZeroRequested`). Pod-level
resources (spec.resources) are not emulated: such a pod raises NotImplementedFeature.

Quantities are integers in the units the scheduler uses: millicores for cpu, whole units
(bytes, counts) for everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netsim.api.objects import Node, Pod, Resource
from netsim.api.quantity import Quantity
from netsim.errors import NotImplementedFeature

# schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: what scoring counts for a container without requests.
NONZERO_DEFAULTS = {"cpu": 100, "memory": 200 * 1024 * 1024}
TERMINAL = ("Succeeded", "Failed")


def amount(name: str, value: str | int | float) -> int:
    """A quantity in the scheduler's unit for the resource: MilliValue for cpu, Value otherwise."""
    q = Quantity.parse(value)
    return q.milli_value() if name == "cpu" else q.value()


def _add(total: dict[str, int], more: Mapping[str, int]) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value


def _container_requests(container: Mapping, nonzero: bool) -> dict[str, int]:
    requests = {name: amount(name, value)
                for name, value in ((container.get("resources") or {}).get("requests") or {}).items()}
    if nonzero:
        for name, default in NONZERO_DEFAULTS.items():
            requests.setdefault(name, default)        # applyNonMissing: only a missing request is defaulted
    return requests


def pod_requests(pod: Pod, nonzero: bool = False) -> dict[str, int]:
    """The pod's effective requests (resourcehelper.PodRequests); `nonzero` applies the scoring defaults."""
    if pod.spec.get("resources"):
        raise NotImplementedFeature(f"Pod {pod.namespace}/{pod.name}: spec.resources (pod-level resources) "
                                    "is not emulated by the scheduler")
    total: dict[str, int] = {}
    for c in pod.spec.get("containers") or ():
        _add(total, _container_requests(c, nonzero))
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for c in pod.spec.get("initContainers") or ():
        mine = _container_requests(c, nonzero)
        if c.get("restartPolicy") == "Always":       # a sidecar runs beside the app containers
            _add(total, mine)
            _add(sidecars, mine)
            mine = dict(sidecars)
        else:
            _add(mine, sidecars)
        for name, value in mine.items():
            init_peak[name] = max(init_peak.get(name, 0), value)
    for name, value in init_peak.items():
        total[name] = max(total.get(name, 0), value)
    _add(total, {name: amount(name, value) for name, value in (pod.spec.get("overhead") or {}).items()})
    return total


def start_time(pod: Pod, now: str) -> str:
    """status.startTime, or now for a pod not started yet (util.GetPodStartTime)."""
    return pod.status.get("startTime") or now


class NodeInfo:
    """One node in the snapshot: the Node, its pods, and the sums of their requests (framework.NodeInfo).

    Mutable only through add/remove, which keep the sums equal to the pods'; preemption's
    dry run works on a clone.
    """

    __slots__ = ("node", "pods", "requested", "nonzero")

    def __init__(self, node: Node, pods: Iterable[Pod] = ()) -> None:
        self.node = node
        self.pods: list[Pod] = []
        self.requested: dict[str, int] = {}
        self.nonzero: dict[str, int] = {}
        for pod in pods:
            self.add(pod)

    @property
    def name(self) -> str:
        """The node's name."""
        return self.node.name

    def add(self, pod: Pod) -> None:
        """Count a pod bound (or assumed) to this node."""
        self.pods.append(pod)
        _add(self.requested, pod_requests(pod))
        _add(self.nonzero, pod_requests(pod, nonzero=True))

    def remove(self, pod: Pod) -> None:
        """Forget a pod (preemption's dry run removes its potential victims)."""
        self.pods = [p for p in self.pods if p.key != pod.key]
        for name, value in pod_requests(pod).items():
            self.requested[name] -= value
        for name, value in pod_requests(pod, nonzero=True).items():
            self.nonzero[name] -= value

    def clone(self) -> NodeInfo:
        """An independent copy (the same Node and Pod objects, its own lists and sums)."""
        copy = NodeInfo.__new__(NodeInfo)
        copy.node, copy.pods = self.node, list(self.pods)
        copy.requested, copy.nonzero = dict(self.requested), dict(self.nonzero)
        return copy

    def allocatable(self, name: str) -> int:
        """status.allocatable of a resource in the scheduler's unit (0 when the node reports none)."""
        value = self.node.allocatable.get(name)
        return amount(name, value) if value is not None else 0


class Snapshot:
    """The nodes (in the store's order) with their pods, plus the objects the plugins look up:
    namespaces' labels (affinity namespaceSelector) and the Services, ReplicaSets and StatefulSets
    that give PodTopologySpread its default selector."""

    __slots__ = ("infos", "namespace_labels", "services", "replicasets", "statefulsets", "now")

    def __init__(self, infos: dict[str, NodeInfo], namespace_labels: Mapping[str, Mapping[str, str]],
                 services: list[Resource], replicasets: list[Resource], statefulsets: list[Resource],
                 now: str) -> None:
        self.infos = infos
        self.namespace_labels = namespace_labels
        self.services, self.replicasets, self.statefulsets = services, replicasets, statefulsets
        self.now = now

    @classmethod
    def of(cls, store) -> Snapshot:
        """The snapshot of the store's current state."""
        infos = {n.name: NodeInfo(n) for n in store.list("Node")}
        for pod in store.list("Pod"):
            if pod.node_name in infos and pod.phase not in TERMINAL:
                infos[pod.node_name].add(pod)
        return cls(infos, {ns.name: dict(ns.labels) for ns in store.list("Namespace")},
                   store.list("Service"), store.list("ReplicaSet"), store.list("StatefulSet"), store.now())

    def reload(self, store, name: str) -> None:
        """Read one node's pods again (after preemption marked its victims terminating)."""
        info = self.infos[name]
        self.infos[name] = NodeInfo(info.node, store.list("Pod", where=lambda p: p.node_name == name
                                                          and p.phase not in TERMINAL))

    def with_node(self, info: NodeInfo) -> Snapshot:
        """The same snapshot with one node's NodeInfo replaced (preemption's dry run on that node)."""
        infos = dict(self.infos)
        infos[info.name] = info
        return Snapshot(infos, self.namespace_labels, self.services, self.replicasets, self.statefulsets, self.now)

    def nodes(self) -> list[NodeInfo]:
        """Every NodeInfo, in node-name order."""
        return list(self.infos.values())

    def placed(self) -> list[tuple[Pod, Node]]:
        """Every pod on a node with that node."""
        return [(p, info.node) for info in self.infos.values() for p in info.pods]
