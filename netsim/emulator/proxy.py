"""kube-proxy on every node: its configuration and the rules it writes, from the cluster's current objects.

Nothing is cached: every call reads the store as it is now, so a changed
Service or Node gives new rules on the next call; EndpointSlices are read
as the node's kube-proxy has seen them (Cluster.endpoint_slices_seen_by:
`netsim.endpointPropagationSeconds` late, 0 by default).

The configuration, first match wins: a `KubeProxyConfiguration` handed in
(the CLI's `--kube-proxy-config FILE`, read with kube-proxy's own defaults);
else kind's (kubeadm writes clusterCIDR = networking.podSubnet and mode =
networking.kubeProxyMode) with the topology's `netsim.kubeProxy` fields merged
over it.
"""

from __future__ import annotations

from ipaddress import ip_network

from netsim.api.errors import NotFound
from netsim.api.objects import Node
from netsim.errors import NotImplementedFeature
from netsim.emulator.cluster import Cluster
from netsim.kubeproxy.config import KubeProxyConfiguration, config_from_mapping, kind_defaults
from netsim.kubeproxy.model import ProxyConfig
from netsim.kubeproxy.render import render
from netsim.kubeproxy.sources import endpoints_by_port, service_ports


def kube_proxy_configuration(cluster: Cluster, override: KubeProxyConfiguration | None = None) -> KubeProxyConfiguration:
    """The KubeProxyConfiguration every node's kube-proxy runs with (see the module docstring)."""
    if override is not None:
        return override
    topology = cluster.topology
    if topology.kube_proxy_mode == "none":
        raise NotImplementedFeature(f"{topology.source}: networking.kubeProxyMode: 'none' (a cluster without "
                                    f"kube-proxy) is not emulated yet (only iptables)")
    if topology.kube_proxy_mode not in ("", "iptables") and "mode" not in (topology.kube_proxy or {}):
        raise NotImplementedFeature(f"{topology.source}: networking.kubeProxyMode: {topology.kube_proxy_mode!r} "
                                    f"is not emulated yet (only iptables)")
    base = kind_defaults(str(topology.pod_subnet), topology.kube_proxy_mode)
    return config_from_mapping(topology.kube_proxy or {}, topology.source, "netsim.kubeProxy.", base=base)


def node_proxy_config(cluster: Cluster, node: Node, override: KubeProxyConfiguration | None = None) -> ProxyConfig:
    """What `node`'s kube-proxy knows: its configuration, the Node's name and addresses (the
    InternalIP, loopback and the pod gateway addresses the CNI puts on the node)."""
    gateways = [str(ip_network(c).network_address + 1) for c in node.pod_cidrs]
    return kube_proxy_configuration(cluster, override).proxy_config(node, gateways)


def node_ruleset_text(cluster: Cluster, node_name: str, override: KubeProxyConfiguration | None = None) -> str:
    """The iptables-restore input kube-proxy (iptables mode) writes on `node_name`, rendered now."""
    store = cluster.store
    node = store.try_get("Node", node_name)
    if node is None:
        names = ", ".join(n.name for n in store.list("Node"))
        raise NotFound(f'nodes "{node_name}" not found (nodes: {names})')
    config = node_proxy_config(cluster, node, override)  # type: ignore[arg-type]
    ports = service_ports(store.list("Service"))  # type: ignore[arg-type]
    endpoints = endpoints_by_port(ports, cluster.endpoint_slices_seen_by(node_name))  # type: ignore[arg-type]
    return render(config, ports, endpoints)
