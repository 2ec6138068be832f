"""Loading manifests: files, folders, List dumps, the round trip, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from netsim.api.errors import InvalidObject, YamlSyntaxError
from netsim.api.load import dump_yaml, load_paths, load_text

DATA = Path(__file__).resolve().parent.parent / "data"


def test_kubectl_list_dump_round_trips_with_no_field_lost() -> None:
    text = (DATA / "kind-dump.yaml").read_text()
    loaded = load_paths([DATA / "kind-dump.yaml"])
    assert [m.obj.kind for m in loaded][:3] == ["Namespace", "Namespace", "Node"]
    dumped = dump_yaml([m.obj for m in loaded])
    assert yaml.safe_load(dumped) == yaml.safe_load(text)
    # timestamps stay strings, exactly as written
    pod = next(m.obj for m in loaded if m.obj.kind == "Pod")
    assert pod.creation_timestamp == "2024-05-02T09:14:17Z"
    assert pod.get("status.containerStatuses")[0]["state"]["running"]["startedAt"] == "2024-05-02T09:14:28Z"


def test_typed_access_on_a_real_dump() -> None:
    objs = {m.obj.ref: m.obj for m in load_paths([DATA / "kind-dump.yaml"])}
    node = objs["Node kind-control-plane"]
    assert node.internal_ip == "172.18.0.2"
    assert node.pod_cidrs == ("10.244.0.0/24",)
    assert [str(t) for t in node.taints] == ["node-role.kubernetes.io/control-plane:NoSchedule"]
    assert node.ready
    svc = objs["Service kube-system/kube-dns"]
    assert [(p.name, p.protocol, p.port) for p in svc.ports] == [
        ("dns", "UDP", 53), ("dns-tcp", "TCP", 53), ("metrics", "TCP", 9153)]
    assert dict(svc.selector) == {"k8s-app": "kube-dns"}
    pod = objs["Pod kube-system/coredns-7db6d8ff4d-5kx2n"]
    assert pod.ready and pod.pod_ip == "10.244.0.3" and pod.node_name == "kind-control-plane"
    assert pod.controller_ref.kind == "ReplicaSet"
    assert pod.named_port("dns", "UDP") == 53
    slice_ = objs["EndpointSlice kube-system/kube-dns-7m6vq"]
    assert slice_.service_name == "kube-dns"
    assert slice_.endpoints[0].conditions.ready is True


def test_multi_document_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n")
    (tmp_path / "b" / "c.yml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: three}\n")
    (tmp_path / "notes.txt").write_text("not a manifest")
    loaded = load_paths([tmp_path])
    assert [m.obj.name for m in loaded] == ["one", "two", "three"]
    assert [m.origin.document for m in loaded] == [1, 3, 1]


def error_for(text: str) -> str:
    with pytest.raises((InvalidObject, YamlSyntaxError)) as info:
        load_text(text, "cluster/web.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


SVC = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  ports:\n  - port: {port}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a: 1\n---\nkind: a: b\n", "cluster/web.yaml: document 2: invalid YAML at line 3",
                     id="yaml-syntax"),
        pytest.param("apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n",
                     'cluster/web.yaml: document 1 (Widget w): kind: unknown kind "Widget"', id="unknown-kind"),
        pytest.param("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: three\n"
                     "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
                     "    spec: {containers: [{name: c, image: nginx}]}\n",
                     'cluster/web.yaml: document 1 (Deployment default/web): spec.replicas: must be an integer, '
                     'got string "three"', id="wrong-type"),
        pytest.param(SVC.format(port=70000),
                     "cluster/web.yaml: document 1 (Service default/web): spec.ports[0].port: must be between 1 "
                     "and 65535, got 70000", id="out-of-range"),
        pytest.param("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
                     "  selector: {matchExpressions: [{key: app, operator: Near, values: [a]}]}\n"
                     "  template:\n    metadata: {labels: {app: web}}\n"
                     "    spec: {containers: [{name: c, image: nginx}]}\n",
                     "cluster/web.yaml: document 1 (Deployment default/web): spec.selector.matchExpressions[0].operator",
                     id="invalid-selector"),
        pytest.param("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
                     "    image: nginx\n    resources: {requests: {cpu: 12xyz}}\n",
                     "cluster/web.yaml: document 1 (Pod default/p): spec.containers[0].resources.requests.cpu: ",
                     id="invalid-quantity"),
        pytest.param("apiVersion: v1\nkind: Node\nmetadata: {name: n1, namespace: default}\n",
                     'cluster/web.yaml: document 1 (Node default/n1): metadata.namespace: Node is cluster-scoped '
                     'and must not have a namespace, got "default"', id="cluster-scoped-with-namespace"),
        pytest.param("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n",
                     "cluster/web.yaml: document 1 (Pod default/p): spec.containers: is required", id="missing-field"),
        pytest.param("apiVersion: v1\nkind: Service\nmetadata: {name: Web}\n",
                     'cluster/web.yaml: document 1 (Service default/Web): metadata.name: must be a DNS-1035 label',
                     id="bad-name"),
        pytest.param("apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: ok}\n"
                     "- apiVersion: v2\n  kind: ConfigMap\n  metadata: {name: bad}\nkind: List\n",
                     'cluster/web.yaml: document 1 (List item 1: ConfigMap default/bad): apiVersion: ConfigMap is served as '
                     'v1, got "v2"', id="list-item"),
    ],
)
def test_bad_input_names_file_document_object_and_field(text: str, expected: str) -> None:
    assert error_for(text).startswith(expected)


def test_missing_namespace_is_reported_at_its_place_and_nothing_is_kept() -> None:
    import numpy as np

    from netsim.api.apply import apply_manifests
    from netsim.api.store import Store

    store = Store(clock=lambda: 0.0, rng=np.random.default_rng(0))
    manifests = load_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lost, namespace: nowhere}\n",
        "cluster/app.yaml",
    )
    before = store.resource_version
    with pytest.raises(InvalidObject) as info:
        apply_manifests(store, manifests)
    assert str(info.value) == ('cluster/app.yaml: document 2 (ConfigMap nowhere/lost): metadata.namespace: '
                               'namespaces "nowhere" not found')
    assert store.resource_version == before
    assert store.try_get("ConfigMap", "ok", "default") is None


def test_namespace_defined_later_in_the_same_input_is_fine() -> None:
    import numpy as np

    from netsim.api.apply import apply_manifests
    from netsim.api.store import Store

    store = Store(clock=lambda: 0.0, rng=np.random.default_rng(0))
    manifests = load_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: team}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n", "x.yaml")
    objs = apply_manifests(store, manifests)
    assert [o.ref for o in objs] == ["ConfigMap team/a", "Namespace team"]
