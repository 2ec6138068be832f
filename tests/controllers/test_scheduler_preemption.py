"""DefaultPreemption: the dry run with every filter, the victims it keeps, the node it picks, and
what the preemptor and its victims carry afterwards."""

from __future__ import annotations

from pathlib import Path

from scheduler_objects import node, pod, snapshot

from netsim.api.apply import apply_manifests
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.controllers.scheduler import fit_reasons
from netsim.controllers.scheduler_preempt import Candidate, pick_one, select_victims
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
TAINT = "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
CLASSES = "".join(
    f"apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {{name: {name}}}\nvalue: {value}\n---\n"
    for name, value in (("lowest", 5), ("low", 10), ("mid", 500), ("high", 1000)))


def pod_yaml(name: str, priority_class: str, cpu: str = "", node_name: str = "", labels: str = "",
             extra: str = "", grace: int = 10) -> str:
    lines = ["apiVersion: v1", "kind: Pod", f"metadata: {{name: {name}" + (f", labels: {labels}" if labels else "")
             + f", annotations: {{netsim.dev/shutdown-seconds: '{grace}'}}}}", "spec:",
             f"  priorityClassName: {priority_class}"]
    if node_name:
        lines.append(f"  nodeName: {node_name}")
    lines += [extra.rstrip("\n")] if extra else []
    lines += ["  containers:", "  - name: app", "    image: registry.k8s.io/pause"]
    if cpu:
        lines.append(f"    resources: {{requests: {{cpu: '{cpu}'}}}}")
    return "\n".join(lines) + "\n---\n"


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(CLASSES + text, "test.yaml"), horizon=30)


def add(cluster: Cluster, text: str) -> None:
    apply_manifests(cluster.store, load_text(text, "more.yaml"))
    cluster.settle()


def get(cluster: Cluster, name: str):
    return cluster.store.try_get("Pod", name, "default")


def test_victims_marks_the_nomination_and_the_preemptors_messages() -> None:
    cluster = build(pod_yaml("low", "low", cpu="3", node_name="kind-worker")
                    + pod_yaml("lower", "lowest", cpu="3", node_name="kind-worker2"))
    add(cluster, pod_yaml("urgent", "high", cpu="2"))
    urgent = get(cluster, "urgent")
    # the node whose victims have the lowest highest priority
    assert urgent.status["nominatedNodeName"] == "kind-worker2" and not urgent.node_name
    victim = get(cluster, "lower")
    assert victim.deletion_timestamp and not get(cluster, "low").deletion_timestamp
    target = victim.condition("DisruptionTarget")
    assert (target.status, target.reason, target.message) == (
        "True", "PreemptionByScheduler", "default-scheduler: preempting to accommodate a higher priority pod")
    events = [(e.involved_object["name"], e.reason, e.message) for e in cluster.store.list("Event", "default")]
    assert ("lower", "Preempted", f"Preempted by pod {urgent.uid} on node kind-worker2") in events
    # the attempt that preempted reports the filters alone; the next ones wait for the victim
    assert ("urgent", "FailedScheduling", f"0/3 nodes are available: {TAINT}, 2 Insufficient cpu.") in events
    assert urgent.condition("PodScheduled").message.endswith(
        "2 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.")
    cluster.advance(15)
    assert get(cluster, "lower") is None
    assert get(cluster, "urgent").node_name == "kind-worker2"


def test_the_dry_run_reruns_every_filter_so_anti_affinity_can_be_resolved() -> None:
    blockers = "".join(pod_yaml(f"blocker-{n}", "low", node_name=n, labels="{app: blocker}")
                       for n in ("kind-worker", "kind-worker2"))
    cluster = build(blockers)
    anti = ("  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
            "      - labelSelector: {matchLabels: {app: blocker}}\n        topologyKey: kubernetes.io/hostname\n")
    add(cluster, pod_yaml("loner", "high", extra=anti))
    loner = get(cluster, "loner")
    nominated = loner.status["nominatedNodeName"]
    assert get(cluster, f"blocker-{nominated}").deletion_timestamp
    assert loner.condition("PodScheduled").message.startswith(
        f"0/3 nodes are available: {TAINT}, 2 node(s) didn't match pod anti-affinity rules.")
    follow = ("  affinity:\n    podAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
              "      - labelSelector: {matchLabels: {app: nowhere}}\n        topologyKey: kubernetes.io/hostname\n")
    add(cluster, pod_yaml("follower", "high", extra=follow))
    assert get(cluster, "follower").condition("PodScheduled").message == (
        f"0/3 nodes are available: {TAINT}, 2 node(s) didn't match pod affinity rules. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")


