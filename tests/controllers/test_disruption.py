"""PodDisruptionBudgets: the disruption controller's status, `get pdb`, and preemption counting violations."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.apply import apply_manifests
from netsim.api.load import load_text
from netsim.api.objects import make_object
from netsim.api.selector import LabelSelector
from netsim.api.topology import load_topology
from netsim.cli.get import get
from netsim.controllers.disruption import Budget, selector_string, split_by_violation
from netsim.emulator.cluster import Cluster
from netsim.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
PROBE = "        readinessProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 5, periodSeconds: 5}\n"


def workload(kind: str, name: str, replicas: int | None = 3, probe: str = "") -> str:
    lines = ["apiVersion: apps/v1", f"kind: {kind}", f"metadata: {{name: {name}}}", "spec:"]
    if replicas is not None:
        lines.append(f"  replicas: {replicas}")
    if kind == "StatefulSet":
        lines.append(f"  serviceName: {name}")
    lines += [f"  selector: {{matchLabels: {{app: {name}}}}}", "  template:",
              f"    metadata: {{labels: {{app: {name}}}}}", "    spec:", "      containers:",
              "      - name: app", "        image: nginx:1.25"]
    return "\n".join(lines) + "\n" + probe + "---\n"


def pdb(name: str, app: str, budget: str) -> str:
    return (f"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {name}}}\n"
            f"spec:\n  {budget}\n  selector: {{matchLabels: {{app: {app}}}}}\n---\n")


def build(text: str, horizon: float = 30.0) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=horizon)


def status(cluster: Cluster, name: str) -> dict:
    return dict(cluster.store.get("PodDisruptionBudget", name, "default").status)


def counts(cluster: Cluster, name: str) -> tuple:
    s = status(cluster, name)
    return s["currentHealthy"], s["desiredHealthy"], s["expectedPods"], s["disruptionsAllowed"]


def warnings(cluster: Cluster, name: str) -> list[tuple[str, str]]:
    return [(e.reason, e.message) for e in cluster.store.list("Event", "default")
            if e.involved_object.get("kind") == "PodDisruptionBudget" and e.involved_object.get("name") == name]


def test_min_available_count_allows_the_surplus_of_ready_pods() -> None:
    cluster = build(workload("Deployment", "web") + pdb("web", "web", "minAvailable: 2"))
    s = status(cluster, "web")
    assert counts(cluster, "web") == (3, 2, 3, 1) and s["observedGeneration"] == 1
    [cond] = s["conditions"]
    assert cond == {"type": "DisruptionAllowed", "status": "True", "observedGeneration": 1,
                    "lastTransitionTime": cond["lastTransitionTime"], "reason": "SufficientPods", "message": ""}
    assert list(s) == ["observedGeneration", "disruptionsAllowed", "currentHealthy", "desiredHealthy",
                       "expectedPods", "conditions"]


def test_percentages_and_max_unavailable_scale_against_the_controllers_replicas() -> None:
    text = (workload("StatefulSet", "db", probe=PROBE) + pdb("all", "db", "minAvailable: 100%")
            + workload("Deployment", "web", replicas=3) + pdb("half", "web", "maxUnavailable: 50%"))
    cluster = build(text, horizon=0)
    # one StatefulSet pod exists and is not Ready yet; the set's scale is 3
    assert counts(cluster, "all") == (0, 3, 3, 0)
    cond = status(cluster, "all")["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "InsufficientPods")
    assert counts(cluster, "half") == (3, 1, 3, 2)        # 50% of 3 rounds up to 2 unavailable
    cluster.advance(30)
    assert counts(cluster, "all") == (3, 3, 3, 0)
    cluster.store.patch("Deployment", "web", "default", {"spec": {"replicas": 4}})
    cluster.advance(1)
    assert counts(cluster, "half") == (4, 2, 4, 2)
    assert status(cluster, "half")["conditions"][0]["reason"] == "SufficientPods"


def test_a_controller_without_a_scale_subresource_fails_the_sync_safely() -> None:
    cluster = build(workload("DaemonSet", "agent", replicas=None) + pdb("agent", "agent", "maxUnavailable: 1"))
    s = status(cluster, "agent")
    assert s["disruptionsAllowed"] == 0
    [cond] = s["conditions"]
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False", "SyncFailed", "daemonsets.apps does not implement the scale subresource")
    assert ("CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: daemonsets.apps "
            "does not implement the scale subresource") in warnings(cluster, "agent")


def test_unmanaged_pods_and_no_pods_are_reported() -> None:
    bare = "apiVersion: v1\nkind: Pod\nmetadata: {name: solo, labels: {app: solo}}\n" \
           "spec:\n  containers: [{name: app, image: nginx:1.25}]\n---\n"
    cluster = build(bare + pdb("solo", "solo", "maxUnavailable: 1") + pdb("none", "ghost", "minAvailable: 1"))
    assert counts(cluster, "solo") == (1, 0, 0, 0)     # the unmanaged pod adds no scale: nothing expected
    [(reason, message)] = warnings(cluster, "solo")
    assert reason == "UnmanagedPods" and message.startswith(
        "Pods selected by this PodDisruptionBudget (selector: &LabelSelector{MatchLabels:map[string]string{app: "
        "solo,},MatchExpressions:[]LabelSelectorRequirement{},}) were found to be unmanaged.")
    assert warnings(cluster, "none") == [("NoPods", "No matching pods found")]
    assert counts(cluster, "none") == (0, 1, 0, 0)


def test_selector_string_prints_expressions_as_go_does() -> None:
    raw = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}
    assert selector_string(raw) == ("&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:"
                                    "[]LabelSelectorRequirement{LabelSelectorRequirement{Key:tier,Operator:In,"
                                    "Values:[a b],},},}")


def test_get_pdb_prints_kubectls_columns() -> None:
    cluster = build(workload("Deployment", "web") + pdb("web", "web", "minAvailable: 2")
                    + pdb("web-max", "web", "maxUnavailable: 34%"))
    lines = get(cluster, "pdb", namespace="default").splitlines()
    assert lines[0] == "NAME      MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS   AGE"
    assert lines[1].split() == ["web", "2", "N/A", "1", "0s"]
    assert lines[2].split() == ["web-max", "N/A", "34%", "2", "0s"]     # ceil(34% of 3) = 2 may go


def test_both_bounds_or_a_bad_policy_are_refused_at_load() -> None:
    with pytest.raises(InputError, match="minAvailable and maxUnavailable cannot be both set"):
        load_text(pdb("x", "web", "minAvailable: 1\n  maxUnavailable: 1"), "bad.yaml")
    with pytest.raises(InputError, match="must not be greater than 100%"):
        load_text(pdb("x", "web", "minAvailable: 101%"), "bad.yaml")
    with pytest.raises(InputError, match="unhealthyPodEvictionPolicy"):
        load_text(pdb("x", "web", "unhealthyPodEvictionPolicy: Sometimes"), "bad.yaml")


def _pod(name: str, labels: dict) -> object:
    return make_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                                                        "labels": labels},
                        "spec": {"containers": [{"name": "a", "image": "x"}]}})


def test_each_covered_pod_spends_one_disruption_and_disrupted_pods_spend_none() -> None:
    web = LabelSelector.from_dict({"matchLabels": {"app": "web"}})
    pods = [_pod("a", {"app": "web"}), _pod("b", {"app": "web"}), _pod("c", {"app": "web"}), _pod("d", {})]
    one = Budget("default", web, 1, frozenset({"c"}))
    violating, other = split_by_violation(pods, [one])
    assert [p.name for p in violating] == ["b"] and [p.name for p in other] == ["a", "c", "d"]
    assert split_by_violation(pods, [Budget("default", None, 0, frozenset())])[0] == []    # empty: matches none
    assert split_by_violation(pods, [Budget("other", web, 0, frozenset())])[0] == []


CLASSES = ("apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: low}\nvalue: 10\n---\n"
           "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\n---\n")


def placed(name: str, node: str, labels: str, priority_class: str = "low", cpu: str = "3") -> str:
    where = f"  nodeName: {node}\n" if node else ""
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {labels}}}\nspec:\n"
            f"  priorityClassName: {priority_class}\n{where}"
            f"  containers: [{{name: app, image: registry.k8s.io/pause, resources: {{requests: {{cpu: '{cpu}'}}}}}}]\n"
            "---\n")


@pytest.mark.parametrize("guarded", [False, True])
def test_preemption_prefers_the_node_whose_victims_break_no_budget(guarded: bool) -> None:
    budget = pdb("keep", "kept", "minAvailable: 1") if guarded else ""
    cluster = build(CLASSES + placed("first", "kind-worker", "{app: kept}")
                    + placed("second", "kind-worker2", "{app: other}") + budget)
    if guarded:
        assert counts(cluster, "keep") == (1, 1, 1, 0)
    apply_manifests(cluster.store, load_text(placed("urgent", "", "{app: urgent}", "high", "2"), "more.yaml"))
    cluster.settle()
    # every other criterion ties; without a budget the first node in order goes
    assert cluster.store.get("Pod", "urgent", "default").node_name == ("kind-worker2" if guarded else "kind-worker")
    survivor = "first" if guarded else "second"
    assert [p.name for p in cluster.store.list("Pod", "default")] == [survivor, "urgent"]
