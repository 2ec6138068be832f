"""Properties of render() over random services and endpoints.

Every ruleset passes kube-proxy's structure check; every DNAT goes to a usable
endpoint (ready, or serving-terminating when none is ready); every service
port is either dispatched in nat KUBE-SERVICES or rejected/dropped in filter;
and a sample of random rulesets loads into the real iptables, which prints back
exactly what netsim.netfilter's normalizer derives from kube-proxy's text.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kp_support import iptables_round_trip, live_skip_reason, tables_by_name
from netsim.kubeproxy import (
    EndpointInfo,
    LocalDetector,
    Protocol,
    ProxyConfig,
    ServicePortInfo,
    SessionAffinity,
    check_rule_jumps,
    render,
)
from netsim.netfilter import parse_ruleset

NODES = ("node-a", "node-b")


@st.composite
def endpoint(draw, n: int) -> EndpointInfo:
    ready = draw(st.booleans())
    return EndpointInfo(
        ip=f"10.0.{n // 200}.{n % 200 + 1}",
        port=draw(st.sampled_from((80, 8080))),
        ready=ready,
        serving=draw(st.booleans()) if not ready else None,
        terminating=draw(st.booleans()) if not ready else False,
        node_name=draw(st.sampled_from((*NODES, None))),
    )


@st.composite
def service(draw, i: int) -> tuple[ServicePortInfo, tuple[EndpointInfo, ...]]:
    external = draw(st.booleans())
    lb = draw(st.booleans())
    svc = ServicePortInfo(
        namespace=draw(st.sampled_from(("default", "web", "kube-system"))),
        name=f"svc{i}",
        port_name=draw(st.sampled_from(("", "http", "dns"))),
        protocol=draw(st.sampled_from(list(Protocol))),
        cluster_ip=f"172.30.{i // 250}.{i % 250 + 1}",
        port=draw(st.sampled_from((53, 80, 443))),
        node_port=30000 + i if draw(st.booleans()) else 0,
        external_ips=(f"192.168.99.{i + 1}",) if external else (),
        load_balancer_ips=(f"198.51.100.{i + 1}",) if lb else (),
        load_balancer_source_ranges=("203.0.113.0/25",) if lb and draw(st.booleans()) else (),
        session_affinity=draw(st.sampled_from(list(SessionAffinity))),
        external_policy_local=draw(st.booleans()),
        internal_policy_local=draw(st.booleans()),
        health_check_node_port=32000 + i if lb and draw(st.booleans()) else 0,
    )
    count = draw(st.integers(min_value=0, max_value=4))
    eps = tuple(draw(endpoint(i * 10 + k)) for k in range(count))
    return svc, eps


@st.composite
def cluster(draw):
    n = draw(st.integers(min_value=0, max_value=5))
    pairs = [draw(service(i)) for i in range(n)]
    config = ProxyConfig(
        node_name=draw(st.sampled_from(NODES)),
        node_ip="192.168.0.2",
        local_detector=draw(st.sampled_from((LocalDetector(), LocalDetector.cluster_cidr("10.0.0.0/16"),
                                             LocalDetector("BridgeInterface", "cbr0"),
                                             LocalDetector("InterfaceNamePrefix", "veth")))),
        masquerade_all=draw(st.booleans()),
        localhost_node_ports=draw(st.booleans()),
        conntrack_tcp_be_liberal=draw(st.booleans()),
        canary_chains=draw(st.booleans()),
    )
    return config, [s for s, _ in pairs], {s.name_string: e for s, e in pairs}


def usable(eps) -> set[str]:
    ready = {e.endpoint for e in eps if e.ready}
    fallback = {e.endpoint for e in eps if not e.ready and e.serving and e.terminating}
    return ready | fallback


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster())
def test_structure_and_dnat_targets(data):
    config, services, endpoints = data
    text = render(config, services, endpoints)
    check_rule_jumps(text)
    for svc in services:
        eps = endpoints[svc.name_string]
        dnat = {m for m in re.findall(r"--to-destination (\S+)", text)
                if any(e.endpoint == m for e in eps)}
        assert dnat <= usable(eps)
        # dispatched in nat, or rejected / dropped in filter: both start the same way
        cluster_ip = f"-m {svc.protocol.lower} -p {svc.protocol.lower} -d {svc.cluster_ip} "
        dispatched = any(l.startswith("-A KUBE-SERVICES -m comment") and cluster_ip in l for l in text.splitlines())
        assert dispatched, f"{svc.name_string} has no KUBE-SERVICES rule for its cluster IP"


_LIVE_SKIP = live_skip_reason("nft")


@pytest.mark.skipif(_LIVE_SKIP is not None, reason=_LIVE_SKIP or "")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster())
def test_random_rulesets_load_unchanged(data):
    config, services, endpoints = data
    # What the kernel prints back equals netsim.netfilter's normalization of kube-proxy's text.
    text = render(config, services, endpoints)
    saved = tables_by_name(iptables_round_trip(text, "nft"))
    assert saved == tables_by_name(str(parse_ruleset(text).normalized()))


@pytest.mark.skipif(_LIVE_SKIP is not None, reason=_LIVE_SKIP or "")
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster())
def test_random_rulesets_list_as_iptables_lists_them(data):
    # netsim.netfilter.listing against `iptables -t nat/filter -nL --line-numbers` of the same text.
    import os
    import subprocess

    from netsim.netfilter.listing import list_table

    config, services, endpoints = data
    text = render(config, services, endpoints)
    ns = f"nskp-prop-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "iptables-nft-restore"], input=text, text=True, check=True)
        for table in ("filter", "nat"):
            real = subprocess.run(["ip", "netns", "exec", ns, "iptables-nft", "-t", table, "-nL", "--line-numbers"],
                                  text=True, check=True, capture_output=True).stdout
            assert list_table(parse_ruleset(text), table, line_numbers=True) == real
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
