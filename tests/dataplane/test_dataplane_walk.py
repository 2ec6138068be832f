"""The walk through hosts without rules: bridges, veths, segments, ARP, ICMP errors, applications."""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.dataplane import EchoApp, Network, Outcome, StepKind
from netsim.dataplane.replies import tcp_reset
from netsim.netfilter.hooks import Hook
from netsim.packet import Packet, Proto, TcpFlag
from netsim.packet.arp import ArpFrame, ArpOp

from dataplane_helpers import Clock, ping, syn, two_nodes, udp


def test_same_bridge_tcp_syn_gets_syn_ack():
    net, sink = two_nodes()
    result = net.send("pod-a", syn("10.244.1.2", "10.244.1.3"))
    assert result.outcome is Outcome.DELIVERED
    assert (result.host, result.app) == ("pod-b", "echo@pod-b")
    (reply,) = result.received
    assert reply.tcp_flags == TcpFlag.SYN | TcpFlag.ACK and reply.ack == 1001
    assert (reply.src, reply.sport, reply.dst, reply.dport) == (IPv4Address("10.244.1.3"), 8080,
                                                                 IPv4Address("10.244.1.2"), 40000)
    # bridged under br_netfilter: PREROUTING, FORWARD, POSTROUTING with the bridge as in and out, no TTL drop
    assert result.hooks(0) == [("node-1", Hook.PREROUTING, "cni0", None),
                               ("node-1", Hook.FORWARD, "cni0", "cni0"),
                               ("node-1", Hook.POSTROUTING, None, "cni0")]
    assert net.host("pod-b").interface("eth0") and result.of(0)[0].record.ttl == 64


def test_arp_exchange_is_captured_and_cached():
    net, sink = two_nodes()
    net.send("pod-a", syn("10.244.1.2", "10.244.1.3"))
    arps = [f for f in sink.frames if isinstance(f.frame, ArpFrame)]
    ops = [(f.host, f.iface, f.direction, f.frame.op) for f in arps]
    assert ops[0] == ("pod-a", "eth0", "out", ArpOp.REQUEST)
    assert ("pod-b", "eth0", "in", ArpOp.REQUEST) in ops
    assert ("pod-b", "eth0", "out", ArpOp.REPLY) in ops and ("pod-a", "eth0", "in", ArpOp.REPLY) in ops
    request = arps[0].frame
    assert request.dst_mac == "ff:ff:ff:ff:ff:ff" and request.target_ip == IPv4Address("10.244.1.3")
    pod_b_mac = net.host("pod-b").interface("eth0").mac
    assert net.host("pod-a").neigh_show() == f"10.244.1.3 dev eth0 lladdr {pod_b_mac} REACHABLE\n"
    assert "10.244.1.2 dev eth0" in net.host("pod-b").neigh_show()  # learned from the request
    before = len(sink.frames)
    net.send("pod-a", syn("10.244.1.2", "10.244.1.3", sport=40001))
    assert not any(isinstance(f.frame, ArpFrame) for f in sink.frames[before:])  # cached now


def test_cross_node_routing_decrements_ttl():
    net, sink = two_nodes()
    result = net.send("pod-a", syn("10.244.1.2", "10.244.2.2"))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-c"
    assert result.of(0)[0].record.ttl == 62
    assert result.received[0].ttl == 62
    routes = [s.route.format() for s in result.steps_of(0) if s.kind is StepKind.ROUTE]
    assert routes == ["default via 10.244.1.1 dev eth0",
                      "10.244.2.0/24 via 192.168.0.11 dev eth0",
                      "10.244.2.0/24 dev cni0 proto kernel scope link src 10.244.2.1",
                      "local 10.244.2.2 dev eth0 proto kernel scope host src 10.244.2.2"]
    assert result.hooks(0)[:3] == [("node-1", Hook.PREROUTING, "cni0", None),
                                   ("node-1", Hook.FORWARD, "cni0", "eth0"),
                                   ("node-1", Hook.POSTROUTING, None, "eth0")]
    lan = [f for f in sink.on("node-1", "eth0") if isinstance(f.frame, Packet)]
    assert lan[0].frame.src_mac == net.host("node-1").interface("eth0").mac
    assert lan[0].frame.dst_mac == net.host("node-2").interface("eth0").mac


def test_udp_echo_and_ping():
    net, _ = two_nodes()
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2", payload=b"hello"))
    assert result.app == "udp-echo@pod-c" and result.received[0].payload == b"hello"
    result = net.send("pod-a", ping("10.244.1.2", "10.244.2.2"))
    assert (result.outcome, result.app) == (Outcome.DELIVERED, "kernel")
    (reply,) = result.received
    assert (reply.icmp_type, reply.icmp_id, reply.icmp_seq, reply.payload) == (0, 7, 1, b"ping")


