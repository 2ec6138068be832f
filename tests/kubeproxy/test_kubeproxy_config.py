"""KubeProxyConfiguration: kube-proxy's defaults, validation with one-line errors, the topology's
netsim.kubeProxy, and what reaches the renderer."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import run_cli
from kp_manifests import SCENARIOS_DIR, build
from netsim.api.errors import InvalidObject
from netsim.api.topology import load_topology_text
from netsim.errors import InputError, NotImplementedFeature
from netsim.kubeproxy.config import (
    InvalidProxyConfig,
    KubeProxyConfiguration,
    config_from_mapping,
    kind_defaults,
    load_config_file,
)
from netsim.kubeproxy.errors import UnsupportedProxyFeature
from netsim.kubeproxy.model import LocalDetectMode

HEAD = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "kube-proxy.yaml"
    path.write_text(HEAD + body)
    return path


def test_kube_proxy_defaults(tmp_path):
    config = load_config_file(write(tmp_path, ""))
    assert config == KubeProxyConfiguration(source=str(tmp_path / "kube-proxy.yaml"))
    # defaults.go and the Linux platform defaults
    assert (config.mode, config.masquerade_bit, config.masquerade_all, config.localhost_node_ports) == \
           ("iptables", 14, False, True)
    assert config.detect_local_mode is LocalDetectMode.CLUSTER_CIDR and config.cluster_cidrs == ()
    assert (config.conntrack_max_per_core, config.conntrack_min, config.conntrack_tcp_established_timeout,
            config.conntrack_tcp_close_wait_timeout, config.sync_period, config.min_sync_period) == \
           (32768, 131072, "24h0m0s", "1h0m0s", "30s", "1s")


def test_every_field_netsim_uses(tmp_path):
    config = load_config_file(write(tmp_path, """
