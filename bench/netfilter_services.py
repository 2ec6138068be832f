"""Packets per second through nat PREROUTING of a kube-proxy-shaped ruleset: plain vs compiled index.

Run: .venv/bin/python bench/netfilter_services.py [--packets N]
Prints one line per (services, mode). Figures only; never a pass/fail.
"""

from __future__ import annotations

import argparse
import ipaddress
import time  # wall clock for the benchmark itself only; netsim/ never reads it

import numpy as np

from netsim.netfilter import Hook, NetfilterEngine
from netsim.packet import Packet
from netsim.packet.record import Proto


def services_ruleset(n: int) -> str:
    """nat table with n ClusterIP services, two endpoints each, in kube-proxy's shape."""
    decl = [":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
            ":KUBE-SERVICES - [0:0]", ":KUBE-NODEPORTS - [0:0]", ":KUBE-MARK-MASQ - [0:0]"]
    rules = ['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
             "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"]
    chains = []
    for i in range(n):
        vip = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.96.0.0")) + i + 1)
        svc, name = f"KUBE-SVC-{i:016X}", f"ns/svc-{i}:http"
        rules.append(f'-A KUBE-SERVICES -d {vip}/32 -p tcp -m comment --comment "{name} cluster IP" '
                     f"-m tcp --dport 80 -j {svc}")
        decl.append(f":{svc} - [0:0]")
        chains.append(f'-A {svc} ! -s 10.244.0.0/16 -d {vip}/32 -p tcp -m comment --comment "{name} cluster IP" '
                      f"-m tcp --dport 80 -j KUBE-MARK-MASQ")
        for j in range(2):
            sep = f"KUBE-SEP-{i:014X}{j:02X}"
            ep = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.244.0.0")) + 2 * i + j + 2)
            decl.append(f":{sep} - [0:0]")
            stat = "-m statistic --mode random --probability 0.50000000000 " if j == 0 else ""
            chains.append(f'-A {svc} -m comment --comment "{name} -> {ep}:8080" {stat}-j {sep}')
            chains.append(f'-A {sep} -s {ep}/32 -m comment --comment "{name}" -j KUBE-MARK-MASQ')
            chains.append(f'-A {sep} -p tcp -m comment --comment "{name}" -m tcp -j DNAT --to-destination {ep}:8080')
    rules.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last '
                 'rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    return "*nat\n" + "\n".join(decl + rules + chains) + "\nCOMMIT\n"


def measure(n: int, compiled: bool, packets: int) -> float:
    clock = [0.0]
    engine = NetfilterEngine(services_ruleset(n), rng=np.random.default_rng(1), clock=lambda: clock[0],
                             compiled_index=compiled)
    pick = np.random.default_rng(2).integers(0, n, size=packets)
    base = int(ipaddress.IPv4Address("10.96.0.1"))
    local = frozenset({ipaddress.IPv4Address("172.18.0.3")})
    src = ipaddress.IPv4Address("10.244.9.9")
    pkts = [Packet(src=src, dst=ipaddress.IPv4Address(base + int(k)), proto=Proto.TCP, sport=1024 + i % 60000,
                   dport=80, tcp_flags=0x02) for i, k in enumerate(pick)]
    start = time.perf_counter()
    for p in pkts:
        engine.run_hook(Hook.PREROUTING, p, in_iface="cni0", out_iface=None, local_addresses=local)
        engine.conntrack.flush()  # measure rule evaluation, not a growing table
    return packets / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'services':>8} {'mode':>9} {'packets/s':>10}")
    for n in (100, 1_000, 10_000):
        for compiled in (False, True):
            pps = measure(n, compiled, args.packets)
            print(f"{n:>8} {'compiled' if compiled else 'plain':>9} {pps:>10.0f}")


if __name__ == "__main__":
    main()
