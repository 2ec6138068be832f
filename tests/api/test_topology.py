"""Topologies: kind's defaults and naming, netsim's fields, pod CIDR allocation, and one-line errors."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from netsim.api.errors import InvalidObject, YamlSyntaxError
from netsim.api.topology import (
    CNI,
    LABEL_CONTROL_PLANE,
    LABEL_EXCLUDE_FROM_LB,
    LABEL_ZONE,
    Role,
    Taint,
    Topology,
    default_topology,
    load_topology,
    load_topology_text,
    topology_from_dict,
)

TOPOLOGIES = Path(__file__).resolve().parent.parent.parent / "topologies"
HEAD = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
CP_TAINT = Taint("node-role.kubernetes.io/control-plane", "NoSchedule")


def topo(**fields) -> Topology:
    return topology_from_dict({**HEAD, **fields}, "test.yaml")


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def error(data: dict) -> InvalidObject:
    with pytest.raises(InvalidObject) as err:
        topology_from_dict(data, "topologies/bad.yaml")
    return err.value


# --- defaults ------------------------------------------------------------------------------------


def test_default_topology_is_kinds_default_cluster() -> None:
    t = default_topology()
    assert t.name == "kind"
    assert t.node_names() == ("kind-control-plane",)
    (node,) = t.nodes
    assert node.role is Role.CONTROL_PLANE
    assert node.ip == ip("172.18.0.2")
    assert node.pod_cidr == net("10.244.0.0/24")
    assert node.taints == ()  # kind untaints a one-node cluster
    assert node.labels_dict() == {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": "kind-control-plane",
        "kubernetes.io/os": "linux",
        LABEL_CONTROL_PLANE: "",
    }
    assert t.pod_subnets == (net("10.244.0.0/16"),)
    assert t.service_subnets == (net("10.96.0.0/16"),)
    assert t.cluster_dns_ip == ip("10.96.0.10")
    assert t.api_server_service_ip == ip("10.96.0.1")
    assert t.kube_proxy_mode == "iptables"
    assert t.ip_family == "ipv4"
    assert t.cni is CNI.BRIDGE
    assert t.node_network == net("172.18.0.0/16")
    assert t.node_gateway == ip("172.18.0.1")
    assert t.load_balancer_pool is None
    assert t.upstream_dns == ()
    assert t.install_coredns is True
    assert t.seed == 0
    assert t.dns_search is None


def test_explicit_defaults_equal_implicit_ones() -> None:
    explicit = topo(
        name="kind",
        nodes=[{"role": "control-plane"}],
        networking={
            "ipFamily": "ipv4",
            "podSubnet": "10.244.0.0/16",
            "serviceSubnet": "10.96.0.0/16",
            "kubeProxyMode": "iptables",
        },
        netsim={
            "cni": "bridge",
            "seed": 0,
            "nodeNetwork": "172.18.0.0/16",
            "clusterDNS": "10.96.0.10",
            "installCoreDNS": True,
        },
    )
    assert explicit.nodes == default_topology().nodes
    assert explicit.cluster_dns_ip == default_topology().cluster_dns_ip


# --- naming, order, addresses, pod CIDRs ---------------------------------------------------------


def test_kind_node_names_per_role_in_config_order() -> None:
    t = topo(
        name="ab1",
        nodes=[
            {"role": "worker"},
            {"role": "control-plane"},
            {"role": "worker"},
            {"role": "control-plane"},
            {"role": "control-plane"},
            {"role": "worker"},
        ],
    )
    # control planes register first, then workers
    assert t.node_names() == (
        "ab1-control-plane",
        "ab1-control-plane2",
        "ab1-control-plane3",
        "ab1-worker",
        "ab1-worker2",
        "ab1-worker3",
    )
    assert [str(n.ip) for n in t.nodes] == [f"172.18.0.{i}" for i in range(2, 8)]
    assert [str(n.pod_cidr) for n in t.nodes] == [f"10.244.{i}.0/24" for i in range(6)]
    assert [n.name for n in t.control_planes] == ["ab1-control-plane", "ab1-control-plane2", "ab1-control-plane3"]
    assert len(t.workers) == 3
    assert t.node("ab1-worker2").pod_cidr == net("10.244.4.0/24")
    with pytest.raises(KeyError):
        t.node("nope")


def test_control_planes_are_tainted_and_labelled_when_not_alone() -> None:
    t = topo(nodes=[{"role": "control-plane"}, {"role": "worker"}])
    cp, worker = t.nodes
    assert cp.taints == (CP_TAINT,)
    assert str(cp.taints[0]) == "node-role.kubernetes.io/control-plane:NoSchedule"
    assert cp.label(LABEL_CONTROL_PLANE) == ""
    assert cp.label(LABEL_EXCLUDE_FROM_LB) == ""
    assert worker.taints == ()
    assert worker.label(LABEL_CONTROL_PLANE) is None
    assert worker.labels_dict()["kubernetes.io/hostname"] == "kind-worker"


def test_two_control_planes_without_workers_stay_tainted() -> None:
    t = topo(nodes=[{"role": "control-plane"}, {"role": "control-plane"}])
    assert all(n.taints == (CP_TAINT,) for n in t.nodes)


def test_pod_cidrs_follow_the_pod_subnet() -> None:
    t = topo(nodes=[{"role": "control-plane"}, {"role": "worker"}], networking={"podSubnet": "192.168.0.0/22"})
    assert [str(n.pod_cidr) for n in t.nodes] == ["192.168.0.0/24", "192.168.1.0/24"]


def test_ipv6_and_dual_stack_are_recorded() -> None:
    v6 = topo(networking={"ipFamily": "ipv6"})
    assert v6.ip_family == "ipv6"
    assert v6.pod_subnet == net("fd00:10:244::/56")
    assert v6.nodes[0].pod_cidr == net("fd00:10:244::/64")
    assert v6.cluster_dns_ip == ip("fd00:10:96::a")
    dual = topo(networking={"ipFamily": "dual"}, nodes=[{"role": "control-plane"}, {"role": "worker"}])
    assert dual.pod_subnets == (net("10.244.0.0/16"), net("fd00:10:244::/56"))
    assert dual.nodes[1].pod_cidrs == (net("10.244.1.0/24"), net("fd00:10:244:1::/64"))
    assert dual.cluster_dns_ip == ip("10.96.0.10")


def test_kube_proxy_mode_and_kind_fields_are_recorded() -> None:
    t = topo(
        networking={
            "kubeProxyMode": "ipvs",
            "disableDefaultCNI": True,
            "dnsSearch": ["corp.example"],
            "apiServerPort": 6443,
        },
        featureGates={"SidecarContainers": True},
        runtimeConfig={"api/alpha": "false"},
        kubeadmConfigPatches=["kind: ClusterConfiguration"],
        containerdConfigPatches=["[plugins]"],
        nodes=[
            {"role": "control-plane", "image": "kindest/node:v1.30.0", "extraPortMappings": [{"containerPort": 80}]}
        ],
    )
    assert t.kube_proxy_mode == "ipvs"
    assert t.disable_default_cni is True
    assert t.dns_search == ("corp.example",)
    assert t.feature_gates == (("SidecarContainers", True),)
    assert t.runtime_config == (("api/alpha", "false"),)


# --- netsim's fields ---------------------------------------------------------------------------------


def test_netsim_node_fields_name_ip_zone() -> None:
    t = topo(
        nodes=[
            {"role": "control-plane", "netsim": {"name": "cp", "ip": "172.18.0.3"}},
            {"role": "worker", "labels": {"tier": "web"}, "netsim": {"zone": "zone-a"}},
            {"role": "worker", "labels": {LABEL_ZONE: "zone-b"}},
        ]
    )
    cp, w1, w2 = t.nodes
    assert cp.name == "cp" and cp.ip == ip("172.18.0.3")
    assert cp.label("kubernetes.io/hostname") == "cp"
    assert w1.ip == ip("172.18.0.2")  # the automatic addresses skip taken ones
    assert w2.ip == ip("172.18.0.4")
    assert w1.zone == "zone-a" and w1.label(LABEL_ZONE) == "zone-a" and w1.label("tier") == "web"
    assert w2.zone == "zone-b"
    assert cp.zone is None


def test_netsim_cluster_fields() -> None:
    t = topo(
        netsim={
            "seed": 42,
            "cni": "vxlan",
            "clusterDNS": "10.96.0.53",
            "nodeNetwork": "192.168.50.0/24",
            "loadBalancerPool": "192.168.50.200-192.168.50.210",
            "upstreamDNS": {"Example.COM.": "93.184.215.14", "api.example.org": ["10.1.0.1", "10.1.0.2"]},
            "installCoreDNS": False,
        }
    )
    assert t.seed == 42
    assert t.cni is CNI.VXLAN
    assert t.cluster_dns_ip == ip("10.96.0.53")
    assert t.nodes[0].ip == ip("192.168.50.2")
    pool = t.load_balancer_pool
    assert pool is not None and len(pool) == 11 and ip("192.168.50.205") in pool
    assert str(pool) == "192.168.50.200-192.168.50.210"
    assert [r.name for r in t.upstream_dns] == ["api.example.org", "example.com"]
    assert t.upstream_dns[0].addresses == (ip("10.1.0.1"), ip("10.1.0.2"))
    assert t.install_coredns is False


def test_load_balancer_pool_as_cidr() -> None:
    pool = topo(netsim={"loadBalancerPool": "172.18.255.0/30"}).load_balancer_pool
    assert pool is not None and [str(a) for a in pool] == [f"172.18.255.{i}" for i in range(4)]


def test_automatic_node_ips_skip_the_pool() -> None:
    t = topo(netsim={"nodeNetwork": "10.0.0.0/24", "loadBalancerPool": "10.0.0.2-10.0.0.3"})
    assert t.nodes[0].ip == ip("10.0.0.4")


# --- shipped files ----------------------------------------------------------------------------------


def test_shipped_topologies_load() -> None:
    single = load_topology(TOPOLOGIES / "single-node.yaml")
    assert single.node_names() == ("kind-control-plane",)
    assert single.source.endswith("single-node.yaml")
    three = load_topology(TOPOLOGIES / "three-node.yaml")
    assert three.node_names() == ("kind-control-plane", "kind-worker", "kind-worker2")
    assert [str(n.ip) for n in three.nodes] == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    zones = load_topology(TOPOLOGIES / "three-zone.yaml")
    assert [n.zone for n in zones.workers] == ["zone-a", "zone-b", "zone-c"]
    assert len(zones.control_planes) == 1


def test_every_shipped_topology_is_a_plain_kind_config_plus_netsim_keys() -> None:
    for path in TOPOLOGIES.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        assert data["apiVersion"] == "kind.x-k8s.io/v1alpha4" and data["kind"] == "Cluster"
        load_topology(path)


def test_readme_example_loads() -> None:
    text = (TOPOLOGIES / "README.md").read_text().split("```yaml", 1)[1].split("```", 1)[0]
    t = load_topology_text(text, "README.md")
    assert [(n.name, str(n.ip), str(n.pod_cidr)) for n in t.nodes] == [
        ("demo-control-plane", "172.18.0.2", "10.244.0.0/24"),
        ("demo-worker", "172.18.0.3", "10.244.1.0/24"),
        ("demo-worker2", "172.18.0.20", "10.244.2.0/24"),
    ]


# --- errors: one line, naming the file and the field ---------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"nodes": [{"role": "master"}]}, "nodes[0].role", '"master" is not a valid node role'),
        ({"nodes": [{"role": "worker"}]}, "nodes", "must have at least one control-plane node"),
        ({"nodes": {"role": "worker"}}, "nodes", "must be a list of nodes"),
        ({"nodes": ["control-plane"]}, "nodes[0]", "must be a mapping"),
        ({"name": "My_Cluster"}, "name", "'My_Cluster' is not a valid cluster name"),
        ({"networking": {"podSubnet": "10.244.0.0/33"}}, "networking.podSubnet", "invalid CIDR address"),
        ({"networking": {"podSubnet": "10.244.0.1/16"}}, "networking.podSubnet", "invalid CIDR address"),
        ({"networking": {"serviceSubnet": "banana"}}, "networking.serviceSubnet", "invalid CIDR address"),
        (
            {"networking": {"podSubnet": "10.96.0.0/12"}},
            "networking.podSubnet",
            "10.96.0.0/12 overlaps networking.serviceSubnet 10.96.0.0/16",
        ),
        ({"networking": {"podSubnet": "10.244.0.0/25"}}, "networking.podSubnet", "smaller than one node's /24"),
        ({"networking": {"podSubnet": "fd00::/56"}}, "networking.podSubnet", "expected IPv4 CIDR for IPv4 family"),
        ({"networking": {"podSubnet": "10.1.0.0/16,10.2.0.0/16"}}, "networking.podSubnet", "only one CIDR allowed"),
        ({"networking": {"ipFamily": "ipv5"}}, "networking.ipFamily", 'invalid ipFamily "ipv5"'),
        (
            {"networking": {"kubeProxyMode": "userspace"}},
            "networking.kubeProxyMode",
            'invalid kubeProxyMode "userspace"',
        ),
        ({"networking": {"apiServerPort": 70000}}, "networking.apiServerPort", "invalid port number: 70000"),
        ({"networking": {"bogus": 1}}, "networking.bogus", 'unknown field "bogus"'),
        ({"bogus": 1}, "bogus", 'unknown field "bogus"'),
        ({"nodes": [{"role": "control-plane", "bogus": 1}]}, "nodes[0].bogus", 'unknown field "bogus"'),
        ({"netsim": {"cnii": "bridge"}}, "netsim.cnii", 'unknown field "cnii"'),
        ({"nodes": [{"netsim": {"addr": "1.2.3.4"}}]}, "nodes[0].netsim.addr", 'unknown field "addr"'),
        ({"netsim": {"cni": "calico"}}, "netsim.cni", 'unknown CNI mode "calico"'),
        ({"netsim": {"seed": -1}}, "netsim.seed", "must be a non-negative integer"),
        ({"netsim": {"seed": "1"}}, "netsim.seed", "must be a non-negative integer"),
        ({"netsim": {"clusterDNS": "10.97.0.10"}}, "netsim.clusterDNS", "is not in networking.serviceSubnet"),
        ({"netsim": {"clusterDNS": "dns"}}, "netsim.clusterDNS", 'invalid IP address "dns"'),
        ({"netsim": {"nodeNetwork": "10.244.0.0/24"}}, "netsim.nodeNetwork", "overlaps networking.podSubnet"),
        (
            {"netsim": {"loadBalancerPool": "10.96.0.100-10.96.0.110"}},
            "netsim.loadBalancerPool",
            "overlaps the cluster's subnet",
        ),
        ({"netsim": {"loadBalancerPool": "172.18.0.9-172.18.0.1"}}, "netsim.loadBalancerPool", "invalid address range"),
        (
            {"netsim": {"upstreamDNS": {"bad_name": "1.2.3.4"}}},
            "netsim.upstreamDNS.bad_name",
            'Invalid value: "bad_name"',
        ),
        ({"netsim": {"upstreamDNS": {"a.com": "x"}}}, "netsim.upstreamDNS.a.com[0]", 'invalid IP address "x"'),
        ({"netsim": {"upstreamDNS": {"a.com": []}}}, "netsim.upstreamDNS.a.com", "needs at least one address"),
        ({"netsim": {"installCoreDNS": "yes"}}, "netsim.installCoreDNS", "must be true or false"),
        (
            {"nodes": [{"role": "control-plane"}, {"role": "worker", "netsim": {"name": "kind-control-plane"}}]},
            "nodes[1]",
            'duplicate node name "kind-control-plane" (also nodes[0])',
        ),
        (
            {"nodes": [{"netsim": {"ip": "172.18.0.9"}}, {"role": "worker", "netsim": {"ip": "172.18.0.9"}}]},
            "nodes[1].netsim.ip",
            "duplicate node IP 172.18.0.9 (also nodes[0])",
        ),
        (
            {"nodes": [{"netsim": {"ip": "10.0.0.1"}}]},
            "nodes[0].netsim.ip",
            "is not a host address of netsim.nodeNetwork",
        ),
        ({"nodes": [{"netsim": {"ip": "172.18.0.1"}}]}, "nodes[0].netsim.ip", "is the node network's gateway"),
        ({"nodes": [{"netsim": {"name": "Node_1"}}]}, "nodes[0].netsim.name", 'Invalid value: "Node_1"'),
        ({"nodes": [{"labels": {"-bad": "x"}}]}, "nodes[0].labels.-bad", 'Invalid value: "-bad"'),
        ({"nodes": [{"labels": {"tier": 1}}]}, "nodes[0].labels.tier", "must be a string"),
        (
            {"nodes": [{"labels": {LABEL_ZONE: "a"}, "netsim": {"zone": "b"}}]},
            "nodes[0].netsim.zone",
            'disagrees with the topology.kubernetes.io/zone label "a"',
        ),
        ({"nodes": [{"netsim": {"zone": "-a"}}]}, "nodes[0].netsim.zone", 'Invalid value: "-a"'),
        ({"apiVersion": "kind.x-k8s.io/v1alpha3"}, "apiVersion", 'unknown apiVersion "kind.x-k8s.io/v1alpha3"'),
        ({"kind": "Config"}, "kind", 'unknown kind "Config"'),
    ],
)
def test_errors_name_file_and_field(fields: dict, field: str, problem: str) -> None:
    err = error({**HEAD, **fields})
    assert err.source == "topologies/bad.yaml"
    assert err.field == field
    assert problem in err.problem, err.problem
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"topologies/bad.yaml (Cluster {fields.get('name', 'kind')}): {field}: ")


def test_too_many_nodes_for_the_pod_subnet() -> None:
    nodes = [{}, {"role": "worker"}, {"role": "worker"}]
    err = error({**HEAD, "networking": {"podSubnet": "10.244.0.0/23"}, "nodes": nodes})
    assert err.field == "networking.podSubnet"
    assert "holds only 2 node pod CIDRs" in err.problem


def test_non_mapping_and_empty_documents() -> None:
    assert "expected a kind Cluster config" in str(error([1, 2]))  # type: ignore[arg-type]
    with pytest.raises(InvalidObject, match="the topology is empty"):
        load_topology_text("", "empty.yaml")


def test_yaml_syntax_error_names_file_and_line() -> None:
    with pytest.raises(YamlSyntaxError, match=r"^bad\.yaml: invalid YAML \(line 3, column"):
        load_topology_text("kind: Cluster\nnodes: [\n", "bad.yaml")
    with pytest.raises(YamlSyntaxError):
        load_topology_text("kind: Cluster\n---\nkind: Cluster\n", "two.yaml")


def test_unsafe_yaml_tags_are_refused() -> None:
    with pytest.raises(YamlSyntaxError):
        load_topology_text("!!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidObject, match="cannot read topology"):
        load_topology(tmp_path / "nope.yaml")


def test_values_are_frozen() -> None:
    t = default_topology()
    with pytest.raises(AttributeError):
        t.name = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        t.nodes[0].ip = ip("1.2.3.4")  # type: ignore[misc]
    hash(t.nodes[0])
