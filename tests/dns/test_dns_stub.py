"""glibc's stub resolver: resolv.conf options, the search-list order, A+AAAA on one socket, timeouts on the clock."""

from __future__ import annotations

from ipaddress import ip_address

import numpy as np
import pytest

from netsim.dns.message import Rcode, Record, RRType
from netsim.dns.stub import Exchange, Outcome, ResolverConfig, StubResolver, parse_resolv_conf
from netsim.dns.wire import decode, encode
from netsim.sim.clock import Clock

SEARCH = ("default.svc.cluster.local", "svc.cluster.local", "cluster.local")


class FakeServers:
    """Answers from a table of names; servers in `silent` never answer, in `refusing` send ICMP errors."""

    def __init__(self, names: dict[str, str], silent=(), refusing=(), servfail=()) -> None:
        self.names = names
        self.silent, self.refusing, self.servfail = set(silent), set(refusing), set(servfail)
        self.sent: list[tuple[str, int, str, str]] = []

    def __call__(self, server: str, payload: bytes, sport: int) -> Exchange:
        q = decode(payload)
        question = q.question[0]
        self.sent.append((server, sport, question.type.name, question.name))
        if server in self.silent:
            return Exchange()
        if server in self.refusing:
            return Exchange(icmp_error=True)
        if server in self.servfail:
            return Exchange((encode(q.reply(Rcode.SERVFAIL)),))
        address = self.names.get(question.name)
        if address is None:
            return Exchange((encode(q.reply(Rcode.NXDOMAIN, aa=True)),))
        want = RRType.A if ip_address(address).version == 4 else RRType.AAAA
        answer = (Record(question.name, want, 30, ip_address(address)),) if question.type is want else ()
        return Exchange((encode(q.reply(Rcode.NOERROR, aa=True, answer=answer)),))


def resolver(conf: str, servers: FakeServers, clock: Clock | None = None) -> StubResolver:
    ports = iter(range(40000, 50000))
    return StubResolver(parse_resolv_conf(conf), servers, clock or Clock(), np.random.default_rng(0),
                        lambda: next(ports))


POD_CONF = ("search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n"
            "options ndots:5\n")


def tried(servers: FakeServers, qtype: str = "A") -> list[str]:
    return [name for _, _, t, name in servers.sent if t == qtype]


def test_resolv_conf_as_res_init_reads_it() -> None:
    conf = parse_resolv_conf("nameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\n"
                             "domain a.example\nsearch b.example c.example\n"
                             "options ndots:20 timeout:99 attempts:9 rotate single-request edns0\n# x\n")
    assert conf == ResolverConfig(("1.1.1.1", "2.2.2.2", "3.3.3.3"), ("b.example", "c.example"), ndots=15,
                                  timeout=30, attempts=5, rotate=True, single_request=True, edns0=True)
    assert parse_resolv_conf("") == ResolverConfig()   # no nameserver: 127.0.0.1; ndots 1, timeout 5, attempts 2


def test_a_short_name_goes_through_the_search_list_first() -> None:
    servers = FakeServers({"example.com.": "93.184.215.14"})
    result = resolver(POD_CONF, servers).search("example.com")
    assert tried(servers) == ["example.com.default.svc.cluster.local.", "example.com.svc.cluster.local.",
                              "example.com.cluster.local.", "example.com."]
    assert result.answered == "example.com." and result.addresses == ("93.184.215.14",)


def test_a_service_name_answers_at_the_first_search_domain() -> None:
    servers = FakeServers({"web.default.svc.cluster.local.": "10.96.0.5"})
    result = resolver(POD_CONF, servers).search("web")
    assert tried(servers) == ["web.default.svc.cluster.local."]
    assert result.addresses == ("10.96.0.5",)


def test_a_trailing_dot_asks_only_the_name_itself() -> None:
    servers = FakeServers({})
    result = resolver(POD_CONF, servers).search("web.default.svc.cluster.local.")
    assert tried(servers) == ["web.default.svc.cluster.local."]
    assert result.answered is None and result.h_errno == "HOST_NOT_FOUND"


def test_a_name_with_at_least_ndots_dots_is_tried_as_is_first() -> None:
    servers = FakeServers({"a.b.c.d.e.f.svc.cluster.local.": "10.0.0.1"})
    result = resolver(POD_CONF, servers).search("a.b.c.d.e.f")      # 5 dots >= ndots:5
    assert tried(servers) == ["a.b.c.d.e.f.", "a.b.c.d.e.f.default.svc.cluster.local.",
                              "a.b.c.d.e.f.svc.cluster.local."]
    assert result.answered == "a.b.c.d.e.f.svc.cluster.local."
    servers = FakeServers({"a.b.c.d.e.f.": "10.0.0.2"})
    assert resolver(POD_CONF, servers).search("a.b.c.d.e.f").answered == "a.b.c.d.e.f."
    assert tried(servers) == ["a.b.c.d.e.f."]


def test_every_failure_keeps_the_as_is_error() -> None:
    servers = FakeServers({})
    result = resolver(POD_CONF, servers).search("a.b.c.d.e.f")
    assert tried(servers) == ["a.b.c.d.e.f."] + [f"a.b.c.d.e.f.{d}." for d in SEARCH]
    assert result.h_errno == "HOST_NOT_FOUND"


