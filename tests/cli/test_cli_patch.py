"""`netsim patch`: merge, json and strategic patches on the working cluster, kubectl's output lines, the journal."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from netsim.api.errors import FieldError
from netsim.api.patches import json_patch, patched
from netsim.api.objects import make_object
from netsim.cli import patch, state, workloads
from netsim.cli.inputs import Inputs
from netsim.emulator import state as st
from netsim.errors import NotImplementedFeature

APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: team, finalizers: [example.com/backup]}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx:1.25}]
"""


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="netsim")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (state, workloads, patch):
        module.register(sub)
    args = parser.parse_args(list(argv))
    return args.handler(args)


@pytest.fixture()
def working(tmp_path: Path) -> Path:
    (tmp_path / "app.yaml").write_text(APP)
    folder = tmp_path / "state"
    assert cli("up", "-f", str(tmp_path / "app.yaml"), "--state", str(folder)) == 0
    return folder


def cluster_of(folder: Path):
    return Inputs(st.load(folder), folder).build()


def test_merge_patch_of_finalizers_lets_the_stuck_claim_and_its_namespace_go(working: Path, capsys) -> None:
    assert cli("delete", "ns", "team", "--state", str(working)) == 0
    stuck = cluster_of(working)
    assert stuck.store.get("Namespace", "team").phase == "Terminating"
    assert stuck.store.get("PersistentVolumeClaim", "data", "team").finalizers == ("example.com/backup",)
    capsys.readouterr()
    assert cli("patch", "pvc", "data", "-n", "team", "-p", '{"metadata":{"finalizers":[]}}', "--type", "merge",
               "--state", str(working)) == 0
    assert capsys.readouterr().out == "persistentvolumeclaim/data patched\n"
    assert st.load(working).journal[-1] == {"command": "patch", "kind": "PersistentVolumeClaim", "name": "data",
                                            "namespace": "team", "type": "merge",
                                            "patch": {"metadata": {"finalizers": []}}}
    after = cluster_of(working)   # replayed from the journal
    assert after.store.try_get("PersistentVolumeClaim", "data", "team") is None
    assert after.store.try_get("Namespace", "team") is None


def test_no_change_is_reported_and_not_journaled(working: Path, capsys) -> None:
    journal = st.load(working).journal
    assert cli("patch", "deployment/web", "-n", "team", "-p", "spec: {replicas: 1}", "--state", str(working)) == 0
    assert capsys.readouterr().out.endswith("deployment.apps/web patched (no change)\n")
    assert st.load(working).journal == journal


def test_status_is_not_patched_through_the_main_resource(working: Path, capsys) -> None:
    assert cli("patch", "pvc", "data", "-n", "team", "--type", "merge", "-p", '{"status":{"phase":"Lost"}}',
               "--state", str(working)) == 0
    assert capsys.readouterr().out.endswith("persistentvolumeclaim/data patched (no change)\n")


def test_json_patch_scales_and_the_controllers_follow(working: Path, capsys) -> None:
    assert cli("patch", "deploy", "web", "-n", "team", "--type", "json",
               "-p", '[{"op":"replace","path":"/spec/replicas","value":3}]', "--state", str(working)) == 0
    assert capsys.readouterr().out.endswith("deployment.apps/web patched\n")
    cluster = cluster_of(working)
    assert len(cluster.store.list("Pod", "team")) == 3


def test_strategic_patch_where_it_equals_merge_and_refusal_where_it_does_not(working: Path, capsys) -> None:
    assert cli("patch", "pvc", "data", "-n", "team", "-p", '{"metadata":{"labels":{"tier":"db"}}}',
               "--state", str(working)) == 0
    assert capsys.readouterr().out.endswith("persistentvolumeclaim/data patched\n")
    assert cluster_of(working).store.get("PersistentVolumeClaim", "data", "team").labels == {"tier": "db"}
    with pytest.raises(NotImplementedFeature, match=r"metadata\.finalizers \(patchStrategy merge\)"):
        cli("patch", "pvc", "data", "-n", "team", "-p", '{"metadata":{"finalizers":[]}}', "--state", str(working))


def test_missing_patch_and_unknown_object(working: Path) -> None:
    with pytest.raises(FieldError, match="must specify --patch or --patch-file"):
        cli("patch", "pvc", "data", "-n", "team", "--state", str(working))
    with pytest.raises(Exception, match='persistentvolumeclaims "nope" not found'):
        cli("patch", "pvc", "nope", "-n", "team", "-p", "{}", "--state", str(working))


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    out = json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "remove", "path": "/c"},
                           {"op": "copy", "from": "/a/b/0", "path": "/d"}, {"op": "move", "from": "/d", "path": "/e"},
                           {"op": "test", "path": "/e", "value": 1}, {"op": "add", "path": "/a~1x", "value": True}])
    assert out == {"a": {"b": [1, 2, 3]}, "e": 1, "a/x": True} and doc == {"a": {"b": [1, 2]}, "c": "x"}
    with pytest.raises(FieldError, match='remove operation does not apply: doc is missing path: "/nope"'):
        json_patch(doc, [{"op": "remove", "path": "/nope"}])
    with pytest.raises(FieldError, match="testing value /c failed"):
        json_patch(doc, [{"op": "test", "path": "/c", "value": "y"}])


def test_a_patch_cannot_rename() -> None:
    cm = make_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default",
                                                                           "resourceVersion": "4"}})
    with pytest.raises(FieldError, match="cannot change metadata.name"):
        patched(cm, {"metadata": {"name": "b"}}, "merge")
