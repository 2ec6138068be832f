"""Typed Kubernetes objects over the manifest's own data.

Every object keeps the full dict it was given (so fields netsim does not model
survive a load/dump round trip) and exposes typed, read-only access to the
fields the emulator uses. Objects are immutable: `evolve(fn)` returns a changed
copy, and only the store hands out new versions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address
from types import MappingProxyType
from typing import Any, ClassVar

from netsim.api.kinds import KindInfo, kind_info
from netsim.api.meta import Condition, ObjectKey, OwnerReference

_EMPTY: Mapping[str, str] = MappingProxyType({})


class Resource:
    """One Kubernetes object: the manifest dict plus typed accessors common to every kind."""

    __slots__ = ("_data", "_owners")
    KIND: ClassVar[str] = ""

    def __init__(self, data: dict) -> None:
        self._data = data
        self._owners: tuple[OwnerReference, ...] | None = None   # parsed once: the data never changes

    # identity -------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self._data["kind"]

    @property
    def info(self) -> KindInfo:
        """The kind's row in the kinds table (scope, resource name)."""
        return kind_info(self.kind)

    @property
    def api_version(self) -> str:
        return self._data.get("apiVersion", "")

    @property
    def metadata(self) -> Mapping[str, Any]:
        return MappingProxyType(self._data.get("metadata") or {})

    @property
    def name(self) -> str:
        return (self._data.get("metadata") or _EMPTY).get("name", "")

    @property
    def namespace(self) -> str:
        """The namespace, "" for cluster-scoped kinds."""
        return (self._data.get("metadata") or _EMPTY).get("namespace", "") or ""

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(self.kind, self.namespace, self.name)

    @property
    def ref(self) -> str:
        """`Kind namespace/name` (or `Kind name`), as error messages name an object."""
        return str(self.key)

    # metadata -------------------------------------------------------------
    @property
    def uid(self) -> str:
        return (self._data.get("metadata") or _EMPTY).get("uid", "")

    @property
    def resource_version(self) -> str:
        return self.metadata.get("resourceVersion", "")

    @property
    def generation(self) -> int:
        return int(self.metadata.get("generation", 0) or 0)

    @property
    def creation_timestamp(self) -> str:
        return self.metadata.get("creationTimestamp", "") or ""

    @property
    def deletion_timestamp(self) -> str | None:
        return self.metadata.get("deletionTimestamp") or None

    @property
    def labels(self) -> Mapping[str, str]:
        return MappingProxyType(self.metadata.get("labels") or {})

    @property
    def annotations(self) -> Mapping[str, str]:
        return MappingProxyType(self.metadata.get("annotations") or {})

    @property
    def finalizers(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("finalizers") or ())

    @property
    def owner_references(self) -> tuple[OwnerReference, ...]:
        if self._owners is None:
            refs = (self._data.get("metadata") or _EMPTY).get("ownerReferences") or ()
            self._owners = tuple(OwnerReference.from_dict(o) for o in refs)
        return self._owners

    @property
    def controller_ref(self) -> OwnerReference | None:
        """The owner reference with controller: true, if any."""
        return next((o for o in self.owner_references if o.controller), None)

    @property
    def spec(self) -> Mapping[str, Any]:
        return MappingProxyType(self._data.get("spec") or {})

    @property
    def status(self) -> Mapping[str, Any]:
        return MappingProxyType(self._data.get("status") or {})

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(Condition.from_dict(c) for c in self.status.get("conditions") or ())

    def condition(self, type_: str) -> Condition | None:
        """The status condition of that type, or None."""
        return next((c for c in self.conditions if c.type == type_), None)

    # data -----------------------------------------------------------------
    def get(self, path: str, default: Any = None) -> Any:
        """A raw field by dotted path (`spec.template.metadata.labels`); a deep copy."""
        node: Any = self._data
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return copy.deepcopy(node)

    def to_dict(self) -> dict:
        """The whole object as plain data (a deep copy)."""
        return copy.deepcopy(self._data)

    def evolve(self, change: Callable[[dict], None]) -> Resource:
        """A new object of the same kind: a deep copy of the data with `change` applied to it."""
        data = copy.deepcopy(self._data)
        change(data)
        return make_object(data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resource) and other._data == self._data

    def __hash__(self) -> int:
        return hash((self.key, self.resource_version))

    def __repr__(self) -> str:
        rv = f" rv={self.resource_version}" if self.resource_version else ""
        return f"<{self.ref}{rv}>"


# value objects for the sub-structures the emulator reads -----------------------


@dataclass(frozen=True, slots=True)
class ServicePort:
    """spec.ports[] of a Service: name, protocol, port, targetPort (number or name), nodePort."""

    name: str
    protocol: str
    port: int
    target_port: int | str
    node_port: int | None = None
    app_protocol: str | None = None


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """spec.containers[].ports[]: containerPort, protocol, name, hostPort, hostIP."""

    container_port: int
    protocol: str = "TCP"
    name: str = ""
    host_port: int | None = None
    host_ip: str = ""


