"""ServiceAccounts: the default account and kube-root-ca.crt in every namespace, and the admission plugin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netsim.api.apply import apply_manifests
from netsim.api.errors import Forbidden, InvalidObject
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.auth.certificates import ca_for_seed
from netsim.controllers.serviceaccount import DESCRIPTION, TOKEN_MOUNT_PATH
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
MOUNT_NAME = re.compile(r"^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$")


def _build(text: str = "") -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "sa.yaml") if text else [], seed=0)


def _pod(name: str, extra: str = "", namespace: str = "default",
         containers: str = "[{name: c, image: busybox}]") -> str:
    return (f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
            f"spec:\n  containers: {containers}\n{extra}")


def test_every_namespace_gets_the_default_account_and_the_root_ca() -> None:
    cluster = _build("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    store = cluster.store
    names = [ns.name for ns in store.list("Namespace")]
    assert [sa.namespace for sa in store.list("ServiceAccount") if sa.name == "default"] == names
    pem = ca_for_seed(0, cluster.clock.start).pem.decode()
    for ns in names:
        cm = store.get("ConfigMap", "kube-root-ca.crt", ns)
        assert cm.get("data") == {"ca.crt": pem}
        assert cm.annotations == {"kubernetes.io/description": DESCRIPTION}
    assert DESCRIPTION.startswith("Contains a CA bundle that can be used to verify the kube-apiserver")


def test_deleted_account_and_changed_configmap_are_put_back() -> None:
    cluster = _build()
    store = cluster.store
    store.delete("ServiceAccount", "default", "kube-public")
    cm = store.get("ConfigMap", "kube-root-ca.crt", "default")
    store.update(cm.evolve(lambda d: d.__setitem__("data", {"ca.crt": "tampered"})))
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "late"}})
    cluster.settle()
    assert store.try_get("ServiceAccount", "default", "kube-public") is not None
    assert store.get("ConfigMap", "kube-root-ca.crt", "default").get("data")["ca.crt"].startswith("-----BEGIN")
    assert store.try_get("ServiceAccount", "default", "late") is not None
    assert store.try_get("ConfigMap", "kube-root-ca.crt", "late") is not None


def test_pod_gets_the_projected_token_volume_in_every_container() -> None:
    containers = "[{name: a, image: busybox}, {name: b, image: busybox}]\n  initContainers: [{name: i, image: busybox}]"
    store = _build(_pod("app", containers=containers)).store
    spec = store.get("Pod", "app", "default").spec
    [volume] = spec["volumes"]
    assert MOUNT_NAME.match(volume["name"])
    assert volume["projected"] == {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}
    mount = {"name": volume["name"], "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}
    assert [c["volumeMounts"] for c in spec["initContainers"] + spec["containers"]] == [[mount]] * 3
    assert spec["serviceAccountName"] == "default"


def test_automount_false_on_the_pod_or_its_account_mounts_nothing() -> None:
    text = ("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet}\nautomountServiceAccountToken: false\n"
            + _pod("nomount", "  automountServiceAccountToken: false\n")
            + _pod("quiet", "  serviceAccountName: quiet\n")
            + _pod("override", "  serviceAccountName: quiet\n  automountServiceAccountToken: true\n"))
    store = _build(text).store
    assert "volumes" not in store.get("Pod", "nomount", "default").spec
    assert "volumes" not in store.get("Pod", "quiet", "default").spec
    assert MOUNT_NAME.match(store.get("Pod", "override", "default").spec["volumes"][0]["name"])


def test_an_existing_mount_at_the_token_path_is_kept() -> None:
    own = ("[{name: c, image: busybox, volumeMounts: [{name: mine, mountPath: " + TOKEN_MOUNT_PATH + "}]}]"
           "\n  volumes: [{name: mine, emptyDir: {}}]")
    store = _build(_pod("app", containers=own)).store
    spec = store.get("Pod", "app", "default").spec
    assert [v["name"] for v in spec["volumes"]] == ["mine"]
    assert spec["containers"][0]["volumeMounts"] == [{"name": "mine", "mountPath": TOKEN_MOUNT_PATH}]


def test_pod_naming_a_missing_account_is_forbidden() -> None:
    cluster = _build()
    with pytest.raises(InvalidObject) as err:
        apply_manifests(cluster.store, load_text(_pod("app", "  serviceAccountName: robot\n"), "pod.yaml"))
    assert str(err.value).endswith('pods "app" is forbidden: error looking up service account default/robot: '
                                   'serviceaccount "robot" not found')
    with pytest.raises(Forbidden):
        cluster.store.create(load_text(_pod("app", "  serviceAccountName: robot\n"))[0].obj)


def test_namespace_and_pod_in_one_batch_and_template_pods_are_admitted() -> None:
    text = ("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n" + _pod("app", namespace="shop")
            + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
            "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
            "    spec: {containers: [{name: c, image: nginx}]}\n")
    store = _build(text).store
    pods = store.list("Pod", "shop")
    assert len(pods) == 2 and all(MOUNT_NAME.match(p.spec["volumes"][0]["name"]) for p in pods)
    assert "volumes" not in store.get("Deployment", "web", "shop").get("spec.template.spec")