def test_no_tld_query_skips_a_bare_single_label() -> None:
    servers = FakeServers({})
    resolver(POD_CONF.replace("ndots:5", "ndots:5 no-tld-query"), servers).search("web")
    assert tried(servers) == [f"web.{d}." for d in SEARCH]


def test_nodata_goes_on_and_is_reported() -> None:
    servers = FakeServers({"v6only.default.svc.cluster.local.": "2001:db8::1"})
    result = resolver(POD_CONF, servers).search("v6only", family="inet")
    assert result.h_errno == "NO_DATA" and tried(servers)[-1] == "v6only."


def test_a_and_aaaa_share_a_socket_and_answer_together() -> None:
    servers = FakeServers({"web.default.svc.cluster.local.": "10.96.0.5"})
    resolver(POD_CONF, servers).search("web")
    assert [(t, p) for _, p, t, _ in servers.sent] == [("A", 40000), ("AAAA", 40000)]
    servers = FakeServers({"web.default.svc.cluster.local.": "10.96.0.5"})
    resolver(POD_CONF.replace("ndots:5", "ndots:5 single-request-reopen"), servers).search("web")
    assert [(t, p) for _, p, t, _ in servers.sent] == [("A", 40000), ("AAAA", 40001)]
    servers = FakeServers({"web.default.svc.cluster.local.": "10.96.0.5"})
    resolver(POD_CONF.replace("ndots:5", "ndots:5 single-request"), servers).search("web")
    assert [(t, p) for _, p, t, _ in servers.sent] == [("A", 40000), ("AAAA", 40000)]


def test_timeouts_and_attempts_on_the_simulated_clock() -> None:
    clock = Clock(0)
    servers = FakeServers({}, silent={"10.96.0.10"})
    stub = resolver("nameserver 10.96.0.10\noptions timeout:2 attempts:3\n", servers, clock)
    result = stub.search("example.com.")
    assert [s.time for s in result.steps] == [0, 0, 2, 2, 4, 4]     # A and AAAA per try, 2 s apart, 3 tries
    assert clock.now() == 6 and result.h_errno == "TRY_AGAIN"
    assert {s.outcome for s in result.steps} == {Outcome.TIMEOUT}


def test_a_silent_first_server_then_the_second_answers() -> None:
    clock = Clock(0)
    servers = FakeServers({"example.com.": "93.184.215.14"}, silent={"10.0.0.1"})
    result = resolver("nameserver 10.0.0.1\nnameserver 10.0.0.2\n", servers, clock).search("example.com.")
    assert [(s.server, s.time) for s in result.steps] == [("10.0.0.1", 0), ("10.0.0.1", 0), ("10.0.0.2", 5),
                                                          ("10.0.0.2", 5)]
    assert result.answered == "example.com."


def test_servfail_and_icmp_errors_move_on_without_waiting() -> None:
    clock = Clock(0)
    servers = FakeServers({"example.com.": "93.184.215.14"}, refusing={"10.0.0.1"}, servfail={"10.0.0.2"})
    result = resolver("nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n", servers,
                      clock).search("example.com.")
    assert [s.server for s in result.steps] == ["10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3", "10.0.0.3"]
    assert clock.now() == 0 and result.answered == "example.com."


def test_rotate_starts_at_a_seeded_server() -> None:
    starts = set()
    for seed in range(8):
        servers = FakeServers({"example.com.": "93.184.215.14"})
        stub = StubResolver(parse_resolv_conf("nameserver 10.0.0.1\nnameserver 10.0.0.2\noptions rotate\n"),
                            servers, Clock(0), np.random.default_rng(seed), lambda: 40000)
        stub.search("example.com.")
        starts.add(servers.sent[0][0])
    assert starts == {"10.0.0.1", "10.0.0.2"}


@pytest.mark.parametrize("conf,expected", [("options ndots:0\n", "web."), ("options ndots:1\n", "web.a.example.")])
def test_ndots_zero_asks_a_bare_name_as_is(conf, expected) -> None:
    servers = FakeServers({})
    resolver("search a.example\n" + conf, servers).search("web")
    assert tried(servers)[0] == expected


def test_every_server_refusing_ends_the_search_at_once() -> None:
    servers = FakeServers({}, refusing={"10.96.0.10"})
    result = resolver(POD_CONF, servers).search("web")
    # one A per attempt (the AAAA is not sent once the socket is refused), no wait, and no other name
    assert tried(servers) == ["web.default.svc.cluster.local."] * 2 and result.h_errno == "TRY_AGAIN"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_label = st.text("abcxyz", min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(_label, min_size=1, max_size=7), st.booleans(), st.integers(0, 6),
       st.lists(st.lists(_label, min_size=1, max_size=3).map(".".join), max_size=4))
def test_the_search_order_follows_glibcs_rules(labels, trailing, ndots, search) -> None:
    name = ".".join(labels) + ("." if trailing else "")
    servers = FakeServers({})
    conf = (f"search {' '.join(search)}\n" if search else "") + f"nameserver 10.0.0.1\noptions ndots:{ndots}\n"
    resolver(conf, servers).search(name)
    asked = tried(servers)
    bare = ".".join(labels) + "."
    if trailing:
        assert asked == [bare]
        return
    searched = [f"{'.'.join(labels)}.{d}." for d in search]
    dots = len(labels) - 1
    expected = ([bare] + searched) if dots >= ndots else (searched + [bare])
    assert asked == expected