def test_tcp_data_and_fin_are_echoed():
    net, _ = two_nodes()
    data = syn("10.244.1.2", "10.244.1.3", tcp_flags=int(TcpFlag.PSH | TcpFlag.ACK), seq=1001, ack=5,
               payload=b"abc")
    (reply,) = net.send("pod-a", data).received
    assert (reply.tcp_flags, reply.seq, reply.ack, reply.payload) == (TcpFlag.PSH | TcpFlag.ACK, 5, 1004, b"abc")
    fin = syn("10.244.1.2", "10.244.1.3", tcp_flags=int(TcpFlag.FIN | TcpFlag.ACK), seq=1004, ack=8)
    (reply,) = net.send("pod-a", fin).received
    assert reply.tcp_flags == TcpFlag.FIN | TcpFlag.ACK and reply.ack == 1005


def test_no_listener_tcp_rst_and_udp_port_unreachable():
    net, _ = two_nodes()
    result = net.send("pod-a", syn("10.244.1.2", "10.244.2.2", dport=81))
    assert result.outcome is Outcome.NO_LISTENER and result.host == "pod-c"
    (rst,) = result.received
    assert rst.tcp_flags == TcpFlag.RST | TcpFlag.ACK and rst.ack == 1001 and rst.seq == 0
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2", dport=81))
    assert result.outcome is Outcome.NO_LISTENER
    (error,) = result.received
    assert (error.icmp_type, error.icmp_code, error.src) == (3, 3, IPv4Address("10.244.2.2"))
    assert error.inner.dport == 81 and error.inner.ttl == 62
    assert tcp_reset(syn("1.1.1.1", "2.2.2.2", tcp_flags=int(TcpFlag.ACK), ack=77)).seq == 77


def test_locally_generated_without_route_is_unreachable():
    net = Network()
    host = net.add_host("h")
    host.add_interface("eth0")
    host.add_address("eth0", "10.0.0.1/24")
    result = net.send("h", udp("10.0.0.1", "8.8.8.8"))
    assert result.outcome is Outcome.UNREACHABLE and "ENETUNREACH" in result.reason
    assert result.received == ()


def test_forwarded_without_route_gets_net_unreachable():
    net, _ = two_nodes()
    result = net.send("pod-a", udp("10.244.1.2", "8.8.8.8"))
    assert result.outcome is Outcome.UNREACHABLE and result.host == "node-1"
    (error,) = result.received
    assert (error.icmp_type, error.icmp_code) == (3, 0)
    assert error.src == IPv4Address("10.244.1.1")  # the address of the route back to the sender
    assert error.inner.dst == IPv4Address("8.8.8.8")


def test_ttl_exceeded():
    net, _ = two_nodes()
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2", ttl=2))
    assert result.outcome is Outcome.TTL_EXCEEDED and result.host == "node-2"
    (error,) = result.received
    assert (error.icmp_type, error.icmp_code, error.src) == (11, 0, IPv4Address("192.168.0.11"))
    assert error.tos == 0xC0


def test_fragmentation_needed_for_df_packets():
    net, _ = two_nodes()
    net.host("node-1").set_mtu("eth0", 1400)
    big = udp("10.244.1.2", "10.244.2.2", payload=b"x" * 1450, df=True)
    result = net.send("pod-a", big)
    assert result.outcome is Outcome.FRAG_NEEDED and result.host == "node-1"
    (error,) = result.received
    assert (error.icmp_type, error.icmp_code, error.icmp_seq) == (3, 4, 1400)
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2", payload=b"x" * 1600, df=True))
    assert result.outcome is Outcome.FRAG_NEEDED and "EMSGSIZE" in result.reason and result.host == "pod-a"
    small_df_off = udp("10.244.1.2", "10.244.2.2", payload=b"x" * 1450, df=False)
    assert net.send("pod-a", small_df_off).outcome is Outcome.DELIVERED


def test_arp_failure_is_host_unreachable():
    net, sink = two_nodes()
    result = net.send("pod-a", udp("10.244.1.2", "10.244.1.99"))
    assert result.outcome is Outcome.UNREACHABLE and "no ARP answer" in result.reason
    assert "10.244.1.99 dev eth0 FAILED" in net.host("pod-a").neigh_show()
    assert any(isinstance(f.frame, ArpFrame) and f.frame.target_ip == IPv4Address("10.244.1.99")
               for f in sink.frames)
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.99"))  # forwarded: node-2 answers with ICMP
    assert result.host == "node-2" and result.received[0].icmp_code == 1


def test_forwarding_disabled_drops():
    net, _ = two_nodes()
    net.host("node-1").set_forwarding(False)
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2"))
    assert result.outcome is Outcome.DROPPED and "ip_forward" in result.reason
    assert result.received == ()


def test_loopback_delivery():
    net = Network()
    host = net.add_host("h")
    host.bind(EchoApp(), Proto.TCP, 80)
    result = net.send("h", syn("0.0.0.0", "127.0.0.1", dport=80))
    assert result.outcome is Outcome.DELIVERED
    assert result.received[0].dst == IPv4Address("127.0.0.1")
    frames = [(s.kind, s.in_iface, s.out_iface) for s in result.steps_of(0)
              if s.kind in (StepKind.FRAME_IN, StepKind.FRAME_OUT)]
    assert frames == [(StepKind.FRAME_OUT, None, "lo"), (StepKind.FRAME_IN, "lo", None)]


