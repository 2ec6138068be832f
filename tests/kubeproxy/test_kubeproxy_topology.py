"""categorize_endpoints: kube-proxy's CategorizeEndpoints (pkg/proxy/topology.go)."""

from __future__ import annotations

from netsim.kubeproxy import EndpointInfo as E, Protocol, ProxyConfig, ServicePortInfo as S, categorize_endpoints

NODE = ProxyConfig(node_name="node-a", zone="zone-a")


def svc(**kw) -> S:
    return S("ns", "svc", "p", Protocol.TCP, "172.30.0.1", 80, **kw)


def ips(eps) -> list[str]:
    return [e.endpoint for e in eps]


def test_only_ready_endpoints_in_kube_proxy_order():
    eps = [E("10.0.0.9", 80), E("10.0.0.10", 80), E("10.0.0.2", 80, ready=False), E("10.0.0.10", 80)]
    cat = categorize_endpoints(eps, svc(), NODE)
    # sorted as strings ("10.0.0.10:80" < "10.0.0.9:80"), duplicates dropped
    assert ips(cat.cluster) == ["10.0.0.10:80", "10.0.0.9:80"]
    assert cat.local == () and cat.all_reachable == cat.cluster and cat.has_any


def test_serving_terminating_fallback_for_cluster():
    eps = [E("10.0.0.1", 80, ready=False, serving=True, terminating=True),
           E("10.0.0.2", 80, ready=False, serving=False, terminating=True),
           E("10.0.0.3", 80, ready=False)]
    cat = categorize_endpoints(eps, svc(), NODE)
    assert ips(cat.cluster) == ["10.0.0.1:80"] and cat.has_any


def test_terminating_ignored_while_any_ready():
    eps = [E("10.0.0.1", 80, ready=False, serving=True, terminating=True), E("10.0.0.2", 80)]
    assert ips(categorize_endpoints(eps, svc(), NODE).cluster) == ["10.0.0.2:80"]


def test_no_usable_endpoints():
    cat = categorize_endpoints([E("10.0.0.3", 80, ready=False)], svc(), NODE)
    assert cat == ((), (), (), False)


def test_external_local_uses_both_lists():
    eps = [E("10.0.0.1", 80, node_name="node-a"), E("10.0.0.2", 80, node_name="node-b")]
    cat = categorize_endpoints(eps, svc(node_port=30000, external_policy_local=True), NODE)
    assert ips(cat.cluster) == ["10.0.0.1:80", "10.0.0.2:80"]
    assert ips(cat.local) == ["10.0.0.1:80"]
    assert ips(cat.all_reachable) == ["10.0.0.1:80", "10.0.0.2:80"]


def test_external_local_flag_ignored_without_external_access():
    eps = [E("10.0.0.2", 80, node_name="node-b")]
    cat = categorize_endpoints(eps, svc(external_policy_local=True), NODE)
    assert cat.local == () and ips(cat.cluster) == ["10.0.0.2:80"]


def test_internal_local_only():
    eps = [E("10.0.0.1", 80, node_name="node-a"), E("10.0.0.2", 80, node_name="node-b")]
    cat = categorize_endpoints(eps, svc(internal_policy_local=True), NODE)
    assert cat.cluster == () and ips(cat.local) == ips(cat.all_reachable) == ["10.0.0.1:80"] and cat.has_any
    remote_only = categorize_endpoints(eps[1:], svc(internal_policy_local=True), NODE)
    assert remote_only.local == () and remote_only.has_any


def test_local_serving_terminating_fallback_merges_lists():
    eps = [E("10.0.0.1", 80, ready=False, serving=True, terminating=True, node_name="node-a"),
           E("10.0.0.2", 80, node_name="node-b")]
    cat = categorize_endpoints(eps, svc(node_port=30000, external_policy_local=True), NODE)
    assert ips(cat.cluster) == ["10.0.0.2:80"] and ips(cat.local) == ["10.0.0.1:80"]
    assert ips(cat.all_reachable) == ["10.0.0.1:80", "10.0.0.2:80"]


def test_zone_hints():
    eps = [E("10.0.0.1", 80, zone_hints={"zone-a"}), E("10.0.0.2", 80, zone_hints={"zone-b"})]
    assert ips(categorize_endpoints(eps, svc(), NODE).cluster) == ["10.0.0.1:80"]
    # a ready endpoint without hints disables topology
    assert len(categorize_endpoints([*eps, E("10.0.0.3", 80)], svc(), NODE).cluster) == 3
    # no endpoint for this zone: hints ignored
    other = ProxyConfig(node_name="node-c", zone="zone-c")
    assert len(categorize_endpoints(eps, svc(), other).cluster) == 2


def test_node_hints_prefer_same_node():
    eps = [E("10.0.0.1", 80, node_hints={"node-a"}, zone_hints={"zone-a"}),
           E("10.0.0.2", 80, node_hints={"node-b"}, zone_hints={"zone-a"})]
    assert ips(categorize_endpoints(eps, svc(), NODE).cluster) == ["10.0.0.1:80"]
