"""One test per target: verdicts, jumps and goto, REJECT replies, MARK/CONNMARK, LOG, NOTRACK, unsupported."""

from __future__ import annotations

import pytest

from netsim.netfilter import Hook, Verdict
from netsim.packet.record import Proto, TcpFlag

from nf_helpers import A, deliver, filter_only, icmp, make_engine, one, tcp, udp

LOCAL = frozenset({A("192.168.1.10")})
IFACES = {"eth0": [A("192.168.1.10")], "eth1": [A("10.1.1.1")]}


def run_input(rules: str, packet, policy="ACCEPT", chains="", in_iface="eth0", local=LOCAL):
    engine = make_engine(filter_only(rules, policy=policy, extra_chains=chains), ifaces=IFACES)
    return one(engine, Hook.INPUT, packet, in_iface=in_iface, local=local)


def test_accept_and_drop_and_policy():
    p = tcp("10.0.0.5", 40000, "192.168.1.10", 22)
    assert run_input("-A INPUT -j ACCEPT\n", p.clone(), policy="DROP").verdict is Verdict.ACCEPT
    assert run_input("-A INPUT -j DROP\n", p.clone()).verdict is Verdict.DROP
    result = run_input("", p.clone(), policy="DROP")
    assert result.verdict is Verdict.DROP and "policy DROP" in result.reason


def test_jump_return_and_fall_off_user_chain():
    chains = ":A - [0:0]\n:B - [0:0]\n"
    rules = "-A INPUT -j A\n-A INPUT -j ACCEPT\n-A A -j B\n-A A -j DROP\n-A B -j RETURN\n"
    # B returns to A, A drops
    assert run_input(rules, tcp("1.1.1.1", 1, "2.2.2.2", 2), policy="DROP", chains=chains).verdict is Verdict.DROP
    rules = "-A INPUT -j A\n-A INPUT -j ACCEPT\n-A A -p udp -j DROP\n"
    # tcp falls off A's end and continues in INPUT
    assert run_input(rules, tcp("1.1.1.1", 1, "2.2.2.2", 2), policy="DROP", chains=chains).verdict is Verdict.ACCEPT


def test_return_in_builtin_chain_applies_policy():
    result = run_input("-A INPUT -j RETURN\n-A INPUT -j ACCEPT\n", tcp("1.1.1.1", 1, "2.2.2.2", 2), policy="DROP")
    assert result.verdict is Verdict.DROP


def test_goto_does_not_come_back():
    chains = ":G - [0:0]\n:C - [0:0]\n"
    # INPUT -j C; C -g G; G falls off its end -> back to INPUT (C's caller), not to C
    rules = "-A INPUT -j C\n-A INPUT -j ACCEPT\n-A C -g G\n-A C -j DROP\n"
    assert run_input(rules, tcp("1.1.1.1", 1, "2.2.2.2", 2), policy="DROP", chains=chains).verdict is Verdict.ACCEPT
    # goto from the built-in chain: falling off G applies INPUT's policy
    rules = "-A INPUT -g G\n-A INPUT -j ACCEPT\n"
    assert run_input(rules, tcp("1.1.1.1", 1, "2.2.2.2", 2), policy="DROP", chains=chains).verdict is Verdict.DROP


def test_reject_default_is_icmp_port_unreachable_from_the_local_address():
    p = udp("10.0.0.5", 5353, "192.168.1.10", 9999, payload=b"hello")
    result = run_input("-A INPUT -p udp -j REJECT\n", p)
    assert result.verdict is Verdict.REJECT
    reply = result.reply
    assert reply.proto == Proto.ICMP and (reply.icmp_type, reply.icmp_code) == (3, 3)
    assert reply.src == A("192.168.1.10") and reply.dst == A("10.0.0.5")
    assert reply.inner.dport == 9999 and reply.inner.payload == b"hello"


@pytest.mark.parametrize("how, code", [
    ("icmp-net-unreachable", 0), ("icmp-host-unreachable", 1), ("icmp-proto-unreachable", 2),
    ("icmp-net-prohibited", 9), ("icmp-host-prohibited", 10), ("icmp-admin-prohibited", 13),
])
def test_reject_with_icmp_codes(how, code):
    result = run_input(f"-A INPUT -j REJECT --reject-with {how}\n", tcp("10.0.0.5", 1, "192.168.1.10", 2))
    assert (result.reply.icmp_type, result.reply.icmp_code) == (3, code)


