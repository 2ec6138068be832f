"""What CoreDNS's kubernetes plugin sees of the cluster: Services, EndpointSlices as Endpoints, Pods, Namespaces.

Built once from the store (the plugin's informers' view), in sorted order.
EndpointSlices become Endpoints as `object.EndpointSliceToEndpoints` makes
them: one subset per slice, only ready addresses (a missing condition counts
as ready), a `-1` port sentinel when the slice has no ports, target names
kept only when shorter than 64 characters; FQDN slices are not watched.
A Service with no ports gets the same sentinel (`object.ToService`).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

from netsim.api.store import Store

NO_PORT = -1  # CoreDNS's sentinel for "no declared ports"


@dataclass(frozen=True, slots=True)
class PortView:
    """A Service port or an EndpointSlice port: name, protocol, number."""

    name: str
    protocol: str
    port: int


@dataclass(frozen=True, slots=True)
class ServiceView:
    """A Service as the plugin keeps it."""

    namespace: str
    name: str
    type: str
    cluster_ips: tuple[str, ...]
    external_ips: tuple[str, ...]
    external_name: str
    ports: tuple[PortView, ...]

    @property
    def headless(self) -> bool:
        """clusterIP None."""
        return self.cluster_ips[:1] == ("None",)


@dataclass(frozen=True, slots=True)
class AddressView:
    """One ready endpoint address: IP, hostname, target pod name."""

    ip: str
    hostname: str
    target_name: str


@dataclass(frozen=True, slots=True)
class EndpointsView:
    """One EndpointSlice as Endpoints: the Service it indexes under, its ready addresses and ports."""

    namespace: str
    service: str
    addresses: tuple[AddressView, ...]
    ports: tuple[PortView, ...]


@dataclass(frozen=True, slots=True)
class ClusterView:
    """Everything the plugin answers from, plus the SOA serial (the time of the last change)."""

    namespaces: frozenset[str]
    services: tuple[ServiceView, ...]
    endpoints: tuple[EndpointsView, ...]
    pods: tuple[tuple[str, str], ...]      # (namespace, pod IP) of running pods
    serial: int

    def service(self, namespace: str, name: str) -> ServiceView | None:
        """The Service namespace/name (case-insensitive, as DNS names are), if any."""
        for s in self.services:
            if s.namespace.lower() == namespace.lower() and s.name.lower() == name.lower():
                return s
        return None

    def endpoints_of(self, svc: ServiceView) -> tuple[EndpointsView, ...]:
        """The Endpoints (one per slice) of a Service."""
        return tuple(e for e in self.endpoints if e.namespace == svc.namespace and e.service == svc.name)


def view_from_store(store: Store, serial: int) -> ClusterView:
    """The plugin's view of the store's objects now."""
    services = []
    for svc in sorted(store.list("Service"), key=lambda o: (o.namespace, o.name)):
        ports = tuple(PortView(p.name, p.protocol, p.port) for p in svc.ports) or (PortView("", "", NO_PORT),)
        ips = svc.cluster_ips if svc.type != "ExternalName" else ()
        services.append(ServiceView(svc.namespace, svc.name, svc.type, tuple(ips), svc.external_ips,
                                    svc.external_name, ports))
    endpoints = []
    for s in sorted(store.list("EndpointSlice"), key=lambda o: (o.namespace, o.name)):
        if s.address_type not in ("IPv4", "IPv6") or not s.service_name:
            continue
        ports = tuple(PortView(p.name, p.protocol, p.port if p.port is not None else NO_PORT) for p in s.ports)
        addresses = []
        for e in s.endpoints:
            if e.conditions.ready is False:
                continue
            target = (e.target_ref or {}).get("name", "")
            for a in e.addresses:
                addresses.append(AddressView(a, e.hostname or "", target if len(target) < 64 else ""))
        endpoints.append(EndpointsView(s.namespace, s.service_name, tuple(addresses),
                                       ports or (PortView("", "", NO_PORT),)))
    pods = tuple((p.namespace, p.pod_ip) for p in sorted(store.list("Pod"), key=lambda o: (o.namespace, o.name))
                 if p.pod_ip and p.phase == "Running")
    namespaces = frozenset(n.name for n in store.list("Namespace") if not n.deletion_timestamp)
    return ClusterView(namespaces, tuple(services), tuple(endpoints), pods, serial)


def is_ip(text: str) -> bool:
    """True when `text` is an IPv4 or IPv6 address."""
    try:
        ip_address(text)
    except ValueError:
        return False
    return True
