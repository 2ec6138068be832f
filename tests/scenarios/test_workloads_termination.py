"""The seed's termination hazard: a pod that stops before kube-proxy removed it cuts connections; a preStop
sleep longer than the endpoint propagation delay avoids it (netsim.endpointPropagationSeconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.verify.runner import build_emulator, run_steps
from netsim.verify.scenario import load_scenario
from netsim.api.topology import load_topology_text

ROOT = Path(__file__).resolve().parents[2]

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: web}}}}
spec:
  nodeName: {node}
  containers:
  - name: echo
    image: registry.k8s.io/e2e-test-images/agnhost:2.52
    args: ["netexec", "--http-port=8080"]
    ports: [{{name: http, containerPort: 8080}}]
{prestop}"""
PRESTOP = "    lifecycle:\n      preStop:\n        exec: {command: [sleep, '5']}\n"
SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""
SCENARIO = """\
apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {name: termination}
spec:
  steps:
  - delete: {kind: Pod, name: web-a}
  - name: while kube-proxy still has web-a
    send: {from: pod/client, to: service/web:80, count: 12}
  - advance: {seconds: 2}
  - name: after the endpoint removal reached the rules
    send: {from: pod/client, to: service/web:80, count: 6}
    expect: {deliveredTo: app=web}
"""


def run(tmp_path: Path, prestop: str) -> list:
    (tmp_path / "web.yaml").write_text(POD.format(name="web-a", node="kind-worker", prestop=prestop) + "---\n"
                                       + POD.format(name="web-b", node="kind-worker2", prestop="") + "---\n" + SERVICE)
    (tmp_path / "client.yaml").write_text((ROOT / "cluster/quickstart/client.yaml").read_text())
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    text = (ROOT / "topologies/three-node.yaml").read_text().replace("netsim:\n",
                                                                     "netsim:\n  endpointPropagationSeconds: 2\n")
    topology = load_topology_text(text, "three-node-lagging.yaml")
    scenario = load_scenario(tmp_path)
    return list(run_steps(scenario, build_emulator(scenario, topology, 0)))


def outcomes(report) -> set[str]:
    return {o.pod.name if o.pod is not None else o.outcome.value for o in report.observations}


def test_without_prestop_connections_are_cut_until_kube_proxy_catches_up(tmp_path: Path) -> None:
    reports = run(tmp_path, "")
    window, after = reports[1], reports[3]
    assert "web-b" in outcomes(window) and outcomes(window) - {"web-b"}      # some hit the vanished web-a
    assert outcomes(after) == {"web-b"} and all(c.passed for c in after.checks)


def test_a_prestop_sleep_longer_than_the_propagation_delay_keeps_every_connection(tmp_path: Path) -> None:
    reports = run(tmp_path, PRESTOP)
    window, after = reports[1], reports[3]
    assert outcomes(window) == {"web-a", "web-b"}       # web-a is terminating but still serving
    assert outcomes(after) == {"web-b"}


def test_the_topology_field_is_validated() -> None:
    from netsim.api.errors import InvalidObject

    text = (ROOT / "topologies/three-node.yaml").read_text().replace("netsim:\n", "netsim:\n  endpointPropagationSeconds: -1\n")
    with pytest.raises(InvalidObject, match="endpointPropagationSeconds"):
        load_topology_text(text, "bad.yaml")
