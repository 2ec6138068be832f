"""A failed node's machine is down in the dataplane: nothing on it answers, and a Service answers from the
healthy node once the node lifecycle controller has taken the dead endpoints out of the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.errors import FieldError
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.dataplane.trace import Outcome
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  nodeName: {node}
  containers:
  - name: echo
    image: registry.k8s.io/e2e-test-images/agnhost:2.52
    ports: [{{name: http, containerPort: 8080}}]
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""
MANIFESTS = "---\n".join([POD.format(name="web-a", app="web", node="kind-worker"),
                          POD.format(name="web-b", app="web", node="kind-worker2"),
                          POD.format(name="client", app="client", node="kind-worker2"), SERVICE])


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(Cluster.build(TOPOLOGY, load_text(MANIFESTS, "test.yaml"), horizon=0.0))


def send(emulator: Emulator, to: str, count: int = 1) -> list:
    return [c.result for c in emulator.send(FlowSpec("t", "pod/client", to, count=count))]


def test_a_pod_on_a_failed_node_gets_no_answer(emulator: Emulator) -> None:
    ip = emulator.cluster.store.get("Pod", "web-a", "default").pod_ip
    assert send(emulator, f"{ip}:8080")[0].delivered
    emulator.cluster.fail_node("kind-worker")
    emulator.rebuild()
    (result,) = send(emulator, f"{ip}:8080")
    node_ip = emulator.cluster.store.get("Node", "kind-worker").internal_ip
    assert result.outcome is Outcome.UNREACHABLE
    assert result.reason == f"no ARP answer for {node_ip} on eth0 (EHOSTUNREACH)"
    assert not any(p.src == ip for p in result.received)      # nothing from the pod itself
    emulator.cluster.recover_node("kind-worker")
    emulator.rebuild()
    assert send(emulator, f"{ip}:8080")[0].delivered


def test_a_service_answers_from_the_healthy_node_once_the_dead_endpoints_are_not_ready(emulator: Emulator) -> None:
    cluster = emulator.cluster
    cluster.fail_node("kind-worker")
    emulator.rebuild()
    before = send(emulator, "service/web:80", count=16)     # the rules still hold web-a for 40s
    assert {r.host for r in before if r.delivered} == {"default/web-b"}
    assert any(r.outcome is Outcome.UNREACHABLE for r in before)
    cluster.advance(40)                                      # node-monitor-grace-period: web-a not ready
    assert not cluster.store.get("Pod", "web-a", "default").ready
    emulator.rebuild()
    after = send(emulator, "service/web:80", count=16)
    assert all(r.delivered and r.host == "default/web-b" for r in after)


def test_nothing_sends_from_a_down_machine(emulator: Emulator) -> None:
    emulator.cluster.fail_node("kind-worker2")
    emulator.rebuild()
    with pytest.raises(FieldError, match="pod default/client is on node kind-worker2, whose machine is down"):
        send(emulator, "service/web:80")
