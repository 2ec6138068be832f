"""Scenarios for the kubeproxy tests: (config, service ports, endpoints) per node.

`overall` re-creates the inputs of proxier_test.go `TestOverallIPTablesRules`
(NewFakeProxier conventions: node "test-node" at 192.168.0.2, pod CIDR
10.0.0.0/8, ClusterIPs 172.30.0.0/16, external IPs 192.168.99.0/24, LB IPs
1.2.3.4 / 5.6.7.8, LB source range 203.0.113.0/25, fake iptables without
--random-fully, nfacct counters present). `seed_kube_dns` is the kube-dns
example of the project's seed document. The others each exercise one feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from netsim.kubeproxy import (
    EndpointInfo as E,
    LocalDetector,
    Protocol,
    ProxyConfig,
    ServicePortInfo as S,
    SessionAffinity,
)

TCP, UDP = Protocol.TCP, Protocol.UDP


@dataclass(frozen=True)
class Scenario:
    name: str
    configs: tuple[ProxyConfig, ...]  # one per node; golden file per node name
    services: tuple[S, ...]
    endpoints: dict[str, tuple[E, ...]] = field(default_factory=dict)


FAKE_PROXIER = ProxyConfig(
    node_name="test-node",
    node_ip="192.168.0.2",
    node_addresses=("127.0.0.1", "192.168.0.2", "192.168.1.2", "192.168.99.11"),
    local_detector=LocalDetector.cluster_cidr("10.0.0.0/8"),
    nfacct=True,
    random_fully=False,
    masquerade_mark_text="0x4000",  # NewFakeProxier's masqueradeMark
)


def overall() -> Scenario:
    svcs = (
        S("ns1", "svc1", "p80", TCP, "172.30.0.41", 80),
        S("ns2", "svc2", "p80", TCP, "172.30.0.42", 80, node_port=3001, external_ips=("192.168.99.22",),
          load_balancer_ips=("1.2.3.4",), external_policy_local=True, health_check_node_port=30000),
        S("ns3", "svc3", "p80", TCP, "172.30.0.43", 80, node_port=3003),
        S("ns4", "svc4", "p80", TCP, "172.30.0.44", 80, external_ips=("192.168.99.33",)),
        S("ns5", "svc5", "p80", TCP, "172.30.0.45", 80, node_port=3002, load_balancer_ips=("5.6.7.8",),
          load_balancer_source_ranges=(" 203.0.113.0/25",), session_affinity=SessionAffinity.CLIENT_IP,
          sticky_max_age_seconds=10800),
        S("ns6", "svc6", "p80", TCP, "172.30.0.46", 80),
    )
    eps = {
        "ns1/svc1:p80": (E("10.180.0.1", 80),),
        "ns2/svc2:p80": (E("10.180.0.2", 80),),
        "ns3/svc3:p80": (E("10.180.0.3", 80),),
        "ns4/svc4:p80": (E("10.180.0.4", 80), E("10.180.0.5", 80, node_name="test-node")),
        "ns5/svc5:p80": (E("10.180.0.3", 80),),
    }
    return Scenario("proxier-overall", (FAKE_PROXIER,), svcs, eps)


def seed_kube_dns() -> Scenario:
    """kube-dns 10.0.0.10 (dns/UDP, dns-tcp/TCP, metrics/TCP 9153) with two CoreDNS pods, AKS-style."""
    pod_cidr = LocalDetector.cluster_cidr("172.16.10.0/24")
    nodes = tuple(
        ProxyConfig(node_name=n, node_ip=ip, local_detector=pod_cidr)
        for n, ip in (("aks-nodepool1-19344272-vmss000000", "10.224.0.4"),
                      ("aks-nodepool1-19344272-vmss000001", "10.224.0.5"))
    )
    svcs = (
        S("kube-system", "kube-dns", "dns", UDP, "10.0.0.10", 53),
        S("kube-system", "kube-dns", "dns-tcp", TCP, "10.0.0.10", 53),
        S("kube-system", "kube-dns", "metrics", TCP, "10.0.0.10", 9153),
    )
    pods = (("172.16.10.9", nodes[0].node_name), ("172.16.10.42", nodes[1].node_name))
    eps = {
        "kube-system/kube-dns:dns": tuple(E(ip, 53, node_name=n) for ip, n in pods),
        "kube-system/kube-dns:dns-tcp": tuple(E(ip, 53, node_name=n) for ip, n in pods),
        "kube-system/kube-dns:metrics": tuple(E(ip, 9153, node_name=n) for ip, n in pods),
    }
    return Scenario("seed-kube-dns", nodes, svcs, eps)


def _two_nodes() -> tuple[ProxyConfig, ProxyConfig]:
    base = replace(FAKE_PROXIER, nfacct=False, random_fully=True, masquerade_mark_text=None)
    return (replace(base, node_name="node-a", node_ip="192.168.0.2"),
            replace(base, node_name="node-b", node_ip="192.168.0.3",
                    node_addresses=("127.0.0.1", "192.168.0.3")))


def local_policies() -> Scenario:
    """externalTrafficPolicy Local (LB + NodePort) and internalTrafficPolicy Local, endpoint on node-a only."""
    svcs = (
        S("web", "front", "http", TCP, "172.30.1.10", 80, node_port=30080, load_balancer_ips=("5.6.7.8",),
          external_policy_local=True, health_check_node_port=32000),
        S("web", "cache", "", TCP, "172.30.1.11", 6379, internal_policy_local=True),
    )
    eps = {
        "web/front:http": (E("10.0.1.5", 8080, node_name="node-a"), E("10.0.2.5", 8080, node_name="node-b"),
                           E("10.0.1.6", 8080, node_name="node-a")),
        "web/cache": (E("10.0.1.7", 6379, node_name="node-a"),),
    }
    return Scenario("local-policies", _two_nodes(), svcs, eps)


def endpoint_states() -> Scenario:
    """Ready, not-ready and terminating endpoints; a service with only serving-terminating ones; none at all."""
    svcs = (
        S("app", "mixed", "http", TCP, "172.30.2.10", 80),
        S("app", "draining", "http", TCP, "172.30.2.11", 80, node_port=30011),
        S("app", "empty", "http", TCP, "172.30.2.12", 80, node_port=30012, external_ips=("192.168.99.12",),
          load_balancer_ips=("9.10.11.12",)),
    )
    eps = {
        "app/mixed:http": (E("10.0.1.3", 80), E("10.0.1.1", 80), E("10.0.1.2", 80, ready=False),
                           E("10.0.1.4", 80, ready=False, serving=True, terminating=True), E("10.0.1.10", 80)),
        "app/draining:http": (E("10.0.2.1", 80, ready=False, serving=True, terminating=True),
                              E("10.0.2.2", 80, ready=False, serving=False, terminating=True)),
    }
    return Scenario("endpoint-states", (_two_nodes()[0],), svcs, eps)


def masquerade_all_affinity() -> Scenario:
    """--masquerade-all, UDP with ClientIP affinity over three endpoints, restricted nodeport addresses."""
    config = replace(_two_nodes()[0], masquerade_all=True, node_port_addresses=("192.168.0.0/24",),
                     node_addresses=("127.0.0.1", "192.168.0.2", "10.99.0.1"))
    svcs = (
        S("games", "lobby", "udp", UDP, "172.30.3.10", 7777, node_port=30777,
          session_affinity=SessionAffinity.CLIENT_IP, sticky_max_age_seconds=600),
    )
    eps = {"games/lobby:udp": tuple(E(f"10.0.3.{i}", 7777) for i in (1, 2, 3))}
    return Scenario("masquerade-all-affinity", (config,), svcs, eps)


def lb_source_ranges() -> Scenario:
    """loadBalancerSourceRanges that include the node's IP, two LB IPs; no local detection."""
    config = replace(_two_nodes()[0], local_detector=LocalDetector(), localhost_node_ports=False)
    svcs = (
        S("edge", "gw", "https", TCP, "172.30.4.10", 443, node_port=30443,
          load_balancer_ips=("1.2.3.4", "5.6.7.8"),
          load_balancer_source_ranges=("203.0.113.0/25", "192.168.0.0/16")),
    )
    eps = {"edge/gw:https": (E("10.0.4.1", 8443), E("10.0.4.2", 8443))}
    return Scenario("lb-source-ranges", (config,), svcs, eps)


ALL = (overall, seed_kube_dns, local_policies, endpoint_states, masquerade_all_affinity, lb_source_ranges)
