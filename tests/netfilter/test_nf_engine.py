"""Hook order, NAT along the packet path, and whole real-format dumps (kube-proxy, Docker, a firewall)."""

from __future__ import annotations

import pytest

from netsim.netfilter import Hook, NetfilterEngine, RulesetParseError, Verdict
from netsim.netfilter.engine import HOOK_STEPS, Step
from netsim.packet.record import Proto

from nf_helpers import A, Clock, data, deliver, filter_only, forward, icmp, make_engine, one, send, tcp, udp

ALL_CHAINS = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
}


def logging_ruleset() -> str:
    """Every built-in chain of every table LOGs its own name, so the trace shows the order."""
    out = []
    for table, chains in ALL_CHAINS.items():
        out.append(f"*{table}")
        out += [f":{c} ACCEPT [0:0]" for c in chains]
        out += [f'-A {c} -j LOG --log-prefix "{table}/{c} "' for c in chains if table not in ("nat",)]
        out += [f"-A {c} -m comment --comment {table}-{c}" for c in chains if table == "nat"]
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def order(results):
    steps = []
    for r in results:
        for s in r.trace:
            if s.kind == "rule":
                steps.append(f"{s.table}/{s.chain}")
            elif s.kind == "conntrack":
                steps.append("conntrack:" + s.note.split()[0])
    return steps


def test_hook_table_order_forwarded_first_packet():
    engine = make_engine(logging_ruleset())
    p = tcp("10.1.1.7", 40000, "8.8.8.8", 443)
    results = [one(engine, Hook.PREROUTING, p, in_iface="eth1"), one(engine, Hook.FORWARD, p, "eth1", "eth0"),
               one(engine, Hook.POSTROUTING, p, out_iface="eth0")]
    assert order(results) == [
        "raw/PREROUTING", "conntrack:NEW", "mangle/PREROUTING", "nat/PREROUTING",
        "mangle/FORWARD", "filter/FORWARD",
        "mangle/POSTROUTING", "nat/POSTROUTING", "conntrack:confirmed",
    ]


def test_hook_table_order_local_delivery_and_output():
    engine = make_engine(logging_ruleset())
    p = tcp("10.1.1.7", 40000, "192.168.1.10", 22)
    results = [one(engine, Hook.PREROUTING, p, in_iface="eth0"), one(engine, Hook.INPUT, p, in_iface="eth0")]
    assert order(results) == ["raw/PREROUTING", "conntrack:NEW", "mangle/PREROUTING", "nat/PREROUTING",
                              "mangle/INPUT", "filter/INPUT", "nat/INPUT", "conntrack:confirmed"]
    q = tcp("192.168.1.10", 50000, "8.8.8.8", 53)
    results = [one(engine, Hook.OUTPUT, q, out_iface="eth0"), one(engine, Hook.POSTROUTING, q, out_iface="eth0")]
    assert order(results) == ["raw/OUTPUT", "conntrack:NEW", "mangle/OUTPUT", "nat/OUTPUT", "filter/OUTPUT",
                              "mangle/POSTROUTING", "nat/POSTROUTING", "conntrack:confirmed"]


def test_nat_table_sees_only_the_first_packet_of_a_connection():
    engine = make_engine(logging_ruleset())
    first = udp("10.1.1.7", 5000, "8.8.8.8", 53)
    forward(engine, first)
    reply = udp("8.8.8.8", 53, "10.1.1.7", 5000)
    results = [one(engine, Hook.PREROUTING, reply, in_iface="eth0"), one(engine, Hook.FORWARD, reply, "eth0", "eth1"),
               one(engine, Hook.POSTROUTING, reply, out_iface="eth1")]
    seen = order(results)
    assert "nat/PREROUTING" not in seen and "nat/POSTROUTING" not in seen
    assert "mangle/PREROUTING" in seen and "filter/FORWARD" in seen


def test_hook_steps_table_is_in_kernel_priority_order():
    assert HOOK_STEPS[Hook.PREROUTING] == (Step.RAW, Step.CONNTRACK, Step.MANGLE, Step.NAT)
    assert HOOK_STEPS[Hook.INPUT][-1] is Step.CONFIRM and HOOK_STEPS[Hook.POSTROUTING][-1] is Step.CONFIRM


