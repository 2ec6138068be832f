"""Running steps: inline apply, each delete cascade, scale; the network follows the api state after each change."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.api.topology import load_topology
from netsim.verify.distribution import distribution
from netsim.emulator.traffic import FlowSpec
from netsim.verify.probe import ClusterProbe
from netsim.verify.runner import build_emulator, run_steps
from netsim.verify.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "topologies/three-node.yaml"


def write(tmp_path: Path, steps: str) -> Path:
    (tmp_path / "web.yaml").write_text((ROOT / "cluster/quickstart/web.yaml").read_text())
    (tmp_path / "client.yaml").write_text((ROOT / "cluster/quickstart/client.yaml").read_text())
    (tmp_path / "scenario.yaml").write_text(f"""apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {{name: t}}
spec:
  topology: {TOPOLOGY}
  steps:
{steps}""")
    return tmp_path


def run(folder: Path):
    scenario = load_scenario(folder)
    emulator = build_emulator(scenario, load_topology(TOPOLOGY), 0)
    return emulator, list(run_steps(scenario, emulator))


def test_orphan_keeps_pods_serving_background_removes_them(tmp_path: Path) -> None:
    emulator, reports = run(write(tmp_path, """  - delete: {kind: Deployment, name: web, cascade: orphan}
  - send: {from: pod/client, to: service/web:80, count: 6}
    expect: {deliveredTo: app=web}
"""))
    assert [r.action for r in reports] == ["delete", "send"] and reports[1].passed
    store = emulator.cluster.store
    assert store.try_get("Deployment", "web", "default") is None
    (rs,) = [r for r in store.list("ReplicaSet") if r.name.startswith("web-")]
    assert not rs.to_dict()["metadata"].get("ownerReferences")
    # now delete the orphaned ReplicaSet in the background: its pods go, the Service rejects
    more = f"""  - delete: {{kind: rs, name: {rs.name}}}
  - send: {{from: pod/client, to: service/web:80}}
    expect: {{outcome: rejected}}
"""
    (tmp_path / "scenario.yaml").write_text((tmp_path / "scenario.yaml").read_text() + more)
    emulator, reports = run(tmp_path)
    assert [r.action for r in reports] == ["delete", "send", "delete", "send"]
    assert all(r.passed for r in reports), [c.format() for r in reports for c in r.checks]
    assert not [p for p in emulator.cluster.store.list("Pod") if p.labels.get("app") == "web"]


def test_inline_apply_adds_a_service_the_next_send_reaches(tmp_path: Path) -> None:
    emulator, reports = run(write(tmp_path, """  - apply:
      manifests:
      - apiVersion: v1
        kind: Service
        metadata: {name: web2}
        spec:
          selector: {app: web}
          ports: [{port: 81, targetPort: 8080}]
  - send: {from: pod/client, to: service/web2:81, count: 4}
    expect: {deliveredTo: app=web, clientIP: kept}
  - scale: {kind: deploy, name: web, replicas: 4}
  - send: {from: pod/client, to: service/web2:81, count: 200}
    expect: {split: {even: app=web, tolerance: 0.1}}
"""))
    assert reports[0].lines[0] == "apply: Service default/web2"
    assert all(r.passed for r in reports), [c.format() for r in reports for c in r.checks]
    assert len({o.pod.label for o in reports[3].observations}) == 4


@settings(max_examples=8)
@given(st.integers(1, 6), st.integers(0, 2**16))
def test_the_cascade_holds_exactly_the_ready_endpoints(replicas: int, seed: int) -> None:
    probe = ClusterProbe.load(ROOT / "cluster/quickstart", seed=seed)
    probe.scale("Deployment", "web", replicas)
    result = distribution(probe.emulator, FlowSpec("t", "pod/client", "service/web:80"), 100, sample=replicas * 3)
    ready = {f"{a}:8080" for s in probe.store.list("EndpointSlice") if s.service_name == "web"
             for e in s.endpoints if e.conditions.ready is not False for a in e.addresses}
    assert {e.destination for e in result.cascade.endpoints} == ready
    assert len(ready) == replicas
    assert sum(result.expected) == 1.0 or abs(sum(result.expected) - 1) < 1e-9
    assert result.sample_outside == ()
