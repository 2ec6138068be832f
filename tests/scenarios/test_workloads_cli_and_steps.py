"""The workload commands through the CLI's journal and the scenario steps advance/failNode/recoverNode."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from netsim.api.errors import InvalidObject
from netsim.cli import describe, state, workloads
from netsim.cli.get import get
from netsim.cli.inputs import Inputs
from netsim.emulator import state as st
from netsim.verify.runner import build_emulator, run_steps
from netsim.verify.scenario import AdvanceStep, NodeStep, PatchStep, load_scenario
from netsim.api.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {netsim.dev/start-seconds: "2"}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports: [{containerPort: 80}]
        readinessProbe:
          httpGet: {path: /, port: 80}
          initialDelaySeconds: 3
          periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="netsim")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (state, workloads, describe):
        module.register(sub)
    args = parser.parse_args(list(argv))
    return args.handler(args)


def cluster_of(folder: Path):
    return Inputs(st.load(folder), folder).build()


@pytest.fixture()
def working(tmp_path: Path) -> Path:
    (tmp_path / "web.yaml").write_text(WEB)
    folder = tmp_path / "state"
    assert cli("up", "-f", str(tmp_path / "web.yaml"), "--state", str(folder)) == 0
    return folder


def test_advance_is_journaled_and_replayed(working: Path, capsys) -> None:
    assert cli("advance", "10", "--state", str(working)) == 0
    assert "2024-01-01T00:00:15Z" in capsys.readouterr().out   # build ran 5s (ready at 2 + 3), then 10 more
    journal = st.load(working).journal
    assert journal == ({"command": "advance", "seconds": 10.0},)
    cluster = cluster_of(working)
    assert cluster.clock.elapsed() == 15
    table = get(cluster, "pods", output="wide")
    assert table.splitlines()[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert all(" 1/1 " in line and "Running" in line and " 15s " in line for line in table.splitlines()[1:])


def test_node_fail_scale_delete_taint_through_the_cli(working: Path, capsys) -> None:
    assert cli("node", "fail", "kind-worker", "--state", str(working)) == 0
    assert cli("advance", "40", "--state", str(working)) == 0
    cluster = cluster_of(working)
    assert get(cluster, "nodes").splitlines()[2].split()[:2] == ["kind-worker", "NotReady"]
    assert cli("node", "recover", "kind-worker", "--state", str(working)) == 0
    assert cli("scale", "deployment/web", "--replicas=3", "--state", str(working)) == 0
    assert cli("taint", "node", "--all", "node-role.kubernetes.io/control-plane:NoSchedule-",
               "--state", str(working)) == 1      # the workers have no such taint: kubectl's errors, exit 1
    out, err = capsys.readouterr()
    assert err.count('error: taint "node-role.kubernetes.io/control-plane:NoSchedule" not found') == 2
    assert "deployment.apps/web scaled" in out and "node/kind-control-plane untainted" in out
    cluster = cluster_of(working)
    assert cluster.store.get("Node", "kind-worker").ready
    assert not cluster.store.get("Node", "kind-control-plane").taints
    assert len(cluster.store.list("Pod", "default")) == 3
    patch = working.parent / "v2.yaml"
    patch.write_text(WEB.split("---")[0].replace("nginx:1.25", "nginx:1.26"))
    assert cli("apply", "-f", str(patch), "--state", str(working)) == 0
    assert cli("advance", "30", "--state", str(working)) == 0
    assert cli("rollout", "undo", "deployment/web", "--state", str(working)) == 0
    assert cli("advance", "30", "--state", str(working)) == 0
    assert "deployment.apps/web rolled back" in capsys.readouterr().out
    cluster = cluster_of(working)
    assert {p.spec["containers"][0]["image"] for p in cluster.store.list("Pod", "default")} == {"nginx:1.25"}
    assert cli("delete", "deployment", "web", "--cascade=orphan", "--state", str(working)) == 0
    assert 'deployment.apps "web" deleted' in capsys.readouterr().out
    cluster = cluster_of(working)
    assert cluster.store.try_get("Deployment", "web", "default") is None
    assert len(cluster.store.list("ReplicaSet", "default")) == 2     # orphaned, as kubectl --cascade=orphan
    assert all(not r.owner_references for r in cluster.store.list("ReplicaSet", "default"))
    assert [e["command"] for e in st.load(working).journal] == ["node", "advance", "node", "scale", "taint", "apply",
                                                                "advance", "rollout-undo", "advance", "delete"]


def test_describe_pod_layout(working: Path, capsys) -> None:
    cluster = cluster_of(working)
    name = cluster.store.list("Pod", "default")[0].name
    text = describe.describe_pod(cluster.store, name, "default", cluster.clock.now())
    lines = text.splitlines()
    assert lines[0] == f"Name:             {name}"
    assert "Controlled By:  ReplicaSet/" in text
    assert "    Readiness:      http-get http://:80/ delay=3s timeout=1s period=5s #success=1 #failure=3" in lines
    assert "  Type                        Status" in lines and "  Ready                       True " in lines
    assert lines[lines.index("Events:") + 1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert any(line.split()[:2] == ["Normal", "Scheduled"] and "default-scheduler" in line for line in lines)


def test_tabwriter_blocks_like_go() -> None:
    assert describe.tabwrite("a:\tx\nlonger:\ty\nbreak\nz:\tw") == "a:       x\nlonger:  y\nbreak\nz:  w"


def test_scenario_steps_advance_fail_and_recover(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(WEB.replace("replicas: 2", "replicas: 3"))
    (tmp_path / "client.yaml").write_text((ROOT / "cluster/quickstart/client.yaml").read_text())
    topology = load_topology(ROOT / "topologies/three-node.yaml")
    probe = build_emulator(load_scenario(tmp_path), topology, 0).cluster.store
    client_node = probe.get("Pod", "client", "default").node_name
    failing = next(p.node_name for p in probe.list("Pod", "default") if p.node_name not in (client_node, ""))
    (tmp_path / "scenario.yaml").write_text(f"""\
apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {{name: node-failure}}
spec:
  steps:
  - failNode: {{name: {failing}}}
  - advance: {{seconds: 40}}
  - name: only ready endpoints
    send: {{from: pod/client, to: service/web:80, count: 12}}
    expect: {{deliveredTo: app=web}}
  - advance: {{seconds: 300}}
  - recoverNode: {{name: {failing}}}
""")
    scenario = load_scenario(tmp_path)
    assert isinstance(scenario.steps[0].action, NodeStep) and isinstance(scenario.steps[1].action, AdvanceStep)
    emulator = build_emulator(scenario, topology, 0)
    store = emulator.cluster.store
    reports = list(run_steps(scenario, emulator))
    send = reports[2]
    assert send.checks and all(c.passed for c in send.checks)
    reached = {o.pod.name for o in send.observations if o.pod is not None}
    assert reached and all(store.get("Pod", n, "default").node_name != failing for n in reached
                           if store.try_get("Pod", n, "default") is not None)
    web = [p for p in store.list("Pod", "default") if p.labels.get("app") == "web" and not p.deletion_timestamp]
    assert len(web) == 3 and reports[-1].action == "recoverNode"
    assert store.get("Node", failing).ready


def test_create_job_from_cronjob_and_workload_tables(working: Path, capsys) -> None:
    pytest.importorskip("croniter")
    extra = working.parent / "cron.yaml"
    extra.write_text("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: tick}\nspec:\n  schedule: '*/1 * * * *'\n"
                     "  suspend: true\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n"
                     "          annotations: {netsim.dev/run-seconds: '5'}\n        spec:\n"
                     "          restartPolicy: Never\n          containers:\n          - {name: work, image: busybox}\n")
    assert cli("apply", "-f", str(extra), "--state", str(working)) == 0
    assert cli("create", "job", "manual", "--from=cronjob/tick", "--state", str(working)) == 0
    assert "job.batch/manual created" in capsys.readouterr().out
    assert cli("advance", "20", "--state", str(working)) == 0
    cluster = cluster_of(working)
    jobs = get(cluster, "jobs").splitlines()
    assert jobs[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert jobs[1].split()[:4] == ["manual", "Complete", "1/1", "5s"]
    cron = get(cluster, "cronjobs").splitlines()
    assert cron[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert cron[1].split()[:6] == ["tick", "*/1", "*", "*", "*", "*"]


def test_scenario_patch_step_lets_a_stuck_claim_go(tmp_path: Path) -> None:
    (tmp_path / "claim.yaml").write_text("""\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, finalizers: [example.com/backup]}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
""")
    (tmp_path / "scenario.yaml").write_text("""\
apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {name: stuck-claim}
spec:
  steps:
  - delete: {kind: pvc, name: data}
  - name: the seed's kubectl edit
    patch: {kind: persistentvolumeclaims, name: data, type: merge, patch: {metadata: {finalizers: []}}}
""")
    scenario = load_scenario(tmp_path)
    assert isinstance(scenario.steps[1].action, PatchStep)
    emulator = build_emulator(scenario, load_topology(ROOT / "topologies/three-node.yaml"), 0)
    store = emulator.cluster.store
    steps = run_steps(scenario, emulator)
    next(steps)
    assert store.get("PersistentVolumeClaim", "data", "default").deletion_timestamp   # held by its finalizer
    report = next(steps)
    assert report.action == "patch" and "(merge)" in report.lines[0]
    assert store.try_get("PersistentVolumeClaim", "data", "default") is None


def test_scenario_patch_step_bad_type_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text("""\
apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {name: bad}
spec:
  steps:
  - patch: {kind: pvc, name: data, type: apply, patch: {}}
""")
    with pytest.raises(InvalidObject, match=r"spec\.steps\[0\]\.patch\.type: must be one of merge, json, strategic; got 'apply'"):
        load_scenario(tmp_path)