@dataclass(frozen=True, slots=True)
class Container:
    """One container of a pod: name, image, ports, resource requests (quantity strings)."""

    name: str
    image: str
    ports: tuple[ContainerPort, ...] = ()
    requests: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    limits: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Taint:
    """spec.taints[] of a Node (also what a topology gives its nodes)."""

    key: str
    effect: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ValueError(f"unknown taint effect {self.effect!r}")

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True, slots=True)
class EndpointConditions:
    """endpoints[].conditions of an EndpointSlice; None means unknown (treated as ready)."""

    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


@dataclass(frozen=True, slots=True)
class SliceEndpoint:
    """endpoints[] of an EndpointSlice."""

    addresses: tuple[str, ...]
    conditions: EndpointConditions
    node_name: str | None = None
    zone: str | None = None
    hostname: str | None = None
    target_ref: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class SlicePort:
    """ports[] of an EndpointSlice (port None means "all ports")."""

    name: str
    protocol: str
    port: int | None
    app_protocol: str | None = None


# kinds ------------------------------------------------------------------------


def _containers(spec: Mapping[str, Any], key: str = "containers") -> tuple[Container, ...]:
    out = []
    for c in spec.get(key) or ():
        ports = tuple(
            ContainerPort(
                container_port=int(p["containerPort"]),
                protocol=p.get("protocol", "TCP"),
                name=p.get("name", "") or "",
                host_port=p.get("hostPort"),
                host_ip=p.get("hostIP", "") or "",
            )
            for p in c.get("ports") or ()
        )
        resources = c.get("resources") or {}
        out.append(
            Container(
                name=c.get("name", ""),
                image=c.get("image", ""),
                ports=ports,
                requests=MappingProxyType(dict(resources.get("requests") or {})),
                limits=MappingProxyType(dict(resources.get("limits") or {})),
            )
        )
    return tuple(out)


class Namespace(Resource):
    """A Namespace; status.phase is Active or Terminating."""

    __slots__ = ()
    KIND = "Namespace"

    @property
    def phase(self) -> str:
        return self.status.get("phase", "Active")


class Node(Resource):
    """A Node: addresses, podCIDR, taints, allocatable, readiness."""

    __slots__ = ()
    KIND = "Node"

    @property
    def internal_ip(self) -> str | None:
        """The first InternalIP in status.addresses."""
        return next((a["address"] for a in self.status.get("addresses") or () if a.get("type") == "InternalIP"), None)

    @property
    def pod_cidrs(self) -> tuple[str, ...]:
        cidrs = self.spec.get("podCIDRs")
        if cidrs:
            return tuple(cidrs)
        return (self.spec["podCIDR"],) if self.spec.get("podCIDR") else ()

    @property
    def taints(self) -> tuple[Taint, ...]:
        return tuple(Taint(t["key"], t["effect"], t.get("value", "") or "") for t in self.spec.get("taints") or ())

    @property
    def unschedulable(self) -> bool:
        return bool(self.spec.get("unschedulable", False))

    @property
    def allocatable(self) -> Mapping[str, str]:
        return MappingProxyType(dict(self.status.get("allocatable") or {}))

    @property
    def ready(self) -> bool:
        cond = self.condition("Ready")
        return cond is not None and cond.status == "True"

    @property
    def zone(self) -> str | None:
        return self.labels.get("topology.kubernetes.io/zone")


class Pod(Resource):
    """A Pod: its containers, node, network mode, phase, IPs and readiness."""

    __slots__ = ()
    KIND = "Pod"

    @property
    def containers(self) -> tuple[Container, ...]:
        return _containers(self.spec)

    @property
    def init_containers(self) -> tuple[Container, ...]:
        return _containers(self.spec, "initContainers")

    @property
    def node_name(self) -> str:
        return self.spec.get("nodeName", "") or ""

    @property
    def host_network(self) -> bool:
        return bool(self.spec.get("hostNetwork", False))

    @property
    def hostname(self) -> str:
        return self.spec.get("hostname", "") or ""

    @property
    def subdomain(self) -> str:
        return self.spec.get("subdomain", "") or ""

    @property
    def phase(self) -> str:
        return self.status.get("phase", "Pending")

    @property
    def pod_ip(self) -> str | None:
        return self.status.get("podIP") or None

    @property
    def host_ip(self) -> str | None:
        return self.status.get("hostIP") or None

    @property
    def ready(self) -> bool:
        cond = self.condition("Ready")
        return cond is not None and cond.status == "True"

    def named_port(self, name: str, protocol: str) -> int | None:
        """The containerPort a Service's named targetPort resolves to in this pod (first match)."""
        for c in self.containers:
            for p in c.ports:
                if p.name == name and p.protocol == protocol:
                    return p.container_port
        return None


