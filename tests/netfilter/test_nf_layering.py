"""netfilter/ stays generic and deterministic: no Kubernetes layers, no scapy, no wall clock or global RNG."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import netsim.netfilter

PACKAGE = Path(netsim.netfilter.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
ALLOWED_NETSIM = ("netsim.netfilter", "netsim.packet", "netsim.errors")
FORBIDDEN = ("scapy", "random", "uuid", "time", "datetime")


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_stay_in_layer(path):
    for name in imports(path):
        if name.startswith("netsim"):
            assert name.startswith(ALLOWED_NETSIM), f"{path.name} imports {name}"
        assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_module_opens_with_a_docstring(path):
    assert ast.get_docstring(ast.parse(path.read_text())), path.name
