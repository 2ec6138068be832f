"""PodTopologySpread: system default constraints, minDomains, matchLabelKeys, node inclusion
policies, the Filter's messages and the Score."""

from __future__ import annotations

from pathlib import Path

from scheduler_objects import node, pod, replicaset, service, snapshot

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.controllers import scheduler_spread
from netsim.controllers.scheduler_spread import SPREAD_MISSING_LABEL, SPREAD_NOT_MATCH, prefilter
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
ZONE = "topology.kubernetes.io/zone"


def spread(key: str = "kubernetes.io/hostname", skew: int = 1, when: str = "DoNotSchedule", **extra) -> dict:
    return {"topologySpreadConstraints": [{"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
                                           "labelSelector": {"matchLabels": {"app": "web"}}, **extra}]}


def reasons(incoming, snap) -> dict[str, str]:
    state = prefilter(incoming, snap)
    return {info.name: scheduler_spread.filter_reason(state, incoming, info) for info in snap.nodes()}


def test_system_default_constraints_come_from_the_owner_and_services_selectors() -> None:
    rs = replicaset("web-5d8f", {"app": "web", "pod-template-hash": "5d8f"})
    svc = service("web", {"app": "web"})
    owned = pod("web-5d8f-x", labels={"app": "web", "pod-template-hash": "5d8f", "tier": "front"},
                owner=("ReplicaSet", "web-5d8f"))
    snap = snapshot([node("a")], services=[svc], replicasets=[rs])
    cons = scheduler_spread.constraints(owned, snap, "ScheduleAnyway")
    assert [(c.topology_key, c.max_skew) for c in cons] == [("kubernetes.io/hostname", 3), (ZONE, 5)]
    selector = cons[0].selector
    assert selector.matches({"app": "web", "pod-template-hash": "5d8f"})
    assert not selector.matches({"app": "web", "pod-template-hash": "other"})
    assert scheduler_spread.constraints(owned, snap, "DoNotSchedule") == []
    bare = pod("bare", labels={"app": "db"})
    assert scheduler_spread.constraints(bare, snap, "ScheduleAnyway") == []       # no owner, no Service
    via_service = pod("solo", labels={"app": "web"})
    assert len(scheduler_spread.constraints(via_service, snap, "ScheduleAnyway")) == 2
    own = pod("own", labels={"app": "web"}, owner=("ReplicaSet", "web-5d8f"), spec=spread(when="DoNotSchedule"))
    assert scheduler_spread.constraints(own, snap, "ScheduleAnyway") == []        # its own replace the defaults


def test_filter_skew_missing_label_and_min_domains() -> None:
    nodes = [node("a", labels={ZONE: "z1"}), node("b", labels={ZONE: "z2"}), node("c")]
    pods = [pod("w1", on="a", labels={"app": "web"})]
    incoming = pod("new", labels={"app": "web"}, spec=spread(key=ZONE))
    assert reasons(incoming, snapshot(nodes, pods)) == {"a": SPREAD_NOT_MATCH, "b": "", "c": SPREAD_MISSING_LABEL}
    # minDomains 3 with 2 zones: the global minimum counts as 0, so z2 may take one pod but no more
    pods.append(pod("w2", on="b", labels={"app": "web"}))
    plain = pod("new", labels={"app": "web"}, spec=spread(key=ZONE))
    assert reasons(plain, snapshot(nodes, pods))["b"] == ""
    strict = pod("new", labels={"app": "web"}, spec=spread(key=ZONE, minDomains=3))
    assert reasons(strict, snapshot(nodes, pods)) == {"a": SPREAD_NOT_MATCH, "b": SPREAD_NOT_MATCH,
                                                      "c": SPREAD_MISSING_LABEL}


def test_terminating_and_other_namespace_pods_are_not_counted() -> None:
    gone = pod("gone", on="a", labels={"app": "web"}).evolve(
        lambda d: d["metadata"].__setitem__("deletionTimestamp", "2024-01-01T00:00:00Z"))
    elsewhere = pod("other", on="a", labels={"app": "web"}, namespace="prod")
    incoming = pod("new", labels={"app": "web"}, spec=spread())
    assert reasons(incoming, snapshot([node("a"), node("b")], [gone, elsewhere])) == {"a": "", "b": ""}


