"""MetalLB layer-2 failover: when the announcing node's machine stops, the LoadBalancer address goes
unanswered until memberlist declares its speaker dead (5 s on three nodes), then the next node in hash
order announces it with a gratuitous ARP that moves the client's cached MAC; when the first comes back
and ranks first, the address moves back the same way."""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.capture.points import CaptureSet
from netsim.capture.summary import summarize_capture
from netsim.dataplane.neighbours import NeighbourState
from netsim.dataplane.trace import Outcome
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.external import EXTERNAL_HOST
from netsim.emulator.traffic import FlowSpec
from netsim.verify.summary import hops

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
WORKERS = ("kind-worker", "kind-worker2")

# The backend runs on the control plane, which never announces (exclude-from-external-load-balancers):
# failing a worker takes away the announcement only, never the endpoint.
MANIFESTS = """\
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: kind-control-plane
  containers:
  - name: echo
    image: registry.k8s.io/e2e-test-images/agnhost:2.52
    ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def rank(ip: str) -> list[str]:
    """The workers in MetalLB's order for `ip` (SHA-256 of "<node>#<ip>", compared as bytes)."""
    return sorted(WORKERS, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())


@pytest.fixture
def world(tmp_path: Path):
    cluster = Cluster.build(TOPOLOGY, load_text(MANIFESTS, "test.yaml"), horizon=0.0)
    emulator = Emulator(cluster, CaptureSet(tmp_path))
    yield emulator
    emulator.close()


def send(emulator: Emulator, ip: str):
    (connection,) = emulator.send(FlowSpec("t", "external", f"{ip}:80"))
    return connection.result


def cached_mac(emulator: Emulator, ip: str):
    return emulator.network.host(EXTERNAL_HOST).neighbours.get("eth0", IPv4Address(ip))


def via(result) -> list[str]:
    """The hosts the opening packet visited."""
    return [hop.host for hop in hops(result, 0)]


def mac(emulator: Emulator, node: str) -> str:
    return emulator.network.host(node).interface("eth0").mac


def test_the_address_follows_memberlist_and_the_gratuitous_arp(world) -> None:
    emulator = world
    cluster = emulator.cluster
    ip = cluster.store.get("Service", "web", "default").load_balancer_ips[0]
    first, second = rank(ip)

    before = send(emulator, ip)
    assert before.delivered and before.host == "default/web"
    assert via(before)[:2] == [EXTERNAL_HOST, first]
    assert cached_mac(emulator, ip).mac == mac(emulator, first)

    failed_at = cluster.clock.now()
    cluster.fail_node(first)
    emulator.rebuild()
    cluster.advance(4.9)                          # memberlist has not declared the speaker dead yet
    emulator.rebuild()
    assert cluster.speakers.current["default/web"][0] == first
    lost = send(emulator, ip)                     # to the stopped node's MAC: flooded, nobody takes the frame
    assert (lost.outcome, lost.reason) == (Outcome.LOST, "no host took the frame")
    dropped = {s.host for s in lost.steps_of(0)
               if s.detail == f"destination MAC {mac(emulator, first)} is not eth0's (PACKET_OTHERHOST)"}
    assert dropped == {"kind-control-plane", second}
    assert cached_mac(emulator, ip).mac == mac(emulator, first)

    cluster.advance(0.1)                          # ProbeInterval 1 s + suspicion 4 s: dead, the next one takes over
    emulator.rebuild()
    assert cluster.speakers.current["default/web"] == (second, failed_at + 5.0)
    entry = cached_mac(emulator, ip)
    assert (entry.mac, entry.state) == (mac(emulator, second), NeighbourState.STALE)   # moved by the gratuitous ARP
    after = send(emulator, ip)
    assert after.delivered and after.host == "default/web"
    assert via(after)[:2] == [EXTERNAL_HOST, second]
    messages = [e.message for e in cluster.store.list("Event", "default")
                if e.reason == "nodeAssigned" and e.get("source.component") == "metallb-speaker"]
    assert f'announcing from node "{second}" with protocol "layer2"' in messages

    cluster.recover_node(first)                   # rejoins; it ranks first, so the address moves back
    emulator.rebuild()
    assert cached_mac(emulator, ip).mac == mac(emulator, first)
    back = send(emulator, ip)
    assert back.delivered and via(back)[:2] == [EXTERNAL_HOST, first]

    emulator.close()
    second_pcap = summarize_capture(emulator.capture.path(second).read_bytes())
    garp = [line for line in second_pcap if f"{second}/eth0 out ARP" in line and ip in line]
    assert [line.split(" ", 1)[1] for line in garp] == [
        f"{second}/eth0 out ARP, Request who-has {ip} tell {ip}",
        f"{second}/eth0 out ARP, Reply {ip} is-at {mac(emulator, second)}",
    ]
    stamp = float(garp[0].split(" ", 1)[0])   # at the takeover (the rebuild's floor puts it 1 µs after)
    assert failed_at + 5 <= stamp <= failed_at + 5 + 2e-6
    external_pcap = summarize_capture(emulator.capture.path(EXTERNAL_HOST).read_bytes())
    assert any(f"{EXTERNAL_HOST}/eth0 in ARP, Request who-has {ip} tell {ip}" in line for line in external_pcap)
