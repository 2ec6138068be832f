"""Where the walk calls netfilter, and how it obeys the verdicts (with fake runners)."""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.dataplane import Outcome, StepKind
from netsim.dataplane.passthrough import AcceptAll
from netsim.netfilter.hooks import Hook, HookResult, Verdict
from netsim.packet import Packet, Proto

from dataplane_helpers import FakeRunner, dnat, ping, syn, two_nodes, udp, unsnat

SERVICE = "10.96.0.10"


def runners(**per_node):
    """A node_netfilter factory: FakeRunner(**actions) for named nodes, AcceptAll for the rest."""
    made = {}

    def factory(node):
        made[node] = FakeRunner(**per_node.get(node, {}))
        return made[node]

    return factory, made


def test_dnat_in_prerouting_changes_the_route():
    factory, made = runners(**{"node-1": {"PREROUTING": dnat(SERVICE, 80, "10.244.2.2", 8080),
                                          "POSTROUTING": unsnat("10.244.2.2", 8080, SERVICE, 80)}})
    net, _ = two_nodes(node_netfilter=factory)
    result = net.send("pod-a", syn("10.244.1.2", SERVICE, dport=80))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-c"
    routes = [s for s in result.steps_of(0) if s.kind is StepKind.ROUTE and s.host == "node-1"]
    assert routes[0].route.format() == "10.244.2.0/24 via 192.168.0.11 dev eth0"
    hook = next(s for s in result.steps_of(0) if s.hook is Hook.PREROUTING and s.host == "node-1")
    assert "rewrote to TCP 10.244.1.2:40000 > 10.244.2.2:8080" in hook.detail and hook.nf_trace == ("DNAT",)
    assert result.hooks(0)[:3] == [("node-1", Hook.PREROUTING, "cni0", None),
                                   ("node-1", Hook.FORWARD, "cni0", "eth0"),
                                   ("node-1", Hook.POSTROUTING, None, "eth0")]
    (reply,) = result.received  # the reply came back through node-1's hooks and was un-NATed
    assert (reply.src, reply.sport) == (IPv4Address(SERVICE), 80)


def test_dnat_to_a_pod_on_the_same_bridge_is_bridged():
    factory, made = runners(**{"node-1": {"PREROUTING": dnat(SERVICE, 80, "10.244.1.3", 8080),
                                          "POSTROUTING": unsnat("10.244.1.3", 8080, SERVICE, 80)}})
    net, _ = two_nodes(node_netfilter=factory)
    result = net.send("pod-a", syn("10.244.1.2", SERVICE, dport=80))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-b"
    assert result.hooks(0) == [("node-1", Hook.PREROUTING, "cni0", None),
                               ("node-1", Hook.FORWARD, "cni0", "cni0"),
                               ("node-1", Hook.POSTROUTING, None, "cni0")]
    assert result.of(0)[0].record.ttl == 64  # bridged, not routed
    (reply,) = result.received
    assert (reply.src, reply.sport) == (IPv4Address(SERVICE), 80)
    # the reply is bridged too, and passes node-1's hooks (br_netfilter), so conntrack can un-NAT it
    reply_id = next(d.packet for d in result.dispositions if d.app == "socket")
    assert [h[1] for h in result.hooks(reply_id)] == [Hook.PREROUTING, Hook.FORWARD, Hook.POSTROUTING]


def test_hairpin_needs_hairpin_mode():
    factory, _ = runners(**{"node-1": {"PREROUTING": dnat(SERVICE, 80, "10.244.1.2", 8080)}})
    net, _ = two_nodes(node_netfilter=factory)
    result = net.send("pod-a", syn("10.244.1.2", SERVICE, dport=80))
    assert result.outcome is Outcome.DROPPED and "hairpin" in result.reason
    net.host("node-1").set_master("veth-a", "cni0", hairpin=True)
    result = net.send("pod-a", syn("10.244.1.2", SERVICE, dport=80, sport=40001))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-a" and result.app == "echo@pod-a"


def test_without_br_netfilter_bridged_traffic_skips_iptables():
    factory, made = runners()
    net, _ = two_nodes(node_netfilter=factory)
    net.host("node-1").bridge_nf_call_iptables = False
    result = net.send("pod-a", syn("10.244.1.2", "10.244.1.3"))
    assert result.delivered and result.hooks(0) == []


