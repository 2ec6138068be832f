"""InterPodAffinity's Filter: namespaces and namespaceSelector, matchLabelKeys / mismatchLabelKeys,
the first pod of a self-selecting group, and its three messages."""

from __future__ import annotations

from scheduler_objects import node, pod, snapshot

from netsim.controllers.scheduler_affinity import (AFFINITY_NOT_MATCH, ANTI_AFFINITY_NOT_MATCH,
                                                   EXISTING_ANTI_AFFINITY, filter_reason, prefilter)

HOST = "kubernetes.io/hostname"
NAMESPACES = {"default": {"kubernetes.io/metadata.name": "default"},
              "prod": {"kubernetes.io/metadata.name": "prod", "env": "prod"},
              "dev": {"kubernetes.io/metadata.name": "dev", "env": "dev"}}


def required(kind: str, match: dict, **term) -> dict:
    return {"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": match}, "topologyKey": HOST, **term}]}}}


def reasons(incoming, pods) -> dict[str, str]:
    snap = snapshot([node("a"), node("b")], pods, namespaces=NAMESPACES)
    state = prefilter(incoming, snap)
    return {info.name: filter_reason(state, info) for info in snap.nodes()}


def test_terms_default_to_the_pods_namespace() -> None:
    db_prod = pod("db", on="a", labels={"app": "db"}, namespace="prod")
    same_ns = pod("web", labels={"app": "web"}, spec=required("podAffinity", {"app": "db"}))
    assert reasons(same_ns, [db_prod]) == {"a": AFFINITY_NOT_MATCH, "b": AFFINITY_NOT_MATCH}
    listed = pod("web", spec=required("podAffinity", {"app": "db"}, namespaces=["prod"]))
    assert reasons(listed, [db_prod]) == {"a": "", "b": AFFINITY_NOT_MATCH}


def test_namespace_selector_picks_namespaces_by_label_and_empty_picks_all() -> None:
    pods = [pod("db", on="a", labels={"app": "db"}, namespace="prod"),
            pod("db2", on="b", labels={"app": "db"}, namespace="dev")]
    by_label = pod("web", spec=required("podAntiAffinity", {"app": "db"},
                                        namespaceSelector={"matchLabels": {"env": "dev"}}))
    assert reasons(by_label, pods) == {"a": "", "b": ANTI_AFFINITY_NOT_MATCH}
    everywhere = pod("web", spec=required("podAntiAffinity", {"app": "db"}, namespaceSelector={}))
    assert reasons(everywhere, pods) == {"a": ANTI_AFFINITY_NOT_MATCH, "b": ANTI_AFFINITY_NOT_MATCH}


def test_existing_pods_anti_affinity_keeps_the_newcomer_off_their_domain() -> None:
    guard = pod("guard", on="a", spec=required("podAntiAffinity", {"app": "web"}))
    assert reasons(pod("web", labels={"app": "web"}), [guard]) == {"a": EXISTING_ANTI_AFFINITY, "b": ""}
    other_ns = pod("web", labels={"app": "web"}, namespace="dev")
    assert reasons(other_ns, [guard]) == {"a": "", "b": ""}          # the guard's term covers its namespace only


def test_the_first_pod_of_a_self_selecting_group_may_go_anywhere() -> None:
    first = pod("c1", labels={"app": "cache"}, spec=required("podAffinity", {"app": "cache"}))
    assert reasons(first, []) == {"a": "", "b": ""}
    unrelated = pod("x", on="b", labels={"app": "other"})
    stranger = pod("c1", labels={"app": "web"}, spec=required("podAffinity", {"app": "cache"}))
    assert reasons(stranger, [unrelated]) == {"a": AFFINITY_NOT_MATCH, "b": AFFINITY_NOT_MATCH}
    second = pod("c2", labels={"app": "cache"}, spec=required("podAffinity", {"app": "cache"}))
    assert reasons(second, [pod("c1", on="b", labels={"app": "cache"})]) == {"a": AFFINITY_NOT_MATCH, "b": ""}


def test_match_and_mismatch_label_keys_use_the_pods_own_values() -> None:
    pods = [pod("v1", on="a", labels={"app": "web", "hash": "v1", "tenant": "t1"}),
            pod("v2", on="b", labels={"app": "web", "hash": "v2", "tenant": "t2"})]
    same_rev = pod("new", labels={"app": "web", "hash": "v2"},
                   spec=required("podAntiAffinity", {"app": "web"}, matchLabelKeys=["hash"]))
    assert reasons(same_rev, pods) == {"a": "", "b": ANTI_AFFINITY_NOT_MATCH}
    other_tenants = pod("new", labels={"app": "web", "tenant": "t1"},
                        spec=required("podAntiAffinity", {"app": "web"}, mismatchLabelKeys=["tenant"]))
    assert reasons(other_tenants, pods) == {"a": "", "b": ANTI_AFFINITY_NOT_MATCH}