NAT_RULES = (
    "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
    "-A PREROUTING -d 203.0.113.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080\n"
    "-A OUTPUT -d 203.0.113.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080\n"
    "-A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE\n"
    "-A POSTROUTING -s 10.9.0.0/24 -o eth0 -j SNAT --to-source 198.51.100.9\n"
    "COMMIT\n"
)
IFACES = {"eth0": [A("198.51.100.1")], "eth1": [A("10.0.0.1")]}
LOCAL = frozenset({A("198.51.100.1"), A("10.0.0.1"), A("203.0.113.1")})


def test_dnat_in_prerouting_rewrites_the_destination_before_routing_and_filter():
    text = NAT_RULES + filter_only("-A FORWARD -d 10.0.0.2/32 -p tcp --dport 8080 -j ACCEPT\n", policy="DROP")
    engine = make_engine(text, ifaces=IFACES)
    p = tcp("192.0.2.50", 40000, "203.0.113.1", 80)
    result = one(engine, Hook.PREROUTING, p, in_iface="eth0", local=LOCAL)
    assert result.verdict is Verdict.ACCEPT
    assert (result.packet.dst, result.packet.dport) == (A("10.0.0.2"), 8080)  # the caller routes on this
    result = one(engine, Hook.FORWARD, p, in_iface="eth0", out_iface="eth1", local=LOCAL)
    assert result.verdict is Verdict.ACCEPT  # filter saw the DNATed destination
    dnat_step = [s for r in [result] for s in r.trace]
    assert dnat_step


def test_dnat_reply_is_un_dnated_in_postrouting():
    engine = make_engine(NAT_RULES, ifaces=IFACES)
    p = tcp("192.0.2.50", 40000, "203.0.113.1", 80)
    forward(engine, p, in_iface="eth0", out_iface="eth1", local=LOCAL)
    reply = tcp("10.0.0.2", 8080, "192.0.2.50", 40000, "SA")
    one(engine, Hook.PREROUTING, reply, in_iface="eth1", local=LOCAL)
    assert (reply.src, reply.sport) == (A("10.0.0.2"), 8080)  # source is restored after routing
    result = one(engine, Hook.POSTROUTING, reply, out_iface="eth0", local=LOCAL)
    assert (reply.src, reply.sport) == (A("203.0.113.1"), 80)
    assert any(s.kind == "nat" and "reply" in s.note for s in result.trace)


def test_masquerade_uses_the_out_interface_address_and_replies_are_un_snated():
    engine = make_engine(NAT_RULES, ifaces=IFACES)
    p = tcp("10.0.0.2", 33000, "8.8.8.8", 443)
    result = forward(engine, p, in_iface="eth1", out_iface="eth0", local=LOCAL)
    assert result.verdict is Verdict.ACCEPT
    assert (p.src, p.sport) == (A("198.51.100.1"), 33000)
    reply = tcp("8.8.8.8", 443, "198.51.100.1", 33000, "SA")
    result = one(engine, Hook.PREROUTING, reply, in_iface="eth0", local=LOCAL)
    assert (reply.dst, reply.dport) == (A("10.0.0.2"), 33000)  # un-SNAT before routing
    assert "ESTABLISHED" in str(result.trace[0])


def test_masquerade_follows_interface_address_changes():
    addrs = {"eth0": [A("198.51.100.1")]}
    engine = make_engine(NAT_RULES, ifaces=lambda name: addrs.get(name, ()))
    p = udp("10.0.0.2", 1000, "8.8.8.8", 53)
    forward(engine, p, in_iface="eth1", out_iface="eth0", local=LOCAL)
    assert p.src == A("198.51.100.1")
    addrs["eth0"] = [A("198.51.100.77")]
    q = udp("10.0.0.2", 1001, "8.8.8.8", 53)
    forward(engine, q, in_iface="eth1", out_iface="eth0", local=LOCAL)
    assert q.src == A("198.51.100.77")


def test_masquerade_without_an_address_drops_with_reason():
    engine = make_engine(NAT_RULES, ifaces={})
    result = forward(engine, udp("10.0.0.2", 1000, "8.8.8.8", 53), in_iface="eth1", out_iface="eth0")
    assert result.verdict is Verdict.DROP and "no address" in result.reason


