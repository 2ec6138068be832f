"""The pod garbage collector (PodGC), on the simulated clock.

As kube-controller-manager's podgc controller (pkg/controller/podgc/gc_controller.go,
v1.31): every `gcCheckPeriod` (20s, counted from the controller's start,
which is the cluster's) one pass lists the pods and nodes and runs, in this
order:

- gcTerminated: when more pods are terminated (phase neither Pending,
  Running nor Unknown) than `--terminated-pod-gc-threshold` (12500), the
  excess goes, evicted pods first, then oldest first, names breaking ties;
- gcTerminating: a pod with a deletionTimestamp on a node that is not Ready
  and carries the `node.kubernetes.io/out-of-service` taint (any effect) is
  force deleted (NodeOutOfServiceVolumeDetach, GA in v1.28) — the remedy for
  pods stuck Terminating on a machine that was shut down;
- gcOrphaned: a pod bound to a node the API no longer has puts that node
  name in quarantine for 40s (a delaying queue: adding again keeps the
  earlier time); a pass that finds the quarantine over and the node still
  absent deletes the node's pods;
- gcUnscheduledTerminating: a pod with a deletionTimestamp and no node.

Each deletion is markFailedAndDeletePodWithCondition: a pod not yet
Succeeded or Failed first gets phase Failed in one status write — with, for
an orphan only, the DisruptionTarget condition (reason DeletionByPodGC,
message "PodGC: node no longer exists") — then it is deleted with grace
period 0. The other paths add no condition. PodGC records no events.

Between its ticks the controller has nothing to do unless one of those pods
exists; it asks to be woken at its next tick only then, so a cluster
without such pods sees no extra wake-ups (ticks that would find nothing
change nothing).
"""

from __future__ import annotations

import math

from netsim.api.objects import Node, Pod
from netsim.api.store import Store
from netsim.sim.clock import parse_rfc3339

GC_CHECK_PERIOD = 20.0                 # gcCheckPeriod
QUARANTINE = 40.0                      # quarantineTime: how long a missing node may still show up
TERMINATED_POD_GC_THRESHOLD = 12500    # --terminated-pod-gc-threshold default (PodGCControllerConfiguration)
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"   # v1.TaintNodeOutOfService
ORPHAN_REASON = "DeletionByPodGC"
ORPHAN_MESSAGE = "PodGC: node no longer exists"
_EPS = 1e-6


class PodGC:
    """The PodGC controller's state: its start (the tick grid), the last tick run and the quarantined node names."""

    __slots__ = ("start", "threshold", "_last_tick", "_quarantine")

    def __init__(self, start: float, threshold: int = TERMINATED_POD_GC_THRESHOLD) -> None:
        self.start = start
        self.threshold = threshold
        self._last_tick: float | None = None
        self._quarantine: dict[str, float] = {}   # node name -> when it leaves quarantine (the delaying queue)

    def next_tick(self, now: float) -> float:
        """The first tick of the controller's period at or after `now` (wait.Until from the controller's start)."""
        k = math.ceil((now - self.start) / GC_CHECK_PERIOD - _EPS)
        return self.start + max(k, 0) * GC_CHECK_PERIOD

    def reconcile(self, store: Store, now: float) -> float:
        """Run the pass due at `now` (once per tick); returns the next tick when a pass would find work (inf: none)."""
        tick = self.next_tick(now)
        if abs(tick - now) <= _EPS and self._last_tick != tick:
            self._last_tick = tick
            self.gc(store, now)
        if self._last_tick is not None and abs(tick - self._last_tick) <= _EPS:
            tick += GC_CHECK_PERIOD
        return tick if self._pending(store) else math.inf

    def gc(self, store: Store, now: float) -> None:
        """One pass of the four collectors over one listing of pods and nodes, in the controller's order."""
        pods: list[Pod] = store.list("Pod")  # type: ignore[assignment]
        nodes: dict[str, Node] = {n.name: n for n in store.list("Node")}  # type: ignore[misc]
        if self.threshold > 0:
            self._gc_terminated(store, pods)
        _gc_terminating(store, pods, nodes)
        self._gc_orphaned(store, pods, nodes, now)
        for pod in pods:   # gcUnscheduledTerminating
            if pod.deletion_timestamp and not pod.node_name:
                mark_failed_and_delete(store, pod)

    def _gc_terminated(self, store: Store, pods: list[Pod]) -> None:
        terminated = [p for p in pods if is_terminated(p)]
        excess = len(terminated) - self.threshold
        if excess <= 0:
            return
        for pod in sorted(terminated, key=eviction_and_creation_order)[:excess]:
            mark_failed_and_delete(store, pod)

    def _gc_orphaned(self, store: Store, pods: list[Pod], nodes: dict[str, Node], now: float) -> None:
        for pod in pods:
            if pod.node_name and pod.node_name not in nodes:
                self._quarantine.setdefault(pod.node_name, now + QUARANTINE)   # AddAfter keeps the earlier time
        deleted = set()
        for name, ready in sorted(self._quarantine.items()):
            if ready <= now + _EPS:
                del self._quarantine[name]
                if name not in nodes and store.try_get("Node", name) is None:   # checkIfNodeExists
                    deleted.add(name)
        for pod in pods:
            if pod.node_name in deleted:
                mark_failed_and_delete(store, pod, (ORPHAN_REASON, ORPHAN_MESSAGE))

    def _pending(self, store: Store) -> bool:
        """True when the next pass could delete something (so the controller needs its next tick)."""
        if self._quarantine:
            return True
        nodes = {n.name: n for n in store.list("Node")}
        terminated = 0
        for pod in store.list("Pod"):
            node = nodes.get(pod.node_name)  # type: ignore[attr-defined]
            if pod.node_name and node is None:  # type: ignore[attr-defined]
                return True
            if pod.deletion_timestamp and (node is None or out_of_service(node)):  # type: ignore[arg-type]
                return True
            terminated += is_terminated(pod)  # type: ignore[arg-type]
        return 0 < self.threshold < terminated


