"""The shipped examples against checked-in output: each cluster/ scenario's report, and traces (`--update-golden`)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from netsim.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests/golden/verify"


@pytest.fixture(autouse=True)
def in_project(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)


def check_golden(request, name: str, text: str) -> None:
    path = GOLDEN / name
    if request.config.getoption("--update-golden") or not path.exists():
        path.write_text(text)
        return
    expected = path.read_text()
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "actual"))
        pytest.fail(f"{name} differs from its golden file:\n{diff}\n--- whole output ---\n{text}")


@pytest.mark.parametrize("scenario", ["quickstart", "rollout", "external", "affinity"])
def test_scenario_report(request, capsys, tmp_path: Path, scenario: str) -> None:
    code = cli.main(["run", f"cluster/{scenario}", "--show", "2", "--pcap-dir", str(tmp_path)])
    out = capsys.readouterr().out.replace(str(tmp_path), "PCAPS")
    assert code == 0
    check_golden(request, f"{scenario}.report", out)


@pytest.mark.parametrize("name, argv", [
    ("quickstart-clusterip.brief.trace", ["--from", "pod/client", "--to", "svc/web:80", "--brief",
                                          "-f", "cluster/quickstart"]),
    ("external-nodeport-local-drop.trace", ["--from", "external", "--to", "nodeport/np-local@kind-worker:80",
                                            "-f", "cluster/external"]),
    ("external-loadbalancer.brief.trace", ["--from", "external", "--to", "lb/lb:80", "--brief",
                                           "-f", "cluster/external"]),
])
def test_trace(request, capsys, name: str, argv: list[str]) -> None:
    assert cli.main(["trace", *argv]) == 0
    check_golden(request, name, capsys.readouterr().out)
