"""`netsim auth can-i`: kubectl's output, warnings and exit codes over a cluster's RBAC objects."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from netsim.cli import auth

RBAC_YAML = """\
apiVersion: v1
kind: Namespace
metadata: {name: dev}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ci, namespace: dev}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [nodes]
  verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-reads, namespace: dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects:
- {kind: ServiceAccount, name: ci}
- {kind: Group, name: auditors, apiGroup: rbac.authorization.k8s.io}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rbac")
    (path / "rbac.yaml").write_text(RBAC_YAML)
    return path


def run(folder: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    auth.register(parser.add_subparsers())
    args = parser.parse_args(["auth", "can-i", *argv, "-f", str(folder)])
    return args.handler(args)


SA = "system:serviceaccount:dev:ci"


def test_yes_and_no_with_exit_codes(folder: Path, capsys) -> None:
    assert run(folder, "list", "pods", "-n", "dev", "--as", SA) == 0
    assert capsys.readouterr().out == "yes\n"
    assert run(folder, "list", "pods", "-n", "default", "--as", SA) == 1
    assert capsys.readouterr().out == "no\n"
    assert run(folder, "delete", "po", "-n", "dev", "--as", SA) == 1          # short name resolves to pods
    assert run(folder, "get", "pods/log", "-n", "dev", "--as", SA) == 0
    assert run(folder, "get", "pods", "--subresource", "log", "-n", "dev", "--as", SA) == 0
    assert run(folder, "get", "pods", "-n", "dev", "--as", "bob", "--as-group", "auditors") == 0
    assert run(folder, "get", "pods", "-n", "dev", "--as", "bob") == 1
    assert run(folder, "get", "/healthz", "--as", "bob") == 0
    assert run(folder, "get", "/logs", "--as", "bob") == 1
    assert run(folder, "delete", "nodes") == 0                                  # kubernetes-admin: system:masters
    capsys.readouterr()


def test_quiet(folder: Path, capsys) -> None:
    assert run(folder, "list", "pods", "-n", "dev", "--as", SA, "-q") == 0
    assert capsys.readouterr().out == ""


def test_kubectl_warnings(folder: Path, capsys) -> None:
    """kubectl warns on a cluster-scoped resource and still sends the namespace; RBAC then matches the
    RoleBinding of that namespace, as real kubectl answers (the request a real `list nodes` makes has none)."""
    assert run(folder, "list", "nodes", "-n", "dev", "--as", SA) == 0
    out = capsys.readouterr()
    assert out.err == "Warning: resource 'nodes' is not namespace scoped\n" and out.out == "yes\n"
    assert run(folder, "list", "nodes", "-A", "--as", SA) == 1                 # no namespace: RoleBindings do not apply
    assert run(folder, "get", "widgets", "-n", "dev", "--as", SA) == 1
    assert capsys.readouterr().err == "Warning: the server doesn't have a resource type 'widgets'\n"


def test_list(folder: Path, capsys) -> None:
    assert run(folder, "--list", "-n", "dev", "--as", SA) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert lines[0].index("Non-Resource URLs") == lines[1].index("[]")
    body = [line.split() for line in lines[1:]]
    assert ["pods/log", "[]", "[]", "[get", "list", "watch]"] in body
    assert ["pods", "[]", "[]", "[get", "list", "watch]"] in body
    assert ["nodes", "[]", "[]", "[list]"] in body
    assert ["[/.well-known/openid-configuration/]", "[]", "[get]"] in body   # system:serviceaccounts' discovery


def test_usage_errors_exit_2(folder: Path) -> None:
    from netsim.errors import InputError

    with pytest.raises(InputError):
        run(folder, "get")
    with pytest.raises(InputError):
        run(folder, "--list", "get", "pods")
