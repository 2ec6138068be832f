"""The scenarios cluster/ ships, run as `netsim run` runs them: reports, exit codes, JSON, determinism, pcaps."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from netsim.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name, expectations", [("rollout", 9), ("external", 9), ("affinity", 3), ("storage", 2)])
def test_shipped_scenarios_hold(capsys, tmp_path: Path, name: str, expectations: int) -> None:
    code, out, err = run(capsys, str(ROOT / "cluster" / name), "--pcap-dir", str(tmp_path))
    assert code == 0, out + err
    assert f"expectations: {expectations} of {expectations} held" in out
    assert "FAIL" not in out and err == ""  # no progress: stderr is not a terminal here


def test_rollout_report_follows_each_step(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, str(ROOT / "cluster/rollout"), "--pcap-dir", str(tmp_path), "--show", "1")
    assert code == 0
    blocks = out.split("\n\n")
    assert blocks[1].startswith("v1 serves alone: TCP pod default/client -> service default/web")
    assert "ok   deliveredTo app=web,version=v1: 40/40 connections" in blocks[1]
    assert blocks[2].startswith("apply: Deployment default/web-v2")
    assert "ok   split version=v1=0.5, version=v2=0.5 ±0.15" in blocks[3]
    assert blocks[4].startswith("scale Deployment default/web-v1 to 0 (was 2)")
    assert "ok   never version=v1: none of 20 connections" in blocks[5]
    assert blocks[6].startswith("delete Deployment default/web-v2 (cascade foreground)")
    assert "rejected on kind-" in blocks[7] and "ICMP type 3 code 3" in blocks[7]


def test_json_report_for_ci(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, str(ROOT / "cluster/external"), "--pcap-dir", str(tmp_path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["passed"] is True and doc["expectations"] == {"total": 9, "failed": 0}
    first = doc["steps"][0]
    assert first["connections"][0]["pod"] == "default/web"
    assert first["connections"][0]["sourceSeenByBackend"] != "172.18.0.1"  # masqueraded
    assert doc["steps"][1]["connections"][0]["sourceSeenByBackend"] == "172.18.0.1"  # Local keeps it
    assert doc["steps"][2]["connections"][0]["outcome"] == "dropped"


def failing_scenario(tmp_path: Path) -> Path:
    folder = tmp_path / "failing"
    folder.mkdir(parents=True)
    for name in ("web.yaml", "client.yaml"):
        shutil.copy(ROOT / "cluster/quickstart" / name, folder / name)
    (folder / "scenario.yaml").write_text(f"""apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {{name: failing}}
spec:
  topology: {ROOT / "topologies/three-node.yaml"}
  steps:
  - name: web keeps the client's address
    send: {{from: pod/client, to: service/web:80, count: 3}}
    expect: {{deliveredTo: app=web, clientIP: masqueraded, never: app=web}}
""")
    return folder


def test_a_failed_expectation_exits_1_saying_which_and_why(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, str(failing_scenario(tmp_path)), "--pcap-dir", str(tmp_path / "p"))
    assert code == 1
    assert "ok   deliveredTo app=web: 3/3 connections" in out
    assert "FAIL clientIP masqueraded: 3 of 3 delivered connections were not masqueraded: #1 sender " in out
    assert "FAIL never app=web: 3 of 3 connections did: #1 reached pod default/web-" in out
    assert "expectations: 1 of 3 held, 2 failed:" in out
    assert "  spec.steps[0] (web keeps the client's address): clientIP masqueraded: " in out
    code, out, _ = run(capsys, str(failing_scenario(tmp_path / "j")), "--pcap-dir", str(tmp_path / "q"), "--json")
    assert code == 1 and json.loads(out)["expectations"] == {"total": 3, "failed": 2}


def test_a_step_that_needs_an_unemulated_feature_is_exit_2_naming_it(capsys, tmp_path: Path) -> None:
    folder = failing_scenario(tmp_path)
    statefulset = ("{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {serviceName: db, "
                   "replicas: 1, ordinals: {start: 5}, selector: {matchLabels: {app: db}}, template: {metadata: "
                   "{labels: {app: db}}, spec: {containers: [{name: db, image: postgres}]}}}}")
    (folder / "scenario.yaml").write_text((folder / "scenario.yaml").read_text().replace(
        "  steps:\n", f"  steps:\n  - apply: {{manifests: [{statefulset}]}}\n"))
    code, out, err = run(capsys, str(folder), "--pcap-dir", str(tmp_path / "p"))
    assert code == 2
    assert err.startswith("error: ") and "spec.ordinals (a start ordinal other than 0) is not emulated" in err
    assert "Traceback" not in err


def test_same_seed_same_report_and_pcaps(capsys, tmp_path: Path) -> None:
    reports, pcaps = [], []
    for name in ("a", "b"):
        code, out, _ = run(capsys, str(ROOT / "cluster/rollout"), "--pcap-dir", str(tmp_path / name), "--json")
        assert code == 0
        reports.append(out.replace(str(tmp_path / name), "DIR"))
        pcaps.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())})
    assert reports[0] == reports[1]
    assert pcaps[0] == pcaps[1] and len(pcaps[0]) >= 7


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (.ci/run installs it)")
def test_rollout_pcaps_stay_in_time_order_across_rebuilds(capsys, tmp_path: Path) -> None:
    code, _, _ = run(capsys, str(ROOT / "cluster/rollout"), "--pcap-dir", str(tmp_path))
    assert code == 0
    proc = subprocess.run(["tshark", "-r", str(tmp_path / "default_client.pcapng"), "-T", "fields",
                           "-e", "frame.time_epoch", "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0 && !icmp"],
                          capture_output=True, text=True, check=True)
    times = [float(t) for t in proc.stdout.split()]
    assert len(times) == 40 + 80 + 20 + 2  # every SYN the client sent, over four network rebuilds
    assert times == sorted(times)


def test_progress_goes_to_a_terminal_only(capsys, monkeypatch, tmp_path: Path) -> None:
    import sys

    class Terminal:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> None:
            self.text += text

        def flush(self) -> None:
            pass

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["run", str(ROOT / "cluster/quickstart"), "--pcap-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "\r" not in out
    assert "\r\x1b[K[1/1] client to web: 4/4 connections" in terminal.text
    assert terminal.text.endswith("\r\x1b[K")  # the line is cleared before the report is printed
