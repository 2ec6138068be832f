"""The manifest scenarios: data/scenarios/<name>/ (manifests.yaml, optional kube-proxy.yaml) over
the shared data/scenarios/topology.yaml and nodes.yaml, loaded through netsim's own loading,
controllers and kube-proxy inputs (netsim.emulator.proxy, netsim.kubeproxy.sources)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kp_support import DATA_DIR
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster
from netsim.emulator.proxy import node_proxy_config, node_ruleset_text
from netsim.kubeproxy.config import KubeProxyConfiguration, load_config_file
from netsim.kubeproxy.model import ProxyConfig

SCENARIOS_DIR = DATA_DIR / "scenarios"
NODES = ("node-a", "node-b")
NAMES = (
    "clusterip-multiport",
    "nodeport",
    "loadbalancer-source-ranges",
    "external-ips",
    "externalname-headless",
    "session-affinity",
    "traffic-policy-local",
    "terminating-slices",
    "no-endpoints",
    "nodeport-addresses-masq-all-nodecidr",
)


@dataclass(frozen=True)
class Built:
    name: str
    cluster: Cluster
    kube_proxy: KubeProxyConfiguration | None

    def restore_text(self, node: str) -> str:
        return node_ruleset_text(self.cluster, node, self.kube_proxy)

    def proxy_config(self, node: str) -> ProxyConfig:
        return node_proxy_config(self.cluster, self.cluster.store.get("Node", node), self.kube_proxy)


def files(name: str) -> list[Path]:
    return [SCENARIOS_DIR / "nodes.yaml", SCENARIOS_DIR / name / "manifests.yaml"]


@cache
def build(name: str) -> Built:
    """The scenario's cluster, settled, and its kube-proxy configuration file if it has one."""
    manifests = [m for path in files(name) for m in load_text(path.read_text(), str(path))]
    cluster = Cluster.build(load_topology(SCENARIOS_DIR / "topology.yaml"), manifests, seed=0)
    config_path = SCENARIOS_DIR / name / "kube-proxy.yaml"
    return Built(name, cluster, load_config_file(config_path) if config_path.exists() else None)