def test_drop_in_forward():
    drop = lambda p, i, o: HookResult(Verdict.DROP, p, trace=("-A FORWARD -j DROP",), reason="FORWARD: DROP")
    factory, _ = runners(**{"node-2": {"FORWARD": drop}})
    net, _ = two_nodes(node_netfilter=factory)
    result = net.send("pod-a", syn("10.244.1.2", "10.244.2.2"))
    assert (result.outcome, result.host, result.reason) == (Outcome.DROPPED, "node-2", "FORWARD: DROP")
    assert result.received == ()
    step = next(s for s in result.steps if s.verdict is Verdict.DROP)
    assert step.nf_trace == ("-A FORWARD -j DROP",) and "-A FORWARD -j DROP" in step.format()


def test_reject_sends_its_reply_through_the_output_path():
    def reject(packet, in_iface, out_iface):
        if packet.dport != 8080:
            return None
        reply = Packet(IPv4Address("10.244.2.1"), packet.src, Proto.ICMP, icmp_type=3, icmp_code=3,
                       inner=packet.clone())
        return HookResult(Verdict.REJECT, packet, reply=reply, reason="REJECT --reject-with icmp-port-unreachable")

    factory, made = runners(**{"node-2": {"FORWARD": reject}})
    net, _ = two_nodes(node_netfilter=factory)
    result = net.send("pod-a", udp("10.244.1.2", "10.244.2.2"))
    assert result.outcome is Outcome.REJECTED and result.host == "node-2"
    (error,) = result.received
    assert (error.icmp_type, error.icmp_code) == (3, 3)
    reply_id = next(d.packet for d in result.dispositions if d.app == "socket")
    assert result.hooks(reply_id)[:2] == [("node-2", Hook.OUTPUT, None, "eth0"),
                                          ("node-2", Hook.POSTROUTING, None, "eth0")]


def test_output_dnat_reroutes():
    factory, made = runners(**{"node-1": {"OUTPUT": dnat(SERVICE, 80, "10.244.1.3", 8080),
                                          "INPUT": unsnat("10.244.1.3", 8080, SERVICE, 80)}})
    net, _ = two_nodes(node_netfilter=factory)
    net.host("node-1").add_route("default", via="192.168.0.1")  # a ClusterIP needs some route, as in the kernel
    result = net.send("node-1", syn("0.0.0.0", SERVICE, dport=80))
    assert result.outcome is Outcome.DELIVERED and result.host == "pod-b"
    routes = [(s.detail, s.route.format()) for s in result.steps_of(0) if s.kind is StepKind.ROUTE][:2]
    assert routes == [("output", "default via 192.168.0.1 dev eth0"),
                      ("rerouted after OUTPUT", "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1")]
    assert result.hooks(0)[:2] == [("node-1", Hook.OUTPUT, None, "eth0"), ("node-1", Hook.POSTROUTING, None, "cni0")]
    assert result.of(0)[0].record.src == IPv4Address("192.168.0.10")  # chosen before OUTPUT, as the kernel does
    (reply,) = result.received
    assert (reply.src, reply.sport) == (IPv4Address(SERVICE), 80)


def test_output_without_any_route_fails_before_output():
    factory, made = runners()
    net, _ = two_nodes(node_netfilter=factory)
    result = net.send("node-1", syn("0.0.0.0", SERVICE, dport=80))
    assert result.outcome is Outcome.UNREACHABLE and result.hooks(0) == []


def test_local_delivery_runs_prerouting_then_input():
    factory, made = runners()
    net, _ = two_nodes(node_netfilter=factory)
    result = net.send("pod-c", ping("10.244.2.2", "192.168.0.10"))
    assert result.delivered and result.host == "node-1"
    assert result.hooks(0)[-2:] == [("node-1", Hook.PREROUTING, "eth0", None), ("node-1", Hook.INPUT, "eth0", None)]


def test_stolen_and_unsupported_are_outcomes():
    for verdict, outcome in ((Verdict.STOLEN, Outcome.STOLEN), (Verdict.UNSUPPORTED, Outcome.UNSUPPORTED)):
        factory, _ = runners(**{"node-1": {"FORWARD": lambda p, i, o, v=verdict: HookResult(v, p, reason="x")}})
        net, _ = two_nodes(node_netfilter=factory)
        assert net.send("pod-a", udp("10.244.1.2", "10.244.2.2")).outcome is outcome


def test_accept_all_accepts_unchanged():
    packet = udp("10.0.0.1", "10.0.0.2")
    result = AcceptAll().run_hook(Hook.INPUT, packet, in_iface="eth0", out_iface=None, local_addresses=frozenset())
    assert result.verdict is Verdict.ACCEPT and result.packet is packet
