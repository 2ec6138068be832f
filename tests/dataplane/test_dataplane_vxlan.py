"""VXLAN: flannel-style overlay between two nodes, encapsulation on the record level."""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.dataplane import Outcome, StepKind
from netsim.dataplane.vxlan import decapsulate, encapsulate, flow_source_port
from netsim.netfilter.hooks import Hook
from netsim.packet import Packet, Proto
from netsim.packet.arp import ArpFrame

from dataplane_helpers import FakeRunner, syn, two_nodes, udp


def test_pod_to_pod_over_vxlan():
    net, sink = two_nodes(overlay="vxlan")
    assert net.host("node-1").route_show().splitlines()[1] == "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink"
    result = net.send("pod-a", syn("10.244.1.2", "10.244.2.2"))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-c"
    assert result.received and result.received[0].src == IPv4Address("10.244.2.2")
    outer = [f.frame for f in sink.on("node-1", "eth0") if isinstance(f.frame, Packet) and f.direction == "out"]
    assert outer[0].proto == Proto.UDP and outer[0].dport == 8472
    assert (outer[0].src, outer[0].dst) == (IPv4Address("192.168.0.10"), IPv4Address("192.168.0.11"))
    assert outer[0].df is False and outer[0].udp_no_csum and outer[0].ttl == 64
    vni, inner = decapsulate(outer[0])
    assert vni == 1 and (inner.src, inner.dst, inner.ttl) == (IPv4Address("10.244.1.2"), IPv4Address("10.244.2.2"), 63)
    assert inner.dst_mac == net.host("node-2").interface("flannel.1").mac
    flannel_in = [f for f in sink.on("node-2", "flannel.1") if f.direction == "in"]
    assert flannel_in and flannel_in[0].frame.dst == IPv4Address("10.244.2.2")
    kinds = [s.detail for s in result.steps_of(0) if s.kind is StepKind.ENCAP]
    assert kinds[0].startswith("vxlan flannel.1 vni 1 to 192.168.0.11") and kinds[1].startswith("decapsulated")


def test_vxlan_hook_points():
    runners = {}

    def factory(node):
        runners[node] = FakeRunner()
        return runners[node]

    net, _ = two_nodes(overlay="vxlan", node_netfilter=factory)
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2"))
    assert result.delivered
    assert result.hooks(0) == [
        ("node-1", Hook.PREROUTING, "cni0", None),
        ("node-1", Hook.FORWARD, "cni0", "flannel.1"),
        ("node-1", Hook.POSTROUTING, None, "flannel.1"),
        ("node-1", Hook.OUTPUT, None, "eth0"),          # the tunnel packet is locally generated
        ("node-1", Hook.POSTROUTING, None, "eth0"),
        ("node-2", Hook.PREROUTING, "eth0", None),
        ("node-2", Hook.INPUT, "eth0", None),           # delivered to the vxlan socket
        ("node-2", Hook.PREROUTING, "flannel.1", None),  # the inner packet arrives on flannel.1
        ("node-2", Hook.FORWARD, "flannel.1", "cni0"),
        ("node-2", Hook.POSTROUTING, None, "cni0"),
    ]


def test_missing_fdb_entry_drops():
    net, _ = two_nodes(overlay="vxlan")
    net.host("node-1").fdb_delete("flannel.1", net.host("node-2").interface("flannel.1").mac)
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2"))
    assert result.outcome is Outcome.DROPPED and "no FDB entry" in result.reason


def test_encapsulate_round_trip_and_source_port():
    inner = udp("10.244.1.2", "10.244.2.2", src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02")
    outer = encapsulate(inner, vni=42, local=IPv4Address("192.168.0.10"), remote=IPv4Address("192.168.0.11"))
    assert 32768 <= outer.sport <= 60999 and outer.sport == flow_source_port(inner) and outer.dport == 4789
    vni, back = decapsulate(outer)
    assert vni == 42 and (back.src, back.dst, back.payload) == (inner.src, inner.dst, inner.payload)
    arp = ArpFrame.request("02:00:00:00:00:01", "10.244.1.0", "10.244.2.0")
    assert decapsulate(encapsulate(arp, vni=1, local=IPv4Address("1.1.1.1"), remote=IPv4Address("2.2.2.2")))[1] == arp
    assert decapsulate(udp("1.1.1.1", "2.2.2.2", payload=b"junk")) is None


def test_learning_vxlan_resolves_with_arp_through_the_tunnel():
    net, sink = two_nodes()
    for index, node, other in ((1, "node-1", 2), (2, "node-2", 1)):
        host = net.host(node)
        host.delete_route(f"10.244.{other}.0/24")
        host.add_vxlan("vxlan0", vni=7, local=f"192.168.0.{9 + index}", learning=True)
        host.add_address("vxlan0", f"10.250.0.{index}/24")
        host.fdb_append("vxlan0", "00:00:00:00:00:00", f"192.168.0.{9 + other}")
        host.add_route(f"10.244.{other}.0/24", via=f"10.250.0.{other}")
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2"))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-c", result.format()
    tunnelled_arp = [f for f in sink.on("node-2", "vxlan0") if isinstance(f.frame, ArpFrame)]
    assert tunnelled_arp and tunnelled_arp[0].frame.target_ip == IPv4Address("10.250.0.2")
    node1_mac = net.host("node-1").interface("vxlan0").mac
    assert f"{node1_mac} dst 192.168.0.10 self permanent" in net.host("node-2").vxlan_fdbs["vxlan0"].show()


def test_vxlan_device_as_a_bridge_port():
    from netsim.dataplane import Network
    from dataplane_helpers import ping

    net = Network()
    for index in (1, 2):
        host = net.add_host(f"h{index}")
        host.add_interface("eth0")
        host.add_address("eth0", f"192.168.0.{index}/24")
        host.add_bridge("br0")
        host.add_address("br0", f"10.0.0.{index}/24")
        host.add_vxlan("vx0", vni=42, local=f"192.168.0.{index}", learning=True)
        host.set_master("vx0", "br0")
        host.fdb_append("vx0", "00:00:00:00:00:00", f"192.168.0.{3 - index}")
    net.add_segment("underlay", [("h1", "eth0"), ("h2", "eth0")])
    result = net.send("h1", ping("10.0.0.1", "10.0.0.2"))
    assert result.outcome is Outcome.DELIVERED and result.host == "h2", result.format()
    assert result.received[0].icmp_type == 0
