"""The default profile's score plugins, their normalization and weights, and selectHost's tie-break."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scheduler_objects import node, pod, snapshot

from netsim.controllers import scheduler_affinity, scheduler_score
from netsim.controllers.scheduler_snapshot import pod_requests
from netsim.errors import NotImplementedFeature

MI = 1024 * 1024


def test_least_allocated_and_balanced_allocation_match_the_plugins_own_cases() -> None:
    # noderesources' "nothing scheduled, resources requested, differently sized nodes" (memory in bytes).
    nodes = [node("node1", cpu="4", memory="10000"), node("node2", cpu="6", memory="10000")]
    incoming = pod("p", requests={"cpu": "3", "memory": "5000"})
    snap = snapshot(nodes)
    feasible = snap.nodes()
    assert scheduler_score.least_allocated(incoming, feasible, snap) == {"node1": 37, "node2": 50}
    assert scheduler_score.balanced_allocation(incoming, feasible, snap) == {"node1": 87, "node2": 100}


def test_least_allocated_counts_default_requests_balanced_only_real_ones() -> None:
    nodes = [node("a", cpu="1", memory=str(1000 * MI))]
    busy = pod("busy", on="a")                                 # no requests: 100m and 200Mi for scoring
    snap = snapshot(nodes, [busy])
    best_effort = pod("p")
    # cpu (1000-200)/1000 -> 80, memory (1000-400)/1000 -> 60: average 70
    assert scheduler_score.least_allocated(best_effort, snap.nodes(), snap) == {"a": 70}
    assert scheduler_score.balanced_allocation(best_effort, snap.nodes(), snap) is None   # skipped
    sized = pod("q", requests={"cpu": "500m"})
    # requested fractions: cpu 0.5, memory 0 (the running pod requests nothing): 1 - 0.25
    assert scheduler_score.balanced_allocation(sized, snap.nodes(), snap) == {"a": 75}


def test_pod_requests_take_the_largest_init_step_with_sidecars_and_overhead() -> None:
    p = pod("p", requests={"cpu": "1"}, spec={
        "initContainers": [
            {"name": "sidecar", "image": "x", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
            {"name": "setup", "image": "x", "resources": {"requests": {"cpu": "2"}}}],
        "overhead": {"cpu": "100m"}})
    # containers 1 + sidecar 0.5 = 1.5; the setup step runs beside the sidecar: 2.5; plus the overhead
    assert pod_requests(p)["cpu"] == 2600
    assert pod_requests(pod("q"), nonzero=True) == {"cpu": 100, "memory": 200 * MI}
    assert pod_requests(pod("r", requests={"cpu": "0"}), nonzero=True)["cpu"] == 0    # set, even to 0, is kept


def test_taint_toleration_and_node_affinity_normalize_as_the_framework_does() -> None:
    nodes = [node("a"), node("b", taints=[{"key": "x", "effect": "PreferNoSchedule"}],
                          labels={"disk": "ssd"}),
             node("c", taints=[{"key": "x", "effect": "PreferNoSchedule"}, {"key": "y", "effect": "PreferNoSchedule"}])]
    snap = snapshot(nodes)
    plain = pod("p")
    assert scheduler_score.taint_toleration(plain, snap.nodes(), snap) == {"a": 100, "b": 50, "c": 0}
    tolerant = pod("t", spec={"tolerations": [{"key": "x", "operator": "Exists", "effect": "PreferNoSchedule"}]})
    assert scheduler_score.taint_toleration(tolerant, snap.nodes(), snap) == {"a": 100, "b": 100, "c": 0}
    assert scheduler_score.node_affinity(plain, snap.nodes(), snap) is None
    prefer = pod("n", spec={"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 30, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "DoesNotExist"}]}}]}}})
    assert scheduler_score.node_affinity(prefer, snap.nodes(), snap) == {"a": 33, "b": 100, "c": 33}


def test_image_locality_scores_nodes_that_hold_the_image_and_zero_when_none_report_images() -> None:
    big = {"names": ["docker.io/library/big:1", "big:1"], "sizeBytes": 500 * MI}
    nodes = [node("a", images=[big]), node("b", images=[]), node("c")]
    snap = snapshot(nodes)
    p = pod("p", image="big:1")
    # 500Mi held by 1 of 3 nodes: 166.67Mi counted; (166.67Mi - 23Mi) / (1000Mi - 23Mi) -> 14
    assert scheduler_score.image_locality(p, snap.nodes(), snap) == {"a": 14, "b": 0, "c": 0}
    assert set(scheduler_score.image_locality(pod("q"), snap.nodes(), snap).values()) == {0}
    assert scheduler_score._normalized_image("nginx") == "nginx:latest"
    assert scheduler_score._normalized_image("localhost:5000/app") == "localhost:5000/app:latest"


def test_inter_pod_affinity_score_counts_both_directions_and_normalizes_with_floats() -> None:
    zone = "topology.kubernetes.io/zone"
    nodes = [node("a", labels={zone: "z1"}), node("b", labels={zone: "z2"}), node("c", labels={zone: "z3"})]
    db = pod("db", on="a", labels={"app": "db"})
    cache = pod("cache", on="b", labels={"app": "cache"})
    # an existing pod that prefers web pods away from it, weight 1 (its own term, matched against the newcomer)
    loner = pod("loner", on="c", labels={"app": "loner"}, spec={"affinity": {"podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": zone}}]}}})
    web = pod("web", labels={"app": "web"}, spec={"affinity": {"podAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 2, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": zone}},
            {"weight": 1, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "cache"}},
                                               "topologyKey": zone}}]}}})
    snap = snapshot(nodes, [db, cache, loner])
    # raw: a +2, b +1, c -1; (v - min) / (max - min) * 100 in float64: 100, 66 (66.67 truncated), 0
    assert scheduler_affinity.score(web, snap.nodes(), snap) == {"a": 100, "b": 66, "c": 0}
    assert scheduler_affinity.score(pod("plain"), snap.nodes(), snap) is None


def test_existing_pods_required_affinity_attracts_at_hard_pod_affinity_weight() -> None:
    nodes = [node("a"), node("b")]
    follower = pod("f", on="a", labels={"app": "f"}, spec={"affinity": {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "leader"}}, "topologyKey": "kubernetes.io/hostname"}]}}})
    snap = snapshot(nodes, [follower])
    assert scheduler_affinity.score(pod("l", labels={"app": "leader"}), snap.nodes(), snap) == {"a": 100, "b": 0}


def test_total_is_the_weighted_sum_and_weights_are_the_default_profiles() -> None:
    assert {p.name: p.weight for p in scheduler_score.SCORE_PLUGINS} == {
        "TaintToleration": 3, "NodeAffinity": 2, "NodeResourcesFit": 1, "PodTopologySpread": 2,
        "InterPodAffinity": 2, "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1}
    nodes = [node("a"), node("b", taints=[{"key": "x", "effect": "PreferNoSchedule"}])]
    snap = snapshot(nodes)
    p = pod("p", requests={"cpu": "1", "memory": "1Gi"})
    per_plugin = scheduler_score.plugin_scores(p, snap.nodes(), snap)
    assert set(per_plugin) == {"TaintToleration", "NodeResourcesFit", "NodeResourcesBalancedAllocation",
                               "ImageLocality"}
    # TaintToleration 3 x (100 | 0) + LeastAllocated 84 (cpu 75, memory 93) + Balanced 90 (1 - |0.25 - 0.0625| / 2)
    assert scheduler_score.total_scores(p, snap.nodes(), snap) == {"a": 300 + 84 + 90, "b": 84 + 90}


def test_select_host_samples_the_tied_best_uniformly_and_never_a_lower_one() -> None:
    rng = np.random.default_rng(7)
    picks = Counter(scheduler_score.select_host({"a": 5, "b": 9, "c": 9, "d": 9}, rng) for _ in range(3000))
    assert set(picks) == {"b", "c", "d"}
    assert all(abs(n / 3000 - 1 / 3) < 0.04 for n in picks.values())
    assert scheduler_score.select_host({"a": 1, "b": 2}, rng) == "b"



def test_pod_level_resources_are_named_as_not_emulated() -> None:
    with pytest.raises(NotImplementedFeature, match=r"Pod default/p: spec.resources \(pod-level resources\)"):
        pod_requests(pod("p", spec={"resources": {"requests": {"cpu": "1"}}}))
