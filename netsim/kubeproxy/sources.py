"""From the API's Services, EndpointSlices and Node to the renderer's inputs, as kube-proxy builds them.

This is kube-proxy's change-tracker side (pkg/proxy/servicechangetracker.go,
endpointslicecache.go): one `ServicePortInfo` per port of every Service
that has a ClusterIP (headless and ExternalName Services are skipped), and
for each, the endpoints of the slices labelled with the Service's name whose
port has the same name and protocol, deduplicated on "ip:port" (a ready
copy wins over a not-ready one). The node's side (ProxyConfig) comes from
`config.KubeProxyConfiguration.proxy_config`.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, ip_address

from netsim.api.objects import EndpointSlice, Service
from netsim.kubeproxy.model import EndpointInfo, ServicePortInfo


def service_ports(services: Sequence[Service]) -> list[ServicePortInfo]:
    """The IPv4 service ports kube-proxy programs, one per spec.ports entry."""
    out = []
    for svc in services:
        if svc.type == "ExternalName" or svc.headless or not svc.cluster_ip:
            continue
        cluster_ip = ip_address(svc.cluster_ip)
        if not isinstance(cluster_ip, IPv4Address):
            continue
        spec = svc.spec
        affinity = spec.get("sessionAffinity", "None")
        timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds", 10800)
        lb_ips = svc.load_balancer_ips if svc.type == "LoadBalancer" else ()
        for port in svc.ports:
            out.append(ServicePortInfo(
                namespace=svc.namespace,
                name=svc.name,
                port_name=port.name,
                protocol=port.protocol,
                cluster_ip=cluster_ip,
                port=port.port,
                node_port=port.node_port or 0,
                external_ips=tuple(a for a in svc.external_ips if ip_address(a).version == 4),
                load_balancer_ips=tuple(a for a in lb_ips if ip_address(a).version == 4),
                load_balancer_source_ranges=tuple(spec.get("loadBalancerSourceRanges") or ()),
                session_affinity=affinity,
                sticky_max_age_seconds=int(timeout) if affinity == "ClientIP" else 10800,
                external_policy_local=spec.get("externalTrafficPolicy") == "Local",
                internal_policy_local=spec.get("internalTrafficPolicy") == "Local",
                health_check_node_port=int(spec.get("healthCheckNodePort") or 0),
            ))
    return out


def endpoints_by_port(ports: Sequence[ServicePortInfo], slices: Sequence[EndpointSlice]) -> dict[str, tuple]:
    """`ns/name:port` → the endpoints of that service port, from the slices."""
    wanted = {(p.namespace, p.name, p.port_name, p.protocol.value): p.name_string for p in ports}
    merged: dict[str, dict[str, EndpointInfo]] = {}
    for slice_ in slices:
        if slice_.address_type != "IPv4" or not slice_.service_name:
            continue
        for port in slice_.ports:
            key = wanted.get((slice_.namespace, slice_.service_name, port.name, port.protocol))
            if key is None or not port.port:
                continue
            bucket = merged.setdefault(key, {})
            for ep in slice_.endpoints:
                for address in ep.addresses[:1]:  # kube-proxy uses the first address only
                    cond = ep.conditions
                    info = EndpointInfo(
                        ip=address,
                        port=port.port,
                        ready=cond.ready is not False,
                        serving=cond.serving if cond.serving is not None else None,
                        terminating=bool(cond.terminating),
                        node_name=ep.node_name,
                    )
                    current = bucket.get(info.endpoint)
                    if current is None or (info.ready and not current.ready):
                        bucket[info.endpoint] = info
    return {key: tuple(infos.values()) for key, infos in merged.items()}
