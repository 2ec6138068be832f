"""`netsim reach --model` on cluster/netpol-model/: the e2e suite's truth tables, against the checked-in output."""

from __future__ import annotations

from pathlib import Path

from netsim.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "cluster/netpol-model"


def test_reach_model_matches_the_checked_in_tables(capsys) -> None:
    assert cli.main(["reach", "--model", "-f", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert out == (EXAMPLE / "expected-reach-model.txt").read_text()


def test_reach_model_one_port(capsys) -> None:
    assert cli.main(["reach", "--model", "-f", str(EXAMPLE), "--port", "81/TCP", "-n", "y"]) == 0
    assert capsys.readouterr().out == ("port 81, protocol TCP:\n\n-\ty/a\ty/b\ty/c\n"
                                      "y/a\t.\t.\t.\ny/b\t.\t.\t.\ny/c\t.\t.\t.\n")


def test_reach_port_needs_model(capsys) -> None:
    assert cli.main(["reach", "--port", "80", "-f", str(EXAMPLE)]) == 2
    assert cli.main(["reach", "--model", "--port", "80/ICMP", "-f", str(EXAMPLE)]) == 2