def test_source_address_is_chosen_by_the_route():
    net, _ = two_nodes()
    result = net.send("node-1", udp("0.0.0.0", "10.244.2.2"))
    assert result.of(0)[0].record.src == IPv4Address("192.168.0.10")
    assert result.received[0].dst == IPv4Address("192.168.0.10")


def test_inject_from_the_wire():
    net, sink = two_nodes()
    node2_mac = net.host("node-2").interface("eth0").mac
    node1 = net.host("node-1")
    node1.add_neighbour("192.168.0.11", node2_mac, "eth0")
    frame = udp("192.168.0.11", "10.244.1.3")
    frame.src_mac = node2_mac
    result = net.inject("node-1", "eth0", frame)
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-b"
    wrong = udp("192.168.0.11", "10.244.1.3")
    wrong.dst_mac = "02:00:00:00:00:99"
    result = net.inject("node-1", "eth0", wrong)
    assert result.outcome is Outcome.LOST


def test_segment_delivers_unicast_only_to_its_owner():
    net, sink = two_nodes()
    third = net.add_host("node-3")
    third.add_interface("eth0")
    third.add_address("eth0", "192.168.0.12/24")
    net.connect("lan", "node-3", "eth0")
    net.send("node-1", udp("0.0.0.0", "192.168.0.11"))
    seen = {(f.host, type(f.frame).__name__) for f in sink.frames if f.direction == "in"}
    assert ("node-3", "ArpFrame") in seen and ("node-3", "Packet") not in seen


def test_unlinked_interface_loses_the_frame():
    net = Network()
    host = net.add_host("h")
    host.add_interface("eth0")
    host.add_address("eth0", "10.0.0.1/24")
    host.add_neighbour("10.0.0.2", "02:00:00:00:00:02", "eth0")
    result = net.send("h", udp("10.0.0.1", "10.0.0.2"))
    assert result.outcome is Outcome.LOST


def test_timestamps_come_from_the_simulated_clock():
    clock = Clock(50.0)
    net, sink = two_nodes(clock=clock)
    net.send("pod-a", syn("10.244.1.2", "10.244.2.2"))
    times = [f.time for f in sink.frames]
    assert times[0] == 50.0 and all(b > a for a, b in zip(times, times[1:]))
    assert abs(times[1] - times[0] - 1e-6) < 1e-12
    clock.t = 60.0
    count = len(sink.frames)
    net.send("pod-a", syn("10.244.1.2", "10.244.2.2", sport=40001))
    assert sink.frames[count].time == 60.0


def test_timestamps_at_epoch_scale_stay_whole_microseconds():
    clock = Clock(1_704_067_200.0)
    net, sink = two_nodes(clock=clock)
    net.send("pod-a", syn("10.244.1.2", "10.244.2.2"))
    micros = [round((f.time - clock.t) * 1e6) for f in sink.frames]
    assert micros == list(range(len(sink.frames)))


def test_same_inputs_same_trace_and_frames():
    def run():
        net, sink = two_nodes()
        results = [net.send("pod-a", syn("10.244.1.2", "10.244.2.2")),
                   net.send("pod-c", udp("10.244.2.2", "10.244.1.3")),
                   net.send("pod-a", udp("10.244.1.2", "10.244.1.77"))]
        return [r.format() for r in results], [(f.time, f.host, f.iface, f.direction, repr(f.frame))
                                              for f in sink.frames]

    assert run() == run()


def test_result_format_lists_steps_and_dispositions():
    net, _ = two_nodes()
    text = net.send("pod-a", syn("10.244.1.2", "10.244.1.3")).format()
    assert "#0 node-1 hook FORWARD in=cni0 out=cni0 ACCEPT" in text
    assert "#0 delivered on pod-b to echo@pod-b" in text


def test_routing_loop_ends_with_ttl_exceeded():
    net = Network()
    for name, address, peer in (("r1", "10.0.0.1/24", "10.0.0.2"), ("r2", "10.0.0.2/24", "10.0.0.1")):
        host = net.add_host(name, forwarding=True)
        host.add_interface("eth0")
        host.add_address("eth0", address)
        host.add_route("default", via=peer)
    net.add_segment("link", [("r1", "eth0"), ("r2", "eth0")])
    result = net.send("r1", udp("10.0.0.1", "8.8.8.8", ttl=5))
    # r2 forwards with TTL 5→4, r1 4→3, r2 3→2, r1 2→1; r2 gets TTL 1 and gives up
    assert result.outcome is Outcome.TTL_EXCEEDED and result.host == "r2"
    assert result.received[0].icmp_type == 11


def test_l2_loop_ends_with_loop():
    net = Network(walk_limit=2000)
    host = net.add_host("h")
    host.add_bridge("br0")
    host.add_bridge("br1")
    net.add_veth("h", "a0", "h", "a1")
    net.add_veth("h", "b0", "h", "b1")
    for port, bridge in (("a0", "br0"), ("b0", "br0"), ("a1", "br1"), ("b1", "br1")):
        host.set_master(port, bridge)
    host.add_address("br0", "10.0.0.1/24")
    result = net.send("h", udp("10.0.0.1", "10.0.0.9"))
    assert result.outcome is Outcome.LOOP
