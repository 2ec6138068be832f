"""Gratuitous ARP as the kernel's arp_process takes it (arp_accept=0): an existing entry moves to the
announced MAC and turns STALE; nothing is created; a PERMANENT entry stays; raw frames via Network.emit."""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.dataplane.neighbours import NeighbourState
from netsim.dataplane.network import Network
from netsim.packet.arp import ArpFrame, ArpOp
from netsim.packet.mac import BROADCAST

VIP = IPv4Address("192.168.0.200")


def segment() -> Network:
    net = Network()
    net.add_segment("lan")
    for index, name in enumerate(("client", "old", "new", "bystander"), start=1):
        host = net.add_host(name)
        host.add_interface("eth0")
        host.add_address("eth0", f"192.168.0.{index}/24")
        net.connect("lan", name, "eth0")
    return net


def garp(net: Network, host: str, op: ArpOp) -> ArpFrame:
    mac = net.host(host).interface("eth0").mac
    return ArpFrame(op, mac, VIP, BROADCAST, VIP, mac, BROADCAST)


def test_a_gratuitous_request_moves_an_existing_entry_and_creates_none() -> None:
    net = segment()
    client = net.host("client")
    client.neighbours.learn("eth0", VIP, net.host("old").interface("eth0").mac)
    result = net.emit("new", "eth0", garp(net, "new", ArpOp.REQUEST))
    entry = client.neighbours.get("eth0", VIP)
    assert (entry.mac, entry.state) == (net.host("new").interface("eth0").mac, NeighbourState.STALE)
    assert any(s.host == "client" and s.detail.startswith(f"updated {VIP} to ") for s in result.steps)
    assert net.host("bystander").neighbours.get("eth0", VIP) is None      # arp_accept=0: no new entry
    assert result.steps[0].host == "new"                                   # it left the sender's NIC


def test_a_gratuitous_reply_does_the_same_and_a_permanent_entry_stays() -> None:
    net = segment()
    old_mac = net.host("old").interface("eth0").mac
    net.host("client").neighbours.learn("eth0", VIP, old_mac)
    net.host("bystander").add_neighbour(VIP, old_mac, "eth0")
    net.emit("new", "eth0", garp(net, "new", ArpOp.REPLY))
    assert net.host("client").neighbours.get("eth0", VIP).mac == net.host("new").interface("eth0").mac
    assert net.host("bystander").neighbours.get("eth0", VIP).state is NeighbourState.PERMANENT
    assert net.host("old").neighbours.get("eth0", VIP) is None


def test_the_same_mac_leaves_a_reachable_entry_as_it_was() -> None:
    net = segment()
    new_mac = net.host("new").interface("eth0").mac
    net.host("client").neighbours.learn("eth0", VIP, new_mac)
    net.emit("new", "eth0", garp(net, "new", ArpOp.REQUEST))
    assert net.host("client").neighbours.get("eth0", VIP).state is NeighbourState.REACHABLE
