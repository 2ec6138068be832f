"""glibc's stub resolver: resolv.conf as res_init reads it, and res_nsearch/res_send over a transport.

res_init (resolv/res_init.c): up to 3 `nameserver` lines (MAXNS; none means
127.0.0.1), the last `search` or `domain` line wins, `options` ndots:N (at
most 15), timeout:N (at most 30), attempts:N (at most 5), rotate,
single-request, single-request-reopen, edns0, no-tld-query, trust-ad,
use-vc (and a few with no effect here: debug, no-reload, no-check-names,
inet6, no-aaaa is honoured). Defaults: ndots 1, timeout 5, attempts 2.

The search (res_query.c __res_context_search): with a trailing dot only the
name itself; with at least `ndots` dots the name as is first; then — no dot
and a search list, or dots and no trailing dot — each search domain in
order (NXDOMAIN and NODATA go on, SERVFAIL goes on, anything else stops);
then the name as is if not tried yet (with no-tld-query, not for a name
without dots). getaddrinfo asks A and AAAA together: both on one socket,
the AAAA sent without waiting for the A answer (single-request: after it,
on the same socket — the same packets here, since netsim walks each one to
completion; single-request-reopen: from a new socket); a lookup succeeds
when either answer is NOERROR with records.

res_send (res_send.c): `attempts` rounds over the nameservers (rotate starts
at a random one, glibc ≥ 2.26); each try waits `timeout << ns` seconds,
divided by the number of servers for ns > 0, at least 1 (send_dg's
computation, ns being the server's index); a SERVFAIL, NOTIMP or REFUSED
answer moves on to the next server; an ICMP error (ECONNREFUSED) too, and
when every server refused, the search ends there.
Query IDs come from the seeded generator (glibc's random_bits). netsim
walks each packet to completion, so in a capture the A answer comes before
the AAAA query that glibc sends first. A truncated (TC) answer sends the
try's queries again over one TCP connection to the same server (send_vc),
from a new port.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from netsim.dns.message import Message, Rcode, RRType, fqdn, query
from netsim.dns.wire import decode, encode
from netsim.errors import NotImplementedFeature

MAXNS = 3
RES_MAXNDOTS = 15
RES_MAXRETRANS = 30
RES_MAXRETRY = 5
RES_TIMEOUT = 5
RES_DFLRETRY = 2
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ResolverConfig:
    """What glibc's res_init makes of a resolv.conf."""

    nameservers: tuple[str, ...] = (LOOPBACK,)
    search: tuple[str, ...] = ()
    ndots: int = 1
    timeout: int = RES_TIMEOUT
    attempts: int = RES_DFLRETRY
    rotate: bool = False
    single_request: bool = False
    single_request_reopen: bool = False
    edns0: bool = False
    no_tld_query: bool = False
    trust_ad: bool = False
    use_vc: bool = False
    no_aaaa: bool = False


def _bounded(value: str, limit: int, default: int) -> int:
    digits = ""
    for ch in value:
        if not ch.isdigit():
            break
        digits += ch
    return min(int(digits), limit) if digits else default


def parse_resolv_conf(text: str) -> ResolverConfig:
    """res_init's reading of a resolv.conf (module docstring)."""
    servers: list[str] = []
    search: tuple[str, ...] = ()
    opts: dict = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        words = line.split()
        key, args = words[0], words[1:]
        if key == "nameserver" and args and len(servers) < MAXNS:
            servers.append(args[0])
        elif key == "domain" and args:
            search = (args[0],)
        elif key == "search":
            search = tuple(args)
        elif key == "options":
            for op in args:
                name, _, value = op.partition(":")
                if name == "ndots":
                    opts["ndots"] = _bounded(value, RES_MAXNDOTS, 1)
                elif name == "timeout":
                    opts["timeout"] = _bounded(value, RES_MAXRETRANS, RES_TIMEOUT)
                elif name == "attempts":
                    opts["attempts"] = _bounded(value, RES_MAXRETRY, RES_DFLRETRY)
                elif name in ("rotate", "edns0", "trust-ad", "use-vc", "no-aaaa", "no-tld-query",
                              "single-request", "single-request-reopen"):
                    opts[name.replace("-", "_")] = True
    return ResolverConfig(nameservers=tuple(servers) or (LOOPBACK,), search=search, **opts)


class Outcome(enum.Enum):
    """What one try at one server got."""

    ANSWER = "answer"        # a matching reply arrived
    TIMEOUT = "timeout"      # nothing came back before the timeout
    REFUSED = "refused"      # an ICMP error came back (ECONNREFUSED)


@dataclass(frozen=True, slots=True)
class Exchange:
    """What the transport reports for one query sent: the replies that came back (bytes), or an ICMP error."""

    replies: tuple[bytes, ...] = ()
    icmp_error: bool = False
    trace: object | None = field(default=None, compare=False)


