"""The Scenario document: steps and expectations parse into values, bad input names its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.errors import InvalidObject
from netsim.dataplane.trace import Outcome
from netsim.verify.scenario import ApplyStep, Cascade, ClientIP, DeleteStep, ScaleStep, SendStep, load_scenario

ROOT = Path(__file__).resolve().parents[2]
HEAD = """apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  topology: %s
""" % (ROOT / "topologies/three-node.yaml")


def scenario(tmp_path: Path, body: str, extra: dict[str, str] | None = None):
    (tmp_path / "scenario.yaml").write_text(HEAD + body)
    for name, text in (extra or {}).items():
        (tmp_path / name).write_text(text)
    return load_scenario(tmp_path)


def test_the_rollout_scenario_parses_every_kind_of_step() -> None:
    s = load_scenario(ROOT / "cluster/rollout")
    kinds = [type(step.action) for step in s.steps]
    assert kinds == [SendStep, ApplyStep, SendStep, ScaleStep, SendStep, DeleteStep, SendStep]
    first = s.steps[0].action
    assert first.expect.delivered_to.text == "app=web,version=v1"
    assert [n.text for n in first.expect.never] == ["version=v2"]
    assert first.expect.client_ip is ClientIP.KEPT
    assert first.expect.split.even.text == "app=web" and first.expect.split.tolerance == 0.2
    assert s.steps[2].action.expect.split.weights[0][1] == 0.5
    assert s.steps[5].action.cascade is Cascade.FOREGROUND
    assert s.steps[6].action.expect.outcome == (Outcome.REJECTED,)
    # web-v2.yaml comes in at its apply step, not at the start
    assert {m.obj.name for m in s.manifests} == {"web-v1", "web", "client"}
    assert [m.obj.name for m in s.steps[1].action.manifests] == ["web-v2"]


def test_traffic_shorthand_still_reads_as_send_steps() -> None:
    s = load_scenario(ROOT / "cluster/quickstart")
    assert [f.name for f in s.traffic] == ["client to web"]
    assert s.steps[0].field == "spec.traffic[0]"
    assert s.steps[0].action.expect.empty


def test_a_scenario_file_with_inline_manifests(tmp_path: Path) -> None:
    s = scenario(tmp_path, """  manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: a, labels: {app: a}}, spec: {containers: [{name: c, image: i}]}}
  steps:
  - apply:
      manifests:
      - {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {containers: [{name: c, image: i}]}}
  - scale: {kind: deploy, name: web, replicas: 0}
  - delete: {kind: po, name: a, cascade: Orphan}
""")
    assert [m.obj.name for m in s.manifests] == ["a"]
    assert s.steps[1].action == ScaleStep("Deployment", "web", "default", 0)
    assert s.steps[2].action == DeleteStep("Pod", "a", "default", Cascade.ORPHAN)
    assert load_scenario(tmp_path / "scenario.yaml").manifests[0].obj.name == "a"


@pytest.mark.parametrize("body, field", [
    ("  steps:\n  - jump: {}\n", "spec.steps[0].jump"),
    ("  steps:\n  - {send: {from: pod/a, to: svc/b:80}, scale: {kind: Deployment, name: x, replicas: 1}}\n",
     "spec.steps[0]"),
    ("  steps:\n  - delete: {kind: Deployment, name: web, cascade: sideways}\n", "spec.steps[0].delete.cascade"),
    ("  steps:\n  - scale: {kind: Service, name: web, replicas: 2}\n", "spec.steps[0].scale.kind"),
    ("  steps:\n  - scale: {kind: Deployment, name: web, replicas: -1}\n", "spec.steps[0].scale.replicas"),
    ("  steps:\n  - {scale: {kind: Deployment, name: web, replicas: 1}, expect: {outcome: dropped}}\n",
     "spec.steps[0].expect"),
    ("  steps:\n  - {send: {from: pod/a, to: svc/b:80}, expect: {outcome: vanished}}\n",
     "spec.steps[0].expect.outcome"),
    ("  steps:\n  - {send: {from: pod/a, to: svc/b:80}, expect: {deliveredTo: 'app in (a'}}\n",
     "spec.steps[0].expect.deliveredTo"),
    ("  steps:\n  - {send: {from: pod/a, to: svc/b:80}, expect: {split: {weights: {a=b: 0.5}}}}\n",
     "spec.steps[0].expect.split.weights"),
    ("  steps:\n  - {send: {from: pod/a, to: svc/b:80, count: 0}}\n", "spec.steps[0].send.count"),
    ("  steps:\n  - apply: {files: [missing.yaml]}\n", "spec.steps[0].apply.files[0]"),
    ("  bogus: 1\n", "spec.bogus"),
])
def test_bad_steps_name_the_field(tmp_path: Path, body: str, field: str) -> None:
    with pytest.raises(InvalidObject) as info:
        scenario(tmp_path, body)
    assert info.value.field == field, str(info.value)
    assert str(tmp_path / "scenario.yaml") in str(info.value)


def test_apply_step_files_are_loaded_up_front_and_bad_ones_fail_before_running(tmp_path: Path) -> None:
    bad = "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 70000}]}\n"
    with pytest.raises(InvalidObject) as info:
        scenario(tmp_path, "  steps:\n  - apply: {files: [later.yaml]}\n", {"later.yaml": bad})
    assert "later.yaml" in str(info.value) and "70000" in str(info.value)


def test_a_single_file_scenario_carries_its_own_objects(tmp_path: Path) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec: {containers: [{name: c, image: i}]}\n"
    (tmp_path / "other.yaml").write_text(pod.replace("solo", "other"))
    (tmp_path / "one.yaml").write_text(pod + "---\n" + HEAD + "  steps: []\n")
    s = load_scenario(tmp_path / "one.yaml")
    assert [m.obj.name for m in s.manifests] == ["solo"]  # not the folder's other files


def test_the_readme_examples_parse(tmp_path: Path) -> None:
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "cluster/README.md").read_text(), re.S)
    assert len(blocks) == 3  # the document, a send step's expect, resolve and dig steps' (test_verify_dns_steps)
    (tmp_path / "s.yaml").write_text(blocks[0].replace("../../topologies", str(ROOT / "topologies")).replace(
        "manifests: [web-v1.yaml]", "manifests: []"))
    assert load_scenario(tmp_path / "s.yaml").name == "rollout"
    step = "  steps:\n" + "".join(f"  {line}\n" for line in blocks[1].splitlines())
    s = scenario(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path, step)
    expect = s.steps[0].action.expect
    assert expect.delivered_to.text == "app=web" and expect.outcome == (Outcome.DELIVERED,)
    assert expect.split.tolerance == 0.15 and [s.text for s in expect.never] == ["version=v0"]
