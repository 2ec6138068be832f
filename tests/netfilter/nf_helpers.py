"""Shared helpers for the netfilter tests: a clock, packets, and walks along the kernel path."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import numpy as np

from netsim.netfilter import Hook, NetfilterEngine, Verdict
from netsim.packet import Packet
from netsim.packet.record import Proto, TcpFlag

DATA = Path(__file__).parent / "data"
A = ip_address

FLAGS = {"S": TcpFlag.SYN, "A": TcpFlag.ACK, "F": TcpFlag.FIN, "R": TcpFlag.RST, "P": TcpFlag.PSH}


class Clock:
    """A settable simulated clock."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def data(name: str) -> str:
    return (DATA / name).read_text()


def tcp(src, sport, dst, dport, flags="S", **kw) -> Packet:
    bits = 0
    for ch in flags:
        bits |= FLAGS[ch]
    return Packet(src=A(src), dst=A(dst), proto=Proto.TCP, sport=sport, dport=dport, tcp_flags=bits, **kw)


def udp(src, sport, dst, dport, **kw) -> Packet:
    return Packet(src=A(src), dst=A(dst), proto=Proto.UDP, sport=sport, dport=dport, **kw)


def icmp(src, dst, itype=8, code=0, ident=1, **kw) -> Packet:
    return Packet(src=A(src), dst=A(dst), proto=Proto.ICMP, icmp_type=itype, icmp_code=code, icmp_id=ident, **kw)


def make_engine(text: str | None = None, *, seed: int = 0, clock: Clock | None = None, ifaces=None, **kw):
    return NetfilterEngine(
        text,
        rng=np.random.default_rng(seed),
        clock=clock or Clock(),
        interface_addresses=ifaces or {},
        **kw,
    )


def filter_only(chain_rules: str, policy: str = "ACCEPT", extra_chains: str = "") -> str:
    """A filter table whose INPUT/FORWARD/OUTPUT hold `chain_rules` lines."""
    return (
        "*filter\n"
        f":INPUT {policy} [0:0]\n:FORWARD {policy} [0:0]\n:OUTPUT {policy} [0:0]\n"
        + extra_chains + chain_rules + "COMMIT\n"
    )


def walk(engine, packet, hooks, *, local=frozenset()):
    """Run hooks in order, stopping at the first non-ACCEPT; returns the list of HookResults."""
    results = []
    for hook, in_iface, out_iface in hooks:
        result = engine.run_hook(hook, packet, in_iface=in_iface, out_iface=out_iface, local_addresses=local)
        results.append(result)
        if result.verdict is not Verdict.ACCEPT:
            break
    return results


def forward(engine, packet, in_iface="eth1", out_iface="eth0", local=frozenset()):
    """PREROUTING → FORWARD → POSTROUTING; returns the last result."""
    return walk(engine, packet, [(Hook.PREROUTING, in_iface, None), (Hook.FORWARD, in_iface, out_iface),
                                 (Hook.POSTROUTING, None, out_iface)], local=local)[-1]


def deliver(engine, packet, in_iface="eth0", local=frozenset()):
    """PREROUTING → INPUT (a packet for this host)."""
    return walk(engine, packet, [(Hook.PREROUTING, in_iface, None), (Hook.INPUT, in_iface, None)], local=local)[-1]


def send(engine, packet, out_iface="eth0", local=frozenset()):
    """OUTPUT → POSTROUTING (a packet this host sends)."""
    return walk(engine, packet, [(Hook.OUTPUT, None, out_iface), (Hook.POSTROUTING, None, out_iface)], local=local)[-1]


def one(engine, hook, packet, in_iface=None, out_iface=None, local=frozenset()):
    return engine.run_hook(hook, packet, in_iface=in_iface, out_iface=out_iface, local_addresses=local)
