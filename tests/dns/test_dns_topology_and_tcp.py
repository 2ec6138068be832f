"""The topology's DNS fields, the server over TCP and its UDP size limit."""

from __future__ import annotations

from ipaddress import ip_address

import numpy as np
import pytest

from dns_cluster import ask, build, client
from netsim.api.errors import InvalidObject
from netsim.api.topology import topology_from_dict
from netsim.dns.corefile import parse_corefile
from netsim.dns.message import Message, Rcode, RRType, query
from netsim.dns.server import DnsServer, truncate
from netsim.dns.view import ClusterView
from netsim.dns.wire import decode, encode
from netsim.emulator.addons import default_corefile
from netsim.packet import Packet, Proto, TcpFlag

BASE = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}


def test_cluster_domain_and_node_resolv_conf_fields() -> None:
    t = topology_from_dict(BASE)
    assert (t.cluster_domain, t.node_resolv_conf) == ("cluster.local", None)
    t = topology_from_dict({**BASE, "netsim": {"clusterDomain": "corp.internal.", "nodeResolvConf": "nameserver 1.1.1.1\n"}})
    assert (t.cluster_domain, t.node_resolv_conf) == ("corp.internal", "nameserver 1.1.1.1\n")
    with pytest.raises(InvalidObject, match="netsim.clusterDomain"):
        topology_from_dict({**BASE, "netsim": {"clusterDomain": "Not_A_Domain"}})


def _server(upstream=()) -> DnsServer:
    view = ClusterView(frozenset({"default"}), (), (), (), 1)
    return DnsServer(parse_corefile(default_corefile("cluster.local")), view, ("10.244.0.2",), upstream,
                     np.random.default_rng(0))


def test_the_server_answers_over_tcp_with_length_prefixed_messages() -> None:
    server = _server()
    syn = Packet(ip_address("10.244.1.5"), ip_address("10.244.0.2"), Proto.TCP, 40000, 53,
                 tcp_flags=TcpFlag.SYN, seq=100)
    (synack,) = server.receive(syn, "pod")
    assert synack.tcp_flags == TcpFlag.SYN | TcpFlag.ACK and synack.ack == 101
    q = encode(query(7, "kubernetes.default.svc.cluster.local", RRType.A))
    data = Packet(ip_address("10.244.1.5"), ip_address("10.244.0.2"), Proto.TCP, 40000, 53,
                  tcp_flags=TcpFlag.PSH | TcpFlag.ACK, seq=101, ack=synack.seq + 1,
                  payload=len(q).to_bytes(2, "big") + q)
    (answer,) = server.receive(data, "pod")
    size = int.from_bytes(answer.payload[:2], "big")
    reply = decode(answer.payload[2:2 + size])
    assert reply.id == 7 and reply.rcode is Rcode.NXDOMAIN     # no Services in this view
    assert answer.ack == 101 + len(data.payload)


def test_a_udp_answer_over_512_bytes_is_truncated_with_tc() -> None:
    from netsim.dns.message import Record
    big = query(1, "many.example.", RRType.A).reply(answer=tuple(
        Record("many.example.", RRType.A, 30, ip_address(f"10.0.0.{i}")) for i in range(60)))
    cut = truncate(big, 512)
    assert cut.tc and len(encode(cut)) <= 512 and 0 < len(cut.answer) < 60
    server = _server(upstream=())
    assert server.respond(b"not dns", 512) is None


def test_dig_without_a_dns_server_times_out_three_times() -> None:
    cluster = build(netsim={"installCoreDNS": False})
    start = cluster.clock.now()
    result = client(cluster).dig("web.default.svc.cluster.local")
    assert result.reply is None and len(result.walks) == 3 and cluster.clock.now() - start == 15


def test_a_query_from_a_node_is_dnated_in_output() -> None:
    cluster = build()
    reply = ask(client(cluster), "kubernetes.default.svc.cluster.local", origin="node/kind-worker")
    assert [str(r.data) for r in reply.answer] == ["10.96.0.1"]
    result = client(cluster).dig("kubernetes.default.svc.cluster.local", origin="node/kind-worker")
    assert any(s.hook and s.hook.value == "OUTPUT" and "rewrote" in s.detail for s in result.walks[0].steps)


MANY = """
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: many, namespace: default}
spec:
  replicas: 16
  selector: {matchLabels: {app: many}}
  template:
    metadata: {labels: {app: many}}
    spec:
      containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Service
metadata: {name: many, namespace: default}
spec:
  clusterIP: None
  selector: {app: many}
"""


def test_a_truncated_udp_answer_makes_glibc_ask_again_over_tcp() -> None:
    cluster = build(extra=MANY)
    ips = sorted(p.pod_ip for p in cluster.store.list("Pod", "default") if p.labels.get("app") == "many")
    assert len(ips) == 16
    result = client(cluster).resolve("many.default.svc.cluster.local.", "pod/team-a/client", family="inet")
    (udp, tcp) = result.steps
    assert (udp.proto, udp.reply.tc, len(udp.reply.answer) < 16) == ("UDP", True, True)
    assert tcp.proto == "TCP" and not tcp.reply.tc and tcp.sport != udp.sport
    assert sorted(result.addresses) == ips
    both = client(cluster).resolve("many.default.svc.cluster.local.", "pod/team-a/client")
    # A and AAAA both went out over UDP before the truncated answer was read, then both again over TCP
    assert [(s.proto, s.query.question[0].type.name) for s in both.steps] == [
        ("UDP", "A"), ("UDP", "AAAA"), ("TCP", "A"), ("TCP", "AAAA")]
    dig = client(cluster).dig("many.default.svc.cluster.local", tcp=True)
    assert dig.proto == "TCP" and len(dig.reply.answer) == 16
