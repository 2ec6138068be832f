"""Workload controllers on the simulated clock: the seed's statements about StatefulSet, DaemonSet,
Deployment, node failure, priority and preemption, and the control-plane taint."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.errors import FieldError
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
PROBE = ("        readinessProbe:\n          httpGet: {path: /, port: 80}\n"
         "          initialDelaySeconds: 5\n          periodSeconds: 5\n")


def workload(kind: str, name: str, replicas: int | None = 3, extra_spec: str = "", annotations: str = "",
             probe: str = PROBE, pod_spec: str = "") -> str:
    api = "apps/v1"
    lines = [f"apiVersion: {api}", f"kind: {kind}", f"metadata: {{name: {name}}}", "spec:"]
    if replicas is not None:
        lines.append(f"  replicas: {replicas}")
    if kind == "StatefulSet":
        lines.append(f"  serviceName: {name}")
    lines += [f"  selector: {{matchLabels: {{app: {name}}}}}", extra_spec.rstrip("\n")] if extra_spec else \
        [f"  selector: {{matchLabels: {{app: {name}}}}}"]
    lines += ["  template:", f"    metadata:\n      labels: {{app: {name}}}" + (f"\n      annotations: {annotations}" if annotations else ""),
              "    spec:" + ("\n" + pod_spec.rstrip("\n") if pod_spec else ""),
              "      containers:", "      - name: app", "        image: nginx:1.25"]
    return "\n".join(lines) + "\n" + probe


def build(text: str, horizon: float = 0.0) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=horizon)


def pods_of(cluster: Cluster, app: str) -> list:
    return cluster.store.list("Pod", "default", where=lambda p: p.labels.get("app") == app)


def test_statefulset_pods_come_one_after_another_deployment_pods_at_once() -> None:
    cluster = build(workload("StatefulSet", "db") + "---\n" + workload("Deployment", "web"))
    assert [p.name for p in pods_of(cluster, "db")] == ["db-0"]
    assert len(pods_of(cluster, "web")) == 3
    created = {}
    for _ in range(40):
        cluster.advance(1)
        for p in pods_of(cluster, "db"):
            created.setdefault(p.name, cluster.clock.elapsed())
    assert sorted(created) == ["db-0", "db-1", "db-2"]
    assert created["db-0"] < created["db-1"] < created["db-2"]
    assert created["db-1"] >= 5 and created["db-2"] - created["db-1"] >= 5   # each waits for the previous Ready
    pod = cluster.store.get("Pod", "db-1", "default")
    assert pod.spec["hostname"] == "db-1" and pod.spec["subdomain"] == "db"
    assert pod.labels["apps.kubernetes.io/pod-index"] == "1"


def test_parallel_statefulset_and_reverse_order_scale_down() -> None:
    cluster = build(workload("StatefulSet", "par", extra_spec="  podManagementPolicy: Parallel\n"), horizon=0)
    assert sorted(p.name for p in pods_of(cluster, "par")) == ["par-0", "par-1", "par-2"]
    ordered = build(workload("StatefulSet", "db", probe="", annotations='{"netsim.dev/shutdown-seconds": "3"}'),
                    horizon=60)
    assert len(pods_of(ordered, "db")) == 3
    ordered.store.patch("StatefulSet", "db", "default", {"spec": {"replicas": 1}})
    ordered.settle()
    names = {p.name: bool(p.deletion_timestamp) for p in pods_of(ordered, "db")}
    assert names == {"db-0": False, "db-1": False, "db-2": True}   # highest first, one at a time
    ordered.advance(60)
    assert [p.name for p in pods_of(ordered, "db")] == ["db-0"]


def test_statefulset_rolls_by_ordinal_from_the_highest() -> None:
    cluster = build(workload("StatefulSet", "db", probe="", annotations='{"netsim.dev/shutdown-seconds": "2"}'),
                    horizon=60)
    sts = cluster.store.get("StatefulSet", "db", "default")
    cluster.store.update(sts.evolve(lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__(
        "image", "nginx:1.26")))
    cluster.settle()
    assert [p.name for p in pods_of(cluster, "db") if p.deletion_timestamp] == ["db-2"]
    cluster.advance(200)
    deletes = [e.message for e in sorted(cluster.store.list("Event", "default"), key=lambda e: int(e.resource_version))
               if e.reason == "SuccessfulDelete"]
    assert deletes == [f"delete Pod db-{n} in StatefulSet db successful" for n in (2, 1, 0)]
    assert {p.spec["containers"][0]["image"] for p in pods_of(cluster, "db")} == {"nginx:1.26"}


def test_statefulset_spec_updates_other_than_the_allowed_fields_are_forbidden() -> None:
    cluster = build(workload("StatefulSet", "db", probe=""))
    with pytest.raises(FieldError, match="Forbidden: updates to statefulset spec for fields other than 'replicas', "
                                         "'template', 'updateStrategy' and 'minReadySeconds' are forbidden"):
        cluster.store.patch("StatefulSet", "db", "default", {"spec": {"serviceName": "other"}})


def test_daemonset_one_pod_per_eligible_node_not_the_control_plane() -> None:
    cluster = build(workload("DaemonSet", "agent", replicas=None, probe=""))
    pods = pods_of(cluster, "agent")
    assert sorted(p.node_name for p in pods) == ["kind-worker", "kind-worker2"]
    tolerating = workload("DaemonSet", "everywhere", replicas=None, probe="",
                          pod_spec="      tolerations:\n      - {key: node-role.kubernetes.io/control-plane, "
                                   "operator: Exists, effect: NoSchedule}")
    cluster = build(tolerating)
    assert len(pods_of(cluster, "everywhere")) == 3


def test_node_failure_daemonset_stays_deployment_moves_after_the_eviction_timeout() -> None:
    text = (workload("DaemonSet", "agent", replicas=None, probe="") + "---\n"
            + workload("Deployment", "web", replicas=2, probe=""))
    cluster = build(text)
    store = cluster.store
    victim = next(p for p in pods_of(cluster, "web") if p.node_name == "kind-worker").name
    cluster.fail_node("kind-worker")
    cluster.advance(39)
    assert store.get("Node", "kind-worker").ready
    cluster.advance(1)     # node-monitor-grace-period 40s
    node = store.get("Node", "kind-worker")
    assert node.condition("Ready").status == "Unknown"
    assert {(t.key, t.effect) for t in node.taints} >= {("node.kubernetes.io/unreachable", "NoExecute"),
                                                          ("node.kubernetes.io/unreachable", "NoSchedule")}
    assert not store.get("Pod", victim, "default").ready
    slice_endpoints = [e for s in store.list("EndpointSlice", "default") for e in s.endpoints
                       if e.target_ref_name == victim] if hasattr(
        store.list("EndpointSlice", "default")[0].endpoints[0] if store.list("EndpointSlice", "default")
        and store.list("EndpointSlice", "default")[0].endpoints else None, "target_ref_name") else []
    del slice_endpoints
    cluster.advance(299)
    assert not store.get("Pod", victim, "default").deletion_timestamp
    cluster.advance(1)     # tolerationSeconds 300 from DefaultTolerationSeconds
    assert store.get("Pod", victim, "default").deletion_timestamp   # Terminating: no kubelet to finish it
    web = [p for p in pods_of(cluster, "web") if not p.deletion_timestamp]
    assert len(web) == 2 and all(p.node_name == "kind-worker2" for p in web)
    agents = pods_of(cluster, "agent")
    assert len(agents) == 2 and not any(p.deletion_timestamp for p in agents)   # no daemon pod elsewhere
    cluster.recover_node("kind-worker")
    cluster.advance(30)
    assert store.try_get("Pod", victim, "default") is None
    assert store.get("Node", "kind-worker").ready and not store.get("Node", "kind-worker").taints
    assert all(p.ready for p in pods_of(cluster, "agent"))          # the kubelet reports its pods again


BALLOON = """\
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: overprovisioning}
value: -10
globalDefault: false
description: balloon pods
---
"""


def test_balloon_pods_are_preempted_when_a_normal_pod_needs_the_room() -> None:
    balloon = workload("Deployment", "balloon", replicas=2, probe="",
                       pod_spec="      priorityClassName: overprovisioning",
                       annotations='{"netsim.dev/shutdown-seconds": "10"}')
    balloon = balloon.replace("image: nginx:1.25", "image: registry.k8s.io/pause\n"
                              "        resources: {requests: {cpu: '3'}}")
    cluster = build(BALLOON + balloon, horizon=60)
    balloons = pods_of(cluster, "balloon")
    assert sorted(p.node_name for p in balloons) == ["kind-worker", "kind-worker2"]
    assert {p.spec["priority"] for p in balloons} == {-10}
    app = workload("Deployment", "app", replicas=1, probe="").replace(
        "image: nginx:1.25", "image: nginx:1.25\n        resources: {requests: {cpu: '2'}}")
    from netsim.api.apply import apply_manifests
    apply_manifests(cluster.store, load_text(app, "app.yaml"))
    cluster.settle()
    (pending,) = pods_of(cluster, "app")
    assert pending.status.get("nominatedNodeName") and not pending.node_name
    cluster.advance(9)
    assert not pods_of(cluster, "app")[0].node_name      # the victim is still terminating
    cluster.advance(1)
    (placed,) = pods_of(cluster, "app")
    assert placed.node_name == pending.status["nominatedNodeName"] and placed.ready
    reasons = {e.reason for e in cluster.store.list("Event", "default")}
    assert "Preempted" in reasons
    replacement = [p for p in pods_of(cluster, "balloon") if p.phase == "Pending"]
    assert replacement and "Insufficient cpu" in replacement[0].condition("PodScheduled").message


def test_preemption_policy_never_is_respected() -> None:
    text = BALLOON.replace("overprovisioning", "low") + """\
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: polite}
value: 1000
preemptionPolicy: Never
---
""" + workload("Deployment", "filler", replicas=2, probe="", pod_spec="      priorityClassName: low").replace(
        "image: nginx:1.25", "image: x\n        resources: {requests: {cpu: '3'}}")
    polite = workload("Deployment", "polite", replicas=1, probe="", pod_spec="      priorityClassName: polite").replace(
        "image: nginx:1.25", "image: x\n        resources: {requests: {cpu: '3'}}")
    cluster = build(text)
    from netsim.api.apply import apply_manifests
    apply_manifests(cluster.store, load_text(polite, "polite.yaml"))
    cluster.settle()
    (pod,) = pods_of(cluster, "polite")
    assert not pod.node_name
    assert pod.condition("PodScheduled").message.endswith("preemption: not eligible due to preemptionPolicy=Never.")


def test_control_plane_taint_and_its_removal() -> None:
    cluster = build(workload("Deployment", "web", replicas=6, probe="").replace(
        "image: nginx:1.25", "image: nginx:1.25\n        resources: {requests: {cpu: '1'}}"))
    assert "kind-control-plane" not in {p.node_name for p in pods_of(cluster, "web")}
    node = cluster.store.get("Node", "kind-control-plane")
    cluster.store.update(node.evolve(lambda d: d["spec"].pop("taints")))
    cluster.store.patch("Deployment", "web", "default", {"spec": {"replicas": 9}})
    cluster.settle()
    assert {p.node_name for p in pods_of(cluster, "web")} == {"kind-control-plane", "kind-worker", "kind-worker2"}
    assert all(p.node_name for p in pods_of(cluster, "web"))


def test_node_affinity_match_expressions() -> None:
    spec = ("      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n"
            "            nodeSelectorTerms:\n            - matchExpressions:\n"
            "              - {key: kubernetes.io/hostname, operator: In, values: [kind-worker2]}")
    cluster = build(workload("Deployment", "pinned", replicas=2, probe="", pod_spec=spec))
    assert {p.node_name for p in pods_of(cluster, "pinned")} == {"kind-worker2"}


def _image(cluster: Cluster, name: str, image: str) -> None:
    deploy = cluster.store.get("Deployment", name, "default")
    cluster.store.update(deploy.evolve(
        lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__("image", image)))


def test_replicas_change_scales_the_same_replicaset_template_change_makes_a_new_one() -> None:
    cluster = build(workload("Deployment", "web", probe=""))
    (rs,) = cluster.store.list("ReplicaSet", "default")
    cluster.store.patch("Deployment", "web", "default", {"spec": {"replicas": 5}})
    cluster.settle()
    assert [(r.name, r.replicas) for r in cluster.store.list("ReplicaSet", "default")] == [(rs.name, 5)]
    _image(cluster, "web", "nginx:1.26")
    cluster.settle()
    sets = {r.name: r for r in cluster.store.list("ReplicaSet", "default")}
    assert len(sets) == 2 and sets[rs.name].replicas == 0
    (new,) = [r for n, r in sets.items() if n != rs.name]
    assert new.annotations["deployment.kubernetes.io/revision"] == "2"
    assert cluster.store.get("Deployment", "web", "default").annotations["deployment.kubernetes.io/revision"] == "2"


def test_rolling_update_is_paced_by_readiness_within_surge_and_unavailable() -> None:
    cluster = build(workload("Deployment", "web", replicas=4), horizon=60)   # probe: ready 5s after start
    (old,) = cluster.store.list("ReplicaSet", "default")
    _image(cluster, "web", "nginx:1.26")
    history = []
    for _ in range(40):
        cluster.settle()
        pods = [p for p in pods_of(cluster, "web") if not p.deletion_timestamp]
        ready = [p for p in pods if p.ready]
        history.append((len(pods), len(ready)))
        cluster.advance(1)
    assert max(total for total, _ in history) <= 4 + 1          # maxSurge 25% of 4
    assert min(ready for _, ready in history) >= 4 - 1           # maxUnavailable 25% of 4
    assert cluster.store.get("ReplicaSet", old.name, "default").replicas == 0
    pods = pods_of(cluster, "web")
    assert len(pods) == 4 and {p.spec["containers"][0]["image"] for p in pods} == {"nginx:1.26"}
    assert len({t for t, _ in history}) > 1                        # it took several steps on the clock
    conditions = {c["type"]: c["reason"] for c in cluster.store.get("Deployment", "web", "default").status["conditions"]}
    assert conditions == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}


def test_recreate_removes_every_old_pod_before_the_new_ones() -> None:
    cluster = build(workload("Deployment", "web", extra_spec="  strategy: {type: Recreate}\n", probe="",
                             annotations='{"netsim.dev/shutdown-seconds": "4"}'), horizon=60)
    _image(cluster, "web", "nginx:1.26")
    cluster.settle()
    images = {p.spec["containers"][0]["image"] for p in pods_of(cluster, "web")}
    assert images == {"nginx:1.25"}                                # old ones terminating, no new one yet
    cluster.advance(4)
    pods = pods_of(cluster, "web")
    assert len(pods) == 3 and {p.spec["containers"][0]["image"] for p in pods} == {"nginx:1.26"}


def test_rollout_undo_goes_back_to_the_previous_revision() -> None:
    from netsim.controllers.deployment import rollback

    cluster = build(workload("Deployment", "web", probe=""))
    (first,) = cluster.store.list("ReplicaSet", "default")
    _image(cluster, "web", "nginx:1.26")
    cluster.advance(10)
    assert rollback(cluster.store, cluster.store.get("Deployment", "web", "default")) == 1
    cluster.advance(10)
    sets = {r.name: r for r in cluster.store.list("ReplicaSet", "default")}
    assert sets[first.name].replicas == 3 and sets[first.name].annotations["deployment.kubernetes.io/revision"] == "3"
    assert {p.spec["containers"][0]["image"] for p in pods_of(cluster, "web")} == {"nginx:1.25"}


def job_yaml(name: str, spec: str, annotations: str, policy: str = "Never") -> str:
    return (f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n{spec}  template:\n"
            f"    metadata:\n      annotations: {annotations}\n    spec:\n      restartPolicy: {policy}\n"
            "      containers:\n      - name: work\n        image: busybox\n")


def test_job_completions_parallelism_pods_kept_then_ttl() -> None:
    text = job_yaml("batch", "  completions: 4\n  parallelism: 2\n  ttlSecondsAfterFinished: 100\n",
                    '{"netsim.dev/run-seconds": "10"}')
    cluster = build(text)
    store = cluster.store
    assert len([p for p in store.list("Pod", "default") if p.phase != "Succeeded"]) == 2
    cluster.advance(10)
    assert store.get("Job", "batch", "default").status["succeeded"] == 2
    cluster.advance(10)
    job = store.get("Job", "batch", "default")
    assert job.status["succeeded"] == 4 and job.status["conditions"][-1]["type"] == "Complete"
    pods = store.list("Pod", "default")
    assert len(pods) == 4 and {p.phase for p in pods} == {"Succeeded"}          # kept after completion
    from netsim.cli.tables import table
    assert table("Pod", pods, cluster.clock.now()).splitlines()[1].split()[2] == "Completed"
    cluster.advance(99)
    assert store.try_get("Job", "batch", "default") is not None
    cluster.advance(1)
    assert store.try_get("Job", "batch", "default") is None and not store.list("Pod", "default")


def test_job_backoff_limit_with_exponential_back_off() -> None:
    text = job_yaml("flaky", "  backoffLimit: 2\n", '{"netsim.dev/run-seconds": "1", "netsim.dev/exit-code": "1"}')
    cluster = build(text)
    store = cluster.store
    created = []
    for _ in range(80):
        cluster.advance(1)
        for p in store.list("Pod", "default"):
            if p.name not in [n for n, _ in created]:
                created.append((p.name, cluster.clock.elapsed()))
    times = [t for _, t in created]
    assert times == [1.0, 11.0, 32.0]     # seen after each second: runs 1s, back-off 10s, runs 1s, back-off 20s
    job = store.get("Job", "flaky", "default")
    assert job.status["conditions"][-1]["reason"] == "BackoffLimitExceeded" and job.status["failed"] == 3


def cronjob_yaml(policy: str = "Allow", extra: str = "", run: str = "30") -> str:
    return (f"apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: tick}}\nspec:\n  schedule: '*/1 * * * *'\n"
            f"  concurrencyPolicy: {policy}\n{extra}  jobTemplate:\n    spec:\n      template:\n        metadata:\n"
            f"          annotations: {{netsim.dev/run-seconds: '{run}'}}\n        spec:\n          restartPolicy: Never\n"
            "          containers:\n          - name: work\n            image: busybox\n")


def test_cronjob_runs_on_schedule_and_keeps_three_successful_jobs() -> None:
    pytest.importorskip("croniter")
    cluster = build(cronjob_yaml())
    store = cluster.store
    assert not store.list("Job", "default")
    cluster.advance(60)
    (job,) = store.list("Job", "default")
    assert job.name == f"tick-{int((cluster.clock.now()) // 60)}"
    assert job.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] == "2024-01-01T00:01:00Z"
    cluster.advance(60 * 6)
    jobs = store.list("Job", "default")
    done = [j for j in jobs if (j.status.get("conditions") or [{}])[-1].get("type") == "Complete"]
    assert len(done) == 3                                            # successfulJobsHistoryLimit
    cj = store.get("CronJob", "tick", "default")
    assert cj.status["lastScheduleTime"] == "2024-01-01T00:07:00Z" and cj.status.get("lastSuccessfulTime")


@pytest.mark.parametrize(("policy", "active"), [("Allow", 3), ("Forbid", 1), ("Replace", 1)])
def test_cronjob_concurrency_policy(policy: str, active: int) -> None:
    pytest.importorskip("croniter")
    cluster = build(cronjob_yaml(policy, run="1000"))
    cluster.advance(180)
    running = [j for j in cluster.store.list("Job", "default") if not j.deletion_timestamp
               and not j.status.get("conditions")]
    assert len(running) == active
    if policy == "Replace":
        assert running[0].name.endswith(str(int(cluster.clock.now() // 60)))


def test_cronjob_suspend_and_manual_job() -> None:
    pytest.importorskip("croniter")
    from netsim.controllers.cronjob import job_from_cronjob

    cluster = build(cronjob_yaml(extra="  suspend: true\n"))
    cluster.advance(300)
    assert not cluster.store.list("Job", "default")
    job = job_from_cronjob(cluster.store, "tick", "default", "by-hand")
    assert job.annotations["cronjob.kubernetes.io/instantiate"] == "manual"
    cluster.settle()
    assert len(cluster.store.list("Pod", "default")) == 1


def test_pod_anti_affinity_and_topology_spread() -> None:
    anti = ("      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n"
            "          - labelSelector: {matchLabels: {app: solo}}\n            topologyKey: kubernetes.io/hostname")
    cluster = build(workload("Deployment", "solo", replicas=3, probe="", pod_spec=anti))
    pods = pods_of(cluster, "solo")
    placed = sorted(p.node_name for p in pods if p.node_name)
    assert placed == ["kind-worker", "kind-worker2"]
    (pending,) = [p for p in pods if not p.node_name]
    assert "2 node(s) didn't match pod anti-affinity rules" in pending.condition("PodScheduled").message
    spread = ("      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: kubernetes.io/hostname\n"
              "        whenUnsatisfiable: DoNotSchedule\n        labelSelector: {matchLabels: {app: even}}\n"
              "        nodeTaintsPolicy: Honor")    # else the tainted control plane is an empty domain (min 0)
    cluster = build(workload("Deployment", "even", replicas=6, probe="", pod_spec=spread))
    from collections import Counter
    assert sorted(Counter(p.node_name for p in pods_of(cluster, "even")).values()) == [3, 3]


def test_pod_affinity_follows_the_other_pods() -> None:
    follow = ("      affinity:\n        podAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n"
              "          - labelSelector: {matchLabels: {app: anchor}}\n            topologyKey: kubernetes.io/hostname")
    text = workload("Deployment", "anchor", replicas=1, probe="") + "---\n" + workload(
        "Deployment", "follower", replicas=3, probe="", pod_spec=follow)
    cluster = build(text)
    (anchor,) = pods_of(cluster, "anchor")
    assert {p.node_name for p in pods_of(cluster, "follower")} == {anchor.node_name}


def test_same_seed_same_objects_and_events_over_time() -> None:
    text = "---\n".join([
        workload("StatefulSet", "db"), workload("DaemonSet", "agent", replicas=None, probe=""),
        workload("Deployment", "web", annotations='{"netsim.dev/run-seconds": "7", "netsim.dev/exit-code": "3"}'),
        job_yaml("batch", "  completions: 3\n", '{"netsim.dev/run-seconds": "4"}'), cronjob_yaml()])

    pytest.importorskip("croniter")

    def snapshot(seed: int) -> list:
        cluster = Cluster.build(TOPOLOGY, load_text(text, "all.yaml"), seed=seed)
        cluster.fail_node("kind-worker2")
        cluster.advance(400)
        cluster.recover_node("kind-worker2")
        cluster.advance(100)
        return [o.to_dict() for kind in sorted(cluster.store.kinds()) for o in cluster.store.list(kind)]

    first = snapshot(3)
    assert first == snapshot(3)
    assert first != snapshot(4)


def test_preferred_node_affinity_and_prefer_no_schedule() -> None:
    prefer = ("      affinity:\n        nodeAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n"
              "          - weight: 50\n            preference:\n              matchExpressions:\n"
              "              - {key: kubernetes.io/hostname, operator: In, values: [kind-worker2]}")
    cluster = build(workload("Deployment", "pref", replicas=3, probe="", pod_spec=prefer))
    assert {p.node_name for p in pods_of(cluster, "pref")} == {"kind-worker2"}
    cluster = build(workload("Deployment", "web", replicas=1, probe=""))
    node = cluster.store.get("Node", "kind-worker2")
    cluster.store.update(node.evolve(lambda d: d["spec"].__setitem__("taints", [{"key": "x", "effect": "PreferNoSchedule"}])))
    cluster.store.patch("Deployment", "web", "default", {"spec": {"replicas": 4}})
    cluster.settle()
    assert sum(p.node_name == "kind-worker2" for p in pods_of(cluster, "web")) <= 1   # only the one placed before
