"""The DaemonSet controller: one pod on every node that should run it, placed through the scheduler.

As kube-controller-manager's daemon controller: a node should run the
daemon when the template's nodeSelector and required node affinity match it
and its NoSchedule/NoExecute taints are tolerated, counting the tolerations
the controller adds to every daemon pod (util.AddOrUpdateDaemonPodTolerations:
not-ready and unreachable NoExecute without tolerationSeconds, the pressure
and unschedulable NoSchedule ones, network-unavailable with hostNetwork).
Each pod (generateName `<set>-`) gets required node affinity on
`metadata.name` for its node (ReplaceDaemonSetPodNodeNameNodeAffinity) and
the default scheduler binds it. A new node gets a pod; a pod on a node that
should no longer run one, or a surplus or failed one, is deleted. A node
that fails keeps its daemon pod (tolerated unreachable) and no pod appears
elsewhere. RollingUpdate (rolling_update.go) replaces pods whose
`controller-revision-hash` (or template generation) is old, node by node:
without maxSurge an old pod is deleted while fewer than maxUnavailable
(default 1, percentages rounded up) nodes are unavailable, and an
unavailable old pod is replaced at once; with maxSurge a new pod starts next
to the old one on up to maxSurge nodes at a time and the old pod goes once
the new one is available. A pod counts as available minReadySeconds after it
became Ready (status.numberAvailable too).

Pods are created in slow-start batches (syncNodes: 1, 2, 4, ...); a refused
create is a Warning FailedCreate (`Error creating: <error>`), stops the
batches and the rolling update (the status is still written), and the set is
retried with the rate limiter (workloads.RetryQueue), creating nothing until then.
"""

from __future__ import annotations

import copy
import math

from netsim.api.errors import Forbidden
from netsim.api.objects import DaemonSet, Node, Pod
from netsim.api.store import Store
from netsim.controllers.scheduler import node_affinity_matches
from netsim.controllers.workloads import (RetryQueue, available_at, controller_ref, create_pod, is_available,
                                          is_owned_by, namespace_terminating, pod_template_hash, slow_start_batch)

COMPONENT = "daemonset-controller"
REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"

# util.AddOrUpdateDaemonPodTolerations: (key, effect); the network one only with hostNetwork.
DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
NETWORK_UNAVAILABLE = ("node.kubernetes.io/network-unavailable", "NoSchedule")


def reconcile(store: Store, retries: RetryQueue) -> float:
    """One pass over every DaemonSet; returns when it next has work (a pod becoming available, a retry)."""
    due = math.inf
    now = store.clock()
    for ds in store.list("DaemonSet"):
        if ds.deletion_timestamp:
            continue
        key = (COMPONENT, ds.uid)
        waiting = retries.waiting(key, now)
        failure: list[Forbidden] = []
        due = min(due, _sync(store, ds, waiting is None, failure))  # type: ignore[arg-type]
        due = min(due, retries.done(key, now, bool(failure), waiting))
    return due


def daemon_spec(ds: DaemonSet) -> dict:
    """The template's pod spec with the daemon tolerations added."""
    spec = copy.deepcopy(ds.template.get("spec") or {})
    tolerations = list(spec.get("tolerations") or [])
    wanted = list(DAEMON_TOLERATIONS) + ([NETWORK_UNAVAILABLE] if spec.get("hostNetwork") else [])
    for key, effect in wanted:
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    spec["tolerations"] = tolerations
    return spec


