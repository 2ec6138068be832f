"""NetworkPolicy objects as value objects, and the pure decisions over them: which pods a policy selects, which peers a rule admits.

Contract: `parse_policy` reads one NetworkPolicy (with the API server's
defaulting of `policyTypes`, pkg/apis/networking/v1/defaults.go: Ingress,
plus Egress when `spec.egress` has rules); `actionable_pods` are the pods a
policy plugin acts on (running, with an IP, not hostNetwork — kube-router's
`isNetPolActionable`); `selected_pods` and `peer_pods` apply the selectors
to them. Nothing here renders text; rules.py does.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from netsim.api.objects import Pod, Resource
from netsim.api.selector import LabelSelector
from netsim.api.store import Store
from netsim.netpol.errors import PolicySpecError

PROTOCOLS = ("TCP", "UDP", "SCTP")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set on every namespace by the API server (1.21+)


class Direction(enum.Enum):
    """A policy type: which traffic of the selected pods it isolates."""

    INGRESS = "Ingress"  # traffic to the selected pods; peers are sources
    EGRESS = "Egress"    # traffic from the selected pods; peers are destinations


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One `ports[]` entry: protocol, a port number or name (None: every port), endPort for a range."""

    protocol: str
    port: int | str | None = None
    end_port: int | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        if self.end_port is not None and not isinstance(self.port, int):
            raise ValueError("endPort needs a numeric port")
        if self.end_port is not None and self.end_port < self.port:  # type: ignore[operator]
            raise ValueError(f"endPort {self.end_port} is below port {self.port}")


@dataclass(frozen=True, slots=True)
class IPBlock:
    """`ipBlock`: a CIDR and the CIDRs carved out of it."""

    cidr: IPv4Network | IPv6Network
    excepts: tuple[IPv4Network | IPv6Network, ...] = ()

    def contains(self, address: str) -> bool:
        """Whether an address is in the block and in none of its exceptions."""
        ip = ip_address(address)
        return ip.version == self.cidr.version and ip in self.cidr and not any(ip in e for e in self.excepts)


