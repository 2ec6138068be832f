"""The node lifecycle controller and its taint-based eviction, on the simulated clock.

As kube-controller-manager's nodelifecycle controller (v1.31 defaults): a
node whose kubelet stops posting status is noticed `node-monitor-grace-period`
(40s) after its last heartbeat; its conditions turn Unknown ("Kubelet stopped
posting node status."), it gets the `node.kubernetes.io/unreachable` taints
(NoSchedule and NoExecute, with timeAdded), and its pods are marked not ready
(MarkPodsNotReady, with a NodeNotReady event on each). When the kubelet posts
again the node is Ready and the taints go.

TaintNodesByCondition (doNoScheduleTaintingPass): a node whose
MemoryPressure, DiskPressure, PIDPressure or NetworkUnavailable condition
is True gets the matching `node.kubernetes.io/...` NoSchedule taint, and
loses it when the condition is no longer True (the kubelet posts
MemoryPressure: kubelet/pods.py). Only DaemonSet pods tolerate these taints
by default: the PodTolerationRestriction admission plugin, which gives
non-BestEffort pods the memory-pressure toleration, is not among
kube-apiserver's default plugins.

The controller's pod status writes stop there: no current component sets a
pod's status.reason NodeLost (NodeUnreachablePodReason) or phase Unknown.
SetPodTerminationReason (pkg/controller/util/node/controller_utils.go) was
called only from DeletePods, the pre-taint-eviction path of this controller,
which is gone; PodUnknown is marked "Deprecated: It isn't being set since
2015" in the API types. kubectl still prints both as STATUS Unknown
(cli/tables.py), so a dump carrying them shows as it did.

The taint eviction controller deletes a pod on a node with a NoExecute taint
it does not tolerate at once, and one it tolerates for `tolerationSeconds`
(DefaultTolerationSeconds gives every pod 300s for not-ready and unreachable)
when that time has passed since the taint was added; tolerations without
tolerationSeconds (DaemonSet pods) keep the pod. A pod deleted on a node that
is down stays Terminating: no kubelet is there to finish it.

`NodeHealth` is the world outside the API: which machines are up. The
kubelet's heartbeat itself is not written to the store every 10s (that would
only churn resourceVersions); the controller reads the heartbeat's time from
`NodeHealth`, as it reads the node's Lease.
"""

from __future__ import annotations

import math

from netsim.api.objects import Node, Pod
from netsim.api.store import Store
from netsim.controllers.scheduler import tolerates
from netsim.controllers.workloads import add_disruption_target

COMPONENT = "node-controller"
EVICTION_COMPONENT = "taint-eviction-controller"
NODE_MONITOR_GRACE = 40.0
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
# nodeConditionToTaintKeyStatusMap, its NoSchedule rows other than Ready's (those come with the unreachable taints)
CONDITION_TAINTS = (
    ("MemoryPressure", "True", "node.kubernetes.io/memory-pressure"),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
    ("NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"),
)
# what a kubelet that posts again writes for the pressures netsim never has (setters.go), with its event
KUBELET_POSTS = {
    "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure", "NodeHasNoDiskPressure"),
    "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available", "NodeHasSufficientPID"),
}


class NodeHealth:
    """Which machines are up: the failure time of each failed node."""

    def __init__(self) -> None:
        self.failed: dict[str, float] = {}

    def fail(self, name: str, now: float) -> None:
        """The machine `name` stops at `now` (a second failure keeps the first time)."""
        self.failed.setdefault(name, now)

    def recover(self, name: str, now: float) -> None:
        """The machine `name` is back."""
        self.failed.pop(name, None)

    def up(self, name: str) -> bool:
        """True while the machine's kubelet runs."""
        return name not in self.failed


def reconcile(store: Store, now: float, health: NodeHealth) -> float:
    """One pass over the nodes and their pods; returns when the next change is due (inf: none)."""
    due = math.inf
    stamp = store.now()
    for node in store.list("Node"):
        failed_at = health.failed.get(node.name)
        ready = node.condition("Ready")
        if failed_at is None:
            if ready is None or ready.status != "True" or _has_unreachable(node):
                _mark_ready(store, node, stamp)  # type: ignore[arg-type]
        elif now >= failed_at + NODE_MONITOR_GRACE:
            if ready is None or ready.status != "Unknown":
                _mark_unknown(store, node, stamp)  # type: ignore[arg-type]
        else:
            due = min(due, failed_at + NODE_MONITOR_GRACE)
    for node in store.list("Node"):
        _taint_by_condition(store, node, stamp)  # type: ignore[arg-type]
    for node in store.list("Node"):
        due = min(due, _evict(store, node, now))  # type: ignore[arg-type]
    return due


def _taint_by_condition(store: Store, node: Node, stamp: str) -> None:
    """doNoScheduleTaintingPass: the NoSchedule taints the node's conditions call for, and no others of those keys."""
    keys = {key for _, _, key in CONDITION_TAINTS}
    want = [key for type_, status, key in CONDITION_TAINTS
            if (cond := node.condition(type_)) is not None and cond.status == status]
    have = [t.key for t in node.taints if t.effect == "NoSchedule" and t.key in keys]
    if sorted(want) == sorted(have):
        return

    def change(d: dict) -> None:
        taints = [t for t in d["spec"].get("taints") or []
                  if not (t.get("effect") == "NoSchedule" and t.get("key") in keys and t.get("key") not in want)]
        taints += [{"key": key, "effect": "NoSchedule", "timeAdded": stamp} for key in want if key not in have]
        if taints:
            d["spec"]["taints"] = taints
        else:
            d["spec"].pop("taints", None)

    store.update(node.evolve(change))


