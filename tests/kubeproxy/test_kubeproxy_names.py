"""Chain names: the seed document's kube-dns chains and names from proxier_test.go."""

from __future__ import annotations

import pytest

from netsim.kubeproxy.names import (
    is_service_chain_name,
    port_proto_hash,
    service_external_chain_name,
    service_firewall_chain_name,
    service_port_endpoint_chain_name,
    service_port_name_string,
    service_port_policy_cluster_chain,
    service_port_policy_local_chain_name,
)

DNS = service_port_name_string("kube-system", "kube-dns", "dns")


def test_seed_kube_dns_service_chain():
    assert DNS == "kube-system/kube-dns:dns"
    assert service_port_policy_cluster_chain(DNS, "udp") == "KUBE-SVC-TCOU7JCQXEZGVUNU"


@pytest.mark.parametrize("endpoint, chain", [
    ("172.16.10.42:53", "KUBE-SEP-K7EZDDI5TWNJA7RX"),
    ("172.16.10.9:53", "KUBE-SEP-JTVLMQFBDVPXUWUS"),
])
def test_seed_kube_dns_endpoint_chains(endpoint, chain):
    assert service_port_endpoint_chain_name(DNS, "udp", endpoint) == chain


def test_kube_dns_tcp_and_metrics_match_a_real_node():
    # Names seen in a real kubeadm node's ruleset for the other kube-dns ports.
    assert service_port_policy_cluster_chain("kube-system/kube-dns:dns-tcp", "tcp") == "KUBE-SVC-ERIFXISQEP7F7OF4"
    assert service_port_policy_cluster_chain("kube-system/kube-dns:metrics", "tcp") == "KUBE-SVC-JD5MR3NA4I4DYORP"
    assert service_port_policy_cluster_chain("default/kubernetes:https", "tcp") == "KUBE-SVC-NPX46M4PTMTKRN6Y"


@pytest.mark.parametrize("svc, hash_", [
    ("ns1/svc1:p80", "XPGD46QRK7WJZT7O"),
    ("ns2/svc2:p80", "GNZBNJ2PO5MGZ6GT"),
    ("ns3/svc3:p80", "X27LE4BHSL4DOUIK"),
    ("ns4/svc4:p80", "4SW47YFZTEDKD3PK"),
    ("ns5/svc5:p80", "NUKIZ6OKUXPJNT4C"),
])
def test_proxier_test_service_chains(svc, hash_):
    assert port_proto_hash(svc, "tcp") == hash_
    assert service_port_policy_cluster_chain(svc, "tcp") == "KUBE-SVC-" + hash_
    assert service_port_policy_local_chain_name(svc, "tcp") == "KUBE-SVL-" + hash_
    assert service_external_chain_name(svc, "tcp") == "KUBE-EXT-" + hash_
    assert service_firewall_chain_name(svc, "tcp") == "KUBE-FW-" + hash_


@pytest.mark.parametrize("svc, ep, chain", [
    ("ns1/svc1:p80", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"),
    ("ns2/svc2:p80", "10.180.0.2:80", "KUBE-SEP-RS4RBKLTHTF2IUXJ"),
    ("ns3/svc3:p80", "10.180.0.3:80", "KUBE-SEP-OYPFS5VJICHGATKP"),
    ("ns4/svc4:p80", "10.180.0.4:80", "KUBE-SEP-UKSFD7AGPMPPLUHC"),
    ("ns4/svc4:p80", "10.180.0.5:80", "KUBE-SEP-C6EBXVWJJZMIWKLZ"),
    ("ns5/svc5:p80", "10.180.0.3:80", "KUBE-SEP-I77PXRDZVX7PMWMN"),
])
def test_proxier_test_endpoint_chains(svc, ep, chain):
    assert service_port_endpoint_chain_name(svc, "tcp", ep) == chain


def test_unnamed_port_and_protocol_change_the_name():
    assert service_port_name_string("ns", "svc", "") == "ns/svc"
    assert service_port_policy_cluster_chain("ns/svc", "tcp") != service_port_policy_cluster_chain("ns/svc", "udp")
    assert all(len(service_port_endpoint_chain_name("a/b:c", p, "1.2.3.4:5")) <= 28 for p in ("tcp", "udp", "sctp"))


def test_is_service_chain_name():
    assert is_service_chain_name("KUBE-SVC-TCOU7JCQXEZGVUNU")
    assert is_service_chain_name("KUBE-SEP-K7EZDDI5TWNJA7RX")
    assert not is_service_chain_name("KUBE-SERVICES")
    assert not is_service_chain_name("KUBE-MARK-MASQ")
