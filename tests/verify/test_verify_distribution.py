"""`distribution`: the vectorized cascade draw agrees with the probabilities and with packets walked one by one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.verify.distribution import FULL, Cascade, Endpoint, distribution

ROOT = Path(__file__).resolve().parents[2]


def emulator(folder: str, seed: int = 0) -> Emulator:
    topology = load_topology(ROOT / "topologies/three-node.yaml")
    return Emulator(Cluster.build(topology, load_paths([ROOT / folder]), seed=seed))


def flow(source: str, destination: str) -> FlowSpec:
    return FlowSpec("t", source, destination)


def test_kube_proxy_probabilities_make_an_even_split() -> None:
    # kube-proxy writes 1/3, 1/2, then no statistic for three endpoints
    cascade = Cascade("n", "KUBE-SVC-X", tuple(
        Endpoint(f"KUBE-SEP-{i}", f"10.0.0.{i}:80", None, t)
        for i, t in enumerate((715827883, FULL // 2, FULL))), affinity=False)
    shares = cascade.shares()
    assert shares[:3] == pytest.approx([1 / 3] * 3, abs=1e-9) and shares[3] == 0
    picks = cascade.draw(np.random.default_rng(1), 300_000)
    assert np.bincount(picks, minlength=4)[:3] / 300_000 == pytest.approx([1 / 3] * 3, abs=0.005)


def test_three_replicas_draw_and_walk_agree() -> None:
    result = distribution(emulator("cluster/affinity"), flow("pod/client", "service/web:80"), 30_000, sample=300)
    assert result.cascade is not None and len(result.cascade.endpoints) == 3
    assert result.cascade.chain.startswith("KUBE-SVC-") and not result.cascade.affinity
    assert result.expected == pytest.approx((1 / 3,) * 3, abs=1e-9)
    assert sum(result.counts) == 30_000 and sum(result.sample_counts) == 300
    assert all(label.startswith("default/web-") for label in result.labels)
    assert result.fit is not None and result.fit.p_value > 0.001
    assert result.sample_agreement is not None and result.sample_agreement.p_value > 0.001
    assert result.sample_outside == ()


def test_same_seed_same_counts() -> None:
    a = distribution(emulator("cluster/affinity"), flow("pod/client", "service/web:80"), 5000, sample=20)
    b = distribution(emulator("cluster/affinity"), flow("pod/client", "service/web:80"), 5000, sample=20)
    assert a.format() == b.format()


def test_session_affinity_pins_the_client() -> None:
    result = distribution(emulator("cluster/affinity"), flow("pod/client", "service/sticky:80"), 1000, sample=50)
    assert result.cascade is not None and result.cascade.affinity
    assert sorted(result.counts) == [0, 0, 1000]
    assert result.fit is None and result.sample_outside == ()
    assert any("stuck to default/web-" in n for n in result.notes)
    assert any("sessionAffinity ClientIP" in n for n in result.notes)


def test_external_traffic_policy_local() -> None:
    emu = emulator("cluster/external")
    local = distribution(emu, flow("external", "nodeport/np-local@kind-worker2:80"), 500, sample=10)
    assert local.cascade is not None and local.cascade.chain.startswith("KUBE-SVL-")
    assert local.labels == ("default/web",) and local.counts == (500,)
    assert any("externalTrafficPolicy Local" in n for n in local.notes)
    elsewhere = distribution(emu, flow("external", "nodeport/np-local@kind-worker:80"), 500, sample=10)
    assert elsewhere.cascade is None
    assert elsewhere.labels[0].startswith("dropped on kind-worker") and elsewhere.sample_counts == (10,)
