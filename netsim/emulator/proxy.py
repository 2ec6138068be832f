"""kube-proxy on every node: the rules it writes, from the cluster's current objects."""

from __future__ import annotations

from ipaddress import ip_network

from netsim.api.errors import NotFound
from netsim.errors import NotImplementedFeature
from netsim.emulator.cluster import Cluster
from netsim.kubeproxy.render import render
from netsim.kubeproxy.sources import endpoints_by_port, proxy_config, service_ports


def node_ruleset_text(cluster: Cluster, node_name: str) -> str:
    """The iptables-save text kube-proxy (iptables mode) writes on `node_name`."""
    mode = cluster.topology.kube_proxy_mode
    if mode not in ("iptables", ""):
        raise NotImplementedFeature(f"{cluster.topology.source}: networking.kubeProxyMode: {mode!r} is not "
                                    f"emulated yet (only iptables)")
    store = cluster.store
    node = store.try_get("Node", node_name)
    if node is None:
        names = ", ".join(n.name for n in store.list("Node"))
        raise NotFound(f'nodes "{node_name}" not found (nodes: {names})')
    gateways = [str(ip_network(c).network_address + 1) for c in node.pod_cidrs]  # type: ignore[attr-defined]
    config = proxy_config(node, str(cluster.topology.pod_subnet), gateways)  # type: ignore[arg-type]
    ports = service_ports(store.list("Service"))  # type: ignore[arg-type]
    endpoints = endpoints_by_port(ports, store.list("EndpointSlice"))  # type: ignore[arg-type]
    return render(config, ports, endpoints)
