"""Golden traces: the printed walk of reference scenarios (`pytest --update-golden` rewrites them)."""

from __future__ import annotations

import difflib
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from netsim.errors import NotImplementedFeature
from netsim.packet import Packet, Proto

from dataplane_helpers import syn, two_nodes

GOLDEN = Path(__file__).parent / "golden"


def check_golden(request, name: str, text: str) -> None:
    path = GOLDEN / name
    if request.config.getoption("--update-golden") or not path.exists():
        path.write_text(text)
        return
    expected = path.read_text()
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "actual"))
        pytest.fail(f"{name} differs from its golden file:\n{diff}\n--- whole output ---\n{text}")


@pytest.mark.parametrize("overlay", ["host-gw", "vxlan"])
def test_cross_node_syn_trace(request, overlay):
    net, sink = two_nodes(overlay=overlay)
    result = net.send("pod-a", syn("10.244.1.2", "10.244.2.2"))
    frames = "".join(f"{f.time:.6f} {f.host} {f.iface} {f.direction} {type(f.frame).__name__}\n" for f in sink.frames)
    check_golden(request, f"cross_node_syn_{overlay}.trace", result.format() + "\n" + frames)


def test_ipv6_is_refused_as_not_implemented():
    net, _ = two_nodes()
    with pytest.raises(NotImplementedFeature):
        net.send("pod-a", Packet(IPv6Address("fd00::1"), IPv6Address("fd00::2"), Proto.UDP))
