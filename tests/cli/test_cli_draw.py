"""`netsim draw`: deterministic SVG with the traced path; PNG is a clear error without a rasterizer."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netsim.cli import main as cli

SVG = "{http://www.w3.org/2000/svg}"


def test_svg_with_path_is_valid_and_byte_identical(tmp_path: Path) -> None:
    # seed 2: the first connection goes to the backend on the other node (seed 0 picks the client's own node)
    argv = ["draw", "--from", "pod/client", "--to", "svc/web:80", "-f", "cluster/quickstart", "--seed", "2"]
    assert cli.main([*argv, "-o", str(tmp_path / "a.svg")]) == 0
    assert cli.main([*argv, "-o", str(tmp_path / "b.svg")]) == 0
    a = (tmp_path / "a.svg").read_bytes()
    assert a == (tmp_path / "b.svg").read_bytes()
    root = ET.fromstring(a)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "default/client" in texts and "nodes" in texts and "kind-worker2" in texts
    assert any(t and t.startswith("packet: default/client -> ") for t in texts)
    red = [line for line in root.iter(f"{SVG}line") if line.get("stroke") == "#d62728"]
    assert len(red) >= 3  # client -> its node, across the node segment, -> the backend


def test_topology_only_to_stdout(capsys) -> None:
    assert cli.main(["draw", "-f", "cluster/quickstart"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<svg ") and "#d62728" not in out


@pytest.mark.skipif(importlib.util.find_spec("cairosvg") is not None, reason="cairosvg is installed")
def test_png_without_a_rasterizer_is_a_named_error(capsys, tmp_path: Path) -> None:
    assert cli.main(["draw", "-o", str(tmp_path / "t.png"), "-f", "cluster/quickstart"]) == 2
    assert "PNG output needs cairosvg" in capsys.readouterr().err
    assert not (tmp_path / "t.png").exists()


def test_half_a_flow_is_exit_2(capsys) -> None:
    assert cli.main(["draw", "--from", "pod/client", "-f", "cluster/quickstart"]) == 2
    assert "--from and --to" in capsys.readouterr().err
