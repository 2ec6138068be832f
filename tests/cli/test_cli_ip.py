"""`netsim ip` (netsim/cli/ip.py): a host's addresses, routes and neighbours from the wiring."""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import pytest

from netsim.cli import ip
from netsim.dataplane.errors import UnknownHost

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> str:
    parser = argparse.ArgumentParser(prog="netsim")
    ip.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ip", *argv, "-f", str(ROOT / "tests/scenarios/data/paths")])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.handler(args) == 0
    return out.getvalue()


def test_hosts() -> None:
    hosts = run().splitlines()
    assert "external" in hosts and "kind-worker" in hosts and "default/web-b" in hosts
    assert "default/hostnet" not in hosts


def test_vxlan_node_addresses_routes_neighbours() -> None:
    topology = str(ROOT / "topologies/three-node-vxlan.yaml")
    addr = run("addr", "--host", "kind-worker", "--topology", topology)
    assert "flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 state UNKNOWN" in addr
    assert "    vxlan id 1 local 172.18.0.3 dev eth0 dstport 8472 nolearning\n" in addr
    assert "    inet 10.244.1.0/32 scope global flannel.1\n" in addr
    assert "    inet 10.244.1.1/24 brd 10.244.1.255 scope global cni0\n" in addr
    assert "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink" in run("route", "--host", "kind-worker",
                                                                      "--topology", topology)
    assert "10.244.2.0 dev flannel.1 lladdr" in run("neigh", "--host", "kind-worker", "--topology", topology)


def test_unknown_host() -> None:
    with pytest.raises(UnknownHost):
        run("--host", "nowhere")
