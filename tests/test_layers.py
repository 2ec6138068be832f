"""The layer picture, made executable: who may import whom inside netsim/ (STYLE 1).

Layers, top to bottom (a module may import its own layer and the layers above
it, never one below): api, sim, controllers, auth, kubelet, kubeproxy, l7, netpol, dns,
netfilter, dataplane, capture, emulator, verify, live, cli. `netsim.errors` and
`netsim.packet` are the base every layer may use. netfilter/, dataplane/,
capture/ and packet/ are generic: they never import Kubernetes code. scapy is
imported only at the edge modules listed below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "netsim"
LAYERS = ["api", "sim", "controllers", "auth", "kubelet", "kubeproxy", "l7", "netpol", "dns", "netfilter", "dataplane",
          "capture", "emulator", "verify", "live", "cli"]
BASE = {"errors", "packet"}
GENERIC = {"netfilter", "dataplane", "capture", "packet"}
KUBERNETES = {"api", "sim", "controllers", "auth", "kubelet", "kubeproxy", "l7", "netpol", "dns", "emulator", "verify", "live", "cli"}
SCAPY_ALLOWED = {"netsim/packet/scapy_bridge.py", "netsim/dns/wire.py"}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def netsim_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level netsim sub-package) for every `netsim.X` import in a module."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "netsim" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def layer_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_follow_the_layers(path: Path) -> None:
    here = layer_of(path)
    problems = []
    for line, target in netsim_imports(path):
        if target in BASE or target == here or here in ("__init__", "__main__"):
            continue
        if here in GENERIC and target in KUBERNETES:
            problems.append(f"line {line}: generic {here}/ imports Kubernetes code (netsim.{target})")
        elif here in BASE:
            problems.append(f"line {line}: base module {here} imports netsim.{target}")
        elif target not in LAYERS or here not in LAYERS:
            problems.append(f"line {line}: netsim.{target} is not in the layer picture")
        elif LAYERS.index(target) > LAYERS.index(here):
            problems.append(f"line {line}: {here}/ imports netsim.{target}, a layer below it")
    assert not problems, "\n".join(problems)


def test_scapy_only_at_the_edges() -> None:
    offenders = []
    for path in modules():
        rel = str(path.relative_to(PACKAGE.parent))
        tree = ast.parse(path.read_text(), rel)
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if any(m.split(".")[0] == "scapy" for m in mods) and rel not in SCAPY_ALLOWED:
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"scapy imported outside {sorted(SCAPY_ALLOWED)}: {offenders}"


def test_every_module_opens_with_a_docstring() -> None:
    missing = [str(p.relative_to(PACKAGE.parent)) for p in modules()
               if not ast.get_docstring(ast.parse(p.read_text()))]
    assert not missing, f"modules without a docstring: {missing}"


WALL_CLOCK = ("time.time(", "time.monotonic(", "time.perf_counter(", "datetime.now(", "datetime.utcnow(", "uuid4(",
              "import random", "from random ")
REAL_WORLD = {"live"}  # the live backend waits on the real kernel, so it may read the real clock


def test_no_wall_clock_or_global_randomness_outside_the_live_backend() -> None:
    offenders = []
    for path in modules():
        if layer_of(path) in REAL_WORLD:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if '"""' in line or "never" in line:
                continue
            if any(token in code for token in WALL_CLOCK):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
