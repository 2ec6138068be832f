"""The eviction manager's local-storage limits (emptyDir sizeLimit, ephemeral-storage) and memory-backed emptyDirs."""

from __future__ import annotations

import json
from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def pod(name: str, volumes: str, usage: dict, resources: str = "", memory: str = "") -> str:
    notes = {"netsim.dev/volume-usage": json.dumps(usage)}
    if memory:
        notes["netsim.dev/memory"] = memory
    mounts = "".join(f"    - {{name: {line.split(':')[1].strip()}, mountPath: /v{i}}}\n"
                     for i, line in enumerate(volumes.splitlines()) if line.startswith("  - name:"))
    return (f"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations: {json.dumps(notes)}\n"
            f"spec:\n  nodeName: kind-worker\n  containers:\n  - name: app\n    image: nginx:1.25\n{resources}"
            f"    volumeMounts:\n{mounts}  volumes:\n{volumes}")


def evictions(cluster: Cluster, name: str) -> list[str]:
    return [e.message for e in cluster.store.list("Event", "default")
            if e.reason == "Evicted" and e.involved_object.get("name") == name]


def test_an_empty_dir_above_its_size_limit_is_evicted_with_kubelets_message() -> None:
    over = pod("over", "  - name: cache\n    emptyDir: {sizeLimit: 1024Mi}\n", {"cache": "1100Mi"})
    under = pod("under", "  - name: cache\n    emptyDir: {sizeLimit: 1Gi}\n", {"cache": "1Gi"})
    cluster = Cluster.build(TOPOLOGY, load_text(over + under, "test.yaml"), horizon=0)
    message = 'Usage of EmptyDir volume "cache" exceeds the limit "1Gi". '   # the quantity in canonical form
    p = cluster.store.get("Pod", "over", "default")
    assert (p.phase, p.status["reason"], p.status["message"]) == ("Failed", "Evicted", message)
    assert evictions(cluster, "over") == [message]
    assert cluster.store.get("Pod", "under", "default").phase == "Running"   # exactly at the limit is allowed
    assert evictions(cluster, "under") == []


def test_a_memory_empty_dir_above_its_size_limit_is_evicted_too() -> None:
    text = pod("tmp", "  - name: shm\n    emptyDir: {medium: Memory, sizeLimit: 64Mi}\n", {"shm": "65Mi"})
    cluster = Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0)
    assert evictions(cluster, "tmp") == ['Usage of EmptyDir volume "shm" exceeds the limit "64Mi". ']


def test_disk_empty_dirs_above_the_containers_ephemeral_storage_limits_evict_the_pod() -> None:
    volumes = ("  - name: scratch\n    emptyDir: {}\n  - name: logs\n    emptyDir: {}\n"
               "  - name: ram\n    emptyDir: {medium: Memory}\n")
    limit = "    resources: {limits: {ephemeral-storage: 1024Mi}}\n"
    over = pod("over", volumes, {"scratch": "1Gi", "logs": "1Mi", "ram": "5Gi"}, resources=limit)
    fits = pod("fits", volumes, {"scratch": "1Gi", "ram": "5Gi"}, resources=limit)   # memory is not local storage
    cluster = Cluster.build(TOPOLOGY, load_text(over + fits, "test.yaml"), horizon=0)
    assert evictions(cluster, "over") == ["Pod ephemeral local storage usage exceeds the total limit of containers "
                                          "1Gi. "]
    assert cluster.store.get("Pod", "fits", "default").phase == "Running"


def test_a_memory_empty_dir_counts_in_the_pods_memory_for_node_pressure() -> None:
    # kind-worker has 16Gi: 16200Mi in a tmpfs emptyDir leaves less than evictionHard's 100Mi
    hog = pod("hog", "  - name: ram\n    emptyDir: {medium: Memory}\n", {"ram": "16200Mi"}, memory="100Mi")
    disk = pod("disk", "  - name: big\n    emptyDir: {}\n", {"big": "16200Mi"}, memory="100Mi")
    cluster = Cluster.build(TOPOLOGY, load_text(disk, "test.yaml"), horizon=0)
    assert cluster.store.get("Pod", "disk", "default").phase == "Running"   # on disk: not memory
    cluster = Cluster.build(TOPOLOGY, load_text(hog, "test.yaml"), horizon=0)
    p = cluster.store.get("Pod", "hog", "default")
    assert p.phase == "Failed" and p.status["message"].startswith("The node was low on resource: memory.")
