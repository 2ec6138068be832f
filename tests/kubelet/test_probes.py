"""The kubelet's startup and liveness probes on the simulated clock: gating, kills, restarts and back-off."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
LIVENESS = "    livenessProbe:\n      httpGet: {path: /healthz, port: 8080}\n      periodSeconds: 10\n"
STARTUP = "    startupProbe:\n      tcpSocket: {port: 8080}\n      periodSeconds: 5\n      failureThreshold: 3\n"
READINESS = "    readinessProbe:\n      httpGet: {path: /ready, port: 8080}\n      periodSeconds: 5\n"


def build(annotations: dict, probes: str, policy: str = "Always", spec: str = "") -> Cluster:
    notes = "".join(f"\n    {k}: {v!r}" for k, v in annotations.items())
    text = (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:{notes or ' {}'}\n"
            f"spec:\n  restartPolicy: {policy}\n{spec}  containers:\n  - name: app\n    image: nginx:1.25\n"
            f"    ports: [{{containerPort: 8080}}]\n{probes}")
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0.0)


def pod(cluster: Cluster):
    return cluster.store.get("Pod", "p", "default")


def status(cluster: Cluster) -> str:
    return table("Pod", [pod(cluster)], cluster.clock.now()).splitlines()[1].split()[2]


def events(cluster: Cluster, reason: str) -> list:
    return [e for e in cluster.store.list("Event", "default") if e.reason == reason]


def test_a_failing_liveness_probe_kills_and_restarts_with_back_off() -> None:
    cluster = build({"netsim.dev/live-seconds": "25"}, LIVENESS)
    cluster.advance(49.9)                      # probes at 0, 10, 20 pass; 30 and 40 fail
    (unhealthy,) = events(cluster, "Unhealthy")
    assert unhealthy.message == "Liveness probe failed: HTTP probe failed with statuscode: 500"
    assert unhealthy.get("count") == 2 and not events(cluster, "Killing")
    assert pod(cluster).status["containerStatuses"][0]["restartCount"] == 0
    cluster.advance(0.1)                       # the third failure at 50: killed, restarted at once
    (killing,) = events(cluster, "Killing")
    assert killing.message == "Container app failed liveness probe, will be restarted"
    state = pod(cluster).status["containerStatuses"][0]
    assert state["restartCount"] == 1 and "running" in state["state"]
    assert state["lastState"]["terminated"]["exitCode"] == 143 and state["lastState"]["terminated"]["reason"] == "Error"
    cluster.advance(55)                        # killed again at 100: back-off 10s until 110
    assert status(cluster) == "CrashLoopBackOff"
    assert pod(cluster).status["containerStatuses"][0]["restartCount"] == 1   # the exited instance's count
    assert events(cluster, "Killing")[0].get("count") == 2
    cluster.advance(5)
    assert status(cluster) == "Running"


def test_the_startup_probe_gates_readiness_and_liveness() -> None:
    cluster = build({"netsim.dev/startup-seconds": "12", "netsim.dev/live-seconds": "0"},
                    STARTUP.replace("failureThreshold: 3", "failureThreshold: 10") + READINESS + LIVENESS)
    cluster.advance(14.9)                      # startup probes at 0, 5, 10 fail; 15 passes
    state = pod(cluster).status["containerStatuses"][0]
    assert "running" in state["state"] and not state["started"] and not state["ready"]
    assert not pod(cluster).ready
    (unhealthy,) = events(cluster, "Unhealthy")
    ip = pod(cluster).pod_ip
    assert unhealthy.message == f"Startup probe failed: dial tcp {ip}:8080: connect: connection refused"
    assert unhealthy.get("count") == 3
    cluster.advance(0.1)
    state = pod(cluster).status["containerStatuses"][0]
    assert state["started"] and state["ready"] and pod(cluster).ready
    cluster.advance(35)                        # liveness counts from 20 on (not before the start): kill at 40
    (killing,) = events(cluster, "Killing")
    assert killing.message == "Container app failed liveness probe, will be restarted"
    assert killing.get("firstTimestamp") == "2024-01-01T00:00:40Z"


def test_a_startup_probe_that_never_passes_kills_and_never_restarts_under_never() -> None:
    cluster = build({"netsim.dev/startup-seconds": "100"}, STARTUP, policy="Never")
    cluster.advance(10)                        # failures at 0, 5, 10: killed at 10
    (killing,) = events(cluster, "Killing")
    assert killing.message == "Container app failed startup probe"
    assert pod(cluster).phase == "Failed" and status(cluster) == "Error"
    assert pod(cluster).status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 143


def test_a_container_that_ignores_sigterm_is_sigkilled_at_the_grace_period() -> None:
    probe = LIVENESS + "      terminationGracePeriodSeconds: 5\n"
    cluster = build({"netsim.dev/live-seconds": "0", "netsim.dev/shutdown-seconds": "60"}, probe)
    cluster.advance(24.9)                      # failures at 0, 10, 20: killed at 20, SIGKILL at 25
    assert pod(cluster).status["containerStatuses"][0]["restartCount"] == 0
    cluster.advance(0.1)
    state = pod(cluster).status["containerStatuses"][0]
    assert state["restartCount"] == 1 and state["lastState"]["terminated"]["exitCode"] == 137
    assert state["lastState"]["terminated"]["finishedAt"] == "2024-01-01T00:00:25Z"
