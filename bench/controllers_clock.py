"""How long the control plane takes to build and run a cluster of many pods on the simulated clock.

Run: `.venv/bin/python bench/controllers_clock.py [--pods 100 300 1000] [--deployments 10]`.
Prints figures, asserts nothing.

What is timed, for each pod count: `Cluster.build` of topologies/three-zone.yaml
with that many pods spread over `--deployments` Deployments (each behind a
Service, pods with a readiness delay so they start and become ready on the
clock), then a rolling update of every Deployment (a template change) run to
completion with `advance`, then a node failure run past the eviction timeout
(340 s) so the failed node's pods are replaced. Each phase reports wall
seconds and the store's resourceVersion growth (writes), the measure of how
much work the controllers and kubelets did.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[1]

DEPLOYMENT = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{index}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: app{index}}}}}
  template:
    metadata:
      labels: {{app: app{index}}}
      annotations: {{netsim.dev/start-seconds: "2", netsim.dev/ready-seconds: "3"}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
        readinessProbe: {{httpGet: {{path: /, port: 80}}, periodSeconds: 5}}
---
apiVersion: v1
kind: Service
metadata: {{name: app{index}}}
spec:
  selector: {{app: app{index}}}
  ports: [{{port: 80}}]
"""


def _phase(cluster: Cluster, label: str, action) -> None:
    before, start = cluster.store.resource_version, time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    writes = cluster.store.resource_version - before
    print(f"  {label:<34} {seconds:8.2f} s  {writes:7d} writes  {writes / max(seconds, 1e-9):9.0f} writes/s")


def run(pods: int, deployments: int) -> None:
    topology = load_topology(ROOT / "topologies/three-zone.yaml")
    per = max(1, pods // deployments)
    text = "".join(DEPLOYMENT.format(index=i, replicas=per) for i in range(deployments))
    manifests = load_text(text, "bench.yaml")
    print(f"{per * deployments} pods in {deployments} Deployments on {len(topology.nodes)} nodes")
    holder: dict[str, Cluster] = {}

    def build() -> None:
        holder["cluster"] = Cluster.build(topology, manifests, seed=0)

    start, t0 = time.perf_counter(), time.perf_counter()
    build()
    cluster = holder["cluster"]
    print(f"  {'build (apply, schedule, start, ready)':<34} {time.perf_counter() - t0:8.2f} s  "
          f"{cluster.store.resource_version:7d} writes")

    def roll() -> None:
        for i in range(deployments):
            cluster.store.patch("Deployment", f"app{i}", "default",
                                {"spec": {"template": {"metadata": {"labels": {"rev": "2"}}}}})
        cluster.advance(600)

    _phase(cluster, "rolling update of every Deployment", roll)
    worker = sorted(n.name for n in cluster.store.list("Node") if "control-plane" not in n.name)[0]

    def fail() -> None:
        cluster.fail_node(worker)
        cluster.advance(400)

    _phase(cluster, f"fail {worker}, run 400 s", fail)
    print(f"  total {time.perf_counter() - start:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--deployments", type=int, default=10)
    args = parser.parse_args()
    for pods in args.pods:
        run(pods, args.deployments)


if __name__ == "__main__":
    main()
