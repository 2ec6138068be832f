"""DNS as packets: dig's query and glibc's lookups sent from a pod or node through the emulated network.

`DnsClient(emulator)` sends each query as a UDP datagram from the origin's
host (a pod's network namespace, or a node) with a fresh ephemeral source
port, to the cluster DNS address by default; the node's rules DNAT it to a
CoreDNS pod and conntrack un-NATs the answer on its way back. `dig` asks as
`dig +nocookie` does (RD and AD set, EDNS0 with a 1232-byte buffer; three
tries of 5 s on the simulated clock when nothing answers; over TCP with
+tcp: handshake, the length-prefixed query, the answer, FIN); `resolve` runs
glibc's stub (netsim/dns/stub.py) over the pod's /etc/resolv.conf as
kubelet writes it (a node's: the topology's). Query IDs come from the
client's seeded generator.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from netsim.dataplane.trace import WalkResult
from netsim.dns.message import Message, Rcode, RRType, fqdn, query, rrtype
from netsim.dns.server import DNS_PORT
from netsim.dns.stub import Exchange, Resolution, StubResolver, parse_resolv_conf
from netsim.dns.wire import decode, encode
from netsim.emulator.cluster import child_rng
from netsim.emulator.emulator import Emulator, _refuse_a_down_machine
from netsim.emulator.traffic import Sender, resolve_sender
from netsim.kubelet.resolvconf import node_resolv_conf, pod_resolv_conf
from netsim.packet import Packet, Proto, TcpFlag

DIG_TRIES = 3          # dig's +tries default
DIG_TIMEOUT = 5        # dig's +timeout default (seconds)
DIG_UDP_SIZE = 1232    # dig 9.18's EDNS0 buffer size


@dataclass(frozen=True, slots=True)
class DigResult:
    """One dig: who asked whom, the query, the reply (None: no answer) and the walks that carried them."""

    origin: Sender
    server: IPv4Address
    query: Message
    reply: Message | None
    reply_size: int
    sent_at: float
    walks: tuple[WalkResult, ...]
    sports: tuple[int, ...]
    proto: str = "UDP"


class DnsClient:
    """Sends DNS queries through an emulator's network; keeps its own seeded generator for query IDs."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.rng = child_rng(emulator.cluster.seed, "dns-client")

    def origin(self, ref: str | None, field: str = "--from") -> Sender:
        """The sender for `pod/[ns/]NAME` or `node/NAME`; the first node when None.

        `field` names the input in errors (a scenario step's `from`); a pod or
        node whose machine is down sends nothing, as for Emulator.send.
        """
        store = self.emulator.cluster.store
        if ref is None:
            ref = f"node/{self.emulator.cluster.topology.nodes[0].name}"
        elif "/" not in ref:
            ref = f"pod/{ref}"
        sender = resolve_sender(store, ref, field)
        _refuse_a_down_machine(self.emulator.cluster, sender, field)
        return sender

    def _exchange(self, sender: Sender, server: str, payload: bytes, sport: int) -> Exchange:
        """One UDP datagram to server:53 and what came back to the socket."""
        packet = Packet(sender.address, ip_address(server), Proto.UDP, sport, DNS_PORT, payload=payload)
        result = self.emulator.network.send(sender.host, packet)
        replies = tuple(p.payload for p in result.received
                        if p.proto == Proto.UDP and p.sport == DNS_PORT and p.dport == sport)
        icmp = any(p.proto == Proto.ICMP for p in result.received)
        return Exchange(replies, icmp and not replies, result)

    def _exchange_tcp(self, sender: Sender, server: str, payloads: list[bytes],
                      sport: int) -> tuple[list[bytes | None], tuple[WalkResult, ...]]:
        """One TCP connection to server:53: handshake, each length-prefixed query and its answer, FIN."""
        network = self.emulator.network
        dst = ip_address(server)
        isn = zlib.crc32(f"{sender.address} {sport} {dst} {DNS_PORT}".encode())
        walks = []

        def segment(flags: TcpFlag, seq: int, ack: int, payload: bytes = b"") -> list[Packet]:
            packet = Packet(sender.address, dst, Proto.TCP, sport, DNS_PORT, tcp_flags=flags, seq=seq, ack=ack,
                            window=64240, payload=payload)
            result = network.send(sender.host, packet)
            walks.append(result)
            return [p for p in result.received if p.proto == Proto.TCP and p.sport == DNS_PORT and p.dport == sport]

        answers: list[bytes | None] = [None] * len(payloads)
        synack = [p for p in segment(TcpFlag.SYN, isn, 0) if p.tcp_flags & TcpFlag.SYN]
        if not synack:
            return answers, tuple(walks)
        seq, ack = (isn + 1) & 0xFFFFFFFF, (synack[0].seq + 1) & 0xFFFFFFFF
        segment(TcpFlag.ACK, seq, ack)
        for i, payload in enumerate(payloads):
            data = len(payload).to_bytes(2, "big") + payload
            got = [p for p in segment(TcpFlag.PSH | TcpFlag.ACK, seq, ack, data) if p.payload]
            seq = (seq + len(data)) & 0xFFFFFFFF
            if got:
                size = int.from_bytes(got[0].payload[:2], "big")
                answers[i] = got[0].payload[2:2 + size]
                ack = (ack + len(got[0].payload)) & 0xFFFFFFFF
                segment(TcpFlag.ACK, seq, ack)
        finack = segment(TcpFlag.FIN | TcpFlag.ACK, seq, ack)
        if finack:
            segment(TcpFlag.ACK, (seq + 1) & 0xFFFFFFFF, (finack[0].seq + 1) & 0xFFFFFFFF)
        return answers, tuple(walks)

    def dig(self, name: str, qtype: str | RRType = "A", server: str | None = None,
            origin: str | None = None, tcp: bool = False, field: str = "--from") -> DigResult:
        """Ask one question as dig does (over TCP with `tcp`, as +tcp); the clock advances by unanswered tries."""
        sender = self.origin(origin, field)
        target = server or str(self.emulator.cluster.topology.cluster_dns_ip)
        t = rrtype(qtype) if isinstance(qtype, str) else qtype
        q = query(int(self.rng.integers(0, 1 << 16)), fqdn(name), t, edns_udp_size=DIG_UDP_SIZE)
        q = Message(**{**{f: getattr(q, f) for f in Message.__dataclass_fields__}, "ad": True})
        clock = self.emulator.cluster.clock
        sent_at = clock.now()
        walks, sports = [], []
        for _ in range(DIG_TRIES):
            sport = self.emulator.ephemeral_port(sender.host)
            sports.append(sport)
            if tcp:
                (answer,), tcp_walks = self._exchange_tcp(sender, target, [encode(q)], sport)
                walks.extend(tcp_walks)
                if answer is not None:
                    return DigResult(sender, ip_address(target), q, decode(answer), len(answer), sent_at,  # type: ignore
                                     tuple(walks), tuple(sports), "TCP")
                clock.advance(DIG_TIMEOUT)
                continue
            exchange = self._exchange(sender, target, encode(q), sport)
            walks.append(exchange.trace)
            for data in exchange.replies:
                reply = decode(data)
                if reply.id == q.id:
                    return DigResult(sender, ip_address(target), q, reply, len(data), sent_at,  # type: ignore
                                     tuple(walks), tuple(sports))
            clock.advance(DIG_TIMEOUT)
        return DigResult(sender, ip_address(target), q, None, 0, sent_at, tuple(walks), tuple(sports))  # type: ignore

    def resolv_conf(self, sender_ref: str | None, field: str = "--from") -> str:
        """The /etc/resolv.conf of the origin: a pod's as kubelet writes it, a node's from the topology."""
        store = self.emulator.cluster.store
        topology = self.emulator.cluster.topology
        sender = self.origin(sender_ref, field)
        if sender.label.startswith("pod "):
            ns, _, name = sender.label[len("pod "):].partition("/")
            return pod_resolv_conf(store.get("Pod", name, ns), topology)[0]  # type: ignore[arg-type]
        return node_resolv_conf(topology)

    def resolve(self, name: str, origin: str | None = None, family: str = "unspec",
                field: str = "--from") -> Resolution:
        """getaddrinfo's lookup of `name` from the origin, every query sent as a packet."""
        sender = self.origin(origin, field)
        config = parse_resolv_conf(self.resolv_conf(origin, field))
        stub = StubResolver(config, lambda server, payload, sport: self._exchange(sender, server, payload, sport),
                            self.emulator.cluster.clock, self.rng,
                            lambda: self.emulator.ephemeral_port(sender.host),
                            lambda server, payloads, sport: self._exchange_tcp(sender, server, payloads, sport))
        return stub.search(name, family)


__all__ = ["DnsClient", "DigResult", "Rcode"]
