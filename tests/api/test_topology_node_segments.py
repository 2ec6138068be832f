"""netsim.nodeNetworkPerZone: read, defaulted, validated; the shipped topology that sets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.errors import InvalidObject
from netsim.api.topology import CNI, load_topology, topology_from_dict

ROOT = Path(__file__).resolve().parents[2]
HEAD = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}


def test_default_is_one_segment() -> None:
    assert topology_from_dict(HEAD).node_network_per_zone is False


def test_shipped_files() -> None:
    assert load_topology(ROOT / "topologies/three-zone-segments.yaml").node_network_per_zone is True
    assert load_topology(ROOT / "topologies/three-node-vxlan.yaml").cni is CNI.VXLAN
    assert load_topology(ROOT / "topologies/three-node-ptp.yaml").cni is CNI.PTP


def test_must_be_a_boolean() -> None:
    with pytest.raises(InvalidObject) as err:
        topology_from_dict({**HEAD, "netsim": {"nodeNetworkPerZone": "yes"}}, "topologies/bad.yaml")
    assert "netsim.nodeNetworkPerZone: must be true or false" in str(err.value)