def should_run(ds: DaemonSet, node: Node) -> tuple[bool, bool]:
    """(should run, should continue running) on `node`, as nodeShouldRunDaemonPod decides.

    A node whose NoSchedule taints are not tolerated gets no new pod, but a pod
    already there stays unless a NoExecute taint is untolerated.
    """
    from netsim.api.objects import Pod as PodObject
    from netsim.controllers.nodelifecycle import tolerates_one

    probe = PodObject({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"}, "spec": daemon_spec(ds)})
    if not node_affinity_matches(probe, node):
        return False, False
    tolerations = probe.spec.get("tolerations") or []

    def tolerated(effects: tuple[str, ...]) -> bool:
        return all(any(tolerates_one(t, taint.key, taint.value, taint.effect) for t in tolerations)
                   for taint in node.taints if taint.effect in effects)

    if tolerated(("NoSchedule", "NoExecute")):
        return True, True
    return False, tolerated(("NoExecute",))


def _pod_node(pod: Pod) -> str:
    if pod.node_name:
        return pod.node_name
    terms = ((((pod.spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return field["values"][0]
    return ""


def _sync(store: Store, ds: DaemonSet, may_create: bool, failure: list[Forbidden]) -> float:
    """One sync; pods are created only when `may_create`, and a refused create goes into `failure`."""
    revision = pod_template_hash(ds.template)
    now = store.clock()
    pods: dict[str, list[Pod]] = {}
    for pod in store.list("Pod", ds.namespace):
        if is_owned_by(pod, ds):
            pods.setdefault(_pod_node(pod), []).append(pod)  # type: ignore[arg-type]
    nodes = store.list("Node")
    verdicts = {n.name: should_run(ds, n) for n in nodes}  # type: ignore[arg-type]
    wanted = {name for name, (run, _) in verdicts.items() if run}
    needing: list[str] = []
    for node in nodes:
        mine = [p for p in pods.get(node.name, []) if not p.deletion_timestamp]
        if node.name not in wanted and verdicts[node.name][1]:
            continue   # shouldContinueRunning: the pod there stays, no new one
        if node.name in wanted:
            failed = [p for p in mine if p.phase == "Failed"]
            for pod in failed:
                _delete(store, ds, pod)
            alive = sorted((p for p in mine if p.phase != "Failed"), key=lambda p: (p.creation_timestamp, p.name))
            if not alive and not [p for p in pods.get(node.name, []) if p.deletion_timestamp]:
                needing.append(node.name)
            for extra in _excess(ds, alive, revision, now):
                _delete(store, ds, extra)
        else:
            for pod in mine:
                _delete(store, ds, pod)
    for name, group in pods.items():
        if name not in {n.name for n in nodes}:
            for pod in group:
                if not pod.deletion_timestamp:
                    _delete(store, ds, pod)
    if may_create and _create_on(store, ds, needing, revision, failure):
        _roll(store, ds, revision, wanted, verdicts, now, failure)
    return _write_status(store, ds, revision, wanted, now)


def _create_on(store: Store, ds: DaemonSet, nodes: list[str], revision: str, failure: list[Forbidden]) -> bool:
    """syncNodes' creates: slow-start batches over `nodes`; False (the error in `failure`) when one is refused."""
    queue = iter(nodes)
    _, error = slow_start_batch(len(nodes), lambda: _create(store, ds, next(queue), revision))
    if error is not None:
        failure.append(error)
    return error is None


def _min_ready(ds: DaemonSet) -> int:
    return int(ds.spec.get("minReadySeconds", 0) or 0)


def is_updated(ds: DaemonSet, pod: Pod, revision: str) -> bool:
    """util.IsPodUpdated: the pod carries the template's hash or its template generation."""
    return pod.labels.get(REVISION_LABEL) == revision or pod.labels.get(GENERATION_LABEL) == str(ds.generation)


def surge_and_unavailable(ds: DaemonSet, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as pod counts, percentages rounded up (SurgeCount, UnavailableCount).

    Both zero falls back to one unavailable (updatedDesiredNodeCounts).
    """
    strategy = ds.spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 0
    rolling = strategy.get("rollingUpdate") or {}

    def count(raw, default: int) -> int:
        text = str(raw if raw is not None else default)
        return math.ceil(int(text[:-1]) * desired / 100) if text.endswith("%") else int(text)

    surge, unavailable = count(rolling.get("maxSurge"), 0), count(rolling.get("maxUnavailable"), 1)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _excess(ds: DaemonSet, alive: list, revision: str, now: float) -> list:
    """podsShouldBeOnNode: the extra pods on a node to delete.

    Without surge every pod but the oldest; with maxSurge one old and one new
    pod may share the node until the new one is available (or the old one is
    no longer Ready).
    """
    if len(alive) <= 1:
        return []
    if surge_and_unavailable(ds, 1)[0] == 0:      # util.AllowsSurge
        return alive[1:]
    doomed, newest, oldest = [], None, None
    for pod in alive:
        if pod.labels.get(REVISION_LABEL) == revision:
            if newest is None:
                newest = pod
                continue
        elif oldest is None:
            oldest = pod
            continue
        doomed.append(pod)
    if newest is not None and oldest is not None and (
            not oldest.ready or is_available(newest, _min_ready(ds), now)):
        doomed.append(oldest)
    return doomed


def _roll(store: Store, ds: DaemonSet, revision: str, wanted: set[str], verdicts: dict, now: float,
          failure: list[Forbidden]) -> None:
    """rollingUpdate: replace old pods node by node within maxUnavailable, or surge new ones within maxSurge."""
    strategy = ds.spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return
    surge, unavailable_budget = surge_and_unavailable(ds, len(wanted))
    min_ready = _min_ready(ds)
    by_node: dict[str, list] = {}
    for pod in store.list("Pod", ds.namespace):
        if is_owned_by(pod, ds):
            by_node.setdefault(_pod_node(pod), []).append(pod)  # type: ignore[arg-type]
    plans = []
    for node in sorted(by_node):
        live = [p for p in by_node[node] if not p.deletion_timestamp]
        new = [p for p in live if is_updated(ds, p, revision)]
        old = [p for p in live if not is_updated(ds, p, revision)]
        plans.append((node, new[0] if new else None, old[0] if old else None, len(new) > 1 or len(old) > 1))
    doomed: list = []
    if surge == 0:
        unavailable, replace, candidates = 0, [], []
        for node, new, old, crowded in plans:
            if crowded or (new is None) == (old is None):
                unavailable += 1        # left to the manage loop
            elif new is not None:
                unavailable += not is_available(new, min_ready, now)
            elif not is_available(old, min_ready, now):
                replace.append(old)
            elif unavailable < unavailable_budget:
                candidates.append(old)
        room = min(max(unavailable_budget - unavailable, 0), len(candidates))
        doomed = replace + candidates[:room]
        for pod in doomed:
            _delete(store, ds, pod)
        return
    surged, available, allowed, candidates, sunset = 0, 0, [], [], []
    for node, new, old, crowded in plans:
        if crowded:
            surged += 1
            continue
        if (old if old is not None else new) is not None and is_available(old if old is not None else new,
                                                                           min_ready, now):
            available += 1
        if old is None:
            continue
        runs = verdicts.get(node, (False, False))[0]
        if new is None:
            if not is_available(old, min_ready, now):
                (allowed.append(node) if runs else doomed.append(old))
            elif not runs:
                sunset.append(old)
            elif surged < surge:
                candidates.append(node)
        elif not is_available(new, min_ready, now):
            surged += 1
        else:
            doomed.append(old)
    deletable = min(available - len(wanted), len(sunset))
    doomed += sunset[:max(deletable, 0)]
    room = min(max(surge - surged, 0), len(candidates))
    for pod in doomed:
        _delete(store, ds, pod)
    _create_on(store, ds, allowed + candidates[:room], revision, failure)


def _create(store: Store, ds: DaemonSet, node: str, revision: str) -> Forbidden | None:
    """The daemon pod for `node`; the refusal, unless the namespace is terminating (then nothing is retried)."""
    meta = copy.deepcopy(ds.template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta.update(generateName=f"{ds.name}-", namespace=ds.namespace, ownerReferences=[controller_ref(ds)])
    meta["labels"] = {**dict(meta.get("labels") or {}), REVISION_LABEL: revision,
                      GENERATION_LABEL: str(ds.generation)}
    spec = daemon_spec(ds)
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    outcome = create_pod(store, ds, {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}, COMPONENT)
    if isinstance(outcome, Forbidden) and not namespace_terminating(store, ds.namespace):
        return outcome
    return None


def _delete(store: Store, ds: DaemonSet, pod: Pod) -> None:
    store.delete("Pod", pod.name, pod.namespace)
    store.record_event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {pod.name}", COMPONENT)


def _write_status(store: Store, ds: DaemonSet, revision: str, wanted: set[str], now: float) -> float:
    """The status counts (numberAvailable after minReadySeconds); returns when a pod next becomes available."""
    ds = store.get("DaemonSet", ds.name, ds.namespace)  # type: ignore[assignment]
    pods = [p for p in store.list("Pod", ds.namespace) if is_owned_by(p, ds) and not p.deletion_timestamp]
    scheduled = {p.node_name for p in pods if p.node_name}
    status = {
        "currentNumberScheduled": len(scheduled & wanted),
        "desiredNumberScheduled": len(wanted),
        "numberAvailable": sum(1 for p in pods if is_available(p, _min_ready(ds), now)),
        "numberMisscheduled": len(scheduled - wanted),
        "numberReady": sum(1 for p in pods if p.ready),
        "observedGeneration": ds.generation,
        "updatedNumberScheduled": sum(1 for p in pods if p.node_name and is_updated(ds, p, revision)),
    }
    unavailable = len(wanted) - status["numberAvailable"]
    if unavailable > 0:
        status["numberUnavailable"] = unavailable
    if dict(ds.status) != status:
        store.update(ds.evolve(lambda d: d.__setitem__("status", status)))
    return min((t for t in (available_at(p, _min_ready(ds)) for p in pods) if now < t < math.inf), default=math.inf)
