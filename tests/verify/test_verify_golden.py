"""The shipped examples against checked-in output: each cluster/ scenario's report, and traces (`--update-golden`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def in_project(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("scenario", ["quickstart", "rollout", "external", "affinity", "storage", "dns"])
def test_scenario_report(golden_file, capsys, tmp_path: Path, scenario: str) -> None:
    code = cli.main(["run", f"cluster/{scenario}", "--show", "2", "--pcap-dir", str(tmp_path)])
    out = capsys.readouterr().out.replace(str(tmp_path), "PCAPS")
    assert code == 0
    golden_file(f"verify/{scenario}.report", out)


@pytest.mark.parametrize("name, argv", [
    ("quickstart-clusterip.brief.trace", ["--from", "pod/client", "--to", "svc/web:80", "--brief",
                                          "-f", "cluster/quickstart"]),
    ("external-nodeport-local-drop.trace", ["--from", "external", "--to", "nodeport/np-local@kind-worker:80",
                                            "-f", "cluster/external"]),
    ("external-loadbalancer.brief.trace", ["--from", "external", "--to", "lb/lb:80", "--brief",
                                           "-f", "cluster/external"]),
])
def test_trace(golden_file, capsys, name: str, argv: list[str]) -> None:
    assert cli.main(["trace", *argv]) == 0
    golden_file(f"verify/{name}", capsys.readouterr().out)