def test_no_preemption_when_evicting_every_lower_pod_still_would_not_make_room() -> None:
    cluster = build(pod_yaml("vip", "high", cpu="3", node_name="kind-worker")
                    + pod_yaml("small", "low", cpu="500m", node_name="kind-worker"))
    worker2 = cluster.store.get("Node", "kind-worker2")
    cluster.store.update(worker2.evolve(lambda d: d["spec"].__setitem__("unschedulable", True)))
    add(cluster, pod_yaml("mid", "mid", cpu="2"))
    mid = get(cluster, "mid")
    assert not get(cluster, "small").deletion_timestamp and "nominatedNodeName" not in mid.status
    assert mid.condition("PodScheduled").message == (
        f"0/3 nodes are available: 1 Insufficient cpu, {TAINT}, 1 node(s) were unschedulable. "
        "preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 Preemption is not helpful for scheduling.")


def test_victims_are_reprieved_most_important_first() -> None:
    on_a = [pod("p1", on="a", priority=1, requests={"cpu": "500m"}),
            pod("p2", on="a", priority=2, requests={"cpu": "2"}),
            pod("p3", on="a", priority=3, requests={"cpu": "1"}),
            pod("vip", on="a", priority=50, requests={"cpu": "100m"})]
    snap = snapshot([node("a", cpu="4")], on_a)
    incoming = pod("new", priority=10, requests={"cpu": "2"})
    victims, failed = select_victims(incoming, snap.infos["a"], snap, lambda s, info: fit_reasons(incoming, info))
    # all lower pods out (free 3.9), then back in by priority: p3 fits, p2 does not, p1 does
    assert [v.name for v in victims] == ["p2"] and failed == []
    assert [p.name for p in snap.infos["a"].pods] == ["p1", "p2", "p3", "vip"]     # the dry run works on a copy
    nothing, why = select_victims(pod("low", priority=1), snap.infos["a"], snap, lambda s, info: ["x"])
    assert (nothing, why) == ([], ["No preemption victims found for incoming pod"])


def test_equal_priority_victims_keep_the_one_that_started_first() -> None:
    older = pod("older", on="a", priority=1, requests={"cpu": "2"}, start="2024-01-01T00:00:00Z")
    newer = pod("newer", on="a", priority=1, requests={"cpu": "2"}, start="2024-01-01T00:05:00Z")
    snap = snapshot([node("a", cpu="4")], [newer, older])
    incoming = pod("new", priority=10, requests={"cpu": "2"})
    victims, _ = select_victims(incoming, snap.infos["a"], snap, lambda s, info: fit_reasons(incoming, info))
    assert [v.name for v in victims] == ["newer"]


def test_pick_one_node_applies_the_criteria_in_order() -> None:
    def victims(*specs):
        return tuple(pod(f"v{i}", priority=prio, start=start) for i, (prio, start) in enumerate(specs))

    t0, t1 = "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"
    lowest_top = [Candidate("a", victims((5, t0), (5, t0))), Candidate("b", victims((7, t0)))]
    assert pick_one(lowest_top, t1).node == "a"                        # highest victim priority 5 < 7
    smaller_sum = [Candidate("a", victims((5, t0), (1, t0))), Candidate("b", victims((5, t0), (3, t0)))]
    assert pick_one(smaller_sum, t1).node == "a"
    shifted = [Candidate("a", victims((5, t0), (-3, t0), (-3, t0))), Candidate("b", victims((5, t0), (1, t0)))]
    assert pick_one(shifted, t1).node == "b"     # sums shift every priority by 2^31: 3 pods weigh more than 2
    latest = [Candidate("a", victims((5, t0))), Candidate("b", victims((5, t1)))]
    assert pick_one(latest, t1).node == "b"
    assert pick_one([Candidate("a", victims((5, t0))), Candidate("b", victims((5, t0)))], t1).node == "a"


def test_a_taken_host_port_fails_node_ports_and_preemption_can_free_it() -> None:
    port = "    ports: [{containerPort: 80, hostPort: 8080}]\n"
    cluster = build(pod_yaml("web-1", "low", node_name="kind-worker").replace(
        "    image: registry.k8s.io/pause\n", "    image: registry.k8s.io/pause\n" + port)
        + pod_yaml("web-2", "high", node_name="kind-worker2").replace(
        "    image: registry.k8s.io/pause\n", "    image: registry.k8s.io/pause\n" + port))
    other_ip = "    ports: [{containerPort: 80, hostPort: 8080, hostIP: 172.18.0.3, protocol: UDP}]\n"
    add(cluster, pod_yaml("udp", "low").replace("    image: registry.k8s.io/pause\n",
                                                "    image: registry.k8s.io/pause\n" + other_ip))
    assert get(cluster, "udp").node_name                      # another protocol: no conflict
    add(cluster, pod_yaml("web-3", "mid").replace("    image: registry.k8s.io/pause\n",
                                                  "    image: registry.k8s.io/pause\n" + port))
    web3 = get(cluster, "web-3")
    assert web3.condition("PodScheduled").message.startswith(
        f"0/3 nodes are available: {TAINT}, 2 node(s) didn't have free ports for the requested pod ports.")
    assert web3.status["nominatedNodeName"] == "kind-worker" and get(cluster, "web-1").deletion_timestamp
