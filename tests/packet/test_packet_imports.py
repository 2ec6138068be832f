"""packet/ and capture/ import what their place in DESIGN.md allows, and no clock or global RNG."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "netsim"

# Package -> netsim packages its modules may import (besides itself).
ALLOWED = {
    "packet": {"netsim.errors", "netsim.packet"},
    "capture": {"netsim.errors", "netsim.packet", "netsim.capture"},
}
SCAPY_ALLOWED = {"packet/scapy_bridge.py"}           # the one edge module of these packages
FORBIDDEN = {"time", "random", "datetime", "uuid"}   # DESIGN.md, Determinism


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


MODULES = sorted(path for package in ALLOWED for path in (ROOT / package).glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_imports(path):
    package = path.parent.name
    relative = f"{package}/{path.name}"
    for name in imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{relative} imports {name}"
        if top == "scapy":
            assert relative in SCAPY_ALLOWED, f"{relative} imports scapy; only {sorted(SCAPY_ALLOWED)} may"
        if top == "netsim":
            assert any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED[package]), \
                f"{relative} imports {name}, outside {sorted(ALLOWED[package])}"
