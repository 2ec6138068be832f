"""The DNS codec: messages survive a round trip, and the bytes are what scapy's DNS layer reads."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS

from netsim.dns.message import SOA, SRV, Message, Question, Rcode, Record, RRType, query
from netsim.dns.wire import decode, encode

labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
names = st.lists(labels, min_size=1, max_size=4).map(lambda parts: ".".join(parts) + ".")
ttls = st.integers(0, 2**31 - 1)
records = st.one_of(
    st.builds(lambda n, t, a: Record(n, RRType.A, t, IPv4Address(a)), names, ttls, st.integers(0, 2**32 - 1)),
    st.builds(lambda n, t, a: Record(n, RRType.AAAA, t, IPv6Address(a)), names, ttls, st.integers(0, 2**128 - 1)),
    st.builds(lambda n, t, c: Record(n, RRType.CNAME, t, c), names, ttls, names),
    st.builds(lambda n, t, c: Record(n, RRType.PTR, t, c), names, ttls, names),
    st.builds(lambda n, t, p, w, port, c: Record(n, RRType.SRV, t, SRV(p, w, port, c)), names, ttls,
              st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535), names),
    st.builds(lambda n, t, m, r, s: Record(n, RRType.SOA, t, SOA(m, r, s, 7200, 1800, 86400, 30)), names, ttls,
              names, names, st.integers(0, 2**32 - 1)),
    st.builds(lambda n, t, s: Record(n, RRType.TXT, t, (s,)), names, ttls, labels),
)
messages = st.builds(
    Message, id=st.integers(0, 65535), qr=st.booleans(), aa=st.booleans(), tc=st.booleans(), rd=st.booleans(),
    ra=st.booleans(), ad=st.booleans(), cd=st.booleans(), rcode=st.sampled_from(list(Rcode)),
    question=st.lists(st.builds(Question, names, st.sampled_from([RRType.A, RRType.AAAA, RRType.SRV, RRType.PTR])),
                      max_size=1).map(tuple),
    answer=st.lists(records, max_size=4).map(tuple), authority=st.lists(records, max_size=2).map(tuple),
    additional=st.lists(records, max_size=2).map(tuple),
    edns_udp_size=st.one_of(st.none(), st.integers(512, 4096)), edns_do=st.booleans())


@settings(max_examples=150, deadline=None)
@given(messages)
def test_messages_survive_a_round_trip(message: Message) -> None:
    if message.edns_udp_size is None:
        message = Message(**{**{f: getattr(message, f) for f in Message.__dataclass_fields__}, "edns_do": False})
    assert decode(encode(message)) == message


def test_a_glibc_style_query_is_what_scapy_reads() -> None:
    data = encode(query(0x1234, "web.default.svc.cluster.local", RRType.AAAA))
    pkt = DNS(data)
    assert (pkt.id, pkt.qr, pkt.rd, pkt.qdcount, pkt.arcount) == (0x1234, 0, 1, 1, 0)
    assert pkt.qd[0].qname == b"web.default.svc.cluster.local." and pkt.qd[0].qtype == 28
    assert len(data) == 12 + len(b"\x03web\x07default\x03svc\x07cluster\x05local\x00") + 4   # no compression, no OPT


def test_the_opt_record_carries_the_buffer_size_and_no_do_bit() -> None:
    data = encode(query(1, "example.com", RRType.A, edns_udp_size=1232))
    opt = DNS(data).ar[0]
    assert (opt.type, opt.rclass, opt.z, opt.version) == (41, 1232, 0, 0)