def test_snat_to_source_and_icmp_echo_reply():
    engine = make_engine(NAT_RULES, ifaces=IFACES)
    ping = icmp("10.9.0.5", "8.8.8.8", 8, ident=77)
    forward(engine, ping, in_iface="eth1", out_iface="eth0", local=LOCAL)
    assert ping.src == A("198.51.100.9")
    pong = icmp("8.8.8.8", "198.51.100.9", 0, ident=ping.icmp_id)
    one(engine, Hook.PREROUTING, pong, in_iface="eth0", local=LOCAL)
    assert pong.dst == A("10.9.0.5") and pong.icmp_id == 77


def test_dnat_in_output_for_locally_generated_packets():
    text = NAT_RULES + filter_only("-A OUTPUT -d 10.0.0.2/32 -j ACCEPT\n", policy="DROP")
    engine = make_engine(text, ifaces=IFACES)
    p = tcp("198.51.100.1", 41000, "203.0.113.1", 80)
    result = one(engine, Hook.OUTPUT, p, out_iface="eth0", local=LOCAL)
    assert result.verdict is Verdict.ACCEPT and (p.dst, p.dport) == (A("10.0.0.2"), 8080)


def test_related_icmp_error_is_translated_inside_and_out():
    engine = make_engine(NAT_RULES, ifaces=IFACES)
    p = udp("10.0.0.2", 5000, "8.8.8.8", 53)
    forward(engine, p, in_iface="eth1", out_iface="eth0", local=LOCAL)
    assert p.src == A("198.51.100.1")
    err = icmp("8.8.8.8", "198.51.100.1", 3, 3)
    err.inner = p.clone()
    text = NAT_RULES + filter_only("-A FORWARD -m conntrack --ctstate RELATED -j ACCEPT\n", policy="DROP")
    engine.load(text)
    result = forward(engine, err, in_iface="eth0", out_iface="eth1", local=LOCAL)
    assert result.verdict is Verdict.ACCEPT
    assert err.dst == A("10.0.0.2")
    assert (err.inner.src, err.inner.sport) == (A("10.0.0.2"), 5000)


