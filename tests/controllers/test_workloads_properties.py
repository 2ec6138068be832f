"""A stateful property test: scale, delete pods, fail and recover nodes, let time pass; the controllers' invariants hold."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {netsim.dev/start-seconds: "2", netsim.dev/shutdown-seconds: "3"}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports: [{containerPort: 80}]
        readinessProbe: {tcpSocket: {port: 80}, initialDelaySeconds: 2, periodSeconds: 3}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:16, ports: [{containerPort: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""
WORKERS = ("kind-worker", "kind-worker2")


class Workloads(RuleBasedStateMachine):
    """Random operations on a small cluster; after each, what the controllers keep true is checked."""

    def __init__(self) -> None:
        super().__init__()
        self.cluster = Cluster.build(TOPOLOGY, load_text(MANIFESTS, "m.yaml"), horizon=0)

    @rule(replicas=st.integers(0, 5))
    def scale_web(self, replicas: int) -> None:
        self.cluster.store.patch("Deployment", "web", "default", {"spec": {"replicas": replicas}})
        self.cluster.settle()

    @rule(replicas=st.integers(0, 4))
    def scale_db(self, replicas: int) -> None:
        self.cluster.store.patch("StatefulSet", "db", "default", {"spec": {"replicas": replicas}})
        self.cluster.settle()

    @rule(image=st.sampled_from(["nginx:1.25", "nginx:1.26", "nginx:1.27"]))
    def change_template(self, image: str) -> None:
        deploy = self.cluster.store.get("Deployment", "web", "default")
        self.cluster.store.update(deploy.evolve(
            lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__("image", image)))
        self.cluster.settle()

    @rule(index=st.integers(0, 10))
    def delete_a_pod(self, index: int) -> None:
        pods = [p for p in self.cluster.store.list("Pod", "default") if not p.deletion_timestamp]
        if pods:
            pod = pods[index % len(pods)]
            self.cluster.store.delete("Pod", pod.name, pod.namespace)
            self.cluster.settle()

    @rule(node=st.sampled_from(WORKERS), fail=st.booleans())
    def node_health(self, node: str, fail: bool) -> None:
        (self.cluster.fail_node if fail else self.cluster.recover_node)(node)

    @rule(seconds=st.sampled_from([1, 3, 10, 45, 320]))
    def advance(self, seconds: int) -> None:
        self.cluster.advance(seconds)

    @invariant()
    def endpoints_are_existing_pods_and_ready_only_when_ready(self) -> None:
        store = self.cluster.store
        pods = {p.uid: p for p in store.list("Pod", "default")}
        for slice_ in store.list("EndpointSlice", "default"):
            if slice_.service_name != "web":
                continue
            for ep in slice_.get("endpoints") or []:
                pod = pods.get(ep["targetRef"]["uid"])
                assert pod is not None, f"an endpoint for a pod that is gone: {ep}"
                if ep["conditions"]["ready"]:
                    assert pod.ready and not pod.deletion_timestamp

    @invariant()
    def each_replicaset_has_its_replicas_and_ordinals_are_unique(self) -> None:
        store = self.cluster.store
        for rs in store.list("ReplicaSet", "default"):
            active = [p for p in store.list("Pod", "default") if p.controller_ref is not None
                      and p.controller_ref.uid == rs.uid and not p.deletion_timestamp
                      and p.phase not in ("Succeeded", "Failed")]
            assert len(active) == rs.replicas
        names = [p.name for p in store.list("Pod", "default") if p.labels.get("app") == "db"]
        assert len(names) == len(set(names))
        deploy = store.get("Deployment", "web", "default")
        live = [r for r in store.list("ReplicaSet", "default") if r.replicas]
        assert len(live) <= 4 and (deploy.replicas == 0 or live)


Workloads.TestCase.settings = settings(max_examples=25, stateful_step_count=15, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
TestWorkloads = Workloads.TestCase
