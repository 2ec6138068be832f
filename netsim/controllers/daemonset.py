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
elsewhere. RollingUpdate replaces pods whose `controller-revision-hash` is
old, at most maxUnavailable (default 1) unavailable at a time.
"""

from __future__ import annotations

import copy

from netsim.api.objects import DaemonSet, Node, Pod
from netsim.api.store import Store
from netsim.controllers.scheduler import node_affinity_matches
from netsim.controllers.workloads import controller_ref, is_owned_by, pod_template_hash

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


def reconcile(store: Store) -> None:
    """One pass over every DaemonSet."""
    for ds in store.list("DaemonSet"):
        if not ds.deletion_timestamp:
            _sync(store, ds)  # type: ignore[arg-type]


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


def _sync(store: Store, ds: DaemonSet) -> None:
    revision = pod_template_hash(ds.template)
    pods: dict[str, list[Pod]] = {}
    for pod in store.list("Pod", ds.namespace):
        if is_owned_by(pod, ds):
            pods.setdefault(_pod_node(pod), []).append(pod)  # type: ignore[arg-type]
    nodes = store.list("Node")
    verdicts = {n.name: should_run(ds, n) for n in nodes}  # type: ignore[arg-type]
    wanted = {name for name, (run, _) in verdicts.items() if run}
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
                _create(store, ds, node.name, revision)
            for extra in alive[1:]:
                _delete(store, ds, extra)
        else:
            for pod in mine:
                _delete(store, ds, pod)
    for name, group in pods.items():
        if name not in {n.name for n in nodes}:
            for pod in group:
                if not pod.deletion_timestamp:
                    _delete(store, ds, pod)
    _roll(store, ds, revision, wanted)
    _write_status(store, ds, revision, wanted)


def _roll(store: Store, ds: DaemonSet, revision: str, wanted: set[str]) -> None:
    strategy = ds.spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return
    raw = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1)
    budget = max(1, int(str(raw).rstrip("%")) * len(wanted) // 100) if str(raw).endswith("%") else int(raw)
    pods = [p for p in store.list("Pod", ds.namespace) if is_owned_by(p, ds)]
    unavailable = sum(1 for p in pods if p.deletion_timestamp or not p.ready) \
        + len(wanted - {_pod_node(p) for p in pods})
    for pod in sorted(pods, key=lambda p: _pod_node(p)):  # type: ignore[arg-type]
        if unavailable >= budget:
            return
        if not pod.deletion_timestamp and pod.ready and pod.labels.get(REVISION_LABEL) != revision:
            _delete(store, ds, pod)  # type: ignore[arg-type]
            unavailable += 1


def _create(store: Store, ds: DaemonSet, node: str, revision: str) -> None:
    meta = copy.deepcopy(ds.template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta.update(generateName=f"{ds.name}-", namespace=ds.namespace, ownerReferences=[controller_ref(ds)])
    meta["labels"] = {**dict(meta.get("labels") or {}), REVISION_LABEL: revision,
                      GENERATION_LABEL: str(ds.generation)}
    spec = daemon_spec(ds)
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    created = store.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    store.record_event(ds, "Normal", "SuccessfulCreate", f"Created pod: {created.name}", COMPONENT)


def _delete(store: Store, ds: DaemonSet, pod: Pod) -> None:
    store.delete("Pod", pod.name, pod.namespace)
    store.record_event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {pod.name}", COMPONENT)


def _write_status(store: Store, ds: DaemonSet, revision: str, wanted: set[str]) -> None:
    ds = store.get("DaemonSet", ds.name, ds.namespace)  # type: ignore[assignment]
    pods = [p for p in store.list("Pod", ds.namespace) if is_owned_by(p, ds) and not p.deletion_timestamp]
    scheduled = {p.node_name for p in pods if p.node_name}
    status = {
        "currentNumberScheduled": len(scheduled & wanted),
        "desiredNumberScheduled": len(wanted),
        "numberAvailable": sum(1 for p in pods if p.ready),
        "numberMisscheduled": len(scheduled - wanted),
        "numberReady": sum(1 for p in pods if p.ready),
        "observedGeneration": ds.generation,
        "updatedNumberScheduled": sum(1 for p in pods if p.node_name and p.labels.get(REVISION_LABEL) == revision),
    }
    unavailable = len(wanted) - status["numberAvailable"]
    if unavailable > 0:
        status["numberUnavailable"] = unavailable
    if dict(ds.status) != status:
        store.update(ds.evolve(lambda d: d.__setitem__("status", status)))
