"""Golden traces: the printed walk of reference scenarios (`pytest --update-golden` rewrites them)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from netsim.errors import NotImplementedFeature
from netsim.packet import Packet, Proto

from dataplane_helpers import syn, two_nodes



@pytest.mark.parametrize("overlay", ["host-gw", "vxlan"])
def test_cross_node_syn_trace(golden_file, overlay):
    net, sink = two_nodes(overlay=overlay)
    result = net.send("pod-a", syn("10.244.1.2", "10.244.2.2"))
    frames = "".join(f"{f.time:.6f} {f.host} {f.iface} {f.direction} {type(f.frame).__name__}\n" for f in sink.frames)
    golden_file(f"dataplane/cross_node_syn_{overlay}.trace", result.format() + "\n" + frames)


def test_ipv6_is_refused_as_not_implemented():
    net, _ = two_nodes()
    with pytest.raises(NotImplementedFeature):
        net.send("pod-a", Packet(IPv6Address("fd00::1"), IPv6Address("fd00::2"), Proto.UDP))
