"""IPv6: ip6tables text applies to IPv6 packets only; ICMPv6 rejects; NAT with bracketed addresses."""

from __future__ import annotations

from netsim.netfilter import Hook, Verdict, parse_ruleset
from netsim.packet import Packet
from netsim.packet.record import Proto

from nf_helpers import A, data, deliver, filter_only, forward, make_engine, one, tcp, udp

IFACES = {"eth0": [A("2001:db8::1"), A("198.51.100.1")], "eth1": [A("fd00::1")]}
LOCAL = frozenset({A("2001:db8::1"), A("fd00::1"), A("198.51.100.1")})


def v6_engine():
    return make_engine(filter_only("-A INPUT -j DROP\n"), ruleset6=data("ipv6_host.saved"), ifaces=IFACES)


def test_family_is_detected_from_addresses():
    assert parse_ruleset(data("ipv6_host.restore")).family == 6
    assert parse_ruleset(data("docker_host.saved")).family == 4


def test_ipv4_rules_do_not_touch_ipv6_packets_and_vice_versa():
    engine = v6_engine()
    assert deliver(engine, tcp("192.0.2.1", 1, "198.51.100.1", 22), local=LOCAL).verdict is Verdict.DROP
    assert deliver(engine, tcp("fd00::1", 40000, "2001:db8::1", 22), local=LOCAL).verdict is Verdict.ACCEPT


def test_icmpv6_echo_and_reject_defaults_to_icmp6_port_unreachable():
    engine = v6_engine()
    ping = Packet(src=A("2001:db8::99"), dst=A("2001:db8::1"), proto=Proto.ICMPV6, icmp_type=128, icmp_id=5)
    assert deliver(engine, ping, local=LOCAL).verdict is Verdict.ACCEPT
    q = udp("2001:db8::99", 5000, "fd00::1", 53)
    result = deliver(engine, q, local=LOCAL)
    assert result.verdict is Verdict.REJECT
    assert result.reply.proto == Proto.ICMPV6 and (result.reply.icmp_type, result.reply.icmp_code) == (1, 4)
    t = tcp("2001:db8::99", 5000, "2001:db8::1", 80)
    assert deliver(engine, t, local=LOCAL).reply.tcp_flags & 0x04


def test_ipv6_dnat_and_masquerade():
    engine = v6_engine()
    p = tcp("2001:db8::99", 40000, "2001:db8::1", 80)
    one(engine, Hook.PREROUTING, p, in_iface="eth0", local=LOCAL)
    assert (p.dst, p.dport) == (A("fd00::2"), 8080)
    out = tcp("fd00::5", 41000, "2001:db8::77", 443)
    assert forward(engine, out, in_iface="eth1", out_iface="eth0", local=LOCAL).verdict is Verdict.DROP  # FORWARD DROP
    assert out.src == A("fd00::5")  # dropped in FORWARD before POSTROUTING


def test_masquerade_picks_the_address_of_the_packets_family():
    text = ("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            "-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n")
    engine = make_engine(text, ruleset6=text, ifaces=IFACES)
    six = tcp("fd00::5", 41000, "2001:db8::77", 443)
    forward(engine, six, in_iface="eth1", out_iface="eth0", local=LOCAL)
    assert six.src == A("2001:db8::1")
    four = tcp("10.0.0.5", 41000, "8.8.8.8", 443)
    forward(engine, four, in_iface="eth1", out_iface="eth0", local=LOCAL)
    assert four.src == A("198.51.100.1")
