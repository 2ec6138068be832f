"""DaemonSet rolling updates node by node (maxUnavailable, maxSurge), minReadySeconds and the daemon tolerations."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.controllers.daemonset import surge_and_unavailable
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def daemonset(strategy: str = "", spec: str = "", host_network: bool = False) -> str:
    return f"""\
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: default}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
{spec}{strategy}  template:
    metadata: {{labels: {{app: agent}}, annotations: {{netsim.dev/shutdown-seconds: "3"}}}}
    spec:
      hostNetwork: {str(host_network).lower()}
      tolerations: [{{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}}]
      containers: [{{name: agent, image: "agent:1"}}]
"""


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0)


def set_image(cluster: Cluster, image: str) -> None:
    cluster.store.patch("DaemonSet", "agent", "default",
                        {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}})


def per_node(cluster: Cluster) -> dict[str, list[str]]:
    """node -> the images of its live daemon pods."""
    out: dict[str, list[str]] = {}
    for pod in cluster.store.list("Pod", "default"):
        if pod.labels.get("app") == "agent" and not pod.deletion_timestamp and pod.node_name:
            out.setdefault(pod.node_name, []).append(pod.spec["containers"][0]["image"])
    return {k: sorted(v) for k, v in sorted(out.items())}


def watch(cluster: Cluster, seconds: int) -> tuple[int, int]:
    """(most nodes without a Ready daemon pod, most nodes with two live daemon pods) at any half second."""
    down = double = 0
    for _ in range(seconds * 2):
        cluster.advance(0.5)
        ready: dict[str, int] = {}
        count: dict[str, int] = {}
        for pod in cluster.store.list("Pod", "default"):
            if pod.labels.get("app") != "agent" or not pod.node_name:
                continue
            count[pod.node_name] = count.get(pod.node_name, 0) + (not pod.deletion_timestamp)
            ready[pod.node_name] = ready.get(pod.node_name, 0) + (pod.ready and not pod.deletion_timestamp)
        down = max(down, sum(1 for n in ("kind-control-plane", "kind-worker", "kind-worker2") if not ready.get(n)))
        double = max(double, sum(1 for c in count.values() if c > 1))
    return down, double


def test_fenceposts_round_percentages_up() -> None:
    cluster = build(daemonset(strategy="  updateStrategy: {rollingUpdate: {maxUnavailable: 10%, maxSurge: 0}}\n"))
    ds = cluster.store.get("DaemonSet", "agent", "default")
    assert surge_and_unavailable(ds, 3) == (0, 1)
    assert surge_and_unavailable(ds, 11) == (0, 2)


def test_max_unavailable_replaces_that_many_nodes_at_a_time() -> None:
    cluster = build(daemonset(strategy="  updateStrategy: {rollingUpdate: {maxUnavailable: 2}}\n"))
    cluster.advance(5)
    set_image(cluster, "agent:2")
    down, double = watch(cluster, 30)
    assert down == 2 and double == 0
    assert per_node(cluster) == {n: ["agent:2"] for n in ("kind-control-plane", "kind-worker", "kind-worker2")}


def test_max_surge_starts_the_new_pod_before_the_old_one_goes() -> None:
    cluster = build(daemonset(strategy="  updateStrategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n",
                              spec="  minReadySeconds: 4\n"))
    cluster.advance(10)
    set_image(cluster, "agent:2")
    cluster.settle()
    assert sum(len(v) == 2 for v in per_node(cluster).values()) == 1     # one node surges first
    down, double = watch(cluster, 60)
    assert down == 0 and double == 1
    assert per_node(cluster) == {n: ["agent:2"] for n in ("kind-control-plane", "kind-worker", "kind-worker2")}
    status = cluster.store.get("DaemonSet", "agent", "default").status
    assert status["updatedNumberScheduled"] == 3 and status["numberAvailable"] == 3


def test_min_ready_seconds_delays_number_available() -> None:
    cluster = build(daemonset(spec="  minReadySeconds: 20\n"))
    cluster.advance(5)
    status = cluster.store.get("DaemonSet", "agent", "default").status
    assert status["numberReady"] == 3 and status["numberAvailable"] == 0 and status["numberUnavailable"] == 3
    cluster.advance(20)
    status = cluster.store.get("DaemonSet", "agent", "default").status
    assert status["numberAvailable"] == 3 and "numberUnavailable" not in status


def test_daemon_pods_carry_the_controllers_tolerations() -> None:
    cluster = build(daemonset(host_network=True))
    pod = next(p for p in cluster.store.list("Pod", "default") if p.labels.get("app") == "agent")
    added = {(t["key"], t["effect"]) for t in pod.spec["tolerations"] if t.get("operator") == "Exists"}
    assert added >= {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                     ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                     ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                     ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                     ("node.kubernetes.io/unschedulable", "NoSchedule"),
                     ("node.kubernetes.io/network-unavailable", "NoSchedule")}
