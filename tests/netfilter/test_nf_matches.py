"""One test per match: each rule either accepts (matched) or falls to a DROP policy."""

from __future__ import annotations

import pytest

from netsim.netfilter import Hook, Verdict

from nf_helpers import A, filter_only, icmp, make_engine, one, tcp, udp


def verdict_in(rule: str, packet, *, hook=Hook.INPUT, in_iface="eth0", out_iface=None, local=frozenset(), ifaces=None):
    """ACCEPT if `rule` (with -j ACCEPT) matched, DROP (the policy) if not."""
    chain = hook.value
    engine = make_engine(filter_only(f"-A {chain} {rule} -j ACCEPT\n", policy="DROP"), ifaces=ifaces)
    if hook is Hook.FORWARD and out_iface is None:
        out_iface = "eth1"
    return one(engine, hook, packet, in_iface=in_iface, out_iface=out_iface, local=local).verdict


def hit(*args, **kw) -> bool:
    v = verdict_in(*args, **kw)
    assert v in (Verdict.ACCEPT, Verdict.DROP), v
    return v is Verdict.ACCEPT


P = tcp("10.0.0.5", 40000, "192.168.1.10", 80)


@pytest.mark.parametrize("rule, expected", [
    ("-s 10.0.0.5", True), ("-s 10.0.0.0/24", True), ("-s 10.0.1.0/24", False), ("! -s 10.0.1.0/24", True),
    ("-d 192.168.1.10/32", True), ("! -d 192.168.0.0/16", False), ("-s 0.0.0.0/0", True),
    ("-s 10.0.0.5/255.255.255.0", True),
    # masks that are not prefixes: address & mask == net & mask (iptables accepts them)
    ("-s 10.9.0.5/255.0.255.255", True), ("-s 10.9.0.6/255.0.255.255", False),
    ("-d 1.2.3.10/0.0.0.255", True), ("! -d 1.2.3.10/0.0.0.255", False), ("-d 1.2.3.11/0.0.0.255", False),
])
def test_source_and_destination(rule, expected):
    assert hit(rule, P.clone()) is expected


@pytest.mark.parametrize("rule, iface, expected", [
    ("-i eth0", "eth0", True), ("-i eth1", "eth0", False), ("-i eth+", "eth7", True), ("-i veth+", "eth0", False),
    ("! -i lo", "eth0", True), ("! -i eth+", "eth0", False), ("-i +", "anything", True),
])
def test_in_interface(rule, iface, expected):
    assert hit(rule, P.clone(), in_iface=iface) is expected


def test_out_interface_in_forward():
    assert hit("-o eth1", P.clone(), hook=Hook.FORWARD, out_iface="eth1")
    assert not hit("-o eth1", P.clone(), hook=Hook.FORWARD, out_iface="eth2")
    assert hit("! -o docker0", P.clone(), hook=Hook.FORWARD, out_iface="eth2")


@pytest.mark.parametrize("rule, packet, expected", [
    ("-p tcp", P, True), ("-p udp", P, False), ("-p 6", P, True), ("! -p tcp", P, False), ("-p all", P, True),
    ("-p icmp", icmp("10.0.0.5", "192.168.1.10"), True), ("-p 17", udp("1.1.1.1", 5, "2.2.2.2", 53), True),
])
def test_protocol(rule, packet, expected):
    assert hit(rule, packet.clone()) is expected


@pytest.mark.parametrize("rule, expected", [
    ("-p tcp --dport 80", True), ("-p tcp --dport 81", False), ("-p tcp --dport 79:81", True),
    ("-p tcp ! --dport 80", False), ("-p tcp --sport 40000", True), ("-p tcp --sport 1:1023", False),
    ("-p tcp --dport http", True), ("-p tcp --dport :100", True), ("-p tcp --dport 81:", False),
    ("-p tcp -m tcp --sport 39999:40001 --dport 80", True), ("-p udp --dport 80", False),
])
def test_tcp_ports(rule, expected):
    assert hit(rule, P.clone()) is expected


@pytest.mark.parametrize("rule, flags, expected", [
    ("-p tcp --syn", "S", True), ("-p tcp --syn", "SA", False), ("-p tcp ! --syn", "A", True),
    ("-p tcp --tcp-flags SYN,ACK SYN,ACK", "SA", True), ("-p tcp --tcp-flags ALL NONE", "", True),
    ("-p tcp --tcp-flags RST RST", "A", False), ("-p tcp --tcp-flags FIN,SYN,RST,ACK SYN", "SP", True),
])
def test_tcp_flags(rule, flags, expected):
    assert hit(rule, tcp("10.0.0.5", 40000, "192.168.1.10", 80, flags)) is expected


