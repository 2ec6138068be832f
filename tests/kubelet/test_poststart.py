"""postStart hooks on the simulated clock: a slow hook holds the status, a failing one kills the container
(FailedPostStartHook, PostStartHookError, then CrashLoopBackOff), as kuberuntime's startContainer does."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.errors import FieldError
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
EXEC_HOOK = "    lifecycle:\n      postStart:\n        exec: {command: [sh, -c, /bin/warmup]}\n"
HTTP_HOOK = ("    ports: [{name: web, containerPort: 8080}]\n"
             "    lifecycle:\n      postStart:\n        httpGet: {path: /warm, port: web}\n")


def pod_yaml(name: str, annotations: dict, hook: str, policy: str = "Always") -> str:
    notes = "".join(f"\n    {k}: {v!r}" for k, v in annotations.items())
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations:{notes or ' {}'}\n"
            f"spec:\n  restartPolicy: {policy}\n  containers:\n  - name: app\n    image: nginx:1.25\n{hook}")


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0.0)


def status_of(cluster: Cluster, name: str) -> str:
    return table("Pod", [cluster.store.get("Pod", name, "default")], cluster.clock.now()).splitlines()[1].split()[2]


def events(cluster: Cluster, name: str) -> list[tuple[str, str, int]]:
    return [(e.reason, e.message, e.get("count") or 1) for e in cluster.store.list("Event", "default")
            if e.involved_object.get("name") == name and e.reason != "Scheduled"]


def test_a_slow_hook_keeps_the_container_creating_until_it_is_done() -> None:
    cluster = build(pod_yaml("warm", {"netsim.dev/poststart-seconds": "5"}, EXEC_HOOK))
    pod = cluster.store.get("Pod", "warm", "default")
    assert status_of(cluster, "warm") == "ContainerCreating" and pod.phase == "Pending" and not pod.ready
    assert [r for r, _, _ in events(cluster, "warm")] == ["Pulled", "Created", "Started"]   # started before the hook
    cluster.advance(4.9)
    assert status_of(cluster, "warm") == "ContainerCreating"
    cluster.advance(0.1)
    pod = cluster.store.get("Pod", "warm", "default")
    assert pod.phase == "Running" and pod.ready
    assert pod.condition("Ready").last_transition_time == "2024-01-01T00:00:05Z"
    assert pod.status["containerStatuses"][0]["state"]["running"]["startedAt"] == "2024-01-01T00:00:00Z"


def test_a_sleep_in_the_hook_is_read_from_the_spec() -> None:
    hook = "    lifecycle:\n      postStart:\n        sleep: {seconds: 3}\n"
    cluster = build(pod_yaml("nap", {}, hook))
    assert status_of(cluster, "nap") == "ContainerCreating"
    cluster.advance(3)
    assert status_of(cluster, "nap") == "Running"


def test_a_failing_exec_hook_kills_the_container_then_crash_loops() -> None:
    cluster = build(pod_yaml("hook", {"netsim.dev/poststart-seconds": "5", "netsim.dev/poststart-exit-code": "126"},
                             EXEC_HOOK))
    uid = cluster.store.get("Pod", "hook", "default").uid
    cluster.advance(5)     # the hook fails at 5s: killed, restarted at once, the new run's hook runs
    assert status_of(cluster, "hook") == "PostStartHookError"
    status = cluster.store.get("Pod", "hook", "default").status["containerStatuses"][0]
    assert status["state"]["waiting"]["message"] == (
        f'Exec lifecycle hook ([sh -c /bin/warmup]) for Container "app" in Pod "hook_default({uid})" failed - '
        "error: command 'sh -c /bin/warmup' exited with 126: , message: \"\"")
    assert status["lastState"]["terminated"]["exitCode"] == 143 and status["restartCount"] == 0
    assert events(cluster, "hook")[3:] == [("FailedPostStartHook", "PostStartHook failed", 1),
                                           ("Killing", "FailedPostStartHook", 1)]
    cluster.advance(5)     # the second failure: the back-off turns it into CrashLoopBackOff
    assert status_of(cluster, "hook") == "CrashLoopBackOff"
    status = cluster.store.get("Pod", "hook", "default").status["containerStatuses"][0]
    assert status["restartCount"] == 1
    cluster.advance(10)    # the third run's hook: the status stays as the back-off left it
    assert status_of(cluster, "hook") == "CrashLoopBackOff"
    cluster.advance(5)
    pod = cluster.store.get("Pod", "hook", "default")
    assert pod.status["containerStatuses"][0]["restartCount"] == 2
    assert ("FailedPostStartHook", "PostStartHook failed", 3) in events(cluster, "hook")


def test_a_failing_http_hook_finds_nothing_listening() -> None:
    cluster = build(pod_yaml("web", {"netsim.dev/poststart-seconds": "1", "netsim.dev/poststart-exit-code": "1"},
                             HTTP_HOOK))
    cluster.advance(1)
    pod = cluster.store.get("Pod", "web", "default")
    message = pod.status["containerStatuses"][0]["state"]["waiting"]["message"]
    assert message == (f'HTTP lifecycle hook (/warm) for Container "app" in Pod "web_default({pod.uid})" failed - '
                       f'error: Get "http://{pod.pod_ip}:8080/warm": dial tcp {pod.pod_ip}:8080: connect: '
                       "connection refused")


def test_with_restart_policy_never_a_failed_hook_fails_the_pod() -> None:
    cluster = build(pod_yaml("once", {"netsim.dev/poststart-exit-code": "1", "netsim.dev/shutdown-seconds": "2"},
                             EXEC_HOOK, policy="Never"))
    cluster.advance(2)     # SIGTERM at the failure, exits 2s later
    pod = cluster.store.get("Pod", "once", "default")
    assert pod.phase == "Failed" and status_of(cluster, "once") == "Error"
    assert pod.status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 143


def test_a_hook_that_cannot_fail_or_outlives_its_container_is_an_error() -> None:
    sleep = "    lifecycle:\n      postStart:\n        sleep: {seconds: 3}\n"
    with pytest.raises(FieldError, match="a sleep hook cannot fail"):
        build(pod_yaml("nap", {"netsim.dev/app.poststart-exit-code": "1"}, sleep))
    with pytest.raises(FieldError, match="exits during its 3s postStart hook"):
        build(pod_yaml("short", {"netsim.dev/run-seconds": "1"}, sleep))
    tcp = "    lifecycle:\n      postStart:\n        tcpSocket: {port: 80}\n"
    with pytest.raises(FieldError, match="postStart hook with tcpSocket is not emulated"):
        build(pod_yaml("tcp", {}, tcp))
