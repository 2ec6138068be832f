"""Job completion modes and terminal conditions: Indexed pods, activeDeadlineSeconds, and the 1.31+ two-step
conditions (SuccessCriteriaMet / FailureTarget before Complete / Failed)."""

from __future__ import annotations

from pathlib import Path


from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.controllers.job import format_indexes
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")


def job(name: str, spec: str, annotations: str) -> str:
    return (f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}, namespace: default}}\nspec:\n{spec}"
            f"  template:\n    metadata:\n      annotations: {annotations}\n    spec:\n      restartPolicy: Never\n"
            "      containers:\n      - name: work\n        image: busybox\n")


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0)


def conditions(cluster: Cluster, name: str) -> list[tuple[str, str, str]]:
    status = cluster.store.get("Job", name, "default").status
    return [(c["type"], c.get("reason", ""), c.get("message", "")) for c in status.get("conditions") or ()]


def test_completed_indexes_are_compressed_into_intervals() -> None:
    assert format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6,7"   # a pair is written a,b
    assert format_indexes({3, 4}) == "3,4" and format_indexes({5}) == "5"
    assert format_indexes(set()) == ""


def test_indexed_job_names_labels_and_indexes() -> None:
    cluster = build(job("render", "  completions: 4\n  parallelism: 2\n  completionMode: Indexed\n",
                        '{"netsim.dev/run-seconds": "10"}'))
    store = cluster.store
    pods = sorted(store.list("Pod", "default"), key=lambda p: p.annotations["batch.kubernetes.io/job-completion-index"])
    assert [p.annotations["batch.kubernetes.io/job-completion-index"] for p in pods] == ["0", "1"]
    for index, pod in enumerate(pods):
        assert pod.name.startswith(f"render-{index}-") and len(pod.name) == len(f"render-{index}-") + 5
        assert pod.labels["batch.kubernetes.io/job-completion-index"] == str(index)
        assert pod.spec["hostname"] == f"render-{index}"
        assert {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": "metadata.labels['batch.kubernetes.io/job-completion-index']"}}} \
            in pod.spec["containers"][0]["env"]
    cluster.advance(10)
    status = store.get("Job", "render", "default").status
    assert status["completedIndexes"] == "0,1" and status["succeeded"] == 2
    running = {p.annotations["batch.kubernetes.io/job-completion-index"] for p in store.list("Pod", "default")
               if p.phase != "Succeeded"}
    assert running == {"2", "3"}
    cluster.advance(10)
    status = store.get("Job", "render", "default").status
    assert status["completedIndexes"] == "0-3" and status["succeeded"] == 4
    assert conditions(cluster, "render") == [
        ("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
        ("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
    ]
    assert status["completionTime"]


def test_a_failed_index_is_retried_under_the_same_index() -> None:
    text = job("shard", "  completions: 2\n  parallelism: 2\n  completionMode: Indexed\n  backoffLimit: 3\n",
               '{"netsim.dev/run-seconds": "1", "netsim.dev/exit-code": "1"}')
    cluster = build(text)
    cluster.advance(40)
    pods = cluster.store.list("Pod", "default")
    indexes = sorted(p.annotations["batch.kubernetes.io/job-completion-index"] for p in pods)
    assert indexes == ["0", "0", "1", "1"]
    assert all(p.name.startswith(f"shard-{p.annotations['batch.kubernetes.io/job-completion-index']}-") for p in pods)
    status = cluster.store.get("Job", "shard", "default").status
    assert status["failed"] == 4 and "completedIndexes" not in status
    assert conditions(cluster, "shard")[-1][:2] == ("Failed", "BackoffLimitExceeded")


def test_active_deadline_fails_the_job_and_deletes_its_pods() -> None:
    cluster = build(job("slow", "  activeDeadlineSeconds: 30\n  parallelism: 2\n",
                        '{"netsim.dev/run-seconds": "100", "netsim.dev/shutdown-seconds": "5"}'))
    store = cluster.store
    cluster.advance(29)
    assert conditions(cluster, "slow") == [] and len(store.list("Pod", "default")) == 2
    cluster.advance(1)
    message = "Job was active longer than specified deadline"
    assert conditions(cluster, "slow") == [("FailureTarget", "DeadlineExceeded", message)]   # pods terminating
    assert all(p.deletion_timestamp for p in store.list("Pod", "default"))
    assert store.get("Job", "slow", "default").status["terminating"] == 2
    cluster.advance(5)
    assert conditions(cluster, "slow") == [("FailureTarget", "DeadlineExceeded", message),
                                           ("Failed", "DeadlineExceeded", message)]
    warnings = [(e.reason, e.message) for e in store.list("Event", "default") if e.type == "Warning"]
    assert ("DeadlineExceeded", message) in warnings


def test_backoff_limit_goes_through_failure_target() -> None:
    cluster = build(job("flaky", "  backoffLimit: 0\n", '{"netsim.dev/run-seconds": "1", "netsim.dev/exit-code": "1"}'))
    cluster.advance(5)
    message = "Job has reached the specified backoff limit"
    assert conditions(cluster, "flaky") == [("FailureTarget", "BackoffLimitExceeded", message),
                                            ("Failed", "BackoffLimitExceeded", message)]


def _policy_job(rules: str, exit_code: str, backoff: int = 1) -> str:
    return job("p", f"  backoffLimit: {backoff}\n  podFailurePolicy:\n    rules:\n{rules}",
               f'{{"netsim.dev/run-seconds": "1", "netsim.dev/exit-code": "{exit_code}"}}')


def test_pod_failure_policy_fail_job_on_an_exit_code() -> None:
    rules = "    - {action: FailJob, onExitCodes: {containerName: work, operator: In, values: [42]}}\n"
    cluster = build(_policy_job(rules, "42", backoff=6))
    cluster.advance(3)
    (pod,) = cluster.store.list("Pod", "default")
    message = f"Container work for pod default/{pod.name} failed with exit code 42 matching FailJob rule at index 0"
    assert conditions(cluster, "p") == [("FailureTarget", "PodFailurePolicy", message),
                                        ("Failed", "PodFailurePolicy", message)]


def test_pod_failure_policy_ignore_does_not_count_and_count_does() -> None:
    ignore = "    - {action: Ignore, onExitCodes: {operator: In, values: [3]}}\n"
    cluster = build(_policy_job(ignore, "3", backoff=0))
    cluster.advance(15)
    assert not conditions(cluster, "p")                               # backoffLimit 0, yet not failed
    assert len(cluster.store.list("Pod", "default")) == 2             # replaced after the 10s back-off
    assert "failed" not in cluster.store.get("Job", "p", "default").status
    count = "    - {action: Count, onExitCodes: {operator: NotIn, values: [3]}}\n"
    cluster = build(_policy_job(count, "4", backoff=0))
    cluster.advance(5)
    assert conditions(cluster, "p")[-1][:2] == ("Failed", "BackoffLimitExceeded")


def test_pod_failure_policy_on_the_disruption_target_condition() -> None:
    from netsim.controllers.job import match_pod_failure_policy
    from netsim.api.objects import make_object
    pod = make_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w", "namespace": "default"},
                       "status": {"phase": "Failed", "conditions": [
                           {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]}})
    policy = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
    assert match_pod_failure_policy(policy, pod) == (None, False, "Ignore")
    policy = {"rules": [{"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}
    assert match_pod_failure_policy(policy, pod) == (
        "Pod default/w has condition DisruptionTarget matching FailJob rule at index 0", True, "FailJob")
