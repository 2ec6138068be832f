"""The `netsim` command: get with kubectl's columns, iptables-save, up/apply with a state folder, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from netsim.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_get_pods_wide(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "get", "pods", "-o", "wide")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                                "READINESS", "GATES"]
    assert any(line.startswith("client ") and "Running" in line and "10.244." in line for line in lines)


def test_get_services_all_namespaces(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "get", "svc", "-A")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert "kubernetes   ClusterIP   10.96.0.1" in out


def test_get_name_output_and_missing_object(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "get", "deploy", "-o", "name")
    assert (code, out) == (0, "deployment.apps/web\n")
    code, out, err = run(capsys, "get", "pod", "nope")
    assert code == 2 and err == 'error: pods "nope" not found\n'


def test_bad_manifest_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 70000}]\n")
    proc = subprocess.run([sys.executable, "-m", "netsim.cli.main", "get", "svc", "-f", str(bad)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr == (f"error: {bad}: document 1 (Service default/web): spec.ports[0].port: must be between 1 "
                           f"and 65535, got 70000\n")
    assert "Traceback" not in proc.stderr


def test_up_then_apply_then_get_from_the_state_folder(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    state = tmp_path / "state"
    code, out, _ = run(capsys, "up", "--state", str(state))
    assert code == 0 and "3 nodes" in out
    extra = tmp_path / "extra.yaml"
    extra.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: extra}\n"
                     "spec: {containers: [{name: c, image: busybox}]}\n")
    code, out, _ = run(capsys, "apply", "--state", str(state), "-f", str(extra))
    assert (code, out) == (0, "pod/extra created\n")
    code, out, _ = run(capsys, "get", "pods", "--state", str(state), "-o", "name")
    assert "pod/extra\n" in out and "pod/client\n" in out
    # replaying the same folder gives the same cluster, byte for byte
    first = run(capsys, "get", "pods", "-A", "--state", str(state), "-o", "yaml")[1]
    second = run(capsys, "get", "pods", "-A", "--state", str(state), "-o", "yaml")[1]
    assert first == second
    # a failed apply leaves the state as it was
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: nowhere}\n"
                      "spec: {containers: [{name: c, image: busybox}]}\n")
    before = (state / "cluster.yaml").read_text()
    code, _, err = run(capsys, "apply", "--state", str(state), "-f", str(broken))
    assert code == 2 and 'namespaces "nowhere" not found' in err
    assert (state / "cluster.yaml").read_text() == before


def test_missing_state_folder_is_a_clear_error(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "apply", "--state", str(tmp_path / "none"), "-f", "x.yaml")
    assert code == 2 and "run `netsim up` first" in err


BAD_INPUTS = {
    "yaml-syntax": ("kind: a: b\n", "document 1: invalid YAML at line 1"),
    "unknown-kind": ("apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n", 'kind: unknown kind "Widget"'),
    "wrong-type": ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: '80'}]}\n",
                   "(Service default/web): spec.ports[0].port: must be an integer"),
    "invalid-selector": ("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\nspec:\n"
                         "  selector: {matchExpressions: [{key: app, operator: In}]}\n"
                         "  template: {spec: {containers: [{name: c, image: x}]}}\n",
                         "(ReplicaSet default/rs): spec.selector.matchExpressions[0].values"),
    "invalid-quantity": ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                         "  - {name: c, image: x, resources: {limits: {memory: 1Gb}}}\n",
                         "(Pod default/p): spec.containers[0].resources.limits.memory"),
    "missing-namespace": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nowhere}\n",
                          '(ConfigMap nowhere/c): metadata.namespace: namespaces "nowhere" not found'),
    "cluster-scoped-with-namespace": ("apiVersion: v1\nkind: Namespace\nmetadata: {name: x, namespace: default}\n",
                                      "(Namespace default/x): metadata.namespace: Namespace is cluster-scoped"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_each_kind_of_bad_input_is_one_line_and_exit_2(case: str, capsys, tmp_path: Path,
                                                                          monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    good = tmp_path / "a-good.yaml"
    good.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n")
    bad = tmp_path / "b-bad.yaml"
    text, expected = BAD_INPUTS[case]
    bad.write_text(text)
    code, out, err = run(capsys, "get", "configmaps", "-f", str(tmp_path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {bad}: document 1")
    assert expected in err


def test_apply_says_created_configured_unchanged(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    state = tmp_path / "state"
    run(capsys, "up", "--state", str(state))
    cm = tmp_path / "cm.yaml"
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n")
    assert run(capsys, "apply", "--state", str(state), "-f", str(cm))[1] == "configmap/c created\n"
    assert run(capsys, "apply", "--state", str(state), "-f", str(cm))[1] == "configmap/c unchanged\n"
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '2'}\n")
    assert run(capsys, "apply", "--state", str(state), "-f", str(cm))[1] == "configmap/c configured\n"