# transport(server, payload, sport) -> Exchange; `sport` None asks for a new socket (a fresh source port).
Transport = Callable[[str, bytes, int], Exchange]
# tcp_transport(server, payloads, sport) -> (one reply or None per payload, trace): one connection, in turn.
TcpTransport = Callable[[str, list[bytes], int], tuple[list["bytes | None"], object]]


@dataclass(frozen=True, slots=True)
class Step:
    """One query the stub sent: when, to whom, from which port, what, and what came of it."""

    time: float
    server: str
    sport: int
    query: Message
    outcome: Outcome
    reply: Message | None = None
    trace: object | None = field(default=None, compare=False)
    proto: str = "UDP"


@dataclass(frozen=True, slots=True)
class Resolution:
    """The whole lookup: every step, the name that answered (or None) and its answer records."""

    name: str
    steps: tuple[Step, ...]
    answered: str | None
    replies: tuple[Message, ...]
    h_errno: str      # "" on success, else HOST_NOT_FOUND, NO_DATA, TRY_AGAIN or NO_RECOVERY

    @property
    def addresses(self) -> tuple[str, ...]:
        """The addresses of the answer, A before AAAA, in answer order."""
        return tuple(str(r.data) for m in self.replies for r in m.answer if r.type in (RRType.A, RRType.AAAA))


class Clock(Protocol):
    """What the stub needs of the simulated clock."""

    def now(self) -> float:
        """The simulated time."""
        ...

    def advance(self, seconds: float) -> float:
        """Wait `seconds` of simulated time."""
        ...


