"""NetworkPolicy parsing, defaulting and the rendered chains' structure (every jump lands on a declared chain)."""

from __future__ import annotations

import pytest

from netsim.api.objects import make_object
from netsim.netpol.errors import PolicySpecError
from netsim.netpol.policy import Direction, PortSpec, default_policy_types, parse_policy
from netsim.netpol.rules import ip_block_chain_name, pod_firewall_chain_name, policy_chain_name


def _policy(spec: dict):
    return make_object({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": "p", "namespace": "web"}, "spec": spec})


@pytest.mark.parametrize("spec, types", [
    ({}, {Direction.INGRESS}),
    ({"ingress": [{}]}, {Direction.INGRESS}),
    ({"egress": [{}]}, {Direction.INGRESS, Direction.EGRESS}),
    ({"egress": []}, {Direction.INGRESS}),
    ({"policyTypes": ["Egress"]}, {Direction.EGRESS}),
    ({"policyTypes": ["Egress"], "ingress": [{}]}, {Direction.EGRESS}),
])
def test_policy_types_defaulting(spec: dict, types: set) -> None:
    assert default_policy_types(spec) == frozenset(types)


def test_peers_and_ports_parse() -> None:
    p = parse_policy(_policy({"podSelector": {"matchLabels": {"app": "a"}}, "ingress": [
        {"from": [{"podSelector": {}, "namespaceSelector": {"matchLabels": {"t": "x"}}},
                  {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
         "ports": [{"port": 80}, {"port": "http", "protocol": "UDP"}, {"port": 81, "endPort": 90}]},
        {"from": []}]}))
    first, second = p.ingress
    assert first.peers[0].pod_selector is not None and first.peers[0].namespace_selector is not None
    assert first.peers[1].ip_block.contains("10.2.0.1") and not first.peers[1].ip_block.contains("10.1.2.3")
    assert first.ports == (PortSpec("TCP", 80), PortSpec("UDP", "http"), PortSpec("TCP", 81, 90))
    assert second.peers is None          # `from: []` admits everyone, as an absent `from` does


@pytest.mark.parametrize("spec, field", [
    ({"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}, "spec.ingress[0].ports[0]"),
    ({"ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}, "spec.ingress[0].ports[0]"),
    ({"ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]}, "spec.ingress[0].ports[0]"),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "nope"}}]}]}, "spec.egress[0].to[0].ipBlock.cidr"),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}, "spec.egress[0].to[0]"),
])
def test_bad_fields_name_the_policy_and_field(spec: dict, field: str) -> None:
    with pytest.raises(PolicySpecError) as err:
        parse_policy(_policy(spec))
    assert err.value.field == field and str(err.value).startswith("NetworkPolicy web/p: ")


def test_chain_names_fit_iptables() -> None:
    p = parse_policy(_policy({}))
    names = [pod_firewall_chain_name("web", "a"), policy_chain_name(p, Direction.INGRESS),
             policy_chain_name(p, Direction.EGRESS), ip_block_chain_name(p, Direction.INGRESS, 0, 1)]
    assert all(len(n) <= 28 for n in names) and len(set(names)) == 4
    assert names[0] == pod_firewall_chain_name("web", "a")   # stable: a hash, no random suffix
