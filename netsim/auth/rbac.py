"""The API server's RBAC authorizer (kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go) over the store's
Roles, ClusterRoles and bindings plus the bootstrap policy (bootstrap.py).

Rule matching is pkg/apis/rbac/v1/evaluation_helpers.go: a verb, API group,
resource or non-resource URL rule entry `*` matches everything; a resource
entry `*/SUB` matches that subresource of every resource; `pods/log` names
a subresource; an empty resourceNames list matches every name; a
non-resource URL entry ending in `*` matches by prefix. Who a binding
applies to is rbac.go's `appliesToUser`: User by name, Group by
membership, ServiceAccount by the username `system:serviceaccount:NS:NAME`
(a RoleBinding's subject without a namespace means the binding's own).
ClusterRoleBindings grant everywhere; a RoleBinding grants only requests
in its namespace, whether it references a Role or a ClusterRole — so a
RoleBinding never grants cluster-scoped resources (those requests carry no
namespace). RBAC only allows: a request no rule allows gets no opinion,
which the API server's chain turns into a denial with an empty reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netsim.api.store import Store
from netsim.auth.aggregation import effective_cluster_roles
from netsim.auth.bootstrap import CLUSTER_ROLE_BINDINGS
from netsim.auth.errors import InvalidObject

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One rules[] entry of a Role or ClusterRole."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyRule:
        """Read one rule as the manifest writes it."""
        return cls(*(tuple(data.get(k) or ()) for k in
                     ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")))

    def go_string(self) -> str:
        """The generated protobuf String() of rbacv1.PolicyRule, which kubectl sorts rules by."""
        def v(items: tuple[str, ...]) -> str:
            return "[" + " ".join(items) + "]"
        return (f"&PolicyRule{{Verbs:{v(self.verbs)},APIGroups:{v(self.api_groups)},Resources:{v(self.resources)},"
                f"ResourceNames:{v(self.resource_names)},NonResourceURLs:{v(self.non_resource_urls)},}}")


@dataclass(frozen=True, slots=True)
class UserInfo:
    """Who asks: a username and its groups."""

    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Attributes:
    """One request as the authorizer sees it (authorizer.AttributesRecord)."""

    user: UserInfo
    verb: str
    resource_request: bool = True
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: allowed or not, and the reason the authorizer gives (empty when RBAC has no opinion)."""

    allowed: bool
    reason: str = ""


def service_account_username(namespace: str, name: str) -> str:
    """`system:serviceaccount:<namespace>:<name>` (k8s.io/apiserver/pkg/authentication/serviceaccount)."""
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def split_service_account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of a service account username, None for any other user."""
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_PREFIX):].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def impersonate(username: str, groups: Sequence[str] = ()) -> UserInfo:
    """The user `--as USER [--as-group G]...` makes, as the impersonation filter builds it: a service account
    gets its fixed groups when none are given; a non-anonymous user gets system:authenticated unless the groups
    already hold it or system:unauthenticated."""
    out = list(groups)
    sa = split_service_account(username)
    if sa is not None and not groups:
        out = [ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{sa[0]}"]
    if username != ANONYMOUS:
        if not any(g in (AUTHENTICATED, UNAUTHENTICATED) for g in out):
            out.append(AUTHENTICATED)
    elif UNAUTHENTICATED not in out:
        out.append(UNAUTHENTICATED)
    return UserInfo(username, tuple(out))


# --- evaluation_helpers.go ------------------------------------------------------------------------
def verb_matches(rule: PolicyRule, verb: str) -> bool:
    """VerbMatches."""
    return "*" in rule.verbs or verb in rule.verbs


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    """APIGroupMatches."""
    return "*" in rule.api_groups or group in rule.api_groups


def resource_matches(rule: PolicyRule, combined: str, subresource: str) -> bool:
    """ResourceMatches: `*`, the exact `resource[/sub]`, or `*/sub` for a subresource request."""
    for entry in rule.resources:
        if entry == "*" or entry == combined:
            return True
        if subresource and len(entry) == len(subresource) + 2 and entry.startswith("*/") and entry.endswith(subresource):
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    """ResourceNameMatches: no names listed matches every request."""
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    """NonResourceURLMatches: `*`, the exact path, or a prefix ending in `*`."""
    for entry in rule.non_resource_urls:
        if entry == "*" or entry == path or (entry.endswith("*") and path.startswith(entry[:-1])):
            return True
    return False


def rule_allows(attrs: Attributes, rule: PolicyRule) -> bool:
    """RuleAllows."""
    if attrs.resource_request:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (verb_matches(rule, attrs.verb) and api_group_matches(rule, attrs.api_group)
                and resource_matches(rule, combined, attrs.subresource) and resource_name_matches(rule, attrs.name))
    return verb_matches(rule, attrs.verb) and non_resource_url_matches(rule, attrs.path)


# --- bindings --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subject:
    """subjects[] of a binding."""

    kind: str
    name: str
    namespace: str = ""

    def applies_to(self, user: UserInfo, namespace: str) -> bool:
        """appliesToUser: `namespace` is the binding's (empty for a ClusterRoleBinding)."""
        if self.kind == "User":
            return user.name == self.name
        if self.kind == "Group":
            return self.name in user.groups
        if self.kind == "ServiceAccount":
            sa_namespace = self.namespace or namespace
            return bool(sa_namespace) and user.name == service_account_username(sa_namespace, self.name)
        return False

    def describe(self, binding_namespace: str) -> str:
        """rbac.go's describeSubject: `User "alice"`, `ServiceAccount "name/namespace"`."""
        if self.kind == "ServiceAccount":
            return f'ServiceAccount "{self.name}/{self.namespace or binding_namespace}"'
        return f'{self.kind} "{self.name}"'


