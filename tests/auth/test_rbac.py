"""RBAC answers, rule by rule, as kube-apiserver's authorizer gives them (rbac.go, evaluation_helpers.go)."""

from __future__ import annotations

import numpy as np
import pytest

from netsim.api.store import Store
from netsim.auth.aggregation import reconcile
from netsim.auth.errors import InvalidObject
from netsim.auth.rbac import (Attributes, Authorizer, PolicyRule, UserInfo, access_list_rows, check_binding,
                              impersonate, service_account_username)

RBAC = "rbac.authorization.k8s.io/v1"


def _store(*objects: dict) -> Store:
    store = Store(clock=lambda: 0.0, rng=np.random.default_rng(0))
    for ns in ("dev", "prod"):
        store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for obj in objects:
        store.create(obj)
    return store


def role(name: str, ns: str, *rules: dict) -> dict:
    return {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": list(rules)}


def cluster_role(name: str, *rules: dict, labels: dict | None = None, aggregate: list | None = None) -> dict:
    obj = {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}},
           "rules": list(rules)}
    if aggregate is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": m} for m in aggregate]}
    return obj


def binding(name: str, ns: str | None, ref_kind: str, ref: str, *subjects: dict) -> dict:
    kind = "RoleBinding" if ns else "ClusterRoleBinding"
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": RBAC, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref},
            "subjects": list(subjects)}


def user(name: str) -> dict:
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def group(name: str) -> dict:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def sa(name: str, ns: str | None = None) -> dict:
    return {"kind": "ServiceAccount", "name": name, **({"namespace": ns} if ns else {})}


POD_READER = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
NODE_READER = {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}


def can(store_or_auth, who: UserInfo, verb: str, resource: str, ns: str = "", group_: str = "", name: str = "",
        sub: str = "") -> bool:
    auth = store_or_auth if isinstance(store_or_auth, Authorizer) else Authorizer(store_or_auth)
    return auth.authorize(Attributes(who, verb, namespace=ns, api_group=group_, resource=resource,
                                     subresource=sub, name=name)).allowed


def can_url(auth: Authorizer, who: UserInfo, verb: str, path: str) -> bool:
    return auth.authorize(Attributes(who, verb, resource_request=False, path=path)).allowed


ALICE = impersonate("alice")


# --- the seed's statements (kubernetes-resources.ja.txt, "08. 認可系リソース") -------------------------
def test_seed_clusterrolebinding_binds_only_a_clusterrole() -> None:
    """ClusterRoleBinding: "ClusterRoleのみの紐付けに使用できる" — a Role reference is refused as the API server does."""
    with pytest.raises(InvalidObject) as err:
        check_binding(binding("b", None, "Role", "pod-reader", user("alice")))
    assert str(err.value) == ('ClusterRoleBinding.rbac.authorization.k8s.io "b" is invalid: roleRef.kind: '
                              'Unsupported value: "Role": supported values: "ClusterRole"')
    check_binding(binding("b", None, "ClusterRole", "view", user("alice")))


def test_seed_rolebinding_binds_a_role_or_a_clusterrole() -> None:
    """RoleBinding: "RoleとClusterRoleの両方の紐付けに使用できる"."""
    check_binding(binding("b", "dev", "Role", "pod-reader", user("alice")))
    check_binding(binding("b", "dev", "ClusterRole", "pod-reader", user("alice")))
    with pytest.raises(InvalidObject):
        check_binding(binding("b", "dev", "Deployment", "x", user("alice")))


def test_seed_rolebinding_to_a_role_grants_namespaced_resources_of_its_namespace() -> None:
    """RoleBinding of a Role: the subject gets rights on namespaced resources, in the binding's namespace only."""
    store = _store(role("pod-reader", "dev", POD_READER), binding("read", "dev", "Role", "pod-reader", user("alice")))
    assert can(store, ALICE, "get", "pods", "dev")
    assert not can(store, ALICE, "get", "pods", "prod")
    assert not can(store, ALICE, "delete", "pods", "dev")