mode: iptables
clusterCIDR: 10.244.0.0/16,fd00:10:244::/56
nodePortAddresses: [172.18.0.0/16, "fd00::/64"]
detectLocalMode: InterfaceNamePrefix
detectLocal: {interfaceNamePrefix: veth}
iptables: {masqueradeBit: 13, masqueradeAll: true, localhostNodePorts: false, syncPeriod: 10s, minSyncPeriod: 0s}
conntrack: {tcpBeLiberal: true, maxPerCore: 0}
featureGates: {PreferSameTrafficDistribution: false}
bindAddress: 0.0.0.0
"""))
    assert [str(c) for c in config.cluster_cidrs] == ["10.244.0.0/16"]
    assert config.node_port_addresses == ("172.18.0.0/16", "fd00::/64")
    assert (config.masquerade_bit, config.masquerade_all, config.localhost_node_ports) == (13, True, False)
    assert config.conntrack_tcp_be_liberal and config.conntrack_max_per_core == 0
    assert not config.gate("PreferSameTrafficDistribution", True)


@pytest.mark.parametrize("body, message", [
    ("iptables: {masqueradeBit: 40}\n", "iptables.masqueradeBit: must be between 0 and 31, got 40"),
    ("iptables: {masqueradeAll: yes-please}\n", "iptables.masqueradeAll: must be true or false"),
    ("mode: userspace\n", "mode: must be \"\", 'iptables', 'ipvs', 'nftables' on Linux, got 'userspace'"),
    ("clusterCIDR: 10.0.0.0/33\n", "clusterCIDR: must be a valid CIDR block"),
    ("clusterCIDR: 10.0.0.0/8,10.1.0.0/16\n", "clusterCIDR: must hold at most one CIDR per IP family"),
    ("nodePortAddresses: [primary, 10.0.0.0/8]\n", 'nodePortAddresses[0]: "primary" cannot be combined'),
    ("nodePortAddresses: [10.0.0.300/8]\n", "nodePortAddresses[0]: must be a valid CIDR"),
    ("detectLocalMode: Magic\n", "detectLocalMode: unknown mode 'Magic'"),
    ("detectLocalMode: BridgeInterface\n", "detectLocal.bridgeInterface: must not be empty"),
    ("conntrack: {min: -1}\n", "conntrack.min: must be greater than or equal to 0, got -1"),
    ("conntrack: {udpTimeout: 5 minutes}\n", "conntrack.udpTimeout: must be a duration"),
    ("iptables: {masqueradeBits: 1}\n", 'iptables.masqueradeBits: unknown field "masqueradeBits"'),
    ("clustrCIDR: 10.0.0.0/8\n", 'clustrCIDR: unknown field "clustrCIDR"'),
])
def test_invalid_values_name_file_and_field(tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(InvalidProxyConfig) as err:
        load_config_file(path)
    text = str(err.value)
    assert text.startswith(f"{path}: KubeProxyConfiguration: ") and message in text and "\n" not in text
    assert isinstance(err.value, InputError)


def test_wrong_kind_and_unreadable(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(InvalidProxyConfig, match="apiVersion: expected 'kubeproxy.config.k8s.io/v1alpha1'"):
        load_config_file(path)
    with pytest.raises(InvalidProxyConfig, match="cannot read"):
        load_config_file(tmp_path / "missing.yaml")
    path.write_text("a: [\n")
    with pytest.raises(InvalidProxyConfig, match="invalid YAML"):
        load_config_file(path)


@pytest.mark.parametrize("mode", ["ipvs", "nftables"])
def test_other_modes_are_named_as_not_emulated(tmp_path, mode):
    config = load_config_file(write(tmp_path, f"mode: {mode}\n"))
    node = build("nodeport").cluster.store.get("Node", "node-a")
    with pytest.raises(UnsupportedProxyFeature, match=f"mode: '{mode}' is not emulated yet") as err:
        config.proxy_config(node)
    assert isinstance(err.value, NotImplementedFeature)


def test_kind_defaults_and_topology_patch():
    base = kind_defaults("10.244.0.0/16", "iptables")
    config = config_from_mapping({"iptables": {"masqueradeAll": True}}, "topo.yaml", "netsim.kubeProxy.", base=base)
    assert [str(c) for c in config.cluster_cidrs] == ["10.244.0.0/16"] and config.masquerade_all
    with pytest.raises(InvalidProxyConfig, match=r"^topo.yaml: KubeProxyConfiguration: "
                                                 r"netsim.kubeProxy.iptables.masqueradeBit: must be between"):
        config_from_mapping({"iptables": {"masqueradeBit": 99}}, "topo.yaml", "netsim.kubeProxy.", base=base)


def test_proxy_config_from_node_objects():
    built = build("nodeport-addresses-masq-all-nodecidr")
    for node, cidr in (("node-a", "10.244.0.0/24"), ("node-b", "10.244.1.0/24")):
        config = built.proxy_config(node)
        assert config.node_name == node and str(config.node_ip) == {"node-a": "172.18.0.2", "node-b": "172.18.0.3"}[node]
        assert config.local_detector.mode is LocalDetectMode.NODE_CIDR and config.local_detector.value == cidr
        assert config.masquerade_all and [str(n) for n in config.node_port_addresses] == ["172.18.0.0/16"]
    # without a file: kind's clusterCIDR (the podSubnet) and ClusterCIDR detection
    default = build("nodeport").proxy_config("node-b")
    assert default.local_detector.mode is LocalDetectMode.CLUSTER_CIDR and default.local_detector.value == "10.244.0.0/16"
    assert default.mark_text == "0x00004000"


def test_primary_node_port_addresses(tmp_path):
    config = load_config_file(write(tmp_path, "nodePortAddresses: [primary]\n"))
    node = build("nodeport").cluster.store.get("Node", "node-b")
    assert [str(n) for n in config.proxy_config(node).node_port_addresses] == ["172.18.0.3/32"]


def test_topology_field_is_a_mapping():
    base = (SCENARIOS_DIR / "topology.yaml").read_text()
    with pytest.raises(InvalidObject, match=r"netsim.kubeProxy: must be a mapping"):
        load_topology_text(base + "  kubeProxy: [1]\n", "t.yaml")
    topology = load_topology_text(base + "  kubeProxy: {clusterCIDR: 10.244.0.0/16}\n", "t.yaml")
    assert topology.kube_proxy == {"clusterCIDR": "10.244.0.0/16"}


def test_cli_reports_a_bad_config_in_one_line(tmp_path):
    path = write(tmp_path, "iptables: {masqueradeBit: 32}\n")
    code, out, err = run_cli("iptables-save", "--node", "node-a", "-f", str(SCENARIOS_DIR / "nodes.yaml"),
                             "-f", str(SCENARIOS_DIR / "nodeport" / "manifests.yaml"),
                             "--topology", str(SCENARIOS_DIR / "topology.yaml"), "--kube-proxy-config", str(path))
    assert code == 2 and out == ""
    assert err == f"error: {path}: KubeProxyConfiguration: iptables.masqueradeBit: must be between 0 and 31, got 32\n"


@pytest.mark.parametrize("extra, message", [
    ("networking: {kubeProxyMode: ipvs}\n", "networking.kubeProxyMode: 'ipvs' is not emulated yet"),
    ("networking: {kubeProxyMode: none}\n", "networking.kubeProxyMode: 'none' (a cluster without kube-proxy)"),
    ("netsim: {kubeProxy: {mode: nftables}}\n", "KubeProxyConfiguration: mode: 'nftables' is not emulated yet"),
])
def test_modes_from_the_topology(tmp_path, extra, message):
    topology = tmp_path / "t.yaml"
    topology.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n" + extra)
    code, out, err = run_cli("iptables-save", "--node", "kind-control-plane", "--topology", str(topology),
                             "-f", str(SCENARIOS_DIR / "nodeport" / "manifests.yaml"))
    assert code == 2 and message in err and err.startswith(f"error: {topology}: ")
