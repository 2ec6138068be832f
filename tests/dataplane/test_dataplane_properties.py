"""Properties of the walk over many flows: replies invert the request's tuple, outcomes follow listeners."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from netsim.dataplane import Outcome
from netsim.packet import Proto

from dataplane_helpers import syn, two_nodes, udp

PODS = {"pod-a": "10.244.1.2", "pod-b": "10.244.1.3", "pod-c": "10.244.2.2"}
NET, _ = two_nodes()  # shared: ARP caches and FDBs filling up must not change any outcome


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(PODS)), st.sampled_from(sorted(PODS)), st.sampled_from([Proto.TCP, Proto.UDP]),
       st.sampled_from([8080, 81]), st.integers(1024, 65535))
def test_replies_invert_the_tuple(src_pod, dst_pod, proto, dport, sport):
    make = syn if proto == Proto.TCP else udp
    packet = make(PODS[src_pod], PODS[dst_pod], dport=dport, sport=sport)
    result = NET.send(src_pod, packet)
    expected = Outcome.DELIVERED if dport == 8080 else Outcome.NO_LISTENER
    assert result.outcome is expected and result.host == dst_pod
    (reply,) = result.received
    if reply.proto == Proto.ICMP:
        assert reply.icmp_code == 3 and (reply.inner.src, reply.inner.sport) == (packet.src, sport)
    else:
        assert (reply.src, reply.sport, reply.dst, reply.dport) == (packet.dst, dport, packet.src, sport)
    hops = 0 if src_pod[:5] == dst_pod[:5] or {src_pod, dst_pod} <= {"pod-a", "pod-b"} else 2
    assert reply.ttl == 64 - hops
