"""The cluster on the simulated clock: build settles without moving time, wake-ups, advance, the build horizon."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_paths, load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import BUILD_HORIZON, Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
SLOW = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: slow\n  annotations: {netsim.dev/start-seconds: '12'}\n"
        "spec:\n  containers: [{name: c, image: x}]\n")
CRASH = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: crash\n  annotations: {netsim.dev/run-seconds: '1', "
         "netsim.dev/exit-code: '1'}\nspec:\n  containers: [{name: c, image: x}]\n")


def test_the_quickstart_settles_at_the_start_with_an_empty_queue() -> None:
    cluster = Cluster.build(TOPOLOGY, load_paths([ROOT / "cluster/quickstart"]))
    assert cluster.clock.elapsed() == 0 and not cluster.queue
    assert all(p.phase == "Running" and p.ready for p in cluster.store.list("Pod"))


def test_build_runs_what_is_due_within_the_horizon_and_no_further() -> None:
    cluster = Cluster.build(TOPOLOGY, load_text(SLOW, "slow.yaml"))
    assert cluster.clock.elapsed() == 12 and cluster.store.get("Pod", "slow", "default").phase == "Running"
    lazy = Cluster.build(TOPOLOGY, load_text(SLOW, "slow.yaml"), horizon=0)
    assert lazy.clock.elapsed() == 0 and lazy.store.get("Pod", "slow", "default").phase == "Pending"
    crash = Cluster.build(TOPOLOGY, load_text(CRASH, "crash.yaml"))   # never quiet: stops at the horizon
    assert 0 < crash.clock.elapsed() <= BUILD_HORIZON and crash.queue


def test_wake_ups_are_deduplicated_and_advance_runs_them_in_order() -> None:
    cluster = Cluster.build(TOPOLOGY, load_text(SLOW, "slow.yaml"), horizon=0)
    before = len(cluster.queue)
    cluster.wake_at(cluster.clock.now() + 12)
    cluster.wake_at(cluster.clock.now() + 12)
    assert len(cluster.queue) == before
    ran = cluster.advance(20)
    assert ran >= 1 and cluster.clock.elapsed() == 20
    assert cluster.store.get("Pod", "slow", "default").ready
