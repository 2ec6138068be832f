"""The cloud mode: an AWS Application Load Balancer per Ingress (or IngressGroup), as the AWS Load Balancer Controller
provisions it, and the listener rule a request takes.

Following aws-load-balancer-controller v2 (pkg/ingress, docs/guide/ingress/annotations.md):
- Ingresses of an IngressClass whose controller is `ingress.k8s.aws/alb`
  are grouped by `alb.ingress.kubernetes.io/group.name` (an Ingress without
  it is a group of its own); each group is one ALB named
  `k8s-<namespace[:8]>-<name[:8]>-<10 hex>` (the group name for a group).
- Rules are evaluated in priority order, first match wins (not longest
  match): Ingresses by `group.order` then namespace/name, each Ingress's
  rules and paths in spec order. A path condition for `Exact /p` is `/p`;
  for `Prefix /p` it is `/p` and `/p/*` (`/*` for `/`); for
  `ImplementationSpecific` the path as an ALB pattern (`*` any run of
  characters, `?` one). A host condition is the rule's host, matched
  case-insensitively with the same wildcards.
- The default action forwards to the group's first `spec.defaultBackend`,
  else is a fixed 404 response.
- Targets (`alb.ingress.kubernetes.io/target-type`, default `instance`):
  `ip` registers the Service's ready endpoints (pod IPs and target ports,
  reachable because the VPC routes pod addresses); `instance` registers
  every node not labelled node.kubernetes.io/exclude-from-external-load-balancers
  at the Service port's nodePort (the Service must be NodePort or
  LoadBalancer). Targets are taken round robin (the ALB default).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from netsim.api.objects import Resource
from netsim.api.store import Store
from netsim.l7.errors import L7Error
from netsim.l7.ingress import ingress_class_of

ALB_CONTROLLER = "ingress.k8s.aws/alb"
GROUP_ANNOTATION = "alb.ingress.kubernetes.io/group.name"
ORDER_ANNOTATION = "alb.ingress.kubernetes.io/group.order"
TARGET_TYPE_ANNOTATION = "alb.ingress.kubernetes.io/target-type"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


@dataclass(frozen=True, slots=True)
class AlbRule:
    """One listener rule: host patterns (empty: any), path patterns (empty: any), the backend and its Ingress."""

    hosts: tuple[str, ...]
    paths: tuple[str, ...]
    namespace: str
    service: str
    port: int | str
    target_type: str
    ingress: str


@dataclass(frozen=True, slots=True)
class Alb:
    """One provisioned ALB: its name, its Ingresses, its rules in priority order, and its default rule (None: 404)."""

    name: str
    ingresses: tuple[str, ...]
    rules: tuple[AlbRule, ...]
    default: AlbRule | None


def alb_name(namespace: str, name: str, group: str = "") -> str:
    """The load balancer's name as the controller derives it (k8s-<ns>-<name>-<hash>, or k8s-<group>-<hash>)."""
    key = group or f"{namespace}/{name}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    if group:
        return f"k8s-{group[:17]}-{digest}"
    return f"k8s-{namespace[:8]}-{name[:8]}-{digest}"


def pattern_matches(pattern: str, value: str) -> bool:
    """ALB condition wildcards: `*` any run of characters (none included), `?` exactly one."""
    if not pattern:
        return not value
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(pattern_matches(rest, value[i:]) for i in range(len(value) + 1))
    return bool(value) and (head == "?" or head == value[0]) and pattern_matches(rest, value[1:])


def path_patterns(path: str, path_type: str) -> tuple[str, ...]:
    """The path condition values for one Ingress path."""
    if path_type == "Exact":
        return (path,)
    if path_type == "Prefix":
        return ("/*",) if path == "/" else (path.rstrip("/"), path.rstrip("/") + "/*")
    return (path,)


def _rule(ing: Resource, host: str, path: str, path_type: str, backend: dict, where: str) -> AlbRule:
    svc = (backend or {}).get("service") or {}
    port = (svc.get("port") or {}).get("number", (svc.get("port") or {}).get("name"))
    if not svc.get("name") or port is None:
        raise L7Error(f"{where}: the ALB emulation needs a service backend with a port")
    target = ing.annotations.get(TARGET_TYPE_ANNOTATION, "instance")
    if target not in ("ip", "instance"):
        raise L7Error(f"Ingress {ing.namespace}/{ing.name}: metadata.annotations[{TARGET_TYPE_ANNOTATION}]: "
                      f"must be ip or instance, got {target!r}")
    return AlbRule((host.lower(),) if host else (), path_patterns(path, path_type) if path else (),
                   ing.namespace, svc["name"], port, target, f"{ing.namespace}/{ing.name}")


def provisioned_albs(store: Store) -> list[Alb]:
    """The ALBs the controller provisions for the cluster's Ingresses, by name."""
    classes = store.list("IngressClass")
    ours = {c.name for c in classes if c.spec.get("controller") == ALB_CONTROLLER}
    groups: dict[str, list[Resource]] = {}
    for ing in store.list("Ingress"):
        if ingress_class_of(ing, classes) not in ours or ing.deletion_timestamp is not None:
            continue
        group = ing.annotations.get(GROUP_ANNOTATION, "")
        groups.setdefault(alb_name(ing.namespace, ing.name, group), []).append(ing)
    out = []
    for name, members in sorted(groups.items()):
        members.sort(key=lambda i: (int(i.annotations.get(ORDER_ANNOTATION, "0")), i.namespace, i.name))
        rules, default = [], None
        for ing in members:
            where = f"Ingress {ing.namespace}/{ing.name}: spec"
            if ing.spec.get("defaultBackend") and default is None:
                default = _rule(ing, "", "", "", ing.spec["defaultBackend"], f"{where}.defaultBackend")
            for r, rule in enumerate(ing.spec.get("rules") or ()):
                for p, path in enumerate((rule.get("http") or {}).get("paths") or ()):
                    rules.append(_rule(ing, rule.get("host") or "", path.get("path") or "/",
                                       path.get("pathType", "ImplementationSpecific"), path.get("backend"),
                                       f"{where}.rules[{r}].http.paths[{p}]"))
        out.append(Alb(name, tuple(f"{i.namespace}/{i.name}" for i in members), tuple(rules), default))
    return out


def match_rule(alb: Alb, host: str, path: str) -> AlbRule | None:
    """The first rule (priority order) whose host and path conditions hold; the default rule; None: fixed 404."""
    for rule in alb.rules:
        if rule.hosts and not any(pattern_matches(h, host.lower()) for h in rule.hosts):
            continue
        if rule.paths and not any(pattern_matches(p, path) for p in rule.paths):
            continue
        return rule
    return alb.default


def instance_targets(store: Store, rule: AlbRule) -> tuple[tuple[str, int], ...]:
    """(node InternalIP, nodePort) for an `instance` rule: every node not excluded from external load balancers."""
    svc = store.try_get("Service", rule.service, rule.namespace)
    if svc is None:
        return ()
    if svc.type not in ("NodePort", "LoadBalancer"):
        raise L7Error(f"Ingress {rule.ingress}: service {rule.namespace}/{rule.service} is {svc.type}; target-type "
                      f"instance needs a NodePort or LoadBalancer Service (or set {TARGET_TYPE_ANNOTATION}: ip)")
    port = next((p for p in svc.ports if p.port == rule.port or p.name == rule.port), None)
    if port is None or port.node_port is None:
        return ()
    nodes = sorted((n for n in store.list("Node") if EXCLUDE_LABEL not in n.labels and n.internal_ip),
                   key=lambda n: n.name)
    return tuple((n.internal_ip, int(port.node_port)) for n in nodes)
