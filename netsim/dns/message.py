"""The DNS message as frozen value objects: questions, resource records, header flags (RFC 1035).

Names are absolute, with the trailing dot (`web.default.svc.cluster.local.`),
in the case they were given (lookups compare them case-insensitively). Record data is typed per record type;
wire.py converts to and from bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address


class RRType(enum.IntEnum):
    """Record types netsim answers or asks for (IANA numbers)."""

    A = 1          # an IPv4 address
    NS = 2         # a name server of a zone
    CNAME = 5      # an alias
    SOA = 6        # start of authority: in the authority section of negative answers
    PTR = 12       # reverse mapping
    MX = 15        # mail exchange (CoreDNS answers NODATA for Services)
    TXT = 16       # text (dns-version.<zone>)
    AAAA = 28      # an IPv6 address
    SRV = 33       # service location: priority, weight, port, target
    OPT = 41       # EDNS0 pseudo-record
    AXFR = 252     # zone transfer (refused)
    ANY = 255      # any type


class Rcode(enum.IntEnum):
    """Response codes (RFC 1035 4.1.1), named as dig prints them."""

    NOERROR = 0    # the name exists (there may be no data of the type asked)
    FORMERR = 1    # the query was malformed
    SERVFAIL = 2   # the server failed
    NXDOMAIN = 3   # the name does not exist
    NOTIMP = 4     # not implemented
    REFUSED = 5    # refused (zone transfers)


def fqdn(name: str) -> str:
    """`name` with exactly one trailing dot (the root is `.`)."""
    name = name.rstrip(".")
    return name + "." if name else "."


def rrtype(text: str | int) -> RRType:
    """The record type named `text` (`A`, `srv`, `28`)."""
    if isinstance(text, int):
        return RRType(text)
    if text.isdigit():
        return RRType(int(text))
    return RRType[text.upper()]


@dataclass(frozen=True, slots=True)
class SOA:
    """SOA rdata: primary server, mailbox, serial and the four timers."""

    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int


@dataclass(frozen=True, slots=True)
class SRV:
    """SRV rdata (RFC 2782)."""

    priority: int
    weight: int
    port: int
    target: str


Rdata = IPv4Address | IPv6Address | str | SOA | SRV | tuple


@dataclass(frozen=True, slots=True)
class Question:
    """One question: name, type, class IN."""

    name: str
    type: RRType


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record: owner name, type, TTL, data (address, name, SOA, SRV or TXT strings)."""

    name: str
    type: RRType
    ttl: int
    data: Rdata

    def with_ttl(self, ttl: int) -> Record:
        """The same record with another TTL."""
        return replace(self, ttl=ttl)


@dataclass(frozen=True, slots=True)
class Message:
    """A DNS message: header fields, the four sections, and EDNS0's UDP size when an OPT record is present."""

    id: int
    qr: bool = False
    opcode: int = 0
    aa: bool = False
    tc: bool = False
    rd: bool = True
    ra: bool = False
    ad: bool = False
    cd: bool = False
    rcode: Rcode = Rcode.NOERROR
    question: tuple[Question, ...] = ()
    answer: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()
    edns_udp_size: int | None = None   # the OPT record's class field; None: no OPT record
    edns_do: bool = False

    @property
    def flags_text(self) -> str:
        """The flags as dig lists them (`qr aa rd`)."""
        names = (("qr", self.qr), ("aa", self.aa), ("tc", self.tc), ("rd", self.rd), ("ra", self.ra),
                 ("ad", self.ad), ("cd", self.cd))
        return " ".join(n for n, on in names if on)

    def reply(self, rcode: Rcode = Rcode.NOERROR, *, aa: bool = False, ra: bool = False,
              answer: tuple[Record, ...] = (), authority: tuple[Record, ...] = (),
              additional: tuple[Record, ...] = ()) -> Message:
        """A response to this query (id, opcode, RD, CD and question copied, as miekg/dns SetReply does)."""
        return Message(id=self.id, qr=True, opcode=self.opcode, aa=aa, rd=self.rd, ra=ra, cd=self.cd,
                       rcode=rcode, question=self.question, answer=answer, authority=authority,
                       additional=additional, edns_udp_size=self.edns_udp_size)


def query(id_: int, name: str, type_: RRType, *, rd: bool = True, edns_udp_size: int | None = None) -> Message:
    """A standard query for one name and type."""
    return Message(id=id_, rd=rd, question=(Question(fqdn(name), type_),), edns_udp_size=edns_udp_size)


