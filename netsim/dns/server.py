"""The CoreDNS server: a Corefile's server blocks over the cluster view, as an application bound on port 53.

A query goes to the server block whose zone matches it best; there the
kubernetes plugin answers, or passes it on (another zone, or fallthrough) to
forward, which answers from the topology's upstream records (netsim's
stand-in for the upstream resolver: `qr rd ra`, not authoritative, records
with UPSTREAM_TTL; a name it has no record for is NXDOMAIN, a known name
without that type NOERROR with no data). With nothing left to ask, the
answer is SERVFAIL (plugin.NextOrFailure); no block for the name, REFUSED.
`loadbalance` shuffles the address records of the answer as its
roundRobinShuffle does, drawing dns.Id() from the seeded generator.
UDP replies larger than the client's buffer (512, or its EDNS0 size) are
truncated with TC set, as request.Scrub does. TCP is served statelessly:
a SYN gets a SYN-ACK, each segment of length-prefixed queries gets the
length-prefixed answers, a FIN a FIN-ACK.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_address

import numpy as np

from netsim.dns.corefile import Corefile, ForwardConfig, is_subdomain
from netsim.dns.errors import BadMessage
from netsim.dns.kubernetes import KubernetesPlugin
from netsim.dns.message import Message, Question, Rcode, Record, RRType, fqdn
from netsim.dns.view import ClusterView
from netsim.dns.wire import decode, encode
from netsim.packet import Packet, Proto, TcpFlag

DNS_PORT = 53
UPSTREAM_TTL = 300       # the TTL netsim's upstream resolver gives its records
MIN_UDP_SIZE = 512       # a client without EDNS0 takes 512 bytes over UDP (RFC 1035)
MAX_CNAME_DEPTH = 8


@dataclass(frozen=True, slots=True)
class UpstreamName:
    """A name the upstream resolver knows, with its addresses."""

    name: str
    addresses: tuple[str, ...]


class DnsServer:
    """One CoreDNS instance (a pod): the Corefile, the cluster view, its pod IPs, a generator for loadbalance."""

    def __init__(self, corefile: Corefile, view: ClusterView, local_ips: tuple[str, ...],
                 upstream: tuple[UpstreamName, ...], rng: np.random.Generator, name: str = "coredns") -> None:
        self.name = name
        self.corefile = corefile
        self.view = view
        self.local_ips = local_ips
        self.upstream = {fqdn(u.name).lower(): u.addresses for u in upstream}
        self.rng = rng
        self.received: list[Message] = []
        self._plugins = {id(b): KubernetesPlugin(b.kubernetes, view, local_ips)
                         for b in corefile.blocks if b.kubernetes is not None}

    def __repr__(self) -> str:
        return f"DnsServer({self.name!r})"

    # --- answering ------------------------------------------------------------------------

    def answer(self, query: Message, depth: int = 0) -> Message:
        """The reply to one query, before size limits."""
        if query.opcode != 0 or len(query.question) != 1:
            return query.reply(Rcode.NOTIMP if query.opcode else Rcode.FORMERR)
        q = query.question[0]
        block = self.corefile.block_for(q.name)
        if block is None:
            return query.reply(Rcode.REFUSED)
        reply = None
        if block.kubernetes is not None:
            plugin = self._plugins[id(block)]
            reply = plugin.answer(query, lambda n, t: self._lookup(query, n, t, depth))
        if reply is None and block.forward is not None and is_subdomain(q.name, block.forward.origin):
            reply = self._forward(query, block.forward)
        if reply is None:
            return query.reply(Rcode.SERVFAIL)
        if block.loadbalance:
            reply = self._round_robin(reply)
        return reply

    def _lookup(self, query: Message, name: str, qtype: RRType, depth: int) -> Message:
        """Upstream.Lookup: ask the whole server again (for a CNAME's target)."""
        if depth >= MAX_CNAME_DEPTH:
            return query.reply(Rcode.SERVFAIL)
        inner = Message(id=query.id, rd=True, question=(Question(fqdn(name), qtype),))
        return self.answer(inner, depth + 1)

    def _forward(self, query: Message, forward: ForwardConfig) -> Message:
        """forward: the upstream resolver's answer from the topology's records."""
        q = query.question[0]
        addresses = self.upstream.get(q.name.lower())
        if addresses is None:
            return query.reply(Rcode.NXDOMAIN, ra=True)
        want = {RRType.A: 4, RRType.AAAA: 6}.get(q.type)
        records = tuple(Record(q.name, q.type, UPSTREAM_TTL, ip_address(a)) for a in addresses
                        if want is not None and ip_address(a).version == want)
        return query.reply(Rcode.NOERROR, ra=True, answer=records)

    def _dns_id(self) -> int:
        return int(self.rng.integers(0, 1 << 16))

    def _shuffle(self, records: list[Record]) -> list[Record]:
        """roundRobinShuffle, with dns.Id() drawn from the seeded generator."""
        n = len(records)
        if n == 2:
            if self._dns_id() % 2 == 0:
                records[0], records[1] = records[1], records[0]
        elif n > 2:
            for j in range(n):
                p = j + self._dns_id() % (n - j)
                if p != j:
                    records[j], records[p] = records[p], records[j]
        return records

    def _round_robin(self, reply: Message) -> Message:
        """loadbalance round_robin: CNAMEs first, then other records, then shuffled addresses, then MX."""
        if reply.rcode is not Rcode.NOERROR or len(reply.answer) < 2:
            return reply
        cname = [r for r in reply.answer if r.type is RRType.CNAME]
        address = [r for r in reply.answer if r.type in (RRType.A, RRType.AAAA)]
        mx = [r for r in reply.answer if r.type is RRType.MX]
        rest = [r for r in reply.answer if r.type not in (RRType.CNAME, RRType.A, RRType.AAAA, RRType.MX)]
        ordered = cname + rest + self._shuffle(address) + self._shuffle(mx)
        return Message(**{**{f: getattr(reply, f) for f in Message.__dataclass_fields__}, "answer": tuple(ordered)})

    def respond(self, payload: bytes, limit: int | None) -> bytes | None:
        """The reply bytes for one query's bytes (None for what is not a query); `limit` is UDP's size cap."""
        try:
            query = decode(payload)
        except BadMessage:
            return None
        if query.qr:
            return None
        self.received.append(query)
        reply = self.answer(query)
        data = encode(reply)
        if limit is None:
            return data
        size = max(MIN_UDP_SIZE, query.edns_udp_size or MIN_UDP_SIZE)
        if len(data) <= size:
            return data
        return encode(truncate(reply, size))

    # --- the application ----------------------------------------------------------------

    def receive(self, packet: Packet, host: str) -> Iterable[Packet]:
        """Answer a UDP or TCP packet sent to port 53."""
        if packet.proto == Proto.UDP:
            data = self.respond(packet.payload, MIN_UDP_SIZE)
            if data is None:
                return []
            return [Packet(src=packet.dst, dst=packet.src, proto=Proto.UDP, sport=packet.dport, dport=packet.sport,
                           payload=data, df=True)]
        if packet.proto != Proto.TCP or packet.tcp_flags & TcpFlag.RST:
            return []
        answer = Packet(src=packet.dst, dst=packet.src, proto=Proto.TCP, sport=packet.dport, dport=packet.sport,
                        df=True)
        if packet.tcp_flags & TcpFlag.SYN:
            answer.tcp_flags = int(TcpFlag.SYN | TcpFlag.ACK)
            answer.seq = zlib.crc32(f"{packet.src} {packet.sport} {packet.dst} {packet.dport}".encode())
            answer.ack = (packet.seq + 1) & 0xFFFFFFFF
            return [answer]
        answer.seq = packet.ack
        answer.ack = (packet.seq + len(packet.payload) + bool(packet.tcp_flags & TcpFlag.FIN)) & 0xFFFFFFFF
        if packet.tcp_flags & TcpFlag.FIN:
            answer.tcp_flags = int(TcpFlag.FIN | TcpFlag.ACK)
            return [answer]
        out, data = b"", packet.payload
        while len(data) >= 2 and len(data) >= 2 + int.from_bytes(data[:2], "big"):
            size = int.from_bytes(data[:2], "big")
            reply = self.respond(data[2:2 + size], None)
            if reply is not None:
                out += len(reply).to_bytes(2, "big") + reply
            data = data[2 + size:]
        if not out:
            return []
        answer.tcp_flags = int(TcpFlag.PSH | TcpFlag.ACK)
        answer.payload = out
        return [answer]


def truncate(reply: Message, size: int) -> Message:
    """miekg/dns Msg.Truncate: keep the answer, then authority, then additional records that fit; TC when an
    answer record had to go (the OPT record stays)."""
    fields = {f: getattr(reply, f) for f in Message.__dataclass_fields__}
    kept: dict[str, list[Record]] = {"answer": [], "authority": [], "additional": []}

    def fits(section: str, record: Record) -> bool:
        trial = {k: tuple(v) for k, v in kept.items()}
        trial[section] = trial[section] + (record,)
        return len(encode(Message(**{**fields, **trial}))) <= size

    full = False
    for section in ("answer", "authority", "additional"):
        for record in fields[section]:
            if full or not fits(section, record):
                full = True
                break
            kept[section].append(record)
    return Message(**{**fields, **{k: tuple(v) for k, v in kept.items()},
                      "tc": reply.tc or len(kept["answer"]) < len(reply.answer)})
