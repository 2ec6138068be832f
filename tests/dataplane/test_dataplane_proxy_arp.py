"""Calico-style routing: /32 pod addresses, a link-local gateway answered by proxy ARP on the host veth."""

from __future__ import annotations

from netsim.dataplane import EchoApp, Network, Outcome
from netsim.packet import Proto

from dataplane_helpers import syn


def calico_node() -> Network:
    net = Network()
    node = net.add_host("node", forwarding=True)
    node.add_interface("eth0")
    node.add_address("eth0", "192.168.0.10/24")
    node.add_route("default", via="192.168.0.1")
    for pod, veth, address in (("pod-a", "cali-a", "10.244.1.5"), ("pod-b", "cali-b", "10.244.1.6")):
        net.add_host(pod)
        net.add_veth("node", veth, pod, "eth0")
        node.set_proxy_arp(veth)
        node.add_route(f"{address}/32", dev=veth)
        host = net.host(pod)
        host.add_address("eth0", f"{address}/32")
        host.add_route("169.254.1.1/32", dev="eth0")
        host.add_route("default", via="169.254.1.1", dev="eth0")
        host.bind(EchoApp(), Proto.TCP, 8080)
    return net


def test_pod_to_pod_through_proxy_arp():
    net = calico_node()
    assert net.host("pod-a").route_show() == "default via 169.254.1.1 dev eth0\n169.254.1.1 dev eth0 scope link\n"
    result = net.send("pod-a", syn("10.244.1.5", "10.244.1.6"))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-b", result.format()
    assert result.received[0].ttl == 63
    cali_mac = net.host("node").interface("cali-a").mac
    assert f"169.254.1.1 dev eth0 lladdr {cali_mac} REACHABLE" in net.host("pod-a").neigh_show()


def test_without_proxy_arp_the_gateway_does_not_answer():
    net = calico_node()
    net.host("node").set_proxy_arp("cali-a", False)
    result = net.send("pod-a", syn("10.244.1.5", "10.244.1.6"))
    assert result.outcome is Outcome.UNREACHABLE and result.host == "pod-a"