@dataclass(frozen=True, slots=True)
class Binding:
    """A RoleBinding (namespace set) or ClusterRoleBinding: its role reference and subjects."""

    kind: str
    name: str
    namespace: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]


def check_binding(obj: Mapping[str, Any]) -> None:
    """The API server's validation of roleRef: a ClusterRoleBinding may reference only a ClusterRole,
    a RoleBinding a Role or a ClusterRole (InvalidObject with the server's message otherwise)."""
    kind = obj.get("kind", "")
    name = (obj.get("metadata") or {}).get("name", "")
    ref = obj.get("roleRef") or {}
    allowed = ("ClusterRole",) if kind == "ClusterRoleBinding" else ("Role", "ClusterRole")
    if ref.get("kind") not in allowed:
        supported = ", ".join(f'"{k}"' for k in allowed)
        raise InvalidObject(f"{kind}.rbac.authorization.k8s.io", name, "roleRef.kind",
                            f'Unsupported value: "{ref.get("kind", "")}": supported values: {supported}')
    if not ref.get("name"):
        raise InvalidObject(f"{kind}.rbac.authorization.k8s.io", name, "roleRef.name", "Required value")
    for i, s in enumerate(obj.get("subjects") or ()):
        if s.get("kind") not in ("User", "Group", "ServiceAccount"):
            raise InvalidObject(f"{kind}.rbac.authorization.k8s.io", name, f"subjects[{i}].kind",
                                f'Unsupported value: "{s.get("kind", "")}": supported values: '
                                f'"ServiceAccount", "User", "Group"')
        if s.get("kind") == "ServiceAccount" and kind == "ClusterRoleBinding" and not s.get("namespace"):
            raise InvalidObject(f"{kind}.rbac.authorization.k8s.io", name, f"subjects[{i}].namespace",
                                "Required value")


def _binding(data: Mapping[str, Any]) -> Binding:
    meta = data.get("metadata") or {}
    ref = data.get("roleRef") or {}
    subjects = tuple(Subject(s.get("kind", ""), s.get("name", ""), s.get("namespace", "") or "")
                     for s in data.get("subjects") or ())
    return Binding(data["kind"], meta.get("name", ""), meta.get("namespace", "") or "", ref.get("kind", ""),
                   ref.get("name", ""), subjects)


