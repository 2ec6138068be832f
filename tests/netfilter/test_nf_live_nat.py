"""Differential against the kernel: one DNAT + MASQUERADE router, a real TCP exchange, `conntrack -L` compared.

Three scratch network namespaces (client, router, server) joined by veth pairs; the
router loads the same ruleset netsim loads. Runs only as root with ip, iptables-restore
and conntrack installed; otherwise skips with the reason. Everything it makes is named
nsnf-<pid>-<n>-* and removed afterwards.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys

import pytest

from netsim.netfilter import Verdict

from nf_helpers import A, forward, make_engine, tcp

RULES = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.1.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.2.0.2:8080
-A POSTROUTING -o r1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i r0 -o r1 -p tcp -m conntrack --ctstate NEW,DNAT -j ACCEPT
COMMIT
"""


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    for tool in ("ip", "iptables-restore", "conntrack"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    return None


REASON = _skip_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
_counter = itertools.count()

SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.2.0.2", 8080)); s.listen()
print("ready", flush=True)
c, peer = s.accept()
c.recv(10); c.sendall(b"pong")
print(f"{peer[0]} {peer[1]}", flush=True)
sys.stdin.readline()
"""
CLIENT = """
import socket, sys
c = socket.socket(); c.bind(("10.1.0.2", 40000)); c.connect(("10.1.0.1", 80))
c.sendall(b"ping"); c.recv(10)
print("done", flush=True)
sys.stdin.readline()
"""


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def topology():
    base = f"nsnf-{os.getpid()}-{next(_counter)}"
    names = {role: f"{base}-{role}" for role in ("c", "r", "s")}
    made: list[str] = []
    try:
        for ns in names.values():
            sh("ip", "netns", "add", ns)
            made.append(ns)
        c, r, s = names["c"], names["r"], names["s"]
        sh("ip", "link", "add", "c0", "netns", c, "type", "veth", "peer", "name", "r0", "netns", r)
        sh("ip", "link", "add", "s0", "netns", s, "type", "veth", "peer", "name", "r1", "netns", r)
        for ns, dev, addr in ((c, "c0", "10.1.0.2/24"), (r, "r0", "10.1.0.1/24"), (r, "r1", "10.2.0.1/24"),
                              (s, "s0", "10.2.0.2/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", c, "route", "add", "default", "via", "10.1.0.1")
        sh("ip", "-n", s, "route", "add", "default", "via", "10.2.0.1")
        sh("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        subprocess.run(["ip", "netns", "exec", r, "iptables-restore"], input=RULES, text=True, check=True)
        yield names
    finally:
        for ns in reversed(made):
            subprocess.run(["ip", "netns", "delete", ns], check=False)


def _strip_timeout(line: str) -> str:
    return re.sub(r"^(\S+\s+\d+) \d+ ", r"\1 T ", line)


def test_dnat_masquerade_flow_matches_the_kernel(topology):
    c, r, s = topology["c"], topology["r"], topology["s"]
    server = subprocess.Popen(["ip", "netns", "exec", s, sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    client = None
    try:
        assert server.stdout.readline().strip() == "ready"
        client = subprocess.Popen(["ip", "netns", "exec", c, sys.executable, "-c", CLIENT], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        peer = server.stdout.readline().split()
        assert client.stdout.readline().strip() == "done"
        real = sh("ip", "netns", "exec", r, "conntrack", "-L", "-p", "tcp").splitlines()
    finally:
        for proc in (client, server):
            if proc is not None:
                proc.stdin.write("\n")
                proc.stdin.flush()
                proc.wait(timeout=10)

    # the same exchange through netsim's router
    engine = make_engine(RULES, ifaces={"r0": [A("10.1.0.1")], "r1": [A("10.2.0.1")]})
    local = frozenset({A("10.1.0.1"), A("10.2.0.1")})

    def there(flags, payload=b""):
        p = tcp("10.1.0.2", 40000, "10.1.0.1", 80, flags, payload=payload)
        assert forward(engine, p, in_iface="r0", out_iface="r1", local=local).verdict is Verdict.ACCEPT
        return p

    def back(flags, payload=b""):
        p = tcp("10.2.0.2", 8080, "10.2.0.1", 40000, flags, payload=payload)
        assert forward(engine, p, in_iface="r1", out_iface="r0", local=local).verdict is Verdict.ACCEPT
        return p

    syn = there("S")
    back("SA")
    there("A")
    there("PA", b"ping")
    back("A")
    back("PA", b"pong")
    there("A")
    assert [str(syn.src), str(syn.sport)] == peer  # what the real server saw
    ours = engine.conntrack_listing().splitlines()
    assert [_strip_timeout(x) for x in ours] == [_strip_timeout(x) for x in real]