@dataclass(frozen=True, slots=True)
class Peer:
    """One `from[]`/`to[]` entry: podSelector and namespaceSelector (both: AND), or an ipBlock."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One `ingress[]`/`egress[]` rule: peers (None when `from`/`to` is absent or empty: everyone) and ports."""

    peers: tuple[Peer, ...] | None
    ports: tuple[PortSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    """A NetworkPolicy: where it lives, whom it selects, its types and rules per direction."""

    namespace: str
    name: str
    pod_selector: LabelSelector
    types: frozenset[Direction]
    ingress: tuple[PolicyRule, ...] = ()
    egress: tuple[PolicyRule, ...] = ()

    def rules(self, direction: Direction) -> tuple[PolicyRule, ...]:
        """The rules of one direction."""
        return self.ingress if direction is Direction.INGRESS else self.egress


def _fail(obj: Resource, field: str, problem: str) -> PolicySpecError:
    return PolicySpecError(f"{obj.namespace}/{obj.name}", field, problem)


def _selector(obj: Resource, value: Any, field: str) -> LabelSelector:
    try:
        return LabelSelector.from_dict(value or {})
    except Exception as exc:  # the api layer's FieldError, re-raised with the policy named
        raise _fail(obj, field, str(exc)) from None


def _port(obj: Resource, data: Any, field: str) -> PortSpec:
    if not isinstance(data, Mapping):
        raise _fail(obj, field, "must be an object with protocol, port, endPort")
    port = data.get("port")
    if port is not None and not isinstance(port, (int, str)):
        raise _fail(obj, f"{field}.port", f"must be a number or a name, got {port!r}")
    try:
        return PortSpec(data.get("protocol", "TCP"), port, data.get("endPort"))
    except ValueError as exc:
        raise _fail(obj, field, str(exc)) from None


def _network(obj: Resource, text: Any, field: str) -> IPv4Network | IPv6Network:
    try:
        return ip_network(str(text), strict=False)
    except ValueError:
        raise _fail(obj, field, f"not a CIDR: {text!r}") from None


def _peer(obj: Resource, data: Any, field: str) -> Peer:
    if not isinstance(data, Mapping) or not data:
        raise _fail(obj, field, "must set podSelector, namespaceSelector or ipBlock")
    block = data.get("ipBlock")
    if block is not None:
        if "podSelector" in data or "namespaceSelector" in data:
            raise _fail(obj, field, "ipBlock cannot be combined with a selector")
        cidr = _network(obj, block.get("cidr"), f"{field}.ipBlock.cidr")
        excepts = tuple(_network(obj, e, f"{field}.ipBlock.except[{i}]") for i, e in enumerate(block.get("except") or ()))
        return Peer(ip_block=IPBlock(cidr, excepts))
    pods = data.get("podSelector")
    namespaces = data.get("namespaceSelector")
    return Peer(None if pods is None else _selector(obj, pods, f"{field}.podSelector"),
                None if namespaces is None else _selector(obj, namespaces, f"{field}.namespaceSelector"))


def _rule(obj: Resource, data: Any, field: str, peers_key: str) -> PolicyRule:
    if not isinstance(data, Mapping):
        raise _fail(obj, field, f"must be an object with {peers_key} and ports")
    raw_peers = data.get(peers_key) or ()
    peers = tuple(_peer(obj, p, f"{field}.{peers_key}[{i}]") for i, p in enumerate(raw_peers)) or None
    ports = tuple(_port(obj, p, f"{field}.ports[{i}]") for i, p in enumerate(data.get("ports") or ()))
    return PolicyRule(peers, ports)


def default_policy_types(spec: Mapping[str, Any]) -> frozenset[Direction]:
    """spec.policyTypes, or the API server's default: Ingress, plus Egress when spec.egress has rules."""
    given = spec.get("policyTypes")
    if given:
        return frozenset(Direction(t) for t in given)
    return frozenset({Direction.INGRESS} | ({Direction.EGRESS} if spec.get("egress") else set()))


def parse_policy(obj: Resource) -> Policy:
    """The value object for one NetworkPolicy; PolicySpecError names a field netsim cannot read."""
    spec = obj.spec
    types = default_policy_types(spec)
    ingress = tuple(_rule(obj, r, f"spec.ingress[{i}]", "from") for i, r in enumerate(spec.get("ingress") or ()))
    egress = tuple(_rule(obj, r, f"spec.egress[{i}]", "to") for i, r in enumerate(spec.get("egress") or ()))
    return Policy(obj.namespace, obj.name, _selector(obj, spec.get("podSelector"), "spec.podSelector"), types,
                  ingress, egress)


def policies(store: Store) -> tuple[Policy, ...]:
    """Every NetworkPolicy in the store, by namespace and name."""
    return tuple(parse_policy(p) for p in sorted(store.list("NetworkPolicy"), key=lambda p: (p.namespace, p.name)))


def actionable_pods(store: Store) -> tuple[Pod, ...]:
    """The pods a policy plugin enforces on and admits as peers: running, with an IP, not hostNetwork."""
    pods = (p for p in store.list("Pod")
            if isinstance(p, Pod) and p.phase == "Running" and p.pod_ip and not p.host_network)
    return tuple(sorted(pods, key=lambda p: (p.namespace, p.name)))


def namespace_labels(store: Store) -> dict[str, Mapping[str, str]]:
    """Labels per namespace name (a namespace known only from its pods carries the name label alone)."""
    out: dict[str, Mapping[str, str]] = {}
    for ns in store.list("Namespace"):
        out[ns.name] = {NAMESPACE_NAME_LABEL: ns.name, **ns.labels}
    for pod in store.list("Pod"):
        out.setdefault(pod.namespace, {NAMESPACE_NAME_LABEL: pod.namespace})
    return out


def selected_pods(policy: Policy, pods: Sequence[Pod]) -> tuple[Pod, ...]:
    """The pods of the policy's namespace its podSelector matches (an empty selector: all of them)."""
    return tuple(p for p in pods if p.namespace == policy.namespace and policy.pod_selector.matches(p.labels))


def isolated(policy_list: Sequence[Policy], pod: Pod, direction: Direction) -> tuple[Policy, ...]:
    """The policies of `direction` that select `pod` (empty: the pod is not isolated that way)."""
    return tuple(p for p in policy_list if direction in p.types and p.namespace == pod.namespace
                 and p.pod_selector.matches(pod.labels))


def peer_pods(policy: Policy, peer: Peer, pods: Sequence[Pod], ns_labels: Mapping[str, Mapping[str, str]]
              ) -> tuple[Pod, ...]:
    """The pods a selector peer admits: podSelector alone in the policy's namespace, namespaceSelector alone
    every pod of the matching namespaces, both together the matching pods of the matching namespaces."""
    if peer.ip_block is not None:
        return tuple(p for p in pods if peer.ip_block.contains(p.pod_ip))  # type: ignore[arg-type]
    out = []
    for pod in pods:
        if peer.namespace_selector is None:
            in_scope = pod.namespace == policy.namespace
        else:
            in_scope = peer.namespace_selector.matches(ns_labels.get(pod.namespace, {}))
        if in_scope and (peer.pod_selector is None or peer.pod_selector.matches(pod.labels)):
            out.append(pod)
    return tuple(out)


def resolve_port(pod: Pod, spec: PortSpec) -> int | None:
    """A named port's number in one pod (None when the pod declares no such port for the protocol)."""
    if isinstance(spec.port, str):
        return pod.named_port(spec.port, spec.protocol)
    return spec.port
