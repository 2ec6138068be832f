"""The seed's stuck namespace, end to end through the commands: Terminating, why, the finalizer patched away, gone.

A claim used by a pod on a node that has stopped: deleting the namespace
leaves the pod Terminating (no kubelet confirms it), so pvc-protection keeps
the claim, and the namespace controller's conditions say so. Patching the
claim's finalizers to [] (the seed's `kubectl edit`) lets the claim go; the
namespace still waits for the pod until its node is back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from netsim.cli import describe, patch, state, workloads
from netsim.cli.inputs import Inputs
from netsim.emulator import state as st

APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: prometheus}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: prometheus}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 8Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: prometheus-0, namespace: prometheus}
spec:
  nodeSelector: {kubernetes.io/hostname: kind-worker}
  containers: [{name: prometheus, image: prom/prometheus:v2.53.0}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"""


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="netsim")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (state, workloads, patch, describe):
        module.register(sub)
    args = parser.parse_args(list(argv))
    return args.handler(args)


def conditions(folder: Path) -> dict[str, tuple[str, str]]:
    ns = Inputs(st.load(folder), folder).build().store.get("Namespace", "prometheus")
    return {c["type"]: (c["status"], c["message"]) for c in ns.status["conditions"]}


def test_stuck_namespace_is_explained_then_released(tmp_path: Path, capsys) -> None:
    (tmp_path / "app.yaml").write_text(APP)
    folder = str(tmp_path / "state")
    assert cli("up", "-f", str(tmp_path / "app.yaml"), "--state", folder) == 0
    assert cli("node", "fail", "kind-worker", "--state", folder) == 0
    assert cli("delete", "namespace", "prometheus", "--state", folder) == 0
    assert cli("advance", "600", "--state", folder) == 0
    capsys.readouterr()

    assert cli("describe", "ns", "prometheus", "--state", folder) == 0
    out = capsys.readouterr().out
    assert "Status:       Terminating\n" in out
    assert ("SomeResourcesRemain   Some resources are remaining: persistentvolumeclaims. has 1 resource instances, "
            "pods. has 1 resource instances\n") in out
    assert ("SomeFinalizersRemain  Some content in the namespace has finalizers remaining: "
            "kubernetes.io/pvc-protection in 1 resource instances\n") in out
    assert cli("describe", "pvc", "data", "-n", "prometheus", "--state", folder) == 0
    out = capsys.readouterr().out
    assert "Status:        Terminating (lasts 10m)\n" in out and "Finalizers:    [kubernetes.io/pvc-protection]\n" in out
    assert "Used By:       prometheus-0\n" in out

    assert cli("patch", "pvc", "data", "-n", "prometheus", "-p", '{"metadata":{"finalizers":[]}}', "--type", "merge",
               "--state", folder) == 0
    assert capsys.readouterr().out == "persistentvolumeclaim/data patched\n"
    now = conditions(Path(folder))
    assert now["NamespaceContentRemaining"] == ("True", "Some resources are remaining: pods. has 1 resource instances")
    assert now["NamespaceFinalizersRemaining"] == ("False", "All content-preserving finalizers finished")

    assert cli("node", "recover", "kind-worker", "--state", folder) == 0
    cluster = Inputs(st.load(Path(folder)), Path(folder)).build()
    assert cluster.store.try_get("Namespace", "prometheus") is None
    assert [c["command"] for c in st.load(Path(folder)).journal] == ["node", "delete", "advance", "patch", "node"]
