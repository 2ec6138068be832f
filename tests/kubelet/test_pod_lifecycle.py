"""Pod lifecycle on the simulated clock: start, readiness probes, restarts with back-off, termination."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.errors import FieldError
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.emulator.cluster import Cluster
from netsim.errors import NotImplementedFeature
from netsim.kubelet.lifecycle import Behaviour, container_phase

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def pod_yaml(name: str, annotations: dict | None = None, extra_spec: str = "", container_extra: str = "",
             policy: str = "Always") -> str:
    notes = "".join(f"\n    {k}: {v!r}" for k, v in (annotations or {}).items())
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations: {{}}{notes and ''}\n"
            .replace("  annotations: {}\n", "  annotations:" + (notes or " {}") + "\n")
            + f"spec:\n  restartPolicy: {policy}\n{extra_spec}  containers:\n  - name: app\n    image: nginx:1.25\n"
            + container_extra)


def build(text: str, horizon: float = 0.0) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=horizon)


def status_of(cluster: Cluster, name: str) -> str:
    row = table("Pod", [cluster.store.get("Pod", name, "default")], cluster.clock.now()).splitlines()[1]
    return row.split()[2]


def test_a_pod_without_annotations_is_running_and_ready_at_once() -> None:
    cluster = build(pod_yaml("plain"))
    pod = cluster.store.get("Pod", "plain", "default")
    assert pod.phase == "Running" and pod.ready
    assert cluster.clock.elapsed() == 0
    assert [c.type for c in pod.conditions] == ["PodReadyToStartContainers", "Initialized", "Ready",
                                                "ContainersReady", "PodScheduled"]
    reasons = [e.reason for e in cluster.store.list("Event", "default")
               if e.involved_object.get("name") == "plain"]
    assert reasons == ["Scheduled", "Pulled", "Created", "Started"]


def test_container_creating_then_running_then_ready_after_the_probe() -> None:
    probe = "    readinessProbe:\n      httpGet: {path: /, port: 80}\n      initialDelaySeconds: 5\n      periodSeconds: 10\n"
    cluster = build(pod_yaml("slow", {"netsim.dev/start-seconds": "3", "netsim.dev/ready-seconds": "12"},
                             container_extra=probe))
    assert status_of(cluster, "slow") == "ContainerCreating"
    cluster.advance(3)
    pod = cluster.store.get("Pod", "slow", "default")
    assert pod.phase == "Running" and not pod.ready and pod.pod_ip
    cluster.advance(14.9)   # probes at +5 (fails) and +15 (passes): ready 18s after admission
    assert not cluster.store.get("Pod", "slow", "default").ready
    cluster.advance(0.1)
    pod = cluster.store.get("Pod", "slow", "default")
    assert pod.ready and pod.condition("Ready").last_transition_time == "2024-01-01T00:00:18Z"


def test_a_crashing_container_backs_off_10s_doubling_to_5m() -> None:
    cluster = build(pod_yaml("crash", {"netsim.dev/run-seconds": "1", "netsim.dev/exit-code": "1"}))
    seen = []
    for _ in range(400):
        cluster.advance(1)
        seen.append(status_of(cluster, "crash"))
    assert "CrashLoopBackOff" in seen and "Running" in seen
    phase = container_phase(Behaviour(run_seconds=1, exit_code=1), "Always", 0.0, 10_000.0)
    waits = [b.started - a.finished for a, b in zip(phase.runs, phase.runs[1:])]
    assert waits[:7] == [0, 10, 20, 40, 80, 160, 300] and set(waits[7:]) == {300}
    pod = cluster.store.get("Pod", "crash", "default")
    status = pod.status["containerStatuses"][0]
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert any(e.reason == "BackOff" for e in cluster.store.list("Event", "default"))


@pytest.mark.parametrize(("policy", "code", "expected", "phase"), [
    ("Never", "0", "Completed", "Succeeded"),
    ("Never", "2", "Error", "Failed"),
    ("OnFailure", "0", "Completed", "Succeeded"),
])
def test_exits_under_restart_policy(policy: str, code: str, expected: str, phase: str) -> None:
    cluster = build(pod_yaml("job", {"netsim.dev/run-seconds": "5", "netsim.dev/exit-code": code}, policy=policy),
                    horizon=60)
    assert status_of(cluster, "job") == expected
    assert cluster.store.get("Pod", "job", "default").phase == phase


def test_oom_killed_and_create_container_error() -> None:
    oom = pod_yaml("oom", {"netsim.dev/memory": "200Mi", "netsim.dev/run-seconds": "2"}, policy="Never",
                   container_extra="    resources: {limits: {memory: 100Mi}}\n")
    cluster = build(oom + "---\n" + pod_yaml("bad", {"netsim.dev/create-error": "no such file"}), horizon=10)
    assert status_of(cluster, "oom") == "OOMKilled"
    assert status_of(cluster, "bad") == "CreateContainerError"
    assert cluster.store.get("Pod", "bad", "default").phase == "Pending"   # getPhase: waiting, never ran


def test_init_containers_run_first() -> None:
    init = "  initContainers:\n  - name: setup\n    image: busybox\n"
    cluster = build(pod_yaml("init", {"netsim.dev/init-seconds": "4"}, extra_spec=init))
    assert status_of(cluster, "init") == "Init:0/1"
    assert cluster.store.get("Pod", "init", "default").condition("Initialized").status == "False"
    cluster.advance(4)
    pod = cluster.store.get("Pod", "init", "default")
    assert pod.phase == "Running" and pod.condition("Initialized").status == "True"


def test_termination_waits_for_prestop_then_sigterm_and_sigkill_at_the_grace_period() -> None:
    prestop = "    lifecycle:\n      preStop:\n        exec: {command: [sh, -c, 'sleep 5']}\n"
    text = (pod_yaml("graceful", {"netsim.dev/shutdown-seconds": "2"}, container_extra=prestop) + "---\n"
            + pod_yaml("stubborn", {"netsim.dev/shutdown-seconds": "1000"},
                       extra_spec="  terminationGracePeriodSeconds: 10\n"))
    cluster = build(text)
    store = cluster.store
    store.delete("Pod", "graceful", "default")
    store.delete("Pod", "stubborn", "default")
    cluster.advance(6.9)
    assert status_of(cluster, "graceful") == "Terminating"
    cluster.advance(0.1)     # preStop 5s + 2s after SIGTERM
    assert store.try_get("Pod", "graceful", "default") is None
    cluster.advance(2.9)
    assert store.try_get("Pod", "stubborn", "default") is not None
    cluster.advance(0.1)     # SIGKILL at the 10s grace period
    assert store.try_get("Pod", "stubborn", "default") is None
    assert any(e.reason == "Killing" and e.message == "Stopping container app" for e in store.list("Event", "default"))


def test_same_seed_same_events() -> None:
    def run() -> list:
        cluster = build(pod_yaml("crash", {"netsim.dev/run-seconds": "3", "netsim.dev/exit-code": "1"}))
        cluster.advance(120)
        return [(e.name, e.uid, e.reason, e.get("count")) for e in cluster.store.list("Event", "default")]
    assert run() == run()


def test_unpullable_images_err_image_pull_then_image_pull_back_off() -> None:
    import dataclasses

    topology = dataclasses.replace(TOPOLOGY, unpullable_images=("nginx:404",))
    cluster = Cluster.build(topology, load_text(pod_yaml("nope").replace("nginx:1.25", "nginx:404"), "t.yaml"),
                            horizon=0)
    seen = []
    for _ in range(60):
        seen.append(status_of(cluster, "nope"))
        cluster.advance(1)
    assert seen[0] == "ErrImagePull" and seen[10] == "ImagePullBackOff" and seen[20] == "ErrImagePull"
    assert seen[30] == "ImagePullBackOff" and seen[49] == "ImagePullBackOff" and seen[50] == "ErrImagePull"
    messages = [e.message for e in cluster.store.list("Event", "default") if e.reason == "Failed"]
    assert "Error: ImagePullBackOff" in messages and "Error: ErrImagePull" in messages
    assert cluster.store.get("Pod", "nope", "default").phase == "Pending"


def test_topology_field_unpullable_images(tmp_path) -> None:
    from netsim.api.topology import load_topology_text

    text = (ROOT / "topologies/three-node.yaml").read_text() + "  unpullableImages: [example.com/missing:1]\n"
    assert load_topology_text(text, "t.yaml").unpullable_images == ("example.com/missing:1",)


def test_endpoint_slices_follow_the_pod_over_time() -> None:
    probe = "    readinessProbe:\n      tcpSocket: {port: 80}\n      periodSeconds: 5\n"
    pod = pod_yaml("web", {"netsim.dev/ready-seconds": "5", "netsim.dev/shutdown-seconds": "8"},
                   container_extra="    ports: [{containerPort: 80}]\n" + probe).replace(
        "  name: web\n", "  name: web\n  labels: {app: web}\n")
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
    cluster = build(pod + "---\n" + svc)

    def conditions():
        (slice_,) = [s for s in cluster.store.list("EndpointSlice", "default") if s.service_name == "web"]
        return [(e.conditions.ready, e.conditions.serving, e.conditions.terminating) for e in slice_.endpoints]

    assert conditions() == [(False, False, False)]       # running, probe not passed yet
    cluster.advance(5)
    assert conditions() == [(True, True, False)]
    cluster.store.delete("Pod", "web", "default")
    cluster.settle()
    assert conditions() == [(False, True, True)]          # terminating, still serving until it stops
    cluster.advance(8)
    assert conditions() == []


def test_the_seeds_nine_termination_steps() -> None:
    prestop = ("    ports: [{containerPort: 80}]\n    lifecycle:\n      preStop:\n"
               "        exec: {command: [/bin/sh, -c, sleep 10]}\n")
    pod = pod_yaml("web", {"netsim.dev/shutdown-seconds": "30"}, extra_spec="  terminationGracePeriodSeconds: 25\n",
                   container_extra=prestop).replace("  name: web\n", "  name: web\n  labels: {app: web}\n")
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
    cluster = build(pod + "---\n" + svc)
    store = cluster.store

    def endpoint():
        (slice_,) = [s for s in store.list("EndpointSlice", "default") if s.service_name == "web"]
        return slice_.endpoints[0].conditions if slice_.endpoints else None

    store.delete("Pod", "web", "default")                               # (1) the delete request
    marked = store.get("Pod", "web", "default")
    assert marked.deletion_timestamp == "2024-01-01T00:00:25Z"          # (2)(3) deletionTimestamp, grace 25s
    cluster.settle()
    assert status_of(cluster, "web") == "Terminating"
    assert endpoint().terminating and not endpoint().ready              # (5) out of the Service's endpoints
    assert [e.reason for e in store.list("Event", "default") if e.reason == "Killing"] == ["Killing"]   # (4) preStop
    cluster.advance(24.9)                                               # (6)(7) SIGTERM at 10s; app needs 30s
    assert store.try_get("Pod", "web", "default") is not None
    cluster.advance(0.1)                                                # (8) SIGKILL at the grace period
    assert store.try_get("Pod", "web", "default") is None               # (9) the pod is gone
    assert endpoint() is None


def test_memory_pressure_evicts_the_pod_using_most_above_its_request() -> None:
    hog = pod_yaml("hog", {"netsim.dev/memory": "16300Mi"}, extra_spec="  nodeName: kind-worker\n")
    calm = pod_yaml("calm", {"netsim.dev/memory": "50Mi"},
                    extra_spec="  nodeName: kind-worker\n",
                    container_extra="    resources: {requests: {memory: 100Mi}}\n")
    cluster = build(hog + "---\n" + calm)
    assert status_of(cluster, "hog") == "Evicted" and status_of(cluster, "calm") == "Running"
    pod = cluster.store.get("Pod", "hog", "default")
    assert pod.phase == "Failed" and pod.status["message"].startswith(
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: ")
    assert any(e.reason == "Evicted" for e in cluster.store.list("Event", "default"))


def test_failed_readiness_probes_are_unhealthy_events_counted() -> None:
    probe = ("    ports: [{name: http, containerPort: 8080}]\n    readinessProbe:\n"
             "      httpGet: {path: /healthz, port: http}\n      periodSeconds: 5\n")
    cluster = build(pod_yaml("warm", {"netsim.dev/ready-seconds": "12"}, container_extra=probe))
    cluster.advance(20)
    (event,) = [e for e in cluster.store.list("Event", "default") if e.reason == "Unhealthy"]
    ip = cluster.store.get("Pod", "warm", "default").pod_ip
    assert event.message == (f'Readiness probe failed: Get "http://{ip}:8080/healthz": '
                             f"dial tcp {ip}:8080: connect: connection refused")
    assert event.get("count") == 3 and event.get("lastTimestamp") == "2024-01-01T00:00:10Z"   # probes at 0, 5, 10
    assert cluster.store.get("Pod", "warm", "default").condition("Ready").last_transition_time == "2024-01-01T00:00:15Z"


SIDECAR = "  - name: sidecar\n    image: busybox:1.36\n"


def test_per_container_annotations_make_containers_differ() -> None:
    crash = pod_yaml("two", {"netsim.dev/sidecar.run-seconds": "1", "netsim.dev/sidecar.exit-code": "1"},
                     container_extra=SIDECAR)
    cluster = build(crash)
    cluster.advance(3)                        # the sidecar exited at 1 and 2 (restart at once), back-off to 12
    row = table("Pod", [cluster.store.get("Pod", "two", "default")], cluster.clock.now()).splitlines()[1].split()
    assert row[1:3] == ["1/2", "CrashLoopBackOff"]
    app, sidecar = cluster.store.get("Pod", "two", "default").status["containerStatuses"]
    assert app["ready"] and app["restartCount"] == 0 and "running" in app["state"]
    assert not sidecar["ready"] and sidecar["restartCount"] == 1
    assert cluster.store.get("Pod", "two", "default").condition("Ready").message == \
        "containers with unready status: [sidecar]"


def test_a_per_container_key_overrides_the_pod_wide_one() -> None:
    probe = "    readinessProbe:\n      tcpSocket: {port: 80}\n      periodSeconds: 5\n"
    text = pod_yaml("slow", {"netsim.dev/ready-seconds": "10", "netsim.dev/app.ready-seconds": "0"},
                    container_extra=probe + SIDECAR + probe)
    cluster = build(text)
    assert status_of(cluster, "slow") == "Running"
    row = table("Pod", [cluster.store.get("Pod", "slow", "default")], cluster.clock.now()).splitlines()[1].split()
    assert row[1] == "1/2"
    cluster.advance(10)
    assert cluster.store.get("Pod", "slow", "default").ready


def test_a_per_container_key_must_name_a_container() -> None:
    with pytest.raises(FieldError, match=r"metadata.annotations\[netsim.dev/web.exit-code\]: names container 'web'"):
        build(pod_yaml("typo", {"netsim.dev/web.exit-code": "1"}))


def test_status_unknown_prints_as_kubectl_does() -> None:
    """No current component sets phase Unknown or reason NodeLost; kubectl still prints both as Unknown."""
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: lost, deletionTimestamp: '2024-01-01T00:00:00Z'}\n"
            "spec:\n  nodeName: kind-worker\n  containers: [{name: app, image: nginx:1.25}]\n"
            "status:\n  phase: Running\n  reason: NodeLost\n"
            "  message: Node kind-worker which was running pod lost is unresponsive\n"
            "---\napiVersion: v1\nkind: Pod\nmetadata: {name: unknown}\n"
            "spec:\n  nodeName: kind-worker\n  containers: [{name: app, image: nginx:1.25}]\n"
            "status: {phase: Unknown}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: going, "
            "deletionTimestamp: '2024-01-01T00:00:00Z'}\n"
            "spec:\n  nodeName: kind-worker\n  containers: [{name: app, image: nginx:1.25}]\nstatus: {phase: Running}\n")
    pods = [m.obj for m in load_text(text, "dump.yaml")]
    rows = [line.split() for line in table("Pod", pods, 0.0).splitlines()[1:]]
    assert [(r[0], r[2]) for r in rows] == [("lost", "Unknown"), ("unknown", "Unknown"), ("going", "Terminating")]


def _tmpfs_pod(name: str, usage: str, second: str = "") -> str:
    return ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  annotations:\n"
            "    netsim.dev/memory: 100Mi\n    netsim.dev/volume-usage: '{\"shm\": \"" + usage + "\"}'\n"
            "spec:\n  containers:\n  - name: app\n    image: nginx:1.25\n"
            "    resources: {limits: {memory: 256Mi}}\n    volumeMounts: [{name: shm, mountPath: /dev/shm}]\n"
            + second + "  volumes:\n  - name: shm\n    emptyDir: {medium: Memory}\n")


def test_a_memory_empty_dir_counts_against_the_containers_memory_limit() -> None:
    cluster = build(_tmpfs_pod("fits", "150Mi") + "---\n" + _tmpfs_pod("tmpfs", "200Mi"))
    assert status_of(cluster, "fits") == "Running"                  # 100Mi + 150Mi <= 256Mi
    status = cluster.store.get("Pod", "tmpfs", "default").status["containerStatuses"][0]
    assert status["lastState"]["terminated"]["reason"] == "OOMKilled"   # 100Mi + 200Mi > 256Mi: at once
    assert status["lastState"]["terminated"]["exitCode"] == 137
    cluster.advance(1)
    assert status_of(cluster, "tmpfs") == "CrashLoopBackOff"


def test_whose_cgroup_a_memory_empty_dir_is_charged_to_in_a_multi_container_pod_is_not_guessed() -> None:
    second = "  - name: sidecar\n    image: busybox:1.36\n"
    with pytest.raises(NotImplementedFeature, match="medium: Memory emptyDir is charged to"):
        build(_tmpfs_pod("shared", "200Mi", second))