def test_seed_rolebinding_to_a_clusterrole_grants_only_in_its_namespace() -> None:
    """The seed says a RoleBinding of a ClusterRole gives cluster-scoped rights; the authorizer does not:
    the rules apply to requests in the binding's namespace only, and a cluster-scoped resource's request has
    no namespace, so nodes stay out of reach. Only a ClusterRoleBinding grants them."""
    store = _store(cluster_role("reader", POD_READER, NODE_READER),
                   binding("read", "dev", "ClusterRole", "reader", user("alice")))
    assert can(store, ALICE, "list", "pods", "dev")
    assert not can(store, ALICE, "list", "pods", "prod")
    assert not can(store, ALICE, "list", "pods", "")          # across all namespaces
    assert not can(store, ALICE, "list", "nodes", "")          # cluster-scoped
    store.create(binding("read-all", None, "ClusterRole", "reader", user("alice")))
    assert can(store, ALICE, "list", "nodes", "")
    assert can(store, ALICE, "list", "pods", "prod") and can(store, ALICE, "list", "pods", "")


def test_seed_service_account_username() -> None:
    """"system:serviceaccount:<Namespace名>:<ServiceAccount名>" is the name bindings match."""
    assert service_account_username("dev", "ci") == "system:serviceaccount:dev:ci"
    store = _store(role("pod-reader", "dev", POD_READER),
                   binding("by-user-name", "dev", "Role", "pod-reader", user("system:serviceaccount:dev:ci")))
    assert can(store, impersonate("system:serviceaccount:dev:ci"), "get", "pods", "dev")


# --- subjects ---------------------------------------------------------------------------------------
def test_subject_kinds() -> None:
    store = _store(role("pod-reader", "dev", POD_READER),
                   binding("u", "dev", "Role", "pod-reader", user("alice")),
                   binding("g", "dev", "Role", "pod-reader", group("readers")),
                   binding("s", "dev", "Role", "pod-reader", sa("ci")),            # no namespace: the binding's
                   binding("o", "dev", "Role", "pod-reader", sa("bot", "prod")))   # another namespace's SA
    auth = Authorizer(store)
    assert can(auth, ALICE, "get", "pods", "dev")
    assert not can(auth, impersonate("bob"), "get", "pods", "dev")
    assert can(auth, impersonate("bob", ["readers"]), "get", "pods", "dev")
    assert can(auth, impersonate("system:serviceaccount:dev:ci"), "get", "pods", "dev")
    assert not can(auth, impersonate("system:serviceaccount:prod:ci"), "get", "pods", "dev")
    assert can(auth, impersonate("system:serviceaccount:prod:bot"), "get", "pods", "dev")


def test_service_account_groups() -> None:
    """system:serviceaccounts and system:serviceaccounts:<ns> hold every service account (of the namespace)."""
    who = impersonate("system:serviceaccount:dev:ci")
    assert who.groups == ("system:serviceaccounts", "system:serviceaccounts:dev", "system:authenticated")
    store = _store(role("pod-reader", "prod", POD_READER),
                   binding("all", "prod", "Role", "pod-reader", group("system:serviceaccounts:dev")))
    assert can(store, who, "list", "pods", "prod")
    assert not can(store, impersonate("system:serviceaccount:test:ci"), "list", "pods", "prod")
    store.create(binding("every-sa", "prod", "Role", "pod-reader", group("system:serviceaccounts")))
    assert can(store, impersonate("system:serviceaccount:test:ci"), "list", "pods", "prod")
    assert not can(store, ALICE, "list", "pods", "prod")


def test_impersonation_groups() -> None:
    assert impersonate("alice").groups == ("system:authenticated",)
    assert impersonate("alice", ["dev"]).groups == ("dev", "system:authenticated")
    assert impersonate("alice", ["system:unauthenticated"]).groups == ("system:unauthenticated",)
    assert impersonate("system:anonymous").groups == ("system:unauthenticated",)
    assert impersonate("system:serviceaccount:dev:ci", ["x"]).groups == ("x", "system:authenticated")


def test_system_authenticated_group() -> None:
    store = _store(role("pod-reader", "dev", POD_READER),
                   binding("everyone", "dev", "Role", "pod-reader", group("system:authenticated")))
    assert can(store, ALICE, "get", "pods", "dev")
    assert not can(store, impersonate("system:anonymous"), "get", "pods", "dev")


