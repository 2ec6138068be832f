"""The in-memory API server: identity, resourceVersion, finalizers, deletion, ownerReferences, events."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from netsim.api.errors import AlreadyExists, Conflict, Forbidden, NotFound
from netsim.api.store import DEFAULT_NAMESPACES, Store


class Clock:
    def __init__(self) -> None:
        self.t = 1_704_067_200.0  # 2024-01-01T00:00:00Z

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Store:
    return Store(clock=clock, rng=np.random.default_rng(7))


def cm(name: str, ns: str = "default", **meta) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, **meta},
            "data": {"k": "v"}}


def deployment(name: str = "web") -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}},
    }


def owned_by(owner, data: dict, block: bool = False) -> dict:
    ref = {"apiVersion": owner.api_version, "kind": owner.kind, "name": owner.name, "uid": owner.uid,
           "controller": True}
    if block:
        ref["blockOwnerDeletion"] = True
    data["metadata"]["ownerReferences"] = [ref]
    return data


def test_default_namespaces_exist(store: Store) -> None:
    assert [n.name for n in store.list("Namespace")] == list(DEFAULT_NAMESPACES)
    assert store.get("Namespace", "default").phase == "Active"


def test_create_stamps_identity_and_defaults(store: Store) -> None:
    obj = store.create(deployment())
    assert obj.namespace == "default"
    assert len(obj.uid) == 36 and obj.uid[14] == "4"
    assert obj.creation_timestamp == "2024-01-01T00:00:00Z"
    assert obj.generation == 1
    assert obj.replicas == 1
    assert obj.spec["strategy"] == {"type": "RollingUpdate",
                                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}


def test_resource_version_increases_with_every_change(store: Store) -> None:
    first = store.create(cm("a"))
    second = store.create(cm("b"))
    assert int(second.resource_version) == int(first.resource_version) + 1
    updated = store.update(first.evolve(lambda d: d["data"].update(k="w")))
    assert int(updated.resource_version) > int(second.resource_version)
    assert store.resource_version == int(updated.resource_version)


def test_stale_update_is_a_conflict(store: Store) -> None:
    first = store.create(cm("a"))
    store.update(first.evolve(lambda d: d["data"].update(k="1")))
    with pytest.raises(Conflict, match="the object has been modified"):
        store.update(first.evolve(lambda d: d["data"].update(k="2")))


def test_generation_follows_spec_not_metadata(store: Store) -> None:
    d = store.create(deployment())
    d = store.update(d.evolve(lambda x: x["metadata"].setdefault("labels", {}).update(a="b")))
    assert d.generation == 1
    d = store.update(d.evolve(lambda x: x["spec"].update(replicas=3)))
    assert d.generation == 2


def test_create_twice_and_missing_namespace(store: Store) -> None:
    store.create(cm("a"))
    with pytest.raises(AlreadyExists, match='configmaps "a" already exists'):
        store.create(cm("a"))
    with pytest.raises(NotFound, match='namespaces "nope" not found'):
        store.create(cm("a", ns="nope"))
    with pytest.raises(NotFound, match='configmaps "zzz" not found'):
        store.get("ConfigMap", "zzz", "default")


def test_generate_name_is_deterministic(clock: Clock) -> None:
    names = []
    for _ in range(2):
        s = Store(clock=clock, rng=np.random.default_rng(1))
        obj = s.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "web-"}})
        names.append(obj.name)
    assert names[0] == names[1]
    assert names[0].startswith("web-") and len(names[0]) == 9
    assert set(names[0][4:]) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_delete_with_finalizer_only_marks(store: Store, clock: Clock) -> None:
    store.create(cm("a", finalizers=["example.com/keep"]))
    clock.t += 5
    marked = store.delete("ConfigMap", "a", "default")
    assert marked is not None
    assert marked.deletion_timestamp == "2024-01-01T00:00:05Z"
    assert store.get("ConfigMap", "a", "default").finalizers == ("example.com/keep",)
    # removing the last finalizer removes the object
    gone = store.update(marked.evolve(lambda d: d["metadata"].update(finalizers=[])))
    assert gone is None
    assert store.try_get("ConfigMap", "a", "default") is None


def test_deletion_timestamp_cannot_be_cleared(store: Store) -> None:
    store.create(cm("a", finalizers=["x/y"]))
    marked = store.delete("ConfigMap", "a", "default")
    again = store.update(marked.evolve(lambda d: d["metadata"].pop("deletionTimestamp")))
    assert again.deletion_timestamp == marked.deletion_timestamp


def test_background_deletion_collects_dependents(store: Store) -> None:
    owner = store.create(deployment())
    child = store.create(owned_by(owner, cm("child")))
    grandchild = store.create(owned_by(child, cm("grandchild")))
    other = store.create(cm("unrelated"))
    assert store.delete("Deployment", "web", "default") is None
    for obj in (owner, child, grandchild):
        assert store.try_get(obj.kind, obj.name, obj.namespace) is None
    assert store.try_get("ConfigMap", other.name, "default") is not None


def test_dependent_with_another_live_owner_survives(store: Store) -> None:
    a = store.create(cm("a"))
    b = store.create(cm("b"))
    data = owned_by(a, cm("shared"))
    data["metadata"]["ownerReferences"].append(
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "b", "uid": b.uid})
    store.create(data)
    store.delete("ConfigMap", "a", "default")
    assert store.try_get("ConfigMap", "shared", "default") is not None


def test_orphan_deletion_keeps_dependents_without_the_reference(store: Store) -> None:
    owner = store.create(deployment())
    store.create(owned_by(owner, cm("child")))
    store.delete("Deployment", "web", "default", propagation="Orphan")
    child = store.get("ConfigMap", "child", "default")
    assert child.owner_references == ()


def test_foreground_deletion_waits_for_blocking_dependents(store: Store) -> None:
    owner = store.create(deployment())
    store.create(owned_by(owner, cm("child", finalizers=["x/hold"]), block=True))
    marked = store.delete("Deployment", "web", "default", propagation="Foreground")
    assert marked is not None and "foregroundDeletion" in marked.finalizers
    child = store.get("ConfigMap", "child", "default")
    assert child.deletion_timestamp is not None
    # the child's own finalizer goes; the child goes; then the owner goes
    store.update(child.evolve(lambda d: d["metadata"].update(finalizers=[])))
    assert store.try_get("ConfigMap", "child", "default") is None
    assert store.try_get("Deployment", "web", "default") is None


def test_pod_on_a_node_is_deleted_gracefully(store: Store, clock: Clock) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}
    store.create(pod)
    marked = store.delete("Pod", "p", "default")
    assert marked is not None
    assert marked.metadata["deletionGracePeriodSeconds"] == 30
    assert marked.deletion_timestamp == "2024-01-01T00:00:30Z"
    assert store.delete("Pod", "p", "default", grace_period=0) is None


def test_namespace_deletion_removes_contents(store: Store) -> None:
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    store.create(cm("a", ns="team"))
    assert store.delete("Namespace", "team") is None
    assert store.list("ConfigMap", "team") == []


def test_terminating_namespace_refuses_new_content(store: Store) -> None:
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    store.create(cm("a", ns="team", finalizers=["x/hold"]))
    store.delete("Namespace", "team")
    assert store.get("Namespace", "team").phase == "Terminating"
    with pytest.raises(Forbidden, match="being terminated"):
        store.create(cm("b", ns="team"))


def test_watch_sees_every_change_in_order(store: Store) -> None:
    seen = []
    stop = store.watch(lambda e: seen.append((e.type, e.obj.name)))
    start = store.resource_version
    a = store.create(cm("a"))
    store.update(a.evolve(lambda d: d["data"].update(k="2")))
    store.delete("ConfigMap", "a", "default")
    stop()
    store.create(cm("b"))
    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert [e.type for e in store.changes_since(start)] == ["ADDED", "MODIFIED", "DELETED", "ADDED"]


def test_merge_patch(store: Store) -> None:
    store.create(cm("a"))
    patched = store.patch("ConfigMap", "a", "default", {"data": {"k": None, "n": "1"},
                                                        "metadata": {"labels": {"x": "y"}}})
    assert dict(patched.get("data")) == {"n": "1"}
    assert patched.labels == {"x": "y"}


def test_atomic_restores_everything(store: Store) -> None:
    before = store.resource_version
    with pytest.raises(NotFound):
        with store.atomic():
            store.create(cm("a"))
            store.create(cm("b", ns="missing"))
    assert store.try_get("ConfigMap", "a", "default") is None
    assert store.resource_version == before
    # the generator was rewound too: the next uid is the one the failed block drew first
    obj = store.create(cm("c"))
    assert obj.uid


def test_events_are_recorded_and_counted(store: Store) -> None:
    pod = store.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    store.record_event(pod, "Warning", "FailedScheduling", "0/1 nodes are available", "default-scheduler")
    store.record_event(pod, "Warning", "FailedScheduling", "0/1 nodes are available", "default-scheduler")
    events = store.list("Event", "default")
    assert len(events) == 1
    assert events[0].get("count") == 2
    assert events[0].involved_object["name"] == "p"


def test_update_that_changes_nothing_writes_nothing(store: Store) -> None:
    obj = store.create(cm("a"))
    same = store.update(obj.evolve(lambda d: None))
    assert same.resource_version == obj.resource_version
    assert store.resource_version == int(obj.resource_version)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["create", "delete", "reown", "rollback"]),
                          st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=5)),
                max_size=30))
def test_the_indexes_agree_with_a_full_scan(ops) -> None:
    store = Store(clock=lambda: 1_704_067_200.0, rng=np.random.default_rng(1))
    for op, a, b in ops:
        names = [o.name for o in store.list("ConfigMap")]
        if op == "create" and f"c{a}" not in names:
            store.create(cm(f"c{a}"))
        elif op == "delete" and f"c{a}" in names:
            store.delete("ConfigMap", f"c{a}", "default")
        elif op == "reown" and f"c{a}" in names and f"c{b}" in names and a != b:
            owner = store.get("ConfigMap", f"c{b}", "default")
            ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner.name, "uid": owner.uid}
            store.patch("ConfigMap", f"c{a}", "default", {"metadata": {"ownerReferences": [ref]}})
        elif op == "rollback":
            with pytest.raises(RuntimeError), store.atomic():
                store.create(cm(f"x{a}"))
                raise RuntimeError("undo")
        everything = list(store._objects.values())
        assert store.list("ConfigMap") == sorted((o for o in everything if o.kind == "ConfigMap"),
                                                 key=lambda o: (o.namespace, o.name))
        for owner in store.list("ConfigMap"):
            brute = sorted((o for o in everything if any(r.uid == owner.uid for r in o.owner_references)),
                           key=lambda o: o.key)
            assert store.dependents(owner) == brute
            assert store._by_uid(owner.uid) == owner