def _has_unreachable(node: Node) -> bool:
    return any(t.key == UNREACHABLE for t in node.taints)


def _mark_ready(store: Store, node: Node, stamp: str) -> None:
    def change(d: dict) -> None:
        conditions = d.setdefault("status", {}).setdefault("conditions", [])
        for cond in conditions:
            if cond.get("type") == "Ready":
                if cond.get("status") != "True":
                    cond["lastTransitionTime"] = stamp
                cond.update(status="True", reason="KubeletReady", message="kubelet is posting ready status",
                            lastHeartbeatTime=stamp)
            elif cond.get("type") in KUBELET_POSTS and cond.get("status") != "False":
                reason, message, _ = KUBELET_POSTS[cond["type"]]
                cond.update(status="False", reason=reason, message=message, lastHeartbeatTime=stamp,
                            lastTransitionTime=stamp)
        taints = [t for t in d["spec"].get("taints") or [] if t.get("key") != UNREACHABLE]
        if taints:
            d["spec"]["taints"] = taints
        else:
            d["spec"].pop("taints", None)

    was_ready = node.ready
    reposted = [KUBELET_POSTS[c.type][2] for c in node.conditions if c.type in KUBELET_POSTS and c.status != "False"]
    store.update(node.evolve(change))
    for event in reposted:
        store.record_event(node, "Normal", event, f"Node {node.name} status is now: {event}", "kubelet", node.name)
    if not was_ready:
        store.record_event(node, "Normal", "NodeReady", f"Node {node.name} status is now: NodeReady", "kubelet",
                           node.name)


def _mark_unknown(store: Store, node: Node, stamp: str) -> None:
    def change(d: dict) -> None:
        for cond in d.setdefault("status", {}).setdefault("conditions", []):
            if cond.get("status") != "Unknown":
                cond["lastTransitionTime"] = stamp
            cond.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.")
        taints = [t for t in d["spec"].get("taints") or [] if t.get("key") != UNREACHABLE]
        taints += [{"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": stamp},
                   {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp}]
        d["spec"]["taints"] = taints

    node = store.update(node.evolve(change))  # type: ignore[assignment]
    store.record_event(node, "Normal", "NodeNotReady", f"Node {node.name} status is now: NodeNotReady", COMPONENT)
    for pod in store.list("Pod", where=lambda p: p.node_name == node.name):
        if pod.ready:
            def not_ready(d: dict) -> None:
                for cond in d["status"].get("conditions") or []:
                    if cond.get("type") == "Ready":
                        cond.update(status="False", lastTransitionTime=stamp)
            store.update(pod.evolve(not_ready))
            store.record_event(pod, "Warning", "NodeNotReady", "Node is not ready", COMPONENT)


def eviction_deadline(pod: Pod, node: Node) -> float | None:
    """When the taint eviction controller deletes `pod` from `node` (epoch seconds; None: never)."""
    from netsim.sim.clock import parse_rfc3339

    deadline = None
    for taint in node.taints:
        if taint.effect != "NoExecute":
            continue
        added = _time_added(node, taint.key)
        matching = [t for t in pod.spec.get("tolerations") or ()
                    if tolerates_one(t, taint.key, taint.value, "NoExecute")]
        if not matching:
            return parse_rfc3339(added) if added else 0.0
        seconds = [float(t["tolerationSeconds"]) for t in matching if t.get("tolerationSeconds") is not None]
        if len(seconds) < len(matching):
            continue   # tolerated for ever
        at = (parse_rfc3339(added) if added else 0.0) + max(0.0, min(seconds))
        deadline = at if deadline is None else min(deadline, at)
    return deadline


def tolerates_one(toleration: dict, key: str, value: str, effect: str) -> bool:
    """True when one toleration matches the taint (Toleration.ToleratesTaint)."""
    if toleration.get("effect") and toleration["effect"] != effect:
        return False
    operator = toleration.get("operator", "Equal")
    if not toleration.get("key"):
        return operator == "Exists"
    if toleration["key"] != key:
        return False
    return operator == "Exists" or toleration.get("value", "") == value


def _time_added(node: Node, key: str) -> str:
    for t in node.spec.get("taints") or []:
        if t.get("key") == key and t.get("effect") == "NoExecute":
            return t.get("timeAdded", "")
    return ""


def _evict(store: Store, node: Node, now: float) -> float:
    if not any(t.effect == "NoExecute" for t in node.taints):
        return math.inf
    due = math.inf
    for pod in store.list("Pod", where=lambda p: p.node_name == node.name and not p.deletion_timestamp):
        if pod.phase in ("Succeeded", "Failed"):
            continue
        deadline = eviction_deadline(pod, node)  # type: ignore[arg-type]
        if deadline is None:
            continue
        if now >= deadline:
            store.record_event(pod, "Normal", "TaintManagerEviction",
                               f"Marking for deletion Pod {pod.namespace}/{pod.name}", EVICTION_COMPONENT)
            add_disruption_target(store, pod, "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")  # type: ignore[arg-type]
            store.delete("Pod", pod.name, pod.namespace)
        else:
            due = min(due, deadline)
    return due


__all__ = ["NodeHealth", "reconcile", "eviction_deadline", "tolerates", "NOT_READY", "UNREACHABLE"]
