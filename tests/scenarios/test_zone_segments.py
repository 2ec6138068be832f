"""netsim.nodeNetworkPerZone: one segment per zone, the external host routing between them (a router hop on the way)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from netsim.api.load import load_paths
from netsim.api.topology import CNI, load_topology
from netsim.dataplane.trace import Outcome, StepKind
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.verify.summary import packet_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["bridge", "vxlan", "ptp"])
def emulator(request) -> Emulator:
    topology = replace(load_topology(ROOT / "topologies/three-zone-segments.yaml"), cni=CNI(request.param))
    return Emulator(Cluster.build(topology, load_paths([ROOT / "tests/scenarios/data/paths"]), seed=0))


def test_segments_and_router(emulator: Emulator) -> None:
    net = emulator.network
    assert net.segment_members("nodes-zone-a") == [("external", "eth1"), ("kind-worker", "eth0")]
    assert ("kind-control-plane", "eth0") in net.segment_members("nodes")
    router = net.host("external")
    assert "172.18.0.3 dev eth1 proto static scope link" in router.route_show()
    assert all(router.interface(i).proxy_arp for i in ("eth0", "eth1", "eth2", "eth3"))


@pytest.mark.parametrize("source,target,hosts", [
    ("pod/client", "service/far:80",
     ["default/client", "kind-worker", "external", "kind-worker2", "default/web-b"]),
    ("external", "nodeport/np-cluster@kind-worker:80",
     ["external", "kind-worker", "external", "kind-worker2", "default/web-b"]),
    ("external", "loadbalancer/lb:80", ["external", "kind-worker2", "default/web-b"]),
    ("pod/client", "node/kind-worker2:8081",
     ["default/client", "kind-worker", "external", "kind-worker2", "default/hostport"]),
])
def test_cross_zone_paths_take_the_router_hop(emulator: Emulator, source, target, hosts) -> None:
    (conn,) = emulator.send(FlowSpec("x", source, target))
    path = packet_path(conn.result)
    assert path.outcome is Outcome.DELIVERED and list(path.hosts) == hosts, conn.result.format()
    assert conn.result.received, conn.result.format()
    if source == "pod/client" and emulator.cluster.topology.cni is not CNI.VXLAN:
        # 64 from the pod, minus kind-worker, the router and kind-worker2
        arrived = [s for s in conn.result.steps_of(0) if s.kind is StepKind.FRAME_IN and s.host == hosts[-1]]
        assert arrived[-1].summary.endswith("ttl 61")
