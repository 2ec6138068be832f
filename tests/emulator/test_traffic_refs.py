"""Scenario endpoints: `external`, `nodeport/SVC@NODE:PORT`, `loadbalancer/SVC:PORT`, `node/NAME:PORT`, and their errors."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from netsim.api.errors import FieldError, NotFound
from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster
from netsim.emulator.traffic import Sender, resolve_sender, resolve_target

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store():
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"),
                            load_paths([ROOT / "tests/scenarios/data/paths"]))
    return cluster.store


def test_targets(store) -> None:
    t = resolve_target(store, "nodeport/np-cluster@kind-worker:http", "TCP", "to")
    assert (str(t.address), t.port) == ("172.18.0.3", 30080)
    t = resolve_target(store, "nodeport/default/np-local@kind-worker2:80", "TCP", "to")
    assert (str(t.address), t.port) == ("172.18.0.4", 30081)
    t = resolve_target(store, "loadbalancer/lb:80", "TCP", "to")
    assert t.address == ip_address(store.get("Service", "lb", "default").load_balancer_ips[0]) and t.port == 80
    t = resolve_target(store, "node/kind-worker2:8081", "TCP", "to")
    assert (str(t.address), t.port) == ("172.18.0.4", 8081)


def test_external_sender(store) -> None:
    outside = Sender("external", ip_address("172.18.0.1"), "external client 172.18.0.1")
    assert resolve_sender(store, "external", "from", outside) is outside
    with pytest.raises(FieldError, match="no external client"):
        resolve_sender(store, "external", "from")


@pytest.mark.parametrize("ref,error,text", [
    ("nodeport/np-cluster:80", FieldError, "service@node"),
    ("nodeport/near@kind-worker:80", FieldError, "has no nodePort"),
    ("nodeport/np-cluster@nowhere:80", NotFound, "nowhere"),
    ("loadbalancer/near:80", FieldError, "no load-balancer address"),
    ("node/kind-worker:http", FieldError, "must be a number"),
    ("thing/x:1", FieldError, "loadbalancer/NAME:PORT"),
])
def test_bad_targets(store, ref, error, text) -> None:
    with pytest.raises(error, match=text):
        resolve_target(store, ref, "TCP", "to")