# --- rule matching ---------------------------------------------------------------------------------
def _alice_with(*rules: dict) -> Authorizer:
    return Authorizer(_store(cluster_role("r", *rules), binding("b", None, "ClusterRole", "r", user("alice"))))


def test_resource_names() -> None:
    auth = _alice_with({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app"], "verbs": ["get"]})
    assert can(auth, ALICE, "get", "configmaps", "dev", name="app")
    assert not can(auth, ALICE, "get", "configmaps", "dev", name="other")
    assert not can(auth, ALICE, "get", "configmaps", "dev")     # no name: list-like requests are not covered


def test_subresources() -> None:
    auth = _alice_with({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]})
    assert can(auth, ALICE, "get", "pods", "dev", sub="log")
    assert not can(auth, ALICE, "get", "pods", "dev")
    assert not can(auth, ALICE, "get", "pods", "dev", sub="exec")
    pods_only = _alice_with(POD_READER)
    assert not can(pods_only, ALICE, "get", "pods", "dev", sub="log")  # pods does not cover pods/log
    star_sub = _alice_with({"apiGroups": [""], "resources": ["*/status"], "verbs": ["get"]})
    assert can(star_sub, ALICE, "get", "pods", "dev", sub="status")
    assert can(star_sub, ALICE, "get", "services", "dev", sub="status")
    assert not can(star_sub, ALICE, "get", "pods", "dev")
    star = _alice_with({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]})
    assert can(star, ALICE, "get", "pods", "dev", sub="log")


def test_wildcards_for_verbs_resources_and_groups() -> None:
    auth = _alice_with({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]})
    assert can(auth, ALICE, "delete", "deployments", "dev", group_="apps")
    assert not can(auth, ALICE, "delete", "deployments", "dev", group_="extensions")
    auth = _alice_with({"apiGroups": ["*"], "resources": ["deployments"], "verbs": ["get"]})
    assert can(auth, ALICE, "get", "deployments", "dev", group_="apps")
    assert can(auth, ALICE, "get", "deployments", "dev", group_="extensions")
    assert not can(auth, ALICE, "get", "pods", "dev")
    auth = _alice_with({"apiGroups": [""], "resources": ["*"], "verbs": ["list"]})
    assert can(auth, ALICE, "list", "secrets", "dev")
    assert not can(auth, ALICE, "list", "deployments", "dev", group_="apps")


def test_non_resource_urls() -> None:
    auth = _alice_with({"nonResourceURLs": ["/logs", "/metrics/*"], "verbs": ["get"]})
    assert can_url(auth, ALICE, "get", "/logs")
    assert not can_url(auth, ALICE, "get", "/logs/kubelet.log")
    assert can_url(auth, ALICE, "get", "/metrics/cadvisor")
    assert can_url(auth, ALICE, "get", "/metrics/")
    assert not can_url(auth, ALICE, "get", "/metrics")
    assert not can_url(auth, ALICE, "post", "/logs")
    everything = _alice_with({"nonResourceURLs": ["*"], "verbs": ["get"]})
    assert can_url(everything, ALICE, "get", "/anything/at/all")


def test_a_resource_rule_never_covers_a_url_and_back() -> None:
    auth = _alice_with({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})
    assert not can_url(auth, ALICE, "get", "/logs")
    urls = _alice_with({"nonResourceURLs": ["*"], "verbs": ["*"]})
    assert not can(urls, ALICE, "get", "pods", "dev")


def test_a_missing_role_grants_nothing() -> None:
    store = _store(binding("b", "dev", "Role", "absent", user("alice")))
    assert not can(store, ALICE, "get", "pods", "dev")


# --- the bootstrap policy --------------------------------------------------------------------------
def test_bootstrap_cluster_admin_for_system_masters() -> None:
    auth = Authorizer(_store())
    admin = UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))
    assert can(auth, admin, "delete", "nodes")
    assert can(auth, admin, "create", "deployments", "dev", group_="apps")
    assert can_url(auth, admin, "post", "/anything")
    decision = auth.authorize(Attributes(admin, "get", namespace="dev", resource="pods"))
    assert decision.reason == ('RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" '
                               'to Group "system:masters"')