def test_reject_forwarded_packet_answers_from_the_in_interface_address():
    engine = make_engine(filter_only("-A FORWARD -j REJECT\n"), ifaces=IFACES)
    result = one(engine, Hook.FORWARD, udp("10.1.1.7", 1, "8.8.8.8", 53), in_iface="eth1", out_iface="eth0",
                 local=LOCAL)
    assert result.reply.src == A("10.1.1.1")


def test_reject_tcp_reset_for_syn_acks_the_syn():
    p = tcp("10.0.0.5", 40000, "192.168.1.10", 23, "S", seq=1000)
    result = run_input("-A INPUT -p tcp -j REJECT --reject-with tcp-reset\n", p)
    rst = result.reply
    assert result.verdict is Verdict.REJECT
    assert (rst.src, rst.sport, rst.dst, rst.dport) == (A("192.168.1.10"), 23, A("10.0.0.5"), 40000)
    assert rst.tcp_flags == TcpFlag.RST | TcpFlag.ACK and rst.ack == 1001 and rst.seq == 0


def test_reject_tcp_reset_for_ack_uses_its_ack_as_seq():
    p = tcp("10.0.0.5", 40000, "192.168.1.10", 23, "A", seq=5, ack=777)
    rst = run_input("-A INPUT -p tcp -j REJECT --reject-with tcp-reset\n", p).reply
    assert rst.tcp_flags == TcpFlag.RST and rst.seq == 777


def test_reject_never_answers_a_rst_or_an_icmp_error():
    assert run_input("-A INPUT -j REJECT --reject-with tcp-reset\n",
                     tcp("10.0.0.5", 1, "192.168.1.10", 2, "R")).reply is None
    err = icmp("10.0.0.5", "192.168.1.10", 3, 3)
    err.inner = udp("192.168.1.10", 1, "10.0.0.5", 2)
    result = run_input("-A INPUT -j REJECT\n", err)
    assert result.verdict is Verdict.REJECT and result.reply is None


@pytest.mark.parametrize("target, start, end", [
    ("MARK --set-xmark 0x4000/0x4000", 0x1, 0x4001),
    ("MARK --or-mark 0x4000", 0x1, 0x4001),
    ("MARK --xor-mark 0x4000", 0x4001, 0x1),
    ("MARK --and-mark 0xffffbfff", 0x4001, 0x1),
    ("MARK --set-mark 0x10", 0xFF, 0x10),
    ("MARK --set-mark 0x10/0xf0", 0xFF, 0x1F),
])
def test_mark_target(target, start, end):
    p = tcp("1.1.1.1", 1, "2.2.2.2", 2)
    p.mark = start
    result = run_input(f"-A INPUT -j {target}\n-A INPUT -m mark --mark {end:#x} -j DROP\n", p)
    assert p.mark == end and result.verdict is Verdict.DROP  # MARK continues to the next rule


def test_connmark_save_and_restore():
    text = (
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        ":POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -j CONNMARK --restore-mark\n"
        "-A PREROUTING -m mark --mark 0x0 -p tcp --dport 22 -j MARK --set-mark 0x7\n"
        "-A PREROUTING -j CONNMARK --save-mark\nCOMMIT\n"
    )
    engine = make_engine(text)
    first = tcp("10.0.0.5", 40000, "192.168.1.10", 22, "S")
    deliver(engine, first, local=LOCAL)
    assert first.mark == 0x7 and first.ct.mark == 0x7
    reply = tcp("192.168.1.10", 22, "10.0.0.5", 40000, "SA")
    one(engine, Hook.OUTPUT, reply, out_iface="eth0", local=LOCAL)
    one(engine, Hook.POSTROUTING, reply, out_iface="eth0", local=LOCAL)
    later = tcp("10.0.0.5", 40000, "192.168.1.10", 22, "A")
    deliver(engine, later, local=LOCAL)
    assert later.mark == 0x7  # restored from the connection