def _gc_terminating(store: Store, pods: list[Pod], nodes: dict[str, Node]) -> None:
    """gcTerminating: terminating pods on not-Ready nodes with the out-of-service taint, oldest first."""
    doomed = [p for p in pods if p.deletion_timestamp and (node := nodes.get(p.node_name)) is not None
              and out_of_service(node)]
    for pod in sorted(doomed, key=eviction_and_creation_order):
        mark_failed_and_delete(store, pod)


def out_of_service(node: Node) -> bool:
    """Not Ready (nodeutil.IsNodeReady false) and tainted `node.kubernetes.io/out-of-service` (TaintKeyExists)."""
    return not node.ready and any(t.key == OUT_OF_SERVICE for t in node.taints)


def is_terminated(pod: Pod) -> bool:
    """isPodTerminated: the phase is none of Pending, Running, Unknown."""
    return pod.phase not in ("Pending", "Running", "Unknown")


def eviction_and_creation_order(pod: Pod) -> tuple:
    """byEvictionAndCreationTimestamp: evicted pods (Failed, reason Evicted) first, then oldest, then by name."""
    evicted = pod.phase == "Failed" and pod.status.get("reason") == "Evicted"
    created = pod.metadata.get("creationTimestamp")
    return (not evicted, parse_rfc3339(created) if created else 0.0, pod.name)


def mark_failed_and_delete(store: Store, pod: Pod, condition: tuple[str, str] | None = None) -> None:
    """markFailedAndDeletePodWithCondition: phase Failed (and the DisruptionTarget condition, if given) in one
    status write unless the pod already finished, then a delete with grace period 0. A pod already gone
    (an earlier collector of the same pass took it) is skipped, as the controller ignores NotFound."""
    current = store.try_get("Pod", pod.name, pod.namespace)
    if current is None or current.uid != pod.uid:
        return
    if current.phase not in ("Succeeded", "Failed"):
        stamp = store.now()

        def fail(d: dict) -> None:
            status = d.setdefault("status", {})
            status["phase"] = "Failed"
            if condition is not None:
                _update_condition(status, condition, stamp)

        current = store.update(current.evolve(fail))  # type: ignore[assignment]
        if current is None:
            return
    store.delete("Pod", pod.name, pod.namespace, grace_period=0)


def _update_condition(status: dict, condition: tuple[str, str], stamp: str) -> None:
    """apipod.UpdatePodCondition with a True DisruptionTarget: the transition time stays when the status does."""
    reason, message = condition
    new = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp,
           "reason": reason, "message": message}
    conditions = list(status.get("conditions") or [])
    for i, old in enumerate(conditions):
        if old.get("type") == "DisruptionTarget":
            if old.get("status") == "True":
                new["lastTransitionTime"] = old.get("lastTransitionTime", stamp)
            conditions[i] = new
            break
    else:
        conditions.append(new)
    status["conditions"] = conditions


__all__ = ["PodGC", "mark_failed_and_delete", "out_of_service", "is_terminated", "GC_CHECK_PERIOD", "QUARANTINE",
           "TERMINATED_POD_GC_THRESHOLD", "OUT_OF_SERVICE"]
