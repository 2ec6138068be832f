"""An Indexed Job's per-index policies, on by default in 1.31: backoffLimitPerIndex with maxFailedIndexes and the
FailIndex action (status.failedIndexes), and successPolicy (SuccessCriteriaMet, reason SuccessPolicy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.errors import InvalidObject
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.controllers.job_index_policies import match_success_policy, parse_indexes
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
INDEX = "batch.kubernetes.io/job-completion-index"
FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
IGNORED_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
FAILING = '{"netsim.dev/run-seconds": "1", "netsim.dev/exit-code": "1"}'


def job(spec: str, annotations: str, name: str = "p") -> str:
    return (f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}, namespace: default}}\nspec:\n"
            f"  completionMode: Indexed\n{spec}"
            f"  template:\n    metadata:\n      annotations: {annotations}\n    spec:\n      restartPolicy: Never\n"
            "      containers:\n      - name: work\n        image: busybox\n")


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0)


def conditions(cluster: Cluster, name: str = "p") -> list[tuple[str, str, str]]:
    status = cluster.store.get("Job", name, "default").status
    return [(c["type"], c.get("reason", ""), c.get("message", "")) for c in status.get("conditions") or ()]


def pods(cluster: Cluster) -> list:
    return sorted(cluster.store.list("Pod", "default"), key=lambda p: (p.creation_timestamp, p.annotations[INDEX]))


def succeed(cluster: Cluster, index: int) -> None:
    """The pod of `index` exits 0 now (as its kubelet would report it)."""
    store = cluster.store
    pod = next(p for p in store.list("Pod", "default") if p.annotations[INDEX] == str(index) and p.phase == "Running")

    def done(d: dict) -> None:
        d["status"]["phase"] = "Succeeded"
        d["status"]["conditions"] = [{**c, "status": "False"} if c["type"] in ("Ready", "ContainersReady") else c
                                     for c in d["status"]["conditions"]]
        for s in d["status"]["containerStatuses"]:
            s.update(ready=False, state={"terminated": {"exitCode": 0, "reason": "Completed",
                                                        "startedAt": store.now(), "finishedAt": store.now()}})
    store.update(pod.evolve(done))
    cluster.settle()


def test_each_index_has_its_own_limit_back_off_and_failure_count_annotation() -> None:
    cluster = build(job("  completions: 2\n  parallelism: 2\n  backoffLimitPerIndex: 1\n", FAILING))
    first = pods(cluster)
    assert [p.annotations[FAILURE_COUNT] for p in first] == ["0", "0"]
    assert cluster.store.get("Job", "p", "default").status["failedIndexes"] == ""   # a *string, written when empty
    cluster.advance(10.5)          # both failed at 1s; each index waits 10s from its own failure
    assert len(pods(cluster)) == 2 and not conditions(cluster)
    cluster.advance(1)
    retries = pods(cluster)[2:]
    assert [(p.annotations[INDEX], p.annotations[FAILURE_COUNT]) for p in retries] == [("0", "1"), ("1", "1")]
    assert all(p.name.startswith(f"p-{p.annotations[INDEX]}-") for p in retries)
    cluster.advance(2)
    status = cluster.store.get("Job", "p", "default").status
    assert status["failedIndexes"] == "0,1" and status["failed"] == 4
    assert conditions(cluster) == [("FailureTarget", "FailedIndexes", "Job has failed indexes"),
                                   ("Failed", "FailedIndexes", "Job has failed indexes")]
    warnings = [(e.reason, e.message) for e in cluster.store.list("Event", "default") if e.type == "Warning"]
    assert warnings == [("FailedIndexes", "Job has failed indexes")]


def test_the_failure_count_climbs_until_the_index_limit() -> None:
    cluster = build(job("  completions: 1\n  backoffLimitPerIndex: 7\n  backoffLimit: 100\n", FAILING))
    cluster.advance(700)           # failures at 1, 12, 33, 74, 155, 316, 637 s: 10 s doubling per index failure
    assert [p.annotations[FAILURE_COUNT] for p in pods(cluster)] == [str(i) for i in range(7)]
    assert not conditions(cluster)


def test_more_failed_indexes_than_max_failed_indexes_fails_the_job_early() -> None:
    cluster = build(job("  completions: 4\n  parallelism: 2\n  backoffLimitPerIndex: 0\n  maxFailedIndexes: 1\n",
                        FAILING))
    cluster.advance(2)
    message = "Job has exceeded the specified maximal number of failed indexes"
    assert conditions(cluster) == [("FailureTarget", "MaxFailedIndexesExceeded", message),
                                   ("Failed", "MaxFailedIndexesExceeded", message)]
    status = cluster.store.get("Job", "p", "default").status
    assert status["failedIndexes"] == "0,1" and len(pods(cluster)) == 2      # indexes 2 and 3 never started


def test_fail_index_action_fails_the_index_at_once_and_ignore_is_counted_apart() -> None:
    rules = ("  podFailurePolicy:\n    rules:\n"
             "    - {action: FailIndex, onExitCodes: {operator: In, values: [42]}}\n"
             "    - {action: Ignore, onExitCodes: {operator: In, values: [3]}}\n")
    cluster = build(job(f"  completions: 1\n  backoffLimitPerIndex: 5\n{rules}",
                        '{"netsim.dev/run-seconds": "1", "netsim.dev/exit-code": "42"}'))
    cluster.advance(30)
    assert len(pods(cluster)) == 1
    assert cluster.store.get("Job", "p", "default").status["failedIndexes"] == "0"
    assert conditions(cluster)[-1] == ("Failed", "FailedIndexes", "Job has failed indexes")
    cluster = build(job(f"  completions: 1\n  backoffLimitPerIndex: 5\n{rules}",
                        '{"netsim.dev/run-seconds": "1", "netsim.dev/exit-code": "3"}'))
    cluster.advance(12)
    second = pods(cluster)[1]
    assert (second.annotations[FAILURE_COUNT], second.annotations[IGNORED_COUNT]) == ("0", "1")
    assert "failed" not in cluster.store.get("Job", "p", "default").status


def test_success_policy_rule_met_deletes_the_rest_and_completes() -> None:
    spec = ("  completions: 3\n  parallelism: 3\n  successPolicy:\n    rules:\n"
            "    - {succeededIndexes: '2'}\n    - {succeededCount: 1}\n")
    cluster = build(job(spec, '{"netsim.dev/run-seconds": "100", "netsim.dev/shutdown-seconds": "5"}'))
    succeed(cluster, 1)
    met = ("SuccessCriteriaMet", "SuccessPolicy", "Matched rules at index 1")
    assert conditions(cluster) == [met]                   # the other two pods are terminating
    assert sorted(bool(p.deletion_timestamp) for p in pods(cluster)) == [False, True, True]
    cluster.advance(5)
    assert conditions(cluster) == [met, ("Complete", "SuccessPolicy", "Matched rules at index 1")]
    status = cluster.store.get("Job", "p", "default").status
    assert status["completedIndexes"] == "1" and status["succeeded"] == 1 and status["completionTime"]
    assert ("Completed", "Job completed") in [(e.reason, e.message) for e in cluster.store.list("Event", "default")]


def test_success_policy_matching_follows_match_succeeded_indexes_rule() -> None:
    rules = {"rules": [{"succeededIndexes": "0-2,4", "succeededCount": 2}, {"succeededCount": 3}]}
    assert match_success_policy(rules, 6, {5}) is None
    assert match_success_policy(rules, 6, {0, 4}) == "Matched rules at index 0"      # 2 of the rule's indexes
    assert match_success_policy(rules, 6, {3, 5, 1}) == "Matched rules at index 1"
    assert match_success_policy({"rules": [{"succeededIndexes": "1,3"}]}, 6, {1, 3}) == "Matched rules at index 0"
    assert match_success_policy({"rules": [{"succeededIndexes": "1,3"}]}, 6, {1}) is None
    assert parse_indexes("0-2,4,7-9", 8) == {0, 1, 2, 4, 7}           # clamped to completions - 1
    assert parse_indexes("9,1", 8) == set()                             # stops at the first index past the end


@pytest.mark.parametrize(("spec", "message"), [
    ("  completions: 2\n  completionMode: NonIndexed\n  backoffLimitPerIndex: 1\n",
     "Job default/p: spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"),
    ("  completions: 2\n  backoffLimitPerIndex: 1\n  maxFailedIndexes: 3\n",
     "Job default/p: spec.maxFailedIndexes: Invalid value: 3: must be less than or equal to completions"),
    ("  completions: 2\n  podFailurePolicy:\n    rules:\n    - {action: FailIndex, onExitCodes: {operator: In, "
     "values: [1]}}\n",
     'Job default/p: spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the '
     "backoffLimitPerIndex to be set"),
    ("  completions: 2\n  successPolicy: {rules: []}\n",
     "Job default/p: spec.successPolicy.rules: Required value: at least one rules must be specified when the "
     "successPolicy is specified"),
])
def test_the_api_refuses_what_validate_job_spec_refuses(spec: str, message: str) -> None:
    text = job(spec, "{}").replace("  completionMode: Indexed\n  completions: 2\n  completionMode: NonIndexed\n",
                                   "  completions: 2\n  completionMode: NonIndexed\n")
    with pytest.raises(InvalidObject) as refused:
        build(text)
    assert str(refused.value) == message