def test_redirect_to_local_port():
    text = ("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            "-A PREROUTING -i eth1 -p tcp --dport 80 -j REDIRECT --to-ports 3128\nCOMMIT\n")
    engine = make_engine(text, ifaces=IFACES)
    p = tcp("10.0.0.2", 40000, "93.184.216.34", 80)
    one(engine, Hook.PREROUTING, p, in_iface="eth1", local=LOCAL)
    assert (p.dst, p.dport) == (A("10.0.0.1"), 3128)


def test_dnat_port_range_and_address_range():
    text = ("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            "-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.10-10.0.0.12:8080-8090\nCOMMIT\n")
    engine = make_engine(text)
    seen = set()
    for host in range(1, 30):  # the address is chosen from the addresses only (find_best_ips_proto)
        p = tcp(f"192.0.2.{host}", 40000, "203.0.113.1", 80)
        one(engine, Hook.PREROUTING, p, in_iface="eth0")
        assert A("10.0.0.10") <= p.dst <= A("10.0.0.12") and 8080 <= p.dport <= 8090
        seen.add(p.dst)
    assert len(seen) > 1


# --- whole dumps ---------------------------------------------------------------

NODE_IFACES = {"eth0": [A("172.18.0.3")], "cni0": [A("10.244.1.1")], "lo": [A("127.0.0.1")]}
NODE_LOCAL = frozenset({A("172.18.0.3"), A("10.244.1.1"), A("127.0.0.1")})


def kube_node(seed=0):
    return make_engine(data("kube_proxy_node.restore"), seed=seed, ifaces=NODE_IFACES)


def test_kube_proxy_cluster_ip_from_a_pod_is_dnated_without_masquerade():
    engine = kube_node()
    p = udp("10.244.1.7", 40000, "10.96.0.10", 53)
    result = forward(engine, p, in_iface="cni0", out_iface="eth0", local=NODE_LOCAL)
    assert result.verdict is Verdict.ACCEPT
    assert p.dst in (A("10.244.1.9"), A("10.244.2.42")) and p.dport == 53
    assert p.src == A("10.244.1.7") and p.mark == 0
    line = engine.conntrack_listing()
    assert line.startswith("udp      17 30 src=10.244.1.7 dst=10.96.0.10 sport=40000 dport=53 [UNREPLIED] src=10.244.")


def test_kube_proxy_cluster_ip_from_the_node_is_masqueraded():
    engine = kube_node()
    p = tcp("172.18.0.3", 45000, "10.96.0.20", 80)
    result = send(engine, p, out_iface="eth0", local=NODE_LOCAL)
    assert result.verdict is Verdict.ACCEPT
    assert p.dst in (A("10.244.1.5"), A("10.244.1.6"), A("10.244.2.7")) and p.dport == 8080
    assert p.src == A("172.18.0.3")  # MASQUERADE to the eth0 address
    assert p.mark == 0  # KUBE-POSTROUTING cleared the masquerade bit with --xor-mark
    text = "\n".join(str(s) for s in result.trace)
    assert "MASQUERADE --random-fully" in text


def test_kube_proxy_nodeport_via_addrtype_local():
    engine = kube_node()
    p = tcp("192.0.2.99", 50000, "172.18.0.3", 30080)
    result = forward(engine, p, in_iface="eth0", out_iface="cni0", local=NODE_LOCAL)
    assert result.verdict is Verdict.ACCEPT
    assert p.dport == 8080
    # external traffic is masqueraded (KUBE-EXT marks it): the source is the node's cni0 address
    assert p.src == A("10.244.1.1")
    reply = tcp(str(p.dst), 8080, "10.244.1.1", p.sport, "SA")
    one(engine, Hook.PREROUTING, reply, in_iface="cni0", local=NODE_LOCAL)
    one(engine, Hook.FORWARD, reply, in_iface="cni0", out_iface="eth0", local=NODE_LOCAL)
    one(engine, Hook.POSTROUTING, reply, out_iface="eth0", local=NODE_LOCAL)
    assert (reply.src, reply.sport, reply.dst, reply.dport) == (A("172.18.0.3"), 30080, A("192.0.2.99"), 50000)


def test_kube_proxy_service_without_endpoints_rejects():
    engine = kube_node()
    p = tcp("10.244.1.7", 40000, "10.96.0.50", 80)
    result = forward(engine, p, in_iface="cni0", out_iface="eth0", local=NODE_LOCAL)
    assert result.verdict is Verdict.REJECT
    assert result.reply.proto == Proto.ICMP and (result.reply.icmp_type, result.reply.icmp_code) == (3, 3)
    assert result.reply.dst == A("10.244.1.7")
    assert "has no endpoints" in str(result.trace[-1])


def test_kube_proxy_distribution_over_three_endpoints():
    engine = kube_node(seed=7)
    counts = {}
    n = 6000
    for i in range(n):
        p = tcp("10.244.1.7", 10000 + i, "10.96.0.20", 80)
        one(engine, Hook.PREROUTING, p, in_iface="cni0", local=NODE_LOCAL)
        counts[p.dst] = counts.get(p.dst, 0) + 1
    assert set(counts) == {A("10.244.1.5"), A("10.244.1.6"), A("10.244.2.7")}
    sigma = (n * (1 / 3) * (2 / 3)) ** 0.5
    for c in counts.values():
        assert abs(c - n / 3) < 4 * sigma


def test_docker_published_port_and_container_masquerade():
    ifaces = {"eth0": [A("192.168.1.20")], "docker0": [A("172.17.0.1")]}
    local = frozenset({A("192.168.1.20"), A("172.17.0.1")})
    engine = make_engine(data("docker_host.saved"), ifaces=ifaces)
    p = tcp("192.168.1.5", 51000, "192.168.1.20", 8080)
    result = forward(engine, p, in_iface="eth0", out_iface="docker0", local=local)
    assert result.verdict is Verdict.ACCEPT and (p.dst, p.dport) == (A("172.17.0.2"), 80)
    out = tcp("172.17.0.2", 46000, "1.1.1.1", 443)
    result = forward(engine, out, in_iface="docker0", out_iface="eth0", local=local)
    assert result.verdict is Verdict.ACCEPT and out.src == A("192.168.1.20")
    # an unpublished port to the container from outside hits FORWARD policy DROP
    bad = tcp("192.168.1.5", 51001, "172.17.0.2", 22)
    assert forward(engine, bad, in_iface="eth0", out_iface="docker0", local=local).verdict is Verdict.DROP


def test_stateful_firewall():
    ifaces = {"eth0": [A("198.51.100.1")], "eth1": [A("192.168.10.1")]}
    local = frozenset({A("198.51.100.1"), A("192.168.10.1"), A("127.0.0.1")})
    engine = make_engine(data("stateful_firewall.saved"), ifaces=ifaces)
    ssh = tcp("203.0.113.9", 40000, "198.51.100.1", 22, "S")
    assert deliver(engine, ssh, local=local).verdict is Verdict.ACCEPT
    web_ack = tcp("203.0.113.9", 40001, "198.51.100.1", 443, "A")  # mid-stream pick-up is NEW
    assert deliver(engine, web_ack, local=local).verdict is Verdict.ACCEPT
    closed = tcp("203.0.113.9", 40002, "198.51.100.1", 25, "S")
    result = deliver(engine, closed, local=local)
    assert result.verdict is Verdict.REJECT and result.reply.tcp_flags & 0x04
    dns = udp("203.0.113.9", 5353, "198.51.100.1", 9999)
    result = deliver(engine, dns, local=local)
    assert result.verdict is Verdict.REJECT and result.reply.icmp_type == 3
    stray = tcp("203.0.113.9", 40003, "198.51.100.1", 22, "SA")  # INVALID: cannot start a connection
    assert deliver(engine, stray, local=local).verdict is Verdict.DROP
    # -m limit --limit 5/sec (burst 5): five pings at once pass, the sixth is logged and dropped
    verdicts = [deliver(engine, icmp("203.0.113.9", "198.51.100.1", 8, ident=7), local=local) for _ in range(6)]
    assert [r.verdict for r in verdicts] == [Verdict.ACCEPT] * 5 + [Verdict.DROP]
    assert any("fw-drop: " in str(s) for s in verdicts[-1].trace)
    # port forward 2222 -> 192.168.10.5:22, then the inside host's reply comes back un-NATed
    fwd = tcp("203.0.113.9", 40004, "198.51.100.1", 2222, "S")
    engine.load(engine.ruleset.tables["filter"].__str__().replace(
        "-A FORWARD -i eth1 -o eth0 -j ACCEPT", "-A FORWARD -i eth1 -o eth0 -j ACCEPT\n-A FORWARD -d 192.168.10.5/32 -p tcp -m tcp --dport 22 -j ACCEPT") + "\n")
    assert forward(engine, fwd, in_iface="eth0", out_iface="eth1", local=local).verdict is Verdict.ACCEPT
    assert (fwd.dst, fwd.dport) == (A("192.168.10.5"), 22)


def test_load_is_all_or_nothing():
    engine = make_engine(filter_only("-A INPUT -j DROP\n"))
    with pytest.raises(RulesetParseError):
        engine.load("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NOPE-CHAIN\nCOMMIT\n")
    assert one(engine, Hook.INPUT, tcp("1.1.1.1", 1, "2.2.2.2", 2), in_iface="eth0").verdict is Verdict.DROP


def test_trace_steps_print_table_chain_rule_and_rewrite():
    engine = kube_node()
    p = udp("10.244.1.7", 40000, "10.96.0.10", 53)
    result = one(engine, Hook.PREROUTING, p, in_iface="cni0", local=NODE_LOCAL)
    lines = [str(s) for s in result.trace]
    assert lines[0] == "PREROUTING  conntrack: NEW entry 1"
    assert lines[1].startswith("PREROUTING  nat/PREROUTING#1: match -A PREROUTING -m comment")
    assert lines[-1].endswith("udp 10.244.1.7:40000 > 10.96.0.10:53 -> udp 10.244.1.7:40000 > " + f"{p.dst}:53")
    assert "=> ACCEPT" in lines[-1] and "-j DNAT --to-destination" in lines[-1]


def test_trace_misses_lists_rules_that_did_not_match():
    engine = make_engine(filter_only("-A INPUT -p udp -j DROP\n-A INPUT -p tcp -j ACCEPT\n"), trace_misses=True)
    result = one(engine, Hook.INPUT, tcp("1.1.1.1", 1, "2.2.2.2", 2), in_iface="eth0")
    assert [s.kind for s in result.trace] == ["miss", "rule"]
    assert str(result.trace[0]) == "INPUT       filter/INPUT#1: no match -A INPUT -p udp -j DROP"


def test_engine_is_deterministic_for_a_seed():
    def run(seed):
        engine = kube_node(seed)
        out = []
        for i in range(50):
            p = tcp("10.244.1.7", 20000 + i, "10.96.0.20", 80)
            one(engine, Hook.PREROUTING, p, in_iface="cni0", local=NODE_LOCAL)
            out.append(p.dst)
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_engine_requires_no_ruleset_and_accepts_everything():
    engine = NetfilterEngine(rng=__import__("numpy").random.default_rng(0), clock=Clock())
    p = tcp("1.1.1.1", 1, "2.2.2.2", 2)
    assert forward(engine, p).verdict is Verdict.ACCEPT
    assert len(engine.conntrack) == 1


def test_reject_answer_after_dnat_is_un_dnated_on_its_way_out():
    text = NAT_RULES + filter_only("-A FORWARD -p tcp -j REJECT --reject-with tcp-reset\n")
    engine = make_engine(text, ifaces=IFACES)
    p = tcp("192.0.2.50", 40000, "203.0.113.1", 80, "S", seq=10)
    result = forward(engine, p, in_iface="eth0", out_iface="eth1", local=LOCAL)
    assert result.verdict is Verdict.REJECT
    rst = result.reply
    assert (rst.src, rst.sport) == (A("10.0.0.2"), 8080)  # answers what it saw: the DNATed packet
    one(engine, Hook.OUTPUT, rst, out_iface="eth0", local=LOCAL)
    one(engine, Hook.POSTROUTING, rst, out_iface="eth0", local=LOCAL)
    assert (rst.src, rst.sport, rst.dst, rst.dport) == (A("203.0.113.1"), 80, A("192.0.2.50"), 40000)
    assert len(engine.conntrack) == 0  # the refused connection was never confirmed


def test_icmp_reject_answer_after_dnat_quotes_the_original_destination():
    text = NAT_RULES + filter_only("-A FORWARD -j REJECT\n")
    engine = make_engine(text, ifaces=IFACES)
    p = tcp("192.0.2.50", 40000, "203.0.113.1", 80, "S")
    err = forward(engine, p, in_iface="eth0", out_iface="eth1", local=LOCAL).reply
    one(engine, Hook.OUTPUT, err, out_iface="eth0", local=LOCAL)
    one(engine, Hook.POSTROUTING, err, out_iface="eth0", local=LOCAL)
    assert err.dst == A("192.0.2.50")
    assert (err.inner.dst, err.inner.dport) == (A("203.0.113.1"), 80)


def test_branches_enumerates_every_endpoint_with_exact_probabilities():
    engine = kube_node()
    p = tcp("10.244.1.7", 40000, "10.96.0.20", 80)
    branches = engine.branches(Hook.PREROUTING, p, in_iface="cni0", out_iface=None, local_addresses=NODE_LOCAL)
    reached = {b.result.packet.dst: b.probability for b in branches}
    assert set(reached) == {A("10.244.1.5"), A("10.244.1.6"), A("10.244.2.7")}
    q = 715827883 / 0x80000000  # 0.3333333333 as the kernel stores it
    assert reached[A("10.244.1.5")] == pytest.approx(q)
    assert reached[A("10.244.1.6")] == pytest.approx((1 - q) * 0.5)
    assert reached[A("10.244.2.7")] == pytest.approx((1 - q) * 0.5)
    assert sum(b.probability for b in branches) == pytest.approx(1.0)
    assert p.dst == A("10.96.0.20")  # the caller's packet is untouched
    assert len(engine.conntrack) == 0


def test_branches_without_statistic_is_one_branch():
    engine = kube_node()
    p = udp("10.244.1.7", 40000, "10.96.0.50", 53)
    branches = engine.branches(Hook.PREROUTING, p, in_iface="cni0", out_iface=None, local_addresses=NODE_LOCAL)
    assert len(branches) == 1 and branches[0].probability == 1.0 and branches[0].decisions == ()


def test_branches_start_from_the_same_recent_lists():
    from nf_helpers import data

    engine = make_engine(data("session_affinity.saved"))
    p = tcp("192.0.2.7", 30000, "10.96.0.30", 80)
    branches = engine.branches(Hook.PREROUTING, p, in_iface="eth0", out_iface=None, local_addresses=frozenset())
    assert {b.result.packet.dst for b in branches} == {A("10.244.1.20"), A("10.244.2.21")}
    assert engine.recent_lists == {}  # exploring left no affinity behind
