"""A user-space ARP responder (MetalLB's L2 speaker): a host answers ARP for an address it does not hold."""

from __future__ import annotations

import pytest

from netsim.dataplane import EchoApp, Network, Outcome
from netsim.dataplane.errors import InterfaceKindError
from netsim.packet import Proto

from dataplane_helpers import syn


def lan() -> Network:
    net = Network()
    for name, address in (("client", "192.168.0.1"), ("node-a", "192.168.0.10"), ("node-b", "192.168.0.11")):
        host = net.add_host(name, forwarding=name != "client")
        host.add_interface("eth0")
        host.add_address("eth0", f"{address}/24")
    net.add_segment("lan", [("client", "eth0"), ("node-a", "eth0"), ("node-b", "eth0")])
    return net


def test_the_announcing_host_gets_the_frame():
    net = lan()
    node_b = net.host("node-b")
    node_b.announce_arp("eth0", "192.168.0.200")
    node_b.add_address("lo", "192.168.0.200/32")  # something on node-b takes the address (here: a local address)
    node_b.bind(EchoApp(), Proto.TCP, 80)
    result = net.send("client", syn("192.168.0.1", "192.168.0.200", dport=80))
    assert result.outcome is Outcome.DELIVERED and result.host == "node-b", result.format()
    mac = node_b.interface("eth0").mac
    assert f"192.168.0.200 dev eth0 lladdr {mac} REACHABLE" in net.host("client").neigh_show()


def test_without_an_announcement_nobody_answers():
    net = lan()
    result = net.send("client", syn("192.168.0.1", "192.168.0.200", dport=80))
    assert result.outcome is Outcome.UNREACHABLE and "no ARP answer" in result.reason


def test_only_the_announced_interface_answers():
    net = lan()
    with pytest.raises(InterfaceKindError):
        net.host("node-a").announce_arp("lo", "192.168.0.200")
    net.host("node-a").add_interface("eth1")
    net.host("node-a").announce_arp("eth1", "192.168.0.200")
    result = net.send("client", syn("192.168.0.1", "192.168.0.200", dport=80))
    assert result.outcome is Outcome.UNREACHABLE
