"""End to end: what a pod's containers see — ConfigMap and Secret env and files, a missing key that holds a
container in CreateContainerConfigError until the ConfigMap appears, and the seed's Prometheus `df -hT`."""

from __future__ import annotations

from pathlib import Path

from netsim.api.apply import apply_manifests
from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.cli.exec import exec_in_pod
from netsim.cli.get import get
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/scenarios/data/pod-config"
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def sh(cluster: Cluster, pod: str, command: str, namespace: str = "default") -> str:
    return exec_in_pod(cluster.store, cluster.topology, pod, namespace, None, command.split(), cluster.seed)


def test_configmap_and_secret_reach_env_and_files() -> None:
    cluster = Cluster.build(TOPOLOGY, load_paths([DATA / "config.yaml"]))
    env = dict(line.split("=", 1) for line in sh(cluster, "web", "printenv").splitlines() if "=" in line)
    assert env["LOG_LEVEL"] == "debug" and env["APP_username"] == "admin" and env["PASSWORD"] == "s3cr3t"
    assert env["CPU_MILLIS"] == "500" and env["POD_IP"] == cluster.store.get("Pod", "web", "default").pod_ip
    assert sh(cluster, "web", "cat /etc/config/game.properties") == "enemies=aliens\nlives=3\n"
    assert sh(cluster, "web", "cat /etc/podinfo/labels") == 'app="web"\ntier="front"'
    assert sh(cluster, "web", "ls /etc/secret") == "db\n"


def test_a_missing_key_waits_in_create_container_config_error_until_the_configmap_exists() -> None:
    cluster = Cluster.build(TOPOLOGY, load_paths([DATA / "missing-key.yaml"]), horizon=0)
    row = get(cluster, "pods", namespace="default").splitlines()[1].split()
    assert row[:3] == ["needs-config", "0/1", "CreateContainerConfigError"]
    cluster.advance(15)
    apply_manifests(cluster.store, load_paths([DATA / "late-config.yaml"]))
    cluster.advance(5)   # the kubelet's next retry, 20s after the first try
    pod = cluster.store.get("Pod", "needs-config", "default")
    assert pod.phase == "Running" and pod.ready
    reasons = [(e.reason, e.get("count")) for e in cluster.store.list("Event", "default")
               if e.involved_object.get("name") == "needs-config"]
    assert ("Failed", 2) in reasons and ("Started", 1) in reasons
    assert "MODE=fast" in sh(cluster, "needs-config", "env").splitlines()


def test_the_seeds_prometheus_volume_is_full_in_df() -> None:
    cluster = Cluster.build(TOPOLOGY, load_paths([DATA / "prometheus.yaml"]))
    lines = sh(cluster, "foo-pod", "df -hT", "prometheus").splitlines()
    assert lines[0] == "Filesystem     Type     Size  Used Avail Use% Mounted on"
    # the seed's line: ext4's metadata leaves 197G of the 200Gi device (kubelet/podfiles.py), all of it used
    assert "/dev/vdb       ext4     197G  197G     0 100% /prometheus" in lines
