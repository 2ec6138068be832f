"""DNS messages to and from bytes, with scapy's DNS layer: the dns layer's one edge to scapy.

Names are written uncompressed, as CoreDNS writes its answers (miekg/dns
compresses only when `Compress` is set, and CoreDNS's Scrub sets it only for
replies over 1480 bytes) and as glibc's res_mkquery writes a query's one name.
Every field is set explicitly: the OPT record's flags (scapy's default sets
DO) included.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address, ip_address

from scapy.error import Scapy_Exception
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRROPT, DNSRRSOA, DNSRRSRV

from netsim.dns.errors import BadMessage
from netsim.dns.message import SOA, SRV, Message, Question, Rcode, Record, RRType, fqdn

_DO = 0x8000  # the DO bit in the OPT record's TTL field (RFC 3225)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _rr(record: Record):
    """The scapy record for one Record."""
    t = record.type
    if t is RRType.SOA:
        s: SOA = record.data  # type: ignore[assignment]
        return DNSRRSOA(rrname=record.name, type=6, rclass=1, ttl=record.ttl, mname=s.mname, rname=s.rname,
                        serial=s.serial, refresh=s.refresh, retry=s.retry, expire=s.expire, minimum=s.minimum)
    if t is RRType.SRV:
        v: SRV = record.data  # type: ignore[assignment]
        return DNSRRSRV(rrname=record.name, type=33, rclass=1, ttl=record.ttl, priority=v.priority,
                        weight=v.weight, port=v.port, target=v.target)
    if t is RRType.TXT:
        return DNSRR(rrname=record.name, type=16, rclass=1, ttl=record.ttl, rdata=list(record.data))  # type: ignore
    return DNSRR(rrname=record.name, type=int(t), rclass=1, ttl=record.ttl, rdata=str(record.data))


def encode(message: Message) -> bytes:
    """The message's wire bytes."""
    additional = [_rr(r) for r in message.additional]
    if message.edns_udp_size is not None:
        additional.append(DNSRROPT(rrname=".", type=41, rclass=message.edns_udp_size, extrcode=0, version=0,
                                   z=_DO if message.edns_do else 0, rdata=[]))
    pkt = DNS(id=message.id, qr=int(message.qr), opcode=message.opcode, aa=int(message.aa), tc=int(message.tc),
              rd=int(message.rd), ra=int(message.ra), z=0, ad=int(message.ad), cd=int(message.cd),
              rcode=int(message.rcode),
              qd=[DNSQR(qname=q.name, qtype=int(q.type), qclass=1) for q in message.question],
              an=[_rr(r) for r in message.answer],
              ns=[_rr(r) for r in message.authority],
              ar=additional)
    return bytes(pkt)


def _record(rr) -> Record:
    t = RRType(rr.type)
    name = fqdn(_text(rr.rrname))
    if t is RRType.SOA:
        data = SOA(fqdn(_text(rr.mname)), fqdn(_text(rr.rname)), rr.serial, rr.refresh, rr.retry, rr.expire,
                   rr.minimum)
    elif t is RRType.SRV:
        data = SRV(rr.priority, rr.weight, rr.port, fqdn(_text(rr.target)))
    elif t in (RRType.A, RRType.AAAA):
        data = ip_address(_text(rr.rdata))
    elif t is RRType.TXT:
        data = tuple(_text(s) for s in rr.rdata)
    else:
        data = fqdn(_text(rr.rdata))
    return Record(name, t, rr.ttl, data)


def decode(data: bytes) -> Message:
    """The message in `data`; BadMessage when it is not one."""
    if len(data) < 12:
        raise BadMessage(f"cannot decode a DNS message from {len(data)} bytes: shorter than its header")
    try:
        pkt = DNS(data)
        questions = tuple(Question(fqdn(_text(q.qname)), RRType(q.qtype)) for q in (pkt.qd or ()))
        answer = tuple(_record(r) for r in (pkt.an or ()))
        authority = tuple(_record(r) for r in (pkt.ns or ()))
        additional, udp, do = [], None, False
        for rr in pkt.ar or ():
            if rr.type == RRType.OPT:
                udp, do = rr.rclass, bool(rr.z & _DO)
            else:
                additional.append(_record(rr))
        return Message(id=pkt.id, qr=bool(pkt.qr), opcode=pkt.opcode, aa=bool(pkt.aa), tc=bool(pkt.tc),
                       rd=bool(pkt.rd), ra=bool(pkt.ra), ad=bool(pkt.ad), cd=bool(pkt.cd), rcode=Rcode(pkt.rcode),
                       question=questions, answer=answer, authority=authority, additional=tuple(additional),
                       edns_udp_size=udp, edns_do=do)
    except (ValueError, TypeError, AttributeError, IndexError, struct.error, Scapy_Exception) as err:
        raise BadMessage(f"cannot decode a DNS message from {len(data)} bytes: {err}") from None


__all__ = ["encode", "decode", "IPv4Address", "IPv6Address"]