def test_log_and_trace_only_record():
    result = run_input('-A INPUT -j LOG --log-prefix "fw: "\n-A INPUT -j TRACE\n-A INPUT -j DROP\n',
                       tcp("10.0.0.5", 1, "192.168.1.10", 2))
    assert result.verdict is Verdict.DROP
    text = "\n".join(str(s) for s in result.trace)
    assert "fw: IN=eth0 OUT= SRC=10.0.0.5 DST=192.168.1.10" in text and "TRACE" in text


def test_unsupported_target_names_line_and_target():
    result = run_input("-A INPUT -j ACCEPT -m comment --comment x\n", tcp("1.1.1.1", 1, "2.2.2.2", 2))
    assert result.verdict is Verdict.ACCEPT
    result = run_input("-A INPUT -p tcp -j NFQUEUE --queue-num 3\n", tcp("1.1.1.1", 1, "2.2.2.2", 2))
    assert result.verdict is Verdict.UNSUPPORTED
    assert "line 5" in result.reason and "NFQUEUE" in result.reason
    assert result.trace[-1].verdict == "UNSUPPORTED"


def test_notrack_makes_packets_untracked():
    text = (
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp --dport 53 -j CT --notrack\n"
        "-A PREROUTING -p udp --dport 54 -j NOTRACK\nCOMMIT\n"
        + filter_only("-A INPUT -m conntrack --ctstate UNTRACKED -j DROP\n")
    )
    engine = make_engine(text)
    for port in (53, 54):
        p = udp("10.0.0.5", 1000, "192.168.1.10", port)
        assert deliver(engine, p, local=LOCAL).verdict is Verdict.DROP
    assert len(engine.conntrack) == 0
    p = udp("10.0.0.5", 1000, "192.168.1.10", 55)
    assert deliver(engine, p, local=LOCAL).verdict is Verdict.ACCEPT
    assert len(engine.conntrack) == 1


def test_nflog_records_and_continues():
    result = run_input('-A INPUT -j NFLOG --nflog-prefix "nf: " --nflog-group 5\n-A INPUT -j DROP\n',
                       tcp("10.0.0.5", 1, "192.168.1.10", 2))
    assert result.verdict is Verdict.DROP and "nf: IN=eth0" in str(result.trace[0])


def test_checksum_fill_is_a_noted_no_op():
    text = ("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            ":POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j CHECKSUM --checksum-fill\nCOMMIT\n")
    r = one(make_engine(text), Hook.POSTROUTING, udp("10.0.0.5", 68, "10.0.0.1", 67), out_iface="eth0")
    assert r.verdict is Verdict.ACCEPT and "always computed" in str(r.trace[0])


MSS_RULES = ("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
             ":POSTROUTING ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS {}\nCOMMIT\n")


@pytest.mark.parametrize("target, options, payload, expected", [
    ("--set-mss 1400", b"\x02\x04\x05\xb4\x01\x01\x04\x02", b"", b"\x02\x04\x05\x78\x01\x01\x04\x02"),
    ("--set-mss 1460", b"\x02\x04\x05\x78", b"", b"\x02\x04\x05\x78"),  # never raised
    ("--set-mss 1400", b"", b"", b"\x02\x04\x02\x18"),  # added, at most 536
    ("--set-mss 1400", b"", b"data", b""),  # not added when the SYN carries data
    ("--clamp-mss-to-pmtu", b"\x02\x04\x05\xb4", b"", b"\x02\x04\x05\x64"),  # 1420 - 40 = 1380
])
def test_tcpmss(target, options, payload, expected):
    engine = make_engine(MSS_RULES.format(target), interface_mtu={"eth0": 1420, "eth1": 1500})
    syn = tcp("10.0.0.5", 1, "8.8.8.8", 443, "S", tcp_options=options, payload=payload)
    r = one(engine, Hook.FORWARD, syn, in_iface="eth1", out_iface="eth0")
    assert r.verdict is Verdict.ACCEPT and syn.tcp_options == expected


def test_tcpmss_clamp_without_mtus_is_unsupported():
    engine = make_engine(MSS_RULES.format("--clamp-mss-to-pmtu"))
    r = one(engine, Hook.FORWARD, tcp("10.0.0.5", 1, "8.8.8.8", 443, "S"), in_iface="eth1", out_iface="eth0")
    assert r.verdict is Verdict.UNSUPPORTED and "interface_mtu" in r.reason
