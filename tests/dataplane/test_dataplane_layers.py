"""The dataplane stays generic and deterministic: what its modules may import and call."""

from __future__ import annotations

import ast
from pathlib import Path

import netsim.dataplane

PACKAGE = Path(netsim.dataplane.__file__).parent
ALLOWED = ("netsim.errors", "netsim.packet", "netsim.netfilter", "netsim.dataplane")
FORBIDDEN_STDLIB = {"random", "uuid", "time", "datetime", "scapy"}


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module)
    return names


def test_dataplane_imports_only_generic_layers():
    for path in sorted(PACKAGE.glob("*.py")):
        for name in imports(path):
            if name.startswith("netsim"):
                assert name == "netsim" or name.startswith(ALLOWED), f"{path.name} imports {name}"
            assert name.split(".")[0] not in FORBIDDEN_STDLIB, f"{path.name} imports {name}"


def test_every_module_has_a_docstring():
    for path in sorted(PACKAGE.glob("*.py")):
        assert ast.get_docstring(ast.parse(path.read_text())), path.name
