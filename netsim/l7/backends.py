"""A Service port as an L7 proxy sees it: the ready endpoints (address, target port) from its EndpointSlices.

ingress-nginx and Envoy both proxy to endpoints, not to the ClusterIP
(ingress-nginx's Lua balancer reads Endpoints; Envoy Gateway's EDS reads
EndpointSlices); an endpoint is used when its `ready` condition is true or
unknown (KEP-1672), its slice is IPv4, and the slice port named as the
Service port carries a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from netsim.api.objects import EndpointSlice, Service
from netsim.api.store import Store


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One upstream: address, port, and the pod behind it (namespace/name, '' when unknown)."""

    address: IPv4Address
    port: int
    pod: str = ""


@dataclass(frozen=True, slots=True)
class ServiceBackend:
    """What a backend reference resolved to: the Service port (None: no such Service or port) and its endpoints."""

    namespace: str
    name: str
    port: int | None
    endpoints: tuple[Endpoint, ...] = ()
    reason: str = ""


def service_port(svc: Service, port: int | str, protocol: str = "TCP"):
    """The Service's port entry for a number or a port name; None when it has none."""
    for p in svc.ports:
        if p.protocol == protocol and (p.port == port or (isinstance(port, str) and p.name == port)):
            return p
    return None


def resolve_service(store: Store, namespace: str, name: str, port: int | str, protocol: str = "TCP") -> ServiceBackend:
    """The ready endpoints of Service `namespace/name` port `port` (number or name), sorted by address."""
    svc = store.try_get("Service", name, namespace)
    if svc is None:
        return ServiceBackend(namespace, name, None, reason=f'service "{namespace}/{name}" does not exist')
    sp = service_port(svc, port, protocol)  # type: ignore[arg-type]
    if sp is None:
        return ServiceBackend(namespace, name, None, reason=f'service "{namespace}/{name}" has no port {port}')
    out = []
    for es in store.list("EndpointSlice", namespace):
        es: EndpointSlice
        if es.service_name != name or es.address_type != "IPv4":
            continue
        numbers = [p.port for p in es.ports if p.name == sp.name and p.protocol == protocol and p.port]
        if not numbers:
            continue
        for ep in es.endpoints:
            if ep.conditions.ready is False or not ep.addresses:
                continue
            ref = ep.target_ref or {}
            pod = f"{ref.get('namespace', namespace)}/{ref['name']}" if ref.get("kind") == "Pod" else ""
            out.append(Endpoint(ip_address(ep.addresses[0]), int(numbers[0]), pod))  # type: ignore[arg-type]
    eps = tuple(sorted(set(out), key=lambda e: (int(e.address), e.port)))
    reason = "" if eps else f'service "{namespace}/{name}" has no endpoints'
    return ServiceBackend(namespace, name, sp.port, eps, reason)
