"""Conntrack: TCP states, ctstate values, timeouts on the simulated clock, clash resolution, `conntrack -L`."""

from __future__ import annotations

from netsim.netfilter import Hook, Verdict
from netsim.netfilter.conntrack import TcpState

from nf_helpers import A, Clock, deliver, filter_only, forward, icmp, make_engine, one, send, tcp, udp

LOCAL = frozenset({A("192.168.1.10")})
STATE_LOG = filter_only(
    "-A INPUT -m conntrack --ctstate NEW -j LOG --log-prefix NEW\n"
    "-A INPUT -m conntrack --ctstate ESTABLISHED -j LOG --log-prefix ESTABLISHED\n"
    "-A INPUT -m conntrack --ctstate RELATED -j LOG --log-prefix RELATED\n"
    "-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix INVALID\n"
    "-A OUTPUT -m conntrack --ctstate NEW -j LOG --log-prefix NEW\n"
    "-A OUTPUT -m conntrack --ctstate ESTABLISHED -j LOG --log-prefix ESTABLISHED\n"
)


def states(result):
    return [s.note.split("IN=")[0] for s in result.trace if s.kind == "rule" and s.note]


def local_reply(engine, packet):
    one(engine, Hook.OUTPUT, packet, out_iface="eth0", local=LOCAL)
    return one(engine, Hook.POSTROUTING, packet, out_iface="eth0", local=LOCAL)


def handshake(engine, clock=None):
    syn = tcp("10.0.0.5", 40000, "192.168.1.10", 22, "S")
    r1 = deliver(engine, syn, local=LOCAL)
    entry = syn.ct
    assert entry.tcp_state is TcpState.SYN_SENT
    synack = tcp("192.168.1.10", 22, "10.0.0.5", 40000, "SA")
    local_reply(engine, synack)
    assert entry.tcp_state is TcpState.SYN_RECV and entry.seen_reply
    ack = tcp("10.0.0.5", 40000, "192.168.1.10", 22, "A")
    r3 = deliver(engine, ack, local=LOCAL)
    assert entry.tcp_state is TcpState.ESTABLISHED and entry.assured
    return entry, r1, r3


def test_tcp_handshake_states_and_ctstate():
    engine = make_engine(STATE_LOG)
    entry, first, third = handshake(engine)
    assert states(first) == ["NEW"]
    assert states(third) == ["ESTABLISHED"]


def test_tcp_teardown_states():
    engine = make_engine(STATE_LOG)
    entry, _, _ = handshake(engine)
    deliver(engine, tcp("10.0.0.5", 40000, "192.168.1.10", 22, "FA"), local=LOCAL)
    assert entry.tcp_state is TcpState.FIN_WAIT
    local_reply(engine, tcp("192.168.1.10", 22, "10.0.0.5", 40000, "A"))
    assert entry.tcp_state is TcpState.CLOSE_WAIT
    local_reply(engine, tcp("192.168.1.10", 22, "10.0.0.5", 40000, "FA"))
    assert entry.tcp_state is TcpState.LAST_ACK
    deliver(engine, tcp("10.0.0.5", 40000, "192.168.1.10", 22, "A"), local=LOCAL)
    assert entry.tcp_state is TcpState.TIME_WAIT


def test_rst_closes_and_times_out_after_10s():
    clock = Clock()
    engine = make_engine(STATE_LOG, clock=clock)
    entry, _, _ = handshake(engine)
    deliver(engine, tcp("10.0.0.5", 40000, "192.168.1.10", 22, "R"), local=LOCAL)
    assert entry.tcp_state is TcpState.CLOSE
    clock.advance(9.5)
    assert len(engine.conntrack) == 1
    clock.advance(1)
    assert len(engine.conntrack) == 0