def test_bootstrap_discovery_basic_user_public_info() -> None:
    auth = Authorizer(_store())
    assert can_url(auth, ALICE, "get", "/api")
    assert can_url(auth, ALICE, "get", "/apis/apps/v1")
    assert can_url(auth, ALICE, "get", "/healthz")
    assert not can_url(auth, ALICE, "get", "/metrics")
    assert can(auth, ALICE, "create", "selfsubjectaccessreviews", group_="authorization.k8s.io")
    assert not can(auth, ALICE, "get", "pods", "default")
    anonymous = impersonate("system:anonymous")
    assert can_url(auth, anonymous, "get", "/version")          # public-info-viewer: unauthenticated too
    assert not can_url(auth, anonymous, "get", "/api")          # discovery: authenticated only


def test_reason_names_the_rolebinding_and_subject() -> None:
    store = _store(role("pod-reader", "dev", POD_READER), binding("read", "dev", "Role", "pod-reader", sa("ci")))
    decision = Authorizer(store).authorize(
        Attributes(impersonate("system:serviceaccount:dev:ci"), "get", namespace="dev", resource="pods"))
    assert decision.reason == 'RBAC: allowed by RoleBinding "read/dev" of Role "pod-reader" to ServiceAccount "ci/dev"'


# --- aggregation -----------------------------------------------------------------------------------
def test_aggregation_fills_rules_from_labelled_cluster_roles() -> None:
    store = _store(
        cluster_role("monitoring", aggregate=[{"rbac.example.com/aggregate-to-monitoring": "true"}]),
        cluster_role("monitoring-pods", POD_READER, labels={"rbac.example.com/aggregate-to-monitoring": "true"}),
        cluster_role("monitoring-nodes", NODE_READER, POD_READER,
                     labels={"rbac.example.com/aggregate-to-monitoring": "true"}),
        cluster_role("unrelated", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}),
        binding("mon", None, "ClusterRole", "monitoring", user("alice")))
    assert can(store, ALICE, "list", "nodes") and can(store, ALICE, "watch", "pods", "dev")
    assert not can(store, ALICE, "get", "secrets", "dev")
    assert reconcile(store) == 1
    rules = store.get("ClusterRole", "monitoring").to_dict()["rules"]
    assert rules == [NODE_READER, POD_READER]        # by role name, each rule once
    assert reconcile(store) == 0


def test_aggregation_of_aggregated_roles_settles() -> None:
    store = _store(
        cluster_role("top", aggregate=[{"agg": "top"}]),
        cluster_role("middle", labels={"agg": "top"}, aggregate=[{"agg": "middle"}]),
        cluster_role("leaf", POD_READER, labels={"agg": "middle"}),
        binding("t", None, "ClusterRole", "top", user("alice")))
    assert can(store, ALICE, "get", "pods", "dev")


# --- kubectl auth can-i --list ---------------------------------------------------------------------
def test_list_rows_for_a_plain_user() -> None:
    store = _store(role("pod-reader", "dev", POD_READER, {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}),
                   binding("read", "dev", "Role", "pod-reader", user("alice")))
    rows = access_list_rows(Authorizer(store).rules_for(ALICE, "dev"))
    assert rows[0] == ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]
    assert rows[1:5] == [
        ["selfsubjectreviews.authentication.k8s.io", "[]", "[]", "[create]"],
        ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"],
        ["selfsubjectrulesreviews.authorization.k8s.io", "[]", "[]", "[create]"],
        ["pods", "[]", "[]", "[get list watch]"]]
    assert ["", "[/api/*]", "[]", "[get]"] in rows and rows.index(["", "[/api/*]", "[]", "[get]"]) < rows.index(
        ["", "[/api]", "[]", "[get]"])
    assert rows.count(["", "[/healthz]", "[]", "[get]"]) == 2   # discovery and public-info-viewer both hold it


def test_go_string_sort_key() -> None:
    rule = PolicyRule(("get", "list"), ("",), ("pods",))
    assert rule.go_string() == "&PolicyRule{Verbs:[get list],APIGroups:[],Resources:[pods],ResourceNames:[],NonResourceURLs:[],}"
