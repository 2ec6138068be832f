"""The read accessors live/ builds from: a host's bindings, the network's segments, a vxlan FDB's entries."""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.dataplane.apps import EchoApp, SinkApp
from netsim.dataplane.network import Network
from netsim.packet import Proto


def test_bindings_are_sorted_and_complete() -> None:
    net = Network()
    host = net.add_host("h")
    echo, sink = EchoApp(), SinkApp()
    host.bind(sink, Proto.UDP, 53)
    host.bind(echo, Proto.TCP, 8080, "10.0.0.1")
    host.bind(echo, Proto.TCP, 80)
    assert host.bindings() == [(int(Proto.TCP), None, 80, echo), (int(Proto.TCP), IPv4Address("10.0.0.1"), 8080, echo),
                               (int(Proto.UDP), None, 53, sink)]


def test_segments_are_listed_sorted() -> None:
    net = Network()
    net.add_segment("nodes-b")
    net.add_segment("nodes")
    assert net.segments() == ["nodes", "nodes-b"]


def test_vxlan_fdb_entries() -> None:
    net = Network()
    host = net.add_host("n")
    host.add_interface("eth0")
    host.add_vxlan("flannel.1", vni=1, local="172.18.0.2", dev="eth0")
    host.fdb_append("flannel.1", "02:00:00:00:00:02", "172.18.0.4")
    host.fdb_append("flannel.1", "02:00:00:00:00:01", "172.18.0.3")
    assert host.vxlan_fdbs["flannel.1"].entries() == [("02:00:00:00:00:01", IPv4Address("172.18.0.3")),
                                                      ("02:00:00:00:00:02", IPv4Address("172.18.0.4"))]