class StubResolver:
    """One process's resolver: its config, a transport, the simulated clock, and generators for IDs and ports."""

    def __init__(self, config: ResolverConfig, transport: Transport, clock: Clock, rng: np.random.Generator,
                 new_port: Callable[[], int], tcp_transport: TcpTransport | None = None) -> None:
        self.config = config
        self.transport = transport
        self.tcp_transport = tcp_transport
        self.clock = clock
        self.rng = rng
        self.new_port = new_port
        self.steps: list[Step] = []
        self.refused = False    # the last send got only ICMP errors (ECONNREFUSED)

    # --- res_send ----------------------------------------------------------------------

    def _id(self) -> int:
        return int(self.rng.integers(0, 1 << 16))

    def _query(self, name: str, qtype: RRType) -> Message:
        q = query(self._id(), name, qtype, edns_udp_size=1200 if self.config.edns0 else None)
        return q if not self.config.trust_ad else Message(**{**{f: getattr(q, f) for f in Message.__dataclass_fields__},
                                                              "ad": True})

    def _try(self, server: str, queries: list[Message], sport: int) -> tuple[list[Message | None], Outcome]:
        """Send the queries of one try to one server; the matching replies (None for missing) and the outcome."""
        got: list[Message | None] = [None] * len(queries)
        refused = False
        for i, q in enumerate(queries):
            port = sport
            if i > 0 and self.config.single_request_reopen:
                port = self.new_port()
            exchange = self.transport(server, encode(q), port)
            reply = None
            for data in exchange.replies:
                m = decode(data)
                if m.qr and m.id == q.id and m.question == q.question:
                    reply = m
                    break
            refused |= exchange.icmp_error and reply is None
            outcome = Outcome.ANSWER if reply else (Outcome.REFUSED if exchange.icmp_error else Outcome.TIMEOUT)
            self.steps.append(Step(self.clock.now(), server, port, q, outcome, reply, exchange.trace))
            got[i] = reply
            if reply is not None and reply.tc and (self.config.single_request or self.config.single_request_reopen):
                break       # sequential: the next query waits for this answer, which sends it to TCP
            if refused:
                break
        if any(r is not None and r.tc for r in got):
            return self._vc(server, queries)      # send_dg: TC set, "use TCP with same server"
        if refused and not any(got):
            return got, Outcome.REFUSED
        return got, Outcome.ANSWER if any(got) else Outcome.TIMEOUT

    def _vc(self, server: str, queries: list[Message]) -> tuple[list[Message | None], Outcome]:
        """send_vc: every query of the try over one TCP connection to the same server, answers read in turn."""
        if self.tcp_transport is None:
            raise NotImplementedFeature("dns: a truncated answer needs the retry over TCP, and this resolver "
                                        "has no TCP transport")
        sport = self.new_port()
        answers, trace = self.tcp_transport(server, [encode(q) for q in queries], sport)
        got: list[Message | None] = []
        for q, data in zip(queries, answers):
            reply = decode(data) if data is not None else None
            if reply is not None and not (reply.qr and reply.id == q.id and reply.question == q.question):
                reply = None
            got.append(reply)
            self.steps.append(Step(self.clock.now(), server, sport, q, Outcome.ANSWER if reply else Outcome.TIMEOUT,
                                   reply, trace, "TCP"))
        return got, Outcome.ANSWER if any(got) else Outcome.TIMEOUT

    def send(self, queries: list[Message]) -> list[Message | None] | None:
        """__res_context_send: the replies, or None when every try timed out or was refused."""
        servers = self.config.nameservers
        offset = int(self.rng.integers(0, len(servers))) if self.config.rotate and len(servers) > 1 else 0
        self.refused = False
        answered = False
        for _attempt in range(self.config.attempts):
            for shift in range(len(servers)):
                ns = (shift + offset) % len(servers)
                seconds = self.config.timeout << ns
                if ns > 0:
                    seconds //= len(servers)
                seconds = max(seconds, 1)
                sport = self.new_port()
                got, outcome = self._try(servers[ns], queries, sport)
                if outcome is Outcome.REFUSED:
                    continue
                answered = True
                if outcome is Outcome.TIMEOUT:
                    self.clock.advance(seconds)
                    continue
                if any(r is not None and r.rcode in (Rcode.SERVFAIL, Rcode.NOTIMP, Rcode.REFUSED) for r in got) \
                        and not any(r is not None and r.rcode is Rcode.NOERROR and r.answer for r in got):
                    last = got
                    if shift < len(servers) - 1 or _attempt < self.config.attempts - 1:
                        continue
                    return last
                if any(r is None for r in got):
                    self.clock.advance(seconds)   # waited for the missing answer, then returns what it has
                return got
        self.refused = not answered          # every server sent an ICMP error: ECONNREFUSED
        return None

    # --- res_query / res_search --------------------------------------------------------

    def _types(self, family: str) -> list[RRType]:
        if family == "inet":
            return [RRType.A]
        if family == "inet6":
            return [RRType.AAAA]
        return [RRType.A] if self.config.no_aaaa else [RRType.A, RRType.AAAA]

    def query_domain(self, name: str, family: str) -> tuple[list[Message], str]:
        """__res_context_query for one absolute name: the replies and h_errno ("" for success)."""
        got = self.send([self._query(name, t) for t in self._types(family)])
        if got is None:
            return [], "TRY_AGAIN"
        replies = [r for r in got if r is not None]
        if any(r.rcode is Rcode.NOERROR and r.answer for r in replies):
            return replies, ""
        rcodes = [r.rcode for r in replies]
        first = rcodes[0] if rcodes and rcodes[0] is not Rcode.NOERROR else (rcodes[-1] if rcodes else None)
        if first is Rcode.NXDOMAIN:
            return replies, "HOST_NOT_FOUND"
        if first is Rcode.SERVFAIL:
            return replies, "TRY_AGAIN"
        if first is Rcode.NOERROR:
            return replies, "NO_DATA"
        return replies, "NO_RECOVERY"

    def search(self, name: str, family: str = "unspec") -> Resolution:
        """__res_context_search: try the names in glibc's order until one answers."""
        self.steps = []
        dots = name.count(".")
        trailing = name.endswith(".")
        saved = None
        tried_as_is = root_on_list = searched = False
        got_nodata = got_servfail = False

        def done(answered, replies, h_errno) -> Resolution:
            """The Resolution so far."""
            return Resolution(name, tuple(self.steps), answered, tuple(replies), h_errno)

        if dots >= self.config.ndots or trailing:
            replies, h = self.query_domain(fqdn(name), family)
            if not h or trailing:
                return done(fqdn(name) if not h else None, replies, h)
            saved, tried_as_is = h, True
        if (not dots and self.config.search) or (dots and not trailing and self.config.search):
            for domain in self.config.search:
                searched = True
                domain = domain.removeprefix(".")
                if not domain:
                    root_on_list = True
                candidate = fqdn(f"{name}.{domain}" if domain else name)
                replies, h = self.query_domain(candidate, family)
                if not h:
                    return done(candidate, replies, h)
                if self.refused:
                    return done(None, [], "TRY_AGAIN")    # ECONNREFUSED ends the search at once
                if h == "NO_DATA":
                    got_nodata = True
                elif h == "TRY_AGAIN" and any(r.rcode is Rcode.SERVFAIL for r in replies):
                    got_servfail = True
                elif h != "HOST_NOT_FOUND":
                    break
        if (dots or not searched or not self.config.no_tld_query) and not (tried_as_is or root_on_list):
            replies, h = self.query_domain(fqdn(name), family)
            if not h:
                return done(fqdn(name), replies, h)
        if saved is not None:
            h = saved
        elif got_nodata:
            h = "NO_DATA"
        elif got_servfail:
            h = "TRY_AGAIN"
        return done(None, [], h)
