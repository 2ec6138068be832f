"""Integration with the real netfilter engine: DNAT, conntrack un-NAT of replies, REJECT, MASQUERADE."""

from __future__ import annotations

from ipaddress import IPv4Address

import numpy as np
import pytest

from netsim.dataplane import Outcome
from netsim.netfilter.hooks import Hook

from dataplane_helpers import Clock, syn, two_nodes, udp

engine_module = pytest.importorskip("netsim.netfilter.engine")

NODE_1_RULES = """\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.2.2:8080
-A PREROUTING -d 10.96.0.11/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.3:8080
-A OUTPUT -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.3:8080
-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 9 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p udp -m udp --dport 10 -j DROP
COMMIT
"""


def with_engine():
    clock = Clock()
    engines = {}

    def factory(node):
        rules = NODE_1_RULES if node == "node-1" else None
        engines[node] = engine_module.NetfilterEngine(rules, rng=np.random.default_rng(1), clock=clock,
                                                      interface_addresses=lambda name: net.host(node).interface_addresses(name))
        return engines[node]

    net, sink = two_nodes(clock=clock, node_netfilter=factory)
    net.host("node-1").add_route("default", via="192.168.0.1")
    return net, sink, engines


def test_service_dnat_to_another_node_and_reply_un_nat():
    net, _, engines = with_engine()
    result = net.send("pod-a", syn("10.244.1.2", "10.96.0.10", dport=80))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-c", result.format()
    (reply,) = result.received
    assert (reply.src, reply.sport, reply.dst, reply.dport) == (IPv4Address("10.96.0.10"), 80,
                                                                 IPv4Address("10.244.1.2"), 40000)
    assert "10.96.0.10" in engines["node-1"].conntrack_listing()


def test_service_dnat_on_the_same_bridge_is_un_natted_through_br_netfilter():
    net, _, _ = with_engine()
    result = net.send("pod-a", syn("10.244.1.2", "10.96.0.11", dport=80))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-b", result.format()
    (reply,) = result.received
    assert (reply.src, reply.sport) == (IPv4Address("10.96.0.11"), 80)


def test_output_dnat_from_the_node():
    net, _, _ = with_engine()
    result = net.send("node-1", syn("0.0.0.0", "10.96.0.10", dport=80))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-b", result.format()
    (reply,) = result.received
    assert (reply.src, reply.sport) == (IPv4Address("10.96.0.10"), 80)


def test_reject_and_drop():
    net, _, _ = with_engine()
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2", dport=9))
    assert result.outcome is Outcome.REJECTED and result.host == "node-1", result.format()
    (error,) = result.received
    assert (error.icmp_type, error.icmp_code) == (3, 3)
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2", dport=10))
    assert result.outcome is Outcome.DROPPED and result.received == ()
    step = next(s for s in result.steps if s.hook is Hook.FORWARD and s.host == "node-1")
    assert step.nf_trace  # the engine's trace steps are kept on the hook's trace line


def test_masquerade_towards_the_outside():
    net, sink, _ = with_engine()
    outside = net.add_host("router")
    outside.add_interface("eth0")
    outside.add_address("eth0", "192.168.0.1/24")
    net.connect("lan", "router", "eth0")
    result = net.send("pod-a", udp("10.244.1.2", "192.168.0.1", dport=53))
    assert result.outcome is Outcome.NO_LISTENER and result.host == "router"
    seen = [f.frame for f in sink.on("router", "eth0") if f.direction == "in" and hasattr(f.frame, "proto")]
    assert seen[0].src == IPv4Address("192.168.0.10")  # masqueraded to node-1's eth0 address
    (error,) = result.received  # the port unreachable finds its way back through conntrack
    assert error.icmp_code == 3 and error.dst == IPv4Address("10.244.1.2")
