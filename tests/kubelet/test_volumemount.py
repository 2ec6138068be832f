"""Volume set-up before the sandbox: FailedMount retries with the operation executor's back-off, PVC errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.emulator.cluster import Cluster
from netsim.errors import NotImplementedFeature
from netsim.kubelet.podfiles import container_mounts

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def pod(volumes: str, mounts: str = "    volumeMounts: [{name: cfg, mountPath: /etc/cfg}]\n", spec: str = "") -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n{spec}  containers:\n  - name: app\n"
            f"    image: nginx:1.25\n{mounts}  volumes:\n{volumes}")


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0)


def status_of(cluster: Cluster) -> str:
    return table("Pod", [cluster.store.get("Pod", "p", "default")], cluster.clock.now()).splitlines()[1].split()[2]


def mount_events(cluster: Cluster) -> list[tuple[str, str, int, str]]:
    return [(e.type, e.message, e.get("count"), e.get("lastTimestamp")) for e in cluster.store.list("Event", "default")
            if e.reason == "FailedMount"]


def create(cluster: Cluster, kind: str, name: str, **body) -> None:
    cluster.store.create({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "default"}, **body})


def test_a_missing_configmap_holds_the_pod_in_container_creating_with_backed_off_failed_mounts() -> None:
    cluster = build(pod("  - name: cfg\n    configMap: {name: late}\n"))
    cluster.advance(200)
    p = cluster.store.get("Pod", "p", "default")
    assert p.phase == "Pending" and status_of(cluster) == "ContainerCreating" and not p.pod_ip
    assert p.condition("PodReadyToStartContainers").status == "False"
    # tries at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 63.5 and 127.5s (500ms doubling); the next at 249.5 (+2m2s);
    # the 2m3s mount wait that timed out at 123s recorded nothing (wait.Interrupted)
    assert mount_events(cluster) == [
        ("Warning", 'MountVolume.SetUp failed for volume "cfg" : configmap "late" not found', 9, "2024-01-01T00:02:07Z")]
    create(cluster, "ConfigMap", "late", data={"k": "v"})
    cluster.advance(49.5)   # t=249.5: the retry mounts it, inside the second wait (133s to 256s)
    assert status_of(cluster) == "ContainerCreating"
    cluster.advance(0.2)    # t=249.7: that wait's next 300ms poll lets the sandbox come up
    p = cluster.store.get("Pod", "p", "default")
    assert p.phase == "Running" and p.pod_ip
    assert p.status["containerStatuses"][0]["state"]["running"]["startedAt"] == "2024-01-01T00:04:09Z"
    assert mount_events(cluster)[0][2] == 9


def test_mounted_between_two_waits_starts_at_the_next_sync() -> None:
    cluster = build(pod("  - name: cfg\n    configMap: {name: late}\n"))
    cluster.advance(100)
    create(cluster, "ConfigMap", "late", data={"k": "v"})
    cluster.advance(28)     # the retry at 127.5s mounts it, after the first wait timed out at 123s
    assert status_of(cluster) == "ContainerCreating"
    cluster.advance(5)      # the pod worker's retry 10s later finds it mounted at once
    p = cluster.store.get("Pod", "p", "default")
    assert p.phase == "Running"
    assert p.status["containerStatuses"][0]["state"]["running"]["startedAt"] == "2024-01-01T00:02:13Z"


@pytest.mark.parametrize(("volume", "message"), [
    ("  - name: cfg\n    secret: {secretName: creds}\n", 'secret "creds" not found'),
    ("  - name: cfg\n    configMap: {name: have, items: [{key: nope, path: x}]}\n",
     "configmap references non-existent config key: nope"),
    ("  - name: cfg\n    secret: {secretName: have, items: [{key: nope, path: x}]}\n",
     "references non-existent secret key: nope"),
    ("  - name: cfg\n    projected:\n      sources:\n      - configMap: {name: a}\n      - secret: {name: b}\n"
     "      - configMap: {name: c, optional: true}\n",
     '[configmap "a" not found, secret "b" not found]'),
    ("  - name: cfg\n    projected:\n      sources:\n      - secret: {name: b}\n", 'secret "b" not found'),
])
def test_each_plugins_setup_error(volume: str, message: str) -> None:
    objects = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: have}\ndata: {k: v}\n---\n"
               "apiVersion: v1\nkind: Secret\nmetadata: {name: have}\nstringData: {k: v}\n---\n")
    cluster = build(objects + pod(volume))
    assert status_of(cluster) == "ContainerCreating"
    assert mount_events(cluster) == [("Warning", f'MountVolume.SetUp failed for volume "cfg" : {message}', 1,
                                      "2024-01-01T00:00:00Z")]


def test_optional_sources_and_unused_volumes_do_not_hold_the_pod() -> None:
    volumes = ("  - name: cfg\n    configMap: {name: absent, optional: true}\n"
               "  - name: unused\n    secret: {secretName: absent}\n")
    cluster = build(pod(volumes))
    assert cluster.store.get("Pod", "p", "default").phase == "Running"
    assert mount_events(cluster) == []


CLAIM = ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: claim}\nspec:\n  storageClassName: ''\n"
         "  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n---\n")


def test_a_pod_bypassing_the_scheduler_waits_for_its_claim_to_bind() -> None:
    cluster = build(CLAIM + pod("  - name: data\n    persistentVolumeClaim: {claimName: claim}\n",
                                "    volumeMounts: [{name: data, mountPath: /data}]\n",
                                spec="  nodeName: kind-worker\n"))
    cluster.advance(25)   # syncs at 0, 10.3 and 20.6s, each ended 300ms later by the populator's error
    assert status_of(cluster) == "ContainerCreating"
    assert mount_events(cluster) == [(
        "Warning", "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to "
        "process volumes=[data]: error processing PVC default/claim: PVC is not bound", 3, "2024-01-01T00:00:20Z")]
    cluster.store.create({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
                          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                   "storageClassName": "", "hostPath": {"path": "/srv/pv1"}}})
    cluster.advance(6.1)  # t=31.1: the claim is bound; the sync at 30.9 sees its volume mounted at 31.2
    assert cluster.store.get("PersistentVolumeClaim", "claim", "default").status["phase"] == "Bound"
    assert status_of(cluster) == "ContainerCreating"
    cluster.advance(0.2)
    p = cluster.store.get("Pod", "p", "default")
    assert p.phase == "Running"
    assert p.status["containerStatuses"][0]["state"]["running"]["startedAt"] == "2024-01-01T00:00:31Z"


def test_a_claim_bound_in_the_instant_the_pod_was_placed_is_mounted_300ms_later() -> None:
    cluster = build("apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv1}\nspec:\n"
                    "  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: ''\n"
                    "  hostPath: {path: /srv/pv1}\n---\n" + CLAIM
                    + pod("  - name: data\n    persistentVolumeClaim: {claimName: claim}\n",
                          "    volumeMounts: [{name: data, mountPath: /data}]\n", spec="  nodeName: kind-worker\n"))
    assert status_of(cluster) == "ContainerCreating"
    cluster.advance(0.3)
    assert cluster.store.get("Pod", "p", "default").phase == "Running"
    assert mount_events(cluster) == []


def test_a_missing_claim_is_the_api_servers_not_found() -> None:
    cluster = build(pod("  - name: data\n    persistentVolumeClaim: {claimName: gone}\n",
                        "    volumeMounts: [{name: data, mountPath: /data}]\n", spec="  nodeName: kind-worker\n"))
    cluster.advance(0.3)
    assert mount_events(cluster)[0][1].endswith(
        'failed to process volumes=[data]: error processing PVC default/gone: failed to fetch PVC from API server: '
        'persistentvolumeclaims "gone" not found')


def test_a_volume_whose_object_went_away_after_the_start_is_refused_by_name() -> None:
    cluster = build("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {k: v}\n---\n"
                    + pod("  - name: cfg\n    configMap: {name: cfg}\n"))
    assert cluster.store.get("Pod", "p", "default").phase == "Running"
    cluster.store.delete("ConfigMap", "cfg", "default")
    p = cluster.store.get("Pod", "p", "default")
    with pytest.raises(NotImplementedFeature, match="volume 'cfg': configmap \"cfg\" not found — it was there when "
                                                    "the volume mounted"):
        container_mounts(cluster.store, p, "app", TOPOLOGY, cluster.seed)