class Service(Resource):
    """A Service: type, cluster IPs, ports, selector and traffic policies."""

    __slots__ = ()
    KIND = "Service"

    @property
    def type(self) -> str:
        return self.spec.get("type", "ClusterIP")

    @property
    def cluster_ip(self) -> str | None:
        """spec.clusterIP; None when unset, "None" for a headless Service."""
        return self.spec.get("clusterIP") or None

    @property
    def cluster_ips(self) -> tuple[str, ...]:
        ips = self.spec.get("clusterIPs")
        if ips:
            return tuple(ips)
        return (self.cluster_ip,) if self.cluster_ip else ()

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"

    @property
    def ports(self) -> tuple[ServicePort, ...]:
        return tuple(
            ServicePort(
                name=p.get("name", "") or "",
                protocol=p.get("protocol", "TCP"),
                port=int(p["port"]),
                target_port=p.get("targetPort", p["port"]),
                node_port=p.get("nodePort"),
                app_protocol=p.get("appProtocol"),
            )
            for p in self.spec.get("ports") or ()
        )

    @property
    def selector(self) -> Mapping[str, str] | None:
        """spec.selector; None when the Service has none (its EndpointSlices are the user's)."""
        sel = self.spec.get("selector")
        return MappingProxyType(dict(sel)) if sel else None

    @property
    def external_ips(self) -> tuple[str, ...]:
        return tuple(self.spec.get("externalIPs") or ())

    @property
    def load_balancer_ips(self) -> tuple[str, ...]:
        """status.loadBalancer.ingress[].ip."""
        ingress = (self.status.get("loadBalancer") or {}).get("ingress") or ()
        return tuple(i["ip"] for i in ingress if i.get("ip"))

    @property
    def external_name(self) -> str:
        return self.spec.get("externalName", "") or ""


class EndpointSlice(Resource):
    """An EndpointSlice: the Service it belongs to, its endpoints and ports."""

    __slots__ = ()
    KIND = "EndpointSlice"

    SERVICE_NAME_LABEL: ClassVar[str] = "kubernetes.io/service-name"

    @property
    def service_name(self) -> str:
        return self.labels.get(self.SERVICE_NAME_LABEL, "")

    @property
    def address_type(self) -> str:
        return self._data.get("addressType", "IPv4")

    @property
    def endpoints(self) -> tuple[SliceEndpoint, ...]:
        out = []
        for e in self._data.get("endpoints") or ():
            cond = e.get("conditions") or {}
            out.append(
                SliceEndpoint(
                    addresses=tuple(e.get("addresses") or ()),
                    conditions=EndpointConditions(cond.get("ready"), cond.get("serving"), cond.get("terminating")),
                    node_name=e.get("nodeName"),
                    zone=e.get("zone"),
                    hostname=e.get("hostname"),
                    target_ref=MappingProxyType(dict(e["targetRef"])) if e.get("targetRef") else None,
                )
            )
        return tuple(out)

    @property
    def ports(self) -> tuple[SlicePort, ...]:
        return tuple(
            SlicePort(p.get("name", "") or "", p.get("protocol", "TCP"), p.get("port"), p.get("appProtocol"))
            for p in self._data.get("ports") or ()
        )


class _Workload(Resource):
    """Shared accessors of the controllers that own pods through a selector and a template."""

    __slots__ = ()

    @property
    def replicas(self) -> int:
        value = self.spec.get("replicas")
        return 1 if value is None else int(value)

    @property
    def selector(self) -> Mapping[str, Any]:
        return MappingProxyType(dict(self.spec.get("selector") or {}))

    @property
    def template(self) -> dict:
        """spec.template as plain data (a deep copy)."""
        return copy.deepcopy(dict(self.spec.get("template") or {}))


class Deployment(_Workload):
    """A Deployment: replicas, selector, pod template, strategy."""

    __slots__ = ()
    KIND = "Deployment"


class ReplicaSet(_Workload):
    """A ReplicaSet: replicas, selector, pod template."""

    __slots__ = ()
    KIND = "ReplicaSet"


class StatefulSet(_Workload):
    """A StatefulSet: replicas, selector, template, serviceName, volumeClaimTemplates."""

    __slots__ = ()
    KIND = "StatefulSet"


class DaemonSet(_Workload):
    """A DaemonSet: selector and template (one pod per eligible node)."""

    __slots__ = ()
    KIND = "DaemonSet"


class Event(Resource):
    """A core/v1 Event as `kubectl get events` shows it."""

    __slots__ = ()
    KIND = "Event"

    @property
    def reason(self) -> str:
        return self._data.get("reason", "")

    @property
    def message(self) -> str:
        return self._data.get("message", "")

    @property
    def type(self) -> str:
        return self._data.get("type", "Normal")

    @property
    def involved_object(self) -> Mapping[str, Any]:
        return MappingProxyType(self._data.get("involvedObject") or {})


_CLASSES: dict[str, type[Resource]] = {
    cls.KIND: cls
    for cls in (Namespace, Node, Pod, Service, EndpointSlice, Deployment, ReplicaSet, StatefulSet, DaemonSet, Event)
}


def make_object(data: dict) -> Resource:
    """The typed object for a manifest dict (the dict is owned by the object from now on)."""
    kind = data.get("kind", "")
    kind_info(kind)
    return _CLASSES.get(kind, Resource)(data)


def is_valid_ip(text: str) -> bool:
    """True when `text` is an IPv4 or IPv6 address."""
    try:
        ip_address(text)
    except ValueError:
        return False
    return True