def test_udp_timeouts_unreplied_and_stream():
    clock = Clock()
    engine = make_engine(STATE_LOG, clock=clock)
    q = udp("10.0.0.5", 5000, "192.168.1.10", 53)
    deliver(engine, q, local=LOCAL)
    assert "udp      17 30 " in engine.conntrack_listing()
    clock.advance(29)
    assert len(engine.conntrack) == 1
    clock.advance(2)
    assert len(engine.conntrack) == 0
    # a new query after expiry is NEW again
    q2 = udp("10.0.0.5", 5000, "192.168.1.10", 53)
    assert states(deliver(engine, q2, local=LOCAL)) == ["NEW"]
    local_reply(engine, udp("192.168.1.10", 53, "10.0.0.5", 5000))
    deliver(engine, udp("10.0.0.5", 5000, "192.168.1.10", 53), local=LOCAL)
    # replied but younger than 2 s: not yet a stream (real kernel, see data/conntrack_L.txt)
    assert "[ASSURED]" not in engine.conntrack_listing() and "udp      17 30 " in engine.conntrack_listing()
    clock.advance(2.5)
    deliver(engine, udp("10.0.0.5", 5000, "192.168.1.10", 53), local=LOCAL)
    assert "[ASSURED]" in engine.conntrack_listing() and "udp      17 120 " in engine.conntrack_listing()


def test_icmp_echo_and_related_error():
    engine = make_engine(STATE_LOG)
    ping = icmp("10.0.0.5", "192.168.1.10", 8, ident=9)
    assert states(deliver(engine, ping, local=LOCAL)) == ["NEW"]
    # a stray echo reply cannot start a connection: INVALID
    stray = icmp("10.0.0.6", "192.168.1.10", 0, ident=3)
    assert states(deliver(engine, stray, local=LOCAL)) == ["INVALID"]
    # our UDP goes out; the ICMP error about it comes back RELATED
    out = udp("192.168.1.10", 6000, "10.0.0.7", 7)
    send(engine, out, local=LOCAL)
    err = icmp("10.0.0.7", "192.168.1.10", 3, 3)
    err.inner = out.clone()
    assert states(deliver(engine, err, local=LOCAL)) == ["RELATED"]
    # an error about nothing we know is INVALID
    other = icmp("10.0.0.7", "192.168.1.10", 3, 3)
    other.inner = udp("192.168.1.10", 6001, "10.0.0.8", 7)
    assert states(deliver(engine, other, local=LOCAL)) == ["INVALID"]


def test_conntrack_listing_format():
    clock = Clock()
    engine = make_engine(None, clock=clock)
    handshake(engine)
    deliver(engine, icmp("10.0.0.5", "192.168.1.10", 8, ident=9), local=LOCAL)
    clock.advance(1)
    assert engine.conntrack_listing() == (
        "tcp      6 431999 ESTABLISHED src=10.0.0.5 dst=192.168.1.10 sport=40000 dport=22 "
        "src=192.168.1.10 dst=10.0.0.5 sport=22 dport=40000 [ASSURED] mark=0 use=1\n"
        "icmp     1 29 src=10.0.0.5 dst=192.168.1.10 type=8 code=0 id=9 [UNREPLIED] "
        "src=192.168.1.10 dst=10.0.0.5 type=0 code=0 id=9 mark=0 use=1\n"
    )


MASQ = ("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE\nCOMMIT\n")


def test_masquerade_source_port_clash_is_resolved():
    engine = make_engine(MASQ, ifaces={"eth0": [A("198.51.100.1")]})
    a = tcp("10.0.0.2", 33000, "8.8.8.8", 443)
    b = tcp("10.0.0.3", 33000, "8.8.8.8", 443)
    assert forward(engine, a, in_iface="eth1").verdict is Verdict.ACCEPT
    assert forward(engine, b, in_iface="eth1").verdict is Verdict.ACCEPT
    assert a.src == b.src == A("198.51.100.1")
    assert a.sport == 33000 and b.sport != 33000 and 1024 <= b.sport <= 65535
    # each reply finds its own client
    ra = tcp("8.8.8.8", 443, "198.51.100.1", a.sport, "SA")
    rb = tcp("8.8.8.8", 443, "198.51.100.1", b.sport, "SA")
    one(engine, Hook.PREROUTING, ra, in_iface="eth0")
    one(engine, Hook.PREROUTING, rb, in_iface="eth0")
    assert (ra.dst, ra.dport) == (A("10.0.0.2"), 33000)
    assert (rb.dst, rb.dport) == (A("10.0.0.3"), 33000)


