"""`netsim delete` with kubectl's --force / --grace-period / --now, and `netsim taint` with KEY=VALUE:EFFECT:
kubectl's lines, its flag rules, and what the journal keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.cli.inputs import Inputs
from netsim.cli.main import main
from netsim.cli.workloads import delete_grace_period
from netsim.emulator import state as st

WARNING = ("Warning: Immediate deletion does not wait for confirmation that the running resource has been "
           "terminated. The resource may continue to run on the cluster indefinitely.\n")
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: one}
spec:
  nodeName: kind-worker
  terminationGracePeriodSeconds: 30
  containers: [{name: app, image: nginx:1.25}]
"""


@pytest.fixture()
def working(tmp_path: Path) -> Path:
    (tmp_path / "pod.yaml").write_text(POD)
    folder = tmp_path / "state"
    assert main(["up", "-f", str(tmp_path / "pod.yaml"), "--state", str(folder)]) == 0
    return folder


def cluster_of(folder: Path):
    return Inputs(st.load(folder), folder).build()


@pytest.mark.parametrize(("grace", "force", "now", "expected"), [
    (-1, False, False, -1),   # the pod's own terminationGracePeriodSeconds
    (0, False, False, 1),     # --grace-period=0 alone is turned into 1
    (-1, True, False, 0),     # --force alone deletes at once
    (0, True, False, 0),
    (-1, False, True, 1),     # --now
    (7, False, False, 7),
])
def test_grace_period_from_the_flags(grace: int, force: bool, now: bool, expected: int) -> None:
    assert delete_grace_period(grace, force, now) == expected


def test_force_with_a_positive_grace_period_or_now_with_a_grace_period_is_refused(working: Path, capsys) -> None:
    assert main(["delete", "pod", "one", "--force", "--grace-period=5", "--state", str(working)]) == 2
    assert main(["delete", "pod", "one", "--now", "--grace-period=5", "--state", str(working)]) == 2
    err = capsys.readouterr().err
    assert "error: --force and --grace-period greater than 0 cannot be specified together\n" in err
    assert "error: --now and --grace-period cannot be specified together\n" in err
    assert st.load(working).journal == ()


def test_force_delete_of_a_pod_on_a_failed_node(working: Path, capsys) -> None:
    state = str(working)
    assert main(["node", "fail", "kind-worker", "--state", state]) == 0
    assert main(["delete", "pod", "one", "--state", state]) == 0
    assert 'pod "one" deleted\n' in capsys.readouterr().out
    assert cluster_of(working).store.get("Pod", "one", "default").deletion_timestamp   # its kubelet is down
    assert main(["delete", "pod", "one", "--force", "--grace-period=0", "--state", state]) == 0
    out, err = capsys.readouterr()
    assert out == 'pod "one" force deleted\n' and err == WARNING
    assert cluster_of(working).store.try_get("Pod", "one", "default") is None
    assert st.load(working).journal[-1] == {"command": "delete", "kind": "Pod", "name": "one",
                                            "namespace": "default", "cascade": "background", "grace": 0}


def test_grace_period_zero_without_force_waits_one_second(working: Path, capsys) -> None:
    assert main(["delete", "pod", "one", "--grace-period=0", "--state", str(working)]) == 0
    out, err = capsys.readouterr()
    assert out == 'pod "one" deleted\n' and err == ""
    assert st.load(working).journal[-1]["grace"] == 1
    pod = cluster_of(working).store.try_get("Pod", "one", "default")
    assert pod is None or pod.metadata["deletionGracePeriodSeconds"] == 1


def test_taint_with_a_value_and_delete_node(working: Path, capsys) -> None:
    state = str(working)
    assert main(["taint", "node", "kind-worker2", "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute",
                 "--state", state]) == 0
    assert capsys.readouterr().out == "node/kind-worker2 tainted\n"
    assert st.load(working).journal[-1] == {"command": "taint", "name": "kind-worker2",
                                            "key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown",
                                            "effect": "NoExecute", "remove": False}
    assert main(["delete", "node", "kind-worker", "--state", state]) == 0
    assert capsys.readouterr().out == 'node "kind-worker" deleted\n'
    cluster = cluster_of(working)
    assert cluster.store.try_get("Node", "kind-worker") is None
    assert cluster.store.get("Pod", "one", "default").node_name == "kind-worker"   # PodGC's, after the quarantine
