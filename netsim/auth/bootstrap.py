"""The API server's bootstrap RBAC policy that answers depend on
(kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, ClusterRoles()/ClusterRoleBindings()).

Only the roles a user-facing answer touches are here: cluster-admin (bound to
the group system:masters), system:discovery and system:basic-user (bound to
system:authenticated), system:public-info-viewer (bound to system:authenticated
and system:unauthenticated) and system:service-account-issuer-discovery
(bound to system:serviceaccounts). Objects in the store with the same name
take precedence, as a user's edit of a bootstrap role would (the API server
only re-adds missing rules at start-up, with autoupdate).
"""

from __future__ import annotations

RBAC = "rbac.authorization.k8s.io/v1"
_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def _role(name: str, rules: list[dict]) -> dict:
    return {"apiVersion": RBAC, "kind": "ClusterRole",
            "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)},
            "rules": rules}


def _binding(name: str, role: str, groups: list[str]) -> dict:
    return {"apiVersion": RBAC, "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups]}


CLUSTER_ROLES: tuple[dict, ...] = (
    # the superuser: everything, resources and non-resource URLs
    _role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                            {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
    # discovery: the API's own paths
    _role("system:discovery", [{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                    "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
                                "verbs": ["get"]}]),
    # every authenticated user may ask what it may do
    _role("system:basic-user", [
        {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
         "verbs": ["create"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
    # health and version, for everyone
    _role("system:public-info-viewer", [{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
                                         "verbs": ["get"]}]),
    # the OIDC discovery documents of service account tokens
    _role("system:service-account-issuer-discovery", [
        {"nonResourceURLs": ["/.well-known/openid-configuration", "/.well-known/openid-configuration/",
                             "/openid/v1/jwks", "/openid/v1/jwks/"], "verbs": ["get"]}]),
)

CLUSTER_ROLE_BINDINGS: tuple[dict, ...] = (
    _binding("cluster-admin", "cluster-admin", ["system:masters"]),
    _binding("system:discovery", "system:discovery", ["system:authenticated"]),
    _binding("system:basic-user", "system:basic-user", ["system:authenticated"]),
    _binding("system:public-info-viewer", "system:public-info-viewer",
             ["system:authenticated", "system:unauthenticated"]),
    _binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
             ["system:serviceaccounts"]),
)
