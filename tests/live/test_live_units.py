"""Pieces of the live layer that need no namespaces: the chi-square test, the views' comparison, exit 2."""

from __future__ import annotations

from collections import Counter

import pytest

from netsim.cli import live as live_cli
from netsim.live import registry
from ipaddress import IPv4Address

from netsim.live.capture import Frame
from netsim.live.compare import View, differences, frame_points, homogeneity
from netsim.verify.stats import chi2_sf
from netsim.packet import Packet, Proto


@pytest.mark.parametrize("x,df,p", [(3.841458820694124, 1, 0.05), (5.991464547107979, 2, 0.05),
                                    (10.827566170662733, 1, 0.001), (1.0, 3, 0.8012519569012008),
                                    (30.0, 4, 4.8944371e-06)])
def test_chi2_survival_function(x: float, df: int, p: float) -> None:
    assert chi2_sf(x, df) == pytest.approx(p, rel=1e-6)


def test_homogeneity_of_equal_and_of_different_counts() -> None:
    assert homogeneity(Counter(a=50, b=50), Counter(a=50, b=50))[2] == pytest.approx(1.0)
    stat, df, p = homogeneity(Counter(a=90, b=10), Counter(a=10, b=90))
    assert df == 1 and p < 1e-20


def test_differences_name_the_hop_and_both_views() -> None:
    ours = View((("a", "eth0", "1.1.1.1", "2.2.2.2", 80, 64), ("b", "eth0", "1.1.1.1", "3.3.3.3", 8080, 63)),
                "SYN-ACK from 2.2.2.2:80", (("c", "eth0", "3.3.3.3", "1.1.1.1", -2, 64),), "c")
    theirs = View((("a", "eth0", "1.1.1.1", "2.2.2.2", 80, 64),), "none", (), None)
    found = differences(ours, theirs)
    assert ("opening packet, hop 2", "b eth0: 1.1.1.1 > 3.3.3.3:8080 ttl 63", "(no such hop)") in found
    assert ("answer, hop 1", "c eth0: 3.3.3.3 > 1.1.1.1:MASQPORT ttl 64", "(no such hop)") in found
    assert found[0] == ("endpoint reached", "c", "None")


def test_without_root_the_commands_exit_2(monkeypatch, capsys) -> None:
    monkeypatch.setattr(registry.os, "geteuid", lambda: 1000)
    assert live_cli.main(["status"]) == 2
    assert "need root" in capsys.readouterr().err


def _frame(seq: int, host: str, iface: str, outgoing: bool, dst: str, ttl: int = 64) -> Frame:
    return Frame(seq, seq, host, iface, outgoing, Packet(IPv4Address("10.244.1.2"), IPv4Address(dst), Proto.TCP,
                                                          40000, 8080, ttl=ttl))


def test_the_bridged_dnat_artefact_is_left_out_and_routed_frames_are_kept() -> None:
    ports = {("n", "veth-a"): "cni0", ("n", "veth-b"): "cni0"}
    bridged = [_frame(0, "n", "veth-a", False, "10.96.0.9"), _frame(1, "n", "cni0", True, "10.244.1.3"),
               _frame(2, "n", "veth-b", True, "10.244.1.3")]
    assert [p[1] for p in frame_points(bridged, ports)] == ["veth-a", "veth-b"]
    routed = [_frame(0, "n", "eth0", False, "10.244.1.3", 63), _frame(1, "n", "cni0", True, "10.244.1.3", 62),
              _frame(2, "n", "veth-b", True, "10.244.1.3", 62)]
    assert [p[1] for p in frame_points(routed, ports)] == ["eth0", "cni0", "veth-b"]