def test_udp_ports():
    q = udp("10.0.0.5", 5353, "10.96.0.10", 53)
    assert hit("-p udp --dport 53", q.clone())
    assert hit("-p udp -m udp --sport 5353 ! --dport 54", q.clone())
    assert not hit("-p udp --sport 53", q.clone())


@pytest.mark.parametrize("rule, packet, expected", [
    ("-p icmp --icmp-type echo-request", icmp("1.1.1.1", "2.2.2.2", 8), True),
    ("-p icmp --icmp-type 8", icmp("1.1.1.1", "2.2.2.2", 0), False),
    ("-p icmp --icmp-type any", icmp("1.1.1.1", "2.2.2.2", 0), True),
    ("-p icmp --icmp-type destination-unreachable", icmp("1.1.1.1", "2.2.2.2", 3, 13), True),
    ("-p icmp --icmp-type port-unreachable", icmp("1.1.1.1", "2.2.2.2", 3, 1), False),
    ("-p icmp --icmp-type 3/3", icmp("1.1.1.1", "2.2.2.2", 3, 3), True),
    ("-p icmp ! --icmp-type 8", icmp("1.1.1.1", "2.2.2.2", 8), False),
])
def test_icmp_type(rule, packet, expected):
    assert hit(rule, packet) is expected


@pytest.mark.parametrize("rule, expected", [
    ("-p tcp -m multiport --dports 22,80,443", True), ("-p tcp -m multiport --dports 22,443", False),
    ("-p tcp -m multiport --dports 1:100", True), ("-p tcp -m multiport ! --dports 80", False),
    ("-p tcp -m multiport --sports 40000", True), ("-p tcp -m multiport --ports 40000", True),
    ("-p tcp -m multiport --ports 1,2", False),
])
def test_multiport(rule, expected):
    assert hit(rule, P.clone()) is expected


def test_comment_always_matches():
    assert hit('-m comment --comment "anything at all"', P.clone())


@pytest.mark.parametrize("rule, mark, expected", [
    ("-m mark --mark 0x4000/0x4000", 0x4001, True), ("-m mark --mark 0x4000/0x4000", 0x1, False),
    ("-m mark ! --mark 0x4000/0x4000", 0x1, True), ("-m mark --mark 0x1", 0x1, True),
    ("-m mark --mark 0x1", 0x3, False),
])
def test_mark(rule, mark, expected):
    p = P.clone()
    p.mark = mark
    assert hit(rule, p) is expected


LOCAL = frozenset({A("192.168.1.10"), A("127.0.0.1")})


@pytest.mark.parametrize("rule, packet, expected", [
    ("-m addrtype --dst-type LOCAL", P, True),
    ("-m addrtype --dst-type UNICAST", P, False),
    ("-m addrtype ! --dst-type LOCAL", P, False),
    ("-m addrtype --src-type LOCAL", P, False),
    ("-m addrtype --src-type UNICAST", P, True),
    ("-m addrtype --dst-type BROADCAST", udp("10.0.0.5", 68, "255.255.255.255", 67), True),
    ("-m addrtype --dst-type MULTICAST", udp("10.0.0.5", 5353, "224.0.0.251", 5353), True),
    ("-m addrtype --src-type UNSPEC", udp("0.0.0.0", 68, "255.255.255.255", 67), True),
])
def test_addrtype(rule, packet, expected):
    assert hit(rule, packet.clone(), local=LOCAL) is expected


def test_addrtype_limit_iface_in_uses_that_interfaces_addresses():
    ifaces = {"eth0": [A("192.168.1.10")], "eth1": [A("10.1.1.1")]}
    rule = "-m addrtype --dst-type LOCAL --limit-iface-in"
    assert hit(rule, P.clone(), in_iface="eth0", local=LOCAL, ifaces=ifaces)
    assert not hit(rule, P.clone(), in_iface="eth1", local=LOCAL, ifaces=ifaces)


def test_addrtype_route_types_are_unsupported():
    v = verdict_in("-m addrtype --dst-type BLACKHOLE", P.clone(), local=LOCAL)
    assert v is Verdict.UNSUPPORTED


def test_fragment_match_never_matches_whole_datagrams():
    assert not hit("-f", P.clone())
    assert hit("! -f", P.clone())


def test_unknown_module_is_unsupported_with_line_and_module():
    engine = make_engine(filter_only("-A INPUT -p tcp -m hashlimit --hashlimit-upto 5/sec -j ACCEPT\n"))
    result = one(engine, Hook.INPUT, P.clone(), in_iface="eth0")
    assert result.verdict is Verdict.UNSUPPORTED
    assert "line 5" in result.reason and "hashlimit" in result.reason
    # a packet that fails an earlier match never reaches the unsupported one
    result = one(engine, Hook.INPUT, udp("1.1.1.1", 1, "2.2.2.2", 2), in_iface="eth0")
    assert result.verdict is Verdict.ACCEPT


