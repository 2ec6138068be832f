"""A node that is shut down or deleted, through the CLI's journal: a StatefulSet pod stays Terminating after the
taint-based eviction until the node gets the `node.kubernetes.io/out-of-service` taint, then comes back on
another node; a deleted node's Deployment pods are replaced once PodGC's quarantine is over, and the node's
machine is gone from the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.cli.get import get
from netsim.cli.inputs import Inputs
from netsim.cli.main import main
from netsim.emulator import state as st
from netsim.emulator.emulator import Emulator

APPS = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:16, ports: [{containerPort: 5432}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx:1.25, ports: [{containerPort: 80}]}]
"""


def cli(*argv: str) -> int:
    return main(list(argv))


def cluster_of(folder: Path):
    return Inputs(st.load(folder), folder).build()


@pytest.fixture()
def working(tmp_path: Path) -> Path:
    (tmp_path / "apps.yaml").write_text(APPS)
    folder = tmp_path / "state"
    assert cli("up", "-f", str(tmp_path / "apps.yaml"), "--state", str(folder)) == 0
    return folder


def pod_row(cluster, name: str) -> list[str]:
    """NAME READY STATUS RESTARTS AGE IP NODE of one pod in `get pods -o wide`."""
    for line in get(cluster, "pods", output="wide").splitlines()[1:]:
        if line.split()[0] == name:
            return line.split()
    raise AssertionError(f"no pod {name}")


def test_a_statefulset_pod_on_a_shut_down_node_comes_back_only_with_the_out_of_service_taint(working: Path,
                                                                                             capsys) -> None:
    state = str(working)
    before = cluster_of(working).store.get("Pod", "db-0", "default")
    node = before.node_name
    assert cli("node", "fail", node, "--state", state) == 0
    assert cli("advance", "345", "--state", state) == 0   # NotReady at 40s, evicted at 340s (300s toleration)
    cluster = cluster_of(working)
    assert pod_row(cluster, "db-0")[2] == "Terminating" and pod_row(cluster, "db-0")[6] == node
    assert cli("advance", "600", "--state", state) == 0
    cluster = cluster_of(working)
    stuck = cluster.store.get("Pod", "db-0", "default")
    assert stuck.uid == before.uid and stuck.deletion_timestamp   # no kubelet confirms: stuck for good
    assert cli("taint", "node", node, "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute",
               "--state", state) == 0
    assert f"node/{node} tainted" in capsys.readouterr().out
    taint = [t for t in cluster_of(working).store.get("Node", node).spec["taints"]
             if t["key"] == "node.kubernetes.io/out-of-service"]
    assert taint == [{"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute", "value": "nodeshutdown",
                      "timeAdded": taint[0]["timeAdded"]}]
    assert cluster_of(working).store.get("Pod", "db-0", "default").uid == before.uid   # PodGC's next pass: 960s
    assert cli("advance", "15", "--state", state) == 0
    cluster = cluster_of(working)
    back = cluster.store.get("Pod", "db-0", "default")
    assert back.uid != before.uid and back.node_name not in (node, "kind-control-plane")
    assert pod_row(cluster, "db-0")[1:3] == ["1/1", "Running"]
    assert not [p for p in cluster.store.list("Pod", "default") if p.node_name == node]


def test_a_deleted_nodes_deployment_pods_are_replaced_after_the_quarantine(working: Path, capsys) -> None:
    state = str(working)
    lost = {p.name for p in cluster_of(working).store.list("Pod", "default")
            if p.node_name == "kind-worker" and p.labels.get("app") == "web"}
    assert lost
    assert cli("advance", "5", "--state", state) == 0
    assert cli("delete", "node", "kind-worker", "--state", state) == 0
    assert 'node "kind-worker" deleted' in capsys.readouterr().out
    cluster = cluster_of(working)
    assert [line.split()[0] for line in get(cluster, "nodes").splitlines()[1:]] == ["kind-control-plane",
                                                                                   "kind-worker2"]
    assert "kind-worker" not in Emulator(cluster).network.hosts   # the machine is off the network
    assert {pod_row(cluster, name)[6] for name in lost} == {"kind-worker"}   # orphans, still listed
    assert cli("advance", "54", "--state", state) == 0    # 59s: quarantined at the 20s pass until 60s
    assert lost <= {p.name for p in cluster_of(working).store.list("Pod", "default")}
    assert cli("advance", "1", "--state", state) == 0
    cluster = cluster_of(working)
    web = cluster.store.list("Pod", "default", where=lambda p: p.labels.get("app") == "web")
    assert not lost & {p.name for p in web} and len(web) == 2
    assert all(p.node_name == "kind-worker2" and p.phase == "Running" for p in web)
