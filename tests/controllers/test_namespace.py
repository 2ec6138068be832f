"""The namespace controller: deletion conditions while content remains, updated as it goes, then the namespace gone."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.controllers.namespace import deletion_failures, updated_conditions
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]

HELD = """\
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team, finalizers: [example.com/hold, example.com/audit]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other, namespace: team, finalizers: [example.com/hold]}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: team, finalizers: [example.com/hold]}
"""


def _build(text: str) -> Cluster:
    return Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), load_text(text), seed=0)


def _conditions(cluster: Cluster) -> dict[str, tuple[str, str, str, str]]:
    ns = cluster.store.get("Namespace", "team")
    return {c["type"]: (c["status"], c["reason"], c["message"], c["lastTransitionTime"])
            for c in ns.status["conditions"]}


def test_terminating_namespace_lists_what_remains_and_which_finalizers_hold_it() -> None:
    cluster = _build(HELD)
    cluster.store.delete("Namespace", "team")
    cluster.settle()
    ns = cluster.store.get("Namespace", "team")
    assert ns.status["phase"] == "Terminating" and ns.spec["finalizers"] == ["kubernetes"]
    assert [c["type"] for c in ns.status["conditions"]] == [
        "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
        "NamespaceDeletionContentFailure", "NamespaceContentRemaining", "NamespaceFinalizersRemaining"]
    got = _conditions(cluster)
    assert got["NamespaceDeletionDiscoveryFailure"][:3] == ("False", "ResourcesDiscovered",
                                                            "All resources successfully discovered")
    assert got["NamespaceDeletionContentFailure"][:2] == ("False", "ContentDeleted")
    assert got["NamespaceContentRemaining"][:3] == (
        "True", "SomeResourcesRemain",
        "Some resources are remaining: configmaps. has 2 resource instances, secrets. has 1 resource instances")
    assert got["NamespaceFinalizersRemaining"][:3] == (
        "True", "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: example.com/audit in 1 resource instances, "
        "example.com/hold in 3 resource instances")


def test_conditions_follow_the_content_and_the_namespace_goes_with_the_last_object() -> None:
    cluster = _build(HELD)
    cluster.store.delete("Namespace", "team")
    cluster.settle()
    first = _conditions(cluster)
    cluster.advance(60)
    for name, kind in (("other", "ConfigMap"), ("token", "Secret")):
        cluster.store.patch(kind, name, "team", {"metadata": {"finalizers": None}})
    cluster.settle()
    later = _conditions(cluster)
    assert later["NamespaceContentRemaining"][2] == "Some resources are remaining: configmaps. has 1 resource instances"
    assert later["NamespaceFinalizersRemaining"][2] == ("Some content in the namespace has finalizers remaining: "
                                                        "example.com/audit in 1 resource instances, "
                                                        "example.com/hold in 1 resource instances")
    # the message changed but not the status: lastTransitionTime stays (updateConditions)
    assert later["NamespaceContentRemaining"][3] == first["NamespaceContentRemaining"][3] == "2024-01-01T00:00:00Z"
    cluster.store.patch("ConfigMap", "settings", "team", {"metadata": {"finalizers": None}})
    cluster.settle()
    assert cluster.store.try_get("Namespace", "team") is None


def test_failures_and_flips() -> None:
    failures = deletion_failures([], "team")
    assert failures == {}
    ok = updated_conditions([], failures, "2024-01-01T00:00:00Z")
    assert [(c["status"], c["reason"]) for c in ok][-2:] == [("False", "ContentRemoved"),
                                                              ("False", "ContentHasNoFinalizers")]
    flipped = updated_conditions(ok, {"NamespaceContentRemaining": ("SomeResourcesRemain", "x")}, "2024-01-01T00:01:00Z")
    assert flipped[3] == {"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime":
                          "2024-01-01T00:01:00Z", "reason": "SomeResourcesRemain", "message": "x"}
    assert flipped[4]["lastTransitionTime"] == "2024-01-01T00:00:00Z"


def test_pvc_protection_holds_the_namespace_only_while_a_pod_uses_the_claim() -> None:
    """pvc-protection goes when the pod using the claim is gone, so a namespace with a claim and its pod finishes."""
    cluster = _build("""\
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: team}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: team}
spec:
  containers: [{name: app, image: nginx}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
""")
    assert "kubernetes.io/pvc-protection" in cluster.store.get("PersistentVolumeClaim", "data", "team").finalizers
    cluster.store.delete("Namespace", "team")
    cluster.settle()
    assert cluster.store.try_get("Namespace", "team") is None
    assert cluster.store.list("PersistentVolumeClaim", "team") == []


def test_no_event_is_created_in_a_terminating_namespace() -> None:
    cluster = _build(HELD)
    cluster.store.delete("Namespace", "team")
    held = cluster.store.get("ConfigMap", "settings", "team")
    assert cluster.store.record_event(held, "Normal", "Test", "refused", "test") is None
    assert cluster.store.list("Event", "team") == []
