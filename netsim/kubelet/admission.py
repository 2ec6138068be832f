"""The kubelet's pod admission: whether a pod bound to this node may run here, decided in pure functions.

A pod the scheduler placed has passed these checks already; a pod created
with spec.nodeName set skips the scheduler, so the kubelet's own admit
handlers (kubelet.canAdmitPod, in the order NewMainKubelet adds them) are
all that stands between it and the node:

- the eviction manager's (eviction_manager.go Admit): while the node has a
  pressure condition, critical pods (static, mirror, or priority at least
  system-critical) are admitted; under MemoryPressure alone a pod that is
  not BestEffort, or that tolerates the memory-pressure NoSchedule taint, is
  admitted; every other pod is refused with reason Evicted and
  "The node had condition: [MemoryPressure]. ". netsim's eviction manager
  has the memory signal only, so MemoryPressure is the one condition;
- the resource-fit predicate (lifecycle/predicate.go, noderesources
  fitsRequest): one more pod than allocatable `pods`, or requests above
  allocatable less what the admitted pods request, refuses the pod with
  reason OutOf<resource> (the first insufficient one: pods, cpu, memory,
  ephemeral-storage, then other resources by name) and InsufficientResourceError's
  message. A resource the Node does not list in allocatable is not checked
  (the kubelet always lists cpu, memory, ephemeral-storage and pods); the
  other predicates (host ports, node affinity, taints) are not emulated.

A refused pod is written as rejectPod does (pods.py): phase Failed, the
reason, "Pod was rejected: " + the message, and a Warning event with the
reason and the message.
"""

from __future__ import annotations

from collections.abc import Iterable

from netsim.api.objects import Node, Pod
from netsim.controllers.nodelifecycle import tolerates_one
from netsim.controllers.scheduler_snapshot import amount, pod_requests

EVICTED = "Evicted"                                        # eviction.Reason
SYSTEM_CRITICAL_PRIORITY = 2_000_000_000                   # scheduling.SystemCriticalPriority
MEMORY_PRESSURE_TAINT = "node.kubernetes.io/memory-pressure"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SOURCE_ANNOTATION = "kubernetes.io/config.source"
FIT_ORDER = ("pods", "cpu", "memory", "ephemeral-storage")   # fitsRequest checks these first, in this order


def is_critical(pod: Pod) -> bool:
    """kubelettypes.IsCriticalPod: a static pod, a mirror pod, or one with at least system-critical priority."""
    source = pod.annotations.get(SOURCE_ANNOTATION)
    if (source is not None and source != "api") or MIRROR_ANNOTATION in pod.annotations:
        return True
    return int(pod.spec.get("priority", 0) or 0) >= SYSTEM_CRITICAL_PRIORITY


def eviction_admit(pod: Pod, conditions: tuple[str, ...]) -> tuple[str, str] | None:
    """(reason, message) when the eviction manager refuses `pod` under the node's pressure `conditions`, else None."""
    if not conditions or is_critical(pod):
        return None
    if conditions == ("MemoryPressure",):
        if pod.status.get("qosClass") != "BestEffort":
            return None
        if any(tolerates_one(t, MEMORY_PRESSURE_TAINT, "", "NoSchedule") for t in pod.spec.get("tolerations") or []):
            return None
    return EVICTED, f"The node had condition: [{' '.join(conditions)}]. "


def resource_admit(pod: Pod, node: Node, admitted: Iterable[Pod]) -> tuple[str, str] | None:
    """(reason, message) when `pod` does not fit `node` beside the `admitted` pods (the predicate admit
    handler's InsufficientResourceError), else None."""
    others = list(admitted)
    allocatable = node.allocatable
    requests = pod_requests(pod)
    used: dict[str, int] = {}
    for other in others:
        for name, value in pod_requests(other).items():
            used[name] = used.get(name, 0) + value
    wanted = [("pods", 1, len(others))] if "pods" in allocatable else []
    if any(requests.values()):
        names = [n for n in FIT_ORDER[1:] if n in requests] + sorted(n for n in requests if n not in FIT_ORDER)
        wanted += [(n, requests[n], used.get(n, 0)) for n in names if requests[n] > 0 and n in allocatable]
    for name, requested, in_use in wanted:
        capacity = amount(name, allocatable[name])
        if (name == "pods" and in_use + 1 > capacity) or (name != "pods" and requested > capacity - in_use):
            return (f"OutOf{name}", f"Node didn't have enough resource: {name}, requested: {requested}, "
                                    f"used: {in_use}, capacity: {capacity}")
    return None