def test_node_taints_policy_ignore_counts_a_tainted_node_as_an_empty_domain() -> None:
    tainted = node("cp", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    nodes = [tainted, node("a"), node("b")]
    pods = [pod("w1", on="a", labels={"app": "web"}), pod("w2", on="b", labels={"app": "web"})]
    ignore = pod("new", labels={"app": "web"}, spec=spread())
    assert reasons(ignore, snapshot(nodes, pods)) == {"cp": "", "a": SPREAD_NOT_MATCH, "b": SPREAD_NOT_MATCH}
    honor = pod("new", labels={"app": "web"}, spec=spread(nodeTaintsPolicy="Honor"))
    assert reasons(honor, snapshot(nodes, pods))["a"] == ""


def test_node_affinity_policy_honor_leaves_out_nodes_the_pod_cannot_use() -> None:
    nodes = [node("a", labels={"pool": "x"}), node("b", labels={"pool": "x"}), node("c", labels={"pool": "y"})]
    pods = [pod("w1", on="a", labels={"app": "web"}), pod("w2", on="b", labels={"app": "web"})]
    honor = pod("new", labels={"app": "web"}, spec={"nodeSelector": {"pool": "x"}, **spread()})
    assert reasons(honor, snapshot(nodes, pods))["a"] == ""        # c (pool y) is no domain: min is 1
    ignore = pod("new", labels={"app": "web"},
                 spec={"nodeSelector": {"pool": "x"}, **spread(nodeAffinityPolicy="Ignore")})
    assert reasons(ignore, snapshot(nodes, pods))["a"] == SPREAD_NOT_MATCH


def test_match_label_keys_count_only_the_same_revision() -> None:
    old = [pod(f"old{i}", on="a", labels={"app": "web", "pod-template-hash": "v1"}) for i in range(3)]
    incoming = pod("new", labels={"app": "web", "pod-template-hash": "v2"},
                   spec=spread(matchLabelKeys=["pod-template-hash"]))
    assert reasons(incoming, snapshot([node("a"), node("b")], old)) == {"a": "", "b": ""}
    blind = pod("new", labels={"app": "web", "pod-template-hash": "v2"}, spec=spread())
    assert reasons(blind, snapshot([node("a"), node("b")], old))["a"] == SPREAD_NOT_MATCH


def test_score_with_the_system_defaults_weighs_counts_by_log_of_domains() -> None:
    nodes = [node("a", labels={ZONE: "z1"}), node("b", labels={ZONE: "z1"}), node("c", labels={ZONE: "z2"})]
    rs = replicaset("web-1", {"app": "web"})
    pods = [pod("w1", on="a", labels={"app": "web"}), pod("w2", on="a", labels={"app": "web"}),
            pod("w3", on="c", labels={"app": "web"})]
    snap = snapshot(nodes, pods, replicasets=[rs])
    incoming = pod("new", labels={"app": "web"}, owner=("ReplicaSet", "web-1"))
    # a: 2·ln5 + 2 + 2·ln4 + 4 = 11.99 -> 12; b: 0 + 2 + 2·ln4 + 4 = 8.77 -> 9; c: ln5 + 2 + ln4 + 4 = 9.0 -> 9
    # normalized 100·(max + min − s) / max: a 75, b and c 100
    assert scheduler_spread.score(incoming, snap.nodes(), snap) == {"a": 75, "b": 100, "c": 100}
    assert scheduler_spread.score(pod("bare", labels={"app": "web"}), snap.nodes(), snap) is None


def test_score_ignores_nodes_missing_a_key_of_the_pods_own_constraints() -> None:
    nodes = [node("a", labels={ZONE: "z1"}), node("b", labels={ZONE: "z2"}), node("c")]
    pods = [pod("w1", on="a", labels={"app": "web"})]
    snap = snapshot(nodes, pods)
    incoming = pod("new", labels={"app": "web"}, spec=spread(key=ZONE, when="ScheduleAnyway"))
    # a: ln4 -> 1; b: 0; c has no zone: ignored, 0
    assert scheduler_spread.score(incoming, snap.nodes(), snap) == {"a": 0, "b": 100, "c": 0}


def deployment(name: str, replicas: int, pod_spec: str) -> str:
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n"
            f"  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n"
            f"    spec:\n{pod_spec}      containers:\n      - name: app\n        image: nginx:1.25\n")


def test_the_schedulers_messages_for_spread_constraints() -> None:
    constraint = ("      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: {key}\n"
                  "        whenUnsatisfiable: DoNotSchedule\n        labelSelector: {{matchLabels: {{app: {app}}}}}\n")
    text = deployment("even", 4, constraint.format(key="kubernetes.io/hostname", app="even")) + "---\n" + \
        deployment("zoned", 1, constraint.format(key=ZONE, app="zoned"))
    cluster = Cluster.build(TOPOLOGY, load_text(text, "spread.yaml"))
    pods = cluster.store.list("Pod", "default")
    even = [p for p in pods if p.labels.get("app") == "even"]
    assert sorted(p.node_name for p in even if p.node_name) == ["kind-worker", "kind-worker2"]
    taint = "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    pending = [p for p in even if not p.node_name]
    assert len(pending) == 2        # the tainted control plane is an empty domain (nodeTaintsPolicy Ignore)
    assert pending[0].condition("PodScheduled").message == (
        f"0/3 nodes are available: {taint}, 2 {SPREAD_NOT_MATCH}. preemption: 0/3 nodes are available: "
        "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
    (zoned,) = [p for p in pods if p.labels.get("app") == "zoned"]
    assert zoned.condition("PodScheduled").message == (
        f"0/3 nodes are available: {taint}, 2 {SPREAD_MISSING_LABEL}. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling.")