def test_null_binding_resolves_a_clash_with_a_masqueraded_flow():
    engine = make_engine(MASQ, ifaces={"eth0": [A("198.51.100.1")]})
    a = tcp("10.0.0.2", 33000, "8.8.8.8", 443)
    forward(engine, a, in_iface="eth1")
    own = tcp("198.51.100.1", 33000, "8.8.8.8", 443)  # the host itself, same tuple after NAT
    result = send(engine, own, local=frozenset({A("198.51.100.1")}))
    assert result.verdict is Verdict.ACCEPT and own.sport != 33000
    assert any("clash" in s.note for s in result.trace)


def test_privileged_source_ports_stay_privileged_on_clash():
    engine = make_engine(MASQ, ifaces={"eth0": [A("198.51.100.1")]})
    a = udp("10.0.0.2", 123, "8.8.8.8", 123)
    b = udp("10.0.0.3", 123, "8.8.8.8", 123)
    forward(engine, a, in_iface="eth1")
    forward(engine, b, in_iface="eth1")
    assert a.sport == 123 and 1 <= b.sport <= 511 and b.sport != 123


def test_dnat_virtual_ctstates():
    text = ("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            "-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2\nCOMMIT\n"
            + filter_only("-A FORWARD -m conntrack --ctstate DNAT -j DROP\n"))
    engine = make_engine(text)
    assert forward(engine, tcp("1.1.1.1", 1, "2.2.2.2", 80)).verdict is Verdict.DROP
    assert forward(engine, tcp("1.1.1.1", 1, "2.2.2.2", 81)).verdict is Verdict.ACCEPT


def test_loopback_packets_keep_their_entry():
    engine = make_engine(STATE_LOG)
    local = frozenset({A("127.0.0.1")})
    p = tcp("127.0.0.1", 50000, "127.0.0.1", 8080)
    send(engine, p, out_iface="lo", local=local)
    entry = p.ct
    deliver(engine, p, in_iface="lo", local=local)
    assert p.ct is entry and len(engine.conntrack) == 1


def test_entries_from_another_host_are_ignored():
    a = make_engine(None)
    b = make_engine(None)
    p = tcp("10.0.0.5", 40000, "10.0.0.6", 22)
    send(a, p)
    deliver(b, p)
    assert p.ct.table is b.conntrack


def test_listing_matches_real_conntrack():
    """The flows behind data/conntrack_L.txt, replayed on loopback, give the same lines."""
    from nf_helpers import data

    clock = Clock(0.0)
    engine = make_engine(filter_only("-A INPUT -m conntrack --ctstate NEW -j ACCEPT\n"), clock=clock)
    lo = frozenset({A("127.0.0.1")})

    def over_lo(packet):
        send(engine, packet, out_iface="lo", local=lo)
        deliver(engine, packet, in_iface="lo", local=lo)

    over_lo(tcp("127.0.0.1", 40000, "127.0.0.1", 8080, "S"))
    over_lo(tcp("127.0.0.1", 8080, "127.0.0.1", 40000, "SA"))
    over_lo(tcp("127.0.0.1", 40000, "127.0.0.1", 8080, "A"))
    over_lo(udp("127.0.0.1", 5000, "127.0.0.1", 53))
    for sport in (5001, 5002):
        over_lo(udp("127.0.0.1", sport, "127.0.0.1", 5353))
        over_lo(udp("127.0.0.1", 5353, "127.0.0.1", sport))
    clock.advance(2.3)
    over_lo(udp("127.0.0.1", 5001, "127.0.0.1", 5353))
    over_lo(icmp("127.0.0.1", "127.0.0.1", 8, ident=51058))
    over_lo(icmp("127.0.0.1", "127.0.0.1", 0, ident=51058))
    clock.advance(0.2)
    real = data("conntrack_L.txt").splitlines()
    ours = engine.conntrack_listing().splitlines()
    assert sorted(ours) == sorted(real)  # the kernel lists in hash order, netsim oldest first


def test_untracked_marker_from_another_host_does_not_leak():
    raw = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j CT --notrack\nCOMMIT\n"
    a = make_engine(raw)
    b = make_engine(None)
    p = udp("10.0.0.5", 1000, "10.0.0.6", 53)
    send(a, p)
    assert len(a.conntrack) == 0
    deliver(b, p)
    assert len(b.conntrack) == 1
