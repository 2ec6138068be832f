"""Which endpoints a node uses for a service port: kube-proxy's `CategorizeEndpoints`.

Pure functions over the model (pkg/proxy/topology.go). "Usable" means Ready;
when no endpoint is Ready, serving-and-terminating endpoints are used instead,
decided separately for the Cluster and the Local list. Topology hints narrow
the Cluster list when every ready endpoint carries them and one matches this
node (PreferSameNode) or its zone (PreferSameZone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from netsim.kubeproxy.model import EndpointInfo, ProxyConfig, ServicePortInfo

PREFER_SAME_NODE = "PreferSameNode"
PREFER_SAME_ZONE = "PreferSameZone"


class EndpointCategories(NamedTuple):
    """The result of `categorize_endpoints`.

    cluster        endpoints for "Cluster" traffic policy (topology applied); empty when the
                   port never uses Cluster policy
    local          this node's endpoints for "Local" traffic policy; empty when never used
    all_reachable  union of the two: the endpoints that get a KUBE-SEP- chain on this node
                   (sorted by "ip:port")
    has_any        whether the service has usable endpoints anywhere in the cluster (may be
                   true while all_reachable is empty)
    """

    cluster: tuple[EndpointInfo, ...]
    local: tuple[EndpointInfo, ...]
    all_reachable: tuple[EndpointInfo, ...]
    has_any: bool


def sort_endpoints(endpoints: Sequence[EndpointInfo]) -> tuple[EndpointInfo, ...]:
    """Endpoints in kube-proxy's order: by the "ip:port" string (endpointslicecache `byEndpoint`),
    first occurrence kept for a duplicate "ip:port"."""
    seen: dict[str, EndpointInfo] = {}
    for ep in endpoints:
        seen.setdefault(ep.endpoint, ep)
    return tuple(seen[k] for k in sorted(seen))


def _filter(endpoints: Sequence[EndpointInfo], keep: Callable[[EndpointInfo], bool]) -> tuple[EndpointInfo, ...]:
    return tuple(ep for ep in endpoints if keep(ep))


def topology_mode_from_hints(endpoints: Sequence[EndpointInfo], config: ProxyConfig) -> str:
    """"", PREFER_SAME_NODE or PREFER_SAME_ZONE from the ready endpoints' hints (topologyModeFromHints)."""
    ready = [ep for ep in endpoints if ep.ready]
    all_node_hints = all(ep.node_hints for ep in ready)
    any_for_node = any(config.node_name in ep.node_hints for ep in ready)
    all_zone_hints = all(ep.zone_hints for ep in ready)
    any_for_zone = any(config.zone in ep.zone_hints for ep in ready)
    if config.prefer_same_traffic_distribution and all_node_hints and any_for_node:
        return PREFER_SAME_NODE
    if all_zone_hints and any_for_zone:
        return PREFER_SAME_ZONE
    return ""


def _available_for_topology(ep: EndpointInfo, mode: str, config: ProxyConfig) -> bool:
    if mode == PREFER_SAME_NODE:
        return config.node_name in ep.node_hints
    if mode == PREFER_SAME_ZONE:
        return config.zone in ep.zone_hints
    return True


def categorize_endpoints(
    endpoints: Sequence[EndpointInfo], svc: ServicePortInfo, config: ProxyConfig
) -> EndpointCategories:
    """Split a service port's endpoints into the Cluster and Local lists (CategorizeEndpoints).

    `endpoints` may come in any order; the result is in kube-proxy's order.
    """
    endpoints = sort_endpoints(endpoints)
    node = config.node_name
    cluster: tuple[EndpointInfo, ...] = ()
    local: tuple[EndpointInfo, ...] = ()
    has_any = False
    mode = ""

    if svc.uses_cluster_endpoints():
        mode = topology_mode_from_hints(endpoints, config)
        cluster = _filter(endpoints, lambda ep: ep.ready and _available_for_topology(ep, mode, config))
        if not cluster:
            cluster = _filter(endpoints, lambda ep: bool(ep.serving) and ep.terminating)
        has_any = bool(cluster)

    if not svc.uses_local_endpoints():
        return EndpointCategories(cluster, (), cluster, has_any)

    local_ready = local_serving_terminating = False
    for ep in endpoints:
        if ep.ready:
            has_any = True
            local_ready = local_ready or ep.is_local(node)
        elif ep.serving and ep.terminating:
            has_any = True
            local_serving_terminating = local_serving_terminating or ep.is_local(node)

    use_serving_terminating = False
    if local_ready:
        local = _filter(endpoints, lambda ep: ep.is_local(node) and ep.ready)
    elif local_serving_terminating:
        use_serving_terminating = True
        local = _filter(endpoints, lambda ep: ep.is_local(node) and bool(ep.serving) and ep.terminating)

    if not svc.uses_cluster_endpoints():
        return EndpointCategories((), local, local, has_any)
    if mode == "" and not use_serving_terminating:
        # cluster holds every ready endpoint, a superset of local.
        return EndpointCategories(cluster, local, cluster, has_any)
    merged = {ep.endpoint: ep for ep in (*cluster, *local)}
    return EndpointCategories(cluster, local, tuple(merged[k] for k in sorted(merged)), has_any)