class Authorizer:
    """RBAC over one snapshot of the api state: the store's RBAC objects plus the bootstrap policy."""

    def __init__(self, store: Store) -> None:
        self._cluster_roles = effective_cluster_roles(store)
        self._roles: dict[tuple[str, str], tuple[PolicyRule, ...]] = {
            (r.namespace, r.name): tuple(PolicyRule.from_dict(x) for x in r.to_dict().get("rules") or ())
            for r in store.list("Role")}
        stored = {b.name for b in store.list("ClusterRoleBinding")}
        cluster = [b.to_dict() for b in store.list("ClusterRoleBinding")]
        cluster += [b for b in CLUSTER_ROLE_BINDINGS if b["metadata"]["name"] not in stored]
        for data in cluster:
            check_binding(data)
        self._cluster_bindings = tuple(sorted((_binding(b) for b in cluster), key=lambda b: b.name))
        namespaced = [b.to_dict() for b in store.list("RoleBinding")]
        for data in namespaced:
            check_binding(data)
        self._bindings = tuple(sorted((_binding(b) for b in namespaced), key=lambda b: (b.namespace, b.name)))

    def _role_rules(self, binding: Binding) -> tuple[PolicyRule, ...]:
        if binding.role_kind == "ClusterRole":
            return self._cluster_roles.get(binding.role_name, ())
        return self._roles.get((binding.namespace, binding.role_name), ())  # a missing role grants nothing

    def visit(self, user: UserInfo, namespace: str) -> Iterator[tuple[str, PolicyRule]]:
        """VisitRulesFor: (source description, rule) from every binding that applies, ClusterRoleBindings
        first, then the RoleBindings of `namespace` (none for a request without one)."""
        for b in self._cluster_bindings:
            for s in b.subjects:
                if s.applies_to(user, ""):
                    source = f'ClusterRoleBinding "{b.name}" of {b.role_kind} "{b.role_name}" to {s.describe("")}'
                    for rule in self._role_rules(b):
                        yield source, rule
                    break
        if not namespace:
            return
        for b in self._bindings:
            if b.namespace != namespace:
                continue
            for s in b.subjects:
                if s.applies_to(user, namespace):
                    source = f'RoleBinding "{b.name}/{b.namespace}" of {b.role_kind} "{b.role_name}" to {s.describe(b.namespace)}'
                    for rule in self._role_rules(b):
                        yield source, rule
                    break

    def authorize(self, attrs: Attributes) -> Decision:
        """Allowed with rbac.go's reason (`RBAC: allowed by ...`), or no opinion (denied, empty reason)."""
        for source, rule in self.visit(attrs.user, attrs.namespace):
            if rule_allows(attrs, rule):
                return Decision(True, f"RBAC: allowed by {source}")
        return Decision(False, "")

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[PolicyRule, ...]:
        """RulesFor: every rule the user holds in `namespace` (what a SelfSubjectRulesReview returns)."""
        return tuple(rule for _, rule in self.visit(user, namespace))


# --- kubectl auth can-i --list (staging/src/k8s.io/kubectl/pkg/cmd/auth/cani.go, pkg/util/rbac) -----
def breakdown_rule(rule: PolicyRule) -> list[PolicyRule]:
    """BreakdownRule: one rule per (group, resource, verb[, name]) and per (non-resource URL, verb)."""
    out = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                if rule.resource_names:
                    out += [PolicyRule((verb,), (group,), (resource,), (n,)) for n in rule.resource_names]
                else:
                    out.append(PolicyRule((verb,), (group,), (resource,)))
    for url in rule.non_resource_urls:
        for verb in rule.verbs:
            out.append(PolicyRule((verb,), non_resource_urls=(url,)))
    return out


def compact_rules(rules: Iterable[PolicyRule]) -> list[PolicyRule]:
    """CompactRules: rules on one (group, resource, at most one name) merge their verbs, in first-seen order."""
    compacted: list[PolicyRule] = []
    simple: dict[tuple[str, str, tuple[str, ...]], PolicyRule] = {}
    for rule in rules:
        is_simple = (len(rule.resource_names) <= 1 and not rule.non_resource_urls and len(rule.api_groups) == 1
                     and len(rule.resources) == 1)
        if not is_simple:
            compacted.append(rule)
            continue
        key = (rule.api_groups[0], rule.resources[0], rule.resource_names)
        if key in simple:
            have = simple[key]
            simple[key] = PolicyRule(have.verbs + tuple(v for v in rule.verbs if v not in have.verbs),
                                     have.api_groups, have.resources, have.resource_names)
        else:
            simple[key] = rule
    return compacted + list(simple.values())


def combine_resource_group(resources: tuple[str, ...], groups: tuple[str, ...]) -> str:
    """describe.CombineResourceGroup: `resource.group/sub` of the first resource."""
    if not resources:
        return ""
    base, _, sub = resources[0].partition("/")
    if groups and groups[0]:
        base += "." + groups[0]
    return base + (f"/{sub}" if sub else "")


def access_list_rows(rules: Iterable[PolicyRule]) -> list[list[str]]:
    """The rows `kubectl auth can-i --list` prints: header, then the broken-down, compacted, sorted rules."""
    broken = [r for rule in rules for r in breakdown_rule(rule)]
    ordered = sorted(compact_rules(broken), key=lambda r: r.go_string())
    rows = [["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]]
    for r in ordered:
        rows.append([combine_resource_group(r.resources, r.api_groups), "[" + " ".join(r.non_resource_urls) + "]",
                     "[" + " ".join(r.resource_names) + "]", "[" + " ".join(r.verbs) + "]"])
    return rows