def test_unknown_option_of_known_module_is_unsupported():
    engine = make_engine(filter_only("-A INPUT -p tcp -m tcp --tcp-option 2 -j ACCEPT\n"))
    result = one(engine, Hook.INPUT, P.clone(), in_iface="eth0")
    assert result.verdict is Verdict.UNSUPPORTED and "--tcp-option" in result.reason


def test_recent_session_affinity_sticks_and_expires():
    """kube-proxy's ClientIP affinity (-m recent) as recorded in data/session_affinity.saved."""
    from nf_helpers import Clock, data

    clock = Clock()
    engine = make_engine(data("session_affinity.saved"), clock=clock, seed=1)
    def dst_for(client: str, sport: int):
        p = tcp(client, sport, "10.96.0.30", 80)
        one(engine, Hook.PREROUTING, p, in_iface="eth0")
        return p.dst

    first = dst_for("192.0.2.7", 30000)
    assert all(dst_for("192.0.2.7", 30001 + i) == first for i in range(30))
    others = {dst_for(f"192.0.2.{h}", 30000) for h in range(20, 60)}
    assert others == {A("10.244.1.20"), A("10.244.2.21")}  # new clients still spread
    seen = set()
    for i in range(20):
        clock.advance(10801)  # past --seconds 10800: affinity forgotten, a fresh draw each time
        seen.add(dst_for("192.0.2.7", 31000 + i))
    assert seen == {A("10.244.1.20"), A("10.244.2.21")}


@pytest.mark.parametrize("rules, expected", [
    (["-m recent --set --name L", "-m recent --rcheck --name L"], [True, True]),
    (["-m recent --rcheck --name L"], [False]),
    (["-m recent --set --name L", "-m recent --remove --name L", "-m recent --rcheck --name L"], [True, True, False]),
    (["-m recent --set --name L", "-m recent --rcheck --name L --rdest"], [True, False]),
    (["-m recent --set --name L", "-m recent ! --rcheck --name L"], [True, False]),
])
def test_recent_actions(rules, expected):
    """Each rule in turn is INPUT's only rule; the lists persist in the engine across loads."""
    engine = make_engine(filter_only("", policy="DROP"))
    got = []
    for rule in rules:
        engine.load(filter_only(f"-A INPUT {rule} -j ACCEPT\n", policy="DROP"))
        got.append(one(engine, Hook.INPUT, P.clone(), in_iface="eth0").verdict is Verdict.ACCEPT)
    assert got == expected


def test_recent_hitcount_and_seconds():
    from nf_helpers import Clock

    clock = Clock()
    engine = make_engine(filter_only(
        "-A INPUT -m recent --update --seconds 60 --hitcount 3 --name SSH -j DROP\n"
        "-A INPUT -m recent --set --name SSH -j ACCEPT\n"), clock=clock)
    verdicts = []
    for _ in range(4):
        verdicts.append(one(engine, Hook.INPUT, P.clone(), in_iface="eth0").verdict)
        clock.advance(1)
    assert verdicts == [Verdict.ACCEPT, Verdict.ACCEPT, Verdict.ACCEPT, Verdict.DROP]
    clock.advance(120)
    assert one(engine, Hook.INPUT, P.clone(), in_iface="eth0").verdict is Verdict.ACCEPT


def test_limit_is_a_token_bucket_on_the_simulated_clock():
    from nf_helpers import Clock

    clock = Clock()
    engine = make_engine(filter_only("-A INPUT -m limit --limit 2/sec --limit-burst 3 -j ACCEPT\n", policy="DROP"),
                         clock=clock)

    def ok():
        return one(engine, Hook.INPUT, P.clone(), in_iface="eth0").verdict is Verdict.ACCEPT

    assert [ok() for _ in range(4)] == [True, True, True, False]  # the burst, then empty
    clock.advance(0.5)  # one token back every 1/2 s
    assert [ok(), ok()] == [True, False]
    clock.advance(10)  # refills only up to the burst
    assert [ok() for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize("rule, expected", [
    ("-m iprange --src-range 10.0.0.1-10.0.0.9", True), ("-m iprange --src-range 10.0.0.6-10.0.0.9", False),
    ("-m iprange ! --dst-range 192.168.1.5-192.168.1.15", False), ("-m iprange --dst-range 192.168.1.10", True),
])
def test_iprange(rule, expected):
    assert hit(rule, P.clone()) is expected


def test_mac_source():
    p = P.clone()
    p.src_mac = "02:42:AC:11:00:02"
    assert hit("-m mac --mac-source 02:42:ac:11:00:02", p.clone())
    assert not hit("-m mac ! --mac-source 02:42:AC:11:00:02", p.clone())
